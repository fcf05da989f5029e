"""models/checkpoint.py: safe reading of musclemap's own `.pt` files, strict loading, reports."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from musclemap.errors import ConfigError
from musclemap.models.checkpoint import load_checkpoint, load_state, read_checkpoint


def _save(obj: object, path: Path) -> Path:
    torch.save(obj, path)
    return path


def test_strict_loading_names_the_keys(tmp_path: Path) -> None:
    src = torch.nn.Sequential(torch.nn.Linear(3, 2))
    _save({"model": src.state_dict()}, tmp_path / "a.pt")
    dst = torch.nn.Sequential(torch.nn.Linear(3, 2))
    assert load_checkpoint(dst, tmp_path / "a.pt").missing == []
    assert torch.equal(dst[0].weight, src[0].weight)
    with pytest.raises(ConfigError, match=r"a.pt: shape mismatch for 0\.weight$"):
        load_checkpoint(torch.nn.Sequential(torch.nn.Linear(4, 2)), tmp_path / "a.pt")
    report = load_state(torch.nn.Linear(3, 2), src.state_dict(), where="x", strict=False)
    assert report.missing == ["bias", "weight"] and report.unexpected == ["0.bias", "0.weight"]
    with pytest.raises(ConfigError, match=r"^x does not match the model: missing keys"):
        load_state(torch.nn.Linear(3, 2), src.state_dict(), where="x")


def test_a_pickle_that_could_run_code_is_refused(tmp_path: Path) -> None:
    torch.save({"model": {}, "obj": Path("x")}, tmp_path / "evil.pt")
    with pytest.raises(ConfigError, match="holds Python objects"):
        read_checkpoint(tmp_path / "evil.pt")
    (tmp_path / "torn.pt").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ConfigError, match="not a readable checkpoint"):
        read_checkpoint(tmp_path / "torn.pt")


def test_a_prefix_loads_one_branch_and_foreign_dicts_are_refused(tmp_path: Path) -> None:
    inner = torch.nn.Linear(2, 2)
    state = {f"branch.{k}": v for k, v in inner.state_dict().items()}
    _save({"model": {**state, "other.w": torch.zeros(1)}}, tmp_path / "b.pt")
    dst = torch.nn.Linear(2, 2)
    assert load_checkpoint(dst, tmp_path / "b.pt", prefix="branch.").unexpected == []
    assert torch.equal(dst.weight, inner.weight) and torch.equal(dst.bias, inner.bias)
    _save({"state_dict": {}}, tmp_path / "f.pt")
    with pytest.raises(ConfigError, match="not a musclemap checkpoint"):
        read_checkpoint(tmp_path / "f.pt")
