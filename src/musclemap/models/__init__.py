"""Model factory. Importing this package registers every model module below it."""

import importlib
import pkgutil

from musclemap.models._registry import build_model, list_models, register_model


def _import_all() -> None:
    # Registration by import: every module under models/ (not starting with "_") is loaded once.
    for info in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            importlib.import_module(info.name)


_import_all()

__all__ = ["build_model", "list_models", "register_model"]
