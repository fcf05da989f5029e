"""Cross-validation of the predict model (task "pose_default") and its baselines.

- **(a) new footage** (`source_folds`): the clips (`data.manifest`) in `pose_default.cv_folds`
  folds grouped by their source (`source_repo`: one presenter, camera and set per source); every
  training run also sees every key-pose item. Scored: the held-out clips.
- **(b) new exercises** (`exercise_folds`): clips and key poses together in folds of whole
  exercises (the same exercise in both sets is one group, `pose_windows.group_exercises`).
  Scored: the held-out clips, the held-out key poses, and both.

Every method is scored on the same folds for `pose_default.cv_seeds`; mean ± std over folds is
kept per seed: the first seed is the one choices are made on, the others are the report. Test
items are scored with `musclemap.pose.keypose_model.score_poses`, the function `predict` uses.
`benchmarks/predict_model_cv.py` compares methods on both protocols from the command line.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.config import ExperimentConfig
from musclemap.engine.keypose_training import fit_forest, fit_items, model_meta, numpy_model
from musclemap.engine.pose_windows import Item, settings, training_arrays
from musclemap.errors import DatasetError
from musclemap.metrics import average_precision_map, f1_at_threshold
from musclemap.pose.keypose_model import score_poses
from musclemap.taxonomy import GROUP_IDS, NUM_GROUPS

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------------
# Methods: (train items, their training windows, test items, seed) -> clip scores by item id

Method = Callable[[list[Item], list[np.ndarray], list[Item], int], dict[str, np.ndarray]]


def _score_all(model: Any, test: list[Item]) -> dict[str, np.ndarray]:
    return {it.item_id: score_poses(model, it.seq).clip for it in test}


def _mlp(cfg: ExperimentConfig) -> Method:
    def run(train: list[Item], wins: list[np.ndarray], test: list[Item], seed: int) -> dict:
        module = fit_items(cfg, train, wins, seed=seed)
        forest = fit_forest(cfg, train, wins, seed=seed)
        return _score_all(numpy_model(module, model_meta(cfg), train, wins, forest), test)

    return run


class _SklearnWindows:
    """A scikit-learn classifier on key-pose windows behind the model interface `score_poses`
    needs (comparison only; the shipped model is the MLP)."""

    def __init__(self, clf: Any, cfg: ExperimentConfig, mean: np.ndarray, keep: np.ndarray
                 ) -> None:
        s = settings(cfg)
        self.window, self.stride = s["window"], s["stride"]
        self.min_visibility, self.motion, self.tempo = s["min_visibility"], s["motion"], s["tempo"]
        self.still_range, self.pool_motion = s["still_range"], s["pool_motion"]
        self.pair_videos, self.fps = s["pair_videos"], cfg.pose_default.fps
        self.knn_pair_k, self.knn_context, self.knn_pair_weight = 0, 0.0, 0.0  # no k-NN blend
        self.clf, self.mean, self.keep = clf, mean, keep

    def _x(self, x: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(x), x, self.mean)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), NUM_GROUPS))  # a group never positive in training scores 0
        out[:, self.keep] = _proba(self.clf, self._x(x))
        return out

    def embed(self, x: np.ndarray) -> np.ndarray:
        return self._x(x)

    def forward(self, x: np.ndarray, knn_k: int | None = None,
                context: np.ndarray | None = None, domain: int = 0,
                knn_weight: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.probabilities(x), self.embed(x)


def _proba(clf: Any, x: np.ndarray) -> np.ndarray:
    """Positive-class probabilities `(N, outputs)` of a multi-label scikit-learn classifier."""
    probs = clf.predict_proba(x)
    if isinstance(probs, np.ndarray):  # one-vs-rest wrappers return (N, C)
        return probs
    out = np.zeros((len(x), len(probs)))
    for k, p in enumerate(probs):  # multi-output trees: one (N, classes) array per group
        classes = list(clf.classes_[k])
        out[:, k] = p[:, classes.index(1)] if 1 in classes else 0.0
    return out


def _sklearn(cfg: ExperimentConfig, make: Callable[[int], Any]) -> Method:
    def run(train: list[Item], wins: list[np.ndarray], test: list[Item], seed: int) -> dict:
        x, y, _ = training_arrays(train, wins, cfg)
        mean = np.nanmean(x, 0)
        x = np.where(np.isfinite(x), x, mean)
        keep = y.sum(0) > 0
        clf = make(seed).fit(x, (y[:, keep] > 0.5).astype(int))
        return _score_all(_SklearnWindows(clf, cfg, mean, keep), test)

    return run


def extra_trees_scores(
    train: list[Item], test: list[Item], *, seed: int
) -> dict[str, np.ndarray]:
    """The issue's quick baseline: 58 clip features + one extra-trees classifier (300 trees),
    trained on the training clips (videos; key-pose photos have no motion to describe)."""
    from sklearn.ensemble import ExtraTreesClassifier

    clips = [it for it in train if it.kind == "clip"]
    x = np.stack([c.baseline for c in clips])
    y = np.stack([c.labels for c in clips]).astype(int)
    clf = ExtraTreesClassifier(n_estimators=300, random_state=seed, n_jobs=1).fit(x, y)
    probs = _proba(clf, np.stack([c.baseline for c in test]))
    return {c.item_id: probs[i] for i, c in enumerate(test)}


def method(cfg: ExperimentConfig, name: str) -> Method:
    """A model or baseline by name: the config's model, "extra_trees" (58 clip features),
    "random", "all_ones", or comparison families on key-pose windows ("logistic", "knn",
    "trees")."""
    if name == cfg.model.name:
        return _mlp(cfg)
    if name == "extra_trees":
        return lambda train, wins, test, seed: extra_trees_scores(train, test, seed=seed)
    if name in ("random", "all_ones"):
        from musclemap.baselines import all_ones_scores, random_scores

        def base(train: list[Item], wins: list[np.ndarray], test: list[Item], seed: int) -> dict:
            s = random_scores(len(test), seed=seed) if name == "random" else all_ones_scores(
                len(test))
            return {it.item_id: s[i] for i, it in enumerate(test)}

        return base
    if name == "logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return _sklearn(cfg, lambda seed: make_pipeline(
            StandardScaler(), OneVsRestClassifier(LogisticRegression(C=0.1, max_iter=500))))
    if name == "knn":
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return _sklearn(cfg, lambda seed: make_pipeline(
            StandardScaler(), KNeighborsClassifier(n_neighbors=15, weights="distance")))
    if name == "trees":
        from sklearn.ensemble import ExtraTreesClassifier

        return _sklearn(cfg, lambda seed: ExtraTreesClassifier(
            n_estimators=200, min_samples_leaf=2, max_features=0.3, random_state=seed,
            n_jobs=1))
    raise DatasetError(f"unknown method {name!r}")


# ----------------------------------------------------------------------------------------------
# Protocols


def _assign(groups: dict[str, int], k: int, seed: int) -> dict[str, int]:
    """Groups (name -> item count) to k folds: random order, each to the emptiest fold."""
    names = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(names))
    load = np.zeros(k)
    fold = {}
    for i in order:
        f = int(np.argmin(load))
        fold[names[i]] = f
        load[f] += groups[names[i]]
    return fold


def source_folds(items: list[Item], k: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """(a) new footage: clips grouped by source into k folds; key poses always train."""
    clips = [i for i, it in enumerate(items) if it.kind == "clip"]
    sizes: dict[str, int] = defaultdict(int)
    for i in clips:
        sizes[items[i].source] += 1
    fold = _assign(sizes, k, seed)
    out = []
    for f in range(k):
        test = [i for i in clips if fold[items[i].source] == f]
        out.append(([i for i in range(len(items)) if i not in set(test)], test))
    return out


def exercise_folds(items: list[Item], k: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """(b) new exercises: whole exercise groups (clips and key poses together) into k folds."""
    sizes: dict[str, int] = defaultdict(int)
    for it in items:
        sizes[it.exercise] += 1
    fold = _assign(sizes, k, seed)
    return [
        ([i for i, it in enumerate(items) if fold[it.exercise] != f],
         [i for i, it in enumerate(items) if fold[it.exercise] == f])
        for f in range(k)
    ]


PROTOCOLS = {"new_footage": source_folds, "new_exercises": exercise_folds}


def _map(items: list[Item], scores: dict[str, np.ndarray]) -> float | None:
    if not items:
        return None
    return average_precision_map(
        np.stack([scores[it.item_id] for it in items]), np.stack([it.labels for it in items])
    ).map


def cross_validate(
    cfg: ExperimentConfig,
    items: list[Item],
    windows: list[np.ndarray],
    name: str,
    protocol: str,
) -> dict[str, Any]:
    """mAP per fold and seed of `name` under `protocol`, plus out-of-fold clip scores."""
    k, seeds = cfg.pose_default.cv_folds, cfg.pose_default.cv_seeds
    run = method(cfg, name)
    folds, oof = [], {}
    for seed in seeds:
        for f, (tr, te) in enumerate(PROTOCOLS[protocol](items, k, seed)):
            t0 = time.perf_counter()
            train, test = [items[i] for i in tr], [items[i] for i in te]
            scores = run(train, [windows[i] for i in tr], test, 1000 * seed + f)
            clips = [it for it in test if it.kind == "clip"]
            kps = [it for it in test if it.kind == "keypose"]
            folds.append({"seed": seed, "fold": f, "clips": _map(clips, scores),
                          "keyposes": _map(kps, scores), "all": _map(test, scores),
                          "n_clips": len(clips), "n_keyposes": len(kps),
                          "seconds": round(time.perf_counter() - t0, 2)})
            oof.update({f"{seed}/{i}": v for i, v in scores.items()})
            log.info("%s %s seed %d fold %d: clips %s keyposes %s", name, protocol, seed, f,
                     _r(folds[-1]["clips"]), _r(folds[-1]["keyposes"]))
    return {"method": name, "protocol": protocol, "folds": folds,
            "summary": summarize(folds, seeds), "oof": oof}


def _r(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def summarize(folds: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """Mean ± std over folds of each score: on the selection seed (the first) and on the
    report seeds (the others, or the first when there is only one)."""
    report = seeds[1:] or seeds[:1]
    out: dict[str, Any] = {}
    for part, chosen in (("select", seeds[:1]), ("report", report)):
        for key in ("clips", "keyposes", "all"):
            v = np.array([f[key] for f in folds if f["seed"] in chosen and f[key] is not None])
            out[f"{part}_{key}"] = [float(v.mean()), float(v.std())] if len(v) else None
    return out


def choose_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold maximising micro-F1 of (score >= t) on out-of-fold scores."""
    best_t, best_f1 = 0.5, -1.0
    for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
        f1 = f1_at_threshold(scores, labels, float(t))
        if f1 > best_f1:
            best_t, best_f1 = float(t), f1
    return best_t


TABLE_ACTIVITIES = ("squat", "calf_raise", "leg_press", "tricep_pushdown", "pull_up",
                    "lat_pulldown")


def clip_table(
    items: list[Item], oof: dict[str, np.ndarray], seed: int, activities: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Per clip of `activities`: the truth groups and the top predicted groups (out of fold)."""
    rows = []
    for it in items:
        key = f"{seed}/{it.item_id}"
        if it.kind != "clip" or it.activity not in activities or key not in oof:
            continue
        s = oof[key]
        truth = [GROUP_IDS[i] for i in np.flatnonzero(it.labels > 0)]
        ranked = [GROUP_IDS[i] for i in np.argsort(-s, kind="stable")]
        rows.append({
            "clip": Path(it.item_id).stem,
            "truth": truth,
            "top": [(g, round(float(s[GROUP_IDS.index(g)]), 2)) for g in ranked[: len(truth)]],
            "truth_on_top": len(set(ranked[: len(truth)]) & set(truth)),
            "ap": _clip_ap(s, it.labels),
        })
    return sorted(rows, key=lambda r: str(r["clip"]))


def _clip_ap(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision of one clip's ranking of the 20 groups (truth groups as positives)."""
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(labels > 0, scores))


def evaluate(cfg: ExperimentConfig, items: list[Item], windows: list[np.ndarray],
             names: list[str]) -> dict[str, dict[str, Any]]:
    """Both protocols for every method: {protocol: {method: result}}."""
    return {p: {m: cross_validate(cfg, items, windows, m, p) for m in names} for p in PROTOCOLS}
