"""`find_segments`: where a video's window scores change from one exercise to another."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.pose.segments import MIN_WINDOWS, find_segments


def _windows(*parts: tuple[int, dict[int, float]], noise: float = 0.0) -> np.ndarray:
    """Window probabilities (N, 20): each part `(windows, {group: prob})`, other groups 0.05."""
    rng = np.random.default_rng(0)
    rows = []
    for n, groups in parts:
        p = np.full(20, 0.05)
        for g, v in groups.items():
            p[g] = v
        rows.append(np.clip(p + noise * rng.standard_normal((n, 20)), 0, 1))
    return np.concatenate(rows)


SQUAT, CURL, PRESS = {0: 0.95, 1: 0.9}, {5: 0.95, 6: 0.8}, {2: 0.9, 7: 0.9}


def test_one_exercise_is_one_segment() -> None:
    p = _windows((12, SQUAT), noise=0.08)
    (seg,) = find_segments(p)
    assert (seg.first, seg.last) == (0, 11)
    np.testing.assert_allclose(seg.probs, p.mean(0))


def test_a_change_is_found_where_it_is() -> None:
    p = _windows((9, SQUAT), (7, CURL), noise=0.05)
    a, b = find_segments(p)
    assert (a.first, a.last, b.first, b.last) == (0, 8, 9, 15)
    assert a.probs[0] > 0.85 and a.probs[5] < 0.2 and b.probs[5] > 0.85 and b.probs[0] < 0.2


def test_three_exercises_and_the_order_of_the_parts() -> None:
    p = _windows((8, SQUAT), (8, CURL), (8, PRESS), noise=0.05)
    assert [(s.first, s.last) for s in find_segments(p)] == [(0, 7), (8, 15), (16, 23)]
    assert len(find_segments(p, max_segments=2)) == 2


def test_a_part_between_two_of_another_exercise_and_a_superset() -> None:
    # Squats, curls, squats; and squats and curls alternating: the two sides of the whole video
    # have about the same mean, only neighbours show the change.
    p = _windows((8, SQUAT), (8, CURL), (8, SQUAT), noise=0.05)
    assert [(s.first, s.last) for s in find_segments(p)] == [(0, 7), (8, 15), (16, 23)]
    p = _windows((7, SQUAT), (7, CURL), (7, SQUAT), (7, CURL), noise=0.05)
    assert [s.first for s in find_segments(p)] == [0, 7, 14, 21]


def test_too_short_or_too_small_a_change_is_not_a_segment() -> None:
    # half of MIN_WINDOWS of another exercise: not a part
    assert len(find_segments(_windows((12, SQUAT), (MIN_WINDOWS // 2, CURL)))) == 1
    assert len(find_segments(_windows((12, SQUAT), (MIN_WINDOWS, CURL)))) == 2
    # every group within 0.6 of the other side (a variant of the same movement)
    assert len(find_segments(_windows((8, SQUAT), (8, {0: 0.6, 1: 0.5})))) == 1


def test_still_windows_weigh_too_little_to_be_a_part() -> None:
    # A rest after a set of squats: windows that look like something else but barely move
    # (pooling weight ~0) are not a segment; with equal weights they would be.
    p = _windows((8, SQUAT), (8, CURL))
    assert len(find_segments(p, np.r_[np.ones(8), np.full(8, 0.05)])) == 1
    assert len(find_segments(p)) == 2


def test_the_change_at_each_window() -> None:
    from musclemap.pose.segments import local_changes

    p = _windows((8, SQUAT), (8, CURL))
    d = local_changes(p, np.ones(16), 4, 0.0)
    assert d.shape == (17,) and int(np.argmax(d)) == 8 and d[8] == pytest.approx(0.9)
    assert d[:4].max() == 0 and d[13:].max() == 0  # no full neighbourhood on one side
    assert local_changes(p[:7], np.ones(7), 4, 0.0).max() == 0  # too short for two sides


def test_weights_scale_does_not_matter() -> None:
    p = _windows((9, SQUAT), (7, CURL), noise=0.05)
    w = np.linspace(0.5, 1.5, len(p))
    a = find_segments(p, w)
    b = find_segments(p, w / w.sum())  # the model's weights sum to 1
    assert [(s.first, s.last) for s in a] == [(s.first, s.last) for s in b] == [(0, 8), (9, 15)]
    np.testing.assert_allclose(a[0].probs, (w[:9] @ p[:9]) / w[:9].sum())


def test_join_pools_two_parts_as_one() -> None:
    from musclemap.pose.segments import join

    p = _windows((9, SQUAT), (7, CURL), noise=0.05)
    w = np.linspace(0.5, 1.5, len(p))
    a, b = find_segments(p, w)
    both = join(a, b, p, w)
    assert (both.first, both.last) == (0, 15)
    np.testing.assert_allclose(both.probs, (w @ p) / w.sum())
    np.testing.assert_allclose(join(a, b, p).probs, p.mean(0))

