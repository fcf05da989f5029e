"""ST-GCN: parameter counts of the reference, partition strategies, every layout, 2D input."""

from __future__ import annotations

import pytest
import torch

from conftest import assert_trains, param_count
from musclemap.models import build_model, list_models
from musclemap.skeleton import COCO17, LAYOUTS, MEDIAPIPE33, OPENPOSE18

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"layout": OPENPOSE18}, 2_635_624),
        ({"layout": COCO17}, 2_635_268),
        ({"layout": OPENPOSE18, "strategy": "spatial"}, 3_079_480),
    ],
)
def test_parameter_counts_match_the_reference(kwargs: dict, expected: int) -> None:
    assert abs(param_count("stgcn", in_channels=3, **kwargs) - expected) <= 0.01 * expected


def test_distance_partition_has_one_subset_per_hop() -> None:
    uniform = param_count("stgcn", layout=COCO17)
    distance = param_count("stgcn", layout=COCO17, strategy="distance", max_hop=1)
    spatial = param_count("stgcn", layout=COCO17, strategy="spatial")
    assert uniform < distance < spatial


def test_registered() -> None:
    assert "stgcn" in list_models("*gcn")


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_forward_backward_every_layout(layout) -> None:
    torch.manual_seed(0)
    model = build_model("stgcn", layout=layout, in_channels=3, base_channels=16)
    assert_trains(model, torch.randn(2, 1, 8, layout.num_joints, 3))  # (B, M, T, V, C)


def test_full_width_mediapipe_3d_input() -> None:
    model = build_model("stgcn", layout=MEDIAPIPE33, in_channels=3).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, 16, 33, 3)).shape == (1, 20)


def test_layout_by_name() -> None:
    # As a user (or a YAML config) writes it: the name of a layout instead of the object.
    by_name = build_model("stgcn", layout="openpose18", base_channels=8)
    assert by_name.num_joints == 18
    assert by_name(torch.randn(1, 1, 8, 18, 3)).shape == (1, 20)
    with pytest.raises(KeyError, match="unknown skeleton layout 'coco18'"):
        build_model("stgcn", layout="coco18", base_channels=8)


def test_two_channel_input_and_multi_person() -> None:
    model = build_model("stgcn", layout=COCO17, in_channels=2, base_channels=8)
    assert model(torch.randn(2, 2, 8, 17, 2)).shape == (2, 20)
