"""REST API of `musclemap serve`: happy path, every refusal, concurrency, cleanup.

Jobs run in real spawned worker processes; a small deterministic predict function stands in for
the model (it decodes the video with PyAV, so undecodable uploads fail as they would for real).
Restarts and persistence: test_web_store.py; Host/Origin/token: test_web_security.py; worker
crashes and a SIGKILLed server: test_web_jobs.py; the multipart parser itself:
test_web_uploads.py; the serve command: test_cli_serve.py.
"""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from musclemap.taxonomy import GROUP_IDS  # noqa: E402
from musclemap.web.app import ServerSettings, create_app  # noqa: E402
from web_standins import CrashPredict, FakePredict, fake_render, post, wait_for  # noqa: E402


def make_client(
    tmp_path: Path, *, gate: Path | None = None, predict: Any = None, **kw: Any
) -> TestClient:
    """A test client of an app whose data directory is `tmp_path/data` (Host: localhost)."""
    settings = ServerSettings(data_dir=tmp_path / "data", **kw)
    app = create_app(settings, predict_fn=predict or FakePredict(gate), render_fn=fake_render)
    return TestClient(app, base_url="http://localhost")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    with make_client(tmp_path_factory.mktemp("web"), workers=2) as c:
        yield c


@pytest.fixture
def clip(make_video) -> bytes:
    return make_video(num_frames=12).read_bytes()


def uploads_of(client: TestClient) -> list[Path]:
    return list(client.app.state.jobs.upload_dir.iterdir())


def test_happy_path(client: TestClient, clip: bytes) -> None:
    response = post(client, clip, name="my squat.mp4", fps="5")
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.json()["status_url"] == f"/api/jobs/{job_id}"
    body = wait_for(client, job_id)
    assert body["status"] == "done", body
    assert body["progress"] == {"fraction": 1.0, "stage": "done"}
    result = body["result"]
    assert set(result["muscles"]) == set(GROUP_IDS)
    assert result["video"] == "my squat.mp4"  # the client's name, never the server's path
    assert result["fps_used"] == 5.0  # the form field reached the predictor
    assert result["timeline"][1]["muscles"]["chest"] == 0.9
    for name, media in [
        ("body-map.png", "image/png"),
        ("body-map.svg", "image/svg+xml"),
        ("timeline.png", "image/png"),
    ]:
        picture = client.get(body["links"][name])
        assert picture.status_code == 200
        assert picture.headers["content-type"].startswith(media)
        assert picture.content
    download = client.get(body["links"]["result.json"])
    assert download.json()["muscles"] == result["muscles"]
    assert 'filename="my_squat.musclemap.json"' in download.headers["content-disposition"]
    assert uploads_of(client) == []  # the upload is deleted once the job ends


def test_undecodable_video_fails_with_message(client: TestClient) -> None:
    fake_mp4 = b"\x00\x00\x00\x18ftypisom" + b"garbage" * 200  # right magic, broken content
    response = post(client, fake_mp4)
    assert response.status_code == 202
    body = wait_for(client, response.json()["job_id"])
    assert body["status"] == "failed"
    assert body["error"].startswith("cannot decode the video")
    assert body["result"] is None and body["links"] == {}
    assert client.get(f"/api/jobs/{body['job_id']}/body-map.png").status_code == 409


def test_non_video_is_415(client: TestClient) -> None:
    response = post(client, b"just some text pretending to be a video" * 20, name="evil.mp4")
    assert response.status_code == 415
    assert "not a video" in response.json()["detail"]
    assert post(client, b"", name="empty.mp4").status_code == 415
    not_form = client.post(
        "/api/predict", content=b"\x00\x00\x00\x18ftypisom", headers={"content-type": "video/mp4"}
    )
    assert not_form.status_code == 415
    assert uploads_of(client) == []


def test_bad_form_is_rejected(client: TestClient, clip: bytes) -> None:
    missing = client.post("/api/predict", files={"video": ("a.mp4", clip, "video/mp4")})
    assert missing.status_code == 422
    assert "'file'" in missing.json()["detail"]
    for fps in ("fast", "0", "1000", "nan"):
        assert post(client, clip, fps=fps).status_code == 422, fps
    assert uploads_of(client) == []


def test_bad_rotate_is_422_and_nothing_is_queued(client: TestClient, clip: bytes) -> None:
    before = client.get("/api/health").json()["jobs"]
    for rotate in ("45", "-90", "90.0", "360", "sideways", "9" * 40):
        response = post(client, clip, rotate=rotate)
        assert response.status_code == 422, rotate
        want = f"rotate must be auto, 0, 90, 180 or 270 (degrees clockwise), got {rotate[:20]!r}"
        assert response.json()["detail"] == want
    assert client.get("/api/health").json()["jobs"] == before  # no job recorded
    assert client.app.state.jobs.pending() == 0
    assert uploads_of(client) == []
    schema = client.get("/openapi.json").json()["paths"]["/api/predict"]["post"]
    form = schema["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert form["rotate"]["enum"] == ["auto", "0", "90", "180", "270"]


def test_rotate_field_reaches_the_predict_function(client: TestClient, clip: bytes) -> None:
    """`auto` or empty: None (the orientation check decides); a number: its degrees."""
    sent = {"": None, "auto": None, " AUTO ": None, "0": 0, "90": 90, "180": 180, " 270 ": 270}
    jobs = {raw: post(client, clip, rotate=raw).json()["job_id"] for raw in sent}
    jobs["(none)"] = post(client, clip).json()["job_id"]
    got = {raw: wait_for(client, job)["result"]["rotate_used"] for raw, job in jobs.items()}
    assert got == {**sent, "(none)": None}


def test_unknown_job_is_404(client: TestClient) -> None:
    for job_id in ("0" * 32, "nope", "..%2F..%2Fetc%2Fpasswd"):
        assert client.get(f"/api/jobs/{job_id}").status_code == 404
        assert client.get(f"/api/jobs/{job_id}/timeline.png").status_code == 404
    assert client.get("/api/jobs/../../etc/passwd").status_code == 404


def test_concurrent_uploads(client: TestClient, make_video) -> None:
    clips = [make_video(name=f"c{i}.mp4", num_frames=8 + i).read_bytes() for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda i: post(client, clips[i], name=f"c{i}.mp4"), range(4)))
    assert [r.status_code for r in responses] == [202] * 4
    ids = [r.json()["job_id"] for r in responses]
    assert len(set(ids)) == 4
    results = [wait_for(client, job_id) for job_id in ids]
    assert [r["status"] for r in results] == ["done"] * 4
    # Each job saw its own upload: the fake's timeline length follows the clip's frame count.
    ends = [r["result"]["timeline"][-1]["end_s"] for r in results]
    assert ends == pytest.approx([0.8, 0.9, 1.0, 1.1])
    assert [r["filename"] for r in results] == [f"c{i}.mp4" for i in range(4)]


def test_health_groups_page_and_schema(client: TestClient) -> None:
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["max_upload_mb"] == 200.0
    assert set(health["jobs"]) == {"queued", "running", "done", "failed"}
    groups = client.get("/api/groups").json()
    assert [g["id"] for g in groups] == list(GROUP_IDS)
    page = client.get("/")
    assert page.status_code == 200 and 'id="drop"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200
    assert "http" not in page.text.replace("http://www.w3.org", "")  # no CDN or remote assets
    schema = client.get("/openapi.json").json()
    predict = schema["paths"]["/api/predict"]["post"]
    form = predict["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and "fps" in form["properties"]
    assert {"413", "415", "429"} <= set(predict["responses"])
    assert "/api/jobs/{job_id}/body-map.svg" in schema["paths"]
    assert "JobStatus" in schema["components"]["schemas"]


def test_upload_limit_is_413_even_without_content_length(tmp_path: Path) -> None:
    with make_client(tmp_path, max_upload_mb=0.01) as small:
        big = b"\x00\x00\x00\x18ftypisom" + bytes(20_000)
        assert post(small, big).status_code == 413
        boundary = "xyz"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"'
            f"\r\nContent-Type: video/mp4\r\n\r\n"
        ).encode()
        body = head + big + f"\r\n--{boundary}--\r\n".encode()

        def chunks():  # a streamed body carries no Content-Length: the count is what stops it
            stream = io.BytesIO(body)
            while chunk := stream.read(4096):
                yield chunk

        response = small.post(
            "/api/predict",
            content=chunks(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
        assert response.status_code == 413
        assert "limit" in response.json()["detail"]
        assert uploads_of(small) == []


def test_full_queue_is_429_and_uploads_removed_on_shutdown(tmp_path: Path, clip: bytes) -> None:
    gate = tmp_path / "gate"
    with make_client(tmp_path, gate=gate, workers=1, queue_size=1) as busy:
        upload_dir = busy.app.state.jobs.upload_dir
        first, second = post(busy, clip), post(busy, clip)
        assert (first.status_code, second.status_code) == (202, 202)
        third = post(busy, clip)
        assert third.status_code == 429 and "busy" in third.json()["detail"]
        assert third.headers["retry-after"]
        deadline = time.monotonic() + 30
        while (status := busy.get(f"/api/jobs/{first.json()['job_id']}").json())["progress"][
            "stage"
        ] != "estimating poses":  # the worker's progress report travels back
            assert time.monotonic() < deadline, "the first job never reported progress"
            time.sleep(0.05)
        assert status["status"] == "running"
        assert status["progress"]["fraction"] == pytest.approx(0.09)  # 0.1 of the predict share
        assert busy.get(f"/api/jobs/{second.json()['job_id']}").json()["status"] == "queued"
        assert busy.get(f"/api/jobs/{first.json()['job_id']}/body-map.svg").status_code == 409
        assert len(uploads_of(busy)) == 2  # waiting uploads stay until their job ends
        started = time.monotonic()
        assert busy.get("/api/health").status_code == 200
        assert time.monotonic() - started < 1.0  # inference runs elsewhere: the server answers
        gate.touch()
        assert wait_for(busy, first.json()["job_id"])["status"] == "done"
        assert post(busy, clip).status_code == 202  # room again
    assert list(upload_dir.iterdir()) == []  # uploads are deleted on shutdown


def test_dead_worker_fails_its_job_and_is_replaced(tmp_path: Path, clip: bytes) -> None:
    with make_client(tmp_path, predict=CrashPredict(tmp_path / "crashed"), workers=1) as crashy:
        body = wait_for(crashy, post(crashy, clip).json()["job_id"])
        assert body["status"] == "failed" and "worker process died" in body["error"]
        again = wait_for(crashy, post(crashy, clip).json()["job_id"])
        assert again["status"] == "done", again["error"]
        assert uploads_of(crashy) == []


@pytest.mark.slow
def test_real_predictor_on_a_real_clip(wild_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("mediapipe", reason="pose estimation needs the [pose] extra")
    clip = sorted((wild_dir / "clips").glob("*squat*.mp4"))[0]
    app = create_app(ServerSettings(data_dir=tmp_path))
    with TestClient(app, base_url="http://localhost") as real:
        response = post(real, clip.read_bytes(), name=clip.name)
        assert response.status_code == 202, response.text
        body = wait_for(real, response.json()["job_id"], timeout=300)
        assert body["status"] == "done", body["error"]
        result = body["result"]
        assert result["video"] == clip.name
        assert set(result["muscles"]) == set(GROUP_IDS)
        assert all(0.0 <= p <= 1.0 for p in result["muscles"].values())
        assert result["timeline"] and result["pose_coverage"] > 0.5
        svg = real.get(body["links"]["body-map.svg"]).text
        # Every map draws every group: the colour data must be this result's probability.
        want = f'data-group="quadriceps" data-prob="{result["muscles"]["quadriceps"]:.3f}"'
        assert svg.lstrip().startswith("<svg") and want in svg
        for name in ("body-map.png", "timeline.png"):
            assert real.get(body["links"][name]).content.startswith(b"\x89PNG")
        # The explain picture: the job's stored poses scored by the server's own Predictor.
        explained = real.get(body["links"]["explain.png"], params={"group": "quadriceps"})
        assert explained.status_code == 200, explained.text
        assert explained.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "ends before"),
        (b"hello world", "Expected boundary"),
        (bytes(range(256)) * 8, "Expected boundary"),
        (b"--xyz--\r\n", "no parts"),
        (b'--xyz\r\nContent-Disposition: form-data; name="fps"\r\n\r\n5', "ends before"),
        (b"--xyz\r\n\r\nabc\r\n--xyz--\r\n", "no form-data name"),
        (
            b"--xyz\r\nContent-Type: video/mp4\r\n\r\n\x00\x00\x00\x18ftypisom"
            + bytes(600)
            + b"\r\n--xyz--\r\n",
            "no form-data name",
        ),
        (  # a video part cut short: the client's upload broke off
            b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'
            b"\x00\x00\x00\x18ftypisom" + bytes(600),
            "ends before",
        ),
    ],
)
def test_garbage_multipart_is_400(client: TestClient, body: bytes, why: str) -> None:
    response = client.post(
        "/api/predict", content=body, headers={"content-type": "multipart/form-data; boundary=xyz"}
    )
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert detail.startswith("malformed multipart body") and why in detail
    assert uploads_of(client) == []


def test_whole_form_without_file_is_still_422(client: TestClient) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="fps"\r\n\r\n5\r\n--xyz--\r\n'
    response = client.post(
        "/api/predict", content=body, headers={"content-type": "multipart/form-data; boundary=xyz"}
    )
    assert response.status_code == 422 and "'file'" in response.json()["detail"]


def test_server_side_storage_failures_are_one_line(tmp_path: Path, clip: bytes) -> None:
    import sqlite3

    with make_client(tmp_path) as c:
        jobs = c.app.state.jobs
        jobs.upload_dir.rmdir()
        jobs.upload_dir.write_text("not a folder")  # as a vanished or full disk would
        response = post(c, clip)
        assert response.status_code == 507
        assert response.json()["detail"] == "the server cannot store the upload: Not a directory"
        jobs.upload_dir.unlink()
        jobs.upload_dir.mkdir()

        def full(job: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        jobs.store.add = full
        response = post(c, clip)
        assert response.status_code == 503
        assert "cannot record the job: database or disk is full" in response.json()["detail"]
        assert uploads_of(c) == []
        assert jobs.pending() == 0


def test_a_busy_port_is_one_line() -> None:
    from musclemap.errors import ConfigError
    from musclemap.web.app import bind

    first = bind("127.0.0.1", 0)
    port = first.getsockname()[1]
    try:
        with pytest.raises(
            ConfigError, match=rf"cannot listen on 127.0.0.1:{port}: Address already"
        ):
            bind("127.0.0.1", port)
    finally:
        first.close()


def test_a_mistyped_form_field_is_422_and_nothing_is_queued(
    client: TestClient, clip: bytes
) -> None:
    # `fsp=5` was dropped without a word: the job ran at the default rate.
    before = client.get("/api/health").json()["jobs"]
    response = client.post(
        "/api/predict", files={"file": ("a.mp4", clip, "video/mp4")}, data={"fsp": "5"}
    )
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "unknown form field 'fsp' (known: file, fps, exercise, rotate)"
    )
    assert client.get("/api/health").json()["jobs"] == before
    assert uploads_of(client) == []


def test_head_is_answered_as_get_without_a_body(client: TestClient) -> None:
    # HEAD / and HEAD /api/health were 405 (`curl -I`, uptime checks).
    for path in ("/", "/api/health", "/api/groups"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(got.content))
        assert head.headers["content-type"] == got.headers["content-type"]
    assert client.head("/api/jobs/nope").status_code == 404
    assert client.head("/api/health", headers={"host": "evil.com"}).status_code == 400  # guarded
    assert client.post("/api/health").status_code == 405  # only HEAD became GET
