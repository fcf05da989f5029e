"""Parallel pose with the snapped tracker (`mediapipe_g4`) against the sequential run.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/snapped_parallel.py \
        [--clips N] [--ckpt WEIGHTS] [--out rows.jsonl] [--replay-clips 10]

Per wild clip (the first N of ../shared/data/wild/clips, sorted; default all), sampled at the
model's rate: `extract_poses(estimator="mediapipe_g4")` on one worker (sequential) and on two
(two segments, `musclemap.pose.parallel`). Reports on how many clips the two are equal bit for
bit (image, world, valid, times), how many frames past the seam segment 0 tracked before the
hand-over (mean / max; "never": segment 0 ran to the end), and the largest clip-score
difference of the model (`--ckpt`, default the packaged weights). On the first
`--replay-clips` clips it also times the smoothing replay alone: a tracker's records
(`MediaPipePoseEstimator.record`) replayed into a second tracker's smoothing (`replay`), CPU
per frame, and checks that the replay gives the tracker's own poses bit for bit. One JSON row
per clip goes to `--out` (a second run skips the clips already there).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared"))
WILD = SHARED / "data" / "wild" / "clips"
NAME = "mediapipe_g4"


def same(a: Any, b: Any) -> bool:
    return (
        a.image.shape == b.image.shape
        and np.array_equal(a.image, b.image, equal_nan=True)
        and np.array_equal(a.world, b.world, equal_nan=True)
        and np.array_equal(a.valid, b.valid)
        and np.array_equal(a.times, b.times)
    )


def replay_cost(clip: Path, fps: float) -> tuple[float, int, bool]:
    """(CPU seconds of the replay, frames replayed, replay == the tracker's own poses)."""
    from musclemap.data.video_io import iter_frames
    from musclemap.pose.estimator import build_estimator
    from musclemap.pose.sequential import DEFAULT_MAX_SIDE

    tracker, other = build_estimator(NAME), build_estimator(NAME)
    try:
        own, records, last = [], [], None
        frames = list(iter_frames(clip, fps=fps, max_side=DEFAULT_MAX_SIDE))
        for t, rgb in frames:
            if t == last:
                continue  # a repeated frame is not tracked again
            own.append(tracker.estimate(rgb))
            records.append(tracker.record())  # type: ignore[attr-defined]
            last = t
        other.estimate(frames[0][1])  # its graphs started on the same first frame
        cpu = time.process_time()
        got = [other.replay(r) for r in records[1:]]  # type: ignore[attr-defined]
        cpu = time.process_time() - cpu
        equal = all(
            (a is None and b is None)
            or (
                a is not None
                and b is not None
                and np.array_equal(a.image, b.image)
                and np.array_equal(a.world, b.world)
            )
            for a, b in zip(own[1:], got, strict=True)
        )
        return cpu, len(got), equal
    finally:
        tracker.close()
        other.close()


def main() -> None:
    from musclemap.pose.extract import extract_poses
    from musclemap.pose.keypose_model import KeyPoseModel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=0, help="first N wild clips (0: all)")
    parser.add_argument(
        "--ckpt",
        type=Path,
        default=REPO / "src" / "musclemap" / "weights" / "default.safetensors",
        help="model whose clip scores are compared",
    )
    parser.add_argument("--out", type=Path, help="per-clip rows (JSON lines; resumed)")
    parser.add_argument("--replay-clips", type=int, default=10, help="clips the replay is timed on")
    args = parser.parse_args()
    clips = sorted(WILD.glob("*.mp4"))
    clips = clips[: args.clips] if args.clips else clips
    if not clips:
        raise SystemExit(f"no clips in {WILD} (set MUSCLEMAP_SHARED)")
    model = KeyPoseModel.load(args.ckpt)
    fps = float(model.meta.get("fps", 10.0))
    rows: dict[str, dict[str, Any]] = {}
    if args.out is not None and args.out.is_file():
        for line in args.out.read_text().splitlines():
            row = json.loads(line)
            rows[row["clip"]] = row
    for n, clip in enumerate(clips):
        if clip.stem in rows:
            continue
        seq = extract_poses(clip, fps=fps, estimator=NAME, workers=1, use_cache=False)
        par = extract_poses(clip, fps=fps, estimator=NAME, workers=2, use_cache=False)
        seams = par.extra.get("seams", [])
        past = None
        if seams and seams[0]["handover"] is not None:
            past = int(seams[0]["handover"]) - int(seams[0]["index"])
        score = float(np.abs(model.score(seq).clip - model.score(par).clip).max())
        row: dict[str, Any] = {
            "clip": clip.stem,
            "frames": len(seq),
            "equal": same(seq, par),
            "split": bool(seams),
            "past": past,
            "score": score,
        }
        if n < args.replay_clips:
            cpu, count, equal = replay_cost(clip, fps)
            row.update(replay_cpu=cpu, replay_frames=count, replay_equal=equal)
        rows[clip.stem] = row
        print(json.dumps(row), flush=True)
        if args.out is not None:
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
    report([rows[c.stem] for c in clips if c.stem in rows])


def report(rows: list[dict[str, Any]]) -> None:
    split = [r for r in rows if r["split"]]
    past = np.array([r["past"] for r in split if r["past"] is not None], float)
    scores = np.array([r["score"] for r in rows])
    print(f"{len(rows)} clips, {len(split)} split in two segments ({NAME})")
    print(f"  parallel == sequential bit for bit: {sum(r['equal'] for r in rows)}/{len(rows)}")
    if len(past):
        print(
            f"  handed over on {len(past)}/{len(split)}; frames past the seam: mean "
            f"{past.mean():.1f}, median {np.median(past):.0f}, max {past.max():.0f}"
        )
    print(f"  clip scores, largest difference: max {scores.max():.4g}, mean {scores.mean():.4g}")
    timed = [r for r in rows if "replay_cpu" in r]
    if timed:
        cpu = sum(r["replay_cpu"] for r in timed)
        frames = sum(r["replay_frames"] for r in timed)
        print(
            f"  replay: {1000 * cpu / max(frames, 1):.3f} ms of CPU a frame ({frames} frames, "
            f"{len(timed)} clips), equal to the tracker's own: "
            f"{sum(r['replay_equal'] for r in timed)}/{len(timed)}"
        )


if __name__ == "__main__":
    main()
