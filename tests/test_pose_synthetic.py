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
