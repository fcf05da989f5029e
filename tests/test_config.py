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
            "pose_default.cv_seeds=[4, 5]",
            "pose_default.knn.weight=0.25",
        ],
    )
    assert isinstance(cfg, ExperimentConfig)
    assert cfg.train.epochs == 3 and isinstance(cfg.train.epochs, int)
    assert cfg.optim.lr == pytest.approx(3e-4)
    assert cfg.data.train_scale == (200, 300)
    assert cfg.model.kwargs == {"depth": 2}
    assert cfg.pose_default.cv_seeds == [4, 5] and cfg.pose_default.knn.weight == 0.25


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


def test_task_sections_are_typed_and_checked():
    cfg = load_config(
        None, ["pose_default.stride=5", "pose_default.motion=true", "transm3e.kd_weight=0.5"]
    )
    assert cfg.pose_default.stride == 5 and cfg.pose_default.motion is True
    assert cfg.transm3e.kd_weight == 0.5 and cfg.baseline.name == ""
    with pytest.raises(ConfigError, match="integer"):
        load_config(None, ["pose_default.stride=2.5"])
    with pytest.raises(ConfigError, match="expected a number"):
        load_config(None, ["pose_default.cv_seeds=[0, x]"])
    for override, message in [
        ("pose_default.knn.k=0", r"pose_default.knn.k must be >= 1 \(got 0\)"),
        ("pose_default.keypose_videos=-1", r"pose_default.keypose_videos must be >= 0 \(got -1\)"),
        ("pose_default.score_keypose_videos=-2", r"score_keypose_videos must be >= 0 \(got -2\)"),
        ("pose_default.knn.pair_k=-1", r"pose_default.knn.pair_k must be >= 0 \(got -1\)"),
        ("pose_default.still_range=-0.1", r"pose_default.still_range must be >= 0 \(got -0.1\)"),
        ("pose_default.pool_motion=-1", r"pose_default.pool_motion must be >= 0 \(got -1.0\)"),
        ("pose_default.knn.context=-0.5", r"pose_default.knn.context must be >= 0 \(got -0.5\)"),
        ("pose_default.knn.context=1.5", r"pose_default.knn.context must be <= 1 \(got 1.5\)"),
        ("pose_default.domain_l2=-1", r"pose_default.domain_l2 must be >= 0 \(got -1.0\)"),
        ("pose_default.knn.pair_weight=1.2", r"knn.pair_weight must be in \[0, 1\] \(got 1.2\)"),
        ("pose_default.forest.weight=1.5", r"pose_default.forest.weight must be <= 1 \(got 1.5\)"),
        ("pose_default.forest.weight=-0.1", r"forest.weight must be >= 0 \(got -0.1\)"),
        ("pose_default.forest.trees=0", r"pose_default.forest.trees must be >= 1 \(got 0\)"),
        ("pose_default.forest.max_features=0", r"forest.max_features must be > 0 \(got 0.0\)"),
        ("pose_default.label_domains=both",
         r"label_domains must be one of none, bias, head, residual \(got 'both'\)"),
        ("pose_default.knn.domain_labels=mix",
         r"domain_labels must be one of own, exercise, exercise_both, translate \(got 'mix'\)"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_config(None, [override])
    with pytest.raises(ConfigError, match="data.coords must be one of image, world"):
        load_config(None, ["data.coords=depth"])


def test_the_untyped_extra_sections_are_gone_with_directions(tmp_path):
    with pytest.raises(ConfigError, match="'extra.stride' is now 'pose_default.stride'"):
        load_config(None, ["extra.stride=5"])
    with pytest.raises(ConfigError, match="'data.extra.coords' is now 'data.coords'"):
        load_config(None, ["data.extra.coords=world"])
    path = tmp_path / "old.yaml"
    path.write_text("task: baseline\nextra:\n  baseline: random\n  threads: 2\n  foo: 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}: the untyped extra sections are gone; move extra.baseline -> baseline.name, "
        "extra.threads -> train.threads, extra.foo -> (no such setting)"
    )


def test_saved_configs_of_old_runs_are_migrated():
    from musclemap.config import config_from_dict

    old = {
        "task": "pose_default",
        "data": {"window": 30, "pose_dir": "", "extra": {"coords": "world", "channels": 4}},
        "extra": {"stride": 7, "threads": 1, "knn": {"weight": 0.5, "k": 3}, "cv_seeds": [0]},
        "source": "/somewhere/predict_default.yaml",
    }
    cfg = config_from_dict(old)
    assert (cfg.data.coords, cfg.data.channels, cfg.data.window) == ("world", 4, 30)
    assert cfg.pose_default.stride == 7 and cfg.train.threads == 1
    assert (cfg.pose_default.knn.weight, cfg.pose_default.knn.k) == (0.5, 3)
    assert cfg.pose_default.cv_seeds == [0] and cfg.source == "/somewhere/predict_default.yaml"
    with pytest.raises(ConfigError, match="unknown config key 'extra.stage'"):
        config_from_dict({"extra": {"stage": 2}})


def test_changed_fields_lists_what_differs_from_the_defaults():
    from musclemap.config import changed_fields

    assert changed_fields(load_config(None)) == []
    cfg = load_config(
        None, ["task=baseline", "model.kwargs.depth=2", "optim.betas=[0.8, 0.9]", "train.seed=3"]
    )
    assert changed_fields(cfg) == ["model.kwargs.depth", "optim.betas", "train.seed"]


def test_a_key_given_twice_is_refused(tmp_path):
    # PyYAML keeps the last of two equal keys without a word: `lr` written twice trained with
    # whichever came second.
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lr: 0.1\n  name: sgd\n  lr: 0.001\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}: invalid YAML (line 4, column 3: key 'lr' given twice (first on line 2))"
    )


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400"])
def test_an_infinite_integer_is_a_config_error(value):
    # int(float("inf")) was an OverflowError traceback.
    with pytest.raises(ConfigError) as err:
        load_config(None, [f"train.max_steps={value}"])
    assert str(err.value).startswith("train.max_steps: expected an integer, got ")


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "/tmp/x"])
def test_run_name_must_stay_inside_out_dir(name):
    with pytest.raises(ConfigError) as err:
        load_config(None, [f"train.run_name={name}"])
    assert str(err.value) == f"train.run_name must be a folder name, not a path (got {name!r})"
    assert load_config(None, ["train.run_name=my run 2"]).train.run_name == "my run 2"


def test_a_config_path_that_is_no_file_says_what_it_is(tmp_path):
    # A folder or /dev/zero was "config file not found".
    with pytest.raises(ConfigError, match=r"config file .*: is a folder, not a file$"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match=r"config file /dev/zero: not a regular file"):
        load_config("/dev/zero")
    with pytest.raises(ConfigError, match=r"^config file not found: .*nope.yaml$"):
        load_config(tmp_path / "nope.yaml")
