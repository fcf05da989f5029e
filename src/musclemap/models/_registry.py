"""A flat registry of model-building functions: `build_model(name, **kwargs)`."""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a keyword-only model function under `name`."""

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _MODELS:
            raise ValueError(f"model {name!r} registered twice")
        _MODELS[name] = fn
        return fn

    return wrap


def list_models(pattern: str = "*") -> list[str]:
    """Registered names matching a glob pattern, sorted."""
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def model_entrypoint(name: str) -> Callable[..., nn.Module]:
    if name not in _MODELS:
        close = difflib.get_close_matches(name, list(_MODELS), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown model {name!r}{hint}")
    return _MODELS[name]


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model. Unknown kwargs raise TypeError before any construction."""
    fn = model_entrypoint(name)
    sig = inspect.signature(fn)
    try:
        sig.bind(**kwargs)
    except TypeError as err:
        raise TypeError(f"{name}: {err}") from None
    return fn(**kwargs)
