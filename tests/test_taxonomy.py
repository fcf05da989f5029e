import csv

import numpy as np
import pytest

from musclemap.taxonomy import (
    GROUP_IDS,
    MUSCLE_GROUPS,
    NUM_GROUPS,
    from_multi_hot,
    group_index,
    to_multi_hot,
)


def test_twenty_groups_in_paper_order():
    assert NUM_GROUPS == 20
    assert GROUP_IDS[0] == "neck_head" and GROUP_IDS[-1] == "wrists"
    assert [g.index for g in MUSCLE_GROUPS] == list(range(20))
    assert all(g.muscles for g in MUSCLE_GROUPS)


def test_matches_shared_reference(shared_dir):
    with (shared_dir / "muscle_groups.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == list(GROUP_IDS)
    for row, group in zip(rows, MUSCLE_GROUPS, strict=True):
        assert row["region"] == group.name
        assert tuple(m.strip() for m in row["anatomical_muscles"].split(";")) == group.muscles


def test_multi_hot_round_trip():
    vec = to_multi_hot(["chest", "triceps"])
    assert vec.dtype == np.float32 and vec.sum() == 2
    assert from_multi_hot(vec) == ["chest", "triceps"]
    assert group_index("wrists") == 19
    with pytest.raises(KeyError, match="unknown muscle group"):
        group_index("pecs")
