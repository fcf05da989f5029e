"""`keypose_mlp`: the predict command's model, an ensemble of small MLPs on key-pose features.

Input `(B, F)`: the key-pose features of a window or of two key-position photos
(`musclemap.pose.keypose`, F = `NUM_FEATURES`), NaN where a feature is unknown (occluded
joints). Missing features are imputed with the training mean, then every feature is
standardised and clamped (both as buffers, so the weights alone map raw features to logits).

Training uses this module; inference uses the same state dict through a numpy forward
(`musclemap.pose.keypose_model.KeyPoseModel`), so `musclemap predict` needs no torch.
"""

from __future__ import annotations

import torch
from torch import nn

from musclemap.models._registry import register_model

CLAMP = 6.0  # standardised features beyond +-6 std are clamped (one bad pose cannot dominate)
# Label conventions (`label_domains`): index 0, the wild clips' (every video is scored with it,
# the shared output), and 1, the key-pose library's (Free Exercise DB through the vocabulary).
DOMAINS = ("wild", "library")
DOMAIN_MODES = ("none", "bias", "head", "residual")


class KeyPoseMLP(nn.Module):
    """Impute -> standardise -> `members` x (Linear -> GELU -> Dropout -> Linear); the members'
    logits are averaged. The members' weights are stacked (`w1 (M, F, H)`, `w2 (M, H, C)`) so
    one batched product runs them all. Their concatenated hidden activations are the embedding
    used to find the closest exercises of the training library ("looks like").

    With `label_domains` other than "none", the items of the other label conventions (`DOMAINS`
    after the first) get their own output on the shared hidden layer: "bias" adds
    `domain_b2 (D-1, M, C)` to the logits, "head" replaces `w2`, `b2` by `domain_w2
    (D-1, M, H, C)`, `domain_b2`, "residual" adds both to the shared output's (initialised at
    0; training may penalise them). Domain 0 is the shared output, as without domains."""

    feat_mean: torch.Tensor
    feat_std: torch.Tensor

    def __init__(
        self,
        *,
        in_features: int,
        num_classes: int = 20,
        hidden: int = 64,
        dropout: float = 0.3,
        input_dropout: float = 0.1,
        members: int = 5,
        label_domains: str = "none",
    ) -> None:
        super().__init__()
        if label_domains not in DOMAIN_MODES:
            raise ValueError(f"label_domains must be one of {DOMAIN_MODES}, got {label_domains!r}")
        self.in_features, self.hidden, self.members = in_features, hidden, members
        self.label_domains = label_domains
        self.register_buffer("feat_mean", torch.zeros(in_features))
        self.register_buffer("feat_std", torch.ones(in_features))
        self.input_dropout = nn.Dropout(input_dropout)
        self.dropout = nn.Dropout(dropout)
        # nn.Linear's default initialisation, per member
        b1 = in_features**-0.5
        self.w1 = nn.Parameter(torch.empty(members, in_features, hidden).uniform_(-b1, b1))
        self.b1 = nn.Parameter(torch.empty(members, hidden).uniform_(-b1, b1))
        self.reset_classifier(num_classes)

    def reset_classifier(self, num_classes: int) -> None:
        """New output layers (`w2`, `b2`) for `num_classes`, nn.Linear's initialisation."""
        b2 = self.hidden**-0.5
        shape = (self.members, self.hidden, num_classes)
        self.w2 = nn.Parameter(torch.empty(shape).uniform_(-b2, b2))
        self.b2 = nn.Parameter(torch.empty(self.members, num_classes).uniform_(-b2, b2))
        if self.label_domains == "none":
            return
        d = len(DOMAINS) - 1
        if self.label_domains == "head":  # independent layers, nn.Linear's initialisation
            self.domain_w2 = nn.Parameter(torch.empty(d, *shape).uniform_(-b2, b2))
            self.domain_b2 = nn.Parameter(
                torch.empty(d, self.members, num_classes).uniform_(-b2, b2))
            return
        if self.label_domains == "residual":
            self.domain_w2 = nn.Parameter(torch.zeros(d, *shape))
        self.domain_b2 = nn.Parameter(torch.zeros(d, self.members, num_classes))

    @torch.no_grad()
    def set_normalization(self, x: torch.Tensor) -> None:
        """Feature mean and std over training inputs `(N, F)` (NaN ignored; std floored)."""
        finite = torch.isfinite(x)
        n = finite.sum(0).clamp_min(1)
        mean = torch.where(finite, x, 0.0).sum(0) / n
        var = (torch.where(finite, x - mean, 0.0) ** 2).sum(0) / n
        self.feat_mean.copy_(mean)
        self.feat_std.copy_(var.sqrt().clamp_min(1e-3))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.where(torch.isfinite(x), x, self.feat_mean)
        return ((x - self.feat_mean) / self.feat_std).clamp(-CLAMP, CLAMP)

    def _hidden(self, z: torch.Tensor) -> torch.Tensor:
        # (B, F) -> (M, B, H)
        return nn.functional.gelu(
            torch.einsum("bf,mfh->mbh", z, self.w1) + self.b1[:, None], approximate="tanh"
        )

    def member_logits(self, x: torch.Tensor, domain: torch.Tensor | None = None
                      ) -> torch.Tensor:
        """Each member's logits `(B, members, C)` (training puts the loss on each member, so
        that they stay independent rather than co-adapting to their mean)."""
        return self.member_outputs(x, domain)[0]

    def member_outputs(self, x: torch.Tensor, domain: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """(`member_logits`, the hidden activations they come from `(members, B, hidden)`,
        dropout applied): training may put a second head on the hidden layer. `domain` `(B,)`:
        each row's label convention (index into `DOMAINS`; None: all the first)."""
        h = self.dropout(self._hidden(self.input_dropout(self.normalize(x))))
        logits = torch.einsum("mbh,mhc->mbc", h, self.w2) + self.b2[:, None]
        if domain is not None and self.label_domains != "none":
            for d in range(1, len(DOMAINS)):
                rows = (domain == d)[None, :, None]
                logits = torch.where(rows, self._domain_logits(h, logits, d - 1), logits)
        return logits.transpose(0, 1), h

    def _domain_logits(self, h: torch.Tensor, shared: torch.Tensor, i: int) -> torch.Tensor:
        """The logits `(M, B, C)` of domain `i + 1` from the hidden layer and the shared ones."""
        b = self.domain_b2[i][:, None]
        if self.label_domains == "bias":
            return shared + b
        out = torch.einsum("mbh,mhc->mbc", h, self.domain_w2[i]) + b
        return out if self.label_domains == "head" else shared + out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.member_logits(x).mean(1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The members' hidden activations, concatenated `(B, members * hidden)`."""
        h = self._hidden(self.normalize(x))
        return h.transpose(0, 1).reshape(len(x), -1)


@register_model("keypose_mlp")
def keypose_mlp(
    *,
    num_classes: int = 20,
    in_features: int = 118,
    hidden: int = 64,
    dropout: float = 0.3,
    input_dropout: float = 0.1,
    members: int = 5,
    label_domains: str = "none",
) -> KeyPoseMLP:
    """Ensemble of one-hidden-layer MLPs on key-pose features (about 45k parameters)."""
    return KeyPoseMLP(
        label_domains=label_domains,
        in_features=in_features,
        num_classes=num_classes,
        hidden=hidden,
        dropout=dropout,
        input_dropout=input_dropout,
        members=members,
    )
