"""The GCN configs: load, bind to the model functions, agree on the layout; smoke twins train."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from musclemap.config import load_config
from musclemap.engine.tasks import run_task
from musclemap.models._registry import model_entrypoint

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
PREFIXES = ("stgcn", "ctrgcn", "hdgcn")
CONFIGS = sorted(p for p in CONFIG_DIR.glob("*.yaml") if p.stem.startswith(PREFIXES))
SMOKE = [p for p in CONFIGS if p.stem.endswith("_smoke")]


def test_every_model_has_full_smoke_and_wild_configs() -> None:
    stems = {p.stem for p in CONFIGS}
    for m in PREFIXES:
        assert {m, f"{m}_smoke", f"{m}_wild"} <= stems


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_binds_to_model(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.task == "supervised" and cfg.data.modality == "pose"
    assert cfg.model.name == path.stem.split("_")[0]
    assert cfg.model.kwargs["layout"] == cfg.data.layout  # dataset and graph agree
    inspect.signature(model_entrypoint(cfg.model.name)).bind(num_classes=20, **cfg.model.kwargs)
    assert cfg.data.synthetic == path.stem.endswith("_smoke")


def _table_of_written_predictions(cfg, run_dir: Path) -> dict:
    """The known/new table recomputed from the run's predictions.csv on its config's rows."""
    from musclemap.data.datasets import load_rows
    from musclemap.data.predictions import read_predictions
    from musclemap.data.tables import split_table

    preds = read_predictions(run_dir / "predictions.csv")
    return split_table([r for r in load_rows(cfg) if r.clip_id in preds], preds)


@pytest.mark.slow
@pytest.mark.parametrize("path", SMOKE, ids=[p.stem for p in SMOKE])
@pytest.mark.usefixtures("one_thread")
def test_smoke_config_trains(path: Path, tmp_path: Path) -> None:
    cfg = load_config(path, [f"train.out_dir={tmp_path}"])
    run_dir = run_task(cfg)
    results = json.loads((run_dir / "results.json").read_text())
    assert results["model"] == load_config(path).model.name
    assert results["test_mean"] is not None
    table = _table_of_written_predictions(cfg, run_dir)
    assert {k: results[k] for k in table} == pytest.approx(table, abs=1e-4)
