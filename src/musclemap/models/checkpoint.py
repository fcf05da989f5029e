"""musclemap's own checkpoints (`musclemap train`'s `.pt`): safe reading, strict loading.

Below the engine, so that `predict --ckpt` and `evaluate` load research runs without importing
the training engine (contract predict-no-training); the engine writes them
(`musclemap.engine.checkpoint`).
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from musclemap.errors import ConfigError


@dataclass
class LoadReport:
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"missing keys: {self.missing or 'none'}; unexpected keys: {self.unexpected or 'none'}"
        )


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
    return load_state(model, state, where=str(path), strict=strict)


def load_state(
    model: nn.Module, state: dict[str, Any], *, where: str, strict: bool = True
) -> LoadReport:
    """Load a state dict into `model` (`load_checkpoint`'s rules; `where` names it in errors)."""
    own = model.state_dict()
    shape_bad = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if shape_bad and strict:
        raise ConfigError(f"{where}: shape mismatch for {', '.join(shape_bad[:5])}")
    state = {k: v for k, v in state.items() if k not in shape_bad}
    result = model.load_state_dict(state, strict=False)
    report = LoadReport(sorted(result.missing_keys + shape_bad), sorted(result.unexpected_keys))
    if strict and (report.missing or report.unexpected):
        raise ConfigError(f"{where} does not match the model: {report}")
    return report
