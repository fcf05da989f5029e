"""Training data of the predict command's model: pose sequences of videos and key-position photos.

Two kinds of items feed task "pose_default":

- **clips** (`data.manifest`, e.g. the wild clips' pose manifest): a video's pose sequence, cut
  into windows (`data.window` frames, stride `pose_default.stride`);
- **key poses** (`pose_default.library_manifest`, e.g. the Free Exercise DB's photo pairs through
  `musclemap data poses`): two photos of an exercise's key positions, one window.

Both become the same key-pose features (`musclemap.pose.keypose.sequence_windows`). Training
also sees augmented copies of every item (`augment`): random occlusion of a limb (its landmarks
lose their visibility, as behind a loaded barbell, and with `pose_default.occlusion: missing`
their coordinates too) and a small camera pitch (a tilted camera tilts gravity). Rotation about
the vertical axis and mirroring need no copies: the features are invariant to both by
construction. Evaluation never uses the copies: it scores the original pose
sequence through `musclemap.pose.keypose_model.score_poses`, the path `predict` takes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.config import ExperimentConfig, resolve_path
from musclemap.data.pose_sequence import PoseSequence
from musclemap.data.skeleton_transforms import PAIR_VIDEO_JITTER_M
from musclemap.errors import ConfigError, DatasetError
from musclemap.pose import keypose
from musclemap.taxonomy import to_multi_hot

log = logging.getLogger(__name__)

SYNTHETIC_LABELS = {
    "squat": ("quadriceps", "gluteus", "hamstring", "lower_back"),
    "biceps_curl": ("biceps", "forearms"),
    "shoulder_press": ("shoulder", "triceps", "upper_back"),
}
# The seed stream of a key-pose pseudo-video's random numbers (apart from the augmented
# copies', so adding pseudo-videos leaves the copies as they were).
_KEYPOSE_VIDEO_STREAM = 7
_COPY_STREAM = 11  # an item's other pose estimates (`Item.copies`), apart from its own
# Limbs an occlusion copy may hide (MediaPipe joint names without the side prefix).
_LIMBS = (("shoulder", "elbow", "wrist", "pinky", "index", "thumb"),
          ("hip", "knee", "ankle", "heel", "foot_index"),
          ("knee", "ankle", "heel", "foot_index"),
          ("elbow", "wrist", "pinky", "index", "thumb"))


@dataclass
class Item:
    """One training or evaluation item: a clip's or a photo pair's poses and labels."""

    item_id: str
    activity: str  # the manifest's activity (slug)
    name: str  # a display name for "looks like"
    kind: str  # "clip" (video) or "keypose" (photos)
    source: str  # the clip's source (wild: `source_repo`; key poses: `source`)
    labels: np.ndarray  # (20,) float32
    seq: PoseSequence
    baseline: np.ndarray = field(default_factory=lambda: np.zeros(58, np.float32))
    exercise: str = ""  # canonical exercise (groups the same exercise across both kinds)
    # other estimates of the same poses, training only (a photo pair's mirrored photos)
    copies: list[PoseSequence] = field(default_factory=list)


def display_name(activity: str, name: str = "") -> str:
    return name.strip() or activity.replace("_", " ")


def exercise_key(item: Item) -> str:
    """The item's exercise, the same key for the same exercise in both datasets: the knowledge
    base's `canonical_exercise` (a key-pose exercise maps to the curated activity it is the
    same exercise as); names the knowledge base does not know are their own exercise."""
    from musclemap.activities import canonical_exercise
    from musclemap.errors import UnknownActivityError

    try:
        return canonical_exercise(
            item.activity, source="free-exercise-db" if item.source == "free-exercise-db" else None
        )
    except UnknownActivityError:
        return f"{item.kind}:{item.activity}"


def group_exercises(items: list[Item]) -> None:
    """Set `item.exercise` (leaving an exercise out leaves it out of both datasets)."""
    for it in items:
        it.exercise = exercise_key(it)


def _mirror_copies(row: Any, manifest: Path, kind: str) -> list[PoseSequence]:
    """A clip's or photo pair's mirrored poses (`skeleton_mirror`, relative to the manifest):
    a photo pair's when there is a person in both photos, a clip's when in any frame; none
    without the column or a file name."""
    from musclemap.data.pose_sequence import load_pose_file

    name = row.extra.get("skeleton_mirror", "").strip()
    if not name:
        return []
    path = Path(name) if Path(name).is_absolute() else manifest.parent / name
    if not path.is_file():
        raise DatasetError(f"{manifest}: skeleton_mirror of {row.clip_id} not found: {path}")
    seq = load_pose_file(path)
    usable = len(seq) == 2 and seq.valid.all() if kind == "keypose" else seq.valid.any()
    return [seq] if usable else []


def _read_items(manifest: Path, kind: str, *, mirror: bool = False) -> list[Item]:
    from musclemap.data.manifest import read_manifest, require_files
    from musclemap.data.pose_sequence import load_pose_file
    from musclemap.pose.features import baseline_clip_features

    rows = read_manifest(manifest)
    require_files(rows, "skeleton")  # every missing pose file at once, before any work
    items = []
    for r in rows:
        seq = load_pose_file(r.skeleton or "")
        if not seq.valid.any():
            log.warning("no person in %s; skipped", r.clip_id)
            continue
        copies = _mirror_copies(r, manifest, kind) if mirror else []
        items.append(
            Item(
                item_id=r.clip_id,
                activity=r.activity,
                name=display_name(r.activity, r.extra.get("name", "")),
                kind=kind,
                source=r.extra.get("source_repo") or r.extra.get("source", ""),
                labels=r.labels.astype(np.float32),
                seq=seq,
                baseline=baseline_clip_features(seq.world, seq.fps),
                copies=copies,
            )
        )
    return items


def synthetic_items(n: int) -> list[Item]:
    """Generated squats, curls and presses (smoke runs and tests; no files needed)."""
    from musclemap.pose.features import baseline_clip_features
    from musclemap.pose.synthetic import synthetic_landmarks

    names = list(SYNTHETIC_LABELS)
    items = []
    for i in range(n):
        ex = names[i % len(names)]
        world, image = synthetic_landmarks(
            ex, seconds=4.0 + i % 3, period_s=2.0 + 0.3 * (i % 4), seed=i
        )
        t = len(world)
        seq = PoseSequence(image=image, world=world, valid=np.ones(t, bool),
                           times=np.arange(t) / 10.0, fps=10.0, width=640, height=480)
        items.append(
            Item(f"synthetic_{i}_{ex}", ex, display_name(ex), "clip", f"synthetic_{i % 4}",
                 to_multi_hot(SYNTHETIC_LABELS[ex]), seq,
                 baseline=baseline_clip_features(world, 10.0))
        )
    return items


def load_items(cfg: ExperimentConfig) -> list[Item]:
    """Clips (`data.manifest` or generated) plus key poses (`pose_default.library_manifest`),
    with their exercise groups."""
    pd = cfg.pose_default
    if cfg.data.synthetic:
        items = synthetic_items(cfg.data.synthetic_clips)
    else:
        items = _read_items(resolve_path(cfg, cfg.data.manifest), "clip", mirror=pd.clip_mirror)
        _check_mirrored(items, pd.clip_mirror, "clip_mirror", cfg.data.manifest)
    library = pd.library_manifest
    if library:
        pairs = _read_items(resolve_path(cfg, library), "keypose", mirror=pd.keypose_mirror)
        _check_mirrored(pairs, pd.keypose_mirror, "keypose_mirror", library)
        items += pairs
    group_exercises(items)
    return items


def _check_mirrored(items: list[Item], asked: bool, option: str, manifest: str) -> None:
    """A mirror option on, but no mirrored poses in its manifest: said, not ignored."""
    if asked and not any(it.copies for it in items):
        raise ConfigError(
            f"pose_default.{option}: the manifest {manifest} has no skeleton_mirror pose files "
            "(make them with data poses --mirror)"
        )


def settings(cfg: ExperimentConfig) -> dict[str, Any]:
    """Window, stride and visibility threshold of the features, and how many pseudo-videos a
    photo pair is also scored as (stored in the weights' meta, read by `KeyPoseModel`)."""
    return {
        "window": int(cfg.data.window),
        "stride": cfg.pose_default.stride,
        "min_visibility": cfg.pose_default.min_visibility,
        "motion": cfg.pose_default.motion,
        "tempo": cfg.pose_default.tempo,
        "still_range": cfg.pose_default.still_range,
        "pool_motion": cfg.pose_default.pool_motion,
        "pair_videos": cfg.pose_default.score_keypose_videos,
    }


def augment(world: np.ndarray, rng: np.random.Generator, *, pitch_deg: float = 10.0,
            occlude: float = 0.5, drop_hidden: bool = False) -> np.ndarray:
    """A copy of world landmarks `(T, 33, 4)` seen by a slightly pitched camera and, with
    probability `occlude`, with one limb of one side hidden (visibility 0). With `drop_hidden`
    the hidden limb's coordinates are missing too (NaN), so its side's features come from the
    other side, as for a limb the pose estimator cannot see: at `min_visibility` 0 no feature
    reads a visibility, and a zero visibility alone changes nothing."""
    from musclemap.data.skeleton_transforms import hide_limb, random_pitch
    from musclemap.skeleton import MEDIAPIPE33

    out = random_pitch(world, rng, max_deg=pitch_deg)
    hidden = hide_limb(out, MEDIAPIPE33, rng, _LIMBS, ncoord=3, p=occlude)
    if drop_hidden:
        gone = (hidden[..., 3] == 0) & (out[..., 3] != 0)
        hidden[..., :3] = np.where(gone[..., None], np.nan, hidden[..., :3])
    return hidden


def keypose_video(
    seq: PoseSequence, rng: np.random.Generator, *, frames: int, fps: float,
    jitter_m: float = PAIR_VIDEO_JITTER_M,
) -> tuple[np.ndarray, np.ndarray]:
    """World `(frames, 33, 4)` and image `(frames, 33, 3)` landmarks of a pseudo-video of a
    key-position photo pair: the body moving back and forth between its two photos
    (`skeleton_transforms.movement_profile`, straight lines between the positions), world
    coordinates jittered by `jitter_m` metres (about MediaPipe's frame-to-frame noise). Its
    windows go through the video path of the features (key poses from the extremes of the
    movement, motion features, `still` 0), so the photo pair's labels are also learnt in the
    form a video of the exercise takes."""
    from musclemap.data.skeleton_transforms import movement_profile, pair_video

    u = movement_profile(rng, frames=frames, fps=fps)
    return pair_video(seq.world, seq.image, u, rng, jitter_m=jitter_m)


def item_windows(items: list[Item], cfg: ExperimentConfig, *, seed: int) -> list[np.ndarray]:
    """Training features of every item `[(M_i, F)]`: its original windows plus
    `pose_default.augment_copies` augmented copies and, for a key-position photo pair,
    `pose_default.keypose_videos` augmented pseudo-videos (`keypose_video`), each seeded per
    item, so any subset of items gets the same arrays."""
    s = settings(cfg)
    copies, videos = cfg.pose_default.augment_copies, cfg.pose_default.keypose_videos
    fps, drop = cfg.pose_default.fps, cfg.pose_default.occlusion == "missing"

    def windows(world: np.ndarray, valid: np.ndarray, image: np.ndarray, fps: float
                ) -> np.ndarray:
        _, x, cover = keypose.sequence_windows(
            world, valid, window=s["window"], stride=s["stride"],
            min_visibility=s["min_visibility"], motion=s["motion"], fps=fps, image=image,
            tempo=s["tempo"], still_range=s["still_range"],
        )
        return x[cover >= min(0.5, float(cover.max()))]

    def of(seq: PoseSequence, kind: str, k: int, stream: tuple[int, ...]) -> list[np.ndarray]:
        rng = np.random.default_rng([seed, k, *stream])
        worlds = [seq.world] + [augment(seq.world, rng, drop_hidden=drop) for _ in range(copies)]
        feats = [windows(w, seq.valid, seq.image, seq.fps) for w in worlds]
        if videos and kind == "keypose" and len(seq) == 2 and seq.valid.all():
            vrng = np.random.default_rng([seed, k, *stream, _KEYPOSE_VIDEO_STREAM])
            for _ in range(videos):
                world, image = keypose_video(seq, vrng, frames=s["window"], fps=fps)
                feats.append(windows(augment(world, vrng, drop_hidden=drop),
                                     np.ones(len(world), bool), image, fps))
        return feats

    out = []
    for k, it in enumerate(items):
        feats = of(it.seq, it.kind, k, ())  # the item's own windows, seeded as before copies
        for c, other in enumerate(it.copies):  # a stream of their own: the above unchanged
            feats += of(other, it.kind, k, (_COPY_STREAM, c))
        out.append(np.concatenate(feats).astype(np.float32))
    return out


def training_arrays(
    items: list[Item], windows: list[np.ndarray], cfg: ExperimentConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features `(M, F)`, labels `(M, 20)` and weights `(M,)` of the items' training windows
    (`item_windows`); every item weighs 1 in total (its windows share it), key-pose items
    `pose_default.keypose_weight`, their targets smoothed towards 0.5 by
    `pose_default.keypose_label_smoothing`."""
    kp_weight, smooth = cfg.pose_default.keypose_weight, cfg.pose_default.keypose_label_smoothing

    def target(it: Item) -> np.ndarray:
        return it.labels * (1.0 - smooth) + 0.5 * smooth if it.kind == "keypose" else it.labels

    ys = [np.repeat(target(it)[None], len(x), 0) for it, x in zip(items, windows, strict=True)]
    ws = [np.full(len(x), (kp_weight if it.kind == "keypose" else 1.0) / len(x))
          for it, x in zip(items, windows, strict=True)]
    w = np.concatenate(ws)
    return np.concatenate(windows), np.concatenate(ys).astype(np.float32), w / w.mean()


def exercise_ids(items: list[Item], windows: list[np.ndarray]) -> np.ndarray:
    """Each training window's exercise (`Item.exercise`) as an index into the items' sorted
    exercises `(M,)`, in `training_arrays` order: the target of the auxiliary exercise loss."""
    names = {name: i for i, name in enumerate(sorted({it.exercise for it in items}))}
    ids = [np.full(len(x), names[it.exercise], np.int64)
           for it, x in zip(items, windows, strict=True)]
    return np.concatenate(ids)


def item_domain(item: Item) -> int:
    """The label convention of an item (index into `models.pose.keypose_mlp.DOMAINS`): a clip's
    is the wild clips' (0), a key-position photo pair's (and its pseudo-videos') the library's
    (1)."""
    return 1 if item.kind == "keypose" else 0


def domain_ids(items: list[Item], windows: list[np.ndarray]) -> np.ndarray:
    """Each training window's label convention `(M,)` (`item_domain`), in `training_arrays`
    order."""
    return np.concatenate([np.full(len(x), item_domain(it), np.int64)
                           for it, x in zip(items, windows, strict=True)])
