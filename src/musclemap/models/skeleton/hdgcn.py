"""HD-GCN (Lee et al., "Hierarchically Decomposed Graph Convolutional Networks for Skeleton-Based
Action Recognition", ICCV 2023), as a multi-label model.

Input pose `(B, M, T, V, C)`; output logits `(B, num_classes)`. Every spatial unit convolves over
the hierarchically decomposed graph (`graph.hierarchical_graph`: one identity / forward / reverse
graph per pair of adjacent hop groups around the centre of mass, plus an EdgeConv branch over the
k nearest joints in feature space); blocks 2-10 combine the levels with attention-guided hierarchy
aggregation (AHA). Temporal units as CTR-GCN. Official configuration (joint stream, CoM 21 = six
levels on NTU-25, the published groups): 1,649,700 parameters on NTU-25 with `num_person=2`.
Released checkpoints: `musclemap.models.skeleton.weights`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from musclemap.models._registry import register_model
from musclemap.models.skeleton.backbone import SkeletonBackbone, block_channels
from musclemap.models.skeleton.ctrgcn import TCNGCNBlock, init_gcn_unit
from musclemap.models.skeleton.graph import check_groups, hierarchical_graph, hop_groups
from musclemap.skeleton import COCO17, SkeletonLayout, as_layout


def knn_graph_features(x: torch.Tensor, k: int) -> torch.Tensor:
    """DGCNN edge features of the k nearest points in feature space.

    Args:
        x: (N, C, P) point features.
        k: neighbours per point (clamped to P).

    Returns:
        (N, 2C, P, k): concatenation of (neighbour - point, point).
    """
    n, c, p = x.shape
    k = min(k, p)
    inner = torch.matmul(x.transpose(2, 1), x)  # (N, P, P)
    sq = (x**2).sum(dim=1, keepdim=True)  # (N, 1, P)
    neg_dist = 2 * inner - sq - sq.transpose(2, 1)  # -||xi - xj||^2
    idx = neg_dist.topk(k=k, dim=-1)[1]  # (N, P, k)
    pts = x.transpose(1, 2)  # (N, P, C)
    # Index on the points' own device (the reference's x.get_device() breaks on CPU).
    neighbours = torch.gather(
        pts.unsqueeze(1).expand(n, p, p, c), 2, idx.unsqueeze(-1).expand(n, p, k, c)
    )  # (N, P, k, C)
    centre = pts.unsqueeze(2).expand(n, p, k, c)
    feat = torch.cat([neighbours - centre, centre], dim=3)  # (N, P, k, 2C)
    return feat.permute(0, 3, 1, 2)  # (N, 2C, P, k)


class EdgeConv(nn.Module):
    """1x1 conv + BN + LeakyReLU on kNN edge features, max over neighbours."""

    def __init__(self, cin: int, cout: int, k: int) -> None:
        super().__init__()
        self.k = k
        self.conv = nn.Sequential(
            nn.Conv2d(cin * 2, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2, inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> (N, C', T, V) (time-averaged, repeated), or (N, C, P) -> (N, C', P)."""
        frames = x.shape[2] if x.dim() == 4 else 0
        pts = x.mean(dim=2) if x.dim() == 4 else x  # (N, C, P)
        y = self.conv(knn_graph_features(pts, self.k)).max(dim=-1)[0]  # (N, C', P)
        return y.unsqueeze(2).expand(-1, -1, frames, -1) if frames else y


class AHA(nn.Module):
    """Attention-guided hierarchy aggregation: weigh L levels by an EdgeConv over level summaries.

    Args:
        channels: C of the level outputs.
        groups: hop groups of the layout; level i summarises joints of groups i and i+1.
    """

    def __init__(self, channels: int, groups: list[list[int]]) -> None:
        super().__init__()
        self.levels = [groups[i] + groups[i + 1] for i in range(len(groups) - 1)]
        inter = channels // 4
        self.conv_down = nn.Sequential(
            nn.Conv2d(channels, inter, 1), nn.BatchNorm2d(inter), nn.ReLU(inplace=True)
        )
        self.edge_conv = EdgeConv(inter, inter, k=3)
        self.aggregate = nn.Conv1d(inter, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, num_levels = x.shape[:3]  # (N, C, L, T, V)
        s = self.conv_down(x.max(dim=3)[0])  # (N, C/4, L, V)
        summary = torch.stack(
            [s[:, :, i, self.levels[i]].mean(dim=-1) for i in range(num_levels)], dim=2
        )  # (N, C/4, L)
        att = self.aggregate(self.edge_conv(summary)).view(n, c, num_levels, 1, 1)
        return (x * torch.sigmoid(att)).sum(dim=2)  # (N, C, T, V)


class HDGConv(nn.Module):
    """Spatial unit over the hierarchical graph `a (L, 3, V, V)`: per level, a 1x1 reduction, three
    graph convolutions (identity / forward / reverse) and an EdgeConv branch, concatenated; levels
    merged by AHA (or summed in the first block)."""

    def __init__(
        self, cin: int, cout: int, a: torch.Tensor, groups: list[list[int]], *, att: bool
    ) -> None:
        super().__init__()
        self.num_levels, self.num_subsets = a.shape[:2]
        inter = cout // (self.num_subsets + 1)
        self.pa = nn.Parameter(a.clone())
        self.conv_down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(cin, inter, 1), nn.BatchNorm2d(inter), nn.ReLU(inplace=True))
            for _ in range(self.num_levels)
        )
        self.conv = nn.ModuleList(
            nn.ModuleList(
                [
                    nn.Sequential(nn.Conv2d(inter, inter, 1), nn.BatchNorm2d(inter))
                    for _ in range(self.num_subsets)
                ]
                + [EdgeConv(inter, inter, k=5)]
            )
            for _ in range(self.num_levels)
        )
        self.aha = AHA(cout, groups) if att else None
        self.down: nn.Module = (
            nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))
            if cin != cout
            else nn.Identity()
        )
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        init_gcn_unit(self, out_bn=self.bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = []
        for i, (down, convs) in enumerate(zip(self.conv_down, self.conv, strict=True)):
            xd = down(x)  # (N, C', T, V)
            branches = cast(nn.ModuleList, convs)  # one ModuleList per level
            ys = [
                branches[j](torch.einsum("nctu,vu->nctv", xd, self.pa[i, j]))
                for j in range(self.num_subsets)
            ]
            ys.append(branches[-1](xd))
            out.append(torch.cat(ys, dim=1))  # (N, C_out, T, V)
        y = torch.stack(out, dim=2)  # (N, C_out, L, T, V)
        y = self.aha(y) if self.aha is not None else y.sum(dim=2)
        return self.relu(self.bn(y) + self.down(x))


@register_model("hdgcn")
def hdgcn(
    *,
    num_classes: int = 20,
    layout: SkeletonLayout | str = COCO17,
    in_channels: int = 3,
    base_channels: int = 64,
    num_person: int = 1,
    drop_out: float = 0.0,
    num_cls_tokens: int = 0,
    num_kd_tokens: int = 0,
    groups: Sequence[Sequence[int]] | None = None,
) -> SkeletonBackbone:
    """HD-GCN over the hierarchy of joint groups around the layout's centre of mass.

    Args:
        num_classes: outputs (20 muscle groups).
        layout: skeleton layout or its name. NTU-25 uses the reference's published CoM-21 groups,
            other layouts hop groups around `layout.center` derived from the edges; levels =
            groups - 1.
        in_channels: 3 for (x, y, score) or (x, y, z).
        base_channels: width of the first blocks (64 in the reference; smaller for tests).
        num_person: M of the input (the input BN is sized M*V*C, as the reference).
        drop_out: dropout before the head.
        num_cls_tokens: > 0 builds the MCT variant (paper: 20, the TransM3E skeleton branch).
        num_kd_tokens: distillation tokens of the MCT variant (0, 1 or 20).
        groups: explicit joint groups (0-based, nearest the centre first) instead of the above,
            e.g. the reference's CoM-1 or CoM-2 hierarchies.
    """
    layout = as_layout(layout)
    groups = check_groups(hop_groups(layout) if groups is None else groups, layout.num_joints)
    a = torch.from_numpy(hierarchical_graph(layout, groups))
    plan = block_channels(in_channels, base_channels)
    blocks: list[nn.Module] = [
        TCNGCNBlock(HDGConv(cin, cout, a, groups, att=i > 0), cin, cout, stride=s, residual=i > 0)
        for i, (cin, cout, s) in enumerate(plan)
    ]
    return SkeletonBackbone(
        blocks=blocks,
        dims=[p[1] for p in plan],
        num_classes=num_classes,
        num_joints=layout.num_joints,
        in_channels=in_channels,
        num_person=num_person,
        person_bn=True,
        drop_out=drop_out,
        num_cls_tokens=num_cls_tokens,
        num_kd_tokens=num_kd_tokens,
    )
