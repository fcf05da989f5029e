"""The predict model's extra-trees, as plain arrays: trained with scikit-learn, run with numpy.

A forest of extra-trees (Geurts et al. 2006) on the same key-pose windows as the MLP is a
second model family whose errors differ from the MLP's: blended with it
(`pose_default.forest.weight`), the new exercises' key-position photo pairs gained on the
folds where a larger or longer-trained MLP did not (docs/predict.md, version 12). Predict
must not need scikit-learn (nor its import time), so a fitted
`sklearn.ensemble.ExtraTreesClassifier` is exported to arrays (`export_forest`, at training)
that `Forest` walks for all trees and windows at once. The walk compares as scikit-learn's
does (the features as float32 against float64 thresholds), so the leaves are scikit-learn's
own; the leaf probabilities are stored as float16 (within 5e-4 of scikit-learn's, a third of
the size).

Tensors (prefix `forest.`): `feature` (int32, per node; 0 at leaves), `threshold` (float64),
`left` and `right` (int32 node indices; a leaf points to itself), `leaf` (int32 row of
`value`, -1 for a split), `value` (float16 `(leaves, 20)`: the share of positive training
windows per group; 0 for a group with none), `roots` (int32 `(trees,)`), `fill` (float32
`(features,)`: what stands for a missing feature, the training mean).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from musclemap.errors import ConfigError

PREFIX = "forest."
KEYS = ("feature", "threshold", "left", "right", "leaf", "value", "roots", "fill")


def export_forest(clf: Any, keep: np.ndarray, fill: np.ndarray) -> dict[str, np.ndarray]:
    """A fitted multi-output `ExtraTreesClassifier` (on the groups `keep` of 20, 0/1 targets)
    -> the `forest.*` tensors (see the module docstring)."""
    groups = len(keep)
    cols = np.flatnonzero(keep)
    # one output: scikit-learn's single-output layout (classes_ one array)
    classes_of = list(clf.classes_) if clf.n_outputs_ > 1 else [clf.classes_]
    parts: dict[str, list[np.ndarray]] = {k: [] for k in KEYS[:6]}
    roots, offset, leaves = [], 0, 0
    for tree in clf.estimators_:
        t = tree.tree_
        n = int(t.node_count)
        left, right = t.children_left.astype(np.int64), t.children_right.astype(np.int64)
        is_leaf = left < 0
        own = np.arange(n)
        leaf_rows = np.full(n, -1, np.int64)
        leaf_rows[is_leaf] = leaves + np.arange(int(is_leaf.sum()))
        # P(positive) of each output at each leaf; a group whose training targets were all one
        # class has that class alone in `classes_`.
        value = np.asarray(t.value)[is_leaf]  # (L, outputs, classes)
        prob = np.zeros((len(value), groups), np.float64)
        for k, col in enumerate(cols):
            classes = list(classes_of[k])
            if 1 in classes:
                counts = value[:, k, : len(classes)]
                prob[:, col] = counts[:, classes.index(1)] / np.maximum(counts.sum(1), 1e-12)
        parts["feature"].append(np.where(is_leaf, 0, t.feature))
        parts["threshold"].append(np.where(is_leaf, 0.0, t.threshold))
        parts["left"].append(np.where(is_leaf, own, left) + offset)
        parts["right"].append(np.where(is_leaf, own, right) + offset)
        parts["leaf"].append(leaf_rows)
        parts["value"].append(prob)
        roots.append(offset)
        offset += n
        leaves += len(value)
    out = {
        "feature": np.concatenate(parts["feature"]).astype(np.int32),
        "threshold": np.concatenate(parts["threshold"]).astype(np.float64),
        "left": np.concatenate(parts["left"]).astype(np.int32),
        "right": np.concatenate(parts["right"]).astype(np.int32),
        "leaf": np.concatenate(parts["leaf"]).astype(np.int32),
        "value": np.concatenate(parts["value"]).astype(np.float16),
        "roots": np.asarray(roots, np.int32),
        "fill": np.asarray(fill, np.float32),
    }
    return {PREFIX + k: v for k, v in out.items()}


def fit_forest(
    x: np.ndarray, y: np.ndarray, *, trees: int, min_leaf: int, max_features: float, seed: int
) -> dict[str, np.ndarray]:
    """Extra-trees on windows `x (N, F)` (NaN: missing, filled with the column mean) and
    targets `y (N, 20)` (> 0.5: positive) -> the `forest.*` tensors. One thread and a fixed
    `seed`: the same arrays every run."""
    from sklearn.ensemble import ExtraTreesClassifier

    with np.errstate(invalid="ignore"):  # an all-missing column: "Mean of empty slice"
        fill = np.nan_to_num(np.nanmean(np.where(np.isfinite(x), x, np.nan), 0))
    x = np.where(np.isfinite(x), x, fill).astype(np.float32)
    target = (np.asarray(y) > 0.5).astype(np.int64)
    keep = target.sum(0) > 0
    clf = ExtraTreesClassifier(
        n_estimators=trees, min_samples_leaf=min_leaf, max_features=max_features,
        random_state=seed, n_jobs=1,
    ).fit(x, target[:, keep] if keep.sum() > 1 else target[:, keep].ravel())
    return export_forest(clf, keep, fill)


class Forest:
    """The numpy walk of exported trees (`export_forest`)."""

    def __init__(self, tensors: dict[str, np.ndarray]) -> None:
        try:
            t = {k: np.asarray(tensors[PREFIX + k]) for k in KEYS}
        except KeyError as err:
            raise ConfigError(f"model weights lack tensor {err}") from None
        self.feature, self.threshold = t["feature"].astype(np.intp), t["threshold"]
        self.left, self.right = t["left"].astype(np.intp), t["right"].astype(np.intp)
        self.leaf, self.value = t["leaf"].astype(np.intp), t["value"].astype(np.float64)
        self.roots, self.fill = t["roots"].astype(np.intp), t["fill"]
        n = len(self.feature)
        nodes = (self.threshold, self.left, self.right, self.leaf)
        if any(len(a) != n for a in nodes) or not len(self.roots) or self.value.ndim != 2:
            raise ConfigError("model weights: the forest's tensors do not fit together")
        self.is_leaf = self.leaf >= 0

    @property
    def num_features(self) -> int:
        return len(self.fill)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """`(N, F)` features (NaN: missing) -> `(N, 20)`: the trees' mean leaf probabilities."""
        x = np.asarray(x, np.float64)
        x = np.where(np.isfinite(x), x, self.fill).astype(np.float32)  # as scikit-learn sees X
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()  # (N, trees)
        rows = np.arange(len(x))[:, None]
        active = ~self.is_leaf[node]
        while active.any():
            n = node[active]
            go_left = x[np.broadcast_to(rows, node.shape)[active], self.feature[n]] <= (
                self.threshold[n])
            node[active] = np.where(go_left, self.left[n], self.right[n])
            active = ~self.is_leaf[node]
        return self.value[self.leaf[node]].mean(1)
