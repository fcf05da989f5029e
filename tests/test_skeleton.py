"""Skeleton layouts: valid edges, symmetric flips, name-based conversion, adjacency."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from musclemap.skeleton import (
    COCO17,
    LAYOUTS,
    MEDIAPIPE33,
    NTU25,
    OPENPOSE18,
    SkeletonLayout,
    convert_keypoints,
    get_layout,
    median_torso_length,
)

ALL = list(LAYOUTS.values())
IDS = list(LAYOUTS)


@pytest.mark.parametrize("layout", ALL, ids=IDS)
def test_edges_valid_and_graph_connected(layout: SkeletonLayout) -> None:
    assert len(set(map(frozenset, layout.edges))) == len(layout.edges)  # no duplicates
    for a, b in layout.edges:
        assert 0 <= a < layout.num_joints and 0 <= b < layout.num_joints and a != b
    assert np.isfinite(layout.hop_distance).all()
    assert 0 <= layout.center < layout.num_joints


@pytest.mark.parametrize("layout", ALL, ids=IDS)
def test_flip_pairs_are_symmetric(layout: SkeletonLayout) -> None:
    perm = layout.flip_permutation
    np.testing.assert_array_equal(perm[perm], np.arange(layout.num_joints))
    for i, j in layout.flip_pairs:
        assert layout.joints[i].replace("left", "right") == layout.joints[j]
    # Mirrored edges are edges: the graph is left/right symmetric.
    edges = {frozenset(e) for e in layout.edges}
    assert {frozenset((perm[a], perm[b])) for a, b in layout.edges} == edges
    kp = np.random.default_rng(0).normal(size=(3, layout.num_joints, 3))
    np.testing.assert_allclose(layout.flip(layout.flip(kp)), kp)


def test_mediapipe_to_coco_by_name() -> None:
    kp = np.random.default_rng(0).normal(size=(4, 33, 3)).astype(np.float32)
    coco = convert_keypoints(kp, MEDIAPIPE33, COCO17)
    assert coco.shape == (4, 17, 3)
    for j, name in enumerate(COCO17.joints):
        np.testing.assert_array_equal(coco[:, j], kp[:, MEDIAPIPE33.index(name)])


def test_coco_mediapipe_coco_round_trip() -> None:
    kp = np.random.default_rng(1).normal(size=(2, 17, 3)).astype(np.float32)
    mp = convert_keypoints(kp, COCO17, MEDIAPIPE33)
    heel = MEDIAPIPE33.index("left_heel")  # not in COCO: NaN coordinates, score 0
    assert np.isnan(mp[:, heel, :2]).all() and (mp[:, heel, 2] == 0).all()
    np.testing.assert_array_equal(convert_keypoints(mp, MEDIAPIPE33, COCO17), kp)


def test_convert_rejects_wrong_joint_count() -> None:
    with pytest.raises(ValueError, match="17"):
        convert_keypoints(np.zeros((2, 33, 3)), COCO17, OPENPOSE18)


@pytest.mark.parametrize("layout", ALL, ids=IDS)
def test_adjacency_symmetric_and_normalised(layout: SkeletonLayout) -> None:
    raw = layout.adjacency(normalize=False)
    a = layout.adjacency()
    assert torch.equal(a, a.T) and torch.equal(raw, raw.T)
    d = raw.sum(1)
    np.testing.assert_allclose(
        a.numpy(), (raw / torch.sqrt(d[:, None] * d[None, :])).numpy(), rtol=1e-6
    )
    # The spectrum of D^-1/2 (A + I) D^-1/2 lies in (-1, 1]; 1 is attained (connected graph).
    eig = torch.linalg.eigvalsh(a.double())
    assert eig.max() == pytest.approx(1.0) and eig.min() > -1.0


def test_get_layout_and_ntu_has_no_score() -> None:
    assert get_layout("ntu25") is NTU25 and not NTU25.has_score
    with pytest.raises(KeyError, match="known"):
        get_layout("kinect")


def test_midpoint_and_torso_length_by_name() -> None:
    kp = np.zeros((2, COCO17.num_joints, 2))
    kp[:, COCO17.index("left_hip")] = (1.0, 4.0)
    kp[:, COCO17.index("right_hip")] = (3.0, 4.0)
    kp[:, COCO17.index("left_shoulder")] = (1.0, 1.0)
    kp[:, COCO17.index("right_shoulder")] = (3.0, 1.0)
    np.testing.assert_array_equal(COCO17.midpoint(kp, "hip"), [[2.0, 4.0], [2.0, 4.0]])
    np.testing.assert_array_equal(COCO17.torso_length(kp), [3.0, 3.0])
    assert COCO17.pair("hip") == (COCO17.index("left_hip"), COCO17.index("right_hip"))
    # A layout without the pair uses its centre joint.
    bare = SkeletonLayout("bare", ("a", "b"), ((0, 1),), center=1)
    assert bare.pair("hip") == (1,)
    np.testing.assert_array_equal(bare.midpoint(np.array([[[0.0, 0], [5, 6]]]), "hip"), [[5, 6]])


def test_median_torso_length_ignores_missing_frames_and_falls_back() -> None:
    kp = np.zeros((4, COCO17.num_joints, 2))
    for t, length in enumerate((1.0, 2.0, 4.0, 0.0)):
        kp[t, COCO17.index("left_shoulder"), 1] = kp[t, COCO17.index("right_shoulder"), 1] = -length
    kp[3] = np.nan  # no person
    assert median_torso_length(kp, COCO17, min_length=1e-3, default=0.5) == 2.0
    kp[:3] = 0.0  # a degenerate torso
    assert median_torso_length(kp, COCO17, min_length=1e-3, default=0.5) == 0.5
    assert median_torso_length(np.full_like(kp, np.nan), COCO17, min_length=0, default=1.0) == 1.0
