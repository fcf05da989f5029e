"""pose/synthetic.py: the generated figure (demo, smoke runs, tests) moves like the exercise."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap import demo
from musclemap.pose import synthetic
from musclemap.skeleton import MEDIAPIPE33

J = {n: i for i, n in enumerate(MEDIAPIPE33.joints)}


def _angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    u, v = a - b, c - b
    cos = (u * v).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_segments_keep_their_length_and_visibility() -> None:
    world, image = synthetic.synthetic_landmarks("squat", seconds=5.0, seed=1)
    assert world.shape == (50, 33, 4) and image.shape == (50, 33, 3)
    assert world.dtype == np.float32 and (world[..., 3] == np.float32(0.95)).all()
    thigh = np.linalg.norm(world[:, J["left_knee"], :3] - world[:, J["left_hip"], :3], axis=-1)
    assert thigh == pytest.approx(0.44, abs=0.02)  # rigid within the 4 mm jitter


def test_each_exercise_bends_its_own_joint() -> None:
    phase = np.array([0.0, 1.0])
    squat, _ = synthetic.landmarks_from_phase("squat", phase, noise=0.0)
    knee = _angle(*(squat[:, J[f"left_{j}"], :3] for j in ("hip", "knee", "ankle")))
    assert knee[0] == pytest.approx(180.0, abs=1) and knee[1] == pytest.approx(180 - 114.6, abs=1)
    curl, _ = synthetic.landmarks_from_phase("biceps_curl", phase, noise=0.0)
    elbow = _angle(*(curl[:, J[f"right_{j}"], :3] for j in ("shoulder", "elbow", "wrist")))
    assert elbow[0] == pytest.approx(180.0, abs=1) and elbow[1] < 60
    assert (curl[1, J["left_knee"]] == curl[0, J["left_knee"]]).all()  # the legs stay still
    with pytest.raises(ValueError, match="unknown demo exercise 'plank'"):
        synthetic.landmarks_from_phase("plank", phase)


def test_the_sequence_and_the_demo_s_names() -> None:
    seq = synthetic.synthetic_pose_sequence("shoulder_press", seconds=2.0, fps=5.0)
    assert len(seq) == 10 and seq.fps == 5.0 and seq.valid.all()
    assert seq.times.tolist() == pytest.approx([i / 5 for i in range(10)])
    assert seq.extra == {"generated": True} and "shoulder_press" in seq.source
    assert demo.synthetic_pose_sequence is synthetic.synthetic_pose_sequence
    assert demo.EXERCISES == ("squat", "biceps_curl", "shoulder_press")


@pytest.mark.parametrize("exercise", synthetic.EXERCISES)
def test_every_exercise_is_hip_centred_rigid_and_in_the_frame(exercise: str) -> None:
    world, image = synthetic.synthetic_landmarks(exercise, seconds=4.0, seed=1)
    assert ((image[..., :2] > 0) & (image[..., :2] < 1)).all()
    np.testing.assert_allclose(MEDIAPIPE33.midpoint(world[..., :3], "hip"), 0.0, atol=0.01)
    for (a, b), length in {("left_knee", "left_ankle"): 0.42,
                           ("right_shoulder", "right_elbow"): 0.30}.items():
        seg = np.linalg.norm(world[:, J[a], :3] - world[:, J[b], :3], axis=-1)
        np.testing.assert_allclose(seg, length, atol=0.02)


def test_the_press_ends_overhead_and_the_squat_drops_the_body_not_the_feet() -> None:
    press, _ = synthetic.landmarks_from_phase("shoulder_press", np.array([1.0]), noise=0.0)
    assert press[0, J["left_wrist"], 1] < press[0, J["nose"], 1]  # y down: above the head
    _, image = synthetic.landmarks_from_phase("squat", np.array([0.0, 1.0]), noise=0.0)
    assert image[1, J["left_heel"], 1] == pytest.approx(image[0, J["left_heel"], 1], abs=1e-6)
    assert image[1, J["nose"], 1] > image[0, J["nose"], 1] + 0.05  # lower in the squat


def test_right_arm_follows_its_own_phase_and_jitter_is_seeded() -> None:
    world, _ = synthetic.landmarks_from_phase(
        "biceps_curl", np.array([1.0]), phase_right=np.array([0.0]), noise=0.0
    )
    left = _angle(*(world[:, J[f"left_{j}"], :3] for j in ("shoulder", "elbow", "wrist")))
    right = _angle(*(world[:, J[f"right_{j}"], :3] for j in ("shoulder", "elbow", "wrist")))
    assert left[0] < 60 and right[0] == pytest.approx(180.0, abs=1)
    a = synthetic.synthetic_landmarks(seed=0)[0]
    np.testing.assert_array_equal(a, synthetic.synthetic_landmarks(seed=0)[0])
    assert 0 < np.abs(a - synthetic.synthetic_landmarks(seed=1)[0])[..., :3].mean() < 0.01
