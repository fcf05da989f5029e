"""pose/scene.py: the orientation gate's scene model in numpy (its equality with the torch
forward: tests/test_models_scene_cnn.py), the shipped weights telling a floor from a ceiling."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.pose import orientation as ori


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
    # the scene score joins the sum (scene_weight); its second look alone (scene_doubt) is off
    assert model.scene is not None and model.scene_weight > 0 and model.scene_doubt == np.inf
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
    # The shipped gate has no frame (grid) scorer (it had learnt the clips' sources): only the
    # scene score is computed, and it joins the pose scorer's logit in the sum.
    assert model.frame is None and model.num_frame_features == 1 and model.scene_weight > 0
    assert features is not None and features.shape == (4, 1)
    assert model.scene is not None
    want = model.scene.upright_scores(ori.thumbnail(room)[None])[0]
    assert features[:, -1] == pytest.approx(want, abs=1e-5)
    pose = np.zeros((4, ori.NUM_POSE_FEATURES))
    scores = model.scores(pose, features)
    assert scores == pytest.approx(model.pose.logit(pose) + model.scene_weight * want, abs=1e-4)


def test_weights_with_a_frame_scorer_add_its_grid() -> None:
    """Weights with a frame scorer (the benchmarks' fold models, older files): its grid features
    come first in the frame features, the scene score last, and its logit joins the sum."""
    shipped = ori.default_model()
    rng = np.random.default_rng(0)
    n, hidden = ori.NUM_GRID_FEATURES, 8
    frame = ori.Mlp(
        rng.normal(size=n), rng.uniform(0.5, 2, n), rng.normal(size=(n, hidden)),
        rng.normal(size=hidden), rng.normal(size=(hidden, 1)), rng.normal(size=1),
    )  # fmt: skip
    model = ori.OrientationModel(
        shipped.pose, frame, 7.0, 1.0, {}, shipped.scene, scene_weight=0.5, frame_weight=2.0
    )
    room = _room(1)
    features = ori.turned_frame_features([room], model=model)
    assert features is not None and features.shape == (4, model.num_frame_features)
    assert model.num_frame_features == n + 1
    grid = ori.turned_grid_features([ori.thumbnail(room)])
    assert features[:, :n] == pytest.approx(grid)
    assert features[:, -1] == pytest.approx(ori.turned_frame_features([room], model=shipped)[:, 0])
    pose = np.zeros((4, ori.NUM_POSE_FEATURES))
    want = shipped.pose.logit(pose) + 2.0 * frame.logit(grid) + 0.5 * features[:, -1]
    assert model.scores(pose, features) == pytest.approx(want)
