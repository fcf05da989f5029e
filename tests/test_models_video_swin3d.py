"""Video Swin: parameter counts, tiny forward/backward, shifted-window attention numerics."""

from __future__ import annotations

import pytest
import torch

from musclemap.models import build_model
from musclemap.models.video.swin3d import (
    BasicLayer,
    SwinTransformerBlock3D,
    compute_mask,
    relative_position_index,
    window_partition,
    window_reverse,
)

REFERENCE_PARAMS = {"swin3d_s": 49_524_458, "swin3d_b": 87_659_484}  # release code, 20 classes


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_parameter_count_matches_reference(name: str) -> None:
    with torch.device("meta"):
        model = build_model(name, num_classes=20)
    count = sum(p.numel() for p in model.parameters())
    assert count == REFERENCE_PARAMS[name]


def test_tiny_forward_backward() -> None:
    torch.manual_seed(0)
    model = build_model("swin3d_test", num_classes=20)
    logits = model(torch.randn(2, 3, 4, 32, 32))
    assert logits.shape == (2, 20) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.reset_classifier(3)
    assert model(torch.randn(1, 3, 4, 32, 32)).shape == (1, 3)


def test_window_partition_round_trip() -> None:
    x = torch.randn(2, 4, 8, 8, 5)
    windows = window_partition(x, (2, 4, 4))
    assert windows.shape == (2 * 2 * 2 * 2, 32, 5)
    assert torch.equal(window_reverse(windows.view(-1, 2, 4, 4, 5), (2, 4, 4), 2, 4, 8, 8), x)


def _reference_block_attention(block: SwinTransformerBlock3D, x: torch.Tensor) -> torch.Tensor:
    # The release's explicit formulation (forward_part1): a window no larger than the input and
    # no shift along axes it covers; LayerNorm, zero-pad to whole windows, roll, attention
    # softmax(q k^T * scale + bias + mask) v per window, roll back, crop.
    b, d, h, w, c = x.shape
    ws = tuple(min(s, k) for s, k in zip((d, h, w), block.window_size, strict=True))
    ss = tuple(
        0 if s <= k else sh
        for s, k, sh in zip((d, h, w), block.window_size, block.shift_size, strict=True)
    )
    dp, hp, wp = (-(-s // k) * k for s, k in zip((d, h, w), ws, strict=True))
    xn = torch.nn.functional.pad(block.norm1(x), (0, 0, 0, wp - w, 0, hp - h, 0, dp - d))
    xn = torch.roll(xn, shifts=tuple(-s for s in ss), dims=(1, 2, 3))
    win = window_partition(xn, ws)
    attn = block.attn
    bw, n, _ = win.shape
    q, k, v = attn.qkv(win).reshape(bw, n, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    idx = attn.relative_position_index[:n, :n].reshape(-1)
    scores = scores + attn.relative_position_bias_table[idx].reshape(n, n, -1).permute(2, 0, 1)
    if any(ss):
        mask = compute_mask(dp, hp, wp, ws, ss, x.device)
        nw = mask.shape[0]
        scores = (scores.view(bw // nw, nw, attn.num_heads, n, n) + mask[None, :, None]).view(
            bw, attn.num_heads, n, n
        )
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(bw, n, c)
    out = window_reverse(attn.proj(out).view(-1, *ws, c), ws, b, dp, hp, wp)
    return torch.roll(out, shifts=ss, dims=(1, 2, 3))[:, :d, :h, :w]


def test_shifted_window_attention_matches_explicit_formula() -> None:
    torch.manual_seed(0)
    block = SwinTransformerBlock3D(
        dim=8,
        num_heads=2,
        window_size=(2, 4, 4),
        shift_size=(1, 2, 2),
        mlp_ratio=2.0,
        drop_path=0.0,
    )
    x = torch.randn(1, 4, 8, 8, 8)
    mask = compute_mask(4, 8, 8, (2, 4, 4), (1, 2, 2), x.device)
    ours = block._attend(x, mask)
    torch.testing.assert_close(ours, _reference_block_attention(block, x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dhw", [(3, 6, 5), (2, 3, 9), (5, 8, 8), (1, 4, 7)])
def test_block_on_sizes_needing_window_padding_or_shrinking_matches_explicit_formula(
    dhw: tuple[int, int, int],
) -> None:
    # Clip sizes the window does not divide (zero padding after the norm, mask on the padded
    # grid) or does not fill (window shrinks to the input, no shift along that axis).
    torch.manual_seed(0)
    layer = BasicLayer(
        dim=8,
        depth=2,
        num_heads=2,
        window_size=(2, 4, 4),
        mlp_ratio=2.0,
        drop_path=[0.0, 0.0],
        downsample=False,
    )
    x = torch.randn(2, 8, *dhw)  # (B, C, D, H, W)
    xl = x.permute(0, 2, 3, 4, 1)
    expected = xl
    for block in layer.blocks:
        expected = expected + _reference_block_attention(block, expected)
        expected = expected + block.mlp(block.norm2(expected))
    torch.testing.assert_close(layer(x), expected.permute(0, 4, 1, 2, 3), atol=1e-5, rtol=1e-5)


def _offsets(window: tuple[int, int, int]) -> torch.Tensor:
    """True (t, h, w) offsets between the tokens of a window in raster order: (N, N, 3)."""
    coords = torch.cartesian_prod(*(torch.arange(s) for s in window))  # (N, 3)
    return coords[:, None] - coords[None, :]


def _decode(index: torch.Tensor, table_window: tuple[int, int, int]) -> torch.Tensor:
    """Offsets a bias-table row stands for, for a table built for `table_window`."""
    wd, wh, ww = table_window
    t, rest = index // ((2 * wh - 1) * (2 * ww - 1)), index % ((2 * wh - 1) * (2 * ww - 1))
    return torch.stack(
        [t - (wd - 1), rest // (2 * ww - 1) - (wh - 1), rest % (2 * ww - 1) - (ww - 1)], -1
    )


def test_relative_position_index_of_shrunk_windows() -> None:
    full = (8, 7, 7)
    n_full = 8 * 7 * 7
    assert torch.equal(_decode(relative_position_index(full, full), full), _offsets(full))
    # Only the temporal axis shrinks (8-frame clips): the release's [:N, :N] slice is right.
    n = 4 * 7 * 7
    release = relative_position_index(full, full)[:n, :n]
    assert torch.equal(release, relative_position_index((4, 7, 7), full))
    # A spatial axis shrinks (112x112 clips, last stage 4x4): the slice is not the window's.
    n = 8 * 4 * 4
    release = relative_position_index(full, full)[:n, :n]
    exact = relative_position_index((8, 4, 4), full)
    assert torch.equal(_decode(exact, full), _offsets((8, 4, 4)))
    wrong = (_decode(release, full) != _offsets((8, 4, 4))).any(-1).float().mean()
    assert wrong > 0.5 and n < n_full


@pytest.mark.parametrize(
    ("thw", "same"), [((4, 32, 32), True), ((2, 32, 32), True), ((4, 16, 16), False)]
)
def test_shrunk_window_bias_modes(thw: tuple[int, int, int], same: bool) -> None:
    # swin3d_test: window 2x4x4. 4x32x32 -> no shrink; 2x32x32 -> one temporal token (only T
    # shrinks); 4x16x16 -> the last stage is 2x2 tokens (H and W shrink): the modes differ there.
    torch.manual_seed(0)
    release = build_model("swin3d_test").eval()
    exact = build_model("swin3d_test", shrunk_window_bias="exact").eval()
    exact.load_state_dict(release.state_dict())
    with torch.no_grad():
        for p in release.parameters():
            if p.ndim == 2 and p.shape[1] <= 2:  # the bias tables: large, so a wrong row shows
                p.normal_()
        exact.load_state_dict(release.state_dict())
        x = torch.randn(1, 3, *thw)
        a, b = release.forward_features(x), exact.forward_features(x)
    assert torch.allclose(a, b, atol=1e-6) is same
    with pytest.raises(ValueError, match="shrunk_window_bias"):
        build_model("swin3d_test", shrunk_window_bias="nope")
