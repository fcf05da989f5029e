"""`musclemap predict VIDEO...` (the main job) and `musclemap demo` (the same output, no video)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from musclemap.cli.app import app
from musclemap.errors import MusclemapError, VideoError

if TYPE_CHECKING:
    from musclemap.predictor import Prediction, Predictor

console = Console()
err_console = Console(stderr=True)
VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".gif"}


def expand_videos(paths: list[Path]) -> list[Path]:
    """Files as given, folders as their video files (sorted); missing paths are kept so that
    they fail with their own message."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise VideoError(f"{p}: folder holds no video files")
            out += found
        else:
            out.append(p)
    return out


def print_prediction(pred: Prediction, *, top_k: int = 20) -> None:
    """The rich table: groups sorted by probability, active ones marked."""
    table = Table(title=f"{pred.video}  (model {pred.model['name']} v{pred.model['version']})")
    table.add_column("muscle group")
    table.add_column("probability", justify="right")
    table.add_column("", justify="left")
    table.add_column("active")
    for gid, p in pred.ranked()[:top_k]:
        bar = "█" * int(round(p * 20))
        mark = "[bold green]● active[/]" if p >= pred.threshold else "[dim]○[/]"
        table.add_row(gid, f"{p:.2f}", bar, mark)
    console.print(table)
    console.print(
        f"threshold {pred.threshold:.2f} · pose coverage {pred.pose_coverage:.0%} · "
        f"people {pred.people} · {len(pred.timeline)} windows"
    )
    if pred.looks_like:
        console.print(
            "looks like: "
            + ", ".join(f"{x['exercise']} ({x['similarity']:.2f})" for x in pred.looks_like),
            highlight=False,
        )
    for note in pred.notes:
        console.print(f"note: {note}")


def _picture_path(
    option: Path | None, out_dir: Path | None, stem: str, kind: str, default_suffix: str
) -> Path | None:
    """Where a picture goes: the given path for one video, OUT/<stem>_<kind><suffix> in batch
    mode (the option's suffix, or the option itself when it is just "svg"/"png"/...)."""
    if option is None:
        return None
    if out_dir is None:
        return option
    suffix = option.suffix or (f".{option.name}" if option.name else default_suffix)
    return out_dir / f"{stem}_{kind}{suffix}"


def write_outputs(
    pred: Prediction,
    *,
    json_path: Path | None,
    body_map: Path | None,
    timeline: Path | None,
    overlay: Path | None,
    video: Path | None = None,
) -> None:
    """Write the JSON and the pictures asked for (viz functions)."""
    for p in (json_path, body_map, timeline, overlay):
        if p is not None:
            p.parent.mkdir(parents=True, exist_ok=True)
    if json_path is not None:
        json_path.write_text(json.dumps(pred.to_dict(), indent=1))
    if body_map is not None:
        from musclemap.viz.body_map import render_body_map

        try:
            render_body_map(pred.muscles, body_map, title=Path(pred.video).name)
        except ValueError as err:
            raise MusclemapError(str(err)) from None
    if timeline is not None:
        from musclemap.viz.timeline import render_timeline

        render_timeline(pred.timeline, timeline, title=Path(pred.video).name)
    if overlay is not None:
        if video is None or pred.pose is None:
            raise MusclemapError("--overlay needs a real video")
        from musclemap.viz.overlay import write_overlay

        write_overlay(video, overlay, pred.pose, pred.timeline)


def _load_predictor(ckpt: Path | None, device: str, use_cache: bool) -> Predictor:
    import torch

    from musclemap.predictor import Predictor

    torch.set_num_threads(1)  # the model is tiny; pose estimation owns the cores
    if ckpt is not None:
        return Predictor.from_checkpoint(ckpt, device=device, use_cache=use_cache)
    return Predictor.default(device=device, use_cache=use_cache)


@app.command()
def predict(
    videos: Annotated[list[Path], typer.Argument(help="Video files and/or folders of videos.")],
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the result JSON.")] = None,
    body_map: Annotated[
        Path | None, typer.Option(help="Body map picture (.svg or .png; batch: svg|png).")
    ] = None,
    timeline: Annotated[
        Path | None, typer.Option(help="Groups x time heat map (.png; batch: png).")
    ] = None,
    overlay: Annotated[
        Path | None, typer.Option(help="Video with skeleton and live body map (.mp4).")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option(help="Batch: OUT/<stem>.json (+ pictures) and summary.csv.")
    ] = None,
    fps: Annotated[float, typer.Option(help="Frames per second sampled for pose.")] = 10.0,
    threshold: Annotated[
        float | None, typer.Option(help="Active above this probability (default: the model's).")
    ] = None,
    top_k: Annotated[int, typer.Option(help="Rows of the table.")] = 20,
    ckpt: Annotated[
        Path | None, typer.Option(help="Trained weights (run folder or .safetensors).")
    ] = None,
    device: Annotated[str, typer.Option(help="torch device for the model.")] = "cpu",
    cache: Annotated[bool, typer.Option(help="Reuse cached poses of a video.")] = True,
) -> None:
    """Which of the 20 muscle groups work in a video, how strongly and when."""
    paths = expand_videos(videos)
    batch = out_dir is not None or len(paths) > 1
    if batch and out_dir is None:
        raise MusclemapError("several videos need --out-dir OUT")
    if batch and json_path is not None:
        raise MusclemapError("--json is for one video; with --out-dir each video gets its JSON")
    predictor = _load_predictor(ckpt, device, cache)
    if threshold is not None:
        predictor.threshold = threshold
    if not batch:
        pred = _run_one(predictor, paths[0], fps)
        print_prediction(pred, top_k=top_k)
        write_outputs(
            pred,
            json_path=json_path,
            body_map=body_map,
            timeline=timeline,
            overlay=overlay,
            video=paths[0],
        )
        return
    assert out_dir is not None
    failed = _run_batch(
        predictor,
        paths,
        out_dir,
        fps=fps,
        top_k=top_k,
        pictures={"body_map": body_map, "timeline": timeline, "overlay": overlay},
    )
    if failed:
        err_console.print(f"{failed} of {len(paths)} videos failed")
        raise typer.Exit(1)


def _run_one(predictor: Predictor, path: Path, fps: float) -> Prediction:
    from rich.progress import Progress

    with Progress(transient=True, console=err_console) as bar:
        task = bar.add_task(path.name, total=1.0)
        return predictor.predict(
            path, fps=fps, progress=lambda f, msg: bar.update(task, completed=f, description=msg)
        )


def _run_batch(
    predictor: Predictor,
    paths: list[Path],
    out_dir: Path,
    *,
    fps: float,
    top_k: int,
    pictures: dict[str, Path | None],
) -> int:
    """Predict every video; a failing one is reported and skipped. Returns the failure count."""
    from rich.progress import Progress

    from musclemap.metrics import write_predictions

    out_dir.mkdir(parents=True, exist_ok=True)
    ids, scores, failed = [], [], 0
    with Progress(console=err_console) as bar:
        overall = bar.add_task("videos", total=len(paths))
        for path in paths:
            try:
                pred = predictor.predict(path, fps=fps)
                stem = path.stem
                write_outputs(
                    pred,
                    json_path=out_dir / f"{stem}.json",
                    body_map=_picture_path(pictures["body_map"], out_dir, stem, "body_map", ".svg"),
                    timeline=_picture_path(pictures["timeline"], out_dir, stem, "timeline", ".png"),
                    overlay=_picture_path(pictures["overlay"], out_dir, stem, "overlay", ".mp4"),
                    video=path,
                )
            except MusclemapError as err:
                failed += 1
                # One unwrapped line per failure; paths may contain "[", so no markup.
                bar.console.print(f"error: {err}", style="red", markup=False, soft_wrap=True)
            else:
                ids.append(str(path))
                scores.append(pred.scores_array())
                top = ", ".join(pred.active[:top_k]) or "none active"
                bar.console.print(f"{path.name}: {top}", markup=False, soft_wrap=True)
            bar.advance(overall)
    if ids:
        import numpy as np

        write_predictions(out_dir / "summary.csv", ids, np.stack(scores))
    console.print(f"wrote {len(ids)} results to {out_dir} (summary.csv)")
    return failed


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option(help="Where the demo writes its files.")] = Path(
        "musclemap-demo"
    ),
    exercise: Annotated[str, typer.Option(help="squat, biceps_curl or shoulder_press.")] = "squat",
    seconds: Annotated[float, typer.Option(help="Length of the generated sequence.")] = 8.0,
) -> None:
    """The whole output on an input the package makes itself (no video needed)."""
    from musclemap.demo import EXERCISES, synthetic_pose_sequence

    if exercise not in EXERCISES:
        raise MusclemapError(f"unknown demo exercise {exercise!r}; choose {', '.join(EXERCISES)}")
    console.print(
        f"[bold]Demo input:[/] a generated pose sequence of a person doing {exercise} "
        f"({seconds:.0f} s at 10 fps), made by musclemap itself. No video is decoded and the "
        "pose estimator is skipped; the model and every output are the real ones.\n"
        "On your own video: musclemap predict my_video.mp4 --json out.json --body-map map.svg"
    )
    predictor = _load_predictor(None, "cpu", True)
    pred = predictor.predict_poses(
        synthetic_pose_sequence(exercise, seconds=seconds), video=f"generated-{exercise}"
    )
    print_prediction(pred)
    files: dict[str, Any] = {
        "json_path": out_dir / "demo.json",
        "body_map": out_dir / "body_map.svg",
        "timeline": out_dir / "timeline.png",
        "overlay": None,
    }
    write_outputs(pred, **files)
    from musclemap.viz.body_map import render_body_map

    render_body_map(pred.muscles, out_dir / "body_map.png", title=f"generated-{exercise}")
    console.print(f"wrote {out_dir}/demo.json, body_map.svg, body_map.png, timeline.png")
