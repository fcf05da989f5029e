"""Pose on every core (`musclemap.pose.parallel`): segment plan, seam hand-over, pool, batch.

Stateful stand-in estimators behave like trackers: one forgets (an exponential filter over frame
brightness), so a segment started afresh soon agrees with the one before it and takes over; one
never forgets (it keeps the first frame it saw), so the earlier segment must track to the end.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musclemap.data.pose_sequence import PoseFrame, PoseSequence
from musclemap.errors import VideoError
from musclemap.pose.parallel import (
    AGREE,
    AGREE_WORLD,
    AGREE_WORLD_FRAMES,
    CHECK_LEAD,
    MIN_SEGMENT,
    WARM_UP,
    PosePool,
    cpu_budget,
    expected_frames,
    plan_segments,
    sampled_frames,
    warm_up_frames,
    work_order,
)
from musclemap.pose.sequential import estimate_video
from musclemap.skeleton import MEDIAPIPE33


class SmoothingEstimator:
    """x of every landmark = an exponential average (factor 1/2) of the frame brightness."""

    name = "smoothing"
    layout = MEDIAPIPE33

    def __init__(self) -> None:
        self.state: float | None = None

    def settings(self) -> dict[str, Any]:
        return {}

    def reset(self) -> None:
        self.state = None

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        level = float(frame_rgb.mean()) / 255.0
        self.state = level if self.state is None else 0.5 * self.state + 0.5 * level
        image = np.full((33, 3), 0.5, np.float32)
        image[:, 0] = self.state
        world = np.zeros((33, 4), np.float32)
        return PoseFrame(image=image, world=world)

    def close(self) -> None:
        pass


class WindowEstimator(SmoothingEstimator):
    """x = the mean brightness of the last 3 frames it saw: a tracker with a short memory."""

    def reset(self) -> None:
        self.seen: list[float] = []

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        if self.state is None:
            self.reset()
            self.state = 0.0
        self.seen = [*self.seen[-2:], float(frame_rgb.mean()) / 255.0]
        image = np.full((33, 3), 0.5, np.float32)
        image[:, 0] = np.mean(self.seen)
        return PoseFrame(image=image, world=np.zeros((33, 4), np.float32))


class StubbornEstimator(SmoothingEstimator):
    """Never forgets the first frame it saw: a restarted one never agrees with the old one."""

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        level = float(frame_rgb.mean()) / 255.0
        self.state = level if self.state is None else self.state
        image = np.full((33, 3), 0.5, np.float32)
        image[:, 0] = 0.5 * self.state + 0.5 * level
        return PoseFrame(image=image, world=np.zeros((33, 4), np.float32))


class WorldEstimator(SmoothingEstimator):
    """Image landmarks that every tracker agrees on (x = the frame's brightness); world x = an
    exponential average (factor 1/2) of it in metres: a restarted tracker's image landmarks
    agree at once, its world landmarks only after a few frames (as MediaPipe's); metres, up to
    10 m apart at first."""

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        level = float(frame_rgb.mean()) / 255.0
        self.state = level if self.state is None else 0.5 * self.state + 0.5 * level
        image = np.full((33, 3), 0.5, np.float32)
        image[:, 0] = level
        world = np.zeros((33, 4), np.float32)
        world[:, 0] = 10.0 * self.state
        return PoseFrame(image=image, world=world)


class StubbornWorldEstimator(SmoothingEstimator):
    """Image landmarks as `WorldEstimator`'s; world x = the first frame's brightness, kept:
    a restarted tracker's world landmarks never agree with the old one's."""

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        level = float(frame_rgb.mean()) / 255.0
        self.state = level if self.state is None else self.state
        image = np.full((33, 3), 0.5, np.float32)
        image[:, 0] = level
        world = np.zeros((33, 4), np.float32)
        world[:, 0] = self.state
        return PoseFrame(image=image, world=world)


def _video(tmp_path: Path, n: int = 120, gop: int = 10, size: int = 32, rate: int = 10) -> Path:
    """Frames of pseudo-random brightness (so a restarted filter differs), a keyframe every
    `gop` frames, `rate` frames per second."""
    import av

    rng = np.random.default_rng(0)
    path = tmp_path / f"v{n}_{rate}.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
        stream.codec_context.options = {"x264-params": f"keyint={gop}:min-keyint={gop}"}
        # Frame 0 is dark, the rest brighter: a tracker that keeps its first frame differs.
        for level in [20, *rng.integers(100, 235, n - 1)]:
            img = np.full((size, size, 3), level, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_plan_segments() -> None:
    assert plan_segments(80, 2) == [0, 40]
    assert plan_segments(81, 3) == [0, 27, 54]
    assert plan_segments(30, 4) == [0]  # too short to split into 20-frame segments
    assert plan_segments(45, 4) == [0, 22]
    assert plan_segments(100, 1) == [0]
    assert plan_segments(80, 2, lead=3) == [0, 38]  # segment 0: 38 frames, segment 1: 42
    assert plan_segments(90, 3, lead=3) == [0, 28, 59]
    # Later segments also track `warm` frames before their start: 41 + 3 | 5 + 39 frames.
    assert plan_segments(80, 2, lead=3, warm=5) == [0, 41]
    assert plan_segments(90, 3, lead=3, warm=5) == [0, 31, 61]  # 31+3 | 5+30 | 5+29
    assert expected_frames(8.0, 10.0) == 80 and expected_frames(0.0, 10.0) == 1
    # With the video's rate, the frames up to the last one's time: 199 frames at 30 fps
    # (6.63 s, the last at 6.6 s) give 67 at 10 fps, 34 at 5; 240 frames at 30 fps give 80.
    assert expected_frames(199 / 30, 10.0, 30.0) == 67
    assert expected_frames(199 / 30, 5.0, 30.0) == 34
    assert expected_frames(8.0, 10.0, 30.0) == 80 and expected_frames(8.0, 10.0, 0.0) == 80
    assert expected_frames(11.9330078125, 10.0, 30.0) == 120  # a rounded container duration


@pytest.mark.parametrize(
    ("n", "rate", "fps"),
    [(199, 30, 10.0), (120, 25, 10.0), (37, 24, 7.0), (30, 5, 10.0), (61, 30, 15.0)],
)
def test_expected_frames_is_what_iter_frames_samples(
    tmp_path: Path, n: int, rate: int, fps: float
) -> None:
    """The split and the frames kept for the gates are planned on this count: exact for a
    constant-rate video, so the split pass keeps the frames one worker checks."""
    from musclemap.data.video_io import iter_frames, probe

    path = _video(tmp_path, n=n, rate=rate)
    info = probe(path)
    sampled = sum(1 for _ in iter_frames(path, fps=fps, max_side=None))
    assert expected_frames(info.duration_s, fps, info.fps) == sampled


def test_cpu_budget_is_the_affinity_and_one_inside_a_worker() -> None:
    import os

    assert cpu_budget() == len(os.sched_getaffinity(0))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(cpu_budget) == 1


@pytest.fixture(scope="module")
def pool() -> Any:
    with PosePool(2, factory=SmoothingEstimator) as p:
        yield p


def _both(pool: PosePool, path: Path, factory: type, progress: Any = None) -> tuple[Any, Any]:
    from musclemap.data.video_io import probe

    info = probe(path)
    merged = pool.estimate(
        path,
        fps=10.0,
        max_side=None,
        num_frames=sampled_frames(info, 10.0),
        origin_s=info.start_s,
        progress=progress,
    )
    return merged, estimate_video(path, factory(), fps=10.0, max_side=None)


def test_parallel_is_sequential_up_to_the_hand_over_and_agrees_after(
    pool: PosePool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from musclemap.pose import parallel

    monkeypatch.setattr(parallel, "WARM_UP", 0)  # started cold at the seam (warm-up: below)
    seen: list[float] = []
    merged, sequential = _both(
        pool, _video(tmp_path), SmoothingEstimator, lambda f, _: seen.append(f)
    )
    assert merged.times == pytest.approx(sequential.times) and len(merged.times) == 120
    diff = np.abs(merged.image[:, 0, 0] - sequential.image[:, 0, 0])
    (seam,) = merged.seams
    handover = seam["handover"]
    # A filter halving its memory each frame agrees within AGREE after a few frames. 58:
    # segment 0 also runs the checks.
    seam_at = plan_segments(120, 2, lead=CHECK_LEAD, warm=warm_up_frames(120, 2))[1]
    assert seam["index"] == seam_at == 58 and seam_at < handover <= seam_at + 15
    assert diff[:handover].max() == 0.0 and diff[handover:].max() <= AGREE
    assert seam["distance"] <= AGREE and seam["t"] == pytest.approx(handover / 10)
    assert seen and all(0 <= f < 1 for f in seen)


def test_a_warmed_up_segment_gives_the_sequential_poses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Segment 1 tracks WARM_UP frames before its start and drops them: a tracker whose memory
    # (3 frames) is shorter than that has the sequential one's state at the seam, so every
    # frame it gives is the sequential one and the hand-over is at the seam itself. Started
    # cold at the seam, its first two frames differ: segment 0 tracks two frames further.
    from musclemap.pose import parallel

    assert WARM_UP >= 3
    assert warm_up_frames(2 * MIN_SEGMENT, 2) == WARM_UP  # on every video split in two
    video = _video(tmp_path, n=80)
    sequential = estimate_video(video, WindowEstimator(), fps=10.0, max_side=None)
    for warm in (WARM_UP, 0):
        monkeypatch.setattr(parallel, "WARM_UP", warm)
        with PosePool(2, factory=WindowEstimator) as window:
            merged, _ = _both(window, video, WindowEstimator)
        seam_at = plan_segments(80, 2, lead=CHECK_LEAD, warm=warm)[1]
        (seam,) = merged.seams
        assert seam["index"] == seam_at
        assert seam["handover"] == (seam_at if warm else seam_at + 2)
        assert seam["distance"] == 0.0
        np.testing.assert_array_equal(merged.times, sequential.times)
        np.testing.assert_array_equal(merged.image, sequential.image)


def test_the_hand_over_waits_for_the_world_landmarks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The image landmarks of a restarted tracker agree at once, its world landmarks (a filter
    # halving its memory each frame) only 4 frames later: in the first AGREE_WORLD_FRAMES
    # frames from the seam the hand-over waits for 3 frames in a row whose world landmarks
    # are within AGREE_WORLD of the earlier tracker's; without that test it is at the seam.
    from musclemap.data.video_io import iter_frames
    from musclemap.pose import parallel

    monkeypatch.setattr(parallel, "WARM_UP", 0)  # started cold at the seam
    video = _video(tmp_path, n=80)
    sequential = estimate_video(video, WorldEstimator(), fps=10.0, max_side=None)
    seam_at = plan_segments(80, 2, lead=CHECK_LEAD)[1]
    frames = [f for _, f in iter_frames(video, fps=10.0)][seam_at:]
    fresh = WorldEstimator()
    restarted = np.array([fresh.estimate(f).world[0, 0] for f in frames])  # type: ignore[union-attr]
    close = np.abs(restarted - sequential.world[seam_at:, 0, 0]) <= AGREE_WORLD
    wait = next(k for k in range(len(close)) if close[k : k + 3].all())
    assert wait == 4 < AGREE_WORLD_FRAMES
    for frames, handover in ((AGREE_WORLD_FRAMES, seam_at + wait), (0, seam_at)):
        monkeypatch.setattr(parallel, "AGREE_WORLD_FRAMES", frames)
        with PosePool(2, factory=WorldEstimator) as world:
            merged, _ = _both(world, video, WorldEstimator)
        (seam,) = merged.seams
        assert seam["index"] == seam_at and seam["handover"] == handover
        np.testing.assert_array_equal(merged.world[:handover], sequential.world[:handover])
        np.testing.assert_array_equal(
            merged.world[handover:, 0, 0], restarted[handover - seam_at :]
        )
        np.testing.assert_array_equal(merged.image, sequential.image)


def test_world_landmarks_that_never_agree_hand_over_after_the_world_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The world test holds only for AGREE_WORLD_FRAMES frames from the seam (the earlier
    # tracker would run to the end otherwise); after it the image landmarks decide.
    from musclemap.pose import parallel

    monkeypatch.setattr(parallel, "WARM_UP", 0)
    with PosePool(2, factory=StubbornWorldEstimator) as stubborn:
        merged, _ = _both(stubborn, _video(tmp_path, n=80), StubbornWorldEstimator)
    (seam,) = merged.seams
    assert seam["handover"] == seam["index"] + AGREE_WORLD_FRAMES


def test_trackers_that_never_agree_give_the_sequential_result(tmp_path: Path) -> None:
    with PosePool(2, factory=StubbornEstimator) as stubborn:
        merged, sequential = _both(stubborn, _video(tmp_path, n=60), StubbornEstimator)
    assert np.array_equal(merged.image, sequential.image)
    seam_at = plan_segments(60, 2, lead=CHECK_LEAD, warm=WARM_UP)[1]
    assert merged.seams == [{"index": seam_at, "handover": None, "t": None, "distance": None}]


def test_unsplittable_video_runs_as_one_segment(pool: PosePool, tmp_path: Path) -> None:
    path = _video(tmp_path, n=30)
    merged = pool.estimate(path, fps=10.0, max_side=None, num_frames=30, origin_s=None)
    sequential = estimate_video(path, SmoothingEstimator(), fps=10.0, max_side=None)
    assert np.array_equal(merged.image, sequential.image) and merged.seams == []


def test_map_videos_returns_each_result_or_its_error(pool: PosePool, tmp_path: Path) -> None:
    good = _video(tmp_path, n=25)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 64)
    results = dict(
        pool.map_videos([good, bad], fps=5.0, max_side=None, cache_dir=None, use_cache=False)
    )
    assert sorted(results) == [0, 1]
    assert isinstance(results[0], PoseSequence) and len(results[0]) == 13
    assert results[0].extra["estimator"] == "smoothing"
    assert isinstance(results[1], VideoError) and "bad.mp4" in str(results[1])


def test_segment_decode_error_reaches_the_caller(pool: PosePool, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(VideoError, match="bad.mp4"):
        pool.estimate(bad, fps=10.0, max_side=None, num_frames=80, origin_s=0.0)


def test_estimate_keeps_frames_for_the_gates_and_inspect_uses_them(
    pool: PosePool, tmp_path: Path
) -> None:
    """The segments keep the planned frames (no second decode); `inspect` turns them into the
    orientation features, the same as decoding them again would give."""
    from musclemap.pose import quality

    path = _video(tmp_path)
    merged, _ = _both(pool, path, SmoothingEstimator)
    assert merged.checks is not None and len(merged.checks["features"]) == 3
    assert merged.checks["checked"] == 0  # a scripted estimator: people not checked
    seq = PoseSequence(
        merged.image, merged.world, merged.valid, merged.times, fps=10.0, width=32, height=32
    )
    kept = pool.inspect(path, seq)
    assert quality.frame_picks(seq) == quality.planned_picks(len(seq)) == [30, 60, 89]
    decoded = quality.inspect_frames(path, seq, None)
    assert kept["frame_features"] == pytest.approx(decoded["frame_features"])
    assert kept["colour"] == decoded["colour"] == 0.0  # flat grey frames
    # a second inspect has no kept frames left: decoded on a worker, same answer
    assert pool.inspect(path, seq)["frame_features"] == pytest.approx(decoded["frame_features"])


def test_map_checked_runs_the_gates_in_the_workers(pool: PosePool, tmp_path: Path) -> None:
    """Batch mode: poses and the quality block come back from the worker, equal to the gates
    run here on the same poses."""
    from musclemap.pose.quality import assess_video

    path = _video(tmp_path, n=40, size=64)
    ((i, result),) = list(
        pool.map_checked([path], fps=10.0, max_side=None, cache_dir=None, use_cache=False)
    )
    assert i == 0 and isinstance(result, tuple)
    seq, quality = result
    gates = {"resolution", "frame_rate", "orientation", "pose_confidence", "motion", "colour"}
    gates.add("people")
    assert set(quality) == gates
    plain = estimate_video(path, SmoothingEstimator(), fps=10.0, max_side=None)
    plain.width, plain.height = 64, 64
    _, here = assess_video(path, plain, estimator=SmoothingEstimator())
    assert quality == here
    assert quality["people"] == {"count": 1, "frames_checked": 0, "detail": "not checked"}
    assert quality["colour"] == {"grey": True, "coloured_share": 0.0}


@pytest.mark.parametrize("rate", [10, 5, 7])
def test_a_batch_worker_keeps_the_frames_the_gates_would_decode(tmp_path: Path, rate: int) -> None:
    """The batch worker's pass keeps the frames `quality.frame_picks` names (no second
    decode), also for a video slower than the sampling rate, whose repeated frames are not
    posed again: a pick that falls on a repeat keeps that (repeated) frame."""
    from musclemap.data.video_io import probe
    from musclemap.pose.parallel import _FrameKeeper
    from musclemap.pose.quality import decode_frames, frame_picks, planned_picks
    from musclemap.pose.sequential import extract_sequential

    path = _video(tmp_path, n=4 * rate, size=64, rate=rate)
    info = probe(path)
    keeper = _FrameKeeper(planned_picks(sampled_frames(info, 10.0)))
    seq = extract_sequential(path, SmoothingEstimator(), fps=10.0, max_side=None,
                             cache_dir=None, use_cache=False, on_frame=keeper)
    picks = frame_picks(seq)
    decoded = decode_frames(path, seq, picks)
    assert len(keeper.kept) == len(picks) == 3
    for (frame, _), i in zip(keeper.kept, picks, strict=True):
        assert np.array_equal(frame, decoded[i])


def test_estimate_takes_over_a_prefetched_job(pool: PosePool, tmp_path: Path) -> None:
    # The console script's predict starts the job before the CLI asks for it: the CLI's
    # estimate (same video, by another name of the same file, same settings) waits for that
    # job instead of posing the video again, and gets the same result.
    from musclemap.data.video_io import probe

    path = _video(tmp_path)
    direct, _ = _both(pool, path, SmoothingEstimator)
    info = probe(path)
    pool.prefetch(path, fps=10.0, max_side=None, info=info)
    submitted = pool._key
    (tmp_path / "again.mp4").symlink_to(path)
    merged = pool.estimate(
        tmp_path / "again.mp4",
        fps=10.0,
        max_side=None,
        num_frames=sampled_frames(info, 10.0),
        origin_s=info.start_s,
    )
    assert pool._key == submitted and not pool._prefetched  # not submitted again
    assert np.array_equal(merged.image, direct.image) and merged.seams == direct.seams
    # another rate is another job
    pool.prefetch(path, fps=5.0, max_side=None, info=info)
    other = pool.estimate(
        path, fps=10.0, max_side=None, num_frames=len(direct.times), origin_s=info.start_s
    )
    assert pool._key == submitted + 4 and np.array_equal(other.image, direct.image)
    slow = pool.estimate(  # the 5 fps job is still there to take over
        path,
        fps=5.0,
        max_side=None,
        num_frames=sampled_frames(info, 5.0),
        origin_s=info.start_s,
    )
    assert pool._key == submitted + 4 and not pool._prefetched and len(slow.times) == 60


def test_a_batch_starts_with_the_largest_videos(tmp_path: Path) -> None:
    # Longest (largest) first: the last videos to finish are short, so no core idles long.
    short, long = _video(tmp_path, n=25), _video(tmp_path, n=60)
    with PosePool(1, factory=SmoothingEstimator) as one:
        done = [
            i
            for i, _ in one.map_videos(
                [short, long], fps=10.0, max_side=None, cache_dir=None, use_cache=False
            )
        ]
    assert done == [1, 0]


def test_a_batch_orders_videos_by_their_sampled_frames_not_their_bytes(tmp_path: Path) -> None:
    import av

    from conftest import write_video

    # A long still video is a small file, a short noisy one a large file: the frames are the work.
    still = write_video(tmp_path / "still.mp4", np.full((90, 32, 32, 3), 128, np.uint8), fps=30)
    rng = np.random.default_rng(0)
    noisy = write_video(tmp_path / "noisy.mp4", rng.integers(0, 256, (40, 32, 32, 3), np.uint8))
    slow = write_video(tmp_path / "slow.mp4", np.full((10, 32, 32, 3), 90, np.uint8), fps=2)
    missing = tmp_path / "missing.mp4"
    assert still.stat().st_size < noisy.stat().st_size
    for p in (still, noisy, slow):
        with av.open(str(p)) as c:
            assert c.streams.video[0].frames in (90, 40, 10)
    # 3 s at 30 fps -> 30 frames posed at 10 fps; 4 s at 10 fps -> 40; 5 s at 2 fps -> 10
    # (its 46 sampled frames repeat them, posed once); a missing file last (its job reports it).
    assert work_order([still, noisy, missing, slow], 10.0) == [1, 0, 3, 2]
    assert work_order([still, noisy], 5.0) == [1, 0]  # 15 and 20 frames


@pytest.mark.parametrize(
    ("state", "taken"),
    [
        ("TRACKING", [59, 40]),
        ("FIRST", [59, 40]),
        ("RESTART", [59, 40]),
        ("CHEAP", []),
        ("DONE", []),
    ],
)
def test_a_later_segment_checks_its_own_frames_unless_segment_zero_does_it_cheaply(
    tmp_path: Path, state: str, taken: list[int]
) -> None:
    # Segment 1, done, checks its rows' kept frames (last first) while segment 0 tracks, is
    # on its first check (a graph restart) or needs a restart for each next one (it found a
    # second person); not when segment 0's next check is cheap. Each frame once: segment 0
    # skips the ones segment 1 claimed.
    from musclemap.pose import orientation
    from musclemap.pose.parallel import _check_all, _check_own
    from musclemap.pose.seams import Board

    board = Board(str(tmp_path), [80, 80], create=True)
    board.checker[0] = getattr(Board, state)
    rng = np.random.default_rng(0)
    frames = {i: rng.integers(0, 256, (36, 64, 3), dtype=np.uint8) for i in (20, 40, 59)}
    lm = np.full((33, 3), 0.5, np.float32)
    mine = {i: (frames[i], lm) for i in (40, 59)}
    got = _check_own(board, 3, mine, SmoothingEstimator())
    assert list(got) == taken
    for i, one in got.items():
        np.testing.assert_allclose(
            one["features"][0], orientation.turned_frame_features([frames[i]])
        )
        assert (one["hits"], one["checked"]) == (0, 0)  # a scripted estimator: not checked
    board.state[1][0] = board.state[1][2] = 1  # segment 1 is done
    for i in (40, 59):
        board.leave(i, frames[i], lm)
    rest = _check_all(
        board, [0, 38], [20, 40, 59], {20: (frames[20], lm)}, 39, SmoothingEstimator()
    )
    assert sorted(rest) == sorted({20, 40, 59} - set(taken))
    assert int(board.checker[0]) == Board.DONE


@pytest.mark.parametrize(
    ("state", "taken"),
    [("TRACKING", [59, 40]), ("FIRST", []), ("CHEAP", []), ("DONE", [])],
)
def test_segment_zero_keeps_the_checks_once_its_detect_graph_starts(
    tmp_path: Path, state: str, taken: list[int]
) -> None:
    # With MediaPipe's `detect` (a graph kept for the checks) only segment 0's first check
    # starts a graph; every next one is cheap, so a later segment that is done checks its own
    # frames only while segment 0 still tracks. Segment 0 then says CHEAP after each check,
    # whatever it found.
    pytest.importorskip("mediapipe")
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator
    from musclemap.pose.parallel import _check_all, _check_own
    from musclemap.pose.seams import Board

    class Detecting(MediaPipePoseEstimator):
        """Someone found in every frame, no graph."""

        def __init__(self) -> None:
            super().__init__()
            self.detected: list[float] = []

        def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
            raise AssertionError("the checks must not feed the tracker")

        def reset(self) -> None:
            raise AssertionError("the checks must not restart the tracker")

        def detect(self, frame_rgb: np.ndarray) -> PoseFrame | None:
            self.detected.append(float(frame_rgb.mean()))
            image = np.full((33, 3), 0.9, np.float32)
            return PoseFrame(image=image, world=np.zeros((33, 4), np.float32))

    board = Board(str(tmp_path), [80, 80], create=True)
    board.checker[0] = getattr(Board, state)
    rng = np.random.default_rng(0)
    frames = {i: rng.integers(0, 256, (36, 64, 3), dtype=np.uint8) for i in (20, 40, 59)}
    lm = np.full((33, 3), 0.5, np.float32)
    later = Detecting()
    got = _check_own(board, 3, {i: (frames[i], lm) for i in (40, 59)}, later)
    assert list(got) == taken and len(later.detected) == len(taken)
    assert all(one["hits"] == 1 and one["checked"] == 1 for one in got.values())
    board.state[1][0] = board.state[1][2] = 1  # segment 1 is done
    for i in (40, 59):
        board.leave(i, frames[i], lm)
    states = []

    class Watching(Detecting):
        def detect(self, frame_rgb: np.ndarray) -> PoseFrame | None:
            states.append(int(board.checker[0]))
            return super().detect(frame_rgb)

    first = Watching()
    rest = _check_all(board, [0, 38], [20, 40, 59], {20: (frames[20], lm)}, 39, first)
    assert sorted(rest) == sorted({20, 40, 59} - set(taken))
    # Checked until two hits of three settle the count; CHEAP after the first one.
    assert states == [Board.FIRST, Board.CHEAP][: len(states)] and len(states) == 2 - len(taken)
    assert int(board.checker[0]) == Board.DONE


def test_a_check_whose_answer_cannot_change_the_count_runs_no_detector(tmp_path: Path) -> None:
    # Two of three kept frames showed a second person on the other segment's side: the third
    # frame's answer cannot change `people`, so its detector (a graph restart) is not run.
    from musclemap.pose import orientation
    from musclemap.pose.parallel import _check_one
    from musclemap.pose.quality import colour_share
    from musclemap.pose.seams import Board

    class Counting:
        calls = 0

        def reset(self) -> None:
            pass

        def estimate(self, frame: np.ndarray) -> None:
            Counting.calls += 1

    board = Board(str(tmp_path), [80, 80], create=True)
    frame = np.random.default_rng(1).integers(0, 256, (36, 64, 3), dtype=np.uint8)
    pair = (frame, np.full((33, 3), 0.5, np.float32))
    one = _check_one(board, 3, 20, pair, Counting())  # type: ignore[arg-type]
    assert (one["hits"], one["checked"], Counting.calls, board.tally()) == (0, 1, 1, (0, 1))
    board.record(40, True)
    board.record(59, True)
    one = _check_one(board, 3, 30, pair, Counting())  # type: ignore[arg-type]
    assert (one["hits"], one["checked"], Counting.calls) == (0, 1, 1)  # settled: none run
    np.testing.assert_allclose(one["features"][0], orientation.turned_frame_features([frame]))
    assert one["colour"] == [pytest.approx(colour_share(frame))]
    assert board.tally() == (2, 2)
