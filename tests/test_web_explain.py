"""The explain endpoint as a separate router over stored pose files (no job machinery)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from musclemap.demo import synthetic_pose_sequence
from musclemap.pose.base import save_pose_file
from musclemap.taxonomy import GROUP_IDS
from musclemap.web.explain import explain_router
from test_explain_occlusion import KneePredictor


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
