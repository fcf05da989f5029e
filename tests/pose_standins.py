"""Stand-in pose estimators (tests only, no MediaPipe).

`ScriptedEstimator` plays a generated squat back; `BrightnessEstimator` finds a "person" in
frames of odd brightness levels, so a generated video decides what it sees. `registered()` makes
the scripted one `--pose-estimator scripted` (the `musclemap.pose.estimator` registry)
for the duration of a test: the seam through which CLI, package and Predictor tests replace
MediaPipe, instead of patching the Predictor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.data.pose_sequence import PoseFrame
from musclemap.demo import synthetic_landmarks
from musclemap.pose import estimator as registry
from musclemap.skeleton import MEDIAPIPE33, SkeletonLayout

NAME = "scripted"


class ScriptedEstimator:
    """Plays a generated squat back, one pose per frame, and counts the calls."""

    name = NAME
    layout = MEDIAPIPE33

    def __init__(self, person: bool = True) -> None:
        self.world, self.image = synthetic_landmarks("squat", seconds=30.0)
        self.person, self.calls, self.closed = person, 0, False

    def settings(self) -> dict[str, Any]:
        return {"person": self.person}

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        i, self.calls = self.calls, self.calls + 1
        return PoseFrame(self.image[i], self.world[i]) if self.person else None

    def close(self) -> None:
        self.closed = True


class BrightnessEstimator:
    """A 'person' in frames whose mean brightness / 10 is odd, at x = level / 100 + offset;
    counts its calls, resets and whether it was closed. `layout` picks the joint count."""

    name = "brightness"

    def __init__(self, offset: float = 0.0, layout: SkeletonLayout = MEDIAPIPE33) -> None:
        self.offset, self.layout = offset, layout
        self.calls = self.resets = 0
        self.closed = False

    def settings(self) -> dict[str, Any]:
        return {"offset": self.offset}

    def reset(self) -> None:
        self.resets += 1

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        self.calls += 1
        level = int(round(frame_rgb.mean() / 10))
        if level % 2 == 0:
            return None
        v = self.layout.num_joints
        image = np.full((v, 3), 0.5, np.float32)
        image[:, 0] = level / 100 + self.offset
        image[:, 1] = np.linspace(0.2, 0.8, v)  # a person-sized box
        world = np.zeros((v, 4), np.float32)
        world[:, 3] = 1.0
        return PoseFrame(image=image, world=world)

    def close(self) -> None:
        self.closed = True


def level_video(path: Path, levels: list[int], fps: int = 10) -> Path:
    """A 48x32 video whose frames have brightness 10 * level (see `BrightnessEstimator`)."""
    from conftest import write_video

    frames = np.stack([np.full((32, 48, 3), 10 * lv, np.uint8) for lv in levels])
    return write_video(path, frames, fps=fps)


@contextlib.contextmanager
def registered() -> Iterator[list[ScriptedEstimator]]:
    """Register `scripted` (each build appends its instance to the yielded list); unregister
    afterwards."""
    made: list[ScriptedEstimator] = []

    def factory() -> ScriptedEstimator:
        made.append(ScriptedEstimator())
        return made[-1]

    registry.register_estimator(NAME, factory)
    try:
        yield made
    finally:
        del registry.ESTIMATORS[NAME]
