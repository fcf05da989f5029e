"""The root Typer app: `musclemap` alone prints the usage, the `data` group holds the dataset
commands, and the console script's `--help` lists every command."""

from __future__ import annotations

from typer.testing import CliRunner

from musclemap.cli.app import app, data_app


def test_no_arguments_prints_the_usage() -> None:
    result = CliRunner().invoke(app, [])
    assert result.exit_code in (0, 2)  # click's no_args_is_help: usage, no command run
    assert "Usage: musclemap" in result.output and "Muscle Group Estimation" in result.output


def test_data_group_lists_the_dataset_commands() -> None:
    import musclemap.cli  # noqa: F401 - registers the command modules on these apps

    result = CliRunner().invoke(app, ["data", "--help"])
    assert result.exit_code == 0
    for command in ("import", "validate", "split", "poses"):
        assert command in result.output
    assert {c.name for c in data_app.registered_commands} == {"import", "validate", "split",
                                                             "poses"}


def test_help_lists_every_command_without_heavy_imports(run_cli) -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for command in ("train", "evaluate", "predict", "demo", "explain", "serve", "data"):
        assert f" {command} " in result.stdout


def test_an_error_naming_a_control_character_stays_one_line(run_cli, tmp_path) -> None:
    # A file name with a newline split the one error line in two.
    from musclemap.cli.app import one_line

    assert one_line("a\nb\tc é 名") == "a\\nb\\tc é 名"
    video = tmp_path / "new\nline.mp4"
    video.write_bytes(b"x")
    done = run_cli("predict", str(video), "--json", str(video), "--workers", "1")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: --json {tmp_path}/new\\nline.mp4: is also the input video; writing it would "
        "destroy that input (pick another name)"
    ]


def test_a_terminal_that_cannot_show_a_name_gets_escapes_not_a_traceback(tmp_path) -> None:
    # `data validate` (and predict's table, after the whole prediction) on an ASCII terminal
    # (LC_ALL=C, PYTHONIOENCODING=ascii): a name such as ü.mp4 was a UnicodeEncodeError
    # traceback.
    import os
    import subprocess
    from pathlib import Path

    from conftest import cli_command

    (tmp_path / "m.csv").write_text("clip,activity,split,labels\nü.mp4,squat,,quadriceps\n")
    src = Path(__file__).resolve().parents[1] / "src"  # this tree's, also from tmp_path
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C", "PYTHONPATH": str(src)}
    done = subprocess.run(
        cli_command("data", "validate", "m.csv", "--no-decode"), capture_output=True,
        text=True, env=env, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "line 2: \\xfc.mp4" in done.stdout and "missing file" in done.stdout
