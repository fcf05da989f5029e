"""Following one person: flag identity jumps of a single-person tracker.

MediaPipe Pose returns a single tracked person and cannot say whether others are present. When
it loses the person it re-detects, possibly someone else. `find_jumps` flags frames where the
tracked skeleton moves or changes size too much between consecutive detections to be the same
person, so the output can say so.

Keypoints are `(V, C)` with x, y in [0, 1] of the image plus a score channel.
"""

from __future__ import annotations

import numpy as np


def _box(kp: np.ndarray, aspect: float = 1.0) -> np.ndarray:
    """(x0, y0, x1, y1) of the finite joints; x scaled by `aspect` (= width / height)."""
    xy = kp[:, :2][np.isfinite(kp[:, :2]).all(axis=1)] * np.array([aspect, 1.0])
    if len(xy) == 0:
        return np.full(4, np.nan)
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def find_jumps(
    image: np.ndarray,
    valid: np.ndarray,
    *,
    aspect: float = 1.0,
    max_shift: float = 0.5,
    max_scale: float = 2.5,
) -> list[int]:
    """Frames where a single-person tracker probably switched to someone else.

    Compares each detection with the previous one (across gaps): a jump is a box centre moving
    more than `max_shift` box diagonals, or the box diagonal changing by more than `max_scale`
    times. On 34 single-person real clips at 10 fps (burpees, star jumps, crunches included) the
    largest values seen were 0.28 diagonals and 1.86 times, the latter right after a lost frame.

    Args:
        image: (T, V, 3) x, y in [0, 1], score.
        valid: (T,) frames with a detection.
        aspect: Display width / height, so that distances are isotropic.
        max_shift: Largest plausible centre motion, in box diagonals.
        max_scale: Largest plausible change of box size between detections.

    Returns:
        Indices of frames that start a different person.
    """
    jumps: list[int] = []
    prev: np.ndarray | None = None
    for i in np.flatnonzero(valid):
        box = _box(image[i], aspect)
        if not np.isfinite(box).all() or np.hypot(*(box[2:] - box[:2])) < 1e-6:
            continue  # no joints, or all on one point: nothing to compare
        if prev is not None:
            diag_prev = float(np.hypot(*(prev[2:] - prev[:2])))
            diag = float(np.hypot(*(box[2:] - box[:2])))
            scale = max(diag, diag_prev) / max(min(diag, diag_prev), 1e-6)
            shift = float(np.hypot(*((box[:2] + box[2:]) / 2 - (prev[:2] + prev[2:]) / 2)))
            if shift > max_shift * max(diag, diag_prev) or scale > max_scale:
                jumps.append(int(i))
        prev = box
    return jumps
