import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from musclemap.metrics import (
    average_precision_map,
    f1_at_threshold,
    sample_average_precision,
)


def test_hand_computed_3x4():
    labels = np.array([[1, 0, 1, 0], [0, 1, 1, 0], [1, 1, 0, 0]])
    scores = np.array([[0.9, 0.1, 0.8, 0.3], [0.2, 0.7, 0.4, 0.2], [0.6, 0.3, 0.5, 0.1]])
    res = average_precision_map(scores, labels, class_names=["a", "b", "c", "d"])
    # class a: positives ranked 1,2 -> AP 1; class b: positives at ranks 1 and 2 (0.7, 0.3 vs
    # 0.1) -> 1; class c: scores 0.8(+), 0.5(-), 0.4(+) -> (1 + 2/3) / 2; class d skipped.
    assert res.per_class == pytest.approx({"a": 1.0, "b": 1.0, "c": (1 + 2 / 3) / 2})
    assert res.skipped == ["d"]
    assert res.map == pytest.approx((1 + 1 + 5 / 6) / 3)


def test_matches_sklearn_macro_on_random_data():
    rng = np.random.default_rng(0)
    labels = (rng.random((200, 20)) < 0.3).astype(int)
    labels[:, 5] = 0  # a class without positives is skipped, as the reference does
    scores = rng.random((200, 20))
    keep = labels.sum(0) > 0
    expected = average_precision_score(labels[:, keep], scores[:, keep], average="macro")
    assert average_precision_map(scores, labels).map == pytest.approx(expected, abs=1e-12)


def test_perfect_and_monotone_invariance():
    rng = np.random.default_rng(1)
    labels = (rng.random((50, 20)) < 0.4).astype(int)
    labels[0] = 1
    assert average_precision_map(labels * 0.9 + 0.05, labels).map == pytest.approx(1.0)
    scores = rng.random((50, 20))
    base = average_precision_map(scores, labels).map
    assert average_precision_map(np.log(scores + 1e-3) * 7 - 2, labels).map == pytest.approx(base)
    assert average_precision_map(1 / (1 + np.exp(-scores)), labels).map == pytest.approx(base)


def test_absent_policies_and_empty():
    labels = np.zeros((3, 20), dtype=int)
    assert average_precision_map(np.ones((3, 20)), labels).map is None
    labels[0, 0] = 1
    with pytest.raises(ValueError, match="without positives"):
        average_precision_map(np.ones((3, 20)), labels, absent="error")
    res = average_precision_map(np.ones((3, 20)), labels, absent="nan")
    assert np.isnan(res.per_class["chest"]) and res.map == pytest.approx(1 / 3)


def test_bad_inputs():
    with pytest.raises(ValueError, match="must be equal"):
        average_precision_map(np.ones((3, 20)), np.ones((2, 20)))
    with pytest.raises(ValueError, match="NaN"):
        average_precision_map(np.full((1, 20), np.nan), np.ones((1, 20)))


def test_f1_and_sample_ap():
    labels = np.array([[1, 0, 1, 0]])
    assert f1_at_threshold(np.array([[0.9, 0.2, 0.6, 0.7]]), labels) == pytest.approx(0.8)
    assert sample_average_precision(np.array([[0.9, 0.2, 0.6, 0.1]]), labels) == pytest.approx(1.0)
