"""inference.py: the one model builder and the one loader of both checkpoint kinds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from musclemap.config import config_to_dict, load_config
from musclemap.data.manifest import ManifestRow
from musclemap.data.pose_sequence import save_pose_file
from musclemap.data.skeleton_dataset import SkeletonDataset
from musclemap.engine.checkpoint import atomic_save
from musclemap.errors import ConfigError
from musclemap.inference import (
    TorchPoseModel,
    build_from_config,
    checkpoint_file,
    load_model,
)
from musclemap.pose.keypose_model import KeyPoseModel
from musclemap.pose.synthetic import synthetic_pose_sequence
from musclemap.predictor import WEIGHTS_DIR, Predictor
from musclemap.taxonomy import to_multi_hot

STGCN = [
    "data.modality=pose",
    "data.layout=coco17",
    "data.window=8",
    "model.name=stgcn",
    "model.kwargs={layout: coco17, base_channels: 8}",
]


def _research_run(tmp_path: Path, overrides: list[str], name: str = "run") -> Path:
    """A run folder as `musclemap train` leaves it: best.pt with the weights and the config."""
    torch.manual_seed(0)
    cfg = load_config(None, overrides)
    model = build_from_config(cfg)
    atomic_save({"model": model.state_dict(), "config": config_to_dict(cfg)},
                tmp_path / name / "best.pt")
    return tmp_path / name


def test_build_from_config_layers_kwargs() -> None:
    cfg = load_config(None, ["model.name=keypose_mlp", "model.kwargs={hidden: 8, members: 2}"])
    model = build_from_config(cfg, in_features=12, hidden=99)  # the config's kwargs win
    assert tuple(model.w1.shape) == (2, 12, 8) and tuple(model.w2.shape) == (2, 8, 20)
    cfg = load_config(None, ["model.name=keypose_mlp", "model.kwargs={num_classes: 3}"])
    assert tuple(build_from_config(cfg, in_features=4).b2.shape) == (5, 3)
    with pytest.raises(ConfigError, match="keypose_mlp: .*depth"):
        build_from_config(load_config(None, ["model.name=keypose_mlp", "model.kwargs.depth=2"]))
    layout_by_name = build_from_config(load_config(None, STGCN))
    assert sum(p.numel() for p in layout_by_name.parameters()) > 0


def test_checkpoint_file_and_dispatch(tmp_path: Path) -> None:
    run = _research_run(tmp_path, STGCN)
    assert checkpoint_file(run) == run / "best.pt"
    (run / "last.pt").write_bytes((run / "best.pt").read_bytes())
    assert checkpoint_file(run) == run / "best.pt"  # best before last
    assert isinstance(load_model(run), TorchPoseModel)
    assert isinstance(load_model(WEIGHTS_DIR / "default.safetensors"), KeyPoseModel)
    with pytest.raises(ConfigError, match="no model in this folder"):
        checkpoint_file(tmp_path)
    with pytest.raises(ConfigError, match="model file not found"):
        load_model(tmp_path / "nope.pt")
    (tmp_path / "w.onnx").write_bytes(b"x")
    with pytest.raises(ConfigError, match="not a model"):
        load_model(tmp_path / "w.onnx")


@pytest.mark.parametrize("coords,channels", [("image", 3), ("world", 4)])
def test_a_research_pose_model_scores_what_its_run_tested(
    tmp_path: Path, coords: str, channels: int
) -> None:
    """The clip score is the model on the run's own evaluation input of the same poses."""
    over = [*STGCN, f"data.coords={coords}", f"data.channels={channels}",
            f"model.kwargs.in_channels={channels}"]
    model = load_model(_research_run(tmp_path, over))
    assert isinstance(model, TorchPoseModel)
    seq = synthetic_pose_sequence("squat", seconds=3.0)
    seq.valid[:5] = False  # no person at the start: cut, as in training
    scores = model.score(seq)
    path = save_pose_file(seq, tmp_path / "p.npz")
    row = ManifestRow(clip=tmp_path / "c.mp4", activity="squat", split="test_known",
                      labels=to_multi_hot(["quadriceps"]), skeleton=path)
    sample = SkeletonDataset([row], layout="coco17", window=8, train=False, channels=channels,
                             coords=coords)[0]
    with torch.no_grad():
        expected = torch.sigmoid(model.module(sample.pose[None])).numpy()[0]
    np.testing.assert_allclose(scores.clip, expected, atol=1e-6)
    # The timeline: windows of 8 frames every 4 (the last ends at the end), those with a
    # person in at least half of their frames kept.
    assert scores.starts.tolist() == [0, 4, 8, 12, 16, 20, 22] and scores.probs.shape == (7, 20)
    assert scores.keep.tolist() == [False] + [True] * 6
    assert model.looks_like(scores.embedding) == []


def test_predictor_runs_a_research_run(tmp_path: Path) -> None:
    pred = Predictor.from_checkpoint(_research_run(tmp_path, STGCN, "stgcn_run"))
    assert (pred.fps, pred.threshold, pred.window) == (10.0, 0.5, 8)
    out = pred.predict_poses(synthetic_pose_sequence("biceps_curl", seconds=2.0))
    assert out.model == {"name": "stgcn", "version": "stgcn_run"}
    assert len(out.timeline) == 4 and out.looks_like == []
    assert all(0.0 < p < 1.0 for p in out.muscles.values())


def test_a_video_model_is_refused_in_one_line(tmp_path: Path) -> None:
    cfg = load_config(None, ["model.name=mvitv2_test", "data.modality=rgb"])
    atomic_save({"model": {}, "config": config_to_dict(cfg)}, tmp_path / "v" / "best.pt")
    with pytest.raises(ConfigError) as err:
        load_model(tmp_path / "v")
    msg = str(err.value)
    assert "\n" not in msg and "a mvitv2_test model on rgb input" in msg
    assert "runs only pose models" in msg
    atomic_save({"model": {}}, tmp_path / "bare.pt")
    with pytest.raises(ConfigError, match="no config saved"):
        load_model(tmp_path / "bare.pt")


def test_weights_that_do_not_fit_the_saved_config_are_refused(tmp_path: Path) -> None:
    run = _research_run(tmp_path, STGCN)
    ckpt = torch.load(run / "best.pt", weights_only=True)
    ckpt["config"]["model"]["kwargs"]["base_channels"] = 16
    atomic_save(ckpt, run / "best.pt")
    with pytest.raises(ConfigError, match="shape mismatch"):
        load_model(run)


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.kwargs.base_channels=abc", "model stgcn cannot be built with model.kwargs"),
        ("model.kwargs.base_channels=-8", "negative dimension -8"),
        ("model.kwargs.base_channels=0", "has empty layers (blocks.0."),
        ("model.kwargs.nosuch=1", "unexpected keyword argument 'nosuch'"),
        ("model.name=nosuchmodel", "model.name: unknown model 'nosuchmodel'"),
    ],
)
def test_model_kwargs_it_cannot_be_built_with_are_one_config_error(
    override: str, message: str
) -> None:
    # `train cfg.yaml model.kwargs.base_channels=abc` (or -8, 0, an unknown kwarg or model)
    # was a TypeError / RuntimeError / KeyError traceback from inside the layers, or at the
    # first forward pass (session 13's hostile pass).
    cfg = load_config(None, [*STGCN, override])
    with pytest.raises(ConfigError) as err:
        build_from_config(cfg)
    assert message in str(err.value) and "\n" not in str(err.value)
