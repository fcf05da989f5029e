"""Checkpoints: atomic writes, full training state with every RNG, strict loading with a report."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from musclemap.errors import ConfigError
from musclemap.models.weights import load_pretrained


@dataclass
class LoadReport:
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"missing keys: {self.missing or 'none'}; unexpected keys: {self.unexpected or 'none'}"
        )


def atomic_save(obj: Any, path: str | Path) -> None:
    """torch.save to `path.tmp`, fsync, then os.replace: a kill never leaves a torn file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        torch.save(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def rng_state(generator: torch.Generator | None = None) -> dict[str, Any]:
    """Python, numpy, torch (CPU and CUDA) and data-loader generator states."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),  # noqa: NPY002 (global state other code may use)
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if generator is not None:
        state["loader"] = generator.get_state()
    return state


def set_rng_state(state: dict[str, Any], generator: torch.Generator | None = None) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None and "loader" in state:
        generator.set_state(state["loader"])


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a torn or foreign file: one readable line
        raise ConfigError(f"{path}: not a readable checkpoint ({type(err).__name__})") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise ConfigError(f"{path}: not a musclemap checkpoint (no 'model' state)")
    return ckpt


def load_checkpoint(
    model: nn.Module, path: str | Path, *, strict: bool = True, prefix: str = ""
) -> LoadReport:
    """Load a checkpoint's model weights (optionally the sub-tree under `prefix`).

    With `strict`, any missing or unexpected key raises ConfigError naming them; without it the
    report lists them (callers log it; nothing is dropped silently).
    """
    state = read_checkpoint(path)["model"]
    if prefix:
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    own = model.state_dict()
    shape_bad = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if shape_bad and strict:
        raise ConfigError(f"{path}: shape mismatch for {', '.join(shape_bad[:5])}")
    state = {k: v for k, v in state.items() if k not in shape_bad}
    result = model.load_state_dict(state, strict=False)
    report = LoadReport(sorted(result.missing_keys + shape_bad), sorted(result.unexpected_keys))
    if strict and (report.missing or report.unexpected):
        raise ConfigError(f"{path} does not match the model: {report}")
    return report


def _is_release(path: Path) -> bool:
    """A file of plain tensors (readable with weights_only) that `musclemap train` did not write."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # pickled training state (RNGs, numpy): ours, or unreadable
        return False
    return not (isinstance(obj, dict) and "model" in obj and "config" in obj)


def load_pretrained_weights(model: nn.Module, path: str | Path) -> str:
    """`model.pretrained`: start `model` from a checkpoint file, strictly; returns a log line.

    A checkpoint written by `musclemap train` must fit key for key, classifier included. Any
    other file of tensors is an original repository's release (PySlowFast, Video Swin, ST-GCN,
    CTR-GCN, HD-GCN) or a bare state dict: the model family's loader maps it, the classifier
    starts fresh for the new label set and every other key must fit. A misfit raises a one-line
    error naming the keys (ConfigError or CheckpointError).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"model.pretrained: {path} not found")
    if _is_release(path):
        return load_pretrained(model, path).summary()
    report = load_checkpoint(model, path, strict=True)
    return f"musclemap checkpoint, all keys loaded ({report})"
