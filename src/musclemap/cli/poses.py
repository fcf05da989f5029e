"""`musclemap data poses`: bulk pose extraction for a whole manifest (resumable, shardable)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from musclemap.cli.app import data_app
from musclemap.cli.predict import (
    ESTIMATOR_NAMES_HELP,
    fps_option,
    pose_estimator_option,
    worker_count,
)
from musclemap.errors import DatasetError, MusclemapError
from musclemap.outputs import check_writable


@dataclass(frozen=True)
class _Task:
    clip: str
    out: str
    fps: float
    estimator: str  # a `musclemap.pose.estimator` name
    roi_grid: Any = None  # its tracker's grid (`estimator.tracker_grid`), as pose files record it
    mirror: bool = False  # also the mirrored photos' or video's poses (`mirror_path`)


@dataclass(frozen=True)
class _Result:
    clip: str
    out: str
    ok: bool
    skipped: bool = False
    coverage: float = 0.0
    error: str = ""


_ESTIMATOR: Any = None  # one per worker process
_STILLS_ESTIMATOR: Any = None  # still-image mode, for clips that are folders of photos


def _init_worker(name: str) -> None:
    global _ESTIMATOR
    import signal

    from musclemap.pose.estimator import build_estimator

    # Ctrl-C reaches the whole process group: the parent ends the pool. A worker that took it
    # too died with a traceback mid-clip and the parent waited for its lost clip forever. The
    # parent started this process with SIGINT blocked (a Ctrl-C during its start-up, before
    # this line, printed a traceback too): ignored from now on, a pending one is discarded.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    _ESTIMATOR = build_estimator(name)


def _done(out: Path, fps: float | None = None, roi_grid: Any = None) -> float | None:
    """Coverage of an existing, loadable pose file; None if it must be (re)computed: also when
    it was sampled at another rate than `fps` (a rerun with another --fps reused the old poses)
    or, for a video (`fps` given), made by another tracker than the one whose grid is
    `roi_grid` (a rerun with `--pose-estimator mediapipe_g4` over MediaPipe's own poses kept
    them as "already done", and the manifest mixed two trackers)."""
    from musclemap.data.pose_sequence import load_pose_file

    if not out.is_file():
        return None
    try:
        seq = load_pose_file(out)
    except DatasetError:
        return None
    if fps is not None and abs(seq.fps - fps) > 1e-6:
        return None
    if fps is not None and seq.extra.get("settings", {}).get("roi_grid") != roi_grid:
        return None
    return seq.coverage


def _video_fps(clip: str | Path, fps: float) -> float | None:
    """The rate a clip's pose file must have: `fps` for a video, none for a folder of photos."""
    return None if Path(clip).is_dir() else fps


def mirror_path(out: str | Path) -> Path:
    """Where `--mirror` writes a clip's mirrored poses: NAME.mirror.npz."""
    out = Path(out)
    return out.with_name(f"{out.stem}.mirror.npz")


def _work(task: _Task) -> _Result:
    from musclemap.data.pose_sequence import save_pose_file
    from musclemap.pose.extract import extract_poses

    out = Path(task.out)
    fps = _video_fps(task.clip, task.fps)
    photos = fps is None  # key-position photos (e.g. images/<id>/0.jpg, 1.jpg)
    coverage = _done(out, fps, task.roi_grid)
    mirror = task.mirror and _done(mirror_path(out), fps, task.roi_grid) is None
    if coverage is not None and not mirror:
        return _Result(task.clip, task.out, ok=True, skipped=True, coverage=coverage)
    if _ESTIMATOR is None:
        _init_worker(task.estimator)
    try:
        if coverage is None:
            if photos:
                seq = _still_poses(task.clip)
            else:
                seq = extract_poses(
                    task.clip, fps=task.fps, estimator=_ESTIMATOR, use_cache=False
                )
            save_pose_file(seq, out)
            coverage = seq.coverage
        if mirror and photos:
            save_pose_file(_still_poses(task.clip, mirror=True), mirror_path(out))
        elif mirror:
            from musclemap.pose.estimator import MirroredEstimator

            seq = extract_poses(
                task.clip, fps=task.fps, estimator=MirroredEstimator(_ESTIMATOR),
                use_cache=False, workers=1,
            )
            save_pose_file(seq, mirror_path(out))
    except MusclemapError as err:
        return _Result(task.clip, task.out, ok=False, error=str(err))
    except Exception as err:  # noqa: BLE001 - one bad clip must never stop the others
        message = f"{task.clip}: {type(err).__name__}: {err}"
        return _Result(task.clip, task.out, ok=False, error=message)
    return _Result(task.clip, task.out, ok=True, coverage=coverage)


def _still_poses(folder: str, *, mirror: bool = False) -> Any:
    global _STILLS_ESTIMATOR
    from musclemap.pose.stills import StillImagePoseEstimator, extract_still_poses

    if _STILLS_ESTIMATOR is None:
        _STILLS_ESTIMATOR = StillImagePoseEstimator()
    return extract_still_poses(folder, estimator=_STILLS_ESTIMATOR, mirror=mirror)


def parse_shard(text: str) -> tuple[int, int]:
    """`"i/n"` (0-based i < n) -> (i, n); empty -> (0, 1)."""
    if not text:
        return 0, 1
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise typer.BadParameter(f"--shard expects i/n, e.g. 0/4, got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise typer.BadParameter(f"--shard i/n needs 0 <= i < n, got {text!r}")
    return i, n


def pose_file_names(clips: list[Path]) -> list[str]:
    """`<clip stem>.npz`, with a short hash of the path added where two clips share a stem."""
    stems = Counter(c.stem for c in clips)
    names = []
    for clip in clips:
        if stems[clip.stem] == 1:
            names.append(f"{clip.stem}.npz")
        else:
            tag = hashlib.sha1(str(clip).encode()).hexdigest()[:8]
            names.append(f"{clip.stem}-{tag}.npz")
    return names


def _run(tasks: list[_Task], workers: int, console: Any) -> list[_Result]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    results: list[_Result] = []
    columns = (
        TextColumn("poses"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=console) as bar:
        job = bar.add_task("", total=len(tasks))
        if workers <= 1:
            stream: Any = map(_work, tasks)
            pool = None
        else:
            import multiprocessing
            import signal

            # spawn: each worker builds its own MediaPipe graph; no threads forked mid-flight.
            # A spawned worker knows the estimators registered on import (not a test's).
            name = tasks[0].estimator if tasks else "mediapipe"
            ctx = multiprocessing.get_context("spawn")
            # The workers inherit a blocked SIGINT until their initializer ignores it; here a
            # Ctrl-C while they start waits for the end of this line (then ends the pool below).
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                pool = ctx.Pool(workers, initializer=_init_worker, initargs=(name,))
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            stream = pool.imap_unordered(_work, tasks)
        finished = False
        try:
            for result in stream:
                results.append(result)
                bar.update(job, advance=1, description=Path(result.clip).name)
            finished = True
        finally:
            if pool is not None:
                if finished:
                    pool.close()
                else:  # Ctrl-C or an error: the clips still posing are dropped, not waited for
                    pool.terminate()
                pool.join()
            elif _ESTIMATOR is not None:
                _close_estimator()
    return results


def _close_estimator() -> None:
    """Close this process's estimator and forget it (the next run may name another)."""
    global _ESTIMATOR
    _ESTIMATOR.close()
    _ESTIMATOR = None


@data_app.command("poses")
def poses(
    manifest: Path = typer.Argument(..., help="Manifest CSV of the clips."),
    out: Path = typer.Option(..., "--out", help="Folder for <clip stem>.npz and manifest.csv."),
    workers: int = typer.Option(
        0, "--workers", min=0, help="Processes, one estimator each (0: one per core)."
    ),
    shard: str = typer.Option(
        "",
        "--shard",
        help="i/n: only every n-th clip from the i-th (0-based), for cluster job arrays.",
    ),
    fps: float = typer.Option(
        10.0, "--fps", help="Pose sampling rate, in (0, 60].", callback=fps_option
    ),
    pose_estimator: str = typer.Option(
        "mediapipe",
        "--pose-estimator",
        help=f"{ESTIMATOR_NAMES_HELP} (default mediapipe).",
        callback=pose_estimator_option,
    ),
    mirror: bool = typer.Option(
        False,
        "--mirror",
        help="Also pose each clip mirrored left to right, mapped back (NAME.mirror.npz, column "
        "skeleton_mirror): training copies (pose_default.clip_mirror, keypose_mirror).",
    ),
) -> None:
    """Extract poses (MediaPipe by default) for every clip of MANIFEST into OUT (resumable).

    A clip that is a folder of photos (key positions) gets one still-image MediaPipe pose per
    photo. With --mirror every clip is also posed mirrored left to right, its poses mapped back
    onto the picture (MediaPipe is not mirror-equivariant: a second estimate of the same
    movement, for training copies).

    Clips whose pose file already exists, loads and has this --fps are skipped. Failures are
    listed at the end and do not stop the others (exit code 1 if any failed). OUT/manifest.csv
    is the input manifest plus a `skeleton` column (empty for clips without a pose file yet)
    and a `pose_coverage` column.
    """
    from rich.console import Console

    from musclemap.data.manifest import read_manifest, write_manifest

    console = Console(stderr=True)
    from musclemap.errors import DatasetError

    index, count = parse_shard(shard)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"--out {out} is a file; give a folder for the pose files")
    check_writable(out, "--out", folder=True)  # /proc, under a file: one line, before any work
    from musclemap.outputs import check_target, refuse_inputs

    # OUT/manifest.csv being the input manifest replaced it (and emptied the skeleton column of
    # every clip that failed this time).
    refuse_inputs(out / "manifest.csv", "--out", [("input manifest", manifest)])
    check_target(out / "manifest.csv", "--out")  # a folder or read-only: after all the work
    rows = read_manifest(manifest)
    out.mkdir(parents=True, exist_ok=True)
    names = pose_file_names([r.clip for r in rows])
    chosen = list(range(index, len(rows), count))
    from musclemap.pose.estimator import tracker_grid

    grid = tracker_grid(pose_estimator)
    tasks = [
        _Task(str(rows[i].clip), str(out / names[i]), fps, pose_estimator, grid, mirror)
        for i in chosen
    ]
    if workers == 0:
        from musclemap.pose.parallel import cpu_budget

        workers = cpu_budget()
    workers = worker_count(workers)  # not more processes than cores (said when asked for)
    results = _run(tasks, min(workers, max(len(tasks), 1)), console)

    coverage = {r.out: r.coverage for r in results if r.ok}
    for row, name in zip(rows, names, strict=True):
        path = out / name
        rate = _video_fps(row.clip, fps)
        cov = coverage.get(str(path))
        if cov is None and str(path) not in {t.out for t in tasks}:
            cov = _done(path, rate, grid)  # another shard's work
        row.skeleton = path.resolve() if cov is not None else None
        row.extra["pose_coverage"] = "" if cov is None else f"{cov:.3f}"
        if mirror:
            mirrored = mirror_path(path)
            there = _done(mirrored, rate, grid) is not None
            row.extra["skeleton_mirror"] = str(mirrored.resolve()) if there else ""
    write_manifest(rows, out / "manifest.csv")

    failed = [r for r in results if not r.ok]
    skipped = sum(r.skipped for r in results)
    done = len(results) - len(failed) - skipped
    console.print(
        f"{done} extracted, {skipped} already done, {len(failed)} failed -> {out / 'manifest.csv'}"
    )
    for r in failed:
        console.print(f"[red]failed[/red] {r.error}", highlight=False)
    if failed:
        raise typer.Exit(1)
