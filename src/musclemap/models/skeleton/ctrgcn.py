"""CTR-GCN (Chen et al., "Channel-wise Topology Refinement Graph Convolution for Skeleton-Based
Action Recognition", ICCV 2021), as a multi-label model.

Input pose `(B, M, T, V, C)`; output logits `(B, num_classes)`. Ten TCN-GCN units; each spatial
unit refines a shared learnable topology (identity / inward / outward, from the layout's edges)
per channel (CTR-GC), each temporal unit is the multi-scale temporal convolution (kernel 5,
dilations 1 and 2, a max-pool and a 1x1 branch). 1,426,216 parameters on COCO-17 with
`num_person=2` as in the reference (1,426,114 with our default of one person).
"""

from __future__ import annotations

import torch
from torch import nn

from musclemap.models._registry import register_model
from musclemap.models.skeleton.backbone import SkeletonBackbone, block_channels
from musclemap.models.skeleton.graph import ctrgcn_graph
from musclemap.skeleton import COCO17, SkeletonLayout, as_layout


def conv_init(conv: nn.Conv1d | nn.Conv2d) -> None:
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def bn_init(bn: nn.BatchNorm1d | nn.BatchNorm2d, scale: float) -> None:
    nn.init.constant_(bn.weight, scale)
    nn.init.zeros_(bn.bias)


def init_gcn_unit(unit: nn.Module, *, out_bn: nn.BatchNorm2d) -> None:
    """Kaiming convs and unit BN scales, with the unit's output BN near zero (as the references)."""
    for m in unit.modules():
        if isinstance(m, nn.Conv2d | nn.Conv1d):
            conv_init(m)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            bn_init(m, 1.0)
    bn_init(out_bn, 1e-6)


class TemporalConv(nn.Module):
    """(kernel x 1) temporal convolution with dilation, then BN."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        pad = (kernel + (kernel - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(
            cin, cout, (kernel, 1), padding=(pad, 0), stride=(stride, 1), dilation=(dilation, 1)
        )
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class MultiScaleTemporalConv(nn.Module):
    """Branches: one dilated temporal conv per dilation, a 3x1 max-pool branch and a 1x1 branch."""

    def __init__(
        self,
        cin: int,
        cout: int,
        *,
        kernel: int = 5,
        stride: int = 1,
        dilations: tuple[int, ...] = (1, 2),
    ) -> None:
        super().__init__()
        nb = len(dilations) + 2
        if cout % nb:
            raise ValueError(f"out channels {cout} must be a multiple of {nb} branches")
        bc = cout // nb

        def entry() -> list[nn.Module]:
            return [nn.Conv2d(cin, bc, 1), nn.BatchNorm2d(bc), nn.ReLU(inplace=True)]

        branches: list[nn.Module] = [
            nn.Sequential(*entry(), TemporalConv(bc, bc, kernel, stride, d)) for d in dilations
        ]
        branches.append(
            nn.Sequential(*entry(), nn.MaxPool2d((3, 1), (stride, 1), (1, 0)), nn.BatchNorm2d(bc))
        )
        branches.append(
            nn.Sequential(nn.Conv2d(cin, bc, 1, stride=(stride, 1)), nn.BatchNorm2d(bc))
        )
        self.branches = nn.ModuleList(branches)
        for m in self.modules():  # the references' weights_init
            if isinstance(m, nn.Conv2d):
                conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)  # (N, C_out, T / stride, V)


class UnitTCN(nn.Module):
    """Strided 1x1 conv + BN: the unit-level residual when width or length changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, stride=(stride, 1))
        self.bn = nn.BatchNorm2d(cout)
        conv_init(self.conv)
        bn_init(self.bn, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class CTRGC(nn.Module):
    """Channel-wise topology refinement: A + alpha * per-channel correlation of joint embeddings."""

    def __init__(self, cin: int, cout: int, rel_reduction: int = 8) -> None:
        super().__init__()
        rel = 8 if cin in (3, 9) else cin // rel_reduction
        self.conv1 = nn.Conv2d(cin, rel, 1)
        self.conv2 = nn.Conv2d(cin, rel, 1)
        self.conv3 = nn.Conv2d(cin, cout, 1)
        self.conv4 = nn.Conv2d(rel, cout, 1)

    def forward(self, x: torch.Tensor, a: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        q, k, val = self.conv1(x).mean(-2), self.conv2(x).mean(-2), self.conv3(x)  # (N, R, V)
        rel = torch.tanh(q.unsqueeze(-1) - k.unsqueeze(-2))  # (N, R, V, V)
        topo = self.conv4(rel) * alpha + a[None, None]  # (N, C, V, V)
        return torch.einsum("ncuv,nctv->nctu", topo, val)  # (N, C, T, V)


class CTRGCNUnit(nn.Module):
    """Spatial unit: one CTR-GC per subset of the learnable graph, summed, BN, residual, ReLU."""

    def __init__(self, cin: int, cout: int, a: torch.Tensor) -> None:
        super().__init__()
        self.convs = nn.ModuleList(CTRGC(cin, cout) for _ in range(a.shape[0]))
        self.down: nn.Module = (
            nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))
            if cin != cout
            else nn.Identity()
        )
        self.pa = nn.Parameter(a.clone())
        self.alpha = nn.Parameter(torch.zeros(1))
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        init_gcn_unit(self, out_bn=self.bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = sum(conv(x, self.pa[i], self.alpha) for i, conv in enumerate(self.convs))
        return self.relu(self.bn(y) + self.down(x))  # (N, C_out, T, V)


class TCNGCNBlock(nn.Module):
    """A spatial unit followed by the multi-scale temporal unit, with a block residual."""

    def __init__(
        self, gcn: nn.Module, cin: int, cout: int, *, stride: int = 1, residual: bool = True
    ) -> None:
        super().__init__()
        self.stride = stride
        self.gcn = gcn
        self.tcn = MultiScaleTemporalConv(cout, cout, stride=stride)
        self.relu = nn.ReLU(inplace=True)
        self.residual: nn.Module | None
        if not residual:
            self.residual = None
        elif cin == cout and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = UnitTCN(cin, cout, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = 0 if self.residual is None else self.residual(x)
        return self.relu(self.tcn(self.gcn(x)) + res)


@register_model("ctrgcn")
def ctrgcn(
    *,
    num_classes: int = 20,
    layout: SkeletonLayout | str = COCO17,
    in_channels: int = 3,
    base_channels: int = 64,
    num_person: int = 1,
    drop_out: float = 0.0,
    num_cls_tokens: int = 0,
    num_kd_tokens: int = 0,
) -> SkeletonBackbone:
    """CTR-GCN.

    Args:
        num_classes: outputs (20 muscle groups).
        layout: skeleton layout or its name; the graph comes from its edges and centre.
        in_channels: 3 for (x, y, score) or (x, y, z).
        base_channels: width of the first blocks (64 in the reference; smaller for tests).
        num_person: M of the input (the input BN is sized M*V*C, as the reference).
        drop_out: dropout before the head.
        num_cls_tokens: > 0 builds the MCT variant (paper: 20).
        num_kd_tokens: distillation tokens of the MCT variant (0, 1 or 20).
    """
    layout = as_layout(layout)
    a = torch.from_numpy(ctrgcn_graph(layout))
    plan = block_channels(in_channels, base_channels)
    blocks: list[nn.Module] = [
        TCNGCNBlock(CTRGCNUnit(cin, cout, a), cin, cout, stride=s, residual=i > 0)
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
