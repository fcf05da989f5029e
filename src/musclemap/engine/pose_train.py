"""Task "pose_default": train the predict command's model on clips + key poses, and measure it.

`fit(cfg)` cross-validates the model and its baselines on two protocols (`engine/keypose_cv.py`),
chooses the activation threshold, trains the final model on every item
(`engine/keypose_training.py`), and writes `run_dir/{model.safetensors, model.json, cv.json,
MODEL_CARD.md}` (`engine/model_card.py`; `pose_default.export_dir` also copies them into the
package as the default weights). Its settings are the config's `pose_default` section
(`config.PoseDefaultConfig`).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.config import ExperimentConfig, config_to_dict, resolve_path, save_config
from musclemap.engine.keypose_cv import TABLE_ACTIVITIES, choose_threshold, clip_table, evaluate
from musclemap.engine.keypose_training import (
    fit_forest,
    fit_items,
    model_meta,
    numpy_model,
    save_weights,
    set_threads,
)
from musclemap.engine.model_card import model_card
from musclemap.engine.pose_windows import item_windows, load_items
from musclemap.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)


def fit(cfg: ExperimentConfig) -> Path:
    """Cross-validate (both protocols, model and baselines), choose the threshold, train on
    every item, write the weights with the exercise library; -> run_dir."""
    from musclemap.pose.estimator import check_estimator_name

    try:  # before hours of training: the weights must name an estimator predict can run
        check_estimator_name(cfg.pose_default.pose_estimator)
    except KeyError as err:
        raise ConfigError(f"pose_default.pose_estimator: {err.args[0]}") from None
    set_threads(cfg)
    items = load_items(cfg)
    check_tracker(items, cfg.pose_default.pose_estimator)
    run_dir = Path(cfg.train.out_dir) / (cfg.train.run_name or "pose_default")
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run_dir / "config.yaml")
    if len(items) < 4:
        raise DatasetError(f"need at least 4 items with a person to train, got {len(items)}")
    windows = item_windows(items, cfg, seed=cfg.train.seed)
    names = [cfg.model.name, *cfg.pose_default.baselines]
    results = evaluate(cfg, items, windows, names) if cfg.pose_default.cv_folds > 1 else {}
    seeds = cfg.pose_default.cv_seeds
    threshold = 0.5
    table: list[dict[str, Any]] = []
    if results:
        mine = results["new_footage"][cfg.model.name]
        first = [k for k in mine["oof"] if k.startswith(f"{seeds[0]}/")]
        by_id = {it.item_id: it for it in items}
        threshold = choose_threshold(
            np.stack([mine["oof"][k] for k in first]),
            np.stack([by_id[k.split("/", 1)[1]].labels for k in first]),
        )
        table = clip_table(items, mine["oof"], seeds[-1], TABLE_ACTIVITIES)
    cv = {p: {m: {k: v for k, v in r.items() if k != "oof"} for m, r in res.items()}
          for p, res in results.items()}
    (run_dir / "cv.json").write_text(json.dumps({"cv": cv, "clip_table": table}, indent=1))
    module = fit_items(cfg, items, windows, seed=cfg.train.seed)
    forest = fit_forest(cfg, items, windows, seed=cfg.train.seed)
    model = numpy_model(module, model_meta(cfg, threshold), items, windows, forest)
    meta = {
        **model.meta,
        "trained_on": {
            "clips": sum(it.kind == "clip" for it in items),
            "keyposes": sum(it.kind == "keypose" for it in items),
            "exercises": len({it.exercise for it in items}),
            "manifest": cfg.data.manifest or "synthetic",
            "library_manifest": cfg.pose_default.library_manifest,
        },
        "cv": {p: {m: r["summary"] for m, r in res.items()} for p, res in cv.items()},
        "clip_table": table,
        "protocol": {"folds": cfg.pose_default.cv_folds, "seeds": seeds},
        # without `source`: the config file's absolute path on the training machine
        "config": {k: v for k, v in config_to_dict(cfg).items() if k != "source"},
    }
    library = {"library.embeddings": np.asarray(model.library),
               "library.labels": np.asarray(model.library_labels)}
    if model.domain_labels is not None:
        library["library.domain_labels"] = np.asarray(model.domain_labels)
    library.update(forest)
    meta = save_weights(module, library, meta, run_dir / "model.safetensors",
                        run_dir / "model.json")
    (run_dir / "MODEL_CARD.md").write_text(model_card(meta))
    export = cfg.pose_default.export_dir
    if export:
        dest = resolve_path(cfg, export)
        dest.mkdir(parents=True, exist_ok=True)
        for src, dst in (("model.safetensors", "default.safetensors"),
                         ("model.json", "default.json"), ("MODEL_CARD.md", "MODEL_CARD.md")):
            shutil.copyfile(run_dir / src, dest / dst)
    log.info("pose_default: threshold %.2f -> %s", threshold, run_dir)
    return run_dir


def check_tracker(items: list[Any], estimator: str) -> None:
    """Refuse clips posed by another tracker than `pose_default.pose_estimator`: the weights
    say which tracker `predict` runs, and a model trained on one tracker's poses moves by 0.08
    on average when scored on another's (docs/predict.md, session 11 `snap11`). A pose file's
    `roi_grid` setting tells MediaPipe's own tracker and the gridded ones apart; photo pairs
    (still images, no tracking) and pose files without settings (generated) are not checked.

    Raises:
        ConfigError: Some clips' pose files were made with another tracker (counted, the first
            named, with the command that makes them right).
    """
    from musclemap.pose.estimator import tracker_grid

    posed = [it for it in items if it.kind == "clip" and "settings" in it.seq.extra]
    if not posed:
        return
    want = tracker_grid(estimator)
    wrong = [it for it in posed if it.seq.extra["settings"].get("roi_grid") != want]
    if wrong:
        got = wrong[0].seq.extra["settings"].get("roi_grid")
        raise ConfigError(
            f"pose_default.pose_estimator is {estimator} (roi_grid {want}), but {len(wrong)} of "
            f"{len(posed)} clips were posed with another tracker (first: {wrong[0].item_id}, "
            f"roi_grid {got}): pose them with `musclemap data poses MANIFEST --out DIR "
            f"--pose-estimator {estimator}`"
        )
