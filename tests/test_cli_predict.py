"""`musclemap predict` and `musclemap demo` through the console entry point (exit codes, files)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from musclemap.cli import main
from musclemap.taxonomy import GROUP_IDS


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["musclemap", *argv])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Predict with the scripted squat estimator and a private cache (no MediaPipe)."""
    from musclemap import predictor as predict_module
    from test_predictor import ScriptedEstimator

    original = predict_module.Predictor.__init__

    def init(self, model, meta, **kw):  # noqa: ANN001, ANN202
        kw.setdefault("estimator", ScriptedEstimator())
        original(self, model, meta, **{**kw, "cache_dir": tmp_path / "cache"})

    monkeypatch.setattr(predict_module.Predictor, "__init__", init)


def test_demo_writes_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["demo", "--out-dir", str(tmp_path / "d")], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "generated pose sequence" in out and "quadriceps" in out
    d = json.loads((tmp_path / "d" / "demo.json").read_text())
    assert list(d["muscles"]) == list(GROUP_IDS)
    svg = (tmp_path / "d" / "body_map.svg").read_text()
    assert all(gid in svg for gid in GROUP_IDS)  # every region is drawn
    assert (tmp_path / "d" / "body_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "d" / "timeline.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_one_video(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = make_video("squat.mp4", num_frames=40)
    out = tmp_path / "o"
    code = run(
        [
            "predict",
            str(video),
            "--json",
            str(out / "r.json"),
            "--body-map",
            str(out / "m.png"),
            "--timeline",
            str(out / "t.png"),
            "--overlay",
            str(out / "o.mp4"),
            "--top-k",
            "5",
            "--threshold",
            "0.3",
        ],
        monkeypatch,
    )
    assert code == 0
    d = json.loads((out / "r.json").read_text())
    assert d["threshold"] == 0.3 and d["video"] == str(video)
    assert (out / "m.png").stat().st_size > 0 and (out / "t.png").stat().st_size > 0
    from musclemap.data.video_io import probe

    assert probe(out / "o.mp4").num_frames > 0
    table = capsys.readouterr().out.split("\nexercise:")[0]  # the exercise block follows
    assert sum(gid in table for gid in GROUP_IDS) == 5


def test_batch_skips_bad_files_and_fails_the_exit_code(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    good = make_video("a.mp4", num_frames=30)
    good.rename(folder / "a.mp4")
    (folder / "broken.mp4").write_bytes(b"\x00" * 100)
    out = tmp_path / "out"
    code = run(["predict", str(folder), "--out-dir", str(out), "--body-map", "svg"], monkeypatch)
    assert code == 1
    err = capsys.readouterr().err
    assert "broken.mp4" in err and "1 of 2 videos failed" in err and "Traceback" not in err
    assert (out / "a.json").is_file() and (out / "a_body_map.svg").is_file()
    rows = list(csv.reader((out / "summary.csv").open()))
    assert rows[0] == ["clip", *GROUP_IDS] and len(rows) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["predict", "missing.mp4"], "not found"),
        (["predict", "a.mp4", "b.mp4"], "--out-dir"),
        (["demo", "--exercise", "yoga"], "unknown demo exercise"),
    ],
)
def test_user_errors_are_one_line(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(argv, monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("error:")
