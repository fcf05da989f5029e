"""Pictures for the orientation gate's scene model (`benchmarks/orientation_scene.py`), cached.

    .venv/bin/python benchmarks/scene_data.py --poses runs/wild_poses [--rotated DIR] --out F.npz

- each wild clip (`--manifest`): `--train-frames` (`TRAIN_FRAMES`) frames spread over the clip
  (training pictures, long side `SIDE`) and the gate's own thumbnails (`orientation.thumbnail` of
  the `quality.frame_picks` frames the pose pass would keep), as predict makes them;
- with `--rotated`: the gate's thumbnails of the frames `orientation_gate.py --rotated` judges
  (the picks of the `<stem>_k0.npz` poses: MediaPipe on the upright pixels);
- every key-pose photo (`--keyposes`, `images/<id>/<n>.jpg`), long side `SIDE`.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared")) / "data"
# 8 until session 17: with 16 the source folds said "may be turned" to 19 upright clips, not 29
TRAIN_FRAMES = 16
SIDE = 160


def shrink(rgb: np.ndarray, side: int = SIDE) -> np.ndarray:
    """`rgb` with its long side `side` (area average), aspect kept."""
    import cv2

    h, w = rgb.shape[:2]
    s = side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def pad_square(rgb: np.ndarray, side: int = SIDE) -> np.ndarray:
    """A `side` x `side` canvas with `rgb` top-left (the real size stored apart)."""
    out = np.zeros((side, side, 3), np.uint8)
    out[: rgb.shape[0], : rgb.shape[1]] = rgb
    return out


def clip_pictures(
    video: Path, seqs: list[object], train_frames: int = TRAIN_FRAMES
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Training frames `(train_frames, SIDE, SIDE, 3)` (padded) with their sizes, and per pose
    sequence in `seqs` the gate's thumbnails `(n, 64, 64, 3)` of its picked frames."""
    from musclemap.data.video_io import iter_frames
    from musclemap.pose import orientation as ori
    from musclemap.pose.quality import frame_picks
    from musclemap.pose.sequential import DEFAULT_MAX_SIDE

    fps = seqs[0].fps  # type: ignore[attr-defined]
    wanted = [{round(float(s.times[i]), 6) for i in frame_picks(s)} for s in seqs]  # type: ignore[attr-defined]
    frames: list[np.ndarray] = []
    thumbs: list[dict[float, np.ndarray]] = [{} for _ in seqs]
    for t, rgb in iter_frames(video, fps=fps, max_side=DEFAULT_MAX_SIDE):
        frames.append(shrink(rgb))
        for want, got in zip(wanted, thumbs, strict=True):
            if round(float(t), 6) in want:
                got[round(float(t), 6)] = ori.thumbnail(rgb)
    picks = np.linspace(0, len(frames) - 1, train_frames + 2)[1:-1].round().astype(int)
    train = [frames[i] for i in picks]
    # a sequence without a person in its picks has no thumbnails: an empty (0, 64, 64, 3)
    empty = np.zeros((0, 64, 64, 3), np.uint8)
    return np.stack(train), [np.stack([g[k] for k in sorted(g)]) if g else empty for g in thumbs]


def main() -> None:
    from musclemap.data.pose_sequence import load_pose_file

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, default=SHARED / "wild" / "manifest.csv")
    parser.add_argument("--keyposes", type=Path, default=SHARED / "keyposes")
    parser.add_argument("--rotated", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--train-frames", type=int, default=TRAIN_FRAMES)
    args = parser.parse_args()
    import cv2

    out: dict[str, list[object]] = {k: [] for k in (
        "stem", "activity", "source", "train", "train_size", "gate", "rot_stem", "rot_gate",
    )}  # fmt: skip
    for r in csv.DictReader(args.manifest.open()):
        stem = Path(r["clip"]).stem
        if not (args.poses / f"{stem}.npz").is_file():
            continue
        seqs = [load_pose_file(args.poses / f"{stem}.npz")]
        rot = args.rotated / f"{stem}_k0.npz" if args.rotated else None
        if rot is not None and rot.is_file():
            seqs.append(load_pose_file(rot))
        train, thumbs = clip_pictures(args.manifest.parent / r["clip"], seqs, args.train_frames)
        if not len(thumbs[0]):
            print(stem, "skipped: no frame with a person for the gate", flush=True)
            continue
        out["stem"].append(stem)
        out["activity"].append(r["activity"])
        out["source"].append(r["source_repo"])
        out["train"] += [pad_square(f) for f in train]
        out["train_size"] += [f.shape[:2] for f in train]
        out["gate"].append(np.resize(thumbs[0], (3, 64, 64, 3)))  # fewer picks: repeated
        if len(thumbs) > 1 and len(thumbs[1]):
            out["rot_stem"].append(stem)
            out["rot_gate"].append(np.resize(thumbs[1], (3, 64, 64, 3)))
        print(stem, len(thumbs[0]), flush=True)
    photos, sizes = [], []
    for f in sorted(args.keyposes.glob("images/*/*.jpg")):
        bgr = cv2.imread(str(f))
        if bgr is None:
            continue
        rgb = shrink(bgr[..., ::-1])
        photos.append(pad_square(rgb))
        sizes.append(rgb.shape[:2])
    print(f"{len(out['stem'])} clips, {len(photos)} photos")
    np.savez(
        args.out,
        **{k: np.array(v) for k, v in out.items()},
        photo=np.array(photos),
        photo_size=np.array(sizes),
    )


if __name__ == "__main__":
    main()
