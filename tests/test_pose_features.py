"""Biomechanical features: angles on known geometry, NaN handling, shapes, windows, flips."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.demo import synthetic_landmarks
from musclemap.pose import features as feats
from musclemap.skeleton import MEDIAPIPE33


def _col(name: str) -> int:
    return feats.FRAME_FEATURE_NAMES.index(name)


def test_shapes_and_names() -> None:
    world, image = synthetic_landmarks("squat", seconds=3.0)
    frames = feats.frame_features(world, 10.0, image)
    assert frames.shape == (30, feats.NUM_FRAME_FEATURES) == (30, len(feats.FRAME_FEATURE_NAMES))
    assert np.isfinite(frames).all()
    assert feats.window_stats(frames).shape == (feats.NUM_WINDOW_FEATURES,)
    assert feats.baseline_clip_features(world, 10.0).shape == (58,)


def test_right_angle_elbow() -> None:
    world = np.zeros((1, 33, 4), np.float32)
    j = MEDIAPIPE33.index
    world[0, j("left_shoulder"), :3] = (0.0, -0.3, 0.0)
    world[0, j("left_elbow"), :3] = (0.0, 0.0, 0.0)
    world[0, j("left_wrist"), :3] = (0.3, 0.0, 0.0)
    angles = feats.joint_angles(world)
    assert angles["elbow_left"][0] == pytest.approx(0.5)  # 90 degrees in units of pi


def test_squat_moves_knees_and_curl_moves_elbows() -> None:
    squat = feats.frame_features(*_frames("squat"))
    curl = feats.frame_features(*_frames("biceps_curl"))
    knee, elbow = _col("angle_knee_left"), _col("angle_elbow_left")
    assert np.ptp(squat[:, knee]) > 0.4 and np.ptp(curl[:, knee]) < 0.05
    assert np.ptp(curl[:, elbow]) > 0.5 and np.ptp(squat[:, elbow]) < 0.1
    # Standing upright: torso tilt against gravity near 0; squat leans forward.
    assert np.abs(curl[:, _col("tilt_torso")]).max() < 0.05
    assert squat[:, _col("tilt_torso")].max() > 0.15
    # The shoulder press keeps the wrists above the hips.
    press = feats.frame_features(*_frames("shoulder_press"))
    assert (press[:, _col("height_left_wrist")] > 1.0).all()


def _frames(exercise: str) -> tuple[np.ndarray, float, np.ndarray]:
    world, image = synthetic_landmarks(exercise, seconds=5.0)
    return world, 10.0, image


def test_missing_frames_are_nan_and_ignored() -> None:
    world, image = synthetic_landmarks("squat", seconds=3.0)
    world[5:10] = np.nan
    frames = feats.frame_features(world, 10.0, image)
    assert np.isnan(frames[5:10]).all() and np.isfinite(frames[:4]).all()
    stats = feats.window_stats(frames)
    assert np.isfinite(stats).all()
    assert not feats.window_stats(np.full((8, 3), np.nan)).any()  # no person -> zeros
    joints = feats.normalized_joints(world)
    assert (joints[5:10] == 0).all() and np.isfinite(joints).all()


def test_flip_keeps_bilateral_statistics() -> None:
    world, image = synthetic_landmarks("biceps_curl", seconds=3.0)
    fw, fi = feats.flip_landmarks(world, image)
    a, b = feats.frame_features(world, 10.0, image), feats.frame_features(fw, 10.0, fi)
    np.testing.assert_allclose(
        a[:, _col("angle_elbow_left")], b[:, _col("angle_elbow_right")], atol=1e-5
    )
    np.testing.assert_allclose(a[:, _col("image_hip_vx")], -b[:, _col("image_hip_vx")], atol=1e-5)


def test_window_starts_cover_the_sequence() -> None:
    assert feats.window_starts(10, 32, 8).tolist() == [0]
    starts = feats.window_starts(50, 32, 8)
    assert starts.tolist() == [0, 8, 16, 18]
    joints = np.random.default_rng(0).random((12, 33, 4)).astype(np.float32)
    win = feats.joint_windows(joints, np.zeros(1, np.int64), 32)
    assert win.shape == (1, 32, 33, 4)
    np.testing.assert_array_equal(win[0, 12], joints[0])  # looped, not frozen


def test_bad_shape_raises() -> None:
    with pytest.raises(ValueError, match="33"):
        feats.frame_features(np.zeros((4, 17, 3)), 10.0)
