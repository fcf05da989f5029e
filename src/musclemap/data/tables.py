"""The paper's Table II over a manifest: mAP per split (known/new, val/test), per class and per
activity, from predictions keyed by clip path."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from musclemap.data.manifest import ManifestRow
from musclemap.errors import DatasetError
from musclemap.metrics import MapResult, average_precision_map, sample_average_precision
from musclemap.taxonomy import NUM_GROUPS
from musclemap.textfile import format_lines

SPLIT_KEYS = ("val_known", "val_new", "val_mean", "test_known", "test_new", "test_mean")


def _mean(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else (a + b) / 2


def _norm(key: str) -> str:
    return os.path.normpath(key)


def _row_keys(row: ManifestRow) -> tuple[str, str]:
    # A prediction names a clip as the manifest writes it (relative to the manifest's folder,
    # `./` or `a/../` tolerated), by its absolute path, or relative to the working directory (as
    # `musclemap predict --out-dir` writes summary.csv); never by bare file name, which two
    # folders can share.
    return _norm(row.clip_id), _norm(str(row.clip))


def clip_spellings(key: str) -> tuple[str, ...]:
    """The keys a prediction's clip `key` matches by: normalised, and for a relative path also
    the absolute one (relative to the working directory)."""
    path = Path(key)
    return (_norm(key),) if path.is_absolute() else (_norm(key), str(path.resolve()))


def _index(scores_by_clip: Mapping[str, np.ndarray]) -> dict[str, str]:
    return {s: k for k in scores_by_clip for s in clip_spellings(k)}


def _where(rows: Sequence[ManifestRow]) -> str:
    lines = sorted(r.line for r in rows if r.line)
    return f" (manifest {format_lines(lines)})" if lines else ""


def match_scores(
    rows: Sequence[ManifestRow], scores_by_clip: Mapping[str, np.ndarray]
) -> np.ndarray:
    """Scores aligned to rows, matched by the clip path as written in the manifest (or absolute).

    Raises:
        DatasetError: Naming how many clips have no prediction, the first few and their lines.
    """
    index = _index(scores_by_clip)
    out, missing = [], []
    for r in rows:
        key = next((index[k] for k in _row_keys(r) if k in index), None)
        if key is None:
            missing.append(r)
        else:
            out.append(scores_by_clip[key])
    if missing:
        names = ", ".join(r.clip_id for r in missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise DatasetError(
            f"predictions missing for {len(missing)} clip(s): {names}{_where(missing)}"
        )
    return np.asarray(out, dtype=np.float64).reshape(len(rows), NUM_GROUPS)


def unknown_predictions(
    rows: Sequence[ManifestRow], scores_by_clip: Mapping[str, np.ndarray]
) -> list[str]:
    """Prediction keys that name no clip of `rows` (in file order)."""
    known = {k for r in rows for k in _row_keys(r)}
    return [k for k in scores_by_clip if not known.intersection(clip_spellings(k))]


def split_table(
    rows: Sequence[ManifestRow], scores_by_clip: Mapping[str, np.ndarray]
) -> dict[str, float | None]:
    """The paper's Table II numbers: mAP on val/test known/new and their means.

    A split without clips (or without any positive) is None, never 0.
    """
    table: dict[str, float | None] = {}
    for part in ("val", "test"):
        for kind in ("known", "new"):
            subset = [r for r in rows if r.split == f"{part}_{kind}"]
            if not subset:
                table[f"{part}_{kind}"] = None
                continue
            scores = match_scores(subset, scores_by_clip)
            labels = np.stack([r.labels for r in subset])
            table[f"{part}_{kind}"] = average_precision_map(scores, labels).map
        table[f"{part}_mean"] = _mean(table[f"{part}_known"], table[f"{part}_new"])
    return {k: table[k] for k in SPLIT_KEYS}


def per_class_table(
    rows: Sequence[ManifestRow], scores_by_clip: Mapping[str, np.ndarray], split: str
) -> MapResult:
    subset = [r for r in rows if r.split == split]
    if not subset:
        return MapResult(None)
    return average_precision_map(
        match_scores(subset, scores_by_clip), np.stack([r.labels for r in subset])
    )


def per_activity_table(
    rows: Sequence[ManifestRow], scores_by_clip: Mapping[str, np.ndarray]
) -> dict[str, float | None]:
    """Sample-wise AP per activity (over the rows given)."""
    out: dict[str, float | None] = {}
    for activity in sorted({r.activity for r in rows}):
        subset = [r for r in rows if r.activity == activity]
        out[activity] = sample_average_precision(
            match_scores(subset, scores_by_clip), np.stack([r.labels for r in subset])
        )
    return out
