"""Exercise-aware analysis of a prediction: the named (or guessed) exercise, its expected groups
against the observed ones, the movement against the library, and the repetitions.

    from musclemap.analysis import analyse
    result = analyse(prediction, "back squat")
    result.to_dict()  # {"exercise": ..., "movement": ..., "repetitions": ...}

The CLI (`musclemap predict --exercise NAME`) and the web API call `analyse`; it also stores the
blocks in `prediction.analysis`, which `Prediction.to_dict` adds to the JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from musclemap.activities import Activity, canonical_exercise
from musclemap.analysis.exercise import (
    ExerciseCheck,
    expected_vs_observed,
    guess_from_looks_like,
    resolve_exercise,
)
from musclemap.errors import UnknownActivityError

if TYPE_CHECKING:
    # Imported where used: `python -m musclemap.analysis.movement` / `.reps_eval` run them as
    # scripts, which a package-level import would load twice.
    from musclemap.analysis.movement import MovementReport
    from musclemap.analysis.reps import RepResult
    from musclemap.predictor import Prediction

__all__ = ["Analysis", "ExerciseCheck", "analyse", "resolve_exercise"]


class Analysis:
    """The three blocks of one prediction (each `to_dict` gives its JSON)."""

    def __init__(
        self,
        exercise: ExerciseCheck | None,
        movement: MovementReport | None,
        reps: RepResult,
        parts: list[dict[str, Any]] | None = None,
    ) -> None:
        self.exercise, self.movement, self.reps = exercise, movement, reps
        # A video that changes exercise (`Prediction.segments`): per part, its guessed
        # exercise and repetitions ({"exercise", "repetitions"}); added to the segments' JSON.
        self.parts = parts or []

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": None if self.exercise is None else self.exercise.to_dict(),
            "movement": None if self.movement is None else self.movement.to_dict(),
            "repetitions": self.reps.to_dict(),
        }


def prepare() -> None:
    """Import and load what `analyse` needs (its modules, the knowledge base, the exercise
    library: ~0.1 s), e.g. in a thread while predict's poses are estimated in workers."""
    import musclemap.analysis.movement
    import musclemap.analysis.reps  # noqa: F401 - imported to be ready
    from musclemap.activities import preload

    preload()


def analyse(
    pred: Prediction, exercise: str | Activity | None = None, *, attach: bool = True
) -> Analysis:
    """Analyse `pred` for `exercise` (a name, an Activity, or None: the top "looks like" match
    of the model, labelled as a guess; without one the exercise and movement blocks are None).

    Raises:
        UnknownActivityError: `exercise` is a name the knowledge base does not know.
        ValueError: `pred` has no pose sequence (predictions made by `predict_poses` have one).
    """
    from musclemap.analysis.movement import compare_movement, pose_measures

    if pred.pose is None:
        raise ValueError("analyse needs the prediction's pose sequence")
    seq = pred.pose
    parts = [_analyse_part(pred, seg) for seg in pred.segments]
    act: Activity | None
    if isinstance(exercise, Activity):
        act, query, guessed, sim = exercise, exercise.name, False, None
    elif exercise is not None:
        act, query, guessed, sim = resolve_exercise(exercise), exercise, False, None
    elif parts:  # no one exercise to guess for the whole video: each part has its own
        act, query, guessed, sim = None, "", True, None
    else:
        act, query, sim = _guess(getattr(pred, "looks_like", []))
        guessed = True
    check = None
    movement = None
    if act is not None:
        check = expected_vs_observed(
            act, pred.muscles, pred.threshold, query=query, guessed=guessed, similarity=sim
        )
        key = canonical_exercise(act.name, source=act.source)
        clip = Path(pred.video).stem  # a library clip is not compared with itself
        movement = compare_movement(pose_measures(seq.world, seq.fps), key, leave_out=clip)
    reps = _count_reps(pred, check)
    result = Analysis(check, movement, reps, parts)
    if attach:
        pred.analysis = result.to_dict()
        for seg, part in zip(pred.segments, parts, strict=True):
            seg.update(part)
    return result


def _analyse_part(pred: Prediction, seg: dict[str, Any]) -> dict[str, Any]:
    """One part of a video that changes exercise: the exercise its "looks like" names (a guess,
    against the part's own scores) and the repetitions of its frames."""
    import numpy as np

    assert pred.pose is not None
    t = pred.pose.times
    frames = np.flatnonzero((t >= seg["start_s"] - 1e-6) & (t < seg["end_s"] - 1e-6))
    act, query, sim = _guess(seg.get("looks_like"))
    check = None
    if act is not None:
        check = expected_vs_observed(
            act, seg["muscles"], pred.threshold, query=query, guessed=True, similarity=sim
        )
    reps = _count_reps(pred, check, frames)
    return {
        "exercise": None if check is None else check.to_dict(),
        "repetitions": reps.to_dict(),
    }


def _guess(looks_like: list[dict[str, Any]] | None) -> tuple[Activity | None, str, float | None]:
    """`guess_from_looks_like` of a "looks like" list: (activity, query, similarity), or
    (None, "", None) when it names nothing the knowledge base knows."""
    try:
        return guess_from_looks_like(looks_like or [])
    except UnknownActivityError:
        return None, "", None


def _count_reps(
    pred: Prediction, check: ExerciseCheck | None, frames: Any = slice(None)
) -> RepResult:
    """`count_reps` over the prediction's pose frames `frames` (all by default), told whether
    the exercise `check` found is held still."""
    from musclemap.analysis.reps import count_reps

    assert pred.pose is not None
    seq = pred.pose
    return count_reps(
        seq.world[frames],
        seq.valid[frames],
        seq.times[frames],
        seq.fps,
        static=None if check is None else check.static,
        timeline=pred.timeline,
    )
