"""MediaPipe estimator: settings, no person in a generated video, a real clip end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mediapipe")

from musclemap.pose.estimator import PoseEstimator  # noqa: E402
from musclemap.pose.extract import extract_poses  # noqa: E402
from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator  # noqa: E402


def test_only_complexity_one() -> None:
    with pytest.raises(ValueError, match="complexity"):
        MediaPipePoseEstimator(model_complexity=2)
    est = MediaPipePoseEstimator()
    assert isinstance(est, PoseEstimator)
    settings = est.settings()
    assert settings["model_complexity"] == 1 and settings["mediapipe"]
    est.close()


def test_rejects_non_rgb_frame() -> None:
    with MediaPipePoseEstimator() as est, pytest.raises(ValueError, match="uint8"):
        est.estimate(np.zeros((8, 8), np.float32))


def test_no_person_gives_no_detection(make_video, tmp_path: Path) -> None:
    video = make_video("empty_room.mp4", num_frames=8, size=(96, 64))
    seq = extract_poses(video, fps=10.0, cache_dir=tmp_path / "cache")
    assert len(seq) == 8
    assert not seq.valid.any() and seq.coverage == 0.0
    assert np.isnan(seq.image).all() and np.isnan(seq.world).all()
    assert seq.extra["estimator"] == "mediapipe_pose"


@pytest.mark.slow
def test_real_clip_end_to_end(wild_dir: Path, tmp_path: Path) -> None:
    # 2.4 s at 5 fps: the shortest real clip, sampled at 10 fps (frames repeat).
    video = wild_dir / "clips" / "jumping_jack__treadtv__1.mp4"
    if not video.is_file():
        pytest.skip(f"{video} not present")
    seq = extract_poses(video, fps=10.0, cache_dir=tmp_path / "cache")
    assert len(seq) >= 20
    assert seq.coverage >= 0.9
    assert (seq.width, seq.height) == (448, 360)
    ok = seq.image[seq.valid]
    assert np.nanmin(ok[..., :2]) > -0.5 and np.nanmax(ok[..., :2]) < 1.5
    # World landmarks are metres around the hips: a person is about 1-2 m tall.
    height = np.nanmax(seq.world[seq.valid][..., 1], axis=1) - np.nanmin(
        seq.world[seq.valid][..., 1], axis=1
    )
    assert 0.8 < float(np.median(height)) < 2.5
    assert seq.extra["track_jumps_s"] == []
    # reset() between videos drops tracking and smoothing state: a rerun is identical.
    with MediaPipePoseEstimator() as est:
        extract_poses(
            wild_dir / "clips" / "star_jump__treadtv__1.mp4", estimator=est, use_cache=False
        )
        again = extract_poses(video, estimator=est, use_cache=False)
    np.testing.assert_array_equal(again.valid, seq.valid)
    np.testing.assert_allclose(again.image, seq.image, atol=1e-6)


def test_lean_import_then_the_whole_package() -> None:
    # The pose solution alone (no matplotlib, no audio tasks, and its model downloader with
    # urllib and ssl only once it is used); a later `import mediapipe` in the same process
    # still gets the whole package.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from musclemap.pose.mediapipe_estimator import import_pose_solution, lean_only\n"
        "pose = import_pose_solution()\n"
        "assert lean_only() and not {'matplotlib', 'sounddevice'} & set(sys.modules)\n"
        "assert not {'urllib.request', 'http.client', 'ssl'} & set(sys.modules)\n"
        "assert callable(pose.download_utils.download_oss_model)\n"
        "assert 'urllib.request' in sys.modules\n"
        "import mediapipe\n"
        "assert mediapipe.__version__ == '0.10.21' and mediapipe.solutions.pose is pose\n"
        "assert mediapipe.solutions.download_utils is pose.download_utils\n"
        "from mediapipe.tasks.python import vision\n"
        "assert vision.PoseLandmarker and mediapipe.Image and not lean_only()\n"
        "print('ok')\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": src}
    )
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_predict_prints_no_native_log_lines(
    wild_dir: Path, tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    """MediaPipe's C++ notices (TFLite delegate, absl warnings: also from a second-person check
    graph that never saw a person and starts its landmark model while closing) never reach the
    user's terminal, in-process or from the pose workers."""
    monkeypatch.setenv("MUSCLEMAP_CACHE", str(tmp_path / "cache"))
    clip = wild_dir / "clips" / "squat__kbtrainer__1.mp4"
    res = run_cli("predict", clip, "--json", tmp_path / "o.json", "--workers", workers)
    assert res.returncode == 0, res.stderr
    native = [line for line in res.stderr.splitlines()
              if line.startswith(("W0000", "I0000", "E0000", "INFO:", "WARNING: All log"))]
    assert native == []


def test_warm_up_and_reset_of_a_fresh_graph_change_nothing(wild_dir: Path) -> None:
    # warm_up's blank frame finds no person and reset() then is a no-op (no graph restart, whose
    # next frame would pay the models' start-up again): the landmarks are a new graph's, bit
    # for bit; once a person was tracked, reset() does restart it.
    from musclemap.data.video_io import iter_frames

    video = wild_dir / "clips" / "squat__kbtrainer__1.mp4"
    frames = [f for _, f in iter_frames(video, fps=10.0, max_side=720)][:6]
    with MediaPipePoseEstimator() as new:
        ref = [new.estimate(f) for f in frames]
    with MediaPipePoseEstimator() as est:
        est.warm_up()
        est.reset()
        assert est.fresh
        got = [est.estimate(f) for f in frames]
        assert not est.fresh
        est.reset()
        assert est.fresh
        again = [est.estimate(f) for f in frames]
    for a, b, c in zip(ref, got, again, strict=True):
        assert a is not None and b is not None and c is not None
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.image, c.image)


def test_detect_is_a_fresh_graphs_first_frame_and_leaves_the_tracker_alone(
    wild_dir: Path,
) -> None:
    # The second-person checks' `detect` (a static-mode graph kept for them) finds what the
    # tracking graph finds on its first frame after a reset, bit for bit, on whole frames and
    # on frames with the person masked out (as the checks see them); and the tracker goes on
    # as if no check had run.
    from musclemap.data.video_io import iter_frames
    from musclemap.pose.quality import mask_person

    video = wild_dir / "clips" / "bicep_curl__ffreaks__1.mp4"  # a second person in view
    if not video.is_file():
        pytest.skip(f"{video} not present")
    frames = [f for _, f in iter_frames(video, fps=10.0, max_side=720)][:40:6]
    with MediaPipePoseEstimator() as plain:
        ref = [plain.estimate(f) for f in frames]
    with MediaPipePoseEstimator() as fresh, MediaPipePoseEstimator() as est:
        got = []
        for f, seen in zip(frames, ref, strict=True):
            assert seen is not None
            for picture in (f, mask_person(f, seen.image)):
                fresh.reset()
                want, found = fresh.estimate(picture), est.detect(picture)
                assert (want is None) == (found is None)
                if want is not None and found is not None:
                    np.testing.assert_array_equal(want.image, found.image)
                    np.testing.assert_array_equal(want.world, found.world)
            got.append(est.estimate(f))  # tracking between the checks
    for a, b in zip(ref, got, strict=True):
        assert a is not None and b is not None
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.world, b.world)


def test_a_grid_tracker_detects_in_its_own_graph_and_tracks_on_unchanged(
    wild_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tracker on a grid (`mediapipe_g4`, predict's) checks on its tracking graph: a frame
    # fed without a region, never smoothed, the region feedback put back. Its tracking goes on
    # bit for bit as without the checks, and each check finds what a static-mode graph finds
    # (to float rounding: that graph's landmarks pass its smoothing's pass-through, which
    # scales them by the image size and back), where the second graph would cost a start of
    # both models. Past `_CHECKS_PER_FRAME` checks between two frames, the static graph.
    from musclemap.data.video_io import iter_frames
    from musclemap.pose import mediapipe_estimator as mpe
    from musclemap.pose.estimator import build_estimator
    from musclemap.pose.quality import mask_person

    video = wild_dir / "clips" / "bicep_curl__ffreaks__1.mp4"  # a second person in view
    if not video.is_file():
        pytest.skip(f"{video} not present")
    frames = [f for _, f in iter_frames(video, fps=10.0, max_side=720)][:30]
    with build_estimator("mediapipe_g4") as plain:
        ref = [plain.estimate(f) for f in frames]
    with build_estimator("mediapipe_g4") as est, build_estimator("mediapipe_g4") as other:
        got, checked = [], 0
        for k, frame in enumerate(frames):
            got.append(est.estimate(frame))
            seen = ref[k]
            if k % 4 != 1 or seen is None:
                continue
            for picture in (frame, mask_person(frame, seen.image)):
                found = est.detect(picture)
                monkeypatch.setattr(mpe, "_CHECKS_PER_FRAME", 0)  # `other`: the static graph
                want = other.detect(picture)
                monkeypatch.undo()
                assert (want is None) == (found is None)
                if want is not None and found is not None:
                    checked += 1
                    np.testing.assert_allclose(found.image, want.image, rtol=0, atol=1e-6)
                    np.testing.assert_allclose(found.world, want.world, rtol=0, atol=1e-6)
        assert est._static is None and other._static is not None
        assert checked >= 8
        monkeypatch.setattr(mpe, "_CHECKS_PER_FRAME", 1)
        first, second = est.detect(frames[-1]), est.detect(frames[-1])
        assert est._static is not None  # the second check, past the limit
        assert first is not None and second is not None
        np.testing.assert_allclose(first.image, second.image, rtol=0, atol=1e-6)
    for a, b in zip(ref, got, strict=True):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            np.testing.assert_array_equal(a.image, b.image)
            np.testing.assert_array_equal(a.world, b.world)


def test_process_frame_gives_what_pose_process_gives(wild_dir: Path) -> None:
    # The estimator's own call of the graph (no namedtuple class per frame, landmarks read from
    # their wire format) against `Pose.process` on a second graph fed the same frames.
    from musclemap.data.video_io import iter_frames
    from musclemap.pose.mediapipe_estimator import (
        frame_from_result,
        import_pose_solution,
        process_frame,
    )

    video = wild_dir / "clips" / "squat__kbtrainer__1.mp4"
    if not video.is_file():
        pytest.skip(f"{video} not present")
    frames = [f for _, f in iter_frames(video, fps=10.0, max_side=720)][:8]
    frames.insert(3, np.zeros((64, 64, 3), np.uint8))  # nobody: tracking starts again
    solution = import_pose_solution()
    with solution.Pose(model_complexity=1) as a, solution.Pose(model_complexity=1) as b:
        for frame in frames:
            ours, theirs = process_frame(a, frame), frame_from_result(b.process(frame))
            assert (ours is None) == (theirs is None)
            if ours is not None and theirs is not None:
                assert ours.image.dtype == np.float32 and ours.image.shape == (33, 3)
                np.testing.assert_array_equal(ours.image, theirs.image)
                np.testing.assert_array_equal(ours.world, theirs.world)


def test_a_graph_on_one_thread_gives_the_same_landmarks(wild_dir: Path) -> None:
    # `new_pose` runs every calculator on one executor thread of its own: the same graph and
    # landmarks as MediaPipe's own `Pose` on its default pool, frame by frame, through a frame
    # with nobody (tracking starts again; the image landmarks' filter resets).
    from musclemap.data.video_io import iter_frames
    from musclemap.pose.mediapipe_estimator import import_pose_solution, new_pose, process_frame

    video = wild_dir / "clips" / "squat__kbtrainer__1.mp4"
    if not video.is_file():
        pytest.skip(f"{video} not present")
    frames = [f for _, f in iter_frames(video, fps=10.0, max_side=720)][:12]
    frames.insert(5, np.zeros((64, 64, 3), np.uint8))
    # With its landmark smoothing in a graph of its own (`smoothing_apart`), the same too.
    with (
        import_pose_solution().Pose(model_complexity=1) as a,
        new_pose(model_complexity=1) as b,
        new_pose(model_complexity=1, smoothing_apart=True) as c,
    ):
        for frame in frames:
            theirs = process_frame(a, frame)
            for ours in (process_frame(b, frame), process_frame(c, frame)):
                assert (ours is None) == (theirs is None)
                if ours is not None and theirs is not None:
                    np.testing.assert_array_equal(ours.image, theirs.image)
                    np.testing.assert_array_equal(ours.world, theirs.world)
        c.smoothing.close()


def test_landmarks_without_every_field_are_parsed() -> None:
    # A landmark list whose wire format is not the pose graph's fixed one (a field unset) is
    # read through the proto parser: the same values, unset ones 0.
    from mediapipe.framework.formats import landmark_pb2
    from mediapipe.python import packet_creator

    from musclemap.pose.mediapipe_estimator import _landmarks

    full = landmark_pb2.NormalizedLandmarkList()
    partial = landmark_pb2.NormalizedLandmarkList()
    for i in range(33):
        full.landmark.add(x=i / 33, y=0.5, z=-0.25, visibility=0.9, presence=0.8)
        partial.landmark.add(x=i / 33, y=0.5, visibility=0.9)  # no z, no presence
    want = np.array([(i / 33, 0.5, -0.25, 0.9) for i in range(33)], np.float32)
    np.testing.assert_array_equal(_landmarks(packet_creator.create_proto(full)), want)
    want[:, 2] = 0.0
    np.testing.assert_array_equal(_landmarks(packet_creator.create_proto(partial)), want)


def test_reset_between_videos_gives_a_new_graphs_landmarks(wild_dir: Path) -> None:
    # reset() after a video that ended with a person in view: the first one starts the graph
    # again with its landmark smoothing in a second graph, every later one restarts only that
    # graph (the tracker is fed a blank frame): either way the next video's landmarks, image
    # and world with their visibilities, are a new graph's bit for bit, through a frame
    # without a person mid-video too.
    from itertools import islice

    from musclemap.data.video_io import iter_frames
    from musclemap.pose.mediapipe_estimator import Smoothing

    names = ("squat__kbtrainer__1", "bicep_curl__ffreaks__1")
    clips = [wild_dir / "clips" / f"{n}.mp4" for n in names]
    if not all(c.is_file() for c in clips):
        pytest.skip(f"needs {names} in {wild_dir}")
    first, second = (
        [f for _, f in islice(iter_frames(c, fps=10.0, max_side=720), 10)] for c in clips
    )
    second.insert(5, np.zeros((48, 80, 3), np.uint8))

    def run(est: MediaPipePoseEstimator, frames: list[np.ndarray]) -> list:
        return [est.estimate(f) for f in frames]

    with MediaPipePoseEstimator() as new:
        new.warm_up()
        want = run(new, second)
    assert want[4] is not None and want[5] is None and want[6] is not None
    with MediaPipePoseEstimator() as est:
        est.warm_up()
        got = []
        for _ in range(3):
            assert run(est, first)[-1] is not None  # a person in view at the reset
            est.reset()
            got.append(run(est, second))
            assert isinstance(getattr(est._pose, "smoothing", None), Smoothing)
    for found in got:
        for a, b in zip(want, found, strict=True):
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                np.testing.assert_array_equal(a.image, b.image)
                np.testing.assert_array_equal(a.world, b.world)


def test_smoothing_apart_moves_the_landmark_filters_out() -> None:
    # The image and world landmarks' visibility and one-euro filters (and their switch
    # containers) run in the model-free smoothing graph; the tracking graph keeps the models
    # and the filters of its tracking region only. A blank frame goes through both.
    from musclemap.pose.mediapipe_estimator import Smoothing, new_pose, process_frame

    with new_pose(model_complexity=1, smoothing_apart=True) as pose:
        smoothing = pose.smoothing
        assert isinstance(smoothing, Smoothing)
        tracker, apart = pose._graph.text_config, smoothing.graph.text_config
        for name in ("VisibilitySmoothingCalculator", "LandmarksSmoothingCalculator"):
            assert tracker.count(f'calculator: "{name}"') == 1
            assert apart.count(f'calculator: "{name}"') == 4
        assert "InferenceCalculator" not in apart and "InferenceCalculator" in tracker
        assert process_frame(pose, np.zeros((64, 64, 3), np.uint8)) is None
        smoothing.restart()
        smoothing.close()


def test_roi_grid_snaps_centre_size_and_rotation() -> None:
    from mediapipe.framework.formats import rect_pb2

    from musclemap.pose.mediapipe_estimator import RoiGrid

    # A 640 x 360 frame: centre (101, 203) px, a square of 250 px, 7 degrees.
    rect = rect_pb2.NormalizedRect(
        x_center=101 / 640, y_center=203 / 360, width=250 / 640, height=250 / 360,
        rotation=float(np.deg2rad(7.0)),
    )
    cell = RoiGrid(centre_px=4.0, size_step=0.02, angle_deg=2.0).snap(rect, 640, 360)
    assert cell == (25, 51, 276, 4)
    side = float(np.exp(276 * 0.02))  # 249.6 px
    assert rect.x_center == pytest.approx(100 / 640) and rect.y_center == pytest.approx(204 / 360)
    assert rect.width * 640 == pytest.approx(side) and rect.height * 360 == pytest.approx(side)
    assert rect.rotation == pytest.approx(np.deg2rad(8.0))
    for bad in ({"centre_px": 0.0}, {"hold": -1}):
        with pytest.raises(ValueError, match="positive steps"):
            RoiGrid(**bad)


def test_a_snapped_tracker_rejoins_one_started_earlier(wild_dir: Path) -> None:
    # MediaPipe's own trackers started 5 frames apart never give the same landmarks again;
    # with the region snapped to a grid they do, bit for bit, from some frame to the end, and
    # stay within a few pixels of MediaPipe's own.
    from musclemap.data.video_io import iter_frames
    from musclemap.pose.mediapipe_estimator import RoiGrid

    video = wild_dir / "clips" / "archer_push_up__myoxyn__1.mp4"
    frames = [f for _, f in iter_frames(video, fps=10.0, max_side=720)][:36]

    def track(grid: RoiGrid | None, start: int) -> list[np.ndarray]:
        with MediaPipePoseEstimator(roi_grid=grid, smooth_landmarks=False) as est:
            found = [est.estimate(f) for f in frames[start:]]
        assert all(f is not None for f in found)
        return [np.concatenate([f.image.ravel(), f.world.ravel()]) for f in found if f]

    def same(a: list[np.ndarray], b: list[np.ndarray]) -> list[bool]:
        return [np.array_equal(x, y) for x, y in zip(a[5:], b, strict=True)]

    grid = RoiGrid(centre_px=4.0, size_step=0.02, angle_deg=2.0)
    snapped, late = track(grid, 0), track(grid, 5)
    agree = same(snapped, late)
    assert not agree[0] and agree[-10:] == [True] * 10
    first = agree.index(True)
    assert all(agree[first:])  # once the same region, the same from then on
    plain, plain_late = track(None, 0), track(None, 5)
    assert not any(same(plain, plain_late))
    image = np.array(snapped)[:, : 33 * 3].reshape(-1, 33, 3)
    ref = np.array(plain)[:, : 33 * 3].reshape(-1, 33, 3)
    assert float(np.median(np.abs(image - ref)[..., :2])) < 0.005  # 3 px of 640


def test_the_cut_loop_without_snapping_is_mediapipes_own(
    wild_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The region fed back from Python instead of the graph's loopback, unsnapped and made from
    # the smoothed auxiliary landmarks as the graph makes it: MediaPipe's landmarks bit for bit.
    from musclemap.data.video_io import iter_frames
    from musclemap.pose.mediapipe_estimator import RoiGrid

    video = wild_dir / "clips" / "squat__kbtrainer__1.mp4"
    frames = [f for _, f in iter_frames(video, fps=10.0, max_side=720)][:12]
    with MediaPipePoseEstimator() as est:
        want = [est.estimate(f) for f in frames]
    monkeypatch.setattr(RoiGrid, "snap", RoiGrid.cells)  # the cell, the region untouched
    with MediaPipePoseEstimator(roi_grid=RoiGrid(raw_aux=False)) as est:
        got = [est.estimate(f) for f in frames]
    for a, b in zip(want, got, strict=True):
        assert a is not None and b is not None
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.world, b.world)
