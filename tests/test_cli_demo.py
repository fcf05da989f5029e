"""`musclemap demo` through the console entry point: the real outputs on a generated squat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_main
from musclemap.taxonomy import GROUP_IDS

run = run_main  # the console entry point in this process


def test_demo_writes_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["demo", "--out-dir", str(tmp_path / "d")], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "generated pose sequence" in out and "quadriceps" in out
    d = json.loads((tmp_path / "d" / "demo.json").read_text())
    assert list(d["muscles"]) == list(GROUP_IDS)
    # the demo is a generated squat: the legs, not the arms
    assert min(d["muscles"]["quadriceps"], d["muscles"]["gluteus"]) > max(
        d["muscles"]["biceps"], d["muscles"]["chest"]
    )
    svg = (tmp_path / "d" / "body_map.svg").read_text()
    assert all(gid in svg for gid in GROUP_IDS)  # every region is drawn
    assert (tmp_path / "d" / "body_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "d" / "timeline.png").read_bytes()[:4] == b"\x89PNG"


def test_demo_seconds_out_of_range(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(["demo", "--seconds", "nan"], monkeypatch) == 2
    assert run(["demo", "--seconds", "-2"], monkeypatch) == 2
