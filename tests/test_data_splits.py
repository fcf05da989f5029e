from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from musclemap.data.manifest import ManifestRow
from musclemap.data.splits import activity_folds, leave_activities_out_folds, split_manifest
from musclemap.errors import DatasetError


def make_rows(num_activities=30, per_activity=(1, 7)):
    rng = np.random.default_rng(0)
    rows = []
    for a in range(num_activities):
        for c in range(rng.integers(*per_activity)):
            rows.append(
                ManifestRow(
                    clip=Path(f"/d/act{a}_{c}.mp4"),
                    activity=f"act{a}",
                    split="",
                    labels=np.eye(20, dtype=np.float32)[a % 20],
                )
            )
    return rows


def check_protocol(rows):
    by_split = {
        s: {r.activity for r in rows if r.split == s}
        for s in ("train", "val_known", "val_new", "test_known", "test_new")
    }
    new = by_split["val_new"] | by_split["test_new"]
    assert not new & by_split["train"], "held-out activity leaked into train"
    assert (
        by_split["val_known"] <= by_split["train"] and by_split["test_known"] <= by_split["train"]
    )
    assert all(r.split for r in rows)
    for activity in new:  # half of each new activity's clips in val_new, the rest in test_new
        counts = Counter(r.split for r in rows if r.activity == activity)
        assert counts["val_new"] - counts["test_new"] in (0, 1)


def test_split_protocol_and_determinism():
    rows = make_rows()
    a = split_manifest(rows, seed=3)
    check_protocol(a)
    assert [r.split for r in a] == [r.split for r in split_manifest(rows, seed=3)]
    assert [r.split for r in a] != [r.split for r in split_manifest(rows, seed=4)]
    assert len({r.activity for r in a if r.split.endswith("_new")}) == 4  # 30 * 20/135
    assert all(r.split == "" for r in rows)  # input untouched


def test_known_ratios_follow_paper():
    rows = make_rows(60, (8, 12))
    out = split_manifest(rows, n_held_out=5, seed=0)
    c = Counter(r.split for r in out)
    known = c["train"] + c["val_known"] + c["test_known"]
    assert c["val_known"] / known == pytest.approx(1599 / 10262, abs=0.01)
    assert c["test_known"] / known == pytest.approx(1594 / 10262, abs=0.01)


def test_explicit_held_out_and_errors():
    rows = make_rows()
    out = split_manifest(rows, held_out=["act1", "act2"])
    assert {r.activity for r in out if r.split.endswith("_new")} == {"act1", "act2"}
    with pytest.raises(DatasetError, match="not in the manifest: nope"):
        split_manifest(rows, held_out=["nope"])


def test_folds_cover_every_activity_once():
    rows = make_rows()
    folds = leave_activities_out_folds(rows, k=5, seed=1)
    new_sets = [{r.activity for r in f if r.split.endswith("_new")} for f in folds]
    assert set().union(*new_sets) == {r.activity for r in rows}
    assert sum(len(s) for s in new_sets) == len({r.activity for r in rows})
    for f in folds:
        check_protocol(f)
    assert activity_folds(["a", "b", "c"], 3, 0) == activity_folds(["c", "b", "a"], 3, 0)
    with pytest.raises(DatasetError):
        activity_folds(["a"], 2)
