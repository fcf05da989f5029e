"""Pose sequences and the pose-file format: what pose estimation writes and every consumer reads.

This sits in `data/`, below `pose/`, because the data layer reads pose files too (the skeleton
dataset of the GCN models) and `pose/` imports `data/` (video decoding, the content hash): a
format in `pose/` would make `data` and `pose` import each other. Producing poses (estimators,
extraction, the cache) is `musclemap.pose`; this module is only the type and the file.

A pose file is a compressed `.npz` holding, for V = the layout's joint count (33 for MediaPipe),

- `image` float32 (T, V, 3): x, y normalised to [0, 1] by display width/height, visibility;
- `world` float32 (T, V, 4): world landmarks x, y, z in metres (MediaPipe: origin between the
  hips, y pointing down) plus visibility; NaN where an estimator has no 3D output;
- `valid` bool (T,), `times` float64 (T,) seconds of each sampled frame;
- `meta`: a JSON string with format_version, fps, width, height, layout (a `skeleton.LAYOUTS`
  name), num_people, source and `extra`.

Rows without a person are NaN in `image` and `world` and False in `valid`. Files written before
the layout was recorded (no `layout` key) are MediaPipe-33 and load as such.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.errors import DatasetError
from musclemap.skeleton import (
    LAYOUTS,
    MEDIAPIPE33,
    SkeletonLayout,
    as_layout,
    convert_keypoints,
)

# Bump only when the arrays or meta change incompatibly: it is part of the pose-cache key.
FORMAT_VERSION = 1
# Every pose file written before `layout` was recorded came from MediaPipe Pose.
LEGACY_LAYOUT = MEDIAPIPE33


@dataclass
class PoseFrame:
    """One person's landmarks in one frame (V joints of the estimator's layout).

    Attributes:
        image: float32 (V, 3) x, y in [0, 1] of the display size, visibility.
        world: float32 (V, 4) x, y, z in metres, visibility (NaN when not estimated).
    """

    image: np.ndarray
    world: np.ndarray


@dataclass
class PoseSequence:
    """Per-frame landmarks of one video sampled at `fps` (see the module docstring for shapes).

    `layout` is the skeleton the joints follow (a `SkeletonLayout`, or its name, converted on
    construction); the arrays must have its joint count.
    """

    image: np.ndarray  # (T, V, 3)
    world: np.ndarray  # (T, V, 4)
    valid: np.ndarray  # (T,) bool
    times: np.ndarray  # (T,) float64 seconds
    fps: float
    width: int
    height: int
    layout: SkeletonLayout = MEDIAPIPE33
    num_people: int = 1
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.layout = as_layout(self.layout)  # a name ("mediapipe33") is accepted too
        t, v = len(self.valid), self.layout.num_joints
        shapes = {
            "image": (self.image.shape, (t, v, 3)),
            "world": (self.world.shape, (t, v, 4)),
            "times": (self.times.shape, (t,)),
        }
        for name, (got, want) in shapes.items():
            if tuple(got) != want:
                raise ValueError(
                    f"PoseSequence.{name} has shape {tuple(got)}, expected {want} "
                    f"({self.layout.name})"
                )

    def __len__(self) -> int:
        return len(self.valid)

    @property
    def num_joints(self) -> int:
        return self.layout.num_joints

    @property
    def coverage(self) -> float:
        """Fraction of sampled frames with a detected person (0 for an empty sequence)."""
        return float(self.valid.mean()) if len(self.valid) else 0.0

    @property
    def duration_s(self) -> float:
        return float(self.times[-1] - self.times[0]) if len(self.times) else 0.0

    def meta(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "fps": float(self.fps),
            "width": int(self.width),
            "height": int(self.height),
            "layout": self.layout.name,
            "num_people": int(self.num_people),
            "source": self.source,
            "extra": self.extra,
        }

    def to_layout(self, layout: SkeletonLayout | str) -> PoseSequence:
        """The same sequence in another layout, joints matched by name (`convert_keypoints`):
        joints this one lacks are NaN with visibility 0; `valid` and the meta are kept."""
        dst = as_layout(layout)
        if dst == self.layout:
            return self
        return PoseSequence(
            image=convert_keypoints(self.image, self.layout, dst),
            world=convert_keypoints(self.world, self.layout, dst),
            valid=self.valid.copy(),
            times=self.times.copy(),
            fps=self.fps,
            width=self.width,
            height=self.height,
            layout=dst,
            num_people=self.num_people,
            source=self.source,
            extra=dict(self.extra),
        )

    @classmethod
    def empty(
        cls,
        *,
        fps: float,
        width: int,
        height: int,
        source: str = "",
        layout: SkeletonLayout | str = MEDIAPIPE33,
    ) -> PoseSequence:
        return cls.from_frames(
            [], [], fps=fps, width=width, height=height, source=source, layout=layout
        )

    @classmethod
    def from_frames(
        cls,
        frames: list[PoseFrame | None],
        times: list[float],
        *,
        fps: float,
        width: int,
        height: int,
        source: str = "",
        num_people: int | None = None,
        extra: dict[str, Any] | None = None,
        layout: SkeletonLayout | str = MEDIAPIPE33,
    ) -> PoseSequence:
        """Stack per-frame results; None frames become NaN rows with `valid` False."""
        layout = as_layout(layout)
        t, v = len(frames), layout.num_joints
        image = np.full((t, v, 3), np.nan, np.float32)
        world = np.full((t, v, 4), np.nan, np.float32)
        valid = np.zeros(t, bool)
        for i, frame in enumerate(frames):
            if frame is not None:
                image[i], world[i], valid[i] = frame.image, frame.world, True
        return cls(
            image=image,
            world=world,
            valid=valid,
            times=np.asarray(times, np.float64).reshape(t),
            fps=float(fps),
            width=int(width),
            height=int(height),
            layout=layout,
            num_people=int(valid.any()) if num_people is None else num_people,
            source=source,
            extra=dict(extra or {}),
        )


def save_pose_file(seq: PoseSequence, path: str | os.PathLike[str]) -> Path:
    """Write a pose file atomically (a partial file never has the final name).

    Raises:
        MusclemapError: The file cannot be written (a full disk: one line naming it).
    """
    from musclemap.outputs import atomic_path

    path = Path(path)
    # Compressed in memory first: on a full disk numpy's zip writer failed inside its own
    # close and printed an "Exception ignored ... Traceback" besides the OSError.
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        image=seq.image.astype(np.float32),
        world=seq.world.astype(np.float32),
        valid=seq.valid.astype(bool),
        times=seq.times.astype(np.float64),
        meta=np.asarray(json.dumps(seq.meta())),
    )
    # A temporary file renamed over `path` when whole; removed on Ctrl-C or a full disk.
    with atomic_path(path, "pose file") as tmp:
        tmp.write_bytes(buffer.getbuffer())
    return path


def load_pose_file(path: str | os.PathLike[str]) -> PoseSequence:
    """Read a pose file written by `save_pose_file` (or before the layout was recorded).

    Raises:
        DatasetError: The file is missing, not a valid pose file or names an unknown layout
            (the message names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: pose file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in ("image", "world", "valid", "times", "meta")}
        meta = json.loads(str(arrays["meta"]))
        layout = _layout_of(meta)
        seq = PoseSequence(
            image=arrays["image"].astype(np.float32),
            world=arrays["world"].astype(np.float32),
            valid=arrays["valid"].astype(bool),
            times=arrays["times"].astype(np.float64),
            fps=float(meta["fps"]),
            width=int(meta["width"]),
            height=int(meta["height"]),
            layout=layout,
            num_people=int(meta.get("num_people", 1)),
            source=str(meta.get("source", "")),
            extra=dict(meta.get("extra", {})),
        )
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DatasetError(f"{path}: not a valid pose file ({reason})") from None
    damage = _non_finite(seq)
    if damage:
        raise DatasetError(f"{path}: not a valid pose file ({damage})")
    return seq


def _non_finite(seq: PoseSequence) -> str:
    """What in a loaded pose file cannot be a measurement ("" if nothing): inf anywhere in the
    landmarks, a frame "with a person" whose image landmarks are all NaN, non-finite times or
    rate. Such a file was scored with NumPy warnings into NaN features and an evaluation table
    that looked fine (exit 0). NaN stays allowed for some joints of a frame (a joint another
    layout lacks: `convert_keypoints`) and in world landmarks ("no 3D output")."""
    problems = []
    xy = seq.image[seq.valid][..., :2]
    empty = np.isnan(xy).any(axis=-1).all(axis=-1)
    if empty.any():
        problems.append(
            f"no finite image landmark in {int(empty.sum())} of {int(seq.valid.sum())} frames "
            "with a person"
        )
    if np.isinf(seq.image).any():
        problems.append("inf in the image landmarks")
    if np.isinf(seq.world).any():
        problems.append("inf in the world landmarks")
    if not (np.isfinite(seq.times).all() and math.isfinite(seq.fps) and seq.fps > 0):
        problems.append("non-finite times or frame rate")
    return "; ".join(problems)


def _layout_of(meta: dict[str, Any]) -> SkeletonLayout:
    name = meta.get("layout", LEGACY_LAYOUT.name)  # absent: written before layouts were recorded
    if name not in LAYOUTS:
        raise ValueError(f"unknown skeleton layout {name!r}; known: {', '.join(LAYOUTS)}")
    return LAYOUTS[name]
