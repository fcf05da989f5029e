"""Following one person: pick the most prominent track, and flag identity jumps.

Two situations:

- An estimator that returns every person per frame (candidates): `select_prominent` links the
  detections into tracks by box overlap and keeps the track with the largest summed box area,
  i.e. the person who is both big in the picture and present for long; `num_people` is the
  most people seen at once.
- MediaPipe Pose returns a single tracked person and cannot say whether others are present.
  When it loses the person it re-detects, possibly someone else. `find_jumps` flags frames
  where the tracked skeleton moves or changes size too much between consecutive detections
  to be the same person, so the output can say so.

Keypoints are `(V, C)` with x, y in [0, 1] of the image plus a score channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TrackSelection:
    """The chosen person's keypoints per frame.

    Attributes:
        keypoints: (T, V, C) of the chosen track; NaN where it is absent.
        valid: (T,) True where the chosen track has a detection.
        num_people: Most detections seen in one frame.
        num_tracks: Tracks found over the whole video.
    """

    keypoints: np.ndarray
    valid: np.ndarray
    num_people: int
    num_tracks: int


def _box(kp: np.ndarray, aspect: float = 1.0) -> np.ndarray:
    """(x0, y0, x1, y1) of the finite joints; x scaled by `aspect` (= width / height)."""
    xy = kp[:, :2][np.isfinite(kp[:, :2]).all(axis=1)] * np.array([aspect, 1.0])
    if len(xy) == 0:
        return np.full(4, np.nan)
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if not (w > 0 and h > 0):
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _area(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0))


def select_prominent(
    candidates: list[list[np.ndarray]],
    *,
    min_iou: float = 0.3,
    max_gap: int = 5,
) -> TrackSelection:
    """Link per-frame detections into tracks and keep the most prominent one.

    Args:
        candidates: For each frame, the detected people as (V, C) keypoint arrays.
        min_iou: Least box overlap with a track's last box to continue that track.
        max_gap: Frames a track may be missing before it ends.

    Returns:
        The chosen track, NaN-filled where it is absent.
    """
    shapes = {c.shape for frame in candidates for c in frame}
    if len(shapes) > 1:
        raise ValueError(f"candidates have different shapes: {sorted(shapes)}")
    t = len(candidates)
    shape = shapes.pop() if shapes else (0, 3)
    # Each track: last box, last frame index, prominence, {frame: keypoints}.
    tracks: list[dict] = []
    for i, people in enumerate(candidates):
        boxes = [_box(p) for p in people]
        live = [k for k, tr in enumerate(tracks) if i - tr["last"] <= max_gap + 1]
        pairs = sorted(
            ((_iou(tracks[k]["box"], b), k, j) for k in live for j, b in enumerate(boxes)),
            reverse=True,
        )
        used_tracks: set[int] = set()
        used_people: set[int] = set()
        for iou, k, j in pairs:
            if iou < min_iou:
                break
            if k in used_tracks or j in used_people:
                continue
            used_tracks.add(k)
            used_people.add(j)
            _extend(tracks[k], i, people[j], boxes[j])
        for j, person in enumerate(people):
            if j not in used_people:
                tracks.append({"box": boxes[j], "last": i, "score": 0.0, "frames": {}})
                _extend(tracks[-1], i, person, boxes[j])
    keypoints = np.full((t, *shape), np.nan, np.float32)
    valid = np.zeros(t, bool)
    if tracks:
        best = max(tracks, key=lambda tr: tr["score"])
        for i, kp in best["frames"].items():
            keypoints[i], valid[i] = kp, True
    num_people = max((len(p) for p in candidates), default=0)
    return TrackSelection(keypoints, valid, num_people=num_people, num_tracks=len(tracks))


def _extend(track: dict, frame: int, keypoints: np.ndarray, box: np.ndarray) -> None:
    track["box"], track["last"] = box, frame
    track["frames"][frame] = keypoints
    track["score"] += _area(box) if np.isfinite(box).all() else 0.0


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
