"""Trackers that rejoin: MediaPipe with its tracking region snapped to a grid (`RoiGrid`).

    .venv/bin/python benchmarks/roi_sync.py --cache DIR [--clips 40 | --names a,b] \
        [--grids 4,8]

Per wild clip (the first N of ../shared/data/wild, sorted, or `--names`), sampled at 10 fps as
`predict` samples it, and per grid G (`RoiGrid(G px, G / 200 log-size, G / 2 degrees)`):
the snapped tracker from frame 0 (sequential), from the middle frame M with no warm-up and
with 5 warm-up frames (from M - 5), and from frame 1. Reports how many of the later trackers'
raw landmarks (image and world, before MediaPipe's landmark smoothing) become bit-identical to
the sequential tracker's and stay so to the end, and how many frames after their start that
takes; the clip-score change of a tracker started one frame late (packaged model, largest of
the 20 groups; frame 0 from the sequential one); parallel as two segments: segment 1 from
M - 5, handed over at the first frame >= M whose raw landmarks equal the sequential tracker's
(frames segment 0 tracks past M), its own smoothed landmarks from there; and the snapped
sequential poses against MediaPipe's own (per-frame mean landmark distance, clip scores). Each
clip's trackers are kept in `--cache DIR/<clip>.npz` (a second run only scores).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared"))
WILD = SHARED / "data" / "wild" / "clips"
FPS = 10.0
WARM = 5


def grid_of(step: float) -> Any:
    from musclemap.pose.mediapipe_estimator import RoiGrid

    return RoiGrid(centre_px=step, size_step=step / 200, angle_deg=step / 2)


def run(frames: list[tuple[bool, np.ndarray]], start: int, grid: Any) -> dict[str, Any]:
    """Raw and smoothed landmarks of one tracker from `start`, NaN where nobody is found."""
    from musclemap.pose import mediapipe_estimator as me

    pose = me.new_pose(
        static_image_mode=False,
        enable_segmentation=False,
        model_complexity=1,
        smoothing_apart=True,
        roi_grid=grid,
    )
    rows: list[list[np.ndarray]] = []
    cpu = 0.0
    for repeat, rgb in frames[start:]:
        if repeat and rows:  # a repeated video frame: the tracker is not run again
            rows.append(rows[-1])
            continue
        c0 = time.process_time()
        found = me.process_frame(pose, np.ascontiguousarray(rgb))
        cpu += time.process_time() - c0
        out = pose._graph_outputs  # the tracking graph's unsmoothed landmarks
        raw_i = me._landmarks(out.get("pose_landmarks"))
        raw_w = me._landmarks(out.get("pose_world_landmarks"))
        if found is None or raw_i is None or raw_w is None:
            rows.append(
                [np.full((33, 3), np.nan, np.float32), np.full((33, 4), np.nan, np.float32)] * 2
            )
        else:
            rows.append([raw_i[:, [0, 1, 3]], raw_w, found.image, found.world])
    smoothing = me.smoothing_of(pose)
    if smoothing is not None:
        smoothing.close()
    pose.close()
    raw_image, raw_world, image, world = (np.array(x) for x in zip(*rows, strict=True))
    return {
        "raw": np.concatenate(
            [raw_image.reshape(len(rows), -1), raw_world.reshape(len(rows), -1)], 1
        ),
        "image": image,
        "world": world,
        "start": start,
        "cpu": cpu,
    }


def track_clip(clip: Path, grids: list[float], out: Path) -> None:
    from musclemap.data.video_io import iter_frames, probe
    from musclemap.pose.sequential import DEFAULT_MAX_SIDE

    info = probe(clip)
    frames, last = [], None
    for t, rgb in iter_frames(clip, fps=FPS, max_side=DEFAULT_MAX_SIDE, origin_s=info.start_s):
        frames.append((t == last, rgb))
        last = t
    mid = len(frames) // 2
    res: dict[str, Any] = {"mid": mid}
    starts = {"seq": 0, "mid0": mid, "mid5": max(mid - WARM, 0), "late1": 1}
    for step in grids:
        for key, start in starts.items():
            for name, value in run(frames, start, grid_of(step)).items():
                res[f"g{step:g}_{key}_{name}"] = value
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out.with_suffix(".tmp.npz"), **res)
    os.replace(out.with_suffix(".tmp.npz"), out)


def lasting_sync(r: dict[str, np.ndarray], g: str, key: str) -> tuple[int | None, np.ndarray]:
    """First frame from which tracker `key`'s raw landmarks equal the sequential one's to the
    end (None: not at the end), and the per-frame equality."""
    seq, other, start = r[f"{g}_seq_raw"], r[f"{g}_{key}_raw"], int(r[f"{g}_{key}_start"])
    eq = np.array(
        [np.array_equal(seq[start + i], row, equal_nan=True) for i, row in enumerate(other)]
    )
    if not eq[-1]:
        return None, eq
    k = len(eq) - 1
    while k > 0 and eq[k - 1]:
        k -= 1
    return start + k, eq


def main() -> None:
    from musclemap.pose.extract import extract_poses
    from musclemap.pose.keypose_model import KeyPoseModel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="trackers per clip")
    parser.add_argument("--clips", type=int, default=40, help="first N wild clips")
    parser.add_argument("--names", default="", help="clip stems, comma-separated")
    parser.add_argument("--grids", default="4,8", help="grid steps in pixels")
    args = parser.parse_args()
    clips = sorted(WILD.glob("*.mp4"))
    if args.names:
        clips = [WILD / f"{n}.mp4" for n in args.names.split(",")]
    clips = clips[: args.clips]
    if not clips:
        raise SystemExit(f"no clips in {WILD} (set MUSCLEMAP_SHARED)")
    steps = [float(x) for x in args.grids.split(",")]
    model = KeyPoseModel.load(REPO / "src" / "musclemap" / "weights" / "default.safetensors")
    stats: dict[str, list[Any]] = {}
    for clip in clips:
        path = args.cache / f"{clip.stem}.npz"
        if not path.exists():
            track_clip(clip, steps, path)
        r = dict(np.load(path))
        std = extract_poses(clip, fps=FPS, workers=1)  # MediaPipe's own tracker, sequential
        ref = model.score(std).clip
        mid = int(r["mid"])

        def score(image: np.ndarray, world: np.ndarray, std: Any = std) -> np.ndarray:
            valid = ~np.isnan(image[:, 0, 0])
            return model.score(dataclasses.replace(std, image=image, world=world, valid=valid)).clip

        for step in steps:
            g = f"g{step:g}"
            s = stats.setdefault(g, [])
            q_i, q_w = r[f"{g}_seq_image"], r[f"{g}_seq_world"]
            mine = score(q_i, q_w)
            both = std.valid & ~np.isnan(q_i[:, 0, 0])
            px = np.linalg.norm(
                (std.image[both, :, :2] - q_i[both, :, :2]) * [std.width, std.height], axis=-1
            )
            cm = np.linalg.norm(std.world[both, :, :3] - q_w[both, :, :3], axis=-1) * 100
            row = {
                "clip": clip.stem,
                "px": float(px.mean()),
                "cm": float(cm.mean()),
                "vs_std": float(np.abs(mine - ref).max()),
                "cpu": float(r[f"{g}_seq_cpu"]) / len(q_i),
            }
            for key, first in (("mid0", mid), ("mid5", mid), ("late1", 1)):
                at, _ = lasting_sync(r, g, key)
                row[key] = None if at is None else at - first
            late_i, late_w = q_i.copy(), q_w.copy()
            late_i[1:], late_w[1:] = r[f"{g}_late1_image"], r[f"{g}_late1_world"]
            row["late1_score"] = float(np.abs(score(late_i, late_w) - mine).max())
            at, eq = lasting_sync(r, g, "mid5")
            start = int(r[f"{g}_mid5_start"])
            hand = next((start + i for i, e in enumerate(eq) if start + i >= mid and e), None)
            par_i, par_w = q_i.copy(), q_w.copy()
            if hand is not None:
                par_i[hand:] = r[f"{g}_mid5_image"][hand - start :]
                par_w[hand:] = r[f"{g}_mid5_world"][hand - start :]
            row["hand"] = None if hand is None else hand - mid
            row["lasting"] = hand is not None and at is not None and at <= hand
            row["par_score"] = float(np.abs(score(par_i, par_w) - mine).max())
            s.append(row)
    for g, rows in stats.items():
        report(g, rows)


def report(g: str, rows: list[dict[str, Any]]) -> None:
    def col(name: str) -> np.ndarray:
        return np.array([r[name] for r in rows], float)

    def summary(x: np.ndarray) -> str:
        return f"max {x.max():.4f} mean {x.mean():.4f} over 0.02: {(x > 0.02).sum()}"

    print(f"== {g} on {len(rows)} clips: CPU {1000 * col('cpu').mean():.1f} ms a frame")
    print(
        f"  against MediaPipe's own: image {col('px').mean():.2f} px, world "
        f"{col('cm').mean():.2f} cm (means); clip scores {summary(col('vs_std'))}"
    )
    for key in ("mid0", "mid5", "late1"):
        lags = np.array([r[key] for r in rows if r[key] is not None], float)
        text = "-"
        if len(lags):
            text = f"median {np.median(lags):.0f}, mean {lags.mean():.1f}, max {lags.max():.0f}"
        print(f"  {key}: identical to the end on {len(lags)}/{len(rows)}; frames to it: {text}")
    print(f"  one frame late: clip scores {summary(col('late1_score'))}")
    hands = np.array([r["hand"] for r in rows if r["hand"] is not None], float)
    past = f"mean {hands.mean():.1f}, max {hands.max():.0f}" if len(hands) else "-"
    print(
        f"  parallel, W {WARM}: handed over {len(hands)}/{len(rows)} (identical to the end on "
        f"{sum(r['lasting'] for r in rows)}), segment 0 past M: {past}; clip scores with "
        f"segment 1's own smoothing: {summary(col('par_score'))}"
    )


if __name__ == "__main__":
    main()
