"""Experiment configs: typed dataclasses loaded from flat YAML plus dotted `key=value` overrides.

No inheritance, no `_target_` paths: a config names a task (the training function), a model from
the registry and its kwargs, and plain data/optimisation settings. Unknown keys fail with a
suggestion; override values are converted to the field's type.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from musclemap.errors import ConfigError


@dataclass
class DataConfig:
    manifest: str = ""  # manifest CSV; relative paths resolve against the config file's folder
    synthetic: bool = False  # generated data instead of a manifest (smoke runs, tests)
    synthetic_clips: int = 8
    modality: str = "rgb"  # rgb | rgbdiff | flow | pose; two-branch models name `aux_modality`
    aux_modality: str = ""
    clip_len: int = 16  # frames per clip (paper: 16 at sampling rate 4)
    sampling_rate: int = 4
    crop_size: int = 224
    train_scale: tuple[int, int] = (256, 320)
    test_scale: int = 256
    num_views: int = 5  # temporal views averaged at test time
    layout: str = "mediapipe33"  # skeleton layout of pose inputs
    window: int = 64  # pose frames per sample
    pose_dir: str = ""  # where cached poses live (skeleton models)
    fold: int = -1  # leave-activities-out fold (>= 0) when the manifest has no split column
    num_folds: int = 5
    fold_seed: int = 0
    num_workers: int = 2
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    name: str = "mvitv2_s"
    kwargs: dict[str, Any] = field(default_factory=dict)
    pretrained: str = ""  # local checkpoint file brought by the user (never downloaded)


@dataclass
class OptimConfig:
    name: str = "adamw"
    lr: float = 1e-4
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.999)
    scheduler: str = "cosine"  # cosine | constant
    warmup_epochs: float = 0.0
    min_lr: float = 0.0
    grad_clip: float = 1.0  # <= 0 disables clipping


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 8
    accum_steps: int = 1
    max_steps: int = 0  # > 0 stops after this many optimisation steps (smoke runs)
    loss: str = "bce"  # bce | focal
    focal_gamma: float = 2.0
    amp: str = "none"  # none | bf16 | fp16 (GPU only)
    device: str = "auto"
    threads: int = 0  # CPU threads for torch (0: torch's default); 1 is often fastest on a busy CPU
    seed: int = 0
    eval_every: int = 1
    out_dir: str = "runs"
    run_name: str = ""
    log_every: int = 10
    resume: bool = True  # continue from run_dir/last.pt when it exists
    force_resume: bool = False  # resume even if the config changed (old config.yaml kept aside)


@dataclass
class ExperimentConfig:
    task: str = "supervised"  # which training function runs the experiment
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    extra: dict[str, Any] = field(default_factory=dict)  # task-specific settings
    source: str = ""  # the file it was loaded from (set by load_config)


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Convert a YAML/override value to the annotated type `tp`."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return _build(tp, value, f"{key}.")
    if origin in (dict,) or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list | tuple) or len(value) != len(args):
            raise ConfigError(f"{key}: expected {len(args)} values, got {value!r}")
        return tuple(_convert(v, a, key) for v, a in zip(value, args, strict=True))
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _convert(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: {value!r} does not fit {tp}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{key}: expected null")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if tp in (int, float):
        if isinstance(value, str):  # YAML 1.1 reads "3e-4" as a string
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"{key}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if tp is int and float(value) != int(value):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return tp(value)
    if tp is str:
        if value is None or isinstance(value, dict | list):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return str(value)
    return value


def _build(cls: Any, values: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in values.items():
        if key not in names:
            raise ConfigError(_unknown(f"{prefix}{key}", key, names))
        kwargs[key] = _convert(value, hints[key], f"{prefix}{key}")
    return cls(**kwargs)


def _unknown(full: str, key: str, names: list[str]) -> str:
    close = difflib.get_close_matches(key, names, n=1)
    return f"unknown config key {full!r}" + (f"; did you mean {close[0]!r}?" if close else "")


def _set_dotted(tree: dict[str, Any], cls: Any, dotted: str, raw: str) -> None:
    """Apply one `a.b.c=value` override to a nested dict, checking keys against `cls`."""
    parts = dotted.split(".")
    node, node_cls = tree, cls
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if node_cls is None:  # inside a free-form dict (model.kwargs, extra)
            if last:
                node[part] = yaml.safe_load(raw)
            else:
                node = node.setdefault(part, {})
            continue
        names = [f.name for f in dataclasses.fields(node_cls)]
        if part not in names:
            raise ConfigError(_unknown(dotted, part, names))
        hint = typing.get_type_hints(node_cls)[part]
        if last:
            node[part] = yaml.safe_load(raw) if raw != "" else ""
        else:
            node = node.setdefault(part, {})
            node_cls = hint if dataclasses.is_dataclass(hint) else None


def load_config(
    path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> ExperimentConfig:
    """Load an ExperimentConfig from YAML (or defaults when `path` is None) plus overrides."""
    tree: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            text = path.read_bytes().decode("utf-8")
            if "\x00" in text:
                raise ConfigError(f"{path}: binary file (NUL bytes), not a YAML config")
            tree = yaml.safe_load(text) or {}
        except UnicodeDecodeError as err:
            raise ConfigError(
                f"{path}: not UTF-8 text (byte offset {err.start}); not a YAML config"
            ) from None
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: invalid YAML ({_yaml_reason(err)})") from None
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not key=value")
        key, raw = item.split("=", 1)
        _set_dotted(tree, ExperimentConfig, key.strip(), raw.strip())
    tree.pop("source", None)
    cfg: ExperimentConfig = _build(ExperimentConfig, tree, "")
    problems = range_problems(cfg)
    if problems:
        where = f"{path}: " if path is not None else ""
        raise ConfigError(f"{where}{'; '.join(problems)}")
    if path is not None:
        cfg.source = str(Path(path).resolve())
    return cfg


def _yaml_reason(err: yaml.YAMLError) -> str:
    # PyYAML's message spans several lines with a drawing of the spot: keep one line.
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem


# (section, field) -> (lowest allowed, inclusive?): values a run cannot work with, caught when the
# config is read instead of as a traceback (batch_size=0) or a silent no-op (epochs=-1).
_MINIMA: dict[tuple[str, str], tuple[float, bool]] = {
    ("train", "epochs"): (1, True),
    ("train", "batch_size"): (1, True),
    ("train", "accum_steps"): (1, True),
    ("train", "max_steps"): (0, True),
    ("train", "eval_every"): (1, True),
    ("train", "threads"): (0, True),
    ("train", "focal_gamma"): (0, True),
    ("train", "seed"): (0, True),
    ("data", "fold_seed"): (0, True),
    ("optim", "lr"): (0, False),
    ("optim", "weight_decay"): (0, True),
    ("optim", "warmup_epochs"): (0, True),
    ("optim", "min_lr"): (0, True),
    ("data", "synthetic_clips"): (1, True),
    ("data", "clip_len"): (1, True),
    ("data", "sampling_rate"): (1, True),
    ("data", "crop_size"): (1, True),
    ("data", "num_views"): (1, True),
    ("data", "window"): (1, True),
    ("data", "num_folds"): (2, True),
    ("data", "num_workers"): (0, True),
}
_CHOICES = {
    ("train", "loss"): ("bce", "focal"),
    ("train", "amp"): ("none", "bf16", "fp16"),
    ("optim", "name"): ("adamw", "sgd"),
    ("optim", "scheduler"): ("cosine", "constant"),
}


def range_problems(cfg: ExperimentConfig) -> list[str]:
    """Every setting out of its range or choices, as 'key must be ... (got ...)'."""
    problems = []
    for (section, name), (low, inclusive) in _MINIMA.items():
        value = getattr(getattr(cfg, section), name)
        ok = value >= low if inclusive else value > low
        if not ok or value != value:  # NaN fails too
            problems.append(
                f"{section}.{name} must be {'>=' if inclusive else '>'} {low:g} (got {value})"
            )
    for (section, name), choices in _CHOICES.items():
        value = getattr(getattr(cfg, section), name)
        if value not in choices:
            problems.append(f"{section}.{name} must be one of {', '.join(choices)} (got {value!r})")
    return problems


def config_to_dict(cfg: ExperimentConfig) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        if isinstance(v, tuple):
            return list(v)
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(cfg))


def save_config(cfg: ExperimentConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))


def resolve_path(cfg: ExperimentConfig, value: str) -> Path:
    """A path from the config, relative to the config file's folder (or the cwd)."""
    p = Path(value).expanduser()
    if p.is_absolute() or not cfg.source:
        return p
    candidate = Path(cfg.source).parent / p
    return candidate if candidate.exists() or not p.exists() else p
