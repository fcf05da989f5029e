"""The predict model's extra-trees: exported from scikit-learn, walked with numpy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from musclemap.errors import ConfigError
from musclemap.pose.forest import PREFIX, Forest, fit_forest
from musclemap.pose.keypose_model import KeyPoseModel


def _data(n: int = 300, features: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Windows whose groups follow their features: group 0 from feature 0, group 3 from 1 + 2,
    group 5 always on, the others never; 5% of the features missing."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, features))
    y = np.zeros((n, 20))
    y[:, 0] = x[:, 0] > 0
    y[:, 3] = x[:, 1] + x[:, 2] > 0.5
    y[:, 5] = 1.0
    x[rng.random(x.shape) < 0.05] = np.nan
    return x, y


def _sklearn(x: np.ndarray, y: np.ndarray, fill: np.ndarray, **kw: float) -> np.ndarray:
    """scikit-learn's own probabilities of the same forest, as `(N, 20)`."""
    from sklearn.ensemble import ExtraTreesClassifier

    xf = np.where(np.isfinite(x), x, fill).astype(np.float32)
    keep = y.sum(0) > 0
    clf = ExtraTreesClassifier(n_jobs=1, **kw).fit(xf, y[:, keep].astype(int))  # type: ignore[arg-type]
    out = np.zeros((len(x), 20))
    for k, col in enumerate(np.flatnonzero(keep)):
        classes = list(clf.classes_[k])
        p = clf.predict_proba(xf)[k]
        out[:, col] = p[:, classes.index(1)] if 1 in classes else 0.0
    return out


def test_the_numpy_walk_gives_scikit_learns_probabilities() -> None:
    x, y = _data()
    tensors = fit_forest(x, y, trees=12, min_leaf=3, max_features=0.5, seed=4)
    ours = Forest(tensors).probabilities(x)
    ref = _sklearn(x, y, tensors[PREFIX + "fill"], n_estimators=12, min_samples_leaf=3,
                   max_features=0.5, random_state=4)
    np.testing.assert_allclose(ours, ref, atol=5e-4)  # float16 leaves
    assert ours[:, 5].min() == 1.0 and not ours[:, [1, 2, 4, *range(6, 20)]].any()
    # it learnt the groups: group 0 follows feature 0 on windows it has
    seen = np.isfinite(x[:, 0])
    high, low = seen & (x[:, 0] > 0.5), seen & (x[:, 0] < -0.5)
    assert ours[high, 0].mean() > 0.8 > 0.2 > ours[low, 0].mean()


def test_missing_features_are_the_training_mean() -> None:
    x, y = _data()
    tensors = fit_forest(x, y, trees=5, min_leaf=3, max_features=0.5, seed=0)
    fill = tensors[PREFIX + "fill"]
    np.testing.assert_allclose(fill, np.nanmean(x, 0), rtol=1e-6)
    forest = Forest(tensors)
    gap = np.full((1, x.shape[1]), np.nan)
    np.testing.assert_array_equal(forest.probabilities(gap), forest.probabilities(fill[None]))


def test_the_same_seed_gives_the_same_arrays_and_their_types_are_kept() -> None:
    x, y = _data()
    a = fit_forest(x, y, trees=4, min_leaf=5, max_features=0.3, seed=7)
    b = fit_forest(x, y, trees=4, min_leaf=5, max_features=0.3, seed=7)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert a[PREFIX + "threshold"].dtype == np.float64 and a[PREFIX + "value"].dtype == np.float16
    assert len(a[PREFIX + "roots"]) == 4


def test_damaged_forest_tensors_are_one_config_error() -> None:
    x, y = _data()
    tensors = fit_forest(x, y, trees=2, min_leaf=5, max_features=0.5, seed=0)
    with pytest.raises(ConfigError, match="lack tensor"):
        Forest({k: v for k, v in tensors.items() if not k.endswith("leaf")})
    with pytest.raises(ConfigError, match="do not fit together"):
        Forest({**tensors, PREFIX + "left": tensors[PREFIX + "left"][:-1]})


def test_a_keypose_model_blends_its_forest_into_the_probabilities(tmp_path: Path) -> None:
    from musclemap.pose import keypose

    features = keypose.num_features(False)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, features))
    y = np.zeros((200, 20))
    y[:, 2] = x[:, 0] > 0
    forest = fit_forest(x, y, trees=6, min_leaf=4, max_features=0.5, seed=0)
    mlp = {
        "feat_mean": np.zeros(features), "feat_std": np.ones(features),
        "w1": rng.normal(0, 0.1, (2, features, 3)), "b1": np.zeros((2, 3)),
        "w2": rng.normal(0, 1.0, (2, 3, 20)), "b2": np.zeros((2, 20)),
    }
    meta = {"window": 20, "stride": 10}
    plain = KeyPoseModel(mlp, meta)
    blended = KeyPoseModel({**mlp, **forest}, {**meta, "forest": {"weight": 0.3}})
    expected = 0.7 * plain.probabilities(x[:5]) + 0.3 * Forest(forest).probabilities(x[:5])
    np.testing.assert_allclose(blended.probabilities(x[:5]), expected, rtol=1e-12)
    # weight 0 (older weights have no `forest` at all): the forest's tensors are not read
    assert KeyPoseModel({**mlp, **forest}, {**meta, "forest": {"weight": 0.0}}).forest is None
    with pytest.raises(ConfigError, match="lack tensor"):
        KeyPoseModel(mlp, {**meta, "forest": {"weight": 0.3}})


def test_the_walk_imports_no_scikit_learn() -> None:
    code = ("import sys, musclemap.pose.forest, musclemap.pose.keypose_model\n"
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
