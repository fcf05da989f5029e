from pathlib import Path

import numpy as np
import pytest

from musclemap.data.manifest import ManifestRow
from musclemap.data.predictions import read_predictions, write_predictions
from musclemap.data.tables import (
    split_table,
)
from musclemap.errors import DatasetError
from musclemap.metrics import average_precision_map


def _row(name, split, labels):
    return ManifestRow(
        clip=Path(f"/d/{name}.mp4"),
        activity=name[0],
        split=split,
        labels=np.asarray(labels, dtype=np.float32),
        clip_id=f"{name}.mp4",
    )


def test_split_table_and_prediction_file(tmp_path):
    rng = np.random.default_rng(2)
    rows = [
        _row(f"c{i}", s, rng.random(20) < 0.5)
        for i, s in enumerate(["val_known", "val_known", "test_new", "test_new", "train"])
    ]
    scores = rng.random((5, 20))
    write_predictions(tmp_path / "p.csv", [r.clip_id for r in rows], scores)
    preds = read_predictions(tmp_path / "p.csv")
    table = split_table(rows, preds)
    assert table["val_new"] is None and table["val_mean"] is None and table["test_known"] is None
    expected = average_precision_map(scores[2:4], np.stack([r.labels for r in rows[2:4]])).map
    assert table["test_new"] == pytest.approx(expected, abs=1e-5)
    del preds["c0.mp4"]
    with pytest.raises(DatasetError, match="predictions missing for 1 clip"):
        split_table(rows, preds)
