"""Compare predict-model candidates on both cross-validation protocols, on the same folds.

    .venv/bin/python benchmarks/predict_model_cv.py configs/predict_default.yaml \
        [--methods keypose_mlp extra_trees logistic knn trees random all_ones] \
        [--protocols new_footage new_exercises] [--set pose_default.cv_seeds=[0]] [--out R.json]

Methods and protocols are `musclemap.engine.keypose_cv`'s (`method`, `PROTOCOLS`); the config's
model is trained exactly as `musclemap train` does. Prints, per protocol and method, mean ± std
over folds on the selection seed (the first of `pose_default.cv_seeds`) and on the report seeds.
The shipped model is chosen on the selection seed only.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from musclemap.config import load_config
from musclemap.engine.keypose_cv import PROTOCOLS, cross_validate
from musclemap.engine.keypose_training import MODEL_NAME, set_threads
from musclemap.engine.model_card import fmt_mean_std
from musclemap.engine.pose_windows import item_windows, load_items


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--methods", nargs="+",
                        default=[MODEL_NAME, "extra_trees", "random", "all_ones"])
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS))
    parser.add_argument("--set", nargs="*", default=[], help="config overrides key=value")
    parser.add_argument("--out", type=Path, help="write the JSON results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = load_config(args.config, args.set)
    set_threads(cfg)
    items = load_items(cfg)
    windows = item_windows(items, cfg, seed=cfg.train.seed)
    out: dict[str, Any] = {}
    for p in args.protocols:
        for m in args.methods:
            r = cross_validate(cfg, items, windows, m, p)
            s = r["summary"]
            print(f"{p:14s} {m:12s} select clips {fmt_mean_std(s['select_clips'])} kp "
                  f"{fmt_mean_std(s['select_keyposes'])} | report clips "
                  f"{fmt_mean_std(s['report_clips'])} kp {fmt_mean_std(s['report_keyposes'])} "
                  f"all {fmt_mean_std(s['report_all'])}", flush=True)
            out.setdefault(p, {})[m] = {k: v for k, v in r.items() if k != "oof"}
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
