"""CPU seconds of `predict`'s input-quality gates per clip, the poses already extracted.

    .venv/bin/python benchmarks/gate_cost.py CLIP [CLIP ...]

- kept: what `predict` does with the pose workers (the three frames were kept by the pose pass):
  three second-person detections on a warm MediaPipe graph, the frames' orientation features,
  the orientation scores and the other gates;
- decoded: the same after decoding the three frames again (poses from the cache).
Best of 3 per clip, `time.process_time` (MediaPipe's threads included).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    from musclemap.pose import quality as q
    from musclemap.pose.extract import extract_poses
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

    warm = MediaPipePoseEstimator()
    warm.warm_up()
    cache = tempfile.mkdtemp(prefix="mm-gate-cost-")
    totals = {"kept": 0.0, "decoded": 0.0}
    clips = [Path(p) for p in sys.argv[1:]]
    for path in clips:
        seq = extract_poses(path, fps=10.0, workers=1, cache_dir=cache)
        frames = q.decode_frames(path, seq, q.frame_picks(seq))
        for mode in totals:
            best = float("inf")
            for _ in range(3):
                t0 = time.process_time()
                if mode == "kept":
                    kept = q.check_kept_frames([(f, seq.image[i]) for i, f in frames.items()], warm)
                    checks = q.frame_checks(kept["features"], kept["hits"], kept["checked"])
                else:
                    checks = q.inspect_frames(path, seq, warm)
                q.assess_video(path, seq, frames=checks)
                best = min(best, time.process_time() - t0)
            totals[mode] += best
            print(f"{path.name} {mode}: {best:.2f} s CPU", flush=True)
    for mode, total in totals.items():
        print(f"{mode}: {total / len(clips):.2f} s CPU per clip (mean of best of 3)")


if __name__ == "__main__":
    main()
