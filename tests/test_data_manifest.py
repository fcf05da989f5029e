import numpy as np
import pytest

from musclemap.data.manifest import (
    ManifestRow,
    parse_labels,
    parse_manifest,
    read_manifest,
    write_manifest,
)
from musclemap.errors import DatasetError
from musclemap.taxonomy import to_multi_hot


def test_parse_labels_ids_and_indices():
    labels, errors = parse_labels("chest; triceps;19")
    assert not errors and labels.sum() == 3 and labels[19] == 1
    _, errors = parse_labels("chest;20;pecs")
    assert errors == ["label index 20 outside 0-19", "unknown muscle group 'pecs'"]


def test_round_trip_relative_paths_and_extra_columns(tmp_path):
    (tmp_path / "clips").mkdir()
    rows = [
        ManifestRow(
            clip=tmp_path / "clips" / "a.mp4",
            activity="squat",
            split="train",
            labels=to_multi_hot(["quadriceps", "gluteus"]),
            skeleton=tmp_path / "poses" / "a.npz",
            extra={"source": "x"},
        )
    ]
    write_manifest(rows, tmp_path / "m.csv")
    text = (tmp_path / "m.csv").read_text()
    assert "clips/a.mp4" in text and "quadriceps;gluteus" in text
    again = read_manifest(tmp_path / "m.csv")
    assert again[0].clip == rows[0].clip and again[0].skeleton == rows[0].skeleton
    assert again[0].clip_id == "clips/a.mp4" and again[0].extra == {"source": "x"}
    np.testing.assert_array_equal(again[0].labels, rows[0].labels)


def test_problems_reported_and_strict_read_fails(tmp_path):
    (tmp_path / "m.csv").write_text(
        "clip,activity,split,labels\na.mp4,squat,train,chest;42\nb.mp4,squat,training,chest\n"
    )
    rows, problems = parse_manifest(tmp_path / "m.csv")
    assert len(rows) == 2
    assert [(p.kind, p.line) for p in problems] == [("label out of range", 2), ("unknown split", 3)]
    with pytest.raises(DatasetError, match="2 problem"):
        read_manifest(tmp_path / "m.csv")


def test_missing_manifest_or_column(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        read_manifest(tmp_path / "none.csv")
    (tmp_path / "m.csv").write_text("path,activity\n")
    with pytest.raises(DatasetError, match="missing required column 'clip'"):
        read_manifest(tmp_path / "m.csv")


def test_label_tokens_that_look_like_digits_are_errors_not_tracebacks():
    # str.isdigit() takes "²" and "--1".lstrip("-") but int() does not: a ValueError traceback
    # in validate, split and poses (session 13's hostile pass).
    labels, errors = parse_labels("²;--1;٣;chest")
    assert errors == [
        "unknown muscle group '²'",
        "unknown muscle group '--1'",
        "unknown muscle group '٣'",
    ]
    assert labels.sum() == 1 and labels[1] == 1
