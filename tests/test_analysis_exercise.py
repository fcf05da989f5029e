"""The named exercise: resolution through the knowledge base, holds, expected vs observed."""

from __future__ import annotations

import pytest

from musclemap.analysis.exercise import (
    expected_vs_observed,
    guess_from_looks_like,
    is_static,
    resolve_exercise,
)
from musclemap.errors import UnknownActivityError
from musclemap.taxonomy import GROUP_IDS


@pytest.mark.parametrize(
    "name, key",
    [
        ("back squat", "squat"),  # alias
        ("Barbell Squat", "squat"),  # equipment variant folds into the curated exercise
        ("dumbbell bench press", "bench_press"),
        ("Push-Ups", "push_up"),
        ("Alternate Hammer Curl", "alternate_hammer_curl"),  # a library exercise by its name
    ],
)
def test_resolve(name: str, key: str) -> None:
    assert resolve_exercise(name).name == key


def test_unknown_name_is_one_line_with_the_closest_entries() -> None:
    with pytest.raises(UnknownActivityError) as err:
        resolve_exercise("bak squatt")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("unknown exercise 'bak squatt'; closest: squat")
    with pytest.raises(UnknownActivityError, match="activities --list"):
        resolve_exercise("xyzzy")


def test_holds() -> None:
    assert is_static(resolve_exercise("plank")) and is_static(resolve_exercise("wall sit"))
    assert is_static(resolve_exercise("side bridge"))  # the library's force "static"
    assert not is_static(resolve_exercise("squat"))
    assert not is_static(resolve_exercise("barbell full squat"))


def test_expected_vs_observed() -> None:
    act = resolve_exercise("squat")
    scores = dict.fromkeys(GROUP_IDS, 0.05)
    scores |= {"quadriceps": 0.9, "gluteus": 0.8, "chest": 0.7, "hamstring": 0.2}
    check = expected_vs_observed(act, scores, 0.5, query="back squat")
    assert check.expected == list(act.groups) and "quadriceps" in check.primary
    assert check.observed_active == ["quadriceps", "gluteus", "chest"]
    assert check.unexpected == ["chest"]
    assert set(check.missing) == set(act.groups) - {"quadriceps", "gluteus"}
    assert check.missing[0] == "hamstring"  # most probable first
    d = check.to_dict()
    assert d["name"] == "squat" and d["query"] == "back squat" and d["guessed"] is False


def test_guess_takes_the_first_known_looks_like() -> None:
    act, name, sim = guess_from_looks_like(
        [
            {"exercise": "no_such_thing", "similarity": 0.9},
            {"exercise": "Barbell_Squat", "similarity": 0.8},
        ]
    )
    assert (act.name, name, sim) == ("squat", "Barbell_Squat", 0.8)
    with pytest.raises(UnknownActivityError, match="--exercise"):
        guess_from_looks_like([])
