"""The generated figure: shapes and ranges, rigid segments (forward kinematics, not noise), each
exercise moving the joints it should, feet on the floor in the image, phase per arm."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.demo import (
    EXERCISES,
    landmarks_from_phase,
    synthetic_landmarks,
    synthetic_pose_sequence,
)
from musclemap.pose.features import joint_angles
from musclemap.skeleton import MEDIAPIPE33

J = MEDIAPIPE33.index


def _length(world: np.ndarray, a: str, b: str) -> np.ndarray:
    return np.linalg.norm(world[:, J(a), :3] - world[:, J(b), :3], axis=-1)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_shapes_ranges_and_rigid_segments(exercise: str) -> None:
    world, image = synthetic_landmarks(exercise, seconds=4.0, fps=10.0, seed=1)
    assert world.shape == (40, 33, 4) and image.shape == (40, 33, 3)
    assert world.dtype == image.dtype == np.float32
    assert (world[..., 3] == np.float32(0.95)).all()
    assert ((image[..., :2] > 0) & (image[..., :2] < 1)).all()
    # Segment lengths of an adult (metres), the same in every frame up to the 4 mm jitter.
    for (a, b), length in {("left_hip", "left_knee"): 0.44, ("left_knee", "left_ankle"): 0.42,
                           ("right_shoulder", "right_elbow"): 0.30}.items():
        np.testing.assert_allclose(_length(world, a, b), length, atol=0.02)
    np.testing.assert_allclose(MEDIAPIPE33.midpoint(world[..., :3], "hip"), 0.0, atol=0.01)


def test_each_exercise_moves_its_joints() -> None:
    knee = {ex: np.ptp(joint_angles(synthetic_landmarks(ex)[0])["knee_left"]) for ex in EXERCISES}
    elbow = {ex: np.ptp(joint_angles(synthetic_landmarks(ex)[0])["elbow_left"])
             for ex in EXERCISES}
    assert knee["squat"] > 0.4 > 0.05 > max(knee["biceps_curl"], knee["shoulder_press"])
    assert elbow["biceps_curl"] > 0.5 and elbow["squat"] < 0.1
    press, _ = synthetic_landmarks("shoulder_press")
    top = press[np.argmax(-press[:, J("left_wrist"), 1])]  # y down: highest wrist
    assert top[J("left_wrist"), 1] < top[J("nose"), 1]  # the press ends overhead


def test_the_feet_stay_on_the_image_floor_while_the_body_drops() -> None:
    phase = np.array([0.0, 1.0])
    _, image = landmarks_from_phase("squat", phase, noise=0.0)
    heel = image[:, J("left_heel"), 1]
    assert heel[1] == pytest.approx(heel[0], abs=1e-6)
    assert image[1, J("nose"), 1] > image[0, J("nose"), 1] + 0.05  # lower in the squat


def test_right_arm_follows_its_own_phase() -> None:
    left_up = landmarks_from_phase("biceps_curl", np.array([1.0]),
                                   phase_right=np.array([0.0]), noise=0.0)[0]
    angles = joint_angles(left_up)
    assert angles["elbow_left"][0] < 0.5 < angles["elbow_right"][0]  # bent left, straight right


def test_seeded_jitter_and_unknown_exercise() -> None:
    a, b = synthetic_landmarks(seed=0)[0], synthetic_landmarks(seed=0)[0]
    np.testing.assert_array_equal(a, b)
    diff = np.abs(a - synthetic_landmarks(seed=1)[0])[..., :3]
    assert 0 < diff.mean() < 0.01
    with pytest.raises(ValueError, match="unknown demo exercise 'lunge'; choose from squat"):
        synthetic_landmarks("lunge")


def test_pose_sequence_says_it_is_generated() -> None:
    seq = synthetic_pose_sequence("biceps_curl", seconds=3.0, fps=5.0)
    assert len(seq.world) == 15 and seq.valid.all() and seq.fps == 5.0
    np.testing.assert_allclose(seq.times, np.arange(15) / 5.0)
    assert (seq.width, seq.height) == (1280, 720)
    assert seq.source == "generated pose sequence (biceps_curl)" and seq.extra["generated"]
