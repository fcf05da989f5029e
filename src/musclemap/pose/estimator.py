"""The pose-estimator protocol and the estimators by name (`--pose-estimator NAME`).

An estimator turns one RGB frame into one person's landmarks in its skeleton layout. Adding one:
write a class with the `PoseEstimator` attributes and methods (in `pose/<name>_estimator.py`,
importing its heavy library inside methods) and add a factory to `ESTIMATORS` below, or call
`register_estimator` (tests register their stand-ins that way). See docs/architecture.md.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from musclemap.data.pose_sequence import PoseFrame
from musclemap.errors import UnknownNameError
from musclemap.skeleton import SkeletonLayout


@runtime_checkable
class PoseEstimator(Protocol):
    """What `extract_poses` needs from a pose estimator (one tracked person per frame).

    An estimator may also define `reset()`, called before each new video to drop tracking state.
    """

    name: str  # part of the pose-cache key: two estimators never share cache entries
    layout: SkeletonLayout  # the joints of its `PoseFrame`s

    def settings(self) -> dict[str, Any]:
        """Everything that changes the output (keys the cache)."""
        ...

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        """Landmarks of the tracked person in an (H, W, 3) uint8 RGB frame, or None."""
        ...

    def close(self) -> None:
        """Release the estimator's resources."""
        ...


EstimatorFactory = Callable[[], PoseEstimator]


def _mediapipe() -> PoseEstimator:
    # Imported on use: MediaPipe is the optional `pose` extra and slow to import.
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

    return MediaPipePoseEstimator()


def _mediapipe_g4() -> PoseEstimator:
    # MediaPipe's tracker with its region snapped to a 4-pixel grid (`RoiGrid`): two trackers
    # started at different frames become one, so a video split over cores gives the
    # sequential poses (docs/predict.md, sessions 11 `roi11` and `snap11`).
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator, RoiGrid

    return MediaPipePoseEstimator(roi_grid=RoiGrid(4.0, 0.02, 2.0))


DEFAULT_ESTIMATOR = "mediapipe"
ESTIMATORS: dict[str, EstimatorFactory] = {
    DEFAULT_ESTIMATOR: _mediapipe,
    "mediapipe_g4": _mediapipe_g4,
}
# The estimators `extract_poses` may run in worker processes by name (`musclemap.pose.parallel`:
# factories a spawned worker can import); any other runs in the calling process.
POOLED = (DEFAULT_ESTIMATOR, "mediapipe_g4")


def mirror_back(frame: PoseFrame, layout: SkeletonLayout) -> PoseFrame:
    """The pose estimated on a horizontally mirrored picture, mapped back onto the picture:
    image x -> 1 - x, world x -> -x, left and right landmarks swapped (`SkeletonLayout.flip`)."""
    image = frame.image[layout.flip_permutation].copy()
    image[:, 0] = 1.0 - image[:, 0]
    return PoseFrame(image=image, world=layout.flip(frame.world))


class WrappedEstimator:
    """An estimator around another one (`inner`): its name, layout, settings, tracker reset and
    close, and its answer; a subclass changes what it sees or says (`MirroredEstimator`,
    `quality.RotatedEstimator`)."""

    def __init__(self, inner: PoseEstimator) -> None:
        self.inner = inner
        self.name = inner.name
        self.layout: SkeletonLayout = inner.layout

    def settings(self) -> dict[str, Any]:
        return self.inner.settings()

    def reset(self) -> None:
        reset = getattr(self.inner, "reset", None)
        if callable(reset):
            reset()

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        return self.inner.estimate(frame_rgb)

    def close(self) -> None:
        self.inner.close()


class MirroredEstimator(WrappedEstimator):
    """An estimator that sees every frame mirrored left to right and maps its poses back
    (`mirror_back`). MediaPipe is not mirror-equivariant (a wild clip's and its mirror's world
    landmarks are a median 5 cm apart), so these are a second estimate of the same movement:
    training copies (`data poses --mirror`, `pose_default.clip_mirror` / `keypose_mirror`).
    Its settings say so, so its poses are cached apart."""

    def settings(self) -> dict[str, Any]:
        return {**self.inner.settings(), "mirrored": True}

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        found = self.inner.estimate(np.ascontiguousarray(frame_rgb[:, ::-1]))
        return None if found is None else mirror_back(found, self.layout)


def register_estimator(name: str, factory: EstimatorFactory) -> None:
    """Make `factory()` available as `--pose-estimator NAME` (replaces an entry of that name)."""
    ESTIMATORS[name] = factory


def list_estimators() -> list[str]:
    return sorted(ESTIMATORS)


def check_estimator_name(name: str) -> str:
    """`name` if registered.

    Raises:
        UnknownNameError: Unknown name (a KeyError and the Python API's ArgumentError); the
            message suggests close matches and lists the known ones.
    """
    if isinstance(name, str) and name in ESTIMATORS:
        return name
    close = difflib.get_close_matches(name, ESTIMATORS, n=3) if isinstance(name, str) else []
    hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
    raise UnknownNameError(
        f"unknown pose estimator {name!r}; {hint}known: {', '.join(list_estimators())}"
    )


def build_estimator(name: str) -> PoseEstimator:
    """A new estimator by registered name (the caller closes it)."""
    return ESTIMATORS[check_estimator_name(name)]()


def estimator_for(name: str) -> PoseEstimator | str:
    """What `extract_poses(estimator=...)` and `Predictor(estimator=...)` take for a name: the
    name of a `POOLED` one, which they open per video and may spread over worker processes; a
    new instance of any other (run in this process)."""
    check_estimator_name(name)
    return name if name in POOLED else build_estimator(name)


def weights_estimator(weights: str | os.PathLike[str]) -> str:
    """The estimator a model's training poses were made with: `pose_estimator` of the JSON
    beside its weights (a `.safetensors` file, or a run folder's `model.json`), without loading
    the model; `DEFAULT_ESTIMATOR` where there is none (weights from before the field, a torch
    `.pt`) or it cannot be read (loading the model then says what is wrong)."""
    path = Path(weights)
    try:
        meta = path / "model.json" if path.is_dir() else path.with_suffix(".json")
        value = json.loads(meta.read_text(encoding="utf-8")).get("pose_estimator")
    except (OSError, ValueError, AttributeError):
        return DEFAULT_ESTIMATOR
    return value if isinstance(value, str) else DEFAULT_ESTIMATOR


# The packaged model's JSON (`predictor.WEIGHTS_DIR`; that module is not imported here, nor
# by the console script before its pose workers start).
PACKAGED_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "default.json"


def predict_estimator(ckpt: str | os.PathLike[str] | None, given: str | None) -> str:
    """The estimator predict poses with: `given` (`--pose-estimator`), else the one the model
    (`ckpt`, default the packaged weights) was trained on (`weights_estimator`)."""
    if given is not None:
        return given
    return weights_estimator(PACKAGED_WEIGHTS if ckpt is None else ckpt)


def tracker_grid(name: str) -> dict[str, Any] | None:
    """The `roi_grid` setting of the estimator `name` (None: MediaPipe's own tracker), as its
    pose files record it in `extra["settings"]`: what tells the trackers' poses apart."""
    estimator = build_estimator(name)
    try:
        grid = estimator.settings().get("roi_grid")
    finally:
        estimator.close()
    return grid


def estimator_note(used: str | None, trained: str) -> str | None:
    """The prediction note for poses from another estimator than the model was trained on
    (None if the same, or `used` is an estimator object, not a name)."""
    if used is None or used == trained:
        return None
    return (
        f"poses from the {used} pose estimator (--pose-estimator), not the {trained} one the "
        "model was trained on; scores may differ from the model's tested accuracy"
    )


def pooled_name(estimator: PoseEstimator | str | None) -> str | None:
    """The `POOLED` name `estimator` stands for (None: the default), else None (an instance,
    or a name run in this process)."""
    if estimator is None:
        return DEFAULT_ESTIMATOR
    return estimator if isinstance(estimator, str) and estimator in POOLED else None


def pool_factory(name: str) -> EstimatorFactory | None:
    """The factory pose workers build a `POOLED` estimator with (None: the pool's default,
    MediaPipe's own tracker)."""
    return None if name == DEFAULT_ESTIMATOR else ESTIMATORS[check_estimator_name(name)]
