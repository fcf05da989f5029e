"""Training checkpoints: atomic writes, the full training state with every RNG, pretrained starts.

Reading a checkpoint and loading its weights strictly (`read_checkpoint`, `load_checkpoint`,
`LoadReport`) live in `musclemap.models.checkpoint`, below the engine, so that `predict` and
`evaluate` load research runs without the training engine; they are re-exported here.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from musclemap.errors import ConfigError
from musclemap.models.checkpoint import LoadReport, load_checkpoint, read_checkpoint
from musclemap.models.weights import load_pretrained

__all__ = [
    "LoadReport",
    "atomic_save",
    "load_checkpoint",
    "load_pretrained_weights",
    "read_checkpoint",
    "rng_state",
    "set_rng_state",
]


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
    """Python, numpy, torch (CPU and CUDA) and data-loader generator states.

    Only tuples, dicts, lists, numbers, strings and tensors, so that `weights_only` loads it.
    """
    np_state = np.random.get_state(legacy=False)  # noqa: NPY002 (global state others may use)
    np_state["state"]["key"] = np_state["state"]["key"].tolist()  # ndarray -> ints
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np_state,
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if generator is not None:
        state["loader"] = generator.get_state()
    return state


def set_rng_state(state: dict[str, Any], generator: torch.Generator | None = None) -> None:
    random.setstate(state["python"])
    np_state = state["numpy"]
    if isinstance(np_state, dict):  # the dict form, key as a list of ints
        np_state = {**np_state, "state": {**np_state["state"]}}
        np_state["state"]["key"] = np.asarray(np_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(np_state)  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None and "loader" in state:
        generator.set_state(state["loader"])


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
