"""Skeleton clips for the GCN models: one pose file per manifest row -> `Sample(pose=(1, W, V, C))`.

Reads the pose files of `musclemap.data.pose_sequence` (image and world landmarks in the layout
the file records), converts them to the requested layout by joint name, normalises (hip-centred,
torso = 1), augments when training and resamples a crop to `window` frames.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from musclemap.data.manifest import ManifestRow, require_files
from musclemap.data.pose_sequence import load_pose_file
from musclemap.data.samples import Sample
from musclemap.data.skeleton_transforms import (
    crop_and_resample,
    fill_missing,
    joint_dropout,
    normalize_skeleton,
    random_flip,
    random_rotation,
    random_scale,
    random_shear,
)
from musclemap.errors import DatasetError
from musclemap.skeleton import SkeletonLayout, as_layout, convert_keypoints, get_layout

log = logging.getLogger(__name__)

Coords = Literal["image", "world"]


@dataclass(frozen=True)
class SkeletonAugment:
    """Strengths of the training augmentations (0 disables one)."""

    rotation: float = 0.3  # max angle, radians (CTR-GCN's random_rot uses 0.3)
    scale: tuple[float, float] = (0.9, 1.1)
    shear: float = 0.2
    flip: float = 0.5  # probability
    joint_dropout: float = 0.05  # probability per joint
    p_interval: tuple[float, float] = (0.5, 1.0)  # kept fraction of the clip


@dataclass(frozen=True)
class _Clip:
    keypoints: np.ndarray  # (T, V, C) normalised, missing joints 0
    valid: np.ndarray  # (T,) bool


class PoseArrays(Protocol):
    """What `pose_keypoints` reads of a pose sequence (`musclemap.pose` `PoseSequence`)."""

    image: np.ndarray  # (T, V, 3) x, y in [0, 1] + visibility
    world: np.ndarray  # (T, V, 4) x, y, z metres + visibility
    valid: np.ndarray  # (T,) bool
    width: int
    height: int
    layout: Any  # SkeletonLayout or its name
    source: str


def pose_keypoints(
    seq: PoseArrays, layout: SkeletonLayout, *, coords: str = "image", channels: int = 3
) -> np.ndarray:
    """A pose sequence as a skeleton model's input `(T, V, C)` float32: its `coords` (image
    pixels or world metres, plus visibility when `channels` says so) mapped to `layout` by joint
    name, gaps filled, hip-centred and torso-normalised. The one conversion of training
    (`SkeletonDataset`), `evaluate` and `predict --ckpt` on a research run."""
    try:
        src = as_layout(seq.layout)  # a name, or (issue 15's pose split) the layout itself
    except KeyError:
        raise DatasetError(f"{seq.source}: unknown skeleton layout {seq.layout!r}") from None
    ncoord = 2 if coords == "image" else 3
    has_score = channels == ncoord + 1
    arr = seq.image if coords == "image" else seq.world
    xyz = arr[..., :ncoord].copy()
    if coords == "image":
        # Pixels: normalised x and y have different units unless the frame is square.
        xyz *= np.array([seq.width, seq.height], dtype=np.float32)
    kp = np.concatenate([xyz, arr[..., -1:]], axis=-1) if has_score else xyz
    kp[~seq.valid] = np.nan
    kp = convert_keypoints(kp, src, layout)  # (T, V_dst, C), absent joints NaN
    kp = fill_missing(kp, has_score=has_score)
    kp = normalize_skeleton(kp, layout, ncoord=ncoord, has_score=has_score)
    return kp.astype(np.float32)


class SkeletonDataset(Dataset[Sample]):
    """Pose clips from the `skeleton` column of manifest rows.

    Args:
        rows: manifest rows; each needs `skeleton` (a pose `.npz`).
        layout: skeleton layout the model expects (or its name); joints are mapped by name.
        window: frames per sample.
        train: random crops (and augmentations when `augment`); otherwise the whole clip.
        seed: base seed of the augmentation randomness.
        augment: apply the geometric augmentations when training.
        channels: image coords: 3 = (x, y, visibility), 2 = (x, y); world coords: 3 = (x, y, z),
            4 = (x, y, z, visibility).
        coords: "image" (2D pixels, aspect-correct) or "world" (MediaPipe metric 3D).
        aug: augmentation strengths.
    """

    def __init__(
        self,
        rows: Sequence[ManifestRow],
        *,
        layout: SkeletonLayout | str,
        window: int = 64,
        train: bool = True,
        seed: int = 0,
        augment: bool = True,
        channels: int = 3,
        coords: Coords = "image",
        aug: SkeletonAugment | None = None,
    ) -> None:
        allowed = {"image": (2, 3), "world": (3, 4)}
        if coords not in allowed:
            raise DatasetError(f"unknown pose coords {coords!r} (image, world)")
        if channels not in allowed[coords]:
            raise DatasetError(
                f"{coords} coords support channels {allowed[coords]}, not {channels}"
            )
        if window <= 0:
            raise DatasetError("window must be positive")
        self.rows = list(rows)
        require_files(self.rows, "skeleton")  # all missing files now, not one mid-epoch
        self.layout = get_layout(layout) if isinstance(layout, str) else layout
        self.window = window
        self.train = train
        self.seed = seed
        self.augment = augment
        self.channels = channels
        self.coords = coords
        self.aug = aug or SkeletonAugment()
        self.has_score = channels == (3 if coords == "image" else 4)
        self.ncoord = 2 if coords == "image" else 3
        self.epoch = 0
        self._calls = 0
        self._cache: dict[int, _Clip] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def set_epoch(self, epoch: int) -> None:
        """Vary the augmentations by epoch (reproducibly)."""
        self.epoch = epoch

    def _load(self, i: int) -> _Clip:
        if i in self._cache:
            return self._cache[i]
        path = self.rows[i].skeleton
        assert path is not None  # checked in __init__
        seq = load_pose_file(path)  # DatasetError naming the file when missing or corrupt
        if not seq.valid.any():
            log.warning("%s: no person in any frame; the sample is all zeros", path)
        kp = pose_keypoints(seq, self.layout, coords=self.coords, channels=self.channels)
        clip = _Clip(kp, seq.valid.copy())
        self._cache[i] = clip
        return clip

    def _rng(self, i: int) -> np.random.Generator:
        # torch.initial_seed differs per DataLoader worker and epoch; the call counter covers
        # num_workers=0, where it is constant.
        self._calls += 1
        return np.random.default_rng(
            [self.seed, self.epoch, i, torch.initial_seed() % 2**32, self._calls]
        )

    def augment_clip(
        self, kp: np.ndarray, valid: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Training view of one clip: random crop, then the geometric augmentations."""
        a, nc = self.aug, self.ncoord
        kp = crop_and_resample(kp, self.window, rng, valid=valid, p_interval=a.p_interval)
        if not self.augment:
            return kp
        if a.rotation:
            kp = random_rotation(kp, rng, ncoord=nc, max_angle=a.rotation)
        kp = random_scale(kp, rng, ncoord=nc, low=a.scale[0], high=a.scale[1])
        if a.shear:
            kp = random_shear(kp, rng, ncoord=nc, magnitude=a.shear)
        if a.flip:
            kp = random_flip(kp, self.layout, rng, p=a.flip)
        if a.joint_dropout:
            kp = joint_dropout(kp, rng, p=a.joint_dropout)
        return kp

    def __getitem__(self, i: int) -> Sample:
        row = self.rows[i]
        clip = self._load(i)
        if self.train:
            kp = self.augment_clip(clip.keypoints, clip.valid, self._rng(i))
        else:
            kp = crop_and_resample(clip.keypoints, self.window, None, valid=clip.valid)
        pose = torch.from_numpy(np.ascontiguousarray(kp, dtype=np.float32)).unsqueeze(0)
        labels = torch.as_tensor(np.asarray(row.labels, dtype=np.float32))
        return Sample(labels=labels, clip_id=row.clip_id, pose=pose)  # pose (1, W, V, C)
