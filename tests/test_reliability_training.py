"""Reliability of the training CLI (`train`, `benchmark`, `data poses`, `data import`): garbage
files, impossible settings and outputs that cannot be written are one clear line, before work."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from musclemap.config import load_config
from musclemap.data.importers import import_release
from musclemap.errors import ConfigError, DatasetError

SMOKE = Path(__file__).resolve().parents[1] / "configs" / "stgcn_smoke.yaml"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(128, 256)) * 8, "not UTF-8 text (byte offset 0)"),
        (b"model:\x00\x01", "binary file (NUL bytes)"),
        (b"a: [1, 2\n", "invalid YAML (line 2, column 1: expected ',' or ']'"),
        (b"- 1\n- 2\n", "top level must be a mapping"),
    ],
)
def test_config_file_junk_is_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "c.yaml").write_bytes(content)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "c.yaml")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_impossible_settings_all_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(
            SMOKE,
            [
                "train.epochs=-1",
                "train.batch_size=0",
                "optim.lr=nan",
                "train.loss=l2",
                "train.seed=-1",
            ],
        )
    assert str(err.value).endswith(
        "train.epochs must be >= 1 (got -1); train.batch_size must be >= 1 (got 0); "
        "train.seed must be >= 0 (got -1); optim.lr must be > 0 (got nan); "
        "train.loss must be one of bce, focal (got 'l2')"
    )
    for config in sorted(SMOKE.parent.glob("*.yaml")):  # every shipped config is in range
        load_config(config)


class _Touch:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_release_pickles_hold_data_not_code(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    (tmp_path / "train_video_list.pkl").write_bytes(pickle.dumps([_Touch(marker)]))
    (tmp_path / "train_label_list.pkl").write_bytes(pickle.dumps([[1]]))
    with pytest.raises(DatasetError, match="not plain data"):
        import_release(tmp_path, splits=["train"])
    assert not marker.exists()
    (tmp_path / "train_video_list.pkl").write_bytes(pickle.dumps(["a/x.mp4"]))
    (tmp_path / "train_label_list.pkl").write_bytes(pickle.dumps([[1, "x"]]))
    with pytest.raises(DatasetError, match=r"muscle index 'x' outside 0-19"):
        import_release(tmp_path, splits=["train"])
