"""Graphs of the GCNs: ST-GCN partitions, CTR-GCN directions, HD-GCN hierarchy for every layout."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.models.skeleton.graph import (
    ctrgcn_graph,
    directed_edges,
    hierarchical_graph,
    hop_groups,
    stgcn_partitions,
)
from musclemap.skeleton import COCO17, LAYOUTS, NTU25, OPENPOSE18

ALL = list(LAYOUTS.values())


@pytest.mark.parametrize("layout", ALL, ids=list(LAYOUTS))
def test_partitions_sum_to_uniform(layout) -> None:
    uniform = stgcn_partitions(layout, "uniform")
    assert uniform.shape == (1, layout.num_joints, layout.num_joints)
    np.testing.assert_allclose(uniform[0].sum(0), 1.0, rtol=1e-6)  # column-normalised
    for strategy, k in (("distance", 2), ("spatial", 3), ("spatial_paper", 3)):
        parts = stgcn_partitions(layout, strategy)
        assert parts.shape[0] == k
        np.testing.assert_allclose(parts.sum(0), uniform[0], rtol=1e-6)


def _reference_spatial(layout, max_hop: int) -> np.ndarray:
    """ST-GCN's reference `get_hop_distance` (matrix powers, capped at max_hop, inf beyond) and
    spatial branch of `get_adjacency`, re-derived from the reference code's algorithm."""
    v = layout.num_joints
    a = np.eye(v)
    for i, j in layout.edges:
        a[i, j] = a[j, i] = 1
    hop = np.full((v, v), np.inf)
    for d in range(max_hop, -1, -1):
        hop[np.linalg.matrix_power(a, d) > 0] = d
    adj = (hop <= max_hop).astype(float)
    norm = adj / adj.sum(0)[None, :]
    c = layout.center
    parts = []
    for h in range(max_hop + 1):
        root, close, far = (np.zeros((v, v)) for _ in range(3))
        for i in range(v):
            for j in range(v):
                if hop[j, i] != h:
                    continue
                if hop[j, c] == hop[i, c]:  # inf == inf: both beyond max_hop -> root
                    root[j, i] = norm[j, i]
                elif hop[j, c] > hop[i, c]:
                    close[j, i] = norm[j, i]
                else:
                    far[j, i] = norm[j, i]
        parts.extend([root] if h == 0 else [root + close, far])
    return np.stack(parts)


@pytest.mark.parametrize("max_hop", [1, 2])
@pytest.mark.parametrize("layout", ALL, ids=list(LAYOUTS))
def test_spatial_partition_equals_reference_code(layout, max_hop: int) -> None:
    ours = stgcn_partitions(layout, "spatial", max_hop=max_hop)
    np.testing.assert_allclose(ours, _reference_spatial(layout, max_hop), atol=1e-7)
    # The paper-wording variant (true distances to the centre) is a different graph.
    paper = stgcn_partitions(layout, "spatial_paper", max_hop=max_hop)
    assert paper.shape == ours.shape and np.abs(paper - ours).max() > 0.1
    np.testing.assert_allclose(paper.sum(0), ours.sum(0), atol=1e-7)


def test_spatial_links_beyond_max_hop_are_root() -> None:
    # OpenPose-18 elbow-wrist: both ends > 1 hop from the neck, so both directions of the link
    # are "root" and land in subset 1 (root + centripetal); none in subset 2 (centrifugal).
    parts = stgcn_partitions(OPENPOSE18, "spatial")
    elbow, wrist = OPENPOSE18.index("right_elbow"), OPENPOSE18.index("right_wrist")
    assert parts[1][wrist, elbow] > 0 and parts[1][elbow, wrist] > 0
    assert parts[2][wrist, elbow] == parts[2][elbow, wrist] == 0
    # With true distances the wrist is further out: one direction is centrifugal.
    paper = stgcn_partitions(OPENPOSE18, "spatial_paper")
    assert paper[1][wrist, elbow] > 0 and paper[2][elbow, wrist] > 0 and paper[1][elbow, wrist] == 0


def test_layout_names_and_unknown_strategy() -> None:
    np.testing.assert_array_equal(stgcn_partitions("coco17"), stgcn_partitions(COCO17))
    np.testing.assert_array_equal(ctrgcn_graph("ntu25"), ctrgcn_graph(NTU25))
    with pytest.raises(ValueError, match="spatial_paper"):
        stgcn_partitions(COCO17, "spatail")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="coco17"):
        stgcn_partitions("coco18")


def test_spatial_partition_root_is_self_and_same_ring() -> None:
    parts = stgcn_partitions(OPENPOSE18, "spatial")
    np.testing.assert_allclose(np.diag(parts[0]), np.diag(stgcn_partitions(OPENPOSE18)[0]))
    # Entry [j, i] (as the reference): row j = the centre (neck), column i = the nose, one hop
    # further out -> the "further" subset only; the transposed entry is in root + close.
    neck, nose = OPENPOSE18.center, OPENPOSE18.index("nose")
    assert parts[2][neck, nose] > 0 and parts[1][neck, nose] == 0
    assert parts[1][nose, neck] > 0 and parts[2][nose, neck] == 0


@pytest.mark.parametrize("layout", ALL, ids=list(LAYOUTS))
def test_ctrgcn_graph_covers_every_edge(layout) -> None:
    a = ctrgcn_graph(layout)
    inward, outward = directed_edges(layout)
    assert a.shape == (3, layout.num_joints, layout.num_joints)
    links = (a[1] > 0) | (a[2] > 0)
    for i, j in layout.edges:
        assert links[i, j] and links[j, i]
    np.testing.assert_array_equal(a[0], np.eye(layout.num_joints))
    assert {(j, i) for i, j in inward} == set(outward)


# HD-GCN's published CoM-21 groups for NTU-25 (graph/tools.py `get_groups`, 1-based as published).
_NTU_COM21 = [[21], [2, 3, 5, 9], [4, 6, 10, 1], [7, 11, 13, 17], [8, 12, 14, 18],
              [22, 23, 24, 25, 15, 19], [16, 20]]  # fmt: skip


def _reference_hierarchy(groups_1based: list[list[int]], v: int) -> np.ndarray:
    """HD-GCN's `get_edgeset` + `get_hierarchical_graph`, re-derived from its description."""
    groups = [[j - 1 for j in g] for g in groups_1based]

    def norm(a: np.ndarray) -> np.ndarray:
        deg = a.sum(0)
        return a / np.where(deg > 0, deg, 1.0)[None, :]

    levels = []
    for i in range(len(groups) - 1):
        ident, fwd, rev = (np.zeros((v, v)) for _ in range(3))
        for j in groups[i] + groups[i + 1]:
            ident[j, j] = 1
        for j in groups[i]:
            for k in groups[i + 1]:
                fwd[k, j] = 1  # link j -> k stored at A[k, j]
                rev[j, k] = 1  # link k -> j
        levels.append(np.stack([ident, norm(fwd), norm(rev)]))
    return np.stack(levels)


def test_hierarchy_is_the_published_ntu_com21() -> None:
    assert [sorted(g) for g in hop_groups(NTU25)] == [sorted(j - 1 for j in g) for g in _NTU_COM21]
    a = hierarchical_graph(NTU25)
    assert a.shape == (6, 3, 25, 25)  # the official six levels
    np.testing.assert_allclose(a, _reference_hierarchy(_NTU_COM21, 25), atol=1e-7)
    # The edge-derived groups (what NTU-25 got before) differ at the hands and feet.
    hops = NTU25.hop_distance[NTU25.center]
    derived = [sorted(np.flatnonzero(hops == d).tolist()) for d in range(int(hops.max()) + 1)]
    assert derived[5:] == [[14, 18, 22, 24], [15, 19, 21, 23]]


def test_hierarchy_groups_can_be_given() -> None:
    com1 = [[1], [2, 13, 17], [14, 18, 21], [3, 5, 9, 15, 19], [4, 6, 10, 16, 20], [7, 11],
            [8, 12, 22, 23, 24, 25]]  # fmt: skip
    a = hierarchical_graph("ntu25", [[j - 1 for j in g] for g in com1])
    np.testing.assert_allclose(a, _reference_hierarchy(com1, 25), atol=1e-7)
    with pytest.raises(ValueError, match="exactly once"):
        hierarchical_graph(NTU25, [[0, 1], [2]])


@pytest.mark.parametrize("layout", ALL, ids=list(LAYOUTS))
def test_hierarchy_for_every_layout(layout) -> None:
    groups = hop_groups(layout)
    assert sorted(j for g in groups for j in g) == list(range(layout.num_joints))
    a = hierarchical_graph(layout)
    assert a.shape[0] == len(groups) - 1 >= 3
    for i in range(a.shape[0]):
        near, far = groups[i], groups[i + 1]
        assert (np.diag(a[i, 0])[near + far] == 1).all()
        assert a[i, 1][np.ix_(far, near)].min() > 0  # forward: near -> far
        assert a[i, 2][np.ix_(near, far)].min() > 0  # reverse: far -> near


def test_coco_hierarchy_levels() -> None:
    names = [[COCO17.joints[j] for j in g] for g in hop_groups(COCO17)]
    assert names[0] == ["nose"] and "left_ankle" in names[-1]
