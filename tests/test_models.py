"""`musclemap.models`: importing the package registers every model module below it (no list to
keep up to date), skips private modules, and exports the registry's three functions."""

from __future__ import annotations

import pkgutil
import sys

import musclemap.models as models
from musclemap.models import _registry


def test_every_public_module_is_imported() -> None:
    names = [i.name for i in pkgutil.walk_packages(models.__path__, prefix="musclemap.models.")]
    public = [n for n in names if not n.rsplit(".", 1)[-1].startswith("_")]
    assert {"musclemap.models.skeleton.stgcn", "musclemap.models.video.mvit",
            "musclemap.models.pose.keypose_mlp", "musclemap.models.late_fusion"} <= set(public)
    assert [n for n in public if n not in sys.modules] == []


def test_each_family_registers_its_models() -> None:
    registered = set(models.list_models())
    for name in ("stgcn", "ctrgcn", "hdgcn", "mvitv2_s", "swin3d_s", "i3d_r50", "keypose_mlp",
                 "transm3e", "late_fusion_sum"):
        assert name in registered, name


def test_exports_are_the_registry_functions() -> None:
    assert models.__all__ == ["build_model", "list_models", "register_model"]
    assert models.build_model is _registry.build_model
    assert models.list_models is _registry.list_models
    assert models.register_model is _registry.register_model
