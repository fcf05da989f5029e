"""mAP as the MuscleMap reference code computes it, F1 and sample-wise AP.

The reference (PySlowFast's `get_map`, used by the MuscleMap release) drops the classes without any
positive in the evaluated set, computes sklearn's per-class average precision on the rest and
takes the macro mean. Pure numpy functions; no torch, no files, no manifests: the paper's
known/new table over a manifest is `musclemap.data.tables`, the predictions CSV
`musclemap.data.predictions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sklearn.metrics import average_precision_score

from musclemap.taxonomy import GROUP_IDS


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
