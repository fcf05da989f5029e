"""MViTv2 (Li et al., CVPR 2022) as in PySlowFast, with multi-classification tokens (MCT).

Input: video `(B, C, T, H, W)`. The paper's MViTv2-S (Sec. V-A): 16 blocks, embedding dim 96, one
head, patch kernel (3, 7, 7) stride (2, 4, 4), dim and heads doubled at blocks 1, 3 and 14 (where Q
is pooled with stride (1, 2, 2)), 3x3x3 pooling kernels, adaptive KV stride starting at (1, 8, 8),
MLP ratio 4, drop path 0.2, decomposed relative position embeddings (spatial and temporal),
residual pooling, class token(s).

Prefix tokens (`num_cls_tokens` classification tokens, then `num_kd_tokens` distillation tokens)
are skipped by every pooling and get no relative position bias, exactly like MViTv2's single class
token. Module and parameter names follow PySlowFast so its `.pyth` checkpoints load directly.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from musclemap.models._registry import register_model
from musclemap.models.tokens import TokenOutput
from musclemap.models.video.layers import DropPath, Mlp


@dataclass(frozen=True)
class MViTArch:
    """Size variant. `pool_blocks`: blocks that double dim/heads and pool Q with stride (1,2,2)."""

    depth: int
    pool_blocks: tuple[int, ...]
    embed_dim: int = 96
    num_heads: int = 1
    drop_path: float = 0.2


model_cfgs: dict[str, MViTArch] = {
    "s": MViTArch(depth=16, pool_blocks=(1, 3, 14), drop_path=0.2),
    "b": MViTArch(depth=24, pool_blocks=(2, 5, 21), drop_path=0.3),
    "test": MViTArch(depth=3, pool_blocks=(1,), embed_dim=16, num_heads=1, drop_path=0.1),
}


def attention_pool(
    x: torch.Tensor,
    pool: nn.Module | None,
    thw: Sequence[int],
    num_prefix: int,
    norm: nn.Module | None = None,
) -> tuple[torch.Tensor, list[int]]:
    """Pool the patch tokens of `x` (B, heads, N, C) or (B, N, C) over (T, H, W); keep prefixes."""
    if pool is None:
        return x, list(thw)
    squeeze = x.ndim == 3
    if squeeze:
        x = x.unsqueeze(1)
    prefix, x = x[:, :, :num_prefix], x[:, :, num_prefix:]
    b, n, _, c = x.shape
    t, h, w = thw
    # (B*heads, C, T, H, W) as a channels-last view: the conv then needs no layout copies.
    x = x.reshape(b * n, t, h, w, c).permute(0, 4, 1, 2, 3)
    x = pool(x)
    new_thw = list(x.shape[2:])
    x = x.permute(0, 2, 3, 4, 1).reshape(b, n, -1, c)
    x = torch.cat([prefix, x], dim=2)
    if norm is not None:
        x = norm(x)
    return (x.squeeze(1) if squeeze else x), new_thw


@functools.lru_cache(maxsize=64)
def _rel_index(q_size: int, k_size: int, device: torch.device) -> torch.Tensor:
    # Distances between query and key positions on a common grid when their strides differ.
    q_ratio, k_ratio = max(k_size / q_size, 1.0), max(q_size / k_size, 1.0)
    dist = (
        torch.arange(q_size, device=device)[:, None] * q_ratio
        - torch.arange(k_size, device=device)[None, :] * k_ratio
    )
    return (dist + (k_size - 1) * k_ratio).long()  # (q_size, k_size)


def resize_rel_pos(table: torch.Tensor, length: int) -> torch.Tensor:
    """A relative position table (L, C) resampled to `length` rows, linearly.

    PySlowFast's rule, used both at run time (`get_rel_pos` in `cal_rel_pos_spatial/temporal`:
    the table must span 2 * max(q, k) - 1 offsets of the actual q/k sizes) and by its checkpoint
    loader for a table of another length: `F.interpolate(mode="linear")`, `align_corners=False`.
    """
    if table.shape[0] == length:
        return table
    return F.interpolate(table.t().unsqueeze(0), size=length, mode="linear").squeeze(0).t()


def rel_pos_terms(
    q: torch.Tensor,
    q_thw: Sequence[int],
    k_thw: Sequence[int],
    rel_pos_t: torch.Tensor,
    rel_pos_h: torch.Tensor,
    rel_pos_w: torch.Tensor,
) -> torch.Tensor:
    """Per-query relative position terms (B, heads, Nq, kt + kh + kw).

    `q` holds only patch queries (B, heads, qt*qh*qw, C), unscaled, as in PySlowFast's
    `cal_rel_pos_spatial` / `cal_rel_pos_temporal`: the bias of query i and key (t, h, w) is
    `terms[i, t] + terms[i, kt + h] + terms[i, kt + kh + w]`. A table whose length is not
    2 * max(q, k) - 1 for the run-time sizes (another clip size than the model was built for,
    or an odd size that pooling rounds up) is first resampled to it (`resize_rel_pos`).
    """
    b, n, _, c = q.shape
    (qt, qh, qw), (kt, kh, kw) = q_thw, k_thw
    rq = q.reshape(b, n, qt, qh, qw, c)

    def offsets(table: torch.Tensor, qs: int, ks: int) -> torch.Tensor:
        return resize_rel_pos(table, 2 * max(qs, ks) - 1)[_rel_index(qs, ks, q.device)]

    rt = offsets(rel_pos_t, qt, kt)  # (qt, kt, C)
    rh = offsets(rel_pos_h, qh, kh)
    rw = offsets(rel_pos_w, qw, kw)
    terms = [
        torch.einsum("bnthwc,tkc->bnthwk", rq, rt),
        torch.einsum("bnthwc,hkc->bnthwk", rq, rh),
        torch.einsum("bnthwc,wkc->bnthwk", rq, rw),
    ]
    return torch.cat(terms, dim=-1).reshape(b, n, qt * qh * qw, kt + kh + kw)


@functools.lru_cache(maxsize=64)
def key_one_hots(
    k_thw: tuple[int, int, int],
    num_prefix: int,
    width: int,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """(P + Nk, width): each patch key's one-hot t, h and w positions; prefix keys and the
    columns past kt + kh + kw are zero. Constant per shape, so cached."""
    kt, kh, kw = k_thw
    tt, hh, ww = torch.meshgrid(torch.arange(kt), torch.arange(kh), torch.arange(kw), indexing="ij")
    eye = torch.eye(kt + kh + kw, width, dtype=dtype)
    onehot = eye[tt.flatten()] + eye[kt + hh.flatten()] + eye[kt + kh + ww.flatten()]
    return F.pad(onehot, (0, 0, num_prefix, 0)).to(device)


def attention_with_rel_pos(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    q_thw: Sequence[int],
    k_thw: Sequence[int],
    num_prefix: int,
    rel_pos_t: torch.Tensor,
    rel_pos_h: torch.Tensor,
    rel_pos_w: torch.Tensor,
) -> torch.Tensor:
    """softmax(q k^T / sqrt(C) + decomposed rel-pos bias) v, without materialising the bias.

    The bias is a sum of per-query terms picked by the key's t, h and w, so it is appended to the
    query/key features (terms to q, one-hot positions to k) and one fused
    `scaled_dot_product_attention` call computes exactly the same logits.
    """
    p, c = num_prefix, q.shape[-1]
    scale = c**-0.5
    terms = rel_pos_terms(q[:, :, p:], q_thw, k_thw, rel_pos_t, rel_pos_h, rel_pos_w)
    num_terms = terms.shape[-1]
    # Fused kernels want equal q/k/v widths in multiples of 8; zero columns change nothing.
    extra = num_terms + (-(c + num_terms)) % 8
    # Prefix queries get no positional bias; terms are pre-divided by the scale SDPA applies.
    terms = F.pad(terms / scale, (0, extra - num_terms, p, 0))
    q_ext = torch.cat([q, terms], dim=-1)  # (B, heads, P + Nq, C + extra)
    onehot = key_one_hots(tuple(k_thw), p, extra, k.device, k.dtype)  # type: ignore[arg-type]
    k_ext = torch.cat([k, onehot.expand(*k.shape[:2], -1, -1)], dim=-1)
    v_ext = F.pad(v, (0, extra))
    out = F.scaled_dot_product_attention(q_ext, k_ext, v_ext, scale=scale)
    return out[..., :c]


class MultiScaleAttention(nn.Module):
    """Pooling attention with decomposed relative positions and residual pooling."""

    def __init__(
        self,
        *,
        dim: int,
        dim_out: int,
        num_heads: int,
        input_size: Sequence[int],
        kernel_q: Sequence[int],
        stride_q: Sequence[int],
        kernel_kv: Sequence[int],
        stride_kv: Sequence[int],
        num_prefix: int,
    ) -> None:
        super().__init__()
        self.num_heads, self.dim_out, self.num_prefix = num_heads, dim_out, num_prefix
        head_dim = dim_out // num_heads
        self.qkv = nn.Linear(dim, dim_out * 3)
        self.proj = nn.Linear(dim_out, dim_out)

        def pool(kernel: Sequence[int], stride: Sequence[int]) -> nn.Conv3d:
            # Depth-wise over head_dim channels, shared by the heads (PySlowFast mode "conv").
            kt, kh, kw = kernel
            return nn.Conv3d(
                head_dim,
                head_dim,
                (kt, kh, kw),
                stride=(stride[0], stride[1], stride[2]),
                padding=(kt // 2, kh // 2, kw // 2),
                groups=head_dim,
                bias=False,
            )

        self.pool_q, self.norm_q = pool(kernel_q, stride_q), nn.LayerNorm(head_dim, eps=1e-6)
        self.pool_k, self.norm_k = pool(kernel_kv, stride_kv), nn.LayerNorm(head_dim, eps=1e-6)
        self.pool_v, self.norm_v = pool(kernel_kv, stride_kv), nn.LayerNorm(head_dim, eps=1e-6)
        t, h, w = input_size
        qh, qw = h // stride_q[1], w // stride_q[2]
        kh, kw = h // stride_kv[1], w // stride_kv[2]
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * max(qh, kh) - 1, head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * max(qw, kw) - 1, head_dim))
        self.rel_pos_t = nn.Parameter(torch.zeros(2 * t - 1, head_dim))
        for p in (self.rel_pos_h, self.rel_pos_w, self.rel_pos_t):
            nn.init.trunc_normal_(p, std=0.02)

    def forward(self, x: torch.Tensor, thw: Sequence[int]) -> tuple[torch.Tensor, list[int]]:
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # (B, heads, N, head_dim)
        p = self.num_prefix
        q, q_thw = attention_pool(q, self.pool_q, thw, p, self.norm_q)
        k, k_thw = attention_pool(k, self.pool_k, thw, p, self.norm_k)
        v, _ = attention_pool(v, self.pool_v, thw, p, self.norm_v)
        out = attention_with_rel_pos(
            q, k, v, q_thw, k_thw, p, self.rel_pos_t, self.rel_pos_h, self.rel_pos_w
        )
        # Residual pooling: add the pooled query to the patch-token outputs (not the prefix).
        keep = torch.ones(q.shape[2], 1, device=q.device, dtype=q.dtype)
        keep[:p] = 0
        out = torch.addcmul(out, q, keep)
        out = out.transpose(1, 2).reshape(b, -1, self.dim_out)
        return self.proj(out), q_thw


class MultiScaleBlock(nn.Module):
    """Pre-norm block; the channel increase happens in attention (MViTv2 `DIM_MUL_IN_ATT`)."""

    def __init__(
        self,
        *,
        dim: int,
        dim_out: int,
        num_heads: int,
        input_size: Sequence[int],
        mlp_ratio: float,
        drop_path: float,
        kernel_q: Sequence[int],
        stride_q: Sequence[int],
        kernel_kv: Sequence[int],
        stride_kv: Sequence[int],
        num_prefix: int,
    ) -> None:
        super().__init__()
        self.num_prefix = num_prefix
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiScaleAttention(
            dim=dim,
            dim_out=dim_out,
            num_heads=num_heads,
            input_size=input_size,
            kernel_q=kernel_q,
            stride_q=stride_q,
            kernel_kv=kernel_kv,
            stride_kv=stride_kv,
            num_prefix=num_prefix,
        )
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim_out, eps=1e-6)
        self.mlp = Mlp(dim_out, int(dim_out * mlp_ratio), dim_out)
        self.proj = nn.Linear(dim, dim_out) if dim != dim_out else None
        self.pool_skip: nn.Module | None = None
        if any(s > 1 for s in stride_q):
            kernel_skip = tuple(s + 1 if s > 1 else s for s in stride_q)
            self.pool_skip = nn.MaxPool3d(
                kernel_skip, tuple(stride_q), tuple(k // 2 for k in kernel_skip)
            )

    def forward(self, x: torch.Tensor, thw: Sequence[int]) -> tuple[torch.Tensor, list[int]]:
        x_norm = self.norm1(x)
        x_block, new_thw = self.attn(x_norm, thw)
        if self.proj is not None:
            x = self.proj(x_norm)
        x_res, _ = attention_pool(x, self.pool_skip, thw, self.num_prefix)
        x = x_res + self.drop_path(x_block)
        return x + self.drop_path(self.mlp(self.norm2(x))), new_thw


class PatchEmbed(nn.Module):
    def __init__(self, *, in_channels: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv3d(in_channels, dim, (3, 7, 7), stride=(2, 4, 4), padding=(1, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class TransformerBasicHead(nn.Module):
    def __init__(self, *, dim: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.projection = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(self.dropout(x))


@dataclass(frozen=True)
class BlockSpec:
    dim: int
    dim_out: int
    num_heads: int
    stride_q: tuple[int, int, int]
    stride_kv: tuple[int, int, int]


def _block_schedule(arch: MViTArch, kv_stride: Sequence[int]) -> list[BlockSpec]:
    """Per-block dims, heads, Q and adaptive KV strides (PySlowFast's MViT config expansion)."""
    dim, heads = arch.embed_dim, arch.num_heads
    st, sh, sw = kv_stride
    out = []
    for i in range(arch.depth):
        pooled = i in arch.pool_blocks
        stride_q = (1, 2, 2) if pooled else (1, 1, 1)
        if pooled:
            heads *= 2
            st, sh, sw = (max(s // q, 1) for s, q in zip((st, sh, sw), stride_q, strict=True))
        dim_out = dim * 2 if pooled else dim
        out.append(BlockSpec(dim, dim_out, heads, stride_q, (st, sh, sw)))
        dim = dim_out
    return out


class MViT(nn.Module):
    """MViTv2 with `num_cls_tokens` classification and `num_kd_tokens` distillation tokens.

    Args:
        arch: Size variant (see `model_cfgs`).
        num_classes: Output logits.
        in_channels: Input channels (3 RGB / RGB difference, 2 optical flow).
        num_frames: Clip length the relative position tables are sized for (the checkpoint's).
        img_size: Crop size the relative position tables are sized for. Clips of any other
            size also run: every block resamples its tables to the run-time q/k sizes as
            PySlowFast's attention does (`resize_rel_pos`), so a model built for one size and
            run on another equals one built for the other size whose tables were resampled by
            the checkpoint loader.
        num_cls_tokens: 1 (standard) or 20 (MCT: `forward` uses the mean of the class tokens).
        num_kd_tokens: 0, 1 or 20 distillation tokens (TransM3E), reported by `forward_tokens`.
        drop_path: Stochastic depth rate of the last block (linear from 0); None = variant's.
        dropout: Dropout before the classifier.
        mlp_ratio: MLP hidden size over block dim.
    """

    def __init__(
        self,
        *,
        arch: MViTArch,
        num_classes: int = 20,
        in_channels: int = 3,
        num_frames: int = 16,
        img_size: int = 224,
        num_cls_tokens: int = 1,
        num_kd_tokens: int = 0,
        drop_path: float | None = None,
        dropout: float = 0.5,
        mlp_ratio: float = 4.0,
        kv_stride: Sequence[int] = (1, 8, 8),
    ) -> None:
        super().__init__()
        if num_cls_tokens < 1 or num_kd_tokens < 0:
            raise ValueError("need num_cls_tokens >= 1 and num_kd_tokens >= 0")
        self.num_cls_tokens, self.num_kd_tokens = num_cls_tokens, num_kd_tokens
        self.num_prefix = num_cls_tokens + num_kd_tokens
        self.patch_embed = PatchEmbed(in_channels=in_channels, dim=arch.embed_dim)
        self.patch_dims = [num_frames // 2, img_size // 4, img_size // 4]
        self.cls_token = nn.Parameter(torch.zeros(1, num_cls_tokens, arch.embed_dim))
        self.kd_token = (
            nn.Parameter(torch.zeros(1, num_kd_tokens, arch.embed_dim)) if num_kd_tokens else None
        )
        rate = arch.drop_path if drop_path is None else drop_path
        dpr = [rate * i / max(arch.depth - 1, 1) for i in range(arch.depth)]
        size = list(self.patch_dims)
        self.blocks = nn.ModuleList()
        self.reduction_blocks = (*arch.pool_blocks, arch.depth - 1)
        schedule = _block_schedule(arch, kv_stride)
        for i, spec in enumerate(schedule):
            self.blocks.append(
                MultiScaleBlock(
                    dim=spec.dim,
                    dim_out=spec.dim_out,
                    num_heads=spec.num_heads,
                    input_size=size,
                    mlp_ratio=mlp_ratio,
                    drop_path=dpr[i],
                    kernel_q=(3, 3, 3),
                    stride_q=spec.stride_q,
                    kernel_kv=(3, 3, 3),
                    stride_kv=spec.stride_kv,
                    num_prefix=self.num_prefix,
                )
            )
            size = [s // q for s, q in zip(size, spec.stride_q, strict=True)]
        self.num_features = schedule[-1].dim_out
        self.norm = nn.LayerNorm(self.num_features, eps=1e-6)
        self.head = TransformerBasicHead(
            dim=self.num_features, num_classes=num_classes, dropout=dropout
        )
        self.apply(self._init_weights)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        if self.kd_token is not None:
            nn.init.trunc_normal_(self.kd_token, std=0.02)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def _run_blocks(
        self, x: torch.Tensor, *, keep: bool
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        x = self.patch_embed(x)  # (B, D, T', H', W')
        thw = list(x.shape[2:])
        x = x.flatten(2).transpose(1, 2)  # (B, N, D)
        prefix = [self.cls_token.expand(x.shape[0], -1, -1)]
        if self.kd_token is not None:
            prefix.append(self.kd_token.expand(x.shape[0], -1, -1))
        x = torch.cat([*prefix, x], dim=1)  # (B, P + N, D)
        cls_per_block, kd_per_block = [], []
        c = self.num_cls_tokens
        for block in self.blocks:
            x, thw = block(x, thw)
            if keep:
                cls_per_block.append(x[:, :c])
                if self.kd_token is not None:
                    kd_per_block.append(x[:, c : self.num_prefix])
        return x, cls_per_block, kd_per_block

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised tokens `(B, P + N, D)` of a clip `(B, C, T, H, W)`; prefix tokens first."""
        return self.norm(self._run_blocks(x, keep=False)[0])

    def forward_tokens(self, x: torch.Tensor) -> TokenOutput:
        """Class / distillation tokens after the last block and after every block."""
        out, cls_per_block, kd_per_block = self._run_blocks(x, keep=True)
        c = self.num_cls_tokens
        return TokenOutput(
            cls=out[:, :c],
            kd=out[:, c : self.num_prefix] if self.num_kd_tokens else None,
            kd_per_block=kd_per_block,
            reduction_blocks=self.reduction_blocks,
            cls_per_block=cls_per_block,
        )

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        """Logits from normalised tokens: the class token, or the mean of the MCT tokens."""
        return self.head(feats[:, : self.num_cls_tokens].mean(dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits `(B, num_classes)` of a clip `(B, C, T, H, W)`."""
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.head.projection = nn.Linear(self.num_features, num_classes)
        self._init_weights(self.head.projection)


@register_model("mvitv2_s")
def mvitv2_s(
    *,
    num_classes: int = 20,
    in_channels: int = 3,
    num_frames: int = 16,
    img_size: int = 224,
    num_cls_tokens: int = 1,
    num_kd_tokens: int = 0,
    drop_path: float = 0.2,
    dropout: float = 0.5,
) -> MViT:
    """MViTv2-S 16x4 (paper Sec. V-A), optionally with MCT / KD tokens."""
    return MViT(
        arch=model_cfgs["s"],
        num_classes=num_classes,
        in_channels=in_channels,
        num_frames=num_frames,
        img_size=img_size,
        num_cls_tokens=num_cls_tokens,
        num_kd_tokens=num_kd_tokens,
        drop_path=drop_path,
        dropout=dropout,
    )


@register_model("mvitv2_b")
def mvitv2_b(
    *,
    num_classes: int = 20,
    in_channels: int = 3,
    num_frames: int = 32,
    img_size: int = 224,
    num_cls_tokens: int = 1,
    num_kd_tokens: int = 0,
    drop_path: float = 0.3,
    dropout: float = 0.5,
) -> MViT:
    """MViTv2-B 32x3 (24 blocks, stages at 2, 5, 21): tables sized for the release's 32 frames.

    The benchmark's 16-frame clips run on it as they are (tables resampled per forward); build
    with `num_frames=16` to hold 16-frame tables instead (the loader resamples the checkpoint's).
    """
    return MViT(
        arch=model_cfgs["b"],
        num_classes=num_classes,
        in_channels=in_channels,
        num_frames=num_frames,
        img_size=img_size,
        num_cls_tokens=num_cls_tokens,
        num_kd_tokens=num_kd_tokens,
        drop_path=drop_path,
        dropout=dropout,
    )


@register_model("mvitv2_test")
def mvitv2_test(
    *,
    num_classes: int = 20,
    in_channels: int = 3,
    num_frames: int = 8,
    img_size: int = 64,
    num_cls_tokens: int = 1,
    num_kd_tokens: int = 0,
) -> MViT:
    """Tiny MViTv2 (3 blocks, dim 16, one pooling stage) for tests; tables sized for 8x64x64."""
    return MViT(
        arch=model_cfgs["test"],
        num_classes=num_classes,
        in_channels=in_channels,
        num_frames=num_frames,
        img_size=img_size,
        num_cls_tokens=num_cls_tokens,
        num_kd_tokens=num_kd_tokens,
        kv_stride=(1, 4, 4),
    )
