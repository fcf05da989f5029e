"""MediaPipe Pose (BlazePose, 33 landmarks) behind the `PoseEstimator` protocol.

Pinned to mediapipe==0.10.21, whose wheel carries the model_complexity=1 ("full") pose
landmark model; complexity 0 ("lite") and 2 ("heavy") are downloaded on first use, which fails
offline, so only 1 is accepted. MediaPipe Pose tracks a single person: after a detection it
follows that person's region from frame to frame and only re-detects when tracking is lost.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from musclemap.pose.base import NUM_JOINTS, PoseFrame

# Quieten glog/TFLite start-up chatter before mediapipe is imported.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SUPPORTED_COMPLEXITY = (1,)
# Set in pose worker processes (`musclemap.pose.parallel`), where nothing else imports mediapipe.
LEAN_IMPORT = False
# A MediaPipe graph (and its threads) was started in this process: forking it is unsafe.
GRAPH_STARTED = False


class MediaPipePoseEstimator:
    """One tracked person per frame with MediaPipe Pose (`static_image_mode=False`).

    Args:
        model_complexity: Must be 1 (the only model inside the wheel).
        min_detection_confidence: Person-detector threshold.
        min_tracking_confidence: Below this the tracker re-detects on the next frame.
        smooth_landmarks: MediaPipe's temporal filter over landmarks.

    Raises:
        ValueError: `model_complexity` other than 1.
        ImportError: mediapipe is not installed (`pip install musclemap[pose]`).
    """

    name = "mediapipe_pose"

    def __init__(
        self,
        *,
        model_complexity: int = 1,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        smooth_landmarks: bool = True,
    ) -> None:
        if model_complexity not in SUPPORTED_COMPLEXITY:
            raise ValueError(
                f"model_complexity={model_complexity} is not supported: mediapipe 0.10.21 ships "
                "only the complexity-1 pose model and would download the others (fails offline)"
            )
        try:
            # The version, not the module: importing mediapipe takes seconds, and a cached
            # extraction only needs the settings.
            self._version = importlib.metadata.version("mediapipe")
        except importlib.metadata.PackageNotFoundError as err:
            raise ImportError(
                "MediaPipe is needed for pose estimation: pip install 'musclemap[pose]'"
            ) from err
        self._config = {
            "model_complexity": int(model_complexity),
            "min_detection_confidence": float(min_detection_confidence),
            "min_tracking_confidence": float(min_tracking_confidence),
            "smooth_landmarks": bool(smooth_landmarks),
        }
        self._pose: Any = None
        self._fresh = True  # the next process() starts the graph (and logs from C++)

    def settings(self) -> dict[str, Any]:
        return {**self._config, "mediapipe": self._version}

    def _graph(self) -> Any:
        global GRAPH_STARTED
        if self._pose is None:
            GRAPH_STARTED = True
            if LEAN_IMPORT:
                solution = import_pose_solution()
            else:
                import mediapipe

                solution = mediapipe.solutions.pose
            self._pose = solution.Pose(
                static_image_mode=False, enable_segmentation=False, **self._config
            )
        return self._pose

    def warm_up(self) -> None:
        """Import MediaPipe and start the graph now (pool workers do it while the caller works)."""
        self.estimate(np.zeros((64, 64, 3), np.uint8))
        self.reset()

    def reset(self) -> None:
        """Forget the tracked person and the landmark smoothing state (call between videos)."""
        if self._pose is not None:
            self._pose.reset()
            self._fresh = True

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        """Landmarks of the tracked person in an (H, W, 3) uint8 RGB frame, or None."""
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {frame_rgb.shape}")
        graph = self._graph()
        if self._fresh:
            # Starting the graph prints TFLite/absl notices straight to fd 2; nothing a user
            # can act on, so they are dropped (Python exceptions still propagate).
            with _quiet_native_stderr():
                result = graph.process(np.ascontiguousarray(frame_rgb))
            self._fresh = False
        else:
            result = graph.process(np.ascontiguousarray(frame_rgb))
        if result.pose_landmarks is None or result.pose_world_landmarks is None:
            return None
        image = np.array(
            [(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark], np.float32
        )  # (33, 3)
        world = np.array(
            [(p.x, p.y, p.z, p.visibility) for p in result.pose_world_landmarks.landmark],
            np.float32,
        )  # (33, 4)
        if image.shape[0] != NUM_JOINTS:
            raise RuntimeError(f"MediaPipe returned {image.shape[0]} landmarks, not {NUM_JOINTS}")
        return PoseFrame(image=image, world=world)

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None
            self._fresh = True

    def __enter__(self) -> MediaPipePoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def import_pose_solution() -> Any:
    """`mediapipe.python.solutions.pose`, without running `mediapipe/__init__.py`.

    The package's `__init__` imports every solution and task, matplotlib (drawing utilities) and
    sounddevice (audio tasks): ~0.7-1.4 s here, against ~0.3 s for the pose solution alone
    (`python -X importtime`). The three parent packages are registered as bare namespace
    modules for the import and removed afterwards. After this a plain `import mediapipe` fails
    in the same process (its `__init__` expects to bind the submodules itself), so only pose
    worker processes, which import nothing else of mediapipe, use it (`LEAN_IMPORT`).
    """
    name = "mediapipe.python.solutions.pose"
    if name in sys.modules:
        return sys.modules[name]
    parents = ("mediapipe", "mediapipe.python", "mediapipe.python.solutions")
    stubs: dict[str, types.ModuleType] = {}
    try:
        for parent in parents:
            if parent in sys.modules:
                continue
            spec = importlib.util.find_spec(parent)
            if spec is None or spec.submodule_search_locations is None:
                raise ImportError(parent)
            stub = types.ModuleType(parent)
            stub.__path__ = list(spec.submodule_search_locations)
            stub.__spec__ = spec
            sys.modules[parent] = stubs[parent] = stub
        return importlib.import_module(name)
    finally:
        for parent, stub in stubs.items():
            if sys.modules.get(parent) is stub:
                del sys.modules[parent]


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (C++ logging bypasses Python)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced, e.g. captured in tests
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
