"""Optical flow for the flow modality: OpenCV DIS / Farneback / TV-L1, computed once, cached.

Flow is computed between frames `sampling_rate` apart on the frame grid 0, r, 2r, ... (the frames a
clip at that sampling rate sees), at a reduced resolution (short side `size`), and stored as uint8
quantised to [-bound, bound] pixels (TSN's convention) in a compressed `.npz` keyed by the video's
content hash and the flow settings. A clip then reads its flow fields by frame index.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.data.content_hash import content_hash
from musclemap.data.video_io import frame_timestamps, read_clip
from musclemap.errors import VideoError

METHODS = ("dis", "farneback", "tvl1")
_CHUNK = 16  # frames decoded at a time, so long videos never sit in memory at full size


@dataclass(frozen=True)
class FlowSettings:
    """How flow is computed; part of the cache key."""

    sampling_rate: int = 4
    size: int = 160
    method: str = "dis"
    bound: float = 20.0


@dataclass
class FlowField:
    """Quantised flow of one video.

    Attributes:
        flow: uint8 (N, H, W, 2); pixel displacement at this resolution from frame
            `starts[i]` to `starts[i] + sampling_rate`, mapped from [-bound, bound] to [0, 255].
        starts: int64 (N,) first frame index of each pair (0, r, 2r, ...).
        settings: The settings it was computed with.
    """

    flow: np.ndarray
    starts: np.ndarray
    settings: FlowSettings

    def fields(self, frame_indices: np.ndarray) -> np.ndarray:
        """Float flow (T, H, W, 2) in pixels for clip frames (nearest stored pair at or before)."""
        pos = np.clip(
            np.asarray(frame_indices) // self.settings.sampling_rate, 0, len(self.starts) - 1
        )
        return dequantize_flow(self.flow[pos], self.settings.bound)


def quantize_flow(flow: np.ndarray, bound: float) -> np.ndarray:
    """Float pixels -> uint8, clipping at +-bound (0.16 px steps for bound 20)."""
    q = (np.clip(flow, -bound, bound) + bound) * (255.0 / (2 * bound))
    return np.round(q).astype(np.uint8)


def dequantize_flow(q: np.ndarray, bound: float) -> np.ndarray:
    return q.astype(np.float32) * (2 * bound / 255.0) - bound


def _scaled_gray(frames: np.ndarray, size: int) -> np.ndarray:
    import cv2

    h, w = frames.shape[1:3]
    scale = size / min(h, w)
    out_w, out_h = max(1, round(w * scale)), max(1, round(h * scale))
    return np.stack(
        [
            cv2.resize(
                cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (out_w, out_h), interpolation=cv2.INTER_AREA
            )
            for f in frames
        ]
    )


def _flow_fn(method: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    import cv2

    cv: Any = cv2  # the stubs lack the DIS / optflow factories

    if method == "dis":
        dis = cv.DISOpticalFlow_create(cv.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return lambda a, b: dis.calc(a, b, None)
    if method == "farneback":
        return lambda a, b: cv.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    if method == "tvl1":
        if not hasattr(cv, "optflow"):
            raise ValueError("TV-L1 needs opencv-contrib (cv2.optflow); use 'dis' or 'farneback'")
        tvl1 = cv.optflow.DualTVL1OpticalFlow_create()
        return lambda a, b: tvl1.calc(a, b, None)
    raise ValueError(f"unknown flow method {method!r}; expected one of {METHODS}")


def compute_flow(gray: np.ndarray, *, method: str = "dis") -> np.ndarray:
    """Flow between consecutive grey frames (T, H, W) uint8 -> float32 (T - 1, H, W, 2) pixels."""
    fn = _flow_fn(method)
    return np.stack([fn(gray[i], gray[i + 1]) for i in range(len(gray) - 1)]).astype(np.float32)


def _cache_path(cache_dir: Path, video: Path, settings: FlowSettings) -> Path:
    key = json.dumps(asdict(settings), sort_keys=True)
    tag = hashlib.sha256(key.encode()).hexdigest()[:10]
    return cache_dir / f"{content_hash(video)[:24]}_{tag}.npz"


def _compute_video_flow(path: Path, settings: FlowSettings) -> FlowField:
    num_frames = len(frame_timestamps(path))
    starts = np.arange(0, num_frames, settings.sampling_rate, dtype=np.int64)
    grid = np.append(starts, starts[-1] + settings.sampling_rate)
    grid = np.minimum(grid, num_frames - 1)  # the last pair repeats the last frame: zero flow
    flows: list[np.ndarray] = []
    prev: np.ndarray | None = None  # the last frame of the previous chunk: pairs span chunks
    for lo in range(0, len(grid), _CHUNK):
        gray = _scaled_gray(read_clip(path, grid[lo : lo + _CHUNK].tolist()), settings.size)
        pairs = gray if prev is None else np.concatenate([prev[None], gray])
        if len(pairs) > 1:
            flows += [quantize_flow(f, settings.bound)
                      for f in compute_flow(pairs, method=settings.method)]
        prev = gray[-1]
    return FlowField(flow=np.stack(flows), starts=starts, settings=settings)


def video_flow(
    path: str | os.PathLike[str],
    *,
    settings: FlowSettings | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> FlowField:
    """Flow of a whole video on the sampling-rate grid, read from / written to `cache_dir`.

    Raises:
        VideoError: The video cannot be decoded, or a cache file is corrupt (names the file).
    """
    path, settings = Path(path), settings or FlowSettings()
    if not path.is_file():
        raise VideoError(f"{path}: file not found")
    cache = _cache_path(Path(cache_dir), path, settings) if cache_dir is not None else None
    if cache is not None and cache.is_file():
        return load_flow_file(cache)
    field = _compute_video_flow(path, settings)
    if cache is not None:
        save_flow_file(field, cache)
    return field


def save_flow_file(field: FlowField, path: str | os.PathLike[str]) -> Path:
    """Write a flow `.npz` (uint8 flow, starts, settings as JSON `meta`) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + f".tmp{os.getpid()}.npz")
    np.savez_compressed(
        tmp, flow=field.flow, starts=field.starts, meta=np.array(json.dumps(asdict(field.settings)))
    )
    os.replace(tmp, path)  # concurrent DataLoader workers never read half a file
    return path


def load_flow_file(path: str | os.PathLike[str]) -> FlowField:
    """Read a flow `.npz` written by `save_flow_file`; a bad file raises `VideoError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: flow file not found")
    try:
        with np.load(path) as data:
            settings = FlowSettings(**json.loads(str(data["meta"])))
            return FlowField(flow=data["flow"], starts=data["starts"], settings=settings)
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise VideoError(f"{path}: not a readable flow file ({err}); delete it") from None
