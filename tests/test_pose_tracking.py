"""Identity-jump detection of a single-person tracker."""

from __future__ import annotations

import numpy as np

from musclemap.pose.tracking import find_jumps


def _person(cx: float, cy: float, size: float, v: int = 5) -> np.ndarray:
    """A (V, 3) skeleton: joints spread over a box of `size` centred at (cx, cy)."""
    kp = np.ones((v, 3), np.float32)
    kp[:, 0] = cx + np.linspace(-size / 4, size / 4, v)
    kp[:, 1] = cy + np.linspace(-size / 2, size / 2, v)
    return kp


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
