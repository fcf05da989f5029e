import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from musclemap.cli import app
from musclemap.data.manifest import read_manifest
from musclemap.data.predictions import read_predictions
from musclemap.metrics import average_precision_map

runner = CliRunner()


def musclemap(*args, cwd=None):
    """Run the real console entry point (error handling included) in a subprocess."""
    code = "import sys; from musclemap.cli import main; sys.argv[0] = 'musclemap'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def manifest(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["clip,activity,split,labels"]
    groups = ["chest", "triceps", "quadriceps", "gluteus", "calves", "biceps"]
    for a in range(12):
        for c in range(3):
            labels = ";".join(rng.choice(groups, size=2, replace=False))
            lines.append(f"clips/act{a}_{c}.mp4,act{a},,{labels}")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "m.csv"


def test_split_baseline_evaluate(tmp_path, manifest):
    res = runner.invoke(
        app,
        [
            "data",
            "split",
            str(manifest),
            "--out",
            str(tmp_path / "s.csv"),
            "--n-held-out",
            "3",
            "--seed",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = read_manifest(tmp_path / "s.csv")
    assert {r.split for r in rows} == {"train", "val_known", "val_new", "test_known", "test_new"}
    res = runner.invoke(
        app,
        [
            "baseline",
            "random",
            "--manifest",
            str(tmp_path / "s.csv"),
            "--out",
            str(tmp_path / "p.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app,
        [
            "evaluate",
            "--manifest",
            str(tmp_path / "s.csv"),
            "--predictions",
            str(tmp_path / "p.csv"),
            "--json",
            str(tmp_path / "r.json"),
            "--per-class",
            "--per-activity",
        ],
    )
    assert res.exit_code == 0, res.output
    table = json.loads((tmp_path / "r.json").read_text())
    assert set(table) == {"val_known", "val_new", "val_mean", "test_known", "test_new", "test_mean"}
    preds = read_predictions(tmp_path / "p.csv")
    sub = [r for r in rows if r.split == "test_new"]
    ref = average_precision_map(
        np.stack([preds[r.clip_id] for r in sub]), np.stack([r.labels for r in sub])
    ).map
    assert table["test_new"] == pytest.approx(ref, abs=1e-4)
    assert "mAP" in res.output


def test_all_ones_ap_is_positive_rate(tmp_path, manifest):
    runner.invoke(app, ["data", "split", str(manifest), "--out", str(tmp_path / "s.csv")])
    runner.invoke(
        app,
        [
            "baseline",
            "all_ones",
            "--manifest",
            str(tmp_path / "s.csv"),
            "--out",
            str(tmp_path / "p.csv"),
        ],
    )
    preds = read_predictions(tmp_path / "p.csv")
    assert all((v == 1).all() for v in preds.values())


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


def test_errors_are_one_line_and_nonzero(tmp_path, manifest):
    res = musclemap(
        "evaluate", "--manifest", tmp_path / "nope.csv", "--predictions", tmp_path / "p.csv"
    )
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        f"error: manifest not found: {tmp_path / 'nope.csv'}"
    ]
    res = musclemap("data", "validate", manifest, "--no-decode")
    assert res.returncode == 1 and "missing file" in res.stdout and "Traceback" not in res.stderr
    res = musclemap("baseline", "median", "--manifest", manifest, "--out", tmp_path / "p.csv")
    assert res.returncode == 1 and "unknown baseline" in res.stderr


def test_wild_manifest_validates(wild_dir):
    res = musclemap("data", "validate", wild_dir / "manifest.csv", "--no-decode")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "180 clips, 88 activities" in res.stdout


def test_evaluate_config_with_checkpoint(tmp_path):
    config = Path(__file__).resolve().parents[1] / "configs" / "stgcn_smoke.yaml"
    res = musclemap("train", config, f"train.out_dir={tmp_path}", "train.run_name=run")
    assert res.returncode == 0, res.stdout + res.stderr
    ckpt = tmp_path / "run" / "best.pt"
    assert ckpt.is_file()
    res = musclemap("evaluate", config, "--checkpoint", ckpt, "--json", tmp_path / "t.json")
    assert res.returncode == 0, res.stdout + res.stderr
    table = json.loads((tmp_path / "t.json").read_text())
    assert set(table) == {"val_known", "val_new", "val_mean", "test_known", "test_new", "test_mean"}
    assert all(v is None or 0 <= v <= 1 for v in table.values())
    res = musclemap("evaluate", config)
    assert res.returncode == 1 and "needs --checkpoint" in res.stderr
