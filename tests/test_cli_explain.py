"""`musclemap explain` through the console entry point: predict model and research checkpoints."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import run_main
from musclemap.taxonomy import GROUP_IDS

run = run_main  # the console entry point in this process


def test_unknown_group_is_one_line_listing_the_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    code = run(["explain", str(video), "--group", "quads", "--out", "x.png"], monkeypatch)
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "unknown muscle group 'quads'" in err and all(g in err for g in GROUP_IDS)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "x.gif"], "must end in .png or .mp4"),
        (["--out", "x.png", "--config", "c.yaml"], "needs both --config and --checkpoint"),
        (["--out", "x.png", "--method", "gradcam"], "--method is for research models"),
    ],
)
def test_bad_options_are_one_line(
    extra: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    assert run(["explain", str(video), "--group", "quadriceps", *extra], monkeypatch) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_predict_model_png_mp4_and_json(
    scripted: list,
    make_video: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    video = make_video(num_frames=30, size=(64, 96))
    out, js = tmp_path / "e.png", tmp_path / "e.json"
    argv = ["explain", str(video), "--group", "quadriceps", "--pose-estimator", "scripted"]
    argv += ["--out", str(out), "--span", "1.5"]
    assert run([*argv, "--json", str(js)], monkeypatch) == 0
    from PIL import Image

    assert Image.open(out).size[0] > 1000
    d = json.loads(js.read_text())
    assert d["group"] == "quadriceps" and len(d["joint"]) == 33
    assert len(d["joint_time"]) == 33 and len(d["joint_time"][0]) == 2  # 3 s in 1.5 s spans
    assert d["span_edges_s"] == [0.0, 1.5, 3.0]
    mp4 = tmp_path / "e.mp4"
    assert run([*argv[:6], "--out", str(mp4)], monkeypatch) == 0
    from musclemap.data.video_io import probe

    assert probe(mp4).num_frames == 30


def _research(tmp_path: Path, model: str, modality: str, kwargs: str = "{}") -> tuple[Path, Path]:
    from musclemap.config import load_config
    from musclemap.engine.checkpoint import atomic_save
    from musclemap.engine.train import build_experiment_model

    cfg_path = tmp_path / f"{model}.yaml"
    cfg_path.write_text(
        f"model: {{name: {model}, kwargs: {kwargs}}}\n"
        f"data: {{modality: {modality}, clip_len: 4, sampling_rate: 2, crop_size: 32, "
        "test_scale: 32, window: 12, layout: coco17}\n"
    )
    torch.manual_seed(0)
    model_ = build_experiment_model(load_config(cfg_path, []))
    ckpt = tmp_path / f"{model}.pt"
    atomic_save({"model": model_.state_dict()}, ckpt)
    return cfg_path, ckpt


@pytest.mark.parametrize("suffix", [".png", ".mp4"])
def test_research_video_model_gets_gradcam(
    suffix: str,
    make_video: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = make_video(num_frames=16, size=(48, 40))
    cfg, ckpt = _research(tmp_path, "i3d_test", "rgb")
    out, js = tmp_path / f"cam{suffix}", tmp_path / "cam.json"
    argv = ["explain", str(video), "--group", "calves", "--out", str(out), "--json", str(js)]
    assert run([*argv, "--config", str(cfg), "--checkpoint", str(ckpt)], monkeypatch) == 0
    assert "gradcam at s5" in capsys.readouterr().out
    d = json.loads(js.read_text())
    assert d["target_layer"] == "s5" and len(d["frame_times_s"]) == 4
    # The centre clip: 16 frames, 4 taken 2 apart, starting at (16 - 8) / 2.
    np.testing.assert_allclose(d["frame_times_s"], [0.4, 0.6, 0.8, 1.0], atol=1e-6)
    assert sum(d["frame_mass"]) == pytest.approx(1.0, abs=1e-3)
    assert out.stat().st_size > 1000


def test_research_skeleton_model_gets_joint_attribution(
    make_video: Callable[..., Path], tmp_path: Path, scripted: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = make_video(num_frames=30)
    cfg, ckpt = _research(tmp_path, "stgcn", "pose", "{base_channels: 8, layout: coco17}")
    out, js = tmp_path / "sk.png", tmp_path / "sk.json"
    argv = ["explain", str(video), "--group", "quadriceps", "--out", str(out), "--json", str(js)]
    argv += ["--pose-estimator", "scripted"]  # a generated squat, one pose per frame
    assert run([*argv, "--config", str(cfg), "--checkpoint", str(ckpt)], monkeypatch) == 0
    d = json.loads(js.read_text())
    assert d["method"] == "integrated_gradients" and d["joints"][13] == "left_knee"
    assert np.array(d["joint_time"]).shape == (17, 12)  # coco17 joints x data.window frames
    # 12 model frames spread over the 3 s the person was seen.
    np.testing.assert_allclose(d["span_edges_s"], np.linspace(0.0, 3.0, 13), atol=1e-3)
    assert out.is_file() and scripted[0].calls == 30


@pytest.mark.slow  # 4-10 s: builds TransM3E (MViT + HD-GCN) three times
def test_research_transm3e_with_pose_explains_the_full_model(
    make_video: Callable[..., Path], tmp_path: Path, scripted: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = make_video(num_frames=16, size=(48, 40))
    kwargs = (
        "{receiver: mvitv2_test, receiver_input_shape: [3, 4, 32, 32], sender: hdgcn, "
        "sender_kwargs: {layout: coco17, base_channels: 8}, sender_input_shape: [1, 12, 17, 3]}"
    )
    cfg, ckpt = _research(tmp_path, "transm3e", "rgb", kwargs)
    cfg.write_text(cfg.read_text().replace("modality: rgb", "modality: rgb, aux_modality: pose"))
    js = tmp_path / "t.json"
    argv = ["explain", str(video), "--group", "chest", "--out", str(tmp_path / "t.png")]
    argv += ["--json", str(js), "--config", str(cfg), "--checkpoint", str(ckpt)]
    assert run([*argv, "--pose-estimator", "scripted"], monkeypatch) == 0
    d = json.loads(js.read_text())
    assert d["target_layer"] == "receiver.blocks.2"
    # The logit is the full model's (both branches), fed the clip and the poses of the video.
    from musclemap.config import load_config
    from musclemap.engine.checkpoint import load_checkpoint
    from musclemap.engine.train import build_experiment_model
    from musclemap.explain.inputs import research_inputs
    from pose_standins import ScriptedEstimator

    c = load_config(cfg, [])
    model = build_experiment_model(c)
    load_checkpoint(model, ckpt)
    inputs = research_inputs(c, video, estimator=ScriptedEstimator())  # same poses as the CLI
    assert inputs.other is not None and inputs.other.shape == (1, 1, 12, 17, 3)
    with torch.no_grad():
        logit = float(model.eval()(inputs.video, inputs.other)[0, GROUP_IDS.index("chest")])
    assert d["logit"] == pytest.approx(logit, abs=1e-5)


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        # Each was a traceback, or replaced a file, only after the work (seconds to minutes).
        (["--out", "{video}"], 1, "--out {video}: is also the input video"),
        (["--out", "{d}/e.png", "--json", "{d}/e.png"], 1, "--json and --out both write"),
        (["--out", "{d}/e.png", "--json", "{video}"], 1, "--json {video}: is also the input"),
        (["--out", "{d}/e.png", "--span", "nan"], 1, "--span must be a positive number"),
        (["--out", "{d}/e.png", "--fps", "0"], 2, "Invalid value for '--fps'"),
        (["--out", "{d}/v.mp4/e.png"], 1, "v.mp4 is a file, not a folder"),
    ],
)
def test_outputs_and_numbers_are_checked_before_any_work(
    extra: list[str],
    code: int,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from musclemap.cli import predict as cli_predict

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the options were checked")

    monkeypatch.setattr(cli_predict, "load_predictor", boom)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    args = [a.format(video=video, d=tmp_path) for a in extra]
    assert run(["explain", str(video), "--group", "quadriceps", *args], monkeypatch) == code
    err = capsys.readouterr().err
    assert message.format(video=video, d=tmp_path) in err and "Traceback" not in err
    assert video.read_bytes() == b"x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


def test_json_naming_the_ckpt_run_folders_json_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `explain --ckpt RUN --json RUN/model.json` replaced the model's JSON with the numbers
    # (only the --ckpt path itself was checked).
    import shutil

    from musclemap.cli import predict as cli_predict
    from musclemap.predictor import WEIGHTS_DIR

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the outputs were checked")

    monkeypatch.setattr(cli_predict, "load_predictor", boom)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for suffix in (".safetensors", ".json"):
        shutil.copy(WEIGHTS_DIR / f"default{suffix}", run_dir / f"model{suffix}")
    before = (run_dir / "model.json").read_bytes()
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    argv = ["explain", str(video), "--group", "biceps", "--out", str(tmp_path / "e.png")]
    argv += ["--ckpt", str(run_dir), "--json", str(run_dir / "model.json")]
    assert run(argv, monkeypatch) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: --json {run_dir / 'model.json'}: is also the model file of --ckpt; writing it "
        "would destroy that input (pick another name)"
    ]
    assert (run_dir / "model.json").read_bytes() == before
