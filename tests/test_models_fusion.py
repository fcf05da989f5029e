"""Token fusion variants (MCTF and Table V alternatives) keep shapes and train."""

from __future__ import annotations

import pytest
import torch

from musclemap.models.fusion import MCTF, TOKEN_FUSIONS, DropPath, build_token_fusion


@pytest.mark.parametrize("name", TOKEN_FUSIONS)
def test_fusion_keeps_shape_and_gets_gradients(name: str) -> None:
    torch.manual_seed(0)
    fusion = build_token_fusion(name, dim=16, num_heads=2, drop_path=0.2)
    m = torch.randn(2, 20, 16, requires_grad=True)
    r = torch.randn(2, 20, 16, requires_grad=True)
    out = fusion(m, r)
    assert out.shape == (2, 20, 16)
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    assert m.grad is not None
    for pname, p in fusion.named_parameters():
        assert p.grad is not None, f"{name}: {pname} got no gradient"
    if name not in ("none",):
        assert r.grad is not None


def test_mctf_structure_follows_eq_4_to_9() -> None:
    f = MCTF(768)
    # Q/K/V per token set, the four attention projections, P_f on the concatenation.
    assert set(f.proj.keys()) == {"mm", "rr", "mr", "rm"}
    assert f.proj_f.in_features == 2 * 768 and f.proj_f.out_features == 768
    assert f.scale == 0.8 and f.heads_m.num_heads == 1 and f.drop_path.p == 0.2
    n = sum(p.numel() for p in f.parameters())
    assert 11_000_000 < n < 13_000_000  # ~11.8M at width 768


def test_mctf_residual_is_token_average_in_eval_with_zeroed_branches() -> None:
    f = MCTF(8, drop_path=0.0).eval()
    for p in (f.proj_f.weight, f.proj_f.bias, f.mlp.net[3].weight, f.mlp.net[3].bias):
        torch.nn.init.zeros_(p)
    m, r = torch.randn(1, 4, 8), torch.randn(1, 4, 8)
    torch.testing.assert_close(f(m, r), (m + r) / 2)


def test_unknown_fusion_fails() -> None:
    with pytest.raises(ValueError, match="unknown token fusion"):
        build_token_fusion("concat", dim=8)


def test_drop_path_identity_in_eval() -> None:
    x = torch.randn(4, 3)
    assert torch.equal(DropPath(0.5).eval()(x), x)


def test_parameter_free_fusions_by_hand() -> None:
    m, r = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    torch.testing.assert_close(build_token_fusion("sum", dim=4)(m, r), m + r)
    torch.testing.assert_close(build_token_fusion("mul", dim=4)(m, r), m * r)
    assert build_token_fusion("none", dim=4)(m, r) is m  # the classification tokens alone
