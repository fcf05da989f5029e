import csv

import numpy as np
import pytest

from musclemap.errors import UnknownMuscleTermError
from musclemap.taxonomy import (
    GROUP_IDS,
    MUSCLE_GROUPS,
    MUSCLE_TERMS,
    NUM_GROUPS,
    PRIME_MOVER_PARTNERS,
    find_muscle_term,
    from_multi_hot,
    group_index,
    groups_for_terms,
    prime_mover_partners,
    to_multi_hot,
    working_groups,
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


# ---------------------------------------------------------------- muscle-term vocabulary
@pytest.mark.parametrize(
    ("terms", "groups"),
    [
        (["lats"], ("latissimus",)),
        (["Middle Back", "traps"], ("upper_back",)),
        (["abdominals"], ("upper_abdominis", "lower_abdominis")),
        (["adductors", "abductors"], ("inner_thigh", "outer_thigh")),
        (["glutes", "hamstrings", "quadriceps"], ("hamstring", "quadriceps", "gluteus")),
        (["calves", "calf"], ("calves",)),
        (["shoulders", "rear delts", "neck"], ("neck_head", "shoulder")),
        (["lower back", "forearms", "chest"], ("chest", "forearms", "lower_back")),
        (["biceps", "tricep"], ("biceps", "triceps")),
        (["pecs", "quads", "abs", "obliques"],
         ("chest", "obliques", "upper_abdominis", "lower_abdominis", "quadriceps")),
        (["hip flexors"], ("lower_abdominis", "quadriceps")),
        (["inner_thigh", "feet and ankles", "Erector Spinae"],
         ("lower_back", "inner_thigh", "feet_ankles")),
        ([], ()),
    ],
)  # fmt: skip
def test_groups_for_terms(terms, groups):
    assert groups_for_terms(terms) == groups


@pytest.mark.parametrize(
    "primary, secondary, groups",
    [
        (["calves"], [], ("calves", "feet_ankles")),
        (["Shoulders"], ["triceps"], ("shoulder", "triceps", "upper_back")),
        (["chest"], ["shoulders", "calves"], ("chest", "shoulder", "calves")),  # secondary: no
        (["quadriceps"], ["glutes"], ("quadriceps", "gluteus")),
        ([], [], ()),
    ],
)  # fmt: skip
def test_working_groups_add_prime_mover_partners(primary, secondary, groups):
    assert working_groups(primary, secondary) == groups


def test_prime_mover_partners():
    assert prime_mover_partners(["calves", "shoulder"]) == ("upper_back", "feet_ankles")
    assert prime_mover_partners(["shoulder", "upper_back"]) == ()  # already primary
    assert prime_mover_partners(["biceps"]) == ()
    assert all(set(p) <= set(GROUP_IDS) for p in PRIME_MOVER_PARTNERS.values())


def test_every_group_has_its_id_name_and_muscles_as_terms():
    for group in MUSCLE_GROUPS:
        assert find_muscle_term(group.id) == (group.id,)
        assert find_muscle_term(group.name.upper()) == (group.id,)
        for muscle in group.muscles:
            assert find_muscle_term(muscle) == (group.id,)
    assert all(set(gs) <= set(GROUP_IDS) and gs for gs in MUSCLE_TERMS.values())


def test_unknown_terms_named_with_close_matches():
    assert find_muscle_term("core") is None and find_muscle_term("back") is None
    with pytest.raises(UnknownMuscleTermError) as err:
        groups_for_terms(["lats", "lat dorsi", "core"])
    assert str(err.value) == (
        "unknown muscle terms 'lat dorsi' (did you mean latissimus dorsi?), 'core'; "
        "see musclemap.taxonomy.MUSCLE_TERMS"
    )


def test_free_exercise_db_vocabulary_is_covered():
    words = [
        "shoulders", "hamstrings", "glutes", "quadriceps", "triceps", "calves", "abdominals",
        "chest", "lower back", "biceps", "forearms", "middle back", "traps", "lats", "adductors",
        "abductors", "neck",
    ]  # fmt: skip
    assert len(words) == 17
    assert all(find_muscle_term(w) is not None for w in words)
