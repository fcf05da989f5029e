"""Pose stage: estimator protocol, MediaPipe estimator, pose files, cache, normalisation."""

from musclemap.pose.base import (
    PoseEstimator,
    PoseFrame,
    PoseSequence,
    extract_poses,
    load_pose_file,
    save_pose_file,
)

__all__ = [
    "PoseEstimator",
    "PoseFrame",
    "PoseSequence",
    "extract_poses",
    "load_pose_file",
    "save_pose_file",
]
