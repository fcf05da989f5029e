"""Predictor: packaged weights, pipeline on generated videos, JSON schema, cache, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musclemap.data.pose_sequence import PoseSequence
from musclemap.demo import synthetic_pose_sequence
from musclemap.errors import ArgumentError, ConfigError, NoPersonError, VideoError
from musclemap.pose.keypose import window_starts
from musclemap.predictor import WEIGHTS_DIR, Predictor
from musclemap.skeleton import MEDIAPIPE33
from musclemap.taxonomy import GROUP_IDS
from pose_standins import ScriptedEstimator


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.default()


def check_schema(d: dict[str, Any]) -> None:
    assert set(d) >= {"video", "muscles", "active", "timeline", "pose_coverage", "people", "model",
                      "looks_like"}
    assert len(d["looks_like"]) == 3
    assert all(set(x) == {"exercise", "similarity"} and -1 <= x["similarity"] <= 1
               for x in d["looks_like"])
    assert list(d["muscles"]) == list(GROUP_IDS)
    assert all(0.0 <= p <= 1.0 for p in d["muscles"].values())
    # "active": exactly the groups at or above the threshold (up to the JSON's 4-decimal
    # rounding), most probable first.
    probs = d["muscles"]
    assert all(probs[g] >= d["threshold"] - 1e-4 for g in d["active"])
    assert all(probs[g] < d["threshold"] + 1e-4 for g in set(probs) - set(d["active"]))
    assert [probs[g] for g in d["active"]] == sorted((probs[g] for g in d["active"]), reverse=True)
    assert set(d["model"]) == {"name", "version"}
    assert d["timeline"] and all(
        w["end_s"] > w["start_s"] and list(w["muscles"]) == list(GROUP_IDS) for w in d["timeline"]
    )
    json.dumps(d)  # serialisable


def test_packaged_weights_load_and_are_small(predictor: Predictor) -> None:
    assert (WEIGHTS_DIR / "default.safetensors").stat().st_size < 20_000_000
    meta = json.loads((WEIGHTS_DIR / "default.json").read_text())
    assert predictor.threshold == meta["threshold"]  # the trained threshold, not a default
    assert (WEIGHTS_DIR / "MODEL_CARD.md").is_file()


def test_generated_pose_sequence_gives_a_full_prediction(predictor: Predictor) -> None:
    pred = predictor.predict_poses(synthetic_pose_sequence("squat", seconds=6.0))
    d = pred.to_dict()
    check_schema(d)
    assert d["pose_coverage"] == 1.0 and d["people"] == 1
    # 60 frames: windows every `stride` frames, the last one ending at the end of the clip.
    starts = window_starts(60, predictor.window, predictor.stride)
    assert len(d["timeline"]) == len(starts) > 1 and starts[-1] + predictor.window == 60
    np.testing.assert_allclose(
        pred.scores_array(),
        np.mean([list(w["muscles"].values()) for w in d["timeline"]], 0),
        atol=1e-3,
    )


def test_generated_squat_works_legs_not_arms(predictor: Predictor) -> None:
    m = predictor.predict_poses(synthetic_pose_sequence("squat", seconds=8.0)).muscles
    assert min(m["quadriceps"], m["gluteus"]) > max(m["biceps"], m["chest"])


def test_generated_curl_works_biceps_first(predictor: Predictor) -> None:
    pred = predictor.predict_poses(synthetic_pose_sequence("biceps_curl", seconds=8.0))
    assert pred.ranked()[0][0] == "biceps"
    assert pred.muscles["biceps"] > 2 * max(pred.muscles["quadriceps"], pred.muscles["calves"])


def test_mirrored_person_gets_the_same_scores(predictor: Predictor) -> None:
    seq = synthetic_pose_sequence("shoulder_press", seconds=6.0)
    mirrored = synthetic_pose_sequence("shoulder_press", seconds=6.0)
    mirrored.world = MEDIAPIPE33.flip(seq.world)
    mirrored.image = seq.image[:, MEDIAPIPE33.flip_permutation].copy()
    mirrored.image[..., 0] = 1.0 - mirrored.image[..., 0]
    a, b = predictor.predict_poses(seq), predictor.predict_poses(mirrored)
    np.testing.assert_allclose(a.scores_array(), b.scores_array(), atol=1e-6)
    assert a.looks_like == b.looks_like


def test_short_clip_is_one_padded_window_and_too_short_is_refused(predictor: Predictor) -> None:
    pred = predictor.predict_poses(synthetic_pose_sequence("biceps_curl", seconds=1.5))
    assert len(pred.timeline) == 1 and any("short clip" in n for n in pred.notes)
    with pytest.raises(VideoError, match=r"too short \(5 frames sampled at 10 fps, 0.5 s\)"):
        predictor.predict_poses(synthetic_pose_sequence("biceps_curl", seconds=0.5))
    one = synthetic_pose_sequence("biceps_curl", seconds=0.1)
    with pytest.raises(VideoError, match=r"too short \(1 frame sampled at 10 fps, 0.1 s\)"):
        predictor.predict_poses(one)


def test_no_person_in_pose_sequence(predictor: Predictor) -> None:
    seq = synthetic_pose_sequence("squat", seconds=3.0)
    seq.valid[:] = False
    with pytest.raises(NoPersonError, match="no person"):
        predictor.predict_poses(seq)
    seq.valid[:5] = True
    with pytest.raises(NoPersonError, match="pose_coverage"):
        predictor.predict_poses(seq)


def test_predict_poses_names_a_wrong_argument(predictor: Predictor) -> None:
    # A dict was an AttributeError traceback ('dict' object has no attribute 'source'), found
    # by the hostile pass's Python API cases (session 15).
    with pytest.raises(ArgumentError, match="seq must be a musclemap.data.pose_sequence.Pose"):
        predictor.predict_poses({"image": 1})  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="video must be a str"):
        predictor.predict_poses(
            synthetic_pose_sequence("squat", seconds=3.0), video=3  # type: ignore[arg-type]
        )
    empty = PoseSequence.empty(fps=10.0, width=640, height=360)
    with pytest.raises(VideoError, match=r"^poses: no poses \(the sequence is empty\)$"):
        predictor.predict_poses(empty)
    with pytest.raises(VideoError, match=r"^a.mp4: no frames could be decoded$"):
        predictor.predict_poses(empty, video="a.mp4")


def test_frames_without_a_torso_count_as_frames_without_a_person(predictor: Predictor) -> None:
    # MediaPipe always gives the shoulders and hips; a sequence made in Python or a pose file
    # may hold NaN there, and the features of such frames were the training mean's (a squat
    # without hips scored shoulder, upper_back and chest first, with no note).
    import copy

    squat = synthetic_pose_sequence("squat", seconds=6.0)
    no_hips = copy.deepcopy(squat)
    no_hips.world[:, [23, 24], :3] = np.nan
    with pytest.raises(NoPersonError, match="shoulders and hips have no 3D landmarks in any"):
        predictor.predict_poses(no_hips)
    some = copy.deepcopy(squat)
    some.world[:20, [11, 12], :3] = np.nan
    pred = predictor.predict_poses(some)
    assert pred.notes[0].startswith("20 of 60 frames with a person had no 3D landmarks")
    assert pred.pose_coverage == pytest.approx(40 / 60)
    without = copy.deepcopy(squat)
    without.valid[:20] = False  # the same frames without a person: the same scores
    without.image[:20], without.world[:20] = np.nan, np.nan
    assert pred.muscles == predictor.predict_poses(without).muscles
    assert {g for g, _ in pred.ranked()[:3]} == {g for g, _ in
                                                 predictor.predict_poses(squat).ranked()[:3]}
    assert predictor.predict_poses(copy.deepcopy(squat)).notes == []


def test_video_pipeline_and_cache(make_video: Callable[..., Path], tmp_path: Path) -> None:
    video = make_video("squat.mp4", num_frames=40, fps=10)
    est = ScriptedEstimator()
    pred = Predictor.default(cache_dir=tmp_path / "cache", estimator=est).predict(video)
    check_schema(pred.to_dict())
    assert est.calls == 40 and pred.pose is not None and len(pred.pose) == 40
    again = Predictor.default(cache_dir=tmp_path / "cache", estimator=est).predict(video)
    assert est.calls == 40  # the second run read the cached poses
    assert again.muscles == pytest.approx(pred.muscles)


def test_video_without_person(make_video: Callable[..., Path], tmp_path: Path) -> None:
    video = make_video("empty.mp4", num_frames=20)
    p = Predictor.default(cache_dir=tmp_path, estimator=ScriptedEstimator(person=False))
    with pytest.raises(NoPersonError, match="no person detected"):
        p.predict(video)


def test_bad_files(tmp_path: Path, predictor: Predictor) -> None:
    with pytest.raises(VideoError, match="not found"):
        predictor.predict(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 50)
    with pytest.raises(VideoError):
        Predictor.default(cache_dir=tmp_path, estimator=ScriptedEstimator()).predict(junk)


def test_damaged_weights_are_refused(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    data = bytearray((WEIGHTS_DIR / "default.safetensors").read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    (tmp_path / "model.json").write_text((WEIGHTS_DIR / "default.json").read_text())
    with pytest.raises(ConfigError, match="checksum"):
        Predictor.from_checkpoint(tmp_path)


@pytest.mark.slow
def test_real_clip_end_to_end(wild_dir: Path, tmp_path: Path, predictor: Predictor) -> None:
    clips = sorted((wild_dir / "clips").glob("*.mp4"), key=lambda p: p.stat().st_size)
    pred = Predictor.default(cache_dir=tmp_path).predict(clips[len(clips) // 3])
    d = pred.to_dict()
    check_schema(d)
    assert d["pose_coverage"] > 0.5


def _joined(*seqs: PoseSequence) -> PoseSequence:
    """One sequence of several people's exercises back to back (times continue)."""
    import dataclasses

    n = sum(len(s) for s in seqs)
    return dataclasses.replace(
        seqs[0],
        image=np.concatenate([s.image for s in seqs]),
        world=np.concatenate([s.world for s in seqs]),
        valid=np.concatenate([s.valid for s in seqs]),
        times=np.arange(n) / seqs[0].fps,
    )


def test_a_video_that_changes_exercise_is_split_and_said(predictor: Predictor) -> None:
    # Squats then curls were one mean score: legs and arms "active" together, without a word.
    seq = _joined(synthetic_pose_sequence("squat", seconds=8.0),
                  synthetic_pose_sequence("biceps_curl", seconds=8.0))  # fmt: skip
    pred = predictor.predict_poses(seq)
    first, second = pred.segments
    assert first["start_s"] == 0.0 and abs(first["end_s"] - 8.0) <= 0.5
    assert second["start_s"] == first["end_s"] and second["end_s"] == pytest.approx(16.0)
    assert {"quadriceps", "gluteus"} <= set(first["active"]) and "biceps" not in first["active"]
    assert second["active"][0] in ("biceps", "forearms") and "quadriceps" not in second["active"]
    assert len(first["looks_like"]) == 3 and "curl" in second["looks_like"][0]["exercise"].lower()
    for seg in pred.segments:  # each part's own scores, as the whole video's are made
        assert list(seg["muscles"]) == list(GROUP_IDS)
        assert seg["active"] == [g for g in sorted(seg["muscles"], key=lambda g: -seg["muscles"][g])
                                 if seg["muscles"][g] >= pred.threshold]  # fmt: skip
    (note,) = [n for n in pred.notes if "changes" in n]
    assert note.startswith(f"the movement changes at {second['start_s']:.1f} s: 0.0-")
    assert "(quadriceps" in note or "(hamstring" in note or "(gluteus" in note
    assert pred.to_dict()["segments"] == pred.segments
    json.dumps(pred.to_dict())
    # one exercise, however long: no parts, no note
    for exercise in ("squat", "biceps_curl", "shoulder_press"):
        one = predictor.predict_poses(synthetic_pose_sequence(exercise, seconds=20.0))
        assert one.segments == [] and not any("changes" in n for n in one.notes)


def test_parts_that_look_like_one_exercise_are_one(
    predictor: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A camera that moves from the side of a squat to its front can move the scores as much as
    # another exercise does; parts whose top "looks like" is the same exercise are not a change.
    from musclemap.predictor import _same_exercise

    seq = _joined(synthetic_pose_sequence("squat", seconds=8.0),
                  synthetic_pose_sequence("biceps_curl", seconds=8.0))  # fmt: skip
    assert len(predictor.predict_poses(seq).segments) == 2
    monkeypatch.setattr(predictor.model, "looks_like", lambda e, k=3: [("Barbell Squat", 0.9)])
    pred = predictor.predict_poses(seq)
    assert pred.segments == [] and not any("changes" in n for n in pred.notes)
    assert _same_exercise("Barbell Squat", "squat") and _same_exercise("squat", "squat")
    assert not _same_exercise("squat", "bicep curl") and not _same_exercise("x", "y")


def test_the_note_names_each_part() -> None:
    from musclemap.predictor import segments_note

    seg = {"start_s": 0.0, "end_s": 9.04, "active": ["quadriceps", "gluteus"],
           "looks_like": [{"exercise": "squat", "similarity": 0.9}]}  # fmt: skip
    bare = {"start_s": 9.04, "end_s": 15.0, "active": [], "looks_like": []}  # a torch model's
    assert segments_note([seg, bare]).startswith(
        "the movement changes at 9.0 s: 0.0-9.0 s looks like squat (quadriceps, gluteus); "
        "9.0-15.0 s (no group active); the scores above are the mean over the whole video"
    )


def test_real_workout_squats_curls_squats(wild_dir: Path, tmp_path: Path) -> None:
    """A real squat clip, a real curl clip and the squat clip again in one video, through the
    whole predict path: three parts, each change near its cut (9.3 s and 17.9 s)."""
    import av

    video = tmp_path / "workout.mp4"
    with av.open(str(video), "w") as out:  # both clips are 360x640 at 30 fps: frames as decoded
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 360, 640, "yuv420p"
        squat, curl = "squat__kbtrainer__1.mp4", "bicep_curl__mrm__1.mp4"
        for name in (squat, curl, squat):
            with av.open(str(wild_dir / "clips" / name)) as clip:
                for frame in clip.decode(video=0):
                    rgb = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), "rgb24")
                    out.mux(stream.encode(rgb))
        out.mux(stream.encode())
    pred = Predictor.default(cache_dir=tmp_path).predict(video)
    squat, curl, again = pred.segments
    assert abs(curl["start_s"] - 9.3) <= 1.0 and abs(again["start_s"] - 17.9) <= 1.0
    for part in (squat, again):
        assert part["looks_like"][0]["exercise"] == "squat" and "quadriceps" in part["active"]
        assert "biceps" not in part["active"]
    assert "curl" in curl["looks_like"][0]["exercise"] and "biceps" in curl["active"]
    assert "quadriceps" not in curl["active"]


def test_default_model_scores_without_torch() -> None:
    """The packaged model runs in numpy: loading it and scoring poses imports no torch."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from musclemap.predictor import Predictor\n"
        "from musclemap.demo import synthetic_pose_sequence\n"
        "p = Predictor.default().predict_poses(synthetic_pose_sequence('squat'))\n"
        "assert len(p.muscles) == 20 and p.looks_like\n"
        "print('torch' in sys.modules, 'sklearn' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"threshold": 7}, "threshold 7 (expected a number in [0, 1])"),  # nothing was active
        ({"fps": -1}, "fps -1 (expected a number in (0, 60])"),  # a decoder traceback
        ({"fps": None}, "fps None (expected a number in (0, 60])"),  # a TypeError
        ({"min_seconds": float("nan")}, "min_seconds nan (expected a number >= 0)"),
    ],
)
def test_unusable_model_settings_are_one_config_error(
    tmp_path: Path, change: dict[str, Any], says: str
) -> None:
    import shutil

    weights = tmp_path / "m.safetensors"
    shutil.copy(WEIGHTS_DIR / "default.safetensors", weights)
    meta = json.loads((WEIGHTS_DIR / "default.json").read_text())
    (tmp_path / "m.json").write_text(json.dumps({**meta, **change}))
    with pytest.raises(ConfigError) as err:
        Predictor.from_checkpoint(weights)
    assert str(err.value) == f"{weights}: unusable model settings: {says}"


def test_too_few_poses_are_refused_whatever_the_rate(predictor: Predictor) -> None:
    # --fps 0.001 on a 9-s squat sampled one pose, "1000 s" long by the rate, and scored
    # calves and feet_ankles active (exit 0).
    one = synthetic_pose_sequence("squat", seconds=1000.0, fps=0.001)
    assert len(one) == 1
    with pytest.raises(VideoError, match=r"only 1 pose\(s\) sampled at 0.001 fps; need at least 5"):
        predictor.predict_poses(one)
    five = synthetic_pose_sequence("squat", seconds=10.0, fps=0.5)  # 5 poses: still scored
    assert len(five) == 5 and len(predictor.predict_poses(five).muscles) == len(GROUP_IDS)


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda p, v: p.predict(None), "video must be a path (str or os.PathLike), got None"),
        (lambda p, v: p.predict(123), "video must be a path (str or os.PathLike), got 123"),
        (lambda p, v: p.predict(b"a.mp4"), "video must be a path (str or os.PathLike), got b'a"),
        (lambda p, v: p.predict(v, fps=-1), "fps must be in (0, 60], got -1"),
        (lambda p, v: p.predict(v, fps=1000), "fps must be in (0, 60], got 1000"),
        (lambda p, v: p.predict(v, fps="10"), "fps must be in (0, 60], got '10'"),
        (lambda p, v: p.predict(v, workers=-3), "workers must be None or an integer >= 0, got -3"),
        (lambda p, v: p.predict(v, rotate=90.0), "rotate must be None or one of 0, 90, 180, 270"),
        (lambda p, v: p.predict(v, progress=5), "progress must be None or callable"),
        (lambda p, v: Predictor.from_checkpoint(None), "checkpoint must be a path"),
        (lambda p, v: Predictor.default(device=5), "device must be a str such as 'cpu', got 5"),
        (lambda p, v: Predictor.default(cache_dir=123), "cache_dir must be None or a path"),
        (lambda p, v: Predictor.default(use_cache="no"), "use_cache must be True or False"),
    ],
)
def test_wrong_arguments_are_one_argument_error_before_any_work(
    call: Callable[..., Any], says: str, make_video: Callable[..., Path], tmp_path: Path
) -> None:
    # Each was a TypeError from pathlib, math or the pose loop (progress: after the decoding),
    # or ran (workers=-3, fps=1000, cache_dir=123 made ./123, use_cache="no" cached).
    from musclemap.errors import ArgumentError

    est = ScriptedEstimator()
    video = make_video("v.mp4", num_frames=20)
    p = Predictor.default(cache_dir=tmp_path / "c", estimator=est)
    with pytest.raises(ArgumentError) as err:
        call(p, video)
    assert str(err.value).startswith(says) and "\n" not in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, TypeError)
    assert est.calls == 0 and not (tmp_path / "c").exists()


def weights_naming(tmp_path: Path, estimator: str | None) -> Path:
    """The packaged weights with `pose_estimator` set in their JSON (None: left out)."""
    import shutil

    folder = tmp_path / f"weights_{estimator}"
    folder.mkdir()
    shutil.copyfile(WEIGHTS_DIR / "default.safetensors", folder / "model.safetensors")
    meta = json.loads((WEIGHTS_DIR / "default.json").read_text())
    meta.pop("pose_estimator", None)
    if estimator is not None:
        meta["pose_estimator"] = estimator
    (folder / "model.json").write_text(json.dumps(meta))
    return folder / "model.safetensors"


def test_predict_poses_with_the_estimator_the_weights_name(
    make_video: Callable[..., Path], tmp_path: Path
) -> None:
    from musclemap.pose import estimator as registry
    from pose_standins import registered

    video = make_video("squat.mp4", num_frames=40, fps=10)
    with registered() as made:
        registry.register_estimator("scripted_too", ScriptedEstimator)
        try:
            weights = weights_naming(tmp_path, "scripted")
            p = Predictor.from_checkpoint(weights, use_cache=False)
            assert p.trained_estimator == "scripted" and p.estimator is made[0]
            pred = p.predict(video, workers=1)
            assert made[0].calls == 40  # the model's estimator posed the video
            assert not any("pose estimator" in n for n in pred.notes)
            other = Predictor.from_checkpoint(weights, use_cache=False, estimator="scripted_too")
            pred = other.predict(video, workers=1)
            assert made[0].calls == 40  # another one did, as asked, and it is said
            assert [n for n in pred.notes if "pose estimator" in n] == [
                "poses from the scripted_too pose estimator (--pose-estimator), not the scripted "
                "one the model was trained on; scores may differ from the model's tested accuracy"
            ]
        finally:
            registry.ESTIMATORS.pop("scripted_too", None)


def test_weights_without_an_estimator_mean_mediapipe(tmp_path: Path) -> None:
    p = Predictor.from_checkpoint(weights_naming(tmp_path, None))
    assert p.trained_estimator == "mediapipe" and p.estimator == "mediapipe"
    assert Predictor.default().trained_estimator == "mediapipe_g4"  # version 11 names it
    g4 = Predictor.from_checkpoint(weights_naming(tmp_path, "mediapipe_g4"))
    assert g4.estimator == "mediapipe_g4" and g4.estimator_name == "mediapipe_g4"
    with pytest.raises(ConfigError, match="pose_estimator 'openpose'"):
        Predictor.from_checkpoint(weights_naming(tmp_path, "openpose"))
