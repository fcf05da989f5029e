"""`extract_poses`: a video's poses, from the cache or estimated, on one core or all of them.

The pieces: `musclemap.pose.estimator` (the protocol and the estimators by name),
`musclemap.pose.sequential` (one process, one tracker, through the cache),
`musclemap.pose.parallel` (an estimator by name over segments in worker processes) and
`musclemap.pose.cache` (where a video's poses are kept, by content hash).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from musclemap.data.pose_sequence import PoseSequence
from musclemap.data.video_io import probe
from musclemap.pose import parallel as pose_parallel
from musclemap.pose.cache import video_cache_path
from musclemap.pose.estimator import (
    DEFAULT_ESTIMATOR,
    PoseEstimator,
    build_estimator,
    pool_factory,
    pooled_name,
)
from musclemap.pose.parallel import PosePool, sampled_frames, shared_pool
from musclemap.pose.sequential import (
    DEFAULT_MAX_SIDE,
    Progress,
    estimate_video,
    pose_settings,
    run_cached,
)


def extract_poses(
    video_path: str | os.PathLike[str],
    *,
    fps: float = 10.0,
    estimator: PoseEstimator | str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
    max_side: int | None = DEFAULT_MAX_SIDE,
    workers: int | None = None,
) -> PoseSequence:
    """Decode a video at `fps` and estimate one pose per sampled frame, with a cache.

    Results are cached per video under `cache_dir` (default `$MUSCLEMAP_CACHE/poses`, else
    `~/.cache/musclemap/poses`), keyed by the file's content hash, the estimator's name and
    settings, `fps` and `max_side`; a second call on the same file returns the cached sequence.
    A cache that cannot be written is skipped with a warning (logging), never an error.

    With an estimator by name (`estimator.POOLED`) and more than one worker the video is split
    into contiguous segments estimated in parallel processes, handed over where their trackers
    agree (`musclemap.pose.parallel`): with MediaPipe's own tracker the sequential result up to
    each hand-over, and within the agreement tolerance (`seams.AGREE`, about 7 px at 720 px)
    after it; with a tracker on a grid (`mediapipe_g4`) the sequential result bit for bit.

    Args:
        video_path: Video file.
        fps: Sampling rate (frames per second of the returned sequence).
        estimator: Pose estimator, run in this process (the caller closes it), or a
            registered name (built here and closed; a `POOLED` one in worker processes when
            `workers` > 1); default `pose.estimator.DEFAULT_ESTIMATOR` (MediaPipe).
        cache_dir: Folder of cached pose files.
        progress: Called as `progress(fraction, message)` while decoding.
        use_cache: Read and write the cache.
        max_side: Longer side frames are downscaled to before pose (None: full size).
        workers: Processes for an estimator by name (None: one per core, `cpu_budget()`;
            1: this process only).

    Raises:
        VideoError: The video is missing, not a video, corrupt, truncated or has no frames.
    """
    from musclemap.pose.quality import check_frame_spacing

    video_path = Path(video_path)
    info = probe(video_path)
    check_frame_spacing(video_path)  # frames stamped hours apart: sampled for hours
    own = estimator is None or isinstance(estimator, str)
    name = DEFAULT_ESTIMATOR if estimator is None else estimator
    est = build_estimator(name) if isinstance(name, str) else name
    pooled = pooled_name(estimator)
    n = pose_workers(workers) if pooled is not None else 1

    def compute() -> PoseSequence:
        if n > 1 and pooled is not None:
            return _estimate_parallel(video_path, info, fps, max_side, n, progress, pooled)
        return estimate_video(video_path, est, fps=fps, max_side=max_side, progress=progress)

    try:
        return run_cached(
            video_path,
            info,
            est,
            compute,
            fps=fps,
            max_side=max_side,
            cache_dir=cache_dir,
            use_cache=use_cache,
            progress=progress,
        )
    finally:
        if own:
            est.close()


def prefetch_poses(
    video_path: str | os.PathLike[str],
    *,
    fps: float,
    workers: int | None,
    use_cache: bool,
    estimator: str = DEFAULT_ESTIMATOR,
) -> bool:
    """Start posing a video on the shared pool now, at the predict defaults (`estimator`, a
    `POOLED` name, and `DEFAULT_MAX_SIDE`), for the `extract_poses` call that will follow with
    the same `fps` and estimator (the console script does this for `predict VIDEO` before
    importing the CLI). Nothing is started for a single worker, cached poses or a video too
    small to pose. Returns whether a job was started.

    Raises:
        VideoError: The video cannot be probed.
    """
    from musclemap.pose.quality import MIN_SIDE

    info = probe(video_path)
    pool = pose_pool(workers, estimator)
    if pool is None or min(info.width, info.height) < MIN_SIDE:
        return False
    if use_cache:
        est = build_estimator(estimator)
        settings = pose_settings(est, DEFAULT_MAX_SIDE)  # as `run_cached` keys the file
        if video_cache_path(video_path, est.name, settings, fps).is_file():
            return False
    pool.prefetch(video_path, fps=fps, max_side=DEFAULT_MAX_SIDE, info=info)
    return True


def fps_note(fps: float, trained_fps: float) -> str | None:
    """The prediction note for poses sampled at a rate other than the model's (None if equal)."""
    if abs(fps - trained_fps) < 1e-6:
        return None
    return (
        f"poses sampled at {fps:g} fps (--fps), not the {trained_fps:g} fps the model was "
        "trained at; scores may differ from the model's tested accuracy"
    )


def pose_workers(workers: int | None) -> int:
    """Processes for `workers` (None: one per core): never more than the cores this process may
    use (each is a MediaPipe process of ~300 MB; beyond the cores they only wait), with a
    warning, attributed to the caller of the public function that asks (`musclemap.predict`,
    `Predictor.predict`, `extract_poses`), when asked for more."""
    cores = pose_parallel.cpu_budget()
    if workers is None:
        return cores
    n = max(int(workers), 1)
    if n > cores:
        warnings.warn(
            f"workers={n} is more than the {cores} cores this process may use; using {cores}",
            stacklevel=3,
        )
        return cores
    return n


def pose_pool(workers: int | None, estimator: str = DEFAULT_ESTIMATOR) -> PosePool | None:
    """The shared pool `extract_poses` runs the `POOLED` estimator of that name on for
    `workers` (None when it runs in this process)."""
    n = pose_workers(workers)
    return shared_pool(n, pool_factory(estimator)) if n > 1 else None


def _estimate_parallel(
    path: Path,
    info: Any,
    fps: float,
    max_side: int | None,
    workers: int,
    progress: Progress | None,
    name: str,
) -> PoseSequence:
    merged = shared_pool(workers, pool_factory(name)).estimate(
        path,
        fps=fps,
        max_side=max_side,
        num_frames=sampled_frames(info, fps),
        origin_s=info.start_s,
        progress=progress,
    )
    seq = PoseSequence(
        image=merged.image,
        world=merged.world,
        valid=merged.valid,
        times=merged.times,
        fps=fps,
        width=0,
        height=0,
        num_people=int(merged.valid.any()),
        source=str(path),
    )
    seq.extra = {"seams": merged.seams}
    return seq
