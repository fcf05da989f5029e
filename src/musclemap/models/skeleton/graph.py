"""Graphs of the skeleton models, built from a `SkeletonLayout`'s edges and centre only.

- ST-GCN partition strategies (uniform / distance / spatial) as in Yan et al., AAAI 2018.
- The directed (identity, inward, outward) graph of CTR-GCN.
- HD-GCN's hierarchically decomposed graph (Lee et al., ICCV 2023): joints grouped by hop distance
  from the centre of mass, one (identity, forward, reverse) graph per pair of adjacent groups. The
  reference repository hard-codes the NTU-25 groups; here they come from any layout's edges.

All matrices are numpy float32 and follow the references' convention `A[j, i] = 1` for a link
i -> j, column-normalised by in-degree (`A @ D^-1`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from musclemap.skeleton import SkeletonLayout

Strategy = Literal["uniform", "distance", "spatial"]


def edge_matrix(links: list[tuple[int, int]], num_nodes: int) -> np.ndarray:
    """(V, V) matrix with `A[j, i] = 1` for every link (i, j)."""
    a = np.zeros((num_nodes, num_nodes), dtype=np.float32)
    for i, j in links:
        a[j, i] = 1.0
    return a


def normalize_digraph(a: np.ndarray) -> np.ndarray:
    """Column-normalise `A D^-1` (D: column sums); empty columns stay zero."""
    deg = a.sum(0)
    inv = np.where(deg > 0, 1.0 / np.where(deg > 0, deg, 1.0), 0.0)
    return (a * inv[None, :]).astype(np.float32)


def _check_connected(layout: SkeletonLayout) -> np.ndarray:
    hops = layout.hop_distance
    if np.isinf(hops[layout.center]).any():
        raise ValueError(f"{layout.name}: skeleton graph is not connected to its centre")
    return hops


def stgcn_partitions(
    layout: SkeletonLayout, strategy: Strategy = "uniform", *, max_hop: int = 1, dilation: int = 1
) -> np.ndarray:
    """ST-GCN's partitioned adjacency `(K, V, V)`.

    Args:
        layout: skeleton layout.
        strategy: "uniform" (K=1), "distance" (K = one per hop) or "spatial" (root / centripetal /
            centrifugal by distance to the layout's centre; K = 1 + 2 * max_hop).
        max_hop: neighbourhood radius.
        dilation: keep every `dilation`-th hop.
    """
    hops = _check_connected(layout)
    v = layout.num_joints
    valid = range(0, max_hop + 1, dilation)
    adjacency = np.zeros((v, v), dtype=np.float32)
    for hop in valid:
        adjacency[hops == hop] = 1.0
    norm = normalize_digraph(adjacency)
    if strategy == "uniform":
        return norm[None]
    if strategy == "distance":
        out = np.zeros((len(valid), v, v), dtype=np.float32)
        for k, hop in enumerate(valid):
            out[k][hops == hop] = norm[hops == hop]
        return out
    if strategy != "spatial":
        raise ValueError(f"unknown partition strategy {strategy!r}")
    to_centre = hops[:, layout.center]
    parts = []
    for hop in valid:
        mask = hops == hop
        # Compare how far the two ends of each link are from the centre (root / closer / further).
        j_dist, i_dist = to_centre[:, None], to_centre[None, :]
        root = np.where(mask & (j_dist == i_dist), norm, 0.0)
        close = np.where(mask & (j_dist > i_dist), norm, 0.0)
        further = np.where(mask & (j_dist < i_dist), norm, 0.0)
        if hop == 0:
            parts.append(root)
        else:
            parts.extend([root + close, further])
    return np.stack(parts).astype(np.float32)


def directed_edges(layout: SkeletonLayout) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(inward, outward) links: inward points towards the centre.

    Links between two joints equally far from the centre (e.g. shoulder-shoulder) go both ways in
    both sets, so that no link of the layout is dropped.
    """
    to_centre = _check_connected(layout)[:, layout.center]
    inward: list[tuple[int, int]] = []
    for a, b in layout.edges:
        if to_centre[a] > to_centre[b]:
            inward.append((a, b))
        elif to_centre[b] > to_centre[a]:
            inward.append((b, a))
        else:
            inward.extend([(a, b), (b, a)])
    outward = [(j, i) for i, j in inward]
    return inward, outward


def ctrgcn_graph(layout: SkeletonLayout) -> np.ndarray:
    """CTR-GCN's `(3, V, V)` graph: identity, normalised inward, normalised outward."""
    v = layout.num_joints
    inward, outward = directed_edges(layout)
    identity = np.eye(v, dtype=np.float32)
    return np.stack(
        [
            identity,
            normalize_digraph(edge_matrix(inward, v)),
            normalize_digraph(edge_matrix(outward, v)),
        ]
    )


def hop_groups(layout: SkeletonLayout) -> list[list[int]]:
    """Joints grouped by hop distance from the layout's centre (HD-GCN's centre of mass).

    On NTU-25 with centre spine_shoulder this reproduces the reference's hard-coded `CoM=21` groups.
    """
    to_centre = _check_connected(layout)[:, layout.center].astype(int)
    return [np.flatnonzero(to_centre == d).tolist() for d in range(int(to_centre.max()) + 1)]


def hierarchical_graph(layout: SkeletonLayout) -> np.ndarray:
    """HD-GCN's hierarchically decomposed graph `(L, 3, V, V)`, L = number of hop groups - 1.

    Level i links group i with group i+1: identity on both groups, fully connected forward edges
    (group i -> group i+1) and reverse edges (group i+1 -> group i), as in the reference
    `get_edgeset`.
    """
    groups = hop_groups(layout)
    v = layout.num_joints
    levels = []
    for i in range(len(groups) - 1):
        near, far = groups[i], groups[i + 1]
        identity = [(j, j) for j in near + far]
        forward = [(j, k) for j in near for k in far]
        reverse = [(k, j) for j in near for k in far]
        levels.append(
            np.stack(
                [
                    edge_matrix(identity, v),
                    normalize_digraph(edge_matrix(forward, v)),
                    normalize_digraph(edge_matrix(reverse, v)),
                ]
            )
        )
    if len(levels) < 1:
        raise ValueError(f"{layout.name}: HD-GCN needs at least two hop groups")
    return np.stack(levels).astype(np.float32)
