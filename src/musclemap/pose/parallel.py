"""Pose estimation on every core: one video in contiguous segments, or many videos at once.

One video: the sampled frames k = 0..T-1 are split into contiguous segments [a, b), one per
worker process. Each worker decodes only its segment (the decoder seeks to a keyframe before
`a`, see `video_io.iter_frames`) and runs its own MediaPipe graph, so tracking starts afresh at
each segment. A segment after the first also runs `OVERLAP` frames before `a`: they warm up the
tracker and MediaPipe's landmark smoothing, and are compared with the previous segment's results
on the same frames (the seam check, `PoseSequence.extra["seams"]`); the previous segment's
results are the ones kept. Where the two disagree by more than `SEAM_JUMP` the segments followed
different people, and the seam is reported as a track jump (a note in the prediction).

Many videos: one whole video per worker at a time (no seams), so every core stays busy.

Workers are forked where that is safe (Linux, no other thread, no torch or MediaPipe state to
inherit) and spawned otherwise; each imports MediaPipe and starts its graph as soon as it starts,
while the caller probes and hashes the video. The pool is sized from the cores this process may
use (`cpu_budget`), with one graph and one decoder thread per worker: no oversubscription.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np

from musclemap.errors import VideoError
from musclemap.pose.base import PoseEstimator, PoseSequence

# Frames a segment runs before its start: the tracker and the landmark filter settle in a few.
OVERLAP = 5
# Fewer sampled frames than this per segment and the video is not split further.
MIN_SEGMENT = 20
# Mean landmark distance (image-normalised) above which two segments followed different people.
SEAM_JUMP = 0.1

EstimatorFactory = Callable[[], PoseEstimator]
Progress = Callable[[float, str], None]


def cpu_budget() -> int:
    """Cores this process may use: its affinity mask where the OS has one, else the CPU count.

    Inside a worker process of some pool (the web server's, `data poses`') the answer is 1:
    its siblings share the cores already.
    """
    if multiprocessing.parent_process() is not None:
        return 1
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS, Windows
        return max(os.cpu_count() or 1, 1)


def plan_segments(num_frames: int, workers: int, min_frames: int = MIN_SEGMENT) -> list[int]:
    """Start indices of contiguous, near-equal segments of `num_frames` sampled frames.

    At most `workers` segments, none shorter than `min_frames` (a short clip is one segment).
    """
    count = max(1, min(workers, num_frames // max(min_frames, 1)))
    return [round(i * num_frames / count) for i in range(count)]


def expected_frames(duration_s: float, fps: float) -> int:
    """Sampled frames a video of `duration_s` gives at `fps` (an estimate, for planning)."""
    return max(int(math.floor(duration_s * fps + 1e-6)), 1)


# -- worker side -------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _worker_init(factory: EstimatorFactory, progress: Any, threads: int) -> None:
    from musclemap.pose import mediapipe_estimator

    # Nothing else imports mediapipe in a pose worker, so the lean import is safe here.
    mediapipe_estimator.LEAN_IMPORT = True
    # MediaPipe's C++ logging (graph start notices, from its own threads) goes straight to
    # fd 2; a worker's errors reach the caller as exceptions, so its stderr is dropped.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    estimator = factory()
    warm = getattr(estimator, "warm_up", None)
    if callable(warm):
        warm()
    _WORKER.update(estimator=estimator, progress=progress, threads=threads)


def _ready() -> int:
    return os.getpid()


def _run_segment(
    path: str,
    fps: float,
    max_side: int | None,
    start: int,
    stop: int | None,
    origin_s: float | None,
    key: int,
) -> PoseSequence:
    """Poses of sampled frames [start, stop) of one video, tracking from scratch."""
    from musclemap.data.video_io import iter_frames

    estimator: PoseEstimator = _WORKER["estimator"]
    reset = getattr(estimator, "reset", None)
    if callable(reset):
        reset()
    progress = _WORKER.get("progress")
    frames: list[Any] = []
    times: list[float] = []
    for t, rgb in iter_frames(
        path,
        fps=fps,
        max_side=max_side,
        start=start,
        stop=stop,
        origin_s=origin_s,
        threads=_WORKER["threads"],
    ):
        # A video slower than `fps` repeats frames; re-running the tracker on them adds nothing.
        frames.append(frames[-1] if times and t == times[-1] else estimator.estimate(rgb))
        times.append(t)
        if progress is not None and len(times) % 4 == 0:
            progress.put((key, len(times)))
    seq = PoseSequence.from_frames(frames, times, fps=fps, width=0, height=0, source=path)
    seq.extra = {"first": start}
    return seq


def _run_video(path: str, fps: float, max_side: int | None, cache: dict[str, Any]) -> PoseSequence:
    """One whole video in this worker (batch mode), through the pose cache."""
    from musclemap.pose.base import extract_poses

    return extract_poses(
        path,
        fps=fps,
        estimator=_WORKER["estimator"],
        max_side=max_side,
        workers=1,
        cache_dir=cache["dir"],
        use_cache=cache["use"],
    )


# -- merging -----------------------------------------------------------------------------------


@dataclass
class Merged:
    """Segments joined into one sequence of rows (see `merge_segments`)."""

    times: np.ndarray  # (T,)
    image: np.ndarray  # (T, 33, 3)
    world: np.ndarray  # (T, 33, 4)
    valid: np.ndarray  # (T,)
    seams: list[dict[str, Any]]


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance of the 33 landmarks (x, y image-normalised) between two poses."""
    return float(np.linalg.norm(a[:, :2] - b[:, :2], axis=-1).mean())


def merge_segments(parts: Sequence[PoseSequence], starts: Sequence[int]) -> Merged:
    """Join segment results: part i covers rows from `parts[i].extra["first"]`, of which those
    from `starts[i]` on are kept (before that: the overlap, compared with part i-1).

    A seam record says where it is (`t`, `index`), how many overlap frames both parts saw a
    person in (`compared`), their landmark distance on the last overlap frame (`distance`,
    None if not both saw a person there) and whether that marks a different person (`jump`).
    """
    times: list[np.ndarray] = []
    image: list[np.ndarray] = []
    world: list[np.ndarray] = []
    valid: list[np.ndarray] = []
    seams: list[dict[str, Any]] = []
    for i, (part, start) in enumerate(zip(parts, starts, strict=True)):
        first = int(part.extra["first"])
        skip = start - first
        if i > 0 and skip > 0 and len(times):
            prev_image = np.concatenate(image)[-skip:]
            prev_valid = np.concatenate(valid)[-skip:]
            n = min(skip, len(part), len(prev_valid))
            ov_image, ov_valid = part.image[:n], part.valid[:n]
            prev_image, prev_valid = prev_image[:n], prev_valid[:n]
            both = ov_valid & prev_valid
            last = None
            if n and both[-1]:
                last = _distance(ov_image[-1], prev_image[-1])
            seams.append(
                {
                    "index": int(start),
                    "t": float(part.times[n]) if len(part) > n else None,
                    "compared": int(both.sum()),
                    "distance": None if last is None else round(last, 4),
                    "jump": bool(last is not None and last > SEAM_JUMP),
                }
            )
        times.append(part.times[skip:])
        image.append(part.image[skip:])
        world.append(part.world[skip:])
        valid.append(part.valid[skip:])
    return Merged(
        times=np.concatenate(times) if times else np.zeros(0),
        image=np.concatenate(image) if image else np.zeros((0, 33, 3), np.float32),
        world=np.concatenate(world) if world else np.zeros((0, 33, 4), np.float32),
        valid=np.concatenate(valid) if valid else np.zeros(0, bool),
        seams=[s for s in seams if s["t"] is not None],
    )


# -- the pool ----------------------------------------------------------------------------------


def _start_method() -> str:
    """fork when nothing is inherited that could break in a child, spawn otherwise."""
    fork_ok = (
        "fork" in multiprocessing.get_all_start_methods()
        and sys.platform.startswith("linux")
        and threading.active_count() == 1
        and "torch" not in sys.modules
        and "mediapipe.python._framework_bindings" not in sys.modules
    )
    return "fork" if fork_ok else "spawn"


def _default_factory() -> EstimatorFactory:
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

    return MediaPipePoseEstimator


class PosePool:
    """Worker processes with one pose estimator each (created at once: they warm up while the
    caller does other work).

    Args:
        workers: Processes (default `cpu_budget()`).
        factory: Picklable callable that builds an estimator in a worker (default
            `MediaPipePoseEstimator`).
    """

    def __init__(
        self, workers: int | None = None, *, factory: EstimatorFactory | None = None
    ) -> None:
        self.workers = max(int(workers or cpu_budget()), 1)
        self.factory = factory or _default_factory()
        ctx = multiprocessing.get_context(_start_method())
        self._progress = ctx.SimpleQueue()
        # One decoder thread per worker, since there is a worker per core.
        threads = max(cpu_budget() // self.workers, 1)
        self._executor = ProcessPoolExecutor(
            self.workers,
            mp_context=ctx,
            initializer=_worker_init,
            initargs=(self.factory, self._progress, threads),
        )
        self._key = 0
        for _ in range(self.workers):
            self._executor.submit(_ready)  # start every worker now

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PosePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drain(self) -> list[tuple[int, int]]:
        out = []
        while not self._progress.empty():
            out.append(self._progress.get())
        return out

    def estimate(
        self,
        path: str | os.PathLike[str],
        *,
        fps: float,
        max_side: int | None,
        num_frames: int,
        origin_s: float | None,
        progress: Progress | None = None,
    ) -> Merged:
        """Poses of one video split over the workers (see the module docstring).

        Args:
            num_frames: Expected sampled frames (`expected_frames`), for the split.
            origin_s: The first frame's time (`probe(...).start_s`); None: not split.

        Raises:
            VideoError: From decoding, or a worker died.
        """
        starts = plan_segments(num_frames, self.workers) if origin_s is not None else [0]
        stops: list[int | None] = [*starts[1:], None]
        base = self._key
        self._key += len(starts)
        futures = [
            self._executor.submit(
                _run_segment,
                str(path),
                fps,
                max_side,
                max(a - OVERLAP, 0) if i else 0,
                b,
                origin_s,
                base + i,
            )
            for i, (a, b) in enumerate(zip(starts, stops, strict=True))
        ]
        counts: dict[int, int] = {}
        pending: set[Future[PoseSequence]] = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for key, n in self._drain():
                counts[key] = n
            if progress is not None:
                done = sum(counts.get(base + i, 0) for i in range(len(starts)))
                progress(min(done / max(num_frames, 1), 0.99), f"pose on {len(starts)} cores")
        try:
            parts = [f.result() for f in futures]
        except BrokenProcessPool:
            raise VideoError(f"{path}: pose estimation crashed (a worker process died)") from None
        self._drain()
        return merge_segments(parts, starts)

    def map_videos(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        fps: float,
        max_side: int | None,
        cache_dir: str | os.PathLike[str] | None,
        use_cache: bool,
    ) -> Iterator[tuple[int, PoseSequence | BaseException]]:
        """Poses of many videos, one per worker at a time, as they finish: (index, sequence or
        the error that video raised)."""
        cache = {"dir": None if cache_dir is None else str(cache_dir), "use": use_cache}
        futures = {
            self._executor.submit(_run_video, str(p), fps, max_side, cache): i
            for i, p in enumerate(paths)
        }
        pending: set[Future[PoseSequence]] = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            self._drain()
            for f in done:
                err = f.exception()
                if isinstance(err, BrokenProcessPool):
                    path = paths[futures[f]]
                    err = VideoError(f"{path}: pose estimation crashed (a worker process died)")
                yield futures[f], f.result() if err is None else err


_SHARED: dict[str, Any] = {}


def shared_pool(workers: int | None = None, factory: EstimatorFactory | None = None) -> PosePool:
    """A pool kept for the life of the process (reused by every `extract_poses` call with the
    same size and estimator; closed at exit)."""
    workers = max(int(workers or cpu_budget()), 1)
    factory = factory or _default_factory()
    pool = _SHARED.get("pool")
    if pool is not None and pool.workers == workers and pool.factory == factory:
        return pool
    if pool is not None:
        pool.close()
    pool = _SHARED["pool"] = PosePool(workers, factory=factory)
    return pool


@atexit.register
def _close_shared() -> None:
    pool = _SHARED.pop("pool", None)
    if pool is not None:
        pool.close()
