"""Pose stage: from a video to a `PoseSequence`, and features of poses.

- `estimator`: the `PoseEstimator` protocol and the estimators by name (`--pose-estimator`);
  `mediapipe_estimator` (the default, MediaPipe Pose) and `stills` (photos) implement it.
- `extract`: `extract_poses(video)`, the entry point: cache, then `sequential` (one process,
  one tracker) or `parallel` (an estimator by name over segments in worker processes).
- `cache`: where a video's poses are kept, keyed by the video's content hash.
- `quality`, `tracking`: input checks (turned frames, identity jumps).
- `features`, `keypose`: what the models read from a sequence.

The sequence type and the pose-file format are `musclemap.data.pose_sequence` (below this
layer, since the data layer reads pose files too).
"""
