"""The compact pose models: registry contract, shapes, gradients, normalisation buffers."""

from __future__ import annotations

import pytest
import torch

from musclemap.models import build_model, list_models

INPUTS = {
    "posefeat_mlp": lambda: torch.randn(2, 225),
    "pose_tcn": lambda: torch.randn(2, 1, 8, 33, 4),  # (B, M, T, V, C)
}


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_contract(name: str) -> None:
    assert name in list_models()
    torch.manual_seed(0)
    model = build_model(name, num_classes=20)
    logits = model(INPUTS[name]())
    assert logits.shape == (2, 20) and torch.isfinite(logits).all()
    logits.sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing
    model.reset_classifier(5)
    assert model(INPUTS[name]()).shape == (2, 5)


def test_parameter_counts_are_compact() -> None:
    counts = {n: sum(p.numel() for p in build_model(n).parameters()) for n in INPUTS}
    assert counts == {"posefeat_mlp": 48020, "pose_tcn": 68308}


def test_mlp_members_are_averaged_and_trained_apart() -> None:
    torch.manual_seed(0)
    model = build_model("posefeat_mlp", in_features=6, hidden=8, depth=1, members=3).eval()
    x = torch.randn(4, 6)
    per_member = model.member_logits(x)  # (B, members, C)
    assert per_member.shape == (4, 3, 20)
    torch.testing.assert_close(model(x), per_member.mean(1))
    assert not torch.allclose(per_member[:, 0], per_member[:, 1])  # independent members


def test_mlp_normalisation_is_in_the_state_dict() -> None:
    model = build_model("posefeat_mlp", in_features=4, hidden=8)
    model.set_normalization(torch.tensor([1.0, 2, 3, 4]), torch.tensor([0.0, 1, 1, 1]))
    state = model.state_dict()
    assert state["feat_mean"].tolist() == [1, 2, 3, 4]
    assert state["feat_std"][0] > 0  # floored, so constant features stay finite
    model.eval()
    assert torch.isfinite(model(torch.randn(3, 4))).all()


def test_tcn_rejects_wrong_layout() -> None:
    with pytest.raises(ValueError, match="33 joints"):
        build_model("pose_tcn")(torch.randn(1, 1, 8, 17, 4))


def test_unknown_kwarg_fails_at_build() -> None:
    with pytest.raises(TypeError):
        build_model("posefeat_mlp", layers=3)


def test_keypose_mlp_numpy_forward_matches_torch_and_imputes_missing() -> None:
    """`musclemap predict` runs the weights in numpy (no torch): same probabilities."""
    import numpy as np

    from musclemap.pose.keypose import NUM_FEATURES
    from musclemap.predictor import KeyPoseModel

    torch.manual_seed(0)
    model = build_model("keypose_mlp", in_features=NUM_FEATURES, hidden=8, members=3)
    x = torch.randn(50, NUM_FEATURES) * 2 + 1
    model.set_normalization(x)
    model.eval()
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    np_model = KeyPoseModel(state, {"window": 30, "stride": 10})
    xm = x[:4].clone()
    xm[0, 2] = float("nan")  # an occluded joint's feature
    with torch.no_grad():
        want = torch.sigmoid(model(xm)).numpy()
        emb = model.embed(xm).numpy()
    np.testing.assert_allclose(np_model.probabilities(xm.numpy()), want, atol=1e-5)
    np.testing.assert_allclose(np_model.embed(xm.numpy()), emb, atol=1e-5)
    assert emb.shape == (4, 3 * 8) and np.isfinite(want).all()
    # A missing feature is the training mean: same output as writing the mean in.
    xi = xm.clone()
    xi[0, 2] = model.feat_mean[2]
    with torch.no_grad():
        torch.testing.assert_close(model(xm), model(xi))
    per_member = model.member_logits(x[:4])
    assert per_member.shape == (4, 3, 20)
    assert not torch.allclose(per_member[:, 0], per_member[:, 1])
