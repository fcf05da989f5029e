"""The loop pieces: accumulation, multi-view evaluation, input routing (schedule and losses:
test_engine_schedule.py, test_engine_losses.py)."""

from __future__ import annotations

import math

import torch
from torch import nn

from musclemap.data.samples import Batch
from musclemap.engine.loop import TrainState, evaluate, model_inputs, train_one_epoch
from musclemap.engine.losses import BCELoss
from musclemap.engine.tasks import supervised_loss


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3 * 2 * 4 * 4, 20)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))  # (B, 20)


def _batch(n: int, seed: int) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(
        labels=torch.randint(0, 2, (n, 20), generator=g).float(),
        clip_ids=[f"c{seed}_{i}" for i in range(n)],
        video=torch.randn(n, 3, 2, 4, 4, generator=g),
    )


def _step(batches: list[Batch], accum: int) -> nn.Module:
    torch.manual_seed(0)
    model = Tiny()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    state = TrainState()
    train_one_epoch(
        model,
        batches,
        opt,
        sched,
        compute_loss=supervised_loss(BCELoss()),
        state=state,
        scaler=torch.amp.GradScaler("cuda", enabled=False),
        device=torch.device("cpu"),
        accum_steps=accum,
        grad_clip=None,
    )
    assert state.step == 1
    return model


def test_gradient_accumulation_equals_big_batch() -> None:
    big = _batch(4, 0)
    halves = [
        Batch(big.labels[i : i + 2], big.clip_ids[i : i + 2], big.video[i : i + 2]) for i in (0, 2)
    ]
    a, b = _step([big], 1), _step(halves, 2)
    torch.testing.assert_close(a.fc.weight, b.fc.weight)


def test_max_steps_stops_early() -> None:
    model = Tiny()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    state = TrainState()
    train_one_epoch(
        model,
        [_batch(2, i) for i in range(5)],
        opt,
        sched,
        compute_loss=supervised_loss(BCELoss()),
        state=state,
        scaler=torch.amp.GradScaler("cuda", enabled=False),
        device=torch.device("cpu"),
        max_steps=2,
    )
    assert state.step == 2


def test_evaluate_averages_views() -> None:
    model = Tiny()
    b = _batch(2, 3)
    views = torch.stack([b.video, b.video * 2], dim=1)  # (B, V, C, T, H, W)
    res = evaluate(
        model, [Batch(b.labels, b.clip_ids, views)], device=torch.device("cpu"), criterion=BCELoss()
    )
    expected = (torch.sigmoid(model(b.video)) + torch.sigmoid(model(b.video * 2))) / 2
    assert res.clip_ids == b.clip_ids
    torch.testing.assert_close(torch.from_numpy(res.scores), expected.detach())
    assert math.isfinite(res.loss)


def test_model_inputs_routes_second_modality() -> None:
    b = Batch(
        torch.zeros(1, 20),
        ["x"],
        video=torch.zeros(1, 3),
        pose=torch.ones(1, 2),
        aux=torch.full((1, 3), 2.0),
    )
    m = Tiny()
    assert len(model_inputs(m, b)) == 1
    m.other_input = "pose"
    assert model_inputs(m, b)[1] is b.pose
    m.other_input = "aux"
    assert model_inputs(m, b)[1] is b.aux
    only_pose = Batch(torch.zeros(1, 20), ["x"], pose=torch.ones(1, 2))
    assert model_inputs(Tiny(), only_pose)[0] is only_pose.pose
