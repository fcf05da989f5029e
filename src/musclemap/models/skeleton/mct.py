"""Multi-classification tokens (MCT) for graph convolutional backbones (paper Sec. IV-B, Fig. 4).

After each GCN block the spatio-temporal nodes z (flattened), the classification tokens cls_m and
the distillation tokens cls_r are concatenated along the node axis, projected by one linear layer
P_m and split again (Eq. 1); then the nodes are merged into the classification tokens,
cls_m <- P_s(z) + cls_m (Eq. 2). Nodes and both token sets go on to the next block.

The paper leaves P_s's form open. Here it mixes the (time-averaged) joints into one slot per token
with a learned V -> N_cls linear map followed by a channel projection: it is independent of the
clip length and lets every token attend to its own joints (muscle groups are local to body parts).
"""

from __future__ import annotations

import torch
from torch import nn


class TokenMixer(nn.Module):
    """One MCT step after a GCN block: Eq. 1 (concatenate, P_m, split) and Eq. 2 (P_s merge).

    Args:
        in_dim: token width before this block (the previous block's channels).
        dim: channels of this block's output nodes.
        num_joints: V.
        num_cls_tokens: number of classification tokens (paper: 20, one per muscle group).
    """

    def __init__(self, *, in_dim: int, dim: int, num_joints: int, num_cls_tokens: int) -> None:
        super().__init__()
        # Tokens follow the nodes' width when a block widens the features (64 -> 128 -> 256).
        self.transition: nn.Module = nn.Linear(in_dim, dim) if in_dim != dim else nn.Identity()
        self.pm = nn.Linear(dim, dim)
        self.ps_nodes = nn.Linear(num_joints, num_cls_tokens)
        self.ps_proj = nn.Linear(dim, dim)
        # P_m starts as the identity so that adding MCT leaves the GCN's node path unchanged at
        # initialisation (the backbone then trains like its token-free counterpart).
        nn.init.eye_(self.pm.weight)
        nn.init.zeros_(self.pm.bias)

    def forward(
        self, z: torch.Tensor, cls: torch.Tensor, kd: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        n, c, t, v = z.shape  # (N, C, T, V)
        cls = self.transition(cls)  # (N, N_cls, C)
        kd = None if kd is None else self.transition(kd)  # (N, N_kd, C)
        nodes = z.flatten(2).transpose(1, 2)  # (N, T*V, C)
        parts = [nodes, cls] + ([] if kd is None else [kd])
        seq = self.pm(torch.cat(parts, dim=1))  # Eq. 1: Pm(Cat(z, cls_m, cls_r))
        sizes = [p.shape[1] for p in parts]
        split = torch.split(seq, sizes, dim=1)
        z = split[0].transpose(1, 2).reshape(n, c, t, v)  # (N, C, T, V)
        cls = split[1]
        kd = split[2] if kd is not None else None
        merged = self.ps_nodes(z.mean(dim=2)).transpose(1, 2)  # (N, N_cls, C)
        cls = self.ps_proj(merged) + cls  # Eq. 2
        return z, cls, kd


class MultiClassTokens(nn.Module):
    """The learned initial tokens plus one `TokenMixer` per block.

    Args:
        dims: output channels of every block (tokens join after the first block).
        num_joints: V.
        num_cls_tokens: classification tokens (> 0).
        num_kd_tokens: distillation tokens (0, 1 or num_cls_tokens in the paper's variants).
    """

    def __init__(
        self, *, dims: list[int], num_joints: int, num_cls_tokens: int, num_kd_tokens: int
    ) -> None:
        super().__init__()
        if num_cls_tokens <= 0:
            raise ValueError("MCT needs num_cls_tokens > 0")
        if num_kd_tokens < 0:
            raise ValueError("num_kd_tokens must be >= 0")
        self.num_kd_tokens = num_kd_tokens
        self.cls_init = nn.Parameter(torch.zeros(num_cls_tokens, dims[0]))
        self.kd_init = nn.Parameter(torch.zeros(num_kd_tokens, dims[0])) if num_kd_tokens else None
        nn.init.trunc_normal_(self.cls_init, std=0.02)
        if self.kd_init is not None:
            nn.init.trunc_normal_(self.kd_init, std=0.02)
        prev = [dims[0], *dims[:-1]]
        self.mixers = nn.ModuleList(
            TokenMixer(in_dim=p, dim=d, num_joints=num_joints, num_cls_tokens=num_cls_tokens)
            for p, d in zip(prev, dims, strict=True)
        )

    def initial(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Tokens for a batch of `n` graphs: (n, N_cls, D0) and (n, N_kd, D0) or None."""
        cls = self.cls_init.unsqueeze(0).expand(n, -1, -1)
        kd = None if self.kd_init is None else self.kd_init.unsqueeze(0).expand(n, -1, -1)
        return cls, kd
