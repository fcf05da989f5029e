"""Prediction jobs in worker processes that die with their server.

Inference (pose estimation and the model) takes seconds to minutes of CPU, so it runs in worker
processes started with *spawn* (fork would copy the server's threads and locks). Each worker is
owned by one dispatcher thread of the server and talks to it over its own pipe: the thread sends a
job, the worker sends progress and then the outcome. So a worker that crashes (segfault, the OOM
killer) is seen by its thread alone: only its job fails, a new worker takes the next job, and the
queued jobs (held by the server, not in a pool's shared queue) never notice. Each worker loads the
model once and keeps it.

Nothing outlives a killed server: workers ask the kernel to SIGKILL them when their parent dies
(Linux `prctl(PR_SET_PDEATHSIG)`) and also watch their parent's pid; a tiny janitor process
deletes the uploads when its pipe from the server closes, which happens however the server ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import math
import multiprocessing
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from musclemap.errors import MusclemapError
from musclemap.viz.registry import PICTURES, web_files
from musclemap.web.store import INTERRUPTED, Job, JobStore, clear_dir

if TYPE_CHECKING:
    from musclemap.predictor import Prediction, Predictor

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
ARTIFACTS = tuple(web_files())  # the registry's pictures that need no video, every format
POSE_FILE = "pose.npz"  # a finished job's pose sequence, for the explain endpoint
PREDICT_SHARE = 0.9  # fraction of the progress bar for prediction; the rest is rendering
WATCH_PARENT_S = 0.5  # how often a worker checks that its server still lives

__all__ = [
    "ARTIFACTS",
    "INTERRUPTED",
    "Job",
    "JobManager",
    "POSE_FILE",
    "QueueFull",
    "StoreUnavailable",
    "run_job",
]


class PredictFn(Protocol):
    """Runs in a worker process; must be picklable (a module-level function or class instance).

    Returns a `Prediction` (its `pose` is kept as the job's `pose.npz`, for the explain endpoint)
    or the predict JSON itself (the job then has no poses to explain). A predict function that
    also has a `predictor()` method gives the server the model whose scoring the explain
    endpoint explains (`PredictorJob.predictor`).

    `rotate`: degrees clockwise (0, 90, 180, 270) that make the picture upright, the client's
    `rotate` field, checked when the job was submitted; None: the orientation check decides
    (`Predictor.predict(..., rotate=)`).
    """

    def __call__(
        self, video: Path, *, fps: float | None, progress: ProgressFn, rotate: int | None
    ) -> Prediction | dict[str, Any]: ...


class RenderFn(Protocol):
    """Writes the `ARTIFACTS` pictures of a predict JSON into a directory (in the worker)."""

    def __call__(self, result: dict[str, Any], out_dir: Path) -> None: ...


_PREDICTORS: dict[tuple[str | None, str], Any] = {}  # per process: loaded models
_PREDICTORS_LOCK = threading.Lock()  # the server's explain requests load from several threads


@dataclass(frozen=True)
class PredictorJob:
    """The default predict function: `musclemap.predictor.Predictor`, loaded once per worker.

    The pose cache is off: poses of an uploaded video must not outlive the job (the job keeps
    its own copy, `pose.npz`, deleted with it).

    Attributes:
        checkpoint: A checkpoint path, or None for the packaged default model.
        device: Torch device for inference.
    """

    checkpoint: str | None = None
    device: str = "cpu"

    def predictor(self) -> Predictor:
        """The Predictor, loaded at the first call in this process and kept."""
        from musclemap.predictor import Predictor

        key = (self.checkpoint, self.device)
        with _PREDICTORS_LOCK:
            if key not in _PREDICTORS:
                _PREDICTORS[key] = (
                    Predictor.from_checkpoint(
                        Path(self.checkpoint), device=self.device, use_cache=False
                    )
                    if self.checkpoint
                    else Predictor.default(device=self.device, use_cache=False)
                )
            return _PREDICTORS[key]

    def __call__(
        self, video: Path, *, fps: float | None, progress: ProgressFn, rotate: int | None
    ) -> Prediction:
        if (self.checkpoint, self.device) not in _PREDICTORS:
            progress(0.0, "loading the model")
        prediction = self.predictor().predict(video, fps=fps, progress=progress, rotate=rotate)
        from musclemap.analysis import analyse

        analyse(prediction)  # repetitions, and the exercise if the model offers a guess
        return prediction


def render_artifacts(result: dict[str, Any], out_dir: Path) -> None:
    """Draw every `ARTIFACTS` picture of a predict JSON (`musclemap.viz.registry`); a clip
    shorter than one window has no timeline to draw."""
    for picture in PICTURES.values():
        if not picture.drawable(result):
            continue
        for name in picture.web_files():
            picture.render(result, out_dir / name)


def run_job(
    video: Path,
    fps: float | None,
    out_dir: Path,
    predict_fn: PredictFn,
    render_fn: RenderFn,
    report: ProgressFn,
    exercise: str | None = None,
    rotate: int | None = None,
) -> dict[str, Any]:
    """Predict, keep the pose sequence (`POSE_FILE`), render the pictures, report progress.

    `exercise`: the exercise the client named (checked when the job was submitted): the
    prediction is analysed for it (musclemap.analysis) instead of for the model's guess.
    `rotate`: the client's turn (degrees clockwise, checked when submitted), passed to
    `predict_fn` (None: the orientation check decides).

    Returns:
        {"ok": True, "result": predict JSON} or {"ok": False, "error": one-line message}. Errors
        are returned rather than raised so that nothing unpicklable crosses the process boundary.
    """
    last = [(-1.0, "")]

    def progress(fraction: float, stage: str) -> None:
        # Each update crosses the pipe: skip ones the page could not show anyway.
        fraction = float(fraction)
        fraction = min(max(fraction, 0.0), 1.0) * PREDICT_SHARE if math.isfinite(fraction) else 0.0
        if stage != last[0][1] or fraction - last[0][0] >= 0.01:
            last[0] = (fraction, stage)
            report(fraction, stage)

    report(0.0, "starting")
    try:
        predicted = predict_fn(video, fps=fps, progress=progress, rotate=rotate)
        report(PREDICT_SHARE, "drawing the body map and timeline")
        out_dir.mkdir(parents=True, exist_ok=True)
        if isinstance(predicted, dict):
            result = predicted
        else:
            if exercise is not None and predicted.pose is not None:
                from musclemap.analysis import analyse

                analyse(predicted, exercise)
            result = predicted.to_dict()
            if predicted.pose is not None:
                from musclemap.data.pose_sequence import save_pose_file

                # `source` names the upload's private path: the pose file keeps no trace of it.
                pose = dataclasses.replace(predicted.pose, source="")
                save_pose_file(pose, out_dir / POSE_FILE)
        render_fn(result, out_dir)
        return {"ok": True, "result": result}
    except MusclemapError as err:
        return {"ok": False, "error": str(err)}
    except Exception as err:  # a bug, not bad input: keep the trace in the server log
        return {
            "ok": False,
            "error": f"internal error: {type(err).__name__}: {err}",
            "trace": traceback.format_exc(),
        }


def _die_with_parent(parent_pid: int) -> None:
    """Make this process end when `parent_pid` does, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(0)

    def watch() -> None:  # other systems, and a belt to the braces above
        while os.getppid() == parent_pid:
            time.sleep(WATCH_PARENT_S)
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _worker_main(
    conn: Connection, parent_pid: int, predict_fn: PredictFn, render_fn: RenderFn
) -> None:
    """A worker process: run the jobs its dispatcher thread sends until told to stop."""
    _die_with_parent(parent_pid)
    # Ctrl+C in a terminal reaches the whole process group; the server stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def report(fraction: float, stage: str) -> None:
        conn.send(("progress", fraction, stage))

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        video, fps, out_dir, exercise, rotate = task
        outcome = run_job(video, fps, out_dir, predict_fn, render_fn, report, exercise, rotate)
        try:
            conn.send(("done", outcome))
        except Exception as err:  # an unpicklable result
            conn.send(("done", {"ok": False, "error": f"internal error: {err}"}))


_JANITOR = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
sys.stdin.buffer.read()  # returns when the server's end closes: it stopped or was killed
folder = sys.argv[1]
for name in os.listdir(folder):
    try:
        os.unlink(os.path.join(folder, name))
    except OSError:
        pass
"""


def start_janitor(upload_dir: Path) -> subprocess.Popen[bytes]:
    """A small process that deletes every upload once the server is gone, however it ends."""
    return subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _JANITOR, str(upload_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):  # gone already, or its folder is
        path.unlink()


def _death(process: multiprocessing.process.BaseProcess) -> str:
    code = process.exitcode
    how = f"exit status {code}"
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            how = f"killed by {signal.Signals(-code).name}"
        if code == -signal.SIGKILL:
            how += "; out of memory?"  # what the kernel's OOM killer sends
    return f"the worker process died while running this job ({how}); it was replaced"


class _Worker:
    """One worker process and the server's end of its pipe."""

    def __init__(self, ctx: Any, predict_fn: PredictFn, render_fn: RenderFn) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main,
            args=(child, os.getpid(), predict_fn, render_fn),
            name="musclemap-worker",
            daemon=True,
        )
        self.process.start()
        child.close()  # so that the server sees EOF when the worker dies

    def run(self, task: _Task, progress: ProgressFn) -> tuple[dict[str, Any], bool]:
        """Run one job; returns (outcome, whether the worker is still usable)."""
        try:
            self.conn.send((task.upload, task.job.fps, task.out_dir, task.exercise, task.rotate))
        except OSError:
            self.process.join(timeout=5)
            return {"ok": False, "error": _death(self.process)}, False
        while True:
            ready = wait([self.conn, self.process.sentinel])
            if self.conn in ready or self.conn.poll():  # read what it sent before it ended
                try:
                    kind, *payload = self.conn.recv()
                except (EOFError, OSError):
                    self.process.join(timeout=5)
                    return {"ok": False, "error": _death(self.process)}, False
                if kind == "progress":
                    progress(*payload)
                    continue
                return payload[0], True
            self.process.join(timeout=5)
            return {"ok": False, "error": _death(self.process)}, False

    def stop(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=timeout)
        self.conn.close()


@dataclass
class _Task:
    job: Job
    upload: Path
    out_dir: Path
    # Named by the client; not stored (an unfinished job is failed, never rerun): the result
    # says what was done (its `exercise` block, `quality.orientation` state `set`).
    exercise: str | None = None
    rotate: int | None = None  # degrees clockwise; None: the orientation check decides


class QueueFull(Exception):
    """The job queue is at its bound; the client should retry later (HTTP 429)."""


class StoreUnavailable(Exception):
    """The data directory cannot take the job (disk full, database locked): HTTP 503."""


class JobManager:
    """Runs jobs in worker processes, keeps them in the data directory, answers queries.

    Args:
        data_dir: The server's data directory (see `musclemap.web.store`); opening it fails the
            jobs a previous server left unfinished and deletes its uploads.
        predict_fn: Picklable predict function run in the workers.
        render_fn: Picklable renderer run in the workers after prediction.
        workers: Number of worker processes (started at their first job, replaced when they die).
        queue_size: Jobs that may wait for a free worker; beyond `workers + queue_size`
            unfinished jobs, `submit` raises QueueFull.
        keep_finished: Finished jobs kept for queries; the oldest are forgotten (and their
            pictures deleted) beyond it.

    Raises:
        ConfigError: The data directory is unusable or another server holds it.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        predict_fn: PredictFn,
        render_fn: RenderFn,
        workers: int = 1,
        queue_size: int = 8,
        keep_finished: int = 100,
    ) -> None:
        if workers < 1 or queue_size < 0 or keep_finished < 0:
            raise ValueError("workers must be >= 1, queue_size and keep_finished >= 0")
        self.store = JobStore(data_dir)
        if self.store.interrupted:
            log.warning(
                "%d unfinished jobs of the last run are marked failed (%s)",
                self.store.interrupted,
                INTERRUPTED,
            )
        self.data_dir = data_dir
        self.upload_dir = self.store.upload_dir
        self.jobs_dir = self.store.jobs_dir
        self.predict_fn = predict_fn
        self.render_fn = render_fn
        self.workers = workers
        self.queue_size = queue_size
        self.keep_finished = keep_finished
        self._ctx = multiprocessing.get_context("spawn")
        self._active: dict[str, _Task] = {}
        self._queue: queue.Queue[_Task | None] = queue.Queue()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._processes: dict[int, _Worker] = {}
        self._janitor = start_janitor(self.upload_dir)
        # Worker processes are created by these long-lived threads only: PR_SET_PDEATHSIG fires
        # when the *thread* that started a child ends, so a short-lived one would kill its worker.
        self._threads = [
            threading.Thread(target=self._dispatch, name=f"musclemap-slot-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def capacity(self) -> int:
        """Most unfinished jobs at once."""
        return self.workers + self.queue_size

    def pending(self) -> int:
        """Unfinished (queued or running) jobs."""
        with self._lock:
            return len(self._active)

    def check_capacity(self) -> None:
        """Raise QueueFull when a new job would exceed the bound (checked before an upload too)."""
        if self.pending() >= self.capacity:
            raise QueueFull(f"the server is busy ({self.capacity} jobs pending); retry later")

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (and the janitor), for tests and the load benchmark."""
        with self._lock:
            pids = [w.process.pid for w in self._processes.values() if w.process.is_alive()]
        return [pid for pid in pids if pid is not None] + [self._janitor.pid]

    def submit(
        self,
        upload: Path,
        *,
        filename: str,
        fps: float | None,
        exercise: str | None = None,
        rotate: int | None = None,
    ) -> Job:
        """Queue a prediction for a stored upload; the manager deletes the upload when done.

        `exercise` and `rotate` are the client's checked fields (see `run_job`)."""
        job = Job(uuid.uuid4().hex, filename, fps)
        task = _Task(job, upload, self.jobs_dir / job.id, exercise, rotate)
        with self._lock:
            if len(self._active) >= self.capacity or self._stopping.is_set():
                _remove(upload)
                raise QueueFull(f"the server is busy ({self.capacity} jobs pending); retry later")
            try:
                self.store.add(job)
            except sqlite3.Error as err:
                _remove(upload)
                raise StoreUnavailable(f"the server cannot record the job: {err}") from None
            self._active[job.id] = task
        self._queue.put(task)
        return dataclasses.replace(job)

    def _dispatch(self) -> None:
        """One worker slot: take queued jobs one by one, (re)starting the worker as needed."""
        worker: _Worker | None = None
        while (task := self._queue.get()) is not None and not self._stopping.is_set():
            try:
                if worker is None or not worker.process.is_alive():
                    worker = self._start_worker()
                with self._lock:
                    task.job.status, task.job.stage = "running", "starting"
                    self.store.update(task.job)
                outcome, alive = worker.run(task, functools.partial(self._progress, task.job))
                if self._stopping.is_set():
                    break  # the shutdown killed it: the job stays unfinished, marked there
                if not alive:
                    self._forget_worker(worker)
                    worker = None
                self._finish(task, outcome)
            except Exception as err:  # the store or a spawn failed: fail this job, keep the slot
                log.exception("job %s: the server failed", task.job.id)
                self._abandon(task, f"internal error: {type(err).__name__}: {err}")
        if worker is not None:
            worker.stop()
            self._forget_worker(worker)

    def _abandon(self, task: _Task, error: str) -> None:
        """Fail a job the server itself could not run or record (best effort, never raises)."""
        with self._lock:
            task.job.status, task.job.stage, task.job.error = "failed", "failed", error
            task.job.finished = time.time()
            with contextlib.suppress(sqlite3.Error):
                self.store.update(task.job)
            self._active.pop(task.job.id, None)
        _remove(task.upload)

    def _start_worker(self) -> _Worker:
        worker = _Worker(self._ctx, self.predict_fn, self.render_fn)
        with self._lock:
            self._processes[id(worker)] = worker
        return worker

    def _forget_worker(self, worker: _Worker) -> None:
        with self._lock:
            self._processes.pop(id(worker), None)

    def _progress(self, job: Job, fraction: float, stage: str) -> None:
        with self._lock:
            job.progress, job.stage = fraction, stage

    def _finish(self, task: _Task, outcome: dict[str, Any]) -> None:
        job = task.job
        if "trace" in outcome:
            log.error("job %s failed:\n%s", job.id, outcome["trace"])
        with self._lock:
            job.finished = time.time()
            if outcome["ok"]:
                # The client named its file; the server's private path is none of its business.
                result = dict(outcome["result"], video=job.filename)
                job.status, job.result, job.progress, job.stage = "done", result, 1.0, "done"
            else:
                error = outcome["error"].replace(str(task.upload), job.filename)
                job.status, job.error, job.stage = "failed", error, "failed"
            self.store.update(job)  # stored before it leaves memory: a query always finds it
            del self._active[job.id]
        _remove(task.upload)
        if not outcome["ok"]:
            shutil.rmtree(task.out_dir, ignore_errors=True)
        self.store.prune(self.keep_finished)

    def get(self, job_id: str) -> Job | None:
        """A copy of the job with its latest progress, or None for an unknown id."""
        with self._lock:
            task = self._active.get(job_id)
            if task is not None:
                return dataclasses.replace(task.job)
        return self.store.get(job_id)

    def artifact(self, job: Job, name: str) -> Path:
        """Path of one of `ARTIFACTS` (or `POSE_FILE`) for a finished job."""
        if name not in (*ARTIFACTS, POSE_FILE):
            raise KeyError(name)
        return self.jobs_dir / job.id / name

    def counts(self) -> Mapping[str, int]:
        """Number of jobs by status."""
        return self.store.counts()

    def shutdown(self) -> None:
        """Stop the workers (abandoning running jobs), delete every upload, close the store.

        Unfinished jobs are marked failed ("interrupted by restart"); results stay.
        """
        self._stopping.set()
        for _ in self._threads:
            self._queue.put(None)
        with self._lock:
            workers = list(self._processes.values())
        for worker in workers:  # a running inference may take minutes: do not wait for it
            worker.process.terminate()
        for thread in self._threads:
            thread.join(timeout=10)
        for worker in workers:
            worker.stop(timeout=2)
        with self._lock:
            for task in self._active.values():
                task.job.status, task.job.stage, task.job.error = "failed", "failed", INTERRUPTED
                task.job.finished = time.time()
                self.store.update(task.job)
                shutil.rmtree(task.out_dir, ignore_errors=True)
            self._active.clear()
        clear_dir(self.upload_dir)
        if self._janitor.stdin is not None:
            self._janitor.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._janitor.wait(timeout=5)
        self.store.close()
