"""Occlusion through the public scoring: a stand-in predictor that only looks at the knees."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from musclemap.data.pose_sequence import PoseSequence
from musclemap.demo import synthetic_pose_sequence
from musclemap.explain.occlusion import (
    freeze_joints,
    local_scores,
    occlusion_attribution,
    predictor_scorer,
    span_edges,
)
from musclemap.skeleton import MEDIAPIPE33
from musclemap.taxonomy import GROUP_IDS, group_index

KNEES = (MEDIAPIPE33.joints.index("left_knee"), MEDIAPIPE33.joints.index("right_knee"))
QUAD = group_index("quadriceps")


class KneePredictor:
    """A predict model stand-in: 2 s windows every 1 s; a window's quadriceps score is how much
    the knees move up and down (world y) in its frames before frame 30; the clip score is the
    windows' mean; every other group 0.1."""

    def predict_poses(self, seq: PoseSequence) -> SimpleNamespace:
        timeline = []
        for start in range(0, len(seq) - 19, 10):
            y = seq.world[start : min(start + 20, 30), KNEES, 1]  # (<= 20, 2)
            quad = float(np.std(y, axis=0).sum()) if len(y) else 0.0
            muscles = {g: quad if g == "quadriceps" else 0.1 for g in GROUP_IDS}
            timeline.append({"start_s": start / 10, "end_s": start / 10 + 2, "muscles": muscles})
        clip = {g: float(np.mean([w["muscles"][g] for w in timeline])) for g in GROUP_IDS}
        return SimpleNamespace(muscles=clip, timeline=timeline)


@pytest.fixture(scope="module")
def squat() -> PoseSequence:
    return synthetic_pose_sequence("squat", seconds=5.0)  # 50 frames at 10 fps


def test_only_the_knees_and_only_where_they_are_read(squat: PoseSequence) -> None:
    score = predictor_scorer(KneePredictor(), QUAD)
    res = occlusion_attribution(score, squat, QUAD, span_s=1.0)
    assert res.group == "quadriceps" and res.base == pytest.approx(score(squat)[0])
    assert res.joint_time.shape == (33, 5)
    np.testing.assert_allclose(res.edges, [0, 1, 2, 3, 4, 5])
    others = np.setdiff1d(np.arange(33), KNEES)
    assert np.abs(res.joint[others]).max() == 0 and np.abs(res.joint_time[others]).max() == 0
    # Frozen over the whole clip a knee no longer moves: its share of the score is gone.
    assert (res.joint[list(KNEES)] > 0).all()
    assert res.joint[list(KNEES)].sum() == pytest.approx(res.base, rel=1e-6)
    # The scorer reads frames 0-29 only: spans 3 and 4 (3-5 s) carry nothing. Span drops are of
    # the local score (windows overlapping the span), e.g. span 0 is only in window 0-2 s.
    assert np.abs(res.joint_time[list(KNEES), 3:]).max() == 0
    assert (np.abs(res.joint_time[list(KNEES), :3]) > 0).all()
    pred = KneePredictor().predict_poses(squat)
    frozen = KneePredictor().predict_poses(freeze_joints(squat, [KNEES[0]], 0, 10))
    first = pred.timeline[0]["muscles"]["quadriceps"] - frozen.timeline[0]["muscles"]["quadriceps"]
    assert res.joint_time[KNEES[0], 0] == pytest.approx(first)


def test_local_scores_average_the_overlapping_windows() -> None:
    windows = [(0.0, 2.0, 0.2), (1.0, 3.0, 0.4)]
    np.testing.assert_allclose(
        local_scores(windows, np.array([0.0, 1.0, 2.0, 3.0, 4.0])), [0.2, 0.3, 0.4, np.nan]
    )


def test_freeze_replaces_coordinates_by_their_mean_and_keeps_the_rest(
    squat: PoseSequence,
) -> None:
    seq = replace(squat, valid=squat.valid.copy())
    seq.valid[12] = False  # a frame without a person is not part of the mean and stays as it was
    out = freeze_joints(seq, [KNEES[0]], 10, 20)
    rows = [r for r in range(10, 20) if r != 12]
    for arr, new in ((seq.image, out.image), (seq.world, out.world)):
        mean = arr[rows, KNEES[0], :-1].mean(0)
        np.testing.assert_allclose(new[rows, KNEES[0], :-1], np.tile(mean, (9, 1)), rtol=1e-6)
        np.testing.assert_array_equal(new[rows, KNEES[0], -1], arr[rows, KNEES[0], -1])
        np.testing.assert_array_equal(new[12], arr[12])
        keep = np.ones(arr.shape[:2], dtype=bool)
        keep[rows, KNEES[0]] = False
        np.testing.assert_array_equal(new[keep], arr[keep])
    assert out.image is not seq.image and seq.image[10, KNEES[0], 0] != out.image[10, KNEES[0], 0]


def test_span_edges_cover_every_frame() -> None:
    np.testing.assert_array_equal(span_edges(23, 10), [0, 10, 20, 23])
    np.testing.assert_array_equal(span_edges(20, 10), [0, 10, 20])


def test_the_real_default_predictor_runs(squat: PoseSequence) -> None:
    from musclemap.predictor import Predictor

    predictor = Predictor.default()
    res = occlusion_attribution(predictor_scorer(predictor, QUAD), squat, QUAD, span_s=2.5)
    assert res.base == pytest.approx(predictor.predict_poses(squat).muscles["quadriceps"])
    assert res.joint_time.shape == (33, 2) and np.isfinite(res.joint_time).all()
    assert np.abs(res.joint_time).max() > 0
    assert np.abs(res.joint).max() > 0
    assert res.to_dict()["joints"][25] == "left_knee"
