"""Where a video changes exercise: contiguous runs of windows that the model scores apart.

A video of a workout (squats, then curls) gets one clip score, the mean over its windows: the
squat's and the curl's groups side by side, as if one exercise worked them all. Its windows
tell the two apart. `find_segments` splits the kept windows, in time order, where the
(pooling-weighted) mean probabilities before and after differ most, and keeps a split only
when some group differs by at least `min_change` between the two sides and each side is at
least `min_windows` windows with at least `min_weight` pooling weight (a rest between sets,
whose still windows weigh little, is not a segment of its own). Each side is split again the
same way (binary segmentation), up to `max_segments`.

The thresholds were measured on out-of-fold window scores (protocol (a): sources never seen),
the 180 wild clips alone and held-out clips joined in pairs (docs/predict.md, "Exercise
changes"). Pure numpy, no model: the caller names each segment (`looks_like`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_CHANGE = 0.7  # a group's probability differs this much between the two sides
MIN_WINDOWS = 5  # windows on each side (stride 1 s, window 3 s: about 7 s of video)
MIN_WEIGHT = 2.0  # pooling weight on each side, in moving windows (a moving window weighs ~1)
MAX_SEGMENTS = 4


@dataclass(frozen=True)
class Segment:
    """Kept windows `first` .. `last` (indices into the kept windows, inclusive) and their
    pooled probabilities."""

    first: int
    last: int
    probs: np.ndarray  # (20,)


def _pooled(p: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (w @ p) / w.sum() if w.sum() > 1e-9 else p.mean(0)


def _best_split(
    p: np.ndarray, w: np.ndarray, min_windows: int, min_weight: float
) -> tuple[int, float]:
    """The split index t (windows [:t] and [t:]) with the largest group difference between the
    two sides' pooled means, among those leaving both sides big enough; (-1, 0) if none."""
    n = len(p)
    best, gap = -1, 0.0
    cw = np.concatenate([[0.0], np.cumsum(w)])
    cp = np.concatenate([np.zeros((1, p.shape[1])), np.cumsum(w[:, None] * p, 0)])
    for t in range(min_windows, n - min_windows + 1):
        left, right = cw[t], cw[n] - cw[t]
        if left < min_weight or right < min_weight:
            continue
        d = float(np.abs(cp[t] / left - (cp[n] - cp[t]) / right).max())
        if d > gap:
            best, gap = t, d
    return best, gap


def find_segments(
    probs: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    min_change: float = MIN_CHANGE,
    min_windows: int = MIN_WINDOWS,
    min_weight: float = MIN_WEIGHT,
    max_segments: int = MAX_SEGMENTS,
) -> list[Segment]:
    """Contiguous segments of the kept windows' probabilities `(N, 20)` (time order), with
    their pooling weights `(N,)` (None: each window weighs 1; scaled so that the mean is 1,
    since the model's sum to 1). One segment (all windows) when nothing changes."""
    p = np.asarray(probs, np.float64)
    n = len(p)
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64)
    if n and w.sum() > 1e-9:
        w = w * (n / w.sum())
    bounds = [(0, n)]
    while len(bounds) < max_segments:
        # split the part with the largest qualifying change first
        found = []
        for i, (a, b) in enumerate(bounds):
            t, gap = _best_split(p[a:b], w[a:b], min_windows, min_weight)
            if t > 0 and gap >= min_change:
                found.append((gap, i, a + t))
        if not found:
            break
        _, i, t = max(found)
        a, b = bounds[i]
        bounds[i : i + 1] = [(a, t), (t, b)]
    return [Segment(a, b - 1, _pooled(p[a:b], w[a:b])) for a, b in bounds if b > a]


def join(a: Segment, b: Segment, probs: np.ndarray, weights: np.ndarray | None = None) -> Segment:
    """Two adjacent segments as one, its probabilities pooled over both (as `find_segments`
    pools a part)."""
    span = slice(a.first, b.last + 1)
    p = np.asarray(probs, np.float64)[span]
    w = np.ones(len(p)) if weights is None else np.asarray(weights, np.float64)[span]
    return Segment(a.first, b.last, _pooled(p, w))
