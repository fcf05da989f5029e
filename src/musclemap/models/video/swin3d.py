"""Video Swin Transformer (Liu et al., CVPR 2022), as in the official release (SwinTransformer3D).

Input: video `(B, C, T, H, W)`. Patch size (2, 4, 4), window (8, 7, 7), shifted windows in every
second block, patch merging between stages, an I3D-style head (global average pool + linear).
Parameter names follow the release (`backbone.*` minus the prefix) so its `.pth` loads directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache, reduce
from operator import mul

import torch
import torch.nn.functional as F
from torch import nn

from musclemap.models._registry import register_model
from musclemap.models.video.layers import DropPath, Mlp


@dataclass(frozen=True)
class SwinArch:
    embed_dim: int
    depths: tuple[int, ...]
    num_heads: tuple[int, ...]
    drop_path: float


model_cfgs: dict[str, SwinArch] = {
    "s": SwinArch(96, (2, 2, 18, 2), (3, 6, 12, 24), 0.2),
    "b": SwinArch(128, (2, 2, 18, 2), (4, 8, 16, 32), 0.3),
    "test": SwinArch(16, (2, 1), (1, 2), 0.1),
}


def window_partition(x: torch.Tensor, ws: Sequence[int]) -> torch.Tensor:
    """(B, D, H, W, C) -> (B * num_windows, wd * wh * ww, C)."""
    b, d, h, w, c = x.shape
    x = x.view(b, d // ws[0], ws[0], h // ws[1], ws[1], w // ws[2], ws[2], c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, reduce(mul, ws), c)


def window_reverse(
    windows: torch.Tensor, ws: Sequence[int], b: int, d: int, h: int, w: int
) -> torch.Tensor:
    """(B * num_windows, wd, wh, ww, C) -> (B, D, H, W, C)."""
    x = windows.view(b, d // ws[0], h // ws[1], w // ws[2], ws[0], ws[1], ws[2], -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, d, h, w, -1)


def get_window_size(
    x_size: Sequence[int], window: Sequence[int], shift: Sequence[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A window no larger than the input, and no shift along axes the window already covers."""
    ws, ss = list(window), list(shift)
    for i, size in enumerate(x_size):
        if size <= window[i]:
            ws[i], ss[i] = size, 0
    return tuple(ws), tuple(ss)


def compute_mask(
    d: int, h: int, w: int, ws: Sequence[int], ss: Sequence[int], device: torch.device
) -> torch.Tensor:
    """Additive mask (num_windows, N, N) keeping shifted windows from mixing distant regions."""
    img = torch.zeros((1, d, h, w, 1), device=device)
    cnt = 0
    for ds in (slice(-ws[0]), slice(-ws[0], -ss[0]), slice(-ss[0], None)):
        for hs in (slice(-ws[1]), slice(-ws[1], -ss[1]), slice(-ss[1], None)):
            for wsl in (slice(-ws[2]), slice(-ws[2], -ss[2]), slice(-ss[2], None)):
                img[:, ds, hs, wsl, :] = cnt
                cnt += 1
    windows = window_partition(img, ws).squeeze(-1)  # (nW, N)
    mask = windows.unsqueeze(1) - windows.unsqueeze(2)
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


SHRUNK_WINDOW_BIAS = ("release", "exact")


@lru_cache(maxsize=32)
def relative_position_index(
    window: tuple[int, int, int], table_window: tuple[int, int, int]
) -> torch.Tensor:
    """(N, N) rows of the bias table of a `table_window` window for the (t, h, w) offsets
    between the N tokens of a `window` window (no larger than `table_window`). Cached, so always
    built on the CPU (never on a `torch.device` context's device, e.g. meta)."""
    wd, wh, ww = table_window
    axes = (torch.arange(s, device="cpu") for s in window)
    coords = torch.stack(torch.meshgrid(*axes, indexing="ij")).flatten(1)  # (3, N)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # (N, N, 3)
    rel = rel + torch.tensor([wd - 1, wh - 1, ww - 1], device="cpu")
    return rel[..., 0] * (2 * wh - 1) * (2 * ww - 1) + rel[..., 1] * (2 * ww - 1) + rel[..., 2]


class WindowAttention3D(nn.Module):
    """Window attention with a relative position bias table.

    `shrunk_bias` picks the bias of a window shrunk to a smaller input: "release" takes the first
    N rows and columns of the full window's index, as the official code does (the right offsets
    only when just the temporal axis shrinks, the leading axis of the raster order); "exact"
    looks up the offsets of the shrunk window itself.
    """

    def __init__(
        self, *, dim: int, window_size: Sequence[int], num_heads: int, shrunk_bias: str = "release"
    ) -> None:
        super().__init__()
        if shrunk_bias not in SHRUNK_WINDOW_BIAS:
            raise ValueError(
                f"shrunk_bias must be one of {SHRUNK_WINDOW_BIAS}, got {shrunk_bias!r}"
            )
        self.window_size, self.num_heads = tuple(window_size), num_heads
        self.shrunk_bias = shrunk_bias
        wd, wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * wd - 1) * (2 * wh - 1) * (2 * ww - 1), num_heads)
        )
        ws = (wd, wh, ww)
        self.register_buffer(
            "relative_position_index", relative_position_index(ws, ws).clone(), persistent=True
        )
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        window: Sequence[int] | None = None,
    ) -> torch.Tensor:
        """`x` (B * nW, N, C): the tokens of each `window` (default: the full window)."""
        bw, n, c = x.shape
        q, k, v = self.qkv(x).reshape(bw, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        win = self.window_size if window is None else tuple(window)
        if self.shrunk_bias == "exact" and win != self.window_size:
            full = self.window_size
            index = relative_position_index(win, full).to(x.device).reshape(-1)  # type: ignore[arg-type]
        else:
            index = self.relative_position_index[:n, :n].reshape(-1)  # type: ignore[index]
        bias = self.relative_position_bias_table[index].reshape(n, n, -1).permute(2, 0, 1)
        bias = bias.unsqueeze(0)  # (1, heads, N, N)
        if mask is not None:
            # Group windows per clip so the (nW, N, N) mask broadcasts instead of being copied.
            nw = mask.shape[0]
            bias = bias.unsqueeze(0) + mask[None, :, None]  # (1, nW, heads, N, N)
            q, k, v = (t.reshape(bw // nw, nw, self.num_heads, n, -1) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        out = out.reshape(bw, self.num_heads, n, -1)
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


class SwinTransformerBlock3D(nn.Module):
    def __init__(
        self,
        *,
        dim: int,
        num_heads: int,
        window_size: Sequence[int],
        shift_size: Sequence[int],
        mlp_ratio: float,
        drop_path: float,
        shrunk_bias: str = "release",
    ) -> None:
        super().__init__()
        self.window_size, self.shift_size = tuple(window_size), tuple(shift_size)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention3D(
            dim=dim, window_size=window_size, num_heads=num_heads, shrunk_bias=shrunk_bias
        )
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), dim)

    def _attend(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, d, h, w, c = x.shape
        ws, ss = get_window_size((d, h, w), self.window_size, self.shift_size)
        x = self.norm1(x)
        pads = [(-s) % k for s, k in zip((d, h, w), ws, strict=True)]
        x = F.pad(x, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
        _, dp, hp, wp, _ = x.shape
        shifted = any(s > 0 for s in ss)
        if shifted:
            x = torch.roll(x, shifts=tuple(-s for s in ss), dims=(1, 2, 3))
        out = self.attn(window_partition(x, ws), mask if shifted else None, ws)
        x = window_reverse(out.view(-1, *ws, c), ws, b, dp, hp, wp)
        if shifted:
            x = torch.roll(x, shifts=ss, dims=(1, 2, 3))
        return x[:, :d, :h, :w].contiguous()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = x + self.drop_path(self._attend(x, mask))  # (B, D, H, W, C)
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
    """Concatenate 2x2 spatial neighbours, LayerNorm, linear 4C -> 2C."""

    def __init__(self, *, dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w, _ = x.shape
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat(
            [x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]],
            dim=-1,
        )
        return self.reduction(self.norm(x))


class BasicLayer(nn.Module):
    def __init__(
        self,
        *,
        dim: int,
        depth: int,
        num_heads: int,
        window_size: Sequence[int],
        mlp_ratio: float,
        drop_path: Sequence[float],
        downsample: bool,
        shrunk_bias: str = "release",
    ) -> None:
        super().__init__()
        self.window_size = tuple(window_size)
        self.shift_size = tuple(s // 2 for s in window_size)
        self.blocks = nn.ModuleList(
            SwinTransformerBlock3D(
                dim=dim,
                num_heads=num_heads,
                window_size=window_size,
                shift_size=(0, 0, 0) if i % 2 == 0 else self.shift_size,
                mlp_ratio=mlp_ratio,
                drop_path=drop_path[i],
                shrunk_bias=shrunk_bias,
            )
            for i in range(depth)
        )
        self.downsample = PatchMerging(dim=dim) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, d, h, w = x.shape  # (B, C, D, H, W)
        ws, ss = get_window_size((d, h, w), self.window_size, self.shift_size)
        x = x.permute(0, 2, 3, 4, 1)  # (B, D, H, W, C)
        dims = [-(-s // k) * k for s, k in zip((d, h, w), ws, strict=True)]
        shifted = any(s > 0 for s in ss)
        mask = compute_mask(dims[0], dims[1], dims[2], ws, ss, x.device) if shifted else None
        for block in self.blocks:
            x = block(x, mask)
        if self.downsample is not None:
            x = self.downsample(x)
        return x.permute(0, 4, 1, 2, 3)


class PatchEmbed3D(nn.Module):
    def __init__(self, *, in_channels: int, dim: int, patch_size: Sequence[int]) -> None:
        super().__init__()
        pt, ph, pw = patch_size
        self.patch_size = (pt, ph, pw)
        self.proj = nn.Conv3d(in_channels, dim, self.patch_size, stride=self.patch_size)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, d, h, w = x.shape
        pd, ph, pw = self.patch_size
        x = F.pad(x, (0, (-w) % pw, 0, (-h) % ph, 0, (-d) % pd))
        x = self.proj(x)  # (B, C, D', H', W')
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)


class I3DHead(nn.Module):
    def __init__(self, *, dim: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc_cls = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_cls(self.dropout(x))


class SwinTransformer3D(nn.Module):
    """Video Swin backbone + head.

    Args:
        arch: Size variant (see `model_cfgs`).
        num_classes: Output logits.
        in_channels: Input channels.
        patch_size: Patch embedding kernel/stride (T, H, W).
        window_size: Attention window (T, H, W).
        drop_path: Stochastic depth rate of the last block; None = the variant's.
        dropout: Dropout before the classifier (0.5 in the release config).
        shrunk_window_bias: Relative position bias of a window shrunk to a smaller input (e.g.
            the last stage of a 112x112 clip, 4x4 tokens): "release" (default, the official
            code: right only when just the temporal axis shrinks) or "exact" (see
            `WindowAttention3D`). Equal at the release's 224 crops.
    """

    def __init__(
        self,
        *,
        arch: SwinArch,
        num_classes: int = 20,
        in_channels: int = 3,
        patch_size: Sequence[int] = (2, 4, 4),
        window_size: Sequence[int] = (8, 7, 7),
        drop_path: float | None = None,
        dropout: float = 0.5,
        mlp_ratio: float = 4.0,
        shrunk_window_bias: str = "release",
    ) -> None:
        super().__init__()
        if shrunk_window_bias not in SHRUNK_WINDOW_BIAS:
            raise ValueError(
                f"shrunk_window_bias must be one of {SHRUNK_WINDOW_BIAS}, "
                f"got {shrunk_window_bias!r}"
            )
        self.patch_embed = PatchEmbed3D(
            in_channels=in_channels, dim=arch.embed_dim, patch_size=patch_size
        )
        rate = arch.drop_path if drop_path is None else drop_path
        total = sum(arch.depths)
        dpr = [rate * i / max(total - 1, 1) for i in range(total)]
        self.layers = nn.ModuleList()
        for i, (depth, heads) in enumerate(zip(arch.depths, arch.num_heads, strict=True)):
            start = sum(arch.depths[:i])
            self.layers.append(
                BasicLayer(
                    dim=arch.embed_dim * 2**i,
                    depth=depth,
                    num_heads=heads,
                    window_size=window_size,
                    mlp_ratio=mlp_ratio,
                    drop_path=dpr[start : start + depth],
                    downsample=i < len(arch.depths) - 1,
                    shrunk_bias=shrunk_window_bias,
                )
            )
        self.num_features = arch.embed_dim * 2 ** (len(arch.depths) - 1)
        self.norm = nn.LayerNorm(self.num_features)
        self.head = I3DHead(dim=self.num_features, num_classes=num_classes, dropout=dropout)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features `(B, num_features)` of a clip `(B, C, T, H, W)`."""
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x)
        x = self.norm(x.permute(0, 2, 3, 4, 1))  # (B, D, H, W, C)
        return x.mean(dim=(1, 2, 3))

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        return self.head(feats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits `(B, num_classes)` of a clip `(B, C, T, H, W)`."""
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.head.fc_cls = nn.Linear(self.num_features, num_classes)
        nn.init.normal_(self.head.fc_cls.weight, std=0.01)
        nn.init.zeros_(self.head.fc_cls.bias)


@register_model("swin3d_s")
def swin3d_s(
    *,
    num_classes: int = 20,
    in_channels: int = 3,
    drop_path: float = 0.2,
    dropout: float = 0.5,
    shrunk_window_bias: str = "release",
) -> SwinTransformer3D:
    """Video Swin-S (patch 2x4x4, window 8x7x7, depths 2-2-18-2, dim 96)."""
    return SwinTransformer3D(
        arch=model_cfgs["s"],
        num_classes=num_classes,
        in_channels=in_channels,
        drop_path=drop_path,
        dropout=dropout,
        shrunk_window_bias=shrunk_window_bias,
    )


@register_model("swin3d_b")
def swin3d_b(
    *,
    num_classes: int = 20,
    in_channels: int = 3,
    drop_path: float = 0.3,
    dropout: float = 0.5,
    shrunk_window_bias: str = "release",
) -> SwinTransformer3D:
    """Video Swin-B (patch 2x4x4, window 8x7x7, depths 2-2-18-2, dim 128)."""
    return SwinTransformer3D(
        arch=model_cfgs["b"],
        num_classes=num_classes,
        in_channels=in_channels,
        drop_path=drop_path,
        dropout=dropout,
        shrunk_window_bias=shrunk_window_bias,
    )


@register_model("swin3d_test")
def swin3d_test(
    *, num_classes: int = 20, in_channels: int = 3, shrunk_window_bias: str = "release"
) -> SwinTransformer3D:
    """Tiny Video Swin (2 stages, dim 16, window 2x4x4 so the shifted path runs on 4x32x32)."""
    return SwinTransformer3D(
        arch=model_cfgs["test"],
        num_classes=num_classes,
        in_channels=in_channels,
        window_size=(2, 4, 4),
        shrunk_window_bias=shrunk_window_bias,
    )
