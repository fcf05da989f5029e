"""`musclemap serve`: its options, the real port printed for --port 0 and a clean Ctrl+C, and
one-line refusals (public bind without a token, a missing checkpoint, an unusable data folder)."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("fastapi")  # the [web] extra
import httpx  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from conftest import cli_command, run_main  # noqa: E402
from musclemap.cli import app  # noqa: E402
from musclemap.errors import ConfigError  # noqa: E402


def test_serve_command_help() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--max-upload-mb", "--workers", "--queue-size"):
        assert option in result.output


def test_port_0_prints_the_real_port_and_cleans_up(tmp_path: Path) -> None:
    data = tmp_path / "data"
    args = ["serve", "--port", "0", "--max-upload-mb", "5", "--data-dir", data]
    proc = subprocess.Popen(
        cli_command(*args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        match = re.fullmatch(r"MuscleMap on http://localhost:(\d+) \(Ctrl\+C to stop\)\n", line)
        assert match, line
        port = int(match.group(1))
        assert port > 0  # the port the kernel chose, not the 0 asked for
        health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10).json()
        assert health["max_upload_mb"] == 5.0
        assert (data / "musclemap.sqlite3").is_file() and (data / "uploads").is_dir()
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    assert list((data / "uploads").iterdir()) == []


def test_refuses_public_bind_without_token(tmp_path: Path) -> None:
    args = ["serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args, env={"MUSCLEMAP_TOKEN": ""})
    assert isinstance(result.exception, ConfigError), result.output
    assert "--token or MUSCLEMAP_TOKEN" in str(result.exception)
    short = CliRunner().invoke(app, args, env={"MUSCLEMAP_TOKEN": "abc"})
    assert isinstance(short.exception, ConfigError)
    assert "at least 16" in str(short.exception)


def test_missing_checkpoint_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.pt"
    code = run_main(["serve", "--checkpoint", str(missing), "--data-dir", str(tmp_path)],
                    monkeypatch)
    assert code == 1
    assert capsys.readouterr().err == f"error: checkpoint not found: {missing}\n"
    assert not (tmp_path / "musclemap.sqlite3").exists()  # refused before anything started


def test_unusable_data_directory_is_one_line(tmp_path: Path, run_cli) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("serve", "--port", "0", "--data-dir", blocker / "d")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot use the data directory {blocker / 'd'}: Not a directory"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # Each started a server: every job then failed (a text file as the model), or the
        # allowed origin could never match what a browser sends (silently useless).
        (["--checkpoint", "{model}"], "{model}: not a model (expected .safetensors"),
        (["--allow-origin", "app.example"], "--allow-origin 'app.example': expected scheme://"),
        (["--allow-origin", "*"], "--allow-origin '*': expected scheme://"),
        (["--allow-origin", "https://a.example/path"], "expected scheme://host[:port]"),
        (["--allow-host", " "], "--allow-host: an empty host name"),
    ],
)
def test_settings_that_cannot_work_are_refused_at_start(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = tmp_path / "model.safetensors.txt"
    model.write_text("not a model")
    argv = ["serve", "--port", "0", "--data-dir", str(tmp_path / "d")]
    argv += [a.format(model=model) for a in args]
    assert run_main(argv, monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert message.format(model=model) in err[0]
    assert not (tmp_path / "d").exists()  # refused before anything started


def test_workers_beyond_the_cores_become_the_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each worker is a MediaPipe process (~300 MB): --workers 500 is the cores, with a warning.
    pytest.importorskip("uvicorn")
    import musclemap.web.app as web_app
    from musclemap.pose.parallel import cpu_budget

    seen: list[int] = []
    monkeypatch.setattr(web_app, "run_server", lambda settings, *_: seen.append(settings.workers))
    argv = ["serve", "--port", "0", "--data-dir", str(tmp_path / "d"), "--workers", "500"]
    assert run_main(argv, monkeypatch) == 0
    assert seen == [cpu_budget()]
    assert f"--workers 500 is more than the {cpu_budget()} cores" in capsys.readouterr().err
