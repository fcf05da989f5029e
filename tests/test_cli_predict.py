"""`musclemap predict` (and usage errors shared with `demo`) via the console entry point."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import run_main
from musclemap.taxonomy import GROUP_IDS

run = run_main  # the console entry point in this process


def test_predict_one_video(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: list,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = make_video("squat.mp4", num_frames=40)
    out = tmp_path / "o"
    code = run(
        [
            "predict",
            str(video),
            "--json",
            str(out / "r.json"),
            "--body-map",
            str(out / "m.png"),
            "--timeline",
            str(out / "t.png"),
            "--overlay",
            str(out / "o.mp4"),
            "--top-k",
            "5",
            "--threshold",
            "0.3",
            "--pose-estimator",
            "scripted",
        ],
        monkeypatch,
    )
    assert code == 0
    d = json.loads((out / "r.json").read_text())
    assert d["threshold"] == 0.3 and d["video"] == str(video)
    assert (out / "m.png").stat().st_size > 0 and (out / "t.png").stat().st_size > 0
    from musclemap.data.video_io import probe

    assert probe(out / "o.mp4").num_frames > 0
    table = capsys.readouterr().out.split("\nexercise:")[0]  # the exercise block follows
    assert sum(gid in table for gid in GROUP_IDS) == 5
    assert len(scripted) == 1 and scripted[0].calls > 0  # poses came from --pose-estimator


def test_batch_skips_bad_files_and_fails_the_exit_code(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: list,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    good = make_video("a.mp4", num_frames=30)
    good.rename(folder / "a.mp4")
    (folder / "broken.mp4").write_bytes(b"\x00" * 100)
    out = tmp_path / "out"
    argv = ["predict", str(folder), "--out-dir", str(out), "--body-map", "svg"]
    code = run([*argv, "--pose-estimator", "scripted"], monkeypatch)
    assert code == 1
    err = capsys.readouterr().err
    assert "broken.mp4" in err and "1 of 2 videos failed" in err and "Traceback" not in err
    assert (out / "a.json").is_file() and (out / "a_body_map.svg").is_file()
    rows = list(csv.reader((out / "summary.csv").open()))
    assert rows[0] == ["clip", *GROUP_IDS] and len(rows) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["predict", "missing.mp4"], "not found"),
        (["predict", "a.mp4", "b.mp4"], "--out-dir"),
        (["demo", "--exercise", "yoga"], "unknown demo exercise"),
    ],
)
def test_user_errors_are_one_line(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(argv, monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("error:")


# -- issue 12: every option and output path checked before any work ------------------------------


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a model is loaded or a video decoded: checks must come first."""
    from musclemap import predictor as predict_module
    from musclemap.pose import extract

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the inputs were checked")

    monkeypatch.setattr(predict_module.Predictor, "default", boom)
    monkeypatch.setattr(predict_module.Predictor, "from_checkpoint", boom)
    monkeypatch.setattr(extract, "extract_poses", boom)


@pytest.mark.parametrize(
    "option, value",
    [
        ("--fps", "0"),
        ("--fps", "-1"),
        ("--fps", "nan"),
        ("--fps", "inf"),
        ("--fps", "1000"),
        ("--threshold", "2"),
        ("--threshold", "-1"),
        ("--threshold", "nan"),
        ("--top-k", "0"),
        ("--top-k", "-3"),
        ("--workers", "-1"),
        ("--rotate", "45"),
        ("--rotate", "-90"),
        ("--rotate", "sideways"),
        # a file output ending in '/' names a folder (pathlib dropped the slash: a file 'new')
        ("--json", "out/new/"),
        ("--body-map", "maps/"),
        ("--timeline", "t/"),
        ("--overlay", "o/"),
    ],
)
def test_options_out_of_range_are_usage_errors(
    option: str,
    value: str,
    make_video: Callable[..., Path],
    no_work: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = make_video()
    assert run(["predict", str(video), option, value], monkeypatch) == 2
    err = capsys.readouterr().err
    assert f"Invalid value for '{option}'" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--json", "{file}/r.json"], "is a file, not a folder"),
        (["--json", "/proc/r.json"], "cannot write there"),
        (["--body-map", "/proc/musclemap/m.svg"], "cannot write there"),
        (["--json", "{dir}"], "is a folder, expected a file name"),
        (["--body-map", "{dir}/m.jpg"], "expected .svg or .png"),
        (["--timeline", "{dir}/t.svg"], "expected .png"),
        (["--overlay", "{dir}/o.avi"], "expected .mp4"),
        (["--json", "{dir}/same.png", "--timeline", "{dir}/same.png"], "both write"),
        (["--out-dir", "{file}"], "is a file, expected a folder"),
        (["--out-dir", "/proc/musclemap-out"], "cannot write there"),
    ],
)
def test_output_paths_are_checked_before_any_work(
    extra: list[str],
    message: str,
    make_video: Callable[..., Path],
    tmp_path: Path,
    no_work: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = make_video()
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    args = [a.format(file=a_file, dir=tmp_path) for a in extra]
    assert run(["predict", str(video), *args], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]


def test_missing_video_is_reported_before_the_model_loads(
    tmp_path: Path, no_work: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    assert run(["predict", str(tmp_path / "nope.mp4")], monkeypatch) == 1
    assert "nope.mp4: file not found" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["predict", "{video}"], ["explain", "{video}", "--group",
                                     "quadriceps", "--out", "x.png"], ["data", "poses", "m.csv",
                                     "--out", "o"]])  # fmt: skip
def test_unknown_pose_estimator_is_a_usage_error(
    command: list[str],
    make_video: Callable[..., Path],
    no_work: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [a.format(video=make_video()) for a in command]
    assert run([*argv, "--pose-estimator", "mediapip"], monkeypatch) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: --pose-estimator: unknown pose estimator 'mediapip'; did you mean 'mediapipe', "
        "'mediapipe_g4'? known: mediapipe, mediapipe_g4"
    ]


@pytest.mark.parametrize("command", [["predict"], ["explain"], ["data", "poses"]])
def test_pose_estimator_option_is_in_the_help(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps the help table to the terminal
    assert run([*command, "--help"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "--pose-estimator" in out and "mediapipe" in out


def test_unwritable_pose_cache_warns_and_goes_on(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: list,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    monkeypatch.setenv("MUSCLEMAP_CACHE", str(a_file / "cache"))  # after `scripted` set its own
    video = make_video("squat.mp4", num_frames=40)
    out = tmp_path / "r.json"
    argv = ["predict", str(video), "--json", str(out), "--pose-estimator", "scripted"]
    assert run(argv, monkeypatch) == 0
    err = capsys.readouterr().err
    assert "warning: pose cache" in err and "going on without the pose cache" in err
    assert json.loads(out.read_text())["muscles"]
    assert a_file.read_text() == "x"
    assert len(scripted) == 1 and scripted[0].calls == 40  # the named estimator, every frame


def test_fps_defaults_to_the_models_rate_and_another_is_noted(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: list,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from musclemap.predictor import Predictor

    trained = Predictor.default().fps
    video = make_video("squat.mp4", num_frames=40)
    base = ["predict", str(video), "--pose-estimator", "scripted", "--workers", "1", "--json"]
    assert run([*base, str(tmp_path / "a.json")], monkeypatch) == 0
    assert run([*base, str(tmp_path / "b.json"), "--fps", "5"], monkeypatch) == 0
    a = json.loads((tmp_path / "a.json").read_text())
    b = json.loads((tmp_path / "b.json").read_text())
    assert not any("fps" in n for n in a["notes"])
    assert any("sampled at 5 fps" in n and f"{trained:g} fps" in n for n in b["notes"])


def test_rotate_turns_the_poses_as_asked_single_and_batch(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: list,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--rotate replaces the orientation check's answer, alone and in a batch; the check's own
    answer stays in the quality block; a turn changes the scores (the poses were turned)."""
    video = make_video("curl.mp4", num_frames=40)
    base = ["predict", str(video), "--pose-estimator", "scripted", "--workers", "1", "--json"]
    assert run([*base, str(tmp_path / "auto.json")], monkeypatch) == 0
    assert run([*base, str(tmp_path / "r0.json"), "--rotate", "0"], monkeypatch) == 0
    assert run([*base, str(tmp_path / "r90.json"), "--rotate", "90"], monkeypatch) == 0
    auto, r0, r90 = (
        json.loads((tmp_path / f"{n}.json").read_text()) for n in ("auto", "r0", "r90")
    )
    assert auto["quality"]["orientation"]["state"] != "set"
    assert r0["quality"]["orientation"]["state"] == "set"
    assert r0["quality"]["orientation"]["rotated_deg"] == 0
    assert r0["quality"]["orientation"]["check"] == auto["quality"]["orientation"]
    assert r90["quality"]["orientation"]["rotated_deg"] == 270  # 90 clockwise = 270 the other way
    assert "turned 90 degrees clockwise before scoring, as asked" in " ".join(r90["notes"])
    assert r90["muscles"] != r0["muscles"]
    folder = tmp_path / "many"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        (folder / name).write_bytes(video.read_bytes())
    out = tmp_path / "out"
    argv = ["predict", str(folder), "--out-dir", str(out), "--rotate", "90"]
    assert run([*argv, "--pose-estimator", "scripted", "--workers", "1"], monkeypatch) == 0
    for name in ("a", "b"):
        got = json.loads((out / f"{name}.json").read_text())
        assert got["quality"]["orientation"]["rotated_deg"] == 270
        assert got["muscles"] == r90["muscles"]


def test_batch_name_collisions_never_replace_a_result(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: list,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for folder, frames in (("a", 30), ("b", 40)):
        (tmp_path / folder).mkdir()
        make_video(f"{folder}.mp4", num_frames=frames).rename(tmp_path / folder / "x.mp4")
    a, b = tmp_path / "a" / "x.mp4", tmp_path / "b" / "x.mp4"
    out = tmp_path / "out"
    argv = ["predict", str(a), str(b), str(a), "--out-dir", str(out), "--workers", "1"]
    argv += ["--pose-estimator", "scripted"]
    assert run(argv, monkeypatch) == 0
    err = capsys.readouterr().err
    results = sorted(out.glob("*.json"))
    assert len(results) == 2 and all(p.name.startswith("x-") for p in results)
    videos = {json.loads(p.read_text())["video"] for p in results}
    assert videos == {str(a), str(b)}
    assert "given twice; predicted once" in err and err.count("another video has the name") == 2
    rows = list(csv.reader((out / "summary.csv").open()))
    assert [r[0] for r in rows[1:]] == [str(a), str(b)]
    # Deterministic: the same run names the files the same way.
    assert run(argv, monkeypatch) == 0
    assert sorted(out.glob("*.json")) == results


def test_batch_on_the_pose_workers_reports_each_video(
    make_video: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Real MediaPipe in two worker processes, one video each: a gradient has no person, a
    # broken file is no video; each gets its own line and the exit code says so.
    pytest.importorskip("mediapipe")
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        make_video(name, num_frames=20).rename(folder / name)
    (folder / "c.mp4").write_bytes(b"\x00" * 100)
    out = tmp_path / "out"
    code = run(["predict", str(folder), "--out-dir", str(out), "--workers", "2"], monkeypatch)
    err = capsys.readouterr().err
    assert code == 1 and "3 of 3 videos failed" in err and "Traceback" not in err
    assert err.count("no person detected") == 2 and "c.mp4" in err
    assert not (out / "summary.csv").exists()


def test_predict_ckpt_runs_a_research_pose_run(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A skeleton model trained by `musclemap train` predicts a video through `--ckpt`."""
    import torch

    from musclemap.engine.checkpoint import read_checkpoint

    torch.set_num_threads(1)
    config = Path(__file__).resolve().parents[1] / "configs" / "stgcn_smoke.yaml"
    assert run(["train", str(config), f"train.out_dir={tmp_path}"], monkeypatch) == 0
    run_dir = tmp_path / "stgcn_smoke"
    assert read_checkpoint(run_dir / "best.pt")["config"]["model"]["name"] == "stgcn"
    video = make_video("squat.mp4", num_frames=40)
    capsys.readouterr()
    code = run(["predict", str(video), "--ckpt", str(run_dir), "--json", str(tmp_path / "r.json"),
                "--pose-estimator", "scripted"], monkeypatch)
    assert code == 0, capsys.readouterr().err
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["model"] == {"name": "stgcn", "version": "stgcn_smoke"} and d["threshold"] == 0.5
    assert list(d["muscles"]) == list(GROUP_IDS) and d["looks_like"] == []
    assert all(0.0 < p < 1.0 for p in d["muscles"].values()) and d["timeline"]


def test_predict_ckpt_of_a_video_model_says_why_not(
    make_video: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from musclemap.config import config_to_dict, load_config
    from musclemap.engine.checkpoint import atomic_save

    cfg = load_config(None, ["model.name=mvitv2_test", "data.modality=rgb"])
    atomic_save({"model": {}, "config": config_to_dict(cfg)}, tmp_path / "run" / "best.pt")
    assert run(["predict", str(make_video()), "--ckpt", str(tmp_path / "run")], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")
    assert "a mvitv2_test model on rgb input; predict works from poses" in err[0]


def test_the_table_rows_are_the_prediction(capsys: pytest.CaptureFixture[str]) -> None:
    """The table prints every group (so a group's name in it proves nothing): its rows must be
    the prediction's ranking and probabilities, "active" exactly at or above the threshold."""
    from musclemap.cli.predict import print_prediction
    from musclemap.predictor import Prediction

    probs = {g: round(0.05 * i, 2) for i, g in enumerate(GROUP_IDS)}
    pred = Prediction(video="v.mp4", muscles=probs, threshold=0.85, timeline=[],
                      pose_coverage=1.0, people=1, model={"name": "m", "version": "1"})
    print_prediction(pred, top_k=5)
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in capsys.readouterr().out
            .splitlines() if line.startswith("│")]
    top = sorted(GROUP_IDS, key=lambda g: -probs[g])[:5]
    assert [r[0] for r in rows] == top
    assert [float(r[1]) for r in rows] == [probs[g] for g in top]
    assert [r[3] == "● active" for r in rows] == [True, True, True, False, False]  # 0.85: at
    assert [len(r[2]) for r in rows] == [round(probs[g] * 20) for g in top]  # bar of 20 cells


@pytest.mark.slow
def test_batch_runs_the_gates_in_the_workers_as_a_single_run_does(
    wild_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real MediaPipe: each batch worker runs its video's gates on the frames it kept; the
    quality block says what a single-file run says (the frames differ by at most the seam)."""
    folder = tmp_path / "videos"
    folder.mkdir()
    names = ("bicep_curl__mrm__1.mp4", "squat__kbtrainer__1.mp4")
    for name in names:
        (folder / name).symlink_to(wild_dir / "clips" / name)
    out = tmp_path / "out"
    argv = ["predict", str(folder), "--out-dir", str(out), "--workers", "2", "--no-cache"]
    assert run(argv, monkeypatch) == 0
    for name in names:
        single = tmp_path / f"{name}.json"
        argv = ["predict", str(folder / name), "--json", str(single), "--workers", "2"]
        assert run([*argv, "--no-cache"], monkeypatch) == 0
        got = json.loads((out / f"{Path(name).stem}.json").read_text())["quality"]
        want = json.loads(single.read_text())["quality"]
        gates = {"resolution", "frame_rate", "orientation", "pose_confidence", "motion", "people"}
        gates.add("colour")
        assert set(got) == gates
        assert got["people"] == want["people"] == {"count": 1, "frames_checked": 3}
        assert got["orientation"]["state"] == want["orientation"]["state"] == "upright"
        assert got["orientation"]["scores"] == pytest.approx(want["orientation"]["scores"], abs=0.5)


@pytest.mark.parametrize("option", ["--json", "--overlay"])
def test_an_output_naming_the_input_video_is_refused(
    option: str,
    make_video: Callable[..., Path],
    no_work: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `predict x.mp4 --json x.mp4` replaced the video with its JSON (exit 0); `--overlay x.mp4`
    # was refused only after the whole run. Also through another spelling of the same file.
    video = make_video("clip.mp4")
    before = video.read_bytes()
    same = video.parent / "." / video.name
    assert run(["predict", str(video), option, str(same)], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {option} ")
    assert "is also the input video" in err[0]
    assert video.read_bytes() == before


def test_batch_outputs_never_replace_an_input_video(
    make_video: Callable[..., Path],
    tmp_path: Path,
    no_work: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A folder predicted into itself: x's overlay would be written over the input x_overlay.mp4.
    folder = tmp_path / "v"
    folder.mkdir()
    for name in ("x.mp4", "x_overlay.mp4"):
        make_video(name).rename(folder / name)
    before = (folder / "x_overlay.mp4").read_bytes()
    argv = ["predict", str(folder), "--out-dir", str(folder), "--overlay", "mp4"]
    assert run(argv, monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: --overlay {folder / 'x_overlay.mp4'}: is also the input video; writing it "
        "would destroy that input (pick another name)"
    ]
    assert (folder / "x_overlay.mp4").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["x.mp4", "x_overlay.mp4"]


def test_a_full_disk_is_one_line_and_leaves_no_file(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: list,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # /dev/full fails every write with ENOSPC: it was an OSError traceback after the whole run.
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full (Linux)")
    video = make_video("squat.mp4", num_frames=30)
    argv = ["predict", str(video), "--pose-estimator", "scripted", "--workers", "1"]
    assert run([*argv, "--json", "/dev/full"], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: --json /dev/full: cannot write (No space left on device)"
    # A picture that fails while it is written leaves neither it nor its temporary file.
    out = tmp_path / "pics"

    def full(scores: object, path: Path, **kwargs: object) -> None:
        Path(path).write_text("<svg half")  # part of the file, then the disk is full
        raise OSError(28, "No space left on device")

    from musclemap.viz import body_map

    monkeypatch.setattr(body_map, "render_body_map", full)
    assert run([*argv, "--body-map", str(out / "m.svg")], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"error: --body-map {out / 'm.svg'}: cannot write (No space left on device)"
    assert list(out.iterdir()) == []


def test_symlink_loops_and_folders_named_like_videos(
    make_video: Callable[..., Path],
    tmp_path: Path,
    no_work: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(tmp_path / "loop2.mp4")
    (tmp_path / "loop2.mp4").symlink_to(loop)
    assert run(["predict", str(loop)], monkeypatch) == 1
    assert capsys.readouterr().err == (
        f"error: {loop}: file not found (a symlink to nothing, or a symlink loop)\n"
    )
    (tmp_path / "dir.mp4").mkdir()
    assert run(["predict", str(tmp_path / "dir.mp4")], monkeypatch) == 1
    assert "dir.mp4: folder holds no video files" in capsys.readouterr().err
    # Batch: the loop was a RuntimeError traceback while the names were made unique.
    from musclemap.cli.predict import expand_videos, unique_videos

    found = expand_videos([tmp_path])
    assert [p.name for p in found] == ["loop.mp4", "loop2.mp4"]  # dir.mp4/ is no video
    assert unique_videos(found) == (found, [])


def test_device_other_than_cpu_is_said_to_be_ignored(
    make_video: Callable[..., Path],
    scripted: list,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = make_video("squat.mp4", num_frames=30)
    argv = ["predict", str(video), "--pose-estimator", "scripted", "--device", "banana"]
    assert run(argv, monkeypatch) == 0
    err = capsys.readouterr().err
    assert "warning: --device banana is ignored: the predict models run on the CPU" in err


def test_more_workers_than_cores_become_the_cores_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # --workers 500 started 500 MediaPipe processes (about 300 MB each): memory ran out.
    from musclemap.cli.predict import worker_count
    from musclemap.pose import parallel

    monkeypatch.setattr(parallel, "cpu_budget", lambda: 2)
    assert worker_count(0) == 0 and worker_count(2) == 2
    assert capsys.readouterr().err == ""
    assert worker_count(500) == 2
    assert capsys.readouterr().err.strip() == (
        "warning: --workers 500 is more than the 2 cores this process may use; using 2"
    )


def test_a_reader_that_leaves_early_still_gets_the_files(
    make_video: Callable[..., Path],
    tmp_path: Path,
    scripted: list,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `predict clip --json r.json | head -3`: the reader leaves, the table's writes fail with a
    # broken pipe. rich's default then left with exit 1, saying nothing and writing no JSON.
    import io
    import os
    import sys

    video = make_video("squat.mp4", num_frames=30)
    read, write = os.pipe()
    os.close(read)  # the reader has gone
    gone = io.TextIOWrapper(os.fdopen(write, "wb"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", gone)
    # The console goes quiet for the rest of its process; undo() below makes it speak again
    # for the tests after this one (test_cli_demo prints through the same console).
    from musclemap.cli import predict as predict_cli

    monkeypatch.setattr(predict_cli.console, "quiet", False)
    out = tmp_path / "r.json"
    argv = ["predict", str(video), "--pose-estimator", "scripted", "--workers", "1"]
    code = run([*argv, "--json", str(out)], monkeypatch)
    monkeypatch.undo()
    gone.close()  # its descriptor now writes to /dev/null
    assert code == 0 and predict_cli.console.quiet is False
    assert json.loads(out.read_text())["video"] == str(video)


# -- session 13's hostile pass (benchmarks/hostile_pass.py) ------------------------------------


def _model_copies(tmp_path: Path) -> tuple[Path, Path]:
    """The packaged weights copied as `m/default.*` and as a run folder `run/model.*`."""
    import shutil

    from musclemap.predictor import WEIGHTS_DIR

    single, run_dir = tmp_path / "m", tmp_path / "run"
    single.mkdir()
    run_dir.mkdir()
    for suffix in (".safetensors", ".json"):
        shutil.copy(WEIGHTS_DIR / f"default{suffix}", single / f"default{suffix}")
        shutil.copy(WEIGHTS_DIR / f"default{suffix}", run_dir / f"model{suffix}")
    return single, run_dir


@pytest.mark.parametrize(
    "ckpt, target",
    [
        ("m/default.safetensors", "m/default.json"),
        ("m/default.safetensors", "m/default.safetensors"),
        ("run", "run/model.json"),
        ("run", "run/model.safetensors"),
    ],
)
def test_an_output_naming_a_file_of_the_ckpt_is_refused(
    ckpt: str,
    target: str,
    make_video: Callable[..., Path],
    tmp_path: Path,
    no_work: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `predict v.mp4 --ckpt m.safetensors --json m.json` replaced the model's JSON with the
    # result (exit 0; the next load failed); the same for a run folder's model.json.
    _model_copies(tmp_path)
    video = make_video("clip.mp4")
    before = (tmp_path / target).read_bytes()
    argv = ["predict", str(video), "--ckpt", str(tmp_path / ckpt), "--json", str(tmp_path / target)]
    assert run(argv, monkeypatch) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: --json {tmp_path / target}: is also the model file of --ckpt; writing it would "
        "destroy that input (pick another name)"
    ]
    assert (tmp_path / target).read_bytes() == before


def test_batch_out_dir_holding_the_ckpt_never_replaces_its_json(
    make_video: Callable[..., Path],
    tmp_path: Path,
    no_work: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A video named like the weights (`default.mp4`), predicted into the --ckpt's folder: its
    # result `default.json` replaced the model's JSON.
    single, _ = _model_copies(tmp_path)
    folder = tmp_path / "v"
    folder.mkdir()
    make_video("default.mp4").rename(folder / "default.mp4")
    before = (single / "default.json").read_bytes()
    argv = ["predict", str(folder), "--ckpt", str(single / "default.safetensors")]
    assert run([*argv, "--out-dir", str(single)], monkeypatch) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: --out-dir {single / 'default.json'}: is also the model file of --ckpt; writing "
        "it would destroy that input (pick another name)"
    ]
    assert (single / "default.json").read_bytes() == before


def test_read_only_and_dangling_outputs_are_refused_before_any_work(
    make_video: Callable[..., Path],
    tmp_path: Path,
    no_work: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A file marked read-only was replaced all the same when run as root (os.access says yes);
    # a link into a missing folder failed only after the whole run ("cannot write").
    video = make_video("clip.mp4")
    ro = tmp_path / "ro.json"
    ro.write_text("{}")
    ro.chmod(0o444)
    assert run(["predict", str(video), "--json", str(ro)], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: --json {ro}: file is not writable"] or err == [
        f"error: --json {ro}: file is read-only; nothing written"
    ]
    assert ro.read_text() == "{}"
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "gone" / "deeper" / "r.json")
    assert run(["predict", str(video), "--json", str(link)], monkeypatch) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: --json {link}: a link to {tmp_path / 'gone' / 'deeper' / 'r.json'}, whose "
        "folder does not exist"
    ]



@pytest.mark.parametrize("blocker", ["read-only", "folder", "summary folder"])
def test_batch_files_that_cannot_be_written_are_refused_before_any_work(
    blocker: str,
    make_video: Callable[..., Path],
    tmp_path: Path,
    no_work: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # OUT/x.json read-only was replaced (root); a folder OUT/x.json failed after x's work, a
    # folder OUT/summary.csv after the whole batch (session 13's hostile pass).
    folder, out = tmp_path / "v", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    make_video("x.mp4").rename(folder / "x.mp4")
    if blocker == "read-only":
        (out / "x.json").write_text("{}")
        (out / "x.json").chmod(0o444)
        want = {
            f"error: --out-dir {out / 'x.json'}: file is read-only; nothing written",
            f"error: --out-dir {out / 'x.json'}: file is not writable",
        }
    else:
        name = "x.json" if blocker == "folder" else "summary.csv"
        (out / name).mkdir()
        want = {f"error: --out-dir {out / name}: is a folder, expected a file name"}
    assert run(["predict", str(folder), "--out-dir", str(out)], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0] in want
    if blocker == "read-only":
        assert (out / "x.json").read_text() == "{}"
