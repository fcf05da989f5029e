"""Whether the number of workers moves the poses, what the tracking segments cost in scores, and
how far downscaled frames move the results.

    .venv/bin/python benchmarks/pose_parallel_accuracy.py [--clips N] [--json OUT.json]
    .venv/bin/python benchmarks/pose_parallel_accuracy.py --old OLD_POSES --new NEW_POSES \
        [--clips N]
    .venv/bin/python benchmarks/pose_parallel_accuracy.py --max-side 1280,720,480,320,256 \
        --videos a.mp4 b.mp4

Modes (default): on N real clips of ../shared/data/wild (every k-th by name, spread over the
180), poses with `workers=1` (one process), `workers=2` (blocks of whole segments on two
workers) and in a batch (`PosePool.map_videos`: the whole video on one worker), all at the
default max side; reports per clip the largest landmark difference (image and world, where
either saw a person) and the largest clip-score difference of the packaged model between the
modes: 0 by design (the tracker is reset at the same segment starts in every mode).

Old against new (`--old DIR --new DIR`): two folders of pose files of the same clips (`data
poses` outputs, e.g. the continuous tracker's and the segments'); the packaged model's clip
scores of each pair: the largest and mean |difference| over all groups and clips.

Max side (`--max-side`): poses of the given videos at each longer side against full size
(landmark distance, pose coverage and clip-score difference).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared"))
WILD = SHARED / "data" / "wild" / "clips"


def _distance(a: Any, b: Any) -> np.ndarray:
    """Per-frame mean landmark distance where both sequences saw a person (NaN elsewhere)."""
    both = a.valid & b.valid
    d = np.linalg.norm(a.image[..., :2] - b.image[..., :2], axis=-1).mean(-1)
    return np.where(both, d, np.nan)


def _spread(paths: list[Path], n: int) -> list[Path]:
    """n of the paths, evenly spread over the sorted list."""
    paths = sorted(paths)
    if n >= len(paths):
        return paths
    return [paths[int(i)] for i in np.linspace(0, len(paths) - 1, n).round()]


def _largest(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| where either is finite (NaN against a number counts as infinite)."""
    if a.shape != b.shape:
        return float("inf")
    same_nan = np.isnan(a) & np.isnan(b)
    d = np.abs(np.where(same_nan, 0.0, a - b))
    return float(np.nan_to_num(d, nan=np.inf).max()) if d.size else 0.0


def _score_diff(predictor: Any, a: Any, b: Any) -> float | None:
    try:
        x, y = predictor.predict_poses(a), predictor.predict_poses(b)
    except Exception:  # noqa: BLE001 - a clip without a person has no scores
        return None
    return float(np.abs(x.scores_array() - y.scores_array()).max())


def modes(n: int) -> dict[str, object]:
    from musclemap.pose.extract import extract_poses
    from musclemap.pose.parallel import PosePool
    from musclemap.pose.sequential import DEFAULT_MAX_SIDE
    from musclemap.predictor import Predictor

    predictor = Predictor.default()
    clips = _spread(list(WILD.glob("*.mp4")), n)
    rows = []
    with PosePool(2) as pool:
        batch = dict(
            pool.map_videos(clips, fps=10.0, max_side=DEFAULT_MAX_SIDE, cache_dir=None,
                            use_cache=False)
        )
    for i, clip in enumerate(clips):
        one = extract_poses(clip, workers=1, use_cache=False)
        two = extract_poses(clip, workers=2, use_cache=False)
        row: dict[str, object] = {"clip": clip.name, "frames": len(one)}
        row["segments"] = one.extra.get("segments")
        for name, other in (("workers2", two), ("batch", batch[i])):
            if isinstance(other, BaseException):
                row[name] = {"error": str(other)}
                continue
            row[name] = {
                "landmarks": max(
                    _largest(one.image, other.image), _largest(one.world, other.world)
                ),
                "times": _largest(one.times, other.times),
                "scores": _score_diff(predictor, one, other),
            }
        rows.append(row)
        print(json.dumps(row), flush=True)
    worst: dict[str, float] = {}
    for name in ("workers2", "batch"):
        values = [
            v
            for r in rows
            for k in ("landmarks", "times", "scores")
            if isinstance(r[name], dict) and (v := r[name].get(k)) is not None  # type: ignore[union-attr]
        ]
        worst[name] = max(values, default=0.0)
    return {"clips": len(rows), "max_difference": worst, "rows": rows}


def old_new(old: Path, new: Path, n: int) -> dict[str, object]:
    from musclemap.data.pose_sequence import load_pose_file
    from musclemap.predictor import Predictor

    predictor = Predictor.default()
    names = _spread([p.name for p in new.glob("*.npz") if (old / p.name).is_file()], n)
    diffs = []
    rows = []
    for name in names:
        a = predictor.predict_poses(load_pose_file(old / name)).scores_array()
        b = predictor.predict_poses(load_pose_file(new / name)).scores_array()
        d = np.abs(a - b)
        diffs.append(d)
        rows.append({"clip": name, "max": round(float(d.max()), 4)})
    d = np.stack(diffs) if diffs else np.zeros((0, 0))
    return {
        "model": predictor.model_info,
        "clips": len(rows),
        "groups": int(d.shape[1]) if d.size else 0,
        "max_abs_diff": round(float(d.max()), 4) if d.size else None,
        "mean_abs_diff": round(float(d.mean()), 4) if d.size else None,
        "mean_clip_max": round(float(d.max(axis=1).mean()), 4) if d.size else None,
        "clips_over_0.02": int((d.max(axis=1) > 0.02).sum()) if d.size else 0,
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
    parser.add_argument("--clips", type=int, default=20, help="wild clips compared")
    parser.add_argument("--old", type=Path, help="pose files of one extraction")
    parser.add_argument("--new", type=Path, help="pose files of another (with --old)")
    parser.add_argument("--max-side", help="comma-separated sides (runs the max-side check)")
    parser.add_argument("--videos", type=Path, nargs="*", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result: Any
    if args.max_side:
        result = max_sides(args.videos, [int(s) for s in args.max_side.split(",")])
    elif args.old or args.new:
        if not (args.old and args.new):
            parser.error("--old and --new go together")
        result = old_new(args.old, args.new, args.clips)
        print(json.dumps({k: v for k, v in result.items() if k != "rows"}))
    else:
        result = modes(args.clips)
        print(json.dumps({k: v for k, v in result.items() if k != "rows"}))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
