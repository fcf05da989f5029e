"""`musclemap predict VIDEO...`: the main job.

Start-up stays cheap: nothing here imports torch, MediaPipe (only pose worker processes do) or
matplotlib (only when a picture is asked). Every option and output path is checked before any
video is decoded or model loaded; exit codes: 0 done, 1 bad input (one line on stderr), 2 usage
(an option out of range, from click).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from musclemap.cli.app import StdoutConsole, app, file_option, one_line, work_written
from musclemap.data import VIDEO_SUFFIXES
from musclemap.errors import MusclemapError, UsageError, VideoError
from musclemap.outputs import check_writable
from musclemap.viz.registry import PICTURES

if TYPE_CHECKING:
    from musclemap.pose.estimator import PoseEstimator
    from musclemap.pose.parallel import PosePool
    from musclemap.predictor import Prediction, Predictor

console = StdoutConsole()
err_console = Console(stderr=True)


def expand_videos(paths: list[Path]) -> list[Path]:
    """Files as given, folders as their video files (sorted); missing paths are kept so that
    they fail with their own message."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            # Sub-folders are not videos, whatever their name ("x.mp4/"); broken links are kept
            # so that they fail with their own message.
            found = sorted(
                f
                for f in p.iterdir()
                if f.suffix.lower() in VIDEO_SUFFIXES and (f.is_symlink() or not f.is_dir())
            )
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
    if pred.analysis:
        from musclemap.cli.exercise_report import print_analysis

        print_analysis(console, pred.analysis, pred.segments)


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


# -- up-front checks ---------------------------------------------------------------------------

MAX_FPS = 60.0
# Suffixes each picture option accepts (the renderer picks the format from it).
PICTURE_SUFFIXES = {name: p.suffixes for name, p in PICTURES.items()}


def fps_option(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and 0 < value <= MAX_FPS):
        raise typer.BadParameter(f"must be a number in (0, {MAX_FPS:g}], got {value:g}")
    return value


def _threshold_option(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise typer.BadParameter(f"must be a probability in [0, 1], got {value:g}")
    return value


def rotate_option(value: str) -> str:
    from musclemap.pose.orientation import ROTATE_CHOICES

    if value not in ROTATE_CHOICES:
        raise typer.BadParameter(f"must be auto, 0, 90, 180 or 270, got {value!r}")
    return value


def rotation(value: str) -> int | None:
    """`--rotate`'s degrees clockwise, or None (`auto`: the orientation check decides)."""
    from musclemap.pose.orientation import rotation_of

    return rotation_of(value)


def pose_estimator_option(value: str | None) -> str | None:
    """A registered estimator name (`musclemap.pose.estimator`), else `UsageError` (one line,
    exit 2) naming the close matches; None (not given) as is."""
    from musclemap.pose.estimator import check_estimator_name

    if value is None:
        return None
    try:
        return check_estimator_name(value)
    except KeyError as err:
        raise UsageError(f"--pose-estimator: {err.args[0]}") from None


ESTIMATOR_NAMES_HELP = (
    "Pose estimator by name: mediapipe (MediaPipe Pose), mediapipe_g4 (its tracker on a grid) "
    "or another registered in musclemap.pose.estimator"
)
POSE_ESTIMATOR_HELP = (
    f"{ESTIMATOR_NAMES_HELP}; default the one the model was trained on (another is noted)."
)


def _check_suffix(path: Path | None, kind: str, option: str, batch: bool) -> None:
    if path is None:
        return
    allowed = PICTURE_SUFFIXES[kind]
    # Batch mode also takes the bare format name ("svg", "png", "mp4").
    suffix = path.suffix.lower() or (f".{path.name.lower()}" if batch else "")
    if suffix not in allowed:
        raise MusclemapError(f"{option} {path}: expected {' or '.join(allowed)}")


def model_inputs(ckpt: Path | None) -> list[tuple[str, Path]]:
    """(what, path) input pairs for the files of `--ckpt` (none for the packaged model)."""
    if ckpt is None:
        return []
    from musclemap.inference import model_files  # only with --ckpt: predict's start stays light

    return [("model file of --ckpt", f) for f in model_files(ckpt)]


def check_outputs(
    *,
    json_path: Path | None,
    pictures: dict[str, Path | None],
    out_dir: Path | None,
    videos: Sequence[Path] = (),
    models: Sequence[tuple[str, Path]] = (),
) -> None:
    """Every output option checked before any work (one line for the first problem); an
    output that is one of the input videos or model files (`models`, `model_inputs`) is
    refused (`--json x.mp4` replaced the video, `--json m.json` the `--ckpt`'s JSON)."""
    from musclemap.outputs import refuse_inputs, resolved

    batch = out_dir is not None
    for kind, path in pictures.items():
        _check_suffix(path, kind, f"--{kind.replace('_', '-')}", batch)
    if out_dir is not None:
        check_writable(out_dir, "--out-dir", folder=True)
        return
    targets = [("--json", json_path)] + [
        (f"--{k.replace('_', '-')}", p) for k, p in pictures.items()
    ]
    seen: dict[Path, str] = {}
    for option, path in targets:
        if path is None:
            continue
        key = resolved(path)
        if key in seen:
            raise MusclemapError(f"{option} and {seen[key]} both write {path}")
        seen[key] = option
        refuse_inputs(path, option, [*(("input video", v) for v in videos), *models])
        check_writable(path, option)


def check_batch_outputs(
    paths: list[Path],
    stems: list[str],
    out_dir: Path,
    pictures: dict[str, Path | None],
    models: Sequence[tuple[str, Path]] = (),
) -> None:
    """No file batch mode writes in OUT (`<stem>.json`, pictures, summary.csv) may be one of
    the input videos (e.g. `predict OUT --out-dir OUT --overlay mp4` over `x.mp4` and
    `x_overlay.mp4`: x's overlay would replace the other input) or model files (`--out-dir`
    the `--ckpt`'s folder and a video named `default.mp4`: its result replaced default.json)."""
    from musclemap.outputs import InputFiles, check_target

    inputs = InputFiles([*(("input video", p) for p in paths), *models])  # each looked up once
    planned: list[tuple[Path, str]] = [(out_dir / "summary.csv", "--out-dir")]
    for stem in stems:
        planned.append((out_dir / f"{stem}.json", "--out-dir"))
        for name, p in PICTURES.items():
            target = _picture_path(pictures[name], out_dir, stem, name, p.suffixes[0])
            if target is not None:
                planned.append((target, p.option))
    for target, option in planned:
        inputs.refuse(target, option)
        # A folder or read-only file in its place failed after that video's work (or, for
        # summary.csv, after the whole batch); a read-only one was replaced when run as root.
        check_target(target, option)


def usable_cache(use_cache: bool) -> bool:
    """The pose cache is optional: when its folder cannot be written, warn and go on without."""
    if not use_cache:
        return False
    from musclemap.pose.cache import default_cache_dir

    folder = default_cache_dir()
    try:
        check_writable(folder, "pose cache", folder=True)
    except MusclemapError as err:
        err_console.print(f"warning: {err}; going on without the pose cache", markup=False)
        return False
    return True


def output_stems(paths: list[Path]) -> tuple[list[str], list[str]]:
    """Output names per video in batch mode: the file stem, made unique where two videos share
    it (case-insensitively: a/x.mp4 and b/X.mov) by a short hash of the path, so that no
    result replaces another. Returns the stems and a message per renamed video."""
    from collections import Counter

    counts = Counter(p.stem.casefold() for p in paths)
    stems, renamed = [], []
    for p in paths:
        if counts[p.stem.casefold()] == 1:
            stems.append(p.stem)
            continue
        tag = hashlib.sha1(str(p.absolute()).encode()).hexdigest()[:8]
        stems.append(f"{p.stem}-{tag}")
        renamed.append(f"{p}: another video has the name {p.stem!r}; writing {p.stem}-{tag}.*")
    return stems, renamed


def unique_videos(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """The same file named twice is predicted once (and said so)."""
    from musclemap.outputs import resolved

    seen: set[Path] = set()
    out, dropped = [], []
    for p in paths:
        key = resolved(p)  # a symlink loop fails later with its own message, not here
        if key in seen:
            dropped.append(f"{p}: given twice; predicted once")
            continue
        seen.add(key)
        out.append(p)
    return out, dropped


# -- outputs -----------------------------------------------------------------------------------


def write_outputs(
    pred: Prediction,
    *,
    json_path: Path | None,
    body_map: Path | None,
    timeline: Path | None,
    overlay: Path | None,
    video: Path | None = None,
) -> None:
    """Write the JSON and the pictures asked for (`musclemap.viz.registry`), each through a
    temporary file renamed over its path (`musclemap.outputs`): an interrupted or failed write
    (disk full) leaves no half-written file and is one line."""
    from musclemap.outputs import atomic_path, write_text

    paths = {"body_map": body_map, "timeline": timeline, "overlay": overlay}
    if json_path is not None:
        write_text(json_path, json.dumps(pred.to_dict(), indent=1), "--json")
    for name, picture in PICTURES.items():
        path = paths[name]
        if path is None:
            continue
        try:
            with atomic_path(path, picture.option) as tmp:
                picture.render(pred, tmp, video=video, title=Path(pred.video).name)
        except ValueError as err:  # a VizError, or bad values a renderer met
            raise MusclemapError(str(err)) from None


def _resolve_exercise(name: str | None) -> str | None:
    """The --exercise name, checked before any video is read (a typo fails at once)."""
    if name is None:
        return None
    from musclemap.analysis import resolve_exercise

    resolve_exercise(name)
    return name


def analyse(pred: Prediction, activity: str | None) -> None:
    """Exercise, movement and repetition blocks (musclemap.analysis) into `pred.analysis`."""
    from musclemap.analysis import analyse

    if pred.pose is not None:
        analyse(pred, activity)


def load_predictor(
    ckpt: Path | None,
    device: str,
    use_cache: bool,
    estimator: PoseEstimator | str | None = None,
) -> Predictor:
    from musclemap.predictor import Predictor

    kwargs: dict[str, Any] = {"device": device, "use_cache": use_cache, "estimator": estimator}
    if ckpt is not None:
        return Predictor.from_checkpoint(ckpt, **kwargs)
    return Predictor.default(**kwargs)


def worker_count(workers: int) -> int:
    """`--workers` as run: more than the cores this process may use becomes the cores, said in
    a warning. Each worker is a MediaPipe process (about 300 MB resident here), so `--workers
    500` started 500 of them and exhausted the memory; beyond the cores they only wait."""
    from musclemap.pose.parallel import cpu_budget

    cores = cpu_budget()
    if workers <= cores:
        return workers
    err_console.print(
        f"warning: --workers {workers} is more than the {cores} cores this process may use; "
        f"using {cores}",
        markup=False,
    )
    return cores


def _start_pool(workers: int, estimator: str) -> PosePool | None:
    """The pose worker processes of a `POOLED` estimator, started before anything else so that
    their MediaPipe import and graph start overlap the model load and the video probe (and
    before the progress bar's thread, so that they can be forked)."""
    from musclemap.pose.estimator import pool_factory
    from musclemap.pose.parallel import cpu_budget, shared_pool

    n = workers or cpu_budget()
    return shared_pool(n, pool_factory(estimator)) if n > 1 else None


@app.command()
def predict(
    videos: Annotated[list[Path], typer.Argument(help="Video files and/or folders of videos.")],
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Write the result JSON.", parser=file_option),
    ] = None,
    body_map: Annotated[
        Path | None,
        typer.Option(help="Body map picture (.svg or .png; batch: svg|png).", parser=file_option),
    ] = None,
    timeline: Annotated[
        Path | None,
        typer.Option(help="Groups x time heat map (.png; batch: png).", parser=file_option),
    ] = None,
    overlay: Annotated[
        Path | None,
        typer.Option(help="Video with skeleton and live body map (.mp4).", parser=file_option),
    ] = None,
    exercise: Annotated[
        str | None,
        typer.Option(help="The exercise done (knowledge-base name); default: the model's guess."),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option(help="Batch: OUT/<stem>.json (+ pictures) and summary.csv.")
    ] = None,
    fps: Annotated[
        float | None,
        typer.Option(
            help="Frames per second sampled for pose (default: the rate the model was trained "
            "at; another rate is noted in the output). At most 60.",
            callback=fps_option,
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Active above this probability in [0, 1] (default: the model's).",
            callback=_threshold_option,
        ),
    ] = None,
    top_k: Annotated[int, typer.Option(min=1, help="Rows of the table.")] = 20,
    ckpt: Annotated[
        Path | None, typer.Option(help="Trained weights (run folder or .safetensors).")
    ] = None,
    device: Annotated[str, typer.Option(help="torch device for a torch model.")] = "cpu",
    cache: Annotated[bool, typer.Option(help="Reuse cached poses of a video.")] = True,
    workers: Annotated[
        int, typer.Option(min=0, help="Pose processes (0: one per core; 1: no extra process).")
    ] = 0,
    pose_estimator: Annotated[
        str | None, typer.Option(help=POSE_ESTIMATOR_HELP, callback=pose_estimator_option)
    ] = None,
    rotate: Annotated[
        str,
        typer.Option(
            help="Degrees clockwise that make the picture upright (a video filmed sideways or "
            "upside down in its pixels): 0, 90, 180 or 270; 0 scores it as filmed; auto: the "
            "orientation check decides.",
            callback=rotate_option,
        ),
    ] = "auto",
) -> None:
    """Which of the 20 muscle groups work in a video, how strongly and when."""
    paths = expand_videos(videos)
    activity = _resolve_exercise(exercise)
    batch = out_dir is not None or len(paths) > 1
    if batch and out_dir is None:
        raise MusclemapError("several videos need --out-dir OUT")
    if batch and json_path is not None:
        raise MusclemapError("--json is for one video; with --out-dir each video gets its JSON")
    if not batch and not paths[0].is_file():
        from musclemap.textfile import missing_reason

        raise VideoError(f"{paths[0]}: {missing_reason(paths[0])}")
    pictures = {"body_map": body_map, "timeline": timeline, "overlay": overlay}
    models = model_inputs(ckpt)
    check_outputs(
        json_path=json_path, pictures=pictures, out_dir=out_dir, videos=paths, models=models
    )
    stems: list[str] = []
    dropped: list[str] = []
    renamed: list[str] = []
    if batch:
        assert out_dir is not None
        paths, dropped = unique_videos(paths)
        stems, renamed = output_stems(paths)
        check_batch_outputs(paths, stems, out_dir, pictures, models)
    if device != "cpu":
        # Said, not silently dropped: the option is kept for scripts that pass it.
        err_console.print(
            f"warning: --device {device} is ignored: the predict models run on the CPU",
            markup=False,
        )
    use_cache = usable_cache(cache)
    from musclemap.pose.estimator import POOLED, predict_estimator

    name = predict_estimator(ckpt, pose_estimator)
    workers = worker_count(workers)
    pool = _start_pool(workers, name) if name in POOLED else None
    # The name as given (None: the model's own, read from its weights by the predictor).
    predictor = load_predictor(ckpt, device, use_cache, pose_estimator)
    if threshold is not None:
        predictor.threshold = threshold
    if not batch:
        if pool is not None:
            _prepare_analysis_meanwhile()
        pred = _run_one(predictor, paths[0], fps, workers, rotation(rotate))
        analyse(pred, activity)
        print_prediction(pred, top_k=top_k)
        write_outputs(
            pred,
            json_path=json_path,
            body_map=body_map,
            timeline=timeline,
            overlay=overlay,
            video=paths[0],
        )
        work_written()
        return
    assert out_dir is not None
    for line in dropped + renamed:
        err_console.print(f"note: {line}", markup=False, soft_wrap=True)
    failed = _run_batch(
        predictor,
        paths,
        stems,
        out_dir,
        fps=fps,
        top_k=top_k,
        pictures=pictures,
        pool=pool,
        activity=activity,
        rotate=rotation(rotate),
    )
    work_written()
    if failed:
        err_console.print(f"{failed} of {len(paths)} videos failed")
        raise typer.Exit(1)


def _prepare_analysis_meanwhile() -> None:
    """This process only waits while the pose workers run: meanwhile a thread loads what the
    analysis after them reads (`analysis.prepare`, ~0.1 s less after the poses). A failure
    there is left for `analyse` itself to report."""
    import threading

    def prepare() -> None:
        try:
            from musclemap.analysis import prepare

            prepare()
        except Exception:  # noqa: BLE001, S110 - analyse() raises it again with its message
            pass

    threading.Thread(target=prepare, name="musclemap-prepare", daemon=True).start()


def _run_one(
    predictor: Predictor, path: Path, fps: float | None, workers: int, rotate: int | None
) -> Prediction:
    from rich.progress import Progress

    with Progress(transient=True, console=err_console) as bar:
        task = bar.add_task(path.name, total=1.0)
        return predictor.predict(
            path,
            fps=fps,
            workers=workers or None,
            rotate=rotate,
            progress=lambda f, msg: bar.update(task, completed=f, description=msg),
        )


def _batch_results(
    predictor: Predictor,
    paths: list[Path],
    fps: float,
    pool: PosePool | None,
    rotate: int | None = None,
) -> Any:
    """(index, Prediction or MusclemapError) per video, as they finish: on the pool's workers
    (one video per core), else one by one in this process."""
    from musclemap.pose.sequential import DEFAULT_MAX_SIDE

    if pool is None or len(paths) < pool.workers:
        # Fewer videos than cores: each is split over the cores instead.
        for i, path in enumerate(paths):
            try:
                yield i, predictor.predict(
                    path, fps=fps, workers=pool.workers if pool else 1, rotate=rotate
                )
            except MusclemapError as err:
                yield i, err
        return
    stream = pool.map_checked(
        paths,
        fps=fps,
        max_side=DEFAULT_MAX_SIDE,
        cache_dir=predictor.cache_dir,
        use_cache=predictor.use_cache,
    )
    for i, result in stream:
        if isinstance(result, BaseException):
            if not isinstance(result, MusclemapError):
                result = MusclemapError(f"{paths[i]}: {type(result).__name__}: {result}")
            yield i, result
            continue
        seq, quality = result  # poses and gates from the worker
        try:
            yield i, predictor.predict_extracted(
                paths[i], seq, fps=fps, quality=quality, rotate=rotate
            )
        except MusclemapError as err:
            yield i, err


def _run_batch(
    predictor: Predictor,
    paths: list[Path],
    stems: list[str],
    out_dir: Path,
    *,
    fps: float | None,
    top_k: int,
    pictures: dict[str, Path | None],
    pool: PosePool | None,
    activity: str | None = None,
    rotate: int | None = None,
) -> int:
    """Predict every video; a failing one is reported and skipped. Returns the failure count."""
    from rich.progress import Progress

    from musclemap.data.predictions import write_predictions

    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[int, Any] = {}
    failed = 0
    rate = fps or predictor.fps
    # Redrawn twice a second, not ten times: each redraw is ~0.45 ms of this process's CPU,
    # taken from the pose workers (0.12 s over a 20-clip batch at ten).
    with Progress(console=err_console, refresh_per_second=2) as bar:
        overall = bar.add_task("videos", total=len(paths))
        for i, result in _batch_results(predictor, paths, rate, pool, rotate):
            path, stem = paths[i], stems[i]
            try:
                if isinstance(result, MusclemapError):
                    raise result
                analyse(result, activity)
                write_outputs(
                    result,
                    json_path=out_dir / f"{stem}.json",
                    **{
                        name: _picture_path(pictures[name], out_dir, stem, name, p.suffixes[0])
                        for name, p in PICTURES.items()
                    },
                    video=path,
                )
            except MusclemapError as err:
                failed += 1
                # One unwrapped line per failure; paths may contain "[", so no markup.
                bar.console.print(
                    f"error: {one_line(str(err))}", style="red", markup=False, soft_wrap=True
                )
            else:
                results[i] = result
                top = ", ".join(result.active[:top_k]) or "none active"
                bar.console.print(f"{path.name}: {top}", markup=False, soft_wrap=True)
            bar.advance(overall)
    if results:
        import numpy as np

        order = sorted(results)  # input order, whatever order the workers finished in
        ids = [str(paths[i]) for i in order]
        write_predictions(
            out_dir / "summary.csv", ids, np.stack([results[i].scores_array() for i in order])
        )
    console.print(f"wrote {len(results)} results to {out_dir} (summary.csv)")
    return failed
