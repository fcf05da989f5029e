"""A generated figure doing squats, curls or presses: pose sequences without video or estimator.

Used by `musclemap demo` (through `musclemap.demo`), by the smoke runs of task pose_default
(`engine/pose_windows.synthetic_items`) and by tests; it sits in `pose/` so that the engine can
use it without importing the demo (a layer above).

No video and no pose estimator are involved: a small forward-kinematics figure (segment lengths of
an adult, metres, MediaPipe axes: x to the image right, y down, z towards the camera negative)
moves through the exercise, and its 33 MediaPipe landmarks are written as world and image
landmarks exactly as the pose stage would produce them. `musclemap demo` says so plainly.
"""

from __future__ import annotations

import numpy as np

from musclemap.data.pose_sequence import PoseSequence
from musclemap.skeleton import MEDIAPIPE33

EXERCISES = ("squat", "biceps_curl", "shoulder_press")

_J = {name: i for i, name in enumerate(MEDIAPIPE33.joints)}
# Segment lengths in metres.
_TORSO, _UPPER_ARM, _FOREARM, _HAND = 0.50, 0.30, 0.26, 0.08
_THIGH, _SHANK, _FOOT = 0.44, 0.42, 0.18
_HIP_HALF, _SHOULDER_HALF = 0.10, 0.18


def _sagittal(angle: np.ndarray) -> np.ndarray:
    """Unit vectors (T, 3) pointing down, rotated forward (towards the camera, -z) by `angle`."""
    return np.stack([np.zeros_like(angle), np.cos(angle), -np.sin(angle)], axis=-1)


def _motion(exercise: str, phase: np.ndarray) -> dict[str, np.ndarray]:
    """Joint-angle trajectories (radians) for one exercise; `phase` in [0, 1] per frame."""
    zero = np.zeros_like(phase)
    a = {
        "lean": zero,
        "hip": zero,
        "knee": zero,
        "shoulder": zero,
        "elbow": zero,
        "abduct": zero + 0.15,
    }
    if exercise == "squat":
        a.update(lean=0.6 * phase, hip=1.5 * phase, knee=2.0 * phase, shoulder=1.4 * phase)
    elif exercise == "biceps_curl":
        a.update(elbow=2.3 * phase, shoulder=0.1 * phase)
    elif exercise == "shoulder_press":
        # Upper arm from sideways-horizontal (elbows at shoulder height) to overhead.
        a.update(abduct=np.pi / 2 + 1.2 * phase, elbow=1.6 * (1 - phase))
    else:
        raise ValueError(f"unknown demo exercise {exercise!r}; choose from {', '.join(EXERCISES)}")
    return a


def _arm(shoulder: np.ndarray, side: float, a: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Elbow, wrist and hand points for one arm (side +1 = the person's left, image right)."""
    ab = a["abduct"]
    # The upper arm swings sideways by `abduct` and forwards by `shoulder`.
    upper = np.stack(
        [
            side * np.sin(ab),
            np.cos(ab) * np.cos(a["shoulder"]),
            -np.cos(ab) * np.sin(a["shoulder"]),
        ],
        axis=-1,
    )
    upper /= np.linalg.norm(upper, axis=-1, keepdims=True)
    elbow = shoulder + _UPPER_ARM * upper
    # Elbow flexion rotates the forearm from the upper-arm direction towards "up/forward".
    bend = np.stack([np.zeros_like(ab), -np.ones_like(ab), -0.3 * np.ones_like(ab)], axis=-1)
    bend -= np.sum(bend * upper, axis=-1, keepdims=True) * upper
    bend /= np.maximum(np.linalg.norm(bend, axis=-1, keepdims=True), 1e-6)
    e = a["elbow"][:, None]
    fore = np.cos(e) * upper + np.sin(e) * bend
    wrist = elbow + _FOREARM * fore
    hand = wrist + _HAND * fore
    return {"elbow": elbow, "wrist": wrist, "hand": hand}


def synthetic_landmarks(
    exercise: str = "squat",
    *,
    seconds: float = 8.0,
    fps: float = 10.0,
    period_s: float = 2.5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """World `(T, 33, 4)` and image `(T, 33, 3)` landmarks of a figure doing `exercise`.

    Args:
        exercise: one of `EXERCISES`.
        seconds: duration; fps: samples per second.
        period_s: seconds per repetition.
        seed: seed of the small landmark jitter (real estimators are never still).

    Returns:
        (world, image) float32, visibility 0.95 everywhere.
    """
    t = np.arange(int(round(seconds * fps))) / fps
    phase = 0.5 - 0.5 * np.cos(2 * np.pi * t / period_s)  # 0 -> 1 -> 0 per repetition
    return landmarks_from_phase(exercise, phase, seed=seed)


def landmarks_from_phase(
    exercise: str,
    phase: np.ndarray,
    *,
    phase_right: np.ndarray | None = None,
    noise: float = 0.004,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks of a figure following `phase` (T,) in [0, 1]: 0 = start position (standing,
    arms down/straight), 1 = the far end of the exercise (squat bottom, curl top). The right arm
    follows `phase_right` when given (alternating curls). `noise`: landmark jitter in metres.
    Returns (world, image) as `synthetic_landmarks`."""
    a = _motion(exercise, phase)
    a_right = a if phase_right is None else _motion(exercise, phase_right)
    n = len(phase)
    pts = np.zeros((n, MEDIAPIPE33.num_joints, 3))
    hip_mid = np.zeros((n, 3))
    torso_dir = -_sagittal(a["lean"])  # upwards, leaning forward
    shoulder_mid = hip_mid + _TORSO * torso_dir
    for side, s in ((1.0, "left"), (-1.0, "right")):
        hip = hip_mid + [side * _HIP_HALF, 0, 0]
        shoulder = shoulder_mid + [side * _SHOULDER_HALF, 0, 0]
        knee = hip + _THIGH * _sagittal(a["hip"])
        ankle = knee + _SHANK * _sagittal(a["hip"] - a["knee"])
        arm = _arm(shoulder, side, a if side > 0 else a_right)
        pts[:, _J[f"{s}_hip"]], pts[:, _J[f"{s}_shoulder"]] = hip, shoulder
        pts[:, _J[f"{s}_knee"]], pts[:, _J[f"{s}_ankle"]] = knee, ankle
        pts[:, _J[f"{s}_heel"]] = ankle + [0, 0.05, 0.05]
        pts[:, _J[f"{s}_foot_index"]] = ankle + [0, 0.07, -_FOOT]
        pts[:, _J[f"{s}_elbow"]], pts[:, _J[f"{s}_wrist"]] = arm["elbow"], arm["wrist"]
        for finger, dx in (("pinky", 0.03), ("index", 0.0), ("thumb", -0.03)):
            pts[:, _J[f"{s}_{finger}"]] = arm["hand"] + [side * dx, 0, 0]
    head = shoulder_mid + 0.22 * torso_dir
    face = {
        "nose": (0, 0, -0.10),
        "left_eye_inner": (0.015, -0.03, -0.09),
        "left_eye": (0.03, -0.03, -0.085),
        "left_eye_outer": (0.045, -0.03, -0.08),
        "left_ear": (0.075, -0.01, 0.0),
        "mouth_left": (0.025, 0.04, -0.085),
    }
    for name, off in face.items():
        pts[:, _J[name]] = head + off
        pts[:, _J[name.replace("left", "right")]] = head + (-off[0], off[1], off[2])
    pts += np.random.default_rng(seed).normal(0, noise, pts.shape)
    world = np.concatenate([pts, np.full((*pts.shape[:2], 1), 0.95)], axis=-1)
    # Image: feet stay on the floor, so the whole body drops when the legs bend.
    drop = pts[:, [_J["left_heel"], _J["right_heel"]], 1].mean(1) - pts[0, _J["left_heel"], 1]
    image = np.empty((n, MEDIAPIPE33.num_joints, 3))
    image[..., 0] = 0.5 + 0.3 * pts[..., 0]
    image[..., 1] = 0.45 + 0.3 * (pts[..., 1] - drop[:, None])
    image[..., 2] = 0.95
    return world.astype(np.float32), image.astype(np.float32)


def synthetic_pose_sequence(
    exercise: str = "squat", *, seconds: float = 8.0, fps: float = 10.0, seed: int = 0
) -> PoseSequence:
    """A `PoseSequence` of a generated figure doing `exercise` (what the pose stage would give
    for a 1280x720 video of it); `source` says it is generated."""
    world, image = synthetic_landmarks(exercise, seconds=seconds, fps=fps, seed=seed)
    t = len(world)
    return PoseSequence(
        image=image,
        world=world,
        valid=np.ones(t, bool),
        times=np.arange(t) / fps,
        fps=fps,
        width=1280,
        height=720,
        source=f"generated pose sequence ({exercise})",
        extra={"generated": True},
    )
