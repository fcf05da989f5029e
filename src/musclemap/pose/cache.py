"""Pose cache: one pose file per (video content, estimator, settings, fps)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from musclemap.pose.base import FORMAT_VERSION

_CHUNK = 1 << 20


def default_cache_dir() -> Path:
    """`$MUSCLEMAP_CACHE/poses` when the variable is set, else `~/.cache/musclemap/poses`."""
    root = os.environ.get("MUSCLEMAP_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "musclemap"
    return base / "poses"


def content_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (renaming or moving a video keeps its cache entry)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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
