"""The server's data directory (`musclemap.web.store`): jobs survive restarts, interrupted jobs
are failed with a reason, uploads never outlive a server, one server per directory."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from musclemap.errors import ConfigError
from musclemap.web.store import (
    DAMAGED,
    DB_NAME,
    INTERRUPTED,
    Job,
    JobStore,
    check_data_dir,
    default_data_dir,
)

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from musclemap.web.app import ServerSettings, create_app  # noqa: E402
from web_standins import FakePredict, fake_render  # noqa: E402


def _job(n: int, status: str = "queued", finished: float | None = None) -> Job:
    return Job(f"{n:032x}", f"clip{n}.mp4", None, status=status, finished=finished)  # type: ignore[arg-type]


def test_reopening_fails_unfinished_jobs_and_clears_uploads(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    done, running, queued = _job(1), _job(2), _job(3)
    for job in (done, running, queued):
        store.add(job)
    done.status, done.result, done.finished = "done", {"muscles": {"chest": 0.5}}, time.time()
    running.status, running.stage = "running", "estimating poses"
    store.update(done)
    store.update(running)
    (store.upload_dir / "a.mp4").write_bytes(b"x")
    (store.upload_dir / "b.part").write_bytes(b"x")
    for job in (done, running):
        (store.jobs_dir / job.id).mkdir()
        (store.jobs_dir / job.id / "body-map.svg").write_text("<svg/>")
    store.close()

    again = JobStore(tmp_path)
    assert again.interrupted == 2
    kept = again.get(done.id)
    assert kept is not None and kept.status == "done" and kept.result == {"muscles": {"chest": 0.5}}
    assert kept.progress == 1.0
    for job in (running, queued):
        lost = again.get(job.id)
        assert lost is not None and (lost.status, lost.error) == ("failed", INTERRUPTED)
        assert lost.finished is not None and lost.filename == job.filename
    assert list(again.upload_dir.iterdir()) == []
    assert [p.name for p in again.jobs_dir.iterdir()] == [done.id]  # half-drawn pictures gone
    assert again.counts() == {"queued": 0, "running": 0, "done": 1, "failed": 2}
    assert oct(tmp_path.stat().st_mode & 0o777) != "0o777"
    again.close()


def test_unknown_and_malformed_ids_are_none(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    store.add(_job(0xABC))
    assert store.get(f"{0xABC:032x}") is not None
    for job_id in ("0" * 32, "abc", "../" + "0" * 29, f"{0xABC:032x}' OR '1'='1", f"{0xABC:032X}"):
        assert store.get(job_id) is None, job_id
    store.close()


def test_prune_keeps_the_newest_finished_jobs(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    for n in range(5):
        job = _job(n, "done", finished=1000.0 + n)
        store.add(job)
        store.update(job)
        (store.jobs_dir / job.id).mkdir()
    store.add(_job(9))  # unfinished: never pruned
    assert sorted(store.prune(2)) == [f"{n:032x}" for n in range(3)]
    assert store.get(f"{4:032x}") is not None and store.get(f"{2:032x}") is None
    assert store.get(f"{9:032x}") is not None
    assert sorted(p.name for p in store.jobs_dir.iterdir()) == [f"{3:032x}", f"{4:032x}"]
    store.close()


def test_one_server_per_data_directory(tmp_path: Path) -> None:
    first = JobStore(tmp_path)
    with pytest.raises(ConfigError, match="another musclemap server uses the data directory"):
        JobStore(tmp_path)
    with pytest.raises(ConfigError, match="another musclemap server"):
        check_data_dir(tmp_path)
    first.close()
    JobStore(tmp_path).close()  # free again


def test_unusable_data_directory_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot use the data directory"):
        check_data_dir(blocker / "data")


def test_a_damaged_store_is_one_line_and_left_as_it_is(tmp_path: Path) -> None:
    junk = bytes(range(256)) * 20
    (tmp_path / DB_NAME).write_bytes(junk)
    for check in (check_data_dir, JobStore):
        with pytest.raises(ConfigError, match=r"job store .* is damaged .*move it aside"):
            check(tmp_path)
    assert (tmp_path / DB_NAME).read_bytes() == junk  # nothing replaced
    other = tmp_path / "other"
    other.mkdir()
    db = sqlite3.connect(other / DB_NAME)  # another program's table of the same name
    db.execute("CREATE TABLE jobs (id TEXT, status TEXT)")
    db.close()
    with pytest.raises(ConfigError, match="another layout .no created, error, filename, finished"):
        check_data_dir(other)
    JobStore(tmp_path / "new").close()  # the lock of a refused store was released: usable
    (tmp_path / DB_NAME).unlink()
    JobStore(tmp_path).close()


def test_a_damaged_result_fails_its_job_only(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    for n in (1, 2):
        store.add(_job(n))
        done = _job(n, "done", time.time())
        done.result = {"muscles": {}}
        store.update(done)
    store._db.execute("UPDATE jobs SET result='{not json' WHERE id=?", (f"{1:032x}",))
    broken, fine = store.get(f"{1:032x}"), store.get(f"{2:032x}")
    assert broken is not None and broken.status == "failed" and broken.error == DAMAGED
    assert fine is not None and fine.status == "done" and fine.result == {"muscles": {}}
    store.close()


def test_default_data_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSCLEMAP_DATA", "/srv/mm")
    assert default_data_dir() == Path("/srv/mm")
    monkeypatch.delenv("MUSCLEMAP_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", "/xdg")
    assert default_data_dir() == Path("/xdg/musclemap")
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_data_dir() == Path.home() / ".local" / "share" / "musclemap"


def test_a_restarted_app_answers_finished_and_interrupted_jobs(tmp_path: Path, make_video) -> None:
    clip = make_video(num_frames=12).read_bytes()
    gate = tmp_path / "gate"
    settings = ServerSettings(data_dir=tmp_path / "data", workers=1, queue_size=2)

    def client() -> TestClient:
        app = create_app(settings, predict_fn=FakePredict(gate), render_fn=fake_render)
        return TestClient(app, base_url="http://localhost")

    def post(c: TestClient, name: str) -> str:
        response = c.post("/api/predict", files={"file": (name, clip, "video/mp4")})
        assert response.status_code == 202, response.text
        return response.json()["job_id"]

    with client() as first:
        gate.touch()
        done = post(first, "squat.mp4")
        deadline = time.monotonic() + 60
        while first.get(f"/api/jobs/{done}").json()["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        gate.unlink()
        running, waiting = post(first, "a.mp4"), post(first, "b.mp4")
        while first.get(f"/api/jobs/{running}").json()["progress"]["stage"] != "estimating poses":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    with client() as second:
        body = second.get(f"/api/jobs/{done}").json()
        assert body["status"] == "done" and body["result"]["video"] == "squat.mp4"
        assert second.get(body["links"]["body-map.png"]).status_code == 200
        download = second.get(body["links"]["result.json"])
        assert download.json()["muscles"] == body["result"]["muscles"]
        for job in (running, waiting):
            body = second.get(f"/api/jobs/{job}").json()
            assert (body["status"], body["error"]) == ("failed", INTERRUPTED)
            assert body["links"] == {}
        assert second.get("/api/health").json()["jobs"] == {
            "queued": 0,
            "running": 0,
            "done": 1,
            "failed": 2,
        }
