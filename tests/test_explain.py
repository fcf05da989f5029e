"""`musclemap.explain.resolve_group`: ids, names, and one clear error."""

from __future__ import annotations

import pytest

from musclemap.errors import MusclemapError
from musclemap.explain import resolve_group
from musclemap.taxonomy import GROUP_IDS


@pytest.mark.parametrize(
    ("given", "gid"),
    [
        ("quadriceps", "quadriceps"),
        ("Inner Thigh", "inner_thigh"),
        ("feet and ankles", "feet_ankles"),
        ("lower-back", "lower_back"),
        (" neck_head ", "neck_head"),
    ],
)
def test_ids_and_names(given: str, gid: str) -> None:
    assert GROUP_IDS[resolve_group(given)] == gid


def test_unknown_group_lists_every_id() -> None:
    with pytest.raises(MusclemapError) as err:
        resolve_group("quads")
    assert "'quads'" in str(err.value) and all(g in str(err.value) for g in GROUP_IDS)
