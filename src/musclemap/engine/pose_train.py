"""Task "pose_default": train the predict command's model on clips + key poses, and measure it.

`fit(cfg)` runs two cross-validation protocols, chooses the activation threshold, trains the
final model on every item, and writes `run_dir/{model.safetensors, model.json, cv.json,
MODEL_CARD.md}` (`pose_default.export_dir` also copies them into the package as the default
weights). Its settings are the config's `pose_default` section (`config.PoseDefaultConfig`).

- **(a) new footage** (`source_folds`): the clips (`data.manifest`) in `pose_default.cv_folds`
  folds grouped by their source (`source_repo`: one presenter, camera and set per source); every
  training run also sees every key-pose item. Scored: the held-out clips.
- **(b) new exercises** (`exercise_folds`): clips and key poses together in folds of whole
  exercises (the same exercise in both sets is one group, `pose_windows.group_exercises`).
  Scored: the held-out clips, the held-out key poses, and both.

Every method is scored on the same folds for `pose_default.cv_seeds`; mean ± std over folds is
kept per seed: the first seed is the one choices are made on, the others are the report. Test items
are scored with `musclemap.pose.keypose_model.score_poses`, the function `predict` uses.

`python -m musclemap.engine.pose_train CONFIG --methods ...` compares methods on both protocols.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from musclemap.config import ExperimentConfig, config_to_dict, resolve_path, save_config
from musclemap.engine.pose_windows import (
    Item,
    item_windows,
    load_items,
    settings,
    training_arrays,
)
from musclemap.errors import ConfigError, DatasetError
from musclemap.inference import build_from_config
from musclemap.metrics import average_precision_map, f1_at_threshold
from musclemap.pose import keypose
from musclemap.pose.keypose_model import KeyPoseModel, score_poses
from musclemap.taxonomy import GROUP_IDS, NUM_GROUPS

log = logging.getLogger(__name__)
MODEL_NAME = "keypose_mlp"

# ----------------------------------------------------------------------------------------------
# Training


def set_threads(cfg: ExperimentConfig) -> None:
    """`train.threads` CPU threads for torch; 0 means 1 here (not torch's default), since the
    training is bit-reproducible on one thread."""
    torch.set_num_threads(cfg.train.threads or 1)


def derived_kwargs(cfg: ExperimentConfig) -> dict[str, Any]:
    """What the task sets for the model: its input width, from the feature settings."""
    if cfg.model.name != MODEL_NAME:
        raise ConfigError(
            f"task pose_default trains {MODEL_NAME!r} (key-pose features), not "
            f"{cfg.model.name!r}"
        )
    return {"in_features": keypose.num_features(settings(cfg)["motion"])}


def model_kwargs(cfg: ExperimentConfig) -> dict[str, Any]:
    """The model's kwargs as recorded in the weights' metadata (`num_classes` is 20)."""
    return {**derived_kwargs(cfg), **cfg.model.kwargs}


def train_module(
    cfg: ExperimentConfig, x: np.ndarray, y: np.ndarray, w: np.ndarray, *, seed: int
) -> nn.Module:
    """Train `keypose_mlp` on windows (AdamW, cosine LR, weighted BCE on every member).

    Bit-reproducible for a seed on one CPU thread: seeded init, seeded batch order, no
    nondeterministic kernels.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = build_from_config(cfg, **derived_kwargs(cfg))
    xt, yt, wt = (torch.from_numpy(np.ascontiguousarray(a)).float() for a in (x, y, w))
    model.set_normalization(xt)  # type: ignore[operator]
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr,
                            weight_decay=cfg.optim.weight_decay)
    bs = cfg.train.batch_size
    steps_per_epoch = max(1, int(np.ceil(len(xt) / bs)))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, cfg.train.epochs * steps_per_epoch, eta_min=cfg.optim.min_lr
    )
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    model.train()
    for _ in range(cfg.train.epochs):
        order = torch.randperm(len(xt), generator=gen)
        for i in range(steps_per_epoch):
            idx = order[i * bs : (i + 1) * bs]
            logits = model.member_logits(xt[idx])  # type: ignore[operator]
            target = yt[idx][:, None].expand_as(logits)
            loss = (loss_fn(logits, target).mean((1, 2)) * wt[idx]).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.optim.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
            opt.step()
            sched.step()
    return model.eval()


def model_meta(cfg: ExperimentConfig, threshold: float = 0.5) -> dict[str, Any]:
    """What `KeyPoseModel` and `Predictor` need besides the tensors."""
    return {
        "name": cfg.model.name,
        "version": cfg.pose_default.version,
        "kwargs": model_kwargs(cfg),
        "input": "keypose",
        "features": list(keypose.FEATURE_NAMES)
        + (list(keypose.MOTION_NAMES) if settings(cfg)["motion"] else []),
        **settings(cfg),
        "fps": cfg.pose_default.fps,
        "threshold": threshold,
        "min_seconds": cfg.pose_default.min_seconds,
        "knn": dataclasses.asdict(cfg.pose_default.knn),
        "groups": list(GROUP_IDS),
    }


Library = tuple[np.ndarray, np.ndarray, list[str]]


def library_embeddings(
    model: KeyPoseModel, items: list[Item], windows: list[np.ndarray], *, per_item: bool = False
) -> Library:
    """The library ("looks like" and the k-NN blend): per training exercise (by display name),
    or per item with `per_item` (a clip or photo pair each), the mean embedding over the
    windows, the mean of the labels, and the name."""
    groups: dict[str, list[np.ndarray]] = defaultdict(list)
    labels: dict[str, list[np.ndarray]] = defaultdict(list)
    names_of: dict[str, str] = {}
    for it, x in zip(items, windows, strict=True):
        if len(x):
            key = it.item_id if per_item else it.name
            groups[key].append(model.embed(x))
            labels[key].append(it.labels)
            names_of[key] = it.name
    keys = sorted(groups)
    emb = np.stack([np.concatenate(groups[k]).mean(0) for k in keys])
    lab = np.stack([np.mean(labels[k], 0) for k in keys])
    return emb.astype(np.float32), lab.astype(np.float32), [names_of[k] for k in keys]


def numpy_model(
    module: nn.Module,
    meta: dict[str, Any],
    items: list[Item] | None = None,
    windows: list[np.ndarray] | None = None,
) -> KeyPoseModel:
    """The numpy model `predict` runs; with `items` (and their `windows`), its library."""
    tensors = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    model = KeyPoseModel(tensors, meta)
    if not items or windows is None:
        return model
    per_item = bool(meta.get("knn", {}).get("per_item", False))
    emb, lab, names = library_embeddings(model, items, windows, per_item=per_item)
    return KeyPoseModel(
        {**tensors, "library.embeddings": emb, "library.labels": lab},
        {**meta, "library": {"names": names}},
    )


# ----------------------------------------------------------------------------------------------
# Methods: (train items, their training windows, test items, seed) -> clip scores by item id

Method = Callable[[list[Item], list[np.ndarray], list[Item], int], dict[str, np.ndarray]]


def _score_all(model: Any, test: list[Item]) -> dict[str, np.ndarray]:
    return {it.item_id: score_poses(model, it.seq).clip for it in test}


def _mlp(cfg: ExperimentConfig) -> Method:
    def run(train: list[Item], wins: list[np.ndarray], test: list[Item], seed: int) -> dict:
        x, y, w = training_arrays(train, wins, cfg)
        module = train_module(cfg, x, y, w, seed=seed)
        return _score_all(numpy_model(module, model_meta(cfg), train, wins), test)

    return run


class _SklearnWindows:
    """A scikit-learn classifier on key-pose windows behind the model interface `score_poses`
    needs (comparison only; the shipped model is the MLP)."""

    def __init__(self, clf: Any, cfg: ExperimentConfig, mean: np.ndarray, keep: np.ndarray
                 ) -> None:
        s = settings(cfg)
        self.window, self.stride = s["window"], s["stride"]
        self.min_visibility, self.motion = s["min_visibility"], s["motion"]
        self.clf, self.mean, self.keep = clf, mean, keep

    def _x(self, x: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(x), x, self.mean)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), NUM_GROUPS))  # a group never positive in training scores 0
        out[:, self.keep] = _proba(self.clf, self._x(x))
        return out

    def embed(self, x: np.ndarray) -> np.ndarray:
        return self._x(x)


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


# ----------------------------------------------------------------------------------------------
# The task


def evaluate(cfg: ExperimentConfig, items: list[Item], windows: list[np.ndarray],
             names: list[str]) -> dict[str, dict[str, Any]]:
    """Both protocols for every method: {protocol: {method: result}}."""
    return {p: {m: cross_validate(cfg, items, windows, m, p) for m in names} for p in PROTOCOLS}


def fit(cfg: ExperimentConfig) -> Path:
    """Cross-validate (both protocols, model and baselines), choose the threshold, train on
    every item, write the weights with the exercise library; -> run_dir."""
    set_threads(cfg)
    run_dir = Path(cfg.train.out_dir) / (cfg.train.run_name or "pose_default")
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run_dir / "config.yaml")
    items = load_items(cfg)
    if len(items) < 4:
        raise DatasetError(f"need at least 4 items with a person to train, got {len(items)}")
    windows = item_windows(items, cfg, seed=cfg.train.seed)
    names = [cfg.model.name, *cfg.pose_default.baselines]
    results = evaluate(cfg, items, windows, names) if cfg.pose_default.cv_folds > 1 else {}
    seeds = cfg.pose_default.cv_seeds
    threshold = 0.5
    table: list[dict[str, Any]] = []
    if results:
        mine = results["new_footage"][cfg.model.name]
        first = [k for k in mine["oof"] if k.startswith(f"{seeds[0]}/")]
        by_id = {it.item_id: it for it in items}
        threshold = choose_threshold(
            np.stack([mine["oof"][k] for k in first]),
            np.stack([by_id[k.split("/", 1)[1]].labels for k in first]),
        )
        table = clip_table(items, mine["oof"], seeds[-1], TABLE_ACTIVITIES)
    cv = {p: {m: {k: v for k, v in r.items() if k != "oof"} for m, r in res.items()}
          for p, res in results.items()}
    (run_dir / "cv.json").write_text(json.dumps({"cv": cv, "clip_table": table}, indent=1))
    x, y, w = training_arrays(items, windows, cfg)
    module = train_module(cfg, x, y, w, seed=cfg.train.seed)
    model = numpy_model(module, model_meta(cfg, threshold), items, windows)
    meta = {
        **model.meta,
        "trained_on": {
            "clips": sum(it.kind == "clip" for it in items),
            "keyposes": sum(it.kind == "keypose" for it in items),
            "exercises": len({it.exercise for it in items}),
            "manifest": cfg.data.manifest or "synthetic",
            "library_manifest": cfg.pose_default.library_manifest,
        },
        "cv": {p: {m: r["summary"] for m, r in res.items()} for p, res in cv.items()},
        "clip_table": table,
        "protocol": {"folds": cfg.pose_default.cv_folds, "seeds": seeds},
        # without `source`: the config file's absolute path on the training machine
        "config": {k: v for k, v in config_to_dict(cfg).items() if k != "source"},
    }
    library = {"library.embeddings": np.asarray(model.library),
               "library.labels": np.asarray(model.library_labels)}
    meta = save_weights(module, library, meta, run_dir / "model.safetensors",
                        run_dir / "model.json")
    (run_dir / "MODEL_CARD.md").write_text(model_card(meta))
    export = cfg.pose_default.export_dir
    if export:
        dest = resolve_path(cfg, export)
        dest.mkdir(parents=True, exist_ok=True)
        for src, dst in (("model.safetensors", "default.safetensors"),
                         ("model.json", "default.json"), ("MODEL_CARD.md", "MODEL_CARD.md")):
            shutil.copyfile(run_dir / src, dest / dst)
    log.info("pose_default: threshold %.2f -> %s", threshold, run_dir)
    return run_dir


def save_weights(module: nn.Module, library: dict[str, np.ndarray], meta: dict[str, Any],
                 weights: Path, meta_path: Path) -> dict[str, Any]:
    """safetensors (the module's tensors + the library's, float32, via numpy) plus a JSON meta
    recording their SHA-256 (returned)."""
    from safetensors.numpy import save_file

    tensors = {k: v.detach().cpu().numpy().astype(np.float32)
               for k, v in module.state_dict().items()}
    tensors.update({k: v.astype(np.float32) for k, v in library.items()})
    save_file(tensors, str(weights))
    meta = {**meta, "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
            "size_bytes": weights.stat().st_size}
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def _fmt(v: list[float] | None) -> str:
    return "n/a" if v is None else f"{v[0]:.3f} ± {v[1]:.3f}"


def model_card(meta: dict[str, Any]) -> str:
    """The model card (Markdown) of a trained default model, from its metadata."""
    cv, data, proto = meta.get("cv", {}), meta["trained_on"], meta["protocol"]
    seeds = proto["seeds"]
    rep = seeds[1:] or seeds[:1]
    lines = []
    for m, r in cv.get("new_footage", {}).items():
        b = cv.get("new_exercises", {}).get(m, {})
        lines.append(f"| {m} | {_fmt(r.get('report_clips'))} | {_fmt(b.get('report_clips'))} | "
                     f"{_fmt(b.get('report_keyposes'))} | {_fmt(b.get('report_all'))} |")
    sel = []
    for m, r in cv.get("new_footage", {}).items():
        b = cv.get("new_exercises", {}).get(m, {})
        sel.append(f"| {m} | {_fmt(r.get('select_clips'))} | {_fmt(b.get('select_clips'))} | "
                   f"{_fmt(b.get('select_keyposes'))} | {_fmt(b.get('select_all'))} |")
    clip_rows = "\n".join(
        f"| {r['clip']} | {', '.join(r['truth'])} | "
        f"{', '.join(f'{g} {p:.2f}' for g, p in r['top'])} | "
        f"{r['truth_on_top']}/{len(r['truth'])} | {r['ap']:.2f} |"
        for r in meta.get("clip_table", [])
    )
    header = ("| method | (a) new footage: clips | (b) new exercises: clips | (b) key poses | "
              "(b) all |\n|---|---|---|---|---|")
    return f"""# musclemap default model: {meta["name"]} v{meta["version"]}

Maps MediaPipe Pose landmarks to probabilities of the 20 muscle groups through the two key
poses of each window's dominant movement ({meta["window"]} frames at {meta["fps"]:g} fps,
stride {meta["stride"]}; two key-position photos are one window). A video's score is the mean
over its windows with a person. Written by `musclemap train configs/predict_default.yaml`.

- **Weights**: `default.safetensors`, {meta["size_bytes"]} bytes, SHA-256
  `{meta["sha256"]}` (checked at load time); numpy inference (no torch at predict time).
- **Input**: {len(meta["features"])} key-pose features (`musclemap.pose.keypose`): both poses'
  joint angles, segment inclination against gravity, limb directions in the torso frame and
  heights, their difference (range of motion); mirror- and yaw-invariant; joints with
  visibility < {meta["min_visibility"]} count as missing.
- **Threshold** for "active": {meta["threshold"]:.2f}, maximising micro-F1 on the out-of-fold
  scores of protocol (a), seed {seeds[0]}.
- **Data**: {data["clips"]} video clips ({data["manifest"]}) and {data["keyposes"]} key-pose
  photo pairs ({data["library_manifest"] or "none"}), {data["exercises"]} exercise groups.
  Labels are per exercise (primary and secondary movers), not per person or repetition.
- **Looks like**: {len(meta["library"]["names"])} library exercises (one embedding each, the
  mean of the model's hidden activations over its windows), top 3 by cosine similarity.

## Evaluation

Protocols (`musclemap.engine.pose_train`), {proto["folds"]} folds each, mAP
(`average_precision_map`, macro over groups with a positive) of clip scores computed by
`score_poses`, the function `predict` uses:

- **(a) new footage of known exercises**: wild clips in folds grouped by source (presenter,
  camera, set); key poses always in training. Scored on the held-out clips.
- **(b) new exercises**: wild clips and key poses in folds of whole exercises (the same
  exercise in both sets is one group). Scored on held-out clips, key poses and both.
- Baselines on the same folds: `random`, `all_ones`, and `extra_trees` (the issue's 58 clip
  features + extra-trees, trained on the training clips).

Report: mean ± std over the folds of seeds {rep} (choices were made on seed {seeds[0]}):

{header}
{chr(10).join(lines)}

Selection seed {seeds[0]} (what the choices were made on):

{header}
{chr(10).join(sel)}

### Clip by clip, protocol (a), seed {seeds[-1]}

Top groups (as many as the truth has) of each held-out clip; "on top": truth groups among them;
AP: average precision of the clip's ranking of the 20 groups.

| clip | truth | top predicted | on top | AP |
|---|---|---|---|---|
{clip_rows}

## Intended use and limits

For exploring which muscle groups an exercise video mainly works: coaching, teaching, app
prototypes. Not a medical device; it does not measure activation (no EMG), effort or form.
Labels are exercise-level, so the model answers "which groups does an exercise like this work";
it cannot tell a light from a heavy load, and the pose carries no equipment: a cable pushdown
and a band pushdown look alike. Expect errors with several people in view (only the most
prominent is followed), bodies partly out of frame, and unusual camera angles.
"""


def main(argv: list[str] | None = None) -> None:
    """`python -m musclemap.engine.pose_train CONFIG [--methods ...] [--set k=v ...] [--out J]`:
    both protocols for several methods on the same folds."""
    import argparse

    from musclemap.config import load_config

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("config", type=Path)
    parser.add_argument("--methods", nargs="+",
                        default=[MODEL_NAME, "extra_trees", "random", "all_ones"])
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS))
    parser.add_argument("--set", nargs="*", default=[], help="config overrides key=value")
    parser.add_argument("--out", type=Path, help="write the JSON results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = load_config(args.config, args.set)
    set_threads(cfg)
    items = load_items(cfg)
    windows = item_windows(items, cfg, seed=cfg.train.seed)
    out: dict[str, Any] = {}
    for p in args.protocols:
        for m in args.methods:
            r = cross_validate(cfg, items, windows, m, p)
            s = r["summary"]
            print(f"{p:14s} {m:12s} select clips {_fmt(s['select_clips'])} kp "
                  f"{_fmt(s['select_keyposes'])} | report clips {_fmt(s['report_clips'])} "
                  f"kp {_fmt(s['report_keyposes'])} all {_fmt(s['report_all'])}", flush=True)
            out.setdefault(p, {})[m] = {k: v for k, v in r.items() if k != "oof"}
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
