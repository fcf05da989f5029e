"""Checkpoints and exact resume: a run interrupted mid-epoch and resumed ends bit-identical."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import musclemap.engine.train as train_mod
from musclemap.config import load_config
from musclemap.engine.checkpoint import atomic_save, load_checkpoint, read_checkpoint
from musclemap.engine.tasks import run_task
from musclemap.errors import ConfigError

# mvitv2_test has dropout 0.5 before its head, so the torch RNG matters for exact resume.
OVERRIDES = [
    "task=supervised",
    "data.synthetic=true",
    "data.synthetic_clips=12",
    "data.clip_len=4",
    "data.crop_size=32",
    "data.num_views=1",
    "data.num_workers=0",
    "model.name=mvitv2_test",
    "model.kwargs={num_cls_tokens: 20}",
    "train.epochs=3",
    "train.batch_size=2",
    "train.log_every=0",
    "optim.lr=1e-3",
    "optim.warmup_epochs=1",
]


class Killed(Exception):
    pass


def _cfg(out: Path, name: str):
    return load_config(None, [*OVERRIDES, f"train.out_dir={out}", f"train.run_name={name}"])


def test_kill_and_resume_is_bit_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.set_num_threads(1)
    full = run_task(_cfg(tmp_path, "full"))
    # Interrupt the second run in the middle of epoch 2 (after step 4 of 9).
    real = train_mod.train_one_epoch

    def crashing(*args, **kwargs):
        on_step = kwargs["on_step"]

        def hook(values: dict[str, float]) -> None:
            on_step(values)
            if kwargs["state"].step == 4:
                raise Killed

        return real(*args, **{**kwargs, "on_step": hook})

    monkeypatch.setattr(train_mod, "train_one_epoch", crashing)
    with pytest.raises(Killed):
        run_task(_cfg(tmp_path, "resumed"))
    partial = read_checkpoint(tmp_path / "resumed" / "last.pt")
    assert partial["epoch"] == 1 and partial["step"] == 3
    monkeypatch.setattr(train_mod, "train_one_epoch", real)
    resumed = run_task(_cfg(tmp_path, "resumed"))
    a, b = read_checkpoint(full / "last.pt"), read_checkpoint(resumed / "last.pt")
    assert a["step"] == b["step"] == 9 and a["epoch"] == b["epoch"] == 3
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert (resumed / "results.json").is_file() and (resumed / "predictions.csv").is_file()
    assert (resumed / "metrics.jsonl").is_file() and (resumed / "metrics_epoch.csv").is_file()


def test_atomic_save_and_strict_load(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 2)
    path = tmp_path / "c.pt"
    atomic_save({"model": model.state_dict()}, path)
    assert path.is_file() and not (tmp_path / "c.pt.tmp").exists()
    other = torch.nn.Linear(3, 2)
    assert load_checkpoint(other, path).missing == []
    assert torch.equal(other.weight, model.weight)
    with pytest.raises(ConfigError, match="shape mismatch"):
        load_checkpoint(torch.nn.Linear(4, 2), path)
    report = load_checkpoint(torch.nn.Sequential(torch.nn.Linear(3, 2)), path, strict=False)
    assert report.missing == ["0.bias", "0.weight"] and report.unexpected == ["bias", "weight"]
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="not a readable checkpoint"):
        read_checkpoint(tmp_path / "bad.pt")
