"""Movement measures of generated poses and findings against a library."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from musclemap.analysis.movement import (
    MEASURES,
    build_library,
    compare_movement,
    load_library,
    pose_measures,
)
from musclemap.demo import landmarks_from_phase


def squat_world(depth: float, seconds: float = 6.0) -> np.ndarray:
    t = np.arange(int(seconds * 10)) / 10
    world, _ = landmarks_from_phase("squat", depth * (0.5 - 0.5 * np.cos(2 * np.pi * t / 2.0)))
    return world


def test_measures_of_a_generated_squat() -> None:
    m = pose_measures(squat_world(1.0), 10.0)
    # The generated knee bends 2.0 rad (114.6 deg) from straight; the torso leans 0.6 rad.
    assert m["knee_rom"] == pytest.approx(114.6, abs=6)
    assert m["knee_min"] == pytest.approx(180 - 114.6, abs=5)
    assert m["knee_max"] == pytest.approx(180, abs=6)
    assert m["torso_incline_max"] == pytest.approx(np.degrees(0.6), abs=4)
    assert m["torso_incline_min"] == pytest.approx(0, abs=4)
    half = pose_measures(squat_world(0.5), 10.0)
    assert half["knee_rom"] == pytest.approx(57.3, abs=6)


def test_key_positions_are_the_two_photos() -> None:
    world, _ = landmarks_from_phase("squat", np.array([0.0, 1.0]), noise=0.0)
    m = pose_measures(world, 1.0, key_positions=True)
    assert m["knee_rom"] == pytest.approx(114.6, abs=0.5)
    world[1] = np.nan  # one photo without a person: no range can be measured
    assert "knee_rom" not in pose_measures(world, 1.0, key_positions=True)


def _library() -> dict:
    rng = np.random.default_rng(0)
    examples = []
    for i in range(20):
        meas = {m: 30.0 for m in MEASURES} | {"knee_rom": 100 + i, "knee_min": 60 + i}
        meas["elbow_rom"] = 5.0  # a joint the exercise does not move
        examples.append(("squat", f"clip{i}", "wild" if i < 5 else "keypose", meas))
    examples.append(("lunge", "l0", "wild", {"knee_rom": float(rng.uniform(80, 90))}))
    return build_library(examples)


def test_findings_name_value_range_and_count() -> None:
    lib = _library()
    measured = {m: 30.0 for m in MEASURES} | {"knee_rom": 48.0, "knee_min": 70.0}
    rep = compare_movement(measured, "squat", lib)
    assert (rep.examples, rep.wild_clips, rep.keypose_pairs) == (20, 5, 15)
    by = {f.measure: f for f in rep.findings}
    assert "elbow_rom" not in by  # elbow barely moves in the library's squats
    knee = by["knee_rom"]
    assert knee.position == "below" and knee.examples == 20 and knee.value_deg == 48.0
    assert (knee.library_p10_deg, knee.library_p90_deg) == pytest.approx(
        tuple(np.percentile(np.arange(100, 120), [10, 90]))
    )
    assert "48°" in knee.text and "of 20 squat examples" in knee.text
    assert by["knee_min"].position == "within"
    high = compare_movement(measured | {"knee_rom": 130.0}, "squat", lib)
    assert {f.measure: f.position for f in high.findings}["knee_rom"] == "above"


def test_too_few_examples_make_no_finding_and_leave_out_the_clip_itself() -> None:
    lib = _library()
    assert compare_movement({"knee_rom": 50.0}, "lunge", lib).findings == []
    assert compare_movement({"knee_rom": 50.0}, "deadlift", lib).note == "no library examples"
    rep = compare_movement({"knee_rom": 100.0}, "squat", lib, leave_out="clip0")
    assert rep.examples == 19 and rep.findings[0].examples == 19 and "clip0" in rep.note


def test_packaged_library() -> None:
    size = resources.files("musclemap.analysis").joinpath("movement_library.json").read_bytes()
    assert len(size) < 1_000_000
    lib = load_library()
    squat = lib["exercises"]["squat"]
    assert len(squat["ids"]) >= 10 and set(squat["measures"]) == set(MEASURES)
    assert all(len(v) == len(squat["ids"]) for v in squat["measures"].values())


def test_leave_one_out_counts_positions() -> None:
    from musclemap.analysis.movement import leave_one_out

    lib = _library()
    examples = [("squat", f"clip{i}", "wild", {"knee_rom": 100.0 + i}) for i in (0, 10, 19)]
    c = leave_one_out(examples, lib)
    # clip0 (100) is below the range of the other 19 (101-119), clip10 within, clip19 above.
    assert c == {"clips": 3, "below": 1, "within": 1, "above": 1}
