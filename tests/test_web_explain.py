"""The explain endpoint: as a router over stored pose files, and mounted in the app (poses kept
with each finished job, the guard, restarts, pruning)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from musclemap.data.pose_sequence import load_pose_file, save_pose_file
from musclemap.demo import synthetic_pose_sequence
from musclemap.explain.occlusion import occlusion_attribution, predictor_scorer
from musclemap.taxonomy import GROUP_IDS
from musclemap.web.explain import explain_picture, explain_router
from test_explain_occlusion import KNEES, QUAD, KneePredictor
from web_standins import FakePredict, KneeScorer, PosePredict


@pytest.fixture
def client(tmp_path: Path) -> tuple[TestClient, list[int]]:
    save_pose_file(synthetic_pose_sequence(seconds=3.0), tmp_path / "job1" / "pose.npz")
    calls = [0]

    def pose_file_of(job_id: str) -> Path | None:
        return tmp_path / "job1" / "pose.npz" if job_id == "job1" else None

    def predictor() -> KneePredictor:
        calls[0] += 1
        return KneePredictor()

    app = FastAPI()
    app.include_router(explain_router(pose_file_of, predictor))
    return TestClient(app), calls


def test_png_of_a_job_computed_once(client: tuple[TestClient, list[int]], tmp_path: Path) -> None:
    http, calls = client
    r = http.get("/api/jobs/job1/explain.png", params={"group": "quadriceps"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "job1" / "explain-quadriceps.png").read_bytes() == r.content
    again = http.get("/api/jobs/job1/explain.png", params={"group": "quadriceps"})
    assert again.content == r.content and calls[0] == 1  # the second one is the cached file
    assert not list((tmp_path / "job1").glob(".*tmp*"))


def test_unknown_job_and_group(client: tuple[TestClient, list[int]]) -> None:
    http, _ = client
    r = http.get("/api/jobs/nope/explain.png", params={"group": "quadriceps"})
    assert r.status_code == 404 and "no stored poses" in r.json()["detail"]
    r = http.get("/api/jobs/job1/explain.png", params={"group": "quads"})
    assert r.status_code == 422 and all(g in r.json()["detail"] for g in GROUP_IDS)
    assert http.get("/api/jobs/job1/explain.png").status_code == 422  # group is required


# ------------------------------------------------------------------ mounted in the app

TOKEN = "s3cret-token-of-24-chars"


def _app_client(tmp_path: Path, predict: Any = None, **kw: Any) -> TestClient:
    from musclemap.web.app import ServerSettings, create_app
    from web_standins import PosePredict, fake_render

    settings = ServerSettings(data_dir=tmp_path / "data", **kw)
    app = create_app(settings, predict_fn=predict or PosePredict(), render_fn=fake_render)
    return TestClient(app, base_url="http://localhost")


def _finished(http: TestClient, clip: bytes, **headers: str) -> dict[str, Any]:
    r = http.post("/api/predict", files={"file": ("squat.mp4", clip, "video/mp4")}, headers=headers)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    deadline = time.monotonic() + 60
    while (body := http.get(f"/api/jobs/{job_id}", headers=headers).json())["status"] not in (
        "done",
        "failed",
    ):
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.05)
    assert body["status"] == "done", body
    return body


@pytest.fixture
def clip(make_video: Any) -> bytes:
    return make_video(num_frames=30).read_bytes()  # 3 s at 10 fps: 3 one-second spans


def test_job_explained_through_the_app(tmp_path: Path, clip: bytes) -> None:
    with _app_client(tmp_path) as http:
        job = _finished(http, clip)
        job_id, jobs = job["job_id"], http.app.state.jobs
        assert job["links"]["explain.png"] == f"/api/jobs/{job_id}/explain.png"
        assert job["result"]["video"] == "squat.mp4" and job["result"]["notes"] == []
        assert list(jobs.upload_dir.iterdir()) == []  # the upload is gone, the poses stay
        pose_file = jobs.jobs_dir / job_id / "pose.npz"
        stored = load_pose_file(pose_file)
        expected = synthetic_pose_sequence("squat", seconds=3.0)
        np.testing.assert_array_equal(stored.world, expected.world)
        np.testing.assert_array_equal(stored.valid, expected.valid)
        assert stored.source == ""  # the upload's server path is not kept

        r = http.get(job["links"]["explain.png"], params={"group": "quadriceps"})
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        # The picture is the one of this job's poses under the job's model.
        copy = tmp_path / "copy" / "pose.npz"
        copy.parent.mkdir()
        copy.write_bytes(pose_file.read_bytes())
        assert explain_picture(copy, "quadriceps", KneeScorer).read_bytes() == r.content
        assert (jobs.jobs_dir / job_id / "explain-quadriceps.png").read_bytes() == r.content
        # ...and its numbers are the knees' by construction.
        res = occlusion_attribution(predictor_scorer(KneeScorer(), QUAD), stored, QUAD)
        assert set(np.flatnonzero(res.joint)) == set(KNEES) and res.base > 0.1

        by_name = http.get(job["links"]["explain.png"], params={"group": "Quadriceps"})
        assert by_name.content == r.content  # names resolve to the cached id picture
        bad = http.get(job["links"]["explain.png"], params={"group": "quads"})
        assert bad.status_code == 422 and all(g in bad.json()["detail"] for g in GROUP_IDS)
        for unknown in ("0" * 32, "nope", "../" + job_id):
            r = http.get(f"/api/jobs/{unknown}/explain.png", params={"group": "quadriceps"})
            assert r.status_code == 404, unknown
        schema = http.get("/openapi.json").json()
        assert "/api/jobs/{job_id}/explain.png" in schema["paths"]


def test_unfinished_failed_and_pose_less_jobs(tmp_path: Path, clip: bytes) -> None:
    gate = tmp_path / "gate"
    with _app_client(tmp_path, predict=PosePredict(gate)) as http:
        queued = http.post("/api/predict", files={"file": ("a.mp4", clip, "video/mp4")})
        job_id = queued.json()["job_id"]
        r = http.get(f"/api/jobs/{job_id}/explain.png", params={"group": "quadriceps"})
        assert r.status_code == 409 and "not done" in r.json()["detail"]
        failed = http.post(
            "/api/predict", files={"file": ("b.mp4", b"\x00\x00\x00\x18ftypisom" + bytes(600))}
        ).json()["job_id"]
        gate.touch()
        deadline = time.monotonic() + 60
        while http.get(f"/api/jobs/{failed}").json()["status"] != "failed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert not (http.app.state.jobs.jobs_dir / failed).exists()
        r = http.get(f"/api/jobs/{failed}/explain.png", params={"group": "quadriceps"})
        assert r.status_code == 409
    # A predict function that returns only the JSON (no poses, no predictor): nothing to explain.
    with _app_client(tmp_path / "plain", predict=FakePredict()) as http:
        job = _finished(http, clip)
        assert "explain.png" not in job["links"]
        r = http.get(f"/api/jobs/{job['job_id']}/explain.png", params={"group": "quadriceps"})
        assert r.status_code == 404


def test_poses_survive_a_restart_and_go_with_the_job(tmp_path: Path, clip: bytes) -> None:
    with _app_client(tmp_path, keep_finished=1) as http:
        first = _finished(http, clip)
        url = first["links"]["explain.png"]
        picture = http.get(url, params={"group": "quadriceps"}).content
    with _app_client(tmp_path, keep_finished=1) as http:  # a new server on the same directory
        again = http.get(f"/api/jobs/{first['job_id']}").json()
        assert again["links"]["explain.png"] == url
        assert http.get(url, params={"group": "quadriceps"}).content == picture
        r = http.get(url, params={"group": "calves"})  # computed by the new server
        assert r.status_code == 200 and r.content != picture
        second = _finished(http, clip)  # keep_finished=1: the first job is forgotten
        folder = http.app.state.jobs.jobs_dir / first["job_id"]
        assert not folder.exists()  # pose.npz and the explain pictures with it
        assert http.get(url, params={"group": "quadriceps"}).status_code == 404
        assert http.get(second["links"]["explain.png"], params={"group": "quadriceps"}).is_success


def test_guard_applies_to_the_explain_endpoint(tmp_path: Path, clip: bytes) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with _app_client(tmp_path, token=TOKEN) as http:
        url = _finished(http, clip, **bearer)["links"]["explain.png"]
        params = {"group": "quadriceps"}
        assert http.get(url, params=params).status_code == 401
        wrong = {"Authorization": "Bearer wrong-token-of-24-chars"}
        assert http.get(url, params=params, headers=wrong).status_code == 401
        foreign = {**bearer, "Host": "evil.example"}
        assert http.get(url, params=params, headers=foreign).status_code == 400
        r = http.get(url, params=params, headers=bearer)
        assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert r.headers["x-content-type-options"] == "nosniff"
