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
