"""Skeleton clean-up: confidence masking, gap filling, centring/scaling, a canonical 3D view.

All functions are pure and take keypoints `(T, V, C)` whose last channel is a score
(visibility) when `has_score` is True; coordinates are the other channels. Missing values are
NaN (coordinates) and 0 (score).
"""

from __future__ import annotations

import numpy as np

from musclemap.skeleton import SkeletonLayout


def mask_low_confidence(kp: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Set coordinates with score < `threshold` to NaN and their score to 0.

    Args:
        kp: (T, V, C) with the score in the last channel.
        threshold: Least score kept.

    Returns:
        A masked copy.
    """
    out = np.array(kp, dtype=np.float32, copy=True)
    low = ~(out[..., -1] >= threshold)  # NaN scores count as low
    out[..., :-1][low] = np.nan
    out[..., -1][low] = 0.0
    return out


def fill_gaps(kp: np.ndarray, max_gap: int = 5) -> np.ndarray:
    """Linearly interpolate NaN runs of at most `max_gap` frames between two known values.

    Runs at the start or end, and longer runs, stay NaN: inventing motion there would be a
    guess. Each joint and channel is filled on its own; a filled score is interpolated too.

    Args:
        kp: (T, V, C) keypoints, NaN where missing.
        max_gap: Longest run of missing frames that is filled.

    Returns:
        A filled copy.
    """
    out = np.array(kp, dtype=np.float32, copy=True)
    t = out.shape[0]
    flat = out.reshape(t, -1)  # (T, V * C) view
    frames = np.arange(t)
    for col in range(flat.shape[1]):
        known = np.isfinite(flat[:, col])
        if known.all() or known.sum() < 2:
            continue
        missing = np.flatnonzero(~known)
        idx = np.flatnonzero(known)
        # Gap length for each missing frame = next known - previous known - 1.
        nxt = np.searchsorted(idx, missing)
        inside = (nxt > 0) & (nxt < len(idx))
        gap = np.full(len(missing), t + 1)
        gap[inside] = idx[nxt[inside]] - idx[nxt[inside] - 1] - 1
        fill = missing[inside & (gap <= max_gap)]
        flat[fill, col] = np.interp(frames[fill], idx, flat[idx, col])
    return out


def fill_pose_gaps(
    kp: np.ndarray, valid: np.ndarray, max_gap: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """`fill_gaps` on whole frames: also marks the filled frames valid.

    Args:
        kp: (T, V, C) keypoints, NaN rows where `valid` is False.
        valid: (T,) frames with a detection.
        max_gap: Longest run of missing frames that is filled.

    Returns:
        `(filled keypoints, new valid)`.
    """
    filled = fill_gaps(np.where(valid[:, None, None], kp, np.nan), max_gap)
    return filled, np.isfinite(filled).all(axis=(1, 2)) | valid


def _mid(kp: np.ndarray, layout: SkeletonLayout, a: str, b: str) -> np.ndarray:
    return (kp[..., layout.index(a), :] + kp[..., layout.index(b), :]) / 2


def normalize_skeleton(
    kp: np.ndarray,
    layout: SkeletonLayout,
    *,
    aspect: float = 1.0,
    has_score: bool = True,
    scale: bool = True,
) -> np.ndarray:
    """Centre each frame on the mid-hip and divide by the sequence's median torso length.

    One scale for the whole sequence keeps motions such as crunches (where the projected torso
    shortens) visible; per-frame scaling would erase them.

    Args:
        kp: (T, V, C) keypoints of `layout`; for image coordinates normalised separately by
            width and height pass `aspect` = width / height so distances are isotropic.
        layout: The layout (needs left/right hip and shoulder joints).
        aspect: Multiplies x before normalising.
        has_score: Whether the last channel is a score (left untouched).
        scale: Divide by the torso length (mid-shoulder to mid-hip).

    Returns:
        Normalised copy; frames without hips stay NaN.
    """
    out = np.array(kp, dtype=np.float32, copy=True)
    coords = out[..., :-1] if has_score else out
    coords[..., 0] *= aspect
    hip = _mid(coords, layout, "left_hip", "right_hip")  # (T, D)
    shoulder = _mid(coords, layout, "left_shoulder", "right_shoulder")
    coords -= hip[:, None, :]
    if scale:
        torso = np.linalg.norm(shoulder - hip, axis=-1)
        torso = torso[np.isfinite(torso) & (torso > 1e-6)]
        if len(torso):
            coords /= float(np.median(torso))
    return out


def _horizontal(v: np.ndarray) -> np.ndarray:
    h = np.stack([v[..., 0], np.zeros_like(v[..., 1]), v[..., 2]], axis=-1)
    return h


def canonical_view(
    world: np.ndarray, layout: SkeletonLayout, *, per_frame: bool = False
) -> np.ndarray:
    """Turn MediaPipe world landmarks into a gravity-up frame facing +z.

    MediaPipe world coordinates are x right, y down, z away from the camera (metres, origin
    between the hips). The output is right-handed with y up (so -y is gravity, taking the
    camera as level), the body rotated about the vertical axis only so that it faces +z, and x
    pointing to the subject's left. Only the yaw is removed: lying, leaning or inverted
    postures keep their orientation relative to gravity.

    Args:
        world: (T, V, 3) or (T, V, 4) (x, y, z[, visibility]) of `layout`.
        layout: The layout (needs left/right hip and shoulder joints).
        per_frame: Remove each frame's own yaw (turning in place disappears) instead of one
            yaw for the whole sequence (the median facing direction).

    Returns:
        Rotated copy, same shape; the visibility channel is kept.
    """
    out = np.array(world, dtype=np.float32, copy=True)
    xyz = out[..., :3]
    xyz[..., 1:] *= -1  # 180 degrees about x: y up, z towards the camera, still right-handed
    left = (
        xyz[..., layout.index("left_hip"), :]
        - xyz[..., layout.index("right_hip"), :]
        + xyz[..., layout.index("left_shoulder"), :]
        - xyz[..., layout.index("right_shoulder"), :]
    )  # (T, 3) towards the subject's left
    up = np.array([0.0, 1.0, 0.0])
    forward = _horizontal(np.cross(left, up))  # (T, 3): left x up = facing direction
    norm = np.linalg.norm(forward, axis=-1)
    ok = np.isfinite(norm) & (norm > 1e-6)
    if not ok.any():
        return out
    yaw = np.arctan2(forward[..., 0], forward[..., 2])  # angle of forward from +z about y
    if per_frame:
        angles = np.where(ok, yaw, np.nan)
        angles = np.where(np.isfinite(angles), angles, _circular_median(yaw[ok]))
    else:
        angles = np.full(len(yaw), _circular_median(yaw[ok]))
    cos, sin = np.cos(-angles), np.sin(-angles)
    x, z = xyz[..., 0].copy(), xyz[..., 2].copy()
    # Rotation about y by -yaw maps the facing direction onto +z.
    xyz[..., 0] = cos[:, None] * x + sin[:, None] * z
    xyz[..., 2] = -sin[:, None] * x + cos[:, None] * z
    return out


def _circular_median(angles: np.ndarray) -> float:
    """Median direction: the median of angles unwrapped around their circular mean."""
    mean = np.arctan2(np.sin(angles).mean(), np.cos(angles).mean())
    return float(mean + np.median(np.angle(np.exp(1j * (angles - mean)))))
