"""Skeleton augmentations and normalisation: pure numpy functions with explicit randomness.

Keypoints are `(T, V, C)` float32: `ncoord` coordinates (2 or 3) optionally followed by a score
channel. Missing joints are all-zero with score 0 after `fill_missing`; the geometric transforms
keep them at zero so that a missing joint never turns into a plausible-looking position.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from musclemap.skeleton import SkeletonLayout, as_layout

# A key-position pseudo-video's jitter of the world coordinates (metres; `pair_video`).
PAIR_VIDEO_JITTER_M = 0.01


def fill_missing(kp: np.ndarray, *, has_score: bool) -> np.ndarray:
    """NaN joints (no person / joint absent from the layout) -> coordinates 0 and score 0."""
    out = np.array(kp, dtype=np.float32, copy=True)
    missing = np.isnan(out).any(axis=-1)  # (T, V)
    out[missing] = 0.0
    if has_score:
        out[..., -1] = np.nan_to_num(out[..., -1], nan=0.0)
    return out


def present_mask(kp: np.ndarray, *, has_score: bool) -> np.ndarray:
    """(T, V) bool: joints that carry data (score > 0, or any non-zero coordinate)."""
    if has_score:
        return kp[..., -1] > 0
    return np.abs(kp).sum(axis=-1) > 0


def normalize_skeleton(
    kp: np.ndarray, layout: SkeletonLayout | str, *, ncoord: int, has_score: bool
) -> np.ndarray:
    """Centre on the hips' midpoint (the layout's centre joint when it has no hips) and scale so
    that the torso (`SkeletonLayout.torso_length`, median over frames) has length 1.

    Falls back to the spread of all present joints when no frame shows a torso. Missing joints
    stay at zero.
    """
    layout = as_layout(layout)
    out = np.array(kp, dtype=np.float32, copy=True)
    present = present_mask(out, has_score=has_score)  # (T, V)
    if not present.any():
        return out
    coords = out[..., :ncoord]
    hip_ok = present[:, layout.pair("hip")].all(axis=1)  # (T,)
    if hip_ok.any():
        centre = layout.midpoint(coords, "hip")[hip_ok].mean(axis=0)  # (ncoord,)
    else:
        centre = coords[present].mean(axis=0)
    torso_ok = hip_ok & present[:, layout.pair("shoulder")].all(axis=1)
    scale = 0.0
    if torso_ok.any():
        scale = float(np.median(layout.torso_length(coords)[torso_ok]))
    if scale <= 1e-6:
        scale = float(np.abs(coords[present] - centre).max()) or 1.0
    coords[:] = np.where(present[..., None], (coords - centre) / scale, 0.0)
    return out


def _apply_linear(kp: np.ndarray, mat: np.ndarray, *, ncoord: int) -> np.ndarray:
    out = np.array(kp, dtype=np.float32, copy=True)
    x = kp[..., :ncoord].astype(np.float32)
    m = mat.astype(np.float32)
    # Written out rather than a matrix product (which may fuse multiply-adds or reorder sums):
    # the same bits on every machine, so augmented training data is reproducible.
    rows = [sum(x[..., j] * m[i, j] for j in range(ncoord)) for i in range(ncoord)]
    out[..., :ncoord] = np.stack(rows, axis=-1)
    return out


def rotation_matrix(angles: np.ndarray) -> np.ndarray:
    """2D rotation for one angle; 3D rotation Rz @ Ry @ Rx for three angles (radians)."""
    if angles.size == 1:
        c, s = np.cos(angles[0]), np.sin(angles[0])
        return np.array([[c, -s], [s, c]])
    ax, ay, az = angles
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def random_rotation(
    kp: np.ndarray, rng: np.random.Generator, *, ncoord: int, max_angle: float = 0.3
) -> np.ndarray:
    """Rotate by uniform angles in [-max_angle, max_angle] rad (in-plane for 2D, 3 axes for 3D)."""
    angles = rng.uniform(-max_angle, max_angle, size=1 if ncoord == 2 else 3)
    return _apply_linear(kp, rotation_matrix(angles), ncoord=ncoord)


def random_scale(
    kp: np.ndarray, rng: np.random.Generator, *, ncoord: int, low: float = 0.9, high: float = 1.1
) -> np.ndarray:
    """Scale every axis by its own uniform factor in [low, high]."""
    return _apply_linear(kp, np.diag(rng.uniform(low, high, size=ncoord)), ncoord=ncoord)


def random_pitch(kp: np.ndarray, rng: np.random.Generator, *, max_deg: float = 10.0) -> np.ndarray:
    """Rotate 3D coordinates about the x axis by a uniform angle in [-max_deg, max_deg] degrees:
    the view of a camera pitched up or down, so that gravity (-y) tilts with it."""
    angle = np.deg2rad(rng.uniform(-max_deg, max_deg))
    return _apply_linear(kp, rotation_matrix(np.array([angle, 0.0, 0.0])), ncoord=3)


def random_shear(
    kp: np.ndarray, rng: np.random.Generator, *, ncoord: int, magnitude: float = 0.2
) -> np.ndarray:
    """Shear: identity plus uniform off-diagonal terms in [-magnitude, magnitude]."""
    mat = np.eye(ncoord) + rng.uniform(-magnitude, magnitude, size=(ncoord, ncoord)) * (
        1 - np.eye(ncoord)
    )
    return _apply_linear(kp, mat, ncoord=ncoord)


def joint_dropout(kp: np.ndarray, rng: np.random.Generator, *, p: float = 0.05) -> np.ndarray:
    """Drop each joint for the whole clip with probability p (coordinates and score -> 0)."""
    out = np.array(kp, dtype=np.float32, copy=True)
    drop = rng.random(out.shape[1]) < p  # (V,)
    out[:, drop] = 0.0
    return out


def hide_limb(
    kp: np.ndarray,
    layout: SkeletonLayout | str,
    rng: np.random.Generator,
    limbs: Sequence[Sequence[str]],
    *,
    ncoord: int,
    p: float = 0.5,
) -> np.ndarray:
    """With probability p, one of `limbs` (joint names without the side prefix) on a random side
    gets score 0 for the whole clip: occluded, as behind a loaded barbell, while its coordinates
    stay what an estimator would still report. Without a score channel: a copy."""
    layout = as_layout(layout)
    out = np.array(kp, copy=True)
    if rng.random() < p and out.shape[-1] > ncoord:
        side = ("left", "right")[int(rng.integers(2))]
        limb = limbs[int(rng.integers(len(limbs)))]
        out[:, [layout.index(f"{side}_{j}") for j in limb], -1] = 0.0
    return out


def movement_profile(
    rng: np.random.Generator, *, frames: int, fps: float, period_s: tuple[float, float] = (2.0, 4.0)
) -> np.ndarray:
    """`(frames,)` in [0, 1]: 0.5 (1 - cos(2 pi t / period + phase)), a steady back-and-forth
    between two positions, with a uniform period in `period_s` seconds and a uniform phase."""
    period = rng.uniform(*period_s)
    phase = rng.uniform(0.0, 2 * np.pi)
    return cosine_profile(frames=frames, fps=fps, period_s=period, phase=phase)


def cosine_profile(*, frames: int, fps: float, period_s: float, phase: float) -> np.ndarray:
    """`(frames,)` in [0, 1]: 0.5 (1 - cos(2 pi t / period_s + phase)) at `fps` (phase 0 starts
    at the first position)."""
    t = np.arange(frames) / fps
    return 0.5 * (1.0 - np.cos(2 * np.pi * t / period_s + phase))


def pair_video(
    world: np.ndarray, image: np.ndarray, u: np.ndarray, rng: np.random.Generator, *,
    jitter_m: float = PAIR_VIDEO_JITTER_M,
) -> tuple[np.ndarray, np.ndarray]:
    """A pseudo-video of two key positions (world `(2, V, 4)`, image `(2, V, 3)`) following the
    profile `u` (`movement_profile`, `cosine_profile`): world `(len(u), V, 4)` and image
    `(len(u), V, 3)` float32 landmarks on straight lines between the positions (`between`),
    the world coordinates jittered by `jitter_m` metres (about MediaPipe's frame-to-frame
    noise: without it a video's tempo features see an unnaturally smooth movement)."""
    out = between(world[:2], u, ncoord=3)
    out[..., :3] += rng.normal(0.0, jitter_m, out[..., :3].shape)
    img = between(image[:2], u, ncoord=2)
    return out.astype(np.float32), img.astype(np.float32)


def between(pair: np.ndarray, u: np.ndarray, *, ncoord: int) -> np.ndarray:
    """Two key positions `(2, V, C)` -> `(len(u), V, C)` float64: the coordinates at
    `a + u (b - a)` (straight lines between them), the score channel the smaller of the two."""
    a, b = pair[0].astype(np.float64), pair[1].astype(np.float64)
    out = a + (b - a) * np.asarray(u, dtype=np.float64)[:, None, None]
    if out.shape[-1] > ncoord:
        out[..., ncoord:] = np.minimum(a[:, ncoord:], b[:, ncoord:])
    return out


def random_flip(
    kp: np.ndarray, layout: SkeletonLayout | str, rng: np.random.Generator, *, p: float = 0.5
) -> np.ndarray:
    """Mirror left/right with probability p: negate x (input must be centred), swap the layout's
    flip pairs. Muscle-group labels are bilateral, so they need no change."""
    layout = as_layout(layout)
    if rng.random() >= p:
        return np.array(kp, dtype=np.float32, copy=True)
    return layout.flip(np.asarray(kp, dtype=np.float32)).astype(np.float32)


def crop_and_resample(
    kp: np.ndarray,
    window: int,
    rng: np.random.Generator | None = None,
    *,
    valid: np.ndarray | None = None,
    p_interval: tuple[float, float] = (0.5, 1.0),
) -> np.ndarray:
    """Crop a segment of the valid frames and resample it linearly to `window` frames.

    Training (with `rng`): a random segment covering a uniform fraction in `p_interval` of the
    valid span, at a random offset (CTR-GCN's `valid_crop_resize`). Evaluation (`rng=None`): the
    whole valid span. Leading/trailing frames without a person are cut first.

    Args:
        kp: (T, V, C) keypoints.
        window: output frames.
        rng: random generator for training, None for the deterministic evaluation crop.
        valid: (T,) bool frames with a person; default: frames with any non-zero value.
        p_interval: range of the kept fraction of the valid span.
    """
    if window <= 0:
        raise ValueError("window must be positive")
    if valid is None:
        valid = np.abs(kp).reshape(len(kp), -1).sum(1) > 0
    idx = np.flatnonzero(valid)
    if len(idx) == 0:
        return np.zeros((window, *kp.shape[1:]), dtype=np.float32)
    start, stop = int(idx[0]), int(idx[-1]) + 1
    length = stop - start
    if rng is not None:
        frac = rng.uniform(*p_interval)
        seg = max(1, min(length, int(round(length * frac))))
        start += int(rng.integers(0, length - seg + 1))
        length = seg
    seg_kp = np.asarray(kp[start : start + length], dtype=np.float32)
    if length == 1:
        return np.repeat(seg_kp, window, axis=0)
    pos = np.linspace(0.0, length - 1, window)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, length - 1)
    w = (pos - lo).astype(np.float32)[:, None, None]
    return (1 - w) * seg_kp[lo] + w * seg_kp[hi]  # (window, V, C)
