"""TransM3E (paper Sec. IV): MCT backbones, MCTKD between two modalities, MCTF inside each branch.

Inputs: video (B, C, T, H, W) for the receiver (RGB MViTv2-S); the sender takes pose
(B, M, T, V, C) (HD-GCN, the paper) or a second video (B, C, T, H, W) such as the RGB difference
(the authors' earlier release). Both backbones implement `forward_tokens -> TokenOutput`.

Each branch classifies its own (fused) tokens: mean of the N tokens -> LayerNorm -> linear head.
`forward` returns the mean of the two branches' logits (the paper averages the two predictions at
test time), or the receiver's logits alone when the second modality is absent. Logits only: the
task is multi-label, so the engine applies sigmoid + BCE / focal loss. (The paper writes Softmax
over the muscle groups, which would force the 20 independent groups to compete.)

`forward(video, other, with_losses=True)` also returns both branches' logits and the distillation
loss, which the engine adds with equal weight: L = BCE(receiver) + BCE(sender) + L_MCTKD.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from musclemap.models._registry import build_model, register_model
from musclemap.models.distill import KD_POSITIONS, TokenDistiller, pair_positions, select_positions
from musclemap.models.fusion import build_token_fusion
from musclemap.models.tokens import TokenOutput

KD_TOKEN_MODES = ("mct", "single", "cls")  # 20 KD tokens | one KD token | distil the cls tokens


@dataclass
class TransM3EOutput:
    logits: torch.Tensor  # (B, num_classes) mean of the branches (receiver alone without sender)
    receiver_logits: torch.Tensor  # (B, num_classes)
    sender_logits: torch.Tensor | None  # (B, num_classes)
    kd_loss: torch.Tensor  # scalar (0 without distillation)


def forward_tokens(backbone: nn.Module, x: torch.Tensor) -> TokenOutput:
    """`backbone.forward_tokens(x)` (typed: nn.Module attributes are opaque to mypy)."""
    out = backbone.forward_tokens(x)  # type: ignore[operator]
    if not isinstance(out, TokenOutput):
        raise TypeError(f"{type(backbone).__name__}.forward_tokens must return a TokenOutput")
    return out


def probe_tokens(backbone: nn.Module, input_shape: Sequence[int]) -> TokenOutput:
    """Run `forward_tokens` once on a (1, *input_shape) input to learn token widths and depth.

    Small inputs run for real on zeros; large ones (full-size clips) on a meta-device copy, which
    costs no compute or memory (but a one-off import of the fake-tensor machinery). A backbone
    with an operation lacking meta support falls back to the real pass.
    """
    shape = (1, *[int(s) for s in input_shape])
    if math.prod(shape) > 1_000_000:
        try:
            meta = copy.deepcopy(backbone).to("meta").eval()
            with torch.no_grad():
                return forward_tokens(meta, torch.zeros(shape, device="meta"))
        except (NotImplementedError, RuntimeError):
            pass
    was_training = backbone.training
    backbone.eval()
    with torch.no_grad():
        out = forward_tokens(backbone, torch.zeros(shape))
    backbone.train(was_training)
    return out


class TokenHead(nn.Module):
    """Fuse a branch's classification and distillation tokens, then classify their mean."""

    def __init__(self, dim: int, *, num_classes: int, fusion: str, module: nn.Module) -> None:
        super().__init__()
        self.fusion_name = fusion
        self.fusion = module  # from `build_token_fusion(fusion, dim=dim, ...)`
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, out: TokenOutput) -> torch.Tensor:
        cls = out.cls  # (B, N, D)
        if self.fusion_name != "none":
            if out.kd is None:
                raise ValueError(f"fusion {self.fusion_name!r} needs distillation tokens")
            # A single KD token (the KD variants of Table IV) is shared by all N cls tokens.
            kd = out.kd.expand_as(cls) if out.kd.shape[1] == 1 else out.kd  # (B, N, D)
            cls = self.fusion(cls, kd)
        return self.head(self.norm(cls.mean(dim=1)))  # (B, num_classes)


def _strip_head(backbone: nn.Module) -> None:
    # The branch heads (LayerNorm + linear on the fused tokens) replace the backbones' own head
    # and final norm: `TokenOutput.cls` is taken before that norm, so leaving them would keep
    # parameters that never get a gradient (and break DDP without find_unused_parameters).
    if isinstance(getattr(backbone, "head", None), nn.Module):
        backbone.head = nn.Identity()
    else:
        backbone.reset_classifier(0)  # type: ignore[operator]
    if isinstance(getattr(backbone, "norm", None), nn.LayerNorm | nn.BatchNorm1d):
        backbone.norm = nn.Identity()


class TransM3E(nn.Module):
    """Two MCT backbones with token distillation (receiver <- sender) and per-branch fusion.

    Args:
        receiver: backbone of the primary modality (RGB); implements `forward_tokens`.
        sender: backbone of the auxiliary modality, or None for a single-branch model.
        receiver_input_shape: one sample's input shape, e.g. (3, 16, 224, 224), to probe widths.
        sender_input_shape: e.g. (1, 64, 25, 3) for pose (M, T, V, C).
        num_classes: muscle groups.
        kd: distillation positions "fl" | "de" | "sp", or "none" (Table III w/o MCTKD).
        kd_tokens: "mct" (20 KD tokens), "single" (one KD token) or "cls" (no KD tokens).
        fusion: token fusion per branch (see `musclemap.models.fusion.TOKEN_FUSIONS`).
        kd_tau: distillation temperature; kd_detach_sender: see `musclemap.models.distill`.
        fusion_heads, qk_scale, fusion_drop, fusion_drop_path: MCTF settings (paper: 1, 0.8, 0,
            0.2).
    """

    def __init__(
        self,
        *,
        receiver: nn.Module,
        sender: nn.Module | None,
        receiver_input_shape: Sequence[int],
        sender_input_shape: Sequence[int] = (),
        num_classes: int = 20,
        kd: str = "sp",
        kd_tokens: str = "mct",
        fusion: str = "mctf",
        kd_tau: float = 1.0,
        kd_detach_sender: bool = True,
        fusion_heads: int = 1,
        qk_scale: float | None = 0.8,
        fusion_drop: float = 0.0,
        fusion_drop_path: float = 0.2,
    ) -> None:
        super().__init__()
        if kd not in (*KD_POSITIONS, "none"):
            raise ValueError(f"kd must be one of {KD_POSITIONS} or 'none', got {kd!r}")
        if kd_tokens not in KD_TOKEN_MODES:
            raise ValueError(f"kd_tokens must be one of {KD_TOKEN_MODES}, got {kd_tokens!r}")
        if kd_tokens == "cls" and fusion != "none":
            raise ValueError("kd_tokens='cls' has no distillation tokens; use fusion='none'")
        self.num_classes = num_classes
        self.other_input = "pose"  # the Batch field of the sender's input (set by the builder)
        self.receiver, self.sender = receiver, sender

        def head(dim: int) -> TokenHead:
            module = build_token_fusion(
                fusion,
                dim=dim,
                num_heads=fusion_heads,
                qk_scale=qk_scale,
                drop=fusion_drop,
                drop_path=fusion_drop_path,
            )
            return TokenHead(dim, num_classes=num_classes, fusion=fusion, module=module)

        probe_r = probe_tokens(receiver, receiver_input_shape)
        self.head_r = head(probe_r.cls.shape[-1])
        self.head_s: TokenHead | None = None
        self.distiller: TokenDistiller | None = None
        if sender is None:
            return
        probe_s = probe_tokens(sender, sender_input_shape)
        self.head_s = head(probe_s.cls.shape[-1])
        if kd == "none":
            return
        source = "cls" if kd_tokens == "cls" else "kd"
        blocks_r = probe_r.cls_per_block if source == "cls" else probe_r.kd_per_block
        blocks_s = probe_s.cls_per_block if source == "cls" else probe_s.kd_per_block
        pos_r = select_positions(len(blocks_r), probe_r.reduction_blocks, kd)
        pos_s = select_positions(len(blocks_s), probe_s.reduction_blocks, kd)
        self.distiller = TokenDistiller(
            pairs=pair_positions(pos_r, pos_s),
            receiver_dims=[t.shape[-1] for t in blocks_r],
            sender_dims=[t.shape[-1] for t in blocks_s],
            source=source,
            tau=kd_tau,
            detach_sender=kd_detach_sender,
        )

    def forward_features(
        self, video: torch.Tensor, other: torch.Tensor | None = None
    ) -> tuple[TokenOutput, TokenOutput | None]:
        rec = forward_tokens(self.receiver, video)
        snd = None if other is None or self.sender is None else forward_tokens(self.sender, other)
        return rec, snd

    def forward_head(self, rec: TokenOutput, snd: TokenOutput | None = None) -> torch.Tensor:
        logits = self.head_r(rec)
        if snd is not None and self.head_s is not None:
            logits = (logits + self.head_s(snd)) / 2
        return logits

    def forward(
        self, video: torch.Tensor, other: torch.Tensor | None = None, *, with_losses: bool = False
    ) -> torch.Tensor | TransM3EOutput:
        """Logits (B, num_classes); with `with_losses`, a TransM3EOutput for training."""
        rec, snd = self.forward_features(video, other)
        logits_r = self.head_r(rec)
        logits_s = None if snd is None or self.head_s is None else self.head_s(snd)
        logits = logits_r if logits_s is None else (logits_r + logits_s) / 2
        if not with_losses:
            return logits
        kd = logits.new_zeros(())
        if snd is not None and self.distiller is not None:
            kd = self.distiller(rec, snd)
        return TransM3EOutput(logits, logits_r, logits_s, kd)

    def freeze_sender(self) -> None:
        """Keep the sender backbone fixed (as in the authors' RGB-difference release: 78.6M
        parameters, 44.4M trainable); the sender's fusion and head still train."""
        self._sender_frozen = True
        if self.sender is not None:
            self.sender.requires_grad_(False)
            self.sender.eval()

    def train(self, mode: bool = True) -> TransM3E:
        super().train(mode)
        if getattr(self, "_sender_frozen", False) and self.sender is not None:
            self.sender.eval()  # no dropout, drop path or BN updates in a frozen branch
        return self

    def reset_classifier(self, num_classes: int) -> None:
        self.num_classes = num_classes
        for head in (self.head_r, self.head_s):
            if head is not None:
                head.head = nn.Linear(head.head.in_features, num_classes)


def pose_input_shape(backbone: nn.Module, frames: int = 64) -> tuple[int, int, int, int]:
    """One sample's `(M, T, V, C)` for a skeleton backbone, from the layout it was built for."""
    m, v, c = (getattr(backbone, a, None) for a in ("num_person", "num_joints", "in_channels"))
    if not (isinstance(m, int) and isinstance(v, int) and isinstance(c, int)):
        raise ValueError(f"give the input shape of a {type(backbone).__name__} sender explicitly")
    return (m, frames, v, c)


def token_backbone(
    name: str, kwargs: dict | None, *, num_classes: int, num_cls: int, num_kd: int
) -> nn.Module:
    """A registered backbone built with `num_cls` class and `num_kd` distillation tokens, its
    classifier removed (TransM3E and the late-fusion baseline read its tokens)."""
    model = build_model(
        name,
        num_classes=num_classes,
        num_cls_tokens=num_cls,
        num_kd_tokens=num_kd,
        **(kwargs or {}),
    )
    _strip_head(model)
    return model


@register_model("transm3e")
def transm3e(
    *,
    num_classes: int = 20,
    receiver: str = "mvitv2_s",
    receiver_kwargs: dict | None = None,
    receiver_input_shape: Sequence[int] = (3, 16, 224, 224),
    sender: str = "hdgcn",
    sender_kwargs: dict | None = None,
    sender_input_shape: Sequence[int] | None = None,
    sender_input: str = "pose",
    with_sender: bool = True,
    num_cls_tokens: int = 20,
    kd: str = "sp",
    kd_tokens: str = "mct",
    fusion: str = "mctf",
    kd_tau: float = 1.0,
    kd_detach_sender: bool = True,
    fusion_heads: int = 1,
    qk_scale: float | None = 0.8,
    fusion_drop: float = 0.0,
    fusion_drop_path: float = 0.2,
    freeze_sender: bool = False,
) -> TransM3E:
    """TransM3E: RGB MViTv2-S receiver + HD-GCN sender (paper), SP-MCTKD and MCTF by default.

    `receiver_kwargs` / `sender_kwargs` go to the backbones (e.g. tiny sizes for tests, `layout`
    for HD-GCN, `in_chans`); `with_sender=False` builds the RGB branch alone. The sender's input
    shape defaults to 64 frames of its own layout (`pose_input_shape`); a video sender needs it
    given.
    """
    if kd_tokens not in KD_TOKEN_MODES:
        raise ValueError(f"kd_tokens must be one of {KD_TOKEN_MODES}, got {kd_tokens!r}")
    if sender_input not in ("pose", "aux"):
        raise ValueError(f"sender_input must be 'pose' or 'aux', got {sender_input!r}")
    num_kd = {"mct": num_cls_tokens, "single": 1, "cls": 0}[kd_tokens]
    rec = token_backbone(
        receiver, receiver_kwargs, num_classes=num_classes, num_cls=num_cls_tokens, num_kd=num_kd
    )
    snd = (
        token_backbone(
            sender, sender_kwargs, num_classes=num_classes, num_cls=num_cls_tokens, num_kd=num_kd
        )
        if with_sender
        else None
    )
    if sender_input_shape is None:
        sender_input_shape = pose_input_shape(snd) if snd is not None else ()
    model = TransM3E(
        receiver=rec,
        sender=snd,
        receiver_input_shape=receiver_input_shape,
        sender_input_shape=sender_input_shape,
        num_classes=num_classes,
        kd=kd,
        kd_tokens=kd_tokens,
        fusion=fusion,
        kd_tau=kd_tau,
        kd_detach_sender=kd_detach_sender,
        fusion_heads=fusion_heads,
        qk_scale=qk_scale,
        fusion_drop=fusion_drop,
        fusion_drop_path=fusion_drop_path,
    )
    model.other_input = sender_input  # which Batch field feeds the sender: "pose" | "aux"
    if freeze_sender and snd is not None:
        model.freeze_sender()
    return model


# Named variants: one per ablation row (Tables III-V); defaults overridden, same signature.
VARIANTS: dict[str, dict] = {
    # Table III (module ablation). Without MCT both token sets shrink to a single token.
    "transm3e_no_mct": dict(num_cls_tokens=1),
    "transm3e_no_mctkd": dict(kd="none"),
    "transm3e_no_mctf": dict(fusion="none"),
    # Table IV (distillation position x single token KD / MCTKD); SP-MCTKD is `transm3e`.
    "transm3e_fl_kd": dict(kd="fl", kd_tokens="single"),
    "transm3e_de_kd": dict(kd="de", kd_tokens="single"),
    "transm3e_sp_kd": dict(kd="sp", kd_tokens="single"),
    "transm3e_fl_mctkd": dict(kd="fl"),
    "transm3e_de_mctkd": dict(kd="de"),
    # Table V (fusion of the cls and KD token sets); MCTF is `transm3e`.
    "transm3e_fusion_sum": dict(fusion="sum"),
    "transm3e_fusion_mul": dict(fusion="mul"),
    "transm3e_fusion_self_attention": dict(fusion="self_attention"),
    "transm3e_fusion_cross_attention": dict(fusion="cross_attention"),
    # The authors' earlier release: an RGB-difference MViTv2-S sender (input = batch.aux).
    "transm3e_rgbdiff": dict(
        sender="mvitv2_s", sender_input_shape=(3, 16, 224, 224), sender_input="aux"
    ),
}
for _name, _kw in VARIANTS.items():
    register_model(_name)(partial(transm3e, **_kw))
