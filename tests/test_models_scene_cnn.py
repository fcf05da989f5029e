"""models/scene_cnn.py: the orientation gate's scene CNN, its export to numpy (batch norm
folded) giving the torch forward's logits and turn scores."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.pose.scene import SceneModel


def test_numpy_forward_is_the_torch_forward() -> None:
    torch = pytest.importorskip("torch")
    from musclemap.models.scene_cnn import SceneCnn, export_weights, prepare

    torch.manual_seed(0)
    model = SceneCnn()
    for m in model.modules():  # batch norm that is not the identity, so folding it counts
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    thumbs = np.random.default_rng(0).integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    with torch.no_grad():
        want = model(prepare(thumbs)).numpy()
        views = np.stack([np.rot90(thumbs[0], m) for m in range(4)])
        logp = torch.log_softmax(model(prepare(views)), -1).numpy()
    scene = SceneModel.from_tensors(export_weights(model))
    assert scene.logits(thumbs) == pytest.approx(want, abs=1e-4)
    # turn k upright: view k + j was turned by j from it
    upright = [sum(logp[(k + j) % 4, j] for j in range(4)) for k in range(4)]
    assert scene.turn_scores(thumbs[:1])[0] == pytest.approx(upright, abs=1e-4)
    with pytest.raises(KeyError, match="scene.conv0.weight"):
        SceneModel.from_tensors(export_weights(model), "scene.")
