"""How soon a tracker started mid-video agrees with one running since frame 0 (choosing AGREE).

    .venv/bin/python benchmarks/seam_agreement.py [--clips 45] [--frames 40] [--json OUT.json]

On every k-th real clip of ../shared/data/wild (N clips), poses at the predict defaults (10 fps,
720 px) from one MediaPipe tracker over the whole clip, and from a fresh tracker started at a
third, half and two thirds of it (each run for `--frames` frames). Per seam, the per-frame
distance of `seams.agree` between the two; then for each threshold and streak length: seams
handed over within the window, where (frames after the seam: median, 90th percentile) and the
mean distance between the two trackers after the hand-over (what the merged result inherits).
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


def distances(clip: Path, frames_after: int) -> list[list[float | None]]:
    """Per seam (1/3, 1/2, 2/3): the agree-distance per frame (None: no person in both, inf:
    a person in one only)."""
    from musclemap.data.video_io import iter_frames
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator
    from musclemap.pose.seams import agree, row_of

    frames = [f for _, f in iter_frames(clip, fps=10.0, max_side=720)]
    out = []
    with MediaPipePoseEstimator() as est:
        whole = [est.estimate(f) for f in frames]
        for frac in (1 / 3, 1 / 2, 2 / 3):
            s = int(len(frames) * frac)
            est.reset()
            fresh = [est.estimate(f) for f in frames[s : s + frames_after]]
            row: list[float | None] = []
            for a, b in zip(whole[s:], fresh, strict=False):
                if a is None or b is None:
                    row.append(None if a is None and b is None else float("inf"))
                    continue
                row.append(agree(a, row_of(b))[1])
            out.append(row)
    return out


def handover(row: list[float | None], threshold: float, streak: int) -> int | None:
    run = 0
    for i, d in enumerate(row):
        run = run + 1 if d is None or d <= threshold else 0
        if run == streak:
            return i - streak + 1
    return None


def summarise(rows: list[list[float | None]], threshold: float, streak: int) -> dict[str, float]:
    offsets, after = [], []
    for row in rows:
        h = handover(row, threshold, streak)
        if h is None:
            continue
        offsets.append(h)
        later = [d for d in row[h:] if d is not None and np.isfinite(d)]
        after.append(float(np.mean(later)) if later else 0.0)
    return {
        "threshold": threshold,
        "streak": streak,
        "seams": len(rows),
        "handed_over": len(offsets),
        "offset_median": float(np.median(offsets)) if offsets else float("nan"),
        "offset_p90": float(np.percentile(offsets, 90)) if offsets else float("nan"),
        "distance_after_mean": float(np.mean(after)) if after else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=45)
    parser.add_argument("--frames", type=int, default=40, help="frames the fresh tracker runs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    clips = sorted(WILD.glob("*.mp4"))
    if not clips:
        raise SystemExit(f"no clips in {WILD}")
    chosen = clips[:: max(len(clips) // args.clips, 1)][: args.clips]
    rows = []
    for i, clip in enumerate(chosen, 1):
        rows += distances(clip, args.frames)
        print(f"[{i}/{len(chosen)}] {clip.name}", flush=True)
    table = [
        summarise(rows, thr, streak)
        for thr in (0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02)
        for streak in (2, 3)
    ]
    for r in table:
        print(
            f"AGREE {r['threshold']:.4f} x{r['streak']}: handed over {r['handed_over']}/"
            f"{r['seams']}, after the seam median {r['offset_median']:.0f} p90 "
            f"{r['offset_p90']:.0f} frames, mean distance after {r['distance_after_mean']:.4f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"clips": [c.name for c in chosen], "table": table}))


if __name__ == "__main__":
    main()
