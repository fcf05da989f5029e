"""analyse(): the exercise, movement and repetition blocks of a prediction, and predict
--exercise through the console entry point."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import run_main as run
from musclemap.analysis import analyse
from musclemap.demo import synthetic_pose_sequence
from musclemap.errors import UnknownActivityError
from musclemap.predictor import Prediction, Predictor


@pytest.fixture(scope="module")
def squat_prediction() -> Prediction:
    # 10 s of generated squats, one every 2.5 s from standing: turning points at 1.25, 3.75,
    # 6.25 and 8.75 s.
    seq = synthetic_pose_sequence("squat", seconds=10.0)
    return Predictor.default().predict_poses(seq, video="generated-squat")


def test_named_exercise_blocks(squat_prediction: Prediction) -> None:
    result = analyse(squat_prediction, "back squat")
    d = squat_prediction.to_dict()
    assert d["exercise"]["name"] == "squat" and d["exercise"]["query"] == "back squat"
    assert d["exercise"]["guessed"] is False
    ex = d["exercise"]
    active = set(squat_prediction.active)
    assert set(ex["missing"]) == set(ex["expected"]) - active
    assert set(ex["unexpected"]) == active - set(ex["expected"])
    assert d["repetitions"]["kind"] == "reps" and d["repetitions"]["count"] == 4
    turns = [r["turn_s"] for r in d["repetitions"]["reps"]]
    assert turns == pytest.approx([1.25, 3.75, 6.25, 8.75], abs=0.15)
    assert all(r["muscles"] for r in d["repetitions"]["reps"])
    mv = d["movement"]
    assert mv["exercise"] == "squat" and mv["examples"] >= 10 and mv["findings"]
    knee = next(f for f in mv["findings"] if f["measure"] == "knee_rom")
    assert knee["value_deg"] == pytest.approx(114.6, abs=6) and knee["examples"] >= 3
    assert result.to_dict() == {k: d[k] for k in ("exercise", "movement", "repetitions")}
    json.dumps(d)  # the blocks are JSON


def test_guess_from_looks_like_and_no_guess(squat_prediction: Prediction) -> None:
    squat_prediction.looks_like = [{"exercise": "Barbell_Squat", "similarity": 0.91}]  # type: ignore[attr-defined]
    ex = analyse(squat_prediction).to_dict()["exercise"]
    assert ex["guessed"] is True and ex["name"] == "squat" and ex["similarity"] == 0.91
    squat_prediction.looks_like = []  # type: ignore[attr-defined]
    d = analyse(squat_prediction).to_dict()
    assert d["exercise"] is None and d["movement"] is None and d["repetitions"]["count"] == 4
    with pytest.raises(UnknownActivityError):
        analyse(squat_prediction, "xyzzy")


def test_each_part_of_a_video_that_changes_exercise_is_analysed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    import numpy as np

    import musclemap.viz.timeline as timeline
    from musclemap.viz import registry

    squat = synthetic_pose_sequence("squat", seconds=10.0)
    curl = synthetic_pose_sequence("biceps_curl", seconds=10.0)
    n = len(squat) + len(curl)
    seq = dataclasses.replace(
        squat, image=np.concatenate([squat.image, curl.image]),
        world=np.concatenate([squat.world, curl.world]),
        valid=np.concatenate([squat.valid, curl.valid]), times=np.arange(n) / squat.fps,
    )  # fmt: skip
    pred = Predictor.default().predict_poses(seq, video="generated-workout")
    result = analyse(pred)
    d = pred.to_dict()
    # no one exercise for the whole video; each part has its own guess and repetitions
    assert d["exercise"] is None and d["movement"] is None
    first, second = d["segments"]
    assert [p["exercise"] for p in result.parts] == [first["exercise"], second["exercise"]]
    assert first["exercise"]["guessed"] and first["exercise"]["observed_active"] == first["active"]
    assert "quadriceps" in first["exercise"]["expected"]
    assert "biceps" in second["exercise"]["expected"]
    assert first["repetitions"]["count"] == 4  # the squat's four, as the squat alone has
    assert all(r["end_s"] <= first["end_s"] + 0.5 for r in first["repetitions"]["reps"])
    assert second["repetitions"]["count"] >= 1
    assert all(r["start_s"] >= second["start_s"] - 0.5 for r in second["repetitions"]["reps"])
    # The timeline picture marks the parts' repetitions, numbered on.
    drawn: dict = {}
    monkeypatch.setattr(timeline, "render_timeline", lambda tl, path, **kw: drawn.update(kw))
    registry._draw_timeline(d, Path("x.png"), None, "t")
    count = first["repetitions"]["count"] + second["repetitions"]["count"]
    assert [r["index"] for r in drawn["reps"]] == list(range(1, count + 1))
    assert drawn["segments"] == d["segments"]


def test_plank_reports_hold_time(squat_prediction: Prediction) -> None:
    reps = analyse(squat_prediction, "plank", attach=False).reps
    assert reps.kind == "hold" and reps.count == 0


def test_predict_exercise_option(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: list,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = make_video("squat.mp4", num_frames=60)
    out = tmp_path / "o"
    argv = ["predict", str(video), "--exercise", "back squat", "--json", str(out / "r.json")]
    argv += ["--pose-estimator", "scripted"]
    argv += ["--body-map", str(out / "m.svg"), "--timeline", str(out / "t.png")]
    assert run(argv, monkeypatch) == 0
    d = json.loads((out / "r.json").read_text())
    assert d["exercise"]["name"] == "squat" and d["repetitions"]["count"] >= 1
    printed = capsys.readouterr().out
    assert "exercise: squat" in printed and "repetitions:" in printed
    assert "movement against the library" in printed
    svg = (out / "m.svg").read_text()
    marks = d["exercise"]["missing"] + d["exercise"]["unexpected"]
    assert ("For the exercise" in svg) == bool(marks)


def test_predict_unknown_exercise_fails_before_reading_the_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "v.mp4").write_bytes(b"not a video")
    assert run(["predict", str(tmp_path / "v.mp4"), "--exercise", "bak squatt"], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown exercise 'bak squatt'; closest: squat" in err[0]


def test_batch_with_exercise(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: list,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        make_video(name, num_frames=40).rename(folder / name)
    out = tmp_path / "out"
    argv = ["predict", str(folder), "--out-dir", str(out), "--exercise", "squat"]
    argv += ["--pose-estimator", "scripted"]
    assert run(argv + ["--timeline", "png"], monkeypatch) == 0
    for stem in ("a", "b"):
        d = json.loads((out / f"{stem}.json").read_text())
        assert d["exercise"]["name"] == "squat" and d["repetitions"]["kind"] == "reps"
        assert (out / f"{stem}_timeline.png").is_file()


def test_prepare_loads_the_knowledge_base_and_library_ahead() -> None:
    import musclemap.activities as activities
    from musclemap.analysis import prepare

    activities._index.cache_clear()
    activities._library_index.cache_clear()
    prepare()
    assert activities._index.cache_info().currsize == 1
    assert activities._library_index.cache_info().currsize == 1
    assert activities.find_activity("back squat").name == "squat"
