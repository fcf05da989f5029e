"""Seams of a video posed in segments (`musclemap.pose.parallel`): the board on which each
segment publishes its frames for the one before it, the agreement test of two trackers, and the
merge of the segments' results into one sequence."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from musclemap.data.pose_sequence import PoseSequence

# Mean distance (x, y image-normalised) of the landmarks both trackers see (visibility above
# MIN_VISIBILITY, at least MIN_SEEN of them, else all 33) under which two trackers agree on a
# frame, about 7 px on a 720 px frame; and the frames in a row that a hand-over needs. A tracker
# started afresh converges on the running one only slowly (MediaPipe's landmark smoothing) and
# sometimes settles a few pixels off it: on 135 seams of 45 wild clips (a tracker from frame s
# against one from frame 0), 0.005 handed over a median 4 frames after the seam (90th
# percentile 17) and never within 40 frames on 22 seams, each making that video's first segment
# run to its end at sequential speed; 0.01 hands over at the seam itself (median 0, p90 8,
# never on 9), with 0.0043 mean distance after the hand-over (0.0028 at 0.005; 720 px frames
# against full-size ones differ by 0.001-0.006).
AGREE = 0.01
AGREE_FRAMES = 3
MIN_VISIBILITY = 0.5
MIN_SEEN = 5
# In the first AGREE_WORLD_FRAMES frames from the seam two trackers also have to agree on the
# world landmarks (mean 3-D distance of the 33, metres), which the model reads: image x, y
# agree within AGREE long before the world landmarks do (2-5 cm apart at first, converging
# over 15-30 frames on most clips, never on some), and every frame after a hand-over comes
# from the later tracker. Later on, the image test alone: with the world test all the way, on
# the 166 wild clips split in two (warm-up 5) 37 seams were never handed over (those videos
# posed at sequential speed) and segment 0 tracked 23 frames past the seam on average instead
# of 13 (largest clip-score difference 0.0060 on average instead of 0.0101). What it gives
# and costs: `parallel.WARM_UP` and docs/predict.md, "Session 10".
AGREE_WORLD = 0.015
AGREE_WORLD_FRAMES = 10
# Seconds without a new frame from the next segment after which it is taken for dead.
STALL_S = 30.0


class Board:
    """What segments publish for the one before them: per segment i >= 1 a memory-mapped
    float32 array `(cap, 199)` (`row_of`: 33 x (x, y, visibility), 33 x world (x, y, z), then
    1.0 if a person was found) and an
    int64 triple (started, rows written, finished). For the pixel checks: the frame where each
    segment handed over (`handover[i]`: `UNKNOWN` while it tracks, -1 for none), what segment
    0 is doing (`checker[0]`: `TRACKING`; `FIRST`: its first check, which starts its detect
    graph or restarts its tracking graph; `CHEAP`: the next check needs no graph start or
    restart; `RESTART`: it does (a tracking graph that found someone); `DONE`) and which kept
    frame is checked by whom (`claim`).
    """

    UNKNOWN = -2
    TRACKING, FIRST, CHEAP, RESTART, DONE = 0, 1, 2, 3, 4

    # A record (`MediaPipePoseEstimator.record`, exact seams): 1 if the frame repeats the last
    # one (not tracked again), its length as a uint32, then its bytes.
    RECORD_WIDTH = 4096
    IMAGE = slice(0, 33 * 3)  # 33 x (x, y, visibility)
    WORLD = slice(33 * 3, 33 * 6)  # 33 x world (x, y, z)
    WIDTH = 33 * 6 + 1  # then 1.0 if a person was found

    def __init__(self, folder: str, caps: Sequence[int], create: bool = False) -> None:
        self.folder, self.caps = folder, list(caps)
        mode: Literal["w+", "r+"] = "w+" if create else "r+"
        self.rows = {
            i: np.memmap(f"{folder}/rows{i}", np.float32, mode, shape=(cap, self.WIDTH))
            for i, cap in enumerate(caps)
            if i > 0
        }
        # Sparse files: only estimators with exact seams write them.
        self.records = {
            i: np.memmap(f"{folder}/records{i}", np.uint8, mode, shape=(cap, self.RECORD_WIDTH))
            for i, cap in enumerate(caps)
            if i > 0
        }
        self.state = {
            i: np.memmap(f"{folder}/state{i}", np.int64, mode, shape=(3,))
            for i in range(1, len(caps))
        }
        self.handover = np.memmap(f"{folder}/handover", np.int64, mode, shape=(len(caps),))
        self.checker = np.memmap(f"{folder}/checker", np.int64, mode, shape=(1,))
        if create:
            self.handover[:] = self.UNKNOWN

    def claim(self, idx: int) -> bool:
        """Whether this caller is the one to check kept frame idx (the first to ask is)."""
        try:
            os.close(os.open(f"{self.folder}/claim{idx}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def record(self, idx: int, hit: bool) -> None:
        """Kept frame idx's second-person answer, for the other segments' `tally`."""
        os.close(os.open(f"{self.folder}/seen{idx}.{int(hit)}", os.O_CREAT | os.O_WRONLY))

    def tally(self) -> tuple[int, int]:
        """(hits, misses) of the second-person answers recorded so far."""
        names = [n for n in os.listdir(self.folder) if n.startswith("seen")]
        hits = sum(n.endswith(".1") for n in names)
        return hits, len(names) - hits

    def publish(
        self, i: int, j: int, frame: Any, record: tuple[bool, bytes] | None = None
    ) -> None:
        """Row j of segment i, and its record (repeat, bytes) for exact seams."""
        if j >= self.caps[i]:
            return
        self.rows[i][j] = row_of(frame)
        if record is not None:
            repeat, data = record
            if len(data) + 5 > self.RECORD_WIDTH:
                raise RuntimeError(f"a pose record of {len(data)} bytes does not fit the board")
            out = self.records[i][j]
            out[0] = int(repeat)
            out[1:5] = np.frombuffer(np.uint32(len(data)).tobytes(), np.uint8)
            out[5 : 5 + len(data)] = np.frombuffer(data, np.uint8)
        self.state[i][1] = j + 1  # after the row: a reader never sees a half-written one

    def _wait(self, i: int, j: int, started_within: float) -> bool:
        """Wait while row j of segment i is being computed: whether it is there."""
        state = self.state[i]
        deadline = time.monotonic() + started_within
        while not state[0] and time.monotonic() < deadline:
            time.sleep(0.005)
        if not state[0] or j >= self.caps[i]:
            return False
        seen, since = int(state[1]), time.monotonic()
        while state[1] <= j and not state[2]:
            if state[1] != seen:
                seen, since = int(state[1]), time.monotonic()
            elif time.monotonic() - since > STALL_S:  # that worker died: go on alone
                return False
            time.sleep(0.002)
        return bool(state[1] > j)

    def read(self, i: int, j: int, started_within: float) -> np.ndarray | None:
        """Row j of segment i, waiting while it is being computed; None if there will be none."""
        return np.array(self.rows[i][j]) if self._wait(i, j, started_within) else None

    def read_record(self, i: int, j: int, started_within: float) -> tuple[bool, bytes] | None:
        """Record j of segment i (repeat, bytes), as `read` waits for rows."""
        if not self._wait(i, j, started_within):
            return None
        row = self.records[i][j]
        n = int(np.frombuffer(row[1:5].tobytes(), np.uint32)[0])
        return bool(row[0]), row[5 : 5 + n].tobytes()


    def leave(self, idx: int, rgb: np.ndarray, landmarks: np.ndarray, name: str = "kept") -> None:
        """Leave sampled frame idx and its landmarks for segment 0's pixel checks (written
        whole before it shows: a temporary name, then renamed). `name` "first": segment 0's
        own frame, for a later segment that is done to check (`left`)."""
        tmp = f"{self.folder}/{name}{idx}.tmp.npz"
        np.savez(tmp, rgb=rgb, landmarks=landmarks)
        os.replace(tmp, f"{self.folder}/{name}{idx}.npz")

    def left(self, idx: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Segment 0's frame idx and its landmarks if it has left them (`leave(name="first")`),
        without waiting."""
        path = f"{self.folder}/first{idx}.npz"
        if not os.path.exists(path):
            return None
        with np.load(path) as data:
            return data["rgb"], data["landmarks"]

    def collect(self, i: int, idx: int, start: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The frame and landmarks segment i (starting at sampled frame `start`) left for
        sampled frame idx; None when it had no person there, or when it is done or stalled
        without it. A frame is left before its row is published, so once `read` has the row
        (or the segment is over) the file is there or never will be."""
        self.read(i, idx - start, STALL_S)
        path = f"{self.folder}/kept{idx}.npz"
        if not os.path.exists(path):
            return None
        with np.load(path) as data:
            return data["rgb"], data["landmarks"]


def row_of(frame: Any) -> np.ndarray:
    """A tracker's frame as the board publishes it (`Board.WIDTH` floats; NaN and 0.0 for no
    person)."""
    row = np.full(Board.WIDTH, np.nan, np.float32)
    row[-1] = 0.0 if frame is None else 1.0
    if frame is not None:
        row[Board.IMAGE] = frame.image.ravel()
        row[Board.WORLD] = frame.world[:, :3].ravel()
    return row


def agree(frame: Any, row: np.ndarray, world: float | None = None) -> tuple[bool, float | None]:
    """Whether a tracker's frame agrees with another's published row (and their image
    distance); with `world` (metres) their world landmarks also have to be that close (mean
    3-D distance of the 33)."""
    other_valid = row[-1] > 0.5
    if frame is None or not other_valid:
        return frame is None and not other_valid, None
    other = row[Board.IMAGE].reshape(33, 3)
    dist = np.linalg.norm(frame.image[:, :2] - other[:, :2], axis=-1)  # (33,)
    # Joints out of view or hidden are guesses that wander with the tracker's crop; compare
    # the ones both trackers see, when there are enough of them.
    seen = (frame.image[:, 2] > MIN_VISIBILITY) & (other[:, 2] > MIN_VISIBILITY)
    d = float(dist[seen].mean() if seen.sum() >= MIN_SEEN else dist.mean())
    if world is not None and d <= AGREE:
        gap = np.linalg.norm(frame.world[:, :3] - row[Board.WORLD].reshape(33, 3), axis=-1).mean()
        return bool(gap <= world), d
    return d <= AGREE, d


@dataclass
class Merged:
    """Segments joined into one sequence of rows (see `merge_segments`)."""

    times: np.ndarray  # (T,)
    image: np.ndarray  # (T, 33, 3)
    world: np.ndarray  # (T, 33, 4)
    valid: np.ndarray  # (T,)
    seams: list[dict[str, Any]]
    # The pixel checks of the kept frames in the rows used (`quality.check_kept_frames`).
    checks: dict[str, Any] | None = None


def merge_segments(parts: Sequence[PoseSequence], starts: Sequence[int]) -> Merged:
    """Join segment results: part i holds rows from `starts[i]` up to its hand-over
    (`extra["handover"]`, where part i+1 takes over) or, without one, to the end of the video
    (then the later parts are not used).

    A seam record says where the segment began (`index`), where it was handed over (`handover`,
    None if the earlier tracker ran to the end), at what time (`t`) and the trackers' landmark
    distance there (`distance`, None where neither saw a person).
    """
    times: list[np.ndarray] = []
    image: list[np.ndarray] = []
    world: list[np.ndarray] = []
    valid: list[np.ndarray] = []
    seams: list[dict[str, Any]] = []
    used: list[range] = []  # per part: the frame indices whose rows are taken from it
    entry = 0  # first row still to come
    for i, part in enumerate(parts):
        first = int(part.extra["first"])
        handover = part.extra.get("handover") if i + 1 < len(parts) else None
        rows = slice(max(entry - first, 0), None if handover is None else int(handover) - first)
        used.append(range(max(entry, first), first + len(part) if handover is None else handover))
        times.append(part.times[rows])
        image.append(part.image[rows])
        world.append(part.world[rows])
        valid.append(part.valid[rows])
        if i + 1 == len(parts):
            break
        seam: dict[str, Any] = {"index": int(starts[i + 1]), "handover": handover}
        if handover is None:
            seams.append({**seam, "t": None, "distance": None})
            break  # this tracker ran to the end of the video
        entry = int(handover)
        nxt = parts[i + 1]
        at = entry - int(nxt.extra["first"])
        seam["t"] = float(nxt.times[at]) if 0 <= at < len(nxt) else None
        d = part.extra.get("distance")
        seam["distance"] = None if d is None else round(float(d), 4)
        seams.append(seam)
    # Per checked frame one check: from the part whose row is used if it checked that frame,
    # else from whichever part did (each segment checks only the picks of its planned share).
    by_frame: dict[int, tuple[bool, Any]] = {}
    for i, part in enumerate(parts):
        for idx, check in part.extra.get("checks", {}).items():
            taken = i < len(used) and idx in used[i]
            if idx not in by_frame or (taken and not by_frame[idx][0]):
                by_frame[idx] = (taken, check)
    checks: dict[str, Any] = {"features": [], "colour": [], "hits": 0, "checked": 0}
    for _, one in (by_frame[idx] for idx in sorted(by_frame)):
        checks["features"] += one["features"]
        checks["colour"] += one["colour"]
        checks["hits"] += one["hits"]
        checks["checked"] += one["checked"]
    return Merged(
        times=np.concatenate(times) if times else np.zeros(0),
        image=np.concatenate(image) if image else np.zeros((0, 33, 3), np.float32),
        world=np.concatenate(world) if world else np.zeros((0, 33, 4), np.float32),
        valid=np.concatenate(valid) if valid else np.zeros(0, bool),
        seams=seams,
        checks=checks,
    )
