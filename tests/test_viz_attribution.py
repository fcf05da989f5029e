"""Attribution pictures: joint figure + heat map, Grad-CAM blending, videos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from musclemap.skeleton import COCO17, MEDIAPIPE33
from musclemap.viz.attribution import (
    overlay_cam,
    render_cam_frames,
    render_joint_attribution,
    signed_colors,
    write_cam_video,
    write_joint_overlay,
)
from musclemap.viz.body_map import VizError


def test_overlay_keeps_unexplained_pixels_and_paints_explained_ones() -> None:
    frames = np.full((2, 4, 4, 3), 100, dtype=np.uint8)
    cam = np.zeros((2, 4, 4))
    cam[1, 0, 0] = 1.0
    out = overlay_cam(frames, cam, alpha=0.6)
    assert (out[0] == 100).all() and (out[1, 1:, :] == 100).all()
    # jet(1.0) is dark red (127, 0, 0): 0.4 * 100 + 0.6 * jet.
    np.testing.assert_allclose(out[1, 0, 0], [40 + 0.6 * 127.5, 40, 40], atol=1.5)
    with pytest.raises(VizError, match="differ"):
        overlay_cam(frames, cam[:, :2])


def test_signed_colors_are_red_for_positive_blue_for_negative() -> None:
    red, white, blue = signed_colors(np.array([1.0, 0.0, -1.0]), 1.0)
    assert red[0] > red[2] and blue[2] > blue[0] and (white > 240).all()


def test_joint_picture(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    v = COCO17.num_joints
    joint_time = rng.normal(size=(v, 5))
    joint_time[:, 4] = np.nan  # a span without windows stays blank
    path = render_joint_attribution(
        tmp_path / "j.png",
        layout=COCO17,
        pose_xy=rng.uniform(0, 100, size=(v, 2)),
        joint=rng.normal(size=v),
        joint_time=joint_time,
        edges=np.arange(6.0),
        title="test",
    )
    assert Image.open(path).size == (1560, 910)
    with pytest.raises(VizError, match="must end in .png"):
        render_joint_attribution(
            tmp_path / "j.svg",
            layout=COCO17,
            pose_xy=np.zeros((v, 2)),
            joint=np.zeros(v),
            joint_time=np.zeros((v, 1)),
            edges=np.arange(2.0),
        )
    with pytest.raises(VizError, match="span edges"):
        render_joint_attribution(
            tmp_path / "k.png",
            layout=COCO17,
            pose_xy=np.zeros((v, 2)),
            joint=np.zeros(v),
            joint_time=np.zeros((v, 3)),
            edges=np.arange(2.0),
        )


def test_cam_frames_and_video(tmp_path: Path) -> None:
    from musclemap.data.video_io import read_clip

    frames = np.full((6, 32, 48, 3), 128, dtype=np.uint8)
    cam = np.zeros((6, 32, 48))
    cam[:, :16, :24] = 1.0
    png = render_cam_frames(tmp_path / "c.png", frames, cam, times=np.arange(6) / 4)
    assert Image.open(png).size[0] > 300
    mp4 = write_cam_video(tmp_path / "c.mp4", frames, cam, fps=4)
    decoded = read_clip(mp4, list(range(6)))
    assert decoded.shape == (6, 32, 48, 3)
    # The explained quadrant is red-tinted, the rest stays grey (H.264 tolerance).
    assert decoded[3, 4, 4, 0] > decoded[3, 4, 4, 2] + 40
    assert np.abs(decoded[3, 24, 40].astype(int) - 128).max() < 12


def test_joint_overlay_colours_the_joints(make_video: Callable[..., Path], tmp_path: Path) -> None:
    from musclemap.data.video_io import read_clip

    video = make_video(num_frames=10, size=(96, 96))
    t, v = 10, MEDIAPIPE33.num_joints
    image = np.full((t, v, 3), np.nan)
    image[:, 25] = [0.5, 0.5, 1.0]  # only the left knee, in the centre
    joint_time = np.zeros((v, 1))
    joint_time[25] = 1.0  # strongly positive: dark red
    out = write_joint_overlay(
        video,
        tmp_path / "o.mp4",
        image=image,
        valid=np.ones(t, bool),
        times=np.arange(t) / 10,
        joint_time=joint_time,
        edges=np.array([0.0, 1.0]),
        layout=MEDIAPIPE33,
    )
    frame = read_clip(out, [5])[0]
    # the reddest pixel of the joint's dot: one pixel alone sits on the codec's chroma
    # subsampling edge (it read r = 80 in one run)
    patch = frame[45:52, 45:52].reshape(-1, 3).astype(int)
    r, g, b = patch[np.argmax(patch[:, 0] - patch[:, 1:].max(1))]
    assert r > 80 and r > g + 50 and r > b + 50
    corner = frame[5, 5].astype(int)  # away from the joint: not red
    assert corner[0] < corner[1] + 50 or corner[0] < 80
    with pytest.raises(VizError, match="overwrite"):
        write_joint_overlay(
            video,
            video,
            image=image,
            valid=np.ones(t, bool),
            times=np.arange(t) / 10,
            joint_time=joint_time,
            edges=np.array([0.0, 1.0]),
            layout=MEDIAPIPE33,
        )
