"""The model card (Markdown) of a trained predict model, written from its metadata."""

from __future__ import annotations

from typing import Any


def fmt_mean_std(v: list[float] | None) -> str:
    return "n/a" if v is None else f"{v[0]:.3f} ± {v[1]:.3f}"


def _method_rows(cv: dict[str, Any], part: str) -> list[str]:
    """One table row per method: (a) clips, (b) clips, key poses and all; `part` is "select"
    (the selection seed) or "report" (the report seeds)."""
    rows = []
    for m, a in cv.get("new_footage", {}).items():
        b = cv.get("new_exercises", {}).get(m, {})
        cells = [a.get(f"{part}_clips"), *(b.get(f"{part}_{k}") for k in ("clips", "keyposes",
                                                                           "all"))]
        rows.append(f"| {m} | " + " | ".join(fmt_mean_std(c) for c in cells) + " |")
    return rows


def _training(meta: dict[str, Any]) -> str:
    """The training copies of the items, from the config in the metadata ("" without it)."""
    pd = meta.get("config", {}).get("pose_default", {})
    if not pd:
        return ""
    text = (f"\n- **Training copies**: {pd.get('augment_copies', 0)} per item (camera pitch "
            "±10°")
    if pd.get("occlusion") == "missing":
        text += ("; with probability 0.5 one limb of one side missing, its side's features "
                 "taken from the other side")
    text += ")"
    videos = pd.get("keypose_videos", 0)
    if videos:
        text += (f"; each key-pose photo pair also as {videos} pseudo-videos (the body moving "
                 "back and forth between its two photos, `pose_windows.keypose_video`), so its "
                 "labels are learnt in a video's form too")
    mirrored = [what for what, key in (("clip", "clip_mirror"), ("key-pose photo pair",
                                                                     "keypose_mirror"))
                if pd.get(key)]
    if mirrored:
        text += (f"; each {' and each '.join(mirrored)} is learnt a second time from the poses "
                 "of its mirror image, mapped back (`data poses --mirror`: MediaPipe is not "
                 "mirror-equivariant, so they are a second estimate of the same movement), "
                 "with copies of its own")
    return text + "."


def _tempo(meta: dict[str, Any]) -> str:
    if not meta.get("tempo"):
        return ""
    text = (", and in a video how the joints move (which way fast, where they dwell; 0 for "
            "photos")
    if meta.get("still_range"):
        text += (f"; faded to 0 for a joint whose range is below about {meta['still_range']:g} "
                 "(units of pi or torso lengths), where they would measure only the pose "
                 "estimator's noise")
    return text + ")"


def _pooling(meta: dict[str, Any]) -> str:
    """How a video's windows are pooled: the plain mean, or weighted by how far the body moves."""
    if not meta.get("pool_motion"):
        return "A video's score is the mean over its windows with a person."
    return ("A video's score is the mean over its windows with a person, each weighted by "
            f"r² / (r² + {meta['pool_motion']:g}²), r how far its joints move between its key "
            "poses in units of pi (still windows, such as setting up or resting, count less).")


def _pair_scoring(meta: dict[str, Any]) -> str:
    """How a photo pair is scored, when not as one plain window ("" otherwise)."""
    videos, pair_k = meta.get("pair_videos", 0), meta.get("knn", {}).get("pair_k", 0)
    parts = []
    if videos:
        parts.append(f"the mean of its photos' scores and of {videos} pseudo-videos of the "
                     "movement between them (the form training also learns it in)")
    if pair_k:
        parts.append(f"its k-NN blend takes {pair_k} neighbours (one window, where a video "
                     "averages many)")
    return f" A key-position photo pair's score is {'; '.join(parts)}." if parts else ""


def _knn_context(meta: dict[str, Any]) -> str:
    """Whether a window's k-NN neighbours are looked up in its clip's context ("" if not)."""
    c = meta.get("knn", {}).get("context", 0.0)
    if not c:
        return ""
    return (f" A window's k-NN neighbours are those of its embedding moved {c:g} of the way "
            "towards its clip's (the pooled embedding; a photo pair's, the mean of its two forms).")


_DOMAIN_LABELS = {
    "exercise": ("a video's k-NN blend reads a key-pose library entry's labels in the wild clips' "
                 "convention where training has wild clips of its exercise (the mean of their "
                 "labels), a photo pair's the entry's own labels"),
    "exercise_both": ("a video's k-NN blend reads a key-pose entry's labels in the wild clips' "
                      "convention where training has wild clips of its exercise, a photo pair's "
                      "a clip's entry in the key poses' convention where it has key poses of it"),
    "translate": ("each k-NN library entry's labels are shifted by the difference between the "
                  "two outputs on its windows for the other convention"),
}


def _label_domains(meta: dict[str, Any]) -> str:
    """Which output and which k-NN labels answer a video and a photo pair ("" when both are
    the same for both)."""
    mode = meta.get("kwargs", {}).get("label_domains", "none")
    labels = meta.get("knn", {}).get("domain_labels", "own")
    text = ""
    if mode != "none":
        how = {"bias": "a per-member bias on the shared output layer",
               "head": "its own output layer",
               "residual": "the shared output layer plus a residual layer"}[mode]
        text += (" The two label conventions of the training data (the wild clips' and the "
                 "key-pose library's, the Free Exercise DB's muscles through the vocabulary) "
                 f"have one output each on the shared hidden layer (the library's: {how}): a "
                 "video is scored with the wild clips' output, a key-position photo pair with "
                 "the library's, and in protocol (b) the held-out photo pairs are scored against "
                 "their own (library) labels.")
    if labels != "own":
        text += (" Label conventions (the wild clips' and the key-pose library's): "
                 f"{_DOMAIN_LABELS[labels]} (`knn.domain_labels: {labels}`).")
    return text


def _forest(meta: dict[str, Any]) -> str:
    """The forest blended in (`pose_default.forest`), when the model has one."""
    f = meta.get("forest", {})
    if not f.get("weight", 0):
        return ""
    return (f"\n- **Forest**: extra-trees ({f['trees']} trees, at least {f['min_leaf']} windows "
            f"per leaf, {f['max_features']:g} of the features drawn at each split) on the same "
            f"windows and copies as the MLP; a window's probabilities are (1 - {f['weight']:g}) "
            f"x those of the MLP and its k-NN labels + {f['weight']:g} x the forest's "
            "(`musclemap.pose.forest`: trained with scikit-learn, walked with numpy at predict "
            "time).")


def model_card(meta: dict[str, Any]) -> str:
    """The model card (Markdown) of a trained default model, from its metadata."""
    cv, data, proto = meta.get("cv", {}), meta["trained_on"], meta["protocol"]
    seeds = proto["seeds"]
    rep = seeds[1:] or seeds[:1]
    lines, sel = _method_rows(cv, "report"), _method_rows(cv, "select")
    clip_rows = "\n".join(
        f"| {r['clip']} | {', '.join(r['truth'])} | "
        f"{', '.join(f'{g} {p:.2f}' for g, p in r['top'])} | "
        f"{r['truth_on_top']}/{len(r['truth'])} | {r['ap']:.2f} |"
        for r in meta.get("clip_table", [])
    )
    training, forest = _training(meta), _forest(meta)
    header = ("| method | (a) new footage: clips | (b) new exercises: clips | (b) key poses | "
              "(b) all |\n|---|---|---|---|---|")
    return f"""# musclemap default model: {meta["name"]} v{meta["version"]}

Maps MediaPipe Pose landmarks to probabilities of the 20 muscle groups through the two key
poses of each window's dominant movement ({meta["window"]} frames at {meta["fps"]:g} fps,
stride {meta["stride"]}; two key-position photos are one window).
{_pooling(meta)}{_pair_scoring(meta)}{_knn_context(meta)}{_label_domains(meta)} Written by
`musclemap train configs/predict_default.yaml`.

- **Weights**: `default.safetensors`, {meta["size_bytes"]} bytes, SHA-256
  `{meta["sha256"]}` (checked at load time); numpy inference (no torch at predict time).
- **Input**: {len(meta["features"])} key-pose features (`musclemap.pose.keypose`): both poses'
  joint angles, segment inclination against gravity, limb directions in the torso frame and
  heights, their difference (range of motion){_tempo(meta)}; mirror- and yaw-invariant; joints with
  visibility < {meta["min_visibility"]} count as missing.
- **Threshold** for "active": {meta["threshold"]:.2f}, maximising micro-F1 on the out-of-fold
  scores of protocol (a), seed {seeds[0]}.
- **Data**: {data["clips"]} video clips ({data["manifest"]}) and {data["keyposes"]} key-pose
  photo pairs ({data["library_manifest"] or "none"}), {data["exercises"]} exercise groups.
  Labels are per exercise (primary and secondary movers), not per person or repetition.{training}
- **Looks like**: {len(meta["library"]["names"])} library exercises (one embedding each, the
  mean of the model's hidden activations over its windows), top 3 by cosine similarity.{forest}

## Evaluation

Protocols (`musclemap.engine.keypose_cv`), {proto["folds"]} folds each, mAP
(`average_precision_map`, macro over groups with a positive) of clip scores computed by
`score_poses`, the function `predict` uses:

- **(a) new footage of known exercises**: wild clips in folds grouped by source (presenter,
  camera, set); key poses always in training. Scored on the held-out clips.
- **(b) new exercises**: wild clips and key poses in folds of whole exercises (the same
  exercise in both sets is one group). Scored on held-out clips, key poses and both.
- Baselines on the same folds: `random`, `all_ones`, and `extra_trees` (the issue's 58 clip
  features + extra-trees, trained on the training clips).

Report: mean ± std over the folds of seeds {rep} (choices were made on seed {seeds[0]}):

{header}
{chr(10).join(lines)}

Selection seed {seeds[0]} (what the choices were made on):

{header}
{chr(10).join(sel)}

### Clip by clip, protocol (a), seed {seeds[-1]}

Top groups (as many as the truth has) of each held-out clip; "on top": truth groups among them;
AP: average precision of the clip's ranking of the 20 groups.

| clip | truth | top predicted | on top | AP |
|---|---|---|---|---|
{clip_rows}

## Intended use and limits

For exploring which muscle groups an exercise video mainly works: coaching, teaching, app
prototypes. Not a medical device; it does not measure activation (no EMG), effort or form.
Labels are exercise-level, so the model answers "which groups does an exercise like this work";
it cannot tell a light from a heavy load, and the pose carries no equipment: a cable pushdown
and a band pushdown look alike. Expect errors with several people in view (only the most
prominent is followed), bodies partly out of frame, and unusual camera angles.
"""
