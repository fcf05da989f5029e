"""Key-pose features: invariances, key-pose choice, occlusion, photos vs video windows."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from musclemap.demo import synthetic_landmarks
from musclemap.pose import keypose
from musclemap.skeleton import MEDIAPIPE33

J = {n: i for i, n in enumerate(MEDIAPIPE33.joints)}
F = {n: i for i, n in enumerate(keypose.FEATURE_NAMES)}


def _windows(world: np.ndarray, window: int = 30, stride: int = 10) -> np.ndarray:
    _, x, _ = keypose.sequence_windows(world, np.ones(len(world), bool), window=window,
                                       stride=stride)
    return x


def _yaw(world: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    out = world.copy()
    out[..., :3] = world[..., :3] @ rot.T
    return out


def test_names_and_shapes() -> None:
    assert len(keypose.FEATURE_NAMES) == keypose.NUM_FEATURES == len(set(keypose.FEATURE_NAMES))
    world, _ = synthetic_landmarks("squat", seconds=6.0)
    x = _windows(world)
    assert x.shape == (len(keypose.window_starts(60, 30, 10)), keypose.NUM_FEATURES)
    assert np.isfinite(x).all()


@pytest.mark.parametrize("exercise", ["squat", "biceps_curl", "shoulder_press"])
def test_mirror_and_yaw_invariant(exercise: str) -> None:
    world, _ = synthetic_landmarks(exercise, seconds=5.0, seed=3)
    x = _windows(world)
    np.testing.assert_allclose(_windows(MEDIAPIPE33.flip(world)), x, atol=1e-5)
    np.testing.assert_allclose(_windows(_yaw(world, 1.1)), x, atol=1e-4)


def test_squat_moves_knees_and_hips_curl_moves_elbows() -> None:
    squat = _windows(synthetic_landmarks("squat", seconds=6.0)[0]).mean(0)
    curl = _windows(synthetic_landmarks("biceps_curl", seconds=6.0)[0]).mean(0)
    # Range of motion (units of pi): a squat bends the knees, a curl the elbows.
    assert squat[F["rom_angle_knee_max"]] > 0.3 > curl[F["rom_angle_knee_max"]]
    assert curl[F["rom_angle_elbow_max"]] > 0.3 > squat[F["rom_angle_elbow_max"]]
    assert squat[F["rom_height_hip_over_feet"]] > 0.3 > abs(curl[F["rom_height_hip_over_feet"]])


def test_key_poses_are_the_ends_of_the_movement() -> None:
    world, _ = synthetic_landmarks("squat", seconds=2.5, period_s=2.5)  # one repetition
    central, sides = keypose.frame_descriptors(world)
    lo, hi = keypose.key_pose_indices(central, sides)
    knee = sides[:, 0, keypose.SIDE_NAMES.index("angle_knee")]
    bottom, top = (lo, hi) if knee[lo].mean() < knee[hi].mean() else (hi, lo)
    assert knee[bottom].max() < np.quantile(knee, 0.25)  # knees most bent
    assert knee[top].min() > np.quantile(knee, 0.75)  # standing


def test_two_photos_give_the_pair_of_their_poses_in_any_order() -> None:
    world, _ = synthetic_landmarks("biceps_curl", seconds=2.0, period_s=2.0)
    pair = world[[0, 10]]  # arm down, arm up
    x = _windows(pair)
    assert x.shape == (1, keypose.NUM_FEATURES)
    np.testing.assert_allclose(_windows(pair[::-1]), x, atol=1e-6)
    assert x[0, F["rom_angle_elbow_max"]] > 0.4


def test_occluded_side_is_taken_from_the_other_and_all_hidden_is_nan() -> None:
    world, _ = synthetic_landmarks("squat", seconds=4.0)
    hidden = world.copy()
    for j in ("knee", "ankle", "heel", "foot_index"):
        hidden[:, J[f"right_{j}"], 3] = 0.1  # behind the plates
    x, xh = _windows(world), _windows(hidden)
    assert np.isfinite(xh[:, F["rom_angle_knee_max"]]).all()
    np.testing.assert_allclose(xh[:, F["rom_angle_knee_max"]], x[:, F["rom_angle_knee_max"]],
                               atol=0.05)
    assert (xh[:, F["pose_angle_knee_asym"]] == 0).all()
    both = hidden.copy()
    for j in ("knee", "ankle", "heel", "foot_index"):
        both[:, J[f"left_{j}"], 3] = 0.1
    xb = _windows(both)
    assert np.isnan(xb[:, F["rom_angle_knee_max"]]).all()
    assert np.isfinite(xb[:, F["rom_angle_elbow_max"]]).all()


def test_frames_without_person_are_skipped_and_empty_windows_are_nan() -> None:
    world, _ = synthetic_landmarks("squat", seconds=4.0)
    world[:15] = np.nan
    valid = np.isfinite(world[..., 0]).all(1)
    starts, x, cover = keypose.sequence_windows(world, valid, window=10, stride=10)
    assert starts.tolist() == [0, 10, 20, 30]
    assert cover.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert np.isnan(x[0]).all() and np.isfinite(x[1:]).all()


def test_bad_shape_raises() -> None:
    with pytest.raises(ValueError, match="world landmarks"):
        keypose.frame_descriptors(np.zeros((5, 17, 3)))


def test_window_starts_cover_the_sequence() -> None:
    assert keypose.window_starts(10, 32, 8).tolist() == [0]  # short: one window (photo pairs)
    assert keypose.window_starts(50, 32, 8).tolist() == [0, 8, 16, 18]  # the last ends at 50
    assert keypose.window_starts(48, 32, 8).tolist() == [0, 8, 16]


def test_signal_spans_are_the_range_of_each_signal_and_of_a_photo_pair() -> None:
    t = 20
    x = np.stack([np.arange(t, dtype=float), np.full(t, 2.0), np.full(t, np.nan)], axis=1)
    x[5, 1] = np.nan
    k = max(1, round(keypose.EXTREME_FRACTION * t))
    span = keypose.signal_spans(x)
    assert span[0] == pytest.approx((t - 1) - (k - 1))  # mean of the top k minus the bottom k
    assert span[1] == 0.0 and np.isnan(span[2])
    np.testing.assert_allclose(keypose.signal_spans(np.array([[0.3, 1.0], [0.8, 0.5]])),
                               [0.5, 0.5])


def test_velocity_direction_says_which_way_is_fast() -> None:
    slow_up_fast_down = np.tile(np.r_[np.linspace(0, 1, 9), np.linspace(1, 0, 4)[1:-1]], 4)
    v = keypose.velocity_direction(np.stack([slow_up_fast_down, slow_up_fast_down[::-1] * -1,
                                             np.zeros(len(slow_up_fast_down))], 1))
    assert v[0] < -0.1 and v[1] < -0.1  # falls faster than it rises (a pushdown's hands)
    assert keypose.velocity_direction(-slow_up_fast_down[:, None])[0] > 0.1  # a curl's hands
    assert v[2] == 0.0  # no movement
    assert np.isnan(keypose.velocity_direction(np.zeros((3, 1)))).all()  # too short


def _twisting(world: np.ndarray, amplitude: float) -> np.ndarray:
    """The upper body turned about the vertical axis through the hips, back and forth."""
    out = world.copy()
    upper = [i for i, n in enumerate(MEDIAPIPE33.joints)
             if not any(k in n for k in ("hip", "knee", "ankle", "heel", "foot"))]
    hip = 0.5 * (world[:, J["left_hip"], :3] + world[:, J["right_hip"], :3])
    for f in range(len(world)):
        a = amplitude * np.sin(2 * np.pi * f / 20)
        c, s = np.cos(a), np.sin(a)
        rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
        out[f, upper, :3] = (world[f, upper, :3] - hip[f]) @ rot.T + hip[f]
    return out


def test_twist_is_measured_and_mirror_invariant() -> None:
    press, _ = synthetic_landmarks("shoulder_press", seconds=4.0, period_s=2.0)
    world = np.repeat(press[:1], len(press), axis=0)  # standing still, then turning
    twist = _windows(_twisting(world, np.deg2rad(30)))
    assert _windows(world)[:, F["rom_twist"]].max() < 0.01
    assert twist[:, F["rom_twist"]].min() > 0.25  # about 60 degrees end to end (0.33 pi)
    # Turning while pressing: the key poses follow the press, the twist's own span still shows.
    assert _windows(_twisting(press, np.deg2rad(30)))[:, F["span_twist"]].min() > 0.2
    np.testing.assert_allclose(_windows(MEDIAPIPE33.flip(_twisting(world, np.deg2rad(30)))),
                               twist, atol=1e-5)
    assert twist[:, F["pose_twist"]].max() < 0.05  # turning both ways: no lasting twist


def test_heights_over_the_ground_and_the_photo_flag() -> None:
    world, _ = synthetic_landmarks("squat", seconds=4.0)
    central, sides = keypose.frame_descriptors(world)
    hip = central[:, keypose.CENTRAL_NAMES.index("ground_hip")]
    feet = central[:, keypose.CENTRAL_NAMES.index("height_hip_over_feet")]
    np.testing.assert_allclose(hip, feet, atol=0.05)  # standing: the feet are the lowest point
    wrist = sides[:, :, keypose.SIDE_NAMES.index("ground_wrist")]
    assert (wrist > 0.5).all()  # hands off the floor
    names = keypose.FEATURE_NAMES + keypose.MOTION_NAMES
    _, video, _ = keypose.sequence_windows(world, np.ones(len(world), bool), window=30,
                                           stride=10, motion=True)
    _, photos, _ = keypose.sequence_windows(world[[0, 12]], np.ones(2, bool), window=30,
                                            stride=10, motion=True)
    assert (video[:, names.index("still")] == 0).all() and photos[0, names.index("still")] == 1


def test_tempo_says_which_way_a_joint_moves_fast_and_where_it_dwells() -> None:
    names = keypose.TEMPO_NAMES
    assert len(names) == 24 and keypose.num_features(True, True) == (
        keypose.NUM_FEATURES + len(keypose.MOTION_NAMES) + 24)
    # The elbow opens slowly (8 frames) and closes fast (3), then holds closed (dwells low).
    cycle = np.r_[np.linspace(0.3, 0.9, 9), np.linspace(0.9, 0.3, 4)[1:-1], np.full(4, 0.3)]
    sides = np.zeros((45, 2, len(keypose.SIDE_NAMES)))
    sides[:, :, keypose.SIDE_NAMES.index("angle_elbow")] = np.tile(cycle, 3)[:45, None]
    t = dict(zip(names, keypose.tempo_features(sides), strict=True))
    assert t["tempo_angle_elbow_vdir"] < -0.2  # falls faster than it rises
    assert t["tempo_angle_elbow_rising"] > 0.1  # most moving frames open the elbow
    assert t["tempo_angle_elbow_dwell"] < -0.05  # held near the bottom of its range
    assert all(v == 0.0 for k, v in t.items() if "elbow" not in k)  # still joints: 0
    # One side missing: the other side's tempo; mirrored: the same.
    one = sides.copy()
    one[:, 1] = np.nan
    np.testing.assert_allclose(keypose.tempo_features(one), keypose.tempo_features(sides))
    np.testing.assert_array_equal(keypose.tempo_features(sides[:, ::-1]),
                                  keypose.tempo_features(sides))
    # Two photos have no tempo: 0 (neutral), after the motion features' `still` 1.
    world, _ = synthetic_landmarks("biceps_curl", seconds=4.0)
    _, photos, _ = keypose.sequence_windows(world[[0, 12]], np.ones(2, bool), window=30,
                                            stride=10, motion=True, tempo=True)
    _, video, _ = keypose.sequence_windows(world, np.ones(len(world), bool), window=30,
                                           stride=10, motion=True, tempo=True)
    assert photos.shape == (1, keypose.num_features(True, True))
    assert (photos[0, -24:] == 0).all() and photos[0, -25] == 1.0
    elbow = keypose.NUM_FEATURES + len(keypose.MOTION_NAMES) + names.index(
        "tempo_angle_elbow_vdir")
    assert (video[:, elbow] != 0).all()


def test_still_range_fades_the_direction_of_a_joint_that_hardly_moves() -> None:
    # A joint that holds still: its direction and tempo statistics are the estimator's noise
    # (they do not scale with the range); faded, they are near 0.
    rng = np.random.default_rng(0)
    cycle = np.r_[np.linspace(0.3, 0.9, 9), np.linspace(0.9, 0.3, 4)[1:-1], np.full(4, 0.3)]
    sides = np.zeros((30, 2, len(keypose.SIDE_NAMES)))
    sides[:, :, keypose.SIDE_NAMES.index("angle_elbow")] = np.tile(cycle, 2)[:30, None]
    sides[:, :, keypose.SIDE_NAMES.index("angle_knee")] = 0.8 + rng.normal(0, 0.005, (30, 2))
    names = list(keypose.TEMPO_NAMES)
    knee = [names.index(f"tempo_angle_knee_{s}") for s in ("vdir", "rising", "dwell",
                                                            "speed_corr")]
    noise = np.abs(keypose.tempo_features(sides)[knee]).max()
    assert noise > 0.03  # about 1 degree of noise: statistics as large as a movement's
    assert np.abs(keypose.tempo_features(sides, still_range=0.1)[knee]).max() < 0.02 * noise
    # A real movement keeps its statistics: the elbow's 0.6 pi range loses a few percent.
    full, kept = keypose.tempo_features(sides), keypose.tempo_features(sides, still_range=0.1)
    elbow = [i for i, n in enumerate(names) if "elbow" in n]
    assert np.all((kept[elbow] / full[elbow] > 0.9) & (kept[elbow] / full[elbow] <= 1.0))
    # The velocity direction of a height that hardly moves fades the same way.
    h = np.stack([np.tile(cycle, 2)[:30], 0.5 + rng.normal(0, 0.005, 30)], 1)
    v, vf = keypose.velocity_direction(h), keypose.velocity_direction(h, still_range=0.1)
    assert abs(vf[1]) < 0.02 * abs(v[1]) and 0.9 < vf[0] / v[0] <= 1.0
    assert keypose.still_gain(np.zeros(5), 0.0) == 1.0  # 0: not faded (models before v8)


# The one-signal loops `tempo_features` and `velocity_direction` were before they ran on whole
# groups of signals (session 9): the features the model was trained on, kept here as the
# reference the grouped code must equal bit for bit.
def _reference_signal_tempo(a: np.ndarray, still_range: float) -> list[float]:
    if len(a) < keypose.TEMPO_MIN_FRAMES:
        return [np.nan] * 4
    a = np.convolve(a, np.ones(3) / 3, mode="valid")
    v = np.diff(a)
    moving = np.abs(v) > 0.1 * max(float(np.abs(v).max()), 1e-12)
    energy = float(np.sum(v * v))
    if energy < 1e-10 or moving.sum() < 2:
        return [0.0] * 4
    lo, hi = np.percentile(a, 10), np.percentile(a, 90)
    dwell = np.clip((a - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    mid, speed = 0.5 * (a[1:] + a[:-1]), np.abs(v)
    corr = (float(np.corrcoef(speed, mid)[0, 1])
            if np.std(mid) > 1e-9 and np.std(speed) > 1e-9 else 0.0)
    g = keypose.still_gain(a, still_range)
    return [g * float(np.sum(v * speed)) / energy, g * float(np.mean(v[moving] > 0) - 0.5),
            g * float(dwell.mean() - 0.5), g * corr]


def _reference_tempo(sides: np.ndarray, still_range: float) -> np.ndarray:
    out = []
    for j in [keypose.SIDE_NAMES.index(n) for n in keypose._TEMPO_SIGNALS]:
        per = [_reference_signal_tempo(sides[np.isfinite(sides[:, k, j]), k, j], still_range)
               for k in range(2)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # both sides NaN: 0 below
            out.append(np.nan_to_num(np.nanmean(np.array(per, dtype=np.float64), axis=0)))
    return np.concatenate(out).astype(np.float32)


def _reference_velocity_direction(h: np.ndarray, still_range: float) -> np.ndarray:
    out = np.full(h.shape[1], np.nan)
    for d in range(h.shape[1]):
        x = h[np.isfinite(h[:, d]), d]
        if len(x) < keypose.MIN_MOTION_FRAMES + 2:
            continue
        a = np.convolve(x, np.ones(3) / 3, mode="valid")
        v = np.diff(a)
        e = float(np.sum(v * v))
        out[d] = (float(np.sum(v * np.abs(v))) / e if e > 1e-12 else 0.0) * keypose.still_gain(
            a, still_range)
    return out


def _ragged_sides(rng: np.random.Generator, frames: int) -> np.ndarray:
    """Side descriptors `(frames, 2, D)` as a tracker gives them: drifting signals of any
    scale, some with gaps, plateaus (ties in the percentiles) or a side that holds still."""
    sides = rng.normal(size=(frames, 2, len(keypose.SIDE_NAMES))).cumsum(0)
    sides *= rng.uniform(1e-7, 3.0, size=(1, 1, len(keypose.SIDE_NAMES)))
    kind = rng.integers(4)
    if kind == 1:
        sides[rng.random(sides.shape) < rng.uniform(0.05, 0.6)] = np.nan
    elif kind == 2:
        sides = np.round(sides, 1)
    elif kind == 3:
        sides[:, 0] = 0.3
    return sides


@pytest.mark.parametrize("still_range", [0.0, 0.05])
def test_grouped_tempo_and_direction_equal_the_one_signal_loops(still_range: float) -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        sides = _ragged_sides(rng, int(rng.integers(1, 45)))
        np.testing.assert_array_equal(keypose.tempo_features(sides, still_range),
                                      _reference_tempo(sides, still_range))
        h = sides[:, 0, :6]
        np.testing.assert_array_equal(keypose.velocity_direction(h, still_range),
                                      _reference_velocity_direction(h, still_range))


def test_row_percentiles_equal_numpys() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 11, 28, 31):
        a = np.round(rng.normal(size=(50, n)), int(rng.integers(1, 4)))
        lo, hi = keypose._range_10_90(a)
        np.testing.assert_array_equal(lo, [np.percentile(r, 10) for r in a])
        np.testing.assert_array_equal(hi, [np.percentile(r, 90) for r in a])
