"""`musclemap data poses`: outputs, resumption, failures, shards, workers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

pytest.importorskip("mediapipe")

import musclemap.cli  # noqa: E402,F401  (registers the commands)
from musclemap.cli.app import app  # noqa: E402
from musclemap.cli.poses import parse_shard, pose_file_names  # noqa: E402
from musclemap.data.pose_sequence import load_pose_file  # noqa: E402
from musclemap.errors import MusclemapError  # noqa: E402


def _manifest(tmp_path: Path, make_video, *, bad: bool = True) -> Path:
    make_video("a.mp4", num_frames=6)
    make_video("b.mp4", num_frames=4)
    (tmp_path / "notes.mp4").write_text("not a video")
    clips = ["a.mp4", "b.mp4"] + (["notes.mp4", "gone.mp4"] if bad else [])
    path = tmp_path / "manifest.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["clip", "activity", "split", "labels", "source"])
        for clip in clips:
            writer.writerow([clip, "plank", "train", "shoulder;obliques", f"src-{clip}"])
    return path


def _invoke(*args: str):
    return CliRunner().invoke(app, ["data", "poses", *args])


def test_extracts_lists_failures_and_writes_manifest(tmp_path: Path, make_video) -> None:
    manifest = _manifest(tmp_path, make_video)
    out = tmp_path / "poses"
    result = _invoke(str(manifest), "--out", str(out))
    assert result.exit_code == 1, result.output
    assert "2 extracted, 0 already done, 2 failed" in result.output
    assert "notes.mp4" in result.output and "gone.mp4" in result.output
    seq = load_pose_file(out / "a.npz")
    assert len(seq) == 6 and seq.coverage == 0.0  # no person in the generated video
    with (out / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["skeleton"] for r in rows] == ["a.npz", "b.npz", "", ""]
    assert [r["source"] for r in rows] == [
        "src-a.mp4",
        "src-b.mp4",
        "src-notes.mp4",
        "src-gone.mp4",
    ]
    assert rows[0]["pose_coverage"] == "0.000"
    assert (out / rows[0]["clip"]).resolve() == (tmp_path / "a.mp4").resolve()


def test_pose_estimator_by_name(tmp_path: Path, make_video, scripted: list) -> None:
    manifest = _manifest(tmp_path, make_video, bad=False)
    out = tmp_path / "poses"
    argv = [str(manifest), "--out", str(out), "--workers", "1", "--pose-estimator", "scripted"]
    result = _invoke(*argv)
    assert result.exit_code == 0, result.output
    a, b = load_pose_file(out / "a.npz"), load_pose_file(out / "b.npz")
    # One stand-in for the run (a generated squat played back), closed at the end; the one
    # before it only said its tracker's grid (`tracker_grid`, which existing files must match).
    assert len(scripted) == 2 and scripted[0].calls == 0 and scripted[1].calls == 10
    assert all(s.closed for s in scripted)
    assert a.coverage == b.coverage == 1.0 and a.extra["estimator"] == "scripted"
    assert a.layout.name == "mediapipe33" and len(a) == 6 and len(b) == 4


def test_resumes_and_shards(tmp_path: Path, make_video) -> None:
    manifest = _manifest(tmp_path, make_video, bad=False)
    out = tmp_path / "poses"
    first = _invoke(str(manifest), "--out", str(out), "--shard", "1/2")
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in out.glob("*.npz")) == ["b.npz"]
    stamp = (out / "b.npz").stat().st_mtime_ns
    second = _invoke(str(manifest), "--out", str(out))
    assert second.exit_code == 0, second.output
    assert "1 extracted, 1 already done, 0 failed" in second.output
    assert (out / "b.npz").stat().st_mtime_ns == stamp
    with (out / "manifest.csv").open() as fh:
        assert [r["skeleton"] for r in csv.DictReader(fh)] == ["a.npz", "b.npz"]


def test_a_rerun_at_another_fps_redoes_the_pose_files(tmp_path: Path, make_video) -> None:
    # Pose files sampled at 10 fps were kept as "already done" by a rerun with --fps 5: the
    # manifest then mixed two rates without a word.
    manifest = _manifest(tmp_path, make_video, bad=False)
    out = tmp_path / "poses"
    assert _invoke(str(manifest), "--out", str(out)).exit_code == 0
    assert {load_pose_file(f).fps for f in out.glob("*.npz")} == {10.0}
    again = _invoke(str(manifest), "--out", str(out), "--fps", "5")
    assert again.exit_code == 0, again.output
    assert "2 extracted, 0 already done, 0 failed" in again.output
    assert {load_pose_file(f).fps for f in out.glob("*.npz")} == {5.0}
    third = _invoke(str(manifest), "--out", str(out), "--fps", "5")
    assert "0 extracted, 2 already done, 0 failed" in third.output


def test_damaged_output_is_redone(tmp_path: Path, make_video) -> None:
    manifest = _manifest(tmp_path, make_video, bad=False)
    out = tmp_path / "poses"
    out.mkdir()
    (out / "a.npz").write_text("half-written")
    result = _invoke(str(manifest), "--out", str(out), "--shard", "0/2")
    assert result.exit_code == 0, result.output
    assert len(load_pose_file(out / "a.npz")) == 6


@pytest.mark.slow
def test_workers(tmp_path: Path, make_video) -> None:
    manifest = _manifest(tmp_path, make_video)
    result = _invoke(str(manifest), "--out", str(tmp_path / "poses"), "--workers", "2")
    assert result.exit_code == 1, result.output
    assert "2 extracted, 0 already done, 2 failed" in result.output


def test_missing_manifest(tmp_path: Path) -> None:
    result = _invoke(str(tmp_path / "none.csv"), "--out", str(tmp_path / "o"))
    assert result.exit_code != 0


def test_parse_shard_and_names() -> None:
    assert parse_shard("") == (0, 1)
    assert parse_shard("2/4") == (2, 4)
    for bad in ("4/4", "x", "1/0", "-1/3"):
        with pytest.raises(typer.BadParameter):
            parse_shard(bad)
    names = pose_file_names([Path("/d1/a.mp4"), Path("/d2/a.mp4"), Path("/d1/b.mov")])
    assert names[2] == "b.npz"
    assert names[0] != names[1] and all(n.startswith("a-") for n in names[:2])


@pytest.mark.parametrize("after_s", [1.0, 3.0])
def test_ctrl_c_with_workers_ends_at_once_with_one_line(
    tmp_path: Path, make_video, after_s: float
) -> None:
    # Ctrl-C reaches the terminal's whole process group: each pool worker died with a
    # KeyboardInterrupt traceback mid-clip and the parent, joining the pool, waited forever.
    import os
    import signal
    import subprocess
    import time

    from conftest import cli_command

    for name in ("a.mp4", "b.mp4"):
        make_video(name, num_frames=600)  # a minute each: still posing when Ctrl-C comes
    manifest = tmp_path / "m.csv"
    manifest.write_text("clip,activity,split,labels\na.mp4,plank,,shoulder\nb.mp4,plank,,shoulder\n")
    src = Path(__file__).resolve().parents[1] / "src"
    proc = subprocess.Popen(
        cli_command("data", "poses", manifest, "--out", tmp_path / "p", "--workers", "2"),
        env={**os.environ, "PYTHONPATH": str(src)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, signalled as a terminal does
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(after_s)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "interrupted", err
    assert "Traceback" not in err
    assert not [p for p in (tmp_path / "p").glob("*") if p.name != "manifest.csv"]


def test_a_rerun_with_another_tracker_redoes_the_pose_files(tmp_path: Path, make_video) -> None:
    # Pose files of MediaPipe's own tracker were kept as "already done" by a rerun with
    # `--pose-estimator mediapipe_g4` (as other rates were before): the manifest then mixed
    # two trackers without a word (session 13's hostile pass).
    from musclemap.pose.estimator import tracker_grid

    manifest = _manifest(tmp_path, make_video, bad=False)
    out = tmp_path / "poses"
    assert _invoke(str(manifest), "--out", str(out), "--workers", "1").exit_code == 0
    files = sorted(out.glob("*.npz"))
    assert [load_pose_file(f).extra["settings"].get("roi_grid") for f in files] == [None, None]
    argv = [str(manifest), "--out", str(out), "--workers", "1", "--pose-estimator", "mediapipe_g4"]
    again = _invoke(*argv)
    assert again.exit_code == 0, again.output
    assert "2 extracted, 0 already done, 0 failed" in again.output
    want = tracker_grid("mediapipe_g4")
    assert want is not None
    assert all(load_pose_file(f).extra["settings"]["roi_grid"] == want for f in out.glob("*.npz"))
    assert "0 extracted, 2 already done, 0 failed" in _invoke(*argv).output



def test_out_holding_the_input_manifest_is_refused(tmp_path: Path, make_video) -> None:
    # `data poses d/manifest.csv --out d` replaced the input manifest with its own, and the
    # skeleton column of every clip that failed this time was emptied (session 13).
    manifest = _manifest(tmp_path, make_video, bad=False)
    before = manifest.read_bytes()
    result = _invoke(str(manifest), "--out", str(tmp_path))
    assert result.exit_code == 1
    assert isinstance(result.exception, MusclemapError)
    assert str(result.exception) == (
        f"--out {tmp_path / 'manifest.csv'}: is also the input manifest; writing it would "
        "destroy that input (pick another name)"
    )
    assert manifest.read_bytes() == before and not list(tmp_path.glob("*.npz"))


def test_mirror_adds_each_clip_s_mirrored_poses_and_their_column(
    tmp_path: Path, make_video, scripted: list
) -> None:
    from musclemap.skeleton import MEDIAPIPE33

    manifest = _manifest(tmp_path, make_video, bad=False)
    out = tmp_path / "poses"
    argv = [str(manifest), "--out", str(out), "--workers", "1", "--pose-estimator", "scripted"]
    assert _invoke(*argv).exit_code == 0
    result = _invoke(*argv, "--mirror")  # the poses are kept, the mirrored ones added
    assert result.exit_code == 0, result.output
    a, mirrored = load_pose_file(out / "a.npz"), load_pose_file(out / "a.mirror.npz")
    assert len(mirrored) == len(a) == 6 and mirrored.extra["settings"]["mirrored"] is True
    # The stand-in plays the same squat back whatever it sees: mapped back, its poses are the
    # mirror image of the unmirrored run's (left and right swapped, x negated).
    assert (mirrored.world[:, :, :3] == MEDIAPIPE33.flip(a.world)[:, :, :3]).all()
    with (out / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [Path(r["skeleton_mirror"]).name for r in rows] == ["a.mirror.npz", "b.mirror.npz"]
    again = _invoke(*argv, "--mirror")
    assert "0 extracted, 2 already done" in again.output  # both files there: nothing redone
