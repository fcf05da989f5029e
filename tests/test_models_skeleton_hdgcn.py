"""HD-GCN: parameter count of the reference (NTU-25), the one-person input norm, every layout."""

from __future__ import annotations

import pytest
import torch

from conftest import assert_trains, param_count
from musclemap.models import build_model, list_models
from musclemap.skeleton import COCO17, LAYOUTS, MEDIAPIPE33, NTU25

pytestmark = pytest.mark.usefixtures("one_thread")


def test_parameter_count_matches_the_reference() -> None:
    count = param_count("hdgcn", layout=NTU25, in_channels=3, num_person=2)
    assert abs(count - 1_649_700) <= 0.01 * 1_649_700


def test_one_person_default_differs_only_by_input_norm() -> None:
    two = param_count("hdgcn", layout=NTU25, num_person=2)
    assert two - param_count("hdgcn", layout=NTU25) == 2 * NTU25.num_joints * 3


def test_registered_and_typed() -> None:
    assert "hdgcn" in list_models("*gcn")
    with pytest.raises(TypeError):
        build_model("hdgcn", layuot=COCO17)


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_forward_backward_every_layout(layout) -> None:
    torch.manual_seed(0)
    model = build_model("hdgcn", layout=layout, in_channels=3, base_channels=16)
    assert_trains(model, torch.randn(2, 1, 8, layout.num_joints, 3))  # (B, M, T, V, C)


def test_full_width_mediapipe_3d_input() -> None:
    model = build_model("hdgcn", layout=MEDIAPIPE33, in_channels=3).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, 16, 33, 3)).shape == (1, 20)


def test_layout_by_name() -> None:
    by_name = build_model("hdgcn", layout="openpose18", base_channels=8)
    assert by_name.num_joints == 18
    assert by_name(torch.randn(1, 1, 8, 18, 3)).shape == (1, 20)
    with pytest.raises(KeyError, match="unknown skeleton layout 'coco18'"):
        build_model("hdgcn", layout="coco18", base_channels=8)
