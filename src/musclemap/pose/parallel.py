"""Pose estimation on every core: one video in blocks of whole segments, or many videos at once.

The pose of a video is tracking in fixed segments (`musclemap.pose.segments`): the sampled
frames are cut into near-equal segments of about `SEGMENT_S` seconds, and the tracker is reset
at each segment start whatever the number of workers. One video: the segments are split into
contiguous blocks of whole segments, one per worker (`split_blocks`). Each worker decodes only
its block (the decoder seeks to a keyframe before its start, see `video_io.iter_frames`) and
runs its own MediaPipe graph, reset at each of its segments' starts; the blocks are joined
(`merge_blocks`). The landmarks are those of the sequential run (`sequential.estimate_video`,
which resets at the same frames) bit for bit: no seam to hand over, no warm-up.
`PoseSequence.extra["segments"]` records the segment starts.

Many videos: one whole video per worker at a time (reset at its segment starts), so every core
stays busy.

The pixel checks of the input-quality gates (orientation features, second person) run on the
frames `quality.planned_picks` names, kept while a block decodes them (no second decode): each
block checks the kept frames of its own rows when it is done, with its estimator's `detect`
graph (a static-mode graph, independent of the tracking).

Workers are forked where that is safe (Linux, no other thread, no torch or MediaPipe state to
inherit) and spawned otherwise; each imports MediaPipe and starts its graph as soon as it starts,
while the caller probes and hashes the video. The pool is sized from the cores this process may
use (`cpu_budget`), with one graph and one decoder thread per worker: no oversubscription.
"""

from __future__ import annotations

import atexit
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

from musclemap.data.pose_sequence import PoseSequence
from musclemap.errors import VideoError
from musclemap.pose.estimator import PoseEstimator
from musclemap.pose.segments import (  # noqa: F401 - expected_frames is part of this API
    Merged,
    expected_frames,
    merge_blocks,
    plan_segments,
    split_blocks,
)

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


# -- worker side -------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _die_with_parent() -> None:
    """Linux: the kernel sends this worker SIGTERM when the process that started it dies (even
    by SIGKILL), so no pose worker outlives a killed `musclemap predict`."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _worker_init(factory: EstimatorFactory, progress: Any, threads: int) -> None:
    _die_with_parent()
    # MediaPipe's C++ logging (graph start notices, from its own threads) goes straight to
    # fd 2; a worker's errors reach the caller as exceptions, so its stderr is dropped. Its
    # stdout too: a worker must not hold the caller's pipe open (`musclemap predict | ...`
    # ends when the CLI does, not when its workers have died with it).
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    estimator = factory()
    warm = getattr(estimator, "warm_up", None)
    if callable(warm):
        warm()
    _WORKER.update(estimator=estimator, progress=progress, threads=threads)


def _ready() -> int:
    return os.getpid()


def _reset(estimator: PoseEstimator) -> None:
    reset = getattr(estimator, "reset", None)
    if callable(reset):
        reset()


def _run_block(
    path: str,
    fps: float,
    max_side: int | None,
    starts: list[int],
    stop: int | None,
    origin_s: float | None,
    key: int,
    picks: Sequence[int] = (),
) -> PoseSequence:
    """Poses of one block: the segments beginning at `starts` (contiguous, whole), up to
    sampled frame `stop` (the next block's first; None: to the end of the video), the tracker
    reset at each segment start, as `sequential.estimate_video` does.

    The frames at `picks` in the block (with a person) are checked with their landmarks for
    the input-quality gates when the block is done (`extra["checks"]`, see the module
    docstring): no second decode of the video for the gates."""
    from musclemap.data.video_io import iter_frames

    estimator: PoseEstimator = _WORKER["estimator"]
    progress = _WORKER.get("progress")
    first, resets = starts[0], set(starts)
    frames: list[Any] = []
    times: list[float] = []
    kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    last: tuple[float, Any] | None = None
    for t, rgb in iter_frames(
        path,
        fps=fps,
        max_side=max_side,
        start=first,
        stop=stop,
        origin_s=origin_s,
        threads=_WORKER["threads"],
    ):
        idx = first + len(frames)
        if idx in resets:  # a segment start: a fresh tracker, even on a repeated frame
            _reset(estimator)
            last = None
        # A video slower than `fps` repeats frames; re-running the tracker adds nothing.
        frame = last[1] if last is not None and t == last[0] else estimator.estimate(rgb)
        last = (t, frame)
        if idx in picks and frame is not None:
            kept[idx] = (rgb, frame.image)
        frames.append(frame)
        times.append(t)
        if progress is not None and len(times) % 4 == 0:
            progress.put((key, len(times)))
    seq = PoseSequence.from_frames(frames, times, fps=fps, width=0, height=0, source=path)
    if picks:
        detector = _pixel_detector(estimator)
        seq.extra["checks"] = {idx: _check_one(kept[idx], detector) for idx in sorted(kept)}
    return seq


def _pixel_detector(estimator: PoseEstimator) -> PoseEstimator | None:
    from musclemap.pose.quality import pixel_detector

    return pixel_detector(estimator)


def _check_one(
    pair: tuple[np.ndarray, np.ndarray], detector: PoseEstimator | None
) -> tuple[np.ndarray, int, int]:
    """A kept frame's pixel checks: (orientation features, second person seen, checked), the
    person looked for with `detector` (`quality.pixel_detector`: another estimator's answer
    does not depend on the picture, so not checked). Every kept frame is checked: a block
    does not know what the others found, so it cannot tell a frame whose answer does not
    matter (`quality.people_decided`)."""
    from musclemap.pose.quality import check_kept_frames

    one = check_kept_frames([pair], detector)  # one frame: always checked
    return one["features"][0], one["hits"], one["checked"]


def _run_video(path: str, fps: float, max_side: int | None, cache: dict[str, Any]) -> PoseSequence:
    """One whole video in this worker (batch mode), through the pose cache."""
    from musclemap.pose.sequential import extract_sequential

    return extract_sequential(
        path,
        _WORKER["estimator"],
        fps=fps,
        max_side=max_side,
        cache_dir=cache["dir"],
        use_cache=cache["use"],
    )


class _Keeper:
    """The worker's estimator, keeping the frames of the `picks`-th calls (the sampled frames'
    indices, one call per frame) with the landmarks found in them: the gates' frames without a
    second decode."""

    def __init__(self, inner: PoseEstimator, picks: Sequence[int]) -> None:
        self.inner, self.name, self.picks = inner, inner.name, set(picks)
        self.layout = inner.layout
        self.calls = 0
        self.kept: list[tuple[np.ndarray, np.ndarray]] = []

    def settings(self) -> dict[str, Any]:
        return self.inner.settings()  # the same cache entries as the estimator's own

    def reset(self) -> None:
        reset = getattr(self.inner, "reset", None)
        if callable(reset):
            reset()

    def estimate(self, frame_rgb: np.ndarray) -> Any:
        found = self.inner.estimate(frame_rgb)
        if self.calls in self.picks and found is not None:
            self.kept.append((frame_rgb, found.image))
        self.calls += 1
        return found

    def close(self) -> None:
        pass  # the worker's estimator outlives the video


def _run_checked(
    path: str, fps: float, max_side: int | None, cache: dict[str, Any]
) -> tuple[PoseSequence, dict[str, Any]]:
    """One whole video and its input-quality gates in this worker (batch `predict`): the
    checked (maybe turned back) poses and the `quality` block."""
    from pathlib import Path

    from musclemap.data.video_io import probe
    from musclemap.pose.quality import (
        assess_video,
        check_kept_frames,
        frame_checks,
        pixel_detector,
        planned_picks,
    )
    from musclemap.pose.sequential import extract_sequential

    estimator = _WORKER["estimator"]
    keeper = _Keeper(estimator, planned_picks(expected_frames(probe(path).duration_s, fps)))
    seq = extract_sequential(
        path,
        keeper,
        fps=fps,
        max_side=max_side,
        cache_dir=cache["dir"],
        use_cache=cache["use"],
    )
    frames = None
    if keeper.kept:  # else (poses from the cache) the gates decode their frames
        kept = check_kept_frames(keeper.kept, pixel_detector(estimator))
        frames = frame_checks(kept["features"], kept["hits"], kept["checked"])
    return assess_video(Path(path), seq, estimator=estimator, frames=frames)


def _run_inspect(path: str, seq: PoseSequence) -> dict[str, Any]:
    """The pixel gates of one video (`quality.inspect_frames`) with this worker's estimator."""
    from pathlib import Path

    from musclemap.pose.quality import inspect_frames, pixel_detector

    return inspect_frames(Path(path), seq, pixel_detector(_WORKER["estimator"]))


# -- the pool ----------------------------------------------------------------------------------


def _start_method() -> str:
    """fork when nothing is inherited that could break in a child, spawn otherwise."""
    mp_module = sys.modules.get("musclemap.pose.mediapipe_estimator")
    mediapipe_ok = "mediapipe.python._framework_bindings" not in sys.modules or (
        # Only the pose solution imported (by us), no graph started: no threads to inherit.
        mp_module is not None and mp_module.lean_only() and not mp_module.GRAPH_STARTED
    )
    fork_ok = (
        "fork" in multiprocessing.get_all_start_methods()
        and sys.platform.startswith("linux")
        and threading.active_count() == 1
        and "torch" not in sys.modules
        and mediapipe_ok
    )
    return "fork" if fork_ok else "spawn"


def _default_factory() -> EstimatorFactory:
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

    return MediaPipePoseEstimator


@dataclass
class _Job:
    """One video's blocks in flight (`PosePool._submit`)."""

    path: str
    fps: float
    num_frames: int
    segments: list[int]  # the tracking segments' starts
    base: int  # progress key of block 0
    futures: list[Future[PoseSequence]]


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
        method = _start_method()
        if method == "fork" and self.factory is _default_factory():
            # Import MediaPipe's pose solution once, here, for every forked worker to inherit
            # (0.3 s of CPU each saved), and PyAV (~0.04 s each), which they decode with and
            # the caller probes with; the graphs are started in the workers.
            import av  # noqa: F401

            from musclemap.pose.mediapipe_estimator import import_pose_solution

            import_pose_solution()
        ctx = multiprocessing.get_context(method)
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
        self._submit_lock = threading.Lock()
        # The pixel checks the last `estimate` of a video made on the way (see `inspect`).
        self._checks: dict[tuple[str, float], tuple[int, dict[str, Any] | None]] = {}
        self._prefetched: dict[tuple[str, float, int | None, int, float | None], _Job] = {}
        for _ in range(self.workers):
            self._executor.submit(_ready)  # start every worker now

    def close(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)
        self._prefetched.clear()

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
        """Poses of one video split over the workers (see the module docstring); a job that
        `prefetch` started for the same video and settings is taken over, not run again.

        Args:
            num_frames: Expected sampled frames (`expected_frames`), for the split.
            origin_s: The first frame's time (`probe(...).start_s`); None: not split.

        Raises:
            VideoError: From decoding, or a worker died.
        """
        key = (os.path.realpath(path), float(fps), max_side, int(num_frames), origin_s)
        job = self._prefetched.pop(key, None)
        if job is None:
            job = self._submit(key)
        job.path = str(path)  # as the caller names it (errors, `inspect`)
        return self._collect(job, progress)

    def prefetch(
        self, path: str | os.PathLike[str], *, fps: float, max_side: int | None, info: Any
    ) -> None:
        """Start posing a video now, for the `estimate` call that will ask for it (the console
        script's predict starts it before the CLI and the model are even imported).

        Args:
            info: The video's `probe`.
        """
        num_frames = expected_frames(info.duration_s, fps)
        key = (os.path.realpath(path), float(fps), max_side, num_frames, info.start_s)
        self._prefetched[key] = self._submit(key)

    def _submit(self, key: tuple[str, float, int | None, int, float | None]) -> _Job:
        from musclemap.pose.quality import planned_picks

        path, fps, max_side, num_frames, origin_s = key
        picks = planned_picks(num_frames)
        segments = plan_segments(num_frames, fps)
        # Contiguous blocks of whole segments, one per worker (one block when the decoder
        # cannot seek to a segment: no `origin_s`).
        blocks = split_blocks(segments, self.workers if origin_s is not None else 1)
        stops: list[int | None] = [block[0] for block in blocks[1:]] + [None]
        base = self._key
        self._key += len(blocks)
        with self._submit_lock:  # a video's blocks run side by side, not behind another's
            futures = [
                self._executor.submit(
                    _run_block,
                    path,
                    fps,
                    max_side,
                    block,
                    stop,
                    origin_s,
                    base + b,
                    [i for i in picks if i >= block[0] and (stop is None or i < stop)],
                )
                for b, (block, stop) in enumerate(zip(blocks, stops, strict=True))
            ]
        return _Job(path, fps, num_frames, segments, base, futures)

    def _collect(self, job: _Job, progress: Progress | None) -> Merged:
        counts: dict[int, int] = {}
        pending: set[Future[PoseSequence]] = set(job.futures)
        n = len(job.futures)
        try:
            while pending:
                _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for key, count in self._drain():
                    counts[key] = count
                if progress is not None:
                    done = sum(counts.get(job.base + i, 0) for i in range(n))
                    progress(min(done / max(job.num_frames, 1), 0.99), f"pose on {n} cores")
            parts = [f.result() for f in job.futures]
        except BrokenProcessPool:
            raise VideoError(
                f"{job.path}: pose estimation crashed (a worker process died)"
            ) from None
        self._drain()
        merged = merge_blocks(parts, job.segments)
        self._checks = {(job.path, job.fps): (len(merged.valid), merged.checks)}  # the last only
        return merged

    def inspect(self, path: str | os.PathLike[str], seq: PoseSequence) -> dict[str, Any]:
        """`quality.inspect_frames` of a video: from the frames `estimate` kept while it posed
        this video, else decoded again on a worker (its MediaPipe graph is warm: no graph
        start in this process), e.g. for poses from the cache.

        Raises:
            VideoError: From decoding, or the worker died.
        """
        from musclemap.pose.quality import frame_checks

        rows, checks = self._checks.pop((str(path), float(seq.fps)), (-1, None))
        if checks and checks["features"] and rows == len(seq):
            return frame_checks(checks["features"], checks["hits"], checks["checked"])
        try:
            return self._executor.submit(_run_inspect, str(path), seq).result()
        except BrokenProcessPool:
            raise VideoError(f"{path}: frame checks crashed (a worker process died)") from None

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
        return self._map(_run_video, paths, fps, max_side, cache)

    def map_checked(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        fps: float,
        max_side: int | None,
        cache_dir: str | os.PathLike[str] | None,
        use_cache: bool,
    ) -> Iterator[tuple[int, tuple[PoseSequence, dict[str, Any]] | BaseException]]:
        """`map_videos` with the input-quality gates run in the same worker
        (`quality.assess_video`): (index, (checked poses, quality block) or the error)."""
        cache = {"dir": None if cache_dir is None else str(cache_dir), "use": use_cache}
        return self._map(_run_checked, paths, fps, max_side, cache)

    def _map(
        self,
        job: Callable[..., Any],
        paths: Sequence[str | os.PathLike[str]],
        *args: Any,
    ) -> Iterator[tuple[int, Any]]:
        # Largest files first (a stand-in for the longest videos, free to read): the last
        # videos to finish are short ones, so no core idles long at the end of a batch.
        order = sorted(range(len(paths)), key=lambda i: -_file_size(paths[i]))
        futures = {self._executor.submit(job, str(paths[i]), *args): i for i in order}
        pending: set[Future[Any]] = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            self._drain()
            for f in done:
                err = f.exception()
                if isinstance(err, BrokenProcessPool):
                    path = paths[futures[f]]
                    err = VideoError(f"{path}: pose estimation crashed (a worker process died)")
                yield futures[f], f.result() if err is None else err


def _file_size(path: str | os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # its job reports what is wrong with it


_SHARED: dict[str, Any] = {}


def shared_pool(workers: int | None = None, factory: EstimatorFactory | None = None) -> PosePool:
    """A pool kept for the life of the process (reused by every `extract_poses` call with the
    same size and estimator; closed at exit)."""
    workers = max(int(workers or cpu_budget()), 1)
    factory = factory or _default_factory()
    pool: PosePool | None = _SHARED.get("pool")
    # A pool whose worker died (or whose starting thread ended: PR_SET_PDEATHSIG) is replaced.
    if (
        pool is not None
        and not getattr(pool._executor, "_broken", False)
        and pool.workers == workers
        and pool.factory == factory
    ):
        return pool
    if pool is not None:
        pool.close()
    pool = _SHARED["pool"] = PosePool(workers, factory=factory)
    return pool


@atexit.register
def close_shared_pool(wait: bool = True) -> None:
    """Close the shared pool (its workers exit); at exit, or before a quick `os._exit`
    (`wait=False`: not waiting for the workers, which die with this process)."""
    pool = _SHARED.pop("pool", None)
    if pool is not None:
        pool.close(wait=wait)
