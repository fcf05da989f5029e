"""A tiny generated skeleton dataset (two synthetic motions) is fit well below chance loss."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from musclemap.data.samples import collate_samples
from musclemap.data.skeleton_dataset import SkeletonDataset
from musclemap.models import build_model
from musclemap.skeleton import COCO17
from test_data_skeleton_dataset import make_rows


def _chance_bce(labels: torch.Tensor) -> float:
    # Best constant predictor: the per-class label frequency.
    p = labels.mean(0).clamp(1e-6, 1 - 1e-6)
    return float(-(labels * p.log() + (1 - labels) * (1 - p).log()).mean())


@pytest.mark.parametrize(
    "name",
    [
        "stgcn",
        pytest.param("ctrgcn", marks=pytest.mark.slow),
        pytest.param("hdgcn", marks=pytest.mark.slow),
    ],
)
@pytest.mark.usefixtures("one_thread")  # tiny ops: extra threads only spin on a shared CPU
def test_fits_two_synthetic_motions(tmp_path: Path, name: str) -> None:
    torch.manual_seed(0)
    rows = make_rows(tmp_path, 8, frames=24)
    ds = SkeletonDataset(rows, layout=COCO17, window=16, train=True, seed=0)
    model = build_model(name, layout=COCO17, base_channels=8)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(40):  # full-batch steps on freshly augmented views
        batch = collate_samples([ds[i] for i in range(len(ds))])
        loss = loss_fn(model(batch.pose), batch.labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    chance = _chance_bce(batch.labels)
    assert losses[0] > chance
    assert sum(losses[-3:]) / 3 < 0.25 * chance, (losses[-3:], chance)
