"""The console script `musclemap` and `python -m musclemap ...` (e.g. under `torchrun`).

Before the CLI is imported (0.15 s), a `predict` that will pose a video on several cores starts
its pose workers, so that their MediaPipe start overlaps the CLI's own imports, and for one
video with the model's defaults hands them the video at once (`extract.prefetch_poses`); the
CLI's own pose step then takes that job over instead of starting it (0-0.2 s). Only `--json`
may be given then, and it is checked first: no frame is decoded before the outputs are. That
plain form (`predict VIDEO [--json OUT] [--no-cache]`) also skips typer's parsing: the command
is called with its arguments (`direct_predict`; 0.1 s of CPU less while the workers pose), as
is a plain batch (`predict PATH... --out-dir OUT [--no-cache]`), whose workers wait idle for
their first video until the command has listed them. After
a command that has written everything (`cli.app.QUICK_EXIT`) the process leaves without the
interpreter's teardown of MediaPipe, PyAV and numpy (~0.1 s).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any


def _option(args: list[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` in args (the last one), else None."""
    value = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
    return value


def _looks_up(name: str, test: Any) -> bool:
    """`test(Path(name))` (Path.exists / Path.is_file), False where the name cannot be looked
    up (too long for the file system: they raise OSError); the CLI then says what is wrong."""
    try:
        return bool(test(Path(name)))
    except OSError:
        return False


def wants_pose_workers(args: list[str]) -> bool:
    """Whether `musclemap ARGS` is a predict that poses in worker processes: `predict` with an
    existing video or folder, no help, no `--pose-estimator` other than those the workers run
    (`estimator.POOLED`) and not `--workers 1`. A wrong guess costs only idle workers (closed
    at exit)."""
    if not args or args[0] != "predict" or "--help" in args or "-h" in args:
        return False
    if _option(args, "--pose-estimator") not in (None, "mediapipe", "mediapipe_g4"):
        return False
    workers = _option(args, "--workers")
    if workers is not None and (not workers.isdigit() or int(workers) == 1):
        return False
    return any(not a.startswith("-") and _looks_up(a, Path.exists) for a in args[1:])


def pose_estimator_of(args: list[str]) -> str:
    """The estimator predict will pose with (`estimator.predict_estimator` of `--ckpt` and
    `--pose-estimator`)."""
    from musclemap.pose.estimator import predict_estimator

    return predict_estimator(_option(args, "--ckpt"), _option(args, "--pose-estimator"))


def _start_pose_workers(args: list[str], name: str) -> int:
    """The shared pose pool the CLI will ask for (estimator `name`, `pose_estimator_of`),
    started now; its size (0: none started)."""
    try:
        from musclemap.pose.estimator import POOLED, pool_factory
        from musclemap.pose.parallel import cpu_budget, shared_pool

        cores = cpu_budget()  # the CLI caps --workers at the cores (with a warning) too
        workers = min(int(_option(args, "--workers") or 0) or cores, cores)
        if workers > 1 and name in POOLED:
            shared_pool(workers, pool_factory(name))
            return workers
    except Exception:  # noqa: BLE001 - an optimisation only: the command starts them itself
        pass
    return 0


# predict's options that are flags (no value follows them).
_FLAGS = ("--cache", "--no-cache")


def single_video(args: list[str]) -> Path | None:
    """The video of `predict VIDEO [OPTIONS]` when it is one existing file (a token that is not
    an option's value), else None."""
    found = []
    for i, arg in enumerate(args[1:], start=1):
        before = args[i - 1]
        is_value = before.startswith("-") and "=" not in before and before not in _FLAGS
        if not arg.startswith("-") and (i == 1 or not is_value):
            found.append(arg)
    if len(found) != 1 or not _looks_up(found[0], Path.is_file):
        return None
    return Path(found[0])


# Options after which predict's poses are not started early: another rate or model, a batch,
# or pictures (their names are checked by the CLI; nothing may be decoded before that).
_NOT_EARLY = ("--fps", "--ckpt", "--out-dir", "--body-map", "--timeline", "--overlay")


def outputs_ok(args: list[str], video: Path) -> bool:
    """Whether `--json`, if given, can be written and is not the video: the CLI's checks
    (`musclemap.outputs`), made here so that no frame is decoded for a command that will stop
    at its options."""
    from musclemap.errors import MusclemapError
    from musclemap.outputs import check_writable, refuse_inputs

    value = _option(args, "--json")
    if value is None:
        return True
    try:
        refuse_inputs(Path(value), "--json", [("input video", video)])
        check_writable(Path(value), "--json")
    except MusclemapError:
        return False
    return True


def _prefetch_poses(args: list[str], workers: int, estimator: str) -> None:
    """`predict VIDEO [--json OUT]` with the model's defaults: pose the video now with
    `estimator` on the pool of `workers` (`extract.prefetch_poses`), while the CLI and the
    model are imported and loaded."""
    video = single_video(args)
    if video is None or any(_option(args, o) for o in _NOT_EARLY) or not outputs_ok(args, video):
        return
    try:
        import json

        from musclemap.pose.extract import prefetch_poses
        from musclemap.predictor import WEIGHTS_DIR

        fps = float(json.loads((WEIGHTS_DIR / "default.json").read_text())["fps"])  # the model's
        prefetch_poses(
            video,
            fps=fps,
            workers=workers,
            use_cache="--no-cache" not in args,
            estimator=estimator,
        )
    except Exception:  # noqa: BLE001 - an optimisation only: the CLI poses (and reports) it
        return


def direct_predict(args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of the `predict` command for `predict VIDEO [--json OUT]
    [--no-cache | --cache]` (one existing video) or `predict PATH... --out-dir OUT
    [--no-cache | --cache]` (a batch of existing videos and folders), each option at most
    once, nothing else; else None. The console script then calls the command itself: typer's
    parsing coerces each of predict's 17 options through a pydantic TypeAdapter (importing
    pydantic: ~0.1 s of CPU, taken from the pose workers, which in a batch have no video yet).
    Anything else is parsed by typer."""
    if not args or args[0] != "predict":
        return None
    kwargs: dict[str, Any] = {}
    videos: list[str] = []
    rest = iter(args[1:])
    for arg in rest:
        if arg in ("--cache", "--no-cache") and "cache" not in kwargs:
            kwargs["cache"] = arg == "--cache"
            continue
        for option, key in (("--json", "json_path"), ("--out-dir", "out_dir")):
            if (arg == option or arg.startswith(option + "=")) and key not in kwargs:
                value = arg[len(option) + 1 :] if "=" in arg else next(rest, "")
                if not value or value.startswith("-"):
                    return None  # typer says what is wrong with it
                if key == "json_path" and value.endswith(("/", os.sep)):
                    return None  # a folder: typer refuses it
                kwargs[key] = Path(value)
                break
        else:
            if arg.startswith("-"):
                return None
            videos.append(arg)
    if "out_dir" in kwargs:
        if "json_path" in kwargs or not videos:
            return None
        if not all(_looks_up(v, Path.exists) for v in videos):
            return None  # the command's own check names what is missing
    elif len(videos) != 1 or not _looks_up(videos[0], Path.is_file):
        return None
    return {"videos": [Path(v) for v in videos], **kwargs}


def entry() -> None:
    """`musclemap.cli.main()`, with predict's pose workers started first and a quick exit
    (after a predict, also after its one-line error: nothing is left to write then either,
    and the workers started early need not be waited for)."""
    args = sys.argv[1:]
    started = False
    code: int | str | None = 0
    try:
        if wants_pose_workers(args):
            # One process per core already: numpy's OpenBLAS thread pool (started at import,
            # 0.08 s of CPU) only competes with the pose workers for small matrix products.
            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
            # Ctrl-C waits for the end of this step (~0.3 s): an interrupt inside MediaPipe's
            # binary import leaves it half made, and the CLI's own import then fails.
            pressed: list[int] = []
            previous = signal.signal(signal.SIGINT, lambda *_: pressed.append(1))
            try:
                estimator = pose_estimator_of(args)
                workers = _start_pose_workers(args, estimator)
                started = workers > 0
                if started:
                    _prefetch_poses(args, workers, estimator)
            finally:
                signal.signal(signal.SIGINT, previous)
            if pressed:
                raise KeyboardInterrupt
        from musclemap.cli import main
        from musclemap.cli.app import QUICK_EXIT

        QUICK_EXIT["console"] = True

        direct = direct_predict(args)
        if direct is not None:
            from musclemap.cli.predict import predict
    except KeyboardInterrupt:  # Ctrl-C before the CLI (which reports its own) was there
        print("interrupted", file=sys.stderr)
        code, quick = 130, started
    else:
        try:
            main(None if direct is None else lambda: predict(**direct))
        except SystemExit as exc:
            code = exc.code
        quick = QUICK_EXIT["ok"] or started
    if not quick or not isinstance(code, int | None):
        sys.exit(code)
    from musclemap.pose.parallel import close_shared_pool

    close_shared_pool(wait=False)  # the workers die with this process (PR_SET_PDEATHSIG)
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code or 0))


if __name__ == "__main__":
    entry()
