"""Clip biomechanics: joint angles on known geometry, the 58 baseline features' values."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.demo import synthetic_landmarks
from musclemap.pose import features as feats
from musclemap.skeleton import MEDIAPIPE33


def test_right_angle_elbow() -> None:
    world = np.zeros((1, 33, 4), np.float32)
    j = MEDIAPIPE33.index
    world[0, j("left_shoulder"), :3] = (0.0, -0.3, 0.0)
    world[0, j("left_elbow"), :3] = (0.0, 0.0, 0.0)
    world[0, j("left_wrist"), :3] = (0.3, 0.0, 0.0)
    angles = feats.joint_angles(world)
    assert angles["elbow_left"][0] == pytest.approx(0.5)  # 90 degrees in units of pi
    assert len(angles) == 12


def test_squat_moves_knees_and_curl_moves_elbows() -> None:
    squat = feats.joint_angles(synthetic_landmarks("squat", seconds=5.0)[0])
    curl = feats.joint_angles(synthetic_landmarks("biceps_curl", seconds=5.0)[0])
    assert np.ptp(squat["knee_left"]) > 0.4 and np.ptp(curl["knee_left"]) < 0.05
    assert np.ptp(curl["elbow_left"]) > 0.5 and np.ptp(squat["elbow_left"]) < 0.1


def test_baseline_features_of_a_still_upright_pose() -> None:
    """Columns: 13 signals x (mean, std, p5, p95), then 6 joint speeds."""
    world, _ = synthetic_landmarks("biceps_curl", seconds=3.0)
    still = np.repeat(world[:1], 20, axis=0)
    f = feats.baseline_clip_features(still, 10.0)
    assert f.shape == (feats.NUM_BASELINE_FEATURES,) == (58,)
    angles = feats.joint_angles(still)
    assert f[6] == pytest.approx(angles["knee_left"][0], abs=1e-6)  # mean of signal 6
    np.testing.assert_allclose(f[13:26], 0.0, atol=1e-6)  # no spread in a still pose
    np.testing.assert_allclose(f[:13], f[26:39], atol=1e-6)  # p5 == mean
    assert f[10] < 0.05  # torso tilt against gravity: upright
    assert f[11] < 0 and f[12] < f[11]  # wrists below the hips, ankles lower still (y down)
    np.testing.assert_array_equal(f[52:], 0.0)  # no joint moves


def test_baseline_speeds_follow_the_motion_and_missing_frames_are_ignored() -> None:
    world, _ = synthetic_landmarks("biceps_curl", seconds=3.0)
    f = feats.baseline_clip_features(world, 10.0)
    squat = feats.baseline_clip_features(synthetic_landmarks("squat", seconds=3.0)[0], 10.0)
    # Speeds (m/s; the generator adds landmark jitter of ~0.1 m/s): a curl moves the wrists,
    # a squat the knees.
    assert f[52] > 4 * f[56] and squat[56] > 4 * f[56]
    gappy = world.copy()
    gappy[5:8] = np.nan
    g = feats.baseline_clip_features(gappy, 10.0)
    assert np.isfinite(g).all() and g[52] > 0.1
    assert not feats.baseline_clip_features(np.full((8, 33, 4), np.nan), 10.0).any()
