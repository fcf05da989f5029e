"""Pose estimation on every core: one video in contiguous segments, or many videos at once.

One video: the sampled frames k = 0..T-1 are split into contiguous segments starting at
s_0 = 0 < s_1 < ..., one per worker process. Each worker decodes only its part (the decoder
seeks to a keyframe before its start, see `video_io.iter_frames`) and runs its own MediaPipe
graph. MediaPipe Pose tracks: each frame's landmarks depend on the previous frames, so a graph
started afresh at s_i does not in general give what one graph over the whole video gives;
a later segment therefore starts tracking `WARM_UP` frames before s_i and drops those frames.

The seam hand-over keeps the result the sequential one: segment i does not stop at s_{i+1}; it
keeps tracking past it and compares every frame with what segment i+1 (which started earlier in
time, being a whole segment ahead) published for the same frame through a shared board
(memory-mapped files; board, agreement and merge in `musclemap.pose.seams`). Once both agree on
`AGREE_FRAMES` frames in a row (mean distance of the landmarks both see at most `AGREE`,
image-normalised, or no person in both; in the first `AGREE_WORLD_FRAMES` frames from the seam
also world landmarks within `AGREE_WORLD`) segment i stops and segment i+1's results are used
from there on. Up to the hand-over every frame comes from a
tracker that has run from the start; after it, from one that agreed with it. Where they never
agree (a tracker that has locked onto another person, or a pose MediaPipe tracks unstably),
segment i tracks to the end of the video: exactly the sequential result, at the sequential
speed. `PoseSequence.extra["seams"]` records each seam and where (or whether) it was handed over.

A tracker on a grid (`MediaPipePoseEstimator.exact_seams`, `mediapipe_g4`) hands over
exactly instead: at the first frame from the seam whose record (`record()`: its landmark
smoothing's inputs and the region for the next frame) equals the next segment's byte for byte,
from where the two trackers are one; segment 0's worker then runs its landmark smoothing on
over the later segments' records (`replay()`), so the merged poses are the sequential ones bit
for bit (docs/pose.md). Without such a frame the earlier segment tracks to the end.

Many videos: one whole video per worker at a time (no seams), so every core stays busy.

Workers are forked where that is safe (Linux, no other thread, no torch or MediaPipe state to
inherit) and spawned otherwise; each imports MediaPipe and starts its graph as soon as it starts,
while the caller probes and hashes the video. The pool is sized from the cores this process may
use (`cpu_budget`), with one graph and one decoder thread per worker: no oversubscription.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np

from musclemap.data.pose_sequence import PoseFrame, PoseSequence
from musclemap.errors import VideoError
from musclemap.pose.estimator import PoseEstimator
from musclemap.pose.seams import (  # noqa: F401 - AGREE*, MIN_* are part of this API
    AGREE,
    AGREE_FRAMES,
    AGREE_WORLD,
    AGREE_WORLD_FRAMES,
    MIN_SEEN,
    MIN_VISIBILITY,
    STALL_S,
    Board,
    Merged,
    agree,
    merge_segments,
)

# Fewer sampled frames than this per segment and the video is not split further.
MIN_SEGMENT = 20
# Segment 0 runs the pixel checks of the kept frames when it is done (three detections and
# orientation features, ~0.07 s with predict's grid tracker, whose checks need no graph start,
# about 3 frames of pose): it gets this many frames fewer (the others decode a prefix to reach
# their start, which costs them some too).
CHECK_LEAD = 3
# Sampled frames a later segment tracks before its start and discards, on every video split
# in segments (WARM_MIN_FRAMES sampled frames per segment: any split). MediaPipe's tracker does
# not forget where it started (each frame's region comes from the last frame's landmarks, and
# a restarted tracker's raw landmarks differ as much as its smoothed ones), so one started on
# a detection at the seam can settle on another trajectory than the one from frame 0; a few
# frames of its own history first bring it closer on average. With the world-landmark test of
# the hand-over (`seams.AGREE_WORLD`), on the 166 wild clips split in two (version 9 weights,
# `benchmarks/seam_handover.py`): largest clip-score difference from the sequential poses
# 0.0101 on average (0.0154 with neither, as shipped before for videos under 200 frames;
# 0.0133 with the warm-up alone), over 0.02 on 22 clips (40; 34), at most 0.076 (0.117;
# 0.098). More warm-up helps more but costs every video: 10 frames and the world test for 5
# frames, 0.0100 on average and 13 clips over 0.02, cost the 8 s benchmark clips 4-9 frames
# more of segment 0 (the curl, whose world landmarks take longest, ~0.2 s: over the 0.65 of the
# naive loop issue 11 allows); 20 frames and the world test, 0.0072 and 8, measured +0.26-0.36 s
# (0.68-0.70 of the naive loop). This one cost the 8 s clips 0.07-0.10 s (3 frames; best of 3,
# quiet machine: 0.59-0.62 of the naive loop against 0.56-0.59) and the 60 s clip nothing
# measurable (9.99 s both). None of them keeps every clip within 0.02: the tracker's own start
# moves the scores as much (docs/predict.md, "Session 10").
WARM_UP = 5
WARM_MIN_FRAMES = MIN_SEGMENT
# Seconds a segment waits for the next one to start before it tracks on alone (a pool busy
# with other work); once started, the next one is always ahead.
START_WAIT_S = 5.0
EstimatorFactory = Callable[[], PoseEstimator]
Progress = Callable[[float, str], None]


def cpu_budget() -> int:
    """Cores this process may use: its affinity mask where the OS has one, else the CPU count.

    Inside a worker process of some pool (the web server's, `data poses`') the answer is 1:
    its siblings share the cores already.
    """
    if multiprocessing.parent_process() is not None:
        return 1
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS, Windows
        return max(os.cpu_count() or 1, 1)


def plan_segments(
    num_frames: int, workers: int, min_frames: int = MIN_SEGMENT, lead: int = 0, warm: int = 0
) -> list[int]:
    """Start indices of contiguous, near-equal segments of `num_frames` sampled frames.

    At most `workers` segments, none shorter than `min_frames` (a short clip is one segment);
    segment 0 is `lead` frames shorter, for other work it does (the pixel checks), and each
    later one `warm` frames shorter, for the frames it tracks before its start (`WARM_UP`).
    """
    count = max(1, min(workers, num_frames // max(min_frames, 1)))
    if count == 1:
        return [0]
    share = (num_frames + lead + (count - 1) * warm) / count  # frames each one tracks
    return [0] + [round(i * share - lead - (i - 1) * warm) for i in range(1, count)]


def warm_up_frames(num_frames: int, workers: int) -> int:
    """The warm-up of each later segment (`WARM_UP`) for a video of `num_frames` sampled
    frames on `workers` segments: none unless each segment has `WARM_MIN_FRAMES`."""
    return WARM_UP if num_frames >= WARM_MIN_FRAMES * max(workers, 1) else 0


def expected_frames(duration_s: float, fps: float, rate: float | None = None) -> int:
    """Sampled frames a video of `duration_s` gives at `fps` (`iter_frames`: one per target
    time k / fps up to the last frame's time), for planning the split and the frames kept for
    the gates. With the video's own frame `rate` (`probe(...).fps`) the last frame is at
    (round(duration_s x rate) - 1) / rate, which is exact for constant-rate videos (the count
    of all 180 wild clips at 5, 7, 10 and 15 fps); without it, an estimate that can be one
    short (duration_s x fps: a 6.63 s clip at 30 fps gives 67 frames at 10 fps, not 66), and
    then the split pass would keep other frames for the gates than one worker checks."""
    if rate is not None and math.isfinite(rate) and rate > 0 and duration_s > 0:
        last_s = (max(round(duration_s * rate), 1) - 1) / rate
        return int(math.floor(last_s * fps + 1e-6)) + 1
    return max(int(math.floor(duration_s * fps + 1e-6)), 1)


def _kept_frames_hold(planned: int, sampled: int) -> bool:
    """Whether the frames a pose pass kept for the gates, planned on `planned` sampled frames,
    are the ones `quality.frame_picks` names for the `sampled` it gave (not where a variable
    frame rate made the planned count wrong: then the gates decode the right ones)."""
    from musclemap.pose.quality import planned_picks

    return planned_picks(planned) == planned_picks(sampled)


def sampled_frames(info: Any, fps: float) -> int:
    """`expected_frames` of a video's `probe` (`video_io.VideoInfo`): the count every caller
    plans a video's split and kept frames on."""
    return expected_frames(info.duration_s, fps, info.fps)


# -- worker side -------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _die_with_parent() -> None:
    """Linux: the kernel sends this worker SIGTERM when the process that started it dies (even
    by SIGKILL), so no pose worker outlives a killed `musclemap predict`."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _worker_init(factory: EstimatorFactory, progress: Any, threads: int) -> None:
    _die_with_parent()
    # MediaPipe's C++ logging (graph start notices, from its own threads) goes straight to
    # fd 2; a worker's errors reach the caller as exceptions, so its stderr is dropped. Its
    # stdout too: a worker must not hold the caller's pipe open (`musclemap predict | ...`
    # ends when the CLI does, not when its workers have died with it).
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    estimator = factory()
    warm = getattr(estimator, "warm_up", None)
    if callable(warm):
        warm()
    _WORKER.update(estimator=estimator, progress=progress, threads=threads)


def _ready() -> int:
    return os.getpid()


def _run_segment(
    path: str,
    fps: float,
    max_side: int | None,
    starts: list[int],
    i: int,
    origin_s: float | None,
    board: tuple[str, list[int]],
    key: int,
    picks: Sequence[int] = (),
    warm: int = 0,
    world: tuple[float, int] = (AGREE_WORLD, 0),
) -> PoseSequence:
    """Poses of segment i, tracking from scratch `warm` frames before starts[i] (those frames
    are tracked and dropped, see `WARM_UP`), published for segment i-1, and past starts[i+1]
    until the hand-over to segment i+1 (see the module docstring; `world`: the world-landmark
    tolerance in metres and the frames from the seam it applies to, `seams.AGREE_WORLD`).

    The frames at `picks` (with a person) and their landmarks are kept for the input-quality
    pixel checks (no second decode of the video for the gates), and each is checked once, with
    the landmarks of the rows the merge uses (`extra["checks"]`): by segment 0 when it is done
    (the later segments leave their frames on the board), which pays at most one graph start
    (~0.27 s of CPU, `MediaPipePoseEstimator.detect`; none on a grid) for all of them; a
    later segment done while segment 0 still tracks checks its own instead, last first
    (`_check_own`; with an estimator without `detect`, whose checks restart its graph after a
    second person is found, also then)."""
    from musclemap.data.video_io import iter_frames

    estimator: PoseEstimator = _WORKER["estimator"]
    reset = getattr(estimator, "reset", None)
    if callable(reset):
        reset()
    # A tracker on a grid (`exact_seams`): hand over at the first frame whose records are
    # equal, then segment 0 replays the smoothing over the later segments' records.
    exact = bool(getattr(estimator, "exact_seams", False))
    progress = _WORKER.get("progress")
    shared = Board(*board)
    start = starts[i]
    nxt = starts[i + 1] if i + 1 < len(starts) else None
    if i > 0:
        shared.state[i][0] = 1
    frames: list[Any] = []
    times: list[float] = []
    handover: int | None = None
    streak, distance, alone = 0, None, False
    kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    first = max(start - warm, starts[i - 1]) if i > 0 else start  # first frame tracked
    last: tuple[float, Any] | None = None
    record: tuple[bool, bytes] | None = None
    try:
        for t, rgb in iter_frames(
            path,
            fps=fps,
            max_side=max_side,
            start=first,
            origin_s=origin_s,
            threads=_WORKER["threads"],
        ):
            # A video slower than `fps` repeats frames; re-running the tracker adds nothing.
            repeat = last is not None and t == last[0]
            frame = last[1] if last is not None and repeat else estimator.estimate(rgb)
            last = (t, frame)
            if first < start:  # a warm-up frame: the tracker's history, not a result
                first += 1
                continue
            if exact and (i > 0 or nxt is not None):
                data = record[1] if repeat and record is not None else estimator.record()  # type: ignore[attr-defined]
                record = (repeat, data)
            idx = start + len(frames)
            if idx in picks and frame is not None:
                kept[idx] = (rgb, frame.image)
                if i > 0:
                    shared.leave(idx, rgb, frame.image)
                elif exact and nxt is not None:  # final already: a later segment may check it
                    shared.leave(idx, rgb, frame.image, name="first")
            frames.append(frame)
            times.append(t)
            if i > 0:
                shared.publish(i, idx - start, frame, record)
            if progress is not None and len(times) % 4 == 0:
                progress.put((key, len(times)))
            if nxt is None or idx < nxt or alone:
                continue
            if exact:
                theirs = shared.read_record(i + 1, idx - nxt, START_WAIT_S)
                if theirs is None:
                    alone = True  # the next segment will not cover this frame
                elif record is not None and theirs[1] == record[1]:
                    handover, distance = idx, 0.0  # one tracker from here on
                    break
                continue
            row = shared.read(i + 1, idx - nxt, START_WAIT_S)
            if row is None:
                alone = True  # the next segment will not cover this frame: track on alone
                continue
            ok, d = agree(frame, row, world[0] if idx - nxt < world[1] else None)
            streak = streak + 1 if ok else 0
            distance = d if ok else distance
            if streak == AGREE_FRAMES:
                handover = idx - AGREE_FRAMES + 1
                break
    finally:
        # Before "finished": a reader that sees this segment done knows where it handed over.
        shared.handover[i] = -1 if handover is None else handover
        if i > 0:
            shared.state[i][2] = 1
    keep = len(frames) if handover is None else handover - start
    seq = PoseSequence.from_frames(
        frames[:keep], times[:keep], fps=fps, width=0, height=0, source=path
    )
    seq.extra = {"first": start, "handover": handover, "distance": distance}
    replayed: dict[int, np.ndarray] = {}
    checks: dict[int, dict[str, Any]] = {}
    if exact and i == 0 and handover is not None:
        if picks:  # its own rows' checks first, while the later segments still track
            own = {idx for idx in picks if idx < start + keep}
            checks = _check_all(shared, starts, picks, kept, start + keep, estimator, only=own)
        rows = [frames[keep]] + _replay(shared, starts, estimator, handover, frames[keep])
        seq.extra["replay"] = (
            handover,
            PoseSequence.from_frames(
                rows, [0.0] * len(rows), fps=fps, width=0, height=0, source=path
            ),
        )
        replayed = {
            handover + k: f.image
            for k, f in enumerate(rows)
            if f is not None and handover + k in picks
        }
    if picks and i == 0:
        seq.extra["checks"] = checks | _check_all(
            shared, starts, picks, kept, start + keep, estimator, replayed
        )
    elif picks and not exact:
        first = int(shared.handover[i - 1])  # where this segment's rows begin, if known yet
        if first >= 0:
            mine = {idx: pair for idx, pair in kept.items() if first <= idx < start + keep}
            seq.extra["checks"] = _check_own(shared, len(picks), mine, estimator)
    elif picks:
        # Exact seams: this segment's own landmarks are not the final ones (segment 0 replays
        # its smoothing over them and checks those frames), but segment 0's frames are final
        # as it tracks them: the ones it has left are checked here, while it tracks on.
        seq.extra["checks"] = _check_first(shared, picks, estimator)
    return seq


def _check_first(
    shared: Board, picks: Sequence[int], estimator: PoseEstimator
) -> dict[int, dict[str, Any]]:
    """A later segment's checks, once it is done, of the kept frames segment 0 has left so far
    (exact seams) and nobody has claimed."""
    out: dict[int, dict[str, Any]] = {}
    detector = None
    for idx in picks:
        if int(shared.checker[0]) == Board.DONE:
            break
        pair = shared.left(idx)
        if pair is None or not shared.claim(idx):
            continue
        detector = detector or _pixel_detector(estimator)
        out[idx] = _check_one(shared, len(picks), idx, pair, detector)
    return out


def _replay(
    shared: Board, starts: list[int], estimator: PoseEstimator, handover: int, last: Any
) -> list[Any]:
    """Segment 0's landmark smoothing run on, from frame `handover` + 1 to the end, over the
    records of the segments that hold those frames (segment j up to where it handed over):
    the frames a sequential run gives, bit for bit, since from the hand-over on the trackers
    are one. `last`: segment 0's frame at `handover` (what a repeated next frame repeats)."""
    replay = estimator.replay  # type: ignore[attr-defined]
    out: list[Any] = []
    j, idx = 1, handover + 1
    while True:
        got = shared.read_record(j, idx - starts[j], STALL_S)
        if got is None:
            if j + 1 < len(starts) and 0 <= int(shared.handover[j]) <= idx:
                j += 1  # segment j handed over: the next one holds this frame
                continue
            if not shared.state[j][2]:
                raise RuntimeError(f"pose segment {j} stalled at sampled frame {idx}")
            return out  # the end of the video
        repeat, data = got
        last = last if repeat else replay(data)
        out.append(last)
        idx += 1


def _check_all(
    shared: Board,
    starts: list[int],
    picks: Sequence[int],
    kept: dict[int, tuple[np.ndarray, np.ndarray]],
    end: int,
    estimator: PoseEstimator,
    replayed: dict[int, np.ndarray] | None = None,
    only: set[int] | None = None,
) -> dict[int, dict[str, Any]]:
    """Segment 0's pixel checks, once its rows (up to `end`) are done: every kept frame no
    later segment has claimed, its own ones with its landmarks, the others with those their
    segment left on the board (or those of `replayed`, the frames' final landmarks). `only`:
    check these frames now and leave the others to a later call (the last one says DONE)."""
    shared.checker[0] = Board.FIRST
    detector = _pixel_detector(estimator)
    out = {}
    for idx in picks:
        if only is not None and idx not in only:
            continue
        if not shared.claim(idx):
            continue  # a later segment checks it
        if idx < end:
            pair = kept.get(idx)
        else:  # a row of a later segment: its landmarks (the frame is the same)
            j = _covering(starts, idx)
            pair = shared.collect(j, idx, starts[j])
            if pair is not None and replayed and idx in replayed:
                pair = (pair[0], replayed[idx])
        if pair is None:
            continue  # no person there
        out[idx] = _check_one(shared, len(picks), idx, pair, detector)
        shared.checker[0] = Board.RESTART if _restarts_next(detector) else Board.CHEAP
    if only is None:
        shared.checker[0] = Board.DONE
    return out


def _check_own(
    shared: Board,
    picks: int,
    mine: dict[int, tuple[np.ndarray, np.ndarray]],
    estimator: PoseEstimator,
) -> dict[int, dict[str, Any]]:
    """A later segment's checks of its own rows' kept frames (last first), each unless segment
    0 is known to check it cheaply (its checks use the estimator's `detect` graph and have
    begun, or its last check found nobody): here it costs a graph start or restart too, and
    runs beside segment 0 instead of after it."""
    from musclemap.pose.quality import restarts_per_check

    out: dict[int, dict[str, Any]] = {}
    detector = _pixel_detector(estimator)
    # Segment 0 starting its checks (FIRST) restarts its graph, or starts its `detect` graph,
    # whose next checks are all cheap: then they are left to it.
    leave = {Board.CHEAP, Board.DONE}
    if detector is not None and not restarts_per_check(detector):
        leave.add(Board.FIRST)
    for idx in sorted(mine, reverse=True):
        if int(shared.checker[0]) in leave:
            break
        if shared.claim(idx):
            out[idx] = _check_one(shared, picks, idx, mine[idx], detector)
    return out


def _restarts_next(detector: PoseEstimator | None) -> bool:
    """Whether the next second-person check on `detector` restarts a graph: a tracking graph
    that found someone since its last reset (`MediaPipePoseEstimator.fresh`), unless the
    checks use its own `detect` graph."""
    from musclemap.pose.quality import restarts_per_check

    if detector is None or not restarts_per_check(detector):
        return False
    return not getattr(detector, "fresh", True)


def _covering(starts: list[int], idx: int) -> int:
    """The segment whose share holds sampled frame idx."""
    return max(j for j, a in enumerate(starts) if a <= idx)


def _pixel_detector(estimator: PoseEstimator) -> PoseEstimator | None:
    from musclemap.pose.quality import pixel_detector

    return pixel_detector(estimator)


def _check_one(
    shared: Board,
    picks: int,
    idx: int,
    pair: tuple[np.ndarray, np.ndarray],
    detector: PoseEstimator | None,
) -> dict[str, Any]:
    """Kept frame idx's pixel checks (`quality.check_kept_frames` of that one frame: its
    orientation features, colour, whether a second person was seen, whether checked),
    the person looked for with `detector` (`quality.pixel_detector`: another estimator's
    answer does not depend on the picture, so not checked) unless the answers of the `picks`
    frames the segments have recorded so far settle the count (`quality.people_decided`)."""
    from musclemap.pose.quality import check_kept_frames, people_decided

    if detector is not None:
        hits, misses = shared.tally()
        if people_decided(hits, misses, picks - hits - misses):
            shared.record(idx, False)  # counted as a miss: the count stays settled
            return {**check_kept_frames([pair], None), "checked": 1}
    one = check_kept_frames([pair], detector)
    if detector is not None:
        shared.record(idx, bool(one["hits"]))
    return one


def _run_video(path: str, fps: float, max_side: int | None, cache: dict[str, Any]) -> PoseSequence:
    """One whole video in this worker (batch mode), through the pose cache."""
    from musclemap.pose.sequential import extract_sequential

    return extract_sequential(
        path,
        _WORKER["estimator"],
        fps=fps,
        max_side=max_side,
        cache_dir=cache["dir"],
        use_cache=cache["use"],
    )


class _FrameKeeper:
    """Keeps the `picks`-th sampled frames of a pose pass with the landmarks found in them
    (`sequential.estimate_video`'s `on_frame`): the gates' frames without a second decode. A
    repeated frame of a video slower than the sampling rate counts as a frame all the same."""

    def __init__(self, picks: Sequence[int]) -> None:
        self.picks = set(picks)
        self.kept: list[tuple[np.ndarray, np.ndarray]] = []

    def __call__(self, index: int, frame_rgb: np.ndarray, found: PoseFrame | None) -> None:
        if index in self.picks and found is not None:
            self.kept.append((frame_rgb, found.image))


def _run_checked(
    path: str, fps: float, max_side: int | None, cache: dict[str, Any]
) -> tuple[PoseSequence, dict[str, Any]]:
    """One whole video and its input-quality gates in this worker (batch `predict`): the
    checked (maybe turned back) poses and the `quality` block."""
    from pathlib import Path

    from musclemap.data.video_io import probe
    from musclemap.pose.quality import (
        assess_video,
        check_kept_frames,
        check_video,
        frame_checks,
        pixel_detector,
        planned_picks,
    )
    from musclemap.pose.sequential import extract_sequential

    estimator = _WORKER["estimator"]
    check_video(Path(path))  # too small, or frames too far apart: refused before the work
    planned = sampled_frames(probe(path), fps)
    keeper = _FrameKeeper(planned_picks(planned))
    seq = extract_sequential(
        path,
        estimator,
        fps=fps,
        max_side=max_side,
        cache_dir=cache["dir"],
        use_cache=cache["use"],
        on_frame=keeper,
    )
    frames = None
    if keeper.kept and _kept_frames_hold(planned, len(seq)):
        # else (poses from the cache, or a count planned wrong) the gates decode their frames
        frames = frame_checks(check_kept_frames(keeper.kept, pixel_detector(estimator)))
    return assess_video(Path(path), seq, estimator=estimator, frames=frames)


def _run_inspect(path: str, seq: PoseSequence) -> dict[str, Any]:
    """The pixel gates of one video (`quality.inspect_frames`) with this worker's estimator."""
    from pathlib import Path

    from musclemap.pose.quality import inspect_frames, pixel_detector

    return inspect_frames(Path(path), seq, pixel_detector(_WORKER["estimator"]))


# -- the pool ----------------------------------------------------------------------------------


def _start_method() -> str:
    """fork when nothing is inherited that could break in a child, spawn otherwise."""
    mp_module = sys.modules.get("musclemap.pose.mediapipe_estimator")
    mediapipe_ok = "mediapipe.python._framework_bindings" not in sys.modules or (
        # Only the pose solution imported (by us), no graph started: no threads to inherit.
        mp_module is not None and mp_module.lean_only() and not mp_module.GRAPH_STARTED
    )
    fork_ok = (
        "fork" in multiprocessing.get_all_start_methods()
        and sys.platform.startswith("linux")
        and threading.active_count() == 1
        and "torch" not in sys.modules
        and mediapipe_ok
    )
    return "fork" if fork_ok else "spawn"


def _default_factory() -> EstimatorFactory:
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

    return MediaPipePoseEstimator


def _mediapipe_factory(factory: EstimatorFactory) -> bool:
    """Whether `factory` builds a MediaPipe estimator of ours (its pose solution worth importing
    once in the parent of forked workers)."""
    from musclemap.pose.estimator import ESTIMATORS, POOLED

    return factory is _default_factory() or factory in {ESTIMATORS[n] for n in POOLED}


@dataclass
class _Job:
    """One video's segments in flight (`PosePool._submit`)."""

    path: str
    fps: float
    num_frames: int
    starts: list[int]
    folder: str  # the seams' board
    base: int  # progress key of segment 0
    futures: list[Future[PoseSequence]]


class PosePool:
    """Worker processes with one pose estimator each (created at once: they warm up while the
    caller does other work).

    Args:
        workers: Processes (default `cpu_budget()`).
        factory: Picklable callable that builds an estimator in a worker (default
            `MediaPipePoseEstimator`).
    """

    def __init__(
        self, workers: int | None = None, *, factory: EstimatorFactory | None = None
    ) -> None:
        self.workers = max(int(workers or cpu_budget()), 1)
        self.factory = factory or _default_factory()
        method = _start_method()
        if method == "fork" and _mediapipe_factory(self.factory):
            # Import MediaPipe's pose solution once, here, for every forked worker to inherit
            # (0.3 s of CPU each saved), and PyAV (~0.04 s each), which they decode with and
            # the caller probes with; the graphs are started in the workers.
            import av  # noqa: F401

            from musclemap.pose.mediapipe_estimator import import_pose_solution

            import_pose_solution()
        ctx = multiprocessing.get_context(method)
        self._progress = ctx.SimpleQueue()
        # One decoder thread per worker, since there is a worker per core.
        threads = max(cpu_budget() // self.workers, 1)
        self._executor = ProcessPoolExecutor(
            self.workers,
            mp_context=ctx,
            initializer=_worker_init,
            initargs=(self.factory, self._progress, threads),
        )
        self._key = 0
        self._submit_lock = threading.Lock()
        # The pixel checks the last `estimate` of a video made on the way (see `inspect`).
        self._checks: dict[tuple[str, float], tuple[int, dict[str, Any] | None]] = {}
        self._prefetched: dict[tuple[str, float, int | None, int, float | None], _Job] = {}
        for _ in range(self.workers):
            self._executor.submit(_ready)  # start every worker now

    def close(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)
        for job in self._prefetched.values():  # started but never asked for (an error, Ctrl-C)
            shutil.rmtree(job.folder, ignore_errors=True)
        self._prefetched.clear()

    def __enter__(self) -> PosePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drain(self) -> list[tuple[int, int]]:
        out = []
        while not self._progress.empty():
            out.append(self._progress.get())
        return out

    def estimate(
        self,
        path: str | os.PathLike[str],
        *,
        fps: float,
        max_side: int | None,
        num_frames: int,
        origin_s: float | None,
        progress: Progress | None = None,
    ) -> Merged:
        """Poses of one video split over the workers (see the module docstring); a job that
        `prefetch` started for the same video and settings is taken over, not run again.

        Args:
            num_frames: Expected sampled frames (`expected_frames`), for the split.
            origin_s: The first frame's time (`probe(...).start_s`); None: not split.

        Raises:
            VideoError: From decoding, or a worker died.
        """
        key = (os.path.realpath(path), float(fps), max_side, int(num_frames), origin_s)
        job = self._prefetched.pop(key, None)
        if job is None:
            job = self._submit(key)
        job.path = str(path)  # as the caller names it (errors, `inspect`)
        return self._collect(job, progress)

    def prefetch(
        self, path: str | os.PathLike[str], *, fps: float, max_side: int | None, info: Any
    ) -> None:
        """Start posing a video now, for the `estimate` call that will ask for it (the console
        script's predict starts it before the CLI and the model are even imported).

        Args:
            info: The video's `probe`.
        """
        num_frames = sampled_frames(info, fps)
        key = (os.path.realpath(path), float(fps), max_side, num_frames, info.start_s)
        self._prefetched[key] = self._submit(key)

    def _submit(self, key: tuple[str, float, int | None, int, float | None]) -> _Job:
        from musclemap.pose.quality import planned_picks

        path, fps, max_side, num_frames, origin_s = key
        picks = planned_picks(num_frames)
        lead = CHECK_LEAD if picks else 0
        warm = warm_up_frames(num_frames, self.workers)
        starts = (
            plan_segments(num_frames, self.workers, lead=lead, warm=warm)
            if origin_s is not None
            else [0]
        )
        # Room for what each segment publishes: its share and a margin for a longer video.
        caps = [num_frames - a + 64 for a in starts]
        folder = tempfile.mkdtemp(prefix="musclemap-seams-")
        Board(folder, caps, create=True)
        base = self._key
        self._key += len(starts)
        with self._submit_lock:  # a video's segments run side by side, not behind another's
            futures = [
                self._executor.submit(
                    _run_segment,
                    path,
                    fps,
                    max_side,
                    starts,
                    i,
                    origin_s,
                    (folder, caps),
                    base + i,
                    picks,
                    warm,
                    (AGREE_WORLD, AGREE_WORLD_FRAMES),
                )
                for i in range(len(starts))
            ]
        return _Job(path, fps, num_frames, starts, folder, base, futures)

    def _collect(self, job: _Job, progress: Progress | None) -> Merged:
        counts: dict[int, int] = {}
        pending: set[Future[PoseSequence]] = set(job.futures)
        n = len(job.starts)
        try:  # the board's folder goes whatever happens, Ctrl-C while waiting included
            while pending:
                _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for key, count in self._drain():
                    counts[key] = count
                if progress is not None:
                    done = sum(counts.get(job.base + i, 0) for i in range(n))
                    progress(min(done / max(job.num_frames, 1), 0.99), f"pose on {n} cores")
            parts = [f.result() for f in job.futures]
        except BrokenProcessPool:
            raise VideoError(
                f"{job.path}: pose estimation crashed (a worker process died)"
            ) from None
        finally:
            shutil.rmtree(job.folder, ignore_errors=True)
        self._drain()
        merged = merge_segments(parts, job.starts)
        replay = parts[0].extra.get("replay")
        if replay is not None:  # exact seams: segment 0's smoothing over the later rows
            at, rows = replay
            if at + len(rows) != len(merged.valid):
                raise RuntimeError(
                    f"{job.path}: the replay ends at frame {at + len(rows)}, the video at "
                    f"{len(merged.valid)}"
                )
            merged.image[at:], merged.world[at:], merged.valid[at:] = (
                rows.image,
                rows.world,
                rows.valid,
            )
        # The last video's only; its kept frames only if they are the ones the gates check.
        checks = merged.checks if _kept_frames_hold(job.num_frames, len(merged.valid)) else None
        self._checks = {(job.path, job.fps): (len(merged.valid), checks)}
        return merged

    def inspect(self, path: str | os.PathLike[str], seq: PoseSequence) -> dict[str, Any]:
        """`quality.inspect_frames` of a video: from the frames `estimate` kept while it posed
        this video, else decoded again on a worker (its MediaPipe graph is warm: no graph
        start in this process), e.g. for poses from the cache.

        Raises:
            VideoError: From decoding, or the worker died.
        """
        from musclemap.pose.quality import frame_checks

        rows, checks = self._checks.pop((str(path), float(seq.fps)), (-1, None))
        if checks and checks["features"] and rows == len(seq):
            return frame_checks(checks)
        try:
            return self._executor.submit(_run_inspect, str(path), seq).result()
        except BrokenProcessPool:
            raise VideoError(f"{path}: frame checks crashed (a worker process died)") from None

    def map_videos(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        fps: float,
        max_side: int | None,
        cache_dir: str | os.PathLike[str] | None,
        use_cache: bool,
    ) -> Iterator[tuple[int, PoseSequence | BaseException]]:
        """Poses of many videos, one per worker at a time, as they finish: (index, sequence or
        the error that video raised)."""
        cache = {"dir": None if cache_dir is None else str(cache_dir), "use": use_cache}
        return self._map(_run_video, paths, fps, max_side, cache)

    def map_checked(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        fps: float,
        max_side: int | None,
        cache_dir: str | os.PathLike[str] | None,
        use_cache: bool,
    ) -> Iterator[tuple[int, tuple[PoseSequence, dict[str, Any]] | BaseException]]:
        """`map_videos` with the input-quality gates run in the same worker
        (`quality.assess_video`): (index, (checked poses, quality block) or the error)."""
        cache = {"dir": None if cache_dir is None else str(cache_dir), "use": use_cache}
        return self._map(_run_checked, paths, fps, max_side, cache)

    def _map(
        self,
        job: Callable[..., Any],
        paths: Sequence[str | os.PathLike[str]],
        fps: float,
        *args: Any,
    ) -> Iterator[tuple[int, Any]]:
        order = work_order(paths, fps)
        futures = {self._executor.submit(job, str(paths[i]), fps, *args): i for i in order}
        pending: set[Future[Any]] = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            self._drain()
            for f in done:
                err = f.exception()
                if isinstance(err, BrokenProcessPool):
                    path = paths[futures[f]]
                    err = VideoError(f"{path}: pose estimation crashed (a worker process died)")
                yield futures[f], f.result() if err is None else err


def work_order(paths: Sequence[str | os.PathLike[str]], fps: float) -> list[int]:
    """Indices of `paths`, most pose work first: the frames posed of each video at `fps` (the
    sampled frames, repeats of a slower video once; from its headers,
    `video_io.header_timing`), ties and unreadable headers by file size.

    Longest first keeps the last videos to finish short ones, so no core idles long at the end
    of a batch. The frames are the work, the bytes only stand in for them: a long still or
    low-bitrate video is a small file. On the speed benchmark's batch (the first 20 wild
    clips, alike in make-up) both orders give the same finish (measured CPU per clip, two
    workers: 21.91 s in this order, 21.92 s by file size, 21.65 s an even split; session 17).
    """
    from musclemap.data.video_io import header_timing

    def frames(path: str | os.PathLike[str]) -> int:
        timing = header_timing(path)
        if timing is None:
            return 0
        rate, duration = timing
        sampled = expected_frames(duration, fps, rate)
        # A video slower than `fps` repeats frames, which are not posed again.
        return min(sampled, max(round(duration * rate), 1)) if rate > 0 else sampled

    keys = [(frames(p), _file_size(p)) for p in paths]
    return sorted(range(len(paths)), key=lambda i: (-keys[i][0], -keys[i][1]))


def _file_size(path: str | os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # its job reports what is wrong with it


_SHARED: dict[str, Any] = {}


def shared_pool(workers: int | None = None, factory: EstimatorFactory | None = None) -> PosePool:
    """A pool kept for the life of the process (reused by every `extract_poses` call with the
    same size and estimator; closed at exit)."""
    workers = max(int(workers or cpu_budget()), 1)
    factory = factory or _default_factory()
    pool: PosePool | None = _SHARED.get("pool")
    # A pool whose worker died (or whose starting thread ended: PR_SET_PDEATHSIG) is replaced.
    if (
        pool is not None
        and not getattr(pool._executor, "_broken", False)
        and pool.workers == workers
        and pool.factory == factory
    ):
        return pool
    if pool is not None:
        pool.close()
    pool = _SHARED["pool"] = PosePool(workers, factory=factory)
    return pool


@atexit.register
def close_shared_pool(wait: bool = True) -> None:
    """Close the shared pool (its workers exit); at exit, or before a quick `os._exit`
    (`wait=False`: not waiting for the workers, which die with this process)."""
    pool = _SHARED.pop("pool", None)
    if pool is not None:
        pool.close(wait=wait)
