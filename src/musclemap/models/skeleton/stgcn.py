"""ST-GCN (Yan et al., "Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action
Recognition", AAAI 2018), as a multi-label model.

Input pose `(B, M, T, V, C)`; output logits `(B, num_classes)`. Ten st-gcn blocks (64, 64, 64, 64,
128/2, 128, 128, 256/2, 256, 256), temporal kernel 9, edge importance weighting, the partition
strategy of the original (uniform / distance / spatial, equal to the reference code; plus
spatial_paper). Uniform is the default: its 2,635,268 parameters on COCO-17 (2,635,624 on
OpenPose-18) are the paper's 2.6M. Released checkpoints: `musclemap.models.skeleton.weights`.
"""

from __future__ import annotations

import torch
from torch import nn

from musclemap.models._registry import register_model
from musclemap.models.skeleton.backbone import SkeletonBackbone, block_channels
from musclemap.models.skeleton.graph import Strategy, stgcn_partitions
from musclemap.skeleton import COCO17, SkeletonLayout, as_layout


class GraphConv(nn.Module):
    """ConvTemporalGraphical: a 1x1 conv to K partitions, then aggregation with `A (K, V, V)`."""

    def __init__(self, in_channels: int, out_channels: int, num_partitions: int) -> None:
        super().__init__()
        self.k = num_partitions
        self.conv = nn.Conv2d(in_channels, out_channels * num_partitions, kernel_size=1)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)  # (N, K*C, T, V)
        n, kc, t, v = x.shape
        x = x.view(n, self.k, kc // self.k, t, v)
        return torch.einsum("nkctv,kvw->nctw", x, a)  # (N, C, T, V)


class STGCNBlock(nn.Module):
    """Spatial graph conv, then BN-ReLU-temporal conv (9x1)-BN-dropout, plus a residual.

    The block owns its edge-importance mask (one (K, V, V) parameter per block, as the original's
    `edge_importance` list) and a copy of the fixed partitioned adjacency as a buffer.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        a: torch.Tensor,
        *,
        stride: int = 1,
        residual: bool = True,
        dropout: float = 0.0,
        edge_importance: bool = True,
        temporal_kernel: int = 9,
    ) -> None:
        super().__init__()
        self.stride = stride
        self.register_buffer("a", a.clone(), persistent=False)
        self.importance = nn.Parameter(torch.ones_like(a)) if edge_importance else None
        self.gcn = GraphConv(in_channels, out_channels, a.shape[0])
        pad = (temporal_kernel - 1) // 2
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (temporal_kernel, 1), (stride, 1), (pad, 0)),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout),
        )
        self.residual: nn.Module | None
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)),
                nn.BatchNorm2d(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a: torch.Tensor = self.a  # type: ignore[assignment]  # a registered buffer
        if self.importance is not None:
            a = a * self.importance
        res = 0 if self.residual is None else self.residual(x)
        return self.relu(self.tcn(self.gcn(x, a)) + res)  # (N, C_out, T / stride, V)


def _init_weights(m: nn.Module) -> None:
    # The original's weights_init: N(0, 0.02) convolutions, N(1, 0.02) batch-norm scales.
    if isinstance(m, nn.Conv2d | nn.Conv1d):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


@register_model("stgcn")
def stgcn(
    *,
    num_classes: int = 20,
    layout: SkeletonLayout | str = COCO17,
    in_channels: int = 3,
    base_channels: int = 64,
    strategy: Strategy = "uniform",
    max_hop: int = 1,
    edge_importance: bool = True,
    dropout: float = 0.0,
    num_cls_tokens: int = 0,
    num_kd_tokens: int = 0,
) -> SkeletonBackbone:
    """ST-GCN.

    Args:
        num_classes: outputs (20 muscle groups).
        layout: skeleton layout or its name; the graph comes from its edges and centre.
        in_channels: 3 for (x, y, score) or (x, y, z).
        base_channels: width of the first blocks (64 in the reference; smaller for tests).
        strategy: partition strategy: "uniform" (default), "distance", "spatial" (the reference
            code, with its released checkpoints) or "spatial_paper" (the paper's wording; see
            `graph.stgcn_partitions`).
        max_hop: neighbourhood radius of the graph.
        edge_importance: learn a mask over the adjacency of every block (the original's default).
        dropout: dropout inside the temporal units (not in the first block, as the original).
        num_cls_tokens: > 0 builds the MCT variant (paper: 20).
        num_kd_tokens: distillation tokens of the MCT variant (0, 1 or 20).
    """
    layout = as_layout(layout)
    a = torch.from_numpy(stgcn_partitions(layout, strategy, max_hop=max_hop))
    blocks: list[nn.Module] = []
    plan = block_channels(in_channels, base_channels)
    for i, (cin, cout, stride) in enumerate(plan):
        blocks.append(
            STGCNBlock(
                cin,
                cout,
                a,
                stride=stride,
                residual=i > 0,
                dropout=dropout if i > 0 else 0.0,
                edge_importance=edge_importance,
            )
        )
    model = SkeletonBackbone(
        blocks=blocks,
        dims=[p[1] for p in plan],
        num_classes=num_classes,
        num_joints=layout.num_joints,
        in_channels=in_channels,
        num_person=1,
        person_bn=False,
        num_cls_tokens=num_cls_tokens,
        num_kd_tokens=num_kd_tokens,
    )
    for block in model.blocks:
        block.apply(_init_weights)
    return model
