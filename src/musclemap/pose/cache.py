"""Pose cache: one pose file per (video content, estimator, settings, fps).

A video is keyed by `musclemap.data.content_hash` of its bytes (the one hash every cache uses),
so a renamed or copied video reuses its entry and a rewritten one does not.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from musclemap.data.content_hash import content_hash
from musclemap.data.pose_sequence import (
    FORMAT_VERSION,
    PoseSequence,
    load_pose_file,
    save_pose_file,
)
from musclemap.errors import DatasetError, MusclemapError

_log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """`$MUSCLEMAP_CACHE/poses` when the variable is set, else `~/.cache/musclemap/poses`."""
    root = os.environ.get("MUSCLEMAP_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "musclemap"
    return base / "poses"


def cache_key(video_digest: str, estimator: str, settings: dict[str, Any], fps: float) -> str:
    """Stable key of one extraction; any change of estimator, settings or fps changes it."""
    payload = json.dumps(
        {
            "video": video_digest,
            "estimator": estimator,
            "settings": settings,
            "fps": float(fps),
            "format": FORMAT_VERSION,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def cache_path(
    video_digest: str,
    estimator: str,
    settings: dict[str, Any],
    fps: float,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Where the pose file of one extraction lives (the folder is not created here)."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = cache_key(video_digest, estimator, settings, fps)
    return folder / key[:2] / f"{key}.npz"


def video_cache_path(
    video: str | os.PathLike[str],
    estimator: str,
    settings: dict[str, Any],
    fps: float,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """`cache_path` of a video file, by the hash of its bytes (not its path).

    Raises:
        OSError: The video cannot be read.
    """
    stat = os.stat(video)
    digest = _digest(os.path.realpath(video), stat.st_size, stat.st_mtime_ns)
    return cache_path(digest, estimator, settings, fps, cache_dir)


@lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    """`content_hash` of a file, once per process while its size and time stay the same (the
    console script's predict asks before the CLI does)."""
    return content_hash(path)


def read_cached(path: Path) -> PoseSequence | None:
    """The cached sequence, or None when there is none; a damaged entry is deleted (so that it
    is recomputed), never an error."""
    if not path.is_file():
        return None
    try:
        return load_pose_file(path)
    except DatasetError:
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def write_cached(seq: PoseSequence, path: Path) -> None:
    """Store a sequence; a cache that cannot be written is skipped with a warning."""
    try:
        save_pose_file(seq, path)
    except (OSError, MusclemapError) as err:  # save_pose_file says a failed write as the latter
        _log.warning("warning: pose cache not written (%s); going on without it", err)
