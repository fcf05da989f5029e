"""The statistic baselines of the paper's Table II: scores that ignore the video."""

from __future__ import annotations

import numpy as np

from musclemap.taxonomy import NUM_GROUPS


def random_scores(num_clips: int, *, seed: int = 0) -> np.ndarray:
    """Uniform random scores (paper: Random), deterministic for a seed."""
    return np.random.default_rng(seed).random((num_clips, NUM_GROUPS))


def all_ones_scores(num_clips: int) -> np.ndarray:
    """Every group scored 1: AP of each class equals its positive rate (paper: All Ones)."""
    return np.ones((num_clips, NUM_GROUPS))


BASELINES = {"random": random_scores, "all_ones": all_ones_scores}
