"""`musclemap evaluate` (the paper's known/new mAP table) and `musclemap baseline`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from musclemap.cli.app import StdoutConsole, app, file_option
from musclemap.errors import DatasetError

console = StdoutConsole()
err_console = Console(stderr=True)
EVAL_SPLITS = ("val_known", "val_new", "test_known", "test_new")


def _evaluate_config(config: Path, checkpoint: Path, overrides: list[str]) -> tuple[list, Path]:
    """Run a checkpoint on its config's data; returns the evaluated rows and predictions."""
    from musclemap.config import load_config
    from musclemap.data.datasets import load_rows
    from musclemap.engine.evaluate import evaluate_checkpoint, evaluate_model
    from musclemap.inference import checkpoint_file, load_model

    cfg = load_config(config, overrides)
    rows = load_rows(cfg)  # the same rows (and fold) the run trained on
    file = checkpoint_file(checkpoint)
    out = _predictions_path(file, [("CONFIG", config)])
    if file.suffix == ".safetensors":  # a pose_default model: scored on the rows' pose files
        return rows, evaluate_model(load_model(file), rows, out)
    return rows, evaluate_checkpoint(cfg, file, out)


def _evaluate_model(checkpoint: Path, manifest: Path) -> tuple[list, Path]:
    """Any model `load_model` reads ("default": the packaged one) on a manifest's pose files;
    the predictions go beside the checkpoint (the packaged model's: the current folder)."""
    from musclemap.data.manifest import read_manifest
    from musclemap.engine.evaluate import evaluate_model
    from musclemap.inference import checkpoint_file, load_model
    from musclemap.predictor import WEIGHTS_DIR

    file = WEIGHTS_DIR / "default.safetensors" if str(checkpoint) == "default" else checkpoint
    file = checkpoint_file(file)
    out = _predictions_path(file, [("--manifest", manifest)])
    rows = read_manifest(manifest)
    model = load_model(file)
    note = tracker_note(model.meta, [r.skeleton for r in rows if r.split in EVAL_SPLITS])
    if note:
        err_console.print(f"note: {note}", markup=False, soft_wrap=True)
    return rows, evaluate_model(model, rows, out)


def tracker_note(meta: dict, pose_files: list[Path | None]) -> str | None:
    """A note when the first pose file was made with another tracker than the model's
    (`pose_estimator` of its weights; the pose file's `roi_grid` setting tells them apart):
    evaluate scores the pose files as they are."""
    from musclemap.data.pose_sequence import load_pose_file
    from musclemap.pose.estimator import DEFAULT_ESTIMATOR, tracker_grid

    first = next((f for f in pose_files if f and Path(f).is_file()), None)
    if first is None:
        return None  # evaluate says which are missing
    trained = str(meta.get("pose_estimator", DEFAULT_ESTIMATOR))
    want = tracker_grid(trained)
    try:
        got = load_pose_file(first).extra.get("settings", {}).get("roi_grid")
    except DatasetError:
        return None  # an unusable file: the evaluation names every one of them
    if got == want:
        return None
    return (
        f"{first} was posed with roi_grid {got}, the {trained} pose estimator the model was "
        f"trained on has {want}; scores may differ from the model's tested accuracy"
    )


def _predictions_path(checkpoint: Path, inputs: list[tuple[str, Path]]) -> Path:
    """Beside the checkpoint; the packaged model's in the current folder (never the package).
    Checked before the model runs: writable (a read-only model folder failed after the whole
    evaluation) and none of the inputs."""
    from musclemap.outputs import check_target, check_writable, refuse_inputs
    from musclemap.predictor import WEIGHTS_DIR

    if checkpoint.resolve().parent == WEIGHTS_DIR:
        out = Path(checkpoint.stem + ".predictions.csv")
    else:
        out = checkpoint.with_suffix(".predictions.csv")
    refuse_inputs(out, "the predictions file", inputs)
    check_writable(out, "the predictions file")
    # Its table beside it (`.table.json`): a folder there was an IsADirectoryError traceback
    # after the whole evaluation.
    table = out.with_suffix(".table.json")
    refuse_inputs(table, "the table", inputs)
    check_target(table, "the table")
    return out


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.2f}"


@app.command()
def evaluate(
    config: Annotated[
        Path | None, typer.Argument(help="Experiment config (with --checkpoint).")
    ] = None,
    manifest: Annotated[Path | None, typer.Option(help="Manifest with splits and labels.")] = None,
    predictions: Annotated[
        Path | None, typer.Option(help="Predictions CSV (clip + 20 groups).")
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="Model to evaluate: with CONFIG, on its data; with --manifest, any model "
            "`predict --ckpt` takes ('default': the packaged one) on the manifest's pose files."
        ),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the table as JSON.", parser=file_option),
    ] = None,
    per_class: Annotated[bool, typer.Option(help="Also print per-class AP (test splits).")] = False,
    per_activity: Annotated[bool, typer.Option(help="Also print sample AP per activity.")] = False,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Config override key=value.")
    ] = None,
) -> None:
    """mAP on val/test known/new and their means, as the paper's Table II (percent).

    Either `--manifest M --predictions P`; or `CONFIG --checkpoint CKPT` (runs the model on the
    config's data first, writing the predictions next to the checkpoint); or `--manifest M
    --checkpoint CKPT` (a model `predict --ckpt` takes, e.g. `default`, on the pose files of the
    manifest's val/test clips).
    """
    from musclemap.data.manifest import read_manifest, require_splits
    from musclemap.data.predictions import read_predictions
    from musclemap.data.tables import (
        match_scores,
        per_activity_table,
        per_class_table,
        split_table,
        unknown_predictions,
    )
    from musclemap.outputs import check_writable, clip_inputs, refuse_inputs, write_text
    from musclemap.textfile import format_lines

    if json_out is not None:
        check_writable(json_out, "--json")
        refuse_inputs(
            json_out,
            "--json",
            [("--manifest", manifest), ("--predictions", predictions), ("CONFIG", config)],
        )
    if config is not None:
        if checkpoint is None:
            raise DatasetError("evaluate CONFIG needs --checkpoint CKPT")
        rows, predictions = _evaluate_config(config, checkpoint, overrides or [])
        source: Path = config
    elif manifest is not None and checkpoint is not None:
        if predictions is not None:
            raise DatasetError("give --predictions or --checkpoint, not both")
        rows, predictions = _evaluate_model(checkpoint, manifest)
        source = manifest
    elif manifest is None or predictions is None:
        raise DatasetError(
            "give --manifest and --predictions (or --manifest and --checkpoint, or CONFIG "
            "--checkpoint)"
        )
    else:
        rows = read_manifest(manifest)  # validated: duplicates, labels, leaks are errors
        source = manifest
    refuse_inputs(json_out, "--json", clip_inputs(rows, source))  # replaced a video (exit 0)
    scores = read_predictions(predictions)
    evaluated = require_splits(rows, source, EVAL_SPLITS)
    unknown = unknown_predictions(rows, scores)
    if unknown:
        raise DatasetError(
            f"{predictions}: {len(unknown)} prediction row(s) name no clip of {source}: "
            + ", ".join(unknown[:3])
            + (", ..." if len(unknown) > 3 else "")
            + f" ({format_lines(scores.lines[k] for k in unknown)}); clips are matched by "
            "their path as written in the manifest"
        )
    match_scores(evaluated, scores)  # every missing clip at once, before any table
    table = split_table(rows, scores)
    out = Table("", "known", "new", "mean", title=f"mAP (%) — {predictions.name}")
    for part in ("val", "test"):
        out.add_row(part, *(_fmt(table[f"{part}_{k}"]) for k in ("known", "new", "mean")))
    console.print(out)
    if per_class:
        for split in ("test_known", "test_new"):
            res = per_class_table(rows, scores, split)
            t = Table("group", "AP (%)", title=f"{split} per class")
            for name, ap in res.per_class.items():
                t.add_row(name, _fmt(ap))
            for name in res.skipped:
                t.add_row(name, "skipped (no positive)")
            console.print(t)
    if per_activity:
        kind_of = {r.activity: r.split.rsplit("_", 1)[-1] for r in evaluated}
        t = Table("activity", "known/new", "sample AP (%)", title="per activity (val + test)")
        for name, sample_ap in per_activity_table(evaluated, scores).items():
            t.add_row(name, kind_of[name], _fmt(sample_ap))
        console.print(t)
    if json_out:
        write_text(json_out, json.dumps(table, indent=2), "--json")


@app.command()
def baseline(
    name: Annotated[str, typer.Argument(help="random | all_ones")],
    manifest: Annotated[Path, typer.Option(help="Manifest whose clips get scores.")],
    out: Annotated[Path, typer.Option(help="Predictions CSV to write.", parser=file_option)],
    seed: Annotated[int, typer.Option(min=0, help="Seed of the random baseline.")] = 0,
) -> None:
    """Predictions of a statistic baseline (paper Table II) for every clip of a manifest."""
    from musclemap.baselines import all_ones_scores, random_scores
    from musclemap.data.manifest import read_manifest
    from musclemap.data.predictions import write_predictions
    from musclemap.outputs import check_writable, clip_inputs, refuse_inputs

    check_writable(out, "--out")
    refuse_inputs(out, "--out", [("--manifest", manifest)])
    rows = read_manifest(manifest)
    refuse_inputs(out, "--out", clip_inputs(rows, manifest))  # replaced a video (exit 0)
    if name == "random":
        scores = random_scores(len(rows), seed=seed)
    elif name == "all_ones":
        scores = all_ones_scores(len(rows))
    else:
        raise DatasetError(f"unknown baseline {name!r}: use random or all_ones")
    write_predictions(out, [r.clip_id for r in rows], scores)
    console.print(f"wrote {out}: {len(rows)} clips ({name})")
