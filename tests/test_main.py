"""The console script (`musclemap.__main__`): which predict starts its pose workers and its
video's pose job before the CLI is imported, and the quick exit after it."""

from __future__ import annotations

from pathlib import Path

import pytest

from musclemap.__main__ import (
    direct_predict,
    pose_estimator_of,
    single_video,
    wants_pose_workers,
)


@pytest.fixture
def video(tmp_path: Path) -> str:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"x")
    return str(path)


def test_wants_pose_workers(video: str, tmp_path: Path) -> None:
    assert wants_pose_workers(["predict", video])
    assert wants_pose_workers(["predict", video, "--workers", "2", "--json", "o.json"])
    assert wants_pose_workers(["predict", str(tmp_path)])  # a folder of videos
    assert not wants_pose_workers(["predict", video, "--workers", "1"])
    assert not wants_pose_workers(["predict", video, "--workers=1"])
    assert not wants_pose_workers(["predict", video, "--pose-estimator", "other"])
    assert wants_pose_workers(["predict", video, "--pose-estimator", "mediapipe_g4"])
    assert not wants_pose_workers(["predict", video, "--help"])
    assert not wants_pose_workers(["predict", str(tmp_path / "missing.mp4")])
    assert not wants_pose_workers(["explain", video])
    assert not wants_pose_workers([])


def test_the_early_workers_run_the_models_estimator(video: str, tmp_path: Path) -> None:
    import json

    (tmp_path / "w.json").write_text(json.dumps({"pose_estimator": "mediapipe"}))
    weights = str(tmp_path / "w.safetensors")
    assert pose_estimator_of(["predict", video]) == "mediapipe_g4"  # the packaged weights' (v11)
    assert pose_estimator_of(["predict", video, "--ckpt", weights]) == "mediapipe"
    given = ["predict", video, "--ckpt", weights, "--pose-estimator=mediapipe_g4"]
    assert pose_estimator_of(given) == "mediapipe_g4"


def test_single_video_skips_option_values(video: str, tmp_path: Path) -> None:
    out = tmp_path / "old.mp4"
    out.write_bytes(b"x")  # an existing file given as --overlay's value is not the input
    assert single_video(["predict", video, "--overlay", str(out)]) == Path(video)
    assert single_video(["predict", "--overlay", str(out), video]) == Path(video)
    assert single_video(["predict", "--no-cache", video, "--json=o.json"]) == Path(video)
    assert single_video(["predict", video, video]) is None  # two videos: a batch
    assert single_video(["predict", str(tmp_path)]) is None  # a folder
    assert single_video(["predict", "--overlay", str(out)]) is None


def test_direct_predict_only_for_the_plain_form(video: str, tmp_path: Path) -> None:
    # predict VIDEO [--json OUT] [--no-cache | --cache] is called without typer's parsing;
    # anything else (another option, twice the same, a missing value, a batch) is typer's.
    out = str(tmp_path / "o.json")
    assert direct_predict(["predict", video]) == {"videos": [Path(video)]}
    assert direct_predict(["predict", "--no-cache", video, "--json", out]) == {
        "videos": [Path(video)],
        "cache": False,
        "json_path": Path(out),
    }
    assert direct_predict(["predict", video, f"--json={out}", "--cache"]) == {
        "videos": [Path(video)],
        "json_path": Path(out),
        "cache": True,
    }
    # A batch too: videos and folders with --out-dir (a folder name may end with '/').
    assert direct_predict(["predict", video, str(tmp_path), "--out-dir", out + "/"]) == {
        "videos": [Path(video), tmp_path],
        "out_dir": Path(out),
    }
    assert direct_predict(["predict", f"--out-dir={out}", "--no-cache", str(tmp_path)]) == {
        "out_dir": Path(out),
        "cache": False,
        "videos": [tmp_path],
    }
    for args in (
        [video, "--fps", "10"],
        [video, "--json", out, "--json", out],
        [video, "--no-cache", "--cache"],
        [video, "--json"],
        [video, "--json", "--no-cache"],
        [video, "--json="],
        [video, "--json", str(tmp_path / "new") + "/"],  # a folder: typer refuses it
        [video, video],
        [str(tmp_path)],
        [video, "--out-dir", str(tmp_path), "--json", out],  # the command refuses both
        [video, "--out-dir", str(tmp_path), "--out-dir", str(tmp_path)],
        [str(tmp_path / "missing.mp4"), "--out-dir", str(tmp_path)],
        ["--out-dir", str(tmp_path)],
        [video, "--out-dir"],
        [video, "--out-dir", str(tmp_path), "--fps", "10"],
        [str(tmp_path / "missing.mp4")],
        [video, "--help"],
        [],
    ):
        assert direct_predict(["predict", *args]) is None, args
    assert direct_predict(["explain", video]) is None


def test_predict_through_the_console_script_with_an_early_pose_job(
    wild_dir: Path, tmp_path: Path, run_cli
) -> None:  # type: ignore[no-untyped-def]
    # The real entry point (`musclemap` = musclemap.__main__:entry): the pose job is started
    # before the CLI and the CLI takes it over, the command called without typer's parsing
    # (`direct_predict`); with --fps (no early job, parsed by typer) the CLI starts it itself:
    # the same result.
    import json

    pytest.importorskip("mediapipe")
    clip = wild_dir / "clips" / "squat__kbtrainer__1.mp4"
    out, ref = tmp_path / "early.json", tmp_path / "one.json"
    done = run_cli("predict", clip, "--json", out, "--no-cache")
    assert done.returncode == 0, done.stderr
    again = run_cli("predict", clip, "--json", ref, "--no-cache", "--fps", "10")
    assert again.returncode == 0, again.stderr
    a, b = json.loads(out.read_text()), json.loads(ref.read_text())
    assert a["muscles"] == b["muscles"]
    # the squat's three prime movers first (their order moves with the weights' version)
    assert set(a["active"][:3]) == {"quadriceps", "hamstring", "gluteus"}


@pytest.mark.parametrize("after_s", [0.1, 1.0])
def test_ctrl_c_leaves_no_board_and_says_interrupted(
    wild_dir: Path, tmp_path: Path, after_s: float
) -> None:
    # Ctrl-C while the early workers start (MediaPipe's import must not be cut in half) and
    # while they pose: exit 130, one line, no seams board left in the temporary folder.
    import os
    import signal
    import subprocess
    import time

    from conftest import cli_command

    pytest.importorskip("mediapipe")
    clip = wild_dir / "clips" / "squat__kbtrainer__1.mp4"
    env = {**os.environ, "TMPDIR": str(tmp_path), "MUSCLEMAP_CACHE": str(tmp_path / "c")}
    argv = cli_command("predict", clip, "--json", tmp_path / "o.json")
    # The child starts with Ctrl-C at its default whatever this process did with it (a
    # SIGINT ignored here, by a library or a test before, is inherited and Python then never
    # raises KeyboardInterrupt: the full suite's run of this test exited 0).
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(after_s)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.decode().strip().splitlines()[-1] == "interrupted"
    assert not list(tmp_path.glob("musclemap-seams-*")) and not (tmp_path / "o.json").exists()


def test_outputs_are_checked_before_anything_is_posed(video: str, tmp_path: Path) -> None:
    from musclemap.__main__ import outputs_ok

    assert outputs_ok(["predict", video], Path(video))
    assert outputs_ok(["predict", video, "--json", str(tmp_path / "new" / "o.json")], Path(video))
    assert not outputs_ok(["predict", video, "--json", video], Path(video))  # the input itself
    assert not outputs_ok(["predict", video, "--json", "/proc/o.json"], Path(video))
    assert not outputs_ok(["predict", video, "--json", str(tmp_path)], Path(video))  # a folder


