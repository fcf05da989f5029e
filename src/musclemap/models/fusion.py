"""Token fusion inside a branch: MCTF (paper Eq. 4-9) and the alternatives of Table V.

Every fusion module maps the classification tokens `cls_m` (B, N, D) and the distillation tokens
`cls_r` (B, N, D) of one branch to fused tokens (B, N, D), which the branch averages and classifies.
`build_token_fusion(name, dim=...)` picks one: mctf | sum | mul | self_attention |
cross_attention | none.
"""

from __future__ import annotations

import torch
from torch import nn

from musclemap.models.layers import DropPath

TOKEN_FUSIONS = ("mctf", "sum", "mul", "self_attention", "cross_attention", "none")


class Mlp(nn.Module):
    def __init__(self, dim: int, *, ratio: float = 4.0, drop: float = 0.0) -> None:
        super().__init__()
        hidden = int(dim * ratio)
        self.net = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.GELU(),
            nn.Dropout(drop),
            nn.Linear(hidden, dim),
            nn.Dropout(drop),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, scale: float, drop: nn.Module
) -> torch.Tensor:
    """Softmax(Q K^T * scale) V over heads: q (B, H, Nq, d), k (B, H, Nk, d), v (B, H, Nk, d)."""
    attn = (q @ k.transpose(-2, -1)) * scale
    return drop(attn.softmax(dim=-1)) @ v


class _Heads(nn.Module):
    """Q, K, V projections of one token set, split into heads: (B, N, D) -> 3 x (B, H, N, D/H)."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, d // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        return q, k, v


def _merge(x: torch.Tensor) -> torch.Tensor:
    b, h, n, d = x.shape  # (B, H, N, d) -> (B, N, H*d)
    return x.transpose(1, 2).reshape(b, n, h * d)


class _ResidualFusion(nn.Module):
    """Shared frame of Eq. 8-9: cls_f = avg + DP(CLS_f(LN m, LN r)); cls_f += DP(MLP(LN cls_f)).

    Eq. 9 literally writes the second line as `cls_f := cls_a + ...`, which would throw away the
    attention output; we read it as the usual pre-norm transformer residual on cls_f.
    """

    def __init__(self, dim: int, *, drop: float, drop_path: float, mlp_ratio: float) -> None:
        super().__init__()
        self.norm_m = nn.LayerNorm(dim)
        self.norm_r = nn.LayerNorm(dim)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, ratio=mlp_ratio, drop=drop)
        self.drop_path = DropPath(drop_path)

    def mix(self, m: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, cls_m: torch.Tensor, cls_r: torch.Tensor) -> torch.Tensor:
        avg = (cls_m + cls_r) / 2  # cls_a, (B, N, D)
        x = avg + self.drop_path(self.mix(self.norm_m(cls_m), self.norm_r(cls_r)))
        return x + self.drop_path(self.mlp(self.norm_mlp(x)))


class MCTF(_ResidualFusion):
    """Multi-Classification Tokens Fusion, Eq. 4-9: mixed self- and cross-attention.

    For the classification set m: A^m = P_mm(Att(Qm,Km,Vm)) + P_mr(Att(Qm,Kr,Vm)) +
    P_rm(Att(Qr,Km,Vm)); for the distillation set r: A^r = P_rr(Att(Qr,Kr,Vr)) +
    P_rm(Att(Qr,Km,Vr)) + P_mr(Att(Qm,Kr,Vr)); A_f = P_f(Concat(A^m, A^r)). Note that, as written
    in Eq. 5-6, the cross terms take V from the set being updated, and P_mr / P_rm are shared
    between the two sets (same symbols). Both token sets must have the same count N.

    Args:
        dim: token width (768 for MViTv2-S).
        num_heads: attention heads (paper: 1).
        qk_scale: the attention logit scale (paper: 0.8, used literally instead of d^-0.5).
        attn_drop: dropout on attention weights (paper: 0.0).
        drop: dropout after projections and in the MLP.
        drop_path: stochastic depth of the two residual branches (paper: 0.2).
    """

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int = 1,
        qk_scale: float | None = 0.8,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        drop: float = 0.0,
        drop_path: float = 0.2,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__(dim, drop=drop, drop_path=drop_path, mlp_ratio=mlp_ratio)
        self.scale = qk_scale if qk_scale is not None else (dim // num_heads) ** -0.5
        self.heads_m = _Heads(dim, num_heads, qkv_bias)
        self.heads_r = _Heads(dim, num_heads, qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.ModuleDict({k: nn.Linear(dim, dim) for k in ("mm", "rr", "mr", "rm")})
        self.proj_drop = nn.Dropout(drop)
        self.proj_f = nn.Linear(2 * dim, dim)

    def mix(self, m: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        if m.shape != r.shape:
            raise ValueError(f"MCTF needs equal token sets, got {tuple(m.shape)}, {tuple(r.shape)}")
        qm, km, vm = self.heads_m(m)
        qr, kr, vr = self.heads_r(r)

        def term(key: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            out = _merge(attention(q, k, v, scale=self.scale, drop=self.attn_drop))
            return self.proj[key](self.proj_drop(out))

        a_m = term("mm", qm, km, vm) + term("mr", qm, kr, vm) + term("rm", qr, km, vm)  # Eq. 5, 7
        a_r = term("rr", qr, kr, vr) + term("rm", qr, km, vr) + term("mr", qm, kr, vr)  # Eq. 6, 7
        return self.proj_f(torch.cat([a_m, a_r], dim=-1))  # (B, N, D)


class CrossAttentionFusion(MCTF):
    """Table V "CrossAttention": each set attends only to the other (Qm->Kr,Vr and Qr->Km,Vm)."""

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int = 1,
        qk_scale: float | None = 0.8,
        drop: float = 0.0,
        drop_path: float = 0.2,
    ) -> None:
        super().__init__(
            dim, num_heads=num_heads, qk_scale=qk_scale, drop=drop, drop_path=drop_path
        )
        del self.proj["mm"], self.proj["rr"]  # no self-attention terms here

    def mix(self, m: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        qm, km, vm = self.heads_m(m)
        qr, kr, vr = self.heads_r(r)
        a_m = self.proj["mr"](_merge(attention(qm, kr, vr, scale=self.scale, drop=self.attn_drop)))
        a_r = self.proj["rm"](_merge(attention(qr, km, vm, scale=self.scale, drop=self.attn_drop)))
        return self.proj_f(torch.cat([a_m, a_r], dim=-1))


class SelfAttentionFusion(_ResidualFusion):
    """Table V "SelfAttention": one self-attention over the concatenated sets [m; r]; the output
    tokens of the two halves are averaged back to N tokens."""

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int = 1,
        qk_scale: float | None = 0.8,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        drop: float = 0.0,
        drop_path: float = 0.2,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__(dim, drop=drop, drop_path=drop_path, mlp_ratio=mlp_ratio)
        self.scale = qk_scale if qk_scale is not None else (dim // num_heads) ** -0.5
        self.heads = _Heads(dim, num_heads, qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)

    def mix(self, m: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        q, k, v = self.heads(torch.cat([m, r], dim=1))  # (B, H, 2N, d)
        out = self.proj(_merge(attention(q, k, v, scale=self.scale, drop=self.attn_drop)))
        n = m.shape[1]
        return (out[:, :n] + out[:, n:]) / 2


class ElementwiseFusion(nn.Module):
    """Table V "Sum" / "Multiplication" of the two token sets (no parameters)."""

    def __init__(self, op: str) -> None:
        super().__init__()
        if op not in ("sum", "mul"):
            raise ValueError(f"op must be 'sum' or 'mul', got {op!r}")
        self.op = op

    def forward(self, cls_m: torch.Tensor, cls_r: torch.Tensor) -> torch.Tensor:
        return cls_m + cls_r if self.op == "sum" else cls_m * cls_r


class NoFusion(nn.Module):
    """Table III "w/o MCTF": the classification tokens alone."""

    def forward(self, cls_m: torch.Tensor, cls_r: torch.Tensor | None = None) -> torch.Tensor:
        return cls_m


def build_token_fusion(
    name: str,
    *,
    dim: int,
    num_heads: int = 1,
    qk_scale: float | None = 0.8,
    drop: float = 0.0,
    drop_path: float = 0.2,
) -> nn.Module:
    """One of TOKEN_FUSIONS for tokens of width `dim`."""
    if name in ("mctf", "cross_attention", "self_attention"):
        cls = {
            "mctf": MCTF,
            "cross_attention": CrossAttentionFusion,
            "self_attention": SelfAttentionFusion,
        }[name]
        return cls(dim, num_heads=num_heads, qk_scale=qk_scale, drop=drop, drop_path=drop_path)
    if name in ("sum", "mul"):
        return ElementwiseFusion(name)
    if name == "none":
        return NoFusion()
    raise ValueError(f"unknown token fusion {name!r}; choose from {', '.join(TOKEN_FUSIONS)}")
