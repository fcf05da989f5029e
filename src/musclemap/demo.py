"""The pose sequence `musclemap demo` shows: a generated figure doing squats, curls or presses.

The figure is `musclemap.pose.synthetic` (below the engine, which trains smoke runs on it); this
module is the demo's name for it.
"""

from musclemap.pose.synthetic import (
    EXERCISES,
    landmarks_from_phase,
    synthetic_landmarks,
    synthetic_pose_sequence,
)

__all__ = ["EXERCISES", "landmarks_from_phase", "synthetic_landmarks", "synthetic_pose_sequence"]
