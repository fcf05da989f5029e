"""`musclemap data import|validate|split`: build, check and split a dataset manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from musclemap.cli.app import StdoutConsole, data_app, file_option
from musclemap.errors import DatasetError

console = StdoutConsole()
err_console = Console(stderr=True)


@data_app.command("import")
def data_import(
    source: Annotated[
        Path,
        typer.Argument(help="Release folder with pickles, a video folder, or a Free Exercise DB."),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Manifest CSV to write.", parser=file_option)
    ],
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
    from musclemap.outputs import check_writable, refuse_inputs

    check_writable(out, "--out")
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
        left = result.stretches_left_out
        note = (
            f"; left out {left} stretch{'es' if left != 1 else ''} (their listed muscles are "
            "stretched, not working; --include-stretches writes them with kind=stretch)"
            if not include_stretches
            else f"; {stretches} of them stretches (kind=stretch: not working muscles)"
        )
    else:
        raise DatasetError(
            f"unknown layout {layout!r}: use {', '.join(map(repr, BENCHMARKS))}, 'folder' or "
            "'free-exercise-db'"
        )
    # `--out` inside the imported folder may name one of its videos: never written over.
    refuse_inputs(out, "--out", [("imported clip", r.clip) for r in rows])
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
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Output CSV (with --folds: <out>_foldK.csv).", parser=file_option
        ),
    ],
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
    from musclemap.outputs import InputFiles, check_writable, clip_inputs

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
    # `--out clips/a.mp4` replaced a video of the manifest with the manifest (exit 0).
    clips = InputFiles(clip_inputs(rows, manifest))
    if folds:
        if held_out or n_held_out:
            raise DatasetError("--folds cannot be combined with --held-out/--n-held-out")
        parts = list(leave_activities_out_folds(rows, folds, seed))
        suffix = out.suffix or ".csv"
        paths = [out.with_name(f"{out.stem}_fold{k}{suffix}") for k in range(len(parts))]
        from musclemap.outputs import check_target

        for path in paths:
            clips.refuse(path, "--out")
            check_target(path, "--out")  # fold 2 read-only or a folder: after folds 0 and 1
        for path, fold_rows in zip(paths, parts, strict=True):
            write_manifest(fold_rows, path)
            _print_split(path, fold_rows)
        return
    names = [a.strip() for a in held_out.split(",") if a.strip()] or None
    if held_out.strip() and names is None:  # ",,," held out nothing: not a random pick
        raise DatasetError(f"--held-out {held_out!r} names no activity")
    clips.refuse(out, "--out")
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
