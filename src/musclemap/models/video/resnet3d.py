"""3D ResNet-50 family of PySlowFast: C2D, I3D, Slow and SlowFast (8x8 configs).

Input: video `(B, C, T, H, W)`. SlowFast takes both pathways from that one clip: the fast pathway
sees all T frames, the slow pathway T / alpha frames picked evenly (PySlowFast's `PackPathway`).

Module names follow PySlowFast (`s1.pathway0_stem.conv`, `s2.pathway0_res0.branch2.a`, ...) so
its `.pyth` checkpoints load with a near-identity key map (see `weights.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from musclemap.models._registry import register_model

# Temporal kernel sizes per stage (stem, res2..res5) and per pathway, cycled over a stage's blocks
# (PySlowFast `_TEMPORAL_KERNEL_BASIS`).
TEMPORAL_KERNELS: dict[str, list[list[list[int]]]] = {
    "c2d": [[[1]], [[1]], [[1]], [[1]], [[1]]],
    "i3d": [[[5]], [[3]], [[3, 1]], [[3, 1, 3, 1]], [[1, 3, 1]]],
    "slow": [[[1]], [[1]], [[1]], [[3]], [[3]]],
    "slowfast": [[[1], [5]], [[1], [3]], [[1], [3]], [[3], [3]], [[3], [3]]],
}
# Temporal max-pool after res2 per pathway (PySlowFast `_POOL1`).
POOL1: dict[str, list[int]] = {"c2d": [2], "i3d": [2], "slow": [1], "slowfast": [1, 1]}


class BottleneckTransform(nn.Module):
    """Tx1x1 -> 1x3x3 (strided) -> 1x1x1 convolutions, each followed by BN (ReLU on a, b)."""

    def __init__(
        self, *, dim_in: int, dim_out: int, dim_inner: int, temp_kernel: int, stride: int
    ) -> None:
        super().__init__()
        self.a = nn.Conv3d(
            dim_in, dim_inner, (temp_kernel, 1, 1), padding=(temp_kernel // 2, 0, 0), bias=False
        )
        self.a_bn = nn.BatchNorm3d(dim_inner)
        self.b = nn.Conv3d(
            dim_inner,
            dim_inner,
            (1, 3, 3),
            stride=(1, stride, stride),
            padding=(0, 1, 1),
            bias=False,
        )
        self.b_bn = nn.BatchNorm3d(dim_inner)
        self.c = nn.Conv3d(dim_inner, dim_out, 1, bias=False)
        self.c_bn = nn.BatchNorm3d(dim_out)
        self.c_bn.transform_final_bn = True  # type: ignore[assignment]  # zero-initialised
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.a_bn(self.a(x)))
        x = self.relu(self.b_bn(self.b(x)))
        return self.c_bn(self.c(x))


class ResBlock(nn.Module):
    """Bottleneck residual block with a projection shortcut when the shape changes."""

    def __init__(
        self, *, dim_in: int, dim_out: int, dim_inner: int, temp_kernel: int, stride: int
    ) -> None:
        super().__init__()
        if dim_in != dim_out or stride != 1:
            self.branch1 = nn.Conv3d(dim_in, dim_out, 1, stride=(1, stride, stride), bias=False)
            self.branch1_bn = nn.BatchNorm3d(dim_out)
        self.branch2 = BottleneckTransform(
            dim_in=dim_in,
            dim_out=dim_out,
            dim_inner=dim_inner,
            temp_kernel=temp_kernel,
            stride=stride,
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.branch1_bn(self.branch1(x)) if hasattr(self, "branch1") else x
        return self.relu(shortcut + self.branch2(x))


class ResStage(nn.Module):
    """One stage (res2..res5) for every pathway: attributes `pathway{p}_res{i}`."""

    def __init__(
        self,
        *,
        dims_in: Sequence[int],
        dims_out: Sequence[int],
        dims_inner: Sequence[int],
        temp_kernels: Sequence[Sequence[int]],
        stride: int,
        num_blocks: int,
    ) -> None:
        super().__init__()
        self.num_pathways = len(dims_in)
        self.num_blocks = num_blocks
        for p in range(self.num_pathways):
            kernels = (list(temp_kernels[p]) * num_blocks)[:num_blocks]
            for i in range(num_blocks):
                block = ResBlock(
                    dim_in=dims_in[p] if i == 0 else dims_out[p],
                    dim_out=dims_out[p],
                    dim_inner=dims_inner[p],
                    temp_kernel=kernels[i],
                    stride=stride if i == 0 else 1,
                )
                self.add_module(f"pathway{p}_res{i}", block)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for p, x in enumerate(xs):
            for i in range(self.num_blocks):
                x = getattr(self, f"pathway{p}_res{i}")(x)
            out.append(x)
        return out


class Stem(nn.Module):
    """Tx7x7 conv (spatial stride 2), BN, ReLU and a 1x3x3 max pool (stride 2)."""

    def __init__(self, *, dim_in: int, dim_out: int, temp_kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(
            dim_in,
            dim_out,
            (temp_kernel, 7, 7),
            stride=(1, 2, 2),
            padding=(temp_kernel // 2, 3, 3),
            bias=False,
        )
        self.bn = nn.BatchNorm3d(dim_out)
        self.relu = nn.ReLU(inplace=True)
        self.pool_layer = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool_layer(self.relu(self.bn(self.conv(x))))


class VideoStem(nn.Module):
    def __init__(
        self,
        *,
        dims_in: Sequence[int],
        dims_out: Sequence[int],
        temp_kernels: Sequence[Sequence[int]],
    ) -> None:
        super().__init__()
        self.num_pathways = len(dims_in)
        for p in range(self.num_pathways):
            stem = Stem(dim_in=dims_in[p], dim_out=dims_out[p], temp_kernel=temp_kernels[p][0])
            self.add_module(f"pathway{p}_stem", stem)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [getattr(self, f"pathway{p}_stem")(x) for p, x in enumerate(xs)]


class FuseFastToSlow(nn.Module):
    """Lateral connection: a strided temporal conv of the fast pathway, concatenated to the slow."""

    def __init__(self, *, dim_in: int, ratio: int, kernel: int, alpha: int) -> None:
        super().__init__()
        self.conv_f2s = nn.Conv3d(
            dim_in,
            dim_in * ratio,
            (kernel, 1, 1),
            stride=(alpha, 1, 1),
            padding=(kernel // 2, 0, 0),
            bias=False,
        )
        self.bn = nn.BatchNorm3d(dim_in * ratio)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        slow, fast = xs
        fuse = self.relu(self.bn(self.conv_f2s(fast)))
        return [torch.cat([slow, fuse], dim=1), fast]


class Head(nn.Module):
    """Global average pool of every pathway, concatenation, dropout, linear projection."""

    def __init__(self, *, dim_in: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.projection = nn.Linear(dim_in, num_classes)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.projection(self.dropout(feats))


class ResNet3D(nn.Module):
    """PySlowFast's 3D ResNet (one pathway: C2D/I3D/Slow) or SlowFast (two pathways).

    Args:
        arch: "c2d", "i3d", "slow" or "slowfast" (temporal kernels and pooling, see above).
        num_classes: Output logits.
        in_channels: Input channels (3 for RGB / RGB difference, 2 for optical flow).
        depths: Blocks per stage; (3, 4, 6, 3) is ResNet-50.
        width: Width per group (64 for ResNet-50); tests use a small value.
        alpha: SlowFast frame-rate ratio between the pathways.
        beta_inv: SlowFast channel ratio (fast pathway has width / beta_inv channels).
        fusion_ratio: Channel ratio of the fast-to-slow lateral convolutions.
        fusion_kernel: Temporal kernel of the lateral convolutions.
        dropout: Dropout before the classifier.
    """

    def __init__(
        self,
        *,
        arch: str,
        num_classes: int = 20,
        in_channels: int = 3,
        depths: Sequence[int] = (3, 4, 6, 3),
        width: int = 64,
        alpha: int = 4,
        beta_inv: int = 8,
        fusion_ratio: int = 2,
        fusion_kernel: int = 7,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if arch not in TEMPORAL_KERNELS:
            raise ValueError(f"unknown arch {arch!r}; expected one of {sorted(TEMPORAL_KERNELS)}")
        self.arch, self.alpha = arch, alpha
        kernels = TEMPORAL_KERNELS[arch]
        two = arch == "slowfast"
        self.num_pathways = 2 if two else 1
        ratio_dims = [1, beta_inv] if two else [1]
        # Slow pathway channels grow by what the lateral connections concatenate.
        extra = width // (beta_inv // fusion_ratio) if two else 0
        self.s1 = VideoStem(
            dims_in=[in_channels] * self.num_pathways,
            dims_out=[width // r for r in ratio_dims],
            temp_kernels=kernels[0],
        )
        if two:
            self.s1_fuse = FuseFastToSlow(
                dim_in=width // beta_inv, ratio=fusion_ratio, kernel=fusion_kernel, alpha=alpha
            )
        prev = [width // r for r in ratio_dims]  # each pathway's stem output channels
        extra_in = extra
        for stage, (n, stride) in enumerate(zip(depths, (1, 2, 2, 2), strict=True)):
            mult = 2**stage
            dims_out = [width * 4 * mult // r for r in ratio_dims]
            res = ResStage(
                dims_in=[prev[0] + extra_in, *prev[1:]],
                dims_out=dims_out,
                dims_inner=[width * mult // r for r in ratio_dims],
                temp_kernels=kernels[stage + 1],
                stride=stride,
                num_blocks=n,
            )
            self.add_module(f"s{stage + 2}", res)
            if two and stage < 3:
                fuse = FuseFastToSlow(
                    dim_in=dims_out[1], ratio=fusion_ratio, kernel=fusion_kernel, alpha=alpha
                )
                self.add_module(f"s{stage + 2}_fuse", fuse)
                extra_in = dims_out[1] * fusion_ratio
            prev = dims_out
        for p, t in enumerate(POOL1[arch]):
            self.add_module(f"pathway{p}_pool", nn.MaxPool3d((t, 1, 1), stride=(t, 1, 1)))
        self.num_features = sum(width * 32 // r for r in ratio_dims)
        self.head = Head(dim_in=self.num_features, num_classes=num_classes, dropout=dropout)
        self._init_weights()

    def _init_weights(self) -> None:
        # PySlowFast init: Kaiming-normal convs, BN gamma 1 (0 for each block's last BN so a
        # block starts as identity), linear std 0.01.
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.constant_(m.weight, 0.0 if getattr(m, "transform_final_bn", False) else 1.0)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)

    def pathways(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Split one clip `(B, C, T, H, W)` into the model's pathway inputs."""
        t = x.shape[2]
        if self.num_pathways == 1:
            pool = POOL1[self.arch][0]
            if t < pool:  # the temporal max-pool after res2 needs a whole window
                raise ValueError(f"{self.arch} needs at least {pool} frames, got {t}")
            return [x]
        if t < self.alpha or t % self.alpha:
            # The lateral convs stride the fast pathway by alpha: ceil(T / alpha) fast steps
            # meet T // alpha slow frames only when alpha divides T (PySlowFast's clips do).
            raise ValueError(
                f"SlowFast needs a clip length that is a multiple of alpha={self.alpha}, got {t}"
            )
        idx = torch.linspace(0, t - 1, t // self.alpha, device=x.device).long()
        return [x.index_select(2, idx), x]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features `(B, num_features)` of a clip `(B, C, T, H, W)`."""
        xs = self.s1(self.pathways(x))
        for stage in (2, 3, 4, 5):
            if self.num_pathways == 2:
                xs = getattr(self, f"s{stage - 1}_fuse")(xs)  # lateral fast -> slow
            xs = getattr(self, f"s{stage}")(xs)
            if stage == 2:
                xs = [getattr(self, f"pathway{p}_pool")(x) for p, x in enumerate(xs)]
        return torch.cat([x.mean(dim=(2, 3, 4)) for x in xs], dim=1)  # (B, num_features)

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        return self.head(feats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits `(B, num_classes)` of a clip `(B, C, T, H, W)`."""
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.head.projection = nn.Linear(self.num_features, num_classes)
        nn.init.normal_(self.head.projection.weight, std=0.01)
        nn.init.zeros_(self.head.projection.bias)


def _resnet(arch: str, **kw: object) -> ResNet3D:
    return ResNet3D(arch=arch, **kw)  # type: ignore[arg-type]


@register_model("c2d_r50")
def c2d_r50(
    *,
    num_classes: int = 20,
    in_channels: int = 3,
    width: int = 64,
    depths: Sequence[int] = (3, 4, 6, 3),
    dropout: float = 0.5,
) -> ResNet3D:
    """C2D ResNet-50: a 2D ResNet-50 applied per frame (1x7x7 stem, no temporal kernels)."""
    return _resnet(
        "c2d",
        num_classes=num_classes,
        in_channels=in_channels,
        width=width,
        depths=depths,
        dropout=dropout,
    )


@register_model("i3d_r50")
def i3d_r50(
    *,
    num_classes: int = 20,
    in_channels: int = 3,
    width: int = 64,
    depths: Sequence[int] = (3, 4, 6, 3),
    dropout: float = 0.5,
) -> ResNet3D:
    """I3D ResNet-50 (PySlowFast I3D_8x8_R50): 5x7x7 stem, alternating 3x1x1 kernels."""
    return _resnet(
        "i3d",
        num_classes=num_classes,
        in_channels=in_channels,
        width=width,
        depths=depths,
        dropout=dropout,
    )


@register_model("slow_r50")
def slow_r50(
    *,
    num_classes: int = 20,
    in_channels: int = 3,
    width: int = 64,
    depths: Sequence[int] = (3, 4, 6, 3),
    dropout: float = 0.5,
) -> ResNet3D:
    """Slow-only ResNet-50 (PySlowFast SLOW_8x8_R50): temporal kernels in res4 and res5 only."""
    return _resnet(
        "slow",
        num_classes=num_classes,
        in_channels=in_channels,
        width=width,
        depths=depths,
        dropout=dropout,
    )


@register_model("slowfast_r50")
def slowfast_r50(
    *,
    num_classes: int = 20,
    in_channels: int = 3,
    width: int = 64,
    depths: Sequence[int] = (3, 4, 6, 3),
    alpha: int = 4,
    beta_inv: int = 8,
    dropout: float = 0.5,
) -> ResNet3D:
    """SlowFast ResNet-50 (PySlowFast SLOWFAST_8x8_R50: alpha 4, beta 1/8, fusion 2x, kernel 7)."""
    return _resnet(
        "slowfast",
        num_classes=num_classes,
        in_channels=in_channels,
        width=width,
        depths=depths,
        alpha=alpha,
        beta_inv=beta_inv,
        dropout=dropout,
    )


@register_model("slowfast_test")
def slowfast_test(*, num_classes: int = 20, in_channels: int = 3) -> ResNet3D:
    """Tiny SlowFast (width 8, one block per stage) for fast tests."""
    return _resnet(
        "slowfast", num_classes=num_classes, in_channels=in_channels, width=8, depths=(1, 1, 1, 1)
    )


@register_model("i3d_test")
def i3d_test(*, num_classes: int = 20, in_channels: int = 3) -> ResNet3D:
    """Tiny I3D (width 8, one or two blocks per stage) for fast tests."""
    return _resnet(
        "i3d", num_classes=num_classes, in_channels=in_channels, width=8, depths=(1, 2, 1, 2)
    )
