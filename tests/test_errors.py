import subprocess
import sys

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


def test_the_console_script_prints_one_line_and_exits_with_the_code():
    # A MusclemapError raised inside a command: `main` turns it into one stderr line.
    code = (
        "import sys; from musclemap.cli import app, main\n"
        "from musclemap.errors import ConfigError\n"
        "@app.command('boom')\n"
        "def boom():\n"
        "    raise ConfigError('bad key x.y (did you mean x.z?)')\n"
        "sys.argv = ['musclemap', 'boom']; main()\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert res.stderr == "error: bad key x.y (did you mean x.z?)\n"


def test_a_usage_error_exits_with_2_like_click() -> None:
    # An option naming nothing known (e.g. --pose-estimator) is a usage error, as in click.
    assert issubclass(errors.UsageError, errors.MusclemapError)
    assert errors.UsageError.exit_code == 2
