"""Would richer frame features or the key-pose photos make the orientation gate's frame scorer
better? Cross-validated the way `orientation_gate.py` does it (5 folds grouped by exercise).

    .venv/bin/python benchmarks/orientation_frame_variants.py --poses runs/wild_poses \
        [--library-poses runs/keyposes_poses] [--keyposes ../shared/data/keyposes] [--work DIR]

Per variant of the frame features (`grid4`: the shipped 4x4 grid of brightness, colourfulness,
edges and edge direction; `grid8`: the same on 8x8; `signed`: grid4 plus the signed vertical
brightness gradient, light from above; `profile`: grid4 plus 8x8 brightness and signed
gradient and row profiles of brightness and edges), with and without the key-pose photos as
extra upright examples, and two L2 strengths: the share of the 180 clips whose four turns the
frame scorer alone ranks upright first, and the same for the summed pose + frame score (the
pose scorer as shipped, fold by fold). Thumbnails (96x96; three frames per clip, two photos per
exercise) are cached in `--work`.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import orientation_gate as gate  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared")) / "data"
VARIANTS = ("grid4", "grid8", "signed", "profile")


def thumbnails(poses: Path, manifest: Path, keyposes: Path, work: Path) -> dict[str, np.ndarray]:
    import cv2

    from musclemap.data.pose_sequence import load_pose_file
    from musclemap.pose.quality import decode_frames, frame_picks

    cached = work / "thumbnails.npz"
    if cached.is_file():
        return dict(np.load(cached))
    small = lambda f: cv2.resize(f, (96, 96), interpolation=cv2.INTER_AREA)  # noqa: E731
    wild, stems, acts = [], [], []
    for r in csv.DictReader(manifest.open()):
        stem = Path(r["clip"]).stem
        seq = load_pose_file(poses / f"{stem}.npz")
        frames = [small(f) for f in decode_frames(manifest.parent / r["clip"], seq,
                                                  frame_picks(seq)).values()]  # fmt: skip
        if not frames:
            continue
        wild.append(np.stack((frames * 3)[:3]))
        stems.append(stem)
        acts.append(r["activity"])
    photos = []
    for folder in sorted((keyposes / "images").iterdir()):
        images = [cv2.imread(str(p)) for p in sorted(folder.glob("*.jpg"))]
        images = [cv2.cvtColor(i, cv2.COLOR_BGR2RGB) for i in images if i is not None]
        if len(images) >= 2:
            photos.append(np.stack([small(i) for i in images[:2]]))
    out = {"wild": np.array(wild), "stem": np.array(stems), "activity": np.array(acts),
           "photos": np.array(photos)}  # fmt: skip
    work.mkdir(parents=True, exist_ok=True)
    np.savez(cached, **out)  # type: ignore[arg-type]
    return out


def features(thumb: np.ndarray, kind: str) -> np.ndarray:
    import cv2

    def grid(a: np.ndarray, g: int) -> np.ndarray:
        c = cv2.resize(np.ascontiguousarray(a, np.float32), (g, g), interpolation=cv2.INTER_AREA)
        return ((c - c.mean()) / (c.std() + 1e-3)).ravel()

    s = cv2.resize(thumb, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    lum, sat = s.mean(2), s.max(2) - s.min(2)
    gx, gy = np.abs(np.diff(lum, axis=1))[:-1], np.abs(np.diff(lum, axis=0))[:, :-1]
    signed = np.diff(lum, axis=0)[:, :-1]  # brighter below: positive
    base = [lum, sat, gx + gy, gx - gy]
    if kind == "grid8":
        return np.concatenate([grid(a, 8) for a in base])
    if kind == "signed":
        return np.concatenate([grid(a, 4) for a in [*base, signed]])
    parts = [grid(a, 4) for a in base]
    if kind == "profile":
        rows = lambda a: (a - a.mean()) / (a.std() + 1e-3)  # noqa: E731
        parts += [grid(lum, 8), grid(signed, 8), rows(lum.mean(1)[::4]),
                  rows((gx + gy).mean(1)[::4])]  # fmt: skip
    return np.concatenate(parts)


def turned(images: np.ndarray, kind: str) -> np.ndarray:
    return np.stack(
        [np.mean([features(np.rot90(t, k), kind) for t in images], 0) for k in range(4)]
    )


def logits(model: object, x4: np.ndarray) -> np.ndarray:
    p = np.clip(model.predict_proba(np.nan_to_num(x4))[:, 1], 1e-9, 1 - 1e-9)  # type: ignore[attr-defined]
    return np.log(p / (1 - p))


def fit(x4: np.ndarray, alpha: float) -> object:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.nan_to_num(x4.reshape(-1, x4.shape[-1]))
    y = np.tile([1, 0, 0, 0], len(x4))
    mlp = MLPClassifier((gate.HIDDEN,), alpha=alpha, max_iter=3000, random_state=0)
    model = make_pipeline(StandardScaler(), mlp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(x, y)


def frame_rule(scores: np.ndarray, frame: np.ndarray) -> None:
    """The shipped decision (margin, doubt of `weights/orientation.json`) plus `uncertain`
    whenever the frame scorer alone leads the picture as filmed by more than x: per x, the
    upright clips said uncertain and the turned ones still called upright (of 4 x clips)."""
    from musclemap.pose.orientation import decide, default_model

    model = default_model()
    for x in (np.inf, 6.0, 4.0, 2.0, 1.0):
        said, silent = 0, 0
        for s, f in zip(scores, frame, strict=True):
            for t in range(4):
                c, fc = np.roll(s, -t), np.roll(f, -t)  # the input turned by t
                state = decide(c, model.margin, doubt=model.doubt, checked="").state
                if state == "upright" and fc.max() - fc[0] > x:
                    state = "uncertain"
                said += t == 0 and state == "uncertain"
                silent += t > 0 and state == "upright"
        print(f"  frame rule x={x:g}: upright said uncertain {said}, turned still upright {silent}")


def main() -> None:
    from sklearn.model_selection import GroupKFold

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, default=SHARED / "wild" / "manifest.csv")
    parser.add_argument("--library-poses", type=Path)
    parser.add_argument("--keyposes", type=Path, default=SHARED / "keyposes")
    parser.add_argument("--work", type=Path, default=Path("/tmp/musclemap-orientation-frames"))
    args = parser.parse_args()
    thumbs = thumbnails(args.poses, args.manifest, args.keyposes, args.work)
    feats = gate.clip_features(args.poses, args.manifest, args.work)
    assert list(feats["stem"]) == list(thumbs["stem"]), "pose and frame caches disagree"
    library = gate.library_features(args.library_poses)
    folds = list(GroupKFold(5).split(feats["pose"], groups=feats["activity"]))
    pose = np.zeros((len(feats["stem"]), 4))
    for tr, te in folds:
        model = gate.fit(np.concatenate([feats["pose"][tr], library]))
        for i in te:
            pose[i] = logits(model, feats["pose"][i])
    print(f"pose scorer alone: upright first {np.mean(pose.argmax(1) == 0):.3f}")
    for kind in VARIANTS:
        wild = np.array([turned(w, kind) for w in thumbs["wild"]])
        photos = np.array([turned(p, kind) for p in thumbs["photos"]])
        for with_photos in (False, True):
            for alpha in (1.0, 10.0):
                frame = np.zeros_like(pose)
                for tr, te in folds:
                    model = fit(
                        np.concatenate([wild[tr]] + ([photos] if with_photos else [])), alpha
                    )
                    for i in te:
                        frame[i] = logits(model, wild[i])
                both = pose + frame
                if (kind, with_photos, alpha) == ("grid4", False, 1.0):
                    frame_rule(both, frame)
                print(f"{kind:8s} photos={int(with_photos)} alpha={alpha:<4g} frame alone "
                      f"{np.mean(frame.argmax(1) == 0):.3f}  pose + frame "
                      f"{np.mean(both.argmax(1) == 0):.3f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
