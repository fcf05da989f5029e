"""The repetition counter's evaluation: generated pose files counted against a hand-count table
(rows, missing clips, the error and the printed table), and the 180 wild clips' hand counts."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from musclemap.analysis.reps_eval import CountRow, evaluate, main, mean_absolute_error
from musclemap.data.pose_sequence import save_pose_file
from musclemap.demo import synthetic_pose_sequence

WILD_REPS = Path(__file__).parent / "data" / "wild_reps.csv"


def _table(path: Path, rows: list[tuple[str, str, int, str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["clip", "kind", "reps", "hold_s", "how"])
        writer.writerows([(*r, "generated") for r in rows])
    return path


def test_generated_clips_are_counted_and_missing_ones_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A generated squat: one repetition per 2.5 s, 10 s -> 4 repetitions.
    first, second = tmp_path / "a", tmp_path / "b"
    save_pose_file(synthetic_pose_sequence("squat", seconds=10.0), first / "squat4.npz")
    save_pose_file(synthetic_pose_sequence("biceps_curl", seconds=5.0), second / "curl2.npz")
    table = _table(tmp_path / "reps.csv", [
        ("clips/squat4.mp4", "reps", 4, ""),
        ("clips/curl2.mp4", "reps", 3, ""),  # a wrong hand count: an error of 1
        ("clips/gone.mp4", "reps", 5, ""),
    ])
    rows, missing = evaluate(table, [first, second])
    assert missing == ["clips/gone.mp4"]
    assert [(r.clip, r.truth, r.counted) for r in rows] == [
        ("clips/squat4.mp4", 4, 4), ("clips/curl2.mp4", 3, 2)]
    assert rows[0].joint == "knee" and rows[1].joint == "elbow"
    assert mean_absolute_error(rows) == 0.5
    main([str(table), str(first), str(second)])
    out = capsys.readouterr().out.splitlines()
    assert out[2].startswith("| squat4 | 4 | 4 | knee (")
    assert out[-1] == "2 clips: mean absolute error 0.500, 1 exact; 1 without a pose file"


def test_mean_absolute_error_by_hand() -> None:
    def row(truth: int, counted: int) -> CountRow:
        return CountRow("c.mp4", "reps", truth, counted, "knee", "left", 0.0, None)

    assert mean_absolute_error([row(3, 3), row(5, 2), row(0, 1)]) == pytest.approx(4 / 3)
    assert mean_absolute_error([]) == 0.0


def test_wild_reps_table_is_well_formed() -> None:
    rows = list(csv.DictReader(WILD_REPS.open()))
    assert len(rows) >= 40
    assert {r["kind"] for r in rows} <= {"reps", "hold"}
    assert all(r["how"] for r in rows)


@pytest.mark.slow
def test_wild_clips_mean_absolute_error(wild_dir: Path, tmp_path: Path) -> None:
    """Counter against the hand counts of tests/data/wild_reps.csv. Pose files are read from
    MUSCLEMAP_WILD_POSES (folders separated by os.pathsep) when set, else extracted here (MediaPipe,
    sequential, the default pose cache: a second run reads them back)."""
    import os

    dirs = [Path(p) for p in os.environ.get("MUSCLEMAP_WILD_POSES", "").split(os.pathsep) if p]
    if not dirs:
        pytest.importorskip("mediapipe", reason="extracting the clips' poses needs MediaPipe")
        from musclemap.pose.extract import extract_poses

        for r in csv.DictReader(WILD_REPS.open()):
            seq = extract_poses(wild_dir / r["clip"], fps=10.0, workers=1)
            save_pose_file(seq, tmp_path / (Path(r["clip"]).stem + ".npz"))
        dirs = [tmp_path]
    rows, missing = evaluate(WILD_REPS, dirs)
    if missing:
        pytest.skip(f"{len(missing)} wild clips have no pose file in MUSCLEMAP_WILD_POSES")
    assert len(rows) >= 40
    assert mean_absolute_error(rows) <= 0.5
    plank = next(r for r in rows if r.kind == "hold")
    assert plank.hold_s == pytest.approx(plank.truth_hold_s, abs=1.0)


