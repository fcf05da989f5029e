"""Foundation commands: `data import|validate|split`, `evaluate`, `baseline`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from musclemap.cli.app import app, data_app
from musclemap.errors import DatasetError

console = Console()
EVAL_SPLITS = ("val_known", "val_new", "test_known", "test_new")
err_console = Console(stderr=True)


@data_app.command("import")
def data_import(
    source: Annotated[
        Path,
        typer.Argument(help="Release folder with pickles, a video folder, or a Free Exercise DB."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Manifest CSV to write.")],
    layout: Annotated[
        str,
        typer.Option(
            help="'release' (MuscleMap136 pickles), 'muscle-ucf90' / 'muscle-hmdb41' (the "
            "same pickles for Muscle-UCF90 / Muscle-HMDB41), 'folder' (videos named by "
            "activity) or 'free-exercise-db' (exercises.json + images/<id>/0.jpg,1.jpg)."
        ),
    ] = "folder",
    video_root: Annotated[Path | None, typer.Option(help="Prefix of relative video paths.")] = None,
    activity_from: Annotated[
        str, typer.Option(help="release: activity from 'parent' or 'stem'.")
    ] = "parent",
    include_stretches: Annotated[
        bool,
        typer.Option(
            help="free-exercise-db: also write the 'stretching' exercises, with kind=stretch and "
            "their stretched groups (labels = stretched column); drop them to train a "
            "working-muscle model. Default: left out, because their listed muscles are "
            "stretched, not working."
        ),
    ] = False,
) -> None:
    """Write a manifest from a release (MuscleMap136, Muscle-UCF90, Muscle-HMDB41), a folder of
    videos or the Free Exercise DB.

    Releases: the five split pickle pairs (seen/unseen -> known/new); Muscle-UCF90/HMDB41 name
    each clip's activity by its UCF101/HMDB51 class (snake_case) and add dataset/source_class.

    free-exercise-db: one row per exercise; clip = its photo folder images/<id> (relative to the
    manifest), activity = the id as a snake_case slug, labels = primary + secondary muscles
    through the taxonomy's muscle-term vocabulary, and provenance columns (source, name,
    category, force, mechanic, equipment, level, primary_muscles, secondary_muscles, kind).
    """
    from musclemap.data.benchmarks import BENCHMARKS
    from musclemap.data.importers import import_folder, import_free_exercise_db, import_release
    from musclemap.data.manifest import write_manifest

    note = ""
    if layout in BENCHMARKS:
        rows = import_release(
            source, video_root=video_root, activity_from=activity_from, benchmark=layout
        )
        bench = BENCHMARKS[layout]
        found = len({r.activity for r in rows})
        if bench.num_activities is not None and found != bench.num_activities:
            note = f"; note: the paper's {bench.title} has {bench.num_activities} activities"
    elif layout == "folder":
        rows = import_folder(source)
    elif layout == "free-exercise-db":
        result = import_free_exercise_db(source, include_stretches=include_stretches)
        rows = result.rows
        stretches = sum(r.extra["kind"] == "stretch" for r in rows)
        note = (
            f"; left out {result.stretches_left_out} stretches (their listed muscles are "
            "stretched, not working; --include-stretches writes them with kind=stretch)"
            if not include_stretches
            else f"; {stretches} of them stretches (kind=stretch: not working muscles)"
        )
    else:
        raise DatasetError(
            f"unknown layout {layout!r}: use {', '.join(map(repr, BENCHMARKS))}, 'folder' or "
            "'free-exercise-db'"
        )
    write_manifest(rows, out)
    console.print(
        f"wrote {out}: {len(rows)} clips, {len({r.activity for r in rows})} activities{note}"
    )


@data_app.command("validate")
def data_validate(
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV.")],
    decode: Annotated[bool, typer.Option(help="Open every video and decode a frame.")] = True,
) -> None:
    """Report every problem of a manifest at once, with counts; exit 1 if any."""
    from rich.progress import Progress

    from musclemap.data.manifest import format_lines
    from musclemap.data.validate import validate_manifest

    with Progress(transient=True, console=err_console) as bar:
        task = bar.add_task("checking clips", total=None)
        report = validate_manifest(
            manifest,
            decode=decode,
            progress=lambda i, n: bar.update(task, completed=i + 1, total=n),
        )
    console.print(
        f"{manifest}: {len(report.rows)} clips, "
        f"{len({r.activity for r in report.rows})} activities; splits: "
        + ", ".join(f"{k} {v}" for k, v in sorted(report.split_counts().items()))
    )
    if report.ok:
        console.print("[green]no problems found[/green]")
        return
    table = Table(
        "problem", "count", "CSV lines", "examples", title=f"{len(report.problems)} problem(s)"
    )
    for kind, count in sorted(report.counts().items()):
        of_kind = [p for p in report.problems if p.kind == kind]
        table.add_row(
            kind,
            str(count),
            format_lines((p.line for p in of_kind), limit=20),
            "\n".join((f"line {p.line}: " if p.line else "") + p.detail for p in of_kind[:3]),
        )
    console.print(table)
    raise typer.Exit(1)


@data_app.command("split")
def data_split(
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV.")],
    out: Annotated[Path, typer.Option("--out", help="Output CSV (with --folds: <out>_foldK.csv).")],
    held_out: Annotated[str, typer.Option(help="Comma-separated new (held-out) activities.")] = "",
    n_held_out: Annotated[int | None, typer.Option(help="Number of random new activities.")] = None,
    folds: Annotated[
        int, typer.Option(help="k leave-activities-out folds instead of one split.")
    ] = 0,
    seed: Annotated[int, typer.Option(min=0, help="Random seed (deterministic).")] = 0,
    dedupe: Annotated[
        bool, typer.Option(help="Drop repeated identical rows of a clip (else they are an error).")
    ] = False,
) -> None:
    """Assign train / val_known / val_new / test_known / test_new by the paper's protocol.

    The manifest is validated first (labels, activities, duplicates): a clip listed twice would
    land in train and in a test split, so duplicates are refused unless `--dedupe` drops them.
    """
    from musclemap.data.manifest import (
        dedupe_rows,
        format_lines,
        parse_manifest,
        summarize_problems,
        write_manifest,
    )
    from musclemap.data.splits import leave_activities_out_folds, split_manifest
    from musclemap.textfile import check_writable

    check_writable(out, "--out")
    rows, problems = parse_manifest(manifest)
    # `split` rewrites the split column, so its old values do not matter.
    ignored = {"unknown split", "activity in train and a new split"}
    if dedupe:
        ignored.add("duplicate clip")
    problems = [p for p in problems if p.kind not in ignored]
    if problems:
        hint = (
            " (--dedupe drops repeated identical rows)"
            if any(p.kind == "duplicate clip" for p in problems)
            else ""
        )
        raise DatasetError(f"{manifest}: {summarize_problems(problems)}{hint}; nothing written")
    if dedupe:
        rows, dropped = dedupe_rows(rows)
        if dropped:
            err_console.print(
                f"--dedupe: dropped {len(dropped)} repeated row(s) "
                f"({format_lines(r.line for r in dropped)}); {len(rows)} clips left"
            )
    if folds:
        if held_out or n_held_out:
            raise DatasetError("--folds cannot be combined with --held-out/--n-held-out")
        for k, fold_rows in enumerate(leave_activities_out_folds(rows, folds, seed)):
            path = out.with_name(f"{out.stem}_fold{k}{out.suffix or '.csv'}")
            write_manifest(fold_rows, path)
            _print_split(path, fold_rows)
        return
    names = [a.strip() for a in held_out.split(",") if a.strip()] or None
    new_rows = split_manifest(rows, held_out=names, n_held_out=n_held_out, seed=seed)
    write_manifest(new_rows, out)
    _print_split(out, new_rows)


def _print_split(path: Path, rows: list) -> None:
    from collections import Counter

    counts = Counter(r.split for r in rows)
    new = sorted({r.activity for r in rows if r.split.endswith("_new")})
    console.print(
        f"wrote {path}: "
        + ", ".join(
            f"{k} {counts.get(k, 0)}"
            for k in ("train", "val_known", "val_new", "test_known", "test_new")
        )
        + f"; new activities: {', '.join(new)}"
    )


def _evaluate_config(config: Path, checkpoint: Path, overrides: list[str]) -> tuple[list, Path]:
    """Run a checkpoint on its config's data; returns the evaluated rows and predictions."""
    from musclemap.config import load_config
    from musclemap.data.datasets import load_rows
    from musclemap.engine.evaluate import evaluate_checkpoint

    cfg = load_config(config, overrides)
    predictions = evaluate_checkpoint(cfg, checkpoint, checkpoint.with_suffix(".predictions.csv"))
    return load_rows(cfg), predictions  # the same rows (and fold) the run trained on


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
        Path | None, typer.Option(help="Checkpoint to evaluate with CONFIG.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the table as JSON.")
    ] = None,
    per_class: Annotated[bool, typer.Option(help="Also print per-class AP (test splits).")] = False,
    per_activity: Annotated[bool, typer.Option(help="Also print sample AP per activity.")] = False,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Config override key=value.")
    ] = None,
) -> None:
    """mAP on val/test known/new and their means, as the paper's Table II (percent).

    Either `--manifest M --predictions P`, or `CONFIG --checkpoint CKPT` (runs the model on the
    config's data first, writing the predictions next to the checkpoint).
    """
    from musclemap.data.manifest import read_manifest, require_splits
    from musclemap.metrics import (
        match_scores,
        per_activity_table,
        per_class_table,
        read_predictions,
        split_table,
        unknown_predictions,
    )
    from musclemap.textfile import check_writable, format_lines

    if json_out is not None:
        check_writable(json_out, "--json")
    if config is not None:
        if checkpoint is None:
            raise DatasetError("evaluate CONFIG needs --checkpoint CKPT")
        rows, predictions = _evaluate_config(config, checkpoint, overrides or [])
        source: Path = config
    elif manifest is None or predictions is None:
        raise DatasetError("give --manifest and --predictions (or CONFIG --checkpoint)")
    else:
        rows = read_manifest(manifest)  # validated: duplicates, labels, leaks are errors
        source = manifest
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
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(table, indent=2))


@app.command()
def baseline(
    name: Annotated[str, typer.Argument(help="random | all_ones")],
    manifest: Annotated[Path, typer.Option(help="Manifest whose clips get scores.")],
    out: Annotated[Path, typer.Option(help="Predictions CSV to write.")],
    seed: Annotated[int, typer.Option(min=0, help="Seed of the random baseline.")] = 0,
) -> None:
    """Predictions of a statistic baseline (paper Table II) for every clip of a manifest."""
    from musclemap.baselines import all_ones_scores, random_scores
    from musclemap.data.manifest import read_manifest
    from musclemap.metrics import write_predictions
    from musclemap.textfile import check_writable

    check_writable(out, "--out")
    rows = read_manifest(manifest)
    if name == "random":
        scores = random_scores(len(rows), seed=seed)
    elif name == "all_ones":
        scores = all_ones_scores(len(rows))
    else:
        raise DatasetError(f"unknown baseline {name!r}: use random or all_ones")
    write_predictions(out, [r.clip_id for r in rows], scores)
    console.print(f"wrote {out}: {len(rows)} clips ({name})")
