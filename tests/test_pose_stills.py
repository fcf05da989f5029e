"""Still-image poses: photo order, bad input, MediaPipe still mode, `data poses` on photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from musclemap.data.pose_sequence import PoseFrame, load_pose_file
from musclemap.errors import DatasetError
from musclemap.pose.stills import extract_still_poses, image_files, read_image
from musclemap.skeleton import MEDIAPIPE33


def _photo(path: Path, value: int, size: tuple[int, int] = (64, 48)) -> Path:
    Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(path)
    return path


class _BrightnessEstimator:
    """A 'person' in photos brighter than 100, placed by brightness (no MediaPipe)."""

    name = "brightness"
    layout = MEDIAPIPE33

    def settings(self) -> dict[str, float]:
        return {"cut": 100.0}

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        level = float(frame_rgb.mean())
        if level < 100:
            return None
        world = np.zeros((33, 4), np.float32)
        world[:, 1] = level / 255.0
        world[:, 3] = 1.0
        return PoseFrame(image=np.full((33, 3), 0.5, np.float32), world=world)

    def close(self) -> None:
        pass


def test_photos_in_natural_order_and_bad_folders(tmp_path: Path) -> None:
    for name in ("10.jpg", "2.jpg", "0.jpg", "1.png"):
        _photo(tmp_path / name, 120)
    (tmp_path / "notes.txt").write_text("not a photo")
    assert [p.name for p in image_files(tmp_path)] == ["0.jpg", "1.png", "2.jpg", "10.jpg"]
    with pytest.raises(DatasetError, match="not found"):
        image_files(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no photos"):
        image_files(empty)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match="bad.jpg: not a readable image"):
        read_image(bad)


def test_one_frame_per_photo_with_missing_person(tmp_path: Path) -> None:
    _photo(tmp_path / "0.jpg", 200, size=(80, 60))
    _photo(tmp_path / "1.jpg", 20)
    seq = extract_still_poses(tmp_path, estimator=_BrightnessEstimator())
    assert len(seq) == 2 and (seq.width, seq.height) == (80, 60)
    assert seq.valid.tolist() == [True, False]
    assert np.isnan(seq.world[1]).all()
    assert seq.world[0, 0, 1] == pytest.approx(200 / 255, abs=0.02)
    assert seq.extra["stills"] == ["0.jpg", "1.jpg"] and seq.extra["estimator"] == "brightness"
    assert seq.times.tolist() == [0.0, 1.0]


def test_mediapipe_still_mode_finds_nobody_in_blank_photos(tmp_path: Path) -> None:
    pytest.importorskip("mediapipe")
    _photo(tmp_path / "0.jpg", 30)
    _photo(tmp_path / "1.jpg", 220)
    seq = extract_still_poses(tmp_path)
    assert len(seq) == 2 and not seq.valid.any()
    assert seq.extra["settings"]["static_image_mode"] is True
    assert seq.extra["settings"]["model_complexity"] == 1


def test_mediapipe_still_mode_on_a_real_key_pose_pair(shared_dir: Path) -> None:
    pytest.importorskip("mediapipe")
    folder = shared_dir / "data" / "keyposes" / "images" / "Barbell_Squat"
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    seq = extract_still_poses(folder)
    assert seq.valid.all()
    # World landmarks are metres around the hips: a person is about 1-2 m tall when standing.
    height = np.ptp(seq.world[..., 1], axis=1)
    assert 0.6 < float(height.max()) < 2.5


def test_data_poses_extracts_photo_folders(tmp_path: Path) -> None:
    pytest.importorskip("mediapipe")
    from typer.testing import CliRunner

    from musclemap.cli import app

    folder = tmp_path / "images" / "Blank_Exercise"
    folder.mkdir(parents=True)
    _photo(folder / "0.jpg", 40)
    _photo(folder / "1.jpg", 90)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("clip,activity,labels\nimages/Blank_Exercise,blank_exercise,biceps\n")
    out = tmp_path / "poses"
    result = CliRunner().invoke(app, ["data", "poses", str(manifest), "--out", str(out)])
    assert result.exit_code == 0, result.output
    seq = load_pose_file(out / "Blank_Exercise.npz")
    assert len(seq) == 2 and seq.extra["stills"] == ["0.jpg", "1.jpg"]
    assert "pose_coverage" in (out / "manifest.csv").read_text()
