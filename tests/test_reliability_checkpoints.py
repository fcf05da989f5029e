"""Checkpoints load with `weights_only=True` (an untrusted .pt cannot run code), damaged weights
and resumes with another config are one clear line, and config.yaml is never silently replaced."""

from __future__ import annotations

import json
import pathlib
import pickle
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from musclemap.config import load_config
from musclemap.engine.checkpoint import atomic_save, read_checkpoint, rng_state, set_rng_state
from musclemap.engine.tasks import run_task
from musclemap.engine.train import config_changes
from musclemap.errors import ConfigError
from musclemap.predictor import WEIGHTS_DIR, Predictor

STGCN_SMOKE = Path(__file__).resolve().parents[1] / "configs" / "stgcn_smoke.yaml"


def _cfg(out: Path, *overrides: str):
    return load_config(
        STGCN_SMOKE,
        [
            f"train.out_dir={out}",
            "train.run_name=run",
            "train.threads=1",
            "train.max_steps=0",
            "train.epochs=1",
            *overrides,
        ],
    )


class _Touch:
    """Unpickling this would create a file: the proof that code ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.path,))


def test_rng_state_is_plain_and_round_trips(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(3)
    atomic_save({"model": {}, "rng": rng_state(gen)}, tmp_path / "c.pt")
    expected = (
        random.random(),
        np.random.random(),  # noqa: NPY002
        torch.rand(1).item(),
        torch.rand(1, generator=gen).item(),
    )  # noqa: NPY002
    random.random(), np.random.random(), torch.rand(3)  # noqa: NPY002 (move every RNG on)
    ckpt = torch.load(tmp_path / "c.pt", weights_only=True)  # loads without any allow-list
    set_rng_state(ckpt["rng"], gen)
    got = (
        random.random(),
        np.random.random(),  # noqa: NPY002
        torch.rand(1).item(),
        torch.rand(1, generator=gen).item(),
    )  # noqa: NPY002
    assert got == expected


def test_code_in_a_checkpoint_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    with (tmp_path / "evil.pt").open("wb") as fh:
        torch.save({"model": {}, "x": _Touch(marker)}, fh)
    unsafe = r"other than tensors.*\(getattr\).*could run code"
    with pytest.raises(ConfigError, match=unsafe) as err:
        read_checkpoint(tmp_path / "evil.pt")
    assert not marker.exists() and "\n" not in str(err.value)


def test_legacy_numpy_rng_checkpoint_still_loads(tmp_path: Path) -> None:
    legacy = {"model": {"w": torch.ones(2)}, "rng": {"numpy": np.random.get_state()}}  # noqa: NPY002
    torch.save(legacy, tmp_path / "old.pt")
    ckpt = read_checkpoint(tmp_path / "old.pt")
    np.testing.assert_array_equal(ckpt["rng"]["numpy"][1], legacy["rng"]["numpy"][1])


@pytest.mark.parametrize("content", [b"", b"junk" * 100, pickle.dumps([1, 2, 3])])
def test_torn_or_foreign_files(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "x.pt").write_bytes(content)
    with pytest.raises(ConfigError, match="x.pt: not a") as err:
        read_checkpoint(tmp_path / "x.pt")
    assert "\n" not in str(err.value)


def test_config_changes_lists_keys() -> None:
    old = {"optim": {"lr": 0.001, "betas": [0.9, 0.99]}, "train": {"device": "cpu"}}
    new = {"optim": {"lr": 0.01, "betas": (0.9, 0.99)}, "train": {"device": "cuda"}, "x": 1}
    assert config_changes(old, new) == ["optim.lr: 0.001 -> 0.01", "x: (unset) -> 1"]


def test_training_checkpoint_is_weights_only_and_resume_guards(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    run_dir = run_task(_cfg(tmp_path))
    for name in ("last.pt", "best.pt"):
        ckpt = torch.load(run_dir / name, weights_only=True)
        assert ckpt["epoch"] == 1 and isinstance(ckpt["config"], dict)
    saved = (run_dir / "config.yaml").read_bytes()
    last = (run_dir / "last.pt").read_bytes()

    with pytest.raises(
        ConfigError, match=r"another config \(optim.lr: 0.001 -> 0.01\).*force_resume"
    ):
        run_task(_cfg(tmp_path, "optim.lr=0.01"))
    with pytest.raises(ConfigError, match=r"model.kwargs.base_channels: 8 -> 16"):
        run_task(_cfg(tmp_path, "model.kwargs.base_channels=16"))
    # forced, another width still cannot load: one line, and nothing in the run was replaced
    with pytest.raises(ConfigError, match=r"holds another model.*\(8, 3, 1, 1\) in the checkpoint"):
        run_task(_cfg(tmp_path, "model.kwargs.base_channels=16", "train.force_resume=true"))
    assert (run_dir / "config.yaml").read_bytes() == saved
    assert (run_dir / "last.pt").read_bytes() == last
    # free settings (threads, device, workers) resume without complaint
    run_task(_cfg(tmp_path, "train.device=cpu", "train.epochs=1"))
    assert (run_dir / "config.yaml").read_bytes() == saved
    # forced with another lr: resumes, the old config is kept aside
    run_task(_cfg(tmp_path, "optim.lr=0.01", "train.epochs=2", "train.force_resume=true"))
    assert (run_dir / "config.before-resume-0.yaml").read_bytes() == saved
    assert "lr: 0.01" in (run_dir / "config.yaml").read_text()
    assert read_checkpoint(run_dir / "last.pt")["epoch"] == 2


def _copy_default(tmp_path: Path, *, drop_sha: bool) -> Path:
    weights = tmp_path / "m.safetensors"
    shutil.copy(WEIGHTS_DIR / "default.safetensors", weights)
    meta = json.loads((WEIGHTS_DIR / "default.json").read_text())
    if drop_sha:
        meta.pop("sha256", None)
    weights.with_suffix(".json").write_text(json.dumps(meta))
    return weights


def test_damaged_weights_without_checksum(tmp_path: Path) -> None:
    weights = _copy_default(tmp_path, drop_sha=True)
    Predictor.from_checkpoint(weights)  # whole file, no checksum: loads
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError, match="damaged or not a safetensors file"):
        Predictor.from_checkpoint(weights)
    weights.with_suffix(".json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="not a JSON object"):
        Predictor.from_checkpoint(weights)
    weights.with_suffix(".json").write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(ConfigError, match="invalid model metadata"):
        Predictor.from_checkpoint(weights)


def test_no_unsafe_torch_load_in_sources() -> None:
    src = Path(__file__).resolve().parents[1] / "src"
    offenders = [
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if "weights_only=False" in p.read_text() or "pickle.load(" in p.read_text()
    ]
    assert offenders == []
