import pickle

import numpy as np
import pytest

from musclemap.data.importers import activity_from_path, import_release
from musclemap.data.manifest import read_manifest, write_manifest
from musclemap.errors import DatasetError


def write_release(root, splits):
    for split, (videos, labels) in splits.items():
        (root / f"{split}_video_list.pkl").write_bytes(pickle.dumps(videos))
        (root / f"{split}_label_list.pkl").write_bytes(pickle.dumps(labels))


def test_release_round_trip(tmp_path):
    splits = {
        "train": (["squat/a.mp4", "push_up/b.mp4"], [[13, 17], [1, 2, 4]]),
        "val_seen": (["squat/c.mp4"], [[13, 17]]),
        "val_unseen": (["plank/d.mp4"], [[9, 10]]),
        "test_seen": (["push_up/e.mp4"], [[1, 2, 4]]),
        "test_unseen": (["plank/f.mp4"], [[9, 10]]),
    }
    write_release(tmp_path, splits)
    rows = import_release(tmp_path)
    assert [r.split for r in rows] == [
        "train",
        "train",
        "val_known",
        "val_new",
        "test_known",
        "test_new",
    ]
    assert [r.activity for r in rows] == ["squat", "push_up", "squat", "plank", "push_up", "plank"]
    assert list(np.flatnonzero(rows[1].labels)) == [1, 2, 4]
    write_manifest(rows, tmp_path / "m.csv")
    again = read_manifest(tmp_path / "m.csv")
    assert [r.clip for r in again] == [r.clip for r in rows]
    for a, b in zip(again, rows, strict=True):
        np.testing.assert_array_equal(a.labels, b.labels)
        assert (a.split, a.activity) == (b.split, b.activity)


def test_release_errors(tmp_path):
    write_release(tmp_path, {"train": (["a/x.mp4"], [[25]])})
    with pytest.raises(DatasetError, match="muscle index 25 outside 0-19"):
        import_release(tmp_path, splits=["train"])
    with pytest.raises(DatasetError, match="expected one video pickle for split 'val_seen'"):
        import_release(tmp_path, splits=["val_seen"])
    write_release(tmp_path, {"train": (["a/x.mp4", "a/y.mp4"], [[1]])})
    with pytest.raises(DatasetError, match="2 videos but 1 label"):
        import_release(tmp_path, splits=["train"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("push_up__gym__1.mp4", "push_up"),
        ("squat-3.mp4", "squat"),
        ("jumping_jack_12.mov", "jumping_jack"),
        ("plank.mp4", "plank"),
    ],
)
def test_activity_from_file_name(name, expected):
    assert activity_from_path(name, "stem") == expected
