"""Pose on every core (`musclemap.pose.parallel`): segment plan, seams, pool, batch of videos.

A stateful stand-in estimator (an exponential filter over frame brightness, reset per segment)
behaves like a tracker: the parallel run equals the sequential one before each seam, and after
it once the warm-up overlap has let the state settle.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musclemap.errors import VideoError
from musclemap.pose.base import PoseFrame, PoseSequence, _estimate_video
from musclemap.pose.parallel import (
    OVERLAP,
    SEAM_JUMP,
    PosePool,
    cpu_budget,
    expected_frames,
    merge_segments,
    plan_segments,
)


class SmoothingEstimator:
    """x of every landmark = an exponential average (factor 1/2) of the frame brightness."""

    name = "smoothing"

    def __init__(self) -> None:
        self.state: float | None = None

    def settings(self) -> dict[str, Any]:
        return {}

    def reset(self) -> None:
        self.state = None

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        level = float(frame_rgb.mean()) / 255.0
        self.state = level if self.state is None else 0.5 * self.state + 0.5 * level
        image = np.full((33, 3), 0.5, np.float32)
        image[:, 0] = self.state
        world = np.zeros((33, 4), np.float32)
        return PoseFrame(image=image, world=world)

    def close(self) -> None:
        pass


def _video(tmp_path: Path, n: int = 120, gop: int = 10) -> Path:
    """Frames of pseudo-random brightness (so a restarted filter differs), a keyframe every
    `gop` frames."""
    import av

    rng = np.random.default_rng(0)
    path = tmp_path / "v.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.codec_context.options = {"x264-params": f"keyint={gop}:min-keyint={gop}"}
        for level in rng.integers(20, 235, n):
            img = np.full((32, 32, 3), level, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _part(first: int, xs: list[float], valid: list[bool] | None = None) -> PoseSequence:
    frames = [
        PoseFrame(np.full((33, 3), x, np.float32), np.zeros((33, 4), np.float32)) if ok else None
        for x, ok in zip(xs, valid or [True] * len(xs), strict=True)
    ]
    seq = PoseSequence.from_frames(
        frames, [(first + i) / 10 for i in range(len(xs))], fps=10.0, width=0, height=0
    )
    seq.extra = {"first": first}
    return seq


def test_plan_segments() -> None:
    assert plan_segments(80, 2) == [0, 40]
    assert plan_segments(81, 3) == [0, 27, 54]
    assert plan_segments(30, 4) == [0]  # too short to split into 20-frame segments
    assert plan_segments(45, 4) == [0, 22]
    assert plan_segments(100, 1) == [0]
    assert expected_frames(8.0, 10.0) == 80 and expected_frames(0.0, 10.0) == 1


def test_cpu_budget_is_the_affinity_and_one_inside_a_worker() -> None:
    import os

    assert cpu_budget() == len(os.sched_getaffinity(0))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(cpu_budget) == 1


def test_merge_keeps_the_earlier_segment_on_the_overlap_and_checks_the_seam() -> None:
    first = _part(0, [0.1, 0.2, 0.3, 0.4])
    # The second segment starts at 4 with 2 warm-up frames (2, 3) that agree with the first.
    second = _part(2, [0.31, 0.41, 0.5, 0.6])
    merged = merge_segments([first, second], [0, 4])
    assert merged.image[:, 0, 0] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert merged.times == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    (seam,) = merged.seams
    assert seam["index"] == 4 and seam["t"] == pytest.approx(0.4) and seam["compared"] == 2
    # Every landmark is 0.01 off in x and y: distance sqrt(2) * 0.01.
    assert seam["distance"] == pytest.approx(0.0141, abs=1e-4) and not seam["jump"]


def test_merge_reports_a_different_person_at_the_seam() -> None:
    first = _part(0, [0.1, 0.1, 0.1, 0.1])
    second = _part(2, [0.8, 0.8, 0.8, 0.8])
    (seam,) = merge_segments([first, second], [0, 4]).seams
    assert seam["jump"] and seam["distance"] > SEAM_JUMP


def test_merge_with_no_person_on_the_overlap() -> None:
    first = _part(0, [0.1, 0.1, 0.1, 0.1], [True, True, False, False])
    second = _part(2, [0.1, 0.1, 0.1, 0.1])
    merged = merge_segments([first, second], [0, 4])
    assert merged.valid.tolist() == [True, True, False, False, True, True]
    (seam,) = merged.seams
    assert seam["compared"] == 0 and seam["distance"] is None and not seam["jump"]


@pytest.fixture(scope="module")
def pool() -> Any:
    with PosePool(2, factory=SmoothingEstimator) as p:
        yield p


def test_parallel_equals_sequential_except_just_after_the_seam(pool: PosePool, tmp_path: Path):
    from musclemap.data.video_io import probe

    path = _video(tmp_path)
    info = probe(path)
    seen: list[float] = []
    merged = pool.estimate(
        path,
        fps=10.0,
        max_side=None,
        num_frames=expected_frames(info.duration_s, 10.0),
        origin_s=info.start_s,
        progress=lambda f, _: seen.append(f),
    )
    sequential = _estimate_video(path, 10.0, None, SmoothingEstimator(), None)
    assert merged.times == pytest.approx(sequential.times) and len(merged.times) == 120
    diff = np.abs(merged.image[:, 0, 0] - sequential.image[:, 0, 0])
    seam = 60
    assert diff[:seam].max() == 0.0
    # After OVERLAP warm-up frames the restarted filter is within 2**-OVERLAP of the old one.
    assert diff[seam] <= 2.0**-OVERLAP and diff[seam + 5 :].max() < 1e-3
    assert [s["index"] for s in merged.seams] == [seam] and not merged.seams[0]["jump"]
    assert seen and all(0 <= f < 1 for f in seen)


def test_unsplittable_video_runs_as_one_segment(pool: PosePool, tmp_path: Path) -> None:
    path = _video(tmp_path, n=30)
    merged = pool.estimate(path, fps=10.0, max_side=None, num_frames=30, origin_s=None)
    sequential = _estimate_video(path, 10.0, None, SmoothingEstimator(), None)
    assert np.array_equal(merged.image, sequential.image) and merged.seams == []


def test_map_videos_returns_each_result_or_its_error(pool: PosePool, tmp_path: Path) -> None:
    good = _video(tmp_path, n=25)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 64)
    results = dict(
        pool.map_videos([good, bad], fps=5.0, max_side=None, cache_dir=None, use_cache=False)
    )
    assert sorted(results) == [0, 1]
    assert isinstance(results[0], PoseSequence) and len(results[0]) == 13
    assert results[0].extra["estimator"] == "smoothing"
    assert isinstance(results[1], VideoError) and "bad.mp4" in str(results[1])


def test_segment_decode_error_reaches_the_caller(pool: PosePool, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(VideoError, match="bad.mp4"):
        pool.estimate(bad, fps=10.0, max_side=None, num_frames=80, origin_s=0.0)
