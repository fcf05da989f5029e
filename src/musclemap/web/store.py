"""The server's data directory: jobs and results in SQLite, pictures and uploads beside it.

Layout of a data directory (mode 0700)::

    musclemap.sqlite3   one row per job: status, progress stage, error, result JSON
    server.lock         held (flock) by the one server using the directory
    jobs/<id>/          the pictures of a finished job
    uploads/            videos waiting for or in a worker; never kept across a restart

A server that stops, or is killed, with unfinished jobs leaves them `queued` or `running`; the next
server to open the directory marks them failed ("interrupted by restart") and deletes every upload.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from musclemap.errors import ConfigError

Status = Literal["queued", "running", "done", "failed"]
INTERRUPTED = "interrupted by restart"
DAMAGED = "its stored result is damaged"
DB_NAME = "musclemap.sqlite3"
LOCK_NAME = "server.lock"
_JOB_ID = re.compile(r"[0-9a-f]{32}")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    fps REAL,
    status TEXT NOT NULL,
    stage TEXT NOT NULL,
    error TEXT,
    result TEXT,
    created REAL NOT NULL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (finished);
"""


def default_data_dir() -> Path:
    """`$MUSCLEMAP_DATA`, else `$XDG_DATA_HOME/musclemap`, else `~/.local/share/musclemap`."""
    if root := os.environ.get("MUSCLEMAP_DATA"):
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share") / "musclemap"


@dataclass
class Job:
    """One upload's state as the server sees it."""

    id: str
    filename: str
    fps: float | None
    status: Status = "queued"
    progress: float = 0.0
    stage: str = "waiting for a worker"
    error: str | None = None
    result: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None


def _lock(path: Path) -> int:
    """Hold an exclusive flock on `path` (released when the process dies, however it dies)."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(
            f"another musclemap server uses the data directory {path.parent} "
            "(stop it, or pass another --data-dir)"
        ) from None
    return fd


def check_data_dir(root: Path) -> None:
    """Raise ConfigError (one line) when `root` cannot be made, written or is in use."""
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = root / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"cannot use the data directory {root}: {err.strerror}") from None
    os.close(_lock(root / LOCK_NAME))
    if (root / DB_NAME).exists():
        open_db(root / DB_NAME).close()  # a damaged store: one line before the server starts


_COLUMNS = {"id", "filename", "fps", "status", "stage", "error", "result", "created", "finished"}


def open_db(path: Path) -> sqlite3.Connection:
    """The job database at `path` (made when missing), its schema checked.

    Raises:
        ConfigError: The file is not an SQLite database, is damaged, or holds a `jobs` table
            of another layout (nothing in it is changed or replaced).
    """
    fix = "move it aside (a new one is made) or pass another --data-dir"
    db = None
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        columns = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
        if columns and (missing := sorted(_COLUMNS - columns)):
            db.close()
            raise ConfigError(
                f"the job store {path} has a jobs table of another layout "
                f"(no {', '.join(missing)}): {fix}"
            )
        db.executescript(_SCHEMA)
    except sqlite3.DatabaseError as err:
        if db is not None:
            db.close()
        raise ConfigError(f"the job store {path} is damaged ({err}): {fix}") from None
    return db


class JobStore:
    """Jobs of one server in `root/musclemap.sqlite3`; opening it recovers from a crash.

    Thread-safe: one connection, serialised by a lock (the writes are single short statements).

    Args:
        root: The data directory (made with mode 0700 when missing).

    Raises:
        ConfigError: The directory is not writable, or another server holds it.
    """

    def __init__(self, root: Path) -> None:
        check_data_dir(root)
        self.root = root
        self.upload_dir = root / "uploads"
        self.jobs_dir = root / "jobs"
        self._lock_fd = _lock(root / LOCK_NAME)
        for folder in (self.upload_dir, self.jobs_dir):
            folder.mkdir(mode=0o700, exist_ok=True)
        try:
            self._db = open_db(root / DB_NAME)
        except ConfigError:
            os.close(self._lock_fd)
            raise
        self._mutex = threading.Lock()
        self.interrupted = self._recover()

    def _recover(self) -> int:
        """Fail the jobs a previous server left unfinished; delete uploads and stray pictures."""
        with self._mutex:
            count = self._db.execute(
                "UPDATE jobs SET status='failed', stage='failed', error=?, finished=? "
                "WHERE status IN ('queued', 'running')",
                (INTERRUPTED, time.time()),
            ).rowcount
            done = {row[0] for row in self._db.execute("SELECT id FROM jobs WHERE status='done'")}
        clear_dir(self.upload_dir)
        for folder in self.jobs_dir.iterdir():
            if folder.name not in done:  # pictures of a job that never finished
                shutil.rmtree(folder, ignore_errors=True)
        return count

    def add(self, job: Job) -> None:
        with self._mutex:
            self._db.execute(
                "INSERT INTO jobs (id, filename, fps, status, stage, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (job.id, job.filename, job.fps, job.status, job.stage, job.created),
            )

    def update(self, job: Job) -> None:
        """Write the job's status, stage, error, result and finish time."""
        result = json.dumps(job.result) if job.result is not None else None
        with self._mutex:
            self._db.execute(
                "UPDATE jobs SET status=?, stage=?, error=?, result=?, finished=? WHERE id=?",
                (job.status, job.stage, job.error, result, job.finished, job.id),
            )

    def get(self, job_id: str) -> Job | None:
        """The stored job, or None (also for ids that are not 32 hex digits)."""
        if not _JOB_ID.fullmatch(job_id):
            return None
        with self._mutex:
            row = self._db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def counts(self) -> Mapping[str, int]:
        """Number of stored jobs by status."""
        out = dict.fromkeys(("queued", "running", "done", "failed"), 0)
        with self._mutex:
            for status, count in self._db.execute(
                "SELECT status, COUNT(*) FROM jobs GROUP BY status"
            ):
                out[status] = count
        return out

    def prune(self, keep: int) -> list[str]:
        """Forget all but the `keep` newest finished jobs (and delete their pictures)."""
        with self._mutex:
            old = [
                row[0]
                for row in self._db.execute(
                    "SELECT id FROM jobs WHERE finished IS NOT NULL "
                    "ORDER BY finished DESC LIMIT -1 OFFSET ?",
                    (keep,),
                )
            ]
            self._db.executemany("DELETE FROM jobs WHERE id=?", [(i,) for i in old])
        for job_id in old:
            shutil.rmtree(self.jobs_dir / job_id, ignore_errors=True)
        return old

    def close(self) -> None:
        """Close the database and release the directory for the next server."""
        with self._mutex:
            self._db.close()
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)


def clear_dir(folder: Path) -> None:
    """Delete every file in `folder` (uploads are flat: no subfolders)."""
    with contextlib.suppress(OSError):  # a folder that is gone holds nothing to delete
        for path in folder.iterdir():
            with contextlib.suppress(OSError):
                path.unlink()


def _job(row: sqlite3.Row) -> Job:
    result = _result(row["result"])
    status, stage, error = row["status"], row["stage"], row["error"]
    if status == "done" and result is None:  # its stored result was damaged: said, not a 500
        status, stage, error = "failed", "failed", DAMAGED
    return Job(
        id=row["id"],
        filename=row["filename"],
        fps=row["fps"],
        status=status,
        progress=1.0 if status == "done" else 0.0,
        stage=stage,
        error=error,
        result=result,
        created=row["created"],
        finished=row["finished"],
    )


def _result(text: str | None) -> dict[str, Any] | None:
    """A stored result; None where there is none or its JSON is damaged."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
