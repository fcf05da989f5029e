"""Where a video changes exercise: contiguous runs of windows that the model scores apart.

A video of a workout (squats, then curls) gets one clip score, the mean over its windows: the
squat's and the curl's groups side by side, as if one exercise worked them all. Its windows
tell the two apart. `find_segments` compares, at each window, the pooled (weighted) mean
probabilities of the `min_windows` windows before it with those of the `min_windows` after it,
cuts where some group differs by at least `min_change` (the largest such change first, cuts at
least `min_windows` apart, each side with at least `min_weight` of pooling weight: a rest between
sets, whose still windows weigh little, is not a part of its own), then joins again adjacent parts
whose pooled means differ by less than `min_change` (the most alike first). Comparing neighbours
rather than the two sides of the whole video finds a part between two parts of another exercise
(squats, curls, squats) and alternating sets (a superset), which a split of the whole video into
two misses; a part is at least `min_windows` windows long.

The thresholds were measured on out-of-fold window scores (protocol (a): sources never seen),
the 180 wild clips alone and held-out clips joined as A-B, A-B-A and A-B-A-B (docs/predict.md,
"A video that changes exercise"). Pure numpy, no model: the caller names each part (`looks_like`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_CHANGE = 0.6  # a group's probability differs this much between neighbouring parts
MIN_WINDOWS = 6  # windows on each side of a cut (stride 1 s, window 3 s: about 8 s of video)
MIN_WEIGHT = 2.0  # pooling weight on each side, in moving windows (a moving window weighs ~1)
MAX_SEGMENTS = 8


@dataclass(frozen=True)
class Segment:
    """Kept windows `first` .. `last` (indices into the kept windows, inclusive) and their
    pooled probabilities."""

    first: int
    last: int
    probs: np.ndarray  # (20,)


def pooled(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The mean of `values` `(N, D)` over N weighted by `weights` `(N,)`, as the clip score
    pools windows; the plain mean without weights or when they weigh nothing."""
    if weights is None or weights.sum() <= 1e-9:
        return values.mean(0)
    return (weights @ values) / weights.sum()


def local_changes(p: np.ndarray, w: np.ndarray, m: int, min_weight: float) -> np.ndarray:
    """`(N + 1,)`: at each window index t, the largest group difference between the pooled means
    of windows [t - m, t) and [t, t + m); 0 where either side is missing or weighs too little."""
    n = len(p)
    d = np.zeros(n + 1)
    if n < 2 * m:
        return d
    cw = np.concatenate([[0.0], np.cumsum(w)])
    cp = np.concatenate([np.zeros((1, p.shape[1])), np.cumsum(w[:, None] * p, 0)])
    t = np.arange(m, n - m + 1)
    left, right = cw[t] - cw[t - m], cw[t + m] - cw[t]
    ok = (left >= min_weight) & (right >= min_weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = (cp[t] - cp[t - m]) / left[:, None] - (cp[t + m] - cp[t]) / right[:, None]
    d[t] = np.where(ok, np.abs(np.nan_to_num(diff)).max(1), 0.0)
    return d


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
    if not n:
        return []
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64)
    if w.sum() > 1e-9:
        w = w * (n / w.sum())
    d = local_changes(p, w, min_windows, min_weight)
    cuts: list[int] = []
    for t in np.argsort(-d, kind="stable"):  # the largest changes first
        if d[t] < min_change or len(cuts) >= max_segments - 1:
            break
        if all(abs(int(t) - c) >= min_windows for c in cuts):
            cuts.append(int(t))
    edges = [0, *sorted(cuts), n]
    spans = zip(edges[:-1], edges[1:], strict=True)
    parts = [Segment(a, b - 1, pooled(p[a:b], w[a:b])) for a, b in spans]
    while len(parts) > 1:  # join the most alike neighbours while any are alike
        pairs = zip(parts[:-1], parts[1:], strict=True)
        gaps = [float(np.abs(a.probs - b.probs).max()) for a, b in pairs]
        i = int(np.argmin(gaps))
        if gaps[i] >= min_change:
            break
        parts[i : i + 2] = [join(parts[i], parts[i + 1], p, w)]
    return parts


def join(a: Segment, b: Segment, probs: np.ndarray, weights: np.ndarray | None = None) -> Segment:
    """Two adjacent segments as one, its probabilities pooled over both (as `find_segments`
    pools a part)."""
    span = slice(a.first, b.last + 1)
    w = None if weights is None else np.asarray(weights, np.float64)[span]
    return Segment(a.first, b.last, pooled(np.asarray(probs, np.float64)[span], w))
