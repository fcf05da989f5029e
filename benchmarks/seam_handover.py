"""Seam sensitivity of two-worker pose by warm-up and hand-over rule, on the wild clips.

    .venv/bin/python benchmarks/seam_handover.py --tracks DIR [--poses DIR] [--clips N] \
        [--warm 0,10,20] [--world 0,1.5] [--world-frames 10] [--jobs 2] [-v]

Per clip (the first N of ../shared/data/wild, sorted; all by default; clips too short to split
are left out) and warm-up W: the seam of two segments as `PosePool` plans it
(`parallel.plan_segments(..., lead=CHECK_LEAD, warm=W)`) and a fresh MediaPipe tracker from W
sampled frames before it to the end of the clip, decoded as a later segment decodes it (kept
in `--tracks DIR/w{W}/`, so a second run with other rules costs no pose). Then per hand-over
rule, in one process, what `parallel` does: the sequential poses (`--poses DIR`: pose files
of `extract_poses(clip, workers=1)`, else computed through the pose cache) up to the first of
AGREE_FRAMES frames in a row from the seam that `seams.agree` accepts (with `--world` cm: also
the world landmarks that close in the first `--world-frames` frames from the seam; 0: the
image test only), the later tracker's rows from there; and the largest difference of the
packaged model's 20 clip scores between that and the sequential poses. The merged poses are
`extract_poses(clip, workers=2)`'s (bit for bit, checked on 40 clips for each W of 0, 5, 10,
20, 30). Also the frames segment 0 tracks past the seam, the clips never handed over (segment
0 ran to the end) and the frames the slower segment tracks (the pose's wall time, in frames).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared"))
WILD = SHARED / "data" / "wild" / "clips"
FPS = 10.0


def track(clip: Path, warm: int, out: Path) -> None:
    """The later segment's tracker for warm-up `warm`, from its first frame to the clip's end."""
    from musclemap.data.video_io import iter_frames, probe
    from musclemap.pose.mediapipe_estimator import MediaPipePoseEstimator
    from musclemap.pose.parallel import CHECK_LEAD, plan_segments, sampled_frames
    from musclemap.pose.quality import planned_picks
    from musclemap.pose.sequential import DEFAULT_MAX_SIDE

    info = probe(clip)
    n = sampled_frames(info, FPS)
    starts = plan_segments(n, 2, lead=CHECK_LEAD if planned_picks(n) else 0, warm=warm)
    if len(starts) < 2:
        return
    seam = starts[1]
    first = max(seam - warm, 0)
    image, world, valid, last = [], [], [], None
    with MediaPipePoseEstimator() as est:
        for t, rgb in iter_frames(
            clip, fps=FPS, max_side=DEFAULT_MAX_SIDE, start=first, origin_s=info.start_s, threads=1
        ):
            frame = last[1] if last is not None and t == last[0] else est.estimate(rgb)
            last = (t, frame)
            valid.append(frame is not None)
            image.append(np.full((33, 3), np.nan, np.float32) if frame is None else frame.image)
            world.append(np.full((33, 4), np.nan, np.float32) if frame is None else frame.world)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, first=first, seam=seam, image=image, world=world, valid=valid)
    os.replace(tmp, out)


def sequential(clip: Path, poses: Path | None) -> Any:
    from musclemap.data.pose_sequence import load_pose_file
    from musclemap.pose.extract import extract_poses

    if poses is not None and (poses / f"{clip.stem}.npz").exists():
        return load_pose_file(poses / f"{clip.stem}.npz")
    return extract_poses(clip, fps=FPS, workers=1)


def handover(
    seq: Any, later: dict[str, np.ndarray], world_m: float, world_frames: int
) -> int | None:
    """Where `parallel` hands over from the sequential tracker to `later` under the rule."""
    from musclemap.data.pose_sequence import PoseFrame
    from musclemap.pose.seams import AGREE_FRAMES, agree, row_of

    seam, first = int(later["seam"]), int(later["first"])
    streak = 0
    for idx in range(seam, min(len(seq), first + len(later["valid"]))):
        j = idx - first
        mine = PoseFrame(seq.image[idx], seq.world[idx]) if seq.valid[idx] else None
        other = PoseFrame(later["image"][j], later["world"][j]) if later["valid"][j] else None
        tol = world_m if world_m > 0 and idx - seam < world_frames else None
        ok, _ = agree(mine, row_of(other), tol)
        streak = streak + 1 if ok else 0
        if streak == AGREE_FRAMES:
            return idx - AGREE_FRAMES + 1
    return None


def merged(seq: Any, later: dict[str, np.ndarray], at: int | None) -> Any:
    if at is None:
        return seq
    image, world, valid = seq.image.copy(), seq.world.copy(), seq.valid.copy()
    j = at - int(later["first"])
    n = min(len(seq) - at, len(later["valid"]) - j)
    image[at : at + n] = later["image"][j : j + n]
    world[at : at + n] = later["world"][j : j + n]
    valid[at : at + n] = later["valid"][j : j + n]
    return dataclasses.replace(seq, image=image, world=world, valid=valid)


def main() -> None:
    from musclemap.pose.keypose_model import KeyPoseModel
    from musclemap.pose.seams import AGREE_FRAMES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=Path, required=True, help="cache of the later trackers")
    parser.add_argument("--poses", type=Path, help="sequential pose files (<clip stem>.npz)")
    parser.add_argument("--clips", type=int, default=0, help="first N wild clips (0: all)")
    parser.add_argument("--warm", default="0,10,20", help="warm-up frames W")
    parser.add_argument("--world", default="0,1.5", help="world tolerances in cm (0: none)")
    parser.add_argument("--world-frames", type=int, default=10, help="frames from the seam")
    parser.add_argument("--jobs", type=int, default=2, help="tracker processes")
    parser.add_argument("-v", action="store_true", help="each clip over 0.02 too")
    args = parser.parse_args()
    clips = sorted(WILD.glob("*.mp4"))
    clips = clips[: args.clips] if args.clips else clips
    if not clips:
        raise SystemExit(f"no clips in {WILD} (set MUSCLEMAP_SHARED)")
    warms = [int(x) for x in args.warm.split(",")]
    path = {(c.stem, w): args.tracks / f"w{w}" / f"{c.stem}.npz" for c in clips for w in warms}
    todo = [(c, w) for c in clips for w in warms if not path[c.stem, w].exists()]
    with ProcessPoolExecutor(args.jobs) as pool:
        list(pool.map(track, *zip(*[(c, w, path[c.stem, w]) for c, w in todo], strict=True)))
    model = KeyPoseModel.load(REPO / "src" / "musclemap" / "weights" / "default.safetensors")
    seqs = {c.stem: sequential(c, args.poses) for c in clips}
    refs = {stem: model.score(s).clip for stem, s in seqs.items()}
    for w in warms:
        laters = {stem: dict(np.load(path[stem, w])) for stem in seqs if path[stem, w].exists()}
        for cm in (float(x) for x in args.world.split(",")):
            rows = []
            for stem, later in laters.items():
                seq = seqs[stem]
                at = handover(seq, later, cm / 100, args.world_frames)
                diff = float(np.abs(model.score(merged(seq, later, at)).clip - refs[stem]).max())
                stop = len(seq) if at is None else min(at + AGREE_FRAMES, len(seq))
                wall = max(stop, len(seq) - int(later["first"]))
                rows.append((diff, stem, at, stop - int(later["seam"]), wall, len(seq)))
            d = np.array([r[0] for r in rows])
            print(
                f"W {w:2d}, world {cm:g} cm x {args.world_frames}: {len(d)} clips, "
                f"max {d.max():.4f}, mean {d.mean():.4f}, over 0.02: {(d > 0.02).sum()}, "
                f"never handed over: {sum(r[2] is None for r in rows)}, segment 0 past the "
                f"seam {np.mean([r[3] for r in rows]):.1f} frames, slower segment "
                f"{np.mean([r[4] for r in rows]):.1f} of {np.mean([r[5] for r in rows]):.1f}",
                flush=True,
            )
            if args.v:
                for diff, stem, at, past, _, n in sorted(rows, reverse=True):
                    if diff > 0.02:
                        print(f"    {diff:.4f} {stem} ({n} frames, hand-over {at}, past {past})")


if __name__ == "__main__":
    main()
