"""Pose sequences: the estimator protocol, the pose-file format and `extract_poses`.

A pose file is a compressed `.npz` holding

- `image` float32 (T, 33, 3): x, y normalised to [0, 1] by display width/height, visibility;
- `world` float32 (T, 33, 4): MediaPipe world landmarks x, y, z in metres (origin between the
  hips, y pointing down) plus visibility;
- `valid` bool (T,), `times` float64 (T,) seconds of each sampled frame;
- `meta`: a JSON string with fps, width, height, layout, num_people, source and `extra`.

Rows without a person are NaN in `image` and `world` and False in `valid`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from musclemap.errors import DatasetError

_log = logging.getLogger(__name__)
NUM_JOINTS = 33
FORMAT_VERSION = 1
# Frames are downscaled to this longer side before pose: MediaPipe works on 224-256 px crops
# anyway, and converting full 720p/1080p frames costs more than decoding them.
DEFAULT_MAX_SIDE = 720
Progress = Callable[[float, str], None]


@dataclass
class PoseFrame:
    """One person's landmarks in one frame.

    Attributes:
        image: float32 (33, 3) x, y in [0, 1] of the display size, visibility.
        world: float32 (33, 4) x, y, z in metres (hip-centred, y down), visibility.
    """

    image: np.ndarray
    world: np.ndarray


@runtime_checkable
class PoseEstimator(Protocol):
    """What `extract_poses` needs from a pose estimator (one tracked person per frame).

    An estimator may also define `reset()`, called before each new video to drop tracking state.
    """

    name: str

    def settings(self) -> dict[str, Any]:
        """Everything that changes the output (keys the cache)."""
        ...

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        """Landmarks of the tracked person in an (H, W, 3) uint8 RGB frame, or None."""
        ...

    def close(self) -> None:
        """Release the estimator's resources."""
        ...


@dataclass
class PoseSequence:
    """Per-frame landmarks of one video sampled at `fps` (see the module docstring for shapes)."""

    image: np.ndarray  # (T, 33, 3)
    world: np.ndarray  # (T, 33, 4)
    valid: np.ndarray  # (T,) bool
    times: np.ndarray  # (T,) float64 seconds
    fps: float
    width: int
    height: int
    layout: str = "mediapipe33"
    num_people: int = 1
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = len(self.valid)
        shapes = {
            "image": (self.image.shape, (t, NUM_JOINTS, 3)),
            "world": (self.world.shape, (t, NUM_JOINTS, 4)),
            "times": (self.times.shape, (t,)),
        }
        for name, (got, want) in shapes.items():
            if tuple(got) != want:
                raise ValueError(f"PoseSequence.{name} has shape {tuple(got)}, expected {want}")

    def __len__(self) -> int:
        return len(self.valid)

    @property
    def coverage(self) -> float:
        """Fraction of sampled frames with a detected person (0 for an empty sequence)."""
        return float(self.valid.mean()) if len(self.valid) else 0.0

    @property
    def duration_s(self) -> float:
        return float(self.times[-1] - self.times[0]) if len(self.times) else 0.0

    def meta(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "fps": float(self.fps),
            "width": int(self.width),
            "height": int(self.height),
            "layout": self.layout,
            "num_people": int(self.num_people),
            "source": self.source,
            "extra": self.extra,
        }

    @classmethod
    def empty(cls, *, fps: float, width: int, height: int, source: str = "") -> PoseSequence:
        return cls.from_frames([], [], fps=fps, width=width, height=height, source=source)

    @classmethod
    def from_frames(
        cls,
        frames: list[PoseFrame | None],
        times: list[float],
        *,
        fps: float,
        width: int,
        height: int,
        source: str = "",
        num_people: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> PoseSequence:
        """Stack per-frame results; None frames become NaN rows with `valid` False."""
        t = len(frames)
        image = np.full((t, NUM_JOINTS, 3), np.nan, np.float32)
        world = np.full((t, NUM_JOINTS, 4), np.nan, np.float32)
        valid = np.zeros(t, bool)
        for i, frame in enumerate(frames):
            if frame is not None:
                image[i], world[i], valid[i] = frame.image, frame.world, True
        return cls(
            image=image,
            world=world,
            valid=valid,
            times=np.asarray(times, np.float64).reshape(t),
            fps=float(fps),
            width=int(width),
            height=int(height),
            num_people=int(valid.any()) if num_people is None else num_people,
            source=source,
            extra=dict(extra or {}),
        )


def save_pose_file(seq: PoseSequence, path: str | os.PathLike[str]) -> Path:
    """Write a pose file atomically (a partial file never has the final name)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez_compressed(
        tmp,
        image=seq.image.astype(np.float32),
        world=seq.world.astype(np.float32),
        valid=seq.valid.astype(bool),
        times=seq.times.astype(np.float64),
        meta=np.asarray(json.dumps(seq.meta())),
    )
    os.replace(tmp, path)
    return path


def load_pose_file(path: str | os.PathLike[str]) -> PoseSequence:
    """Read a pose file written by `save_pose_file`.

    Raises:
        DatasetError: The file is missing or not a valid pose file (message names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: pose file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in ("image", "world", "valid", "times", "meta")}
        meta = json.loads(str(arrays["meta"]))
        return PoseSequence(
            image=arrays["image"].astype(np.float32),
            world=arrays["world"].astype(np.float32),
            valid=arrays["valid"].astype(bool),
            times=arrays["times"].astype(np.float64),
            fps=float(meta["fps"]),
            width=int(meta["width"]),
            height=int(meta["height"]),
            layout=str(meta.get("layout", "mediapipe33")),
            num_people=int(meta.get("num_people", 1)),
            source=str(meta.get("source", "")),
            extra=dict(meta.get("extra", {})),
        )
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DatasetError(f"{path}: not a valid pose file ({reason})") from None


def fps_note(fps: float, trained_fps: float) -> str | None:
    """The prediction note for poses sampled at a rate other than the model's (None if equal)."""
    if abs(fps - trained_fps) < 1e-6:
        return None
    return (
        f"poses sampled at {fps:g} fps (--fps), not the {trained_fps:g} fps the model was "
        "trained at; scores may differ from the model's tested accuracy"
    )


def extract_poses(
    video_path: str | os.PathLike[str],
    *,
    fps: float = 10.0,
    estimator: PoseEstimator | None = None,
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

    With the default estimator and more than one worker the video is split into contiguous
    segments estimated in parallel processes, handed over where their trackers agree
    (`musclemap.pose.parallel`): the sequential result up to each hand-over, and within the
    agreement tolerance (about 2 px) after it.

    Args:
        video_path: Video file.
        fps: Sampling rate (frames per second of the returned sequence).
        estimator: Pose estimator, run in this process; default a `MediaPipePoseEstimator`
            (in worker processes when `workers` > 1).
        cache_dir: Folder of cached pose files.
        progress: Called as `progress(fraction, message)` while decoding.
        use_cache: Read and write the cache.
        max_side: Longer side frames are downscaled to before pose (None: full size).
        workers: Processes for the default estimator (None: one per core, `cpu_budget()`;
            1: this process only).

    Raises:
        VideoError: The video is missing, not a video, corrupt, truncated or has no frames.
    """
    from musclemap.data.video_io import probe
    from musclemap.pose.cache import cache_path, content_hash

    video_path = Path(video_path)
    info = probe(video_path)
    own = estimator is None
    if estimator is None:
        from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

        estimator = MediaPipePoseEstimator()
    try:
        cached = None
        settings = {**estimator.settings(), "max_side": max_side}
        if use_cache:
            cached = cache_path(content_hash(video_path), estimator.name, settings, fps, cache_dir)
            if cached.is_file():
                try:
                    seq = load_pose_file(cached)
                    seq.source = str(video_path)
                    if progress:
                        progress(1.0, "poses from cache")
                    return seq
                except DatasetError:
                    with contextlib.suppress(OSError):
                        cached.unlink()  # a damaged cache entry is recomputed
        if own and _parallel_workers(workers) > 1:
            seq = _estimate_parallel(video_path, info, fps, max_side, workers, progress)
        else:
            seq = _estimate_video(video_path, fps, max_side, estimator, progress)
        seq = _finish(seq, info, estimator.name, settings)
        if progress:
            progress(1.0, "pose done")
        if cached is not None:
            try:
                save_pose_file(seq, cached)
            except OSError as err:
                _log.warning("warning: pose cache not written (%s); going on without it", err)
        return seq
    finally:
        if own:
            estimator.close()


def _parallel_workers(workers: int | None) -> int:
    from musclemap.pose.parallel import cpu_budget

    return cpu_budget() if workers is None else max(int(workers), 1)


def _estimate_parallel(
    path: Path,
    info: Any,
    fps: float,
    max_side: int | None,
    workers: int | None,
    progress: Progress | None,
) -> PoseSequence:
    from musclemap.pose.parallel import expected_frames, shared_pool

    merged = shared_pool(_parallel_workers(workers)).estimate(
        path,
        fps=fps,
        max_side=max_side,
        num_frames=expected_frames(info.duration_s, fps),
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


def _estimate_video(
    path: Path,
    fps: float,
    max_side: int | None,
    estimator: PoseEstimator,
    progress: Progress | None,
) -> PoseSequence:
    """Decode and estimate in this process (one tracker over the whole video)."""
    from musclemap.data.video_io import iter_frames

    reset = getattr(estimator, "reset", None)
    if callable(reset):
        reset()
    duration = 0.0
    if progress:
        from musclemap.data.video_io import probe

        duration = probe(path).duration_s
    frames: list[PoseFrame | None] = []
    times: list[float] = []
    for t, rgb in iter_frames(path, fps=fps, max_side=max_side):
        # A video slower than `fps` repeats frames; re-running the tracker on them adds nothing.
        if times and t == times[-1]:
            frames.append(frames[-1])
        else:
            frames.append(estimator.estimate(rgb))
        times.append(t)
        if progress and duration > 0:
            progress(min(t / duration, 1.0), f"pose {t:.1f}/{duration:.1f} s")
    return PoseSequence.from_frames(frames, times, fps=fps, width=0, height=0, source=str(path))


def _finish(seq: PoseSequence, info: Any, name: str, settings: dict[str, Any]) -> PoseSequence:
    """Display size, the estimator's settings and the tracking checks (jumps, seams)."""
    from musclemap.pose.tracking import find_jumps

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
