from pathlib import Path

import pytest

from musclemap.config import ExperimentConfig, load_config, save_config
from musclemap.errors import ConfigError

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def test_defaults_and_overrides_are_typed():
    cfg = load_config(
        None,
        [
            "train.epochs=3",
            "optim.lr=3e-4",
            "data.train_scale=[200, 300]",
            "model.kwargs.depth=2",
            "train.amp=bf16",
            "extra.stage=2",
        ],
    )
    assert isinstance(cfg, ExperimentConfig)
    assert cfg.train.epochs == 3 and isinstance(cfg.train.epochs, int)
    assert cfg.optim.lr == pytest.approx(3e-4)
    assert cfg.data.train_scale == (200, 300)
    assert cfg.model.kwargs == {"depth": 2}
    assert cfg.extra == {"stage": 2}


def test_unknown_key_suggests(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        load_config(None, ["train.epoch=3"])
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lrr: 0.1\n")
    with pytest.raises(ConfigError, match="did you mean 'lr'"):
        load_config(path)


def test_wrong_types_fail():
    with pytest.raises(ConfigError, match="integer"):
        load_config(None, ["train.epochs=2.5"])
    with pytest.raises(ConfigError, match="true/false"):
        load_config(None, ["train.resume=maybe"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(None, ["train.epochs"])


def test_save_load_round_trip(tmp_path):
    cfg = load_config(None, ["model.name=stgcn", "data.window=48"])
    save_config(cfg, tmp_path / "c.yaml")
    again = load_config(tmp_path / "c.yaml")
    assert again.model.name == "stgcn" and again.data.window == 48
    assert again.source == str((tmp_path / "c.yaml").resolve())


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_config_loads(path):
    assert load_config(path).model.name
