"""`musclemap train` and `musclemap benchmark`: a smoke run's folder and results, the Table II
built from run folders, damaged results, and refusals before any work."""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import cli_command, run_main
from musclemap.cli.app import QUICK_EXIT
from musclemap.cli.train import TABLE_KEYS, benchmark_rows, read_results
from musclemap.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SMOKE = CONFIGS / "stgcn_smoke.yaml"
RANDOM = CONFIGS / "random_smoke.yaml"  # the random baseline: trains in seconds


def test_train_then_benchmark_reads_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    assert run_main(["train", str(RANDOM), f"train.out_dir={runs}"], monkeypatch) == 0
    run_dir = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert run_dir == runs / "random_smoke"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["model"] == "random" and results["num_params"] == 0
    assert (run_dir / "predictions.csv").is_file()
    assert QUICK_EXIT["ok"]  # all written: the console script skips the interpreter's teardown

    out = tmp_path / "table"
    args = ["benchmark", str(RANDOM), str(SMOKE), "--out", str(out), "--set",
            f"train.out_dir={runs}"]
    assert run_main(args, monkeypatch) == 0
    printed = capsys.readouterr().out
    assert "no results yet for: stgcn_smoke" in printed  # not trained, not --run
    md = (out / "table2.md").read_text().splitlines()
    cells = [f"{100 * results[k]:.1f}" for k in TABLE_KEYS]
    assert md[2] == "| random_smoke | 0.0M | " + " | ".join(cells) + " |"
    assert md[3] == "| stgcn_smoke | — | " + " | ".join(["—"] * 6) + " |"
    rows = list(csv.DictReader((out / "table2.csv").open()))
    assert [r["config"] for r in rows] == ["random_smoke", "stgcn_smoke"]
    assert float(rows[0]["test_mean"]) == results["test_mean"] and rows[1]["test_mean"] == ""


def test_train_through_the_console_script_prints_its_run_folder(tmp_path: Path, run_cli) -> None:
    # The quick exit (no teardown, Ctrl-C ignored once all is written) still flushes the output.
    res = run_cli("train", RANDOM, f"train.out_dir={tmp_path}")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == str(tmp_path / "random_smoke")
    assert json.loads((tmp_path / "random_smoke" / "results.json").read_text())["model"] == "random"


def test_ctrl_c_after_the_run_is_written_changes_nothing(tmp_path: Path) -> None:
    # The run folder is printed once everything is written; a Ctrl-C from then on used to end
    # the process by the signal during torch's teardown (exit -2, no line).
    proc = subprocess.Popen(
        cli_command("train", RANDOM, f"train.out_dir={tmp_path}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # SIGINT ignored by the test runner would be inherited: the child's must be Python's own.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, line.strip(), err) == (0, str(tmp_path / "random_smoke"), "")


def test_train_refuses_before_any_work(tmp_path: Path, run_cli) -> None:
    res = run_cli("train", SMOKE, f"train.out_dir={tmp_path}", "train.epochs=0")
    assert res.returncode == 1
    assert res.stderr.splitlines() == [f"error: {SMOKE}: train.epochs must be >= 1 (got 0)"]
    assert not any(tmp_path.iterdir())  # no run folder was created


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89\x00\xff garbage", "damaged results file (not UTF-8 text)"),
        (b'{"val_known": 0.5', "damaged results file (Expecting"),
        (b"[1, 2]", "damaged results file (not a JSON object)"),
        (b'{"num_params": "x", "test_new": 57}', "impossible values (test_new=57, num_params='x'"),
    ],
)
def test_benchmark_damaged_results(tmp_path: Path, content: bytes, message: str) -> None:
    run = tmp_path / "stgcn_smoke"
    run.mkdir()
    (run / "results.json").write_bytes(content)
    with pytest.raises(ConfigError, match=re.escape(message)):
        benchmark_rows([SMOKE], [f"train.out_dir={tmp_path}"])
    (run / "results.json").write_text('{"num_params": 10, "val_known": 0.5, "test_new": null}')
    assert read_results(run / "results.json")["val_known"] == 0.5


def test_output_folders_that_are_files(tmp_path: Path, run_cli) -> None:
    (tmp_path / "file").write_text("x")
    res = run_cli("benchmark", SMOKE, "--out", tmp_path / "file", "--run")
    assert res.returncode == 1 and res.stderr.splitlines() == [
        f"error: --out {tmp_path / 'file'} is a file; give a folder for table2.md and table2.csv"
    ]
    (tmp_path / "m.csv").write_text("clip,activity,labels\na.mp4,squat,chest\n")
    res = run_cli("data", "poses", tmp_path / "m.csv", "--out", tmp_path / "file")
    assert res.returncode == 1 and "is a file; give a folder" in res.stderr
    assert "Traceback" not in res.stderr




def test_benchmark_refuses_two_configs_sharing_a_run_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a/random_smoke.yaml and b/random_smoke.yaml both map to OUT/random_smoke: the table showed
    # the first one's results on both rows.
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / RANDOM.name).write_text(RANDOM.read_text())
    configs = [str(tmp_path / sub / RANDOM.name) for sub in ("a", "b")]
    argv = ["benchmark", *configs, "--out", str(tmp_path / "t")]
    argv += ["--set", f"train.out_dir={tmp_path}"]
    assert run_main(argv, monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: {configs[0]} and {configs[1]} both use the run folder "
        f"{tmp_path / 'random_smoke'}; give one of them another train.run_name"
    ]
    assert not (tmp_path / "t").exists()


def test_benchmark_one_row_per_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same file named twice (once through "..") gave two identical rows.
    twice = CONFIGS / ".." / "configs" / RANDOM.name
    argv = ["benchmark", str(RANDOM), str(twice), str(SMOKE), "--out", str(tmp_path / "t")]
    assert run_main(argv + ["--set", f"train.out_dir={tmp_path}"], monkeypatch) == 0
    rows = list(csv.DictReader((tmp_path / "t" / "table2.csv").open()))
    assert [r["config"] for r in rows] == ["random_smoke", "stgcn_smoke"]


def test_benchmark_out_under_proc_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc (Linux)")
    argv = ["benchmark", str(RANDOM), "--out", "/proc/t", "--set", f"train.out_dir={tmp_path}"]
    assert run_main(argv, monkeypatch) == 1  # a FileNotFoundError traceback after the table
    assert capsys.readouterr().err.startswith("error: --out /proc/t: cannot write there (")



def test_benchmark_refuses_a_read_only_table_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A read-only table2.md was replaced (root), after any --run training.
    out = tmp_path / "table"
    out.mkdir()
    (out / "table2.md").write_text("old")
    (out / "table2.md").chmod(0o444)
    args = ["benchmark", str(RANDOM), "--out", str(out), "--run", "--set",
            f"train.out_dir={tmp_path / 'runs'}"]  # fmt: skip
    assert run_main(args, monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err in (
        [f"error: --out {out / 'table2.md'}: file is read-only; nothing written"],
        [f"error: --out {out / 'table2.md'}: file is not writable"],
    )
    assert (out / "table2.md").read_text() == "old" and not (tmp_path / "runs").exists()
