"""The main job: a video -> which of the 20 muscle groups work, how strongly and when.

Pipeline: decode + pose at `fps` (cached per video, `musclemap.pose.extract.extract_poses`)
-> sliding windows of poses -> the two key poses of each window's dominant movement and their
features (`musclemap.pose.keypose`) -> the packaged model (`musclemap/weights/default.*`, a numpy
forward of `keypose_mlp` weights: no torch needed) -> 20 probabilities per window (the timeline)
-> the clip score, the mean over windows in which a person was seen -> the closest exercises of
the training library ("looks like").

The model and `score_poses`, the one function from a pose sequence to window and clip scores,
live in `musclemap.pose.keypose_model` (torch-free, below the engine, which scores its
cross-validation folds with them); they are re-exported here.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.data.pose_sequence import PoseSequence
from musclemap.errors import ArgumentError, ConfigError, NoPersonError, VideoError
from musclemap.inference import load_model
from musclemap.pose.estimator import (
    DEFAULT_ESTIMATOR,
    ESTIMATORS,
    PoseEstimator,
    estimator_for,
    estimator_note,
    pooled_name,
)
from musclemap.pose.keypose_model import KeyPoseModel, PoseScorer, Scores, score_poses
from musclemap.pose.segments import Segment, find_segments, join, pooled
from musclemap.skeleton import MEDIAPIPE33
from musclemap.taxonomy import GROUP_IDS

__all__ = ["KeyPoseModel", "PoseScorer", "Prediction", "Predictor", "Scores", "score_poses"]

Progress = Callable[[float, str], None]
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
# Fewest poses a prediction is made from, whatever the sampling rate: half of what the model's
# own rate (10 fps) gives its shortest clip (1 s). `--fps 0.001` on a 9-s squat sampled one
# pose, "1000 s" long by the rate, and scored calves and feet_ankles active.
MIN_POSES = 5


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
    # Where the video changes exercise (`pose.segments`): one entry per part, [] when it does
    # not: {"start_s", "end_s", "active", "muscles", "looks_like"}.
    segments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def active(self) -> list[str]:
        """Groups at or above the threshold, most probable first."""
        return active_groups(self.muscles, self.threshold)

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
            "segments": self.segments,
            "notes": self.notes,
            "quality": self.quality,
            **self.analysis,
        }


# Model settings read from the metadata: (valid?, the range in words). NaN fails every test.
_SETTINGS: dict[str, tuple[Callable[[float], bool], str]] = {
    "fps": (lambda v: 0 < v <= 60, "in (0, 60]"),
    "threshold": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "min_seconds": (lambda v: v >= 0, ">= 0"),
}


def active_groups(muscles: dict[str, float], threshold: float) -> list[str]:
    """The groups of `muscles` at or above `threshold`, most probable first."""
    ranked = sorted(muscles.items(), key=lambda kv: -kv[1])
    return [g for g, p in ranked if p >= threshold]


def looks_like_entries(pairs: list[tuple[str, float]]) -> list[dict[str, Any]]:
    """`looks_like`'s (exercise, similarity) pairs as the JSON gives them."""
    return [{"exercise": e, "similarity": round(sim, 3)} for e, sim in pairs]


def _same_exercise(a: str, b: str) -> bool:
    """Two "looks like" names of one exercise: equal, or one `canonical_exercise` of the
    knowledge base (a library variant of a curated activity)."""
    if a == b:
        return True
    from musclemap.activities import canonical_exercise
    from musclemap.errors import UnknownActivityError

    try:
        return canonical_exercise(a) == canonical_exercise(b)
    except UnknownActivityError:
        return False


def segments_note(segments: list[dict[str, Any]]) -> str:
    """The note of a video that changes exercise: each part, what it looks like, its groups."""

    def part(seg: dict[str, Any]) -> str:
        looks = f" looks like {seg['looks_like'][0]['exercise']}" if seg["looks_like"] else ""
        groups = ", ".join(seg["active"][:4]) or "no group active"
        return f"{seg['start_s']:.1f}-{seg['end_s']:.1f} s{looks} ({groups})"

    times = ", ".join(f"{s['start_s']:.1f} s" for s in segments[1:])
    return (
        f"the movement changes at {times}: " + "; ".join(part(s) for s in segments)
        + "; the scores above are the mean over the whole video (each part's are under "
        "'segments' in the JSON; or cut the video and predict each part)"
    )


def check_settings(meta: dict[str, Any], path: str | Path) -> None:
    """ConfigError naming every unusable setting of a model's metadata: the `.json` beside the
    weights is not covered by their checksum, and a threshold of 7 marked no group active
    (exit 0), an fps of -1 crashed the decoder, a missing one was a KeyError."""
    problems = []
    for key, (valid, span) in _SETTINGS.items():
        value = meta.get(key, 1.0 if key == "min_seconds" else None)
        if isinstance(value, bool) or not (isinstance(value, int | float) and valid(value)):
            problems.append(f"{key} {value!r} (expected a number {span})")
    trained = meta.get("pose_estimator", DEFAULT_ESTIMATOR)
    if not isinstance(trained, str) or trained not in ESTIMATORS:
        problems.append(f"pose_estimator {trained!r} (expected one of {', '.join(ESTIMATORS)})")
    if problems:
        raise ConfigError(f"{path}: unusable model settings: {'; '.join(problems)}")


def is_real_number(value: Any) -> bool:
    """A real number that is not a bool (`fps=True` sampled at 1 fps without a word)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_path_argument(value: Any, name: str, *, optional: bool = False) -> None:
    """ArgumentError unless `value` is a path (str or os.PathLike; None when `optional`):
    `predict(None)` or `predict(123)` failed deep in pathlib, `cache_dir=123` made ./123."""
    if value is None and optional:
        return
    if isinstance(value, bytes) or not isinstance(value, str | os.PathLike):
        kind = "None or a path" if optional else "a path"
        raise ArgumentError(f"{name} must be {kind} (str or os.PathLike), got {value!r}")


def check_predict_arguments(
    video: Any,
    *,
    fps: Any = None,
    workers: Any = None,
    rotate: Any = None,
    progress: Any = None,
) -> None:
    """The arguments `Predictor.predict` and `musclemap.predict` share, checked before any
    work: ArgumentError (a ValueError and a TypeError) naming the first wrong one."""
    from musclemap.pose.orientation import ROTATIONS

    check_path_argument(video, "video")
    # bool is an int: fps=True sampled at 1 fps without a word.
    if fps is not None and not (is_real_number(fps) and math.isfinite(fps) and 0 < fps <= 60):
        raise ArgumentError(f"fps must be in (0, 60], got {fps!r}")
    if workers is not None and (type(workers) is not int or workers < 0):
        # -1 or 1.5 ran without a word (as one per core / 1.5 processes).
        raise ArgumentError(f"workers must be None or an integer >= 0, got {workers!r}")
    if rotate is not None and (type(rotate) is not int or rotate not in ROTATIONS):
        allowed = ", ".join(map(str, ROTATIONS))
        raise ArgumentError(f"rotate must be None or one of {allowed} (degrees clockwise), "
                            f"got {rotate!r}")
    if progress is not None and not callable(progress):
        # It was first called after the decoding, as a TypeError from the pose loop.
        raise ArgumentError(f"progress must be None or callable as progress(fraction, message), "
                            f"got {progress!r}")


def check_predictor_arguments(kwargs: dict[str, Any]) -> None:
    """`Predictor`'s keyword arguments (device, cache_dir, use_cache) by type."""
    if not isinstance(kwargs.get("device", "cpu"), str):
        raise ArgumentError(f"device must be a str such as 'cpu', got {kwargs['device']!r}")
    check_path_argument(kwargs.get("cache_dir"), "cache_dir", optional=True)
    if not isinstance(kwargs.get("use_cache", True), bool):
        # use_cache="no" is true.
        raise ArgumentError(f"use_cache must be True or False, got {kwargs['use_cache']!r}")


# MediaPipe's shoulders and hips: every key-pose feature is measured in the torso's frame.
TORSO = (11, 12, 23, 24)


def _torso_seen(seq: PoseSequence, name: str) -> tuple[PoseSequence, str]:
    """`seq` with frames whose torso has no finite 3D landmark counted as frames without a
    person, and a note saying how many (MediaPipe always gives them; a pose file or a
    sequence made in Python may not, and the features of such frames are the training mean's:
    a squat so scored read as shoulders). Refused in one line when no frame keeps a torso."""
    from dataclasses import replace

    if seq.layout.name != MEDIAPIPE33.name or not seq.valid.any():
        return seq, ""
    torso = np.isfinite(seq.world[:, list(TORSO), :3]).all(axis=(1, 2))
    lost = seq.valid & ~torso
    if not lost.any():
        return seq, ""
    if not (seq.valid & torso).any():
        raise NoPersonError(
            f"{name}: the shoulders and hips have no 3D landmarks in any of the "
            f"{int(seq.valid.sum())} frames with a person; the model measures every pose "
            "against them"
        )
    # as a frame without a person is held (`PoseSequence.from_frames`): NaN landmarks
    image, world = seq.image.copy(), seq.world.copy()
    image[lost], world[lost] = np.nan, np.nan
    kept = replace(seq, image=image, world=world, valid=seq.valid & torso)
    return kept, (
        f"{int(lost.sum())} of {int(seq.valid.sum())} frames with a person had no 3D "
        "landmarks for the shoulders and hips; they were scored as frames without a person"
    )


class Predictor:
    """A trained model plus its settings (window, stride, fps, threshold): the packaged one by
    default, or any checkpoint `musclemap.inference.load_model` reads."""

    def __init__(
        self,
        model: PoseScorer,
        meta: dict[str, Any] | None = None,
        *,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        estimator: PoseEstimator | str | None = None,
    ) -> None:
        self.model = model
        self.meta = model.meta if meta is None else meta  # the model's settings by default
        self.device = device  # accepted for the CLI and web app; models run on the CPU
        # The estimator the model's training poses were made with (weights without the field
        # predate it: MediaPipe's own tracker); used unless another is given, which is noted.
        self.trained_estimator = str(self.meta.get("pose_estimator", DEFAULT_ESTIMATOR))
        given = self.trained_estimator if estimator is None else estimator
        self.estimator_name = given if isinstance(given, str) else None
        # A `POOLED` name (opened per video, maybe in worker processes), or an instance.
        self.estimator = estimator_for(given) if isinstance(given, str) else given
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
        """Weights written by `musclemap train`: a run folder, a `.safetensors` file with its
        `.json` beside it (task pose_default), or a research run's `.pt` of a pose model
        (`musclemap.inference.load_model`; ConfigError for a model predict cannot feed)."""
        check_path_argument(path, "checkpoint")
        check_predictor_arguments({"device": device, **kwargs})
        model = load_model(path)
        check_settings(model.meta, path)
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
        rotate: int | None = None,
    ) -> Prediction:
        """Poses of `video_path` (cached) -> Prediction.

        Args:
            fps: Pose sampling rate; default the model's own (`self.fps`). Another rate is
                allowed and noted in `Prediction.notes`.
            workers: Pose processes (None: one per core; 1: this process only).
            rotate: Degrees clockwise (0, 90, 180, 270) that make the picture upright, instead
                of the orientation check's answer (None: the check decides).

        Raises:
            ArgumentError: An argument of the wrong type or out of range (`fps` in (0, 60],
                `workers` >= 0, `rotate` 0/90/180/270, `progress` callable).
            VideoError: Missing, unreadable, empty or too short video.
            NoPersonError: No person (or too little of one) in the sampled frames.
        """
        from musclemap.pose import quality
        from musclemap.pose.extract import extract_poses, pose_pool, pose_workers

        check_predict_arguments(
            video_path, fps=fps, workers=workers, rotate=rotate, progress=progress
        )
        from musclemap.textfile import is_regular_file, missing_reason

        video_path = Path(video_path)
        if not is_regular_file(video_path):
            raise VideoError(f"{video_path}: {missing_reason(video_path)}")
        quality.check_video(video_path)  # too small to pose: refused before the work
        pooled = pooled_name(self.estimator)
        if pooled is not None:
            workers = pose_workers(workers)  # once: the pool below is the one extract used
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
        if pooled is not None:
            pool = pose_pool(workers, pooled)
            if pool is not None:  # the pixel gates on a warm worker, not a new graph here
                frames = pool.inspect(video_path, seq)
        return self.predict_extracted(video_path, seq, fps=rate, frames=frames, rotate=rotate)

    def predict_extracted(
        self,
        video_path: Path,
        seq: PoseSequence,
        *,
        fps: float,
        frames: dict[str, Any] | None = None,
        quality: dict[str, Any] | None = None,
        rotate: int | None = None,
    ) -> Prediction:
        """What `predict` does once the poses are extracted (also used by batch mode, whose
        workers extract the poses): the input-quality gates, the scores and the notes.

        Args:
            seq: The video's poses; with `quality`, the poses the gates checked (and maybe
                turned back).
            fps: The rate they were asked for (noted when it is not the model's).
            frames: `quality.inspect_frames`' result when a pose worker ran it.
            quality: The gates' block when a pose worker ran them all (`PosePool.map_checked`).
            rotate: The user's turn (see `predict`), made instead of the check's.
        """
        from musclemap.pose import quality as gates
        from musclemap.pose.extract import fps_note

        if quality is None:
            # (A name: its second-person checks on a fresh MediaPipe, as for the default.)
            own = None if isinstance(self.estimator, str) else self.estimator
            seq, quality = gates.assess_video(video_path, seq, estimator=own, frames=frames)
        if rotate is not None:
            seq, quality = gates.set_orientation(seq, quality, rotate)
        prediction = self.predict_poses(seq, video=str(video_path))
        prediction.quality = quality
        prediction.notes += gates.quality_notes(quality)
        for note in (
            fps_note(fps, self.fps),
            estimator_note(self.estimator_name, self.trained_estimator),
        ):
            if note:
                prediction.notes.append(note)
        return prediction

    def predict_poses(self, seq: PoseSequence, *, video: str = "") -> Prediction:
        """Score a pose sequence (from `extract_poses`, a pose file, or generated).

        Raises:
            ArgumentError: `seq` is not a PoseSequence, or `video` not a str.
            VideoError: No frames, or too few / too short to score.
            NoPersonError: No frame with a person (and a torso), or too little of one.
        """
        if not isinstance(seq, PoseSequence):
            raise ArgumentError(
                "seq must be a musclemap.data.pose_sequence.PoseSequence (e.g. from "
                f"load_pose_file or extract_poses), got {type(seq).__name__}"
            )
        if not isinstance(video, str):
            raise ArgumentError(f"video must be a str (a name for messages), got {video!r}")
        name = video or seq.source or "poses"
        n = len(seq)
        if n == 0:
            # From a video (`video` given): nothing was decoded; else an empty sequence.
            why = "no frames could be decoded" if video else "no poses (the sequence is empty)"
            raise VideoError(f"{name}: {why}")
        seconds = n / seq.fps
        if seconds + 1e-6 < self.min_seconds:
            raise VideoError(
                f"{name}: too short ({n} frame{'' if n == 1 else 's'} sampled at {seq.fps:g} fps, "
                f"{seconds:.1f} s); need at least {self.min_seconds:.1f} s of video"
            )
        if n < MIN_POSES:
            raise VideoError(
                f"{name}: only {n} pose(s) sampled at {seq.fps:g} fps; need at least "
                f"{MIN_POSES} to see a movement (sample at a higher rate)"
            )
        min_frames = int(np.ceil(self.min_seconds * seq.fps))
        seq, torso_note = _torso_seen(seq, name)
        if seq.valid.sum() < min_frames:
            raise NoPersonError(
                f"{name}: no person detected"
                if not seq.valid.any()
                else f"{name}: a person was seen in only {int(seq.valid.sum())} of {n} sampled "
                f"frames (pose_coverage {seq.coverage:.0%}); too little to estimate muscles"
            )
        scores = self.model.score(seq)
        timeline = [
            self._window_entry(seq, s, p)
            for s, p, k in zip(scores.starts, scores.probs, scores.keep, strict=True)
            if k
        ]
        notes = [torso_note] if torso_note else []
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
        segments = self._segments(seq, scores)
        if segments:
            notes.append(segments_note(segments))
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
            looks_like=looks_like_entries(self.model.looks_like(scores.embedding)),
            segments=segments,
        )

    def _segments(self, seq: PoseSequence, scores: Scores) -> list[dict[str, Any]]:
        """The parts of a video that changes exercise (`find_segments` on the kept windows),
        each with its pooled scores and, when the model gives window embeddings, what it looks
        like; [] when nothing changes. Adjacent parts that look like the same exercise (the
        same top "looks like", up to the knowledge base's `canonical_exercise`: a camera that
        moves from the side to the front of a squat) are one part."""
        keep = np.flatnonzero(scores.keep)
        parts = find_segments(scores.probs[keep], scores.weights)
        if len(parts) < 2:  # the common case: nothing more to compute
            return []
        looks = [self._part_looks(scores, keep, part) for part in parts]
        i = 0
        while i + 1 < len(parts):
            if looks[i] and looks[i + 1] and _same_exercise(looks[i][0][0], looks[i + 1][0][0]):
                both = join(parts[i], parts[i + 1], scores.probs[keep], scores.weights)
                parts[i : i + 2] = [both]
                looks[i : i + 2] = [self._part_looks(scores, keep, parts[i])]
            else:
                i += 1
        if len(parts) < 2:
            return []
        starts = scores.starts[keep]
        # A part begins between the centres of the last window before it and its first one.
        begin = [float(seq.times[0])] + [
            float(seq.times[min((int(starts[p.first - 1]) + int(starts[p.first]) + self.window)
                                // 2, len(seq) - 1)])
            for p in parts[1:]
        ]  # fmt: skip
        end = begin[1:] + [float(seq.times[-1]) + 1.0 / seq.fps]
        out = []
        for part, like, t0, t1 in zip(parts, looks, begin, end, strict=True):
            muscles = dict(zip(GROUP_IDS, part.probs.tolist(), strict=True))
            out.append({
                "start_s": round(t0, 3),
                "end_s": round(t1, 3),
                "active": active_groups(muscles, self.threshold),
                "muscles": {g: round(p, 4) for g, p in muscles.items()},
                "looks_like": looks_like_entries(like),
            })  # fmt: skip
        return out

    def _part_looks(
        self, scores: Scores, keep: np.ndarray, part: Segment
    ) -> list[tuple[str, float]]:
        """What a part looks like: the library's closest exercises to the pooled embedding of its
        windows ([] when the model gives no window embeddings)."""
        if scores.windows is None:
            return []
        emb = scores.windows[keep[part.first : part.last + 1]]
        w = None if scores.weights is None else scores.weights[part.first : part.last + 1]
        return self.model.looks_like(pooled(emb, w))

    def _window_entry(self, seq: PoseSequence, start: int, probs: np.ndarray) -> dict[str, Any]:
        end = min(start + self.window, len(seq)) - 1
        return {
            "start_s": round(float(seq.times[start]), 3),
            "end_s": round(float(seq.times[end]) + 1.0 / seq.fps, 3),
            "muscles": {g: round(float(p), 4) for g, p in zip(GROUP_IDS, probs, strict=True)},
        }
