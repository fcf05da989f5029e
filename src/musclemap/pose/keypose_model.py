"""The predict model's numpy inference: `keypose_mlp` weights -> window and clip scores.

`KeyPoseModel` is the numpy forward of the weights `musclemap train` writes for task
pose_default (`model.safetensors` + `model.json`, the packaged `weights/default.*`), with its
settings and exercise library; `score_poses` is the one function from a pose sequence to window
and clip scores: `predict`, the web app (through `Predictor`), `evaluate` and the
cross-validation of `musclemap train` all use it.

It lives in `pose/`, not beside the torch module in `models/pose/keypose_mlp.py`, because
importing anything under `musclemap.models` imports every model (and torch) while the predict
path must stay torch-free; and below `predictor.py`, because training (`engine/pose_train.py`)
scores its folds with it and the engine may not import the predict layer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from musclemap.data.pose_sequence import PoseSequence
from musclemap.errors import ConfigError
from musclemap.pose import keypose
from musclemap.pose.forest import PREFIX as FOREST_PREFIX
from musclemap.pose.forest import Forest
from musclemap.skeleton import MEDIAPIPE33

# A window counts towards the clip score (and the timeline) when a person is seen in at least
# this fraction of its frames; emptier windows would be scored on a few stray poses.
MIN_WINDOW_COVERAGE = 0.5
# A photo pair's pseudo-videos at scoring time (`pair_video_windows`): one movement period
# (the middle of training's 2-4 s), evenly spaced phases, jitter from a fixed seed.
PAIR_VIDEO_PERIOD_S = 3.0
PAIR_VIDEO_SEED = 0


def checked_meta(weights: Path, meta_path: Path) -> dict[str, Any]:
    """The JSON metadata of a safetensors weights file, with the file's SHA-256 checked against
    it (or, without one, the file checked to be whole safetensors); ConfigError otherwise."""
    for p in (weights, meta_path):
        if not p.is_file():
            raise ConfigError(f"model file not found: {p}")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "not UTF-8 text"
        raise ConfigError(f"{meta_path}: invalid model metadata ({reason})") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{meta_path}: invalid model metadata (not a JSON object)")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    if meta.get("sha256") and meta["sha256"] != digest:
        raise ConfigError(
            f"{weights}: checksum mismatch (file damaged or replaced); "
            "re-install musclemap or re-train the weights"
        )
    if not meta.get("sha256"):  # no checksum: at least the file must be whole safetensors
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(weights), framework="numpy"):
                pass
        except (SafetensorError, OSError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ConfigError(f"{weights}: damaged or not a safetensors file ({reason})") from None
    return meta


def _flat(h: np.ndarray) -> np.ndarray:
    """Hidden activations `(members, N, hidden)` -> embeddings `(N, members * hidden)`."""
    return h.transpose(1, 0, 2).reshape(h.shape[1], -1)


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh form (as `keypose_mlp` is trained)."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3)))


class KeyPoseModel:
    """The numpy forward of `keypose_mlp` weights, its settings and its exercise library.

    Args:
        tensors: The state dict as numpy arrays (`feat_mean`, `feat_std`, `w1`, `b1`, `w2`,
            `b2`; with label domains `domain_b2` and, for "head" and "residual",
            `domain_w2`) plus, optionally, `library.embeddings` `(E, members * hidden)`,
            `library.labels` `(E, 20)` (the labels the first domain's k-NN blend reads) and
            `library.domain_labels` `(D - 1, E, 20)` (the other domains'; absent: the same),
            and with `forest.weight` in the metadata the `forest.*` tensors (`pose.forest`).
        meta: The weights' metadata (`window`, `stride`, `fps`, `threshold`, `min_visibility`,
            `library` names, ...).
    """

    def __init__(self, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.meta = meta
        self.window, self.stride = int(meta["window"]), int(meta["stride"])
        self.min_visibility = float(meta.get("min_visibility", keypose.MIN_VISIBILITY))
        self.motion = bool(meta.get("motion", False))
        self.tempo = bool(meta.get("tempo", False))
        # Direction and tempo statistics of signals that hardly move fade to 0 (weights of
        # version 8 on; older weights were trained without: 0).
        self.still_range = float(meta.get("still_range", 0.0))
        # A window's weight in the clip score fades below this range of motion (`pool_weights`;
        # 0: the plain mean, as older weights were scored).
        self.pool_motion = float(meta.get("pool_motion", 0.0))
        # A photo pair is also scored as this many pseudo-videos (`score_poses`; 0: photos only).
        self.pair_videos = int(meta.get("pair_videos", 0))
        # A second model family blended in (`pose.forest`; weights of version 12 on).
        self.forest: Forest | None = None
        self.forest_weight = float(meta.get("forest", {}).get("weight", 0.0))
        if self.forest_weight > 0:
            self.forest = Forest(tensors)
        try:
            t = {k: np.asarray(v, dtype=np.float64) for k, v in tensors.items()
                 if not k.startswith(FOREST_PREFIX)}
            self.mean, self.std = t["feat_mean"], t["feat_std"]
            self.w1, self.b1, self.w2, self.b2 = t["w1"], t["b1"], t["w2"], t["b2"]
        except KeyError as err:
            raise ConfigError(f"model weights lack tensor {err}") from None
        # One output per label convention (`keypose_mlp`'s `label_domains`; weights of version
        # 10 on, "none" before): domain 0 is the shared output.
        self.label_domains = str(meta.get("kwargs", {}).get("label_domains", "none"))
        self.domain_w2, self.domain_b2 = t.get("domain_w2"), t.get("domain_b2")
        if self.label_domains != "none" and self.domain_b2 is None:
            raise ConfigError(f"model weights lack the tensors of label domains "
                              f"{self.label_domains!r}")
        self.domain_labels = t.get("library.domain_labels")
        if len(self.mean) != keypose.num_features(self.motion, self.tempo):
            raise ConfigError(
                f"model expects {len(self.mean)} features, this musclemap computes "
                f"{keypose.num_features(self.motion, self.tempo)}; re-train the weights"
            )
        self.library = t.get("library.embeddings")
        self._norms: tuple[np.ndarray, np.ndarray] | None = None  # (library, its row lengths)
        self.library_labels = t.get("library.labels")
        self.library_names: list[str] = list(meta.get("library", {}).get("names", []))
        if self.library is not None and len(self.library) != len(self.library_names):
            raise ConfigError("library embeddings and names differ in length")
        # Blend with the labels of the closest library exercises (see `probabilities`).
        knn = meta.get("knn", {})
        self.knn_weight = float(knn.get("weight", 0.0)) if self.library_labels is not None else 0.0
        self.knn_k, self.knn_temperature = int(knn.get("k", 5)), float(knn.get("temperature", 0.05))
        self.knn_pair_k = int(knn.get("pair_k", 0)) or self.knn_k  # a photo pair's neighbours
        # a photo pair's share of the k-NN labels (older weights and null: `knn.weight`)
        pair_weight = knn.get("pair_weight")
        self.knn_pair_weight = self.knn_weight
        if pair_weight is not None and self.library_labels is not None:
            self.knn_pair_weight = float(pair_weight)
        # How far a window's embedding moves towards its clip's before its neighbours are
        # looked up (`forward`'s `context`; 0, as older weights were scored: each window alone).
        self.knn_context = float(knn.get("context", 0.0))

    @property
    def fps(self) -> float:
        """The pose rate the windows assume (read when used: `Predictor` checks the value)."""
        return float(self.meta.get("fps", 10.0))

    @classmethod
    def load(cls, path: str | Path) -> KeyPoseModel:
        """A run folder (`model.safetensors` + `model.json`) or a `.safetensors` file with its
        `.json` beside it; the SHA-256 in the metadata is checked."""
        from safetensors.numpy import load_file

        path = Path(path)
        weights = path / "model.safetensors" if path.is_dir() else path
        meta = checked_meta(weights, weights.with_suffix(".json"))
        try:
            tensors = load_file(str(weights))
        except Exception as err:  # noqa: BLE001 - safetensors raises several types
            raise ConfigError(f"{weights}: not a safetensors file ({err})") from None
        if meta.get("input") != "keypose":
            raise ConfigError(
                f"{weights}: a {meta.get('name', '?')!r} model with input "
                f"{meta.get('input')!r}; predict needs a keypose model (musclemap train "
                "configs/predict_default.yaml)"
            )
        return cls(tensors, meta)

    def _hidden(self, x: np.ndarray) -> np.ndarray:
        """`(N, F)` -> `(members, N, hidden)`."""
        x = np.asarray(x, dtype=np.float64)
        x = np.where(np.isfinite(x), x, self.mean)
        z = np.clip((x - self.mean) / self.std, -6.0, 6.0)
        return _gelu(np.einsum("bf,mfh->mbh", z, self.w1) + self.b1[:, None])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """`(N, F)` key-pose features (NaN = unknown) -> `(N, 20)` probabilities: the MLP's,
        blended (`knn.weight`) with the labels of the `knn.k` library exercises closest in
        embedding, weighted by a softmax of their cosine similarity (`knn.temperature`)."""
        return self.forward(x)[0]

    def _logits(self, h: np.ndarray, domain: int) -> np.ndarray:
        """The members' mean logits `(N, 20)` from the hidden layer `(members, N, hidden)`, by
        the output of label convention `domain` (0 or a model without domains: the shared)."""
        shared = np.einsum("mbh,mhc->mbc", h, self.w2) + self.b2[:, None]
        if domain == 0 or self.label_domains == "none" or self.domain_b2 is None:
            return shared.mean(0)
        b = self.domain_b2[domain - 1][:, None]
        if self.label_domains == "bias" or self.domain_w2 is None:
            return (shared + b).mean(0)
        out = np.einsum("mbh,mhc->mbc", h, self.domain_w2[domain - 1]) + b
        return (out if self.label_domains == "head" else shared + out).mean(0)

    def head_probabilities(self, x: np.ndarray, domain: int = 0) -> np.ndarray:
        """`(N, F)` -> the MLP's probabilities `(N, 20)` by one domain's output (no k-NN)."""
        return 1.0 / (1.0 + np.exp(-self._logits(self._hidden(x), domain)))

    def forward(self, x: np.ndarray, knn_k: int | None = None,
                context: np.ndarray | None = None, domain: int = 0,
                knn_weight: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """`(N, F)` -> (`probabilities` `(N, 20)`, `embed` `(N, members * hidden)`), the hidden
        layer computed once for both; `knn_k` neighbours and a k-NN share `knn_weight` instead
        of `knn.k` and `knn.weight` (a photo pair's, `score_poses`). `context`: the embedding
        of the clip the windows belong to; with `knn.context` c > 0 each window's neighbours
        are those of (1 - c) e + c context, its embedding e moved towards its clip's (the
        embeddings returned are the windows' own).
        `domain`: the label convention to answer in (the output, and the library labels the
        k-NN blend reads; `score_poses`: 1 for photos, 0 for videos)."""
        h = self._hidden(x)
        emb = _flat(h)
        probs = 1.0 / (1.0 + np.exp(-self._logits(h, domain)))
        blend = self.knn_weight if knn_weight is None else knn_weight
        if blend <= 0 or self.library is None or self.library_labels is None:
            return self._with_forest(probs, x), emb
        c = self.knn_context
        query = emb if context is None or c <= 0 else (1.0 - c) * emb + c * context
        sim = self._similarity(query)  # (N, E)
        k = min(knn_k or self.knn_k, sim.shape[1])
        top = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        s = np.take_along_axis(sim, top, 1) / self.knn_temperature
        w = np.exp(s - s.max(1, keepdims=True))
        w /= w.sum(1, keepdims=True)
        labels = self.library_labels
        if domain > 0 and self.domain_labels is not None:
            labels = self.domain_labels[domain - 1]
        knn = np.einsum("nk,nkc->nc", w, labels[top])
        return self._with_forest((1.0 - blend) * probs + blend * knn, x), emb

    def _with_forest(self, probs: np.ndarray, x: np.ndarray) -> np.ndarray:
        """`probs` blended with the forest's on the same windows: `(1 - w) probs + w forest`
        (`forest.weight` w; a model without a forest: `probs`)."""
        if self.forest is None:
            return probs
        w = self.forest_weight
        return (1.0 - w) * probs + w * self.forest.probabilities(x)

    def _similarity(self, emb: np.ndarray) -> np.ndarray:
        """Cosine similarity `(N, E)` of embeddings `(N, D)` to the library's."""
        lib = np.asarray(self.library)
        num = emb @ lib.T
        den = np.linalg.norm(emb, axis=1)[:, None] * self._library_norms(lib)[None]
        return num / np.maximum(den, 1e-12)

    def _library_norms(self, lib: np.ndarray) -> np.ndarray:
        """The library embeddings' lengths `(E,)`, computed once per library (~1 ms each time,
        twice a video: its scores and its "looks like")."""
        if self._norms is None or self._norms[0] is not lib:
            self._norms = (lib, np.linalg.norm(lib, axis=1))
        return self._norms[1]

    def embed(self, x: np.ndarray) -> np.ndarray:
        """`(N, F)` -> `(N, members * hidden)`: what "looks like" compares."""
        return _flat(self._hidden(x))

    def score(self, seq: PoseSequence) -> Scores:
        """Window and clip scores of a pose sequence (`score_poses`)."""
        return score_poses(self, seq)

    def looks_like(self, embedding: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
        """The `k` library exercises closest to an embedding (cosine similarity), best first;
        an exercise with several library entries is named once, at its best."""
        if self.library is None or not len(self.library) or not np.isfinite(embedding).all():
            return []
        sim = self._similarity(embedding[None])[0]
        out: list[tuple[str, float]] = []
        for i in np.argsort(-sim, kind="stable"):
            if self.library_names[i] not in {n for n, _ in out}:
                out.append((self.library_names[i], float(sim[i])))
            if len(out) == k:
                break
        return out


@dataclass
class Scores:
    """Window and clip scores of one pose sequence (`score_poses`)."""

    starts: np.ndarray  # (N,) window start frames
    probs: np.ndarray  # (N, 20)
    keep: np.ndarray  # (N,) bool: a person in enough of the window
    clip: np.ndarray  # (20,) the mean over kept windows (weighted by `pool_weights`)
    embedding: np.ndarray  # the mean embedding of kept windows, likewise ("looks like")
    windows: np.ndarray | None = None  # (N, D) each window's own embedding (None: not known)
    weights: np.ndarray | None = None  # (kept,) the pooling weights of the kept windows


def score_poses(model: KeyPoseModel, seq: PoseSequence) -> Scores:
    """A pose sequence (a video's poses or key-position photos) -> window and clip scores.

    Windows of `model.window` frames (stride `model.stride`; a shorter sequence, e.g. two
    photos, is one window) -> key-pose features -> probabilities. The clip score is the mean
    over windows in which a person is seen in at least `MIN_WINDOW_COVERAGE` of the frames (the
    best-covered windows when none reaches it), each weighted by how far its body moves when
    the model has `pool_motion` (`pool_weights`; 0: the plain mean).

    A photo pair (two frames, both with a person: `is_photo_pair`) is one window where a video
    has many to average, so its k-NN blend takes `knn.pair_k` neighbours (and `knn.pair_weight`
    of the blend, when the model has one), and, when the model
    has `pair_videos` (from `pose_default.score_keypose_videos`), it is scored in two forms: its
    photos, and the mean of its pseudo-videos (`pair_video_windows`: the form training also
    learns it in, `pose_default.keypose_videos`); its probabilities and embedding are the mean
    of the two.

    With the model's `knn.context` each window's k-NN neighbours are looked up in its clip's
    context (`KeyPoseModel.forward`): the clip's embedding is pooled as its score (a photo
    pair's: the mean of its two forms'), so a window that alone looks like another exercise
    is looked up nearer what the whole clip looks like.

    A model with label domains (`keypose_mlp`'s `label_domains`, or k-NN library labels per
    domain, `library.domain_labels`) answers a video in the wild clips' convention (domain 0,
    what every user brings) and key-position photos (`is_stills`) in the key-pose library's
    (domain 1, the convention their own labels follow).
    """
    if seq.layout.name != MEDIAPIPE33.name:
        # The key-pose features index MediaPipe's 33 landmarks (heels, toes, hands included).
        raise ConfigError(
            f"{seq.source or 'poses'}: the predict model reads {MEDIAPIPE33.name} poses, got "
            f"{seq.layout.name} (use --pose-estimator mediapipe, or a model trained on that layout)"
        )
    starts, x, cover = model_windows(model, seq.world, seq.valid, fps=seq.fps, image=seq.image)
    pair = is_photo_pair(seq)
    k, blend = (model.knn_pair_k, model.knn_pair_weight) if pair else (None, None)
    domain = 1 if is_stills(seq) else 0  # read only by weights with label domains
    keep = cover >= min(MIN_WINDOW_COVERAGE, float(cover.max()))
    w = pool_weights(model, x[keep])
    in_context = model.knn_context > 0 and (model.knn_weight if blend is None else blend) > 0
    if pair and model.pair_videos:
        xv = pair_video_windows(model, seq)
        # The pair's embedding, the mean of its two forms, is the context of both.
        ctx = 0.5 * (model.embed(x)[0] + model.embed(xv).mean(0)) if in_context else None
        probs, emb = model.forward(x, k, ctx, domain, blend)
        video_probs, video_emb = model.forward(xv, k, ctx, domain, blend)
        probs = 0.5 * (probs + video_probs.mean(0))
        emb = 0.5 * (emb + video_emb.mean(0))
    else:
        ctx = None
        if in_context:  # the clip's embedding, pooled as its score is
            e = model.embed(x[keep])
            ctx = e.mean(0) if w is None else w @ e
        probs, emb = model.forward(x, k, ctx, domain, blend)
    if w is None:
        return Scores(starts, probs, keep, probs[keep].mean(0), emb[keep].mean(0), emb)
    return Scores(starts, probs, keep, w @ probs[keep], w @ emb[keep], emb, w)


def window_ranges(x: np.ndarray, motion: bool, tempo: bool) -> np.ndarray:
    """How far each window's body moves `(N,)`, from its features `(N, F)`: the mean over the
    joint angles and segment inclinations of the larger side's difference between the window's
    two key poses (the `rom_angle_*_max` and `rom_tilt_*_max` features, units of pi); NaN when
    none is known."""
    names = keypose.feature_names(motion, tempo)
    cols = [i for i, n in enumerate(names)
            if n.startswith(("rom_angle_", "rom_tilt_")) and n.endswith("_max")]
    r = np.asarray(x, dtype=np.float64)[:, cols]
    n = np.isfinite(r).sum(1)
    return np.where(n > 0, np.nansum(r, 1) / np.maximum(n, 1), np.nan)


def pool_weights(model: KeyPoseModel, x: np.ndarray) -> np.ndarray | None:
    """Weights summing to 1 of a clip's kept windows `(N, F)` in its score, or None for the
    plain mean (the model's `pool_motion` 0, one window, or no window that moves).

    A window weighs r^2 / (r^2 + pool_motion^2), r how far its body moves (`window_ranges`): a
    window in which the body holds still (setting up, resting between sets) looks like any
    exercise's start or end position and dilutes the windows of the movement; a moving window
    keeps nearly full weight. The range between key poses, not the joint speed, because the
    speed of a still body is the pose estimator's frame-to-frame noise (about that of a slow
    exercise), while its key poses, each a mean over a quarter of the window, are nearly equal."""
    m0 = model.pool_motion
    if m0 <= 0 or len(x) < 2:
        return None
    w = keypose.fade(np.nan_to_num(window_ranges(x, model.motion, model.tempo)), m0)
    total = float(w.sum())
    return w / total if total > 1e-9 else None


def is_photo_pair(seq: PoseSequence) -> bool:
    """Two key-position photos with a person in both (what training makes pseudo-videos of)."""
    return len(seq) == 2 and bool(seq.valid.all())


def is_stills(seq: PoseSequence) -> bool:
    """Key-position photos rather than a video: a photo pair, or any pose sequence made by the
    still-image path (`pose.stills`, `extra["stills"]`)."""
    return is_photo_pair(seq) or "stills" in seq.extra


def pair_video_windows(model: KeyPoseModel, seq: PoseSequence) -> np.ndarray:
    """Features `(model.pair_videos, F)` of deterministic pseudo-videos of a photo pair: one
    window each of the body moving between its two photos (`skeleton_transforms.pair_video`,
    as training's `pose_windows.keypose_video`) with period `PAIR_VIDEO_PERIOD_S`, phases evenly
    spaced over the period and jitter drawn from `PAIR_VIDEO_SEED`, so a pair always gets the
    same scores."""
    from musclemap.data.skeleton_transforms import cosine_profile, pair_video

    rng = np.random.default_rng(PAIR_VIDEO_SEED)
    rows = []
    for i in range(model.pair_videos):
        u = cosine_profile(frames=model.window, fps=model.fps, period_s=PAIR_VIDEO_PERIOD_S,
                           phase=2 * np.pi * i / model.pair_videos)
        world, image = pair_video(seq.world, seq.image, u, rng)
        rows.append(model_windows(model, world, np.ones(len(world), bool), fps=model.fps,
                                  image=image)[1])
    return np.concatenate(rows)


def model_windows(
    model: KeyPoseModel, world: np.ndarray, valid: np.ndarray, *, fps: float,
    image: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`keypose.sequence_windows` with the feature settings the model was trained with
    (window, stride, visibility threshold, motion, tempo, still range): starts, features,
    coverage."""
    return keypose.sequence_windows(
        world, valid, window=model.window, stride=model.stride,
        min_visibility=model.min_visibility, motion=model.motion, fps=fps, image=image,
        tempo=model.tempo, still_range=model.still_range,
    )


class PoseScorer(Protocol):
    """A trained model as `Predictor` and `evaluate` use it: settings, scores, "looks like".

    Implemented by `KeyPoseModel` (the shipped model, numpy) and by
    `musclemap.inference.TorchPoseModel` (a research run's pose model, torch).
    """

    meta: dict[str, Any]  # name, version, fps, threshold, min_seconds, window, stride, input
    window: int  # frames per timeline window
    stride: int

    def score(self, seq: PoseSequence) -> Scores: ...

    def looks_like(self, embedding: np.ndarray, k: int = 3) -> list[tuple[str, float]]: ...
