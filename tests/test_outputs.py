"""`musclemap.outputs`: outputs never over an input, never half-written, failures one line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import cli_command
from musclemap.errors import MusclemapError
from musclemap.outputs import (
    InputFiles,
    atomic_path,
    check_folder,
    check_writable,
    clip_inputs,
    refuse_inputs,
    resolved,
    same_file,
    write_text,
)


def test_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".json" and tmp != target
        tmp.write_text("half of the new")
        raise KeyboardInterrupt  # Ctrl-C mid-write
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_a_finished_write_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "r.csv"  # the folder is made
    write_text(target, "a,b\n")
    write_text(target, "c,d\n")
    assert target.read_text() == "c,d\n"
    assert [p.name for p in target.parent.iterdir()] == ["r.csv"]


def test_write_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(MusclemapError) as err:
        write_text(tmp_path, "x", "--json")
    says = f"--json {tmp_path}: is a folder, expected a file name; nothing written"
    assert str(err.value) == says
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(MusclemapError) as err:
        write_text(blocker / "out.json", "x", "--json")
    assert str(err.value) == (
        f"--json {blocker / 'out.json'}: {blocker} is a file, not a folder; nothing written"
    )
    assert blocker.read_text() == "x"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_device_is_written_in_place_and_a_full_disk_is_said() -> None:
    with pytest.raises(MusclemapError) as err:
        write_text("/dev/full", "x" * 10000, "--out")
    assert str(err.value) == "--out /dev/full: cannot write (No space left on device)"
    assert Path("/dev/full").exists() and not Path("/dev/full").is_file()  # not replaced
    write_text("/dev/null", "fine")


def test_same_file_through_links_and_dots(tmp_path: Path) -> None:
    a = tmp_path / "a.mp4"
    a.write_bytes(b"v")
    (tmp_path / "link.mp4").symlink_to(a)
    os.link(a, tmp_path / "hard.mp4")
    assert same_file(a, tmp_path / "link.mp4") and same_file(a, tmp_path / "hard.mp4")
    assert same_file(a, tmp_path / "x" / ".." / "a.mp4")
    assert not same_file(a, tmp_path / "b.mp4")
    assert same_file(tmp_path / "new.json", tmp_path / "." / "new.json")  # neither exists yet


def test_resolved_survives_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "l1").symlink_to(tmp_path / "l2")
    (tmp_path / "l2").symlink_to(tmp_path / "l1")
    assert resolved(tmp_path / "d" / ".." / "l1") == tmp_path.resolve() / "l1"


def test_refuse_inputs_names_the_input(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("clip\n")
    refuse_inputs(tmp_path / "other.csv", "--out", [("--manifest", manifest)])
    refuse_inputs(None, "--out", [("--manifest", manifest)])
    with pytest.raises(MusclemapError) as err:
        refuse_inputs(tmp_path / "." / "m.csv", "--out", [("x", None), ("--manifest", manifest)])
    assert str(err.value) == (
        f"--out {tmp_path / '.' / 'm.csv'}: is also the --manifest; writing it would destroy "
        "that input (pick another name)"
    )


def _answer(path: Path | None, inputs: list[tuple[str, Path | None]], many: bool) -> str:
    """What refusing `path` against `inputs` says ("" when allowed), per pair or indexed."""
    try:
        if many:
            InputFiles(inputs).refuse(path, "--out")
        else:
            refuse_inputs(path, "--out", inputs)
    except MusclemapError as err:
        return str(err)
    return ""


def test_input_files_refuse_what_refuse_inputs_refuses(tmp_path: Path) -> None:
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(b"v")
    b.write_bytes(b"w")
    (tmp_path / "link.mp4").symlink_to(a)
    os.link(b, tmp_path / "hard.mp4")
    (tmp_path / "l1").symlink_to(tmp_path / "l2")  # a loop: stat fails, resolved paths compared
    (tmp_path / "l2").symlink_to(tmp_path / "l1")
    gone = tmp_path / "gone.mp4"  # an input that does not exist: compared by its path
    inputs = [("first", a), ("none", None), ("second", b), ("gone", gone),
              ("loop", tmp_path / "l1"), ("again", tmp_path / "link.mp4")]  # fmt: skip
    outputs = [None, a, b, tmp_path / "link.mp4", tmp_path / "hard.mp4", tmp_path / "x" / ".." /
               "a.mp4", gone, tmp_path / "." / "gone.mp4", tmp_path / "l1", tmp_path / "l2",
               tmp_path / "new.json", tmp_path / "a.mp4" / "sub"]  # fmt: skip
    said = [_answer(out, inputs, many=True) for out in outputs]
    assert said == [_answer(out, inputs, many=False) for out in outputs]
    assert "is also the first" in said[1] and "is also the second" in said[4]
    assert "is also the gone" in said[7] and said[10] == ""


def test_check_writable(tmp_path: Path) -> None:
    check_writable(tmp_path / "new" / "deeper" / "out.json", "--out")  # folders made later
    assert not (tmp_path / "new").exists() and not list(tmp_path.iterdir())  # probe removed
    with pytest.raises(MusclemapError, match="--out .*: is a folder, expected a file name"):
        check_writable(tmp_path, "--out")
    check_writable(tmp_path, "--out-dir", folder=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(MusclemapError, match="is a file, not a folder"):
        check_writable(tmp_path / "file" / "out.json", "--out")
    with pytest.raises(MusclemapError, match="is a file, expected a folder"):
        check_writable(tmp_path / "file", "--out-dir", folder=True)


def test_check_folder(tmp_path: Path) -> None:
    check_folder(tmp_path / "new" / "deeper")  # made later by the writer
    assert not (tmp_path / "new").exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(MusclemapError, match="is a file, expected a folder"):
        check_folder(blocker, "train.out_dir")
    with pytest.raises(MusclemapError, match=f"{blocker} is a file, not a folder"):
        check_folder(blocker / "runs", "train.out_dir")
    if Path("/proc/self").is_dir():
        with pytest.raises(MusclemapError, match="train.out_dir /proc/runs: cannot write there"):
            check_folder("/proc/runs", "train.out_dir")


def test_a_symlink_is_written_through_not_replaced(tmp_path: Path) -> None:
    # `--json /dev/stdout > out.txt`: /dev/stdout is a link to the shell's file; renaming a
    # temporary file over it would replace the link itself (as root: /dev/stdout).
    target = tmp_path / "target.txt"
    target.write_text("old")
    link = tmp_path / "stdout"
    link.symlink_to(target)
    write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stdout", "target.txt"]


def test_a_long_valid_name_gets_a_short_temporary_name(tmp_path: Path) -> None:
    target = tmp_path / ("a" * 250 + ".json")  # 255 bytes: the most that most filesystems allow
    write_text(target, "{}")
    assert target.read_text() == "{}" and len(list(tmp_path.iterdir())) == 1


def test_a_dash_is_refused_not_written_as_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `predict clip --json -` wrote a file named "-" in the working folder (exit 0).
    monkeypatch.chdir(tmp_path)
    says = "--json -: '-' would be a file named '-', not standard output; give a file name"
    with pytest.raises(MusclemapError, match=says):
        check_writable(Path("-"), "--json")
    with pytest.raises(MusclemapError, match="--out-dir -: '-' would be"):
        check_folder("-", "--out-dir")
    check_writable(Path("./-x"), "--json")  # only "-" itself
    (tmp_path / "v.mp4").write_bytes(b"not decoded: the options are checked first")
    src = Path(__file__).resolve().parents[1] / "src"  # this tree's, also from tmp_path
    done = subprocess.run(
        cli_command("predict", "v.mp4", "--json", "-"), capture_output=True, text=True,
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(src)}, timeout=120,
    )
    assert done.returncode == 1 and done.stderr.strip() == f"error: {says} (or /dev/stdout)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


def test_read_only_files_and_dangling_links_are_refused_up_front(tmp_path: Path) -> None:
    # Session 13's hostile pass: a file marked read-only was replaced when run as root
    # (os.access says yes to root; the rename needs only the folder), and a link into a
    # missing folder passed the check and failed after the whole run.
    ro = tmp_path / "ro.json"
    ro.write_text("{}")
    ro.chmod(0o444)
    with pytest.raises(MusclemapError, match=r"--json .*ro.json: file is (read-only|not writable)"):
        check_writable(ro, "--json")
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "gone" / "r.json")
    with pytest.raises(MusclemapError) as err:
        check_writable(link, "--json")
    assert str(err.value) == (
        f"--json {link}: a link to {tmp_path / 'gone' / 'r.json'}, whose folder does not exist"
    )
    (tmp_path / "gone").mkdir()
    check_writable(link, "--json")  # the link's target can now be made
    assert not list((tmp_path / "gone").iterdir())


def test_clip_inputs_name_pose_and_flow_files(tmp_path: Path) -> None:
    # `evaluate --json clips/a.npz` and `baseline --out clips/a.npz` replaced a pose file of
    # the manifest (only the clips were inputs).
    from types import SimpleNamespace

    row = SimpleNamespace(
        clip=tmp_path / "a.mp4", skeleton=tmp_path / "a.npz", flow=None, line=2
    )
    pairs = clip_inputs([row], "m.csv")
    assert pairs == [
        ("clip of m.csv (line 2)", tmp_path / "a.mp4"),
        ("skeleton file of m.csv (line 2)", tmp_path / "a.npz"),
    ]
    (tmp_path / "a.npz").write_bytes(b"poses")
    with pytest.raises(MusclemapError, match="is also the skeleton file of m.csv"):
        refuse_inputs(tmp_path / "." / "a.npz", "--json", pairs)
