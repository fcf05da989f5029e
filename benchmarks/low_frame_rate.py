"""How much a video's own low frame rate moves the prediction (choosing `quality.MIN_SOURCE_FPS`).

    .venv/bin/python benchmarks/low_frame_rate.py [--clips 8] [--rates 10,5,3,2,1,0.5] \
        [--out /tmp/mm-lowfps]

Every k-th real clip of ../shared/data/wild (N clips) is re-encoded at lower frame rates by
keeping the frame nearest to each new frame time (what a slideshow or a low-rate camera gives);
each copy is predicted with the packaged model (cold cache) and compared with the original:
the largest change of the 20 probabilities, and whether the top-3 groups stay the same.
"""

from __future__ import annotations

import argparse
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared"))
WILD = SHARED / "data" / "wild" / "clips"


def reencode(src: Path, dst: Path, fps: float) -> None:
    import av

    from musclemap.data.video_io import iter_frames

    frames = list(iter_frames(src, fps=fps))
    if not frames:
        raise SystemExit(f"{src}: no frames")
    h, w = frames[0][1].shape[:2]
    with av.open(str(dst), mode="w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        for _, rgb in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[: h - h % 2, : w - w % 2]))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--rates", default="10,5,3,2,1,0.5")
    parser.add_argument("--out", type=Path, default=Path("/tmp/mm-lowfps"))
    args = parser.parse_args()
    import musclemap
    from musclemap.errors import MusclemapError
    from musclemap.taxonomy import GROUP_IDS

    args.out.mkdir(parents=True, exist_ok=True)
    clips = sorted(WILD.glob("*.mp4"))
    chosen = clips[:: max(len(clips) // args.clips, 1)][: args.clips]
    rates = [float(r) for r in args.rates.split(",")]
    table: dict[float, list[tuple[float, bool]]] = {r: [] for r in rates}
    for clip in chosen:
        ref = musclemap.predict(clip, use_cache=False)
        ref_p = np.array([ref.muscles[g] for g in GROUP_IDS])
        ref_top = set(np.argsort(-ref_p)[:3])
        for rate in rates:
            copy = args.out / f"{clip.stem}_{rate:g}fps.mp4"
            reencode(clip, copy, rate)
            try:
                got = musclemap.predict(copy, use_cache=False)
            except MusclemapError as err:
                print(f"{clip.name} at {rate:g} fps: {err}")
                continue
            p = np.array([got.muscles[g] for g in GROUP_IDS])
            same = set(np.argsort(-p)[:3]) == ref_top
            table[rate].append((float(np.abs(p - ref_p).max()), same))
            worst = table[rate][-1][0]
            print(f"{clip.name} at {rate:g} fps: max |dp| {worst:.3f}, top 3 same {same}")
    for rate in rates:
        rows = table[rate]
        if rows:
            d = np.array([r[0] for r in rows])
            print(
                f"{rate:g} fps: median max|dp| {np.median(d):.3f}, worst {d.max():.3f}, "
                f"top-3 kept {sum(r[1] for r in rows)}/{len(rows)}"
            )


if __name__ == "__main__":
    main()
