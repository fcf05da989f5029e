"""A video as a research model's input: the evaluation's centre clip (the frames it shows are
the ones it says, by their timestamps), and for pose models the poses resampled to the window
with the time span they cover."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from musclemap.config import load_config
from musclemap.data.pose_sequence import save_pose_file
from musclemap.demo import synthetic_pose_sequence
from musclemap.explain import inputs as inputs_module
from musclemap.explain.inputs import research_inputs
from musclemap.skeleton import COCO17


def _config(tmp_path: Path, modality: str):
    path = tmp_path / "cfg.yaml"
    path.write_text(
        "model: {name: i3d_test}\n"
        f"data: {{modality: {modality}, clip_len: 4, sampling_rate: 2, crop_size: 32, "
        "test_scale: 32, window: 12, layout: coco17}\n"
    )
    return load_config(path, [])


def test_rgb_centre_clip_frames_match_their_timestamps(
    tmp_path: Path, make_video: Callable[..., Path]
) -> None:
    # make_video's blue channel is 16 * frame index: it tells which frames were taken.
    video = make_video(num_frames=16, size=(48, 40), fps=10)
    got = research_inputs(_config(tmp_path, "rgb"), video)
    assert got.video is not None and got.video.shape == (1, 3, 4, 32, 32)
    assert got.pose is None and got.other is None and got.layout is None
    assert got.frames is not None and got.frames.shape == (4, 32, 32, 3)
    assert got.frames.dtype == np.uint8
    index = np.round(got.times * 10).astype(int)
    assert (np.diff(index) == 2).all()  # sampling rate 2
    assert index[0] + index[-1] in (14, 15, 16)  # centred in 16 frames
    blue = got.frames[..., 2].reshape(4, -1).mean(1)
    np.testing.assert_allclose(blue, 16 * index, atol=6)  # yuv420p rounding
    assert got.fps == 5.0  # 10 fps video, every second frame


def test_pose_input_is_the_window_with_its_time_span(
    tmp_path: Path, make_video: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seq = synthetic_pose_sequence("squat", seconds=3.0)  # 30 frames at 10 fps
    seq.valid[:5] = False  # nobody in the first half second

    def pose_file(
        video: Path, fps: float, folder: Path, estimator: object
    ) -> tuple[Path, np.ndarray]:
        return save_pose_file(seq, folder / "pose.npz"), seq.times[seq.valid]

    monkeypatch.setattr(inputs_module, "_pose_file", pose_file)
    got = research_inputs(_config(tmp_path, "pose"), make_video(num_frames=8))
    assert got.video is None and got.frames is None and got.layout is COCO17
    assert got.pose is not None and got.pose.shape == (1, 1, 12, 17, 3)  # (1, M, W, V, C)
    # 13 edges of 12 resampled steps from the first seen frame to the end of the last one.
    np.testing.assert_allclose(got.times, np.linspace(0.5, 3.0, 13))
    assert got.fps == 10.0
