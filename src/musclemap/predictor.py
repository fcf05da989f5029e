"""The main job: a video -> which of the 20 muscle groups work, how strongly and when.

Pipeline: decode + MediaPipe pose at `fps` (cached per video, `musclemap.pose.base.extract_poses`)
-> sliding windows of poses -> the two key poses of each window's dominant movement and their
features (`musclemap.pose.keypose`) -> the packaged model (`musclemap/weights/default.*`, a numpy
forward of `keypose_mlp` weights: no torch needed) -> 20 probabilities per window (the timeline)
-> the clip score, the mean over windows in which a person was seen -> the closest exercises of
the training library ("looks like").

`score_poses` is the one function from a pose sequence to window and clip scores: `predict`,
the web app (through `Predictor`) and the cross-validation of `musclemap train` all use it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.errors import ConfigError, NoPersonError, VideoError
from musclemap.pose import keypose
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
    # The closest exercises of the training library: [{"exercise", "similarity"}], best first.
    looks_like: list[dict[str, Any]] = field(default_factory=list)

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
            "looks_like": self.looks_like,
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
            with safe_open(str(weights), framework="numpy"):
                pass
        except (SafetensorError, OSError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ConfigError(f"{weights}: damaged or not a safetensors file ({reason})") from None
    return meta


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh form (as `keypose_mlp` is trained)."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3)))


class KeyPoseModel:
    """The numpy forward of `keypose_mlp` weights, its settings and its exercise library.

    Args:
        tensors: The state dict as numpy arrays (`feat_mean`, `feat_std`, `w1`, `b1`, `w2`,
            `b2`) plus, optionally, `library.embeddings` `(E, members * hidden)`.
        meta: The weights' metadata (`window`, `stride`, `fps`, `threshold`, `min_visibility`,
            `library` names, ...).
    """

    def __init__(self, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.meta = meta
        self.window, self.stride = int(meta["window"]), int(meta["stride"])
        self.min_visibility = float(meta.get("min_visibility", keypose.MIN_VISIBILITY))
        self.motion = bool(meta.get("motion", False))
        try:
            t = {k: np.asarray(v, dtype=np.float64) for k, v in tensors.items()}
            self.mean, self.std = t["feat_mean"], t["feat_std"]
            self.w1, self.b1, self.w2, self.b2 = t["w1"], t["b1"], t["w2"], t["b2"]
        except KeyError as err:
            raise ConfigError(f"model weights lack tensor {err}") from None
        if len(self.mean) != keypose.num_features(self.motion):
            raise ConfigError(
                f"model expects {len(self.mean)} features, this musclemap computes "
                f"{keypose.num_features(self.motion)}; re-train the weights"
            )
        self.library = t.get("library.embeddings")
        self.library_labels = t.get("library.labels")
        self.library_names: list[str] = list(meta.get("library", {}).get("names", []))
        if self.library is not None and len(self.library) != len(self.library_names):
            raise ConfigError("library embeddings and names differ in length")
        # Blend with the labels of the closest library exercises (see `probabilities`).
        knn = meta.get("knn", {})
        self.knn_weight = float(knn.get("weight", 0.0)) if self.library_labels is not None else 0.0
        self.knn_k, self.knn_temperature = int(knn.get("k", 5)), float(knn.get("temperature", 0.05))

    @classmethod
    def load(cls, path: str | Path) -> KeyPoseModel:
        """A run folder (`model.safetensors` + `model.json`) or a `.safetensors` file with its
        `.json` beside it; the SHA-256 in the metadata is checked."""
        from safetensors.numpy import load_file

        path = Path(path)
        weights = path / "model.safetensors" if path.is_dir() else path
        meta = _checked_meta(weights, weights.with_suffix(".json"))
        try:
            tensors = load_file(str(weights))
        except Exception as err:  # noqa: BLE001 - safetensors raises several types
            raise ConfigError(f"{weights}: not a safetensors file ({err})") from None
        if meta.get("input") != "keypose":
            raise ConfigError(
                f"{weights}: a {meta.get('name', '?')!r} model with input "
                f"{meta.get('input')!r}; predict needs a keypose model (musclemap train "
                "configs/predict_default.yaml)"
            )
        return cls(tensors, meta)

    def _hidden(self, x: np.ndarray) -> np.ndarray:
        """`(N, F)` -> `(members, N, hidden)`."""
        x = np.asarray(x, dtype=np.float64)
        x = np.where(np.isfinite(x), x, self.mean)
        z = np.clip((x - self.mean) / self.std, -6.0, 6.0)
        return _gelu(np.einsum("bf,mfh->mbh", z, self.w1) + self.b1[:, None])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """`(N, F)` key-pose features (NaN = unknown) -> `(N, 20)` probabilities: the MLP's,
        blended (`knn.weight`) with the labels of the `knn.k` library exercises closest in
        embedding, weighted by a softmax of their cosine similarity (`knn.temperature`)."""
        h = self._hidden(x)
        logits = (np.einsum("mbh,mhc->mbc", h, self.w2) + self.b2[:, None]).mean(0)
        probs = 1.0 / (1.0 + np.exp(-logits))
        if self.knn_weight <= 0 or self.library is None or self.library_labels is None:
            return probs
        sim = self._similarity(h.transpose(1, 0, 2).reshape(len(logits), -1))  # (N, E)
        k = min(self.knn_k, sim.shape[1])
        top = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        s = np.take_along_axis(sim, top, 1) / self.knn_temperature
        w = np.exp(s - s.max(1, keepdims=True))
        w /= w.sum(1, keepdims=True)
        knn = np.einsum("nk,nkc->nc", w, self.library_labels[top])
        return (1.0 - self.knn_weight) * probs + self.knn_weight * knn

    def _similarity(self, emb: np.ndarray) -> np.ndarray:
        """Cosine similarity `(N, E)` of embeddings `(N, D)` to the library's."""
        lib = np.asarray(self.library)
        num = emb @ lib.T
        den = np.linalg.norm(emb, axis=1)[:, None] * np.linalg.norm(lib, axis=1)[None]
        return num / np.maximum(den, 1e-12)

    def embed(self, x: np.ndarray) -> np.ndarray:
        """`(N, F)` -> `(N, members * hidden)`: what "looks like" compares."""
        h = self._hidden(x)
        return h.transpose(1, 0, 2).reshape(len(h[0]), -1)

    def looks_like(self, embedding: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
        """The `k` library exercises closest to an embedding (cosine similarity), best first;
        an exercise with several library entries is named once, at its best."""
        if self.library is None or not len(self.library) or not np.isfinite(embedding).all():
            return []
        sim = self._similarity(embedding[None])[0]
        out: list[tuple[str, float]] = []
        for i in np.argsort(-sim, kind="stable"):
            if self.library_names[i] not in {n for n, _ in out}:
                out.append((self.library_names[i], float(sim[i])))
            if len(out) == k:
                break
        return out


@dataclass
class Scores:
    """Window and clip scores of one pose sequence (`score_poses`)."""

    starts: np.ndarray  # (N,) window start frames
    probs: np.ndarray  # (N, 20)
    keep: np.ndarray  # (N,) bool: a person in enough of the window
    clip: np.ndarray  # (20,) the mean over kept windows
    embedding: np.ndarray  # the mean embedding of kept windows ("looks like")


def score_poses(model: KeyPoseModel, seq: PoseSequence) -> Scores:
    """A pose sequence (a video's poses or key-position photos) -> window and clip scores.

    Windows of `model.window` frames (stride `model.stride`; a shorter sequence, e.g. two
    photos, is one window) -> key-pose features -> probabilities. The clip score is the mean
    over windows in which a person is seen in at least `MIN_WINDOW_COVERAGE` of the frames (the
    best-covered windows when none reaches it).
    """
    starts, x, cover = keypose.sequence_windows(
        seq.world, seq.valid, window=model.window, stride=model.stride,
        min_visibility=model.min_visibility, motion=model.motion, fps=seq.fps, image=seq.image,
    )
    probs = model.probabilities(x)
    keep = cover >= min(MIN_WINDOW_COVERAGE, float(cover.max()))
    return Scores(starts, probs, keep, probs[keep].mean(0), model.embed(x[keep]).mean(0))


def _pose_pool(workers: int | None) -> Any:
    """The shared pose pool `extract_poses` used for `workers` (None when it ran in-process)."""
    from musclemap.pose.parallel import cpu_budget, shared_pool

    n = cpu_budget() if workers is None else max(int(workers), 1)
    return shared_pool(n) if n > 1 else None


class Predictor:
    """The packaged model plus its settings (window, stride, fps, threshold)."""

    def __init__(
        self,
        model: KeyPoseModel,
        meta: dict[str, Any] | None = None,
        *,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        estimator: PoseEstimator | None = None,
    ) -> None:
        self.model = model
        self.meta = model.meta if meta is None else meta  # the model's settings by default
        self.device = device  # accepted for the CLI and web app; the numpy model runs on the CPU
        self.estimator = estimator  # None: MediaPipe Pose, opened per video
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.window, self.stride = model.window, model.stride
        self.fps = float(self.meta["fps"])
        self.threshold = float(self.meta["threshold"])
        self.min_seconds = float(self.meta.get("min_seconds", 1.0))

    @classmethod
    def default(cls, device: str = "cpu", **kwargs: Any) -> Predictor:
        """The packaged default weights (`musclemap/weights/default.safetensors`)."""
        return cls.from_checkpoint(WEIGHTS_DIR / "default.safetensors", device=device, **kwargs)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu", **kwargs: Any) -> Predictor:
        """Weights written by `musclemap train` (task pose_default): a run folder, or a
        `.safetensors` file with its `.json` metadata beside it."""
        model = KeyPoseModel.load(path)
        return cls(model, model.meta, device=device, **kwargs)

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
        from musclemap.pose.base import extract_poses

        video_path = Path(video_path)
        if not video_path.is_file():
            raise VideoError(f"{video_path}: file not found")
        quality.check_video(video_path)  # too small to pose: refused before the work
        rate = self.fps if fps is None else float(fps)
        seq = extract_poses(
            video_path,
            fps=rate,
            cache_dir=self.cache_dir,
            progress=progress,
            use_cache=self.use_cache,
            estimator=self.estimator,
            workers=workers,
        )
        frames = None
        if self.estimator is None:
            pool = _pose_pool(workers)
            if pool is not None:  # the pixel gates on a warm worker, not a new graph here
                frames = pool.inspect(video_path, seq)
        return self.predict_extracted(video_path, seq, fps=rate, frames=frames)

    def predict_extracted(
        self,
        video_path: Path,
        seq: PoseSequence,
        *,
        fps: float,
        frames: dict[str, Any] | None = None,
        quality: dict[str, Any] | None = None,
    ) -> Prediction:
        """What `predict` does once the poses are extracted (also used by batch mode, whose
        workers extract the poses): the input-quality gates, the scores and the notes.

        Args:
            seq: The video's poses; with `quality`, the poses the gates checked (and maybe
                turned back).
            fps: The rate they were asked for (noted when it is not the model's).
            frames: `quality.inspect_frames`' result when a pose worker ran it.
            quality: The gates' block when a pose worker ran them all (`PosePool.map_checked`).
        """
        from musclemap.pose import quality as gates
        from musclemap.pose.base import fps_note

        if quality is None:
            seq, quality = gates.assess_video(
                video_path, seq, estimator=self.estimator, frames=frames
            )
        prediction = self.predict_poses(seq, video=str(video_path))
        prediction.quality = quality
        prediction.notes += gates.quality_notes(quality)
        note = fps_note(fps, self.fps)
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
        scores = score_poses(self.model, seq)
        timeline = [
            self._window_entry(seq, s, p)
            for s, p, k in zip(scores.starts, scores.probs, scores.keep, strict=True)
            if k
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
            muscles={g: float(p) for g, p in zip(GROUP_IDS, scores.clip, strict=True)},
            threshold=self.threshold,
            timeline=timeline,
            pose_coverage=seq.coverage,
            people=int(seq.num_people),
            model=self.model_info,
            pose=seq,
            notes=notes,
            looks_like=[
                {"exercise": e, "similarity": round(sim, 3)}
                for e, sim in self.model.looks_like(scores.embedding)
            ],
        )

    def _window_entry(self, seq: PoseSequence, start: int, probs: np.ndarray) -> dict[str, Any]:
        end = min(start + self.window, len(seq)) - 1
        return {
            "start_s": round(float(seq.times[start]), 3),
            "end_s": round(float(seq.times[end]) + 1.0 / seq.fps, 3),
            "muscles": {g: round(float(p), 4) for g, p in zip(GROUP_IDS, probs, strict=True)},
        }
