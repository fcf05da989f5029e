"""The console entry point `main`: a user error is one stderr line and its exit code, Ctrl+C is
130, a missing optional dependency names the extra that installs it, and every command module
under `musclemap.cli` is registered."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import run_main
from musclemap.cli import EXTRAS, app
from musclemap.errors import ConfigError


def _with_command(monkeypatch: pytest.MonkeyPatch, fn: Callable[[], None]) -> None:
    """Register `fn` as `musclemap boom` for one test (the app's command list is restored)."""
    monkeypatch.setattr(app, "registered_commands", list(app.registered_commands))
    app.command("boom")(fn)


def test_a_user_error_is_one_line_and_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom() -> None:
        raise ConfigError("bad key x.y (did you mean x.z?)")

    _with_command(monkeypatch, boom)
    assert run_main(["boom"], monkeypatch) == 1
    captured = capsys.readouterr()
    assert captured.err == "error: bad key x.y (did you mean x.z?)\n" and captured.out == ""


def test_ctrl_c_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom() -> None:
        raise KeyboardInterrupt

    _with_command(monkeypatch, boom)
    assert run_main(["boom"], monkeypatch) == 130  # (Typer's own handler answers first)
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(("module", "extra"), [("mediapipe", "pose"), ("torch", "train"),
                                               ("fastapi", "web")])
def test_a_missing_extra_names_its_install_command(
    module: str, extra: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def boom() -> None:
        raise ModuleNotFoundError(f"No module named '{module}.sub'", name=f"{module}.sub")

    _with_command(monkeypatch, boom)
    assert EXTRAS[module] == extra
    assert run_main(["boom"], monkeypatch) == 1
    assert capsys.readouterr().err == (
        f"error: this command needs {module}, which is not installed: "
        f"pip install 'musclemap[{extra}]'\n"
    )


def test_another_missing_module_is_a_bug_and_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> None:
        raise ModuleNotFoundError("No module named 'musclemap.nope'", name="musclemap.nope")

    _with_command(monkeypatch, boom)
    with pytest.raises(ModuleNotFoundError, match="musclemap.nope"):
        run_main(["boom"], monkeypatch)


def test_every_command_is_registered() -> None:
    names = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}
    assert names == {"activities", "evaluate", "baseline", "explain", "predict", "demo", "serve",
                     "train", "benchmark"}
    assert [g.name for g in app.registered_groups] == ["data"]


@pytest.mark.parametrize(
    "args",
    [
        ("predict", "{long}.mp4"),  # the console script looks before the CLI does
        ("predict", "{long}.mp4", "--workers", "1"),
        ("data", "validate", "{long}.csv"),
        ("train", "{long}.yaml"),
        ("evaluate", "--manifest", "{long}.csv", "--predictions", "p.csv"),
        ("data", "import", "{long}", "--out", "m.csv"),
    ],
)
def test_a_name_too_long_for_the_file_system_is_one_line(run_cli, tmp_path, args) -> None:
    # Path.exists / is_file raise OSError (ENAMETOOLONG) for it: a traceback in each command.
    long = str(tmp_path / ("a" * 300))
    done = run_cli(*(a.format(long=long) for a in args))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: {str(tmp_path)[:20]}") and "..." in line
    assert line.endswith("characters): file name too long for the file system")


@pytest.mark.parametrize(
    "args",
    [
        ("data", "split", "{m}", "--out", "{tmp}/sp/"),
        ("data", "import", "{tmp}", "--layout", "folder", "--out", "{tmp}/im/"),
        ("evaluate", "--manifest", "{m}", "--predictions", "{m}", "--json", "{tmp}/ev/"),
        ("baseline", "random", "--manifest", "{m}", "--out", "{tmp}/bl/"),
        ("explain", "{tmp}/v.mp4", "--out", "{tmp}/ex/"),
        ("explain", "{tmp}/v.mp4", "--out", "{tmp}/ex.png", "--json", "{tmp}/ej/"),
    ],
)
def test_a_file_output_ending_in_a_slash_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path,
    args,
) -> None:
    # pathlib drops the slash: `--out new/` wrote a file named `new` (exit 0) where the user
    # named a folder. Refused while parsing, before any input is read (none of them exists).
    m = str(tmp_path / "m.csv")
    code = run_main([a.format(m=m, tmp=tmp_path) for a in args], monkeypatch)
    err = " ".join(capsys.readouterr().err.replace("│", " ").split())  # the usage box unwrapped
    assert code == 2 and "ends with '/', a folder; give a file name" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
