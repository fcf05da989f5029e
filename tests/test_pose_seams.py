"""pose/seams.py: parallel segments merged at their hand-overs (each tracker up to the frame where
the next one agrees with it), with the pixel checks of the rows kept."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.data.pose_sequence import PoseFrame, PoseSequence
from musclemap.pose.seams import merge_segments


def _part(first: int, xs: list[float], handover: int | None = None) -> PoseSequence:
    frames = [
        PoseFrame(np.full((33, 3), x, np.float32), np.zeros((33, 4), np.float32))
        if x >= 0
        else None
        for x in xs
    ]
    seq = PoseSequence.from_frames(
        frames, [(first + i) / 10 for i in range(len(xs))], fps=10.0, width=0, height=0
    )
    seq.extra = {"first": first, "handover": handover, "distance": 0.001}
    return seq


def test_merge_takes_each_segment_up_to_its_hand_over() -> None:
    # Segment 1 starts at 3; segment 0 tracked on to 5, where it handed over.
    first = _part(0, [0.0, 0.1, 0.2, 0.3, 0.4], handover=5)
    second = _part(3, [0.9, 0.9, 0.5, 0.6, 0.7], handover=None)
    merged = merge_segments([first, second], [0, 3])
    assert merged.image[:, 0, 0] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    assert merged.times == pytest.approx([0.1 * k for k in range(8)])
    (seam,) = merged.seams
    assert seam == {"index": 3, "handover": 5, "t": pytest.approx(0.5), "distance": 0.001}


def test_merge_without_a_hand_over_uses_the_first_tracker_to_the_end() -> None:
    first = _part(0, [0.0, 0.1, -1.0, 0.3, 0.4, 0.5])
    second = _part(3, [0.9, 0.9, 0.9])
    merged = merge_segments([first, second], [0, 3])
    assert merged.valid.tolist() == [True, True, False, True, True, True]
    assert merged.image[merged.valid, 0, 0] == pytest.approx([0.0, 0.1, 0.3, 0.4, 0.5])
    assert merged.seams == [{"index": 3, "handover": None, "t": None, "distance": None}]


def test_merge_of_three_segments() -> None:
    parts = [
        _part(0, [0.0, 0.1, 0.2], handover=3),
        _part(2, [0.9, 0.3, 0.4, 0.5], handover=5),
        _part(4, [0.9, 0.5, 0.6]),
    ]
    merged = merge_segments(parts, [0, 2, 4])
    assert merged.image[:, 0, 0] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert [s["handover"] for s in merged.seams] == [3, 5]


def _check(features: np.ndarray, hit: int, colour: float = 0.5) -> dict[str, object]:
    """One kept frame's checks, as `quality.check_kept_frames` gives them."""
    return {"features": [features], "colour": [colour], "hits": hit, "checked": 1}


def test_merge_keeps_the_pixel_checks_of_the_rows_it_uses() -> None:
    f = np.zeros((4, 64))
    first = _part(0, [0.0, 0.1, 0.2, 0.3, 0.4], handover=4)
    second = _part(3, [0.9, 0.3, 0.5, 0.6, 0.7])
    first.extra["checks"] = {1: _check(f, 1, 0.1), 4: _check(f + 1, 0, 0.2)}  # row 4: second's
    second.extra["checks"] = {4: _check(f + 2, 1, 0.3), 6: _check(f + 3, 1, 0.4)}
    checks = merge_segments([first, second], [0, 3]).checks
    assert checks is not None
    assert [int(x[0, 0]) for x in checks["features"]] == [0, 2, 3]
    assert checks["colour"] == [0.1, 0.3, 0.4]
    assert (checks["hits"], checks["checked"]) == (3, 3)


def test_merge_keeps_every_segments_checks_when_the_first_ran_to_the_end() -> None:
    # Each segment checks only its planned share of the picks; without a hand-over the second's
    # rows are not used, but its frames were checked once, and that check is kept.
    f = np.zeros((4, 64))
    first = _part(0, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    second = _part(3, [0.9, 0.9, 0.9])
    first.extra["checks"] = {1: _check(f, 0)}
    second.extra["checks"] = {4: _check(f + 1, 1)}
    checks = merge_segments([first, second], [0, 3]).checks
    assert checks is not None
    assert [int(x[0, 0]) for x in checks["features"]] == [0, 1]
    assert (checks["hits"], checks["checked"]) == (1, 2)


def test_frames_left_on_the_board_for_segment_zeros_checks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from musclemap.pose.seams import Board

    board = Board(str(tmp_path), [10, 10], create=True)
    board.state[1][0] = 1  # segment 1 (from sampled frame 5) started
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    landmarks = np.full((33, 3), 0.5, np.float32)
    board.leave(6, rgb, landmarks)
    got = board.collect(1, 6, 5)
    assert got is not None
    np.testing.assert_array_equal(got[0], rgb)
    np.testing.assert_array_equal(got[1], landmarks)
    # frame 7's row is published but nothing was left: no person there
    board.publish(1, 2, None)
    board.publish(1, 3, None)
    assert board.collect(1, 7, 5) is None


def test_each_kept_frame_is_claimed_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from musclemap.pose.seams import Board

    board = Board(str(tmp_path), [10, 10], create=True)
    other = Board(str(tmp_path), [10, 10])  # another worker's view of the same board
    assert list(other.handover) == [Board.UNKNOWN] * 2 and int(other.checker[0]) == 0
    assert board.claim(6) and not other.claim(6) and not board.claim(6)
    assert other.claim(7)
    assert board.tally() == (0, 0)
    board.record(6, True)
    other.record(7, False)
    assert board.tally() == other.tally() == (1, 1)  # second-person answers, seen by both
    board.handover[0] = 5
    assert int(other.handover[0]) == 5


def test_agree_asks_the_world_landmarks_only_when_told() -> None:
    from musclemap.pose.seams import AGREE, Board, agree, row_of

    image = np.full((33, 3), 0.5, np.float32)
    world = np.zeros((33, 4), np.float32)
    mine = PoseFrame(image, world)
    moved = world.copy()
    moved[:, 0] = 0.02  # 2 cm apart in the world, the same in the image
    row = row_of(PoseFrame(image + np.float32(AGREE / 2) * np.array([1, 0, 0], np.float32), moved))
    assert row.shape == (Board.WIDTH,) and row[-1] == 1.0
    np.testing.assert_array_equal(row[99:198].reshape(33, 3), moved[:, :3])
    ok, d = agree(mine, row)
    assert ok and d == pytest.approx(AGREE / 2)
    assert agree(mine, row, 0.03)[0] and not agree(mine, row, 0.015)[0]
    assert agree(mine, row, 0.015)[1] == pytest.approx(AGREE / 2)  # the image distance
    nobody = row_of(None)
    assert nobody[-1] == 0.0 and agree(None, nobody, 0.015) == (True, None)
    assert agree(mine, nobody, 0.015) == (False, None)


def test_segment_zeros_frames_left_for_a_later_segment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from musclemap.pose.seams import Board

    board = Board(str(tmp_path), [10, 10], create=True)
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    landmarks = np.full((33, 3), 0.25, np.float32)
    assert board.left(4) is None  # not left (yet): nothing waits for it
    board.leave(4, rgb, landmarks, name="first")
    got = board.left(4)
    assert got is not None
    np.testing.assert_array_equal(got[0], rgb)
    np.testing.assert_array_equal(got[1], landmarks)
    board.leave(6, rgb, landmarks)  # a later segment's frame is not segment 0's
    assert board.left(6) is None
