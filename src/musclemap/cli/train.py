"""`musclemap train CONFIG [key=value ...]` and `musclemap benchmark CONFIGS... --out DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from musclemap.cli.app import app

TABLE_KEYS = ("val_known", "val_new", "val_mean", "test_known", "test_new", "test_mean")


@app.command(context_settings={"allow_extra_args": False})
def train(
    config: Annotated[Path, typer.Argument(help="Experiment config (YAML).")],
    overrides: Annotated[
        list[str] | None, typer.Argument(help="Dotted overrides, e.g. optim.lr=3e-4.")
    ] = None,
) -> None:
    """Train (or resume) the experiment; prints the run folder.

    Multi-GPU / multi-node: `torchrun --nproc-per-node N "$(which musclemap)" train CONFIG`.
    """
    import logging
    import os

    from musclemap.cli.app import work_written
    from musclemap.config import load_config
    from musclemap.engine.tasks import run_task

    main_rank = os.environ.get("RANK", "0") == "0"  # torchrun: only rank 0 talks
    logging.basicConfig(level=logging.INFO if main_rank else logging.WARNING, format="%(message)s")
    cfg = load_config(config, overrides or [])
    run_dir = run_task(cfg)
    # A Ctrl-C in torch's ~0.3 s teardown ended a finished run by the signal, with no line.
    work_written()
    typer.echo(str(run_dir))


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}"


def benchmark_rows(configs: list[Path], overrides: list[str]) -> list[dict[str, object]]:
    """One row per config from its run folder's results.json (None values when not run)."""

    from musclemap.config import load_config
    from musclemap.engine.train import run_dir_for

    rows = []
    for path in configs:
        cfg = load_config(path, overrides)
        results_path = run_dir_for(cfg) / "results.json"
        res = read_results(results_path) if results_path.is_file() else {}
        rows.append(
            {
                "config": path.stem,
                "model": cfg.model.name,
                "params_m": None if "num_params" not in res else res["num_params"] / 1e6,
                **{k: res.get(k) for k in TABLE_KEYS},
                "run_dir": str(run_dir_for(cfg)),
            }
        )
    return rows


def read_results(path: Path) -> dict[str, Any]:
    """A run's results.json, checked: damaged files and impossible values are one ConfigError."""
    import json
    import math

    from musclemap.errors import ConfigError

    try:
        res = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "not UTF-8 text"
        raise ConfigError(f"{path}: damaged results file ({reason}); re-run the training") from None
    if not isinstance(res, dict):
        raise ConfigError(f"{path}: damaged results file (not a JSON object)")
    bad = [
        f"{k}={res[k]!r}"
        for k in TABLE_KEYS
        if res.get(k) is not None
        and not (isinstance(res[k], int | float) and math.isfinite(res[k]) and 0 <= res[k] <= 1)
    ]
    num_params = res.get("num_params")
    if num_params is not None and not (isinstance(num_params, int) and num_params >= 0):
        bad.append(f"num_params={num_params!r}")
    if bad:
        raise ConfigError(
            f"{path}: impossible values ({', '.join(bad)}; mAP must be in [0, 1]); re-run the "
            "training"
        )
    return res


def write_benchmark(rows: list[dict[str, object]], out: Path) -> tuple[Path, Path]:
    """table2.md (percent, like the paper's Table II) and table2.csv (fractions)."""
    import csv

    from musclemap.outputs import atomic_path, write_text

    md = out / "table2.md"
    head = "| Model | #PM | known val | new val | mean val | known test | new test | mean test |"
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        pm = "—" if r["params_m"] is None else f"{r['params_m']:.1f}M"
        cells = [_fmt(r[k]) for k in TABLE_KEYS]  # type: ignore[arg-type]
        lines.append(f"| {r['config']} | {pm} | " + " | ".join(cells) + " |")
    write_text(md, "\n".join(lines) + "\n", "--out")
    csv_path = out / "table2.csv"
    with atomic_path(csv_path, "--out") as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["config"])
        writer.writeheader()
        writer.writerows(rows)
    return md, csv_path


@app.command()
def benchmark(
    configs: Annotated[list[Path], typer.Argument(help="Experiment configs (one row each).")],
    out: Annotated[Path, typer.Option(help="Folder for table2.md and table2.csv.")],
    run: Annotated[bool, typer.Option(help="Train configs that have no results yet.")] = False,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override for every config, key=value.")
    ] = None,
) -> None:
    """The paper-style Table II from each config's run folder (known/new/mean mAP, #params)."""
    from musclemap.config import load_config
    from musclemap.engine.tasks import run_task
    from musclemap.engine.train import run_dir_for
    from musclemap.errors import ConfigError
    from musclemap.outputs import check_folder, resolved

    if out.exists() and not out.is_dir():  # checked before any (long) training
        raise ConfigError(f"--out {out} is a file; give a folder for table2.md and table2.csv")
    check_folder(out, "--out")
    from musclemap.outputs import check_target

    for name in ("table2.md", "table2.csv"):  # read-only or a folder: before any training
        check_target(out / name, "--out")
    # Two configs with one run folder (a/x.yaml and b/x.yaml: runs/x) would both show the
    # results of whichever trained first.
    by_run: dict[Path, Path] = {}
    configs = list(dict.fromkeys(resolved(c) for c in configs))  # one row per config file
    for path in configs:
        run_dir = resolved(run_dir_for(load_config(path, overrides or [])))
        if run_dir in by_run:
            raise ConfigError(
                f"{by_run[run_dir]} and {path} both use the run folder {run_dir}; give one of "
                "them another train.run_name"
            )
        by_run[run_dir] = path
    if run:
        for path in configs:
            cfg = load_config(path, overrides or [])
            if not (run_dir_for(cfg) / "results.json").is_file():
                run_task(cfg)
    rows = benchmark_rows(configs, overrides or [])
    md, csv_path = write_benchmark(rows, out)
    typer.echo(md.read_text())
    missing = [str(r["config"]) for r in rows if r["params_m"] is None]
    if missing:
        typer.echo(f"no results yet for: {', '.join(missing)} (train them, or pass --run)")
    typer.echo(f"wrote {md} and {csv_path}")
