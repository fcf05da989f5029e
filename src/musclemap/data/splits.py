"""The paper's known/new protocol (Sec. III-C) on any manifest, and leave-activities-out folds.

Held-out ("new") activities never appear in train: half of each one's clips go to val_new, the
rest to test_new. The other activities' clips are divided into train / val_known / test_known with
the paper's proportions (7,069 / 1,599 / 1,594 clips), keeping at least one training clip for each
known activity so that val_known and test_known only hold activities seen in training.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from musclemap.data.manifest import ManifestRow
from musclemap.errors import DatasetError

PAPER_KNOWN_COUNTS = {"train": 7069, "val_known": 1599, "test_known": 1594}
PAPER_NUM_ACTIVITIES = 135
PAPER_NUM_NEW = 20


def _by_activity(rows: Sequence[ManifestRow]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[r.activity].append(i)
    return dict(sorted(groups.items()))


def default_num_held_out(num_activities: int) -> int:
    """The paper's share of new activities (20 of 135), at least one."""
    return max(1, round(num_activities * PAPER_NUM_NEW / PAPER_NUM_ACTIVITIES))


def split_manifest(
    rows: Sequence[ManifestRow],
    *,
    held_out: Sequence[str] | None = None,
    n_held_out: int | None = None,
    seed: int = 0,
    known_counts: dict[str, int] | None = None,
) -> list[ManifestRow]:
    """Return copies of `rows` with `split` assigned by the known/new protocol.

    Args:
        rows: manifest rows (their current split is ignored).
        held_out: activities to hold out as "new"; chosen at random when None.
        n_held_out: how many to choose when `held_out` is None (default: the paper's share).
        seed: makes the split deterministic.
        known_counts: relative sizes of train / val_known / test_known (default: the paper's).
    """
    rng = np.random.default_rng(seed)
    groups = _by_activity(rows)
    activities = list(groups)
    if held_out is None:
        n = default_num_held_out(len(activities)) if n_held_out is None else n_held_out
        if not 0 < n < len(activities):
            raise DatasetError(f"cannot hold out {n} of {len(activities)} activities")
        held = set(rng.choice(activities, size=n, replace=False).tolist())
    else:
        held = set(held_out)
        unknown = sorted(held - set(activities))
        if unknown:
            raise DatasetError(f"held-out activities not in the manifest: {', '.join(unknown)}")
        if len(held) >= len(activities):
            raise DatasetError("at least one activity must stay known (for training)")
    split = [""] * len(rows)
    pool: list[int] = []
    for activity, idx in groups.items():
        order = [idx[i] for i in rng.permutation(len(idx))]
        if activity in held:
            half = (len(order) + 1) // 2
            for i in order[:half]:
                split[i] = "val_new"
            for i in order[half:]:
                split[i] = "test_new"
        else:
            split[order[0]] = "train"  # every known activity is seen in training
            pool += order[1:]
    counts = known_counts or PAPER_KNOWN_COUNTS
    total = sum(counts.values())
    num_known = sum(len(i) for a, i in groups.items() if a not in held)
    n_val = min(len(pool), round(num_known * counts["val_known"] / total))
    n_test = min(len(pool) - n_val, round(num_known * counts["test_known"] / total))
    pool = [pool[i] for i in rng.permutation(len(pool))]
    for i in pool[:n_val]:
        split[i] = "val_known"
    for i in pool[n_val : n_val + n_test]:
        split[i] = "test_known"
    for i in pool[n_val + n_test :]:
        split[i] = "train"
    return [
        dataclasses.replace(r, split=s, extra=dict(r.extra))
        for r, s in zip(rows, split, strict=True)
    ]


def activity_folds(activities: Sequence[str], k: int, seed: int = 0) -> list[list[str]]:
    """Assign activities to k folds at random (sizes differ by at most one)."""
    acts = sorted(set(activities))
    if not 2 <= k <= len(acts):
        raise DatasetError(f"need 2 <= k <= {len(acts)} activities for k-fold, got k={k}")
    order = np.random.default_rng(seed).permutation(len(acts))
    return [sorted(acts[i] for i in order[f::k]) for f in range(k)]


def leave_activities_out_folds(
    rows: Sequence[ManifestRow], k: int = 5, seed: int = 0
) -> list[list[ManifestRow]]:
    """k full manifests: in fold f the activities of fold f are new, all others known.

    Every activity is new in exactly one fold, so averaging new-activity mAP over the folds
    evaluates generalisation on every activity (small datasets such as ../shared/data/wild).
    """
    folds = activity_folds([r.activity for r in rows], k, seed)
    return [split_manifest(rows, held_out=fold, seed=seed + f) for f, fold in enumerate(folds)]
