"""MViTv2: parameter counts, the paper's S layout, MCT / KD tokens, attention numerics."""

from __future__ import annotations

import pytest
import torch

from musclemap.models import build_model
from musclemap.models.tokens import TokenOutput
from musclemap.models.video.mvit import MultiScaleAttention, _block_schedule, model_cfgs

REFERENCE_PARAMS = {"mvitv2_s": 34_245_524, "mvitv2_b": 50_901_044}  # PySlowFast, 20 classes


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


def _pyslowfast_attention(
    attn: MultiScaleAttention, x: torch.Tensor, thw: list[int]
) -> torch.Tensor:
    """PySlowFast's explicit MultiScaleAttention.forward (cal_rel_pos_spatial/temporal), 1 cls."""
    from musclemap.models.video.mvit import _rel_index, attention_pool

    b, n, _ = x.shape
    q, k, v = attn.qkv(x).reshape(b, n, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
    q, q_shape = attention_pool(q, attn.pool_q, thw, 1, attn.norm_q)
    k, k_shape = attention_pool(k, attn.pool_k, thw, 1, attn.norm_k)
    v, _ = attention_pool(v, attn.pool_v, thw, 1, attn.norm_v)
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    (qt, qh, qw), (kt, kh, kw) = q_shape, k_shape
    rq = q[:, :, 1:].reshape(b, attn.num_heads, qt, qh, qw, -1)
    rel_h = torch.einsum(
        "byhwtc,hkc->byhwtk",
        rq.permute(0, 1, 3, 4, 2, 5),
        attn.rel_pos_h[_rel_index(qh, kh, x.device)],
    ).permute(0, 1, 4, 2, 3, 5)
    rel_w = torch.einsum("bythwc,wkc->bythwk", rq, attn.rel_pos_w[_rel_index(qw, kw, x.device)])
    rel_t = torch.einsum("bythwc,tkc->bythwk", rq, attn.rel_pos_t[_rel_index(qt, kt, x.device)])
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
    return attn.proj(out.transpose(1, 2).reshape(b, -1, attn.dim_out))


def test_sdpa_attention_matches_pyslowfast_formulation() -> None:
    torch.manual_seed(0)
    attn = MultiScaleAttention(
        dim=8,
        dim_out=16,
        num_heads=2,
        input_size=(4, 8, 8),
        kernel_q=(3, 3, 3),
        stride_q=(1, 2, 2),
        kernel_kv=(3, 3, 3),
        stride_kv=(1, 4, 4),
        num_prefix=1,
    )
    x = torch.randn(2, 1 + 4 * 8 * 8, 8)
    ours, thw = attn(x, [4, 8, 8])
    assert thw == [4, 4, 4]
    torch.testing.assert_close(
        ours, _pyslowfast_attention(attn, x, [4, 8, 8]), atol=1e-5, rtol=1e-5
    )


def test_bad_token_counts_and_oversized_input_raise() -> None:
    with pytest.raises(ValueError):
        build_model("mvitv2_test", num_cls_tokens=0)
    model = build_model("mvitv2_test")  # accepts up to 8x64x64
    with pytest.raises(ValueError, match="num_frames"):
        model(torch.zeros(1, 3, 16, 32, 32))
    assert model(torch.zeros(1, 3, 2, 32, 32)).shape == (1, 20)  # smaller inputs are fine
