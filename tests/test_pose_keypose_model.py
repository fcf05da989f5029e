"""pose/keypose_model.py: the predict model's numpy inference, its metadata checks and scoring."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from musclemap.errors import ConfigError
from musclemap.pose import keypose
from musclemap.pose.keypose_model import (
    KeyPoseModel,
    checked_meta,
    pair_video_windows,
    pool_weights,
    score_poses,
    window_ranges,
)
from musclemap.pose.synthetic import synthetic_pose_sequence
from musclemap.predictor import WEIGHTS_DIR

F = keypose.num_features(False)


def _tiny(knn_weight: float = 0.0, members: int = 2, hidden: int = 3, **settings: float
          ) -> KeyPoseModel:
    F = keypose.num_features(settings.get("motion", False), settings.get("tempo", False))
    rng = np.random.default_rng(0)
    tensors = {
        "feat_mean": np.zeros(F), "feat_std": np.ones(F),
        "w1": rng.normal(0, 0.1, (members, F, hidden)), "b1": np.zeros((members, hidden)),
        "w2": rng.normal(0, 1.0, (members, hidden, 20)), "b2": np.zeros((members, 20)),
        "library.embeddings": rng.normal(0, 1, (3, members * hidden)),
        "library.labels": np.eye(3, 20),
    }
    meta = {"window": 20, "stride": 10, "knn": {"weight": knn_weight, "k": 2, "temperature": 1.0},
            "library": {"names": ["a", "b", "a"]}, **settings}
    return KeyPoseModel(tensors, meta)


def test_probabilities_are_the_mlp_ensemble_blended_with_the_nearest_labels() -> None:
    x = np.random.default_rng(1).normal(0, 1, (4, F))
    plain, blended = _tiny(0.0), _tiny(0.5)
    z = np.clip(x, -6, 6)  # mean 0, std 1

    def gelu(v: np.ndarray) -> np.ndarray:  # tanh form, as keypose_mlp trains
        return 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v**3)))

    hid = [gelu(z @ plain.w1[m] + plain.b1[m]) for m in range(2)]
    logits = np.mean([hid[m] @ plain.w2[m] + plain.b2[m] for m in range(2)], axis=0)
    expected = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(plain.probabilities(x), expected, rtol=1e-12)
    np.testing.assert_allclose(plain.embed(x), np.concatenate(hid, axis=1), rtol=1e-12)
    # k-NN: softmax over the 2 most similar library entries of their labels, half and half.
    emb = plain.embed(x)
    sim = plain._similarity(emb)
    top = np.argsort(-sim, axis=1, kind="stable")[:, :2]
    s = np.take_along_axis(sim, top, 1)
    w = np.exp(s - s.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    knn = np.einsum("nk,nkc->nc", w, np.eye(3, 20)[top])
    np.testing.assert_allclose(blended.probabilities(x), 0.5 * expected + 0.5 * knn, rtol=1e-12)


def test_similarity_is_the_cosine_with_the_library_lengths_kept_per_library() -> None:
    model = _tiny()
    emb = np.random.default_rng(2).normal(0, 1, (4, 6))
    lib = np.asarray(model.library)
    want = (emb @ lib.T) / np.maximum(
        np.linalg.norm(emb, axis=1)[:, None] * np.linalg.norm(lib, axis=1)[None], 1e-12
    )
    np.testing.assert_array_equal(model._similarity(emb), want)  # computed once, same values
    np.testing.assert_array_equal(model._similarity(emb), want)
    model.library = lib * 2.0 + 1.0  # another library: its own lengths, not the cached ones
    other = model.library
    np.testing.assert_array_equal(
        model._similarity(emb),
        (emb @ other.T)
        / np.maximum(np.linalg.norm(emb, axis=1)[:, None] * np.linalg.norm(other, axis=1), 1e-12),
    )


def test_missing_features_are_imputed_with_the_mean() -> None:
    model = _tiny()
    x = np.full((1, F), np.nan)
    np.testing.assert_allclose(model.probabilities(x), model.probabilities(np.zeros((1, F))))


def test_looks_like_names_each_exercise_once_at_its_best() -> None:
    model = _tiny()
    emb = np.asarray(model.library)[2] * 3.0  # closest to entry 2 ("a")
    out = model.looks_like(emb, k=3)
    assert [n for n, _ in out] == ["a", "b"] and out[0][1] == pytest.approx(1.0)
    assert model.looks_like(np.full_like(emb, np.nan)) == []


def test_score_poses_averages_the_windows_with_a_person() -> None:
    model = _tiny()
    seq = synthetic_pose_sequence("squat", seconds=5.0)  # 50 frames: windows at 0, 10, 20, 30
    seq.valid[:15] = False
    scores = score_poses(model, seq)
    assert scores.starts.tolist() == [0, 10, 20, 30]
    assert scores.keep.tolist() == [False, True, True, True]  # window 0: 5 of 20 frames
    np.testing.assert_allclose(scores.clip, scores.probs[1:].mean(0))
    assert model.score(seq).clip.tolist() == scores.clip.tolist()


def test_a_tempo_model_scores_the_tempo_features_training_computes() -> None:
    model = _tiny(motion=True, tempo=True)
    seq = synthetic_pose_sequence("biceps_curl", seconds=5.0)
    _, x, _ = keypose.sequence_windows(seq.world, seq.valid, window=20, stride=10,
                                       min_visibility=model.min_visibility, motion=True,
                                       fps=seq.fps, image=seq.image, tempo=True)
    assert x.shape[1] == keypose.num_features(True, True)
    np.testing.assert_allclose(score_poses(model, seq).probs, model.probabilities(x))
    with pytest.raises(ConfigError, match="expects 270 features, this musclemap computes 246"):
        KeyPoseModel({"feat_mean": model.mean, "feat_std": model.std, "w1": model.w1,
                      "b1": model.b1, "w2": model.w2, "b2": model.b2},
                     {**model.meta, "tempo": False})


def test_a_model_fades_still_joints_as_it_was_trained_to() -> None:
    # `still_range` (pose_default.still_range, version 8) is in the weights' metadata: scoring
    # computes the faded features training computed; weights without it are not faded.
    seq = synthetic_pose_sequence("biceps_curl", seconds=5.0)
    faded, plain = _tiny(motion=True, tempo=True, still_range=0.1), _tiny(motion=True, tempo=True)
    assert faded.still_range == 0.1 and plain.still_range == 0.0

    def features(still_range: float) -> np.ndarray:
        return keypose.sequence_windows(seq.world, seq.valid, window=20, stride=10,
                                        min_visibility=0.5, motion=True, fps=seq.fps,
                                        image=seq.image, tempo=True, still_range=still_range)[1]

    np.testing.assert_allclose(score_poses(faded, seq).probs, faded.probabilities(features(0.1)))
    np.testing.assert_allclose(score_poses(plain, seq).probs, plain.probabilities(features(0.0)))
    assert not np.allclose(features(0.1), features(0.0), equal_nan=True)


def _curl_then_still():  # noqa: ANN202 - a PoseSequence
    # 6 s at 10 fps: curls for 3 s, then the body holds the last pose (resting).
    seq = synthetic_pose_sequence("biceps_curl", seconds=6.0)
    world = seq.world.copy()
    world[30:] = world[29]
    return dataclasses.replace(seq, world=world)


def _windows(seq):  # noqa: ANN202 - features (N, 270) of 2 s windows every 1 s
    return keypose.sequence_windows(seq.world, seq.valid, window=20, stride=10,
                                    min_visibility=0.5, motion=True, fps=seq.fps,
                                    image=seq.image, tempo=True)[1]


def test_window_ranges_are_the_mean_key_pose_range_of_the_joints() -> None:
    x = _windows(_curl_then_still())
    names = keypose.feature_names(True, True)
    cols = [names.index(f"rom_{n}_max") for n in (
        "angle_elbow", "angle_shoulder", "angle_hip", "angle_knee", "angle_ankle",
        "tilt_upper_arm", "tilt_forearm", "tilt_thigh", "tilt_shank")]
    r = window_ranges(x, True, True)
    np.testing.assert_allclose(r, x[:, cols].mean(1), rtol=1e-6)
    # windows 0-1 hold curls (the elbow flexes by about 0.6 pi); 4 holds the last pose
    assert r[0] > 0.05 and r[4] == 0.0
    assert np.isnan(window_ranges(np.full((1, len(names)), np.nan), True, True)).all()


def test_pool_motion_weighs_the_windows_by_how_far_the_body_moves() -> None:
    seq = _curl_then_still()
    plain = _tiny(motion=True, tempo=True)
    pooled = _tiny(motion=True, tempo=True, pool_motion=0.05)
    assert plain.pool_motion == 0.0 and pooled.pool_motion == 0.05
    a, b = score_poses(plain, seq), score_poses(pooled, seq)
    # pool_motion 0: the plain mean, bit for bit (the scores of every earlier version)
    assert pool_weights(plain, np.zeros((3, 270))) is None
    assert a.clip.tolist() == a.probs[a.keep].mean(0).tolist()
    np.testing.assert_array_equal(a.probs, b.probs)  # windows are scored alike
    x = _windows(seq)
    r = window_ranges(x, True, True)
    w = r**2 / (r**2 + 0.05**2)
    assert w[-1] == 0.0 and w[0] > 0.5  # the resting window does not count
    np.testing.assert_allclose(pool_weights(pooled, x), w / w.sum())
    np.testing.assert_allclose(b.clip, (w / w.sum()) @ b.probs)
    np.testing.assert_allclose(b.embedding, (w / w.sum()) @ pooled.embed(x))
    assert not np.allclose(a.clip, b.clip)
    # one window (a photo pair) or nothing that moves (a still clip): the plain mean
    pair = _photo_pair()
    assert score_poses(pooled, pair).clip.tolist() == score_poses(plain, pair).clip.tolist()
    still = dataclasses.replace(seq, world=np.repeat(seq.world[:1], len(seq), 0))
    s_still = score_poses(pooled, still)
    assert s_still.clip.tolist() == s_still.probs.mean(0).tolist()


def _photo_pair(exercise: str = "squat"):  # noqa: ANN202 - a PoseSequence
    seq = synthetic_pose_sequence(exercise, seconds=2.0)
    lo, hi = 0, 10  # the two key positions of the generated movement
    return dataclasses.replace(seq, world=seq.world[[lo, hi]], image=seq.image[[lo, hi]],
                               valid=np.ones(2, bool), times=np.zeros(2))


def test_a_photo_pair_is_scored_as_photos_and_as_pseudo_videos() -> None:
    pair = _photo_pair()
    photos_only = _tiny(0.5, motion=True, tempo=True)
    both = _tiny(0.5, motion=True, tempo=True, pair_videos=3)
    photo = score_poses(photos_only, pair)
    _, x, _ = keypose.sequence_windows(pair.world, pair.valid, window=20, stride=10,
                                       min_visibility=both.min_visibility, motion=True,
                                       fps=pair.fps, image=pair.image, tempo=True)
    np.testing.assert_allclose(photo.probs, photos_only.probabilities(x))
    xv = pair_video_windows(both, pair)
    assert xv.shape == (3, keypose.num_features(True, True))
    assert (xv[:, keypose.feature_names(True, True).index("still")] == 0).all()  # videos
    scores = score_poses(both, pair)
    video = both.probabilities(xv).mean(0)
    np.testing.assert_allclose(scores.clip, 0.5 * (photo.clip + video), rtol=1e-12)
    np.testing.assert_allclose(scores.embedding,
                               0.5 * (photo.embedding + both.embed(xv).mean(0)), rtol=1e-12)
    assert not np.allclose(scores.clip, photo.clip)
    # deterministic: the same pair always gets the same scores
    assert score_poses(both, pair).clip.tolist() == scores.clip.tolist()
    # a video (or a pair with a frame without a person) is scored as before
    clip = synthetic_pose_sequence("squat", seconds=5.0)
    np.testing.assert_array_equal(score_poses(both, clip).clip, score_poses(photos_only, clip).clip)
    pair.valid[1] = False
    np.testing.assert_array_equal(score_poses(both, pair).clip, score_poses(photos_only, pair).clip)


def test_a_photo_pair_takes_its_own_number_of_neighbours() -> None:
    pair, clip = _photo_pair(), synthetic_pose_sequence("squat", seconds=5.0)
    k2 = _tiny(0.5)
    pair_k3 = KeyPoseModel({k: getattr(k2, a) for k, a in (
        ("feat_mean", "mean"), ("feat_std", "std"), ("w1", "w1"), ("b1", "b1"), ("w2", "w2"),
        ("b2", "b2"), ("library.embeddings", "library"), ("library.labels", "library_labels"))},
        {**k2.meta, "knn": {**k2.meta["knn"], "pair_k": 3}})
    assert (k2.knn_pair_k, pair_k3.knn_pair_k) == (2, 3)
    _, x, _ = keypose.sequence_windows(pair.world, pair.valid, window=20, stride=10,
                                       min_visibility=k2.min_visibility)
    np.testing.assert_allclose(score_poses(pair_k3, pair).clip, k2.forward(x, 3)[0][0])
    assert not np.allclose(k2.forward(x, 3)[0], k2.forward(x)[0])  # the 3rd neighbour counts
    np.testing.assert_array_equal(score_poses(pair_k3, clip).clip, score_poses(k2, clip).clip)


def test_a_photo_pair_takes_its_own_share_of_the_k_nn_labels() -> None:
    pair, clip = _photo_pair(), synthetic_pose_sequence("squat", seconds=5.0)
    base = _tiny(0.5)
    own = _with_knn(base, pair_weight=0.8)
    assert (base.knn_pair_weight, own.knn_pair_weight, own.knn_weight) == (0.5, 0.8, 0.5)
    _, x, _ = keypose.sequence_windows(pair.world, pair.valid, window=20, stride=10,
                                       min_visibility=base.min_visibility)
    mlp, knn = base.forward(x, knn_weight=0.0)[0][0], base.forward(x, knn_weight=1.0)[0][0]
    k = base.knn_pair_k
    np.testing.assert_allclose(score_poses(base, pair).clip,
                               0.5 * mlp + 0.5 * base.forward(x, k, knn_weight=1.0)[0][0])
    np.testing.assert_allclose(score_poses(own, pair).clip,
                               0.2 * mlp + 0.8 * base.forward(x, k, knn_weight=1.0)[0][0])
    assert not np.allclose(mlp, knn)  # the share matters
    # a video keeps `knn.weight`
    np.testing.assert_array_equal(score_poses(own, clip).clip, score_poses(base, clip).clip)


def _with_knn(model: KeyPoseModel, **knn: float) -> KeyPoseModel:
    """The same weights with other k-NN settings."""
    return KeyPoseModel({k: getattr(model, a) for k, a in (
        ("feat_mean", "mean"), ("feat_std", "std"), ("w1", "w1"), ("b1", "b1"), ("w2", "w2"),
        ("b2", "b2"), ("library.embeddings", "library"), ("library.labels", "library_labels"))},
        {**model.meta, "knn": {**model.meta["knn"], **knn}})


def _nearest_labels(model: KeyPoseModel, query: np.ndarray, k: int) -> np.ndarray:
    """Softmax (temperature 1) over the cosine similarity of the k closest library rows."""
    lib = np.asarray(model.library)
    sim = (query @ lib.T) / (np.linalg.norm(query, axis=1)[:, None] * np.linalg.norm(lib, axis=1))
    top = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    s = np.take_along_axis(sim, top, 1)
    w = np.exp(s - s.max(1, keepdims=True))
    return np.einsum("nk,nkc->nc", w / w.sum(1, keepdims=True), np.eye(3, 20)[top])


def test_knn_context_looks_up_each_window_nearer_its_clip() -> None:
    seq = _curl_then_still()
    alone = _tiny(0.5, motion=True, tempo=True, pool_motion=0.05)
    assert alone.knn_context == 0.0  # older weights: each window alone
    ctx = _with_knn(alone, context=0.4)
    assert ctx.knn_context == 0.4
    a, b = score_poses(alone, seq), score_poses(ctx, seq)
    x = _windows(seq)
    emb, mlp = alone.embed(x), _tiny(0.0, motion=True, tempo=True).probabilities(x)
    w = pool_weights(alone, x)
    assert w is not None and w[-1] == 0.0
    clip_emb = w @ emb  # the clip's embedding, pooled as its score
    # each window: the MLP's half as before, the k-NN half of (0.6 e + 0.4 clip embedding)
    want = 0.5 * mlp + 0.5 * _nearest_labels(alone, 0.6 * emb + 0.4 * clip_emb, 2)
    np.testing.assert_allclose(b.probs, want, rtol=1e-12)
    np.testing.assert_allclose(b.clip, w @ want, rtol=1e-12)
    np.testing.assert_allclose(a.probs, 0.5 * mlp + 0.5 * _nearest_labels(alone, emb, 2),
                               rtol=1e-12)
    np.testing.assert_array_equal(b.embedding, a.embedding)  # "looks like" is the clip's own
    assert not np.allclose(a.clip, b.clip)
    # context 1: every window takes the clip's neighbours
    full = score_poses(_with_knn(alone, context=1.0), seq)
    knn_half = full.probs - 0.5 * mlp
    np.testing.assert_allclose(knn_half, np.repeat(knn_half[:1], len(x), 0), atol=1e-12)
    # no k-NN blend: nothing to look up, the scores are the MLP's
    no_knn = _with_knn(_tiny(0.0, motion=True, tempo=True, pool_motion=0.05), context=0.4)
    np.testing.assert_array_equal(score_poses(no_knn, seq).probs, mlp)


def test_knn_context_of_a_photo_pair_is_the_mean_of_its_two_forms() -> None:
    pair = _photo_pair()
    alone = _tiny(0.5, motion=True, tempo=True, pair_videos=3)
    ctx = _with_knn(alone, context=0.5)
    _, x, _ = keypose.sequence_windows(pair.world, pair.valid, window=20, stride=10,
                                       min_visibility=alone.min_visibility, motion=True,
                                       fps=pair.fps, image=pair.image, tempo=True)
    xv = pair_video_windows(alone, pair)
    both = 0.5 * (alone.embed(x)[0] + alone.embed(xv).mean(0))
    mlp = _tiny(0.0, motion=True, tempo=True)
    photo = 0.5 * mlp.probabilities(x) + 0.5 * _nearest_labels(
        alone, 0.5 * alone.embed(x) + 0.5 * both, 2)
    video = 0.5 * mlp.probabilities(xv) + 0.5 * _nearest_labels(
        alone, 0.5 * alone.embed(xv) + 0.5 * both, 2)
    scores = score_poses(ctx, pair)
    np.testing.assert_allclose(scores.clip, 0.5 * (photo[0] + video.mean(0)), rtol=1e-12)
    np.testing.assert_array_equal(scores.embedding, score_poses(alone, pair).embedding)


def test_metadata_checks(tmp_path: Path) -> None:
    weights = WEIGHTS_DIR / "default.safetensors"
    meta = checked_meta(weights, weights.with_suffix(".json"))
    assert meta["input"] == "keypose" and len(meta["sha256"]) == 64
    copy = tmp_path / "m.safetensors"
    copy.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    copy.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="checksum mismatch"):
        KeyPoseModel.load(copy)
    copy.write_bytes(weights.read_bytes())
    copy.with_suffix(".json").write_text(json.dumps({**meta, "input": "pose"}))
    with pytest.raises(ConfigError, match="predict needs a keypose model"):
        KeyPoseModel.load(copy)
    copy.with_suffix(".json").write_text("[1]")
    with pytest.raises(ConfigError, match="not a JSON object"):
        KeyPoseModel.load(copy)


def test_the_module_imports_no_torch() -> None:
    code = ("import sys, musclemap.pose.keypose_model, musclemap.inference\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_sequence_of_another_layout_is_refused_in_one_line() -> None:
    from musclemap.skeleton import COCO17

    seq = synthetic_pose_sequence("squat", seconds=3.0).to_layout(COCO17)
    with pytest.raises(ConfigError, match="reads mediapipe33 poses, got coco17"):
        score_poses(_tiny(), seq)


def _with_domains(model: KeyPoseModel, mode: str, **extra: np.ndarray) -> KeyPoseModel:
    """The same weights with label-domain tensors (`keypose_mlp`'s `label_domains`)."""
    return KeyPoseModel({**{k: getattr(model, a) for k, a in (
        ("feat_mean", "mean"), ("feat_std", "std"), ("w1", "w1"), ("b1", "b1"), ("w2", "w2"),
        ("b2", "b2"), ("library.embeddings", "library"), ("library.labels", "library_labels"))},
        **extra}, {**model.meta, "kwargs": {"label_domains": mode}})


def test_label_domains_answer_a_video_in_the_wild_and_photos_in_the_library_convention() -> None:
    """A model with label domains scores a video with the shared output and the library's
    first labels (exactly as the same weights without domains), a photo pair with the library
    domain's output (here a bias) and k-NN labels (`library.domain_labels`)."""
    base = _tiny(0.5)
    rng = np.random.default_rng(3)
    bias = rng.normal(0, 1, (1, 2, 20))
    lib_labels = np.eye(3, 20)[None, :, ::-1].copy()  # the other convention: groups reversed
    dom = _with_domains(base, "bias", domain_b2=bias, **{"library.domain_labels": lib_labels})
    clip, pair = synthetic_pose_sequence("squat", seconds=5.0), _photo_pair()
    np.testing.assert_array_equal(score_poses(dom, clip).clip, score_poses(base, clip).clip)
    _, x, _ = keypose.sequence_windows(pair.world, pair.valid, window=20, stride=10,
                                       min_visibility=base.min_visibility)
    h = dom._hidden(x)
    logits = np.mean([h[m] @ dom.w2[m] + dom.b2[m] + bias[0, m] for m in range(2)], axis=0)
    sim = dom._similarity(dom.embed(x))
    top = np.argsort(-sim, axis=1, kind="stable")[:, :2]
    s = np.take_along_axis(sim, top, 1)
    w = np.exp(s - s.max(1, keepdims=True))
    knn = np.einsum("nk,nkc->nc", w / w.sum(1, keepdims=True), lib_labels[0][top])
    want = 0.5 / (1 + np.exp(-logits)) + 0.5 * knn
    np.testing.assert_allclose(score_poses(dom, pair).clip, want[0], rtol=1e-12)
    assert not np.allclose(score_poses(dom, pair).clip, score_poses(base, pair).clip)
    # weights without domains ignore the domain asked for: older weights score as before
    np.testing.assert_array_equal(base.forward(x, domain=1)[0], base.forward(x)[0])
    with pytest.raises(ConfigError, match="label domains"):
        _with_domains(base, "head")


def test_the_packaged_weights_have_one_output() -> None:
    """The shipped weights load with one output for photos and videos alike (label domains
    measured, not shipped); without per-domain k-NN labels both are scored bit for bit as
    before the option existed, with them (version 10) a photo pair reads its own set."""
    model = KeyPoseModel.load(WEIGHTS_DIR / "default.safetensors")
    x = model_windows_of(model, _photo_pair())
    assert model.label_domains == "none" and model.domain_b2 is None
    np.testing.assert_array_equal(model.head_probabilities(x, 1), model.head_probabilities(x))
    if model.domain_labels is None:
        for a, b in zip(model.forward(x, domain=1), model.forward(x), strict=True):
            np.testing.assert_array_equal(a, b)
    else:
        assert model.domain_labels.shape == (1, *np.shape(model.library_labels))


def model_windows_of(model: KeyPoseModel, seq):  # noqa: ANN001, ANN201 - a PoseSequence
    from musclemap.pose.keypose_model import model_windows

    return model_windows(model, seq.world, seq.valid, fps=seq.fps, image=seq.image)[1]


def test_library_labels_per_domain_need_no_second_output() -> None:
    """k-NN library labels per domain (`knn.domain_labels` "exercise") on a model with one
    output: a video blends the first labels (as before), a photo pair the library's."""
    base = _tiny(0.5)
    lib_labels = np.eye(3, 20)[None, :, ::-1].copy()
    dom = _with_domains(base, "none", **{"library.domain_labels": lib_labels})
    clip, pair = synthetic_pose_sequence("squat", seconds=5.0), _photo_pair()
    np.testing.assert_array_equal(score_poses(dom, clip).clip, score_poses(base, clip).clip)
    _, x, _ = keypose.sequence_windows(pair.world, pair.valid, window=20, stride=10,
                                       min_visibility=base.min_visibility)
    mlp = base.head_probabilities(x)
    own, other = base.forward(x)[0] - 0.5 * mlp, dom.forward(x, domain=1)[0] - 0.5 * mlp
    np.testing.assert_allclose(own[:, ::-1], other, atol=1e-12)  # the same neighbours' labels
    np.testing.assert_allclose(score_poses(dom, pair).clip, dom.forward(x, domain=1)[0][0])
