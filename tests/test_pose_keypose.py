"""Key-pose features: invariances, key-pose choice, occlusion, photos vs video windows."""

from __future__ import annotations

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
