"""Optical flow: quantisation, direction on a moving pattern, cache files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from musclemap.data.flow import (
    FlowSettings,
    compute_flow,
    dequantize_flow,
    load_flow_file,
    quantize_flow,
    video_flow,
)
from musclemap.errors import VideoError


def test_quantisation_round_trip_and_clipping() -> None:
    flow = np.array([-30.0, -20.0, -1.0, 0.0, 3.3, 25.0], dtype=np.float32)
    back = dequantize_flow(quantize_flow(flow, 20.0), 20.0)
    np.testing.assert_allclose(back, np.clip(flow, -20, 20), atol=40 / 255)


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_follows_a_shifted_pattern(method: str) -> None:
    rng = np.random.default_rng(0)
    base = (rng.uniform(size=(72, 88)) * 255).astype(np.uint8)
    import cv2

    base = cv2.GaussianBlur(base, (7, 7), 2)
    frames = np.stack([base[:64, 8:72], base[:64, 5:69]])  # content moves 3 px to the right
    flow = compute_flow(frames, method=method)
    assert flow.shape == (1, 64, 64, 2)
    mid = flow[0, 16:48, 16:48]
    assert abs(float(np.median(mid[..., 0])) - 3.0) < 1.0
    assert abs(float(np.median(mid[..., 1]))) < 0.5


def test_video_flow_grid_and_cache(make_video: Callable[..., Path], tmp_path: Path) -> None:
    path = make_video(num_frames=18, size=(64, 48))
    settings = FlowSettings(sampling_rate=4, size=32, method="dis", bound=20.0)
    field = video_flow(path, settings=settings, cache_dir=tmp_path)
    assert field.starts.tolist() == [0, 4, 8, 12, 16]
    assert field.flow.shape == (5, 32, 43, 2) and field.flow.dtype == np.uint8
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1
    again = load_flow_file(files[0])
    assert np.array_equal(again.flow, field.flow) and again.settings == settings
    assert field.fields(np.array([0, 5, 17])).shape == (3, 32, 43, 2)
    other = video_flow(path, settings=FlowSettings(sampling_rate=2, size=32), cache_dir=tmp_path)
    assert len(other.starts) == 9 and len(list(tmp_path.glob("*.npz"))) == 2


def test_bad_files_raise_named_errors(tmp_path: Path) -> None:
    bad = tmp_path / "junk.npz"
    bad.write_bytes(b"junk")
    with pytest.raises(VideoError, match="junk.npz"):
        load_flow_file(bad)
    notvideo = tmp_path / "notvideo.mp4"
    notvideo.write_bytes(b"\x00" * 100)
    with pytest.raises(VideoError, match="notvideo.mp4"):
        video_flow(notvideo)
    with pytest.raises(ValueError, match="unknown flow method"):
        compute_flow(np.zeros((2, 8, 8), np.uint8), method="magic")
