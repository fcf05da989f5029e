"""mAP as the MuscleMap reference code computes it, and the known/new table of the paper.

The reference (PySlowFast's `get_map`, used by the MuscleMap release) drops the classes without any
positive in the evaluated set, computes sklearn's per-class average precision on the rest and
takes the macro mean. Pure numpy functions; no torch.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from sklearn.metrics import average_precision_score

from musclemap.errors import DatasetError
from musclemap.taxonomy import GROUP_IDS, NUM_GROUPS

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


def _match_scores(
    rows: Sequence[ManifestRow], scores_by_clip: Mapping[str, np.ndarray]
) -> np.ndarray:
    """Scores aligned to rows, matched by clip id, absolute path, or (unique) file stem."""
    by_stem: dict[str, list[str]] = {}
    for key in scores_by_clip:
        by_stem.setdefault(Path(key).stem, []).append(key)
    out, missing = [], []
    for r in rows:
        for key in (r.clip_id, str(r.clip)):
            if key in scores_by_clip:
                out.append(scores_by_clip[key])
                break
        else:
            cands = by_stem.get(r.clip.stem, [])
            if len(cands) == 1:
                out.append(scores_by_clip[cands[0]])
            else:
                missing.append(r.clip_id)
    if missing:
        raise DatasetError(f"predictions missing for {len(missing)} clip(s), e.g. {missing[0]}")
    return np.asarray(out, dtype=np.float64).reshape(len(rows), NUM_GROUPS)


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
            scores = _match_scores(subset, scores_by_clip)
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
        _match_scores(subset, scores_by_clip), np.stack([r.labels for r in subset])
    )


def per_activity_table(
    rows: Sequence[ManifestRow], scores_by_clip: Mapping[str, np.ndarray]
) -> dict[str, float | None]:
    """Sample-wise AP per activity (over the rows given)."""
    out: dict[str, float | None] = {}
    for activity in sorted({r.activity for r in rows}):
        subset = [r for r in rows if r.activity == activity]
        out[activity] = sample_average_precision(
            _match_scores(subset, scores_by_clip), np.stack([r.labels for r in subset])
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


def read_predictions(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"predictions file not found: {path}")
    out: dict[str, np.ndarray] = {}
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("clip", *GROUP_IDS) if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
        for line, rec in enumerate(reader, start=2):
            try:
                values = np.array([float(rec[g]) for g in GROUP_IDS])
            except ValueError:
                raise DatasetError(f"{path}:{line}: a score is not a number") from None
            if not np.isfinite(values).all():
                raise DatasetError(f"{path}:{line}: a score is NaN or infinite")
            if rec["clip"] in out:
                raise DatasetError(f"{path}:{line}: clip {rec['clip']!r} appears twice")
            out[rec["clip"]] = values
    return out
