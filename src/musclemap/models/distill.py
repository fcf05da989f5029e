"""Token knowledge distillation between two backbones (paper Sec. IV-C, MCTKD; Table IV).

Inputs are `TokenOutput`s of a receiver (the RGB MViTv2-S) and a sender (HD-GCN on the skeleton,
or an RGB-difference MViTv2-S). Tokens: (B, N, D) per block.

Definition used here (the paper only says "KL-Div on cls_r and cls_s"):
- each token is turned into a distribution over its feature dimension with a softmax (temperature
  `tau`);
- the loss per position is KL(p_sender || p_receiver) = sum_d p_s (log p_s - log p_r), averaged over
  tokens and clips, times tau^2 (Hinton's scaling, so `tau` does not change gradient size);
- Eq. 3: the losses of the selected positions are averaged.

The sender is detached by default: the receiver learns from the sender (classic KD direction), and
the sender's distillation tokens cannot be dragged towards the receiver just to make the two agree.
When the widths differ, the *receiver's* tokens are projected into the sender's width by a learned
linear map (FitNets-style regressor on the student side). Projecting the sender instead would let
the projection collapse to a constant target (uniform softmax) and make the loss meaningless.

Positions (Fig. 5): "fl" = final block only; "de" = every block; "sp" = after each feature-map
reduction block and after the last block (the paper's choice). When the two backbones have a
different number of selected positions, each receiver position is paired with the sender position
at the same relative depth.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from musclemap.models.tokens import TokenOutput

KD_POSITIONS = ("fl", "de", "sp")


def token_kl_divergence(
    receiver: torch.Tensor, sender: torch.Tensor, *, tau: float = 1.0
) -> torch.Tensor:
    """KL(softmax(sender / tau) || softmax(receiver / tau)) per token, mean over (B, N), * tau^2.

    Args:
        receiver: (B, N, D) tokens of the receiver (already projected to the sender's width).
        sender: (B, N, D) tokens of the sender (the target distribution).
        tau: softmax temperature.

    Returns:
        A scalar tensor; zero exactly when both token sets give the same distributions.
    """
    if receiver.shape != sender.shape:
        raise ValueError(f"token shapes differ: {tuple(receiver.shape)} vs {tuple(sender.shape)}")
    log_r = F.log_softmax(receiver.float() / tau, dim=-1)
    log_s = F.log_softmax(sender.float() / tau, dim=-1)
    kl = (log_s.exp() * (log_s - log_r)).sum(-1)  # (B, N)
    return kl.mean() * tau**2


def select_positions(num_blocks: int, reduction_blocks: Sequence[int], mode: str) -> list[int]:
    """Block indices where distillation happens for `mode` in fl / de / sp."""
    if num_blocks < 1:
        raise ValueError("the backbone reported no per-block tokens")
    if mode == "fl":
        return [num_blocks - 1]
    if mode == "de":
        return list(range(num_blocks))
    if mode == "sp":
        return sorted({int(i) for i in reduction_blocks if 0 <= i < num_blocks} | {num_blocks - 1})
    raise ValueError(f"unknown distillation position {mode!r}; choose from {KD_POSITIONS}")


def pair_positions(receiver: Sequence[int], sender: Sequence[int]) -> list[tuple[int, int]]:
    """Pair each receiver position with the sender position at the same relative depth."""
    if len(receiver) == 1:
        return [(receiver[0], sender[-1])]
    last = len(receiver) - 1
    return [(r, sender[round(k * (len(sender) - 1) / last)]) for k, r in enumerate(receiver)]


class TokenDistiller(nn.Module):
    """The MCTKD / KD loss between receiver and sender tokens at fixed block positions.

    Args:
        pairs: (receiver block, sender block) index pairs (`select_positions`, `pair_positions`).
        receiver_dims: token width of each receiver block.
        sender_dims: token width of each sender block.
        source: "kd" distils the dedicated distillation tokens (MCTKD, or single-token KD);
            "cls" distils the classification tokens (conventional KD without KD tokens).
        tau: softmax temperature.
        detach_sender: stop gradients into the sender (see module docstring).
    """

    def __init__(
        self,
        *,
        pairs: Sequence[tuple[int, int]],
        receiver_dims: Sequence[int],
        sender_dims: Sequence[int],
        source: str = "kd",
        tau: float = 1.0,
        detach_sender: bool = True,
    ) -> None:
        super().__init__()
        if source not in ("kd", "cls"):
            raise ValueError(f"source must be 'kd' or 'cls', got {source!r}")
        self.pairs = [(int(r), int(s)) for r, s in pairs]
        self.source = source
        self.tau = tau
        self.detach_sender = detach_sender
        self.proj = nn.ModuleList(
            nn.Identity()
            if receiver_dims[r] == sender_dims[s]
            else nn.Linear(receiver_dims[r], sender_dims[s])
            for r, s in self.pairs
        )

    def _tokens(self, out: TokenOutput) -> list[torch.Tensor]:
        return out.kd_per_block if self.source == "kd" else out.cls_per_block

    def forward(self, receiver: TokenOutput, sender: TokenOutput) -> torch.Tensor:
        rec, snd = self._tokens(receiver), self._tokens(sender)
        losses = []
        for (r, s), proj in zip(self.pairs, self.proj, strict=True):
            target = snd[s].detach() if self.detach_sender else snd[s]  # (B, N, D_s)
            source = rec[r]  # (B, N, D_r)
            if source.shape[1] != target.shape[1]:
                raise ValueError(f"receiver has {source.shape[1]} tokens, sender {target.shape[1]}")
            losses.append(token_kl_divergence(proj(source), target, tau=self.tau))
        return torch.stack(losses).mean()  # Eq. 3: mean over the selected positions
