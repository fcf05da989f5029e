"""pose/segments.py: the fixed tracking segments (independent of the worker count), the blocks
of whole segments the workers take, and the blocks joined."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.data.pose_sequence import PoseSequence
from musclemap.pose.segments import (
    SEGMENT_S,
    expected_frames,
    merge_blocks,
    plan_segments,
    split_blocks,
)


def test_plan_segments_cuts_near_equal_segments_of_about_segment_s() -> None:
    assert SEGMENT_S == 4.0
    assert plan_segments(80, 10.0) == [0, 40]  # an 8 s clip at 10 fps: 2 segments
    assert plan_segments(600, 10.0) == list(range(0, 600, 40))  # 60 s: 15
    assert plan_segments(40, 10.0) == [0]  # 4 s or less: one segment
    assert plan_segments(41, 10.0) == [0, 20]  # ceil(41 / 40) = 2, near-equal: 20 + 21
    assert plan_segments(81, 10.0) == [0, 27, 54]  # 27 + 27 + 27
    assert plan_segments(100, 10.0) == [0, 33, 66]  # 33 + 33 + 34
    assert plan_segments(80, 5.0) == [0, 20, 40, 60]  # 20 frames a segment at 5 fps
    assert plan_segments(50, 10.0, segment_s=1.0) == [0, 10, 20, 30, 40]
    assert plan_segments(1, 10.0) == [0] and plan_segments(0, 10.0) == [0]
    for n in (41, 99, 123, 599):  # lengths differ by at most one frame
        lengths = np.diff([*plan_segments(n, 10.0), n])
        assert lengths.max() - lengths.min() <= 1 and lengths.max() <= 40


def test_expected_frames() -> None:
    assert expected_frames(8.0, 10.0) == 80 and expected_frames(0.0, 10.0) == 1
    assert expected_frames(6.5, 10.0) == 65 and expected_frames(2.4, 5.0) == 12


def test_split_blocks_gives_each_worker_whole_contiguous_segments() -> None:
    starts = plan_segments(600, 10.0)
    blocks = split_blocks(starts, 2)
    assert [len(b) for b in blocks] == [7, 8] and sum(blocks, []) == starts
    assert split_blocks([0, 40], 2) == [[0], [40]]
    assert split_blocks([0, 40], 8) == [[0], [40]]  # never more blocks than segments
    assert split_blocks([0, 27, 54], 1) == [[0, 27, 54]]
    assert split_blocks([0, 20, 40, 60], 3) == [[0], [20], [40, 60]]


def _part(xs: list[float], t0: int, checks: dict[int, tuple] | None = None) -> PoseSequence:
    n = len(xs)
    image = np.full((n, 33, 3), 0.5, np.float32)
    image[:, :, 0] = np.array(xs)[:, None]
    seq = PoseSequence(
        image, np.zeros((n, 33, 4), np.float32), np.ones(n, bool), (t0 + np.arange(n)) / 10.0,
        10.0, 0, 0,
    )
    if checks is not None:
        seq.extra["checks"] = checks
    return seq


def test_merge_blocks_joins_rows_and_checks_in_frame_order() -> None:
    f = [np.full((4, 2), float(i)) for i in range(3)]
    parts = [
        _part([0.0, 0.1, 0.2], 0, {1: (f[0], 1, 1)}),
        _part([0.3, 0.4], 3, {4: (f[2], 0, 1), 3: (f[1], 1, 1)}),
    ]
    merged = merge_blocks(parts, [0, 3])
    np.testing.assert_array_equal(merged.image[:, 0, 0], np.float32([0.0, 0.1, 0.2, 0.3, 0.4]))
    assert merged.times == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert merged.valid.tolist() == [True] * 5 and merged.segments == [0, 3]
    assert merged.checks is not None
    assert [float(x[0, 0]) for x in merged.checks["features"]] == [0.0, 1.0, 2.0]
    assert (merged.checks["hits"], merged.checks["checked"]) == (2, 3)
