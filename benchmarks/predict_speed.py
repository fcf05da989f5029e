"""Speed of `musclemap predict` on a 10 s 720p clip: end to end vs decode + pose alone.

    .venv/bin/python benchmarks/predict_speed.py [--video CLIP] [--json OUT.json]

Without --video the clip is made here: a real clip from ../shared/data/wild (a person, so pose
timing is realistic) upscaled to 1280x720 and looped to 10 s at 30 fps; when ../shared is absent,
a generated clip of a drawn stick figure (MediaPipe may not find a person in it: timing of the
no-person path). Reported: end-to-end predict time (cold pose cache, weights already loaded),
decode + pose alone for the same sampled frames, their ratio (overhead), and x real time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WILD = REPO.parent / "shared" / "data" / "wild" / "clips"


def _encode(frames: list[np.ndarray], path: Path, fps: int) -> None:
    import av

    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _letterbox(rgb: np.ndarray) -> np.ndarray:
    from PIL import Image

    h, w = rgb.shape[:2]
    scale = min(1280 / w, 720 / h)
    img = Image.fromarray(rgb).resize((int(w * scale) // 2 * 2, int(h * scale) // 2 * 2))
    canvas = Image.new("RGB", (1280, 720))
    canvas.paste(img, ((1280 - img.width) // 2, (720 - img.height) // 2))
    return np.asarray(canvas)


def make_clip(path: Path, seconds: float = 10.0, fps: int = 30) -> str:
    """Write a 720p clip of `seconds`; returns a description of its source."""
    from musclemap.data.video_io import iter_frames

    source = WILD / "squat__kbtrainer__1.mp4"
    if not source.is_file():
        candidates = sorted(WILD.glob("*.mp4")) if WILD.is_dir() else []
        source = candidates[0] if candidates else None
    if source is not None:
        base = [_letterbox(rgb) for _, rgb in iter_frames(source, fps=fps)]
        desc = f"{source.name} upscaled to 1280x720, looped"
    else:
        base = _stick_figure_frames(fps)
        desc = "generated stick figure (no ../shared)"
    n = int(seconds * fps)
    _encode([base[i % len(base)] for i in range(n)], path, fps)
    return desc


def _stick_figure_frames(fps: int) -> list[np.ndarray]:
    from PIL import Image, ImageDraw

    from musclemap.demo import synthetic_landmarks
    from musclemap.skeleton import MEDIAPIPE33

    _, image = synthetic_landmarks("squat", seconds=2.5, fps=fps)
    frames = []
    for pts in image:
        img = Image.new("RGB", (1280, 720), (200, 200, 200))
        draw = ImageDraw.Draw(img)
        xy = [(x * 720 + 280, y * 720) for x, y, _ in pts]
        for a, b in MEDIAPIPE33.edges:
            draw.line([xy[a], xy[b]], fill=(40, 40, 40), width=14)
        frames.append(np.asarray(img))
    return frames


def decode_only(video: Path, fps: float) -> float:
    from musclemap.data.video_io import iter_frames

    t0 = time.perf_counter()
    for _ in iter_frames(video, fps=fps):
        pass
    return time.perf_counter() - t0


def decode_and_pose(video: Path, fps: float) -> tuple[float, float, int]:
    """Wall and CPU seconds of decode + MediaPipe on the sampled frames, and the frame count."""
    from musclemap.data.video_io import iter_frames
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    with MediaPipePoseEstimator() as est:
        for _, rgb in iter_frames(video, fps=fps):
            est.estimate(rgb)
            n += 1
    return time.perf_counter() - t0, time.process_time() - c0, n


def end_to_end(video: Path, fps: float) -> tuple[float, float, float]:
    """Wall and CPU seconds of `Predictor.predict` (cold pose cache), and the pose coverage."""
    from musclemap.predictor import Predictor

    predictor = Predictor.default()
    with tempfile.TemporaryDirectory() as cache:
        predictor.cache_dir = cache  # cold cache: hashing, pose and cache write are counted
        t0, c0 = time.perf_counter(), time.process_time()
        pred = predictor.predict(video, fps=fps)
        return time.perf_counter() - t0, time.process_time() - c0, pred.pose_coverage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, help="clip to time (default: make a 10 s 720p one)")
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=2, help="best of N for each measurement")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        video, desc = args.video, "given"
        if video is None:
            video = Path(tmp) / "bench_720p.mp4"
            desc = make_clip(video)
        from musclemap.data.video_io import probe

        info = probe(video)
        pose_s, e2e_s, pose_cpu, e2e_cpu, coverage, frames = [], [], [], [], 0.0, 0
        decode_s = min(decode_only(video, args.fps) for _ in range(args.repeats))
        for _ in range(args.repeats):  # interleaved, so load changes hit both alike
            t, c, frames = decode_and_pose(video, args.fps)
            pose_s.append(t)
            pose_cpu.append(c)
            t, c, coverage = end_to_end(video, args.fps)
            e2e_s.append(t)
            e2e_cpu.append(c)
    result = {
        "video": desc,
        "width": info.width,
        "height": info.height,
        "duration_s": round(info.duration_s, 2),
        "sampled_frames": frames,
        "fps": args.fps,
        "pose_coverage": round(coverage, 3),
        "decode_s": round(decode_s, 3),
        "decode_pose_s": round(min(pose_s), 3),
        "end_to_end_s": round(min(e2e_s), 3),
        "decode_pose_cpu_s": round(min(pose_cpu), 3),
        "end_to_end_cpu_s": round(min(e2e_cpu), 3),
        "overhead": round(min(e2e_s) / min(pose_s) - 1.0, 3),
        "x_realtime": round(info.duration_s / min(e2e_s), 2),
        "all_decode_pose_s": [round(t, 3) for t in pose_s],
        "all_end_to_end_s": [round(t, 3) for t in e2e_s],
        "cpu": platform.processor() or platform.machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
