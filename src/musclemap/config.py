"""Experiment configs: typed dataclasses loaded from flat YAML plus dotted `key=value` overrides.

No inheritance, no `_target_` paths: a config names a task (the training function), a model from
the registry and its kwargs, plain data/optimisation settings, and one typed section per task that
needs more (`pose_default`, `transm3e`, `baseline`). Unknown keys fail with a suggestion; override
values are converted to the field's type. Which fields each task honours is written down with the
task (`musclemap.engine.tasks`): setting one it ignores is an error there.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
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
    coords: str = "image"  # pose inputs: image (2D pixels) | world (MediaPipe's metric 3D)
    channels: int = 3  # pose channels: image 2 (x, y) or 3 (+ visibility); world 3 or 4
    fold: int = -1  # leave-activities-out fold (>= 0) when the manifest has no split column
    num_folds: int = 5
    fold_seed: int = 0
    num_workers: int = 2
    cache_dir: str = ""  # decoded-video cache of the video datasets ("" = none)


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
class KnnConfig:
    """The predict model's blend with the labels of its closest library exercises."""

    weight: float = 0.0  # share of the k-NN labels in the probabilities (0: the MLP alone)
    k: int = 5
    temperature: float = 0.05  # softmax temperature over cosine similarities
    per_item: bool = False  # one library entry per clip / photo pair instead of per exercise
    # neighbours of a photo pair (one window, where a video averages many; 0: `k`)
    pair_k: int = 0
    # a photo pair's share of the k-NN labels (null: `weight`); a photo pair's own MLP score is
    # one window's, a video's an average over many, so their best blends may differ
    pair_weight: float | None = None
    # share of the way a window's embedding moves towards its clip's (the pooled embedding; a
    # photo pair's: the mean of its photo and pseudo-video forms) before its neighbours are
    # looked up (0: each window alone; 1: the clip's neighbours for every window)
    context: float = 0.0
    # the label vectors a library entry lends a video (wild clips' convention) and a photo pair
    # (the key-pose library's): "own" its own labels for both; "exercise" a key-pose entry lends
    # videos the labels of the wild clips of its canonical exercise, where training has any
    # (photo pairs: its own); "exercise_both" also a clip lends photo pairs its exercise's
    # key-pose labels; "translate" shifted by the model's difference between its two outputs on
    # its windows (`pose_default.label_domains`)
    domain_labels: str = "own"


@dataclass
class ForestConfig:
    """The predict model's second family: extra-trees on the same key-pose windows, blended with
    the MLP (and its k-NN labels) as `(1 - weight) mlp + weight forest` (`pose.forest`)."""

    weight: float = 0.0  # the forest's share of the probabilities (0: no forest is trained)
    trees: int = 100
    min_leaf: int = 5  # samples per leaf (larger: smaller weights, smoother probabilities)
    max_features: float = 0.5  # share of the features each split draws from


@dataclass
class PoseDefaultConfig:
    """Task pose_default: the predict command's model (`musclemap.engine.pose_train`)."""

    library_manifest: str = ""  # key-position photo pairs (pose manifest); "" = clips only
    fps: float = 10.0  # pose sampling rate the windows assume (predict samples at it)
    stride: int = 10  # window stride in frames (the window is data.window)
    min_visibility: float = 0.5  # landmarks below count as missing (pose.keypose.MIN_VISIBILITY)
    motion: bool = False  # window motion features (speeds, cadence, hip travel)
    knn: KnnConfig = field(default_factory=KnnConfig)
    forest: ForestConfig = field(default_factory=ForestConfig)
    min_seconds: float = 1.0  # predict refuses shorter videos
    augment_copies: int = 2  # camera-pitch (+ limb-occlusion) copies per training item
    # what a copy's occluded limb loses: "visibility" (its score 0; a no-op at min_visibility 0)
    # or "missing" (its coordinates too: the features of that side come from the other side)
    occlusion: str = "visibility"
    tempo: bool = False  # window tempo features (joint velocity direction, dwell; 0 for photos)
    # a signal's direction / tempo statistics fade as r^2 / (r^2 + still_range^2), r its range
    # over the window (units of pi or torso lengths): a still joint's are only the estimator's
    # noise (`keypose.still_gain`); 0 = not faded
    still_range: float = 0.0
    # a window's weight in the clip score is r^2 / (r^2 + pool_motion^2), r how far its joints
    # move between its key poses (units of pi): still windows (setup, rest) count less;
    # 0 = the plain mean
    pool_motion: float = 0.0
    # pseudo-videos per key-pose photo pair in training: the movement between its two photos
    keypose_videos: int = 0
    # pseudo-videos a photo pair is also scored as (deterministic; the mean of both forms is its
    # score: `keypose_model.score_poses`); 0 = its photos only
    score_keypose_videos: int = 0
    keypose_weight: float = 1.0  # a photo pair's weight relative to a clip
    # a photo pair's mirrored photos' poses (the library manifest's `skeleton_mirror` column,
    # `data poses --mirror`) as a second training copy of the pair (its own augmented copies
    # and pseudo-videos; the pair still weighs keypose_weight): MediaPipe is not
    # mirror-equivariant, so the mirror is another estimate of the same positions
    keypose_mirror: bool = False
    # the same for a clip: its mirrored video's poses (data.manifest's `skeleton_mirror`)
    clip_mirror: bool = False
    # a photo pair's training targets y (1 - s) + s / 2: the Free Exercise DB's authors list
    # secondary muscles inconsistently, so its 0s and 1s are less certain than the wild
    # clips' (0 = as labelled; the k-NN library keeps the labels as they are)
    keypose_label_smoothing: float = 0.0
    # weight of an auxiliary loss during training: which exercise (canonical, across clips and
    # photos) a window shows, from the hidden layer the k-NN library compares (0 = none)
    exercise_loss: float = 0.0
    # one output per label convention (`models.pose.keypose_mlp.DOMAINS`): the wild clips' labels
    # ("wild", the head every video is scored with) and the key-pose library's ("library": a photo
    # pair and its pseudo-videos), the hidden layer shared. "none": one output; "bias": a
    # per-domain bias per member; "head": a full output layer per domain; "residual": the shared
    # output plus a per-domain residual layer (L2 penalty `domain_l2`)
    label_domains: str = "none"
    domain_l2: float = 0.0
    cv_folds: int = 5  # folds of both protocols (1: no cross-validation)
    cv_seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # first selects, rest report
    baselines: list[str] = field(default_factory=lambda: ["extra_trees", "random", "all_ones"])
    version: str = "2"  # the model version written into the weights' metadata
    # the pose estimator the training poses were made with (`data poses --pose-estimator`),
    # written into the weights' metadata: predict poses with it (docs/predict.md)
    pose_estimator: str = "mediapipe"
    export_dir: str = ""  # also copy the weights here as default.* ("" = run folder only)


@dataclass
class Transm3eConfig:
    """Task transm3e: stage-2 initialisation and the distillation weight."""

    receiver_init: str = ""  # stage-1 checkpoint of the receiver branch ("" = from scratch)
    sender_init: str = ""  # stage-1 checkpoint of the sender branch
    kd_weight: float = 1.0  # weight of L_MCTKD (paper: 1)


@dataclass
class BaselineConfig:
    """Task baseline: Table II's statistic baselines."""

    name: str = ""  # random | all_ones


@dataclass
class ExperimentConfig:
    task: str = "supervised"  # which training function runs the experiment
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    pose_default: PoseDefaultConfig = field(default_factory=PoseDefaultConfig)
    transm3e: Transm3eConfig = field(default_factory=Transm3eConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    source: str = ""  # the file it was loaded from (set by load_config)


# Where the keys of the untyped `extra` sections (before issue 15) live now: saved configs of old
# runs are migrated (`config_from_dict`), a YAML file or override using them is an error naming
# the new key.
LEGACY_KEYS: dict[str, str] = {
    **{f"extra.{f.name}": f"pose_default.{f.name}" for f in dataclasses.fields(PoseDefaultConfig)},
    "extra.threads": "train.threads",
    "extra.baseline": "baseline.name",
    **{f"extra.{f.name}": f"transm3e.{f.name}" for f in dataclasses.fields(Transm3eConfig)},
    **{f"data.extra.{k}": f"data.{k}" for k in ("coords", "channels", "cache_dir")},
}


def _legacy_entries(tree: dict[str, Any]) -> list[tuple[str, Any]]:
    """(old dotted key, value) of every entry of a tree's `extra` / `data.extra` sections."""
    data = tree.get("data")
    out = []
    for prefix, section in (
        ("extra", tree.get("extra")),
        ("data.extra", data.get("extra") if isinstance(data, dict) else None),
    ):
        if isinstance(section, dict):
            out += [(f"{prefix}.{k}", v) for k, v in section.items()]
    return out


def _no_such_legacy(old: str) -> ConfigError:
    return ConfigError(f"unknown config key {old!r} (the untyped extra sections are gone)")


def migrate_legacy(tree: dict[str, Any]) -> dict[str, Any]:
    """A config tree with its `extra` entries moved to their typed fields (`LEGACY_KEYS`);
    an entry no field holds raises ConfigError."""
    tree = {k: (dict(v) if isinstance(v, dict) else v) for k, v in tree.items()}
    for old, value in _legacy_entries(tree):
        if old not in LEGACY_KEYS:
            raise _no_such_legacy(old)
        node = tree
        *parents, last = LEGACY_KEYS[old].split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    tree.pop("extra", None)
    if isinstance(tree.get("data"), dict):
        tree["data"].pop("extra", None)
        if tree["data"].get("pose_dir") == "":  # a field no task ever read, since removed
            tree["data"].pop("pose_dir")
    return tree


def config_from_dict(tree: dict[str, Any]) -> ExperimentConfig:
    """The config a run saved (`config.yaml`, a checkpoint's `config`), old `extra` sections
    included, checked like a file."""
    tree = migrate_legacy(tree)
    source = str(tree.pop("source", "") or "")
    cfg: ExperimentConfig = _build(ExperimentConfig, tree, "")
    problems = range_problems(cfg)
    if problems:
        raise ConfigError("; ".join(problems))
    cfg.source = source
    return cfg


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
    if origin is list:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        (arg,) = typing.get_args(tp)
        return [_convert(v, arg, key) for v in value]
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
        if tp is int and not math.isfinite(value):  # int(inf) is an OverflowError
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
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
    if dotted in LEGACY_KEYS:
        raise ConfigError(f"config key {dotted!r} is now {LEGACY_KEYS[dotted]!r}")
    if dotted.startswith(("extra.", "data.extra.")):
        raise _no_such_legacy(dotted)
    parts = dotted.split(".")
    node, node_cls = tree, cls
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if node_cls is None:  # inside a free-form dict (model.kwargs)
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
            from musclemap.textfile import missing_reason

            reason = missing_reason(path)  # a folder or /dev/zero was "not found" too
            raise ConfigError(
                f"config file not found: {path}"
                if reason == "file not found"
                else f"config file {path}: {reason}"
            )
        try:
            text = path.read_bytes().decode("utf-8")
            if "\x00" in text:
                raise ConfigError(f"{path}: binary file (NUL bytes), not a YAML config")
            tree = yaml.load(text, Loader=_UniqueKeyLoader) or {}  # a SafeLoader subclass
        except UnicodeDecodeError as err:
            raise ConfigError(
                f"{path}: not UTF-8 text (byte offset {err.start}); not a YAML config"
            ) from None
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: invalid YAML ({_yaml_reason(err)})") from None
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
        legacy = _legacy_entries(tree)
        if legacy:
            moves = [f"{old} -> {LEGACY_KEYS.get(old, '(no such setting)')}" for old, _ in legacy]
            raise ConfigError(
                f"{path}: the untyped extra sections are gone; move {', '.join(moves)}"
            )
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


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping: PyYAML keeps the last one
    silently, so `lr: 0.1` written twice trained with whichever came second."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                hash(key)
            except TypeError:  # a list as a key: SafeLoader's own error names it
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} given twice (first on line {seen[key].line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _yaml_reason(err: yaml.YAMLError) -> str:
    # PyYAML's message spans several lines with a drawing of the spot: keep one line.
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem


# (section, field) -> (lowest allowed, inclusive?): values a run cannot work with, caught when the
# config is read instead of as a traceback (batch_size=0) or a silent no-op (epochs=-1).
_MINIMA: dict[tuple[str, str], tuple[float, bool]] = {
    ("data", "channels"): (2, True),
    ("pose_default", "fps"): (0, False),
    ("pose_default", "stride"): (1, True),
    ("pose_default", "min_seconds"): (0, True),
    ("pose_default", "augment_copies"): (0, True),
    ("pose_default", "keypose_videos"): (0, True),
    ("pose_default", "score_keypose_videos"): (0, True),
    ("pose_default", "keypose_weight"): (0, True),
    ("pose_default", "keypose_label_smoothing"): (0, True),
    ("pose_default", "still_range"): (0, True),
    ("pose_default", "pool_motion"): (0, True),
    ("pose_default", "cv_folds"): (1, True),
    ("pose_default", "domain_l2"): (0, True),
    ("pose_default.knn", "k"): (1, True),
    ("pose_default.knn", "pair_k"): (0, True),
    ("pose_default.knn", "temperature"): (0, False),
    ("pose_default.knn", "context"): (0, True),
    ("pose_default.forest", "weight"): (0, True),
    ("pose_default.forest", "trees"): (1, True),
    ("pose_default.forest", "min_leaf"): (1, True),
    ("pose_default.forest", "max_features"): (0, False),
    ("transm3e", "kd_weight"): (0, True),
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
    ("data", "coords"): ("image", "world"),
    ("train", "loss"): ("bce", "focal"),
    ("train", "amp"): ("none", "bf16", "fp16"),
    ("optim", "name"): ("adamw", "sgd"),
    ("optim", "scheduler"): ("cosine", "constant"),
    ("pose_default", "occlusion"): ("visibility", "missing"),
    ("pose_default", "label_domains"): ("none", "bias", "head", "residual"),
    ("pose_default.knn", "domain_labels"): ("own", "exercise", "exercise_both", "translate"),
}


def range_problems(cfg: ExperimentConfig) -> list[str]:
    """Every setting out of its range or choices, as 'key must be ... (got ...)'."""
    def section_of(dotted: str) -> Any:
        node: Any = cfg
        for part in dotted.split("."):
            node = getattr(node, part)
        return node

    problems = []
    for (section, name), (low, inclusive) in _MINIMA.items():
        value = getattr(section_of(section), name)
        ok = value >= low if inclusive else value > low
        if not ok or value != value:  # NaN fails too
            problems.append(
                f"{section}.{name} must be {'>=' if inclusive else '>'} {low:g} (got {value})"
            )
    context = cfg.pose_default.knn.context
    if context > 1:  # a share of the way to the clip's embedding
        problems.append(f"pose_default.knn.context must be <= 1 (got {context})")
    pair_weight = cfg.pose_default.knn.pair_weight
    if pair_weight is not None and not 0 <= pair_weight <= 1:
        problems.append(f"pose_default.knn.pair_weight must be in [0, 1] (got {pair_weight})")
    forest = cfg.pose_default.forest
    for name in ("weight", "max_features"):
        if getattr(forest, name) > 1:
            value = getattr(forest, name)
            problems.append(f"pose_default.forest.{name} must be <= 1 (got {value})")
    smoothing = cfg.pose_default.keypose_label_smoothing
    if smoothing > 1:
        problems.append(f"pose_default.keypose_label_smoothing must be <= 1 (got {smoothing})")
    run_name = cfg.train.run_name
    if run_name and (Path(run_name).name != run_name or run_name in (".", "..")):
        # "../x" or "a/b" put the run outside train.out_dir.
        problems.append(f"train.run_name must be a folder name, not a path (got {run_name!r})")
    for (section, name), choices in _CHOICES.items():
        value = getattr(section_of(section), name)
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


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A nested dict as dotted keys (`{"train.epochs": 10, ...}`); empty dicts are leaves."""
    if isinstance(tree, dict) and (tree or not prefix):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: list(tree) if isinstance(tree, tuple) else tree}


def changed_fields(cfg: ExperimentConfig) -> list[str]:
    """Dotted keys whose value differs from the default config's (`source` left out)."""
    mine, default = flatten(config_to_dict(cfg)), flatten(config_to_dict(ExperimentConfig()))
    # An empty default mapping (model.kwargs) that got entries shows as its entries' keys.
    keys = set(mine) | {k for k, v in default.items() if v != {}}
    return sorted(k for k in keys if k not in ("source", "task") and mine.get(k) != default.get(k))


def save_config(cfg: ExperimentConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))


def resolve_path(cfg: ExperimentConfig, value: str) -> Path:
    """A path from the config, relative to the config file's folder (or the cwd)."""
    p = Path(value).expanduser()
    if p.is_absolute() or not cfg.source:
        return p
    candidate = Path(cfg.source).parent / p
    return candidate if candidate.exists() or not p.exists() else p
