"""Skeleton augmentations: pure, seeded, keep missing joints at zero, respect the layout."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.data.skeleton_transforms import (
    between,
    cosine_profile,
    crop_and_resample,
    fill_missing,
    hide_limb,
    joint_dropout,
    movement_profile,
    normalize_skeleton,
    pair_video,
    random_flip,
    random_pitch,
    random_rotation,
    random_scale,
    random_shear,
    rotation_matrix,
)
from musclemap.skeleton import COCO17, MEDIAPIPE33, NTU25


def _clip(t: int = 10, v: int = 17, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kp = rng.normal(size=(t, v, 3)).astype(np.float32)
    kp[..., 2] = 1.0  # score
    return kp


def test_fill_missing_zeroes_nan_joints_and_scores() -> None:
    kp = _clip()
    kp[2, 5, :2] = np.nan
    kp[3] = np.nan
    out = fill_missing(kp, has_score=True)
    assert np.isfinite(out).all()
    assert (out[2, 5] == 0).all() and (out[3] == 0).all()
    assert out[2, 4, 2] == 1.0


def test_normalize_centres_on_hips_and_scales_torso() -> None:
    kp = np.zeros((4, 17, 3), np.float32)
    kp[..., 2] = 1.0
    lh, rh = COCO17.index("left_hip"), COCO17.index("right_hip")
    ls, rs = COCO17.index("left_shoulder"), COCO17.index("right_shoulder")
    kp[:, lh, :2], kp[:, rh, :2] = (110, 200), (90, 200)
    kp[:, ls, :2], kp[:, rs, :2] = (110, 100), (90, 100)
    kp[:, 0, 2] = 0.0  # nose missing: must stay at the origin with score 0
    out = normalize_skeleton(kp, COCO17, ncoord=2, has_score=True)
    np.testing.assert_allclose(out[:, [lh, rh], :2].mean(1), 0.0, atol=1e-6)
    np.testing.assert_allclose(out[:, [ls, rs], 1].mean(1), -1.0, atol=1e-6)
    assert (out[:, 0] == 0).all()


def test_normalize_3d_without_score() -> None:
    kp = _clip(v=25)[..., :3] + 5.0
    out = normalize_skeleton(kp, NTU25, ncoord=3, has_score=False)
    assert np.isfinite(out).all() and abs(out.mean()) < abs(kp.mean())


def test_rotation_preserves_lengths_and_scores() -> None:
    kp = _clip()
    rng = np.random.default_rng(1)
    out = random_rotation(kp, rng, ncoord=2, max_angle=1.0)
    np.testing.assert_allclose(
        np.linalg.norm(out[..., :2], axis=-1), np.linalg.norm(kp[..., :2], axis=-1), rtol=1e-5
    )
    assert (out[..., 2] == kp[..., 2]).all()
    r3 = rotation_matrix(np.array([0.1, 0.2, 0.3]))
    np.testing.assert_allclose(r3 @ r3.T, np.eye(3), atol=1e-12)


def test_transforms_are_seeded_and_keep_zeros() -> None:
    kp = _clip()
    kp[:, 3] = 0.0  # a missing joint
    for fn in (random_rotation, random_scale, random_shear):
        a = fn(kp, np.random.default_rng(7), ncoord=2)
        b = fn(kp, np.random.default_rng(7), ncoord=2)
        np.testing.assert_array_equal(a, b)
        assert (a[:, 3] == 0).all()
        assert not np.array_equal(a, kp)


def test_joint_dropout_drops_whole_joints() -> None:
    out = joint_dropout(_clip(), np.random.default_rng(0), p=0.5)
    dropped = (out == 0).all(axis=(0, 2))
    assert 0 < dropped.sum() < 17


def test_flip_swaps_pairs_and_negates_x() -> None:
    kp = _clip()
    out = random_flip(kp, COCO17, np.random.default_rng(0), p=1.0)
    ls, rs = COCO17.index("left_shoulder"), COCO17.index("right_shoulder")
    np.testing.assert_allclose(out[:, ls, 0], -kp[:, rs, 0])
    np.testing.assert_allclose(out[:, ls, 1], kp[:, rs, 1])
    np.testing.assert_array_equal(random_flip(kp, COCO17, np.random.default_rng(0), p=0.0), kp)


def test_crop_and_resample() -> None:
    kp = np.zeros((20, 2, 3), np.float32)
    kp[:, 0, 0] = np.arange(20)
    kp[:, :, 2] = 1.0
    kp[:3] = 0.0  # no person in the first frames
    valid = np.ones(20, bool)
    valid[:3] = False
    full = crop_and_resample(kp, 35, None, valid=valid)
    assert full.shape == (35, 2, 3)
    np.testing.assert_allclose(full[[0, -1], 0, 0], [3, 19])
    assert np.all(np.diff(full[:, 0, 0]) > 0)
    crop = crop_and_resample(kp, 8, np.random.default_rng(0), valid=valid, p_interval=(0.5, 0.5))
    assert crop.shape == (8, 2, 3)
    assert crop[-1, 0, 0] - crop[0, 0, 0] == pytest.approx(8 - 1, abs=1)  # half of 17 frames
    assert crop_and_resample(kp, 5, None, valid=np.zeros(20, bool)).sum() == 0


def test_layouts_by_name_equal_layouts_by_object() -> None:
    kp = np.random.default_rng(0).normal(size=(6, COCO17.num_joints, 3)).astype(np.float32)
    by_obj = normalize_skeleton(kp, COCO17, ncoord=2, has_score=True)
    np.testing.assert_array_equal(
        normalize_skeleton(kp, "coco17", ncoord=2, has_score=True), by_obj
    )
    np.testing.assert_array_equal(
        random_flip(by_obj, "coco17", np.random.default_rng(1), p=1.0),
        random_flip(by_obj, COCO17, np.random.default_rng(1), p=1.0),
    )


def test_pitch_rotates_about_x_only() -> None:
    kp = np.random.default_rng(0).normal(size=(5, 33, 4)).astype(np.float32)
    out = random_pitch(kp, np.random.default_rng(3), max_deg=20.0)
    angle = np.deg2rad(np.random.default_rng(3).uniform(-20.0, 20.0))
    np.testing.assert_array_equal(out[..., 0], kp[..., 0])  # x and visibility untouched
    np.testing.assert_array_equal(out[..., 3], kp[..., 3])
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    np.testing.assert_allclose(out[..., 1], c * kp[..., 1] - s * kp[..., 2], rtol=1e-6)
    np.testing.assert_allclose(out[..., 2], s * kp[..., 1] + c * kp[..., 2], rtol=1e-6)


def test_hide_limb_zeroes_one_limbs_scores() -> None:
    kp = np.ones((3, 33, 4), np.float32)
    limbs = [("elbow", "wrist")]
    out = hide_limb(kp, MEDIAPIPE33, np.random.default_rng(0), limbs, ncoord=3, p=1.0)
    hidden = np.flatnonzero(out[0, :, 3] == 0)
    names = {MEDIAPIPE33.joints[i] for i in hidden}
    assert names in ({"left_elbow", "left_wrist"}, {"right_elbow", "right_wrist"})
    assert (out[..., :3] == 1).all() and (out[:, hidden, 3] == 0).all()
    never = hide_limb(kp, MEDIAPIPE33, np.random.default_rng(0), limbs, ncoord=3, p=0.0)
    np.testing.assert_array_equal(never, kp)
    no_score = hide_limb(kp[..., :3], MEDIAPIPE33, np.random.default_rng(0), limbs, ncoord=3,
                         p=1.0)
    np.testing.assert_array_equal(no_score, kp[..., :3])


def test_movement_profile_goes_back_and_forth_between_0_and_1() -> None:
    rng = np.random.default_rng(0)
    u = movement_profile(rng, frames=100, fps=10.0, period_s=(2.0, 2.0))
    assert u.shape == (100,) and u.min() >= 0.0 and u.max() <= 1.0
    # period 2 s at 10 fps: the same value every 20 frames, and both ends are reached
    np.testing.assert_allclose(u[20:], u[:-20], atol=1e-12)
    assert u.min() < 0.03 and u.max() > 0.97
    phase = np.arccos(1.0 - 2.0 * u[0])  # u(0) = (1 - cos(phase)) / 2
    assert 0.0 <= phase <= np.pi
    again = movement_profile(np.random.default_rng(0), frames=100, fps=10.0, period_s=(2.0, 2.0))
    np.testing.assert_array_equal(u, again)


def test_between_interpolates_coordinates_and_keeps_the_smaller_score() -> None:
    a = np.zeros((2, 3), np.float32)
    b = np.zeros((2, 3), np.float32)
    a[:, 2], b[:, 2] = [0.9, 0.2], [0.4, 0.8]  # scores
    b[0, :2] = [2.0, -4.0]
    out = between(np.stack([a, b]), np.array([0.0, 0.25, 1.0]), ncoord=2)
    assert out.shape == (3, 2, 3) and out.dtype == np.float64
    np.testing.assert_allclose(out[:, 0, :2], [[0.0, 0.0], [0.5, -1.0], [2.0, -4.0]])
    np.testing.assert_allclose(out[:, 1, :2], 0.0)
    np.testing.assert_allclose(out[:, :, 2], [[0.4, 0.2]] * 3)


def test_cosine_profile_starts_at_the_first_position_at_phase_0() -> None:
    u = cosine_profile(frames=30, fps=10.0, period_s=3.0, phase=0.0)
    assert u[0] == 0.0 and u[15] == pytest.approx(1.0)  # the second position half a period on
    np.testing.assert_allclose(u[1:15], u[29:15:-1], atol=1e-12)  # and back the same way
    half = cosine_profile(frames=30, fps=10.0, period_s=3.0, phase=np.pi)
    np.testing.assert_allclose(half, 1.0 - u, atol=1e-12)  # phase pi starts at the second
    # movement_profile is the same curve with a drawn period and phase
    rng = np.random.default_rng(3)
    period, phase = rng.uniform(2.0, 4.0), rng.uniform(0.0, 2 * np.pi)
    np.testing.assert_array_equal(
        movement_profile(np.random.default_rng(3), frames=30, fps=10.0),
        cosine_profile(frames=30, fps=10.0, period_s=period, phase=phase))


def test_pair_video_moves_between_the_two_positions_with_jitter() -> None:
    world = np.zeros((2, 33, 4), np.float32)
    world[1, :, 1] = 1.0  # every joint 1 m lower in the second position
    world[:, :, 3] = [[0.9], [0.6]]
    image = np.zeros((2, 33, 3), np.float32)
    image[1, :, 0] = 0.5
    u = np.array([0.0, 0.5, 1.0])
    w, img = pair_video(world, image, u, np.random.default_rng(0), jitter_m=0.0)
    assert w.shape == (3, 33, 4) and img.shape == (3, 33, 3) and w.dtype == np.float32
    np.testing.assert_allclose(w[:, 0, 1], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(img[:, 0, 0], [0.0, 0.25, 0.5])
    np.testing.assert_allclose(w[..., 3], 0.6)  # the smaller visibility
    jittered, _ = pair_video(world, image, u, np.random.default_rng(0), jitter_m=0.01)
    noise = jittered[..., :3] - w[..., :3]
    assert 0.005 < noise.std() < 0.015 and np.array_equal(jittered[..., 3], w[..., 3])
