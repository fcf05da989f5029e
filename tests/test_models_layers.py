import torch

from musclemap.models.layers import DropPath


def test_drop_path_is_identity_in_eval_or_without_p():
    x = torch.randn(8, 3, 4)
    assert torch.equal(DropPath(0.5).eval()(x), x)
    assert torch.equal(DropPath(0.0).train()(x), x)


def test_drop_path_drops_whole_samples_and_keeps_the_mean():
    torch.manual_seed(0)
    x = torch.ones(4000, 5)
    out = DropPath(0.25).train()(x)
    per_sample = out[:, 0]
    values = per_sample.unique()
    assert len(values) == 2 and values[0] == 0 and torch.isclose(values[1], torch.tensor(1 / 0.75))
    assert (out == per_sample[:, None]).all()  # one decision per sample
    assert abs(out.mean().item() - 1.0) < 0.05
