"""MViTv2: parameter counts, the paper's S layout, MCT / KD tokens, attention numerics, and
relative position tables at clip sizes other than the built one (PySlowFast's interpolation)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch
import torch.nn.functional as F

from musclemap.models import build_model
from musclemap.models.tokens import TokenOutput
from musclemap.models.video.mvit import (
    MultiScaleAttention,
    MultiScaleBlock,
    MViT,
    _block_schedule,
    attention_pool,
    model_cfgs,
)
from musclemap.models.video.weights import load_state_dict_mapped

# PySlowFast MVITv2_S_16x4 / MVITv2_B_32x3 with a 20-class head. B's count is for its 32-frame
# tables (2 * 16 - 1 rows of rel_pos_t); at 16 frames it was 50,901,044 (24 blocks x 16 x 96 less).
REFERENCE_PARAMS = {"mvitv2_s": 34_245_524, "mvitv2_b": 50_937_908}


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_parameter_count_matches_reference(name: str) -> None:
    with torch.device("meta"):
        model = build_model(name, num_classes=20)
    assert sum(p.numel() for p in model.parameters()) == REFERENCE_PARAMS[name]


def test_mvitv2_s_schedule_is_the_papers() -> None:
    sched = _block_schedule(model_cfgs["s"], (1, 8, 8))
    assert len(sched) == 16
    changes = [i for i, s in enumerate(sched) if s.dim_out != s.dim]
    assert changes == [1, 3, 14]
    assert [s.stride_q for s in sched if s.stride_q != (1, 1, 1)] == [(1, 2, 2)] * 3
    assert sched[0].stride_kv == (1, 8, 8) and sched[1].stride_kv == (1, 4, 4)
    assert sched[3].stride_kv == (1, 2, 2) and sched[15].stride_kv == (1, 1, 1)
    assert (sched[0].dim, sched[-1].dim_out, sched[-1].num_heads) == (96, 768, 8)
    with torch.device("meta"):
        model = build_model("mvitv2_s")
    assert model.patch_embed.proj.kernel_size == (3, 7, 7)
    assert model.patch_embed.proj.stride == (2, 4, 4)
    assert model.blocks[-1].drop_path.p == pytest.approx(0.2)


def test_tiny_forward_backward_every_parameter_gets_gradient() -> None:
    torch.manual_seed(0)
    model = build_model("mvitv2_test", num_classes=20)
    logits = model(torch.randn(2, 3, 4, 32, 32))  # (B, C, T, H, W)
    assert logits.shape == (2, 20) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []
    model.reset_classifier(5)
    assert model(torch.randn(1, 3, 4, 32, 32)).shape == (1, 5)


@pytest.mark.parametrize("num_kd", [0, 1, 20])
def test_mct_tokens_and_forward_tokens(num_kd: int) -> None:
    torch.manual_seed(0)
    model = build_model("mvitv2_test", num_classes=20, num_cls_tokens=20, num_kd_tokens=num_kd)
    model.eval()
    x = torch.randn(2, 3, 4, 32, 32)
    out = model.forward_tokens(x)
    assert isinstance(out, TokenOutput)
    dim = model.num_features
    assert out.cls.shape == (2, 20, dim)
    assert len(out.cls_per_block) == len(model.blocks)
    assert out.reduction_blocks == (1, 2)  # the Q-pooling block and the last block
    if num_kd:
        assert out.kd is not None and out.kd.shape == (2, num_kd, dim)
        assert [t.shape[1] for t in out.kd_per_block] == [num_kd] * len(model.blocks)
        assert out.kd_per_block[0].shape[-1] == 16 and out.kd_per_block[-1].shape[-1] == dim
    else:
        assert out.kd is None and out.kd_per_block == []
    # forward = linear head on the mean of the (normalised) class tokens.
    expected = model.head(model.norm(out.cls).mean(dim=1)) if num_kd == 0 else None
    if expected is not None:
        torch.testing.assert_close(model(x), expected)
    # Every token goes through every block; the patch grid is pooled to (2, 4, 4) = 32 tokens.
    assert model.forward_features(x).shape == (2, 20 + num_kd + 2 * 4 * 4, dim)


def _ref_rel_table(table: torch.Tensor, q: int, k: int) -> torch.Tensor:
    """PySlowFast's decomposed rel-pos lookup (attention.py `get_rel_pos` + `cal_rel_pos_*`),
    from its documented algorithm: resample the (L, C) table to 2 * max(q, k) - 1 rows with
    F.interpolate (linear, on a (1, C, L) view), then index it by the q-k distance measured on a
    common grid when the q and k sizes differ. Returns (q, k, C)."""
    rows = 2 * max(q, k) - 1
    if table.shape[0] != rows:
        table = F.interpolate(table.t()[None], size=rows, mode="linear")[0].t()
    q_ratio, k_ratio = max(k / q, 1.0), max(q / k, 1.0)
    dist = torch.arange(q)[:, None] * q_ratio - torch.arange(k)[None, :] * k_ratio
    return table[(dist + (k - 1) * k_ratio).long()]


def _pyslowfast_attention(
    attn: MultiScaleAttention, x: torch.Tensor, thw: Sequence[int]
) -> tuple[torch.Tensor, list[int]]:
    """PySlowFast's explicit MultiScaleAttention.forward (one class token): scores + rel-pos
    bias, softmax, residual pooling. The pooling convs are the module's own."""
    b, n, _ = x.shape
    q, k, v = attn.qkv(x).reshape(b, n, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
    q, q_shape = attention_pool(q, attn.pool_q, thw, 1, attn.norm_q)
    k, k_shape = attention_pool(k, attn.pool_k, thw, 1, attn.norm_k)
    v, _ = attention_pool(v, attn.pool_v, thw, 1, attn.norm_v)
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    (qt, qh, qw), (kt, kh, kw) = q_shape, k_shape
    rq = q[:, :, 1:].reshape(b, attn.num_heads, qt, qh, qw, -1)
    rel_t = torch.einsum("bythwc,tkc->bythwk", rq, _ref_rel_table(attn.rel_pos_t, qt, kt))
    rel_h = torch.einsum("bythwc,hkc->bythwk", rq, _ref_rel_table(attn.rel_pos_h, qh, kh))
    rel_w = torch.einsum("bythwc,wkc->bythwk", rq, _ref_rel_table(attn.rel_pos_w, qw, kw))
    sp = scores[:, :, 1:, 1:].reshape(b, -1, qt, qh, qw, kt, kh, kw)
    sp = (
        sp
        + rel_h[:, :, :, :, :, None, :, None]
        + rel_w[:, :, :, :, :, None, None, :]
        + rel_t[:, :, :, :, :, :, None, None]
    )
    scores = scores.clone()
    scores[:, :, 1:, 1:] = sp.reshape(b, -1, qt * qh * qw, kt * kh * kw)
    out = scores.softmax(-1) @ v
    out[:, :, 1:] += q[:, :, 1:]
    return attn.proj(out.transpose(1, 2).reshape(b, -1, attn.dim_out)), q_shape


def _reference_block(
    block: MultiScaleBlock, x: torch.Tensor, thw: Sequence[int]
) -> tuple[torch.Tensor, list[int]]:
    """PySlowFast's MultiScaleBlock.forward (DIM_MUL_IN_ATT, eval) over the explicit attention."""
    x_norm = block.norm1(x)
    x_block, new_thw = _pyslowfast_attention(block.attn, x_norm, thw)
    if block.proj is not None:
        x = block.proj(x_norm)
    x_res, _ = attention_pool(x, block.pool_skip, thw, 1)
    x = x_res + x_block
    return x + block.mlp(block.norm2(x)), new_thw


def _reference_forward(model: MViT, clip: torch.Tensor) -> torch.Tensor:
    """PySlowFast's MViT.forward (one class token) block by block over the reference blocks."""
    x = model.patch_embed(clip)
    thw = list(x.shape[2:])
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([model.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
    for block in model.blocks:
        x, thw = _reference_block(block, x, thw)  # type: ignore[arg-type]
    return model.head(model.norm(x)[:, 0])


def _rel_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def _attention(input_size: Sequence[int], stride_q: Sequence[int]) -> MultiScaleAttention:
    return MultiScaleAttention(
        dim=8,
        dim_out=16,
        num_heads=2,
        input_size=input_size,
        kernel_q=(3, 3, 3),
        stride_q=stride_q,
        kernel_kv=(3, 3, 3),
        stride_kv=(1, 4, 4),
        num_prefix=1,
    )


@pytest.mark.parametrize(
    "run_thw",
    [(4, 8, 8), (2, 8, 8), (4, 4, 4), (3, 6, 5), (6, 12, 12), (1, 9, 7)],
    ids=["built", "fewer-frames", "smaller", "odd", "larger", "one-frame-odd"],
)
def test_sdpa_attention_matches_pyslowfast_formulation(run_thw: tuple[int, int, int]) -> None:
    # Built for 4x8x8 tokens; other run-time sizes resample the tables as PySlowFast does.
    torch.manual_seed(0)
    attn = _attention((4, 8, 8), (1, 2, 2))
    with torch.no_grad():
        for p in (attn.rel_pos_t, attn.rel_pos_h, attn.rel_pos_w):
            p.normal_()  # large tables: an off-centre or unresampled lookup cannot hide
    t, h, w = run_thw
    x = torch.randn(2, 1 + t * h * w, 8)
    ours, thw = attn(x, list(run_thw))
    ref, ref_thw = _pyslowfast_attention(attn, x, run_thw)
    assert thw == ref_thw == [t, -(-h // 2), -(-w // 2)]
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("run_thw", [(4, 56, 56), (8, 28, 28)])
@pytest.mark.parametrize("stride_q", [(1, 1, 1), (1, 2, 2)])
def test_block_on_other_clip_equals_block_built_for_it_with_interpolated_tables(
    run_thw: tuple[int, int, int], stride_q: tuple[int, int, int]
) -> None:
    # The case: tables built for 8x56x56 tokens, run on 4x56x56 or 8x28x28. PySlowFast
    # resamples the tables to the run-time size, which is what a block built for that size holds
    # once its loader has interpolated the 8x56x56 tables (F.interpolate, linear).
    torch.manual_seed(0)

    def block(size: Sequence[int]) -> MultiScaleBlock:
        return MultiScaleBlock(
            dim=16,
            dim_out=16 * stride_q[1],
            num_heads=stride_q[1],
            input_size=size,
            mlp_ratio=2.0,
            drop_path=0.0,
            kernel_q=(3, 3, 3),
            stride_q=stride_q,
            kernel_kv=(3, 3, 3),
            stride_kv=(1, 4, 4),
            num_prefix=1,
        ).eval()

    big, small = block((8, 56, 56)), block(run_thw)
    state = big.state_dict()
    with torch.no_grad():
        for key in ("attn.rel_pos_t", "attn.rel_pos_h", "attn.rel_pos_w"):
            state[key] = torch.randn_like(state[key])
            rows = small.state_dict()[key].shape[0]
            state[key + "_small"] = F.interpolate(state[key].t()[None], size=rows, mode="linear")
    big.load_state_dict({k: v for k, v in state.items() if not k.endswith("_small")})
    resized = {
        k: (state[k + "_small"][0].t() if k + "_small" in state else v)
        for k, v in state.items()
        if not k.endswith("_small")
    }
    assert any(resized[k].shape != state[k].shape for k in resized)  # really resampled
    small.load_state_dict(resized)
    t, h, w = run_thw
    x = torch.randn(1, 1 + t * h * w, 16)
    with torch.no_grad():
        out_big, thw_big = big(x, list(run_thw))
        out_small, thw_small = small(x, list(run_thw))
        out_ref, _ = _reference_block(big, x, run_thw)
    assert thw_big == thw_small
    assert _rel_diff(out_big, out_small) < 1e-5
    assert _rel_diff(out_big, out_ref) < 1e-5


def test_loader_interpolates_rel_pos_tables_and_models_agree() -> None:
    # A checkpoint of a model built for 16x128x128 loaded into one built for 8x64x64: the loader
    # resamples every rel-pos table and reports it; both models then give the same logits on an
    # 8x64x64 clip (the first resamples at run time, the second at load time).
    torch.manual_seed(0)
    src = build_model("mvitv2_test", num_frames=16, img_size=128).eval()
    with torch.no_grad():
        for name, p in src.named_parameters():
            if "rel_pos" in name:
                p.normal_()
    dst = build_model("mvitv2_test", num_frames=8, img_size=64).eval()
    report = load_state_dict_mapped(dst, src.state_dict(), reinit_head=False)
    tables = [k for k in dst.state_dict() if "rel_pos" in k]
    assert report.ok and sorted(report.adapted) == sorted(tables) and len(tables) == 9
    assert report.details["blocks.0.attn.rel_pos_t"] == "linear interpolation (15, 16) -> (7, 16)"
    assert report.details["blocks.0.attn.rel_pos_h"] == "linear interpolation (63, 16) -> (31, 16)"
    expected = F.interpolate(src.blocks[2].attn.rel_pos_w.t()[None], size=15, mode="linear")
    torch.testing.assert_close(dst.blocks[2].attn.rel_pos_w, expected[0].t())
    clip = torch.randn(2, 3, 8, 64, 64)
    with torch.no_grad():
        assert _rel_diff(src(clip), dst(clip)) < 1e-5
        assert _rel_diff(src(clip), _reference_forward(src, clip)) < 1e-5


def test_mvitv2_s_at_img_size_112_runs_and_matches_reference() -> None:
    # Odd token grids: pooling 7 -> 4 rounds up while the tables are sized by 7 // 2 = 3, so the
    # last block's tables (5 rows) are resampled to 7 at run time, as PySlowFast does.
    torch.manual_seed(0)
    model = build_model("mvitv2_s", img_size=112).eval()
    assert model.blocks[15].attn.rel_pos_h.shape == (5, 96)
    clip = torch.randn(1, 3, 16, 112, 112)
    with torch.no_grad():
        logits = model(clip)
        assert logits.shape == (1, 20) and torch.isfinite(logits).all()
        assert _rel_diff(logits, _reference_forward(model, clip)) < 1e-4


def test_bad_token_counts_raise_and_any_clip_size_runs() -> None:
    with pytest.raises(ValueError):
        build_model("mvitv2_test", num_cls_tokens=0)
    model = build_model("mvitv2_test").eval()  # tables sized for 8x64x64
    for shape in [(16, 32, 32), (2, 32, 32), (8, 96, 80), (1, 16, 16)]:
        assert model(torch.zeros(1, 3, *shape)).shape == (1, 20)
