"""Worker processes of `musclemap serve`: a crash fails only its own job; a SIGKILLed server
leaves no process and no upload behind, and its restart keeps the finished results.

Real spawned workers and a real server process on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from musclemap.web.app import ServerSettings, create_app  # noqa: E402
from web_standins import (  # noqa: E402
    CrashOn,
    ServerProcess,
    alive,
    descendants,
    fake_render,
    post,
    wait_for,
)


def _client(tmp_path: Path, predict: Any, workers: int) -> TestClient:
    settings = ServerSettings(data_dir=tmp_path / "data", workers=workers, queue_size=8)
    return TestClient(
        create_app(settings, predict_fn=predict, render_fn=fake_render), base_url="http://localhost"
    )


def _post(client: Any, data: bytes, name: str = "clip.mp4", rotate: str = "") -> str:
    response = post(client, data, name, **({"rotate": rotate} if rotate else {}))
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


@pytest.mark.parametrize("how", ["exit", "segv", "kill"])
def test_a_crash_fails_only_its_job_and_the_queue_goes_on(
    tmp_path: Path, make_video, how: str
) -> None:
    good = make_video(name="good.mp4", num_frames=12).read_bytes()
    bad = make_video(name="bad.mp4", num_frames=7).read_bytes()
    assert len(bad) != len(good)
    with _client(tmp_path, CrashOn(size=len(bad), how=how), workers=1) as client:
        before = _post(client, good, "before.mp4")
        crash = _post(client, bad, "bad.mp4")
        queued = [_post(client, good, f"after{i}.mp4") for i in range(3)]  # wait behind the crash
        first_worker = client.app.state.jobs.worker_pids()
        results = {job: wait_for(client, job) for job in (before, crash, *queued)}
        assert results[before]["status"] == "done"
        failed = results[crash]
        assert failed["status"] == "failed"
        expected = {
            "exit": "(exit status 3)",
            "segv": "(killed by SIGSEGV)",
            "kill": "(killed by SIGKILL; out of memory?)",
        }[how]
        assert failed["error"].startswith("the worker process died") and expected in failed["error"]
        assert [results[j]["status"] for j in queued] == ["done"] * 3  # the queue survived
        assert [results[j]["filename"] for j in queued] == [
            "after0.mp4",
            "after1.mp4",
            "after2.mp4",
        ]
        replaced = client.app.state.jobs.worker_pids()
        assert len(replaced) == 2 and replaced[0] != first_worker[0]  # a new worker (+ janitor)
        assert list(client.app.state.jobs.upload_dir.iterdir()) == []
        assert client.get(f"/api/jobs/{crash}/body-map.png").status_code == 409


def test_a_crash_leaves_the_job_running_in_the_other_worker_alone(
    tmp_path: Path, make_video
) -> None:
    gate = tmp_path / "gate"
    good = make_video(name="good.mp4", num_frames=12).read_bytes()
    bad = make_video(name="bad.mp4", num_frames=7).read_bytes()
    with _client(tmp_path, CrashOn(size=len(bad), how="segv", gate=gate), workers=2) as client:
        long = _post(client, good, "long.mp4")
        deadline = time.monotonic() + 60
        while client.get(f"/api/jobs/{long}").json()["progress"]["stage"] != "estimating poses":
            assert time.monotonic() < deadline, "the first job never started"
            time.sleep(0.05)
        crash = _post(client, bad, "bad.mp4")
        assert wait_for(client, crash)["status"] == "failed"
        assert client.get(f"/api/jobs/{long}").json()["status"] == "running"
        gate.touch()
        assert wait_for(client, long)["status"] == "done"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_sigkilled_server_leaves_nothing_and_restart_keeps_results(
    tmp_path: Path, make_video
) -> None:
    clip = make_video(num_frames=12).read_bytes()
    data, gate = tmp_path / "data", tmp_path / "gate"
    server = ServerProcess(data, gate=gate, workers=2)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            finished = _post(http, clip, "finished.mp4")
            gate.touch()
            assert wait_for(http, finished)["status"] == "done"
            gate.unlink()
            stuck = _post(http, clip, "stuck.mp4")  # waits at the gate in a worker
            queued = [_post(http, clip, f"queued{i}.mp4") for i in range(2)]
            deadline = time.monotonic() + 60
            while http.get(f"/api/jobs/{queued[0]}").json()["status"] != "running":
                assert time.monotonic() < deadline, "the second worker never took a job"
                time.sleep(0.05)
        children = descendants(server.proc.pid)
        # Two workers, the janitor and multiprocessing's resource tracker.
        assert len(children) >= 4, children
        assert len(list((data / "uploads").iterdir())) == 3
    finally:
        server.stop(signal.SIGKILL)
    deadline = time.monotonic() + 15
    while [pid for pid in children if alive(pid)] or list((data / "uploads").iterdir()):
        left = [pid for pid in children if alive(pid)]
        assert time.monotonic() < deadline, f"left behind: {left}, {list(data.iterdir())}"
        time.sleep(0.1)

    again = ServerProcess(data, workers=1)  # the data directory is free again
    try:
        with httpx.Client(base_url=again.url, timeout=10) as http:
            body = http.get(f"/api/jobs/{finished}").json()
            assert body["status"] == "done" and body["result"]["video"] == "finished.mp4"
            assert http.get(f"/api/jobs/{finished}/body-map.png").status_code == 200
            for job in (stuck, *queued):
                body = http.get(f"/api/jobs/{job}").json()
                assert (body["status"], body["error"]) == ("failed", "interrupted by restart")
            assert http.get(f"/api/jobs/{'0' * 32}").status_code == 404
    finally:
        output = again.stop()
    assert again.proc.returncode == 0, output


def test_a_store_failure_fails_one_job_and_the_slot_goes_on(tmp_path: Path, make_video) -> None:
    import sqlite3

    from web_standins import FakePredict

    clip = make_video(num_frames=12).read_bytes()
    with _client(tmp_path, FakePredict(), workers=1) as client:
        store = client.app.state.jobs.store
        update, calls = store.update, []

        def flaky(job: Any) -> None:
            calls.append(job.status)
            if len(calls) == 1:  # the first write (the job starting) fails
                raise sqlite3.OperationalError("disk I/O error")
            update(job)

        store.update = flaky
        broken, fine = _post(client, clip), _post(client, clip)
        body = wait_for(client, broken)
        assert body["status"] == "failed"
        assert body["error"] == "internal error: OperationalError: disk I/O error"
        assert wait_for(client, fine)["status"] == "done"
        assert list(client.app.state.jobs.upload_dir.iterdir()) == []


def test_rotate_reaches_the_predictor_and_replaces_the_orientation_check(
    tmp_path: Path, make_video
) -> None:
    """The server's own predict function (`PredictorJob`, scripted poses instead of MediaPipe)
    gets the job's `rotate` through the worker's pipe: the poses are turned as asked."""
    from web_standins import ScriptedPredictorJob

    clip = make_video(num_frames=40).read_bytes()
    with _client(tmp_path, ScriptedPredictorJob(), workers=1) as client:
        auto, turned = _post(client, clip, "auto.mp4"), _post(client, clip, "turned.mp4", "90")
        auto, turned = (wait_for(client, job, timeout=120) for job in (auto, turned))
    assert auto["status"] == turned["status"] == "done", (auto["error"], turned["error"])
    checked = auto["result"]["quality"]["orientation"]
    assert checked["state"] != "set"
    asked = turned["result"]["quality"]["orientation"]
    assert asked["state"] == "set"
    assert asked["rotated_deg"] == 270  # 90 clockwise, as counter-clockwise degrees
    assert asked["check"] == checked  # the check's own answer is kept
    notes = turned["result"]["notes"]
    assert "the poses were turned 90 degrees clockwise before scoring, as asked" in notes
    assert turned["result"]["muscles"] != auto["result"]["muscles"]  # the poses were turned
