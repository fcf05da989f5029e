"""Prediction jobs in worker processes, with progress shared through a multiprocessing Manager.

Inference (pose estimation and the model) takes seconds to minutes of CPU, so it runs in a
`ProcessPoolExecutor` with a *spawn* context (fork would copy the server's threads and locks);
the server thread only reads job states. Each worker loads the model once and keeps it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import shutil
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from musclemap.errors import MusclemapError

log = logging.getLogger(__name__)

Status = Literal["queued", "running", "done", "failed"]
ProgressFn = Callable[[float, str], None]
ARTIFACTS = ("body-map.svg", "body-map.png", "timeline.png")
PREDICT_SHARE = 0.9  # fraction of the progress bar for prediction; the rest is rendering


class PredictFn(Protocol):
    """Runs in a worker process; must be picklable (a module-level function or class instance)."""

    def __call__(
        self, video: Path, *, fps: float | None, progress: ProgressFn
    ) -> dict[str, Any]: ...


class RenderFn(Protocol):
    """Writes the `ARTIFACTS` pictures of a predict JSON into a directory (in the worker)."""

    def __call__(self, result: dict[str, Any], out_dir: Path) -> None: ...


_PREDICTORS: dict[tuple[str | None, str], Any] = {}  # per worker process: loaded models


@dataclass(frozen=True)
class PredictorJob:
    """The default predict function: `musclemap.predictor.Predictor`, loaded once per worker.

    The pose cache is off: poses of an uploaded video must not outlive the job.

    Attributes:
        checkpoint: A checkpoint path, or None for the packaged default model.
        device: Torch device for inference.
    """

    checkpoint: str | None = None
    device: str = "cpu"

    def __call__(self, video: Path, *, fps: float | None, progress: ProgressFn) -> dict[str, Any]:
        from musclemap.predictor import Predictor

        key = (self.checkpoint, self.device)
        if key not in _PREDICTORS:
            progress(0.0, "loading the model")
            _PREDICTORS[key] = (
                Predictor.from_checkpoint(
                    Path(self.checkpoint), device=self.device, use_cache=False
                )
                if self.checkpoint
                else Predictor.default(device=self.device, use_cache=False)
            )
        prediction = _PREDICTORS[key].predict(video, fps=fps, progress=progress)
        return prediction.to_dict()


def render_artifacts(result: dict[str, Any], out_dir: Path) -> None:
    """Draw the body map (SVG and PNG) and the timeline (PNG) with `musclemap.viz`."""
    from musclemap.viz.body_map import render_body_map
    from musclemap.viz.timeline import render_timeline

    render_body_map(result["muscles"], out_dir / "body-map.svg")
    render_body_map(result["muscles"], out_dir / "body-map.png")
    if result["timeline"]:  # a clip shorter than one window has no timeline to draw
        render_timeline(result["timeline"], out_dir / "timeline.png")


def run_job(
    job_id: str,
    video: Path,
    fps: float | None,
    out_dir: Path,
    predict_fn: PredictFn,
    render_fn: RenderFn,
    progress_map: Any,
) -> dict[str, Any]:
    """Worker entry point: predict, render the pictures, report progress in `progress_map`.

    Returns:
        {"ok": True, "result": predict JSON} or {"ok": False, "error": one-line message}. Errors
        are returned rather than raised so that nothing unpicklable crosses the process boundary.
    """
    last: list[tuple[float, str]] = [(-1.0, "")]

    def progress(fraction: float, stage: str) -> None:
        # Each update is an IPC round trip: skip ones the page could not show anyway.
        fraction = min(max(float(fraction), 0.0), 1.0) * PREDICT_SHARE
        if stage != last[0][1] or fraction - last[0][0] >= 0.01:
            last[0] = (fraction, stage)
            progress_map[job_id] = (fraction, stage)

    progress_map[job_id] = (0.0, "starting")
    try:
        result = predict_fn(video, fps=fps, progress=progress)
        progress_map[job_id] = (PREDICT_SHARE, "drawing the body map and timeline")
        out_dir.mkdir(parents=True, exist_ok=True)
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


@dataclass
class Job:
    """One upload's state, owned by the server process."""

    id: str
    filename: str
    upload: Path
    out_dir: Path
    fps: float | None
    status: Status = "queued"
    progress: float = 0.0
    stage: str = "waiting for a worker"
    error: str | None = None
    result: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None


class QueueFull(Exception):
    """The job queue is at its bound; the client should retry later (HTTP 429)."""


class JobManager:
    """Submits jobs to worker processes and answers status queries.

    Args:
        work_dir: Private directory; uploads live in work_dir/uploads, pictures in work_dir/jobs.
        predict_fn: Picklable predict function run in the workers.
        render_fn: Picklable renderer run in the workers after prediction.
        workers: Number of worker processes.
        queue_size: Jobs that may wait for a free worker; beyond `workers + queue_size`
            unfinished jobs, `submit` raises QueueFull.
        keep_finished: Finished jobs kept for queries; the oldest are forgotten (and their
            pictures deleted) beyond it.
    """

    def __init__(
        self,
        work_dir: Path,
        *,
        predict_fn: PredictFn,
        render_fn: RenderFn,
        workers: int = 1,
        queue_size: int = 8,
        keep_finished: int = 100,
    ) -> None:
        if workers < 1 or queue_size < 0:
            raise ValueError("workers must be >= 1 and queue_size >= 0")
        self.work_dir = work_dir
        self.upload_dir = work_dir / "uploads"
        self.jobs_dir = work_dir / "jobs"
        self.upload_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.jobs_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.predict_fn = predict_fn
        self.render_fn = render_fn
        self.workers = workers
        self.queue_size = queue_size
        self.keep_finished = keep_finished
        self._ctx = multiprocessing.get_context("spawn")
        self._manager = self._ctx.Manager()
        self._progress = self._manager.dict()
        self._executor = self._new_executor()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=self._ctx)

    @property
    def capacity(self) -> int:
        """Most unfinished jobs at once."""
        return self.workers + self.queue_size

    def pending(self) -> int:
        """Unfinished (queued or running) jobs."""
        with self._lock:
            return sum(job.status in ("queued", "running") for job in self._jobs.values())

    def check_capacity(self) -> None:
        """Raise QueueFull when a new job would exceed the bound (checked before an upload too)."""
        if self.pending() >= self.capacity:
            raise QueueFull(f"the server is busy ({self.capacity} jobs pending); retry later")

    def submit(self, upload: Path, *, filename: str, fps: float | None) -> Job:
        """Queue a prediction for a stored upload; the manager deletes the upload when done."""
        job_id = uuid.uuid4().hex
        job = Job(job_id, filename, upload, self.jobs_dir / job_id, fps)
        with self._lock:
            if sum(j.status in ("queued", "running") for j in self._jobs.values()) >= self.capacity:
                upload.unlink(missing_ok=True)
                raise QueueFull(f"the server is busy ({self.capacity} jobs pending); retry later")
            self._jobs[job_id] = job
        args = (job_id, upload, fps, job.out_dir, self.predict_fn, self.render_fn, self._progress)
        try:
            future = self._executor.submit(run_job, *args)
        except (BrokenProcessPool, RuntimeError):
            self._executor = self._new_executor()  # a worker died earlier: start afresh
            future = self._executor.submit(run_job, *args)
        future.add_done_callback(lambda f: self._finish(job, f))
        return job

    def _finish(self, job: Job, future: Future) -> None:
        try:
            outcome = future.result()
        except BrokenProcessPool:
            outcome = {"ok": False, "error": "the worker process died (out of memory?)"}
        except Exception as err:  # cancelled on shutdown, or an unpicklable result
            outcome = {"ok": False, "error": f"internal error: {type(err).__name__}: {err}"}
        if "trace" in outcome:
            log.error("job %s failed:\n%s", job.id, outcome["trace"])
        with self._lock:
            job.finished = time.time()
            if outcome["ok"]:
                # The client named its file; the server's private path is none of its business.
                result = dict(outcome["result"], video=job.filename)
                job.status, job.result, job.progress, job.stage = "done", result, 1.0, "done"
            else:
                error = outcome["error"].replace(str(job.upload), job.filename)
                job.status, job.error, job.stage = "failed", error, "failed"
            self._forget_old()
        with contextlib.suppress(OSError, EOFError):  # the manager is gone during shutdown
            self._progress.pop(job.id, None)
        job.upload.unlink(missing_ok=True)

    def _forget_old(self) -> None:
        finished = sorted(
            (j for j in self._jobs.values() if j.finished), key=lambda j: j.finished or 0.0
        )
        for old in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._jobs[old.id]
            shutil.rmtree(old.out_dir, ignore_errors=True)

    def get(self, job_id: str) -> Job | None:
        """The job with its latest progress, or None for an unknown id."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status in ("done", "failed"):
                return job
        try:
            reported = self._progress.get(job_id)
        except (OSError, EOFError):  # manager gone during shutdown
            reported = None
        if reported is not None:
            with self._lock:
                if job.status in ("queued", "running"):  # it may have finished meanwhile
                    job.status = "running"
                    job.progress, job.stage = reported
        return job

    def artifact(self, job: Job, name: str) -> Path:
        """Path of one of `ARTIFACTS` for a finished job."""
        if name not in ARTIFACTS:
            raise KeyError(name)
        return job.out_dir / name

    def counts(self) -> Mapping[str, int]:
        """Number of jobs by status."""
        with self._lock:
            out = dict.fromkeys(("queued", "running", "done", "failed"), 0)
            for job in self._jobs.values():
                out[job.status] += 1
            return out

    def shutdown(self) -> None:
        """Stop the workers (abandoning running jobs) and delete every upload and picture."""
        # Python 3.11 has no public way to stop a busy worker, and shutdown() forgets them; without
        # terminate(), stopping the server would wait for a minutes-long inference to end.
        processes = list((getattr(self._executor, "_processes", None) or {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)
        self._manager.shutdown()
        shutil.rmtree(self.work_dir, ignore_errors=True)
