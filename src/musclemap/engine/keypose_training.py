"""The predict model's training pieces (task "pose_default"): `keypose_mlp` on key-pose windows,
its metadata, the numpy model `predict` runs with its exercise library, and the weights file.

Used by the cross-validation (`engine/keypose_cv.py`) and the task (`engine/pose_train.py`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from musclemap.config import ExperimentConfig
from musclemap.engine.distributed import set_torch_threads
from musclemap.engine.pose_windows import (
    Item,
    domain_ids,
    exercise_ids,
    settings,
    training_arrays,
)
from musclemap.errors import ConfigError
from musclemap.inference import build_from_config
from musclemap.pose import keypose
from musclemap.pose.forest import PREFIX as FOREST_PREFIX
from musclemap.pose.keypose_model import KeyPoseModel
from musclemap.taxonomy import GROUP_IDS

MODEL_NAME = "keypose_mlp"


def set_threads(cfg: ExperimentConfig) -> None:
    """`train.threads` CPU threads for torch; 0 means 1 here (not torch's default), since the
    training is bit-reproducible on one thread."""
    set_torch_threads(cfg.train.threads or 1)


def derived_kwargs(cfg: ExperimentConfig) -> dict[str, Any]:
    """What the task sets for the model: its input width, from the feature settings."""
    if cfg.model.name != MODEL_NAME:
        raise ConfigError(
            f"task pose_default trains {MODEL_NAME!r} (key-pose features), not "
            f"{cfg.model.name!r}"
        )
    s = settings(cfg)
    out: dict[str, Any] = {"in_features": keypose.num_features(s["motion"], s["tempo"])}
    if cfg.pose_default.label_domains != "none":  # absent when "none": old kwargs stay as they were
        out["label_domains"] = cfg.pose_default.label_domains
    return out


def model_kwargs(cfg: ExperimentConfig) -> dict[str, Any]:
    """The model's kwargs as recorded in the weights' metadata (`num_classes` is 20)."""
    return {**derived_kwargs(cfg), **cfg.model.kwargs}


def train_module(
    cfg: ExperimentConfig,
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    *,
    seed: int,
    exercise: np.ndarray | None = None,
    domain: np.ndarray | None = None,
) -> nn.Module:
    """Train `keypose_mlp` on windows (AdamW, cosine LR, weighted BCE on every member).

    With `pose_default.exercise_loss` > 0 and `exercise` (each window's exercise index,
    `pose_windows.exercise_ids`), a linear head per member on the hidden layer also learns which
    exercise a window shows (weighted cross-entropy): the hidden layer is the embedding the k-NN
    blend and "looks like" compare, and this teaches it to tell exercises apart. The head is
    dropped after training (not in the weights).

    With `pose_default.label_domains` and `domain` (each window's label convention,
    `pose_windows.domain_ids`), a window's loss is on its own domain's output; the residual
    layers (`domain_w2`, `domain_b2`) are also penalised by `pose_default.domain_l2` times their
    sum of squares per member.

    Bit-reproducible for a seed on one CPU thread: seeded init, seeded batch order, no
    nondeterministic kernels.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = build_from_config(cfg, **derived_kwargs(cfg))
    xt, yt, wt = (torch.from_numpy(np.ascontiguousarray(a)).float() for a in (x, y, w))
    model.set_normalization(xt)  # type: ignore[operator]
    use_domains = domain is not None and cfg.pose_default.label_domains != "none"
    dt = torch.from_numpy(np.asarray(domain, dtype=np.int64)) if use_domains else None
    l2 = cfg.pose_default.domain_l2 if use_domains else 0.0
    residual = [p for n, p in model.named_parameters() if n.startswith("domain_")]
    n_members = int(model.members)  # type: ignore[arg-type]
    params = list(model.parameters())
    aux_weight = cfg.pose_default.exercise_loss if exercise is not None else 0.0
    if aux_weight > 0:
        assert exercise is not None
        et = torch.from_numpy(np.asarray(exercise, dtype=np.int64))
        members, hidden = int(model.members), int(model.hidden)  # type: ignore[arg-type]
        n_ex = int(et.max()) + 1
        bound = hidden**-0.5
        aux_w = nn.Parameter(torch.empty(members, hidden, n_ex).uniform_(-bound, bound))
        aux_b = nn.Parameter(torch.zeros(members, n_ex))
        params += [aux_w, aux_b]
    opt = torch.optim.AdamW(params, lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    bs = cfg.train.batch_size
    steps_per_epoch = max(1, int(np.ceil(len(xt) / bs)))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, cfg.train.epochs * steps_per_epoch, eta_min=cfg.optim.min_lr
    )
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    ce = nn.CrossEntropyLoss(reduction="none")
    model.train()
    for _ in range(cfg.train.epochs):
        order = torch.randperm(len(xt), generator=gen)
        for i in range(steps_per_epoch):
            idx = order[i * bs : (i + 1) * bs]
            logits, h = model.member_outputs(  # type: ignore[operator]
                xt[idx], None if dt is None else dt[idx])
            target = yt[idx][:, None].expand_as(logits)
            loss = (loss_fn(logits, target).mean((1, 2)) * wt[idx]).mean()
            if l2 > 0:
                loss = loss + l2 * sum((p**2).sum() for p in residual) / n_members
            if aux_weight > 0:
                ex_logits = torch.einsum("mbh,mhe->mbe", h, aux_w) + aux_b[:, None]
                ex_loss = ce(ex_logits.reshape(-1, n_ex), et[idx].repeat(members))
                loss = loss + aux_weight * (ex_loss.reshape(members, -1).mean(0) * wt[idx]).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.optim.grad_clip > 0:
                nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip)
            opt.step()
            sched.step()
    return model.eval()


def fit_items(
    cfg: ExperimentConfig, items: list[Item], windows: list[np.ndarray], *, seed: int
) -> nn.Module:
    """`train_module` on training items and their windows (`pose_windows.item_windows`): the
    one recipe the cross-validation folds and the final model share."""
    x, y, w = training_arrays(items, windows, cfg)
    return train_module(cfg, x, y, w, seed=seed, exercise=exercise_ids(items, windows),
                        domain=domain_ids(items, windows))


def fit_forest(
    cfg: ExperimentConfig, items: list[Item], windows: list[np.ndarray], *, seed: int
) -> dict[str, np.ndarray]:
    """The forest blended with the MLP (`pose_default.forest`, `pose.forest`) on the same
    training windows as `fit_items`; {} when its weight is 0."""
    from musclemap.pose.forest import fit_forest as fit

    f = cfg.pose_default.forest
    if f.weight <= 0:
        return {}
    x, y, _ = training_arrays(items, windows, cfg)
    return fit(x, y, trees=f.trees, min_leaf=f.min_leaf, max_features=f.max_features, seed=seed)


def model_meta(cfg: ExperimentConfig, threshold: float = 0.5) -> dict[str, Any]:
    """What `KeyPoseModel` and `Predictor` need besides the tensors (`forest` only with a
    forest: older metadata stays as it was)."""
    s = settings(cfg)
    forest = cfg.pose_default.forest
    extra = {"forest": dataclasses.asdict(forest)} if forest.weight > 0 else {}
    return {
        "name": cfg.model.name,
        "version": cfg.pose_default.version,
        "kwargs": model_kwargs(cfg),
        "input": "keypose",
        "features": list(keypose.feature_names(s["motion"], s["tempo"])),
        **s,
        "fps": cfg.pose_default.fps,
        "threshold": threshold,
        "min_seconds": cfg.pose_default.min_seconds,
        "pose_estimator": cfg.pose_default.pose_estimator,
        "knn": dataclasses.asdict(cfg.pose_default.knn),
        "groups": list(GROUP_IDS),
        **extra,
    }


Library = tuple[np.ndarray, np.ndarray, list[str]]


def item_domain_labels(model: KeyPoseModel, items: list[Item], windows: list[np.ndarray],
                       mode: str) -> list[np.ndarray]:
    """Each item's label vector in every label convention `(D, 20)` (the k-NN library's labels
    a video, domain 0, and a photo pair, domain 1, are blended with), by `knn.domain_labels`:
    "own" its labels in every domain; "exercise" a key-pose item lends videos the mean labels of
    the training clips of its canonical exercise (`Item.exercise`; its own where there are none)
    and photo pairs its own; "exercise_both" likewise, and a clip lends photo pairs the mean
    labels of its exercise's key-pose items; "translate" its labels shifted by the model's
    difference between the other domain's output and its own on its windows (clipped to [0, 1];
    no shift without `label_domains`)."""
    from musclemap.engine.pose_windows import item_domain
    from musclemap.models.pose.keypose_mlp import DOMAINS

    n = len(DOMAINS)
    own = [np.repeat(it.labels[None].astype(np.float64), n, 0) for it in items]
    if mode == "own":
        return own
    if mode in ("exercise", "exercise_both"):
        by: dict[tuple[str, int], list[np.ndarray]] = defaultdict(list)
        for it in items:
            by[(it.exercise, item_domain(it))].append(it.labels)
        for it, lab in zip(items, own, strict=True):
            # "exercise": only what videos read (domain 0) changes
            for d in range(n) if mode == "exercise_both" else range(1):
                if d != item_domain(it) and by.get((it.exercise, d)):
                    lab[d] = np.mean(by[(it.exercise, d)], 0)
        return own
    for it, x, lab in zip(items, windows, own, strict=True):
        if not len(x):
            continue
        p = [model.head_probabilities(x, d).mean(0) for d in range(n)]
        mine = item_domain(it)
        for d in range(n):
            if d != mine:
                lab[d] = np.clip(it.labels + p[d] - p[mine], 0.0, 1.0)
    return own


def library_embeddings(
    model: KeyPoseModel, items: list[Item], windows: list[np.ndarray], *, per_item: bool = False,
    domain_labels: str = "own",
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The library ("looks like" and the k-NN blend): per training exercise (by display name),
    or per item with `per_item` (a clip or photo pair each), the mean embedding over the
    windows, the mean of the labels in each label convention `(D, E, 20)`
    (`item_domain_labels`; D = 1 with `domain_labels` "own"), and the name."""
    groups: dict[str, list[np.ndarray]] = defaultdict(list)
    labels: dict[str, list[np.ndarray]] = defaultdict(list)
    names_of: dict[str, str] = {}
    per_domain = item_domain_labels(model, items, windows, domain_labels)
    for it, x, lab in zip(items, windows, per_domain, strict=True):
        if len(x):
            key = it.item_id if per_item else it.name
            groups[key].append(model.embed(x))
            labels[key].append(lab)
            names_of[key] = it.name
    keys = sorted(groups)
    emb = np.stack([np.concatenate(groups[k]).mean(0) for k in keys])
    lab = np.stack([np.mean(labels[k], 0) for k in keys], 1)  # (D, E, 20)
    if domain_labels == "own":
        lab = lab[:1]
    return emb.astype(np.float32), lab.astype(np.float32), [names_of[k] for k in keys]


def numpy_model(
    module: nn.Module,
    meta: dict[str, Any],
    items: list[Item] | None = None,
    windows: list[np.ndarray] | None = None,
    forest: dict[str, np.ndarray] | None = None,
) -> KeyPoseModel:
    """The numpy model `predict` runs; with `items` (and their `windows`), its library; with
    `forest` (`fit_forest`), its forest."""
    tensors = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    tensors.update(forest or {})
    model = KeyPoseModel(tensors, meta)
    if not items or windows is None:
        return model
    knn = meta.get("knn", {})
    emb, lab, names = library_embeddings(model, items, windows,
                                         per_item=bool(knn.get("per_item", False)),
                                         domain_labels=str(knn.get("domain_labels", "own")))
    library = {**tensors, "library.embeddings": emb, "library.labels": lab[0]}
    if len(lab) > 1:  # the other label conventions' k-NN labels
        library["library.domain_labels"] = lab[1:]
    return KeyPoseModel(library, {**meta, "library": {"names": names}})


def save_weights(module: nn.Module, library: dict[str, np.ndarray], meta: dict[str, Any],
                 weights: Path, meta_path: Path) -> dict[str, Any]:
    """safetensors (the module's tensors + the library's, float32, via numpy) plus a JSON meta
    recording their SHA-256 (returned)."""
    from safetensors.numpy import save_file

    tensors = {k: v.detach().cpu().numpy().astype(np.float32)
               for k, v in module.state_dict().items()}
    # The forest's arrays keep their types (node indices, float64 thresholds: `pose.forest`).
    tensors.update({k: v if k.startswith(FOREST_PREFIX) else v.astype(np.float32)
                    for k, v in library.items()})
    save_file(tensors, str(weights))
    meta = {**meta, "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
            "size_bytes": weights.stat().st_size}
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta
