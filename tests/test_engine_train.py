"""engine/train.py: the model from the config, run folders, resume checks against saved configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from musclemap.config import config_to_dict, load_config
from musclemap.engine.checkpoint import atomic_save
from musclemap.engine.train import (
    _score,
    build_experiment_model,
    check_resume_config,
    config_changes,
    run_dir_for,
)
from musclemap.errors import ConfigError
from musclemap.inference import build_from_config


def test_the_experiment_model_is_the_one_builder_s() -> None:
    cfg = load_config(None, ["model.name=stgcn", "model.kwargs={layout: coco17, base_channels: 8}"])
    torch.manual_seed(0)
    a = build_experiment_model(cfg)
    torch.manual_seed(0)
    b = build_from_config(cfg)
    assert a.state_dict().keys() == b.state_dict().keys()
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert a(torch.zeros(2, 1, 8, 17, 3)).shape == (2, 20)


def test_run_dir_and_the_score_that_picks_best() -> None:
    assert run_dir_for(load_config(None, ["train.out_dir=/r", "train.run_name=x"])) == Path("/r/x")
    assert run_dir_for(load_config(Path("configs/stgcn_smoke.yaml"), ["train.out_dir=/r"])) == (
        Path("/r/stgcn_smoke")
    )
    assert _score({"val_mean": None, "val_known": 0.4, "val_new": 0.9}) == 0.4
    assert _score({"val_mean": None}) == float("-inf")


def test_config_changes_leave_out_where_and_how_fast() -> None:
    old = config_to_dict(load_config(None, ["optim.lr=0.1", "train.threads=2"]))
    new = config_to_dict(load_config(None, ["optim.lr=0.2", "train.threads=4"]))
    assert config_changes(old, new) == ["optim.lr: 0.1 -> 0.2"]


def test_resuming_a_run_saved_with_the_old_extra_section(tmp_path: Path) -> None:
    cfg = load_config(None, ["task=transm3e", "transm3e.kd_weight=0.5", f"train.out_dir={tmp_path}",
                             "train.run_name=r"])
    saved = config_to_dict(cfg)
    saved.pop("transm3e")
    saved["extra"] = {"kd_weight": 0.5}  # as runs before the typed sections saved it
    saved["data"]["extra"] = {}
    saved["data"]["pose_dir"] = ""
    run = tmp_path / "r"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(saved))
    atomic_save({"model": {}}, run / "last.pt")
    assert check_resume_config(cfg, run) == []  # the same experiment
    other = load_config(None, ["task=transm3e", "transm3e.kd_weight=1.0",
                               f"train.out_dir={tmp_path}", "train.run_name=r"])
    with pytest.raises(ConfigError, match=r"transm3e.kd_weight: 0.5 -> 1.0"):
        check_resume_config(other, run)
