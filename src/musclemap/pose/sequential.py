"""One video in this process: decode at `fps`, one estimator (one tracker) frame by frame,
through the pose cache.

`musclemap.pose.extract.extract_poses` (the entry point) uses this, or `musclemap.pose.parallel`
for an estimator by name on several cores; the parallel workers use `extract_sequential` for
whole videos. This module imports neither of them, which keeps the three free of cycles.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.data.pose_sequence import PoseFrame, PoseSequence
from musclemap.data.video_io import iter_frames, probe
from musclemap.pose.cache import read_cached, video_cache_path, write_cached
from musclemap.pose.estimator import PoseEstimator
from musclemap.pose.tracking import find_jumps

# Frames are downscaled to this longer side before pose: MediaPipe works on 224-256 px crops
# anyway, and converting full 720p/1080p frames costs more than decoding them.
DEFAULT_MAX_SIDE = 720
Progress = Callable[[float, str], None]
# Told of every sampled frame as it is posed: (index, RGB frame, landmarks or None).
FrameObserver = Callable[[int, np.ndarray, "PoseFrame | None"], None]


def estimate_video(
    path: str | os.PathLike[str],
    estimator: PoseEstimator,
    *,
    fps: float,
    max_side: int | None = DEFAULT_MAX_SIDE,
    progress: Progress | None = None,
    on_frame: FrameObserver | None = None,
) -> PoseSequence:
    """Decode and estimate in this process (one tracker over the whole video); the display size
    and tracking checks are `finish`'s. `on_frame` sees each sampled frame once, a repeated one
    too (the batch workers keep the gates' frames this way: `parallel._FrameKeeper`)."""
    reset = getattr(estimator, "reset", None)
    if callable(reset):
        reset()
    duration = probe(path).duration_s if progress else 0.0
    frames: list[PoseFrame | None] = []
    times: list[float] = []
    for t, rgb in iter_frames(path, fps=fps, max_side=max_side):
        # A video slower than `fps` repeats frames; re-running the tracker on them adds nothing.
        found = frames[-1] if times and t == times[-1] else estimator.estimate(rgb)
        if on_frame is not None:
            on_frame(len(frames), rgb, found)
        frames.append(found)
        times.append(t)
        if progress and duration > 0:
            progress(min(t / duration, 1.0), f"pose {t:.1f}/{duration:.1f} s")
    return PoseSequence.from_frames(
        frames, times, fps=fps, width=0, height=0, source=str(path), layout=estimator.layout
    )


def finish(seq: PoseSequence, info: Any, name: str, settings: dict[str, Any]) -> PoseSequence:
    """Display size, the estimator's settings and the tracking checks (jumps, seams)."""
    seq.width, seq.height = int(info.width), int(info.height)
    jumps = find_jumps(seq.image, seq.valid, aspect=seq.width / max(seq.height, 1))
    seams = seq.extra.get("seams", [])
    seq.extra = {
        "estimator": name,
        "settings": settings,
        "track_jumps_s": [round(float(seq.times[i]), 3) for i in jumps],
    }
    if seams:
        seq.extra["seams"] = seams
    return seq


# How frames were made for the pose pass, in the pose cache's key (`pose_settings`).
SCALE = "whole factor, square pixels, one field, SDR light"


def pose_settings(estimator: PoseEstimator, max_side: int | None) -> dict[str, Any]:
    """What, besides the video, the estimator's name and fps, keys a cached pose file."""
    # "scale": how frames larger than max_side are made to fit (`video_io.scaled_size`; before
    # it, to max_side exactly) and, since session 19, in square pixels (`video_io.display_size`;
    # before, anamorphic video was posed as stored) and, since session 20, one field of an
    # interlaced frame (`video_io._one_field`; before, both woven) and HDR video in SDR light
    # (`video_io.sdr_curve`; before, its signal as is): poses cached another way are not reused.
    return {**estimator.settings(), "max_side": max_side, "scale": SCALE}


def run_cached(
    video_path: Path,
    info: Any,
    estimator: PoseEstimator,
    compute: Callable[[], PoseSequence],
    *,
    fps: float,
    max_side: int | None,
    cache_dir: str | os.PathLike[str] | None,
    use_cache: bool,
    progress: Progress | None,
) -> PoseSequence:
    """The cached sequence of this video, estimator, settings and fps, else `compute()`
    finished and stored (a cache that cannot be written is skipped with a warning)."""
    settings = pose_settings(estimator, max_side)
    cached = None
    if use_cache:
        cached = video_cache_path(video_path, estimator.name, settings, fps, cache_dir)
        seq = read_cached(cached)
        if seq is not None:
            seq.source = str(video_path)
            if progress:
                progress(1.0, "poses from cache")
            return seq
    seq = finish(compute(), info, estimator.name, settings)
    if progress:
        progress(1.0, "pose done")
    if cached is not None:
        write_cached(seq, cached)
    return seq


def extract_sequential(
    video_path: str | os.PathLike[str],
    estimator: PoseEstimator,
    *,
    fps: float,
    max_side: int | None = DEFAULT_MAX_SIDE,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    on_frame: FrameObserver | None = None,
) -> PoseSequence:
    """`extract_poses` with a given estimator in this process (the caller closes it);
    `on_frame` as `estimate_video`'s (not called when the poses come from the cache).

    Raises:
        VideoError: The video is missing, not a video, corrupt, truncated or has no frames.
    """
    path = Path(video_path)
    info = probe(path)

    def compute() -> PoseSequence:
        return estimate_video(
            path, estimator, fps=fps, max_side=max_side, progress=progress, on_frame=on_frame
        )

    return run_cached(
        path,
        info,
        estimator,
        compute,
        fps=fps,
        max_side=max_side,
        cache_dir=cache_dir,
        use_cache=use_cache,
        progress=progress,
    )
