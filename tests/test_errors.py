"""The errors a user can cause: one hierarchy, exit code 1 (2 for usage errors);
`musclemap.cli.main` prints them as one line (tests/test_cli.py)."""

from __future__ import annotations

import pytest

from musclemap import errors

USER_ERRORS = [
    errors.VideoError,
    errors.NoPersonError,
    errors.DatasetError,
    errors.UnknownActivityError,
    errors.ConfigError,
    errors.UnknownMuscleTermError,
]


@pytest.mark.parametrize("cls", USER_ERRORS)
def test_every_user_error_is_a_musclemap_error_with_exit_code_1(cls):
    assert issubclass(cls, errors.MusclemapError) and cls.exit_code == 1


def test_the_list_above_is_every_error_of_the_module() -> None:
    defined = {
        obj for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.MusclemapError)
    }
    assert defined == {
        errors.MusclemapError, errors.UsageError, errors.ArgumentError,
        errors.UnknownNameError, *USER_ERRORS
    }


def test_a_python_api_argument_error_is_also_a_value_and_type_error() -> None:
    # Callers of musclemap.predict that caught ValueError / TypeError keep working.
    err = errors.ArgumentError("fps must be in (0, 60], got 1000")
    assert isinstance(err, ValueError) and isinstance(err, TypeError)
    assert err.exit_code == 2 and str(err) == "fps must be in (0, 60], got 1000"


def test_the_message_is_the_text_a_user_reads() -> None:
    err = errors.ConfigError("bad key x.y (did you mean x.z?)")
    assert str(err) == "bad key x.y (did you mean x.z?)" and err.exit_code == 1


def test_a_usage_error_exits_with_2_like_click() -> None:
    # An option naming nothing known (e.g. --pose-estimator) is a usage error, as in click.
    assert issubclass(errors.UsageError, errors.MusclemapError)
    assert errors.UsageError.exit_code == 2


def test_an_unknown_name_is_an_argument_error_and_a_key_error_without_quotes() -> None:
    err = errors.UnknownNameError("unknown pose estimator 'x'; known: mediapipe")
    assert isinstance(err, errors.ArgumentError) and isinstance(err, KeyError)
    assert err.exit_code == 2 and str(err) == "unknown pose estimator 'x'; known: mediapipe"
