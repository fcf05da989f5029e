"""One video as a research model's input, built by the experiment's own test-time datasets.

The config's `build_dataset(..., train=False, views=1)` is used as is, so an explained input is
exactly what `musclemap evaluate` feeds the model (centre clip, short side `test_scale`, centre
crop; for pose the whole valid span resampled to `data.window` frames). Poses, when the model
needs them, are extracted at `fps` (MediaPipe, or the estimator given) into a temporary pose file.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from musclemap.config import ExperimentConfig
from musclemap.pose.estimator import PoseEstimator
from musclemap.skeleton import SkeletonLayout, get_layout
from musclemap.taxonomy import NUM_GROUPS


@dataclass
class ResearchInputs:
    video: torch.Tensor | None  # (1, C, T, H, W) the centre clip (rgb models, TransM3E)
    other: torch.Tensor | None  # TransM3E's second input: pose (1, M, T, V, C) or aux video
    pose: torch.Tensor | None  # (1, M, W, V, C) skeleton models
    frames: np.ndarray | None  # (T, H, W, 3) uint8, the RGB clip as the model saw it
    times: np.ndarray  # (T,) seconds of the clip's frames, or (W + 1,) pose span edges
    fps: float  # frames per second of the clip (video fps / sampling rate)
    layout: SkeletonLayout | None


def _pose_file(
    video: Path, fps: float, folder: Path, estimator: PoseEstimator | str | None
) -> tuple[Path, np.ndarray]:
    from musclemap.data.pose_sequence import save_pose_file
    from musclemap.pose.extract import extract_poses

    seq = extract_poses(video, fps=fps, estimator=estimator)
    return save_pose_file(seq, folder / "pose.npz"), seq.times[seq.valid]


def research_inputs(
    cfg: ExperimentConfig,
    video: Path,
    *,
    fps: float = 10.0,
    estimator: PoseEstimator | str | None = None,
) -> ResearchInputs:
    """The model inputs of `video` under `cfg` (modality rgb or pose, aux pose or rgbdiff);
    poses by `estimator` (default MediaPipe, see `extract_poses`)."""
    from musclemap.data.datasets import build_dataset
    from musclemap.data.manifest import ManifestRow
    from musclemap.data.video_clips import MEAN, STD, temporal_indices
    from musclemap.data.video_io import frame_timestamps, probe

    d = cfg.data
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(d, synthetic=False))
    needs_pose = "pose" in (d.modality, d.aux_modality)
    with tempfile.TemporaryDirectory(prefix="musclemap-explain-") as tmp:
        pose_path, seen = (
            _pose_file(video, fps, Path(tmp), estimator) if needs_pose else (None, None)
        )
        row = ManifestRow(
            clip=video.resolve(),
            activity="",
            split="test",
            labels=np.zeros(NUM_GROUPS, dtype=np.float32),
            skeleton=pose_path,
        )
        sample = build_dataset(cfg, [row], train=False, views=1)[0]
    layout = get_layout(d.layout) if needs_pose else None
    pose = None if sample.pose is None else sample.pose.unsqueeze(0)  # (1, M, W, V, C)
    if d.modality == "pose":
        assert pose is not None and seen is not None
        edges = (
            np.linspace(seen[0], seen[-1] + 1.0 / fps, pose.shape[2] + 1)
            if len(seen)
            else (np.arange(pose.shape[2] + 1) / fps)
        )
        return ResearchInputs(None, None, pose, None, edges, fps, layout)
    assert sample.video is not None
    clip = sample.video  # (1, C, T, H, W): one view
    frames = ((clip[0].numpy().transpose(1, 2, 3, 0) * STD + MEAN) * 255).round()
    stamps = frame_timestamps(video)
    idx = temporal_indices(len(stamps), d.clip_len, d.sampling_rate, view=0, num_views=1)
    info = probe(video)
    other = pose if d.aux_modality == "pose" else sample.aux
    return ResearchInputs(
        video=clip,
        other=other,
        pose=None,
        frames=np.clip(frames, 0, 255).astype(np.uint8),
        times=stamps[idx],
        fps=max(info.fps / max(d.sampling_rate, 1), 1.0),
        layout=layout,
    )
