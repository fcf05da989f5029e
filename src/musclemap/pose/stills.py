"""Poses of still photos: MediaPipe Pose in still-image mode, a set of photos -> a PoseSequence.

Key-position photos (e.g. the start and turning point of an exercise, `../shared/data/keyposes`)
are not a video: every photo is an independent detection (`static_image_mode=True`, no tracking
and no landmark smoothing between photos). The result is an ordinary `PoseSequence` with one
frame per photo, so it can be saved as a pose file and read by every pose consumer; its `fps`
is nominal (1 photo per "second") and `extra["stills"]` lists the photo names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.data.pose_sequence import PoseFrame, PoseSequence
from musclemap.errors import DatasetError
from musclemap.pose.estimator import MirroredEstimator
from musclemap.skeleton import MEDIAPIPE33

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
STILLS_FPS = 1.0  # nominal: stills have no time axis


class StillImagePoseEstimator:
    """MediaPipe Pose on independent photos (`static_image_mode=True`, model complexity 1).

    Complexity 1 is the only model inside the mediapipe 0.10.21 wheel (0 and 2 would be
    downloaded); see `musclemap.pose.mediapipe_estimator`.
    """

    name = "mediapipe_pose_still"
    layout = MEDIAPIPE33

    def __init__(self, *, min_detection_confidence: float = 0.5) -> None:
        from musclemap.pose.mediapipe_estimator import mediapipe_version

        self._version = mediapipe_version()
        self._config = {
            "model_complexity": 1,
            "min_detection_confidence": float(min_detection_confidence),
            "static_image_mode": True,
        }
        self._pose: Any = None

    def settings(self) -> dict[str, Any]:
        return {**self._config, "mediapipe": self._version}

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        """Landmarks of the most prominent person in an (H, W, 3) uint8 RGB photo, or None."""
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {frame_rgb.shape}")
        if self._pose is None:
            os.environ.setdefault("GLOG_minloglevel", "2")
            from musclemap.pose.mediapipe_estimator import import_pose_solution

            self._pose = import_pose_solution().Pose(
                static_image_mode=True,
                model_complexity=1,
                enable_segmentation=False,
                min_detection_confidence=self._config["min_detection_confidence"],
            )
        from musclemap.pose.mediapipe_estimator import frame_from_result

        return frame_from_result(self._pose.process(np.ascontiguousarray(frame_rgb)))

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None


def image_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The photos of a folder in natural order (`0.jpg`, `1.jpg`, ..., `10.jpg`).

    Raises:
        DatasetError: The folder is missing or holds no photo.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: image folder not found")
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    if not files:
        raise DatasetError(f"{folder}: no photos ({', '.join(IMAGE_SUFFIXES)})")
    return sorted(files, key=lambda p: (len(p.stem), p.stem) if p.stem.isdigit() else (99, p.stem))


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array, upright by its EXIF orientation.

    Raises:
        DatasetError: Missing or unreadable image (message names the file).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    except (OSError, UnidentifiedImageError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DatasetError(f"{path}: not a readable image ({reason})") from None


def extract_still_poses(
    photos: str | os.PathLike[str] | list[Path],
    *,
    estimator: Any = None,
    mirror: bool = False,
) -> PoseSequence:
    """One pose per photo: a folder of photos (natural order) or a list of photo paths.

    Args:
        photos: A folder (every photo in it) or explicit photo paths.
        estimator: A `PoseEstimator` for stills; default a `StillImagePoseEstimator` made (and
            closed) here.
        mirror: Estimate on the horizontally mirrored photos and map the poses back
            (`estimator.MirroredEstimator`): MediaPipe is not mirror-equivariant (a key-pose
            photo's and its mirror's poses are a median 7 cm apart per landmark), so this is a
            second estimate of the same positions (training copies, `keypose_mirror`).

    Returns:
        A `PoseSequence` with one frame per photo (`valid` False where nobody was found),
        `fps` = `STILLS_FPS`, width/height of the first photo and `extra["stills"]` = names.

    Raises:
        DatasetError: Missing folder, no photos, or an unreadable photo.
    """
    paths = image_files(photos) if not isinstance(photos, list) else [Path(p) for p in photos]
    if not paths:
        raise DatasetError("no photos given")
    own = estimator is None
    est = StillImagePoseEstimator() if estimator is None else estimator
    try:
        images = [read_image(p) for p in paths]
        estimate = MirroredEstimator(est).estimate if mirror else est.estimate
        frames = [estimate(img) for img in images]
    finally:
        if own:
            est.close()
    height, width = images[0].shape[:2]
    source = str(photos) if not isinstance(photos, list) else str(paths[0].parent)
    return PoseSequence.from_frames(
        frames,
        [i / STILLS_FPS for i in range(len(frames))],
        fps=STILLS_FPS,
        width=width,
        height=height,
        source=source,
        layout=est.layout,
        extra={
            "estimator": est.name,
            "settings": est.settings(),
            "stills": [p.name for p in paths],
            "track_jumps_s": [],
            **({"mirrored": True} if mirror else {}),
        },
    )
