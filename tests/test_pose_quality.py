"""Input quality gates of `predict` (musclemap.pose.quality, musclemap.pose.orientation):
resolution, pose confidence, orientation (pixels turned, not metadata) and a second person; the
`quality` JSON block."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from conftest import write_video
from musclemap.data.pose_sequence import PoseFrame, PoseSequence
from musclemap.demo import synthetic_landmarks
from musclemap.errors import NoPersonError, VideoError
from musclemap.pose import orientation as ori
from musclemap.pose import quality as q
from musclemap.pose.extract import extract_poses
from musclemap.predictor import Predictor
from musclemap.skeleton import MEDIAPIPE33


def test_resolution_gate() -> None:
    with pytest.raises(VideoError, match=r"10x10 pixels is too small.*at least 48"):
        q.check_resolution(10, 10, name="tiny.mp4")
    assert q.check_resolution(64, 48)["ok"]


def test_pose_confidence_gate() -> None:
    world, image = synthetic_landmarks("biceps_curl", seconds=5.0)
    frames = [PoseFrame(i, w) for i, w in zip(image, world, strict=True)]
    seq = PoseSequence.from_frames(
        frames, list(np.arange(len(frames)) / 10), fps=10, width=96, height=96
    )
    assert q.check_confidence(seq) == {"value": 0.95, "min": q.MIN_CONFIDENCE, "low": False}
    seq.image[:, :, 2] = 0.3
    assert q.check_confidence(seq)["low"]
    assert q.quality_notes({"pose_confidence": q.check_confidence(seq)}) == [
        "low pose confidence (0.30): landmarks are uncertain"
    ]
    seq.image[:, :, 2] = 0.1
    with pytest.raises(NoPersonError, match="pose confidence 0.10"):
        q.check_confidence(seq, name="blurry.mp4")


class _Detector:
    """Finds a 'person' wherever a white block is left in the picture (no MediaPipe)."""

    name = "blocks"
    layout = MEDIAPIPE33

    def __init__(self) -> None:
        self.seen: list[tuple[int, ...]] = []

    def settings(self) -> dict:
        return {}

    def estimate(self, frame: np.ndarray) -> PoseFrame | None:
        self.seen.append(frame.shape)
        ys, xs = np.nonzero(frame[:, :, 0] > 200)
        if len(xs) == 0:
            return None
        image = np.zeros((33, 3), np.float32)
        image[:, 0], image[:, 1], image[:, 2] = (
            xs.mean() / frame.shape[1],
            ys.mean() / frame.shape[0],
            0.9,
        )
        return PoseFrame(image, np.zeros((33, 4), np.float32))

    def close(self) -> None:
        pass


def test_orientation_notes() -> None:
    model = ori.default_model()

    def notes(*scores: float) -> list[str]:
        found = ori.decide(np.array(scores), model.margin, doubt=model.doubt, checked="x")
        return q.quality_notes({"orientation": found.to_dict()})

    assert notes(0.0, -5.0, -5.0, -5.0) == []  # upright: nothing to say
    assert notes(0.0, model.margin + 1, 0.0, 0.0) == [
        "the picture looked turned 270 degrees; the poses were turned back 90 degrees "
        "counter-clockwise before scoring (if the person was upright, run again with --rotate 0)"
    ]
    # a turn ahead but not clearly: scored as filmed, and the reader told what to do
    assert notes(0.0, -5.0, -5.0, model.doubt + 0.5) == [
        "the picture may be turned 90 degrees counter-clockwise (the orientation check was not "
        "sure; the poses were scored as filmed): if the person is not upright in the video, "
        "run again with --rotate 90 (turns it 90 degrees clockwise)"
    ]
    assert "turned 180 degrees (" in notes(0.0, -5.0, model.doubt + 0.5, -5.0)[0]
    assert notes(0.0, model.doubt + 0.5, -5.0, -5.0)[0].startswith(
        "the picture may be turned 90 degrees clockwise (the orientation check was not sure"
    )
    left = notes(0.0, max(model.doubt, 0.0) + 0.5, 0.0, 0.0)[0]  # turn 1 ahead of the others
    assert left.endswith("run again with --rotate 270 (turns it 90 degrees counter-clockwise)")
    # the user's own turn: said only when there is one
    asked = {"orientation": ori.requested(90).to_dict()}
    assert q.quality_notes(asked) == [
        "the poses were turned 90 degrees clockwise before scoring, as asked"
    ]
    assert q.quality_notes({"orientation": ori.requested(0).to_dict()}) == []
    with pytest.raises(ValueError, match="one of 0, 90, 180, 270 degrees clockwise, got 45"):
        ori.requested(45)


def _checks(hits: int, checked: int) -> dict[str, object]:
    """`check_kept_frames`' answer with only second-person counts."""
    return {"features": [], "colour": [], "hits": hits, "checked": checked}


def test_people_decided_never_changes_the_count() -> None:
    # Every pattern of second-person answers over 1-5 frames: skipping the frames whose answer
    # is settled (counted as checked, no hit) gives the count of checking them all.
    import itertools

    for n in range(1, 6):
        for answers in itertools.product([False, True], repeat=n):
            hits = skipped = 0
            for k, seen in enumerate(answers):
                if q.people_decided(hits, k - hits, n - k):
                    skipped += 1
                else:
                    hits += seen
            full = q.frame_checks(_checks(sum(answers), n))
            assert q.frame_checks(_checks(hits, n)) == full, answers
            assert skipped == 0 or n - skipped >= (n + 1) // 2
    assert q.people_decided(2, 0, 1) and q.people_decided(0, 2, 1)
    assert not q.people_decided(1, 1, 1) and not q.people_decided(1, 0, 2)


def test_kept_frames_stop_detecting_once_the_count_is_settled() -> None:
    frame = np.zeros((60, 100, 3), np.uint8)
    frame[10:50, 10:25] = 255  # the followed person
    frame[10:50, 70:85] = 255  # someone beside them, in every frame
    followed = np.zeros((33, 3), np.float32)
    followed[:, :2] = [[0.1, 10 / 60], [0.24, 49 / 60]] * 16 + [[0.17, 0.5]]
    detector = _Detector()
    got = q.check_kept_frames([(frame, followed)] * 3, detector)
    assert (got["hits"], got["checked"], len(detector.seen)) == (2, 3, 2)
    assert q.frame_checks(got)["people"] == 2
    alone = frame.copy()
    alone[10:50, 70:85] = 0
    detector = _Detector()
    got = q.check_kept_frames([(frame, followed), (alone, followed), (alone, followed)], detector)
    assert (got["hits"], got["checked"], len(detector.seen)) == (1, 3, 3)  # 1 of 3: all run
    assert q.frame_checks(got)["people"] == 1


def test_second_person_found_after_masking_the_first() -> None:
    frame = np.zeros((60, 100, 3), np.uint8)
    frame[10:50, 10:25] = 255  # the followed person
    followed = np.zeros((33, 3), np.float32)
    followed[:, :2] = [[0.1, 10 / 60], [0.24, 49 / 60]] * 16 + [[0.17, 0.5]]
    assert not q.other_person_seen(frame, followed, _Detector())
    frame[10:50, 70:85] = 255  # someone beside them
    assert q.other_person_seen(frame, followed, _Detector())
    masked = q.mask_person(frame, followed)
    assert (masked[10:50, 10:25] == 127).all() and (masked[10:50, 70:85] == 255).all()


class _DetectingTracker(_Detector):
    """A tracker with its own fresh detection (`detect`), as `MediaPipePoseEstimator` has."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def reset(self) -> None:
        self.calls.append("reset")

    def estimate(self, frame: np.ndarray) -> PoseFrame | None:
        self.calls.append("estimate")
        return super().estimate(frame)

    def detect(self, frame: np.ndarray) -> PoseFrame | None:
        self.calls.append("detect")
        return super().estimate(frame)


def test_second_person_check_uses_detect_without_touching_the_tracker() -> None:
    # With `detect` the check neither resets the tracker (a MediaPipe graph restart) nor feeds
    # it the masked frame; the answers are those of a reset and estimate.
    frame = np.zeros((60, 100, 3), np.uint8)
    frame[10:50, 10:25] = 255  # the followed person
    followed = np.zeros((33, 3), np.float32)
    followed[:, :2] = [[0.1, 10 / 60], [0.24, 49 / 60]] * 16 + [[0.17, 0.5]]
    tracker = _DetectingTracker()
    assert not q.other_person_seen(frame, followed, tracker)
    frame[10:50, 70:85] = 255  # someone beside them
    assert q.other_person_seen(frame, followed, tracker)
    assert tracker.calls == ["detect", "detect"]
    assert not q.restarts_per_check(tracker) and q.restarts_per_check(_Detector())
    kept = q.check_kept_frames([(frame, followed)] * 3, tracker)
    assert (kept["hits"], kept["checked"]) == (2, 3)
    assert "reset" not in tracker.calls and "estimate" not in tracker.calls


def test_frames_decoded_once_for_orientation_and_people(tmp_path: Path) -> None:
    """`inspect_frames`: CHECK_FRAMES frames where the person is, their features in four turns
    (the frame turned by k is feature row k) and the second-person count."""
    frames = np.zeros((20, 60, 100, 3), np.uint8)
    frames[:, 10:50, 10:26] = 255  # the followed person
    frames[:, 5:20] = (frames[:, 5:20] // 2) + 60  # a brighter band near the top
    video = write_video(tmp_path / "one.mp4", frames)
    followed = np.zeros((33, 3), np.float32)
    followed[:, :2] = [[0.1, 10 / 60], [0.25, 49 / 60]] * 16 + [[0.17, 0.5]]
    followed[:, 2] = 0.9
    seq = PoseSequence.from_frames(
        [PoseFrame(followed, np.zeros((33, 4), np.float32))] * 20,
        list(np.arange(20) / 10),
        fps=10,
        width=100,
        height=60,
    )
    # The frames the pose pass keeps (spread over all 20: 5, 10, 14), those with a person.
    assert q.frame_picks(seq) == q.planned_picks(20) == [5, 10, 14]
    detector = _Detector()
    one = q.inspect_frames(video, seq, detector)
    assert (one["people"], one["frames_checked"]) == (1, 3)
    assert len(detector.seen) == 2  # nobody else in two of three: the third cannot change it
    seq.valid[:6] = False  # no person there: not picked (the split pass keeps it, unchecked)
    assert q.frame_picks(seq) == [10, 14]
    seq.valid[:] = True
    features = one["frame_features"]
    assert features.shape == (4, ori.default_model().num_frame_features)
    turned = ori.turned_frame_features([np.rot90(frames[12], 1)])
    assert turned[3] == pytest.approx(ori.turned_frame_features([frames[12]])[0], abs=0.3)
    frames[:, 10:50, 70:86] = 255  # a second person
    two = q.inspect_frames(write_video(tmp_path / "two.mp4", frames), seq, _Detector())
    assert (two["people"], two["frames_checked"]) == (2, 3)
    assert q.inspect_frames(video, seq, None)["frames_checked"] == 0  # no detector: not checked


def test_colour_share_tells_a_grey_picture_from_a_little_colour() -> None:
    rng = np.random.default_rng(0)
    grey = np.repeat(rng.integers(0, 256, (360, 640, 1)), 3, 2).astype(np.uint8)
    assert q.colour_share(grey) == 0.0
    # chroma noise of an analog source: the thumbnail averages it away
    noisy = np.clip(grey + rng.normal(0, 3, grey.shape).round(), 0, 255).astype(np.uint8)
    assert q.colour_share(noisy) == 0.0
    # a person in black on a white floor: only skin is coloured (2% of the picture here; the
    # least coloured of the wild clips, 1.6%)
    floor = np.full((360, 640, 3), 235, np.uint8)
    floor[150:230, 300:330] = (205, 160, 135)
    assert q.colour_share(floor) > q.GREY_SHARE
    assert q.check_colour(q.colour_share(noisy)) == {"grey": True, "coloured_share": 0.0}
    assert q.check_colour(None) == {"grey": None, "detail": "not checked"}
    notes = q.quality_notes({"colour": q.check_colour(0.0)})
    assert len(notes) == 1 and notes[0].startswith("the video has no colour")
    assert not q.quality_notes({"colour": q.check_colour(q.colour_share(floor))})


def test_rotated_estimator_turns_frames_and_keys_the_cache() -> None:
    inner = _Detector()
    est = q.RotatedEstimator(inner, 1)
    est.estimate(np.zeros((60, 100, 3), np.uint8))
    assert inner.seen == [(100, 60, 3)] and est.settings() == {"rotate_ccw_deg": 90}


# End to end: the picture of a curl with a marker in its top-left corner, stored turned by k.
# The scripted estimator returns the curl's landmarks turned the way the marker says, as a pose
# estimator does for a turned picture.
CORNER_TURNS = {(0, 0): 0, (1, 0): 1, (1, 1): 2, (0, 1): 3}  # (bottom?, right?) -> turns


class _MarkerEstimator:
    name = "marker"
    layout = MEDIAPIPE33

    def __init__(self) -> None:
        self.world, self.image = synthetic_landmarks("biceps_curl", seconds=30.0)
        self.i = 0

    def settings(self) -> dict:
        return {"v": 1}

    def reset(self) -> None:
        self.i = 0

    def estimate(self, frame: np.ndarray) -> PoseFrame | None:
        h, w = frame.shape[:2]
        ys, xs = np.nonzero(frame[:, :, 0] > 200)
        k = CORNER_TURNS[(int(ys.mean() > h / 2), int(xs.mean() > w / 2))]
        world = self.world[self.i].copy()
        for _ in range(k):  # the world landmarks turn with the camera, as MediaPipe's do
            world[:, 0], world[:, 1] = world[:, 1].copy(), -world[:, 0].copy()
        frame_out = PoseFrame(ori.turn_image_landmarks(self.image[self.i], k), world)
        self.i += 1
        return frame_out

    def close(self) -> None:
        pass


def _marker_video(path: Path, turns: int) -> Path:
    frames = np.zeros((30, 64, 96, 3), np.uint8)
    frames[:, 4:16, 4:16] = (255, 60, 60)  # red: a colour picture, not noted as grey
    return write_video(path, np.ascontiguousarray(np.rot90(frames, turns, axes=(1, 2))))


def test_turned_video_is_turned_back(tmp_path: Path) -> None:
    upright = Predictor.default(cache_dir=tmp_path, estimator=_MarkerEstimator())
    ref = upright.predict(_marker_video(tmp_path / "up.mp4", 0))
    assert ref.quality["orientation"]["state"] == "upright"
    gates = {"resolution", "frame_rate", "orientation", "pose_confidence", "motion", "people"}
    gates.add("colour")
    assert set(ref.quality) == gates
    assert ref.to_dict()["quality"] == ref.quality and ref.notes == []
    for k in (1, 2, 3):
        video = _marker_video(tmp_path / f"turned{k}.mp4", k)
        pred = Predictor.default(cache_dir=tmp_path, estimator=_MarkerEstimator()).predict(video)
        assert pred.quality["orientation"]["rotated_deg"] == 90 * ((4 - k) % 4), pred.quality
        assert pred.muscles == pytest.approx(ref.muscles, abs=1e-4)
        assert f"turned back {90 * ((4 - k) % 4)} degrees" in pred.notes[-1]
        # without the gate the same video scores other muscles (the "shoulder 0.99")
        raw = extract_poses(video, estimator=_MarkerEstimator(), use_cache=False)
        wrong = Predictor.default(estimator=_MarkerEstimator()).predict_poses(raw)
        assert np.abs(wrong.scores_array() - ref.scores_array()).max() > 0.1


def test_rotate_as_asked_replaces_the_checks_turn(tmp_path: Path) -> None:
    """A turned video with the user's turn (`rotate`, degrees clockwise) scores as the upright
    one; rotate=0 keeps it as filmed (what the check turned back is undone)."""
    ref = Predictor.default(cache_dir=tmp_path, estimator=_MarkerEstimator()).predict(
        _marker_video(tmp_path / "up.mp4", 0)
    )
    video = _marker_video(tmp_path / "turned1.mp4", 1)  # turned 90 degrees counter-clockwise
    fixed = Predictor.default(cache_dir=tmp_path, estimator=_MarkerEstimator()).predict(
        video, rotate=90
    )
    assert fixed.quality["orientation"]["state"] == "set"
    assert fixed.quality["orientation"]["check"]["rotated_deg"] == 270  # the check agreed
    assert fixed.muscles == pytest.approx(ref.muscles, abs=1e-4)
    kept = Predictor.default(cache_dir=tmp_path, estimator=_MarkerEstimator()).predict(
        video, rotate=0
    )
    raw = extract_poses(video, estimator=_MarkerEstimator(), use_cache=False)
    as_filmed = Predictor.default(estimator=_MarkerEstimator()).predict_poses(raw)
    assert kept.muscles == pytest.approx(as_filmed.muscles, abs=1e-6)
    assert kept.quality["orientation"]["rotated_deg"] == 0


def test_tiny_video_refused_before_pose(make_video: Callable[..., Path], tmp_path: Path) -> None:
    est = _MarkerEstimator()
    video = make_video("tiny.mp4", num_frames=20, size=(10, 10))
    with pytest.raises(VideoError, match="10x10 pixels is too small"):
        Predictor.default(cache_dir=tmp_path, estimator=est).predict(video)
    assert est.i == 0


@pytest.mark.slow
def test_real_turned_curl_and_two_people(wild_dir: Path, tmp_path: Path) -> None:
    """MediaPipe on a real clip: turned 90 and 180 (pixels), and beside another person."""
    from musclemap.data.video_io import iter_frames

    def frames(name: str) -> np.ndarray:
        clip = wild_dir / "clips" / name
        return np.stack([f for _, f in iter_frames(clip, fps=10, max_side=480)])

    curl, squat = frames("bicep_curl__mrm__1.mp4"), frames("squat__kbtrainer__1.mp4")
    predictor = Predictor.default(cache_dir=tmp_path)
    ref = predictor.predict(write_video(tmp_path / "curl.mp4", curl))
    assert ref.quality["orientation"]["state"] == "upright" and ref.people == 1
    for k in (1, 2):
        turned = np.ascontiguousarray(np.rot90(curl, k, axes=(1, 2)))
        pred = predictor.predict(write_video(tmp_path / f"curl{k}.mp4", turned))
        assert pred.quality["orientation"]["rotated_deg"] == 90 * ((4 - k) % 4), pred.quality
        # A curl's two groups on top, upright or turned back (the version 6 model scores them
        # within 0.01 of each other, so their order is MediaPipe's noise).
        top2 = lambda p: {g for g, _ in p.ranked()[:2]}  # noqa: E731
        assert top2(pred) == top2(ref) == {"biceps", "forearms"}
    h = min(len(curl), len(squat))
    side = min(curl.shape[1], squat.shape[1])
    both = np.concatenate([curl[:h, :side], squat[:h, :side]], axis=2)
    pred = predictor.predict(write_video(tmp_path / "two.mp4", np.ascontiguousarray(both)))
    assert pred.people == 2 and pred.quality["people"]["count"] == 2
    assert any("2 people seen" in n for n in pred.notes)


@pytest.mark.slow
def test_real_grey_clip_is_noted_and_its_colour_original_not(
    wild_dir: Path, tmp_path: Path
) -> None:
    """The least coloured wild clip (a person in black on a white floor) is not taken for grey;
    the same clip made grey is, and says so."""
    from musclemap.data.video_io import iter_frames

    clip = wild_dir / "clips" / "bicycle_crunch__malikex__1.mp4"
    frames = np.stack([f for _, f in iter_frames(clip, fps=10, max_side=480)])
    grey = np.repeat(frames.mean(3, keepdims=True), 3, 3).astype(np.uint8)
    predictor = Predictor.default(cache_dir=tmp_path)
    pred = predictor.predict(write_video(tmp_path / "colour.mp4", frames))
    assert pred.quality["colour"]["grey"] is False, pred.quality["colour"]
    assert not any("no colour" in n for n in pred.notes)
    pred = predictor.predict(write_video(tmp_path / "grey.mp4", grey))
    assert pred.quality["colour"] == {"grey": True, "coloured_share": 0.0}
    assert any(n.startswith("the video has no colour") for n in pred.notes), pred.notes


@pytest.mark.slow
def test_real_turned_plank_is_said_uncertain(wild_dir: Path, tmp_path: Path) -> None:
    """A forearm plank turned 90 degrees in pixels looks almost like someone standing: not
    turned back, but said, with the turn that would undo it."""
    from musclemap.data.video_io import iter_frames

    clip = wild_dir / "clips" / "plank__treadtv__1.mp4"
    plank = np.stack([f for _, f in iter_frames(clip, fps=10, max_side=480)])
    turned = np.ascontiguousarray(np.rot90(plank, 1, axes=(1, 2)))
    pred = Predictor.default(cache_dir=tmp_path).predict(write_video(tmp_path / "p.mp4", turned))
    found = pred.quality["orientation"]
    assert (found["state"], found["rotated_deg"], found["candidate_deg"]) == ("uncertain", 0, 270)
    assert any(
        n.startswith("the picture may be turned 90 degrees counter-clockwise")
        and n.endswith("run again with --rotate 90 (turns it 90 degrees clockwise)")
        for n in pred.notes
    ), pred.notes


def _still_seq(jitter: float, n: int = 30, times: np.ndarray | None = None) -> PoseSequence:
    rng = np.random.default_rng(0)
    image = np.full((n, 33, 3), 0.5, np.float32)
    image[..., :2] += rng.normal(0.0, jitter, (n, 33, 2)).astype(np.float32)
    t = np.arange(n) / 10 if times is None else times
    return PoseSequence(image, np.zeros((n, 33, 4), np.float32), np.ones(n, bool), t, 10, 64, 64)


def test_a_picture_that_stands_still_is_noted() -> None:
    frozen = q.check_motion(_still_seq(0.0))
    assert frozen == {"change": 0.0, "min": q.STILL_CHANGE, "still": True}
    note = "the person does not move at all between frames (a still picture?)"
    assert q.quality_notes({"motion": frozen})[0].startswith(note)
    # the jitter of a body held still (the stillest wild clips: ~3e-4 of the body's extent)
    held = _still_seq(2e-4)
    held.image[:, :, 1] += np.linspace(-0.2, 0.2, 33)  # a body 0.4 of the frame tall
    found = q.check_motion(held)
    assert found["still"] is False and found["change"] > q.STILL_CHANGE
    assert not q.quality_notes({"motion": found})
    # the first second (the tracker settling on a picture) is left out when 5 pairs remain
    settling = _still_seq(0.0)
    settling.image[:10, :, 0] += np.linspace(0.05, 0.0, 10)[:, None]
    assert q.landmark_change(settling) == (0.0, 20)
    # repeats of a slower video are one picture: not counted; too few pairs: not checked
    repeats = _still_seq(2e-4, n=8, times=np.repeat(np.arange(4) / 5, 2))
    assert q.landmark_change(repeats)[1] == 3
    assert q.check_motion(repeats)["detail"] == "not checked"


@pytest.mark.slow
def test_real_still_picture_noted_and_a_real_plank_not(wild_dir: Path, tmp_path: Path) -> None:
    """A wild squat's first frame shown for 5 s is noted as a still picture; the stillest wild
    clip, a plank held on a floor, moves enough not to be."""
    from musclemap.data.video_io import iter_frames

    clip = wild_dir / "clips" / "squat__kbtrainer__1.mp4"
    first = next(iter_frames(clip, fps=10, max_side=480))[1]
    still = write_video(tmp_path / "still.mp4", np.repeat(first[None], 50, axis=0))
    predictor = Predictor.default(cache_dir=tmp_path)
    pred = predictor.predict(still)
    assert pred.quality["motion"]["still"] is True, pred.quality["motion"]
    assert any(n.startswith("the person does not move at all") for n in pred.notes)
    plank = predictor.predict(wild_dir / "clips" / "plank__malikex__1.mp4")
    assert plank.quality["motion"]["still"] is False, plank.quality["motion"]
    assert not any("does not move" in n for n in plank.notes)


def test_a_low_frame_rate_is_noted(tmp_path: Path) -> None:
    # A 3 fps video loses the movement between its frames (benchmarks/low_frame_rate.py): noted.
    assert q.check_frame_rate(30.0) == {"fps": 30.0, "min": 5.0, "low": False}
    assert q.check_frame_rate(5.0)["low"] is False  # wild training clips run at 5 fps
    assert q.check_frame_rate(0.0)["low"] is False  # the container does not say
    frames = np.zeros((12, 64, 96, 3), np.uint8)
    frames[:, 4:16, 4:16] = 255
    video = write_video(tmp_path / "slow.mp4", frames, fps=3)
    pred = Predictor.default(cache_dir=tmp_path, estimator=_MarkerEstimator()).predict(video)
    assert pred.quality["frame_rate"] == {"fps": 3.0, "min": 5.0, "low": True}
    assert any("only 3 frames per second (under 5)" in note for note in pred.notes)
    one = {"frame_rate": q.check_frame_rate(1.0)}
    assert q.quality_notes(one)[0].startswith("the video has only 1 frame per second (under 5)")


def _stamped_video(path: Path, times_s: list[float]) -> Path:
    """A 96x96 video whose frames carry the given timestamps (seconds)."""
    from fractions import Fraction

    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = 96
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for i, t in enumerate(times_s):
            grey = np.full((96, 96, 3), 8 * i, np.uint8)
            frame = av.VideoFrame.from_ndarray(grey, format="rgb24")
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_frames_stamped_hours_apart_are_refused_before_any_pose(
    tmp_path: Path, suffix: str
) -> None:
    # A 2-s clip with one frame stamped 3 hours later: the sampling repeated that frame for
    # 3 hours (a "3-hour still hold", exit 0); 30 frames 1000 s apart ran for hours.
    from pose_standins import ScriptedEstimator

    glitch = _stamped_video(tmp_path / f"glitch{suffix}", [i / 10 for i in range(20)] + [10800.0])
    with pytest.raises(
        VideoError,
        match=r"21 frames stamped over 3.0 h \(0.0019 frames per "
        r"second\): too far apart to see a movement",
    ):
        q.check_frame_spacing(glitch)
    est = ScriptedEstimator()
    with pytest.raises(VideoError, match="too far apart"):
        Predictor.default(cache_dir=tmp_path / "c", estimator=est).predict(glitch)
    with pytest.raises(VideoError, match="too far apart"):
        extract_poses(glitch, estimator=est, use_cache=False)
    assert est.calls == 0
    # Two frames a second (the floor) and a 20-s pause inside a clip pass.
    q.check_frame_spacing(_stamped_video(tmp_path / f"slow{suffix}", [2 * i for i in range(6)]))
    paused = [i / 10 for i in range(20)] + [22 + i / 10 for i in range(20)]
    q.check_frame_spacing(_stamped_video(tmp_path / f"paused{suffix}", paused))
