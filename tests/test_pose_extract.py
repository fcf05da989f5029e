"""pose/extract.py: extract_poses (estimator, cache, the default from the registry) and fps_note."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musclemap.data.pose_sequence import load_pose_file
from musclemap.errors import VideoError
from musclemap.pose import estimator as registry
from musclemap.pose.cache import video_cache_path
from musclemap.pose.extract import extract_poses, fps_note
from musclemap.pose.sequential import DEFAULT_MAX_SIDE, pose_settings
from musclemap.skeleton import COCO17
from pose_standins import BrightnessEstimator, level_video


def test_extract_poses_uses_estimator_and_cache(tmp_path: Path) -> None:
    video = level_video(tmp_path / "v.mp4", [1, 2, 3, 4, 5, 6, 7, 8])
    est = BrightnessEstimator()
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
    assert seq.extra["estimator"] == "brightness" and seq.extra["track_jumps_s"] == []
    assert seq.extra["settings"] == {
        "offset": 0.0,
        "max_side": DEFAULT_MAX_SIDE,
        "scale": "whole factor, square pixels, one field, SDR light",
    }
    assert (seq.width, seq.height, seq.fps) == (48, 32, 10.0)
    assert seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    assert not est.closed  # a caller's estimator stays open

    again = extract_poses(video, fps=10.0, estimator=est, cache_dir=tmp_path / "cache")
    assert est.calls == 8  # served from the cache
    np.testing.assert_array_equal(again.image, seq.image)

    # Other settings or fps are different cache entries.
    extract_poses(video, fps=5.0, estimator=est, cache_dir=tmp_path / "cache")
    assert est.calls == 12
    extract_poses(video, fps=10.0, estimator=BrightnessEstimator(0.1), cache_dir=tmp_path / "cache")
    extract_poses(video, fps=10.0, estimator=est, cache_dir=tmp_path / "cache", max_side=16)
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 4


def test_a_renamed_video_is_served_from_the_cache(tmp_path: Path) -> None:
    video = level_video(tmp_path / "v.mp4", [1, 3, 5])
    est = BrightnessEstimator()
    extract_poses(video, estimator=est, cache_dir=tmp_path / "cache")
    moved = video.rename(tmp_path / "moved.mp4")
    seq = extract_poses(moved, estimator=est, cache_dir=tmp_path / "cache")
    assert est.calls == 3 and seq.source == str(moved)  # same bytes: the cached poses


def test_the_default_estimator_comes_from_the_registry_and_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[BrightnessEstimator] = []

    def factory() -> BrightnessEstimator:
        made.append(BrightnessEstimator())
        return made[-1]

    monkeypatch.setitem(registry.ESTIMATORS, registry.DEFAULT_ESTIMATOR, factory)
    video = level_video(tmp_path / "v.mp4", [1, 2, 3])
    seq = extract_poses(video, workers=1, use_cache=False)
    assert len(made) == 1 and made[0].calls == 3 and made[0].closed  # opened and closed here
    assert seq.valid.tolist() == [True, False, True]


def test_another_layout_flows_into_the_sequence_and_the_cache(tmp_path: Path) -> None:
    video = level_video(tmp_path / "v.mp4", [1, 3])
    est = BrightnessEstimator(layout=COCO17)
    seq = extract_poses(video, estimator=est, cache_dir=tmp_path / "cache")
    assert seq.layout is COCO17 and seq.image.shape == (2, 17, 3)
    settings = pose_settings(est, DEFAULT_MAX_SIDE)
    cached = video_cache_path(video, est.name, settings, 10.0, tmp_path / "cache")
    assert load_pose_file(cached).layout is COCO17


def test_a_damaged_cache_entry_is_recomputed(tmp_path: Path) -> None:
    video = level_video(tmp_path / "v.mp4", [1, 3])
    est = BrightnessEstimator()
    settings = pose_settings(est, DEFAULT_MAX_SIDE)
    cached = video_cache_path(video, est.name, settings, 10.0, tmp_path)
    cached.parent.mkdir(parents=True)
    cached.write_text("garbage")
    seq = extract_poses(video, estimator=est, cache_dir=tmp_path)
    assert est.calls == 2 and seq.valid.all()
    assert load_pose_file(cached).valid.all()


def test_a_bad_video_is_a_video_error(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="not found"):
        extract_poses(tmp_path / "none.mp4", estimator=BrightnessEstimator(), use_cache=False)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(VideoError, match="junk.mp4"):
        extract_poses(junk, estimator=BrightnessEstimator(), use_cache=False)


def test_fps_note() -> None:
    assert fps_note(10.0, 10.0) is None
    note = fps_note(5.0, 10.0)
    assert note is not None and "sampled at 5 fps" in note and "the 10 fps the model" in note


def test_workers_beyond_the_cores_become_the_cores() -> None:
    # Each worker is a MediaPipe process (~300 MB): Predictor.predict(workers=500) started 500.
    from musclemap.pose.extract import pose_workers
    from musclemap.pose.parallel import cpu_budget

    assert pose_workers(None) == cpu_budget() and pose_workers(1) == 1
    with pytest.warns(UserWarning, match="more than the"):
        assert pose_workers(500) == cpu_budget()
