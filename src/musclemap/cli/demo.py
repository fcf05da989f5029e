"""`musclemap demo`: predict's whole output on a pose sequence the package generates (no video)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from musclemap.cli.app import app
from musclemap.cli.predict import (
    analyse,
    console,
    load_predictor,
    print_prediction,
)
from musclemap.errors import MusclemapError
from musclemap.outputs import check_writable
from musclemap.viz.registry import PICTURES

# The packaged model refuses videos under a second (its `min_seconds`): a shorter demo would
# announce itself and then fail, so it is refused with the option.
MIN_SECONDS = 1.0


def _seconds_option(value: float) -> float:
    if not (math.isfinite(value) and MIN_SECONDS <= value <= 600):
        raise typer.BadParameter(f"must be in [{MIN_SECONDS:g}, 600] seconds, got {value:g}")
    return value


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option(help="Where the demo writes its files.")] = Path(
        "musclemap-demo"
    ),
    exercise: Annotated[str, typer.Option(help="squat, biceps_curl or shoulder_press.")] = "squat",
    seconds: Annotated[
        float, typer.Option(help="Length of the generated sequence.", callback=_seconds_option)
    ] = 8.0,
) -> None:
    """The whole output on an input the package makes itself (no video needed)."""
    from musclemap.demo import EXERCISES, synthetic_pose_sequence

    if exercise not in EXERCISES:
        raise MusclemapError(f"unknown demo exercise {exercise!r}; choose {', '.join(EXERCISES)}")
    check_writable(out_dir, "--out-dir", folder=True)
    from musclemap.outputs import check_target

    # A read-only demo.json was replaced (root), a folder in its place failed after the work.
    for name in ["demo.json"] + [
        f"{p.name}{suffix}" for p in PICTURES.values() if not p.needs_video for suffix in p.suffixes
    ]:
        check_target(out_dir / name, "--out-dir")
    console.print(
        f"[bold]Demo input:[/] a generated pose sequence of a person doing {exercise} "
        f"({seconds:g} s at 10 fps), made by musclemap itself. No video is decoded and the "
        "pose estimator is skipped; the model and every output are the real ones.\n"
        "On your own video: musclemap predict my_video.mp4 --json out.json --body-map map.svg"
    )
    predictor = load_predictor(None, "cpu", True)
    pred = predictor.predict_poses(
        synthetic_pose_sequence(exercise, seconds=seconds), video=f"generated-{exercise}"
    )
    analyse(pred, exercise)
    print_prediction(pred)
    from musclemap.outputs import atomic_path, write_text

    # Each file whole or not at all (a temporary file renamed); a full disk is one line.
    write_text(out_dir / "demo.json", json.dumps(pred.to_dict(), indent=1), "--out-dir")
    # Every picture that needs no video, in every format it has.
    files = []
    for picture in PICTURES.values():
        for suffix in () if picture.needs_video else picture.suffixes:
            with atomic_path(out_dir / f"{picture.name}{suffix}", "--out-dir") as tmp:
                picture.render(pred, tmp, title=pred.video)
            files.append(f"{picture.name}{suffix}")
    console.print(f"wrote {out_dir}/demo.json, {', '.join(files)}")
