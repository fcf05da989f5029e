"""CPU per frame of MediaPipe Pose on its default executor pool against one thread per graph.

    .venv/bin/python benchmarks/pose_executor.py [--clips 6] [--rounds 3] [--procs 2]

Each round runs `--procs` processes side by side (one pose worker per core, as `predict` does)
on the first `--clips` wild clips at 10 fps, first with MediaPipe's own `Pose` (its default
executor: a pool of a thread per core), then with `mediapipe_estimator.new_pose` (every
calculator on one thread of its own); prints each process's CPU milliseconds per frame and
checks that both give the same landmarks bit for bit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared"))


def worker(mode: str, clips: int, out: str) -> None:
    """Track the clips with one graph (`mode`: default | one), print CPU ms per frame, save the
    landmarks."""
    sys.path.insert(0, str(REPO / "src"))
    from musclemap.data.video_io import iter_frames
    from musclemap.pose.mediapipe_estimator import import_pose_solution, new_pose, process_frame

    paths = sorted((SHARED / "data" / "wild" / "clips").glob("*.mp4"))[:clips]
    videos = [[f for _, f in iter_frames(p, fps=10.0, max_side=720)] for p in paths]
    make = new_pose if mode == "one" else import_pose_solution().Pose
    rows: list[np.ndarray] = []
    cpu, n = 0.0, 0
    for frames in videos:
        with make(model_complexity=1) as pose:
            process_frame(pose, np.zeros((64, 64, 3), np.uint8))  # the graph's start
            t = time.process_time()
            for frame in frames:
                found = process_frame(pose, frame)
                rows.append(np.full(231, np.nan, np.float32) if found is None else
                            np.concatenate([found.image.ravel(), found.world.ravel()]))
            cpu += time.process_time() - t
            n += len(frames)
    np.save(out, np.stack(rows))
    print(f"{1e3 * cpu / n:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--procs", type=int, default=2, help="processes side by side")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), args.worker[2])
        return
    tmp = Path(tempfile.mkdtemp(prefix="mm-executor-"))
    per_frame: dict[str, list[float]] = {"default": [], "one": []}
    for r in range(args.rounds):
        for mode in per_frame:
            outs = [str(tmp / f"{mode}{r}_{i}.npy") for i in range(args.procs)]
            procs = [
                subprocess.Popen(
                    [sys.executable, __file__, "--worker", mode, str(args.clips), out],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
                for out in outs
            ]
            got = [float(p.communicate()[0].strip()) for p in procs]
            per_frame[mode] += got
            print(f"round {r} {mode}: " + ", ".join(f"{g:.2f}" for g in got) + " ms/frame")
    same = all(
        np.array_equal(np.load(tmp / f"default{r}_0.npy"), np.load(tmp / f"one{r}_0.npy"),
                       equal_nan=True)
        for r in range(args.rounds)
    )
    for mode, values in per_frame.items():
        print(f"{mode}: mean {np.mean(values):.2f} ms CPU per frame ({len(values)} processes)")
    print(f"same landmarks: {same}")


if __name__ == "__main__":
    main()
