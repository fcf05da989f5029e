"""Train and measure the orientation gate (`musclemap.pose.orientation`) on the wild clips.

    .venv/bin/python benchmarks/orientation_gate.py --poses runs/wild_poses \
        [--library-poses runs/keyposes_poses] [--rotated DIR] [--write] [--work DIR] \
        [--grid-weight W]

- `--poses`: the wild clips' pose files (`musclemap data poses ../shared/data/wild/manifest.csv
  --out runs/wild_poses`), upright as filmed. Their four quarter turns are made by turning the
  landmarks (MediaPipe is rotation-equivariant, see the module docstring) and three frames of
  each clip are decoded and turned in pixels.
- `--library-poses`: key-pose photo poses, extra upright examples for the pose scorer.
- Cross-validation: 5 folds grouped by exercise (no exercise in both train and test); for each
  margin: upright clips flagged (false alarms) and turned ones detected / turned back right; for
  each margin and doubt (the lead over no turn above which a turn not taken is said: state
  `uncertain`) the clips marked uncertain per true turn, and the turned ones covered (turned
  back or uncertain). The doubt kept is the largest whose cover is >= 95% at the margin kept.
- `--rotated DIR`: pose files `<stem>_k<k>.npz` extracted by MediaPipe from the frames turned by
  np.rot90(k) in pixels (`--make-rotated N` writes the missing ones for the first N clips of the
  manifest, MediaPipe through `quality.RotatedEstimator`); each is judged (at the margin and
  doubt kept) by the fold model that did not see its exercise, and the turned-back prediction is
  compared with the upright one.
- `--grid-weight`: of the frame (grid) scorer's logit in the sum (default 1; 0: the pose
  scorer alone, no frame scorer trained or written). The shipped weights have none: the grid
  had learnt the scenes of the clips' sources (`benchmarks/orientation_scene.py`).
- `--write`: trains on everything and writes `src/musclemap/weights/orientation.*` (the margin
  and doubt kept in its .json). That file then has no scene model: add it back with
  `benchmarks/orientation_scene.py --write`.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared")) / "data" / "wild"
HIDDEN, ALPHA = 32, 1.0
MARGINS = (0.0, 2.0, 4.0, 5.0, 6.0, 7.0, 8.0)
DOUBTS = (-2.0, -1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
COVER = 0.95  # turned clips turned back or said uncertain


def clip_features(poses: Path, manifest: Path, work: Path) -> dict[str, np.ndarray]:
    """Pose features (4, F), frame features (4, F) and the person's share of the frame
    (`orientation.person_area`) per wild clip (cached in `work`; a cache of older pose features
    gets its pose features and areas computed again, its frame features kept)."""
    from musclemap.data.pose_sequence import load_pose_file
    from musclemap.pose import orientation as ori
    from musclemap.pose.quality import decode_frames, frame_picks

    cached = work / "wild_features.npz"
    if cached.is_file():
        feats = dict(np.load(cached))
        if feats["pose"].shape[-1] != ori.NUM_POSE_FEATURES or "area" not in feats:
            seqs = [load_pose_file(poses / f"{stem}.npz") for stem in feats["stem"]]
            feats["pose"] = np.array([ori.turned_pose_features(q) for q in seqs])
            feats["area"] = np.array([ori.person_area(q) for q in seqs], np.float64)
            np.savez(cached, **feats)  # type: ignore[arg-type]
        return feats
    rows = list(csv.DictReader(manifest.open()))
    out: dict[str, list[object]] = {"stem": [], "activity": [], "pose": [], "frame": [],
                                    "area": []}  # fmt: skip
    for r in rows:
        stem = Path(r["clip"]).stem
        f = poses / f"{stem}.npz"
        if not f.is_file():
            continue
        seq = load_pose_file(f)
        pose = ori.turned_pose_features(seq)
        frames = decode_frames(manifest.parent / r["clip"], seq, frame_picks(seq))
        thumbs = [ori.thumbnail(f) for f in frames.values()]
        image = ori.turned_grid_features(thumbs) if thumbs else None
        if pose is None or image is None:
            print(f"  {stem}: no measurable body, left out")
            continue
        for key, value in (("stem", stem), ("activity", r["activity"]), ("pose", pose),
                           ("frame", image), ("area", ori.person_area(seq))):  # fmt: skip
            out[key].append(value)
    arrays = {k: np.array(v) for k, v in out.items()}
    work.mkdir(parents=True, exist_ok=True)
    np.savez(cached, **arrays)  # type: ignore[arg-type]
    return arrays


def library_features(folder: Path | None) -> np.ndarray:
    from musclemap.data.pose_sequence import load_pose_file
    from musclemap.pose import orientation as ori

    if folder is None:
        return np.zeros((0, 4, ori.NUM_POSE_FEATURES))
    rows = [ori.turned_pose_features(load_pose_file(f)) for f in sorted(folder.glob("*.npz"))]
    return np.array([r for r in rows if r is not None])


def fit(x4: np.ndarray) -> object:
    """An upright-vs-turned MLP on (N, 4, F) features (turn 0 upright)."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.nan_to_num(x4.reshape(-1, x4.shape[-1]))
    y = np.tile([1, 0, 0, 0], len(x4))
    model = make_pipeline(
        StandardScaler(), MLPClassifier((HIDDEN,), alpha=ALPHA, max_iter=3000, random_state=0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(x, y)


def to_mlp(model: object) -> dict[str, np.ndarray]:
    scaler, mlp = model.steps[0][1], model.steps[1][1]  # type: ignore[attr-defined]
    return {
        "mean": scaler.mean_, "std": scaler.scale_, "w1": mlp.coefs_[0],
        "b1": mlp.intercepts_[0], "w2": mlp.coefs_[1], "b2": mlp.intercepts_[1],
    }  # fmt: skip


def as_model(pose: object, frame: object | None, margin: float, grid_weight: float = 1.0) -> object:
    """An `OrientationModel` of fitted scorers, no scene model (`frame` None: no frame scorer)."""
    from musclemap.pose.orientation import Mlp, OrientationModel

    meta = {"margin": margin, "doubt": margin}
    grid = None if frame is None else Mlp(**to_mlp(frame))
    return OrientationModel(
        Mlp(**to_mlp(pose)), grid, margin, margin, meta, frame_weight=grid_weight
    )


def with_scene_column(grid: np.ndarray) -> np.ndarray:
    """Cached grid features (4, NUM_GRID_FEATURES) as `turned_frame_features` lays them out for
    a model with a frame scorer and no scene model (a scene score of 0 last)."""
    return np.concatenate([grid, np.zeros((len(grid), 1))], axis=1)


def judge(scores: np.ndarray, margin: float, doubt: float) -> dict[int, tuple[str, bool]]:
    """Per true turn t of the input: (state `decide` gives, its turn (turned back, or the
    candidate of an uncertain one) right). scores[k] is how upright the upright video turned by k
    looks, so the input turned by t scores turn r as scores[t + r]."""
    from musclemap.pose.orientation import decide

    out = {}
    for t in range(4):
        c = np.array([scores[(t + r) % 4] for r in range(4)])
        o = decide(c, margin, doubt=doubt, checked="")
        turn = o.quarter_turns or o.candidate
        out[t] = (o.state, turn != 0 and (t + turn) % 4 == 0)
    return out


def count(judged: list[dict[int, tuple[str, bool]]]) -> dict[str, object]:
    """Counts over clips: flagged upright ones, turns detected / turned back right / said
    uncertain per true turn, upright ones said uncertain, and turned ones covered."""
    n = len(judged)
    state = {t: [x[t][0] for x in judged] for t in range(4)}
    turned = sum(s == "turned" for t in (1, 2, 3) for s in state[t])
    unsure = sum(s == "uncertain" for t in (1, 2, 3) for s in state[t])
    return {
        "false_alarms": state[0].count("turned"),
        "detected": {90 * t: state[t].count("turned") for t in (1, 2, 3)},
        "turned_back_right": {
            90 * t: sum(x[t] == ("turned", True) for x in judged) for t in (1, 2, 3)
        },
        "uncertain": {90 * t: state[t].count("uncertain") for t in range(4)},
        "uncertain_right_turn": sum(x[t] == ("uncertain", True) for x in judged for t in (1, 2, 3)),
        "covered": f"{turned + unsure}/{3 * n}",
        "clips": n,
    }


def table(scores: np.ndarray, doubts: tuple[float, ...] = (np.inf,)) -> list[dict[str, object]]:
    """One row per margin and doubt (the default: doubt = margin, no uncertain state)."""
    rows: list[dict[str, object]] = []
    for m in MARGINS:
        for d in doubts:
            if np.isfinite(d) and d > m:
                continue
            head = {"margin": m} if not np.isfinite(d) else {"margin": m, "doubt": min(d, m)}
            rows.append(head | count([judge(s, m, min(d, m)) for s in scores]))
    return rows


def pick_doubt(scores: np.ndarray, margin: float) -> float:
    """The largest doubt (fewest upright clips said uncertain) whose turned clips are turned
    back or said uncertain in >= COVER of cases (the smallest doubt tried otherwise)."""
    for d in sorted(DOUBTS, reverse=True):
        turned, total = count([judge(s, margin, d) for s in scores])["covered"].split("/")  # type: ignore[attr-defined]
        if int(turned) >= COVER * int(total):
            return d
    return min(DOUBTS)


def cross_validate(
    feats: dict[str, np.ndarray], library: np.ndarray, grid_weight: float = 1.0
) -> tuple[np.ndarray, list[tuple[np.ndarray, object]]]:
    from sklearn.model_selection import GroupKFold

    scores = np.zeros((len(feats["stem"]), 4))
    folds = []
    for tr, te in GroupKFold(5).split(feats["pose"], groups=feats["activity"]):
        pose = fit(np.concatenate([feats["pose"][tr], library]))
        frame = fit(feats["frame"][tr]) if grid_weight else None
        model = as_model(pose, frame, 0.0, grid_weight)
        for i in te:
            frames = with_scene_column(feats["frame"][i]) if grid_weight else np.zeros((4, 1))
            scores[i] = model.scores(feats["pose"][i], frames)  # type: ignore[attr-defined]
        folds.append((te, model))
    return scores, folds


def rotated_check(
    feats: dict[str, np.ndarray], folds: list[tuple[np.ndarray, object]], rotated: Path,
    manifest: Path, margin: float, doubt: float,
) -> dict[str, object]:  # fmt: skip
    """MediaPipe on frames turned in pixels, judged by the fold model blind to the exercise."""
    from musclemap.data.pose_sequence import load_pose_file
    from musclemap.pose import orientation as ori
    from musclemap.pose.quality import decode_frames, frame_picks
    from musclemap.predictor import Predictor

    predictor = Predictor.default()
    fold_of = {int(i): m for te, m in folds for i in te}
    clips = {Path(r["clip"]).stem: r["clip"] for r in csv.DictReader(manifest.open())}
    counts: dict[str, object] = {"clips": 0, "false_alarms": 0, "detected": [0, 0, 0],
                                 "right": [0, 0, 0], "uncertain": [0, 0, 0, 0],
                                 "uncertain_right_turn": 0}  # fmt: skip
    deltas: list[float] = []
    for i, stem in enumerate(feats["stem"]):
        files = [rotated / f"{stem}_k{k}.npz" for k in range(4)]
        if not all(f.is_file() for f in files):
            continue
        model = fold_of[i]
        model.margin, model.doubt = margin, doubt  # type: ignore[attr-defined]
        up = load_pose_file(files[0])
        video = manifest.parent / clips[str(stem)]
        frames = list(decode_frames(video, up, frame_picks(up)).values())
        ref = predictor.predict_poses(up).scores_array() if up.valid.sum() >= 10 else None
        counts["clips"] += 1  # type: ignore[operator]
        for k in range(4):
            seq = load_pose_file(files[k])
            turned = ori.turned_frame_features([np.rot90(f, k) for f in frames], model=model)  # type: ignore[arg-type]
            o = ori.estimate_orientation(seq, frame_features=turned, model=model)  # type: ignore[arg-type]
            counts["uncertain"][k] += int(o.state == "uncertain")  # type: ignore[index]
            if k and o.state == "uncertain" and (k + o.candidate) % 4 == 0:
                counts["uncertain_right_turn"] += 1  # type: ignore[operator]
            if k == 0:
                counts["false_alarms"] += int(o.quarter_turns != 0)  # type: ignore[operator]
                continue
            counts["detected"][k - 1] += int(o.quarter_turns != 0)  # type: ignore[index]
            right = (k + o.quarter_turns) % 4 == 0 and o.quarter_turns != 0
            counts["right"][k - 1] += int(right)  # type: ignore[index]
            if right and ref is not None:
                back = predictor.predict_poses(ori.turn_sequence(seq, o.quarter_turns))
                deltas.append(float(np.abs(back.scores_array() - ref).max()))
    covered = sum(counts["detected"]) + sum(counts["uncertain"][1:])  # type: ignore[call-overload, index]
    counts["covered"] = f"{covered}/{3 * counts['clips']}"  # type: ignore[operator]
    if deltas:
        counts["turned_back_max_abs_delta"] = {
            "median": round(float(np.median(deltas)), 3),
            "p90": round(float(np.quantile(deltas, 0.9)), 3),
            "max": round(max(deltas), 3),
        }
    return counts


def make_rotated(manifest: Path, folder: Path, count: int, tracker: str = "mediapipe_g4") -> None:
    """Poses of the first `count` clips with their frames turned by 0/90/180/270 degrees,
    tracked by `tracker` (default: the one the shipped muscle model tracks with)."""
    from musclemap.data.pose_sequence import save_pose_file
    from musclemap.pose.estimator import ESTIMATORS
    from musclemap.pose.extract import extract_poses
    from musclemap.pose.quality import RotatedEstimator

    folder.mkdir(parents=True, exist_ok=True)
    estimator = ESTIMATORS[tracker]()
    for r in list(csv.DictReader(manifest.open()))[:count]:
        for k in range(4):
            out = folder / f"{Path(r['clip']).stem}_k{k}.npz"
            if out.is_file():
                continue
            seq = extract_poses(
                manifest.parent / r["clip"],
                fps=10.0,
                estimator=RotatedEstimator(estimator, k),
                workers=1,
                use_cache=False,
            )
            if k % 2:  # the display size of the turned frames
                seq.width, seq.height = seq.height, seq.width
            save_pose_file(seq, out)
    estimator.close()


def write_weights(feats: dict[str, np.ndarray], library: np.ndarray, margin: float,
                  doubt: float, cv: list[dict[str, object]], grid_weight: float = 1.0,
                  ) -> Path:  # fmt: skip
    from safetensors.numpy import save_file

    from musclemap.pose.orientation import WEIGHTS

    pose = fit(np.concatenate([feats["pose"], library]))
    tensors = {f"pose.{k}": np.ascontiguousarray(v, np.float32) for k, v in to_mlp(pose).items()}
    if grid_weight:
        frame = to_mlp(fit(feats["frame"]))
        tensors |= {f"frame.{k}": np.ascontiguousarray(v, np.float32) for k, v in frame.items()}
    save_file(tensors, str(WEIGHTS))
    meta = {
        "name": "orientation_mlp", "margin": margin, "doubt": doubt, "hidden": HIDDEN,
        "alpha": ALPHA, "frame_weight": grid_weight,
        "trained_on": {"wild_clips": int(len(feats["stem"])), "library_photos": len(library)},
        "cross_validation": [r for r in cv if r["margin"] == margin and r["doubt"] == doubt],
        "sha256": hashlib.sha256(WEIGHTS.read_bytes()).hexdigest(),
    }  # fmt: skip
    WEIGHTS.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    return WEIGHTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, default=SHARED / "manifest.csv")
    parser.add_argument("--library-poses", type=Path)
    parser.add_argument("--rotated", type=Path)
    parser.add_argument("--make-rotated", type=int, default=0, metavar="N")
    parser.add_argument("--pose-estimator", default="mediapipe_g4", help="of --make-rotated")
    parser.add_argument("--work", type=Path, default=Path("/tmp/musclemap-orientation"))
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--grid-weight", type=float, default=1.0, help="of the frame scorer")
    args = parser.parse_args()
    feats = clip_features(args.poses, args.manifest, args.work)
    library = library_features(args.library_poses)
    print(f"{len(feats['stem'])} wild clips, {len(library)} library photo pairs")
    scores, folds = cross_validate(feats, library, args.grid_weight)
    cv = table(scores)
    for row in cv:
        print(json.dumps(row))
    n = len(scores)
    margin = next((float(r["margin"]) for r in cv if int(r["false_alarms"]) <= n // 100), 8.0)  # type: ignore[call-overload]
    print(f"margin {margin} (the smallest with false alarms <= 1% of clips)")
    pairs = table(scores, DOUBTS)
    for row in pairs:
        print(json.dumps(row))
    doubt = pick_doubt(scores, margin)
    print(f"doubt {doubt} (the largest with >= {COVER:.0%} of turns turned back or uncertain)")
    result: dict[str, object] = {
        "cross_validation": cv, "margin": margin, "uncertain": pairs, "doubt": doubt,
    }  # fmt: skip
    if args.rotated and args.make_rotated:
        make_rotated(args.manifest, args.rotated, args.make_rotated, args.pose_estimator)
    if args.rotated:
        result["pixels_turned"] = rotated_check(
            feats, folds, args.rotated, args.manifest, margin, doubt
        )
        print("pixels turned:", json.dumps(result["pixels_turned"]))
    if args.write:
        print("wrote", write_weights(feats, library, margin, doubt, pairs, args.grid_weight))
    (args.work / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
