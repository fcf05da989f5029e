"""Checkpoints: atomic writes, full training state with every RNG, strict loading with a report."""

from __future__ import annotations

import os
import pickle
import random
import re
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


def _legacy_numpy_globals() -> list[Any]:
    # Checkpoints written before the RNG state became plain lists hold numpy's MT19937 key as
    # an ndarray. Rebuilding a plain array runs no user code, so these three are allowed.
    from numpy.core.multiarray import _reconstruct  # type: ignore[attr-defined]

    return [_reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint's dict, unpickled with `weights_only=True` (tensors, numbers, strings and
    containers only): a .pt from elsewhere cannot run code.

    Raises:
        ConfigError: Missing, torn or foreign file, or one holding other Python objects.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"checkpoint not found: {path}")
    try:
        with torch.serialization.safe_globals(_legacy_numpy_globals()):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL (\S+)", str(err))
        if found is None:  # not a torch checkpoint at all (e.g. a bare pickle)
            raise ConfigError(f"{path}: not a readable checkpoint (UnpicklingError)") from None
        raise ConfigError(
            f"{path}: holds Python objects other than tensors, numbers and strings "
            f"({found.group(1)}); not loaded, since unpickling them could run code (only load "
            "such a file from a source you trust, then re-save its tensors)"
        ) from None
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
