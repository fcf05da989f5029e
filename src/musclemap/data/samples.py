"""The typed sample every dataset returns, and batching."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Sample:
    """A clip. `video`: (C, T, H, W), or (V, C, T, H, W) with V test views; `pose`: (M, T, J, C)."""

    labels: torch.Tensor  # (num_classes,) multi-hot float
    clip_id: str
    video: torch.Tensor | None = None
    pose: torch.Tensor | None = None
    aux: torch.Tensor | None = None  # a second modality for two-branch models (e.g. RGB difference)


@dataclass
class Batch:
    labels: torch.Tensor  # (B, num_classes)
    clip_ids: list[str]
    video: torch.Tensor | None = None
    pose: torch.Tensor | None = None
    aux: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> Batch:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        return Batch(
            self.labels.to(device), self.clip_ids, move(self.video), move(self.pose), move(self.aux)
        )


def _stack(items: list[torch.Tensor | None], field: str) -> torch.Tensor | None:
    present = [t is not None for t in items]
    if not any(present):
        return None
    if not all(present):
        raise ValueError(f"some samples lack {field!r}")
    return torch.stack(items)  # type: ignore[arg-type]


def collate_samples(samples: list[Sample]) -> Batch:
    """Stack samples into a Batch; a modality must be present in all samples or none."""
    return Batch(
        labels=torch.stack([s.labels for s in samples]),
        clip_ids=[s.clip_id for s in samples],
        video=_stack([s.video for s in samples], "video"),
        pose=_stack([s.pose for s in samples], "pose"),
        aux=_stack([s.aux for s in samples], "aux"),
    )
