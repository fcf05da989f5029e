"""Overlay video: the input with the tracked skeleton and a small live body map.

The input is decoded frame by frame (streamed, upright, via `musclemap.data.video_io`); each
frame gets the skeleton of the nearest pose sample and, in the top-left corner, the body map of
the timeline window covering that moment. Output is H.264 mp4 (yuv420p, even size) at the input's
frame rate, scaled down when the input is larger than `max_side`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageDraw

from musclemap.skeleton import MEDIAPIPE33, SkeletonLayout, as_layout
from musclemap.taxonomy import MUSCLE_GROUPS
from musclemap.viz.body_map import body_map_image, layout_size
from musclemap.viz.common import VizError, font
from musclemap.viz.timeline import validate_timeline

Progress = Callable[[float, str], None]

_LEFT = (255, 160, 30)  # the person's left side
_RIGHT = (40, 170, 255)
_CENTRE = (245, 245, 245)
_MIN_VISIBILITY = 0.3
_NAMES = {g.id: g.name for g in MUSCLE_GROUPS}


class PoseLike(Protocol):
    """What the overlay needs of a `musclemap.data.pose_sequence.PoseSequence`."""

    image: np.ndarray  # (T, V, 3) x, y in [0, 1], visibility
    valid: np.ndarray  # (T,) bool
    times: np.ndarray  # (T,) seconds


def write_overlay(
    video_path: str | Path,
    out_path: str | Path,
    pose: PoseLike,
    timeline: Sequence[Mapping[str, Any]],
    *,
    layout: SkeletonLayout | str = MEDIAPIPE33,
    progress: Progress | None = None,
    max_side: int = 1280,
    crf: int = 23,
) -> Path:
    """Write the input video with the skeleton and a live body map drawn on it.

    Args:
        video_path: The input video.
        out_path: Output `.mp4` file.
        pose: Pose samples (PoseSequence or an object with `image`, `valid`, `times`); frames
            more than half a sampling interval from any sample get no skeleton.
        timeline: The predict JSON's timeline windows; an empty list draws no body map.
        layout: Joint layout of `pose.image` (its edges are drawn).
        progress: Called with (fraction done, message) every few frames.
        max_side: Frames larger than this (either side) are scaled down to fit.
        crf: H.264 quality (lower is better, 18-28 is usual).

    Returns:
        The written path.

    Raises:
        VideoError: The input is missing, not a video, corrupt or has no frames.
        VizError: Pose arrays of the wrong shape, a bad timeline, or a non-.mp4 output path.
    """
    layout = as_layout(layout)
    import av

    from musclemap.data.video_io import iter_frames, probe

    video_path, out_path = Path(video_path), Path(out_path)
    if out_path.suffix.lower() != ".mp4":
        raise VizError(f"overlay path must end in .mp4, got {str(out_path)!r}")
    if out_path.resolve() == video_path.resolve():
        raise VizError(f"overlay would overwrite its input {video_path}")
    image, valid, times = _check_pose(pose, layout)
    windows = validate_timeline(timeline) if len(timeline) else []
    info = probe(video_path)
    size = _output_size(info.width, info.height, max_side)
    tolerance = _pose_tolerance(times)
    rate = Fraction(info.fps if info.fps > 0 else 30.0).limit_denominator(1001)
    panels: dict[int, Image.Image] = {}
    total = max(info.num_frames, 1)

    with av.open(str(out_path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for i, (t, frame) in enumerate(iter_frames(video_path, fps=None)):
            canvas = Image.fromarray(frame)
            if canvas.size != size:
                canvas = canvas.resize(size, Image.Resampling.BILINEAR)
            k = _nearest(times, t, tolerance)
            if k is not None and valid[k]:
                _draw_skeleton(canvas, image[k], layout)
            w = _window_at(windows, t)
            if w is not None:
                if w not in panels:
                    panels[w] = _panel(windows[w][2], size)
                margin = round(0.02 * min(size))
                canvas.paste(panels[w], (margin, margin), panels[w])
            out = av.VideoFrame.from_ndarray(np.asarray(canvas), format="rgb24")
            for packet in stream.encode(out):
                container.mux(packet)
            if progress is not None and i % 10 == 0:
                progress(min(i / total, 1.0), "overlay")
        for packet in stream.encode():
            container.mux(packet)
    if progress is not None:
        progress(1.0, "overlay")
    return out_path


def _check_pose(pose: PoseLike, layout: SkeletonLayout) -> tuple[np.ndarray, ...]:
    try:
        image = np.asarray(pose.image, dtype=np.float64)
        valid = np.asarray(pose.valid, dtype=bool)
        times = np.asarray(pose.times, dtype=np.float64)
    except AttributeError as err:
        raise VizError(f"pose needs image, valid and times arrays ({err})") from None
    n = layout.num_joints
    if image.ndim != 3 or image.shape[1] != n or image.shape[2] < 2:
        raise VizError(f"pose.image must be (T, {n}, 2 or 3) for {layout.name}, got {image.shape}")
    if valid.shape != (len(image),) or times.shape != (len(image),):
        raise VizError(
            f"pose.valid and pose.times must be ({len(image)},), "
            f"got {valid.shape} and {times.shape}"
        )
    if len(times) > 1 and np.any(np.diff(times) < 0):
        raise VizError("pose.times must be sorted")
    return image, valid, times


def _output_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Fit into `max_side`, then round down to even sizes (yuv420p needs them)."""
    scale = min(1.0, max_side / max(width, height))
    w, h = max(2, int(width * scale)), max(2, int(height * scale))
    return w - w % 2, h - h % 2


def _pose_tolerance(times: np.ndarray) -> float:
    """Half the sampling interval (plus slack): beyond it a pose sample is too far to show."""
    if len(times) < 2:
        return 0.25
    return 0.6 * float(np.median(np.diff(times)))


def _nearest(times: np.ndarray, t: float, tolerance: float) -> int | None:
    if len(times) == 0:
        return None
    j = int(np.searchsorted(times, t))
    candidates = [k for k in (j - 1, j) if 0 <= k < len(times)]
    k = min(candidates, key=lambda c: abs(times[c] - t))
    return k if abs(times[k] - t) <= tolerance else None


def _window_at(windows: list[tuple[float, float, dict]], t: float) -> int | None:
    """Index of the window covering `t` whose centre is nearest (else the nearest window)."""
    if not windows:
        return None

    def distance(i: int) -> tuple[float, float]:
        start, end, _ = windows[i]
        outside = max(start - t, t - end, 0.0)
        return outside, abs((start + end) / 2 - t)

    return min(range(len(windows)), key=distance)


def _draw_skeleton(canvas: Image.Image, joints: np.ndarray, layout: SkeletonLayout) -> None:
    """Draw edges and joints of one pose `(V, 2|3)` (normalised x, y[, visibility])."""
    w, h = canvas.size
    xy = joints[:, :2] * np.array([w, h])  # (V, 2) pixels
    vis = joints[:, 2] if joints.shape[1] > 2 else np.ones(len(joints))
    ok = np.isfinite(xy).all(axis=1) & (np.nan_to_num(vis) >= _MIN_VISIBILITY)
    draw = ImageDraw.Draw(canvas)
    width = max(2, round(min(w, h) / 160))
    for a, b in layout.edges:
        if ok[a] and ok[b]:
            draw.line([tuple(xy[a]), tuple(xy[b])], fill=_side_color(layout, a, b), width=width)
    r = width * 0.9 + 1
    for j in np.flatnonzero(ok):
        x, y = xy[j]
        draw.ellipse(
            (x - r, y - r, x + r, y + r), fill=_side_color(layout, j, j), outline=(30, 30, 30)
        )


def _side_color(layout: SkeletonLayout, a: int, b: int) -> tuple[int, int, int]:
    names = (layout.joints[a], layout.joints[b])
    if all(n.startswith("left") for n in names):
        return _LEFT
    if all(n.startswith("right") for n in names):
        return _RIGHT
    return _CENTRE


def _panel(scores: dict[str, float], frame_size: tuple[int, int]) -> Image.Image:
    """Translucent RGBA card: the body map of one window and its three strongest groups."""
    fw, fh = frame_size
    lw, lh = layout_size(legend=False)
    fig_h = max(60, round(min(0.36 * fh, 0.32 * fw * lh / lw)))
    fig = body_map_image(scores, height=fig_h, legend=False, background=None)
    top = sorted(scores.items(), key=lambda kv: -kv[1])[:3]
    font_px = max(9, round(fig_h / 22))
    line_h = round(font_px * 1.35)
    pad = max(4, round(font_px * 0.5))
    size = (fig.width + 2 * pad, fig.height + len(top) * line_h + 2 * pad)
    card = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle(
        (0, 0, size[0] - 1, size[1] - 1), radius=2 * pad, fill=(255, 255, 255, 205)
    )
    card.alpha_composite(fig, (pad, pad))
    text_font = font(font_px)
    for row, (gid, p) in enumerate(top):
        y = pad + fig.height + row * line_h
        draw.text((pad * 2, y), _NAMES[gid], fill=(40, 40, 46, 255), font=text_font)
        draw.text(
            (size[0] - 2 * pad, y), f"{p:.0%}", fill=(90, 90, 98, 255), font=text_font, anchor="ra"
        )
    return card
