"""Overlay video: decodes with the input's frame count and size; skeleton and body map appear."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from musclemap.errors import VideoError
from musclemap.skeleton import MEDIAPIPE33
from musclemap.taxonomy import GROUP_IDS
from musclemap.viz.overlay import write_overlay


@dataclass
class StandInPose:
    """The attributes of `PoseSequence` the overlay reads."""

    image: np.ndarray  # (T, 33, 3)
    valid: np.ndarray  # (T,)
    times: np.ndarray  # (T,)


def _pose(num: int, *, valid: bool = True, fps: float = 10.0) -> StandInPose:
    rng = np.random.default_rng(0)
    xy = 0.3 + 0.4 * rng.random((num, MEDIAPIPE33.num_joints, 2))
    image = np.concatenate([xy, np.ones((num, MEDIAPIPE33.num_joints, 1))], axis=-1)
    return StandInPose(image.astype(np.float32), np.full(num, valid), np.arange(num) / fps)


def _decode(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])


TIMELINE = [
    {"start_s": 0.0, "end_s": 1.0, "muscles": {g: 0.9 for g in GROUP_IDS}},
    {"start_s": 0.8, "end_s": 1.6, "muscles": {g: 0.1 for g in GROUP_IDS}},
]


def test_overlay_frames_size_skeleton_and_panel(
    make_video: Callable[..., Path], tmp_path: Path
) -> None:
    video = make_video(num_frames=16, size=(160, 120), fps=10)
    calls: list[tuple[float, str]] = []
    plain = write_overlay(video, tmp_path / "plain.mp4", _pose(16, valid=False), [])
    skeleton = write_overlay(video, tmp_path / "skeleton.mp4", _pose(16), [])
    full = write_overlay(
        video,
        tmp_path / "full.mp4",
        _pose(16),
        TIMELINE,
        progress=lambda f, m: calls.append((f, m)),
    )
    a, s, b = _decode(plain), _decode(skeleton), _decode(full)
    assert a.shape == s.shape == b.shape == (16, 120, 160, 3)
    assert calls and calls[-1] == (1.0, "overlay")
    drawn = np.abs(a.astype(int) - s.astype(int)).sum(-1) > 60  # (T, H, W)
    assert 0.005 < drawn.mean() < 0.5  # skeleton lines, not a repainted frame
    panel = np.abs(s.astype(int) - b.astype(int)).sum(-1) > 60
    assert panel[:, :30, :30].mean() > 0.5 and panel[:, 100:, 120:].mean() < 0.01
    # The live body map changes when the covering window changes (t = 0.3 s vs 1.5 s).
    corner = (slice(4, 40), slice(4, 40))
    assert np.abs(b[3][corner].astype(int) - b[15][corner].astype(int)).max() > 40


def test_large_input_is_scaled_to_even_size(
    make_video: Callable[..., Path], tmp_path: Path
) -> None:
    video = make_video(num_frames=4, size=(100, 60), fps=10)
    out = write_overlay(video, tmp_path / "o.mp4", _pose(4), TIMELINE, max_side=50)
    frames = _decode(out)
    assert frames.shape == (4, 30, 50, 3)


def test_bad_inputs(make_video: Callable[..., Path], tmp_path: Path) -> None:
    video = make_video(num_frames=4)
    with pytest.raises(ValueError, match=r"\.mp4"):
        write_overlay(video, tmp_path / "o.avi", _pose(4), [])
    bad = _pose(4)
    bad.image = bad.image[:, :17]
    with pytest.raises(ValueError, match=r"\(T, 33, 2 or 3\)"):
        write_overlay(video, tmp_path / "o.mp4", bad, [])
    with pytest.raises(ValueError, match="unknown muscle group"):
        write_overlay(
            video,
            tmp_path / "o.mp4",
            _pose(4),
            [{"start_s": 0, "end_s": 1, "muscles": {"pecs": 1.0}}],
        )
    with pytest.raises(VideoError, match="not found"):
        write_overlay(tmp_path / "missing.mp4", tmp_path / "o.mp4", _pose(4), [])
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("hello")
    with pytest.raises(VideoError):
        write_overlay(not_video, tmp_path / "o.mp4", _pose(4), [])
