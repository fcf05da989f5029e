import pytest
import torch

from musclemap.data.samples import Batch, Sample, collate_samples


def _sample(i: int, *, pose: bool = True, video: bool = False) -> Sample:
    return Sample(
        labels=torch.full((20,), float(i % 2)),
        clip_id=f"c{i}",
        pose=torch.full((1, 4, 17, 3), float(i)) if pose else None,
        video=torch.zeros(3, 4, 8, 8) if video else None,
    )


def test_collate_stacks_present_modalities_in_order():
    batch = collate_samples([_sample(0), _sample(1), _sample(2)])
    assert batch.clip_ids == ["c0", "c1", "c2"]
    assert batch.pose is not None and batch.pose.shape == (3, 1, 4, 17, 3)  # (B, M, T, V, C)
    assert batch.pose[:, 0, 0, 0, 0].tolist() == [0.0, 1.0, 2.0]
    assert batch.labels.shape == (3, 20) and batch.labels[:, 0].tolist() == [0.0, 1.0, 0.0]
    assert batch.video is None and batch.aux is None


def test_a_modality_in_some_samples_only_is_an_error():
    with pytest.raises(ValueError, match="some samples lack 'video'"):
        collate_samples([_sample(0, video=True), _sample(1)])


def test_batch_to_moves_every_tensor_and_keeps_ids():
    batch = collate_samples([_sample(0, video=True), _sample(1, video=True)])
    moved = batch.to(torch.device("meta"))
    assert isinstance(moved, Batch) and moved.clip_ids == ["c0", "c1"]
    assert moved.labels.device.type == "meta" and moved.video is not None
    assert moved.video.device.type == "meta" and moved.pose is not None
    assert moved.pose.device.type == "meta" and moved.aux is None
