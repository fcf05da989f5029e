import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from musclemap.cli import app
from musclemap.data.manifest import read_manifest
from musclemap.data.predictions import read_predictions
from musclemap.metrics import average_precision_map

runner = CliRunner()


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


def test_errors_are_one_line_and_nonzero(tmp_path, manifest, run_cli):
    res = run_cli(
        "evaluate", "--manifest", tmp_path / "nope.csv", "--predictions", tmp_path / "p.csv"
    )
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        f"error: manifest not found: {tmp_path / 'nope.csv'}"
    ]
    res = run_cli("baseline", "median", "--manifest", manifest, "--out", tmp_path / "p.csv")
    assert res.returncode == 1 and "unknown baseline" in res.stderr


def test_evaluate_config_with_checkpoint(tmp_path, run_cli):
    config = Path(__file__).resolve().parents[1] / "configs" / "stgcn_smoke.yaml"
    res = run_cli("train", config, f"train.out_dir={tmp_path}", "train.run_name=run")
    assert res.returncode == 0, res.stdout + res.stderr
    ckpt = tmp_path / "run" / "best.pt"
    assert ckpt.is_file()
    res = run_cli("evaluate", config, "--checkpoint", ckpt, "--json", tmp_path / "t.json")
    assert res.returncode == 0, res.stdout + res.stderr
    table = json.loads((tmp_path / "t.json").read_text())
    assert set(table) == {"val_known", "val_new", "val_mean", "test_known", "test_new", "test_mean"}
    # the table is the one of the predictions it wrote next to the checkpoint, on the config's rows
    from musclemap.config import load_config
    from musclemap.data.datasets import load_rows
    from musclemap.data.tables import split_table

    rows = load_rows(load_config(config, [f"train.out_dir={tmp_path}", "train.run_name=run"]))
    preds = read_predictions(ckpt.with_suffix(".predictions.csv"))
    expected = split_table(rows, preds)
    assert table == pytest.approx(expected)
    assert any(v is not None for v in table.values())
    res = run_cli("evaluate", config)
    assert res.returncode == 1 and "needs --checkpoint" in res.stderr


def test_evaluate_the_packaged_model_on_a_pose_manifest(tmp_path, monkeypatch):
    """`evaluate --manifest M --checkpoint default`: the shipped model's table on pose files."""
    from musclemap.data.pose_sequence import load_pose_file
    from musclemap.data.tables import split_table
    from musclemap.predictor import WEIGHTS_DIR, Predictor
    from test_engine_evaluate import write_pose_manifest

    manifest = write_pose_manifest(tmp_path)
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(
        app,
        ["evaluate", "--manifest", str(manifest), "--checkpoint", "default", "--json",
         str(tmp_path / "t.json")],
    )
    assert res.exit_code == 0, res.output
    scores = read_predictions(tmp_path / "default.predictions.csv")
    rows = [r for r in read_manifest(manifest) if r.split != "train"]
    predictor = Predictor.default()
    for r in rows:
        expected = predictor.predict_poses(load_pose_file(r.skeleton)).scores_array()
        np.testing.assert_allclose(scores[r.clip_id], expected, atol=1e-6)
    table = json.loads((tmp_path / "t.json").read_text())
    assert table == pytest.approx(split_table(rows, scores), nan_ok=True)
    assert f"{100 * table['test_mean']:.2f}" in res.output
    res = runner.invoke(
        app, ["evaluate", "--manifest", str(manifest), "--checkpoint", str(tmp_path / "none")]
    )
    assert res.exit_code == 1 and "model file not found" in str(res.exception or res.output)
    # CONFIG --checkpoint with a safetensors model: the config's rows, the same scores.
    (tmp_path / "default.predictions.csv").unlink()
    (tmp_path / "c.yaml").write_text("task: pose_default\nmodel: {name: keypose_mlp}\n"
                                     "data: {manifest: m.csv}\n")
    res = runner.invoke(
        app, ["evaluate", str(tmp_path / "c.yaml"), "--checkpoint",
              str(WEIGHTS_DIR / "default.safetensors")],
    )
    assert res.exit_code == 0, res.output
    again = read_predictions(tmp_path / "default.predictions.csv")
    assert sorted(again) == sorted(scores)
    for clip in scores:
        np.testing.assert_allclose(again[clip], scores[clip])
    assert not (WEIGHTS_DIR / "default.predictions.csv").exists()  # never into the package


def _split_and_predictions(tmp_path, manifest, monkeypatch, capsys):
    """`data split` of the manifest and `baseline random` predictions on it: (split, preds)."""
    from conftest import run_main

    split = tmp_path / "s.csv"
    assert run_main(["data", "split", str(manifest), "--out", str(split)], monkeypatch) == 0
    preds = tmp_path / "p.csv"
    argv = ["baseline", "random", "--manifest", str(split), "--out", str(preds)]
    assert run_main(argv, monkeypatch) == 0
    capsys.readouterr()
    return split, preds


def test_outputs_never_replace_the_inputs(tmp_path, manifest, monkeypatch, capsys):
    # `baseline --out M` replaced the manifest with predictions; `evaluate --json P` replaced
    # the predictions (or the manifest) with the table. Exit 0 both times.
    from conftest import run_main

    split, preds = _split_and_predictions(tmp_path, manifest, monkeypatch, capsys)
    before = {p: p.read_bytes() for p in (split, preds)}
    cases = [
        (["baseline", "random", "--manifest", str(split), "--out", str(split)], split, "--out"),
        (["evaluate", "--manifest", str(split), "--predictions", str(preds), "--json", str(preds)],
         preds, "--json"),
        (["evaluate", "--manifest", str(split), "--predictions", str(preds), "--json", str(split)],
         split, "--json"),
    ]  # fmt: skip
    for argv, hit, option in cases:
        assert run_main(argv, monkeypatch) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: {option} {hit}: is also the --")
    assert {p: p.read_bytes() for p in (split, preds)} == before


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_full_disk_is_one_line(tmp_path, manifest, monkeypatch, capsys):
    from conftest import run_main

    split = tmp_path / "s.csv"
    assert run_main(["data", "split", str(manifest), "--out", str(split)], monkeypatch) == 0
    argv = ["baseline", "random", "--manifest", str(split), "--out", "/dev/full"]
    assert run_main(argv, monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: predictions file /dev/full: cannot write (No space left on device)"]


def test_the_predictions_written_beside_the_model_never_replace_the_manifest(
    tmp_path, manifest, monkeypatch, capsys
):
    # `--checkpoint default` writes ./default.predictions.csv: a manifest of that name was
    # replaced by the predictions after the evaluation.
    from conftest import run_main

    monkeypatch.chdir(tmp_path)
    split = tmp_path / "default.predictions.csv"
    assert run_main(["data", "split", str(manifest), "--out", str(split)], monkeypatch) == 0
    before = split.read_bytes()
    capsys.readouterr()
    argv = ["evaluate", "--manifest", "default.predictions.csv", "--checkpoint", "default"]
    assert run_main(argv, monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: the predictions file default.predictions.csv: is also the --manifest; writing "
        "it would destroy that input (pick another name)"
    ]
    assert split.read_bytes() == before


def test_outputs_never_replace_a_clip_of_the_manifest(tmp_path, manifest, monkeypatch, capsys):
    # `data split m.csv --out clips/a.mp4`, `baseline --out clips/a.mp4` and `evaluate --json
    # clips/b.mp4` replaced a video of the data set with a manifest / predictions / the table
    # (exit 0).
    from conftest import run_main

    clips = tmp_path / "clips"
    clips.mkdir()
    for a in range(12):
        for c in range(3):
            (clips / f"act{a}_{c}.mp4").write_bytes(f"video {a} {c}".encode())
    split, preds = _split_and_predictions(tmp_path, manifest, monkeypatch, capsys)
    before = {p: p.read_bytes() for p in clips.iterdir()}
    evaluated = next(r for r in read_manifest(split) if r.split.startswith(("val", "test")))
    video = clips / "act0_0.mp4"
    cases = [
        (["data", "split", str(manifest), "--out", str(video)], video, "--out", manifest, 2),
        (["data", "split", str(manifest), "--out", str(clips / "sub" / ".." / "act0_0.mp4")],
         video, "--out", manifest, 2),
        (["baseline", "random", "--manifest", str(split), "--out", str(video)], video, "--out",
         split, next(r.line for r in read_manifest(split) if r.clip == video)),
        (["evaluate", "--manifest", str(split), "--predictions", str(preds), "--json",
          str(evaluated.clip)], evaluated.clip, "--json", split, evaluated.line),
    ]  # fmt: skip
    for argv, hit, option, source, line in cases:
        assert run_main(argv, monkeypatch) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: {option} ") and hit.name in err[0]
        assert err[0].endswith(
            f": is also the clip of {source} (line {line}); writing it would destroy that input "
            "(pick another name)"
        ), err[0]
    assert {p: p.read_bytes() for p in clips.iterdir()} == before


def test_pose_files_of_another_tracker_are_noted(tmp_path: Path) -> None:
    from musclemap.cli.evaluate import tracker_note
    from musclemap.data.pose_sequence import save_pose_file
    from musclemap.demo import synthetic_pose_sequence

    seq = synthetic_pose_sequence("squat")
    grid = {"centre_px": 4.0, "size_step": 0.02, "angle_deg": 2.0, "raw_aux": True, "hold": 0}
    seq.extra = {"settings": {"roi_grid": grid}}
    snapped = save_pose_file(seq, tmp_path / "g4.npz")
    seq.extra = {"settings": {}}
    own = save_pose_file(seq, tmp_path / "own.npz")
    g4 = {"pose_estimator": "mediapipe_g4"}
    assert tracker_note(g4, [None, snapped]) is None
    assert tracker_note({}, [own]) is None  # weights without the field: MediaPipe's own
    note = tracker_note(g4, [own, snapped])
    assert note is not None and "the mediapipe_g4 pose estimator the model was trained on" in note
    assert "roi_grid None" in note


def test_outputs_never_replace_a_pose_file_of_the_manifest(tmp_path, monkeypatch, capsys):
    # `evaluate --json clips/a.npz` and `baseline --out clips/a.npz` replaced a pose file
    # named in the manifest's skeleton column (only clips were inputs; session 13).
    from conftest import run_main
    from test_engine_evaluate import write_pose_manifest

    manifest = write_pose_manifest(tmp_path)
    rows = read_manifest(manifest)
    preds = tmp_path / "preds.csv"
    argv = ["baseline", "all_ones", "--manifest", str(manifest), "--out", str(preds)]
    assert run_main(argv, monkeypatch) == 0
    capsys.readouterr()
    pose = tmp_path / "p2.npz"
    before = pose.read_bytes()
    cases = [
        (["baseline", "random", "--manifest", str(manifest), "--out", str(pose)], "--out"),
        (["evaluate", "--manifest", str(manifest), "--predictions", str(preds), "--json",
          str(pose)], "--json"),
    ]  # fmt: skip
    line = next(r.line for r in rows if r.skeleton == pose)
    for argv, option in cases:
        assert run_main(argv, monkeypatch) == 1
        assert capsys.readouterr().err.strip().splitlines() == [
            f"error: {option} {pose}: is also the skeleton file of {manifest} (line {line}); "
            "writing it would destroy that input (pick another name)"
        ]
    assert pose.read_bytes() == before


def test_a_folder_in_the_place_of_the_table_is_refused_before_the_model_runs(
    tmp_path, monkeypatch, capsys
):
    # `evaluate --checkpoint default` writes default.predictions.csv and its .table.json in
    # the current folder: a folder named like the table was an IsADirectoryError traceback
    # after the whole evaluation (session 13).
    from conftest import run_main
    from test_engine_evaluate import write_pose_manifest

    manifest = write_pose_manifest(tmp_path)
    work = tmp_path / "work"
    (work / "default.predictions.table.json").mkdir(parents=True)
    monkeypatch.chdir(work)
    argv = ["evaluate", "--manifest", str(manifest), "--checkpoint", "default"]
    assert run_main(argv, monkeypatch) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: the table default.predictions.table.json: is a folder, expected a file name"
    ]
    assert not (work / "default.predictions.csv").exists()
