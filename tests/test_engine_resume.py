"""Checkpoints and exact resume: a run interrupted mid-epoch and resumed ends bit-identical."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

import musclemap.engine.train as train_mod
from conftest import cli_command
from musclemap.config import load_config
from musclemap.engine.checkpoint import atomic_save, load_checkpoint, read_checkpoint
from musclemap.engine.tasks import run_task
from musclemap.errors import ConfigError

# Cheap pose model for the OS-level kill: 6 steps per epoch, long enough (20 epochs) that a
# SIGKILL sent as soon as the first checkpoint appears lands well before the run ends.
STGCN_SMOKE = Path(__file__).resolve().parents[1] / "configs" / "stgcn_smoke.yaml"
KILL_OVERRIDES = [
    "train.max_steps=0",
    "train.epochs=20",
    "data.synthetic_clips=32",
    "train.threads=1",
]

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


def _train_cmd(out: Path, name: str) -> list[str]:
    return cli_command(
        "train", STGCN_SMOKE, *KILL_OVERRIDES, f"train.out_dir={out}", f"train.run_name={name}"
    )


def _train(out: Path, name: str) -> Path:
    log_path = out / f"{name}.out"
    with log_path.open("ab") as fh:
        done = subprocess.run(
            _train_cmd(out, name), stdout=fh, stderr=subprocess.STDOUT, cwd=out, timeout=180
        )
    assert done.returncode == 0, log_path.read_text()[-2000:]
    return out / name


def _assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert torch.equal(value, b[key]), key


@pytest.mark.slow
def test_sigkill_and_resume_is_bit_identical(tmp_path: Path) -> None:
    """`musclemap train` SIGKILLed after its first checkpoint, rerun: same weights as one run."""
    full = _train(tmp_path, "full")
    run_dir = tmp_path / "killed"
    with (tmp_path / "killed.out").open("wb") as fh:
        proc = subprocess.Popen(
            _train_cmd(tmp_path, "killed"), stdout=fh, stderr=subprocess.STDOUT, cwd=tmp_path
        )
        try:
            deadline = time.monotonic() + 120
            # last.pt is written with os.replace, so once it exists it is complete.
            while not (run_dir / "last.pt").is_file():
                assert proc.poll() is None, "training exited before its first checkpoint"
                assert time.monotonic() < deadline, "no checkpoint within 120 s"
                time.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
    # A run that had already finished would exit 0: the kill must have cut it short.
    assert proc.returncode == -signal.SIGKILL
    partial = read_checkpoint(run_dir / "last.pt")
    assert 1 <= partial["epoch"] < 20
    assert not (run_dir / "results.json").exists()

    resumed = _train(tmp_path, "killed")
    assert "resumed from" in (resumed / "train.log").read_text()
    a, b = read_checkpoint(full / "last.pt"), read_checkpoint(resumed / "last.pt")
    assert a["epoch"] == b["epoch"] == 20 and a["step"] == b["step"] == 120
    _assert_same_weights(a["model"], b["model"])
    _assert_same_weights(
        read_checkpoint(full / "best.pt")["model"], read_checkpoint(resumed / "best.pt")["model"]
    )
    assert json.loads((full / "results.json").read_text()) == json.loads(
        (resumed / "results.json").read_text()
    )


def test_kill_between_checkpoint_writes_keeps_best_consistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill right after last.pt is written never leaves best.pt behind it."""
    torch.set_num_threads(1)
    overrides = ["train.max_steps=0", "train.epochs=3", f"train.out_dir={tmp_path}"]

    def cfg(name: str):
        return load_config(STGCN_SMOKE, [*overrides, f"train.run_name={name}"])

    full = run_task(cfg("full"))
    real = train_mod.save_run

    def dying(run, state, path: Path) -> None:
        real(run, state, path)
        if path.name == "last.pt":
            raise Killed

    monkeypatch.setattr(train_mod, "save_run", dying)
    with pytest.raises(Killed):
        run_task(cfg("resumed"))
    run_dir = tmp_path / "resumed"
    last = read_checkpoint(run_dir / "last.pt")
    assert last["epoch"] == 1
    # Epoch 1 is always the best so far, so its weights must already be in best.pt.
    best = read_checkpoint(run_dir / "best.pt")
    assert best["epoch"] == 1 and best["best"] == last["best"]
    _assert_same_weights(best["model"], last["model"])
    monkeypatch.setattr(train_mod, "save_run", real)
    resumed = run_task(cfg("resumed"))
    _assert_same_weights(
        read_checkpoint(full / "best.pt")["model"], read_checkpoint(resumed / "best.pt")["model"]
    )
    assert json.loads((full / "results.json").read_text()) == json.loads(
        (resumed / "results.json").read_text()
    )
