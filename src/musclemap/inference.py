"""Trained models for `predict` and `evaluate`: one builder, one loader for both checkpoint kinds.

- `build_from_config(cfg, **derived)` is the one way a model is built from a config:
  `models.build_model(cfg.model.name, **kwargs)` with the config's `model.kwargs` over the
  task's derived ones over `num_classes=20`. Training (`engine/train.py`, `engine/pose_train.py`),
  `evaluate` and `predict --ckpt` all build through it.
- `load_model(path)` reads either checkpoint kind and returns a `PoseScorer` (a pose sequence ->
  window and clip scores):

  * `model.safetensors` + `model.json` (task pose_default; the packaged
    `weights/default.*`): `KeyPoseModel`, numpy, no torch;
  * a research run of `musclemap train` (`best.pt`, else `last.pt`, with the config saved in
    it): `TorchPoseModel` for a pose model (`data.modality: pose`); a video model is refused
    with one line, since predict has poses, not the clip tensors it needs.

Sits between the engine and the building blocks (pose, models, data), so the predictor can use
it without the training engine; torch is imported only when a research run is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musclemap.errors import ConfigError
from musclemap.pose import keypose
from musclemap.pose.keypose_model import MIN_WINDOW_COVERAGE, KeyPoseModel, PoseScorer, Scores
from musclemap.taxonomy import NUM_GROUPS

if TYPE_CHECKING:
    from torch import nn

    from musclemap.config import ExperimentConfig
    from musclemap.data.pose_sequence import PoseSequence

# Research runs do not record the rate of their pose files: `musclemap data poses` samples at
# 10 fps unless told otherwise, so predict samples a research pose model's input at it.
RESEARCH_FPS = 10.0
RESEARCH_THRESHOLD = 0.5  # no threshold is chosen for research runs
RUN_FILES = ("model.safetensors", "best.pt", "last.pt")  # what a run folder is loaded from


def build_from_config(cfg: ExperimentConfig, **derived: Any) -> nn.Module:
    """The registered model `cfg.model.name` with `cfg.model.kwargs` over `derived` (a task's
    own, e.g. pose_default's `in_features`) over `num_classes=20`; unknown kwargs are a
    ConfigError naming the model.

    Raises:
        ConfigError: An unknown model, or `model.kwargs` it cannot be built with: a wrong name
            (`model.kwargs.nosuch=1`), type (`base_channels=abc`) or value (`base_channels=-8`)
            was a TypeError / RuntimeError traceback from inside the model's layers.
    """
    from musclemap.models import build_model

    kwargs = {"num_classes": NUM_GROUPS, **derived, **cfg.model.kwargs}
    try:
        model = build_model(cfg.model.name, **kwargs)
    except KeyError as err:  # an unknown model: the registry's message names close matches
        raise ConfigError(f"model.name: {err.args[0] if err.args else err}") from None
    except (TypeError, ValueError, RuntimeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(
            f"model {cfg.model.name} cannot be built with model.kwargs {cfg.model.kwargs} "
            f"({reason})"
        ) from None
    empty = [name for name, p in model.named_parameters() if p.numel() == 0]
    if empty:  # built, but its first forward pass fails (`base_channels=0`)
        raise ConfigError(
            f"model {cfg.model.name} with model.kwargs {cfg.model.kwargs} has empty layers "
            f"({empty[0]}{' and more' if len(empty) > 1 else ''}): a size of 0?"
        )
    return model


def checkpoint_file(path: str | Path) -> Path:
    """A file as is; a run folder as its weights (`RUN_FILES`, first found)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"model file not found: {path}")
    if path.is_file():
        return path
    for name in RUN_FILES:
        if (path / name).is_file():
            return path / name
    raise ConfigError(f"{path}: no model in this folder (looked for {', '.join(RUN_FILES)})")


def model_files(path: str | Path) -> list[Path]:
    """The files a model is read from: its weights (a run folder's, `checkpoint_file`) and, for
    `.safetensors`, the JSON beside them. An output must never be one of them: `predict --ckpt
    m.safetensors --json m.json` (or a batch `--out-dir` holding the weights, with a video
    named like them) replaced the model's JSON with a result.

    Raises:
        ConfigError: As `checkpoint_file` (missing path, a folder without a model).
    """
    file = checkpoint_file(path)
    return [file, file.with_suffix(".json")] if file.suffix == ".safetensors" else [file]


def load_model(path: str | Path) -> PoseScorer:
    """The model of a checkpoint of either kind (see the module docstring).

    Raises:
        ConfigError: Missing or damaged file, a foreign file, or a model predict cannot feed.
    """
    file = checkpoint_file(path)
    if file.suffix == ".safetensors":
        return KeyPoseModel.load(file)
    if file.suffix in (".pt", ".pth"):
        return TorchPoseModel.load(file)
    raise ConfigError(f"{file}: not a model (expected .safetensors with its .json, or a .pt)")


class TorchPoseModel:
    """A pose model of a `musclemap train` run behind the `PoseScorer` interface.

    Its input is built as the run's `SkeletonDataset` builds an evaluation clip
    (`data.skeleton_dataset.pose_keypoints`, then the whole valid span resampled to
    `data.window` frames): the clip score is what the run's own test scored. The timeline
    scores windows of `data.window` frames at half-window strides the same way.
    """

    def __init__(self, module: nn.Module, cfg: ExperimentConfig, *, version: str = "") -> None:
        from musclemap.skeleton import get_layout

        self.module = module.eval()
        self.cfg = cfg
        self.layout = get_layout(cfg.data.layout)
        self.window = cfg.data.window
        self.stride = max(1, self.window // 2)
        self.meta: dict[str, Any] = {
            "name": cfg.model.name,
            "version": version,
            "input": "pose",
            "fps": RESEARCH_FPS,
            "threshold": RESEARCH_THRESHOLD,
            "min_seconds": 1.0,
            "window": self.window,
            "stride": self.stride,
        }

    @classmethod
    def load(cls, path: Path) -> TorchPoseModel:
        from musclemap.config import config_from_dict  # pydantic: 85 ms, not for the default
        from musclemap.models.checkpoint import load_state, read_checkpoint

        ckpt = read_checkpoint(path)
        saved = ckpt.get("config")
        if not isinstance(saved, dict):
            raise ConfigError(
                f"{path}: no config saved with these weights; evaluate them with "
                "`musclemap evaluate CONFIG --checkpoint`"
            )
        cfg = config_from_dict(saved)
        if cfg.data.modality != "pose" or cfg.data.aux_modality:
            inputs = " + ".join(m for m in (cfg.data.modality, cfg.data.aux_modality) if m)
            raise ConfigError(
                f"{path}: a {cfg.model.name} model on {inputs} input; predict works from poses "
                "and runs only pose models (data.modality pose); evaluate this one with "
                f"`musclemap evaluate CONFIG --checkpoint {path}`"
            )
        module = build_from_config(cfg)
        load_state(module, ckpt["model"], where=str(path))
        return cls(module, cfg, version=path.parent.name)

    def inputs(self, seq: PoseSequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`(N + 1, 1, window, V, C)` model inputs (N timeline windows, then the whole clip),
        the window starts `(N,)` and their person coverage `(N,)`."""
        from musclemap.data.skeleton_dataset import pose_keypoints
        from musclemap.data.skeleton_transforms import crop_and_resample

        d = self.cfg.data
        kp = pose_keypoints(seq, self.layout, coords=d.coords, channels=d.channels)
        valid, w = np.asarray(seq.valid, bool), self.window
        starts = keypose.window_starts(len(kp), w, self.stride)
        views = [crop_and_resample(kp[s : s + w], w, None, valid=valid[s : s + w]) for s in starts]
        views.append(crop_and_resample(kp, w, None, valid=valid))
        cover = np.array([valid[s : s + w].mean() if len(valid) else 0.0 for s in starts])
        return np.stack(views)[:, None].astype(np.float32), starts, cover

    def score(self, seq: PoseSequence) -> Scores:
        import torch

        x, starts, cover = self.inputs(seq)
        with torch.no_grad():
            probs = torch.sigmoid(self.module(torch.from_numpy(x)).float()).numpy()
        probs = probs.astype(np.float64)
        keep = cover >= min(MIN_WINDOW_COVERAGE, float(cover.max()))
        return Scores(starts, probs[:-1], keep, probs[-1], np.zeros(0))

    def looks_like(self, embedding: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
        return []  # a research run has no exercise library
