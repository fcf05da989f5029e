"""Fixed tracking segments: where MediaPipe's tracker starts afresh in a video.

The pose of a video is defined as tracking in fixed segments: its sampled frames are cut into
near-equal contiguous segments of about `SEGMENT_S` seconds (`plan_segments`, a function of the
expected frame count and the rate only) and the tracker is reset at each segment start, in every
mode: one process (`sequential.estimate_video`), one video over several workers (each worker
takes a contiguous block of whole segments, `split_blocks`, and `merge_blocks` joins them), a
batch (a whole video per worker) and the web app. The landmarks are therefore the same bit for
bit whatever the number of workers or cores.

Why: MediaPipe's tracker never forgets where it started (each frame's region comes from the
last frame's landmarks, and the landmark smoothing filters carry state), so a tracker started
mid-video does not rejoin the one running since frame 0; when the split depended on the worker
count, the same clip scored differently with 1, 2 or 8 cores, and in batch and single mode.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from musclemap.data.pose_sequence import PoseSequence

# Seconds of video per tracking segment (about): 40 sampled frames at 10 fps; an 8 s clip is
# 2 segments, a 60 s one 15. Recorded in the pose settings (`sequential.pose_settings`), so a
# change of it (or pose files of the continuous tracker before it) is not read from the cache.
SEGMENT_S = 4.0


def expected_frames(duration_s: float, fps: float) -> int:
    """Sampled frames a video of `duration_s` gives at `fps` (from the probe: known before the
    video is decoded, the same in every mode)."""
    return max(int(math.floor(duration_s * fps + 1e-6)), 1)


def plan_segments(num_frames: int, fps: float, segment_s: float = SEGMENT_S) -> list[int]:
    """Start indices of the tracking segments of `num_frames` sampled frames at `fps`:
    ceil(num_frames / L) near-equal contiguous segments (lengths differ by at most one frame),
    L = round(segment_s * fps) frames. Independent of the number of workers by design."""
    length = max(round(segment_s * fps), 1)
    count = max(math.ceil(num_frames / length), 1)
    return [i * num_frames // count for i in range(count)]


def split_blocks(starts: Sequence[int], workers: int) -> list[list[int]]:
    """The segment starts in at most `workers` contiguous blocks of whole segments, near-equal
    (their sizes differ by at most one segment)."""
    count = len(starts)
    blocks = max(1, min(workers, count))
    return [list(starts[j * count // blocks : (j + 1) * count // blocks]) for j in range(blocks)]


@dataclass
class Merged:
    """A video's blocks joined into one sequence of rows (see `merge_blocks`)."""

    times: np.ndarray  # (T,)
    image: np.ndarray  # (T, 33, 3)
    world: np.ndarray  # (T, 33, 4)
    valid: np.ndarray  # (T,)
    segments: list[int]  # the tracking segments' start indices
    # The pixel checks of the kept frames, in frame order: features, hits, checked.
    checks: dict[str, Any] | None = None


def merge_blocks(parts: Sequence[PoseSequence], segments: Sequence[int]) -> Merged:
    """Join the blocks' results (in order; each covers its frames up to the next block's first,
    the last one to the end of the video) and their pixel checks (`extra["checks"]`: per kept
    frame index (features, hit, checked))."""
    by_frame: dict[int, Any] = {}
    for part in parts:
        by_frame.update(part.extra.get("checks", {}))
    checks: dict[str, Any] = {"features": [], "hits": 0, "checked": 0}
    for idx in sorted(by_frame):
        features, hit, checked = by_frame[idx]
        checks["features"].append(features)
        checks["hits"] += hit
        checks["checked"] += checked
    return Merged(
        times=np.concatenate([p.times for p in parts]) if parts else np.zeros(0),
        image=(
            np.concatenate([p.image for p in parts]) if parts else np.zeros((0, 33, 3), np.float32)
        ),
        world=(
            np.concatenate([p.world for p in parts]) if parts else np.zeros((0, 33, 4), np.float32)
        ),
        valid=np.concatenate([p.valid for p in parts]) if parts else np.zeros(0, bool),
        segments=[int(s) for s in segments],
        checks=checks,
    )
