"""Input quality gates for `predict`: resolution, pose confidence, orientation, several people.

MediaPipe Pose finds a person in almost any picture (a 10x10 video, a video turned on its side
or upside down, one of two people), and the window model then answers confidently for the
wrong input. These checks run around pose extraction (`Predictor.predict`):

- resolution: a video whose shorter side is under `MIN_SIDE` pixels is refused;
- pose confidence: the mean visibility of the 12 limb joints; under `MIN_CONFIDENCE` refused,
  under `LOW_CONFIDENCE` noted;
- orientation: a video turned 90/180/270 degrees in its pixels (not metadata, which the
  decoder applies) is found by `musclemap.pose.orientation` from the poses and a few frames, and
  its poses are turned back (MediaPipe is rotation-equivariant: no second pose pass); when a
  turn leads but not clearly (`uncertain`), the poses are scored as filmed and a note says
  which turn it may be;
- several people: a few frames are decoded, the followed person is masked out and the pose
  detector runs again; a second confident person is counted (`people`, and a note);
- motion: a person who does not move at all between frames (a still picture shown as a video)
  is scored as one held position, which is noted (`motion`);
- colour: a grey (black-and-white) video is noted (`colour`): MediaPipe is less sure of a body
  in grey pictures and the scores move.

Every check lands in the `quality` block of the prediction JSON. The pixel checks share one
decode of `CHECK_FRAMES` frames (`inspect_frames`), run in a pose worker where there is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from musclemap.data.pose_sequence import PoseFrame, PoseSequence
from musclemap.errors import NoPersonError, VideoError
from musclemap.pose import orientation
from musclemap.pose.estimator import PoseEstimator, WrappedEstimator

# MediaPipe upsamples the person to a 256x256 crop, so small videos still give a "person" (a
# 10x10 video scored upper_back 0.88). A wild bicep curl (640x360) downscaled to a shorter side
# of 64 / 48 / 32 px kept its top groups (mean |delta p| 0.024 / 0.029 / 0.031) but at 32 px
# pose coverage fell to 0.55 and calves appeared; at 16 px no person was found.
MIN_SIDE = 48
# Mean visibility of the limb joints (MediaPipe's own estimate that a landmark is in view).
MIN_CONFIDENCE = 0.2
LOW_CONFIDENCE = 0.5
L_SHOULDER, R_SHOULDER, L_HIP, R_HIP = 11, 12, 23, 24
LIMBS = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)  # shoulders ... ankles
# A second person: torso landmarks at least this visible, outside the masked first person.
PERSON_VISIBILITY = 0.7
# Frames decoded for the pixel checks (orientation features, a second person).
CHECK_FRAMES = 3
# A video filmed at fewer frames per second than this loses the movement between its frames:
# 8 wild clips re-encoded at lower rates (`benchmarks/low_frame_rate.py`) moved their largest
# probability by a median 0.045 at 5 fps (re-encoding alone at 10 fps: 0.022), 0.068 at 3 fps
# (worst 0.38, a burpee), 0.33 at 0.5 fps, and kept their top-3 groups in 7, 6 and 3 of 8.
# Several wild training clips are 5 fps, so from there on no note.
MIN_SOURCE_FPS = 5.0
# Under this many frames per second (counted from the frames' timestamps) a video is refused:
# the sampling repeats each frame to fill the time between them, so 30 frames stamped 1000 s
# apart were 300,000 poses of 30 pictures (predict ran for hours), and a 2-s clip with one
# frame stamped 3 hours later scored a 3-hour still hold. At 0.5 fps the measured change above
# is already 0.33.
MIN_VIDEO_FPS = 0.5
# Median frame-to-frame change of the landmarks (mean |d x|, |d y| over the 33, a share of the
# body's extent in the frame) under which the picture itself stands still. A still picture
# shown as a video was scored as an exercise without a word (a squat's first frame repeated for
# 5 s: shoulder 0.57, "wall push up"; session 17). On such videos MediaPipe settles on the
# picture within about a second, after which the change was 1.1e-5 (that squat), 1.2e-5 and
# 2.5e-5 (a curl's first frame for 5 s and 2 s); on the stillest of the 180 wild clips, a plank
# and a side-lying leg raise held on a floor, 2.9e-4 and 3.4e-4: the estimator's jitter on a
# living body. Relative to the body, so a small person far away is not taken for a picture.
STILL_CHANGE = 1e-4
# A grey video: on every checked frame, fewer than this share of the 64x64 thumbnail's pixels
# have channels `COLOUR_LEVEL` or more apart (of 255). MediaPipe is less sure of a body without
# colour: 29 wild clips made grey moved their largest group score by 0.10 on average (median
# 0.064), changed the active groups of 3 and a curl's exercise guess (session 19,
# docs/reliability.md). The least coloured of the 180 wild clips (a person in black on a white
# floor) has 1.6% such pixels on its most coloured checked frame, the least coloured key-pose
# photo 6%; grey copies of 15 clips, also with chroma noise of sigma 3 added, 0 (session 20).
COLOUR_LEVEL = 16
GREY_SHARE = 0.002
SETTLE_S = 1.0  # the tracker's first second on a picture, left out when enough remains
MIN_MOTION_PAIRS = 5  # frame pairs needed to call the picture still


def check_resolution(width: int, height: int, *, name: str = "video") -> dict[str, Any]:
    """The resolution entry of the quality block; VideoError when too small to pose."""
    if min(width, height) < MIN_SIDE:
        raise VideoError(
            f"{name}: {width}x{height} pixels is too small to estimate a pose; need at least "
            f"{MIN_SIDE} pixels on the shorter side"
        )
    return {"width": int(width), "height": int(height), "min_side": MIN_SIDE, "ok": True}


def check_frame_rate(fps: float) -> dict[str, Any]:
    """The frame-rate entry of the quality block: the video's own rate, low under
    `MIN_SOURCE_FPS` (noted, not refused; 0: the container does not say)."""
    return {"fps": round(float(fps), 3), "min": MIN_SOURCE_FPS, "low": 0 < fps < MIN_SOURCE_FPS}


def check_frame_spacing(path: Path) -> None:
    """VideoError when the video's frames are stamped further apart on average than
    1 / `MIN_VIDEO_FPS` seconds (see there): its sampling would repeat them for hours. The
    timestamps are the demuxer's (no decoding, ~6 ms for a 9-s clip, and kept for the
    sampling): the header's rate misses one frame stamped hours after the others."""
    from musclemap.data.video_io import frame_timestamps

    try:
        times = frame_timestamps(path)
    except VideoError:  # no timestamps: the sampling counts frames then, nothing to repeat
        return
    count, span = len(times), float(times[-1]) if len(times) else 0.0
    if count < 2 or span <= 0 or (count - 1) / span >= MIN_VIDEO_FPS:
        return
    raise VideoError(
        f"{path}: {count} frames stamped over {_duration(span)} "
        f"({(count - 1) / span:.2g} frames per second): too far apart to see a movement "
        f"(need at least {MIN_VIDEO_FPS:g}); the file's timestamps may be damaged"
    )


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def check_video(path: Path) -> dict[str, Any]:
    """Gates that need no pose (resolution, frame spacing), run before the costly
    extraction."""
    from musclemap.data.video_io import probe

    info = probe(path)
    entry = check_resolution(info.width, info.height, name=str(path))
    check_frame_spacing(path)
    return entry


def pose_confidence(seq: PoseSequence) -> float:
    """Mean visibility of the limb joints over the frames with a person (0 when none)."""
    if not seq.valid.any():
        return 0.0
    return float(np.nanmean(seq.image[seq.valid][:, LIMBS, 2]))


def check_confidence(seq: PoseSequence, *, name: str = "video") -> dict[str, Any]:
    """The pose-confidence entry; NoPersonError under MIN_CONFIDENCE."""
    conf = pose_confidence(seq)
    if seq.valid.any() and conf < MIN_CONFIDENCE:
        raise NoPersonError(
            f"{name}: pose confidence {conf:.2f} (mean landmark visibility) is under "
            f"{MIN_CONFIDENCE}; the person is too unclear to estimate muscles"
        )
    return {"value": round(conf, 3), "min": MIN_CONFIDENCE, "low": conf < LOW_CONFIDENCE}


def landmark_change(seq: PoseSequence) -> tuple[float, int]:
    """Median over consecutive frames with a person of the mean change of the landmarks' image
    x and y, as a share of the body's larger extent in the frame, with the number of frame pairs
    it is over (0: NaN). Repeats of a video slower than the sampling rate are left out (the
    same picture), and so is the tracker's first `SETTLE_S` when `MIN_MOTION_PAIRS` remain."""
    pair = seq.valid[1:] & seq.valid[:-1] & (np.diff(seq.times) > 0)
    if not pair.any():
        return float("nan"), 0
    settled = pair & (seq.times[1:] >= seq.times[seq.valid][0] + SETTLE_S)
    if settled.sum() >= MIN_MOTION_PAIRS:
        pair = settled
    xy = seq.image[..., :2]
    extent = (xy.max(axis=1) - xy.min(axis=1)).max(axis=-1)[1:]
    step = np.abs(np.diff(xy, axis=0)).mean(axis=(1, 2)) / np.maximum(extent, 1e-3)
    return float(np.median(step[pair])), int(pair.sum())


def check_motion(seq: PoseSequence) -> dict[str, Any]:
    """The motion entry: whether the picture stands still (`STILL_CHANGE`)."""
    change, pairs = landmark_change(seq)
    if pairs < MIN_MOTION_PAIRS:
        return {"change": None, "min": STILL_CHANGE, "still": False, "detail": "not checked"}
    return {"change": round(change, 6), "min": STILL_CHANGE, "still": change < STILL_CHANGE}


class RotatedEstimator(WrappedEstimator):
    """A pose estimator that sees every frame turned by `quarter_turns` (np.rot90), to measure
    the gates on turned videos (`benchmarks/orientation_gate.py`).

    Its settings include the turn, so its poses are cached apart from the unrotated ones.
    Without an `inner` estimator it opens (and closes) a MediaPipe one.
    """

    def __init__(self, inner: PoseEstimator | None, quarter_turns: int) -> None:
        if inner is None:
            from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

            inner = MediaPipePoseEstimator()
            self._own = True
        else:
            self._own = False
        super().__init__(inner)  # the same layout: the turn moves joints, not which there are
        self.quarter_turns = quarter_turns % 4

    def settings(self) -> dict[str, Any]:
        return {**self.inner.settings(), "rotate_ccw_deg": 90 * self.quarter_turns}

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        return self.inner.estimate(np.ascontiguousarray(np.rot90(frame_rgb, self.quarter_turns)))

    def close(self) -> None:
        if self._own:
            self.inner.close()


def mask_person(frame: np.ndarray, landmarks: np.ndarray, *, margin: float = 0.25) -> np.ndarray:
    """The frame with the person's landmark box (grown by `margin`) filled with grey."""
    h, w = frame.shape[:2]
    pts = landmarks[np.isfinite(landmarks[:, :2]).all(1), :2] * (w, h)
    out = frame.copy()
    if len(pts) == 0:
        return out
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    dx, dy = (x1 - x0) * margin + 0.02 * w, (y1 - y0) * margin + 0.02 * h
    xa, xb = int(max(0, x0 - dx)), int(min(w, x1 + dx + 1))
    ya, yb = int(max(0, y0 - dy)), int(min(h, y1 + dy + 1))
    out[ya:yb, xa:xb] = 127
    return out


def other_person_seen(frame: np.ndarray, followed: np.ndarray, estimator: PoseEstimator) -> bool:
    """Whether the detector finds a confident person once the followed one is masked out: a
    fresh detection, not tracking from the previous frame (the estimator's `detect` where it
    has one, else `reset()` and `estimate`)."""
    masked = mask_person(frame, followed)
    detect = getattr(estimator, "detect", None)
    if callable(detect):
        found = detect(masked)
    else:
        reset = getattr(estimator, "reset", None)
        if callable(reset):
            reset()
        found = estimator.estimate(masked)
    if found is None:
        return False
    torso = found.image[[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP]]
    return bool(np.nan_to_num(torso[:, 2]).mean() >= PERSON_VISIBILITY)


def restarts_per_check(estimator: PoseEstimator) -> bool:
    """Whether a second-person check on `estimator` resets its tracking (a MediaPipe graph
    restart once it has found someone) instead of asking its `detect`, which gives the same
    fresh detection from a graph kept for it (`MediaPipePoseEstimator.detect`)."""
    return not callable(getattr(estimator, "detect", None))


def frame_picks(seq: PoseSequence, count: int = CHECK_FRAMES) -> list[int]:
    """The frames the pose pass keeps for the pixel checks (`planned_picks` of the video's
    sampled frames) that show a person: the same frames whether the poses came from one
    worker, from segments on several (which keep them as they decode) or from the cache, so
    the quality block does not depend on how the poses were made."""
    return [i for i in planned_picks(len(seq), count) if bool(seq.valid[i])]


def planned_picks(num_frames: int, count: int = CHECK_FRAMES) -> list[int]:
    """Frames to keep for the pixel checks while the pose pass decodes them anyway: `count`
    spread evenly over all `num_frames` sampled frames (`frame_picks` keeps those with a
    person)."""
    if num_frames <= 0:
        return []
    spots = np.linspace(0, num_frames - 1, count + 2)[1:-1].round().astype(int)
    return sorted({int(i) for i in spots})


def people_decided(hits: int, misses: int, left: int) -> bool:
    """Whether the count of people (`frame_checks`: 2 when most checked frames show a second
    person) is settled by `hits` and `misses` whatever the `left` frames still to check show.
    Such a frame need not run the detector (a detection, ~0.015-0.035 s of CPU, and a graph
    restart for an estimator without `detect`); counted as checked with no hit it leaves the
    count as it is, so the result and `frames_checked` equal those of checking every frame."""
    return hits > misses + left or hits + left <= misses


def check_kept_frames(
    kept: list[tuple[np.ndarray, np.ndarray]], detector: PoseEstimator | None
) -> dict[str, Any]:
    """The pixel checks on frames the pose pass kept, each with its person's landmarks: their
    orientation features in four turns (`(4, F)` per frame, computed where the frame is, so
    that OpenCV is not imported for them elsewhere) and second-person hits (with a MediaPipe
    `detector`; not run on frames whose answer cannot change the count, `people_decided`)."""
    hits = 0
    if detector is not None:
        for k, (frame, landmarks) in enumerate(kept):
            if not people_decided(hits, k - hits, len(kept) - k):
                hits += other_person_seen(frame, landmarks, detector)
    return {
        "features": [orientation.turned_frame_features([frame]) for frame, _ in kept],
        "colour": [colour_share(frame) for frame, _ in kept],
        "hits": hits,
        "checked": len(kept) if detector is not None else 0,
    }


def colour_share(frame: np.ndarray) -> float:
    """Share of a frame's 64x64 thumbnail pixels whose channels lie `COLOUR_LEVEL` or more
    apart: 0 for a grey picture, also one with some chroma noise (the thumbnail averages it)."""
    small = orientation.thumbnail(frame).astype(np.int16)
    return float((small.max(2) - small.min(2) >= COLOUR_LEVEL).mean())


def frame_checks(checks: dict[str, Any]) -> dict[str, Any]:
    """`inspect_frames`' result from the checks of kept frames (`check_kept_frames`, or those
    of several segments joined): the frames' features averaged (as
    `orientation.turned_frame_features` averages them), the most coloured frame's share."""
    features, hits, checked = checks["features"], checks["hits"], checks["checked"]
    colour = checks["colour"]
    return {
        "frame_features": np.mean(features, axis=0) if features else None,
        "people": 2 if checked and hits * 2 > checked else 1,
        "frames_checked": checked,
        "colour": max(colour) if colour else None,
    }


def check_colour(share: float | None) -> dict[str, Any]:
    """The colour entry of the quality block from `frame_checks`' share (None: no frame with a
    person was checked)."""
    if share is None:
        return {"grey": None, "detail": "not checked"}
    return {"grey": share < GREY_SHARE, "coloured_share": round(share, 4)}


def decode_frames(path: Path, seq: PoseSequence, indices: list[int]) -> dict[int, np.ndarray]:
    """The decoded frames at the sequence's indices (as the pose pass saw them), stopping after
    the last one."""
    from musclemap.data.video_io import iter_frames
    from musclemap.pose.sequential import DEFAULT_MAX_SIDE

    wanted = {round(float(seq.times[i]), 6): i for i in indices}
    out: dict[int, np.ndarray] = {}
    if not wanted:
        return out
    for t, rgb in iter_frames(path, fps=seq.fps, max_side=DEFAULT_MAX_SIDE):
        i = wanted.pop(round(float(t), 6), None)
        if i is not None:
            out[i] = rgb
        if not wanted:
            break
    return out


def inspect_frames(path: Path, seq: PoseSequence, detector: PoseEstimator | None) -> dict[str, Any]:
    """The gates that need pixels, on `CHECK_FRAMES` frames decoded once: their orientation
    features (four turns) and, with a `detector` (a MediaPipe estimator: a fresh detection on
    each frame, `other_person_seen`), whether a second person shows in most of them. Runs
    where the decoding is cheapest: a pose worker when there is one (`PosePool.inspect`, batch
    workers)."""
    frames = decode_frames(path, seq, frame_picks(seq))
    kept = check_kept_frames([(f, seq.image[i]) for i, f in frames.items()], detector)
    reset = getattr(detector, "reset", None)
    if callable(reset) and detector is not None and restarts_per_check(detector):
        # The checks tracked on its graph: the next video starts from a fresh detection. (With
        # `detect` its tracking was not touched; a restart here would start the models again
        # after the command's quiet window, and the next video resets it anyway.)
        reset()
    return frame_checks(kept)


def pixel_detector(estimator: PoseEstimator) -> PoseEstimator | None:
    """The estimator for the second-person check: the given one if it is MediaPipe, none for
    other estimators (scripted ones in tests answer regardless of the picture)."""
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

    return estimator if isinstance(estimator, MediaPipePoseEstimator) else None


def _detector(estimator: PoseEstimator | None) -> tuple[PoseEstimator | None, bool]:
    """(the estimator for the second-person check, whether it is ours to close): a fresh
    MediaPipe one by default, else `pixel_detector`'s."""
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator

    if estimator is None:
        return MediaPipePoseEstimator(), True
    return pixel_detector(estimator), False


def assess_video(
    path: Path,
    seq: PoseSequence,
    *,
    estimator: PoseEstimator | None = None,
    frames: dict[str, Any] | None = None,
) -> tuple[PoseSequence, dict[str, Any]]:
    """Run the gates on a video's extracted poses; returns the (maybe turned back) poses and the
    `quality` block.

    Args:
        path: The video.
        seq: Its poses from `extract_poses`.
        estimator: The estimator `seq` came from (None: MediaPipe).
        frames: `inspect_frames`' result when a pose worker already ran it (else run here).

    Raises:
        NoPersonError: Pose confidence too low.
    """
    from musclemap.data.video_io import probe

    name = str(path)
    quality: dict[str, Any] = {"resolution": check_resolution(seq.width, seq.height, name=name)}
    quality["frame_rate"] = check_frame_rate(probe(path).fps)
    if frames is None:
        detector, own = _detector(estimator)
        try:
            frames = inspect_frames(path, seq, detector)
        finally:
            if own and detector is not None:
                detector.close()
    found = orientation.estimate_orientation(seq, frame_features=frames["frame_features"])
    if found.quarter_turns:
        seq = orientation.turn_sequence(seq, found.quarter_turns)
    quality["orientation"] = found.to_dict()
    quality["pose_confidence"] = check_confidence(seq, name=name)
    quality["motion"] = check_motion(seq)
    quality["colour"] = check_colour(frames.get("colour"))
    if frames["frames_checked"]:
        seq.num_people = max(seq.num_people, int(frames["people"]))
        quality["people"] = {"count": seq.num_people, "frames_checked": frames["frames_checked"]}
    else:
        quality["people"] = {"count": seq.num_people, "frames_checked": 0, "detail": "not checked"}
    return seq, quality


def set_orientation(
    seq: PoseSequence, quality: dict[str, Any], clockwise_deg: int
) -> tuple[PoseSequence, dict[str, Any]]:
    """The poses turned as the user asked (`predict --rotate`) instead of as the orientation
    check decided: the check's turn undone, the asked one made (landmarks only, no second pose
    pass). The check's own answer stays in the block (`orientation.check`)."""
    want = orientation.requested(clockwise_deg)
    check = quality.get("orientation", {})
    turn = (want.quarter_turns - check.get("rotated_deg", 0) // 90) % 4
    if turn:
        seq = orientation.turn_sequence(seq, turn)
    return seq, {**quality, "orientation": {**want.to_dict(), "check": check}}


def _turn_words(ccw_deg: int) -> str:
    """A counter-clockwise quarter turn as a reader would say it."""
    return {90: "90 degrees counter-clockwise", 180: "180 degrees", 270: "90 degrees clockwise"}[
        ccw_deg % 360
    ]


def quality_notes(quality: dict[str, Any]) -> list[str]:
    """The checks a reader should know about, as prediction notes."""
    notes = []
    found = quality.get("orientation", {})
    turned = found.get("rotated_deg", 0)  # counter-clockwise
    clockwise = (360 - turned) % 360
    if found.get("state") == "set":
        if turned:
            notes.append(
                f"the poses were turned {clockwise} degrees clockwise before scoring, as asked"
            )
    elif turned:
        notes.append(
            f"the picture looked turned {clockwise} degrees; the poses were turned "
            f"back {turned} degrees counter-clockwise before scoring (if the person was upright, "
            "run again with --rotate 0)"
        )
    if found.get("state") == "uncertain":
        back = found["candidate_deg"]  # the counter-clockwise turn that would make it upright
        notes.append(
            f"the picture may be turned {_turn_words(360 - back)} (the orientation check was "
            "not sure; the poses were scored as filmed): if the person is not upright in the "
            f"video, run again with --rotate {(360 - back) % 360} (turns it "
            f"{_turn_words(back)})"
        )
    rate = quality.get("frame_rate", {})
    if rate.get("low"):
        notes.append(
            f"the video has only {rate['fps']:g} frame{'' if rate['fps'] == 1 else 's'} per "
            f"second (under {MIN_SOURCE_FPS:g}): "
            "movement between its frames is lost, so the scores are less reliable"
        )
    if quality.get("motion", {}).get("still"):
        notes.append(
            "the person does not move at all between frames (a still picture?): the scores are "
            "those of one held position, not of a movement"
        )
    if quality.get("colour", {}).get("grey"):
        notes.append(
            "the video has no colour: pose estimation is less sure of a body in grey pictures, "
            "so the scores are less reliable (grey copies of colour clips moved them by 0.1 on "
            "average)"
        )
    conf = quality.get("pose_confidence", {})
    if conf.get("low"):
        notes.append(f"low pose confidence ({conf['value']:.2f}): landmarks are uncertain")
    return notes
