"""Errors that the CLI turns into one clear line and a non-zero exit (never a traceback)."""


class MusclemapError(Exception):
    """Base of every error a user can cause with bad input."""

    exit_code = 1


class VideoError(MusclemapError):
    """A video is missing, not a video, corrupt, truncated or has no frames."""


class NoPersonError(MusclemapError):
    """No person was detected in a video."""


class DatasetError(MusclemapError):
    """A manifest or dataset is malformed, or names missing files."""


class UnknownActivityError(MusclemapError):
    """An activity name is not in the knowledge base."""


class ConfigError(MusclemapError):
    """A config file or override is invalid."""


class UnknownMuscleTermError(MusclemapError):
    """A muscle word (e.g. from a dataset's labels) is not in the taxonomy's vocabulary."""


class UsageError(MusclemapError):
    """A command-line option names something that does not exist (e.g. `--pose-estimator`).

    Exit code 2, as for click's usage errors, with one line naming the close matches.
    """

    exit_code = 2


class ArgumentError(MusclemapError, ValueError, TypeError):
    """An argument of the Python API (`musclemap.predict`, `Predictor`) has the wrong type or
    is out of range, e.g. `fps="10"` or `video=None`: one line naming the argument, raised
    before any work, instead of a TypeError from deep inside (pathlib, math, a progress call
    after the decoding). A ValueError and a TypeError too, so callers catching either keep
    working."""

    exit_code = 2


class UnknownNameError(ArgumentError, KeyError):
    """A name the Python API looks up in a registry (`pose_estimator="openpose"`) is not there:
    one line naming the argument and the close matches. A KeyError too (what the registry
    raised before, so callers catching it keep working), printed without KeyError's quotes."""

    __str__ = BaseException.__str__
