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


@pytest.mark.parametrize("mode", ["bias", "head", "residual"])
def test_label_domains_numpy_forward_matches_torch_per_domain(mode: str) -> None:
    """With `label_domains`, each row's logits come from its domain's output: domain 0 is the
    shared output (as without domains), domain 1 adds a bias ("bias"), replaces the output layer
    ("head") or adds a residual layer ("residual"); the numpy forward `predict` runs answers in
    either domain with the same probabilities."""
    import numpy as np

    from musclemap.pose.keypose import NUM_FEATURES
    from musclemap.pose.keypose_model import KeyPoseModel

    torch.manual_seed(0)
    model = build_model("keypose_mlp", in_features=NUM_FEATURES, hidden=8, members=3,
                        label_domains=mode)
    with torch.no_grad():  # trained-looking offsets (the residual ones start at 0)
        for name, p in model.named_parameters():
            if name.startswith("domain_"):
                p.normal_(0, 0.5)
    x = torch.randn(6, NUM_FEATURES)
    model.set_normalization(x)
    model.eval()
    domain = torch.tensor([0, 1, 0, 1, 1, 0])
    with torch.no_grad():
        shared = model.member_logits(x)
        mixed = model.member_logits(x, domain)
        h = model._hidden(model.normalize(x))
    torch.testing.assert_close(mixed[domain == 0], shared[domain == 0])
    b = model.domain_b2[0]
    if mode == "bias":
        want = shared + b
    else:
        own = torch.einsum("mbh,mhc->bmc", h, model.domain_w2[0]) + b
        want = own if mode == "head" else shared + own
    torch.testing.assert_close(mixed[domain == 1], want.detach()[domain == 1])
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    np_model = KeyPoseModel(state, {"window": 30, "stride": 10,
                                    "kwargs": {"label_domains": mode}})
    for d in (0, 1):
        rows = mixed if d else shared
        want_p = torch.sigmoid(rows.mean(1)).numpy()
        got = np_model.probabilities(x.numpy()) if d == 0 else np_model.forward(x.numpy(),
                                                                               domain=1)[0]
        np.testing.assert_allclose(got[domain.numpy() == d], want_p[domain.numpy() == d],
                                   atol=1e-5)
    assert not np.allclose(np_model.head_probabilities(x.numpy(), 1),
                           np_model.head_probabilities(x.numpy(), 0))


def test_label_domains_add_no_tensor_when_none_and_unknown_modes_fail() -> None:
    plain = build_model("keypose_mlp", in_features=4, hidden=3, members=2)
    assert sorted(plain.state_dict()) == ["b1", "b2", "feat_mean", "feat_std", "w1", "w2"]
    assert build_model("keypose_mlp", in_features=4, hidden=3, members=2,
                       label_domains="bias").state_dict()["domain_b2"].shape == (1, 2, 20)
    with pytest.raises(ValueError, match="label_domains"):
        build_model("keypose_mlp", in_features=4, label_domains="both")
