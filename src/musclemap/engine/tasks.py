"""Training tasks: `cfg.task` -> "module:function" of a `fit(cfg) -> run_dir`.

`musclemap train CONFIG` calls `run_task(cfg)`. "supervised" trains any registered model on the
config's modality (one input, or two for late-fusion models); "transm3e" adds both branches'
classification losses and the distillation loss (equal weights) and can start stage 2 from
stage-1 branch checkpoints; "baseline" scores the statistic baselines of Table II (Random,
All Ones; `baseline.name`) without training; "pose_default" trains the predict command's
default model.
"""

from __future__ import annotations

import fnmatch
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from musclemap.config import ExperimentConfig, changed_fields, resolve_path
from musclemap.data.samples import Batch
from musclemap.engine.checkpoint import load_checkpoint
from musclemap.engine.loop import LossFn, model_inputs, unwrap
from musclemap.engine.train import run_training
from musclemap.errors import ConfigError

log = logging.getLogger("musclemap.train")

@dataclass(frozen=True)
class Task:
    """A training function and the config fields it reads (dotted, glob patterns)."""

    target: str  # "module:function" of a `fit(cfg) -> run_dir`
    honours: tuple[str, ...]


_RUN = ("task", "source", "train.out_dir", "train.run_name", "train.seed")
_ROWS = ("data.manifest", "data.synthetic", "data.synthetic_clips", "data.fold", "data.num_folds",
         "data.fold_seed")
# engine/train.run_training: the whole data, model, optimiser and training sections.
_LOOP = ("data.*", "model.*", "optim.*", "train.*")

TASKS: dict[str, Task] = {
    "supervised": Task("musclemap.engine.tasks:fit_supervised", (*_RUN, *_LOOP)),
    "transm3e": Task("musclemap.engine.tasks:fit_transm3e", (*_RUN, *_LOOP, "transm3e.*")),
    "baseline": Task("musclemap.engine.tasks:fit_baseline", (*_RUN, *_ROWS, "baseline.*")),
    # engine/pose_train: its own loop (AdamW, cosine to min_lr, BCE, no AMP/accumulation/device)
    # on key-pose windows of the manifest's pose files; no splits, folds of its own.
    "pose_default": Task(
        "musclemap.engine.pose_train:fit",
        (*_RUN, "data.manifest", "data.synthetic", "data.synthetic_clips", "data.window",
         "model.name", "model.kwargs.*", "optim.lr", "optim.weight_decay", "optim.min_lr",
         "optim.grad_clip", "train.epochs", "train.batch_size", "train.threads",
         "pose_default.*"),
    ),
}


def _task(name: str) -> Task:
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; choose from {', '.join(sorted(TASKS))}")
    return TASKS[name]


def get_task(name: str) -> Callable[[ExperimentConfig], Path]:
    module, func = _task(name).target.split(":")
    try:
        return getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"task {name!r} is unavailable ({err})") from None


_VIDEO_DATA = ("data.clip_len", "data.crop_size", "data.sampling_rate", "data.train_scale",
               "data.test_scale", "data.cache_dir")
_POSE_DATA = ("data.layout", "data.window", "data.coords", "data.channels")
# Generated clips (data/synthetic.py) replace the manifest, decoding and pose files.
_NOT_SYNTHETIC = ("data.manifest", "data.fold", "data.num_folds", "data.sampling_rate",
                  "data.train_scale", "data.test_scale", "data.cache_dir", "data.coords")


def unread_data(cfg: ExperimentConfig) -> set[str]:
    """`data` fields the datasets of `run_training` do not read for this config's inputs
    (`data/datasets.py`, `data/synthetic.py`): video settings (test views included) without a
    video input, pose settings without poses, file settings with generated clips and the
    number of generated clips with files."""
    d = cfg.data
    inputs = {d.modality, d.aux_modality} - {""}
    video, pose = bool(inputs & {"rgb", "rgbdiff", "flow"}), "pose" in inputs
    unread = set() if video else set(_VIDEO_DATA)
    unread |= set() if pose else set(_POSE_DATA)
    if not video:
        unread.add("data.num_views")  # a pose clip (file or generated) has one view
    unread |= set(_NOT_SYNTHETIC) if d.synthetic else {"data.synthetic_clips"}
    return unread


def unhonoured_fields(cfg: ExperimentConfig) -> list[str]:
    """Fields `cfg` sets (differing from the default) that its task does not read."""
    honours = _task(cfg.task).honours
    unread = unread_data(cfg) if "data.*" in honours else set()
    return [
        key
        for key in changed_fields(cfg)
        if key in unread or not any(fnmatch.fnmatchcase(key, pattern) for pattern in honours)
    ]


def check_honoured(cfg: ExperimentConfig) -> None:
    """ConfigError naming every set field the task would silently ignore."""
    ignored = unhonoured_fields(cfg)
    if ignored:
        where = f"{cfg.source}: " if cfg.source else ""
        raise ConfigError(
            f"{where}task {cfg.task} does not use {', '.join(ignored)}; remove "
            f"{'it' if len(ignored) == 1 else 'them'} (or pick a task that does)"
        )


def run_task(cfg: ExperimentConfig) -> Path:
    """Run the training function named by `cfg.task` (after `check_honoured`); returns the run
    folder."""
    from musclemap.outputs import check_folder

    check_honoured(cfg)
    # /proc or a path under a file: one line now, not a traceback when the run folder is made.
    check_folder(cfg.train.out_dir, "train.out_dir")
    return get_task(cfg.task)(cfg)


def supervised_loss(criterion: nn.Module) -> LossFn:
    def compute(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return criterion(model(*model_inputs(model, batch)), batch.labels), {}

    return compute


def fit_supervised(cfg: ExperimentConfig) -> Path:
    """Any registered model trained with BCE / focal loss on its logits."""
    return run_training(cfg, supervised_loss)


def transm3e_loss(criterion: nn.Module, *, kd_weight: float = 1.0) -> LossFn:
    """L = L_cls(receiver) + L_cls(sender) + kd_weight * L_MCTKD (paper: equal weights)."""

    def compute(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(*model_inputs(model, batch), with_losses=True)
        cls_r = criterion(out.receiver_logits, batch.labels)
        parts = {"cls_receiver": cls_r, "kd": out.kd_loss}
        loss = cls_r + kd_weight * out.kd_loss
        if out.sender_logits is not None:
            parts["cls_sender"] = criterion(out.sender_logits, batch.labels)
            loss = loss + parts["cls_sender"]
        return loss, parts

    return compute


def init_transm3e_branches(model: nn.Module, cfg: ExperimentConfig) -> None:
    """Stage 2: start the branches from stage-1 runs (`transm3e.receiver_init` / `.sender_init`).

    A stage-1 checkpoint holds one backbone trained with MCT only; its distillation tokens do not
    exist yet and its head is replaced, so those keys are listed (not silently dropped).
    """
    model = unwrap(model)
    for key, branch in (("receiver_init", "receiver"), ("sender_init", "sender")):
        path = getattr(cfg.transm3e, key)
        if not path:
            continue
        module = getattr(model, branch, None)
        if module is None:
            raise ConfigError(f"transm3e.{key} given but the model has no {branch} branch")
        report = load_checkpoint(module, resolve_path(cfg, path), strict=False)
        log.info("%s from %s: %s", branch, path, report)
        extra = [k for k in report.missing if "kd_token" not in k]
        if extra:
            raise ConfigError(f"{path} lacks {branch} weights: {', '.join(extra[:5])}")
        # The stage-1 backbone's own classifier and final norm are replaced by the branch head;
        # any other key the branch lacks means another architecture.
        foreign = [k for k in report.unexpected if not k.startswith(("head.", "norm."))]
        if foreign:
            raise ConfigError(f"{path} does not fit the {branch}: {', '.join(foreign[:5])}")


def fit_transm3e(cfg: ExperimentConfig) -> Path:
    """TransM3E (any `transm3e*` model): classification of both branches plus distillation."""
    weight = cfg.transm3e.kd_weight
    return run_training(
        cfg, lambda c: transm3e_loss(c, kd_weight=weight), prepare=init_transm3e_branches
    )


def fit_baseline(cfg: ExperimentConfig) -> Path:
    """Table II's Random / All Ones (`baseline.name`): predictions and results.json, no model."""
    import json

    import numpy as np

    from musclemap.baselines import all_ones_scores, random_scores
    from musclemap.data.datasets import load_rows
    from musclemap.data.predictions import write_predictions
    from musclemap.data.tables import split_table
    from musclemap.engine.train import run_dir_for

    name = cfg.baseline.name
    rows = [r for r in load_rows(cfg) if r.split != "train"]
    if name == "random":
        scores = random_scores(len(rows), seed=cfg.train.seed)
    elif name == "all_ones":
        scores = all_ones_scores(len(rows))
    else:
        raise ConfigError(f"baseline.name must be random or all_ones, got {name!r}")
    run_dir = run_dir_for(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    ids = [r.clip_id for r in rows]
    write_predictions(run_dir / "predictions.csv", ids, scores)
    table = split_table(rows, dict(zip(ids, np.asarray(scores), strict=True)))
    (run_dir / "results.json").write_text(
        json.dumps({"model": name, "num_params": 0, **table}, indent=2)
    )
    return run_dir
