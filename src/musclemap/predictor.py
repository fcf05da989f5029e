"""The main job: a video -> which of the 20 muscle groups work, how strongly and when.

Pipeline: decode + MediaPipe pose at `fps` (cached per video, `musclemap.pose.base.extract_poses`)
-> sliding windows of poses (2 s, stride 0.8 s at 10 fps) -> a compact window model (packaged
weights, `musclemap/weights/default.*`) -> 20 probabilities per window (the timeline) -> the clip
score, the mean over windows in which a person was seen. Sigmoids live here, not in the models.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from musclemap.errors import ConfigError, NoPersonError, VideoError
from musclemap.pose import features as feats
from musclemap.pose.base import PoseEstimator, PoseSequence
from musclemap.taxonomy import GROUP_IDS

Progress = Callable[[float, str], None]
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
# A window counts towards the clip score (and the timeline) when a person is seen in at least
# this fraction of its frames; emptier windows would be scored on a few stray poses.
MIN_WINDOW_COVERAGE = 0.5


@dataclass
class Prediction:
    """The result for one video (see `to_dict` for the JSON written by `--json`)."""

    video: str
    muscles: dict[str, float]  # group id -> probability, taxonomy order
    threshold: float
    timeline: list[dict[str, Any]]
    pose_coverage: float
    people: int
    model: dict[str, str]
    # Exercise-aware blocks (exercise, movement, repetitions) set by musclemap.analysis.analyse.
    analysis: dict[str, Any] = field(default_factory=dict)
    pose: PoseSequence | None = None
    notes: list[str] = field(default_factory=list)
    quality: dict[str, Any] = field(default_factory=dict)  # input checks (pose/quality.py)

    @property
    def active(self) -> list[str]:
        """Groups at or above the threshold, most probable first."""
        return [g for g, p in self.ranked() if p >= self.threshold]

    def ranked(self) -> list[tuple[str, float]]:
        return sorted(self.muscles.items(), key=lambda kv: -kv[1])

    def scores_array(self) -> np.ndarray:
        return np.array([self.muscles[g] for g in GROUP_IDS])

    def to_dict(self) -> dict[str, Any]:
        return {
            "video": self.video,
            "muscles": {g: round(p, 4) for g, p in self.muscles.items()},
            "active": self.active,
            "threshold": self.threshold,
            "timeline": self.timeline,
            "pose_coverage": round(self.pose_coverage, 4),
            "people": self.people,
            "model": self.model,
            "notes": self.notes,
            "quality": self.quality,
            **self.analysis,
        }


def _checked_meta(weights: Path, meta_path: Path) -> dict[str, Any]:
    for p in (weights, meta_path):
        if not p.is_file():
            raise ConfigError(f"model file not found: {p}")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "not UTF-8 text"
        raise ConfigError(f"{meta_path}: invalid model metadata ({reason})") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{meta_path}: invalid model metadata (not a JSON object)")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    if meta.get("sha256") and meta["sha256"] != digest:
        raise ConfigError(
            f"{weights}: checksum mismatch (file damaged or replaced); "
            "re-install musclemap or re-train the weights"
        )
    if not meta.get("sha256"):  # no checksum: at least the file must be whole safetensors
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(weights), framework="pt"):
                pass
        except (SafetensorError, OSError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ConfigError(f"{weights}: damaged or not a safetensors file ({reason})") from None
    return meta


class Predictor:
    """A window model plus its settings (window, stride, fps, threshold)."""

    def __init__(
        self,
        model: torch.nn.Module,
        meta: dict[str, Any],
        *,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        estimator: PoseEstimator | None = None,
    ) -> None:
        self.model = model.to(device).eval()
        self.estimator = estimator  # None: MediaPipe Pose, opened per video
        self.meta = meta
        self.device = device
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.kind: str = meta["input"]
        self.window, self.stride = int(meta["window"]), int(meta["stride"])
        self.fps = float(meta["fps"])
        self.threshold = float(meta["threshold"])
        self.min_seconds = float(meta.get("min_seconds", 1.0))

    @classmethod
    def default(cls, device: str = "cpu", **kwargs: Any) -> Predictor:
        """The packaged default weights (`musclemap/weights/default.safetensors`)."""
        return cls.from_checkpoint(WEIGHTS_DIR / "default.safetensors", device=device, **kwargs)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu", **kwargs: Any) -> Predictor:
        """Weights written by `musclemap train` (task pose_default): a run folder, or a
        `.safetensors` file with its `.json` metadata beside it."""
        from safetensors.torch import load_file

        from musclemap.models import build_model

        path = Path(path)
        weights = path / "model.safetensors" if path.is_dir() else path
        meta = _checked_meta(weights, weights.with_suffix(".json"))
        try:
            model = build_model(meta["name"], num_classes=len(GROUP_IDS), **meta["kwargs"])
            model.load_state_dict(load_file(str(weights)), strict=True)
        except (KeyError, TypeError, RuntimeError) as err:
            reason = str(err).splitlines()[0]
            raise ConfigError(f"{weights}: weights do not fit their metadata ({reason})") from None
        return cls(model, meta, device=device, **kwargs)

    @property
    def model_info(self) -> dict[str, str]:
        return {"name": str(self.meta["name"]), "version": str(self.meta.get("version", ""))}

    def predict(
        self,
        video_path: str | Path,
        *,
        fps: float | None = None,
        progress: Progress | None = None,
        workers: int | None = None,
    ) -> Prediction:
        """Poses of `video_path` (cached) -> Prediction.

        Args:
            fps: Pose sampling rate; default the model's own (`self.fps`). Another rate is
                allowed and noted in `Prediction.notes`.
            workers: Pose processes (None: one per core; 1: this process only).

        Raises:
            VideoError: Missing, unreadable, empty or too short video.
            NoPersonError: No person (or too little of one) in the sampled frames.
        """
        from musclemap.pose import quality
        from musclemap.pose.base import extract_poses, fps_note

        video_path = Path(video_path)
        if not video_path.is_file():
            raise VideoError(f"{video_path}: file not found")
        quality.check_video(video_path)  # too small to pose: refused before the work
        rate = self.fps if fps is None else float(fps)

        def extract(estimator: PoseEstimator | None) -> PoseSequence:
            return extract_poses(
                video_path,
                fps=rate,
                cache_dir=self.cache_dir,
                progress=progress,
                use_cache=self.use_cache,
                estimator=estimator,
                workers=workers,
            )

        seq, checks = quality.assess_video(
            video_path, extract(self.estimator), extract=extract, estimator=self.estimator
        )
        prediction = self.predict_poses(seq, video=str(video_path))
        prediction.quality = checks
        prediction.notes += quality.quality_notes(checks)
        note = fps_note(rate, self.fps)
        if note:
            prediction.notes.append(note)
        return prediction

    def predict_poses(self, seq: PoseSequence, *, video: str = "") -> Prediction:
        """Score a pose sequence (from `extract_poses`, a pose file, or generated)."""
        name = video or seq.source or "poses"
        n = len(seq)
        if n == 0:
            raise VideoError(f"{name}: no frames could be decoded")
        seconds = n / seq.fps
        if seconds + 1e-6 < self.min_seconds:
            raise VideoError(
                f"{name}: too short ({seconds:.1f} s sampled); need at least "
                f"{self.min_seconds:.1f} s of video"
            )
        min_frames = int(np.ceil(self.min_seconds * seq.fps))
        if seq.valid.sum() < min_frames:
            raise NoPersonError(
                f"{name}: no person detected"
                if not seq.valid.any()
                else f"{name}: a person was seen in only {int(seq.valid.sum())} of {n} sampled "
                f"frames (pose_coverage {seq.coverage:.0%}); too little to estimate muscles"
            )
        starts, probs, keep = self._window_probabilities(seq)
        muscles = probs[keep].mean(0)
        timeline = [
            self._window_entry(seq, s, p) for s, p, k in zip(starts, probs, keep, strict=True) if k
        ]
        notes = []
        if n < self.window:
            notes.append(
                f"short clip: one window of {seconds:.1f} s instead of "
                f"{self.window / seq.fps:.1f} s"
            )
        if seq.num_people > 1:
            notes.append(f"{seq.num_people} people seen; the most prominent one was followed")
        if seq.extra.get("track_jumps_s"):
            notes.append(
                "the tracked person may have switched at "
                + ", ".join(f"{t:.1f} s" for t in seq.extra["track_jumps_s"])
            )
        return Prediction(
            video=name,
            muscles={g: float(p) for g, p in zip(GROUP_IDS, muscles, strict=True)},
            threshold=self.threshold,
            timeline=timeline,
            pose_coverage=seq.coverage,
            people=int(seq.num_people),
            model=self.model_info,
            pose=seq,
            notes=notes,
        )

    @torch.no_grad()
    def _window_probabilities(self, seq: PoseSequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Window starts `(N,)`, probabilities `(N, 20)` and which windows have a person."""
        from musclemap.engine.pose_windows import window_probabilities

        starts, inputs = feats.window_inputs(
            seq.world, seq.image, seq.fps, window=self.window, stride=self.stride, kind=self.kind
        )
        probs = window_probabilities(self.model, self.kind, inputs, device=self.device)
        cover = np.array([seq.valid[s : s + self.window].mean() for s in starts])
        keep = cover >= min(MIN_WINDOW_COVERAGE, cover.max())
        return starts, probs, keep

    def _window_entry(self, seq: PoseSequence, start: int, probs: np.ndarray) -> dict[str, Any]:
        end = min(start + self.window, len(seq)) - 1
        return {
            "start_s": round(float(seq.times[start]), 3),
            "end_s": round(float(seq.times[end]) + 1.0 / seq.fps, 3),
            "muscles": {g: round(float(p), 4) for g, p in zip(GROUP_IDS, probs, strict=True)},
        }
