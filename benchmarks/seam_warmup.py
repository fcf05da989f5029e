"""Clip scores of parallel pose against sequential, by seam position and warm-up frames.

    .venv/bin/python benchmarks/seam_warmup.py [--clips 20] [--offsets -9,-6,-3,0,3,6,9] \
        [--warm 0,5] [--json OUT.jsonl]

On the first N real clips of ../shared/data/wild (sorted by name; clips too short to split are
skipped), one MediaPipe tracker over the whole clip (the sequential result), then per seam
(the planned seam of two segments without warm-up, `parallel.plan_segments`, moved by each
offset) and per warm-up W: a fresh tracker started W sampled frames before the seam, handed
over as `parallel` does (the first AGREE_FRAMES frames in a row from the seam on that
`seams.agree` accepts; none: the first tracker runs to the end), and the largest difference of
the packaged model's clip scores between the merged and the sequential poses. Also, per clip,
`late1`: the same for a tracker started one frame after frame 0 and never handed over (how
much the estimator's own start moves the scores). One JSON line per clip and seam; a summary
per W at the end. It simulates the segments in one process: the same frames and trackers as
`PosePool.estimate`, without its timing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared"))
WILD = SHARED / "data" / "wild" / "clips"
NAN3, NAN4 = np.full((33, 3), np.nan, np.float32), np.full((33, 4), np.nan, np.float32)


def track(frames: list[np.ndarray], times: list[float]) -> list[Any]:
    """One fresh tracker over the frames (a repeated frame is not estimated again)."""
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

    out: list[Any] = []
    with MediaPipePoseEstimator() as est:
        for k, frame in enumerate(frames):
            out.append(out[-1] if k and times[k] == times[k - 1] else est.estimate(frame))
    return out


def handover(first: list[Any], later: list[Any], start: int, seam: int) -> int | None:
    """Where `parallel` hands over from `first` (from frame 0) to `later` (from `start`)."""
    from musclemap.pose.seams import (
        AGREE_FRAMES,
        AGREE_WORLD,
        AGREE_WORLD_FRAMES,
        agree,
        row_of,
    )

    streak = 0
    for idx in range(seam, len(first)):
        world = AGREE_WORLD if idx - seam < AGREE_WORLD_FRAMES else None
        ok, _ = agree(first[idx], row_of(later[idx - start]), world)
        streak = streak + 1 if ok else 0
        if streak == AGREE_FRAMES:
            return idx - AGREE_FRAMES + 1
    return None


def score_diff(predictor: Any, seq: Any, frames: list[Any], ref: np.ndarray) -> float:
    merged = dataclasses.replace(
        seq,
        image=np.stack([NAN3 if f is None else f.image for f in frames]),
        world=np.stack([NAN4 if f is None else f.world for f in frames]),
        valid=np.array([f is not None for f in frames]),
    )
    return round(float(np.abs(predictor.predict_poses(merged).scores_array() - ref).max()), 4)


def main() -> None:
    from musclemap.data.video_io import iter_frames
    from musclemap.pose.extract import extract_poses
    from musclemap.pose.parallel import CHECK_LEAD, plan_segments
    from musclemap.pose.quality import planned_picks
    from musclemap.predictor import Predictor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--offsets", default="-9,-6,-3,0,3,6,9", help="seam shifts in frames")
    parser.add_argument("--warm", default="0,5", help="warm-up frames to compare")
    parser.add_argument("--json", type=Path, help="also write the lines here")
    args = parser.parse_args()
    offsets = [int(x) for x in args.offsets.split(",")]
    warms = [int(x) for x in args.warm.split(",")]
    predictor = Predictor.default()
    lines: list[dict[str, Any]] = []
    for clip in sorted(WILD.glob("*.mp4"))[: args.clips]:
        pairs = list(iter_frames(clip, fps=predictor.fps, max_side=720))
        times, frames = [t for t, _ in pairs], [f for _, f in pairs]
        starts = plan_segments(len(frames), 2, lead=CHECK_LEAD if planned_picks(len(frames)) else 0)
        if len(starts) < 2:
            continue
        seq = extract_poses(clip, fps=predictor.fps, workers=1, use_cache=False)
        ref = predictor.predict_poses(seq).scores_array()
        first = track(frames, times)
        late1 = score_diff(predictor, seq, first[:1] + track(frames[1:], times[1:]), ref)
        for off in offsets:
            seam = starts[1] + off
            line: dict[str, Any] = {"clip": clip.name, "frames": len(frames), "seam": seam}
            for w in warms:
                a = max(seam - w, 0)
                later = track(frames[a:], times[a:])
                h = handover(first, later, a, seam)
                merged = first if h is None else first[:h] + later[h - a :]
                line[f"W{w}"] = {"handover": h, "diff": score_diff(predictor, seq, merged, ref)}
            line["late1"] = late1
            lines.append(line)
            print(json.dumps(line), flush=True)
    summary = {}
    for w in warms:
        d = np.array([x[f"W{w}"]["diff"] for x in lines])
        marks = [(x[f"W{w}"]["handover"], x["seam"]) for x in lines]
        after = [h - seam for h, seam in marks if h is not None]
        summary[f"W{w}"] = {
            "seams": len(d),
            "mean": round(float(d.mean()), 4),
            "p90": round(float(np.percentile(d, 90)), 4),
            "max": round(float(d.max()), 4),
            "over_0.02": int((d > 0.02).sum()),
            "over_0.03": int((d > 0.03).sum()),
            "never_handed_over": sum(x[f"W{w}"]["handover"] is None for x in lines),
            "handover_after_seam_mean": round(float(np.mean(after)), 1) if after else None,
        }
    late = {x["clip"]: x["late1"] for x in lines}
    summary["late1"] = {
        "clips": len(late),
        "mean": round(float(np.mean(list(late.values()))), 4),
        "max": max(late.values()),
        "over_0.02": sum(v > 0.02 for v in late.values()),
    }
    print(json.dumps(summary))
    if args.json:
        args.json.write_text("".join(json.dumps(x) + "\n" for x in [*lines, summary]))


if __name__ == "__main__":
    main()
