"""Biomechanical features from MediaPipe-33 world landmarks (metres, hip-centred, y down).

Three levels, all pure numpy and NaN-aware (frames without a person are NaN and ignored):

- `frame_features(world, fps, image)` -> `(T, F)` per-frame signals: joint angles, segment
  inclination against gravity, limb heights, hand/foot spread, joint speeds, image hip motion.
- `window_stats(frames)` -> `(5 * F,)` statistics of a window of frames (mean, spread, 10th/90th
  percentiles, mean absolute rate of change): the input of the `posefeat_mlp` model.
- `baseline_clip_features(world, fps)` -> `(58,)` the issue's quick-baseline feature set for one
  whole clip (mean, spread, 5th/95th percentiles of 13 signals plus 6 mean joint speeds).

Gravity: MediaPipe world and image axes follow the camera, with y pointing down, so "up" is -y
for an upright camera. Angles are divided by pi and lengths by the torso length (shoulder midpoint
to hip midpoint) so that every feature is of order one, whoever is filmed.
"""

from __future__ import annotations

import warnings

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
# (name, from, to): inclination of the segment from->to against "up".
_SEGMENTS = [
    (f"{part}_{s}", f"{s}_{a}", f"{s}_{b}")
    for part, a, b in (
        ("upper_arm", "shoulder", "elbow"),
        ("forearm", "elbow", "wrist"),
        ("thigh", "hip", "knee"),
        ("shank", "knee", "ankle"),
    )
    for s in _SIDES
]
_HEIGHT_JOINTS = ["nose"] + [
    f"{s}_{j}" for j in ("wrist", "elbow", "knee", "ankle") for s in _SIDES
]
_SPEED_JOINTS = [f"{s}_{j}" for j in ("wrist", "elbow", "knee", "ankle") for s in _SIDES] + ["nose"]

FRAME_FEATURE_NAMES: tuple[str, ...] = tuple(
    [f"angle_{n}" for n, *_ in _ANGLES]
    + ["tilt_torso", "tilt_head"]
    + [f"tilt_{n}" for n, *_ in _SEGMENTS]
    + [f"height_{j}" for j in _HEIGHT_JOINTS]
    + ["height_hip_over_feet", "spread_hands", "spread_feet"]
    + [f"speed_{j}" for j in _SPEED_JOINTS]
    + ["image_hip_vx", "image_hip_vy"]
)
NUM_FRAME_FEATURES = len(FRAME_FEATURE_NAMES)
WINDOW_STATS = ("mean", "std", "p10", "p90", "rate")
NUM_WINDOW_FEATURES = len(WINDOW_STATS) * NUM_FRAME_FEATURES
NUM_BASELINE_FEATURES = 58


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between vectors (..., 3) in units of pi (0 = same direction, 1 = opposite)."""
    nu = np.linalg.norm(u, axis=-1)
    nv = np.linalg.norm(v, axis=-1)
    cos = np.sum(u * v, axis=-1) / np.maximum(nu * nv, 1e-8)
    return np.arccos(np.clip(cos, -1.0, 1.0)) / np.pi


def _p(xyz: np.ndarray, name: str) -> np.ndarray:
    return xyz[:, _J[name]]  # (T, 3)


def _mid(xyz: np.ndarray, joint: str) -> np.ndarray:
    return 0.5 * (_p(xyz, f"left_{joint}") + _p(xyz, f"right_{joint}"))


def joint_angles(world: np.ndarray) -> dict[str, np.ndarray]:
    """The 12 joint angles (units of pi) per frame from world landmarks `(T, 33, >=3)`."""
    xyz = world[..., :3].astype(np.float64)
    return {n: _angle(_p(xyz, a) - _p(xyz, b), _p(xyz, c) - _p(xyz, b)) for n, a, b, c in _ANGLES}


def torso_length(world: np.ndarray) -> np.ndarray:
    """Per-frame shoulder-midpoint to hip-midpoint distance `(T,)` in metres."""
    xyz = world[..., :3].astype(np.float64)
    return np.linalg.norm(_mid(xyz, "shoulder") - _mid(xyz, "hip"), axis=-1)


def _body_scale(world: np.ndarray) -> float:
    """One torso length per clip (median over frames) so that scale noise does not jitter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = float(np.nanmedian(torso_length(world)))
    return scale if np.isfinite(scale) and scale > 1e-3 else 0.5


def _derivative(x: np.ndarray, fps: float) -> np.ndarray:
    """Central-difference rate of change along axis 0, per second; NaN propagates."""
    if len(x) < 2:
        return np.zeros_like(x)
    return np.gradient(x, axis=0) * fps


def frame_features(world: np.ndarray, fps: float, image: np.ndarray | None = None) -> np.ndarray:
    """Per-frame biomechanical signals.

    Args:
        world: `(T, 33, 3 or 4)` MediaPipe world landmarks (metres), NaN where no person.
        fps: sampling rate of the frames (for speeds).
        image: optional `(T, 33, 3)` image landmarks (x, y in [0, 1]); without it the two
            image-motion features are zero.

    Returns:
        `(T, NUM_FRAME_FEATURES)` float32, columns named by `FRAME_FEATURE_NAMES`; NaN rows
        where the person is missing.
    """
    if world.ndim != 3 or world.shape[1] != MEDIAPIPE33.num_joints or world.shape[2] < 3:
        raise ValueError(f"expected world landmarks (T, 33, 3|4), got {world.shape}")
    xyz = world[..., :3].astype(np.float64)  # (T, 33, 3)
    t = len(xyz)
    scale = _body_scale(world)
    hip, shoulder = _mid(xyz, "hip"), _mid(xyz, "shoulder")
    cols: list[np.ndarray] = list(joint_angles(world).values())
    up = np.broadcast_to(_UP, (t, 3))
    cols.append(_angle(shoulder - hip, up))
    cols.append(_angle(_p(xyz, "nose") - shoulder, up))
    cols += [_angle(_p(xyz, b) - _p(xyz, a), up) for _, a, b in _SEGMENTS]
    height = -(xyz[..., 1] - hip[:, None, 1]) / scale  # (T, 33): up is -y
    cols += [height[:, _J[j]] for j in _HEIGHT_JOINTS]
    feet = height[:, [_J[f"{s}_{j}"] for s in _SIDES for j in ("heel", "foot_index")]].min(1)
    cols.append(-feet)  # the hip's height above the lowest foot point
    cols.append(np.linalg.norm(_p(xyz, "left_wrist") - _p(xyz, "right_wrist"), axis=-1) / scale)
    cols.append(np.linalg.norm(_p(xyz, "left_ankle") - _p(xyz, "right_ankle"), axis=-1) / scale)
    vel = _derivative(xyz, fps)  # (T, 33, 3) m/s
    cols += [np.linalg.norm(vel[:, _J[j]], axis=-1) / scale for j in _SPEED_JOINTS]
    cols += list(_image_hip_velocity(image, fps, t))
    out = np.stack(cols, axis=1).astype(np.float32)  # (T, F)
    out[~np.isfinite(xyz).all(axis=(1, 2))] = np.nan
    return out


def _image_hip_velocity(image: np.ndarray | None, fps: float, t: int) -> tuple[np.ndarray, ...]:
    """Hip-midpoint velocity in the image, in image torso lengths per second (whole-body motion
    that hip-centred world landmarks cannot show: jumps, squats, lunges walking forward)."""
    if image is None:
        return np.zeros(t), np.zeros(t)
    xy = image[..., :2].astype(np.float64)
    hip, shoulder = _mid(xy, "hip"), _mid(xy, "shoulder")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = float(np.nanmedian(np.linalg.norm(shoulder - hip, axis=-1)))
    if not np.isfinite(scale) or scale < 1e-4:
        return np.zeros(t), np.zeros(t)
    vel = _derivative(hip, fps) / scale
    return vel[:, 0], vel[:, 1]


def window_stats(frames: np.ndarray, fps: float = 10.0) -> np.ndarray:
    """Statistics of a window of per-frame features over its valid (non-NaN) frames.

    Args:
        frames: `(T, F)` output of `frame_features` (a window of it).
        fps: sampling rate, for the rate-of-change statistic.

    Returns:
        `(5 * F,)` float32: mean, std, 10th and 90th percentile, mean |d/dt| per feature (the
        rate is the angular velocity for angles). All zeros when no frame is valid.
    """
    f = frames.shape[1]
    valid = np.isfinite(frames).all(axis=1)
    if not valid.any():
        return np.zeros(len(WINDOW_STATS) * f, dtype=np.float32)
    x = frames[valid].astype(np.float64)
    p10, p90 = np.percentile(x, [10, 90], axis=0)
    rate = np.abs(np.diff(x, axis=0)).mean(axis=0) * fps if len(x) > 1 else np.zeros(f)
    out = np.concatenate([x.mean(0), x.std(0), p10, p90, rate])
    return np.nan_to_num(out).astype(np.float32)


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
    hip, shoulder = _mid(xyz, "hip"), _mid(xyz, "shoulder")
    signals = [
        angles[f"{p}_{s}"] for p in ("elbow", "shoulder", "hip", "knee", "ankle") for s in _SIDES
    ]
    signals.append(_angle(shoulder - hip, np.broadcast_to(_UP, xyz[:, 0].shape)))
    signals.append(-(_mid(xyz, "wrist")[:, 1] - hip[:, 1]))
    signals.append(-(_mid(xyz, "ankle")[:, 1] - hip[:, 1]))
    sig = np.stack(signals, axis=1)[valid]  # (T_valid, 13)
    p5, p95 = np.percentile(sig, [5, 95], axis=0)
    stats = np.concatenate([sig.mean(0), sig.std(0), p5, p95])
    speed = np.linalg.norm(np.diff(xyz[valid], axis=0), axis=-1) * fps  # (T_valid - 1, 33)
    speeds = [
        speed[:, [_J[f"left_{j}"], _J[f"right_{j}"]]].mean()
        for j in ("wrist", "elbow", "shoulder", "hip", "knee", "ankle")
    ]
    return np.nan_to_num(np.concatenate([stats, speeds])).astype(np.float32)


def normalized_joints(world: np.ndarray) -> np.ndarray:
    """World landmarks centred on the hip midpoint and divided by the clip's torso length.

    Args:
        world: `(T, 33, 3 or 4)` metres, NaN where no person.

    Returns:
        `(T, 33, 4)` float32: x, y, z normalised plus a presence/visibility channel; missing
        frames are zeros with presence 0 (the network sees the gap instead of invented joints).
    """
    xyz = world[..., :3].astype(np.float64)
    hip = _mid(xyz, "hip")[:, None]  # (T, 1, 3)
    out = np.zeros((*world.shape[:2], 4), dtype=np.float32)
    out[..., :3] = (xyz - hip) / _body_scale(world)
    vis = world[..., 3] if world.shape[-1] > 3 else np.ones(world.shape[:2])
    out[..., 3] = vis
    missing = ~np.isfinite(out).all(axis=(1, 2))
    out[missing] = 0.0
    return out


def flip_landmarks(
    world: np.ndarray, image: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Mirror a person left/right: world x negated (hip-centred), image x -> 1 - x, sides swapped.

    Muscle-group labels are bilateral, so a mirrored sequence keeps its labels (augmentation).
    """
    flipped_world = MEDIAPIPE33.flip(world)
    if image is None:
        return flipped_world, None
    flipped_image = image[:, MEDIAPIPE33.flip_permutation].copy()
    flipped_image[..., 0] = 1.0 - flipped_image[..., 0]
    return flipped_world, flipped_image


def window_starts(num_frames: int, window: int, stride: int) -> np.ndarray:
    """Start frames of sliding windows covering `num_frames` (the last window ends at the end).

    A sequence shorter than `window` gets one window at 0 (callers pad or use fewer frames).
    """
    if num_frames <= window:
        return np.zeros(1, dtype=np.int64)
    starts = list(range(0, num_frames - window + 1, stride))
    if starts[-1] != num_frames - window:
        starts.append(num_frames - window)
    return np.asarray(starts, dtype=np.int64)


def feature_windows(frames: np.ndarray, starts: np.ndarray, window: int, fps: float) -> np.ndarray:
    """Window statistics `(N, NUM_WINDOW_FEATURES)` of per-frame features at `starts`."""
    return np.stack([window_stats(frames[s : s + window], fps) for s in starts])


def joint_windows(joints: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """Windows `(N, window, V, C)` of normalised joints; a short sequence is looped to `window`
    frames (exercises repeat, so looping is closer to the truth than freezing the last pose)."""
    if len(joints) < window:
        joints = joints[np.arange(window) % len(joints)]
    return np.stack([joints[s : s + window] for s in starts])


def window_inputs(
    world: np.ndarray,
    image: np.ndarray | None,
    fps: float,
    *,
    window: int,
    stride: int,
    kind: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Window starts `(N,)` and a window model's inputs: `kind` "window_stats" gives statistics
    `(N, NUM_WINDOW_FEATURES)`, "joints" normalised joint windows `(N, window, 33, 4)`."""
    starts = window_starts(len(world), window, stride)
    if kind == "window_stats":
        return starts, feature_windows(frame_features(world, fps, image), starts, window, fps)
    if kind == "joints":
        return starts, joint_windows(normalized_joints(world), starts, window)
    raise ValueError(f"unknown window input kind {kind!r}; use 'window_stats' or 'joints'")
