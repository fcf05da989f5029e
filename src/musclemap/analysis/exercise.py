"""The named exercise: resolved through the knowledge base, its groups against the model's.

`resolve_exercise("back squat")` finds the activity (aliases, equipment variants, library names);
an unknown name raises one line naming the closest entries. `expected_vs_observed` compares the
knowledge base's primary + secondary groups with the groups the model scores as active.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from musclemap.activities import Activity, find_activity, suggest
from musclemap.errors import UnknownActivityError
from musclemap.taxonomy import GROUP_IDS

# Curated holds without a library record saying "static" (the library's force field says it for
# its own exercises: plank, side bridge, ...).
_HOLDS = {
    "plank",
    "side_plank",
    "wall_sit",
    "hollow_hold",
    "dead_hang",
    "l_sit",
    "glute_bridge_hold",
}


def resolve_exercise(name: str) -> Activity:
    """The knowledge-base activity called `name` (any spelling, alias or equipment variant).

    Raises:
        UnknownActivityError: One line with up to 5 close entries, e.g. ``unknown exercise
            'bak squat'; closest: back_squat, ...``.
    """
    act = find_activity(name)
    if act is not None:
        return act
    close = suggest(name, n=5)
    hint = f"closest: {', '.join(close)}" if close else "see `musclemap activities --list`"
    raise UnknownActivityError(f"unknown exercise {name!r}; {hint}")


def is_static(act: Activity) -> bool:
    """An isometric hold or a stretch: report hold time, not repetitions."""
    if act.kind == "stretch" or act.name in _HOLDS or act.same_as in _HOLDS:
        return True
    if act.record is not None:
        return act.record.force == "static"
    from musclemap.activities import variants_of

    return any(v.record is not None and v.record.force == "static" for v in variants_of(act.name))


@dataclass
class ExerciseCheck:
    """The `exercise` block of the predict JSON (see docs/exercise.md)."""

    name: str  # the knowledge base's key of the exercise
    query: str  # as given with --exercise, or the "looks like" name it was guessed from
    source: str  # "curated" or "free-exercise-db"
    guessed: bool  # True: no --exercise; the top "looks like" match of the model
    similarity: float | None  # of the guess (cosine, model embedding); None when named
    category: str
    static: bool  # a hold: hold time instead of repetitions
    expected: list[str]  # primary + secondary groups of the knowledge base, taxonomy order
    primary: list[str]
    observed_active: list[str]  # groups the model scores at or above its threshold
    missing: list[str]  # expected but below the threshold (most probable first)
    unexpected: list[str]  # active but not expected (most probable first)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expected_vs_observed(
    act: Activity,
    muscles: Mapping[str, float],
    threshold: float,
    *,
    query: str = "",
    guessed: bool = False,
    similarity: float | None = None,
) -> ExerciseCheck:
    """The activity's groups against the model's scores (`muscles`: group id -> probability)."""
    active = [g for g in sorted(muscles, key=lambda g: -muscles[g]) if muscles[g] >= threshold]
    expected = list(act.groups)
    by_score = sorted(GROUP_IDS, key=lambda g: -muscles.get(g, 0.0))
    return ExerciseCheck(
        name=act.name,
        query=query or act.name,
        source=act.source,
        guessed=guessed,
        similarity=similarity,
        category=act.category,
        static=is_static(act),
        expected=expected,
        primary=list(act.primary),
        observed_active=active,
        missing=[g for g in by_score if g in expected and g not in active],
        unexpected=[g for g in active if g not in expected],
    )


def guess_from_looks_like(looks_like: Sequence[Mapping[str, Any]]) -> tuple[Activity, str, float]:
    """The first "looks like" entry that the knowledge base knows: (activity, name, similarity).

    Raises:
        UnknownActivityError: No entry names a known exercise (or the list is empty).
    """
    for entry in looks_like:
        name = str(entry.get("exercise", ""))
        act = find_activity(name) if name else None
        if act is not None:
            return act, name, float(entry.get("similarity", 0.0))
    raise UnknownActivityError(
        "no exercise given and the model offers no known 'looks like' match; use --exercise NAME"
    )
