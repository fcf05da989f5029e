"""The token interface shared by backbones with multi-classification tokens (paper Sec. IV-B).

A backbone built with MCT (`num_cls_tokens=20`, optionally `num_kd_tokens=20`) implements
`forward_tokens(x) -> TokenOutput`; TransM3E distils and fuses through this interface only, so the
video (MViTv2) and skeleton (HD-GCN) branches stay interchangeable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class TokenOutput:
    cls: torch.Tensor  # (B, N_cls, D) classification tokens after the last block (pre-head norm)
    kd: torch.Tensor | None = None  # (B, N_kd, D) distillation tokens after the last block
    # Distillation tokens after every block, (B, N_kd, D_i) each; empty without KD tokens.
    kd_per_block: list[torch.Tensor] = field(default_factory=list)
    # Indices into kd_per_block of the blocks that end a feature-map reduction (a pooling /
    # stride stage); the paper's sparse MCTKD distils there and at the last block.
    reduction_blocks: tuple[int, ...] = ()
    # Classification tokens after every block (for single-token KD variants without KD tokens).
    cls_per_block: list[torch.Tensor] = field(default_factory=list)
