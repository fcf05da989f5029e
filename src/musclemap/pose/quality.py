"""Input quality gates for `predict`: resolution, pose confidence, orientation, several people.

MediaPipe Pose finds a person in almost any picture (a 10x10 video, a video turned on its side
or upside down, one of two people), and the window model then answers confidently for the
wrong input. These checks run around pose extraction (`Predictor.predict`):

- resolution: a video whose shorter side is under `MIN_SIDE` pixels is refused;
- pose confidence: the mean visibility of the 12 limb joints; under `MIN_CONFIDENCE` refused,
  under `LOW_CONFIDENCE` noted;
- orientation: the torso direction in the picture (hips -> shoulders) tells upright, upside
  down and sideways apart. Upside down with the hands above the head (not a handstand) is
  turned upright; sideways with the movement along the body axis (a standing exercise filmed or
  stored on its side; a lying exercise moves across its body axis, against gravity) is turned
  upright. The poses are then extracted again from rotated frames;
- several people: a few frames are decoded, the followed person is masked out and the pose
  detector runs again; a second confident person is counted (`people`, and a note).

Every check lands in the `quality` block of the prediction JSON. Pure functions on arrays, plus
`RotatedEstimator` and `assess_video`, which decode frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.data.pose_sequence import PoseFrame, PoseSequence
from musclemap.errors import NoPersonError, VideoError
from musclemap.pose.estimator import PoseEstimator

# MediaPipe upsamples the person to a 256x256 crop, so small videos still give a "person" (a
# 10x10 video scored upper_back 0.88). A wild bicep curl (640x360) downscaled to a shorter side
# of 64 / 48 / 32 px kept its top groups (mean |delta p| 0.024 / 0.029 / 0.031) but at 32 px
# pose coverage fell to 0.55 and calves appeared; at 16 px no person was found.
MIN_SIDE = 48
# Mean visibility of the limb joints (MediaPipe's own estimate that a landmark is in view).
MIN_CONFIDENCE = 0.2
LOW_CONFIDENCE = 0.5
NOSE, L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST, L_HIP, R_HIP = 0, 11, 12, 15, 16, 23, 24
LIMBS = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)  # shoulders ... ankles
MOVING = (0, 11, 12, 13, 14, 15, 16, 23, 24)  # head, arms and hips: what an exercise moves
# Orientation needs this many frames with a visible torso, and the torso within 45 degrees of
# one direction in this share of them.
MIN_TORSO_FRAMES = 3
AGREEMENT = 0.6
# Sideways: the movement along the body axis must be at least this fraction of the torso length
# (a still plank proves nothing).
# Evidence = log(along / across) + how much the upper arms hang along the body. Tuned on the
# poses of 104 wild clips (standing clips turned 90/270 vs lying clips): >= 1.1 caught about half
# of the turned ones and 7% of the lying ones. On all 180: 2 unturned clips turned wrongly.
SIDEWAYS_EVIDENCE = 1.1
# Sideways means the torso within this many degrees of horizontal, upside down within this many
# of straight down: a standing person turned by the camera is nearly exact, while slanted bodies
# (pike push-up, decline bench, bent-over row) are real poses.
SIDE_BAND = 25
INVERTED_BAND = 30
MIN_MOTION = 0.08
# A second person: torso landmarks at least this visible, outside the masked first person.
PERSON_VISIBILITY = 0.7
PEOPLE_FRAMES = 3


def check_resolution(width: int, height: int, *, name: str = "video") -> dict[str, Any]:
    """The resolution entry of the quality block; VideoError when too small to pose."""
    if min(width, height) < MIN_SIDE:
        raise VideoError(
            f"{name}: {width}x{height} pixels is too small to estimate a pose; need at least "
            f"{MIN_SIDE} pixels on the shorter side"
        )
    return {"width": int(width), "height": int(height), "min_side": MIN_SIDE, "ok": True}


def check_video(path: Path) -> dict[str, Any]:
    """Gates that need no pose (resolution), run before the costly extraction."""
    from musclemap.data.video_io import probe

    info = probe(path)
    return check_resolution(info.width, info.height, name=str(path))


def pose_confidence(seq: PoseSequence) -> float:
    """Mean visibility of the limb joints over the frames with a person (0 when none)."""
    if not seq.valid.any():
        return 0.0
    return float(np.nanmean(seq.image[seq.valid][:, LIMBS, 2]))


def check_confidence(seq: PoseSequence, *, name: str = "video") -> dict[str, Any]:
    """The pose-confidence entry; NoPersonError under MIN_CONFIDENCE."""
    conf = pose_confidence(seq)
    if seq.valid.any() and conf < MIN_CONFIDENCE:
        raise NoPersonError(
            f"{name}: pose confidence {conf:.2f} (mean landmark visibility) is under "
            f"{MIN_CONFIDENCE}; the person is too unclear to estimate muscles"
        )
    return {"value": round(conf, 3), "min": MIN_CONFIDENCE, "low": conf < LOW_CONFIDENCE}


def torso_angles(image: np.ndarray, valid: np.ndarray, width: int, height: int) -> np.ndarray:
    """Direction of hips -> shoulders in degrees per frame with a visible torso.

    0 is shoulders straight above the hips, 90 shoulders to the right, +-180 upside down
    (image y points down; pixels, so the aspect ratio counts).
    """
    torso = image[:, [L_SHOULDER, R_SHOULDER, L_HIP, R_HIP]]
    seen = valid & (np.nan_to_num(torso[:, :, 2]) >= 0.5).all(1)
    scale = np.array([width, height], np.float64)
    shoulders = torso[seen, :2, :2].mean(1) * scale
    hips = torso[seen, 2:, :2].mean(1) * scale
    v = shoulders - hips
    return np.degrees(np.arctan2(v[:, 0], -v[:, 1]))


def rotate_landmarks(image: np.ndarray, quarter_turns: int) -> np.ndarray:
    """Image landmarks `(..., 33, 3)` as they are in the frame turned by `np.rot90(k)`
    (counter-clockwise quarter turns)."""
    out = image.copy()
    for _ in range(quarter_turns % 4):
        x, y = out[..., 0].copy(), out[..., 1].copy()
        out[..., 0], out[..., 1] = y, 1.0 - x
    return out


@dataclass
class Orientation:
    """How the person lies in the picture, and the turn that makes them upright."""

    state: str  # upright | upside_down | sideways | lying | handstand | unknown
    quarter_turns: int  # counter-clockwise np.rot90 turns to apply to the frames (0: keep)
    angle: float | None  # median torso direction, degrees (see torso_angles)
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "rotated_deg": 90 * self.quarter_turns,
            "torso_angle_deg": None if self.angle is None else round(self.angle, 1),
            "detail": self.detail,
        }


def _circular_median(angles: np.ndarray) -> float:
    mean = math.degrees(
        math.atan2(np.sin(np.radians(angles)).mean(), np.cos(np.radians(angles)).mean())
    )
    spread = (angles - mean + 180) % 360 - 180
    return float((mean + np.median(spread) + 180) % 360 - 180)


def _axis_motion(
    image: np.ndarray, valid: np.ndarray, width: int, height: int, axis_deg: float
) -> tuple[float, float]:
    """Spread of the moving joints along and across the body axis, in torso lengths."""
    pts = image[valid][:, MOVING, :2].astype(np.float64) * (width, height)  # (T, J, 2)
    vis = image[valid][:, MOVING, 2]
    pts[np.nan_to_num(vis) < 0.5] = np.nan
    torso = image[valid][:, [L_SHOULDER, R_SHOULDER, L_HIP, R_HIP], :2] * (width, height)
    length = np.nanmedian(np.linalg.norm(torso[:, :2].mean(1) - torso[:, 2:].mean(1), axis=1))
    if not np.isfinite(length) or length <= 0:
        return 0.0, 0.0
    a = math.radians(axis_deg)
    along = np.array([math.sin(a), -math.cos(a)])
    across = np.array([math.cos(a), math.sin(a)])
    spread = [
        float(np.nansum(np.nanstd(pts @ d, axis=0))) / (len(MOVING) * length)
        for d in (along, across)
    ]
    return spread[0], spread[1]


def estimate_orientation(seq: PoseSequence) -> Orientation:
    """Upright, upside down or sideways, from the torso direction and the movement.

    Sideways is ambiguous: a push-up filmed upright and a curl filmed on its side both show a
    horizontal torso. Exercises move against gravity, so movement along the body axis means the
    axis is gravity's (the picture is turned); movement across it, or none, means a lying
    exercise, left as it is.
    """
    angles = torso_angles(seq.image, seq.valid, seq.width, seq.height)
    if len(angles) < MIN_TORSO_FRAMES:
        return Orientation("unknown", 0, None, "too few frames with a visible torso")
    angle = _circular_median(angles)
    if float(np.mean(np.abs(angles) < 45)) >= AGREEMENT:
        return Orientation("upright", 0, angle, "torso upright")
    if float(np.mean(np.abs(angles) > 180 - INVERTED_BAND)) >= AGREEMENT:
        img = seq.image[seq.valid]
        wrists_y = np.nanmean(img[:, [L_WRIST, R_WRIST], 1], axis=1)
        hands_down = float(np.nanmean(wrists_y > img[:, NOSE, 1]))
        if hands_down >= 0.5:
            return Orientation(
                "handstand", 0, angle, "upside down with the hands below the head: a handstand"
            )
        if not _legs_straight_up(img):  # e.g. a decline bench press: knees bent over a pad
            return Orientation("unknown", 0, angle, "head down with bent legs: left as it is")
        return Orientation(
            "upside_down", 2, angle, "upside down with the hands above the head: turned 180"
        )
    side = float(np.mean((np.abs(angles) >= 90 - SIDE_BAND) & (np.abs(angles) <= 90 + SIDE_BAND)))
    if side < AGREEMENT:
        return Orientation("unknown", 0, angle, "torso slanted or changing: left as it is")
    along, across = _axis_motion(seq.image, seq.valid, seq.width, seq.height, angle)
    hang = _arms_along_body(seq.image[seq.valid], seq.width, seq.height, angle)
    evidence = math.log(max(along, 1e-6) / max(across, 1e-6)) + hang
    if along >= MIN_MOTION and evidence >= SIDEWAYS_EVIDENCE:
        turns = 1 if angle > 0 else 3  # head to the right: turn counter-clockwise
        return Orientation(
            "sideways",
            turns,
            angle,
            f"body on its side, moving along its axis ({along:.2f} vs {across:.2f} across) "
            f"with the upper arms along it ({hang:.2f}): turned {90 * turns}",
        )
    return Orientation(
        "lying",
        0,
        angle,
        f"body horizontal, moving {along:.2f} along its axis and {across:.2f} across, upper "
        f"arms along it {hang:.2f}: taken as a lying exercise",
    )


def _arms_along_body(img: np.ndarray, width: int, height: int, axis_deg: float) -> float:
    """Mean cosine between the upper arms (shoulder -> elbow) and the torso towards the hips:
    1 when the arms hang by the body as in most standing exercises."""
    pts = img[..., :2].astype(np.float64) * (width, height)
    seen = np.nan_to_num(img[:, [11, 12, 13, 14], 2]).min(1) >= 0.5
    if not seen.any():
        return 0.0
    upper = pts[seen][:, [13, 14]] - pts[seen][:, [11, 12]]
    upper /= np.maximum(np.linalg.norm(upper, axis=2, keepdims=True), 1e-9)
    a = math.radians(axis_deg)
    to_hips = np.array([-math.sin(a), math.cos(a)])
    return float(np.mean(upper @ to_hips))


def _legs_straight_up(img: np.ndarray) -> bool:
    """Ankles above knees above hips in most frames where the legs are seen (True if never)."""
    legs = img[:, [23, 24, 25, 26, 27, 28]]  # hips, knees, ankles (left, right)
    seen = (np.nan_to_num(legs[:, :, 2]) >= 0.5).all(1)
    if seen.mean() < 0.5:
        return True  # an upper-body clip: no evidence either way
    y = legs[seen, :, 1].reshape(-1, 3, 2).mean(2)  # (T, hip/knee/ankle)
    return bool(np.mean((y[:, 2] < y[:, 1]) & (y[:, 1] < y[:, 0])) >= 0.5)


class RotatedEstimator:
    """A pose estimator that sees every frame turned by `quarter_turns` (np.rot90).

    Its settings include the turn, so its poses are cached apart from the unrotated ones.
    Without an `inner` estimator it opens (and closes) a MediaPipe one.
    """

    def __init__(self, inner: PoseEstimator | None, quarter_turns: int) -> None:
        if inner is None:
            from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

            inner = MediaPipePoseEstimator()
            self._own = True
        else:
            self._own = False
        self.inner = inner
        self.quarter_turns = quarter_turns % 4
        self.name = inner.name
        self.layout = inner.layout  # the turn moves joints, not which joints there are

    def settings(self) -> dict[str, Any]:
        return {**self.inner.settings(), "rotate_ccw_deg": 90 * self.quarter_turns}

    def reset(self) -> None:
        reset = getattr(self.inner, "reset", None)
        if callable(reset):
            reset()

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        return self.inner.estimate(np.ascontiguousarray(np.rot90(frame_rgb, self.quarter_turns)))

    def close(self) -> None:
        if self._own:
            self.inner.close()


def mask_person(frame: np.ndarray, landmarks: np.ndarray, *, margin: float = 0.25) -> np.ndarray:
    """The frame with the person's landmark box (grown by `margin`) filled with grey."""
    h, w = frame.shape[:2]
    pts = landmarks[np.isfinite(landmarks[:, :2]).all(1), :2] * (w, h)
    out = frame.copy()
    if len(pts) == 0:
        return out
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    dx, dy = (x1 - x0) * margin + 0.02 * w, (y1 - y0) * margin + 0.02 * h
    xa, xb = int(max(0, x0 - dx)), int(min(w, x1 + dx + 1))
    ya, yb = int(max(0, y0 - dy)), int(min(h, y1 + dy + 1))
    out[ya:yb, xa:xb] = 127
    return out


def other_person_seen(frame: np.ndarray, followed: np.ndarray, estimator: PoseEstimator) -> bool:
    """Whether the detector finds a confident person once the followed one is masked out."""
    reset = getattr(estimator, "reset", None)
    if callable(reset):
        reset()  # a fresh detection, not tracking from the previous frame
    found = estimator.estimate(mask_person(frame, followed))
    if found is None:
        return False
    torso = found.image[[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP]]
    return bool(np.nan_to_num(torso[:, 2]).mean() >= PERSON_VISIBILITY)


def _frames_at(
    path: Path, seq: PoseSequence, indices: list[int], turns: int
) -> Iterator[tuple[int, np.ndarray]]:
    """The decoded (turned) frames at the sequence's indices."""
    from musclemap.data.video_io import iter_frames
    from musclemap.pose.sequential import DEFAULT_MAX_SIDE

    wanted = {round(float(seq.times[i]), 6): i for i in indices}
    for t, rgb in iter_frames(path, fps=seq.fps, max_side=DEFAULT_MAX_SIDE):
        i = wanted.pop(round(float(t), 6), None)
        if i is not None:
            yield i, np.ascontiguousarray(np.rot90(rgb, turns))
        if not wanted:
            return


def count_people(
    path: Path, seq: PoseSequence, estimator: PoseEstimator, *, turns: int = 0
) -> tuple[int, int]:
    """(people, frames checked): 2 when a second person shows in most checked frames."""
    frames = np.flatnonzero(seq.valid)
    if len(frames) == 0:
        return 0, 0
    picks = sorted(
        {int(frames[i]) for i in np.linspace(0, len(frames) - 1, PEOPLE_FRAMES).round().astype(int)}
    )
    hits = checked = 0
    for i, frame in _frames_at(path, seq, picks, turns):
        checked += 1
        hits += other_person_seen(frame, seq.image[i], estimator)
    return (2 if checked and hits * 2 > checked else 1), checked


def assess_video(
    path: Path,
    seq: PoseSequence,
    *,
    extract: Callable[[PoseEstimator | None], PoseSequence],
    estimator: PoseEstimator | None = None,
) -> tuple[PoseSequence, dict[str, Any]]:
    """Run the gates on a video's extracted poses; returns the (maybe re-extracted) poses and
    the `quality` block.

    Args:
        path: The video.
        seq: Its poses from `extract_poses`.
        extract: Re-extracts the poses with another estimator (a `RotatedEstimator`).
        estimator: The estimator `seq` came from (None: MediaPipe).

    Raises:
        NoPersonError: Pose confidence too low.
    """
    name = str(path)
    quality: dict[str, Any] = {"resolution": check_resolution(seq.width, seq.height, name=name)}
    orientation = estimate_orientation(seq)
    if orientation.quarter_turns:
        rotated = RotatedEstimator(estimator, orientation.quarter_turns)
        try:
            turned = extract(rotated)
        finally:
            rotated.close()
        if orientation.quarter_turns % 2:
            turned.width, turned.height = seq.height, seq.width
        check = estimate_orientation(turned)
        if check.state == "upright":
            seq = turned
        else:  # the turn did not make the person upright: say so instead of guessing
            orientation = Orientation(
                "unknown", 0, orientation.angle, f"{orientation.detail}, but then {check.state}"
            )
    quality["orientation"] = orientation.to_dict()
    quality["pose_confidence"] = check_confidence(seq, name=name)
    quality["people"] = _people_entry(path, seq, estimator, orientation.quarter_turns)
    return seq, quality


def _people_entry(
    path: Path, seq: PoseSequence, estimator: PoseEstimator | None, turns: int
) -> dict[str, Any]:
    """The second-person pass with a fresh MediaPipe detector (skipped for other estimators,
    e.g. scripted ones in tests, whose answers do not depend on the picture)."""
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

    if estimator is not None and not isinstance(estimator, MediaPipePoseEstimator):
        return {"count": seq.num_people, "frames_checked": 0, "detail": "not checked"}
    detector = MediaPipePoseEstimator()
    try:
        people, checked = count_people(path, seq, detector, turns=turns)
    finally:
        detector.close()
    seq.num_people = max(seq.num_people, people)
    return {"count": seq.num_people, "frames_checked": checked}


def quality_notes(quality: dict[str, Any]) -> list[str]:
    """The checks a reader should know about, as prediction notes."""
    notes = []
    turned = quality.get("orientation", {}).get("rotated_deg", 0)
    if turned:
        notes.append(
            f"the person appeared {quality['orientation']['state'].replace('_', ' ')}; frames "
            f"were turned {turned} degrees counter-clockwise before pose estimation"
        )
    conf = quality.get("pose_confidence", {})
    if conf.get("low"):
        notes.append(f"low pose confidence ({conf['value']:.2f}): landmarks are uncertain")
    return notes
