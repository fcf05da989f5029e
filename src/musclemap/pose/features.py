"""Clip-level biomechanics from MediaPipe-33 world landmarks (metres, hip-centred, y down).

- `joint_angles(world)` -> the 12 joint angles per frame (the rep counter and movement analysis
  of `musclemap.analysis` read them);
- `baseline_clip_features(world, fps)` -> `(58,)` the issue's quick-baseline feature set for one
  whole clip (mean, spread, 5th/95th percentiles of 13 signals plus 6 mean joint speeds), the
  input of the extra-trees baseline of `engine/pose_train.py`.

The predict model's features are `musclemap.pose.keypose`. Gravity: MediaPipe world axes follow
the camera, with y pointing down, so "up" is -y for an upright camera. Angles are in units of pi.
Frames without a person are NaN and ignored.
"""

from __future__ import annotations

import numpy as np

from musclemap.skeleton import MEDIAPIPE33

_J = {name: i for i, name in enumerate(MEDIAPIPE33.joints)}
_UP = np.array([0.0, -1.0, 0.0], dtype=np.float32)
_SIDES = ("left", "right")

# (name, a, b, c): the angle at b between b->a and b->c.
_ANGLES = [
    (f"{part}_{s}", f"{s}_{a}", f"{s}_{b}", f"{s}_{c}")
    for part, a, b, c in (
        ("elbow", "shoulder", "elbow", "wrist"),
        ("shoulder", "hip", "shoulder", "elbow"),
        ("hip", "shoulder", "hip", "knee"),
        ("knee", "hip", "knee", "ankle"),
        ("ankle", "knee", "ankle", "foot_index"),
        ("wrist", "elbow", "wrist", "index"),
    )
    for s in _SIDES
]
NUM_BASELINE_FEATURES = 58


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between vectors (..., 3) in units of pi (0 = same direction, 1 = opposite)."""
    nu = np.linalg.norm(u, axis=-1)
    nv = np.linalg.norm(v, axis=-1)
    cos = np.sum(u * v, axis=-1) / np.maximum(nu * nv, 1e-8)
    return np.arccos(np.clip(cos, -1.0, 1.0)) / np.pi


def _p(xyz: np.ndarray, name: str) -> np.ndarray:
    return xyz[:, _J[name]]  # (T, 3)


def joint_angles(world: np.ndarray) -> dict[str, np.ndarray]:
    """The 12 joint angles (units of pi) per frame from world landmarks `(T, 33, >=3)`."""
    xyz = world[..., :3].astype(np.float64)
    return {n: _angle(_p(xyz, a) - _p(xyz, b), _p(xyz, c) - _p(xyz, b)) for n, a, b, c in _ANGLES}


def baseline_clip_features(world: np.ndarray, fps: float) -> np.ndarray:
    """The issue's quick-baseline features for one clip: `(58,)` float32.

    13 signals (elbow, shoulder, hip, knee, ankle angles left and right; torso tilt against
    gravity; mean wrist height; mean ankle height) x 4 statistics (mean, std, 5th and 95th
    percentile) = 52, plus the mean speed of 6 joints (wrist, elbow, shoulder, hip, knee, ankle;
    left/right averaged, metres per second) = 58.
    """
    xyz = world[..., :3].astype(np.float64)
    valid = np.isfinite(xyz).all(axis=(1, 2))
    if valid.sum() < 2:
        return np.zeros(NUM_BASELINE_FEATURES, dtype=np.float32)
    angles = joint_angles(world)
    hip, shoulder = MEDIAPIPE33.midpoint(xyz, "hip"), MEDIAPIPE33.midpoint(xyz, "shoulder")
    signals = [
        angles[f"{p}_{s}"] for p in ("elbow", "shoulder", "hip", "knee", "ankle") for s in _SIDES
    ]
    signals.append(_angle(shoulder - hip, np.broadcast_to(_UP, xyz[:, 0].shape)))
    signals.append(-(MEDIAPIPE33.midpoint(xyz, "wrist")[:, 1] - hip[:, 1]))
    signals.append(-(MEDIAPIPE33.midpoint(xyz, "ankle")[:, 1] - hip[:, 1]))
    sig = np.stack(signals, axis=1)[valid]  # (T_valid, 13)
    p5, p95 = np.percentile(sig, [5, 95], axis=0)
    stats = np.concatenate([sig.mean(0), sig.std(0), p5, p95])
    speed = np.linalg.norm(np.diff(xyz[valid], axis=0), axis=-1) * fps  # (T_valid - 1, 33)
    speeds = [
        speed[:, [_J[f"left_{j}"], _J[f"right_{j}"]]].mean()
        for j in ("wrist", "elbow", "shoulder", "hip", "knee", "ankle")
    ]
    return np.nan_to_num(np.concatenate([stats, speeds])).astype(np.float32)
