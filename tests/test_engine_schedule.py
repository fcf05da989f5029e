"""Learning-rate schedule: linear warm-up, cosine to the floor, constant, per optimiser step."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from musclemap.engine.schedule import build_scheduler, lr_factor


def test_cosine_with_warmup() -> None:
    kw = dict(total_steps=10, warmup_steps=2, min_ratio=0.0)
    assert lr_factor(0, **kw) == 0.5 and lr_factor(1, **kw) == 1.0
    assert lr_factor(2, **kw) == pytest.approx(1.0)
    assert lr_factor(6, **kw) == pytest.approx(0.5)
    assert lr_factor(10, **kw) == pytest.approx(0.0, abs=1e-12)
    assert lr_factor(5, total_steps=10, warmup_steps=0, min_ratio=0.0, kind="constant") == 1.0
    opt = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = build_scheduler(
        opt, kind="cosine", total_steps=4, warmup_steps=0, base_lr=1e-3, min_lr=1e-4
    )
    for _ in range(4):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="unknown scheduler"):
        build_scheduler(opt, kind="step", total_steps=4, warmup_steps=0, base_lr=1, min_lr=0)


def test_cosine_values_by_hand_and_the_floor() -> None:
    kw = dict(total_steps=12, warmup_steps=4, min_ratio=0.1)
    assert [lr_factor(s, **kw) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    # Step 6: progress (6 - 4) / 8 = 0.25 of the cosine.
    want = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.25))
    assert lr_factor(6, **kw) == pytest.approx(want)
    assert lr_factor(12, **kw) == pytest.approx(0.1) and lr_factor(50, **kw) == pytest.approx(0.1)
    factors = [lr_factor(s, **kw) for s in range(4, 13)]
    assert all(a >= b for a, b in zip(factors, factors[1:], strict=False))  # never rises


def test_warmup_then_constant_in_the_optimiser() -> None:
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.2)
    sched = build_scheduler(opt, kind="constant", total_steps=10, warmup_steps=2, base_lr=0.2,
                            min_lr=0.0)
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.1, 0.2, 0.2, 0.2])
