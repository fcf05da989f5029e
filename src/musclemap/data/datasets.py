"""Datasets for an experiment config: manifest rows (with splits) and one Dataset per split.

`cfg.data.modality` picks the input: rgb / rgbdiff / flow (the video engineer's VideoClipDataset)
or pose (the skeleton engineer's SkeletonDataset); `cfg.data.aux_modality` adds a second one for
two-branch models ("pose" pairs a video dataset with a skeleton dataset clip by clip).
`cfg.data.synthetic` replaces all of it with generated clips (smoke runs, tests).
"""

from __future__ import annotations

from torch.utils.data import Dataset

from musclemap.config import ExperimentConfig, resolve_path
from musclemap.data.manifest import SPLITS, ManifestRow, read_manifest
from musclemap.data.samples import Sample
from musclemap.data.synthetic import SyntheticClipDataset, synthetic_rows
from musclemap.errors import DatasetError
from musclemap.skeleton import get_layout

EVAL_SPLITS = ("val_known", "val_new", "test_known", "test_new")
VIDEO_MODALITIES = ("rgb", "rgbdiff", "flow")


def load_rows(cfg: ExperimentConfig) -> list[ManifestRow]:
    """The experiment's rows with `split` filled (fold `data.fold` when the manifest has none)."""
    d = cfg.data
    if d.synthetic:
        return synthetic_rows(d.synthetic_clips, seed=d.fold_seed)
    if not d.manifest:
        raise DatasetError("no data: set data.manifest=PATH (or data.synthetic=true)")
    rows = read_manifest(resolve_path(cfg, d.manifest))
    if not rows:
        raise DatasetError(f"{d.manifest}: the manifest has no rows")
    has_split = all(r.split for r in rows)
    if d.fold >= 0 or not has_split:
        if d.fold < 0:
            raise DatasetError(
                f"{d.manifest} has rows without a split: pick a leave-activities-"
                f"out fold with data.fold=0..{d.num_folds - 1}"
            )
        if d.fold >= d.num_folds:
            raise DatasetError(f"data.fold={d.fold} but data.num_folds={d.num_folds}")
        from musclemap.data.splits import leave_activities_out_folds

        rows = leave_activities_out_folds(rows, k=d.num_folds, seed=d.fold_seed)[d.fold]
    if not any(r.split == "train" for r in rows):
        raise DatasetError(f"{d.manifest}: no training clips (split 'train')")
    return rows


class PairedDataset(Dataset):
    """A video dataset and a pose dataset over the same rows, merged sample by sample."""

    def __init__(self, video: Dataset, pose: Dataset) -> None:
        if len(video) != len(pose):  # type: ignore[arg-type]
            raise ValueError("paired datasets differ in length")
        self.video, self.pose = video, pose

    def __len__(self) -> int:
        return len(self.video)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Sample:
        v, p = self.video[index], self.pose[index]
        if v.clip_id != p.clip_id:
            raise DatasetError(f"paired samples differ: {v.clip_id} vs {p.clip_id}")
        v.pose = p.pose
        return v


def _video_dataset(
    cfg: ExperimentConfig, rows: list[ManifestRow], *, train: bool, views: int, aux: str
) -> Dataset:
    try:
        from musclemap.data.video_clips import VideoClipDataset
    except ImportError as err:
        raise DatasetError(f"video datasets are unavailable ({err})") from None
    d = cfg.data
    return VideoClipDataset(
        rows,
        modality=d.modality,
        aux_modality=aux,
        clip_len=d.clip_len,
        sampling_rate=d.sampling_rate,
        train=train,
        crop_size=d.crop_size,
        train_scale=d.train_scale,
        test_scale=d.test_scale,
        num_views=views,
        seed=cfg.train.seed,
        cache_dir=d.cache_dir or None,
    )


def _pose_dataset(cfg: ExperimentConfig, rows: list[ManifestRow], *, train: bool) -> Dataset:
    try:
        from musclemap.data.skeleton_dataset import SkeletonDataset
    except ImportError as err:
        raise DatasetError(f"skeleton datasets are unavailable ({err})") from None
    missing = [r.clip_id for r in rows if r.skeleton is None]
    if missing:
        raise DatasetError(
            f"{len(missing)} clip(s) have no `skeleton` pose file, e.g. "
            f"{missing[0]} (run `musclemap data poses`)"
        )
    d = cfg.data
    return SkeletonDataset(
        rows,
        layout=get_layout(d.layout),
        window=d.window,
        train=train,
        seed=cfg.train.seed,
        augment=train,
        channels=d.channels,
        coords=d.coords,  # type: ignore[arg-type]  # a Literal, checked by load_config
    )


def build_dataset(
    cfg: ExperimentConfig, rows: list[ManifestRow], *, train: bool, views: int = 1
) -> Dataset:
    """One dataset over `rows` for the config's modalities (`views` test views when not train)."""
    d = cfg.data
    if d.modality not in (*VIDEO_MODALITIES, "pose"):
        raise DatasetError(f"unknown data.modality {d.modality!r} (rgb, rgbdiff, flow, pose)")
    if d.synthetic:
        layout = get_layout(d.layout)
        return SyntheticClipDataset(
            rows,
            modality=d.modality,
            aux_modality=d.aux_modality,
            clip_len=d.clip_len,
            crop_size=d.crop_size,
            window=d.window,
            num_joints=layout.num_joints,
            channels=d.channels,
            train=train,
            num_views=views,
            seed=cfg.train.seed,
        )
    if d.modality == "pose":
        return _pose_dataset(cfg, rows, train=train)
    if d.aux_modality == "pose":
        return PairedDataset(
            _video_dataset(cfg, rows, train=train, views=views, aux=""),
            _pose_dataset(cfg, rows, train=train),
        )
    return _video_dataset(cfg, rows, train=train, views=views, aux=d.aux_modality)


def build_datasets(
    cfg: ExperimentConfig, rows: list[ManifestRow] | None = None, *, eval_views: int | None = None
) -> dict[str, Dataset]:
    """Split name -> Dataset for every split with clips (train: augmented, single view).

    Args:
        cfg: the experiment.
        rows: rows with splits (default: `load_rows(cfg)`).
        eval_views: test views for the evaluation splits (default: `cfg.data.num_views`).
    """
    rows = load_rows(cfg) if rows is None else rows
    views = cfg.data.num_views if eval_views is None else eval_views
    out: dict[str, Dataset] = {}
    for split in SPLITS:
        subset = [r for r in rows if r.split == split]
        if subset:
            out[split] = build_dataset(cfg, subset, train=split == "train", views=views)
    return out
