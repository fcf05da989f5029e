"""pose/scene.py (and models/scene_cnn.py): the orientation gate's scene model, its numpy forward
the torch one, and the shipped weights telling a floor from a ceiling."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.pose import orientation as ori
from musclemap.pose.scene import SceneModel


def test_numpy_forward_is_the_torch_forward() -> None:
    torch = pytest.importorskip("torch")
    from musclemap.models import build_model
    from musclemap.models.scene_cnn import export_weights, prepare

    torch.manual_seed(0)
    model = build_model("orientation_scene_cnn")
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


def _room(seed: int) -> np.ndarray:
    """A generated room, 120x160: a bright ceiling with lights, a wall, a dark floor and a
    figure standing on it."""
    rng = np.random.default_rng(seed)
    img = np.empty((120, 160, 3), np.float32)
    img[:] = rng.uniform(120, 170, 3)  # wall
    img[:25] = rng.uniform(200, 240)  # ceiling
    for x in rng.integers(10, 140, 3):
        img[5:10, x : x + 14] = 255  # strip lights
    img[85:] = rng.uniform(30, 70, 3)  # floor
    img[85:, :] += np.linspace(0, 25, 35)[:, None, None]  # nearer floor lighter
    x = int(rng.integers(50, 100))
    img[35:88, x : x + 12] = (60, 40, 30)  # a figure standing on the floor
    img[25:36, x + 2 : x + 10] = (200, 160, 130)  # its head
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_shipped_scene_model_ranks_the_upright_room_first() -> None:
    model = ori.default_model()
    assert model.scene is not None and np.isfinite(model.scene_doubt)
    assert sum(w.size + b.size for w, b in model.scene.convs) + model.scene.fc.size < 100_000
    for seed in range(4):
        room = _room(seed)
        for k in range(4):
            turned = np.ascontiguousarray(np.rot90(room, k))
            scores = model.scene.upright_scores(ori.thumbnail(turned)[None])[0]
            # the turn that undoes k (counter-clockwise quarter turns) looks the most upright
            assert int(np.argmax(scores)) == (4 - k) % 4, (seed, k, scores)


def test_frame_features_carry_the_scene_score() -> None:
    model = ori.default_model()
    room = _room(0)
    features = ori.turned_frame_features([room, room], model=model)
    assert features is not None and features.shape == (4, ori.NUM_FRAME_FEATURES)
    assert model.scene is not None
    want = model.scene.upright_scores(ori.thumbnail(room)[None])[0]
    assert features[:, -1] == pytest.approx(want, abs=1e-5)
    pose = np.zeros((4, ori.NUM_POSE_FEATURES))
    scores = model.scores(pose, features)
    assert scores is not None
    grid = model.frame.logit(features[:, : ori.NUM_GRID_FEATURES])
    assert scores == pytest.approx(
        model.pose.logit(pose) + model.frame_weight * grid + model.scene_weight * want, abs=1e-4
    )
