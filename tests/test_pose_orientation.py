"""pose/orientation.py: the four quarter turns scored from the pose (and frames), a turn taken
only with a clear lead, and landmarks turned exactly as np.rot90 turns the picture."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musclemap.data.pose_sequence import PoseFrame, PoseSequence
from musclemap.pose import orientation as ori
from musclemap.pose.synthetic import synthetic_landmarks


def _seq(exercise: str = "biceps_curl", turns: int = 0, size=(96, 96)) -> PoseSequence:
    """A generated exercise as MediaPipe gives it for the picture turned by np.rot90(turns)."""
    world, image = synthetic_landmarks(exercise, seconds=5.0)
    image, world = ori.turn_image_landmarks(image, turns), ori.turn_world_landmarks(world, turns)
    frames = [PoseFrame(i, w) for i, w in zip(image, world, strict=True)]
    w, h = size if turns % 2 == 0 else size[::-1]
    return PoseSequence.from_frames(
        frames, list(np.arange(len(frames)) / 10), fps=10, width=w, height=h
    )


def test_turned_landmarks_match_np_rot90() -> None:
    frame = np.zeros((40, 60), np.uint8)
    frame[5, 50] = 1  # x = 50 / 60, y = 5 / 40 (pixel centres below)
    point = np.array([[[50.5 / 60, 5.5 / 40, 1.0]]])
    for k in range(4):
        turned = np.rot90(frame, k)
        y, x = np.argwhere(turned)[0]
        got = ori.turn_image_landmarks(point, k)[0, 0]
        assert got[:2] == pytest.approx([(x + 0.5) / turned.shape[1], (y + 0.5) / turned.shape[0]])


def test_world_landmarks_turn_with_the_image() -> None:
    up = _seq()
    for k in range(4):
        seq = ori.turn_sequence(up, k)
        assert (seq.width, seq.height) == ((96, 96))
        # hips -> shoulders points the same way in the picture and in the world (both y down)
        img = seq.image[0, [11, 12], :2].mean(0) - seq.image[0, [23, 24], :2].mean(0)
        wld = seq.world[0, [11, 12], :2].mean(0) - seq.world[0, [23, 24], :2].mean(0)
        assert img / np.linalg.norm(img) == pytest.approx(wld / np.linalg.norm(wld), abs=1e-3)
        back = ori.turn_sequence(seq, 4 - k)
        assert np.allclose(back.image, up.image, atol=1e-6)
        assert np.allclose(back.world, up.world, atol=1e-6)
    assert (ori.turn_sequence(_seq(size=(160, 90)), 1).width, 90) == (90, 90)


@pytest.mark.parametrize("exercise", ["biceps_curl", "squat", "shoulder_press"])
@pytest.mark.parametrize("size", [(96, 96), (160, 90), (90, 160)])
def test_turned_exercise_found_with_its_turn(exercise: str, size: tuple[int, int]) -> None:
    """From the pose alone (no frames) a turn is taken, or said with the right candidate when
    its lead is under the margin (12 since session 8: chosen with the scene score in the sum)."""
    upright = ori.estimate_orientation(_seq(exercise, size=size))
    assert (upright.state, upright.quarter_turns) == ("upright", 0), upright.scores
    # well clear of the doubt (a turn less than 2.5 behind gets a note): 7.0-13.7 since session
    # 17's scorer (trained on mediapipe_g4 poses), 7.8-14.3 before
    assert upright.scores is not None and upright.scores[0] > upright.scores[1:].max() + 5
    for k in (1, 2, 3):
        o = ori.estimate_orientation(_seq(exercise, k, size=size))
        if o.state == "turned":
            assert o.quarter_turns == (4 - k) % 4, o.scores
            assert o.to_dict()["rotated_deg"] == 90 * ((4 - k) % 4)
        else:
            assert (o.state, o.quarter_turns, o.candidate) == ("uncertain", 0, (4 - k) % 4)
        # the scores are the upright ones shifted: the same evidence, turned
        assert np.roll(o.scores, k) == pytest.approx(upright.scores, abs=1e-4)


def _plank() -> np.ndarray:
    """Body-scaled points (1 frame, 33, 2) of a plank, upright (y down): resting on hands and
    feet at the bottom, everything else above them."""
    rel = np.full((1, 33, 2), np.nan)
    at = {(0, 7, 8): (-2.0, 0.0), (11, 12): (-1.5, 0.0), (13, 14): (-1.5, 0.5),
          (15, 16, 17, 18, 19, 20, 21, 22): (-1.5, 1.0), (23, 24): (0.0, 0.0),
          (25, 26): (1.0, 0.1), (27, 28, 29, 30, 31, 32): (2.0, 1.0)}  # fmt: skip
    for idx, xy in at.items():
        rel[0, list(idx)] = xy
    return rel


def test_support_features_say_what_holds_the_body_up() -> None:
    groups = len(ori.SUPPORT_GROUPS)
    up = np.array(ori.support_features(_plank()))
    assert len(up) == ori.NUM_SUPPORT_FEATURES
    at_bottom, at_side = up[:groups], up[groups : 2 * groups]
    assert at_bottom.tolist() == [0, 1, 0, 0, 0, 0, 1]  # hands and feet
    assert at_side.tolist() == [0, 0, 0, 0, 0, 0, 1]  # the feet end the body sideways
    counts, both = up[2 * groups : 2 * groups + 4], up[2 * groups + 4 : 2 * groups + 6]
    assert counts.tolist() == [2, 4, 1, 1]  # bottom, top, the side, the other side
    assert both.tolist() == [1, 0]  # hands and feet together at the bottom, not at a side
    assert up[-3:] == pytest.approx([0.0, 3.5, 1.0])  # feet below hands, apart, floor below hips
    # turned 90 degrees (as turn_image_landmarks turns: x' = y, y' = -x): head down, the back
    # (head, shoulders, hips, knees) lined up at one side, hands and feet at the other
    turned = np.stack([_plank()[..., 1], -_plank()[..., 0]], -1)
    side = np.array(ori.support_features(turned))
    assert side[:groups].tolist() == [1, 0, 0, 0, 0, 0, 0]  # the head at the bottom
    assert side[groups : 2 * groups].tolist() == [1, 0, 0, 1, 1, 1, 0]
    assert side[2 * groups : 2 * groups + 6].tolist() == [1, 1, 4, 2, 0, 0]
    mirrored = np.array(ori.support_features(turned * (-1, 1)))  # mirror-invariant
    assert mirrored[: 2 * groups + 6] == pytest.approx(side[: 2 * groups + 6])


def test_person_area_is_the_same_in_every_turn() -> None:
    seq = _seq()
    seq.image[..., 2] = 1.0
    seq.image[:, :, 0] = np.linspace(0.2, 0.6, 33)  # a 0.4 x 0.8 box in every frame
    seq.image[:, :, 1] = np.linspace(0.9, 0.1, 33)
    seq.image[:, 0, :2] = (0.95, 0.95)  # not seen: left out
    seq.image[:, 0, 2] = 0.1
    want = (0.6 - (0.2 + 0.4 / 32)) * ((0.9 - 0.8 / 32) - 0.1)  # point 0 left out
    for k in range(4):
        assert ori.person_area(ori.turn_sequence(seq, k)) == pytest.approx(want)
    seq.image[..., 2] = 0.0
    assert ori.person_area(seq) is None


def test_scene_weight_falls_with_the_person_area() -> None:
    """`scene_area_power`: the scene score counts (1 - area) ** power times `scene_weight`."""
    base = ori.default_model()
    model = ori.OrientationModel(base.pose, None, 7.0, -1.0, {}, base.scene, 0.5, 0.0,
                                 scene_area_power=2.0)  # fmt: skip
    assert model.scene_share(0.5) == pytest.approx(0.125)
    assert model.scene_share(None) == model.scene_share(0.0) == 0.5
    assert model.scene_share(1.5) == 0.0
    pose = ori.turned_pose_features(_seq())
    frames = np.array([[4.0], [-2.0], [0.0], [1.0]])
    got = model.scores(pose, frames, 0.5)
    assert got == pytest.approx(base.pose.logit(pose) + 0.125 * frames[:, 0])
    # estimate_orientation weighs the scene by the sequence's own area
    seq = _seq()
    o = ori.estimate_orientation(seq, frame_features=frames, model=model)
    assert o.scores == pytest.approx(model.scores(pose, frames, ori.person_area(seq)), abs=1e-6)
    model.scene_area_power = 0.0
    assert model.scene_share(0.5) == 0.5


def test_decide_needs_a_clear_lead() -> None:
    model = ori.default_model()
    margin, doubt = model.margin, model.doubt
    # chosen on the source-grouped cross-validation (benchmarks/orientation_scene.py); a doubt
    # below 0 says a turn that scores almost as high as none
    assert doubt < 0 < margin

    def decide(*scores: float) -> ori.Orientation:
        return ori.decide(np.array(scores), margin, doubt=doubt, checked="x")

    clear = decide(0.0, margin + 0.1, 0, 0)  # a clear lead: turned back
    assert (clear.state, clear.quarter_turns, clear.candidate) == ("turned", 1, 0)
    assert clear.to_dict()["rotated_deg"] == 90 and "candidate_deg" not in clear.to_dict()
    # a turn ahead of no turn, but not by the margin: not turned back, said with its turn
    close = decide(-3.0, -6.0, -3.0 + margin - 0.1, -3.0 + doubt + 0.2)
    assert (close.state, close.quarter_turns, close.candidate) == ("uncertain", 0, 2)
    assert close.to_dict() == {
        "state": "uncertain",
        "rotated_deg": 0,
        "scores": [-3.0, -6.0, round(-3.0 + margin - 0.1, 2), round(-3.0 + doubt + 0.2, 2)],
        "detail": f"the picture may be turned 180 degrees counter-clockwise (x; lead "
        f"{margin - 0.1:.1f}, over {doubt:g} but not over {margin:g}): the poses were scored as "
        "filmed",
        "candidate_deg": 180,
    }
    assert decide(0.0, doubt - 1, doubt - 1, doubt + 0.1).candidate == 3
    tie = decide(0.0, 0.0, -9, -9)  # a turn as upright as none: said
    assert (tie.state, tie.quarter_turns, tie.candidate) == ("uncertain", 0, 1)
    # no turn leads by more than the doubt: upright, whichever is second
    for scores in ((0.0, doubt - 0.1, -9, -9), (5.0, -1.0, 5.0 + doubt, 2.0), (0.0, *[doubt] * 3)):
        upright = decide(*scores)
        assert (upright.state, upright.quarter_turns, upright.candidate) == ("upright", 0, 0)
        assert set(upright.to_dict()) == {"state", "rotated_deg", "scores", "detail"}
    assert ori.decide(None, margin, doubt=doubt, checked="x").state == "unknown"
    empty = _seq()
    empty.valid[:] = False
    assert ori.estimate_orientation(empty).to_dict()["state"] == "unknown"


def test_scene_second_look_says_uncertain() -> None:
    """`scene_doubt` (off in the shipped weights): a video the summed score leaves upright is
    said uncertain, with the scene's turn, when the scene alone leads by more than it."""
    scores = np.array([0.0, -5.0, -2.0, -4.0])  # upright by the sum
    scene = np.array([-12.0, -30.0, -25.0, -1.0])  # the scene alone: turn 3 ahead by 11
    seen = ori.decide(scores, 7.0, doubt=0.5, checked="x", scene=scene, scene_doubt=10.0)
    assert (seen.state, seen.quarter_turns, seen.candidate) == ("uncertain", 0, 3)
    assert "the scene alone leads by 11.0 > 10" in seen.detail
    for x in (11.0, np.inf):  # not ahead by more than the scene doubt: upright
        off = ori.decide(scores, 7.0, doubt=0.5, checked="x", scene=scene, scene_doubt=x)
        assert (off.state, off.candidate) == ("upright", 0)
    # a turn the sum takes is taken whatever the scene says
    taken = ori.decide(np.array([0.0, 8.0, 0, 0]), 7.0, doubt=0.5, checked="x", scene=scene,
                       scene_doubt=10.0)  # fmt: skip
    assert (taken.state, taken.quarter_turns) == ("turned", 1)


def test_orientation_weights_without_a_doubt_are_refused(tmp_path: Path) -> None:
    from musclemap.errors import ConfigError

    (tmp_path / "o.safetensors").write_bytes(ori.WEIGHTS.read_bytes())
    meta = json.loads(ori.WEIGHTS.with_suffix(".json").read_text())
    del meta["doubt"]
    (tmp_path / "o.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="orientation weights unreadable.*doubt"):
        ori.OrientationModel.load(tmp_path / "o.safetensors")


def test_weights_of_other_pose_features_are_refused(tmp_path: Path) -> None:
    """Weights made before the support features (58 pose features) are one clear line."""
    import hashlib

    from safetensors.numpy import load_file, save_file

    from musclemap.errors import ConfigError

    t = load_file(str(ori.WEIGHTS))
    old = ori.NUM_POSE_FEATURES - ori.NUM_SUPPORT_FEATURES
    t["pose.mean"], t["pose.std"] = t["pose.mean"][:old], t["pose.std"][:old]
    t["pose.w1"] = np.ascontiguousarray(t["pose.w1"][:old])
    save_file(t, str(tmp_path / "o.safetensors"))
    meta = json.loads(ori.WEIGHTS.with_suffix(".json").read_text())
    meta["sha256"] = hashlib.sha256((tmp_path / "o.safetensors").read_bytes()).hexdigest()
    (tmp_path / "o.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="made for 58 pose features, this version computes 81"):
        ori.OrientationModel.load(tmp_path / "o.safetensors")


def test_benchmark_weighs_the_scene_as_the_gate_does() -> None:
    """benchmarks/orientation_scene.py's rule search weighs the scene score as
    `OrientationModel.scene_share` does at prediction time."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import orientation_scene

    model = ori.default_model()
    assert (model.scene_weight, model.scene_area_power) == (1.5, 4.0)
    areas = np.array([0.0, 0.2, 0.5, 1.2, np.nan])
    share = orientation_scene.area_weight(areas, model.scene_area_power)[:, 0]
    want = [model.scene_share(None if np.isnan(a) else float(a)) for a in areas]
    assert model.scene_weight * share == pytest.approx(want)
    assert want[1] == pytest.approx(1.5 * 0.8**4)


def test_damaged_orientation_weights_are_refused(tmp_path: Path) -> None:
    from musclemap.errors import ConfigError

    data = bytearray(ori.WEIGHTS.read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "o.safetensors").write_bytes(bytes(data))
    (tmp_path / "o.json").write_text(ori.WEIGHTS.with_suffix(".json").read_text())
    with pytest.raises(ConfigError, match="orientation weights unreadable.*checksum"):
        ori.OrientationModel.load(tmp_path / "o.safetensors")


def test_rotate_choices_read_as_degrees_clockwise() -> None:
    """`predict --rotate` and the web `rotate` field share one reading of the choices."""
    assert ori.ROTATE_CHOICES == ("auto", "0", "90", "180", "270")
    assert [ori.rotation_of(c) for c in ori.ROTATE_CHOICES] == [None, 0, 90, 180, 270]
    for bad in ("45", "", "AUTO", "90.0"):
        with pytest.raises(ValueError, match="is not one of auto, 0, 90, 180, 270"):
            ori.rotation_of(bad)
    assert ori.requested(90).quarter_turns == 3  # 90 clockwise = three counter-clockwise turns


# `pose_features` and `support_features` as they were before their means over frames were taken
# together (session 9): the features the orientation weights were trained on, kept here as the
# reference the grouped code must equal bit for bit.
def _mean(a: np.ndarray, axis: int | None = 0) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def _reference_support(rel: np.ndarray) -> list[float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # groups unseen in a frame: NaN
        return _reference_support_of(rel)


def _reference_support_of(rel: np.ndarray) -> list[float]:
    near = {}
    for name, axis, sign in (("down", 1, 1), ("up", 1, -1), ("right", 0, 1), ("left", 0, -1)):
        proj = sign * rel[..., axis]
        reach = np.stack([np.nanmax(proj[:, list(g)], 1) for g in ori.SUPPORT_GROUPS], 1)
        top = np.nanmax(reach, 1, keepdims=True)
        near[name] = np.where(np.isnan(reach), 0.0, reach >= top - ori.SUPPORT_REACH)
    down, up = near["down"], near["up"]
    right_more = near["right"].sum(1) >= near["left"].sum(1)
    side = np.where(right_more[:, None], near["right"], near["left"])
    other = np.where(right_more[:, None], near["left"], near["right"])
    hand, foot = _mean(rel[:, (15, 16, 19, 20)], 1), _mean(rel[:, (29, 30, 31, 32)], 1)
    hips = _mean(rel[:, [23, 24], 1], 1)
    return [
        *_mean(down), *_mean(side),
        _mean(down.sum(1)), _mean(up.sum(1)), _mean(side.sum(1)), _mean(other.sum(1)),
        _mean(down[:, ori.HANDS] * down[:, ori.FEET]),
        _mean(side[:, ori.HANDS] * side[:, ori.FEET]),
        _mean(foot[:, 1] - hand[:, 1]), _mean(np.abs(foot[:, 0] - hand[:, 0])),
        _mean(np.nanmax(rel[..., 1], 1) - hips),
    ]  # fmt: skip


def _reference_pose_features(
    image: np.ndarray, valid: np.ndarray, width: int, height: int
) -> np.ndarray | None:
    img = image[valid]
    if len(img) == 0:
        return None
    pts = img[..., :2].astype(np.float64) * (width, height)
    pts[np.nan_to_num(img[..., 2]) < ori.VISIBLE] = np.nan
    rel = pts - _mean(pts[:, [23, 24, 11, 12]], axis=1)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = np.nanmedian(np.sqrt(_mean(np.nansum(rel**2, -1), axis=1)))
    if not np.isfinite(scale) or scale <= 0:
        return None
    rel /= scale
    out: list[float] = []
    for a, b in ori.SEGMENTS:
        v = _mean(pts[:, list(b)], 1) - _mean(pts[:, list(a)], 1)
        v = v / np.linalg.norm(v, axis=-1, keepdims=True)
        out += [_mean(v[:, 1]), _mean(np.abs(v[:, 0]))]
    for idx in ori.POINTS:
        p = _mean(rel[:, list(idx)], 1)
        out += [_mean(p[:, 1]), _mean(np.abs(p[:, 0]))]
        if len(p) > 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                sd = np.nanstd(p, axis=0)
            out.append(float(np.log((sd[1] + 0.02) / (sd[0] + 0.02))))
        else:
            out.append(np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        frame = pts / (width, height)
        out += [_mean(np.nanmax(rel[..., 1], 1)), _mean(np.nanmin(rel[..., 1], 1)),
                _mean(np.nanmax(np.abs(rel[..., 0]), 1))]  # fmt: skip
        out += [
            _mean(_mean(frame[:, [23, 24], 1], 1)), _mean(np.nanmax(frame[..., 1], 1)),
            _mean(np.nanmin(frame[..., 1], 1)), float(np.log(width / height)),
        ]  # fmt: skip
        out += _reference_support(rel)
    return np.array(out, np.float64)


def test_grouped_pose_features_equal_the_feature_by_feature_loop() -> None:
    rng = np.random.default_rng(5)
    for exercise in ("biceps_curl", "squat", "shoulder_press"):
        for turns in range(4):
            seq = _seq(exercise, turns, size=(640, 360))
            image, valid = seq.image.copy(), seq.valid.copy()
            image[..., :2] += rng.normal(0, 0.01, image[..., :2].shape)  # tracker jitter
            # points out of view, frames without a person, a sequence cut to a few frames
            image[..., 2] = rng.uniform(0.2, 1.0, image[..., 2].shape)
            valid[rng.random(len(valid)) < 0.2] = False
            for cut in (len(image), 3, 2, 1):
                w, h = (640, 360) if turns % 2 == 0 else (360, 640)
                got = ori.pose_features(image[:cut], valid[:cut], w, h)
                want = _reference_pose_features(image[:cut], valid[:cut], w, h)
                if want is None:
                    assert got is None
                else:
                    assert got is not None and got.shape == (ori.NUM_POSE_FEATURES,)
                    np.testing.assert_array_equal(got, want)
        rel = np.where(rng.random((40, 33, 2)) < 0.3, np.nan, rng.normal(size=(40, 33, 2)))
        np.testing.assert_array_equal(ori.support_features(rel), _reference_support(rel))
