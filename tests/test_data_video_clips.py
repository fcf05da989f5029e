"""Clip sampling, transforms, modalities and multi-view testing on generated videos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from musclemap.data.samples import collate_samples
from musclemap.data.video_clips import (
    MEAN,
    STD,
    SpatialParams,
    VideoClipDataset,
    color_jitter,
    crop_and_flip,
    sample_spatial_params,
    scaled_size,
    temporal_indices,
)
from musclemap.errors import ConfigError, DatasetError, VideoError

SMALL = {
    "clip_len": 4,
    "sampling_rate": 2,
    "crop_size": 32,
    "train_scale": (36, 44),
    "test_scale": 36,
    "num_views": 3,
}


def _row(path: Path, clip_id: str = "") -> SimpleNamespace:
    labels = np.zeros(20, dtype=np.float32)
    labels[[1, 5]] = 1
    return SimpleNamespace(clip=path, labels=labels, clip_id=clip_id or path.name, flow=None)


def test_temporal_indices_train_test_and_short_videos() -> None:
    rng = np.random.default_rng(0)
    idx = temporal_indices(100, 16, 4, rng=rng)
    assert len(idx) == 16 and np.all(np.diff(idx) == 4) and idx[-1] < 100
    views = [temporal_indices(100, 16, 4, view=v, num_views=5) for v in range(5)]
    assert views[0][0] == 0 and views[-1][-1] == 99 - 3  # spread from start to end
    assert temporal_indices(100, 16, 4)[0] == 18  # one view: the centre window
    short = temporal_indices(10, 16, 4)
    assert short.max() == 9 and short.min() == 0  # last frame repeats
    same = temporal_indices(100, 16, 4, rng=np.random.default_rng(3))
    assert np.array_equal(same, temporal_indices(100, 16, 4, rng=np.random.default_rng(3)))


def test_spatial_params_and_crop_flip() -> None:
    assert scaled_size(480, 640, 256) == (256, 341)
    assert scaled_size(640, 480, 256) == (341, 256)
    p = sample_spatial_params(
        train=True, crop=224, train_scale=(256, 320), test_scale=256, rng=np.random.default_rng(1)
    )
    assert 256 <= p.short_side <= 320 and all(0.6 <= f <= 1.4 for f in p.jitter)
    frames = np.arange(2 * 4 * 6 * 1).reshape(2, 4, 6, 1)
    centre = crop_and_flip(frames, SpatialParams(short_side=4, crop=4, top_frac=0.5, left_frac=0.5))
    assert np.array_equal(centre, frames[:, :, 1:5])
    flipped = crop_and_flip(
        frames, SpatialParams(short_side=4, crop=4, top_frac=0, left_frac=0, flip=True)
    )
    assert np.array_equal(flipped, frames[:, :, 3::-1])


def test_color_jitter_identity_and_range() -> None:
    x = np.random.default_rng(0).uniform(size=(2, 4, 4, 3)).astype(np.float32)
    ident = SpatialParams(short_side=4, crop=4, top_frac=0, left_frac=0)
    np.testing.assert_allclose(color_jitter(x, ident), x)
    strong = SpatialParams(short_side=4, crop=4, top_frac=0, left_frac=0, jitter=(1.4, 0.6, 0.0))
    out = color_jitter(x, strong)
    assert out.min() >= 0 and out.max() <= 1
    assert np.allclose(out[..., 0], out[..., 1])  # saturation 0 -> grey


def test_train_rgb_sample_is_deterministic_for_seed(make_video: Callable[..., Path]) -> None:
    path = make_video(num_frames=20, size=(64, 48))
    ds = VideoClipDataset([_row(path)], modality="rgb", train=True, seed=7, **SMALL)
    a, b = ds[0], ds[0]
    assert a.video is not None and a.video.shape == (3, 4, 32, 32)
    assert torch.equal(a.video, b.video)
    assert a.labels.tolist().count(1.0) == 2 and a.clip_id == path.name
    other = VideoClipDataset([_row(path)], modality="rgb", train=True, seed=8, **SMALL)[0]
    assert not torch.equal(a.video, other.video)
    ds.set_epoch(1)
    assert not torch.equal(ds[0].video, a.video)


def test_test_views_rgb_values_and_rgbdiff(make_video: Callable[..., Path]) -> None:
    path = make_video(num_frames=20, size=(64, 48))
    ds = VideoClipDataset(
        [_row(path)], modality="rgb", aux_modality="rgbdiff", train=False, **SMALL
    )
    s = ds[0]
    assert s.video is not None and s.video.shape == (3, 3, 4, 32, 32)  # (V, C, T, H, W)
    assert s.aux is not None and s.aux.shape == (3, 3, 4, 32, 32)
    # Normalised RGB: the blue channel of the generated video is a flat (t * 16) % 256.
    blue = s.video[0, 2] * STD[2] + MEAN[2]
    assert torch.allclose(blue.mean(dim=(1, 2)), blue[:, 0, 0], atol=0.02)
    # RGB difference = next sampled frame minus this one (the blue ramp steps by 2*16/255).
    diff = s.aux[0, 2, :, 10, 10] * STD[2]
    assert torch.allclose(diff, torch.full_like(diff, 32 / 255), atol=0.02)
    batch = collate_samples([s, s])
    assert batch.video is not None and batch.video.shape == (2, 3, 3, 4, 32, 32)


def test_dataloader_workers_give_the_same_samples(make_video: Callable[..., Path]) -> None:
    path = make_video(num_frames=20, size=(64, 48))
    ds = VideoClipDataset(
        [_row(path), _row(path, "b")], modality="rgb", train=True, seed=3, **SMALL
    )
    loader = torch.utils.data.DataLoader(
        ds, batch_size=2, num_workers=2, collate_fn=collate_samples
    )
    batch = next(iter(loader))
    assert batch.video is not None and batch.clip_ids == [path.name, "b"]
    assert torch.equal(batch.video[1], ds[1].video)


def test_flow_modality_with_cache(make_video: Callable[..., Path], tmp_path: Path) -> None:
    path = make_video(num_frames=20, size=(64, 48))
    cache = tmp_path / "flow"
    ds = VideoClipDataset([_row(path)], modality="flow", train=True, cache_dir=cache, **SMALL)
    s = ds[0]
    assert s.video is not None and s.video.shape == (2, 4, 32, 32)
    assert torch.isfinite(s.video).all() and s.video.abs().max() > 0
    assert len(list(cache.glob("*.npz"))) == 1
    assert torch.equal(ds[0].video, s.video)  # second read comes from the cache


def test_undecodable_file_raises_named_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 1000)
    ds = VideoClipDataset([_row(bad)], modality="rgb", train=True, **SMALL)
    with pytest.raises(VideoError, match="broken.mp4"):
        ds[0]
    with pytest.raises(VideoError, match="missing.mp4"):
        VideoClipDataset([_row(tmp_path / "missing.mp4")], train=False, **SMALL)[0]


def test_bad_configuration_raises() -> None:
    with pytest.raises(ConfigError, match="depth"):
        VideoClipDataset([_row(Path("x.mp4"))], modality="depth")
    with pytest.raises(DatasetError):
        VideoClipDataset([], modality="rgb")


@pytest.mark.shared
def test_real_clip_full_recipe(wild_dir: Path) -> None:
    from musclemap.data.manifest import read_manifest

    rows = read_manifest(wild_dir / "manifest.csv")[:1]
    sample = VideoClipDataset(rows, modality="rgb", aux_modality="rgbdiff", train=False)[0]
    assert sample.video is not None and sample.video.shape == (5, 3, 16, 224, 224)
    assert sample.aux is not None and sample.aux.shape == (5, 3, 16, 224, 224)
    assert torch.isfinite(sample.video).all() and sample.video.std() > 0.1
    assert sample.labels.shape == (20,) and sample.labels.sum() >= 1
