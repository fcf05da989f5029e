"""Clip sampling, spatial transforms and modalities (RGB, RGB difference, optical flow).

As the paper trains its video models (Sec. V-A, PySlowFast Kinetics recipe): 16 frames at sampling
rate 4; training takes one random temporal window, a random short-side scale in [256, 320], a random
224 crop, colour jitter 0.4 and a horizontal flip (labels are unaffected: the muscle groups are
bilateral); validation/test take `num_views` evenly spaced temporal windows, short side 256 and a
centre 224 crop, returned as `(V, C, T, H, W)` for the evaluator to average.

Every random choice comes from an explicit `np.random.Generator` seeded by (seed, epoch, index), so
a sample is the same in any DataLoader worker. Frames are decoded by `video_io.read_clip` (PyAV,
seeking); an undecodable clip raises `VideoError` naming the file and is never replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from musclemap.data.flow import FlowSettings, video_flow
from musclemap.data.samples import Sample
from musclemap.data.video_io import frame_timestamps, read_clip
from musclemap.errors import DatasetError

MODALITY_CHANNELS = {"rgb": 3, "rgbdiff": 3, "flow": 2}
MEAN = np.array([0.45, 0.45, 0.45], dtype=np.float32)  # PySlowFast's Kinetics statistics
STD = np.array([0.225, 0.225, 0.225], dtype=np.float32)


def temporal_indices(
    num_frames: int,
    clip_len: int,
    sampling_rate: int,
    *,
    rng: np.random.Generator | None = None,
    view: int = 0,
    num_views: int = 1,
) -> np.ndarray:
    """Frame indices of one clip: `clip_len` frames `sampling_rate` apart.

    With `rng` the window starts uniformly at random (training); otherwise view `view` of
    `num_views` windows spread evenly from the start to the end of the video (one view: centre).
    Videos shorter than the window repeat their last frame.
    """
    if num_frames < 1:
        raise ValueError("a video needs at least one frame")
    span = clip_len * sampling_rate
    delta = max(num_frames - span, 0)
    if rng is not None:
        start = rng.uniform(0, delta)
    else:
        start = delta * (view / (num_views - 1) if num_views > 1 else 0.5)
    idx = np.round(start + np.arange(clip_len) * sampling_rate).astype(np.int64)
    return np.clip(idx, 0, num_frames - 1)


@dataclass(frozen=True)
class SpatialParams:
    """One sample's spatial/colour choices, shared by its main and auxiliary modality."""

    short_side: int
    crop: int
    top_frac: float  # crop offset as a fraction of the free space (0.5 = centre)
    left_frac: float
    flip: bool = False
    jitter: tuple[float, float, float] = (1.0, 1.0, 1.0)  # brightness, contrast, saturation
    jitter_order: tuple[int, int, int] = (0, 1, 2)


def sample_spatial_params(
    *,
    train: bool,
    crop: int,
    train_scale: tuple[int, int],
    test_scale: int,
    jitter: float = 0.4,
    rng: np.random.Generator | None = None,
) -> SpatialParams:
    """Training: random scale, crop position, flip and colour jitter; else centre crop."""
    if not train:
        return SpatialParams(short_side=test_scale, crop=crop, top_frac=0.5, left_frac=0.5)
    if rng is None:
        raise ValueError("training transforms need an rng")
    factors = 1.0 + rng.uniform(-jitter, jitter, size=3)
    o = rng.permutation(3)
    order = (int(o[0]), int(o[1]), int(o[2]))
    return SpatialParams(
        short_side=int(round(rng.uniform(*train_scale))),
        crop=crop,
        top_frac=float(rng.uniform()),
        left_frac=float(rng.uniform()),
        flip=bool(rng.uniform() < 0.5),
        jitter=(float(factors[0]), float(factors[1]), float(factors[2])),
        jitter_order=order,
    )  # type: ignore[arg-type]


def scaled_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(H, W) with the short side at `short_side`, aspect kept."""
    if height <= width:
        return short_side, max(short_side, int(round(width * short_side / height)))
    return max(short_side, int(round(height * short_side / width))), short_side


def resize(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of (T, H, W, C) to (T, *size, C)."""
    import cv2

    h, w = size
    if frames.shape[1:3] == (h, w):
        return frames
    out = [cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) for f in frames]
    return np.stack([o if o.ndim == 3 else o[..., None] for o in out])


def crop_and_flip(frames: np.ndarray, p: SpatialParams) -> np.ndarray:
    """Crop (T, H, W, C) to `p.crop` at the chosen offset, then flip horizontally if chosen."""
    h, w = frames.shape[1:3]
    if h < p.crop or w < p.crop:
        raise ValueError(f"frames {h}x{w} smaller than the crop {p.crop}")
    top = int(round((h - p.crop) * p.top_frac))
    left = int(round((w - p.crop) * p.left_frac))
    out = frames[:, top : top + p.crop, left : left + p.crop]
    return out[:, :, ::-1] if p.flip else out


def color_jitter(frames: np.ndarray, p: SpatialParams) -> np.ndarray:
    """Brightness, contrast, saturation (PySlowFast order-randomised jitter) on [0, 1] RGB."""
    gray_w = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    out = frames
    for op in p.jitter_order:
        alpha = p.jitter[op]
        if op == 0:
            out = out * alpha
        elif op == 1:
            mean = (out @ gray_w).mean()
            out = out * alpha + mean * (1 - alpha)
        else:
            gray = (out @ gray_w)[..., None]
            out = out * alpha + gray * (1 - alpha)
    return np.clip(out, 0.0, 1.0)


def rgb_view(frames: np.ndarray, p: SpatialParams, *, train: bool) -> np.ndarray:
    """uint8 (T, H, W, 3) -> float32 (T, crop, crop, 3) in [0, 1], scaled, cropped, jittered."""
    h, w = frames.shape[1:3]
    x = crop_and_flip(resize(frames, scaled_size(h, w, p.short_side)), p)
    x = x.astype(np.float32) / 255.0
    return color_jitter(x, p) if train else x


def rgb_to_input(frames: np.ndarray) -> np.ndarray:
    """Normalised RGB (T, H, W, 3) -> (C, T, H, W)."""
    return ((frames - MEAN) / STD).transpose(3, 0, 1, 2)


def rgbdiff_to_input(frames: np.ndarray) -> np.ndarray:
    """T + 1 frames (T + 1, H, W, 3) in [0, 1] -> differences of consecutive frames (3, T, H, W)."""
    return (np.diff(frames, axis=0) / STD).transpose(3, 0, 1, 2)


def flow_view(
    flow: np.ndarray, video_hw: tuple[int, int], p: SpatialParams, bound: float
) -> np.ndarray:
    """Flow (T, h, w, 2) in pixels at its stored size -> (2, T, crop, crop) scaled to [-1, 1]ish.

    Resized to the same scaled frame size as the RGB frames (vectors scaled with it), cropped at
    the same place; a flip negates the horizontal component.
    """
    size = scaled_size(*video_hw, p.short_side)
    x = resize(flow, size) * np.array(
        [size[1] / flow.shape[2], size[0] / flow.shape[1]], dtype=np.float32
    )
    x = crop_and_flip(x, p)
    if p.flip:
        x = x * np.array([-1.0, 1.0], dtype=np.float32)
    return (x / bound).astype(np.float32).transpose(3, 0, 1, 2)


class VideoClipDataset(torch.utils.data.Dataset):
    """Clips of manifest rows as `Sample`s: `video` (C, T, H, W) in training, (V, C, T, H, W) else.

    Args:
        rows: Manifest rows (`clip`, `labels`, optional `flow` file, `clip_id`).
        modality: "rgb", "rgbdiff" or "flow" for `Sample.video`.
        aux_modality: Optional second modality for `Sample.aux` (same frames, crop and flip).
        clip_len: Frames per clip.
        sampling_rate: Frame step between sampled frames.
        train: Random window/scale/crop/flip/jitter (one view) or evenly spaced test views.
        crop_size: Square crop side.
        train_scale: Short-side range of training scale jitter.
        test_scale: Short side at validation/test.
        num_views: Temporal views per clip at validation/test.
        seed: Seed of every random choice (with the epoch and the index).
        cache_dir: Where computed optical flow is cached (None: recomputed each time).
        flow_settings: How flow is computed (default: DIS at short side 160, bound 20 px).
    """

    def __init__(
        self,
        rows: Sequence,
        *,
        modality: str = "rgb",
        aux_modality: str = "",
        clip_len: int = 16,
        sampling_rate: int = 4,
        train: bool = True,
        crop_size: int = 224,
        train_scale: tuple[int, int] = (256, 320),
        test_scale: int = 256,
        num_views: int = 5,
        seed: int = 0,
        cache_dir: str | Path | None = None,
        flow_settings: FlowSettings | None = None,
    ) -> None:
        from musclemap.errors import ConfigError

        for m in (modality, aux_modality):
            if m and m not in MODALITY_CHANNELS:
                raise ConfigError(
                    f"unknown video modality {m!r}; expected one of {', '.join(MODALITY_CHANNELS)}"
                )
        if not rows:
            raise DatasetError("no clips to load (empty manifest split)")
        from musclemap.data.manifest import require_files

        with_flow = [r for r in rows if getattr(r, "flow", None) is not None]
        require_files(with_flow, "flow")  # all missing files now, not one mid-epoch
        require_files([r for r in rows if getattr(r, "flow", None) is None], "clip")
        self.rows = list(rows)
        self.modality, self.aux_modality = modality, aux_modality
        self.clip_len, self.sampling_rate = clip_len, sampling_rate
        self.train, self.crop_size = train, crop_size
        self.train_scale, self.test_scale = train_scale, test_scale
        self.num_views, self.seed, self.epoch = num_views, seed, 0
        self.cache_dir = cache_dir
        self.flow_settings = flow_settings or FlowSettings(sampling_rate=sampling_rate)

    def __len__(self) -> int:
        return len(self.rows)

    def set_epoch(self, epoch: int) -> None:
        """Draw new random choices in each epoch (still deterministic for the seed)."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> Sample:
        row = self.rows[index]
        rng = np.random.default_rng([self.seed, self.epoch, index]) if self.train else None
        num_frames = len(frame_timestamps(row.clip))
        views = (
            [temporal_indices(num_frames, self.clip_len, self.sampling_rate, rng=rng)]
            if self.train
            else [
                temporal_indices(
                    num_frames, self.clip_len, self.sampling_rate, view=v, num_views=self.num_views
                )
                for v in range(self.num_views)
            ]
        )
        params = sample_spatial_params(
            train=self.train,
            crop=self.crop_size,
            train_scale=self.train_scale,
            test_scale=self.test_scale,
            rng=rng,
        )
        wanted = [m for m in (self.modality, self.aux_modality) if m]
        out: dict[str, list[np.ndarray]] = {m: [] for m in wanted}
        for idx in views:
            for m, x in self._load(row, idx, num_frames, params, wanted).items():
                out[m].append(x)

        def stack(m: str) -> torch.Tensor | None:
            if not m:
                return None
            arr = out[m][0] if self.train else np.stack(out[m])
            return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))

        labels = torch.as_tensor(np.asarray(row.labels, dtype=np.float32))
        return Sample(
            labels=labels,
            clip_id=getattr(row, "clip_id", str(row.clip)),
            video=stack(self.modality),
            aux=stack(self.aux_modality),
        )

    def _load(
        self,
        row,
        idx: np.ndarray,
        num_frames: int,
        params: SpatialParams,  # noqa: ANN001
        wanted: list[str],
    ) -> dict[str, np.ndarray]:
        """Each wanted modality of one view as (C, T, H, W) float32."""
        out: dict[str, np.ndarray] = {}
        if "rgb" in wanted or "rgbdiff" in wanted:
            # One extra frame a step later feeds the T differences of the RGB-difference input.
            ext = np.append(idx, min(idx[-1] + self.sampling_rate, num_frames - 1))
            frames = rgb_view(read_clip(row.clip, ext.tolist()), params, train=self.train)
            if "rgb" in wanted:
                out["rgb"] = rgb_to_input(frames[:-1])
            if "rgbdiff" in wanted:
                out["rgbdiff"] = rgbdiff_to_input(frames)
        if "flow" in wanted:
            field = self._flow(row)
            flow = field.fields(idx)  # (T, h, w, 2)
            out["flow"] = flow_view(flow, flow.shape[1:3], params, field.settings.bound)
        return out

    def _flow(self, row):  # noqa: ANN001, ANN202
        from musclemap.data.flow import load_flow_file

        if getattr(row, "flow", None):
            return load_flow_file(row.flow)
        return video_flow(row.clip, settings=self.flow_settings, cache_dir=self.cache_dir)
