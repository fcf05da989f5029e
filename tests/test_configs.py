"""Every config names a known task and registered model with valid kwargs; every `*_smoke.yaml`
twin trains two steps on generated data; `musclemap benchmark` builds Table II from run folders."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from musclemap.cli import app
from musclemap.config import load_config
from musclemap.engine.checkpoint import read_checkpoint
from musclemap.engine.tasks import TASKS, run_task
from musclemap.models._registry import model_entrypoint

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
# The engine's configs (the skeleton and predict engineers own their own files).
OTHERS = ("stgcn", "ctrgcn", "hdgcn", "predict_default")
FULL = sorted(
    p
    for p in CONFIG_DIR.glob("*.yaml")
    if not p.stem.endswith("_smoke") and not p.stem.startswith(OTHERS)
)
SMOKE = sorted(p for p in CONFIG_DIR.glob("*_smoke.yaml") if not p.stem.startswith(OTHERS))


@pytest.mark.parametrize("path", FULL, ids=[p.stem for p in FULL])
def test_full_config_is_consistent_and_has_a_smoke_twin(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.task in TASKS
    twin = CONFIG_DIR / f"{path.stem}_smoke.yaml"
    assert twin.is_file(), f"{path.name} has no smoke twin"
    smoke = load_config(twin)
    assert smoke.task == cfg.task and smoke.data.synthetic and not cfg.data.synthetic
    if cfg.task == "baseline":
        return
    assert cfg.optim.lr == 1e-4 and cfg.optim.weight_decay == 0.05 and cfg.optim.grad_clip == 1.0
    # The kwargs bind to the model function (checked without building the full-size model).
    inspect.signature(model_entrypoint(cfg.model.name)).bind(num_classes=20, **cfg.model.kwargs)
    assert smoke.data.modality == cfg.data.modality
    assert smoke.data.aux_modality == cfg.data.aux_modality


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_no_config_sets_a_field_its_task_ignores(path: Path) -> None:
    from musclemap.engine.tasks import unhonoured_fields

    assert unhonoured_fields(load_config(path)) == []


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
def test_smoke_config_runs(path: Path, tmp_path: Path) -> None:
    cfg = load_config(path, [f"train.out_dir={tmp_path}"])
    run_dir = run_task(cfg)
    results = json.loads((run_dir / "results.json").read_text())
    # results.json is the table of the predictions the run wrote, not just a number in [0, 1]
    assert results["test_mean"] is not None
    table = _table_of_written_predictions(cfg, run_dir)
    assert {k: results[k] for k in table} == pytest.approx(table, abs=1e-4)
    if cfg.task != "baseline":
        ckpt = read_checkpoint(run_dir / "last.pt")
        assert ckpt["step"] == 2  # two optimisation steps
        assert (run_dir / "config.yaml").is_file() and (run_dir / "predictions.csv").is_file()


@pytest.mark.usefixtures("one_thread")
def test_train_and_benchmark_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    configs = [str(CONFIG_DIR / "mvitv2_s_smoke.yaml"), str(CONFIG_DIR / "random_smoke.yaml")]
    out = f"train.out_dir={tmp_path / 'runs'}"
    res = runner.invoke(app, ["train", configs[0], out])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app, ["benchmark", *configs, "--out", str(tmp_path / "table"), "--set", out]
    )
    assert res.exit_code == 0, res.output
    md = (tmp_path / "table" / "table2.md").read_text()
    assert "| mvitv2_s_smoke |" in md and "no results yet for: random_smoke" in res.output
    csv_text = (tmp_path / "table" / "table2.csv").read_text()
    assert csv_text.startswith("config,model,params_m,val_known")
