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


def render_timeline(
    timeline: Sequence[Mapping[str, Any]], path: str | Path, *, title: str = "", dpi: int = 150
) -> Path:
    """Write the groups x time heat map as a PNG.

    Args:
        timeline: Windows `{"start_s", "end_s", "muscles": {group_id: prob}}`.
        path: Output `.png` file.
        title: Optional title.
        dpi: Resolution of the PNG.

    Returns:
        The written path.

    Raises:
        VizError: Bad timeline (see `validate_timeline`) or a path not ending in .png.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise VizError(f"timeline path must end in .png, got {str(path)!r}")
    edges, values = timeline_matrix(timeline)

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
    ax.set_title(title or "Muscle activation over time", fontsize=12, loc="left")
    bar = fig.colorbar(mesh, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("activation probability")
    fig.savefig(path, dpi=dpi, facecolor="white")
    return path
