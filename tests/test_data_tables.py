from pathlib import Path

import numpy as np
import pytest

from musclemap.data.manifest import ManifestRow
from musclemap.data.predictions import read_predictions, write_predictions
from musclemap.data.tables import (
    match_scores,
    per_activity_table,
    per_class_table,
    split_table,
    unknown_predictions,
)
from musclemap.errors import DatasetError
from musclemap.metrics import average_precision_map


def _row(name, split, labels, activity=None):
    return ManifestRow(
        clip=Path(f"/d/{name}.mp4"),
        activity=activity or name[0],
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


def _onehot(*idx):
    v = np.zeros(20, dtype=np.float32)
    v[list(idx)] = 1
    return v


def test_match_scores_by_manifest_spelling_or_absolute_path_and_unknown_keys():
    rows = [_row("a", "test_known", _onehot(0)), _row("b", "test_known", _onehot(1))]
    scores = {"./a.mp4": np.full(20, 0.1), "/d/b.mp4": np.full(20, 0.2), "zz.mp4": np.zeros(20)}
    assert match_scores(rows, scores)[:, 0].tolist() == [0.1, 0.2]
    assert unknown_predictions(rows, scores) == ["zz.mp4"]
    with pytest.raises(DatasetError, match=r"missing for 1 clip\(s\): b.mp4"):
        match_scores(rows, {"a.mp4": np.zeros(20)})


def test_per_class_and_per_activity_tables_hand_computed():
    # One positive group per clip; its rank among the 20 groups gives the clip's sample AP.
    rows = [
        _row("s1", "test_new", _onehot(0), activity="squat"),
        _row("s2", "test_new", _onehot(1), activity="squat"),
        _row("p1", "test_known", _onehot(1), activity="plank"),
    ]
    s1 = np.linspace(0.9, 0.0, 20)  # group 0 highest: AP 1
    s2 = np.linspace(0.9, 0.0, 20)  # group 1 second: AP 1/2
    p1 = np.linspace(0.0, 0.9, 20)  # group 1 19th of 20: AP 1/19
    scores = {"s1.mp4": s1, "s2.mp4": s2, "p1.mp4": p1}
    per_activity = per_activity_table(rows, scores)
    assert per_activity == pytest.approx({"plank": 1 / 19, "squat": (1 + 1 / 2) / 2})
    res = per_class_table(rows, scores, "test_new")
    # s1 and s2 have equal scores, so each class has its positive tied with a negative:
    # sklearn's AP of a tie at the top is 1/2.
    assert res.per_class == pytest.approx({"neck_head": 0.5, "chest": 0.5})
    assert len(res.skipped) == 18 and res.map == pytest.approx(0.5)
    assert per_class_table(rows, scores, "val_new").map is None  # no clips: None, never 0
