"""MuscleMap136, Muscle-UCF90 and Muscle-HMDB41 release folders: naming, import, validate,
split and evaluate, on generated folders of each layout."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from musclemap.cli import app
from musclemap.data.benchmarks import (
    BENCHMARKS,
    HMDB51_CLASSES,
    UCF101_CLASSES,
    hmdb51_class,
    snake_case,
    ucf101_class,
)
from musclemap.data.importers import import_release
from musclemap.data.manifest import read_manifest
from musclemap.data.predictions import write_predictions
from musclemap.errors import DatasetError

runner = CliRunner()


def test_source_class_lists() -> None:
    assert len(set(UCF101_CLASSES)) == 101 and len(set(HMDB51_CLASSES)) == 51
    assert UCF101_CLASSES[0] == "ApplyEyeMakeup" and UCF101_CLASSES[-1] == "YoYo"
    assert HMDB51_CLASSES[0] == "brush_hair" and HMDB51_CLASSES[-1] == "wave"
    assert len({snake_case(c) for c in UCF101_CLASSES}) == 101
    assert [BENCHMARKS[k].num_activities for k in BENCHMARKS] == [None, 90, 41]


@pytest.mark.parametrize(
    ("path", "cls"),
    [
        ("UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", "ApplyEyeMakeup"),
        ("v_HandStandPushups_g01_c02.avi", "HandstandPushups"),  # UCF101's own file spelling
        ("clips/PushUps/anything.mp4", "PushUps"),  # class folder
        ("clips/v_NoSuchClass_g01_c01.avi", None),
        ("clips/squat/a.mp4", None),
    ],
)
def test_ucf101_class(path: str, cls: str | None) -> None:
    assert ucf101_class(path) == cls


@pytest.mark.parametrize(
    ("path", "cls"),
    [
        ("hmdb51/kick_ball/Goal_kick_ball_f_cm_np1_ri_goo_0.avi", "kick_ball"),
        ("The_Matrix_kick_kick_ball_f_cm_np1_ri_goo_0.avi", "kick_ball"),
        ("sit_and_situp_situp_f_nm_np1_le_bad_10.avi", "situp"),
        ("Pushups_50_pushup_u_nm_np1_fr_med_2.avi", "pushup"),
        ("hmdb51/pushup/x.avi", "pushup"),
        ("clips/pushup_video.avi", None),
    ],
)
def test_hmdb51_class(path: str, cls: str | None) -> None:
    assert hmdb51_class(path) == cls


def test_snake_case() -> None:
    assert [snake_case(c) for c in ("ApplyEyeMakeup", "YoYo", "PushUps", "brush_hair")] == [
        "apply_eye_makeup", "yo_yo", "push_ups", "brush_hair",
    ]  # fmt: skip


# Per layout: (activity -> muscle indices, clip path pattern, expected activity names).
PUSH, SQUAT, PULL, JACK = [1, 2, 4], [11, 13, 17], [3, 6, 7], [2, 14, 15, 16]
LAYOUTS = {
    "release": (
        lambda a, k: f"{a}/clip_{k}.mp4",
        ("push_up", "squat", "pull_up", "jumping_jack"),
        ("push_up", "squat", "pull_up", "jumping_jack"),
    ),
    "muscle-ucf90": (
        lambda a, k: f"UCF-101/{a}/v_{a}_g{k:02d}_c01.avi",
        ("PushUps", "BodyWeightSquats", "PullUps", "JumpingJack"),
        ("push_ups", "body_weight_squats", "pull_ups", "jumping_jack"),
    ),
    "muscle-hmdb41": (
        lambda a, k: f"videos/Clip{k}_{a}_f_nm_np1_fr_goo_{k}.avi",
        ("pushup", "situp", "pullup", "jump"),
        ("pushup", "situp", "pullup", "jump"),
    ),
}


def write_release(root: Path, layout: str) -> tuple[str, ...]:
    """Five split pickle pairs: activities 0-1 known (train/val/test), 2-3 new (val/test)."""
    path_of, acts, names = LAYOUTS[layout]
    labels = dict(zip(acts, (PUSH, SQUAT, PULL, JACK), strict=True))
    plan = {
        "train": [(acts[0], k) for k in range(3)] + [(acts[1], k) for k in range(3)],
        "val_seen": [(acts[0], 3), (acts[1], 3)],
        "test_seen": [(acts[0], 4), (acts[1], 4)],
        "val_unseen": [(acts[2], 1), (acts[3], 1)],
        "test_unseen": [(acts[2], 2), (acts[3], 2)],
    }
    for split, clips in plan.items():
        videos = [path_of(a, k) for a, k in clips]
        for video in videos:
            (root / video).parent.mkdir(parents=True, exist_ok=True)
            (root / video).write_bytes(b"")
        (root / f"{split}_video_list.pkl").write_bytes(pickle.dumps(videos))
        (root / f"{split}_label_list.pkl").write_bytes(pickle.dumps([labels[a] for a, _ in clips]))
    return names


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_release_layout_end_to_end(tmp_path: Path, layout: str) -> None:
    names = write_release(tmp_path / "release", layout)
    out = tmp_path / "m.csv"
    res = runner.invoke(
        app, ["data", "import", str(tmp_path / "release"), "--layout", layout, "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "14 clips, 4 activities" in said
    title = BENCHMARKS[layout].title
    if BENCHMARKS[layout].num_activities:  # a partial set is said, not hidden
        assert f"{title} has {BENCHMARKS[layout].num_activities} activities" in said
    rows = read_manifest(out)
    by_activity = {r.activity: r for r in rows}
    assert set(by_activity) == set(names)
    assert list(np.flatnonzero(by_activity[names[3]].labels)) == JACK
    assert {r.extra["dataset"] for r in rows} == {title}
    assert {r.split for r in rows if r.activity in names[2:]} == {"val_new", "test_new"}
    res = runner.invoke(app, ["data", "validate", str(out), "--no-decode"])
    assert res.exit_code == 0 and "no problems found" in res.output, res.output

    # Evaluate: perfect scores give 100 on every split; all-ones give the positive rate.
    oracle, ones = tmp_path / "oracle.csv", tmp_path / "ones.csv"
    write_predictions(oracle, [r.clip_id for r in rows], np.stack([r.labels for r in rows]))
    res = runner.invoke(app, ["baseline", "all_ones", "--manifest", str(out), "--out", str(ones)])
    assert res.exit_code == 0, res.output
    table = {}
    for name, preds in (("oracle", oracle), ("ones", ones)):
        res = runner.invoke(
            app,
            ["evaluate", "--manifest", str(out), "--predictions", str(preds),
             "--json", str(tmp_path / f"{name}.json")],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        table[name] = json.loads((tmp_path / f"{name}.json").read_text())
    assert all(v == pytest.approx(1.0) for v in table["oracle"].values())
    # val_new: one pull (3 groups) and one jack (4 groups), disjoint: every present group's
    # positive rate is 1/2.
    assert table["ones"]["val_new"] == pytest.approx(0.5)
    # val_known: one push, one squat: disjoint groups, positive rate 1/2 each.
    assert table["ones"]["val_known"] == pytest.approx(0.5)

    # Re-split by the paper's protocol (here: one new activity of four).
    split_out = tmp_path / "s.csv"
    res = runner.invoke(app, ["data", "split", str(out), "--out", str(split_out), "--seed", "1"])
    assert res.exit_code == 0, res.output
    again = read_manifest(split_out)
    new = {r.activity for r in again if r.split.endswith("_new")}
    assert len(new) == 1
    assert not any(r.split == "train" for r in again if r.activity in new)


def test_companion_clip_without_class_is_an_error(tmp_path: Path) -> None:
    write_release(tmp_path, "muscle-ucf90")
    videos = pickle.loads((tmp_path / "train_video_list.pkl").read_bytes())
    videos[0] = "videos/my_own_clip.mp4"
    videos[1] = "videos/v_Parkour_g01_c01.avi"
    (tmp_path / "train_video_list.pkl").write_bytes(pickle.dumps(videos))
    with pytest.raises(DatasetError, match=r"2 clip\(s\) of Muscle-UCF90 name no UCF101 class"):
        import_release(tmp_path, benchmark="muscle-ucf90")
    with pytest.raises(DatasetError, match="unknown benchmark 'kinetics'"):
        import_release(tmp_path, benchmark="kinetics")
