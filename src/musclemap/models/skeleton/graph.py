"""Graphs of the skeleton models, built from a `SkeletonLayout`'s edges and centre only.

- ST-GCN partition strategies (uniform / distance / spatial) as the reference code of Yan et al.,
  AAAI 2018 (yysijie/st-gcn `net/utils/graph.py`), plus "spatial_paper", the paper's wording.
- The directed (identity, inward, outward) graph of CTR-GCN.
- HD-GCN's hierarchically decomposed graph (Lee et al., ICCV 2023): joints grouped by hop distance
  from the centre of mass, one (identity, forward, reverse) graph per pair of adjacent groups.
  NTU-25 uses the reference's published CoM-21 groups; other layouts derive them from their edges.

All matrices are numpy float32 and follow the references' convention `A[j, i] = 1` for a link
i -> j, column-normalised by in-degree (`A @ D^-1`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from musclemap.skeleton import NTU25, SkeletonLayout, as_layout

Strategy = Literal["uniform", "distance", "spatial", "spatial_paper"]
STRATEGIES: tuple[str, ...] = ("uniform", "distance", "spatial", "spatial_paper")

# HD-GCN's hand-written CoM-21 hierarchy for NTU-25 (graph/tools.py `get_groups`, 1-based there).
# It differs from the edge-derived groups at the hands: the NTU edge list chains
# hand tip -> thumb -> hand, but the published groups put tips and thumbs together with the ankles.
PUBLISHED_HIERARCHIES: dict[SkeletonLayout, tuple[tuple[int, ...], ...]] = {
    NTU25: (
        (20,),
        (1, 2, 4, 8),
        (3, 5, 9, 0),
        (6, 10, 12, 16),
        (7, 11, 13, 17),
        (21, 22, 23, 24, 14, 18),
        (15, 19),
    ),
}


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


def capped_hop_distance(layout: SkeletonLayout, max_hop: int) -> np.ndarray:
    """(V, V) hop distances up to `max_hop`, `inf` beyond (the reference's `get_hop_distance`)."""
    hops = _check_connected(layout)
    return np.where(hops <= max_hop, hops, np.inf)


def stgcn_partitions(
    layout: SkeletonLayout | str,
    strategy: Strategy = "uniform",
    *,
    max_hop: int = 1,
    dilation: int = 1,
) -> np.ndarray:
    """ST-GCN's partitioned adjacency `(K, V, V)`.

    Args:
        layout: skeleton layout (or its name).
        strategy: "uniform" (K=1), "distance" (K = one per hop), "spatial" or "spatial_paper"
            (root / centripetal / centrifugal; K = 1 + 2 * max_hop). "spatial" is the reference
            code, which produced the published numbers: it measures the distance to the centre with
            hops capped at `max_hop`, so every joint further than `max_hop` from the centre is
            equally far (inf) and all links between two such joints fall into the root subset.
            "spatial_paper" follows the paper's wording with true hop distances to the centre, so
            those links split into centripetal and centrifugal.
        max_hop: neighbourhood radius.
        dilation: keep every `dilation`-th hop.
    """
    layout = as_layout(layout)
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown partition strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
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
    centre_hops = capped_hop_distance(layout, max_hop) if strategy == "spatial" else hops
    to_centre = centre_hops[:, layout.center]
    # Compare how far the two ends of each link are from the centre (root / closer / further);
    # inf == inf counts as equally far, as in the reference.
    j_dist, i_dist = to_centre[:, None], to_centre[None, :]
    parts = []
    for hop in valid:
        mask = hops == hop
        root = np.where(mask & (j_dist == i_dist), norm, 0.0)
        close = np.where(mask & (j_dist > i_dist), norm, 0.0)
        further = np.where(mask & (j_dist < i_dist), norm, 0.0)
        if hop == 0:
            parts.append(root)
        else:
            parts.extend([root + close, further])
    return np.stack(parts).astype(np.float32)


def directed_edges(
    layout: SkeletonLayout | str,
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(inward, outward) links: inward points towards the centre.

    Links between two joints equally far from the centre (e.g. shoulder-shoulder) go both ways in
    both sets, so that no link of the layout is dropped.
    """
    layout = as_layout(layout)
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


def ctrgcn_graph(layout: SkeletonLayout | str) -> np.ndarray:
    """CTR-GCN's `(3, V, V)` graph: identity, normalised inward, normalised outward."""
    layout = as_layout(layout)
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


def hop_groups(layout: SkeletonLayout | str) -> list[list[int]]:
    """HD-GCN's joint groups around the centre of mass (`layout.center`).

    NTU-25: the reference's published CoM-21 groups (`PUBLISHED_HIERARCHIES`). Other layouts:
    joints grouped by hop distance from the centre, derived from the edges.
    """
    layout = as_layout(layout)
    if layout in PUBLISHED_HIERARCHIES:
        return [list(g) for g in PUBLISHED_HIERARCHIES[layout]]
    to_centre = _check_connected(layout)[:, layout.center].astype(int)
    return [np.flatnonzero(to_centre == d).tolist() for d in range(int(to_centre.max()) + 1)]


def check_groups(groups: Sequence[Sequence[int]], num_joints: int) -> list[list[int]]:
    """Groups as lists; every joint in exactly one group, at least two groups."""
    out = [[int(j) for j in g] for g in groups]
    flat = sorted(j for g in out for j in g)
    if flat != list(range(num_joints)):
        raise ValueError(f"hierarchy groups must hold each of the {num_joints} joints exactly once")
    if len(out) < 2 or not all(out):
        raise ValueError("HD-GCN needs at least two non-empty hierarchy groups")
    return out


def hierarchical_graph(
    layout: SkeletonLayout | str, groups: Sequence[Sequence[int]] | None = None
) -> np.ndarray:
    """HD-GCN's hierarchically decomposed graph `(L, 3, V, V)`, L = number of groups - 1.

    Level i links group i with group i+1: identity on both groups, fully connected forward edges
    (group i -> group i+1) and reverse edges (group i+1 -> group i), as in the reference
    `get_edgeset`. `groups` defaults to `hop_groups(layout)`.
    """
    layout = as_layout(layout)
    v = layout.num_joints
    groups = check_groups(hop_groups(layout) if groups is None else groups, v)
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
    return np.stack(levels).astype(np.float32)
