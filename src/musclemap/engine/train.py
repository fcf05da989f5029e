"""`fit(cfg) -> run_dir` for every task: data, model, optimiser, epochs, checkpoints, final test.

`run_training(cfg, make_loss, prepare)` is the shared body; the tasks in `musclemap.engine.tasks`
differ only in how they compute the loss (and prepare the model, e.g. TransM3E's stage-2 init).
Resuming: when `run_dir/last.pt` exists (and `train.resume`), training continues from the end of
the last completed epoch with every RNG restored, so the final weights equal those of an
uninterrupted run on CPU.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from musclemap.config import (
    ExperimentConfig,
    config_from_dict,
    config_to_dict,
    flatten,
    resolve_path,
    save_config,
)
from musclemap.data.datasets import build_datasets, load_rows
from musclemap.data.manifest import ManifestRow
from musclemap.data.predictions import write_predictions
from musclemap.data.samples import collate_samples
from musclemap.data.tables import split_table
from musclemap.engine.checkpoint import (
    atomic_save,
    load_pretrained_weights,
    read_checkpoint,
    rng_state,
    set_rng_state,
)
from musclemap.engine.distributed import (
    DistInfo,
    ShardSampler,
    barrier,
    cleanup,
    gather_predictions,
    init_distributed,
    pick_device,
    set_torch_threads,
)
from musclemap.engine.logging_utils import RunLogger, make_progress
from musclemap.engine.loop import LossFn, TrainState, evaluate, train_one_epoch, unwrap
from musclemap.engine.losses import build_loss
from musclemap.engine.schedule import build_scheduler
from musclemap.errors import ConfigError
from musclemap.inference import build_from_config
from musclemap.taxonomy import NUM_GROUPS

log = logging.getLogger("musclemap.train")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (seeds legacy global use in dependencies)
    torch.manual_seed(seed)


def run_dir_for(cfg: ExperimentConfig) -> Path:
    name = cfg.train.run_name or (Path(cfg.source).stem if cfg.source else "run")
    return Path(cfg.train.out_dir).expanduser() / name


def build_experiment_model(cfg: ExperimentConfig, *, pretrained: bool = True) -> nn.Module:
    """The registered model named by the config (`inference.build_from_config`: 20 groups
    unless kwargs say otherwise; models take layout names as well as layouts).

    With `pretrained` (and `model.pretrained` set) the weights start from that file, strictly
    (`load_pretrained_weights`); evaluation of a trained checkpoint skips it.
    """
    model = build_from_config(cfg)
    if cfg.model.pretrained and pretrained:
        path = resolve_path(cfg, cfg.model.pretrained)
        log.info("pretrained %s: %s", path, load_pretrained_weights(model, path))
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_loader(
    ds: Dataset,
    cfg: ExperimentConfig,
    info: DistInfo,
    *,
    train: bool,
    generator: torch.Generator | None = None,
) -> DataLoader:
    """The DataLoader of one split: shuffled (or DDP-sharded) for training, sharded in order for
    evaluation, batch size and workers from `cfg`."""
    if train:
        sampler: Any = (
            DistributedSampler(
                ds, num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=cfg.train.seed
            )
            if info.enabled
            else (torch.utils.data.RandomSampler(ds, generator=generator))  # type: ignore[arg-type]
        )
    else:
        size = len(ds)  # type: ignore[arg-type]
        sampler = ShardSampler(size, rank=info.rank, world_size=info.world_size)
    return DataLoader(
        ds,
        batch_size=cfg.train.batch_size,
        sampler=sampler,
        num_workers=cfg.data.num_workers,
        collate_fn=collate_samples,
        generator=generator,
        persistent_workers=False,
        drop_last=False,
    )


def evaluate_splits(
    model: nn.Module,
    loaders: dict[str, DataLoader],
    *,
    device: torch.device,
    amp: str,
    info: DistInfo,
) -> dict[str, tuple[list[str], np.ndarray]]:
    """Split -> (clip ids, scores), gathered from all ranks, each clip once."""
    out = {}
    for split, loader in loaders.items():
        res = evaluate(unwrap(model), loader, device=device, amp=amp)
        out[split] = gather_predictions(res.clip_ids, res.scores, info)
    return out


def table_for(
    rows: list[ManifestRow], preds: dict[str, tuple[list[str], np.ndarray]]
) -> dict[str, float | None]:
    scores = {cid: s for ids, sc in preds.values() for cid, s in zip(ids, sc, strict=True)}
    subset = [r for r in rows if r.clip_id in scores]
    return split_table(subset, scores)


def _score(table: dict[str, float | None]) -> float:
    for key in ("val_mean", "val_known", "val_new"):
        if table.get(key) is not None:
            return float(table[key])  # type: ignore[arg-type]
    return float("-inf")


@dataclass
class Run:
    """Everything one training run holds (built by `setup_run`)."""

    cfg: ExperimentConfig
    device: torch.device
    info: DistInfo
    run_dir: Path
    logger: RunLogger
    rows: list[ManifestRow]
    model: nn.Module
    train_loader: DataLoader
    val_loaders: dict[str, DataLoader]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    generator: torch.Generator
    total_steps: int
    num_params: int


def setup_run(
    cfg: ExperimentConfig,
    device: torch.device,
    info: DistInfo,
    prepare: Callable[[nn.Module, ExperimentConfig], None] | None,
) -> Run:
    """Seed, save the config, build data (one validation view), model, optimiser, schedule."""
    run_dir = run_dir_for(cfg)
    check_resume_config(cfg, run_dir)  # before anything is written into the run folder
    logger = RunLogger(run_dir, enabled=info.is_main)
    resuming = cfg.train.resume and (run_dir / "last.pt").is_file()
    if info.is_main and not (resuming and (run_dir / "config.yaml").is_file()):
        save_config(cfg, run_dir / "config.yaml")  # a resumed run keeps its own (see restore)
    seed_everything(cfg.train.seed)
    if cfg.train.threads > 0:
        set_torch_threads(cfg.train.threads)
    rows = load_rows(cfg)
    datasets = build_datasets(cfg, rows, eval_views=1)
    model = build_experiment_model(cfg)
    if prepare is not None:
        prepare(model, cfg)
    model.to(device)
    generator = torch.Generator().manual_seed(cfg.train.seed)
    train_loader = build_loader(datasets["train"], cfg, info, train=True, generator=generator)
    val_loaders: dict[str, DataLoader] = {
        s: build_loader(datasets[s], cfg, info, train=False)
        for s in ("val_known", "val_new")
        if s in datasets
    }
    optimizer = _optimizer(model, cfg)
    steps_per_epoch = max(1, -(-len(train_loader) // cfg.train.accum_steps))
    total = cfg.train.epochs * steps_per_epoch
    if cfg.train.max_steps:
        total = min(total, cfg.train.max_steps)
    scheduler = build_scheduler(
        optimizer,
        kind=cfg.optim.scheduler,
        total_steps=total,
        warmup_steps=round(cfg.optim.warmup_epochs * steps_per_epoch),
        base_lr=cfg.optim.lr,
        min_lr=cfg.optim.min_lr,
    )
    scaler = torch.amp.GradScaler("cuda", enabled=cfg.train.amp == "fp16" and device.type == "cuda")
    num_params = count_parameters(model)
    log.info(
        "%s: %.2fM parameters, %d train clips",
        cfg.model.name,
        num_params / 1e6,
        len(train_loader.sampler),  # type: ignore[arg-type]
    )
    return Run(
        cfg,
        device,
        info,
        run_dir,
        logger,
        rows,
        model,
        train_loader,
        val_loaders,
        optimizer,
        scheduler,
        scaler,
        generator,
        total,
        num_params,
    )


# Settings that may change between a run and its resumption: where and how fast it runs, not
# what it computes.
RESUME_FREE_KEYS = frozenset(
    {
        "source",
        "train.resume",
        "train.force_resume",
        "train.device",
        "train.threads",
        "train.log_every",
        "data.num_workers",
    }
)


def config_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """'key: old -> new' for every setting that differs (dotted keys), free keys left out."""
    a, b = flatten(old), flatten(new)
    return [
        f"{k}: {a.get(k, '(unset)')} -> {b.get(k, '(unset)')}"
        for k in sorted(set(a) | set(b))
        if k not in RESUME_FREE_KEYS and a.get(k) != b.get(k)
    ]


def _complete(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved config as this version writes it: old `extra` entries moved to their fields,
    fields added since at their defaults (as is, when it does not parse)."""
    try:
        return config_to_dict(config_from_dict(saved))
    except ConfigError:
        return saved


def check_resume_config(cfg: ExperimentConfig, run_dir: Path) -> list[str]:
    """The changes of `cfg` against the run it would resume; ConfigError unless forced.

    A resumed run continues the saved optimiser, schedule and weights; with another learning
    rate, width or data it would be neither the old experiment nor the new one. With
    `train.force_resume=true` the changes are returned, and once last.pt has loaded
    (`restore`) the old config.yaml is kept as config.before-resume-<n>.yaml.
    """
    last = run_dir / "last.pt"
    if not (cfg.train.resume and last.is_file()):
        return []
    saved_path = run_dir / "config.yaml"
    try:
        saved = yaml.safe_load(saved_path.read_text()) if saved_path.is_file() else None
    except (OSError, yaml.YAMLError):
        saved = None
    if not isinstance(saved, dict):  # config.yaml lost or damaged: the checkpoint's copy
        saved = read_checkpoint(last).get("config") or {}
    changes = config_changes(_complete(saved), config_to_dict(cfg))
    if changes and not cfg.train.force_resume:
        raise ConfigError(
            f"{run_dir} was trained with another config ({'; '.join(changes)}): resuming would "
            "mix the two. Pick a new train.run_name, start over with train.resume=false, or "
            "resume anyway with train.force_resume=true"
        )
    return changes


def _save_forced_config(cfg: ExperimentConfig, run_dir: Path, changes: list[str]) -> None:
    """Keep the old config.yaml beside the new one (never silently replaced)."""
    saved = run_dir / "config.yaml"
    if saved.is_file():
        n = len(list(run_dir.glob("config.before-resume-*.yaml")))
        keep = saved.with_name(f"config.before-resume-{n}.yaml")
        saved.replace(keep)
        log.warning("resumed with a changed config (%s); the old one is %s", changes, keep)
    save_config(cfg, saved)


def _load_resumed(run: Run, ckpt: dict[str, Any], last: Path) -> None:
    own = run.model.state_dict()
    theirs = ckpt["model"]
    bad = [k for k in own if k in theirs and own[k].shape != theirs[k].shape]
    missing = sorted(set(own) - set(theirs))
    extra = sorted(set(theirs) - set(own))
    if bad or missing or extra:
        what = (
            f"shape of {bad[0]} {tuple(theirs[bad[0]].shape)} in the checkpoint, "
            f"{tuple(own[bad[0]].shape)} in the model"
            if bad
            else f"keys differ: {', '.join((missing + extra)[:3])}"
        )
        raise ConfigError(
            f"{last} holds another model than the config builds ({what}); it cannot be "
            "resumed: pick a new train.run_name or start over with train.resume=false"
        )
    run.model.load_state_dict(theirs)
    try:
        run.optimizer.load_state_dict(ckpt["optimizer"])
        run.scheduler.load_state_dict(ckpt["scheduler"])
        run.scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"], run.generator)
    except (KeyError, ValueError, TypeError, RuntimeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(f"{last}: training state does not fit this run ({reason})") from None


def restore(run: Run) -> TrainState:
    """Continue from `run_dir/last.pt` (weights, optimiser, schedule, scaler, every RNG)."""
    last = run.run_dir / "last.pt"
    if not (run.cfg.train.resume and last.is_file()):
        return TrainState()
    ckpt = read_checkpoint(last)
    _load_resumed(run, ckpt, last)
    if run.info.is_main and (changes := check_resume_config(run.cfg, run.run_dir)):
        _save_forced_config(run.cfg, run.run_dir, changes)
    log.info("resumed from %s at epoch %d, step %d", last, ckpt["epoch"], ckpt["step"])
    return TrainState(ckpt["epoch"], ckpt["step"], ckpt["best"], ckpt["history"])


def save_run(run: Run, state: TrainState, path: Path) -> None:
    atomic_save(
        {
            "model": unwrap(run.model).state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(),
            "scaler": run.scaler.state_dict(),
            "epoch": state.epoch,
            "step": state.step,
            "best": state.best,
            "history": state.history,
            "rng": rng_state(run.generator),
            "config": config_to_dict(run.cfg),
            "num_params": run.num_params,
        },
        path,
    )


def run_training(
    cfg: ExperimentConfig,
    make_loss: Callable[[nn.Module], LossFn],
    *,
    prepare: Callable[[nn.Module, ExperimentConfig], None] | None = None,
) -> Path:
    """Train `cfg`'s model with the loss from `make_loss(criterion)`; returns the run folder."""
    device = pick_device(cfg.train.device)
    info = init_distributed(device)
    run = None
    try:
        run = setup_run(cfg, device, info, prepare)
        state = restore(run)
        if info.enabled:
            ids = [device.index] if device.type == "cuda" else None
            run.model = nn.parallel.DistributedDataParallel(run.model, device_ids=ids)
        criterion = build_loss(cfg.train.loss, focal_gamma=cfg.train.focal_gamma)
        fit_epochs(run, state, make_loss(criterion))
        final_test(
            cfg,
            unwrap(run.model),
            run.rows,
            run.run_dir,
            device=device,
            info=info,
            num_params=run.num_params,
        )
        # The other ranks wait for rank 0's writes before tearing the process group down: in
        # tests/test_engine_distributed.py a rank leaving gloo while the other still worked
        # aborted it (SIGABRT) in 3 of 6 runs. Not reproduced here in 4 torchrun runs; a
        # barrier on the success path costs nothing.
        barrier(info)
        return run.run_dir
    finally:
        if run is not None:
            run.logger.close()  # also after a crash: release train.log
        cleanup(info)


def _finished(cfg: ExperimentConfig, state: TrainState) -> bool:
    return state.epoch >= cfg.train.epochs or bool(
        cfg.train.max_steps and state.step >= cfg.train.max_steps
    )


def fit_epochs(run: Run, state: TrainState, compute_loss: LossFn) -> None:
    """Epochs until done: train, validate (known/new), log, save last.pt and best.pt."""
    cfg = run.cfg
    progress = make_progress(enabled=run.info.is_main and cfg.train.log_every > 0)
    with progress or contextlib.nullcontext():
        bar = (
            progress.add_task("train", total=run.total_steps, completed=state.step, info="")
            if progress
            else None
        )

        def on_step(values: dict[str, float]) -> None:
            if progress is not None:
                progress.update(bar, advance=1, info=f"loss {values['loss']:.4f}")
            if cfg.train.log_every > 0 and state.step % cfg.train.log_every == 0:
                run.logger.log("train", state.step, values)

        while not _finished(cfg, state):
            if isinstance(run.train_loader.sampler, DistributedSampler):
                run.train_loader.sampler.set_epoch(state.epoch)
            losses = train_one_epoch(
                run.model,
                run.train_loader,
                run.optimizer,
                run.scheduler,
                compute_loss=compute_loss,
                state=state,
                scaler=run.scaler,
                device=run.device,
                amp=cfg.train.amp,
                accum_steps=cfg.train.accum_steps,
                grad_clip=cfg.optim.grad_clip,
                max_steps=cfg.train.max_steps,
                on_step=on_step,
            )
            state.epoch += 1
            record: dict[str, Any] = {
                "epoch": state.epoch,
                **{f"train_{k}": v for k, v in losses.items()},
            }
            is_best = False
            due = state.epoch % max(cfg.train.eval_every, 1) == 0 or _finished(cfg, state)
            if run.val_loaders and due:
                preds = evaluate_splits(
                    run.model, run.val_loaders, device=run.device, amp=cfg.train.amp, info=run.info
                )
                table = table_for(run.rows, preds)
                record.update({k: v for k, v in table.items() if k.startswith("val")})
                is_best = _score(table) > state.best
                state.best = max(state.best, _score(table))
            state.history.append(record)
            run.logger.log("epoch", state.step, record)
            log.info("epoch %d: %s", state.epoch, record)
            if run.info.is_main:
                # best.pt first: a kill between the two writes then redoes this epoch on resume
                # (rewriting best.pt), instead of resuming with a best score whose weights were
                # never saved.
                if is_best or not run.val_loaders:
                    save_run(run, state, run.run_dir / "best.pt")
                save_run(run, state, run.run_dir / "last.pt")
            barrier(run.info)


def _optimizer(model: nn.Module, cfg: ExperimentConfig) -> torch.optim.Optimizer:
    # No weight decay on biases, norms and tokens (1-D or token parameters), as in MViT/timm.
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or "token" in name else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": cfg.optim.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if cfg.optim.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.optim.lr, betas=cfg.optim.betas)
    if cfg.optim.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.optim.lr, momentum=0.9)
    raise ValueError(f"unknown optimizer {cfg.optim.name!r} (adamw, sgd)")


def final_test(
    cfg: ExperimentConfig,
    model: nn.Module,
    rows: list[ManifestRow],
    run_dir: Path,
    *,
    device: torch.device,
    info: DistInfo,
    num_params: int,
) -> None:
    """Best weights on every evaluation split with the test views: predictions + results.json."""
    best = run_dir / "best.pt"
    if best.is_file():
        model.load_state_dict(read_checkpoint(best)["model"])
    datasets = build_datasets(cfg, rows)
    loaders = {
        s: build_loader(ds, cfg, info, train=False) for s, ds in datasets.items() if s != "train"
    }
    preds = evaluate_splits(model, loaders, device=device, amp=cfg.train.amp, info=info)
    if not info.is_main:
        return
    ids = [c for i, _ in preds.values() for c in i]
    scores = np.concatenate([s for _, s in preds.values()]) if ids else np.zeros((0, NUM_GROUPS))
    write_predictions(run_dir / "predictions.csv", ids, scores)
    table = table_for(rows, preds)
    results = {"model": cfg.model.name, "num_params": num_params, **table}
    (run_dir / "results.json").write_text(json.dumps(results, indent=2))
    log.info("test: %s", results)
