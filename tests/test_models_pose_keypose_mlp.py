"""`keypose_mlp`: the numpy forward of `musclemap predict` equals the torch model's."""

from __future__ import annotations

import pytest
import torch

from musclemap.models import build_model


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


def test_unknown_kwarg_fails_at_build() -> None:
    with pytest.raises(TypeError):
        build_model("keypose_mlp", in_features=4, layers=3)
