"""Synthetic clips and the dataset dispatch by modality."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from musclemap.config import load_config
from musclemap.data.datasets import build_datasets, load_rows
from musclemap.data.manifest import ManifestRow, write_manifest
from musclemap.data.samples import collate_samples
from musclemap.data.synthetic import SyntheticClipDataset, synthetic_rows
from musclemap.errors import DatasetError


def test_synthetic_rows_follow_the_protocol() -> None:
    rows = synthetic_rows(16)
    splits = {r.split for r in rows}
    assert splits == {"train", "val_known", "val_new", "test_known", "test_new"}
    train_acts = {r.activity for r in rows if r.split == "train"}
    assert not train_acts & {r.activity for r in rows if r.split.endswith("_new")}
    with pytest.raises(ValueError, match="at least"):
        synthetic_rows(3)


def test_synthetic_samples_are_deterministic_and_shaped() -> None:
    rows = synthetic_rows(8)
    ds = SyntheticClipDataset(
        rows, modality="rgb", aux_modality="pose", clip_len=4, crop_size=8, window=6, num_joints=17
    )
    a, b = ds[0], ds[0]
    assert torch.equal(a.video, b.video) and a.video.shape == (3, 4, 8, 8)
    assert a.pose.shape == (1, 6, 17, 3)
    test = SyntheticClipDataset(
        rows,
        modality="flow",
        aux_modality="rgbdiff",
        clip_len=4,
        crop_size=8,
        train=False,
        num_views=3,
    )
    s = test[1]
    assert s.video.shape == (3, 2, 4, 8, 8) and s.aux.shape == (3, 3, 4, 8, 8)
    batch = collate_samples([test[0], test[1]])
    assert batch.video.shape == (2, 3, 2, 4, 8, 8)


def test_build_datasets_synthetic() -> None:
    cfg = load_config(
        None, ["data.synthetic=true", "data.modality=pose", "data.layout=coco17", "data.window=4"]
    )
    ds = build_datasets(cfg)
    assert set(ds) == {"train", "val_known", "val_new", "test_known", "test_new"}
    assert ds["train"][0].pose.shape == (1, 4, 17, 3)
    with pytest.raises(DatasetError, match="unknown data.modality"):
        build_datasets(load_config(None, ["data.synthetic=true", "data.modality=depth"]))


def _manifest(tmp_path: Path, split: str) -> Path:
    rows = [
        ManifestRow(
            clip=tmp_path / f"v{i}.mp4",
            activity=f"a{i % 5}",
            split=split,
            labels=synthetic_rows(10)[i].labels,
        )
        for i in range(10)
    ]
    path = tmp_path / "m.csv"
    write_manifest(rows, path)
    return path


def test_fold_selection_when_manifest_has_no_split(tmp_path: Path) -> None:
    path = _manifest(tmp_path, "")
    with pytest.raises(DatasetError, match="data.fold"):
        load_rows(load_config(None, [f"data.manifest={path}"]))
    rows = load_rows(load_config(None, [f"data.manifest={path}", "data.fold=1"]))
    assert {r.split for r in rows} >= {"train", "val_new"}
    with pytest.raises(DatasetError, match="num_folds"):
        load_rows(load_config(None, [f"data.manifest={path}", "data.fold=7"]))
    with pytest.raises(DatasetError, match="no data"):
        load_rows(load_config(None, []))
