"""Key-pose features: one representation for a video window and for two key-position photos.

An exercise is characterised here by its two extreme positions (start and turning point) and by
what changes between them. For a video window they are found as the frames at both ends of the
window's dominant movement (the first principal component of its joint-angle signals); for a
pair of still photos they are the photos themselves. Both give the same vector
(`NUM_FEATURES`), computed from MediaPipe's 3D world landmarks:

- per pose: joint angles, segment inclination against gravity, limb directions in the torso's
  own frame (forward / outward / up), limb heights, hand and foot spread, which way the torso
  faces relative to gravity (lying face up or down, on the side, upright), the shoulders'
  twist against the hips and the spine's side bend (the obliques' movements), and the heights
  of hips, hands and knees over the body's lowest point (what carries the body);
- for the pair (order-invariant): the mean of the two poses and their absolute difference (the
  range of motion: which joints move and which hold);
- per signal, its own span over the window (top minus bottom `EXTREME_FRACTION` of frames), which
  for two photos is the pair's difference again but in a video also catches joints that do not
  move in phase with the dominant movement (alternating arms);
- left/right combined symmetrically (mean and absolute difference of the two sides for the
  mean pose; larger and smaller side for the range of motion), so a mirrored person gives
  exactly the same vector, and bilateral labels need no mirror augmentation;
- optionally (`tempo`), for a video window, how the joints move: which way a joint moves fast,
  where it dwells (`tempo_features`; 0 for photos);
- no quantity depends on the camera's yaw (angles, inclinations and heights only use the
  vertical axis and distances), so rotation about the vertical axis changes nothing either.

Landmarks with visibility below `min_visibility` are treated as missing (the joints behind a
loaded barbell, a limb out of frame): their features are NaN, a side's missing feature is taken
from the other side, and what stays missing is left as NaN for the model to impute.

World coordinates: x right, y down, z away from the camera (MediaPipe), metres, hip-centred.
Lengths are divided by the sequence's median torso length; angles are in units of pi.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from musclemap.skeleton import MEDIAPIPE33, median_torso_length

_J = {name: i for i, name in enumerate(MEDIAPIPE33.joints)}
_UP = np.array([0.0, -1.0, 0.0])  # gravity's up in MediaPipe world coordinates (y down)
# Landmarks that can touch the floor or a bench (the face's points would add nothing).
_BODY = [i for i, n in enumerate(MEDIAPIPE33.joints)
         if n.split("_", 1)[-1] in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel",
                                    "foot_index")]
SIDES = ("left", "right")
MIN_VISIBILITY = 0.5
# Fraction of a window's frames, at each end of its dominant movement, averaged into a key pose.
EXTREME_FRACTION = 0.25

_SIDE_ANGLES = (  # (name, a, b, c): the angle at b between b->a and b->c
    ("elbow", "shoulder", "elbow", "wrist"),
    ("shoulder", "hip", "shoulder", "elbow"),
    ("hip", "shoulder", "hip", "knee"),
    ("knee", "hip", "knee", "ankle"),
    ("ankle", "knee", "ankle", "foot_index"),
)
_SIDE_SEGMENTS = (  # (name, from, to)
    ("upper_arm", "shoulder", "elbow"),
    ("forearm", "elbow", "wrist"),
    ("thigh", "hip", "knee"),
    ("shank", "knee", "ankle"),
)
_TORSO_FRAME_SEGMENTS = ("upper_arm", "forearm", "thigh")  # direction in the torso's frame
_HEIGHT_JOINTS = ("wrist", "elbow", "knee", "ankle")
_FRAME_AXES = ("fwd", "out", "up")

SIDE_NAMES: tuple[str, ...] = (
    tuple(f"angle_{n}" for n, *_ in _SIDE_ANGLES)
    + tuple(f"tilt_{n}" for n, *_ in _SIDE_SEGMENTS)
    + tuple(f"dir_{n}_{a}" for n in _TORSO_FRAME_SEGMENTS for a in _FRAME_AXES)
    + tuple(f"height_{j}" for j in _HEIGHT_JOINTS)
    + tuple(f"wrist_from_shoulder_{a}" for a in _FRAME_AXES)
    + ("foot_pitch",)  # heel height over the toes: a calf raise lifts the heels
    # Palm normal against gravity and the torso's forward axis: the grip (a curl's palms face up,
    # a pushdown's down), which the elbow's motion alone does not tell.
    + ("palm_up", "palm_fwd")
    # Height over the body's lowest point (the floor or what it stands on): hands or knees
    # that carry the body (a push-up, a plank, kneeling) sit at 0.
    + ("ground_wrist", "ground_knee")
)
CENTRAL_NAMES: tuple[str, ...] = (
    "tilt_torso",
    "tilt_head",
    "torso_fwd_up",  # forward axis . up: > 0 lying face up, < 0 face down
    "torso_side_up",  # |left-right axis . up|: lying on a side
    "height_nose",
    "height_hip_over_feet",
    "spread_hands",
    "spread_feet",
    "spread_knees",
    # Signed (left/right): the shoulder line turned against the hip line about the spine, and
    # the spine leaning towards one hip: rotation and side bending, what the obliques do.
    "twist",
    "side_bend",
    "ground_hip",  # hip height over the body's lowest point: lying, sitting, standing
)
# Central signals whose sign is the side: a pair keeps the size of their mean (mirror-invariant).
_SIGNED_CENTRAL = np.array([n in ("twist", "side_bend") for n in CENTRAL_NAMES])
# Signals whose principal component defines a window's dominant movement (units of pi).
_PCA_SIDE = [SIDE_NAMES.index(f"angle_{n}") for n, *_ in _SIDE_ANGLES] + [
    SIDE_NAMES.index(f"tilt_{n}") for n, *_ in _SIDE_SEGMENTS
]
_PCA_CENTRAL = [CENTRAL_NAMES.index(n) for n in ("tilt_torso", "tilt_head", "twist")]

FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"pose_{n}" for n in CENTRAL_NAMES)
    + tuple(f"rom_{n}" for n in CENTRAL_NAMES)
    + tuple(f"pose_{n}_mean" for n in SIDE_NAMES)
    + tuple(f"pose_{n}_asym" for n in SIDE_NAMES)
    + tuple(f"rom_{n}_max" for n in SIDE_NAMES)
    + tuple(f"rom_{n}_min" for n in SIDE_NAMES)
    + tuple(f"span_{n}" for n in CENTRAL_NAMES)
    + tuple(f"span_{n}_max" for n in SIDE_NAMES)
    + tuple(f"span_{n}_min" for n in SIDE_NAMES)
)
NUM_FEATURES = len(FEATURE_NAMES)
# Motion features of a video window (NaN for photos): how fast the joints move and whether the
# whole body travels. Optional (`motion=True`), appended after FEATURE_NAMES.
_MOTION_SIDE = _PCA_SIDE
MOTION_NAMES: tuple[str, ...] = (
    tuple(f"speed_{SIDE_NAMES[i]}_max" for i in _MOTION_SIDE)
    + tuple(f"speed_{SIDE_NAMES[i]}_min" for i in _MOTION_SIDE)
    + ("speed_tilt_torso", "speed_height_hip_over_feet", "cadence", "image_hip_x_std",
       "image_hip_y_std")
    + tuple(f"vdir_{n}" for n in ("wrist", "elbow", "knee", "ankle", "nose", "hip_over_feet"))
    # 1 for key-position photos (no motion to measure), 0 for video: the two sources are
    # labelled by different authors, and this lets the model keep their conventions apart.
    + ("still",)
)
# Tempo features of a video window (0 for photos: no tempo to measure; optional, `tempo=True`,
# appended after the motion features): per joint signal, how it moves, not only how far. A
# lift's loaded (concentric) phase is usually the faster one and the body dwells where the load
# is held: a curl flexes the elbow fast, a pushdown extends it fast, with alike poses.
_TEMPO_SIGNALS = tuple(f"angle_{n}" for n, *_ in _SIDE_ANGLES) + ("foot_pitch",)
_TEMPO_SIDE = [SIDE_NAMES.index(n) for n in _TEMPO_SIGNALS]
TEMPO_NAMES: tuple[str, ...] = tuple(
    f"tempo_{n}_{stat}" for n in _TEMPO_SIGNALS
    # velocity direction (> 0: rises faster than it falls), the share of moving frames rising
    # (minus 0.5), the mean position within the window's range (minus 0.5: where it dwells),
    # and the correlation of speed with the signal (fast at the top or at the bottom)
    for stat in ("vdir", "rising", "dwell", "speed_corr")
)
TEMPO_MIN_FRAMES = 6  # fewer frames with the signal: unknown (the mean of the sides, else 0)
_VDIR_SIDE = [SIDE_NAMES.index(f"height_{j}") for j in ("wrist", "elbow", "knee", "ankle")]
_VDIR_CENTRAL = [CENTRAL_NAMES.index("height_nose"), CENTRAL_NAMES.index("height_hip_over_feet")]
MIN_MOTION_FRAMES = 4


def feature_names(motion: bool, tempo: bool = False) -> tuple[str, ...]:
    """The names of `sequence_windows`' columns, in order, with those switches."""
    return FEATURE_NAMES + (MOTION_NAMES if motion else ()) + (TEMPO_NAMES if tempo else ())


def num_features(motion: bool, tempo: bool = False) -> int:
    return len(feature_names(motion, tempo))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-8)


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between vectors (..., 3) in units of pi."""
    cos = np.sum(_unit(u) * _unit(v), axis=-1)
    return np.arccos(np.clip(cos, -1.0, 1.0)) / np.pi


def masked_xyz(world: np.ndarray, min_visibility: float = MIN_VISIBILITY) -> np.ndarray:
    """`(T, 33, 3)` float64 coordinates with low-visibility landmarks set to NaN."""
    xyz = world[..., :3].astype(np.float64)
    if world.shape[-1] > 3 and min_visibility > 0:
        xyz = np.where((world[..., 3] >= min_visibility)[..., None], xyz, np.nan)
    return xyz


def body_scale(world: np.ndarray) -> float:
    """Median torso length (shoulder midpoint to hip midpoint) over frames, in metres."""
    xyz = world[..., :3].astype(np.float64)
    return median_torso_length(xyz, MEDIAPIPE33, min_length=1e-3, default=0.5)


def frame_descriptors(
    world: np.ndarray, *, min_visibility: float = MIN_VISIBILITY
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame pose descriptors.

    Args:
        world: `(T, 33, 3 or 4)` MediaPipe world landmarks (+ visibility), NaN without a person.
        min_visibility: Landmarks below it count as missing.

    Returns:
        `central (T, len(CENTRAL_NAMES))` and `sides (T, 2, len(SIDE_NAMES))` ([left, right]),
        float64, NaN where a needed landmark is missing.
    """
    if world.ndim != 3 or world.shape[1] != MEDIAPIPE33.num_joints or world.shape[2] < 3:
        raise ValueError(f"expected world landmarks (T, 33, 3|4), got {world.shape}")
    xyz = masked_xyz(world, min_visibility)
    scale = body_scale(world)
    p = lambda name: xyz[:, _J[name]]  # noqa: E731
    hip = 0.5 * (p("left_hip") + p("right_hip"))
    shoulder = 0.5 * (p("left_shoulder") + p("right_shoulder"))
    t = len(xyz)
    up = np.broadcast_to(_UP, (t, 3))
    # The torso's frame: up along the spine, lateral from right to left, forward = lat x up.
    t_up = _unit(shoulder - hip)
    lat = (p("left_shoulder") - p("right_shoulder")) + (p("left_hip") - p("right_hip"))
    lat = _unit(lat - np.sum(lat * t_up, -1, keepdims=True) * t_up)
    fwd = np.cross(lat, t_up)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ground = np.nanmax(xyz[:, _BODY, 1], axis=1)  # y down: the lowest point of the body
    sides = np.empty((t, 2, len(SIDE_NAMES)))
    for k, s in enumerate(SIDES):
        sign = 1.0 if s == "left" else -1.0  # "out" points away from the body's midline
        cols = [_angle(p(f"{s}_{a}") - p(f"{s}_{b}"), p(f"{s}_{c}") - p(f"{s}_{b}"))
                for _, a, b, c in _SIDE_ANGLES]
        seg = {n: p(f"{s}_{b}") - p(f"{s}_{a}") for n, a, b in _SIDE_SEGMENTS}
        cols += [_angle(seg[n], up) for n, *_ in _SIDE_SEGMENTS]
        for n in _TORSO_FRAME_SEGMENTS:
            d = _unit(seg[n])
            cols += [np.sum(d * fwd, -1), sign * np.sum(d * lat, -1), np.sum(d * t_up, -1)]
        cols += [-(p(f"{s}_{j}")[:, 1] - hip[:, 1]) / scale for j in _HEIGHT_JOINTS]
        w = (p(f"{s}_wrist") - p(f"{s}_shoulder")) / scale
        cols += [np.sum(w * fwd, -1), sign * np.sum(w * lat, -1), np.sum(w * t_up, -1)]
        cols.append((p(f"{s}_foot_index")[:, 1] - p(f"{s}_heel")[:, 1]) / scale)  # y down
        palm = sign * _unit(np.cross(p(f"{s}_index") - p(f"{s}_wrist"),
                                     p(f"{s}_pinky") - p(f"{s}_wrist")))
        cols += [np.sum(palm * up, -1), np.sum(palm * fwd, -1)]
        cols += [(ground - p(f"{s}_{j}")[:, 1]) / scale for j in ("wrist", "knee")]
        sides[:, k] = np.stack(cols, axis=1)
    feet = np.stack([p(f"{s}_{j}")[:, 1] for s in SIDES for j in ("heel", "foot_index")], 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lowest = np.nanmax(feet, axis=1)  # y down: the lowest foot point has the largest y
    dist = lambda a, b: np.linalg.norm(p(a) - p(b), axis=-1) / scale  # noqa: E731
    central = np.stack(
        [
            _angle(shoulder - hip, up),
            _angle(p("nose") - shoulder, up),
            np.sum(fwd * up, -1),
            np.abs(np.sum(lat * up, -1)),
            -(p("nose")[:, 1] - hip[:, 1]) / scale,
            (lowest - hip[:, 1]) / scale,
            dist("left_wrist", "right_wrist"),
            dist("left_ankle", "right_ankle"),
            dist("left_knee", "right_knee"),
            _twist(p("left_shoulder") - p("right_shoulder"), p("left_hip") - p("right_hip"),
                   t_up),
            np.sum(_unit(p("left_hip") - p("right_hip")) * t_up, -1),
            (ground - hip[:, 1]) / scale,
        ],
        axis=1,
    )
    return central, sides


def _twist(shoulders: np.ndarray, hips: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Signed angle (units of pi) from the hip line to the shoulder line about the spine."""
    s = shoulders - np.sum(shoulders * axis, -1, keepdims=True) * axis
    h = hips - np.sum(hips * axis, -1, keepdims=True) * axis
    return np.arctan2(np.sum(np.cross(h, s) * axis, -1), np.sum(h * s, -1)) / np.pi


def _nanmean(x: np.ndarray, axis: int = 0) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=axis)


def key_pose_indices(central: np.ndarray, sides: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frames at the two ends of the dominant movement of a window.

    The dominant movement is the first principal component of the joint angles and segment
    inclinations (both sides, torso and head); the frames in its lowest and highest
    `EXTREME_FRACTION` (at least one each) form the two key poses. Frames without a person are
    never chosen; with one usable frame both key poses are that frame.
    """
    sig = np.concatenate([sides[:, :, _PCA_SIDE].reshape(len(sides), -1),
                          central[:, _PCA_CENTRAL]], axis=1)
    usable = np.isfinite(sig).mean(1) >= 0.5
    idx = np.flatnonzero(usable)
    if len(idx) <= 1:
        return idx, idx
    x = sig[idx]
    col_mean = np.nan_to_num(_nanmean(x))
    x = np.where(np.isfinite(x), x, col_mean) - col_mean
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    score = x @ vt[0]
    k = max(1, int(round(EXTREME_FRACTION * len(idx))))
    order = np.argsort(score, kind="stable")
    return idx[order[:k]], idx[order[-k:]]


def _fill_sides(x: np.ndarray) -> np.ndarray:
    """(2, D): a side's missing feature is taken from the other side (bodies are symmetric
    enough, and an occluded limb usually mirrors the visible one in exercises)."""
    out = x.copy()
    out[0] = np.where(np.isfinite(x[0]), x[0], x[1])
    out[1] = np.where(np.isfinite(x[1]), x[1], x[0])
    return out


def pair_features(
    central_a: np.ndarray, sides_a: np.ndarray, central_b: np.ndarray, sides_b: np.ndarray
) -> np.ndarray:
    """The order- and mirror-invariant vector `(NUM_FEATURES,)` of two key poses (NaN: unknown).

    Args:
        central_a, central_b: `(len(CENTRAL_NAMES),)` of each pose.
        sides_a, sides_b: `(2, len(SIDE_NAMES))` of each pose ([left, right]).
    """
    sa, sb = _fill_sides(sides_a), _fill_sides(sides_b)
    pose_c, rom_c = 0.5 * (central_a + central_b), np.abs(central_a - central_b)
    pose_c = np.where(_SIGNED_CENTRAL, np.abs(pose_c), pose_c)
    pose_s, rom_s = 0.5 * (sa + sb), np.abs(sa - sb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        parts = [
            pose_c,
            rom_c,
            0.5 * (pose_s[0] + pose_s[1]),
            np.abs(pose_s[0] - pose_s[1]),
            np.fmax(rom_s[0], rom_s[1]),
            np.fmin(rom_s[0], rom_s[1]),
        ]
    return np.concatenate(parts).astype(np.float32)


def window_features(central: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """Key-pose features `(NUM_FEATURES,)` of one window of frame descriptors (all NaN when
    the window has no usable frame)."""
    lo, hi = key_pose_indices(central, sides)
    if len(lo) == 0:
        return np.full(NUM_FEATURES, np.nan, np.float32)
    pair = pair_features(
        _nanmean(central[lo]), _nanmean(sides[lo]), _nanmean(central[hi]), _nanmean(sides[hi])
    )
    span_c = signal_spans(central)
    span_s = _fill_sides(signal_spans(sides.reshape(len(sides), -1)).reshape(2, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        span = np.concatenate([span_c, np.fmax(span_s[0], span_s[1]),
                               np.fmin(span_s[0], span_s[1])])
    return np.concatenate([pair, span.astype(np.float32)])


def signal_spans(x: np.ndarray) -> np.ndarray:
    """Per column of `x (T, D)`: mean of its highest minus mean of its lowest
    `EXTREME_FRACTION` of finite values (at least one each; NaN without any), so each joint's
    own range is measured even when it is not in phase with the dominant movement (alternating
    arms); for two photos it is |a - b|, the pair's range of motion."""
    srt = np.sort(x, axis=0)  # NaN last
    n = np.isfinite(x).sum(0)
    k = np.maximum(1, np.round(EXTREME_FRACTION * n)).astype(int)
    cs = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(np.nan_to_num(srt), axis=0)])
    cols = np.arange(x.shape[1])
    low = cs[k, cols] / k
    high = (cs[n, cols] - cs[np.maximum(n - k, 0), cols]) / k
    return np.where(n > 0, high - low, np.nan)


def motion_features(
    central: np.ndarray, sides: np.ndarray, fps: float, image_hip: np.ndarray | None = None,
    still_range: float = 0.0,
) -> np.ndarray:
    """Motion of one window `(len(MOTION_NAMES),)`: mean absolute rate of joint angles and
    inclinations (per second; larger and smaller side), of torso tilt and hip height, the
    cadence of the dominant movement (sign changes per second) and the spread of the hip's
    image position in torso lengths (whole-body travel), and the velocity direction of the
    heights (`velocity_direction`, faded by `still_range`). NaN with fewer than
    `MIN_MOTION_FRAMES` frames with a person (photos)."""
    ok = np.isfinite(central[:, 0])
    if ok.sum() < MIN_MOTION_FRAMES:
        return np.append(np.full(len(MOTION_NAMES) - 1, np.nan), 1.0).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sp = np.nanmean(np.abs(np.diff(sides[ok][:, :, _MOTION_SIDE], axis=0)), 0) * fps
        sp = _fill_sides(sp)
        cen = np.nanmean(np.abs(np.diff(central[ok][:, [0, 5]], axis=0)), 0) * fps
        sig = np.concatenate([sides[ok][:, :, _PCA_SIDE].reshape(int(ok.sum()), -1),
                              central[ok][:, _PCA_CENTRAL]], axis=1)
        mean = np.nan_to_num(np.nanmean(sig, 0))
        x = np.where(np.isfinite(sig), sig, mean) - mean
        score = x @ np.linalg.svd(x, full_matrices=False)[2][0]
        cadence = np.count_nonzero(np.diff(np.sign(score)) != 0) * fps / len(score)
        hip_std = np.full(2, np.nan) if image_hip is None else np.nanstd(image_hip[ok], axis=0)
        heights = np.concatenate([np.nanmean(sides[ok][:, :, _VDIR_SIDE], 1),
                                  central[ok][:, _VDIR_CENTRAL]], axis=1)
    return np.concatenate(
        [np.fmax(sp[0], sp[1]), np.fmin(sp[0], sp[1]), cen, [cadence], hip_std,
         velocity_direction(heights, still_range), [0.0]]
    ).astype(np.float32)


def velocity_direction(h: np.ndarray, still_range: float = 0.0) -> np.ndarray:
    """Per height signal of `h (T, D)` (up positive): sum(v |v|) / sum(v^2) of its frame-to-frame
    velocity (3-frame smoothed), in [-1, 1]: > 0 when it rises faster than it falls. A lift's
    concentric phase is usually the faster one and works against the load: hands rise fast in a
    curl and fall fast in a pushdown, two movements whose poses are alike (over a whole wild
    clip the wrists' value mostly has that sign; over one 3 s window it is noisy). Faded by
    `still_gain` (`still_range` > 0): the direction of a signal that hardly moves is its noise's."""
    out = np.full(h.shape[1], np.nan)
    for cols, x in _finite_rows(h.T, MIN_MOTION_FRAMES + 2):
        a = _smooth3(x)
        v = np.diff(a, axis=1)
        e = np.sum(v * v, axis=1)
        moves = e > 1e-12
        d = np.zeros(len(x))
        d[moves] = np.sum(v[moves] * np.abs(v[moves]), axis=1) / e[moves]
        out[cols] = d * _still_gains(a, still_range)
    return out


def _finite_rows(x: np.ndarray, min_len: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The rows of `x (K, T)` with at least `min_len` finite values, grouped by how many they
    have: (row indices, their finite values in order `(rows, n)`) per count. The per-signal
    statistics below then run on whole groups at once, each row's arithmetic the same as on
    that row alone (reductions along contiguous rows, sums in the same order: bit-identical to
    the one-signal loop they replaced, tested)."""
    ok = np.isfinite(x)
    count = ok.sum(1)
    out = []
    for n in np.unique(count[count >= min_len]):
        rows = np.flatnonzero(count == n)
        out.append((rows, x[rows][ok[rows]].reshape(len(rows), int(n))))
    return out


def _smooth3(x: np.ndarray) -> np.ndarray:
    """Each row's `np.convolve(row, np.ones(3) / 3, mode="valid")`, in its order of sums."""
    k = 1.0 / 3.0
    return x[:, :-2] * k + x[:, 1:-1] * k + x[:, 2:] * k


def _percentile_sorted(s: np.ndarray, q: float) -> np.ndarray:
    """`np.percentile(row, q)` (linear, numpy's arithmetic) of each sorted row of `s (K, n)`."""
    n = s.shape[1]
    vi = (n - 1) * (q / 100)
    if vi >= n - 1:
        return s[:, -1].copy()
    lo = int(np.floor(vi))
    g = vi - lo
    a, b = s[:, lo], s[:, lo + 1]
    d = b - a
    return b - d * (1 - g) if g >= 0.5 else a + d * g


def _range_10_90(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's 10th and 90th percentile."""
    s = np.sort(a, axis=1)
    return _percentile_sorted(s, 10), _percentile_sorted(s, 90)


def fade(r: Any, scale: float) -> Any:
    """r^2 / (r^2 + scale^2) of a range r (a float or an array): ~0 well below `scale`, ~1 well
    above it; the fade of `still_gain` and of the clip pooling (`keypose_model.pool_weights`)."""
    return r * r / (r * r + scale * scale)


def _still_gains(a: np.ndarray, still_range: float) -> np.ndarray | float:
    """`still_gain` of each row of `a (K, n)`."""
    if still_range <= 0:
        return 1.0
    lo, hi = _range_10_90(a)
    return fade(hi - lo, still_range)


def still_gain(a: np.ndarray, still_range: float) -> float:
    """r^2 / (r^2 + still_range^2) for the range r of a (smoothed) signal `a` (90th minus 10th
    percentile; 1 when `still_range` is 0). The direction and tempo statistics do not scale
    with how far a signal moves, so for a joint that holds still they measure only the pose
    estimator's noise and jump from one estimate to the next (two trackers a centimetre apart
    give opposite signs); faded by this gain they go smoothly to 0 (neutral) below the
    estimator's noise and keep their value for a real movement."""
    if still_range <= 0:
        return 1.0
    return float(fade(float(np.percentile(a, 90) - np.percentile(a, 10)), still_range))


def _corr_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`np.corrcoef(x[i], y[i])[0, 1]` of each row pair, with its arithmetic (the 2 x 2
    product per pair as `np.cov` makes it, the rest on all rows at once)."""
    m = x.shape[1]
    xy = np.empty((len(x), 2, m))
    xy[:, 0], xy[:, 1] = x, y
    xy -= xy.mean(2)[:, :, None]
    c = np.stack([np.dot(p, p.T.conj()) for p in xy])
    c *= np.true_divide(1, m - 1)
    sd = np.sqrt(c[:, [0, 1], [0, 1]])
    return np.clip(c[:, 0, 1] / sd[:, 0] / sd[:, 1], -1, 1)


def _tempo_rows(x: np.ndarray, still_range: float = 0.0) -> np.ndarray:
    """`TEMPO_NAMES`' four statistics `(K, 4)` of each row of finite values `x (K, n)`
    (n >= `TEMPO_MIN_FRAMES`; 0 for a row that does not move), times `still_gain`."""
    a = _smooth3(x)
    v = np.diff(a, axis=1)
    speed = np.abs(v)
    moving = speed > 0.1 * np.maximum(speed.max(1), 1e-12)[:, None]
    energy = np.sum(v * v, axis=1)
    out = np.zeros((len(x), 4))
    live = np.flatnonzero((energy >= 1e-10) & (moving.sum(1) >= 2))
    if not len(live):
        return out
    a, v, speed, moving, energy = a[live], v[live], speed[live], moving[live], energy[live]
    lo, hi = _range_10_90(a)
    dwell = np.clip((a - lo[:, None]) / np.maximum(hi - lo, 1e-6)[:, None], 0.0, 1.0)
    mid = 0.5 * (a[:, 1:] + a[:, :-1])
    corr = np.zeros(len(a))
    spread = (np.std(mid, axis=1) > 1e-9) & (np.std(speed, axis=1) > 1e-9)
    if spread.any():
        corr[spread] = _corr_rows(speed[spread], mid[spread])
    g = fade(hi - lo, still_range) if still_range > 0 else np.ones(len(a))
    rising = np.sum((v > 0) & moving, axis=1) / np.sum(moving, axis=1)
    out[live] = np.stack([g * np.sum(v * speed, axis=1) / energy, g * (rising - 0.5),
                          g * (dwell.mean(1) - 0.5), g * corr], axis=1)
    return out


def tempo_features(sides: np.ndarray, still_range: float = 0.0) -> np.ndarray:
    """Tempo of one window `(len(TEMPO_NAMES),)` from its side descriptors `(T, 2, D)`: per
    signal of `_TEMPO_SIGNALS`, `TEMPO_NAMES`' four statistics of each side (`_tempo_rows`;
    frames without it skipped, NaN with fewer than `TEMPO_MIN_FRAMES`; faded by
    `still_range`), the mean of the sides (mirror-invariant); 0 where neither side is
    measurable (photos)."""
    rows = sides[:, :, _TEMPO_SIDE].transpose(1, 2, 0).reshape(-1, len(sides))  # side-major
    per = np.full((len(rows), 4), np.nan)
    for idx, x in _finite_rows(rows, TEMPO_MIN_FRAMES):
        per[idx] = _tempo_rows(x, still_range)
    per = per.reshape(2, len(_TEMPO_SIDE), 4)
    return np.nan_to_num(_nanmean(per)).ravel().astype(np.float32)


def image_hip_track(image: np.ndarray) -> np.ndarray:
    """Hip midpoint in the image `(T, 2)` in units of the sequence's median image torso length
    (x and y normalised to the frame; the aspect ratio is ignored)."""
    xy = image[..., :2].astype(np.float64)
    scale = median_torso_length(xy, MEDIAPIPE33, min_length=1e-4, default=1.0)
    return MEDIAPIPE33.midpoint(xy, "hip") / scale


def window_starts(num_frames: int, window: int, stride: int) -> np.ndarray:
    """Start frames of sliding windows; the last window ends at the end; one window at 0 for
    a sequence no longer than `window` (two key-position photos are one window)."""
    if num_frames <= window:
        return np.zeros(1, dtype=np.int64)
    starts = list(range(0, num_frames - window + 1, stride))
    if starts[-1] != num_frames - window:
        starts.append(num_frames - window)
    return np.asarray(starts, dtype=np.int64)


def sequence_windows(
    world: np.ndarray,
    valid: np.ndarray,
    *,
    window: int,
    stride: int,
    min_visibility: float = MIN_VISIBILITY,
    motion: bool = False,
    fps: float = 10.0,
    image: np.ndarray | None = None,
    tempo: bool = False,
    still_range: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window starts `(N,)`, key-pose features `(N, num_features(motion, tempo))` and the
    fraction of each window's frames with a person `(N,)`, for a whole pose sequence (video or
    photos). With `motion`, `motion_features` (at `fps`; `image` landmarks for the hip track)
    follow; with `tempo`, then `tempo_features`; `still_range` fades the direction and tempo
    statistics of signals that hardly move (`still_gain`; 0: not faded)."""
    central, sides = frame_descriptors(world, min_visibility=min_visibility)
    starts = window_starts(len(world), window, stride)
    x = np.stack([window_features(central[s : s + window], sides[s : s + window])
                  for s in starts])
    if motion:
        hip = None if image is None else image_hip_track(image)
        m = np.stack([
            motion_features(central[s : s + window], sides[s : s + window], fps,
                            None if hip is None else hip[s : s + window], still_range)
            for s in starts
        ])
        x = np.concatenate([x, m], axis=1)
    if tempo:
        x = np.concatenate([x, np.stack([tempo_features(sides[s : s + window], still_range)
                                         for s in starts])], axis=1)
    cover = np.array([valid[s : s + window].mean() if len(valid) else 0.0 for s in starts])
    return starts, x, cover
