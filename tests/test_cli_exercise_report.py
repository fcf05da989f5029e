"""Console text of the exercise, movement and repetition blocks."""

from __future__ import annotations

from rich.console import Console

from musclemap.cli.exercise_report import print_analysis


def text_of(blocks: dict) -> str:
    console = Console(record=True, width=200)
    print_analysis(console, blocks)
    return console.export_text()


def test_guess_hold_and_no_movement() -> None:
    exercise = {
        "name": "plank", "query": "Plank", "source": "curated", "guessed": True,
        "similarity": 0.873, "expected": ["upper_abdominis"], "observed_active": [],
        "missing": ["upper_abdominis"], "unexpected": [],
    }  # fmt: skip
    reps = {"kind": "hold", "hold_s": 10.4, "hold_start_s": 1.5, "hold_end_s": 11.9, "reps": []}
    out = text_of({"exercise": exercise, "movement": None, "repetitions": reps})
    assert "exercise: plank (curated; guessed: looks like Plank (similarity 0.87))" in out
    assert "expected but below threshold: upper_abdominis" in out
    assert "active but not expected: none" in out
    assert "hold: 10.4 s still (1.5-11.9 s)" in out and "movement" not in out


def test_no_exercise_and_repetitions() -> None:
    rep = {
        "index": 1, "start_s": 0.7, "end_s": 2.4, "duration_s": 1.7, "rom_deg": 126.2,
        "angle_min_deg": 42.8, "angle_max_deg": 169.0, "side": "both",
    }  # fmt: skip
    reps = {"kind": "reps", "count": 1, "joint": "hip", "side": "both", "rest": "extended"}
    out = text_of({"exercise": None, "movement": None, "repetitions": reps | {"reps": [rep]}})
    assert "exercise: none named" in out
    assert "repetitions: 1 (driving joint: hip, both; rest extended)" in out
    assert "0.7-  2.4 s  1.7 s  range 126° (43-169°)  both" in out


def test_a_video_that_changes_exercise_prints_each_part() -> None:
    rep = {
        "index": 1, "start_s": 0.7, "end_s": 2.4, "duration_s": 1.7, "rom_deg": 126.2,
        "angle_min_deg": 42.8, "angle_max_deg": 169.0, "side": "both",
    }  # fmt: skip
    squat = {"name": "squat", "query": "squat", "similarity": 0.93,
             "expected": ["quadriceps", "gluteus"], "observed_active": ["quadriceps"]}  # fmt: skip
    reps = {"kind": "reps", "count": 1, "joint": "knee", "side": "both", "rest": "extended",
            "reps": [rep]}  # fmt: skip
    hold = {"kind": "hold", "hold_s": 5.0, "hold_start_s": 9.5, "hold_end_s": 14.5, "reps": []}
    segments = [
        {"start_s": 0.0, "end_s": 9.0, "exercise": squat, "repetitions": reps},
        {"start_s": 9.0, "end_s": 15.0, "exercise": None, "repetitions": hold},
    ]
    console = Console(record=True, width=200)
    print_analysis(console, {"exercise": None, "movement": None, "repetitions": reps}, segments)
    out = console.export_text()
    assert out.startswith("the video changes exercise; each part:\n")
    assert "part 1, 0.0-9.0 s: squat (guessed: looks like squat, similarity 0.93)" in out
    assert "  expected: quadriceps, gluteus\n  observed active: quadriceps\n" in out
    assert "  repetitions: 1 (driving joint: knee, both; rest extended)" in out
    assert "part 2, 9.0-15.0 s: no 'looks like' match\n  hold: 5.0 s still (9.5-14.5 s)" in out
    assert "exercise: none named" not in out  # the whole video has no one exercise
    assert out.count("repetitions:") == 1  # the parts', not the whole video's again
