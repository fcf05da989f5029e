from pathlib import Path

import pytest
from typer.testing import CliRunner

from musclemap.cli import app
from musclemap.data.manifest import read_manifest

runner = CliRunner()


def test_folds_written(tmp_path, manifest):
    res = runner.invoke(
        app, ["data", "split", str(manifest), "--out", str(tmp_path / "f.csv"), "--folds", "3"]
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.glob("f_fold*.csv")) == [
        "f_fold0.csv",
        "f_fold1.csv",
        "f_fold2.csv",
    ]
    # every activity is new (held out) in exactly one fold, and never trained on there
    new_in: dict[str, int] = {}
    for k in range(3):
        rows = read_manifest(tmp_path / f"f_fold{k}.csv")
        new = {r.activity for r in rows if r.split.endswith("_new")}
        assert not new & {r.activity for r in rows if r.split == "train"}
        for a in new:
            new_in[a] = new_in.get(a, 0) + 1
    assert new_in == {f"act{a}": 1 for a in range(12)}


def test_validate_reports_missing_files_and_exits_1(manifest, run_cli):
    res = run_cli("data", "validate", manifest, "--no-decode")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "36 problem(s)" in res.stdout and "lines 2-37" in res.stdout  # no clip exists


def test_wild_manifest_validates(wild_dir, run_cli):
    res = run_cli("data", "validate", wild_dir / "manifest.csv", "--no-decode")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "180 clips, 88 activities" in res.stdout


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_import_never_writes_over_an_imported_video(tmp_path, monkeypatch, capsys):
    from conftest import run_main

    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("squat_1.mp4", "push_up_2.mp4"):
        (folder / name).write_bytes(b"video " + name.encode())
    # --out naming one of the videos replaced it with the manifest (exit 0).
    out = folder / "squat_1.mp4"
    assert run_main(["data", "import", str(folder), "--out", str(out)], monkeypatch) == 1
    assert _one_error_line(capsys) == (
        f"error: --out {out}: is also the imported clip; writing it would destroy that input "
        "(pick another name)"
    )
    assert out.read_bytes() == b"video squat_1.mp4"
    # Output paths that cannot be written were tracebacks (FileNotFoundError, IsADirectoryError,
    # FileExistsError); now one line each, before the folder is scanned.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for bad, says in [
        (tmp_path, "is a folder, expected a file name"),
        (blocker / "m.csv", f"{blocker} is a file, not a folder"),
        (Path("/proc/m.csv"), "cannot write"),
    ]:
        assert run_main(["data", "import", str(folder), "--out", str(bad)], monkeypatch) == 1
        assert says in _one_error_line(capsys)
    good = tmp_path / "m.csv"
    assert run_main(["data", "import", str(folder), "--out", str(good)], monkeypatch) == 0
    assert [r.activity for r in read_manifest(good)] == ["push_up", "squat"]


def test_split_held_out_of_only_commas_is_refused(tmp_path, manifest, monkeypatch, capsys):
    from conftest import run_main

    # ",,," named no activity and fell back to a random pick without a word.
    argv = ["data", "split", str(manifest), "--out", str(tmp_path / "s.csv"), "--held-out", ",,,"]
    assert run_main(argv, monkeypatch) == 1
    assert _one_error_line(capsys) == "error: --held-out ',,,' names no activity"
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_split_to_a_full_disk_is_one_line(manifest, monkeypatch, capsys):
    from conftest import run_main

    assert run_main(["data", "split", str(manifest), "--out", "/dev/full"], monkeypatch) == 1
    message = "error: manifest /dev/full: cannot write (No space left on device)"
    assert _one_error_line(capsys) == message


def test_validate_sees_a_duplicate_spelled_with_dots_and_survives_a_symlink_loop(
    tmp_path, monkeypatch, capsys
):
    from conftest import run_main

    (tmp_path / "a").mkdir()
    clip = tmp_path / "a" / "x.mp4"
    clip.write_bytes(b"v")
    (tmp_path / "loop.mp4").symlink_to(tmp_path / "loop2.mp4")
    (tmp_path / "loop2.mp4").symlink_to(tmp_path / "loop.mp4")
    m = tmp_path / "m.csv"
    m.write_text(
        "clip,activity,labels\n"
        f"{clip},squat,quadriceps\n"
        f"{tmp_path}/a/../a/x.mp4,squat,quadriceps\n"  # absolute paths were not normalised
        "loop.mp4,squat,quadriceps\n"  # Path.resolve raised RuntimeError: a traceback
    )
    from musclemap.data.validate import validate_manifest

    report = validate_manifest(m, decode=False)
    problems = [(p.kind, p.line) for p in report.problems]
    assert problems == [("duplicate clip", 3), ("missing file", 4)]
    assert run_main(["data", "validate", str(m), "--no-decode"], monkeypatch) == 1
    assert "Traceback" not in capsys.readouterr().err
    argv = ["data", "split", str(m), "--out", str(tmp_path / "s.csv")]
    assert run_main(argv, monkeypatch) == 1
    assert "duplicate clip x1 (line 3)" in _one_error_line(capsys)



def test_a_fold_file_that_cannot_be_written_is_refused_before_any_fold(
    tmp_path, manifest, monkeypatch, capsys
):
    # f_fold1.csv read-only was replaced (root); a folder there failed after fold 0 was written.
    from conftest import run_main

    (tmp_path / "f_fold1.csv").write_text("old")
    (tmp_path / "f_fold1.csv").chmod(0o444)
    argv = ["data", "split", str(manifest), "--out", str(tmp_path / "f.csv"), "--folds", "3"]
    assert run_main(argv, monkeypatch) == 1
    assert _one_error_line(capsys) in (
        f"error: --out {tmp_path / 'f_fold1.csv'}: file is read-only; nothing written",
        f"error: --out {tmp_path / 'f_fold1.csv'}: file is not writable",
    )
    assert (tmp_path / "f_fold1.csv").read_text() == "old"
    assert not (tmp_path / "f_fold0.csv").exists()
