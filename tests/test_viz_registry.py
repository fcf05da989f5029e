"""The picture registry: every picture renders a real file of its media type from a Prediction
(generated poses, the packaged model) or its predict JSON, and the web offers exactly its files."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from musclemap.analysis import analyse
from musclemap.demo import synthetic_pose_sequence
from musclemap.predictor import Prediction, Predictor
from musclemap.viz.common import VizError
from musclemap.viz.registry import MEDIA_TYPES, PICTURES, body_map_marks, web_files

SECONDS, FPS = 6.0, 10.0


@pytest.fixture(scope="module")
def pred() -> Prediction:
    p = Predictor.default().predict_poses(
        synthetic_pose_sequence("squat", seconds=SECONDS, fps=FPS), video="generated-squat"
    )
    analyse(p, "squat")  # a named exercise: the body map gets its marks, the timeline its reps
    return p


def _media_type(data: bytes) -> str:
    """The media type a file's content shows (not its name)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    if ET.fromstring(data).tag.endswith("svg"):
        return "image/svg+xml"
    return "unknown"


def _check_file(path: Path, media: str, frames: int) -> None:
    data = path.read_bytes()
    assert data and _media_type(data) == media, path
    if media == "image/png":
        w, h = Image.open(io.BytesIO(data)).size
        assert w > 100 and h > 100
    if media == "video/mp4":
        import av

        with av.open(str(path)) as c:
            assert sum(1 for _ in c.decode(video=0)) == frames


def test_table() -> None:
    assert list(PICTURES) == ["body_map", "timeline", "overlay"]
    assert PICTURES["body_map"].suffixes == (".svg", ".png")
    assert PICTURES["overlay"].option == "--overlay" and PICTURES["overlay"].needs_video
    assert PICTURES["body_map"].option == "--body-map"
    assert all(s in MEDIA_TYPES for p in PICTURES.values() for s in p.suffixes)


def test_every_picture_renders_its_media_type(pred: Prediction, tmp_path: Path, make_video) -> None:
    frames = int(SECONDS * FPS)
    video = make_video(num_frames=frames, size=(128, 72), fps=int(FPS))
    written = 0
    for picture in PICTURES.values():
        assert picture.drawable(pred, video)
        for suffix in picture.suffixes:
            path = picture.render(pred, tmp_path / f"{picture.name}{suffix}", video=video)
            _check_file(path, picture.media_type(suffix), frames)
            written += 1
    assert written == 4


def test_json_renders_like_the_prediction(tmp_path: Path) -> None:
    """The web worker has only the predict JSON: it draws the same marks and reps."""
    pred = Predictor.default().predict_poses(
        synthetic_pose_sequence("squat", seconds=SECONDS, fps=FPS), video="generated-squat"
    )
    # Named wrongly on purpose, so there are marks to draw whatever the model gets right.
    analyse(pred, "bicep_curl")
    result = pred.to_dict()
    marks = body_map_marks(pred)
    assert marks == body_map_marks(result)
    assert marks["missing"] or marks["unexpected"]
    svg_json = PICTURES["body_map"].render(result, tmp_path / "j.svg").read_text()
    svg_pred = PICTURES["body_map"].render(pred, tmp_path / "p.svg").read_text()
    assert "mark-" in svg_json and svg_json.count("mark-") == svg_pred.count("mark-")
    a = np.asarray(Image.open(PICTURES["timeline"].render(result, tmp_path / "j.png")))
    b = np.asarray(Image.open(PICTURES["timeline"].render(pred, tmp_path / "p.png")))
    assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).mean() < 1.0


def test_guessed_exercise_draws_no_marks(pred: Prediction) -> None:
    result = pred.to_dict()
    result["exercise"] = {**result["exercise"], "guessed": True}
    assert body_map_marks(result) == {} and body_map_marks({}) == {}


def test_refusals(pred: Prediction, tmp_path: Path) -> None:
    with pytest.raises(VizError, match="must end in .svg or .png"):
        PICTURES["body_map"].render(pred, tmp_path / "map.jpg")
    with pytest.raises(VizError, match="needs a real video"):
        PICTURES["overlay"].render(pred, tmp_path / "o.mp4")
    assert not PICTURES["overlay"].drawable(pred.to_dict(), tmp_path / "v.mp4")
    assert not PICTURES["timeline"].drawable({**pred.to_dict(), "timeline": []})
    assert not (tmp_path / "map.jpg").exists() and not (tmp_path / "o.mp4").exists()


def test_web_offers_the_registry_files() -> None:
    pytest.importorskip("fastapi")
    from musclemap.web.app import _job_status, create_app
    from musclemap.web.jobs import ARTIFACTS
    from musclemap.web.store import Job

    files = web_files()
    assert files == {
        "body-map.png": "image/png",
        "body-map.svg": "image/svg+xml",
        "timeline.png": "image/png",
    }
    assert set(ARTIFACTS) == set(files)
    links = _job_status(Job(id="j1", filename="x.mp4", fps=None, status="done")).links
    assert links == {n: f"/api/jobs/j1/{n}" for n in (*files, "result.json")}
    paths = {getattr(r, "path", "") for r in create_app().routes}
    assert {p.rsplit("/", 1)[1] for p in paths if p.startswith("/api/jobs/{job_id}/")} >= set(files)
