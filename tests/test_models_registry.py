import pytest
from torch import nn

from musclemap.models import build_model, list_models
from musclemap.models._registry import register_model


@register_model("_registry_test_linear")
def _linear(*, num_classes: int, width: int = 4) -> nn.Module:
    return nn.Linear(width, num_classes)


def test_build_and_list():
    model = build_model("_registry_test_linear", num_classes=3)
    assert model.out_features == 3
    assert "_registry_test_linear" in list_models("_registry_test_*")


def test_unknown_name_suggests():
    with pytest.raises(KeyError, match="did you mean _registry_test_linear"):
        build_model("_registry_test_linaer", num_classes=3)


def test_unknown_kwarg_is_type_error():
    with pytest.raises(TypeError, match="_registry_test_linear"):
        build_model("_registry_test_linear", num_classes=3, depth=2)


def test_duplicate_registration_fails():
    with pytest.raises(ValueError, match="registered twice"):
        register_model("_registry_test_linear")(_linear)
