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
    for strategy, k in (("distance", 2), ("spatial", 3)):
        parts = stgcn_partitions(layout, strategy)
        assert parts.shape[0] == k
        np.testing.assert_allclose(parts.sum(0), uniform[0], rtol=1e-6)


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


def test_hierarchy_reproduces_reference_ntu_levels() -> None:
    groups = hop_groups(NTU25)
    # Reference HD-GCN (CoM 21), 0-based: the first five groups agree exactly; the reference
    # then puts hand tips with the thumbs, while the NTU edge list chains tip -> thumb -> hand.
    ref = [[20], [1, 2, 4, 8], [0, 3, 5, 9], [6, 10, 12, 16], [7, 11, 13, 17]]
    assert [sorted(g) for g in groups[:5]] == ref
    assert len(groups) == 7
    a = hierarchical_graph(NTU25)
    assert a.shape == (6, 3, 25, 25)  # the official six levels


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
