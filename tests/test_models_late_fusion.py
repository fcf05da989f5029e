"""Late fusion (Table VI): each mode combines the two branches' normalised token means as it
says, the head's width follows the mode, bad modes and a missing modality fail."""

from __future__ import annotations

import pytest
import torch

from musclemap.models import build_model, list_models
from musclemap.models.late_fusion import LateFusion
from musclemap.models.transm3e import forward_tokens

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {
    "receiver": "mvitv2_test",
    "receiver_input_shape": (3, 4, 32, 32),
    "sender": "stgcn",
    "sender_kwargs": {"layout": "coco17", "base_channels": 8},
    "sender_input_shape": (1, 8, 17, 3),
}


def _model(mode: str) -> LateFusion:
    torch.manual_seed(0)
    model = build_model(f"late_fusion_{mode}", **TINY)
    assert isinstance(model, LateFusion)
    return model.eval()


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(2, 3, 4, 32, 32, generator=g), torch.randn(2, 1, 8, 17, 3, generator=g)


def _branches(model: LateFusion, video: torch.Tensor, pose: torch.Tensor):
    f_r = model.norm_r(forward_tokens(model.receiver, video).cls.mean(1))
    f_s = model.norm_s(forward_tokens(model.sender, pose).cls.mean(1))
    return f_r, f_s


@pytest.mark.parametrize("mode", ["sum", "concat", "mul"])
def test_each_mode_fuses_as_it_says(mode: str) -> None:
    model = _model(mode)
    video, pose = _inputs()
    with torch.no_grad():
        f_r, f_s = _branches(model, video, pose)
        want = {
            "sum": lambda: model.proj_r(f_r) + model.proj_s(f_s),
            "mul": lambda: model.proj_r(f_r) * model.proj_s(f_s),
            "concat": lambda: torch.cat([f_r, f_s], dim=-1),
        }[mode]()
        torch.testing.assert_close(model.forward_features(video, pose), want)
        torch.testing.assert_close(model(video, pose), model.head(want))
    width = f_r.shape[-1] + f_s.shape[-1] if mode == "concat" else f_r.shape[-1]
    assert model.head.in_features == width and model.head.out_features == 20


def test_registered_modes_and_reset() -> None:
    assert {"late_fusion_sum", "late_fusion_concat", "late_fusion_mul"} <= set(list_models())
    model = _model("sum")
    model.reset_classifier(7)
    video, pose = _inputs()
    assert model(video, pose).shape == (2, 7) and model.num_classes == 7


def test_bad_mode_and_missing_modality() -> None:
    model = _model("sum")
    with pytest.raises(ValueError, match="mode must be sum, concat or mul"):
        LateFusion(receiver=model.receiver, sender=model.sender,
                   receiver_input_shape=TINY["receiver_input_shape"],
                   sender_input_shape=TINY["sender_input_shape"], mode="max")
    with pytest.raises(ValueError, match="needs both modalities"):
        model(_inputs()[0], None)  # type: ignore[arg-type]
    assert model.other_input == "pose"
    aux = build_model("late_fusion_sum", sender_input="aux", **TINY)
    assert aux.other_input == "aux"
