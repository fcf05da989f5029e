"""engine/keypose_training.py: the predict model's trainer and its numpy model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musclemap.engine import keypose_training, pose_windows
from pose_default_fast import fast_config


def test_other_models_are_refused(tmp_path: Path) -> None:
    from musclemap.errors import ConfigError

    with pytest.raises(ConfigError, match="keypose_mlp"):
        keypose_training.model_kwargs(fast_config(tmp_path, "model.name=mvitv2_s"))


def test_the_trained_model_ranks_its_training_labels_first(tmp_path: Path) -> None:
    """A few epochs on generated squats, curls and presses: the numpy model (what predict runs)
    puts each exercise's own groups above the others, and a second run is bit-identical."""
    from musclemap.metrics import average_precision_map

    cfg = fast_config(tmp_path, "train.epochs=20")
    items = pose_windows.load_items(cfg)
    windows = pose_windows.item_windows(items, cfg, seed=0)
    x, y, w = pose_windows.training_arrays(items, windows, cfg)
    module = keypose_training.train_module(cfg, x, y, w, seed=0)
    again = keypose_training.train_module(cfg, x, y, w, seed=0)
    for a, b in zip(module.state_dict().values(), again.state_dict().values(), strict=True):
        assert (a == b).all()
    model = keypose_training.numpy_model(module, keypose_training.model_meta(cfg))
    scores = np.stack([model.probabilities(win).mean(0) for win in windows])
    labels = np.stack([it.labels for it in items])
    assert average_precision_map(scores, labels).map > 0.9



def _separation(model: keypose_training.KeyPoseModel, windows: list[np.ndarray],
                groups: list[str]) -> float:
    """Mean cosine similarity of item embeddings of the same exercise minus that of different
    exercises."""
    emb = np.stack([model.embed(x).mean(0) for x in windows])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    sim = emb @ emb.T
    same = np.equal.outer(groups, groups) & ~np.eye(len(groups), dtype=bool)
    return float(sim[same].mean() - sim[~np.equal.outer(groups, groups)].mean())


def test_exercise_loss_separates_exercises_in_the_embedding(tmp_path: Path) -> None:
    """The auxiliary exercise-identity loss (`pose_default.exercise_loss`) trains the hidden
    layer to tell exercises apart (what the k-NN blend compares: same-exercise embeddings closer,
    others farther than without it); it stays bit-reproducible, and the weights keep the model's
    tensors only."""
    cfg = fast_config(tmp_path, "train.epochs=10", "pose_default.exercise_loss=1.0")
    items = pose_windows.load_items(cfg)
    windows = pose_windows.item_windows(items, cfg, seed=0)
    x, y, w = pose_windows.training_arrays(items, windows, cfg)
    ex = pose_windows.exercise_ids(items, windows)
    groups = [it.exercise for it in items]
    meta = keypose_training.model_meta(cfg)
    plain = keypose_training.train_module(cfg, x, y, w, seed=0)
    aux = keypose_training.train_module(cfg, x, y, w, seed=0, exercise=ex)
    again = keypose_training.train_module(cfg, x, y, w, seed=0, exercise=ex)
    assert list(aux.state_dict()) == list(plain.state_dict())
    for a, b in zip(aux.state_dict().values(), again.state_dict().values(), strict=True):
        assert (a == b).all()
    assert not (aux.state_dict()["w1"] == plain.state_dict()["w1"]).all()
    # fit_items, the recipe the folds and the final model share, is this exact training
    fitted = keypose_training.fit_items(cfg, items, windows, seed=0)
    for a, b in zip(fitted.state_dict().values(), aux.state_dict().values(), strict=True):
        assert (a == b).all()
    sep_plain = _separation(keypose_training.numpy_model(plain, meta), windows, groups)
    sep_aux = _separation(keypose_training.numpy_model(aux, meta), windows, groups)
    assert sep_aux > sep_plain + 0.03, (sep_aux, sep_plain)  # 1.056 vs 1.016


def _two_conventions(cfg):  # noqa: ANN001, ANN202 - items in two label conventions
    """The generated clips, and a copy of each as a "keypose" item whose labeller also lists
    calves (as the Free Exercise DB lists calves on squats and presses)."""
    import dataclasses

    from musclemap.taxonomy import GROUP_IDS

    clips = pose_windows.load_items(cfg)
    calves = GROUP_IDS.index("calves")
    copies = []
    for it in clips:
        labels = it.labels.copy()
        labels[calves] = 1.0
        copies.append(dataclasses.replace(it, item_id=f"kp_{it.item_id}", kind="keypose",
                                          labels=labels))
    return clips + copies, calves


def test_label_domains_learn_each_convention_on_the_shared_hidden_layer(tmp_path: Path) -> None:
    """With `pose_default.label_domains`, the clips' head learns the clips' labels and the
    library head the key poses' (calves), on the same windows; without it the one output
    learns the mix. Bit-reproducible."""
    from musclemap.engine.pose_windows import domain_ids

    cfg = fast_config(tmp_path, "train.epochs=20", "pose_default.label_domains=head")
    items, calves = _two_conventions(cfg)
    windows = pose_windows.item_windows(items, cfg, seed=0)
    n = len(items) // 2
    assert domain_ids(items, windows).tolist() == sum(
        ([d] * len(x) for d, x in zip([0] * n + [1] * n, windows, strict=True)), [])
    module = keypose_training.fit_items(cfg, items, windows, seed=0)
    again = keypose_training.fit_items(cfg, items, windows, seed=0)
    for a, b in zip(module.state_dict().values(), again.state_dict().values(), strict=True):
        assert (a == b).all()
    model = keypose_training.numpy_model(module, keypose_training.model_meta(cfg))
    x = np.concatenate(windows[:n])
    wild, library = model.head_probabilities(x, 0), model.head_probabilities(x, 1)
    assert wild[:, calves].mean() < 0.2 < 0.8 < library[:, calves].mean()
    cfg_one = fast_config(tmp_path, "train.epochs=20")
    one = keypose_training.fit_items(cfg_one, items, windows, seed=0)
    mixed = keypose_training.numpy_model(one, keypose_training.model_meta(cfg_one)).probabilities(x)
    assert 0.2 < mixed[:, calves].mean() < 0.8
    assert "domain_w2" not in one.state_dict()


def test_library_labels_per_domain(tmp_path: Path) -> None:
    """`knn.domain_labels`: "own" lends an entry's labels to both heads; "exercise" a photo
    pair's entry lends videos the clips' labels of the same exercise, "exercise_both" also the
    other way round; "translate" its labels shifted by the model's difference between the heads
    on its windows."""
    from musclemap.engine.keypose_training import item_domain_labels

    cfg = fast_config(tmp_path, "train.epochs=20", "pose_default.label_domains=head")
    items, calves = _two_conventions(cfg)
    items = items[:1] + items[len(items) // 2 : len(items) // 2 + 1]  # a clip and its copy
    windows = pose_windows.item_windows(items, cfg, seed=0)
    module = keypose_training.fit_items(cfg, items, windows, seed=0)
    model = keypose_training.numpy_model(module, keypose_training.model_meta(cfg))
    clip, photo = items[0].labels, items[1].labels
    own = item_domain_labels(model, items, windows, "own")
    np.testing.assert_array_equal(own[0], [clip, clip])
    np.testing.assert_array_equal(own[1], [photo, photo])
    ex = item_domain_labels(model, items, windows, "exercise")
    np.testing.assert_array_equal(ex[0], [clip, clip])
    np.testing.assert_array_equal(ex[1], [clip, photo])  # the photo lends videos the clip's
    both = item_domain_labels(model, items, windows, "exercise_both")
    np.testing.assert_array_equal(both[0], [clip, photo])  # the clip lends photos the photo's
    np.testing.assert_array_equal(both[1], [clip, photo])
    tr = item_domain_labels(model, items, windows, "translate")
    p = [model.head_probabilities(windows[1], d).mean(0) for d in (0, 1)]
    np.testing.assert_allclose(tr[1][0], np.clip(photo + p[0] - p[1], 0, 1))
    np.testing.assert_array_equal(tr[1][1], photo)
    assert tr[1][0][calves] < 0.5 < tr[1][1][calves]  # calves leave the photo's wild labels
    lib = keypose_training.numpy_model(module, {**keypose_training.model_meta(cfg),
                                                "knn": {"weight": 0.5,
                                                        "domain_labels": "translate"}},
                                       items, windows)
    assert lib.domain_labels is not None and lib.domain_labels.shape == (1, 1, 20)
