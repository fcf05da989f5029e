"""pose/sequential.py: one video in this process with one tracker, through the cache."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from musclemap.data.pose_sequence import PoseSequence
from musclemap.pose.sequential import estimate_video, extract_sequential, finish
from pose_standins import BrightnessEstimator, level_video


def test_estimate_video_repeats_frames_without_re_estimating(tmp_path: Path) -> None:
    video = level_video(tmp_path / "v.mp4", [1, 3, 5, 7], fps=5)
    est = BrightnessEstimator()
    seq = estimate_video(video, est, fps=10.0, max_side=None)
    assert len(seq) == 7  # targets 0 .. 0.6 s at 10 fps from a 5 fps video
    assert est.calls == 4 and est.resets == 1  # one tracker, reset once for the new video
    assert seq.valid.all()
    # A repeated frame keeps its own time and pose (not a new estimate).
    np.testing.assert_allclose(seq.times, [0, 0, 0.2, 0.2, 0.4, 0.4, 0.6], atol=1e-6)
    np.testing.assert_array_equal(seq.image[0], seq.image[1])
    assert seq.image[2, 0, 0] == seq.image[3, 0, 0] != seq.image[0, 0, 0]


def test_on_frame_sees_every_sampled_frame_once_repeats_included(tmp_path: Path) -> None:
    video = level_video(tmp_path / "v.mp4", [1, 3, 5, 7], fps=5)
    seen: list[tuple[int, int, object]] = []
    seq = estimate_video(
        video, BrightnessEstimator(), fps=10.0, max_side=None,
        on_frame=lambda i, rgb, found: seen.append((i, int(rgb[0, 0, 0]), found)),
    )  # fmt: skip
    assert [i for i, _, _ in seen] == list(range(len(seq))) == list(range(7))
    # a repeat is the same picture and the same landmarks as the frame it repeats
    assert seen[0][1] == seen[1][1] and seen[0][2] is seen[1][2]
    np.testing.assert_array_equal(np.stack([f.image for _, _, f in seen]), seq.image)


def test_finish_adds_size_settings_and_tracking_checks() -> None:
    image = np.full((4, 33, 3), 0.5, np.float32)
    image[:, :, 1] = np.linspace(0.4, 0.6, 33)
    image[2:, :, 0] = 0.95  # the tracked box leaps across the frame: another person
    seq = PoseSequence(
        image, np.zeros((4, 33, 4), np.float32), np.ones(4, bool), np.arange(4) / 10, 10, 0, 0
    )
    seq.extra = {"seams": [{"at": 2}]}
    out = finish(seq, SimpleNamespace(width=640, height=480), "e", {"x": 1})
    assert (out.width, out.height) == (640, 480)
    assert out.extra == {
        "estimator": "e",
        "settings": {"x": 1},
        "track_jumps_s": [0.2],
        "seams": [{"at": 2}],
    }


def test_extract_sequential_goes_through_the_cache(tmp_path: Path) -> None:
    video = level_video(tmp_path / "v.mp4", [1, 2, 3])
    est = BrightnessEstimator()
    first = extract_sequential(video, est, fps=10.0, cache_dir=tmp_path / "cache")
    again = extract_sequential(video, est, fps=10.0, cache_dir=tmp_path / "cache")
    assert est.calls == 3 and not est.closed  # the second from the cache; the caller closes
    np.testing.assert_array_equal(again.image, first.image)
    assert first.valid.tolist() == [True, False, True] and (first.width, first.height) == (48, 32)
    extract_sequential(video, est, fps=10.0, use_cache=False)
    assert est.calls == 6
