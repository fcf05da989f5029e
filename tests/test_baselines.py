import numpy as np
import pytest

from musclemap.baselines import BASELINES, all_ones_scores, random_scores
from musclemap.metrics import average_precision_map


def test_random_is_uniform_deterministic_and_seeded():
    a = random_scores(500, seed=3)
    assert a.shape == (500, 20) and a.min() >= 0 and a.max() < 1
    assert np.array_equal(a, random_scores(500, seed=3))
    assert not np.array_equal(a, random_scores(500, seed=4))
    assert abs(a.mean() - 0.5) < 0.02  # 10,000 uniform draws: std of the mean ~0.003


def test_all_ones_ap_equals_each_class_positive_rate():
    labels = np.zeros((10, 20), dtype=int)
    labels[:3, 0] = 1  # class 0: 3 of 10 positive
    labels[:, 1] = 1  # class 1: all positive
    res = average_precision_map(all_ones_scores(10), labels)
    assert res.per_class["neck_head"] == pytest.approx(0.3)
    assert res.per_class["chest"] == pytest.approx(1.0)
    assert res.map == pytest.approx(0.65)


def test_registry_names_the_cli_choices():
    assert set(BASELINES) == {"random", "all_ones"}
    assert BASELINES["all_ones"](2).tolist() == [[1.0] * 20] * 2
