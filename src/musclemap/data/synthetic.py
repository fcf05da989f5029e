"""Generated clips for smoke configs and tests: manifest rows plus in-memory videos and poses.

Nothing is written to disk. Clips belong to a few made-up activities; each activity has a fixed
multi-hot label vector and a fixed input pattern (a random video / pose template), and every clip is
its activity's template plus noise. A model can therefore learn the task, and the known/new protocol
holds: the last activity never appears in train and fills val_new / test_new.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from musclemap.data.manifest import ManifestRow
from musclemap.data.samples import Sample
from musclemap.taxonomy import NUM_GROUPS

MODALITY_CHANNELS = {"rgb": 3, "rgbdiff": 3, "flow": 2}
_KNOWN_CYCLE = ("train", "train", "val_known", "test_known")


def synthetic_rows(num_clips: int, *, num_activities: int = 4, seed: int = 0) -> list[ManifestRow]:
    """Rows with splits: activities 0..A-2 are known, the last one is new (val_new / test_new)."""
    if num_clips < 2 * num_activities:
        raise ValueError(f"need at least {2 * num_activities} synthetic clips, got {num_clips}")
    rng = np.random.default_rng(seed)
    labels = np.zeros((num_activities, NUM_GROUPS), dtype=np.float32)
    for a in range(num_activities):
        labels[a, rng.choice(NUM_GROUPS, size=int(rng.integers(2, 7)), replace=False)] = 1.0
    rows, known, new = [], 0, 0
    for i in range(num_clips):
        a = i % num_activities
        if a == num_activities - 1:
            split, new = ("val_new", "test_new")[new % 2], new + 1
        else:
            split, known = _KNOWN_CYCLE[known % len(_KNOWN_CYCLE)], known + 1
        clip = f"synthetic/clip_{i:04d}.mp4"
        rows.append(
            ManifestRow(
                clip=Path("/") / clip,
                activity=f"activity_{a}",
                split=split,
                labels=labels[a].copy(),
                extra={"synthetic": "1"},
                clip_id=clip,
            )
        )
    return rows


class SyntheticClipDataset(Dataset):
    """Samples for synthetic rows: video (C, T, H, W) (V views at test time), pose (M, T, J, C).

    Args:
        rows: rows from `synthetic_rows` (the activity name picks the template).
        modality: "rgb" | "rgbdiff" | "flow" for `video`, or "pose" (pose only).
        aux_modality: "" | "pose" (fills `pose`) | "rgbdiff" / "flow" / "rgb" (fills `aux`).
        clip_len, crop_size: video size; window, num_joints, channels: pose size.
        train: one view; otherwise `num_views` views stacked as (V, C, T, H, W).
        seed: noise seed (clip i, view v always give the same tensor).
    """

    def __init__(
        self,
        rows: list[ManifestRow],
        *,
        modality: str = "rgb",
        aux_modality: str = "",
        clip_len: int = 4,
        crop_size: int = 32,
        window: int = 8,
        num_joints: int = 17,
        channels: int = 3,
        train: bool = True,
        num_views: int = 1,
        seed: int = 0,
        noise: float = 0.5,
    ) -> None:
        for m in (modality, aux_modality):
            if m not in ("", "pose", *MODALITY_CHANNELS):
                raise ValueError(f"unknown synthetic modality {m!r}")
        self.rows, self.modality, self.aux_modality = rows, modality, aux_modality
        self.clip_len, self.crop_size = clip_len, crop_size
        self.window, self.num_joints, self.channels = window, num_joints, channels
        self.views = 1 if train else max(1, num_views)
        self.train, self.seed, self.noise = train, seed, noise

    def __len__(self) -> int:
        return len(self.rows)

    def _template(self, activity: str, kind: str, shape: tuple[int, ...]) -> np.ndarray:
        key = [ord(c) for c in f"{activity}/{kind}"]
        return np.random.default_rng(key).standard_normal(shape).astype(np.float32)

    def _video(self, index: int, view: int, modality: str) -> np.ndarray:
        shape = (3, self.clip_len + 1, self.crop_size, self.crop_size)
        base = self._template(self.rows[index].activity, "video", shape)
        rng = np.random.default_rng([self.seed, index, view, 1])
        x = base + self.noise * rng.standard_normal(shape).astype(np.float32)
        if modality == "rgbdiff":
            return x[:, 1:] - x[:, :-1]  # (C, T, H, W) frame differences
        if modality == "flow":
            return x[:2, 1:] - x[:2, :-1]
        return x[:, 1:]

    def _pose(self, index: int) -> np.ndarray:
        shape = (1, self.window, self.num_joints, self.channels)
        base = self._template(self.rows[index].activity, "pose", shape)
        rng = np.random.default_rng([self.seed, index, 2])
        return base + self.noise * rng.standard_normal(shape).astype(np.float32)

    def _views(self, index: int, modality: str) -> torch.Tensor:
        clips = [self._video(index, v, modality) for v in range(self.views)]
        out = torch.from_numpy(np.stack(clips))  # (V, C, T, H, W)
        return out if not self.train else out[0]

    def __getitem__(self, index: int) -> Sample:
        row = self.rows[index]
        sample = Sample(labels=torch.from_numpy(row.labels.astype(np.float32)), clip_id=row.clip_id)
        if self.modality == "pose":
            sample.pose = torch.from_numpy(self._pose(index))
        else:
            sample.video = self._views(index, self.modality)
        if self.aux_modality == "pose":
            sample.pose = torch.from_numpy(self._pose(index))
        elif self.aux_modality:
            sample.aux = self._views(index, self.aux_modality)
        return sample
