"""`musclemap demo` through the console entry point: the real outputs on a generated squat."""

from __future__ import annotations

import json
import re
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
    assert "generated pose sequence" in out
    d = json.loads((tmp_path / "d" / "demo.json").read_text())
    # The table lists all 20 groups (a group's name in it proves nothing): its rows are the
    # JSON's probabilities, ranked, "active" exactly for the JSON's active groups.
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines()
            if line.startswith("│")]
    assert sorted(r[0] for r in rows) == sorted(GROUP_IDS)
    for group, prob, _, active in rows:
        assert float(prob) == pytest.approx(d["muscles"][group], abs=0.0051)
        assert (active == "● active") == (group in d["active"])
    assert [float(r[1]) for r in rows] == sorted((float(r[1]) for r in rows), reverse=True)
    assert list(d["muscles"]) == list(GROUP_IDS)
    # the demo is a generated squat: the legs, not the arms
    assert min(d["muscles"]["quadriceps"], d["muscles"]["gluteus"]) > max(
        d["muscles"]["biceps"], d["muscles"]["chest"]
    )
    svg = (tmp_path / "d" / "body_map.svg").read_text()
    # Every region is drawn, coloured by this result's probability.
    drawn = dict(re.findall(r'data-group="([a-z_]+)" data-prob="([0-9.]+)"', svg))
    assert set(drawn) == set(GROUP_IDS)
    assert all(float(drawn[g]) == pytest.approx(d["muscles"][g], abs=6e-4) for g in GROUP_IDS)
    assert (tmp_path / "d" / "body_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "d" / "timeline.png").read_bytes()[:4] == b"\x89PNG"


def test_demo_seconds_out_of_range(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(["demo", "--seconds", "nan"], monkeypatch) == 2
    assert run(["demo", "--seconds", "-2"], monkeypatch) == 2
