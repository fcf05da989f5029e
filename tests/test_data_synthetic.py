"""Generated clips: the known/new split pattern, one label vector per activity, tensor shapes of
every modality, determinism, and a learnable signal (clips of one activity resemble each other)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from musclemap.data.synthetic import SyntheticClipDataset, synthetic_rows
from musclemap.taxonomy import NUM_GROUPS


def test_rows_split_known_and_new_activities() -> None:
    rows = synthetic_rows(16, num_activities=4)
    assert Counter(r.split for r in rows) == {
        "train": 6, "val_known": 3, "test_known": 3, "val_new": 2, "test_new": 2}
    new = {r.activity for r in rows if r.split.endswith("_new")}
    known = {r.activity for r in rows if not r.split.endswith("_new")}
    assert new == {"activity_3"} and known == {"activity_0", "activity_1", "activity_2"}
    for act in known | new:
        labels = np.stack([r.labels for r in rows if r.activity == act])
        assert (labels == labels[0]).all() and 2 <= labels[0].sum() <= 6
        assert labels.shape[1] == NUM_GROUPS
    assert len({r.clip_id for r in rows}) == 16


def test_rows_are_seeded_and_need_two_clips_per_activity() -> None:
    a, b = synthetic_rows(8, seed=3), synthetic_rows(8, seed=3)
    assert all((x.labels == y.labels).all() for x, y in zip(a, b, strict=True))
    assert any((x.labels != y.labels).any()
               for x, y in zip(a, synthetic_rows(8, seed=4), strict=True))
    with pytest.raises(ValueError, match="at least 8"):
        synthetic_rows(7)


@pytest.mark.parametrize(("modality", "channels"), [("rgb", 3), ("rgbdiff", 3), ("flow", 2)])
def test_video_shapes_and_views(modality: str, channels: int) -> None:
    rows = synthetic_rows(8)
    train = SyntheticClipDataset(rows, modality=modality, clip_len=4, crop_size=16)
    assert train[0].video.shape == (channels, 4, 16, 16) and train[0].pose is None
    test = SyntheticClipDataset(rows, modality=modality, clip_len=4, crop_size=16, train=False,
                                num_views=3)
    assert test[0].video.shape == (3, channels, 4, 16, 16)
    torch.testing.assert_close(test[0].video[0], train[0].video)  # view 0 = the training view


def test_pose_and_auxiliary_modalities() -> None:
    rows = synthetic_rows(8)
    pose = SyntheticClipDataset(rows, modality="pose", window=6, num_joints=17, channels=3)
    s = pose[1]
    assert s.video is None and s.pose.shape == (1, 6, 17, 3)
    torch.testing.assert_close(s.labels, torch.from_numpy(rows[1].labels))
    both = SyntheticClipDataset(rows, modality="rgb", aux_modality="flow", clip_len=4,
                                crop_size=8)
    assert both[0].aux.shape == (2, 4, 8, 8)
    with pytest.raises(ValueError, match="unknown synthetic modality 'depth'"):
        SyntheticClipDataset(rows, modality="depth")


def test_deterministic_and_learnable() -> None:
    rows = synthetic_rows(12, num_activities=3)
    ds = SyntheticClipDataset(rows, modality="pose", noise=0.5)
    torch.testing.assert_close(ds[0].pose, SyntheticClipDataset(rows, modality="pose")[0].pose)
    # Clips 0 and 3 share activity_0; clip 1 is activity_1: the template dominates the noise.
    same = (ds[0].pose - ds[3].pose).norm()
    other = (ds[0].pose - ds[1].pose).norm()
    assert rows[0].activity == rows[3].activity != rows[1].activity
    assert same < 0.6 * other
