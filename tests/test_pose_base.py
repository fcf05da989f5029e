"""Pose files, PoseSequence and extract_poses (with a scripted estimator and the cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musclemap.errors import DatasetError, VideoError
from musclemap.pose import PoseEstimator, PoseFrame, PoseSequence, extract_poses
from musclemap.pose.base import DEFAULT_MAX_SIDE, load_pose_file, save_pose_file
from musclemap.pose.cache import cache_key, cache_path, content_hash, default_cache_dir


class ScriptedEstimator:
    """Finds a 'person' in frames whose mean brightness is odd-numbered; counts its calls."""

    name = "scripted"

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset
        self.calls = 0
        self.resets = 0
        self.closed = False

    def settings(self) -> dict[str, Any]:
        return {"offset": self.offset}

    def reset(self) -> None:
        self.resets += 1

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        self.calls += 1
        level = int(round(frame_rgb.mean() / 10))
        if level % 2 == 0:
            return None
        image = np.full((33, 3), 0.5, np.float32)
        image[:, 0] = level / 100 + self.offset
        image[:, 1] = np.linspace(0.2, 0.8, 33)  # a person-sized box
        world = np.zeros((33, 4), np.float32)
        world[:, 3] = 1.0
        return PoseFrame(image=image, world=world)

    def close(self) -> None:
        self.closed = True


def _video(tmp_path: Path, levels: list[int], fps: int = 10, name: str = "v.mp4") -> Path:
    from conftest import write_video

    frames = np.stack([np.full((32, 48, 3), 10 * lv, np.uint8) for lv in levels])
    return write_video(tmp_path / name, frames, fps=fps)


def _sequence(t: int = 5) -> PoseSequence:
    rng = np.random.default_rng(0)
    frames = [
        None
        if i == 2
        else PoseFrame(rng.random((33, 3), np.float32), rng.random((33, 4), np.float32))
        for i in range(t)
    ]
    return PoseSequence.from_frames(
        frames, [i / 10 for i in range(t)], fps=10.0, width=64, height=48, source="x.mp4"
    )


def test_scripted_estimator_satisfies_protocol() -> None:
    assert isinstance(ScriptedEstimator(), PoseEstimator)


def test_from_frames_marks_missing_rows() -> None:
    seq = _sequence()
    assert seq.image.shape == (5, 33, 3) and seq.world.shape == (5, 33, 4)
    assert seq.valid.tolist() == [True, True, False, True, True]
    assert np.isnan(seq.image[2]).all() and np.isnan(seq.world[2]).all()
    assert seq.coverage == pytest.approx(0.8)
    assert seq.num_people == 1 and seq.layout == "mediapipe33"


def test_shape_mismatch_is_rejected() -> None:
    seq = _sequence()
    with pytest.raises(ValueError, match="world"):
        PoseSequence(seq.image, seq.world[:, :, :3], seq.valid, seq.times, 10.0, 64, 48)


def test_save_load_round_trip(tmp_path: Path) -> None:
    seq = _sequence()
    seq.extra = {"estimator": "x", "track_jumps_s": [0.3]}
    path = save_pose_file(seq, tmp_path / "sub" / "p.npz")
    back = load_pose_file(path)
    np.testing.assert_array_equal(back.image, seq.image)
    np.testing.assert_array_equal(back.world, seq.world)
    np.testing.assert_array_equal(back.valid, seq.valid)
    np.testing.assert_array_equal(back.times, seq.times)
    assert (back.fps, back.width, back.height, back.source) == (10.0, 64, 48, "x.mp4")
    assert back.extra == seq.extra
    assert back.image.dtype == np.float32 and back.times.dtype == np.float64
    assert [p.name for p in path.parent.iterdir()] == ["p.npz"]  # no temp file left


def test_load_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_pose_file(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_text("nope")
    with pytest.raises(DatasetError, match="bad.npz"):
        load_pose_file(bad)
    partial = tmp_path / "partial.npz"
    np.savez_compressed(partial, image=np.zeros((1, 33, 3)))
    with pytest.raises(DatasetError, match="partial.npz"):
        load_pose_file(partial)


def test_extract_poses_uses_estimator_and_cache(tmp_path: Path) -> None:
    video = _video(tmp_path, [1, 2, 3, 4, 5, 6, 7, 8])
    est = ScriptedEstimator()
    seen: list[float] = []
    seq = extract_poses(
        video,
        fps=10.0,
        estimator=est,
        cache_dir=tmp_path / "cache",
        progress=lambda f, _msg: seen.append(f),
    )
    assert len(seq) == 8 and est.calls == 8 and est.resets == 1
    assert seq.valid.tolist() == [True, False] * 4
    assert seq.image[0, 0, 0] == pytest.approx(0.01, abs=0.002)
    assert seq.extra["estimator"] == "scripted" and seq.extra["track_jumps_s"] == []
    assert (seq.width, seq.height, seq.fps) == (48, 32, 10.0)
    assert seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    assert not est.closed  # a caller's estimator stays open

    again = extract_poses(video, fps=10.0, estimator=est, cache_dir=tmp_path / "cache")
    assert est.calls == 8  # served from the cache
    np.testing.assert_array_equal(again.image, seq.image)

    # Other settings or fps are different cache entries.
    extract_poses(video, fps=5.0, estimator=est, cache_dir=tmp_path / "cache")
    assert est.calls == 12
    extract_poses(video, fps=10.0, estimator=ScriptedEstimator(0.1), cache_dir=tmp_path / "cache")
    extract_poses(video, fps=10.0, estimator=est, cache_dir=tmp_path / "cache", max_side=16)
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 4


def test_extract_poses_repeats_frames_without_re_estimating(tmp_path: Path) -> None:
    video = _video(tmp_path, [1, 3, 5, 7], fps=5)
    est = ScriptedEstimator()
    seq = extract_poses(video, fps=10.0, estimator=est, use_cache=False)
    assert len(seq) == 7  # targets 0 .. 0.6 s at 10 fps from a 5 fps video
    assert est.calls == 4
    assert seq.valid.all()


def test_extract_poses_damaged_cache_entry_is_recomputed(tmp_path: Path) -> None:
    video = _video(tmp_path, [1, 3])
    est = ScriptedEstimator()
    settings = {**est.settings(), "max_side": DEFAULT_MAX_SIDE}
    cached = cache_path(content_hash(video), est.name, settings, 10.0, tmp_path)
    cached.parent.mkdir(parents=True)
    cached.write_text("garbage")
    seq = extract_poses(video, estimator=est, cache_dir=tmp_path)
    assert est.calls == 2 and seq.valid.all()
    assert load_pose_file(cached).valid.all()


def test_extract_poses_bad_video(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="not found"):
        extract_poses(tmp_path / "none.mp4", estimator=ScriptedEstimator(), use_cache=False)


def test_cache_dir_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSCLEMAP_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "poses"
    monkeypatch.delenv("MUSCLEMAP_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "musclemap" / "poses"
    a = tmp_path / "a.bin"
    a.write_bytes(b"same bytes")
    b = tmp_path / "b.bin"
    b.write_bytes(b"same bytes")
    assert content_hash(a) == content_hash(b)
    k = cache_key(content_hash(a), "e", {"x": 1}, 10.0)
    assert k == cache_key(content_hash(b), "e", {"x": 1}, 10)
    assert k != cache_key(content_hash(a), "e", {"x": 2}, 10.0)
    assert k != cache_key(content_hash(a), "e", {"x": 1}, 5.0)
