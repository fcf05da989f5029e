"""musclemap: video-based Activated Muscle Group Estimation (AMGE).

For applications::

    import musclemap

    pred = musclemap.predict("clip.mp4")            # -> musclemap.Prediction
    pred.active, pred.muscles, pred.timeline, pred.to_dict()

    predictor = musclemap.Predictor.default()       # reuse for many clips
    for path in paths:
        print(predictor.predict(path).active)

`import musclemap` stays cheap: `Predictor` and `Prediction` are imported on first use, and
nothing imports torch or MediaPipe before a video is predicted.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from musclemap.predictor import Prediction, Predictor

# The one place the version is written (pyproject.toml reads it): importlib.metadata would
# cost every `musclemap` command 40-50 ms of imports.
__version__ = "0.1.0"

__all__ = ["Prediction", "Predictor", "__version__", "predict"]


def __getattr__(name: str) -> Any:
    if name in ("Predictor", "Prediction"):
        from musclemap import predictor

        return getattr(predictor, name)
    raise AttributeError(f"module 'musclemap' has no attribute {name!r}")


@lru_cache(maxsize=4)
def _predictor(
    checkpoint: str | None,
    device: str,
    use_cache: bool,
    cache_dir: str | None,
    estimator: str | None,
) -> Predictor:
    from musclemap.pose.estimator import check_estimator_name
    from musclemap.predictor import Predictor

    kwargs: dict[str, Any] = {
        "device": device,
        "use_cache": use_cache,
        "cache_dir": cache_dir,
        "estimator": None if estimator is None else check_estimator_name(estimator),
    }
    if checkpoint is None:
        return Predictor.default(**kwargs)
    return Predictor.from_checkpoint(checkpoint, **kwargs)


def predict(
    video: str | Path,
    *,
    fps: float | None = None,
    threshold: float | None = None,
    checkpoint: str | Path | None = None,
    device: str = "cpu",
    workers: int | None = None,
    use_cache: bool = True,
    cache_dir: str | Path | None = None,
    progress: Callable[[float, str], None] | None = None,
    pose_estimator: str | None = None,
    rotate: int | None = None,
) -> Prediction:
    """Which of the 20 muscle groups work in `video`, how strongly and when.

    The same path as `musclemap predict`: pose on every core, the packaged model (or
    `checkpoint`), loaded once per process and kept for the next call.

    Args:
        video: Video file.
        fps: Pose sampling rate in (0, 60]; default the model's training rate (another rate
            is noted in `Prediction.notes`).
        threshold: Probability in [0, 1] above which a group is active (default: the model's).
        checkpoint: Trained weights (run folder or `.safetensors`); default the packaged ones.
        device: torch device, for a torch model.
        workers: Pose processes (None: one per core; 1: this process only).
        use_cache: Reuse and store poses in the pose cache.
        cache_dir: Pose cache folder (default `$MUSCLEMAP_CACHE/poses` or
            `~/.cache/musclemap/poses`).
        progress: Called as `progress(fraction, message)`.
        pose_estimator: A `musclemap.pose.estimator` name (`--pose-estimator`); default the
            one the model was trained on (its weights' `pose_estimator`; another is noted in
            `Prediction.notes`); kept, like the model, for the next call with the same name.
        rotate: Degrees clockwise (0, 90, 180, 270) that make the picture upright, instead of
            the orientation check's answer (`--rotate`; None: the check decides).

    Raises:
        musclemap.errors.ArgumentError: An argument of the wrong type or out of range (`fps`,
            `threshold`, `workers`, `rotate`, a `video` that is not a path, ...); a ValueError
            and a TypeError as well.
        KeyError: Unknown `pose_estimator` (the message suggests close names).
        musclemap.errors.MusclemapError: Bad video (`VideoError`), no person (`NoPersonError`),
            bad checkpoint (`ConfigError`); the message is one line for the user.
    """
    from musclemap.errors import ArgumentError
    from musclemap.predictor import (
        check_path_argument,
        check_predict_arguments,
        check_predictor_arguments,
        is_real_number,
    )

    # Checked before a model is loaded or a frame decoded (a TypeError from math or pathlib
    # named no argument; cache_dir=123 made a folder ./123).
    check_predict_arguments(video, fps=fps, workers=workers, rotate=rotate, progress=progress)
    if threshold is not None and not (
        is_real_number(threshold) and math.isfinite(threshold) and 0 <= threshold <= 1
    ):
        raise ArgumentError(f"threshold must be in [0, 1], got {threshold!r}")
    check_path_argument(checkpoint, "checkpoint", optional=True)
    check_predictor_arguments({"device": device, "cache_dir": cache_dir, "use_cache": use_cache})
    if pose_estimator is not None and not isinstance(pose_estimator, str):
        raise ArgumentError(
            f"pose_estimator must be None or a name (str), got {pose_estimator!r}"
        )
    if workers:
        from musclemap.pose.extract import pose_workers

        workers = pose_workers(workers)  # at most the cores, with a warning (500 exhausted memory)
    predictor = _predictor(
        None if checkpoint is None else str(checkpoint),
        device,
        use_cache,
        None if cache_dir is None else str(cache_dir),
        pose_estimator,
    )
    pred = predictor.predict(
        video, fps=fps, workers=workers, progress=progress, rotate=rotate
    )
    if threshold is not None:
        pred.threshold = float(threshold)  # the kept predictor's own threshold stays as it is
    return pred
