"""mAP as the MuscleMap reference code computes it, and the known/new table of the paper.

The reference (PySlowFast's `get_map`, used by the MuscleMap release) drops the classes without any
positive in the evaluated set, computes sklearn's per-class average precision on the rest and
takes the macro mean. Pure numpy functions; no torch.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from sklearn.metrics import average_precision_score

from musclemap.errors import DatasetError
from musclemap.taxonomy import GROUP_IDS, NUM_GROUPS
from musclemap.textfile import csv_records, format_lines

if TYPE_CHECKING:
    from musclemap.data.manifest import ManifestRow

SPLIT_KEYS = ("val_known", "val_new", "val_mean", "test_known", "test_new", "test_mean")


@dataclass
class MapResult:
    map: float | None  # None when no class has a positive (nothing to evaluate)
    per_class: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # classes without positives
    num_samples: int = 0


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.ndim != 2 or scores.shape != labels.shape:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must be equal (N, C)")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0/1")
    return scores, labels.astype(np.int64)


def average_precision_map(
    scores: np.ndarray,
    labels: np.ndarray,
    *,
    absent: Literal["skip", "nan", "error"] = "skip",
    class_names: Sequence[str] = GROUP_IDS,
) -> MapResult:
    """Macro mean of per-class average precision (sklearn semantics).

    Args:
        scores: (N, C) scores; any monotone transform gives the same result.
        labels: (N, C) multi-hot 0/1.
        absent: classes without positives are skipped (the reference), counted as NaN in
            `per_class`, or raise.
        class_names: names for `per_class`; the 20 group ids by default.
    """
    scores, labels = _check(scores, labels)
    names = (
        list(class_names)
        if len(class_names) == scores.shape[1]
        else [str(i) for i in range(scores.shape[1])]
    )
    present = labels.sum(0) > 0
    skipped = [names[c] for c in np.flatnonzero(~present)]
    if skipped and absent == "error":
        raise ValueError(f"classes without positives: {', '.join(skipped)}")
    per_class: dict[str, float] = {}
    for c in np.flatnonzero(present):
        per_class[names[c]] = float(average_precision_score(labels[:, c], scores[:, c]))
    if absent == "nan":
        per_class.update({n: float("nan") for n in skipped})
    values = [v for v in per_class.values() if not np.isnan(v)]
    return MapResult(float(np.mean(values)) if values else None, per_class, skipped, len(scores))


def f1_at_threshold(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> float:
    """Micro-averaged F1 of `scores >= threshold` against multi-hot labels."""
    scores, labels = _check(scores, labels)
    pred = scores >= threshold
    tp = float((pred & (labels == 1)).sum())
    denom = float(pred.sum() + labels.sum())
    return 2 * tp / denom if denom else 0.0


def sample_average_precision(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Mean over clips of the AP of ranking the groups of each clip (clips without a label skip).

    Used per activity: all clips of an activity share one label vector, so per-class AP inside
    an activity is degenerate; ranking the 20 groups within each clip is not.
    """
    scores, labels = _check(scores, labels)
    aps = [
        average_precision_score(lab, sc)
        for sc, lab in zip(scores, labels, strict=True)
        if lab.sum() > 0
    ]
    return float(np.mean(aps)) if aps else None


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


def _spellings(key: str) -> tuple[str, ...]:
    path = Path(key)
    return (_norm(key),) if path.is_absolute() else (_norm(key), str(path.resolve()))


def _index(scores_by_clip: Mapping[str, np.ndarray]) -> dict[str, str]:
    return {s: k for k in scores_by_clip for s in _spellings(k)}


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
    return [k for k in scores_by_clip if not known.intersection(_spellings(k))]


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


def write_predictions(path: str | Path, clip_ids: Sequence[str], scores: np.ndarray) -> None:
    """Predictions file: CSV with `clip` and one score column per group id."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(clip_ids), NUM_GROUPS):
        raise ValueError(f"scores must be ({len(clip_ids)}, {NUM_GROUPS}), got {scores.shape}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["clip", *GROUP_IDS])
        for clip, row in zip(clip_ids, scores, strict=True):
            writer.writerow([clip, *(f"{v:.6g}" for v in row)])


class Predictions(dict[str, np.ndarray]):
    """clip -> scores (20,) in file order; `lines[clip]` is the clip's CSV line."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, int] = {}


def read_predictions(path: str | Path) -> Predictions:
    """Read a predictions CSV (`clip` + the 20 group ids, probabilities in [0, 1]).

    Raises:
        DatasetError: Every bad row at once (not a number, NaN/inf, outside [0, 1], clip twice or
            empty), with counts and CSV lines; binary or non-UTF-8 files in one line.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"predictions file not found: {path}")
    records = csv_records(path, "predictions file")
    header = next(records, None)
    cols = [c.strip() for c in header[1]] if header else []
    missing = [c for c in ("clip", *GROUP_IDS) if c not in cols]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
    at = {c: cols.index(c) for c in ("clip", *GROUP_IDS)}
    out = Predictions()
    bad: dict[str, list[int]] = {}
    for line, fields in records:
        if len(fields) != len(cols):
            bad.setdefault("wrong number of fields", []).append(line)
            continue
        clip = fields[at["clip"]].strip()
        try:
            values = np.array([float(fields[at[g]]) for g in GROUP_IDS])
        except ValueError:
            bad.setdefault("a score is not a number", []).append(line)
            continue
        if not clip:
            bad.setdefault("empty clip", []).append(line)
        elif not np.isfinite(values).all():
            bad.setdefault("a score is NaN or infinite", []).append(line)
        elif ((values < 0) | (values > 1)).any():
            bad.setdefault("a score outside [0, 1] (probabilities expected)", []).append(line)
        elif clip in out:
            bad.setdefault(f"clip repeated (first at line {out.lines[clip]})", []).append(line)
        else:
            out[clip], out.lines[clip] = values, line
    if bad:
        total = sum(len(v) for v in bad.values())
        raise DatasetError(
            f"{path}: {total} bad row(s): "
            + "; ".join(
                f"{kind} x{len(lines)} ({format_lines(lines)})" for kind, lines in bad.items()
            )
        )
    return out
