"""Timeline picture: the 20 muscle groups x time as a heat map (matplotlib, Agg backend).

Input is the predict JSON's `timeline` list: windows `{"start_s", "end_s", "muscles": {...}}`,
possibly overlapping (sliding windows). Time is cut at every window boundary and each piece shows
the mean probability of the windows covering it; stretches no window covers stay blank.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.taxonomy import GROUP_IDS, MUSCLE_GROUPS
from musclemap.viz.common import COLOR_STOPS, VizError, validate_scores


def validate_timeline(timeline: Sequence[Mapping[str, Any]]) -> list[tuple[float, float, dict]]:
    """Check timeline windows and return `(start_s, end_s, scores)` tuples sorted by start.

    Raises:
        VizError: Empty timeline, a window without start_s/end_s/muscles, end <= start, or bad
            muscle scores (see `validate_scores`).
    """
    if isinstance(timeline, Mapping) or not isinstance(timeline, Sequence) or not timeline:
        raise VizError("timeline must be a non-empty list of windows")
    out = []
    for i, window in enumerate(timeline):
        try:
            start, end = float(window["start_s"]), float(window["end_s"])
            muscles = window["muscles"]
        except (KeyError, TypeError, ValueError):
            raise VizError(
                f"timeline window {i} needs numeric start_s, end_s and a muscles mapping"
            ) from None
        if not (math.isfinite(start) and math.isfinite(end) and end > start):
            raise VizError(f"timeline window {i}: end_s ({end}) must be after start_s ({start})")
        out.append((start, end, validate_scores(muscles)))
    return sorted(out, key=lambda w: (w[0], w[1]))


def timeline_matrix(timeline: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Cut time at the window boundaries and average the covering windows.

    Returns:
        `edges` (K + 1,) seconds and `values` (20, K): mean probability per group and piece, NaN
        where no window covers the piece or the windows give no score for the group.
    """
    windows = validate_timeline(timeline)
    edges = np.unique([t for s, e, _ in windows for t in (s, e)])  # (K + 1,)
    total = np.zeros((len(GROUP_IDS), len(edges) - 1))
    count = np.zeros_like(total)
    for start, end, scores in windows:
        cols = (edges[:-1] >= start) & (edges[1:] <= end)
        for g, gid in enumerate(GROUP_IDS):
            if gid in scores:
                total[g, cols] += scores[gid]
                count[g, cols] += 1
    with np.errstate(invalid="ignore"):
        values = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return edges, values


def validate_reps(reps: Sequence[Mapping[str, Any]]) -> list[tuple[int, float, float, float]]:
    """`(index, start_s, turn_s, end_s)` of repetitions (the predict JSON's `repetitions.reps`).

    Raises:
        VizError: A repetition without numeric index, start_s, turn_s and end_s in order.
    """
    out: list[tuple[int, float, float, float]] = []
    for i, rep in enumerate(reps):
        try:
            start, turn, end = (float(rep[k]) for k in ("start_s", "turn_s", "end_s"))
            row = (int(rep["index"]), start, turn, end)
        except (KeyError, TypeError, ValueError):
            raise VizError(
                f"repetition {i} needs numeric index, start_s, turn_s and end_s"
            ) from None
        if not (math.isfinite(row[1]) and row[1] <= row[2] <= row[3] and math.isfinite(row[3])):
            raise VizError(f"repetition {i}: needs start_s <= turn_s <= end_s")
        out.append(row)
    return out


def validate_segments(segments: Sequence[Mapping[str, Any]]) -> list[tuple[float, float, str]]:
    """`(start_s, end_s, label)` of the parts of a video that changes exercise (the predict
    JSON's `segments`); the label is the part's top "looks like" exercise ("" without one).

    Raises:
        VizError: A part without numeric start_s < end_s.
    """
    out: list[tuple[float, float, str]] = []
    for i, seg in enumerate(segments):
        try:
            start, end = float(seg["start_s"]), float(seg["end_s"])
        except (KeyError, TypeError, ValueError):
            raise VizError(f"segment {i} needs numeric start_s and end_s") from None
        if not (math.isfinite(start) and math.isfinite(end) and start < end):
            raise VizError(f"segment {i}: needs start_s < end_s")
        looks = seg.get("looks_like") or []
        label = str(looks[0].get("exercise", "")) if looks and isinstance(looks[0], Mapping) else ""
        out.append((start, end, label))
    return out


def render_timeline(
    timeline: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    title: str = "",
    dpi: int = 150,
    reps: Sequence[Mapping[str, Any]] | None = None,
    segments: Sequence[Mapping[str, Any]] | None = None,
) -> Path:
    """Write the groups x time heat map as a PNG.

    Args:
        timeline: Windows `{"start_s", "end_s", "muscles": {group_id: prob}}`.
        path: Output `.png` file.
        title: Optional title.
        dpi: Resolution of the PNG.
        reps: Optional repetitions `{"index", "start_s", "turn_s", "end_s"}`: a numbered bar per
            repetition above the map and a dashed line at each turning point.
        segments: Optional parts of a video that changes exercise (`{"start_s", "end_s",
            "looks_like"}`): a solid line where each part begins, its exercise named below it.

    Returns:
        The written path.

    Raises:
        VizError: Bad timeline (see `validate_timeline`) or a path not ending in .png.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise VizError(f"timeline path must end in .png, got {str(path)!r}")
    edges, values = timeline_matrix(timeline)
    rep_rows = validate_reps(reps or [])
    parts = validate_segments(segments or [])

    import matplotlib

    matplotlib.use("Agg", force=False)  # never open a window; harmless if already Agg
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.figure import Figure

    cmap = LinearSegmentedColormap.from_list(
        "musclemap", [(p, tuple(c / 255 for c in rgb)) for p, rgb in COLOR_STOPS]
    ).with_extremes(bad=(1.0, 1.0, 1.0, 0.0))
    width = float(np.clip(4.5 + 0.25 * values.shape[1], 7.0, 14.0))
    fig = Figure(figsize=(width, 6.2), layout="constrained")
    ax = fig.add_subplot()
    rows = np.arange(len(GROUP_IDS) + 1) - 0.5
    mesh = ax.pcolormesh(
        edges,
        rows,
        np.ma.masked_invalid(values),
        cmap=cmap,
        vmin=0.0,
        vmax=1.0,
        edgecolors="face",
        linewidth=0,
    )
    # White rules between groups only: boundaries of overlapping windows would just add noise.
    ax.hlines(rows[1:-1], edges[0], edges[-1], colors="white", linewidth=1.0)
    ax.set_yticks(np.arange(len(GROUP_IDS)), [g.name for g in MUSCLE_GROUPS], fontsize=9)
    ax.set_ylim(len(GROUP_IDS) - 0.5, -0.5)  # first group on top, as in the taxonomy
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("time (s)")
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    _mark_reps(ax, rep_rows)
    _mark_segments(ax, parts)
    ax.set_title(
        title or "Muscle activation over time", fontsize=12, loc="left", pad=28 if rep_rows else 6
    )
    bar = fig.colorbar(mesh, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("activation probability")
    fig.savefig(path, dpi=dpi, facecolor="white")
    return path


def _mark_segments(ax: Any, parts: list[tuple[float, float, str]]) -> None:
    """A black line where each part after the first begins; each part's exercise at the foot of
    the map, over its span."""
    if len(parts) < 2:
        return
    for i, (start, end, label) in enumerate(parts):
        if i:
            ax.axvline(start, color="black", linewidth=1.8)
        ax.annotate(
            label or f"part {i + 1}", (0.5 * (start + end), 0.01),
            xycoords=("data", "axes fraction"), ha="center", va="bottom", fontsize=8,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.85,
                  "linewidth": 0},
        )  # fmt: skip


def _mark_reps(ax: Any, reps: list[tuple[int, float, float, float]]) -> None:
    """A numbered bar per repetition (start to end) above the map; its turning point dashed."""
    for i, (index, start, turn, end) in enumerate(reps):
        shade = "#1d4ed8" if i % 2 == 0 else "#3b82f6"
        ax.axvspan(start, end, ymin=1.012, ymax=1.052, color=shade, clip_on=False, linewidth=0)
        ax.axvline(turn, color="#1d4ed8", linestyle="--", linewidth=0.9, alpha=0.8)
        ax.annotate(
            str(index), (0.5 * (start + end), 1.032), xycoords=("data", "axes fraction"),
            ha="center", va="center", fontsize=7.5, color="white", fontweight="bold",
            annotation_clip=False,
        )  # fmt: skip
    if reps:
        ax.annotate(
            "repetitions", (-0.01, 1.032), xycoords="axes fraction", ha="right", va="center",
            fontsize=9, color="#1d4ed8", annotation_clip=False,
        )  # fmt: skip
