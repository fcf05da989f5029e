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


def test_demo_seconds_out_of_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["demo", "--seconds", "nan"], monkeypatch) == 2
    assert run(["demo", "--seconds", "-2"], monkeypatch) == 2
    # Shorter than the model takes: refused with the option, before the demo announces itself
    # (it printed "(0 s at 10 fps)" and then failed "too short").
    capsys.readouterr()
    assert run(["demo", "--seconds", "0.5", "--out-dir", str(tmp_path / "d")], monkeypatch) == 2
    captured = capsys.readouterr()
    assert "must be in [1, 600] seconds, got 0.5" in captured.err + captured.out
    assert "Demo input" not in captured.out and not (tmp_path / "d").exists()


@pytest.mark.parametrize("blocker", ["read-only demo.json", "folder body_map.svg"])
def test_files_that_cannot_be_written_are_refused_before_the_work(
    blocker: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A read-only demo.json was replaced (root); a folder body_map.svg failed after the work.
    from musclemap.cli import demo as cli_demo

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the outputs were checked")

    monkeypatch.setattr(cli_demo, "load_predictor", boom)
    if blocker.startswith("read-only"):
        target = tmp_path / "demo.json"
        target.write_text("{}")
        target.chmod(0o444)
        want = "file is read-only; nothing written"
    else:
        target = tmp_path / "body_map.svg"
        target.mkdir()
        want = "is a folder, expected a file name"
    assert run(["demo", "--out-dir", str(tmp_path)], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    not_writable = [f"error: --out-dir {target}: file is not writable"]  # not as root
    assert err == [f"error: --out-dir {target}: {want}"] or err == not_writable
