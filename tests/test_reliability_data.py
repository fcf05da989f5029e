"""Reliability of the data tools: every problem at once, with the CSV lines the user sees;
`split` and `evaluate` validate what they depend on; junk files are one clear line."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from musclemap.cli import app
from musclemap.data.manifest import dedupe_rows, parse_manifest, read_manifest
from musclemap.data.predictions import read_predictions, write_predictions
from musclemap.data.validate import validate_manifest
from musclemap.errors import DatasetError, MusclemapError
from musclemap.taxonomy import GROUP_IDS
from musclemap.textfile import format_lines

runner = CliRunner()
HEADER = "clip,activity,split,labels\n"


def cli_error(*args: object, kind: type[MusclemapError] = DatasetError) -> str:
    """Run a command in-process; it must fail with a `kind` error, whose text is returned."""
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 1, res.output
    assert isinstance(res.exception, kind), repr(res.exception)
    return str(res.exception)


def write_rows(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(r + "\n" for r in rows))
    return path


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_rows(
        tmp_path / "m.csv",
        [f"clips/a{a}_{c}.mp4,act{a},,chest;biceps" for a in range(8) for c in range(4)],
    )


def test_format_lines_ranges() -> None:
    assert format_lines([4]) == "line 4"
    assert format_lines([9, 2, 3, 4, 0]) == "lines 2-4, 9"
    assert format_lines(range(1, 30, 2), limit=3) == "lines 1, 3, 5 and 12 more"


def test_split_refuses_duplicates_and_dedupe_never_leaks(tmp_path: Path, manifest: Path) -> None:
    rows = manifest.read_text().splitlines()[1:]
    dup = write_rows(tmp_path / "dup.csv", rows + rows[:20])  # repeats on lines 34-53
    msg = cli_error("data", "split", dup, "--out", tmp_path / "s.csv")
    assert "duplicate clip x20 (lines 34-53)" in msg and "--dedupe" in msg
    assert not (tmp_path / "s.csv").exists()
    res = runner.invoke(
        app, ["data", "split", str(dup), "--out", str(tmp_path / "s.csv"), "--dedupe"]
    )
    assert res.exit_code == 0, res.output
    out = read_manifest(tmp_path / "s.csv")
    assert len(out) == 32 and len({r.clip for r in out}) == 32  # every clip once: no leak
    # the same clip with other labels cannot be deduplicated
    conflict = write_rows(tmp_path / "c.csv", [*rows, "clips/a0_0.mp4,act0,,triceps"])
    msg = cli_error("data", "split", conflict, "--out", tmp_path / "s2.csv", "--dedupe")
    assert "conflicting duplicate clip x1 (line 34)" in msg


def test_dedupe_rows_keeps_first(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "m.csv", ["a.mp4,squat,,chest", "b.mp4,squat,,chest"] * 2)
    rows, problems = parse_manifest(path)
    assert [(p.kind, p.line) for p in problems] == [("duplicate clip", 4), ("duplicate clip", 5)]
    kept, dropped = dedupe_rows(rows)
    assert [r.line for r in kept] == [2, 3] and [r.line for r in dropped] == [4, 5]


def test_same_file_under_two_spellings_is_a_duplicate(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "m.csv",
        ["clips/a.mp4,squat,train,chest", "./clips/../clips/a.mp4,squat,test_known,chest"],
    )
    _, problems = parse_manifest(path)
    assert [(p.kind, p.line) for p in problems] == [("duplicate clip", 3)]


def test_header_only_and_empty_manifests(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no clips"):
        read_manifest(write_rows(tmp_path / "h.csv", []))
    with pytest.raises(DatasetError, match="no clips"):
        validate_manifest(write_rows(tmp_path / "h2.csv", ["", ",,,"]))
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DatasetError, match="empty file"):
        read_manifest(tmp_path / "e.csv")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(256)) * 4, "binary file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (
            "clip,activity\nclips/\u00e9.mp4,squat\n".encode("latin-1"),
            "not UTF-8 text (byte 0xe9 on line 2)",
        ),
        ("clip,activity\na.mp4,squat\n".encode("utf-16"), "UTF-16"),
        (b'clip,activity\n"a.mp4,squat\n' + b"x" * 200_000, "not valid CSV"),
    ],
)
def test_junk_files_are_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "m.csv").write_bytes(content)
    with pytest.raises(DatasetError, match=re.escape(message)) as err:
        read_manifest(tmp_path / "m.csv")
    assert "\n" not in str(err.value)
    (tmp_path / "p.csv").write_bytes(
        content.replace(b"clip,activity", b",".join([b"clip", *(g.encode() for g in GROUP_IDS)]))
    )
    with pytest.raises(DatasetError, match=re.escape(message)):
        read_predictions(tmp_path / "p.csv")


def test_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_bytes("\ufeffclip,activity,labels\na.mp4,squat,chest\n".encode())
    assert [r.clip_id for r in read_manifest(tmp_path / "m.csv")] == ["a.mp4"]


def test_line_numbers_count_blank_lines_and_quoted_breaks(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text(
        HEADER
        + "a.mp4,squat,,chest\n"  # line 2
        + "\n"  # line 3 (blank)
        + 'b.mp4,"squat\nvariant",,chest;99\n'  # lines 4-5
        + "c.mp4,squat,train,chest,extra\n"  # line 6: one field too many
        + "d.mp4,,,\n"  # line 7: no activity, no labels
        + "e.mp4,not_in_kb,,\n"  # line 8
    )
    _, problems = parse_manifest(tmp_path / "m.csv")
    assert [(p.kind, p.line) for p in problems] == [
        ("label out of range", 4),
        ("wrong number of fields", 6),
        ("empty activity", 7),
        ("unknown activity", 8),
    ]
    msg = str(pytest.raises(DatasetError, read_manifest, tmp_path / "m.csv").value)
    assert "4 problem(s)" in msg and "wrong number of fields x1 (line 6)" in msg


def test_validate_reports_lines_of_every_kind(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "m.csv",
        [
            "a.mp4,squat,train,chest",
            "b.mp4,squat,train,chest",
            "a.mp4,squat,train,chest",
            "c.mp4,plank,train,chest",
            "d.mp4,plank,test_new,chest",
        ],
    )
    (tmp_path / "b.mp4").write_bytes(b"\x00junk")
    report = validate_manifest(path, decode=True)
    got = sorted((p.kind, p.line) for p in report.problems)
    assert got == [
        ("activity in train and a new split", 6),
        ("duplicate clip", 4),
        ("missing file", 2),
        ("missing file", 5),
        ("missing file", 6),
        ("unreadable file", 3),
    ]
    res = runner.invoke(app, ["data", "validate", str(path)])
    assert res.exit_code == 1 and "CSV lines" in res.output and "lines 2, 5-6" in res.output


@pytest.fixture
def split_manifest(tmp_path: Path, manifest: Path) -> Path:
    out = tmp_path / "s.csv"
    res = runner.invoke(
        app, ["data", "split", str(manifest), "--out", str(out), "--n-held-out", "2"]
    )
    assert res.exit_code == 0, res.output
    return out


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([["clip", *GROUP_IDS], *rows])
    return path


def _predictions(rows) -> list[list[str]]:
    rng = np.random.default_rng(0)
    return [[r.clip_id, *(f"{v:.4f}" for v in rng.random(20))] for r in rows]


def test_evaluate_reports_every_bad_prediction_row(tmp_path: Path, split_manifest: Path) -> None:
    preds = _predictions(read_manifest(split_manifest))
    preds[1][3] = "nan"  # line 3
    preds[4][5] = "inf"  # line 6
    preds[6][2] = "57"  # line 8
    preds[7][9] = "-3"  # line 9
    preds[8][1] = "high"  # line 10
    preds.append(list(preds[0]))  # line 34: clip twice
    msg = cli_error(
        "evaluate", "--manifest", split_manifest, "--predictions", _write(tmp_path / "p.csv", preds)
    )
    assert "6 bad row(s)" in msg
    assert "a score is NaN or infinite x2 (lines 3, 6)" in msg
    assert "a score outside [0, 1] (probabilities expected) x2 (lines 8-9)" in msg
    assert "a score is not a number x1 (line 10)" in msg
    assert "clip repeated (first at line 2) x1 (line 34)" in msg


def test_evaluate_lists_every_missing_clip(tmp_path: Path, split_manifest: Path) -> None:
    rows = read_manifest(split_manifest)
    evaluated = [r for r in rows if r.split != "train"]
    keep = [r for r in rows if r not in evaluated[:5]]
    msg = cli_error(
        "evaluate",
        "--manifest",
        split_manifest,
        "--predictions",
        _write(tmp_path / "p.csv", _predictions(keep)),
    )
    assert "predictions missing for 5 clip(s)" in msg
    assert format_lines(r.line for r in evaluated[:5]) in msg


def test_evaluate_refuses_unknown_rows_and_other_folders(
    tmp_path: Path, split_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = read_manifest(split_manifest)
    preds = _predictions(rows) + [["clips/zzz.mp4", *["0.5"] * 20]]
    msg = cli_error(
        "evaluate", "--manifest", split_manifest, "--predictions", _write(tmp_path / "p.csv", preds)
    )
    assert "1 prediction row(s) name no clip" in msg and "clips/zzz.mp4 (line 34)" in msg
    # same file names in another folder: not the manifest's clips
    other = [[f"other/{Path(p[0]).name}", *p[1:]] for p in _predictions(rows)]
    msg = cli_error(
        "evaluate", "--manifest", split_manifest, "--predictions", _write(tmp_path / "o.csv", other)
    )
    assert "32 prediction row(s) name no clip" in msg
    # the manifest's path spelled differently, or absolute: the same clips
    same = [[f"./{p[0]}", *p[1:]] for p in _predictions(rows[:16])]
    same += [[str(r.clip), *p[1:]] for r, p in zip(rows[16:], _predictions(rows[16:]), strict=True)]
    res = runner.invoke(
        app,
        [
            "evaluate",
            "--manifest",
            str(split_manifest),
            "--predictions",
            str(_write(tmp_path / "same.csv", same)),
        ],
    )
    assert res.exit_code == 0, res.output
    # relative to the working directory, as `predict --out-dir` writes summary.csv
    monkeypatch.chdir(tmp_path.parent)
    cwd = [[f"{tmp_path.name}/{p[0]}", *p[1:]] for p in _predictions(rows)]
    args = ["evaluate", "--manifest", str(split_manifest), "--predictions"]
    res = runner.invoke(app, [*args, str(_write(tmp_path / "cwd.csv", cwd))])
    assert res.exit_code == 0, res.output


def test_evaluate_needs_splits(tmp_path: Path, manifest: Path) -> None:
    rows = read_manifest(manifest)
    write_predictions(tmp_path / "p.csv", [r.clip_id for r in rows], np.full((len(rows), 20), 0.5))
    msg = cli_error("evaluate", "--manifest", manifest, "--predictions", tmp_path / "p.csv")
    assert "no clip has a split" in msg and "musclemap data split" in msg
    only_train = write_rows(
        tmp_path / "t.csv", [f"{r.clip_id},{r.activity},train,chest" for r in rows]
    )
    msg = cli_error("evaluate", "--manifest", only_train, "--predictions", tmp_path / "p.csv")
    assert "no clip in test_known, test_new, val_known, val_new (splits present: train)" in msg


def test_output_paths_checked_before_work(tmp_path: Path, split_manifest: Path) -> None:
    (tmp_path / "file").write_text("x")
    msg = cli_error(
        "baseline",
        "random",
        "--manifest",
        split_manifest,
        "--out",
        tmp_path / "file" / "p.csv",
        kind=MusclemapError,
    )
    assert "is a file, not a folder" in msg
    msg = cli_error("data", "split", split_manifest, "--out", "/proc/m.csv", kind=MusclemapError)
    assert msg.endswith("--out /proc/m.csv: cannot write there (No such file or directory)")
    runner.invoke(
        app,
        ["baseline", "random", "--manifest", str(split_manifest), "--out", str(tmp_path / "p.csv")],
    )
    msg = cli_error(
        "evaluate",
        "--manifest",
        split_manifest,
        "--predictions",
        tmp_path / "p.csv",
        "--json",
        tmp_path / "file" / "t.json",
        kind=MusclemapError,
    )
    assert "--json" in msg and "is a file" in msg


def test_console_error_is_one_line(tmp_path: Path, run_cli) -> None:
    (tmp_path / "m.csv").write_bytes(b"\x00\x01\x02binary")
    res = run_cli("data", "split", tmp_path / "m.csv", "--out", tmp_path / "s.csv")
    assert res.returncode == 1
    assert res.stderr.splitlines() == [
        f"error: {tmp_path / 'm.csv'}: binary file (NUL bytes), not a manifest"
    ]


def test_negative_seed_is_a_usage_error(tmp_path: Path, manifest: Path) -> None:
    res = runner.invoke(
        app, ["data", "split", str(manifest), "--out", str(tmp_path / "s.csv"), "--seed", "-1"]
    )
    assert res.exit_code == 2 and not (tmp_path / "s.csv").exists()


def test_datasets_list_every_missing_file_before_training(tmp_path: Path) -> None:
    from musclemap.data.skeleton_dataset import SkeletonDataset
    from musclemap.data.video_clips import VideoClipDataset
    from musclemap.errors import VideoError
    from musclemap.skeleton import COCO17

    (tmp_path / "b.npz").write_bytes(b"")
    path = write_rows(
        tmp_path / "m.csv",
        [
            "a.mp4,squat,train,chest,a.npz",
            "b.mp4,squat,train,chest,b.npz",
            "c.mp4,squat,train,chest,c.npz",
        ],
        header="clip,activity,split,labels,skeleton\n",
    )
    rows = read_manifest(path)
    with pytest.raises(DatasetError) as err:
        SkeletonDataset(rows, layout=COCO17)
    assert "2 of 3 clip(s) have no skeleton file" in str(err.value)
    assert "(manifest lines 2, 4)" in str(err.value) and "c.npz" in str(err.value)
    with pytest.raises(VideoError, match=r"3 of 3 clip\(s\) have no clip file.*lines 2-4"):
        VideoClipDataset(rows, modality="rgb", train=True)
