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


class _StripeEstimator(_BrightnessEstimator):
    """The left wrist at the bright columns' centre (image x; world x = image x - 0.5), every
    other landmark at x 0.2: a pose that is not its own mirror image."""

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        bright = np.flatnonzero(frame_rgb.mean(axis=(0, 2)) > 200)
        x = (float(bright.mean()) + 0.5) / frame_rgb.shape[1]
        image = np.full((33, 3), 0.2, np.float32)
        image[:, 2] = 1.0
        image[15, 0] = x
        world = np.zeros((33, 4), np.float32)
        world[:, 0], world[:, 3] = image[:, 0] - 0.5, 1.0
        return PoseFrame(image=image, world=world)


def test_mirrored_photos_give_the_pose_mapped_back(tmp_path: Path) -> None:
    photo = np.full((40, 100, 3), 30, np.uint8)
    photo[:, 20:30] = 250  # a bright stripe left of centre
    Image.fromarray(photo).save(tmp_path / "0.png")
    est = _StripeEstimator()
    seq = extract_still_poses(tmp_path, estimator=est)
    mirrored = extract_still_poses(tmp_path, estimator=est, mirror=True)
    assert seq.image[0, 15, 0] == pytest.approx(0.25)
    # The estimator saw the stripe at 0.75 as the left wrist: mapped back it is the right
    # wrist at 0.25, and the left wrist is the mirror of the other landmarks (1 - 0.2).
    assert mirrored.image[0, 16, 0] == pytest.approx(0.25)
    assert mirrored.image[0, 15, 0] == pytest.approx(0.8)
    assert mirrored.world[0, 16, 0] == pytest.approx(-0.25)  # -(0.75 - 0.5)
    assert mirrored.world[0, 15, 0] == pytest.approx(0.3)  # -(0.2 - 0.5)
    assert mirrored.extra["mirrored"] is True and "mirrored" not in seq.extra


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


def test_data_poses_mirror_stills_adds_the_mirrored_poses_and_their_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from musclemap.cli import app
    from musclemap.cli import poses as poses_cli
    from musclemap.data.manifest import read_manifest

    monkeypatch.setattr(poses_cli, "_STILLS_ESTIMATOR", _StripeEstimator())
    # no video estimator is needed
    monkeypatch.setattr(poses_cli, "_ESTIMATOR", _BrightnessEstimator())
    folder = tmp_path / "images" / "Stripe"
    folder.mkdir(parents=True)
    photo = np.full((40, 100, 3), 30, np.uint8)
    photo[:, 20:30] = 250
    for name in ("0.png", "1.png"):
        Image.fromarray(photo).save(folder / name)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("clip,activity,labels\nimages/Stripe,stripe,biceps\n")
    out = tmp_path / "poses"
    argv = ["data", "poses", str(manifest), "--out", str(out), "--workers", "1"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert not (out / "Stripe.mirror.npz").exists()
    assert "skeleton_mirror" not in (out / "manifest.csv").read_text()
    # Again with --mirror: the photos' poses are kept, the mirror's added.
    result = CliRunner().invoke(app, [*argv, "--mirror"])
    assert result.exit_code == 0, result.output
    assert "0 extracted, 1 already done" not in result.output  # the mirror was missing
    mirrored = load_pose_file(out / "Stripe.mirror.npz")
    assert mirrored.extra["mirrored"] is True
    assert mirrored.image[0, 16, 0] == pytest.approx(0.25)
    row = read_manifest(out / "manifest.csv")[0]
    assert Path(row.extra["skeleton_mirror"]) == (out / "Stripe.mirror.npz").resolve()
    result = CliRunner().invoke(app, [*argv, "--mirror"])
    assert "0 extracted, 1 already done" in result.output  # both there: nothing redone
