"""The web app and the analysis blocks: the `exercise` field of the API (checked, passed to the
job, drawn on the body map) and the page showing exercise, repetition count and turning points
(a real browser, as tests/test_web_browser.py; skipped without Debian's chromium)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from musclemap.web.app import ServerSettings, create_app  # noqa: E402
from test_web_browser import (  # noqa: E402, F401 - fixtures
    ARTIFACTS,
    CHROMIUM,
    WavePredict,
    _upload_and_wait,
    browser,
    clip,
    live_server,
    server_url,
    wait_js,
)
from web_standins import post, wait_for  # noqa: E402


def test_api_exercise_field(tmp_path: Path, make_video: Any) -> None:
    data = make_video(num_frames=40).read_bytes()
    app = create_app(ServerSettings(data_dir=tmp_path / "data"), predict_fn=WavePredict())
    with TestClient(app, base_url="http://localhost") as client:
        refused = post(client, data, exercise="bak squatt")
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith("unknown exercise 'bak squatt'; closest: squat")
        assert post(client, data, exercise="x" * 101).status_code == 422
        assert not list(client.app.state.jobs.upload_dir.iterdir())  # refused uploads are gone
        job = post(client, data, exercise="back squat").json()["job_id"]
        body = wait_for(client, job)
        assert body["status"] == "done", body["error"]
        ex = body["result"]["exercise"]
        assert (ex["name"], ex["query"], ex["guessed"]) == ("squat", "back squat", False)
        assert set(ex["missing"]) == {"lower_back", "inner_thigh"}  # WavePredict's scores
        assert body["result"]["repetitions"]["count"] >= 1
        svg = client.get(body["links"]["body-map.svg"]).text
        assert 'class="mark-missing" data-group="inner_thigh"' in svg
        plain = wait_for(client, post(client, data).json()["job_id"])
        assert "exercise" not in plain["result"]  # unnamed: the stand-in does not analyse
        assert "mark-" not in client.get(plain["links"]["body-map.svg"]).text


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_page_exercise_field_and_repetitions(
    browser: Any,  # noqa: F811
    server_url: str,  # noqa: F811
    clip: Path,  # noqa: F811
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(server_url)
    wait_js(page, "document.getElementById('limits').textContent.includes('200 MB')")
    page.click("details.options summary")
    page.fill("#exercise", "back squat")
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#results:not([hidden])", timeout=120_000)
    page.wait_for_selector("#body-map svg", timeout=30_000)
    result = page.request.get(server_url + page.get_attribute("#dl-json", "href")).json()
    count = result["repetitions"]["count"]
    assert count >= 1 and result["exercise"]["query"] == "back squat"
    meta = page.text_content("#result-meta")
    assert "exercise: squat" in meta and f"{count} repetition" in meta
    assert "expected but weak: Lower back, Inner thigh" in meta  # WavePredict's scores
    assert page.locator("#body-map svg path.mark-missing").count() >= 2
    wait_js(page, "document.querySelectorAll('#timeline line.tl-rep').length > 0")
    assert page.locator("#timeline line.tl-rep").count() == count
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-exercise.png"), full_page=True)
    assert errors == []
    page.close()


class WorkoutPredict:
    """Picklable stand-in: whatever the upload, the real model and analysis on 8 s of generated
    squats followed by 8 s of generated curls (a video that changes exercise)."""

    def __call__(self, video: Path, *, fps: float, progress: Any, rotate: int | None) -> Any:
        import dataclasses

        import numpy as np

        from musclemap.analysis import analyse
        from musclemap.demo import synthetic_pose_sequence
        from musclemap.predictor import Predictor

        a = synthetic_pose_sequence("squat", seconds=8.0)
        b = synthetic_pose_sequence("biceps_curl", seconds=8.0)
        seq = dataclasses.replace(
            a, image=np.concatenate([a.image, b.image]), world=np.concatenate([a.world, b.world]),
            valid=np.concatenate([a.valid, b.valid]), times=np.arange(len(a) + len(b)) / a.fps,
        )  # fmt: skip
        prediction = Predictor.default().predict_poses(seq, video=str(video))
        analyse(prediction)
        return prediction


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_page_shows_the_parts_of_a_video_that_changes_exercise(
    browser: Any,  # noqa: F811
    clip: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    with live_server(tmp_path / "data", WorkoutPredict()) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        _upload_and_wait(page, url, clip)
        result = page.request.get(url + page.get_attribute("#dl-json", "href")).json()
        first, second = result["segments"]
        meta = page.text_content("#result-meta")
        counts = [part["repetitions"]["count"] for part in (first, second)]
        assert f"parts: {first['exercise']['name'].replace('_', ' ')} 0.0-" in meta
        assert f", {counts[0]} repetition" in meta and f"{second['start_s']:.1f}-" in meta
        notes = page.text_content("#notes")
        assert "The movement changes at" in notes
        wait_js(page, "document.querySelectorAll('#timeline line.tl-part').length === 1")
        assert page.locator("#timeline line.tl-rep").count() == sum(counts)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-parts.png"), full_page=True)
        assert errors == []
        page.close()
