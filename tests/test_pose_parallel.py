"""Pose on every core (`musclemap.pose.parallel`): blocks of whole tracking segments, pool, batch.

Stateful stand-in estimators behave like trackers: one forgets slowly (an exponential filter over
frame brightness), one never forgets (it keeps the first frame it saw since its reset); a
tracker reset at other frames, or not reset, gives other landmarks, so every mode must reset at
the same segment starts to give the same result.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musclemap.data.pose_sequence import PoseFrame, PoseSequence
from musclemap.errors import VideoError
from musclemap.pose.parallel import PosePool, cpu_budget, expected_frames
from musclemap.pose.segments import plan_segments
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


class StubbornEstimator(SmoothingEstimator):
    """Never forgets the first frame it saw since its reset."""

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        level = float(frame_rgb.mean()) / 255.0
        self.state = level if self.state is None else self.state
        image = np.full((33, 3), 0.5, np.float32)
        image[:, 0] = 0.5 * self.state + 0.5 * level
        return PoseFrame(image=image, world=np.zeros((33, 4), np.float32))


def _video(tmp_path: Path, n: int = 120, gop: int = 10, size: int = 32) -> Path:
    """Frames of pseudo-random brightness (so a restarted filter differs), a keyframe every
    `gop` frames."""
    import av

    rng = np.random.default_rng(0)
    path = tmp_path / f"v{n}.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=10)
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
        num_frames=expected_frames(info.duration_s, 10.0),
        origin_s=info.start_s,
        progress=progress,
    )
    return merged, estimate_video(path, factory(), fps=10.0, max_side=None)


def _continuous(path: Path, estimator: Any) -> np.ndarray:
    """x of every frame from one tracker that is never reset (the scheme before segments)."""
    from musclemap.data.video_io import iter_frames

    return np.array([estimator.estimate(rgb).image[0, 0] for _, rgb in iter_frames(path, fps=10.0)])


def test_parallel_is_the_sequential_run_bit_for_bit(pool: PosePool, tmp_path: Path) -> None:
    seen: list[float] = []
    video = _video(tmp_path)
    merged, sequential = _both(pool, video, SmoothingEstimator, lambda f, _: seen.append(f))
    # 120 frames: 3 segments of 40, in 2 blocks ([0] and [40, 80]).
    assert merged.segments == sequential.extra["segments"] == plan_segments(120, 10.0)
    assert merged.segments == [0, 40, 80]
    np.testing.assert_array_equal(merged.times, sequential.times)
    np.testing.assert_array_equal(merged.image, sequential.image)
    np.testing.assert_array_equal(merged.valid, sequential.valid)
    assert seen and all(0 <= f < 1 for f in seen)
    # Not vacuous: the tracker is reset at 40 and 80, which a continuous one is not.
    plain = _continuous(video, SmoothingEstimator())
    np.testing.assert_array_equal(plain[:40], sequential.image[:40, 0, 0])
    assert plain[40] != sequential.image[40, 0, 0] and plain[80] != sequential.image[80, 0, 0]


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_any_worker_count_and_batch_give_the_same_poses(tmp_path: Path, workers: int) -> None:
    # A tracker that never forgets its first frame: any other reset point would show.
    video = _video(tmp_path, n=130)
    sequential = estimate_video(video, StubbornEstimator(), fps=10.0, max_side=None)
    assert sequential.extra["segments"] == [0, 32, 65, 97]
    with PosePool(workers, factory=StubbornEstimator) as stubborn:
        merged, _ = _both(stubborn, video, StubbornEstimator)
        ((_, batch),) = list(
            stubborn.map_videos([video], fps=10.0, max_side=None, cache_dir=None, use_cache=False)
        )
    assert isinstance(batch, PoseSequence)
    np.testing.assert_array_equal(merged.image, sequential.image)
    np.testing.assert_array_equal(batch.image, sequential.image)
    np.testing.assert_array_equal(batch.times, merged.times)
    assert batch.extra["segments"] == merged.segments == [0, 32, 65, 97]
    assert batch.extra["settings"]["segment_s"] == 4.0


def test_a_video_that_cannot_seek_is_one_block_with_the_same_resets(
    pool: PosePool, tmp_path: Path
) -> None:
    path = _video(tmp_path, n=90)
    merged = pool.estimate(path, fps=10.0, max_side=None, num_frames=90, origin_s=None)
    sequential = estimate_video(path, SmoothingEstimator(), fps=10.0, max_side=None)
    np.testing.assert_array_equal(merged.image, sequential.image)
    assert merged.segments == [0, 30, 60]


def test_a_block_checks_the_kept_frames_of_its_own_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each block checks every kept frame it posed (orientation features; a second person with
    # the estimator's `detect`, here none: a scripted estimator is not asked), and they join
    # in frame order.
    from musclemap.data.video_io import probe
    from musclemap.pose import orientation, parallel, quality
    from musclemap.pose.segments import merge_blocks

    path = _video(tmp_path, n=120, size=64)
    monkeypatch.setattr(
        parallel, "_WORKER", {"estimator": SmoothingEstimator(), "progress": None, "threads": 1}
    )
    picks = quality.planned_picks(120)
    assert picks == [30, 60, 89]
    origin = probe(path).start_s
    first = parallel._run_block(path, 10.0, None, [0], 40, origin, 0, [30])
    later = parallel._run_block(path, 10.0, None, [40, 80], None, origin, 1, [60, 89])
    assert (len(first), len(later)) == (40, 80)
    assert sorted(first.extra["checks"]) == [30] and sorted(later.extra["checks"]) == [60, 89]
    merged = merge_blocks([first, later], [0, 40, 80])
    assert merged.checks is not None and merged.checks["checked"] == 0
    frames = quality.decode_frames(path, first, [30]) | {
        i + 40: f for i, f in quality.decode_frames(path, later, [20, 49]).items()
    }
    for i, features in zip(picks, merged.checks["features"], strict=True):
        np.testing.assert_allclose(features, orientation.turned_frame_features([frames[i]]))


def test_a_real_clip_gives_the_same_landmarks_on_one_core_two_and_in_a_batch(
    wild_dir: Path, tmp_path: Path
) -> None:
    """MediaPipe on a real clip (6.5 s: 2 segments): workers=1, workers=2 (one segment per
    worker) and a batch (the whole video on one worker) agree bit for bit."""
    pytest.importorskip("mediapipe")
    from musclemap.pose.extract import extract_poses

    clip = wild_dir / "clips" / "squat__myoxyn__1.mp4"
    one = extract_poses(clip, workers=1, use_cache=False)
    two = extract_poses(clip, workers=2, use_cache=False)
    with PosePool(2) as batch_pool:
        ((_, batch),) = list(
            batch_pool.map_videos([clip], fps=10.0, max_side=720, cache_dir=None, use_cache=False)
        )
    assert isinstance(batch, PoseSequence)
    assert one.extra["segments"] == two.extra["segments"] == batch.extra["segments"] == [0, 32]
    assert one.valid.sum() > 50
    for seq in (two, batch):
        np.testing.assert_array_equal(seq.times, one.times)
        np.testing.assert_array_equal(seq.valid, one.valid)
        np.testing.assert_array_equal(seq.image, one.image)
        np.testing.assert_array_equal(seq.world, one.world)


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
    assert set(quality) == {"resolution", "frame_rate", "orientation", "pose_confidence", "people"}
    plain = estimate_video(path, SmoothingEstimator(), fps=10.0, max_side=None)
    plain.width, plain.height = 64, 64
    _, here = assess_video(path, plain, estimator=SmoothingEstimator())
    assert quality == here
    assert quality["people"] == {"count": 1, "frames_checked": 0, "detail": "not checked"}


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
        num_frames=expected_frames(info.duration_s, 10.0),
        origin_s=info.start_s,
    )
    assert pool._key == submitted and not pool._prefetched  # not submitted again
    assert np.array_equal(merged.image, direct.image) and merged.segments == direct.segments
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
        num_frames=expected_frames(info.duration_s, 5.0),
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
