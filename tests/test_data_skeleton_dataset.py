"""SkeletonDataset: pose files -> Sample(pose=(1, window, V, C)); clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from musclemap.data.manifest import ManifestRow
from musclemap.data.pose_sequence import PoseSequence, save_pose_file
from musclemap.data.samples import collate_samples
from musclemap.data.skeleton_dataset import SkeletonDataset
from musclemap.errors import DatasetError
from musclemap.skeleton import COCO17, MEDIAPIPE33, NTU25
from musclemap.taxonomy import NUM_GROUPS, to_multi_hot

# A standing person in normalised image coordinates (x right, y down), MediaPipe joint names.
STAND = {
    "nose": (0.5, 0.15),
    "left_eye": (0.52, 0.13),
    "right_eye": (0.48, 0.13),
    "left_ear": (0.54, 0.14),
    "right_ear": (0.46, 0.14),
    "left_shoulder": (0.58, 0.25),
    "right_shoulder": (0.42, 0.25),
    "left_elbow": (0.62, 0.38),
    "right_elbow": (0.38, 0.38),
    "left_wrist": (0.63, 0.5),
    "right_wrist": (0.37, 0.5),
    "left_hip": (0.55, 0.55),
    "right_hip": (0.45, 0.55),
    "left_knee": (0.56, 0.72),
    "right_knee": (0.44, 0.72),
    "left_ankle": (0.56, 0.9),
    "right_ankle": (0.44, 0.9),
}


def synthetic_motion(kind: str, frames: int, rng: np.random.Generator) -> PoseSequence:
    """'raise': arms swing up and down; 'squat': body lowers and rises. Other joints: NaN."""
    phase = np.linspace(0, 2 * np.pi * rng.uniform(1.0, 2.0), frames) + rng.uniform(0, np.pi)
    amp = np.sin(phase) * 0.5 + 0.5  # (T,)
    image = np.full((frames, 33, 3), np.nan, np.float32)
    world = np.full((frames, 33, 4), np.nan, np.float32)
    for name, (x, y) in STAND.items():
        j = MEDIAPIPE33.index(name)
        xs, ys = np.full(frames, x), np.full(frames, y)
        if kind == "raise" and ("wrist" in name or "elbow" in name):
            ys = y - amp * (0.45 if "wrist" in name else 0.2)
        if kind == "squat" and "ankle" not in name:
            ys = y + amp * (0.1 if "knee" in name else 0.2)
        xs = xs + rng.normal(0, 0.005, frames)
        image[:, j] = np.stack([xs, ys, np.full(frames, 0.9)], -1)
        world[:, j] = np.stack([xs - 0.5, ys - 0.55, np.zeros(frames), np.full(frames, 0.9)], -1)
    valid = np.ones(frames, bool)
    times = np.arange(frames) / 10.0
    return PoseSequence(
        image=image, world=world, valid=valid, times=times, fps=10.0, width=640, height=480
    )


LABELS = {"raise": ("shoulder", "triceps"), "squat": ("quadriceps", "gluteus")}


def make_rows(tmp: Path, n: int, frames: int = 24, seed: int = 0) -> list[ManifestRow]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        kind = ("raise", "squat")[i % 2]
        path = save_pose_file(synthetic_motion(kind, frames, rng), tmp / f"{kind}_{i}.npz")
        rows.append(
            ManifestRow(
                clip=tmp / f"{kind}_{i}.mp4",
                activity=kind,
                split="train",
                labels=to_multi_hot(LABELS[kind]),
                skeleton=path,
            )
        )
    return rows


@pytest.mark.parametrize(
    ("layout", "coords", "channels"),
    [(COCO17, "image", 3), (COCO17, "image", 2), (MEDIAPIPE33, "world", 3), (NTU25, "world", 4)],
)
def test_samples_have_layout_shape(tmp_path: Path, layout, coords, channels) -> None:
    rows = make_rows(tmp_path, 2)
    ds = SkeletonDataset(rows, layout=layout, window=16, coords=coords, channels=channels)
    sample = ds[0]
    assert sample.pose.shape == (1, 16, layout.num_joints, channels)
    assert sample.pose.dtype == torch.float32 and torch.isfinite(sample.pose).all()
    assert sample.labels.shape == (NUM_GROUPS,) and sample.clip_id == rows[0].clip_id
    batch = collate_samples([ds[0], ds[1]])
    assert batch.pose.shape == (2, 1, 16, layout.num_joints, channels)


def test_joints_missing_from_source_are_zero(tmp_path: Path) -> None:
    ds = SkeletonDataset(
        make_rows(tmp_path, 1), layout=NTU25, window=8, train=False, coords="world", channels=4
    )
    pose = ds[0].pose[0]  # (T, V, C)
    spine = NTU25.index("spine_mid")  # MediaPipe has no spine joint
    assert (pose[:, spine] == 0).all()
    assert (pose[:, NTU25.index("left_wrist"), 3] > 0).all()


def test_eval_is_deterministic_train_is_augmented(tmp_path: Path) -> None:
    rows = make_rows(tmp_path, 2)
    ev = SkeletonDataset(rows, layout=COCO17, window=16, train=False)
    assert torch.equal(ev[0].pose, ev[0].pose)
    tr = SkeletonDataset(rows, layout=COCO17, window=16, train=True, seed=3)
    assert not torch.equal(tr[0].pose, tr[0].pose)
    again = SkeletonDataset(rows, layout=COCO17, window=16, train=True, seed=3)
    assert torch.equal(
        again[0].pose, SkeletonDataset(rows, layout="coco17", window=16, train=True, seed=3)[0].pose
    )


def test_hip_centred_and_torso_scaled(tmp_path: Path) -> None:
    ds = SkeletonDataset(make_rows(tmp_path, 1), layout=COCO17, window=8, train=False)
    pose = ds[0].pose[0].numpy()
    hips = pose[:, [COCO17.index("left_hip"), COCO17.index("right_hip")], :2].mean((0, 1))
    assert np.abs(hips).max() < 0.3  # the raise clip's hips do not move
    assert 0.5 < np.abs(pose[..., 1]).max() < 5


def test_no_person_clip_is_zeros(tmp_path: Path) -> None:
    seq = synthetic_motion("raise", 10, np.random.default_rng(0))
    seq.valid[:] = False
    path = save_pose_file(seq, tmp_path / "empty.npz")
    row = ManifestRow(
        clip=tmp_path / "e.mp4", activity="x", split="", labels=np.zeros(20), skeleton=path
    )
    pose = SkeletonDataset([row], layout=COCO17, window=8, train=True)[0].pose
    assert pose.shape == (1, 8, 17, 3) and (pose == 0).all()


def test_missing_and_corrupt_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not a zip")
    for path in (tmp_path / "absent.npz", bad):
        row = ManifestRow(
            clip=tmp_path / "c.mp4", activity="x", split="", labels=np.zeros(20), skeleton=path
        )
        with pytest.raises(DatasetError, match=path.name):
            SkeletonDataset([row], layout=COCO17)[0]
    row = ManifestRow(clip=tmp_path / "c.mp4", activity="x", split="", labels=np.zeros(20))
    with pytest.raises(DatasetError, match="no skeleton"):
        SkeletonDataset([row], layout=COCO17)
    with pytest.raises(DatasetError, match="channels"):
        SkeletonDataset([], layout=COCO17, coords="world", channels=2)
