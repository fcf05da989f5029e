"""Occlusion attribution for any predict model: mask a joint and see how much a group's score drops.

Works through the public scoring only (`Predictor.predict_poses`), so it needs nothing of the
model inside (numpy, torch, anything). Masking a joint freezes it: over the masked frames its
coordinates (image and world; visibility kept) are replaced by its mean position over those
frames. The joint's motion is removed and its rough place kept, so the pose stays plausible
(a NaN joint would instead drop the whole frame from the feature pipeline).

- `joint[v]`: clip score with nothing masked minus the clip score with joint v frozen over the
  whole clip.
- `joint_time[v, k]`: joint v frozen only in time span k (spans of `span_s`); the drop of the
  local score, the mean over the timeline windows that overlap span k (the clip score would
  dilute a one-second change by the number of windows). NaN where no window overlaps the span.

Positive = the joint (its motion in that span) supports the group; negative = it argues against.
Cost: `V * (1 + K)` scorings (33 joints, K spans), each one `predict_poses` call.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from musclemap.data.pose_sequence import PoseSequence
from musclemap.skeleton import MEDIAPIPE33
from musclemap.taxonomy import GROUP_IDS

# seq -> (clip score, [(start_s, end_s, window score), ...]) of one group.
Scores = tuple[float, list[tuple[float, float, float]]]
Scorer = Callable[[PoseSequence], Scores]
Progress = Callable[[float, str], None]


@dataclass
class OcclusionResult:
    group: str
    base: float  # the group's score with nothing masked
    joint: np.ndarray  # (V,) drop with the joint frozen over the whole clip
    joint_time: np.ndarray  # (V, K) drop with the joint frozen in span k
    edges: np.ndarray  # (K + 1,) span boundaries, seconds
    joints: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "group": self.group,
            "method": "occlusion (joint frozen at its mean position)",
            "base_score": round(self.base, 5),
            "joints": list(self.joints),
            "joint": [round(float(v), 5) for v in self.joint],
            "span_edges_s": [round(float(t), 3) for t in self.edges],
            "joint_time": [[_num(v) for v in row] for row in self.joint_time],
        }


def _num(v: float) -> float | None:
    return None if not np.isfinite(v) else round(float(v), 5)  # JSON has no NaN


def predictor_scorer(predictor, group: int) -> Scorer:  # noqa: ANN001 (any Predictor-like)
    """`seq -> (clip probability, timeline windows)` of a group via `predictor.predict_poses`."""
    gid = GROUP_IDS[group]

    def score(seq: PoseSequence) -> Scores:
        pred = predictor.predict_poses(seq)
        windows = [(w["start_s"], w["end_s"], w["muscles"][gid]) for w in pred.timeline]
        return float(pred.muscles[gid]), windows

    return score


def local_scores(windows: list[tuple[float, float, float]], edges: np.ndarray) -> np.ndarray:
    """Mean window score per span `(K,)`: windows overlapping [edges[k], edges[k + 1])."""
    out = np.full(len(edges) - 1, np.nan)
    for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        hits = [p for s, e, p in windows if s < b and e > a]
        if hits:
            out[k] = float(np.mean(hits))
    return out


def freeze_joints(seq: PoseSequence, joints: Sequence[int], start: int, stop: int) -> PoseSequence:
    """A copy of `seq` with `joints` frozen at their mean position in frames [start, stop)."""
    image, world = seq.image.copy(), seq.world.copy()
    rows = np.arange(start, min(stop, len(seq)))
    rows = rows[seq.valid[rows]]
    if len(rows):
        for arr in (image, world):
            coords = arr[rows][:, joints, :-1]  # (n, J, C - 1); the last channel is visibility
            with warnings.catch_warnings():  # a joint never seen stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(coords, axis=0)
            arr[np.ix_(rows, np.asarray(joints), np.arange(arr.shape[-1] - 1))] = mean
    return replace(seq, image=image, world=world)


def span_edges(num_frames: int, span: int) -> np.ndarray:
    """Frame boundaries `(K + 1,)` of spans of `span` frames (the last may be shorter)."""
    return np.unique(np.append(np.arange(0, num_frames, span), num_frames))


def occlusion_attribution(
    score: Scorer,
    seq: PoseSequence,
    group: int,
    *,
    span_s: float = 1.0,
    progress: Progress | None = None,
) -> OcclusionResult:
    """Per-joint and per-joint-per-span drops of `score` when a joint is frozen.

    Args:
        score: `seq -> (clip score, windows)`, e.g. `predictor_scorer(predictor, group)`.
        seq: The pose sequence (MediaPipe-33) that was scored.
        group: Group index (taxonomy order), for the result's label.
        span_s: Length of the time spans of `joint_time`, seconds.
        progress: Called with (fraction done, message).
    """
    if span_s <= 0:
        raise ValueError("span_s must be positive")
    num_joints = seq.image.shape[1]
    frames = span_edges(len(seq), max(1, round(span_s * seq.fps)))
    times = np.append(seq.times, seq.times[-1] + 1.0 / seq.fps)  # the end of the last frame
    edges = times[frames]
    base, windows = score(seq)
    base_local = local_scores(windows, edges)
    joint = np.zeros(num_joints)
    joint_time = np.zeros((num_joints, len(frames) - 1))
    total = num_joints * len(frames)
    for v in range(num_joints):
        joint[v] = base - score(freeze_joints(seq, [v], 0, len(seq)))[0]
        for k, (a, b) in enumerate(zip(frames[:-1], frames[1:], strict=True)):
            masked = local_scores(score(freeze_joints(seq, [v], int(a), int(b)))[1], edges)
            joint_time[v, k] = base_local[k] - masked[k]
        if progress is not None:
            progress((v + 1) * len(frames) / total, "occlusion")
    return OcclusionResult(
        group=GROUP_IDS[group],
        base=float(base),
        joint=joint,
        joint_time=joint_time,
        edges=edges,
        joints=MEDIAPIPE33.joints,
    )
