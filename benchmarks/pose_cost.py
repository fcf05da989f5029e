"""What one video's pose pass costs, piece by piece, and the fastest `predict` it allows.

    .venv/bin/python benchmarks/pose_cost.py CLIP [--fps 10] [--workers 2] [--repeats 3]

Measures in this process (CPU seconds, best of `--repeats`): decoding every frame (PyAV, one
thread), converting the sampled frames to RGB, MediaPipe Pose (complexity 1, the one in the
wheel) per frame when tracking (what `predict` and the naive loop run) and per frame from
scratch (`static_image_mode`: the detector too), a graph's start, and the imports every fresh
process pays. Then the lower bound of issue 11's question, "how fast can a fresh `predict` on
`--workers` cores be": the serial start (imports) plus the pose work split perfectly over the
cores — every other cost of the real command (gates, seams, the CLI, outputs) left out — and
the naive loop's own cost (imports + decode + convert + pose, one process). Both are printed
with their ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def _cpu_of(code: str) -> float:
    """CPU seconds a fresh interpreter spends running `code` (its start-up included)."""
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport time; print(time.process_time())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.split()[-1])


def _best(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()  # type: ignore[operator]
        times.append(time.process_time() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import av
    import mediapipe as mp

    with av.open(str(args.clip)) as c:
        rate = float(c.streams.video[0].average_rate or 30)
    step = max(int(round(rate / args.fps)), 1)

    def decode() -> list:
        with av.open(str(args.clip)) as c:
            s = c.streams.video[0]
            s.codec_context.thread_count = 1
            return [f for i, f in enumerate(c.decode(s)) if i % step == 0]

    sampled = decode()
    t_decode = _best(decode, args.repeats)
    t_convert = _best(lambda: [f.to_ndarray(format="rgb24") for f in sampled], args.repeats)
    rgb = [f.to_ndarray(format="rgb24") for f in sampled]

    def pose(static: bool) -> None:
        with mp.solutions.pose.Pose(model_complexity=1, static_image_mode=static) as p:
            for frame in rgb:
                p.process(frame)

    def start() -> None:
        mp.solutions.pose.Pose(model_complexity=1).close()

    t_start = _best(start, args.repeats)
    t_track = _best(lambda: pose(False), args.repeats) - t_start
    t_static = _best(lambda: pose(True), args.repeats) - t_start
    n = len(rgb)
    imports_naive = _cpu_of("import av, numpy, mediapipe")
    imports_lean = _cpu_of(
        "from musclemap.pose.mediapipe_estimator import import_pose_solution\n"
        "import av, numpy, typer, rich\nimport_pose_solution()"
    )
    work = t_decode + t_convert + t_track
    naive = imports_naive + t_start + work
    # Every worker decodes, converts and poses its share and starts a graph; the imports are
    # paid once before the workers fork.
    bound = imports_lean + t_start + work / args.workers
    print(f"{args.clip.name}: {n} sampled frames at {args.fps:g} fps (every {step})")
    print(f"  decode all frames       {t_decode:6.3f} s CPU")
    print(f"  convert sampled to RGB  {t_convert:6.3f} s ({1000 * t_convert / n:.1f} ms/frame)")
    print(f"  pose, tracking          {t_track:6.3f} s ({1000 * t_track / n:.1f} ms/frame)")
    print(f"  pose, from scratch      {t_static:6.3f} s ({1000 * t_static / n:.1f} ms/frame)")
    print(f"  graph start             {t_start:6.3f} s")
    print(f"  imports: naive loop     {imports_naive:6.3f} s; predict's {imports_lean:.3f} s")
    print(f"  naive loop (one process)            {naive:6.3f} s")
    print(f"  predict's lower bound on {args.workers} cores     {bound:6.3f} s "
          f"= {bound / naive:.2f}x the naive loop")  # fmt: skip


if __name__ == "__main__":
    main()
