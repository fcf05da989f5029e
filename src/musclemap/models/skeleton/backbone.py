"""The frame shared by ST-GCN, CTR-GCN and HD-GCN: input norm, 10 blocks, pooling, linear head.

Input pose `(B, M, T, V, C)` (M persons, V joints, C channels: x, y, score or x, y, z). Output
multi-label logits `(B, num_classes)` (no sigmoid). With multi-classification tokens
(`num_cls_tokens > 0`) the tokens join after the first block, travel through every block
(`mct.TokenMixer`) and the head reads the mean of the classification tokens (paper Sec. IV-B).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from musclemap.models.skeleton.mct import MultiClassTokens
from musclemap.models.tokens import TokenOutput

# (in, out, stride) multipliers of the base width for the 10 blocks of all three references.
BLOCK_PLAN: tuple[tuple[int, int, int], ...] = (
    (0, 1, 1),
    (1, 1, 1),
    (1, 1, 1),
    (1, 1, 1),
    (1, 2, 2),
    (2, 2, 1),
    (2, 2, 1),
    (2, 4, 2),
    (4, 4, 1),
    (4, 4, 1),
)


def block_channels(in_channels: int, base: int = 64) -> list[tuple[int, int, int]]:
    """(in, out, stride) of each block; multiplier 0 means the input channels."""
    return [(in_channels if a == 0 else a * base, b * base, s) for a, b, s in BLOCK_PLAN]


class SkeletonBackbone(nn.Module):
    """Blocks mapping `(N, C, T, V) -> (N, C', T', V)` wrapped with input norm, MCT and head.

    Args:
        blocks: the 10 GCN blocks.
        dims: output channels of each block.
        num_classes: outputs of the head.
        num_joints: V.
        in_channels: C of the input.
        num_person: persons the input norm is sized for (CTR-GCN / HD-GCN normalise M*V*C
            features jointly); ignored when `person_bn` is False.
        person_bn: True: BatchNorm1d over M*V*C (CTR-GCN, HD-GCN); False: over V*C with persons
            folded into the batch (ST-GCN).
        drop_out: dropout before the head.
        num_cls_tokens: 0 (plain model) or the number of classification tokens (MCT).
        num_kd_tokens: distillation tokens travelling with the MCT.
    """

    def __init__(
        self,
        *,
        blocks: list[nn.Module],
        dims: list[int],
        num_classes: int,
        num_joints: int,
        in_channels: int,
        num_person: int,
        person_bn: bool,
        drop_out: float = 0.0,
        num_cls_tokens: int = 0,
        num_kd_tokens: int = 0,
    ) -> None:
        super().__init__()
        if num_kd_tokens and not num_cls_tokens:
            raise ValueError("num_kd_tokens needs num_cls_tokens > 0 (MCT)")
        self.num_joints = num_joints
        self.in_channels = in_channels
        self.num_person = num_person if person_bn else 1
        self.person_bn = person_bn
        self.data_bn = nn.BatchNorm1d(self.num_person * in_channels * num_joints)
        nn.init.constant_(self.data_bn.weight, 1.0)
        nn.init.constant_(self.data_bn.bias, 0.0)
        self.blocks = nn.ModuleList(blocks)
        self.strides = [getattr(b, "stride", 1) for b in blocks]
        self.num_features = dims[-1]
        self.mct = (
            MultiClassTokens(
                dims=dims,
                num_joints=num_joints,
                num_cls_tokens=num_cls_tokens,
                num_kd_tokens=num_kd_tokens,
            )
            if num_cls_tokens
            else None
        )
        self.drop = nn.Dropout(drop_out) if drop_out > 0 else nn.Identity()
        self.head = nn.Linear(dims[-1], num_classes)
        nn.init.normal_(self.head.weight, 0.0, math.sqrt(2.0 / num_classes))
        nn.init.zeros_(self.head.bias)

    def _normalize_input(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"expected pose (B, M, T, V, C), got shape {tuple(x.shape)}")
        b, m, t, v, c = x.shape
        if v != self.num_joints or c != self.in_channels:
            raise ValueError(
                f"expected {self.num_joints} joints x {self.in_channels} channels, got {v} x {c}"
            )
        if self.person_bn and m != self.num_person:
            raise ValueError(f"model built for num_person={self.num_person}, input has M={m}")
        groups = b if self.person_bn else b * m
        x = x.permute(0, 1, 3, 4, 2).reshape(groups, -1, t)  # (B, M*V*C, T) or (B*M, V*C, T)
        x = self.data_bn(x)
        x = x.reshape(b, m, v, c, t).permute(0, 1, 3, 4, 2)  # (B, M, C, T, V)
        return x.reshape(b * m, c, t, v)  # (B*M, C, T, V)

    def _run(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Blocks (+ MCT). Returns pooled nodes (B, D), cls tokens and kd tokens per block."""
        b, m = x.shape[:2]
        z = self._normalize_input(x)  # (B*M, C, T, V)
        cls_all: list[torch.Tensor] = []
        kd_all: list[torch.Tensor] = []
        cls = kd = None
        for i, block in enumerate(self.blocks):
            z = block(z)  # (B*M, C_i, T_i, V)
            if self.mct is None:
                continue
            if i == 0:
                cls, kd = self.mct.initial(z.shape[0])
            z, cls, kd = self.mct.mixers[i](z, cls, kd)
            cls_all.append(cls.reshape(b, m, *cls.shape[1:]).mean(1))  # (B, N_cls, C_i)
            if kd is not None:
                kd_all.append(kd.reshape(b, m, *kd.shape[1:]).mean(1))  # (B, N_kd, C_i)
        pooled = z.reshape(b, m, z.shape[1], -1).mean(3).mean(1)  # (B, D)
        return pooled, cls_all, kd_all

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pose (B, M, T, V, C) -> the (B, D) vector the head reads.

        Without MCT: nodes averaged over time, joints and persons; with MCT: the mean of the
        final classification tokens.
        """
        pooled, cls_all, _ = self._run(x)
        return cls_all[-1].mean(1) if self.mct is not None else pooled

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(feats))  # (B, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def forward_tokens(self, x: torch.Tensor) -> TokenOutput:
        """The MCT of every block (interface `musclemap.models.tokens.TokenOutput`)."""
        if self.mct is None:
            raise RuntimeError("forward_tokens needs a model built with num_cls_tokens > 0")
        _, cls_all, kd_all = self._run(x)
        last = len(self.blocks) - 1
        reduction = tuple(i for i, s in enumerate(self.strides) if s > 1 and i != last) + (last,)
        return TokenOutput(
            cls=cls_all[-1],
            kd=kd_all[-1] if kd_all else None,
            kd_per_block=kd_all,
            reduction_blocks=reduction,
            cls_per_block=cls_all,
        )

    def reset_classifier(self, num_classes: int) -> None:
        self.head = nn.Linear(self.num_features, num_classes)
