"""How far parallel pose (segments with seams) and downscaled frames move the results.

    .venv/bin/python benchmarks/pose_parallel_accuracy.py [--clips N] [--json OUT.json]
    .venv/bin/python benchmarks/pose_parallel_accuracy.py --max-side 1280,720,480,320,256 \
        --videos a.mp4 b.mp4

Seams (default): on the first N real clips of ../shared/data/wild (sorted by name), poses with
`workers=1` (one tracker) and `workers=2` (two segments handed over where the trackers agree),
both at the default max side; reports per clip the largest clip-score difference of the
packaged model, the mean landmark distance (image-normalised x, y) before the hand-over (0 by
design), within 5 frames after it and later, and the seam records.

Max side (`--max-side`): poses of the given videos at each longer side against full size
(landmark distance, pose coverage and clip-score difference).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared"))
WILD = SHARED / "data" / "wild" / "clips"
NEAR = 5  # frames after a seam counted as "at the seam"


def _distance(a: object, b: object) -> np.ndarray:
    """Per-frame mean landmark distance where both sequences saw a person (NaN elsewhere)."""
    both = a.valid & b.valid  # type: ignore[attr-defined]
    d = np.linalg.norm(a.image[..., :2] - b.image[..., :2], axis=-1).mean(-1)  # type: ignore[attr-defined]
    return np.where(both, d, np.nan)


def seams(n: int) -> dict[str, object]:
    from musclemap.pose.extract import extract_poses
    from musclemap.predictor import Predictor

    predictor = Predictor.default()
    rows = []
    for clip in sorted(WILD.glob("*.mp4"))[:n]:
        one = extract_poses(clip, workers=1, use_cache=False)
        two = extract_poses(clip, workers=2, use_cache=False)
        row: dict[str, object] = {"clip": clip.name, "frames": len(one)}
        if len(one) != len(two) or not np.allclose(one.times, two.times):
            row["error"] = "sampled frames differ"
            rows.append(row)
            continue
        d = _distance(one, two)
        seams_ = two.extra.get("seams", [])
        marks = [s["handover"] for s in seams_ if s["handover"] is not None]
        first = min(marks, default=len(d))
        near = np.zeros(len(d), bool)
        for m in marks:
            near[m : m + NEAR] = True
        try:
            a, b = predictor.predict_poses(one), predictor.predict_poses(two)
            diff = np.abs(a.scores_array() - b.scores_array()).max()
            row["max_score_diff"] = round(float(diff), 4)
        except Exception as err:  # noqa: BLE001 - a clip without a person has no scores
            row["max_score_diff"] = None
            row["note"] = str(err)
        row["seams"] = seams_
        row["dist_before_handover"] = _mean(d[:first])
        row["dist_near_handover"] = _mean(d[near]) if near.any() else None
        row["dist_after_handover"] = _mean(d[~near & (np.arange(len(d)) >= first)])
        row["coverage"] = [round(one.coverage, 3), round(two.coverage, 3)]
        rows.append(row)
        print(json.dumps(row), flush=True)
    diffs = [r["max_score_diff"] for r in rows if r.get("max_score_diff") is not None]
    seam_list = [s for r in rows for s in r.get("seams", [])]
    return {
        "clips": len(rows),
        "seams": len(seam_list),
        "handed_over": sum(s["handover"] is not None for s in seam_list),
        "scored": len(diffs),
        "max_score_diff": max(diffs) if diffs else None,
        "mean_max_score_diff": round(float(np.mean(diffs)), 4) if diffs else None,
        "rows": rows,
    }


def _mean(x: np.ndarray) -> float | None:
    x = x[np.isfinite(x)]
    return round(float(x.mean()), 4) if len(x) else None


def max_sides(videos: list[Path], sides: list[int]) -> list[dict[str, object]]:
    from musclemap.pose.extract import extract_poses
    from musclemap.predictor import Predictor

    predictor = Predictor.default()
    out = []
    for video in videos:
        full = extract_poses(video, max_side=None, workers=1, use_cache=False)
        ref = predictor.predict_poses(full).scores_array()
        for side in sides:
            seq = extract_poses(video, max_side=side, workers=1, use_cache=False)
            row = {
                "video": video.name,
                "max_side": side,
                "coverage": round(seq.coverage, 3),
                "full_coverage": round(full.coverage, 3),
                "mean_landmark_dist": _mean(_distance(full, seq)),
                "max_score_diff": round(
                    float(np.abs(predictor.predict_poses(seq).scores_array() - ref).max()), 4
                ),
            }
            print(json.dumps(row), flush=True)
            out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20, help="wild clips for the seam check")
    parser.add_argument("--max-side", help="comma-separated sides (runs the max-side check)")
    parser.add_argument("--videos", type=Path, nargs="*", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.max_side:
        result: object = max_sides(args.videos, [int(s) for s in args.max_side.split(",")])
    else:
        result = seams(args.clips)
        summary = {k: v for k, v in result.items() if k != "rows"}  # type: ignore[union-attr]
        print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
