"""Most-prominent-person selection and identity-jump detection."""

from __future__ import annotations

import numpy as np

from musclemap.pose.tracking import find_jumps, select_prominent


def _person(cx: float, cy: float, size: float, v: int = 5) -> np.ndarray:
    """A (V, 3) skeleton: joints spread over a box of `size` centred at (cx, cy)."""
    kp = np.ones((v, 3), np.float32)
    kp[:, 0] = cx + np.linspace(-size / 4, size / 4, v)
    kp[:, 1] = cy + np.linspace(-size / 2, size / 2, v)
    return kp


def test_select_prominent_keeps_big_continuous_person() -> None:
    # A large exerciser in every frame but one, and a small passer-by moving across.
    frames = []
    for i in range(10):
        people = [_person(0.2 + 0.02 * i, 0.8, 0.2)]  # passer-by
        if i != 4:
            people.append(_person(0.5, 0.5, 0.6 + 0.01 * i))
        frames.append(people)
    sel = select_prominent(frames)
    assert sel.num_people == 2
    assert sel.num_tracks == 2  # the exerciser's one-frame gap does not break the track
    assert sel.valid.tolist() == [i != 4 for i in range(10)]
    assert np.nanmean(sel.keypoints[:, :, 0]) == np.float32(0.5)
    assert np.isnan(sel.keypoints[4]).all()


def test_select_prominent_prefers_long_over_briefly_bigger() -> None:
    frames = [[_person(0.3, 0.5, 0.4)] for _ in range(10)]
    frames[0].append(_person(0.8, 0.5, 0.8))  # big, but only in one frame
    sel = select_prominent(frames)
    assert sel.valid.all()
    np.testing.assert_allclose(np.nanmean(sel.keypoints[:, :, 0]), 0.3, atol=1e-6)


def test_select_prominent_empty() -> None:
    sel = select_prominent([[], []])
    assert sel.num_people == 0 and sel.num_tracks == 0 and not sel.valid.any()


def test_find_jumps_flags_switch_not_motion() -> None:
    t = 12
    image = np.stack([_person(0.3 + 0.01 * np.sin(i), 0.5, 0.5, v=33) for i in range(t)])
    valid = np.ones(t, bool)
    image[8:] = np.stack([_person(0.85, 0.6, 0.15, v=33)] * (t - 8))  # someone small, elsewhere
    valid[6:8] = False
    assert find_jumps(image, valid) == [8]
    assert find_jumps(image[:6], valid[:6]) == []


def test_find_jumps_tolerates_fast_pose_change() -> None:
    # Crouched to stretched out (box diagonal x 1.8) in one step, as in a burpee.
    image = np.stack([_person(0.5, 0.6, 0.3, v=33), _person(0.5, 0.5, 0.54, v=33)])
    assert find_jumps(image, np.ones(2, bool)) == []
