"""Repetitions (or hold time) from a pose sequence.

The driving signal is one joint angle in degrees (180 = straight): of the elbow, shoulder, hip and
knee angles, the one whose smoothed range is largest after a penalty for jitter (an occluded
limb's estimate jumps about; a working joint moves smoothly). Left and right are averaged when
they move together, counted separately when they alternate (each arm's curl is one repetition)
and the moving side alone is used for one-sided work.

Counting convention (the one of tests/data/wild_reps.csv): a repetition is one excursion away
from the rest position whose turning point lies inside the clip. The rest position is the end of
the range where the person dwells longer; the turning points are peaks of the signal oriented
away from rest whose prominence is at least `MIN_PROMINENCE` of the signal's range (so pauses and
noise make no extra peaks and a half-depth repetition still counts). A clip that starts at a
turning point does not count it (no peak without a rise before it); a clip that ends in one
does (the rise is inside the clip).

Isometric holds (a static exercise; for an unknown exercise, no repetition and still for at least
half of the seen time) report the longest stretch in which no major joint angle changes faster
than `HOLD_SPEED_DEG_S`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from musclemap.pose.features import joint_angles

JOINTS = ("elbow", "shoulder", "hip", "knee")
SMOOTH_S = 0.15  # Gaussian sigma: removes estimator jitter, keeps a 1 s repetition intact
FINE_S = 0.06  # lighter smoothing for reading the angles at the turning points
MIN_PROMINENCE = 0.4  # a turning point rises at least this fraction of the signal's range
MIN_REP_S = 0.6  # two turning points of one kind are at least this far apart
MIN_RANGE_DEG = 15.0  # below this the clip has no repetitions (an isometric hold or stillness)
HOLD_SPEED_DEG_S = 30.0  # a held pose: no major joint angle changes faster than this
DWELL_RATIO = 1.5  # rest is the end of the range with this many times the frames of the other
ALTERNATING_CORR = 0.2  # left/right correlation below this, with both sides moving: alternating
BILATERAL_CORR = 0.6  # correlation above this: the sides move together and are averaged


@dataclass
class Rep:
    """One repetition: times in seconds, angles in degrees of the driving joint."""

    index: int
    start_s: float
    turn_s: float  # the turning point (deepest / highest position)
    end_s: float
    duration_s: float
    rom_deg: float  # range of motion: largest angle change from the rep's start or end
    angle_min_deg: float
    angle_max_deg: float
    side: str  # "both", "left" or "right"
    muscles: dict[str, float] = field(default_factory=dict)  # mean of the overlapping windows


@dataclass
class RepResult:
    """What `count_reps` found (see `to_dict` for the JSON)."""

    kind: str  # "reps" or "hold"
    count: int
    reps: list[Rep]
    joint: str  # the driving joint angle, e.g. "knee"
    side: str  # "both" (averaged), "left", "right" or "alternating"
    range_deg: float  # 5th-95th percentile range of the smoothed driving signal
    rest: str  # "extended" or "flexed": the end of the range the person returns to
    hold_s: float
    hold_start_s: float | None
    hold_end_s: float | None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("range_deg", "hold_s", "hold_start_s", "hold_end_s"):
            if out[key] is not None:
                out[key] = round(out[key], 3)
        out["reps"] = [
            {
                k: (round(v, 3) if isinstance(v, float) else v)
                for k, v in asdict(r).items()
                if k != "muscles"
            }
            | {"muscles": {g: round(p, 4) for g, p in r.muscles.items()}}
            for r in self.reps
        ]
        return out


def fill_gaps(x: np.ndarray) -> np.ndarray | None:
    """Linear interpolation over NaN frames (edges held); None if fewer than 2 are valid."""
    ok = np.isfinite(x)
    if ok.sum() < 2:
        return None
    idx = np.arange(len(x))
    return np.interp(idx, idx[ok], x[ok])


def angle_signals(world: np.ndarray) -> dict[str, np.ndarray]:
    """Joint angles in degrees `{f"{joint}_{side}": (T,)}`, NaN where no person."""
    angles = joint_angles(world)
    return {f"{j}_{s}": 180.0 * angles[f"{j}_{s}"] for j in JOINTS for s in ("left", "right")}


# Smoothing and peak finding are written out in numpy (the same results as scipy.ndimage's
# gaussian_filter1d with mode="nearest" and scipy.signal's find_peaks; test_analysis_reps.py
# checks): importing scipy.signal costs ~2 s of every `musclemap predict` start.


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter of `sigma` samples, edges extended with their values (truncated at 4σ)."""
    if sigma <= 0 or len(x) == 0:
        return np.asarray(x, dtype=np.float64).copy()
    radius = int(4.0 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.pad(np.asarray(x, dtype=np.float64), radius, mode="edge")
    return np.convolve(padded, k / k.sum(), mode="valid")


def _local_maxima(x: np.ndarray) -> np.ndarray:
    """Indices of local maxima; a flat top gives its middle (left-middle for an even width)."""
    peaks = []
    i, n = 1, len(x)
    while i < n - 1:
        if x[i - 1] < x[i]:
            j = i
            while j + 1 < n - 1 and x[j + 1] == x[i]:
                j += 1
            if x[j + 1] < x[i]:
                peaks.append((i + j) // 2)
                i = j
        i += 1
    return np.asarray(peaks, dtype=np.int64)


def _prominences(x: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Height of each peak above the higher of the lowest points on either side before a higher
    sample (or the signal's end)."""
    out = np.empty(len(peaks))
    for k, p in enumerate(peaks):
        lo_l, i = x[p], p
        while i > 0 and x[i - 1] <= x[p]:
            i -= 1
            lo_l = min(lo_l, x[i])
        lo_r, i = x[p], p
        while i < len(x) - 1 and x[i + 1] <= x[p]:
            i += 1
            lo_r = min(lo_r, x[i])
        out[k] = x[p] - max(lo_l, lo_r)
    return out


def find_peaks(x: np.ndarray, *, prominence: float, distance: int) -> np.ndarray:
    """Peaks at least `distance` samples apart (higher ones win) with at least `prominence`."""
    peaks = _local_maxima(x)
    if distance > 1 and len(peaks) > 1:
        keep = np.ones(len(peaks), bool)
        for k in np.argsort(x[peaks])[::-1]:  # as scipy, ties included
            if keep[k]:
                near = np.abs(peaks - peaks[k]) < distance
                near[k] = False
                keep &= ~near
        peaks = peaks[keep]
    return peaks[_prominences(x, peaks) >= prominence]


def _smooth(x: np.ndarray, fps: float, sigma_s: float = SMOOTH_S) -> np.ndarray:
    return gaussian_smooth(x, sigma_s * fps)


def _spread(x: np.ndarray) -> float:
    p5, p95 = np.percentile(x, [5, 95])
    return float(p95 - p5)


def periodicity(x: np.ndarray) -> float:
    """Height of the first autocorrelation peak after its first zero crossing (0: aperiodic,
    1: perfectly periodic). A set-up step or a single excursion scores 0; repetitions score high.
    """
    x = x - x.mean()
    n = len(x)
    energy = float(np.dot(x, x))
    if n < 4 or energy <= 1e-9:
        return 0.0
    ac = np.correlate(x, x, mode="full")[n - 1 :] / energy
    # Unbiased: a lag sees fewer overlapping frames; lags beyond 3/4 of the clip are ignored.
    lags = np.arange(n)
    ac = ac * n / np.maximum(n - lags, 1)
    below = np.flatnonzero(ac[1:] < 0)
    if not len(below):
        return 0.0
    first = int(below[0]) + 1
    top = int(0.75 * n)
    if top <= first or first < 1:
        return 0.0
    return float(np.clip(ac[first:top].max(), 0.0, 1.0))


def _jitter(raw: np.ndarray, smooth: np.ndarray) -> float:
    """Robust size (degrees) of what smoothing removed: the estimator's noise on this joint."""
    return float(1.4826 * np.median(np.abs(raw - smooth)))


@dataclass
class _Candidate:
    joint: str
    side: str
    signals: list[tuple[str, np.ndarray, np.ndarray]]  # (side, smoothed, fine) counted apart
    score: float
    range_deg: float


def _score(signal: np.ndarray, rng: float, jit: float) -> float:
    """Range (degrees), discounted for jitter, weighted up for periodicity."""
    return rng / (1 + jit / 4) * (0.1 + periodicity(signal))


def _candidates(raw: Mapping[str, np.ndarray], fps: float) -> list[_Candidate]:
    out = []
    for j in JOINTS:
        left, right = fill_gaps(raw[f"{j}_left"]), fill_gaps(raw[f"{j}_right"])
        if left is None or right is None:
            continue
        sl, sr = _smooth(left, fps), _smooth(right, fps)
        fl, fr = _smooth(left, fps, FINE_S), _smooth(right, fps, FINE_S)
        rl, rr = _spread(sl), _spread(sr)
        jl, jr = _jitter(left, sl), _jitter(right, sr)
        corr = float(np.corrcoef(sl, sr)[0, 1]) if min(np.std(sl), np.std(sr)) > 1e-6 else 0.0
        both_move = min(rl, rr) > 0.5 * max(rl, rr)
        if both_move and corr >= BILATERAL_CORR:
            mean = 0.5 * (sl + sr)
            rng, jit = _spread(mean), 0.5 * (jl + jr)
            both = [("both", mean, 0.5 * (fl + fr))]
            out.append(_Candidate(j, "both", both, _score(mean, rng, jit), rng))
        elif both_move and corr < ALTERNATING_CORR:
            rng, jit = 0.5 * (rl + rr), 0.5 * (jl + jr)
            sides = [("left", sl, fl), ("right", sr, fr)]
            score = max(_score(sl, rng, jit), _score(sr, rng, jit))
            out.append(_Candidate(j, "alternating", sides, score, rng))
        else:
            side, sig, fine, rng, jit = (
                ("left", sl, fl, rl, jl) if rl >= rr else ("right", sr, fr, rr, jr)
            )
            out.append(_Candidate(j, side, [(side, sig, fine)], _score(sig, rng, jit), rng))
    return out


def _rest_is_high(z: np.ndarray, joint: str) -> bool:
    """Which end of the range is rest: where the person dwells clearly longer (top or bottom
    third of the range, `DWELL_RATIO` times as many frames), else the usual start of the
    exercises driven by this joint (standing, arms straight; arms down for the shoulder)."""
    high, low = float((z > 2 / 3).sum()), float((z < 1 / 3).sum())
    if high > DWELL_RATIO * low:
        return True
    if low > DWELL_RATIO * high:
        return False
    return joint != "shoulder"


def turning_points(signal: np.ndarray, fps: float, *, rest_high: bool) -> tuple[np.ndarray, float]:
    """Frames of the turning points away from rest, and the signal's 5th-95th range.

    The signal is scaled to its 5th-95th percentile range and oriented so that the turning points
    are maxima; a value at rest level is appended so that a clip ending in a turning point
    counts it, while one starting in a turning point has no rise before it and does not.
    """
    lo, hi = np.percentile(signal, [5, 95])
    rng = float(hi - lo)
    if rng < MIN_RANGE_DEG:
        return np.zeros(0, dtype=np.int64), rng
    z = (signal - lo) / rng
    if rest_high:
        z = 1.0 - z
    padded = np.append(z, min(z.min(), 0.0))
    peaks = find_peaks(
        padded, prominence=MIN_PROMINENCE, distance=max(1, int(round(MIN_REP_S * fps)))
    )
    return peaks[peaks < len(z)], rng


def _rep_bounds(z: np.ndarray, peak: int, lo: int, hi: int) -> tuple[int, int, int, int]:
    """The repetition around `peak` within [lo, hi): its start and end frames, where the signal
    leaves and regains (within 10% of the rep's height) the rest level on each side, so that a
    pause at rest is not part of the repetition; and the rest frames before and after it (the
    lowest point on each side), between which the range of motion is measured."""
    base_l = lo + int(np.argmin(z[lo : peak + 1]))
    base_r = peak + int(np.argmin(z[peak:hi]))
    h = z[peak]
    near_l = np.flatnonzero(z[base_l : peak + 1] <= z[base_l] + 0.1 * (h - z[base_l]))
    near_r = np.flatnonzero(z[peak : base_r + 1] <= z[base_r] + 0.1 * (h - z[base_r]))
    start = base_l + int(near_l[-1])
    end = peak + int(near_r[0])
    return start, end, base_l, base_r


def _extreme(x: np.ndarray, at: int, half: int, high: bool) -> float:
    """The extreme of `x` within `half` frames of `at`: smoothing flattens a brisk turning
    point, so angles are read from the lightly smoothed signal near it."""
    seg = x[max(0, at - half) : at + half + 1]
    return float(seg.max() if high else seg.min())


def _segment(
    signal: np.ndarray,
    fine: np.ndarray,
    peaks: np.ndarray,
    times: np.ndarray,
    side: str,
    rest_high: bool,
    fps: float,
) -> list[Rep]:
    """Repetitions at `peaks` of `signal` (smoothed for detection); angles from `fine`."""
    z = -signal if rest_high else signal
    half = max(1, int(round(0.3 * fps)))
    reps = []
    for i, p in enumerate(peaks):
        lo = int(np.argmin(z[peaks[i - 1] : p + 1])) + int(peaks[i - 1]) if i > 0 else 0
        hi = int(np.argmin(z[p : peaks[i + 1] + 1])) + int(p) + 1 if i + 1 < len(peaks) else len(z)
        start, end, base_l, base_r = _rep_bounds(z, int(p), lo, hi)
        turn = _extreme(fine, int(p), half, high=not rest_high)
        rests = [_extreme(fine, b, half, high=rest_high) for b in (base_l, base_r)]
        rom = max(abs(turn - r) for r in rests)
        reps.append(
            Rep(
                index=0,
                start_s=float(times[start]),
                turn_s=float(times[p]),
                end_s=float(times[end]),
                duration_s=float(times[end] - times[start]),
                rom_deg=float(rom),
                angle_min_deg=min(turn, *rests),
                angle_max_deg=max(turn, *rests),
                side=side,
            )
        )
    return reps


def hold_span(raw: Mapping[str, np.ndarray], valid: np.ndarray, fps: float) -> tuple[int, int]:
    """First and last frame (inclusive) of the longest still stretch; (0, -1) if none.

    Still: a person is seen and no major joint angle changes faster than `HOLD_SPEED_DEG_S`
    (smoothed); gaps of at most 0.5 s in the stillness are bridged (estimator glitches).
    """
    speeds = []
    for x in raw.values():
        filled = fill_gaps(x)
        if filled is not None:
            speeds.append(np.abs(np.gradient(_smooth(filled, fps))) * fps)
    if not speeds:
        return 0, -1
    still = (np.max(speeds, axis=0) < HOLD_SPEED_DEG_S) & valid
    gap = int(round(0.5 * fps))
    best, run_start, last_still = (0, -1), None, -(10**9)
    for i, s in enumerate(still):
        if not s:
            continue
        if run_start is None or i - last_still > gap + 1:
            run_start = i
        last_still = i
        if i - run_start > best[1] - best[0]:
            best = (run_start, i)
    return best


def count_reps(
    world: np.ndarray,
    valid: np.ndarray,
    times: np.ndarray,
    fps: float,
    *,
    static: bool | None = None,
    timeline: Sequence[Mapping[str, Any]] | None = None,
) -> RepResult:
    """Repetitions (or the hold) of one person's pose sequence.

    Args:
        world: `(T, 33, >=3)` world landmarks, NaN where no person.
        valid: `(T,)` frames with a person; times: `(T,)` seconds; fps: sampling rate.
        static: The exercise is an isometric hold (plank, wall sit): report hold time only;
            False: it is not (no repetition found is a count of 0); None: unknown, a hold when
            no repetition is found and the person is still for at least half the seen time.
        timeline: Predict timeline windows; each rep gets the mean of those it overlaps.
    """
    raw = angle_signals(world)
    cands = _candidates(raw, fps)
    h0, h1 = hold_span(raw, valid, fps)
    hold = (h1 - h0 + 1) / fps if h1 >= h0 else 0.0
    hold_times = (float(times[h0]), float(times[h1]) + 1 / fps) if h1 >= h0 else (None, None)
    if not cands:
        return RepResult("hold", 0, [], "", "", 0.0, "", hold, *hold_times)
    best = max(cands, key=lambda c: c.score)
    reps: list[Rep] = []
    rest_high = True
    for side, sig, fine in best.signals:
        lo, hi = np.percentile(sig, [5, 95])
        rest_high = _rest_is_high((sig - lo) / max(hi - lo, 1e-6), best.joint)
        peaks, _ = turning_points(sig, fps, rest_high=rest_high)
        reps += _segment(sig, fine, peaks, times, side, rest_high, fps)
    reps.sort(key=lambda r: r.turn_s)
    for i, rep in enumerate(reps):
        rep.index = i + 1
        if timeline:
            rep.muscles = _mean_scores(timeline, rep.start_s, rep.end_s)
    if static is None:
        static = not reps and hold >= 0.5 * valid.sum() / fps
    kind = "hold" if static else "reps"
    if kind == "hold":
        reps = []
    return RepResult(
        kind=kind,
        count=len(reps),
        reps=reps,
        joint=best.joint,
        side=best.side,
        range_deg=best.range_deg,
        rest="extended" if rest_high else "flexed",
        hold_s=hold,
        hold_start_s=hold_times[0],
        hold_end_s=hold_times[1],
    )


def _mean_scores(
    timeline: Sequence[Mapping[str, Any]], start: float, end: float
) -> dict[str, float]:
    """Mean per group of the timeline windows overlapping [start, end] (the nearest if none)."""
    hits = [w for w in timeline if w["start_s"] < end and w["end_s"] > start]
    if not hits:
        mid = 0.5 * (start + end)
        hits = [min(timeline, key=lambda w: abs(0.5 * (w["start_s"] + w["end_s"]) - mid))]
    groups = hits[0]["muscles"].keys()
    return {g: float(np.mean([w["muscles"][g] for w in hits])) for g in groups}
