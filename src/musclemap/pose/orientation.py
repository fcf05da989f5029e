"""Which way is up: a video turned by 90, 180 or 270 degrees in its pixels, found and undone.

MediaPipe Pose is rotation-equivariant: on a turned frame it finds the same person with the same
detection score and visibility, and its image and world landmarks are the upright ones turned
(measured on 15 wild clips x 3 frames x 4 turns: detection score and visibility within noise,
landmarks within 0.005 of the frame size once turned back; world landmarks turned about z within
6 mm). So the detector cannot tell a turned video, and undoing a turn needs no second pose pass:
the landmarks are turned back.

What can tell is the picture of a body under gravity and the scene around it. For each of the
four quarter turns of the landmarks (and of a few frames) two scorers say how upright that turn
looks: a small MLP on the pose (segment directions, where hands, feet and head sit relative to
the body, which way they move, where the body sits in the frame, which parts reach the bottom
or a side of the body; `weights/orientation`, trained by `benchmarks/orientation_gate.py` on the
wild clips and the key-pose photos) and a scene model on the frames (`musclemap.pose.scene`, a
small CNN trained self-supervised to name the quarter turn a picture was given: floors,
ceilings, light). The score of a turn is the pose logit plus `scene_weight` times the scene
score times (1 - the person's share of the frame) ** `scene_area_power` (a close-up leaves
little scene, and fooled the model). The turn with the best score is taken when it beats the
picture as it is by `margin`. A turn that leads by less, but by more than `doubt`, is not taken
but said: the video is `uncertain` (the lying and horizontal exercises the scorers miss mostly
land here, so a missed turn is not a silent one). Otherwise the video is left as it is.
Weights may also hold an older frame scorer (an MLP on a 4x4 grid of brightness, colour and
edges, `frame_weight`; it had learnt the scenes of the clips' sources and turned upright videos
of gyms it never saw, so the shipped weights have none) and a second look of the scene model
alone (`scene_doubt`: a video left upright is `uncertain` when the scene alone puts a turn ahead
by more than that; off in the shipped weights). Pure numpy at prediction time.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.data.pose_sequence import PoseSequence
from musclemap.errors import ConfigError
from musclemap.pose.scene import SceneModel

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "orientation.safetensors"
VISIBLE = 0.5
# Body segments (from joints -> to joints, each the mean of its points) whose direction in the
# picture says which way is up; left and right apart.
SEGMENTS = (
    ((23, 24), (11, 12)),  # torso: hips -> shoulders
    ((11, 12), (0,)),  # neck: shoulders -> nose
    ((2, 5), (9, 10)),  # face: eyes -> mouth
    ((11,), (13,)), ((12,), (14,)),  # upper arms
    ((13,), (15,)), ((14,), (16,)),  # forearms
    ((23,), (25,)), ((24,), (26,)),  # thighs
    ((25,), (27,)), ((26,), (28,)),  # shins
    ((29,), (31,)), ((30,), (32,)),  # feet: heel -> toes
    ((15,), (19,)), ((16,), (20,)),  # hands: wrist -> index
)  # fmt: skip
POINTS = ((0,), (15, 16), (13, 14), (11, 12), (25, 26), (27, 28), (29, 30, 31, 32))
# What holds the body up: the groups of points (head, hands, elbows, shoulders, hips, knees,
# feet) that reach the bottom of the body, or one side of it, within `SUPPORT_REACH` (in body
# scales). Upright, a plank rests on hands and feet at the bottom, its back lined up at the top;
# turned 90 degrees it looks almost like a standing body, but with its back lined up along one
# side and its hands and feet along the other.
SUPPORT_GROUPS = (
    (0, 7, 8), (15, 16, 17, 18, 19, 20, 21, 22), (13, 14), (11, 12), (23, 24), (25, 26),
    (27, 28, 29, 30, 31, 32),
)  # fmt: skip
HANDS, FEET = 1, 6  # their places in SUPPORT_GROUPS
SUPPORT_REACH = 0.3
NUM_SUPPORT_FEATURES = 2 * len(SUPPORT_GROUPS) + 9
NUM_POSE_FEATURES = 2 * len(SEGMENTS) + 3 * len(POINTS) + 7 + NUM_SUPPORT_FEATURES
GRID = 4
NUM_GRID_FEATURES = 4 * GRID * GRID


# -- turning -----------------------------------------------------------------------------------


def turn_image_landmarks(image: np.ndarray, quarter_turns: int) -> np.ndarray:
    """Image landmarks `(..., 33, 3)` as they are in the frame turned by `np.rot90(k)`
    (counter-clockwise quarter turns; x, y normalised to the frame)."""
    out = image.copy()
    for _ in range(quarter_turns % 4):
        x, y = out[..., 0].copy(), out[..., 1].copy()
        out[..., 0], out[..., 1] = y, 1.0 - x
    return out


def turn_world_landmarks(world: np.ndarray, quarter_turns: int) -> np.ndarray:
    """World landmarks `(..., 33, 4)` (x right, y down, metres) turned with the camera image."""
    out = world.copy()
    for _ in range(quarter_turns % 4):
        x, y = out[..., 0].copy(), out[..., 1].copy()
        out[..., 0], out[..., 1] = y, -x
    return out


def turn_sequence(seq: PoseSequence, quarter_turns: int) -> PoseSequence:
    """The poses the frames turned by `np.rot90(quarter_turns)` give (MediaPipe's equivariance:
    see the module docstring), without estimating them again."""
    k = quarter_turns % 4
    width, height = (seq.width, seq.height) if k % 2 == 0 else (seq.height, seq.width)
    return PoseSequence(
        image=turn_image_landmarks(seq.image, k),
        world=turn_world_landmarks(seq.world, k),
        valid=seq.valid.copy(),
        times=seq.times.copy(),
        fps=seq.fps,
        width=width,
        height=height,
        layout=seq.layout,
        num_people=seq.num_people,
        source=seq.source,
        extra=dict(seq.extra),
    )


# -- features ----------------------------------------------------------------------------------


def _frame_means(cols: list[np.ndarray]) -> np.ndarray:
    """`np.nanmean` of each 1-D series in `cols` (over the frames; NaN where all are NaN), all
    at once: one row each in a C-contiguous array, summed along its row, which numpy sums as it
    sums a 1-D array (pairwise): the same values, bit for bit, as a call per series. (Warnings
    of all-NaN rows are the caller's to silence.)"""
    x = np.stack(cols)
    seen = ~np.isnan(x)
    return np.where(seen, x, 0.0).sum(1) / seen.sum(1)


def _group_means(x: np.ndarray, groups: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """`np.nanmean(x[:, list(g)], 1)` of each group of points of `x (T, 33, 2)`, stacked
    `(T, len(groups), 2)`: groups of one or two points at once (a sum of two is the same in
    any order), larger ones (whose sum depends on its order) each by `np.nanmean`."""
    first = x[:, [g[0] for g in groups]]
    second = x[:, [g[-1] for g in groups]]
    two = np.array([len(g) == 2 for g in groups])[None, :, None]
    seen1, seen2 = ~np.isnan(first), ~np.isnan(second) & two
    tot = np.where(seen1, first, 0.0) + np.where(seen2, second, 0.0)
    out = tot / (seen1.astype(np.intp) + seen2)
    for i, g in enumerate(groups):
        if len(g) > 2:
            out[:, i] = np.nanmean(x[:, list(g)], 1)
    return out


def pose_features(
    image: np.ndarray, valid: np.ndarray, width: int, height: int
) -> np.ndarray | None:
    """How a pose sequence sits in its frame `(NUM_POSE_FEATURES,)`; NaN where unseen, None
    without a measurable body. Mirror-invariant (|x|, y): a mirrored video is still upright.
    Its means over frames are taken together (`_frame_means`), with the arithmetic of a mean
    per feature (the same values bit for bit, tested)."""
    img = image[valid]
    if len(img) == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, fine here
        return _pose_features(img, width, height)


def _pose_features(img: np.ndarray, width: int, height: int) -> np.ndarray | None:
    pts = img[..., :2].astype(np.float64) * (width, height)  # pixels: the aspect counts
    pts[np.nan_to_num(img[..., 2]) < VISIBLE] = np.nan
    centre = np.nanmean(pts[:, [23, 24, 11, 12]], axis=1)  # (T, 2)
    rel = pts - centre[:, None]
    scale = np.nanmedian(np.sqrt(np.nanmean(np.nansum(rel**2, -1), axis=1)))
    if not np.isfinite(scale) or scale <= 0:
        return None
    rel /= scale
    v = _group_means(pts, _SEGMENT_ENDS) - _group_means(pts, _SEGMENT_STARTS)  # (T, S, 2)
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    series = [c for i in range(len(SEGMENTS)) for c in (v[:, i, 1], np.abs(v[:, i, 0]))]
    p = _group_means(rel, POINTS)  # (T, points, 2)
    series += [c for i in range(len(POINTS)) for c in (p[:, i, 1], np.abs(p[:, i, 0]))]
    frame = pts / (width, height)
    series += [
        np.nanmax(rel[..., 1], 1), np.nanmin(rel[..., 1], 1), np.nanmax(np.abs(rel[..., 0]), 1),
        np.nanmean(frame[:, [23, 24], 1], 1), np.nanmax(frame[..., 1], 1),
        np.nanmin(frame[..., 1], 1),
    ]  # fmt: skip
    support, support_series = _support_parts(rel)
    means = _frame_means(series + support_series)
    # Which way the points move: up-down against sideways (column by column in frame order,
    # as a call per group of points sums them).
    sd = np.nanstd(p.reshape(len(p), -1), axis=0).reshape(-1, 2) if len(p) > 2 else None
    out: list[float] = list(means[: 2 * len(SEGMENTS)])
    k = 2 * len(SEGMENTS)
    for i in range(len(POINTS)):
        out += [means[k + 2 * i], means[k + 2 * i + 1]]
        out.append(np.nan if sd is None else float(np.log((sd[i, 1] + 0.02) / (sd[i, 0] + 0.02))))
    k += 2 * len(POINTS)
    out += [*means[k : k + 6], float(np.log(width / height)), *support, *means[k + 6 :]]
    return np.array(out, np.float64)


_SEGMENT_STARTS = tuple(a for a, _ in SEGMENTS)
_SEGMENT_ENDS = tuple(b for _, b in SEGMENTS)
# SUPPORT_GROUPS as one index array, each group padded with its own first point (a maximum
# over a point twice is the same maximum).
_SUPPORT_INDEX = np.array([g + (g[0],) * (8 - len(g)) for g in SUPPORT_GROUPS])


def support_features(rel: np.ndarray) -> list[float]:
    """`NUM_SUPPORT_FEATURES` of body-scaled points `(T, 33, 2)` (NaN where unseen): per group
    of `SUPPORT_GROUPS`, how often it reaches the bottom and the side most groups reach (of
    left and right: mirror-invariant); how many groups reach the bottom, the top, that side and
    the other; how often hands and feet both reach the bottom, and that side; the feet's height
    below the hands, their sideways distance; how far the lowest point is below the hips."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        support, series = _support_parts(rel)
        return [*support, *_frame_means(series)]


def _support_parts(rel: np.ndarray) -> tuple[list[Any], list[np.ndarray]]:
    """`support_features` in two parts: the share of frames in which each group reaches the
    bottom and the side (counts of 0 and 1: exact in any order) and the per-frame series whose
    means over frames are the rest (`_frame_means`, taken with the pose features')."""
    # Down, up, right, left: the points projected on each direction; the reach of each group.
    proj = np.stack([rel[..., 1], -rel[..., 1], rel[..., 0], -rel[..., 0]])  # (4, T, 33)
    reach = np.nanmax(proj[:, :, _SUPPORT_INDEX], -1)  # (4, T, groups)
    top = np.nanmax(reach, -1, keepdims=True)
    near = np.where(np.isnan(reach), 0.0, reach >= top - SUPPORT_REACH)
    down, up, right, left = near
    right_more = right.sum(1) >= left.sum(1)
    side = np.where(right_more[:, None], right, left)
    other = np.where(right_more[:, None], left, right)
    hands, feet = (15, 16, 19, 20), (29, 30, 31, 32)
    hand, foot = np.nanmean(rel[:, hands], 1), np.nanmean(rel[:, feet], 1)  # (T, 2)
    hips = np.nanmean(rel[:, [23, 24], 1], 1)
    series = [
        down.sum(1), up.sum(1), side.sum(1), other.sum(1),
        down[:, HANDS] * down[:, FEET], side[:, HANDS] * side[:, FEET],
        foot[:, 1] - hand[:, 1], np.abs(foot[:, 0] - hand[:, 0]),
        np.nanmax(rel[..., 1], 1) - hips,
    ]  # fmt: skip
    return [*np.nanmean(np.concatenate([down, side], 1), 0)], series


def person_area(seq: PoseSequence) -> float | None:
    """The share of the frame the person's box (its seen landmarks) covers, median over the
    frames; the same in every quarter turn. None without a seen landmark."""
    img = seq.image[seq.valid]
    pts = np.clip(img[..., :2].astype(np.float64), 0.0, 1.0)
    pts[np.nan_to_num(img[..., 2]) < VISIBLE] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with nothing seen: NaN
        span = np.nanmax(pts, 1) - np.nanmin(pts, 1)  # (T, 2)
        area = float(np.nanmedian(span[:, 0] * span[:, 1])) if len(img) else np.nan
    return area if np.isfinite(area) else None


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """A frame shrunk to 64x64 (area average): all the frame features look at."""
    import cv2

    return cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_AREA)


def frame_features(small: np.ndarray) -> np.ndarray:
    """`(NUM_GRID_FEATURES,)` of one (turned) `thumbnail`: a 4x4 grid of brightness,
    colourfulness, edges and horizontal-minus-vertical edges, each standardised over the grid."""
    import cv2

    small = small.astype(np.float32)
    lum = small.mean(2)
    sat = small.max(2) - small.min(2)
    gx = np.abs(np.diff(lum, axis=1))[:-1]
    gy = np.abs(np.diff(lum, axis=0))[:, :-1]
    out = []
    for a in (lum, sat, gx + gy, gx - gy):
        cells = cv2.resize(np.ascontiguousarray(a), (GRID, GRID), interpolation=cv2.INTER_AREA)
        out.append(((cells - cells.mean()) / (cells.std() + 1e-3)).ravel())
    return np.concatenate(out).astype(np.float64)


def turned_pose_features(seq: PoseSequence) -> np.ndarray | None:
    """Pose features of the sequence turned by 0, 1, 2, 3 quarter turns `(4, F)`, or None."""
    rows = []
    for k in range(4):
        w, h = (seq.width, seq.height) if k % 2 == 0 else (seq.height, seq.width)
        f = pose_features(turn_image_landmarks(seq.image, k), seq.valid, w, h)
        if f is None:
            return None
        rows.append(f)
    return np.stack(rows)


def turned_frame_features(
    frames: list[np.ndarray], model: OrientationModel | None = None
) -> np.ndarray | None:
    """Frame features averaged over `frames`, for each of the four turns
    `(4, model.num_frame_features)`, or None: the grid's (`frame_features`, only when `model`,
    the default one, has a frame scorer) and its scene score (0 without a scene model) last.
    The thumbnail is turned, not the frame: the same pixels, 100x fewer."""
    if not frames:
        return None
    model = model or default_model()
    small = [thumbnail(f) for f in frames]
    scene = model.scene
    seen = np.zeros(4) if scene is None else scene.upright_scores(np.stack(small)).mean(0)
    if model.frame is None:
        return seen[:, None]
    return np.concatenate([turned_grid_features(small), seen[:, None]], axis=1)


def turned_grid_features(thumbs: list[np.ndarray]) -> np.ndarray:
    """`frame_features` of `thumbnail`s averaged over them, for each of the four turns
    `(4, NUM_GRID_FEATURES)`."""
    return np.stack(
        [np.mean([frame_features(np.rot90(t, k)) for t in thumbs], 0) for k in range(4)]
    )


# -- the scorer --------------------------------------------------------------------------------


@dataclass
class Mlp:
    """Standardise, one ReLU layer, a logit: the forward of a scikit-learn MLPClassifier."""

    mean: np.ndarray
    std: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def logit(self, x: np.ndarray) -> np.ndarray:
        z = (np.nan_to_num(x) - self.mean) / self.std
        return (np.maximum(z @ self.w1 + self.b1, 0.0) @ self.w2 + self.b2).ravel()


@dataclass
class OrientationModel:
    """The pose scorer, the frame scorer (None in weights without one: its grid features are not
    computed), the scene model (None in weights without one) and the weights of their scores,
    the margin a turn must win by to be taken and the lead (`doubt`, below `margin`) above which
    a turn not taken is still said (`uncertain`)."""

    pose: Mlp
    frame: Mlp | None
    margin: float
    doubt: float
    meta: dict[str, Any]
    scene: SceneModel | None = None
    scene_weight: float = 0.0
    frame_weight: float = 1.0
    scene_doubt: float = np.inf  # the scene score's own lead that makes a video `uncertain`
    # The scene score is weighted by (1 - person_area) ** scene_area_power: the less of the
    # picture the person leaves, the less scene there is to see (close-ups fooled it).
    scene_area_power: float = 0.0

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> OrientationModel:
        from safetensors.numpy import load_file

        meta_path = path.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("sha256") != hashlib.sha256(path.read_bytes()).hexdigest():
                raise ValueError("checksum mismatch: file damaged or replaced")
            t = load_file(str(path))
            weights = (
                float(meta.get("scene_weight", 0.0)),
                float(meta.get("frame_weight", 1.0)),
                float(meta.get("scene_doubt", np.inf)),  # JSON's Infinity
                float(meta.get("scene_area_power", 0.0)),
            )
            # A frame weight of 0: no frame scorer in the file, nor its features computed.
            mlps = {
                name: Mlp(*(t[f"{name}.{k}"] for k in ("mean", "std", "w1", "b1", "w2", "b2")))
                for name in ("pose", "frame")
                if name == "pose" or weights[1] != 0.0
            }
            margin, doubt = float(meta["margin"]), float(meta["doubt"])
            if mlps["pose"].mean.shape != (NUM_POSE_FEATURES,):
                raise ValueError(
                    f"made for {mlps['pose'].mean.shape[0]} pose features, this version "
                    f"computes {NUM_POSE_FEATURES}"
                )
            scene = SceneModel.from_tensors(t, "scene.") if "scene_weight" in meta else None
        except (OSError, KeyError, ValueError, TypeError) as err:
            raise ConfigError(f"{path}: orientation weights unreadable ({err})") from None
        return cls(mlps["pose"], mlps.get("frame"), margin, doubt, meta, scene, *weights)

    @property
    def num_frame_features(self) -> int:
        """Columns of `turned_frame_features` for this model: the grid's, then the scene's."""
        return (NUM_GRID_FEATURES if self.frame is not None else 0) + 1

    def scene_share(self, area: float | None) -> float:
        """The scene score's weight for a person covering `area` of the frame."""
        if area is None or not self.scene_area_power:
            return self.scene_weight
        return self.scene_weight * (1.0 - min(max(area, 0.0), 1.0)) ** self.scene_area_power

    def scores(
        self, pose: np.ndarray | None, frames: np.ndarray | None, area: float | None = None
    ) -> np.ndarray | None:
        """How upright each quarter turn looks `(4,)` (summed logits; `frames` as
        `turned_frame_features` gives them, `area` as `person_area`), None without a pose."""
        if pose is None:
            return None
        s = self.pose.logit(pose)
        if frames is None:
            return s
        if self.frame is not None:
            s = s + self.frame_weight * self.frame.logit(frames[:, :NUM_GRID_FEATURES])
        return s + self.scene_share(area) * frames[:, -1]


_MODEL: dict[str, OrientationModel] = {}


def default_model() -> OrientationModel:
    if "default" not in _MODEL:
        _MODEL["default"] = OrientationModel.load()
    return _MODEL["default"]


@dataclass
class Orientation:
    """How the picture is turned, and the turn that makes it upright."""

    state: str  # upright | turned | uncertain | unknown | set (by the user)
    quarter_turns: int  # counter-clockwise np.rot90 turns that make the picture upright
    scores: np.ndarray | None  # (4,) how upright each turn looks
    detail: str
    candidate: int = 0  # uncertain: the turn that might make it upright (not applied)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "state": self.state,
            "rotated_deg": 90 * self.quarter_turns,
            "scores": None if self.scores is None else [round(float(s), 2) for s in self.scores],
            "detail": self.detail,
        }
        if self.state == "uncertain":
            out["candidate_deg"] = 90 * self.candidate
        return out


def decide(
    scores: np.ndarray | None,
    margin: float,
    *,
    doubt: float,
    checked: str,
    scene: np.ndarray | None = None,
    scene_doubt: float = np.inf,
) -> Orientation:
    """The turn with the best score when it beats no turn by more than `margin`; no turn, but
    `uncertain` with that turn as the candidate, when it beats no turn by more than `doubt`
    only, or when the scene model's own scores `scene` (4,) put a turn ahead of no turn by more
    than `scene_doubt` (the picture alone says it is turned, the body does not); else no turn
    (`upright`)."""
    if scores is None:
        return Orientation("unknown", 0, None, "too little of the body seen to tell")
    best = 1 + int(np.argmax(scores[1:]))
    lead = float(scores[best] - scores[0])
    if lead <= doubt and scene is not None:
        seen = 1 + int(np.argmax(scene[1:]))
        if float(scene[seen] - scene[0]) > scene_doubt:
            return Orientation(
                "uncertain",
                0,
                scores,
                f"the picture may be turned {90 * ((4 - seen) % 4)} degrees counter-clockwise "
                f"({checked}; the scene alone leads by {float(scene[seen] - scene[0]):.1f} > "
                f"{scene_doubt:g}, the whole by {lead:.1f}): the poses were scored as filmed",
                candidate=seen,
            )
    if lead <= doubt:
        return Orientation("upright", 0, scores, f"upright ({checked})")
    if lead <= margin:
        return Orientation(
            "uncertain",
            0,
            scores,
            f"the picture may be turned {90 * ((4 - best) % 4)} degrees counter-clockwise "
            f"({checked}; lead {lead:.1f}, over {doubt:g} but not over {margin:g}): the poses "
            "were scored as filmed",
            candidate=best,
        )
    return Orientation(
        "turned",
        best,
        scores,
        f"the picture looks turned {90 * ((4 - best) % 4)} degrees counter-clockwise "
        f"({checked}; lead {lead:.1f} > {margin:g}): the poses were turned back",
    )


ROTATIONS = (0, 90, 180, 270)  # what a user may ask for (`--rotate`), clockwise degrees
# `predict --rotate` and the web app's `rotate` field: `auto` (the check decides) or a rotation.
ROTATE_CHOICES = ("auto", *map(str, ROTATIONS))


def rotation_of(choice: str) -> int | None:
    """A `ROTATE_CHOICES` entry as degrees clockwise, or None for `auto`.

    Raises:
        ValueError: Not one of `ROTATE_CHOICES`.
    """
    if choice not in ROTATE_CHOICES:
        raise ValueError(f"{choice!r} is not one of {', '.join(ROTATE_CHOICES)}")
    return None if choice == "auto" else int(choice)


def requested(clockwise_deg: int) -> Orientation:
    """The turn a user asked for (`predict --rotate`): `clockwise_deg` clockwise, unchecked."""
    if clockwise_deg not in ROTATIONS:
        allowed = ", ".join(map(str, ROTATIONS))
        raise ValueError(f"rotate must be one of {allowed} degrees clockwise, got {clockwise_deg}")
    k = (-clockwise_deg // 90) % 4  # as counter-clockwise quarter turns, like the check's
    detail = (
        f"turned {clockwise_deg} degrees clockwise, as asked" if k else "scored as filmed, as asked"
    )
    return Orientation("set", k, None, detail)


def estimate_orientation(
    seq: PoseSequence,
    *,
    frame_features: np.ndarray | None = None,
    model: OrientationModel | None = None,
) -> Orientation:
    """Orientation of a video from its poses and, when given, `turned_frame_features` of a few
    of its frames."""
    model = model or default_model()
    pose = turned_pose_features(seq)
    checked = "pose and frames" if frame_features is not None else "pose only"
    scores = model.scores(pose, frame_features, person_area(seq))
    scene = None if frame_features is None else frame_features[:, -1]
    return decide(
        scores,
        model.margin,
        doubt=model.doubt,
        checked=checked,
        scene=scene,
        scene_doubt=model.scene_doubt,
    )
