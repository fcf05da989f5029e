"""Repetition counting on generated pose sequences with known counts, tempos, depths, pauses,
partial repetitions, noise and gaps; and the mean absolute error on the hand-counted wild clips."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from musclemap.analysis.reps import count_reps
from musclemap.demo import landmarks_from_phase

FPS = 10.0
# Joint angle (degrees) = 180 - slope * phase in the generated figure (demo._motion): the knee
# bends 2.0 rad, the hip 1.5 rad plus a 0.6 rad forward lean, the elbow 2.3 rad.
SLOPE = {"knee": np.degrees(2.0), "hip": np.degrees(2.1), "elbow": np.degrees(2.3)}
WILD_REPS = Path(__file__).parent / "data" / "wild_reps.csv"


def ramp(a: float, b: float, seconds: float) -> np.ndarray:
    """A cosine-eased move from phase a to b over `seconds`."""
    n = max(1, int(round(seconds * FPS)))
    return a + (b - a) * (0.5 - 0.5 * np.cos(np.pi * np.arange(1, n + 1) / n))


def track(
    reps: list[tuple[float, float, float, float, float]], *, start: float = 0.0
) -> np.ndarray:
    """Phase per frame from (rest_s, down_s, hold_s, up_s, depth) per repetition."""
    parts, now = [np.full(1, start)], start
    for rest, down, hold, up, depth in reps:
        parts += [np.full(int(rest * FPS), now), ramp(now, depth, down)]
        parts += [np.full(int(hold * FPS), depth), ramp(depth, 0.0, up)]
        now = 0.0
    parts.append(np.full(int(0.8 * FPS), now))
    return np.concatenate(parts)


def run(exercise: str, phase: np.ndarray, *, noise: float = 0.006, seed: int = 0, **kw):
    world, _ = landmarks_from_phase(exercise, phase, noise=noise, seed=seed, **kw)
    valid = np.ones(len(world), bool)
    return count_reps(world, valid, np.arange(len(world)) / FPS, FPS)


def expected_rom(result, depth: float) -> float:
    return SLOPE[result.joint] * depth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_squats_with_pauses_and_tempos(seed: int) -> None:
    rng = np.random.default_rng(seed)
    plan = [
        (
            rng.uniform(0.3, 2.0),
            rng.uniform(0.6, 2.0),
            rng.uniform(0, 1.0),
            rng.uniform(0.6, 2),
            1.0,
        )
        for _ in range(5)
    ]
    res = run("squat", track(plan), seed=seed)
    assert res.kind == "reps" and res.count == 5
    assert res.joint in ("knee", "hip") and res.side == "both"
    for rep, (_rest, down, hold, up, _) in zip(res.reps, plan, strict=True):
        assert rep.rom_deg == pytest.approx(expected_rom(res, 1.0), abs=6.0)
        # Pauses at rest are not part of a repetition, the bottom pause is; a repetition starts
        # and ends 10% of its height away from rest (20.5% into a cosine-eased move).
        assert rep.duration_s == pytest.approx(0.795 * (down + up) + hold, abs=0.35)


def test_fast_and_slow_tempo() -> None:
    fast = run("squat", track([(0.2, 0.5, 0.0, 0.5, 1.0)] * 8))
    slow = run("squat", track([(1.0, 3.0, 1.0, 3.0, 1.0)] * 3))
    assert (fast.count, slow.count) == (8, 3)


def test_partial_rep_counts_with_its_depth_a_twitch_does_not() -> None:
    plan = [(1.0, 1.0, 0.2, 1.0, d) for d in (1.0, 0.6, 1.0, 0.15, 1.0)]
    res = run("squat", track(plan))
    assert res.count == 4
    roms = [r.rom_deg for r in res.reps]
    want = [expected_rom(res, d) for d in (1.0, 0.6, 1.0, 1.0)]
    np.testing.assert_allclose(roms, want, atol=6.0)


def test_start_in_turning_point_not_counted_end_in_one_counted() -> None:
    # Starts at the bottom, stands up, two full squats, ends at the bottom of a third.
    phase = np.concatenate(
        [np.full(5, 1.0), ramp(1.0, 0.0, 1.0), track([(1.0, 1.0, 0.3, 1.0, 1.0)] * 2)[1:],
         ramp(0.0, 1.0, 1.0), np.full(3, 1.0)]
    )  # fmt: skip
    res = run("squat", phase)
    assert res.count == 3
    assert res.reps[-1].turn_s > (len(phase) - 10) / FPS


def test_clip_starting_at_the_top_of_a_curl() -> None:
    phase = np.concatenate(
        [np.full(3, 1.0), ramp(1.0, 0.0, 1.0), track([(0.5, 1.0, 0.2, 1.0, 1.0)] * 3)]
    )
    res = run("biceps_curl", phase)
    assert res.joint == "elbow" and res.count == 3
    assert res.reps[0].rom_deg == pytest.approx(SLOPE["elbow"], abs=8.0)


def test_alternating_curls_count_each_arm() -> None:
    one = track([(0.2, 0.9, 0.2, 0.9, 1.0)] * 3)
    n = len(one) + 11
    left = np.concatenate([one, np.zeros(n - len(one))])
    right = np.concatenate([np.zeros(n - len(one)), one])  # 1.1 s later
    res = run("biceps_curl", left, phase_right=right)
    assert res.side == "alternating" and res.count == 6
    assert [r.side for r in res.reps][:2] == ["left", "right"]


def test_noise_and_missing_frames() -> None:
    phase = track([(0.8, 1.0, 0.5, 1.0, 1.0)] * 4)
    world, _ = landmarks_from_phase("squat", phase, noise=0.015, seed=3)
    valid = np.ones(len(world), bool)
    valid[np.random.default_rng(0).choice(len(world), len(world) // 8, replace=False)] = False
    valid[20:26] = False  # a 0.6 s dropout
    world[~valid] = np.nan
    res = count_reps(world, valid, np.arange(len(world)) / FPS, FPS)
    assert res.count == 4


def test_isometric_hold_reports_time() -> None:
    # 1.5 s getting into position, then 8 s still (estimator jitter only).
    phase = np.concatenate([ramp(0.0, 0.5, 1.5), np.full(80, 0.5)])
    world, _ = landmarks_from_phase("squat", phase, noise=0.004)
    valid = np.ones(len(world), bool)
    times = np.arange(len(world)) / FPS
    res = count_reps(world, valid, times, FPS, static=True)
    assert res.kind == "hold" and res.count == 0 and res.reps == []
    assert res.hold_s == pytest.approx(8.0, abs=0.5)
    assert res.hold_start_s == pytest.approx(1.5, abs=0.5)
    still = count_reps(world[20:], valid[20:], times[20:], FPS)  # unknown exercise, still: a hold
    assert still.kind == "hold" and still.count == 0
    named = count_reps(world[20:], valid[20:], times[20:], FPS, static=False)  # e.g. a squat
    assert (named.kind, named.count) == ("reps", 0) and named.hold_s == pytest.approx(8.0, abs=0.5)


def test_per_rep_muscles_average_the_overlapping_windows() -> None:
    phase = track([(1.0, 1.0, 0.0, 1.0, 1.0)] * 2)
    world, _ = landmarks_from_phase("squat", phase)
    times = np.arange(len(world)) / FPS
    timeline = [
        {"start_s": s, "end_s": s + 2.0, "muscles": {"quadriceps": q}}
        for s, q in ((0.0, 0.2), (2.0, 0.4), (4.0, 0.8), (6.0, 0.6))
    ]
    res = count_reps(world, np.ones(len(world), bool), times, FPS, timeline=timeline)
    for rep in res.reps:
        hits = [w["muscles"]["quadriceps"] for w in timeline
                if w["start_s"] < rep.end_s and w["end_s"] > rep.start_s]  # fmt: skip
        assert rep.muscles["quadriceps"] == pytest.approx(np.mean(hits))
    out = res.to_dict()
    assert out["count"] == 2 and set(out["reps"][0]) >= {"start_s", "end_s", "rom_deg", "muscles"}


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

    from musclemap.analysis.reps_eval import evaluate, mean_absolute_error

    dirs = [Path(p) for p in os.environ.get("MUSCLEMAP_WILD_POSES", "").split(os.pathsep) if p]
    if not dirs:
        pytest.importorskip("mediapipe", reason="extracting the clips' poses needs MediaPipe")
        from musclemap.data.pose_sequence import save_pose_file
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


def test_tiny_and_empty_sequences_do_not_fail() -> None:
    empty = np.full((30, 33, 4), np.nan, np.float32)
    res = count_reps(empty, np.zeros(30, bool), np.arange(30) / FPS, FPS)
    assert (res.kind, res.count, res.hold_s, res.hold_start_s) == ("hold", 0, 0.0, None)
    world, _ = landmarks_from_phase("squat", np.zeros(1))
    assert count_reps(world, np.ones(1, bool), np.zeros(1), FPS).count == 0


def random_set(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """A random set: 1-8 repetitions of a squat, curl or press; a fifth of them partial (50-80%
    depth); pauses 0.2-2 s, tempos 0.5-2 s, bottom holds up to 1 s; 3-15 mm landmark noise; a
    tenth of the frames missing. Returns world, valid and the true count."""
    rng = np.random.default_rng(seed)
    exercise = ("squat", "biceps_curl", "shoulder_press")[seed % 3]
    n = int(rng.integers(1, 9))
    depths = np.where(rng.random(n) < 0.2, rng.uniform(0.5, 0.8, n), 1.0)
    plan = [
        (rng.uniform(0.2, 2), rng.uniform(0.5, 2), rng.uniform(0, 1), rng.uniform(0.5, 2), d)
        for d in depths
    ]
    world, _ = landmarks_from_phase(
        exercise, track(plan), noise=rng.uniform(0.003, 0.015), seed=seed
    )
    valid = np.ones(len(world), bool)
    valid[rng.choice(len(world), len(world) // 10, replace=False)] = False
    world[~valid] = np.nan
    return world, valid, n


@pytest.mark.parametrize("seed", range(30))
def test_random_sets_are_counted_exactly(seed: int) -> None:
    world, valid, n = random_set(seed)
    assert count_reps(world, valid, np.arange(len(world)) / FPS, FPS).count == n


def test_smoothing_and_peaks_match_scipy() -> None:
    """The numpy smoothing and peak finding give scipy's results (plateaus and ties included)."""
    ndimage = pytest.importorskip("scipy.ndimage")
    signal = pytest.importorskip("scipy.signal")
    from musclemap.analysis.reps import find_peaks, gaussian_smooth

    rng = np.random.default_rng(0)
    for t in range(400):
        x = rng.normal(size=int(rng.integers(3, 150))).cumsum()
        if t % 3 == 0:
            x = np.round(x)  # flat tops and equal heights
        sigma = float(rng.uniform(0.3, 3.0))
        np.testing.assert_allclose(
            gaussian_smooth(x, sigma),
            ndimage.gaussian_filter1d(x, sigma, mode="nearest"),
            atol=1e-12,
        )
        dist, prom = int(rng.integers(1, 10)), float(rng.uniform(0, 3))
        want, _ = signal.find_peaks(x, prominence=prom, distance=dist)
        np.testing.assert_array_equal(find_peaks(x, prominence=prom, distance=dist), want)
