"""TransM3E and its ablation variants on tiny stand-in MCT backbones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F

from musclemap.models import build_model, list_models
from musclemap.models.transm3e import VARIANTS, TransM3EOutput
from standin_backbones import POSE_SHAPE, STANDIN_KW, VIDEO_SHAPE, registered

ALL = ["transm3e", *VARIANTS, "late_fusion_sum", "late_fusion_concat", "late_fusion_mul"]


@pytest.fixture(autouse=True)
def standins() -> Iterator[None]:
    with registered():
        yield


def _build(name: str) -> torch.nn.Module:
    kw = dict(STANDIN_KW)
    if name == "transm3e_rgbdiff":
        kw.update(sender="standin_video", sender_input_shape=VIDEO_SHAPE)
    return build_model(name, num_classes=20, **kw)


def _inputs(model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    other_shape = POSE_SHAPE if model.other_input == "pose" else VIDEO_SHAPE
    return torch.randn(2, *VIDEO_SHAPE), torch.randn(2, *other_shape)


def test_every_variant_is_registered() -> None:
    assert set(ALL) <= set(list_models("transm3e*") + list_models("late_fusion*"))


@pytest.mark.parametrize("name", ALL)
def test_variant_trains_one_step(name: str) -> None:
    torch.manual_seed(0)
    model = _build(name)
    video, other = _inputs(model)
    labels = torch.randint(0, 2, (2, 20)).float()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    before = [p.detach().clone() for p in model.parameters()]
    if name.startswith("late_fusion"):
        logits = model(video, other)
        loss = F.binary_cross_entropy_with_logits(logits, labels)
    else:
        out = model(video, other, with_losses=True)
        assert isinstance(out, TransM3EOutput)
        logits = out.logits
        loss = (
            F.binary_cross_entropy_with_logits(out.receiver_logits, labels)
            + F.binary_cross_entropy_with_logits(out.sender_logits, labels)
            + out.kd_loss
        )
        if name == "transm3e_no_mctkd":
            assert out.kd_loss.item() == 0.0
        else:
            assert out.kd_loss.item() > 0.0
    assert logits.shape == (2, 20) and torch.isfinite(logits).all()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"parameters without gradient: {missing[:5]}"
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_full_model_structure() -> None:
    model = _build("transm3e")
    # SP: stand-in video reduces after block 1 and has 3 blocks -> positions 1 and 2.
    assert [r for r, _ in model.distiller.pairs] == [1, 2]
    assert type(model.head_r.fusion).__name__ == "MCTF"
    assert model.receiver.kd_tokens.shape[1] == 20 and model.receiver.cls_tokens.shape[1] == 20
    assert isinstance(model.receiver.head, torch.nn.Identity)  # backbone heads replaced


def test_kd_variants_token_counts_and_positions() -> None:
    assert _build("transm3e_sp_kd").receiver.kd_tokens.shape[1] == 1
    assert len(_build("transm3e_de_mctkd").distiller.pairs) == 3
    assert len(_build("transm3e_fl_mctkd").distiller.pairs) == 1
    assert _build("transm3e_no_mct").receiver.cls_tokens.shape[1] == 1
    assert _build("transm3e_no_mctkd").distiller is None


def test_inference_averages_branches_and_runs_rgb_only() -> None:
    torch.manual_seed(0)
    model = _build("transm3e").eval()
    video, pose = _inputs(model)
    out = model(video, pose, with_losses=True)
    torch.testing.assert_close(out.logits, (out.receiver_logits + out.sender_logits) / 2)
    torch.testing.assert_close(model(video), out.receiver_logits)  # other modality absent


def test_reset_classifier_and_bad_options() -> None:
    model = _build("transm3e")
    model.reset_classifier(5)
    video, pose = _inputs(model)
    assert model(video, pose).shape == (2, 5)
    with pytest.raises(ValueError, match="kd_tokens"):
        build_model("transm3e", kd_tokens="many", **STANDIN_KW)
    with pytest.raises(ValueError, match="fusion='none'"):
        build_model("transm3e", kd_tokens="cls", **STANDIN_KW)
    with pytest.raises(TypeError):
        build_model("transm3e", no_such_option=1, **STANDIN_KW)


def test_cls_token_distillation_without_kd_tokens() -> None:
    model = build_model("transm3e", kd_tokens="cls", fusion="none", **STANDIN_KW)
    assert model.receiver.kd_tokens is None
    video, pose = _inputs(model)
    assert model(video, pose, with_losses=True).kd_loss.item() > 0


def test_frozen_sender_stays_fixed_and_in_eval() -> None:
    model = build_model("transm3e", freeze_sender=True, **STANDIN_KW)
    model.train()
    assert not model.sender.training and model.receiver.training
    assert not any(p.requires_grad for p in model.sender.parameters())
    video, pose = _inputs(model)
    out = model(video, pose, with_losses=True)
    (out.logits.sum() + out.kd_loss).backward()
    assert all(p.grad is None for p in model.sender.parameters())
    assert all(p.grad is not None for p in model.head_s.parameters())
