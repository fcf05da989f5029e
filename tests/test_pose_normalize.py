"""Confidence masking, gap filling, centring/scaling and the canonical 3D view."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.pose.normalize import (
    canonical_view,
    fill_gaps,
    fill_pose_gaps,
    mask_low_confidence,
    normalize_skeleton,
)
from musclemap.skeleton import COCO17, MEDIAPIPE33

L_HIP, R_HIP = MEDIAPIPE33.index("left_hip"), MEDIAPIPE33.index("right_hip")
L_SH, R_SH = MEDIAPIPE33.index("left_shoulder"), MEDIAPIPE33.index("right_shoulder")
NOSE = MEDIAPIPE33.index("nose")


def _standing_world(t: int = 4) -> np.ndarray:
    """MediaPipe world coords (x right, y down, z away) of a person facing the camera."""
    world = np.zeros((t, 33, 4), np.float32)
    world[..., 3] = 1.0
    # Facing the camera: the subject's left is on the image right (+x).
    world[:, L_HIP, :3] = (0.1, 0.0, 0.0)
    world[:, R_HIP, :3] = (-0.1, 0.0, 0.0)
    world[:, L_SH, :3] = (0.2, -0.5, 0.0)
    world[:, R_SH, :3] = (-0.2, -0.5, 0.0)
    world[:, NOSE, :3] = (0.0, -0.7, -0.1)  # nose up and nearer the camera
    return world


def test_mask_low_confidence() -> None:
    kp = np.array([[[0.1, 0.2, 0.9], [0.3, 0.4, 0.2], [0.5, 0.6, np.nan]]], np.float32)
    out = mask_low_confidence(kp, threshold=0.5)
    np.testing.assert_array_equal(out[0, 0], kp[0, 0])
    assert np.isnan(out[0, 1, :2]).all() and out[0, 1, 2] == 0
    assert np.isnan(out[0, 2, :2]).all() and out[0, 2, 2] == 0
    assert kp[0, 1, 2] == pytest.approx(0.2)  # input untouched


def test_fill_gaps_short_only() -> None:
    x = np.array([0, np.nan, np.nan, 3, np.nan, np.nan, np.nan, np.nan, 8, np.nan], np.float32)
    out = fill_gaps(x.reshape(-1, 1, 1), max_gap=3)[:, 0, 0]
    np.testing.assert_allclose(out[:4], [0, 1, 2, 3])
    assert np.isnan(out[4:8]).all()  # 4 missing > max_gap
    assert out[8] == 8 and np.isnan(out[9])  # a trailing gap is not extrapolated


def test_fill_pose_gaps_updates_valid() -> None:
    kp = np.arange(5, dtype=np.float32)[:, None, None] * np.ones((5, 2, 3), np.float32)
    valid = np.array([True, False, True, False, False])
    kp[~valid] = np.nan
    filled, new_valid = fill_pose_gaps(kp, valid, max_gap=2)
    assert new_valid.tolist() == [True, True, True, False, False]
    np.testing.assert_allclose(filled[1], 1.0)


def test_normalize_centres_and_scales() -> None:
    rng = np.random.default_rng(0)
    kp = rng.random((6, 17, 3)).astype(np.float32)
    lh, rh = COCO17.index("left_hip"), COCO17.index("right_hip")
    ls, rs = COCO17.index("left_shoulder"), COCO17.index("right_shoulder")
    kp[:, [lh, rh], 0], kp[:, [lh, rh], 1] = [[0.4, 0.6]], 0.7
    kp[:, [ls, rs], 0], kp[:, [ls, rs], 1] = [[0.4, 0.6]], 0.3
    out = normalize_skeleton(kp, COCO17)
    np.testing.assert_allclose((out[:, lh, :2] + out[:, rh, :2]) / 2, 0, atol=1e-6)
    torso = np.linalg.norm((out[:, ls, :2] + out[:, rs, :2]) / 2, axis=-1)
    np.testing.assert_allclose(torso, 1.0, rtol=1e-5)
    np.testing.assert_array_equal(out[..., 2], kp[..., 2])  # scores untouched


def test_normalize_aspect_makes_distances_isotropic() -> None:
    kp = np.zeros((1, 17, 3), np.float32)
    kp[0, COCO17.index("left_hip"), :2] = (0.6, 0.5)
    kp[0, COCO17.index("right_hip"), :2] = (0.4, 0.5)
    kp[0, COCO17.index("left_shoulder"), :2] = (0.6, 0.3)
    kp[0, COCO17.index("right_shoulder"), :2] = (0.4, 0.3)
    out = normalize_skeleton(kp, COCO17, aspect=2.0)
    hip_width = out[0, COCO17.index("left_hip"), 0] - out[0, COCO17.index("right_hip"), 0]
    assert hip_width == pytest.approx(0.2 * 2 / 0.2)  # width doubled, torso unchanged


def test_canonical_view_facing_camera_is_up_and_forward() -> None:
    out = canonical_view(_standing_world(), MEDIAPIPE33)
    assert out[0, L_SH, 1] > 0.4  # shoulders above the hips: y is up
    assert out[0, NOSE, 2] > 0.05  # the nose points forward: +z
    assert out[0, L_HIP, 0] > 0  # x points to the subject's left
    np.testing.assert_array_equal(out[..., 3], 1.0)


@pytest.mark.parametrize("yaw_deg", [30, 90, 180, -120])
def test_canonical_view_removes_yaw(yaw_deg: float) -> None:
    world = _standing_world()
    a = np.deg2rad(yaw_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    turned = world.copy()
    turned[..., :3] = world[..., :3] @ rot.T
    np.testing.assert_allclose(
        canonical_view(turned, MEDIAPIPE33), canonical_view(world, MEDIAPIPE33), atol=1e-5
    )


def test_canonical_view_keeps_lying_posture() -> None:
    # Lying on the back, head towards +x: the torso is horizontal and must stay horizontal.
    world = np.zeros((2, 33, 4), np.float32)
    world[:, L_HIP, :3] = (0.0, 0.0, -0.1)
    world[:, R_HIP, :3] = (0.0, 0.0, 0.1)
    world[:, L_SH, :3] = (0.5, 0.0, -0.2)
    world[:, R_SH, :3] = (0.5, 0.0, 0.2)
    out = canonical_view(world, MEDIAPIPE33)
    assert abs(out[0, L_SH, 1]) < 1e-6  # still level with the hips
    assert np.linalg.norm(out[0, L_SH, :3]) == pytest.approx(np.linalg.norm(world[0, L_SH, :3]))


def test_canonical_view_per_frame_and_nan_frames() -> None:
    world = _standing_world(3)
    world[1] = np.nan
    out = canonical_view(world, MEDIAPIPE33, per_frame=True)
    assert np.isnan(out[1, :, :3]).all()
    assert np.isfinite(out[[0, 2]]).all()
