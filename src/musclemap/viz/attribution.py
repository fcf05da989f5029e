"""Pictures of attribution maps (`musclemap.explain`): joints, joint x time, Grad-CAM frames.

- `render_joint_attribution`: PNG, left the skeleton (one pose, as the camera saw it) with each
  joint coloured by its attribution to the group (red: drove the score up, blue: down, size: how
  much), right a joint x time heat map on the same colour scale.
- `render_cam_frames`: PNG, a row of clip frames with the Grad-CAM map blended on (jet colours,
  opacity following the map, so unexplained regions keep their colours).
- `write_cam_video`: the same overlay as an mp4 of the clip's frames.
- `write_joint_overlay`: the input video with the tracked skeleton, each joint coloured by its
  attribution in the time span at that moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from musclemap.skeleton import SkeletonLayout, as_layout
from musclemap.viz.common import VizError

CMAP_SIGNED = "RdBu_r"  # red: raises the group's score, blue: lowers it
CMAP_CAM = "jet"  # the usual Grad-CAM colours
_MIN_VISIBILITY = 0.3


def _suffix(path: str | Path, want: str, what: str) -> Path:
    path = Path(path)
    if path.suffix.lower() != want:
        raise VizError(f"{what} path must end in {want}, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)  # never open a window
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def signed_colors(values: np.ndarray, vmax: float) -> np.ndarray:
    """RGB uint8 `(..., 3)` of signed values on the RdBu_r scale [-vmax, vmax]."""
    from matplotlib import colormaps

    scaled = 0.5 + 0.5 * np.clip(values / max(vmax, 1e-12), -1.0, 1.0)
    return (colormaps[CMAP_SIGNED](scaled)[..., :3] * 255).astype(np.uint8)


def render_joint_attribution(
    path: str | Path,
    *,
    layout: SkeletonLayout | str,
    pose_xy: np.ndarray,
    joint: np.ndarray,
    joint_time: np.ndarray,
    edges: np.ndarray,
    title: str = "",
    value_label: str = "attribution",
    joint_label: str = "",
    pose_label: str = "",
    dpi: int = 130,
) -> Path:
    """Skeleton with joints coloured by `joint` (V,) and the `joint_time` (V, K) heat map.

    Args:
        path: Output `.png`.
        layout: Joint names and edges.
        pose_xy: `(V, 2)` one pose in image-like coordinates (x right, y down; NaN: not drawn).
        joint: Attribution per joint (whole clip).
        joint_time: Attribution per joint and time span.
        edges: `(K + 1,)` span boundaries, seconds.
        title: Figure title.
        value_label: Colour bar label of the heat map (what the numbers are).
        joint_label: Colour bar label of the skeleton (default: `value_label`).
        pose_label: Caption under the skeleton (e.g. which frame it is).
    """
    layout = as_layout(layout)
    path = _suffix(path, ".png", "attribution picture")
    v = layout.num_joints
    joint, joint_time = np.asarray(joint, float), np.asarray(joint_time, float)
    if pose_xy.shape != (v, 2) or joint.shape != (v,) or joint_time.shape[0] != v:
        raise VizError(
            f"need pose_xy ({v}, 2), joint ({v},), joint_time ({v}, K) for {layout.name}; got "
            f"{pose_xy.shape}, {joint.shape}, {joint_time.shape}"
        )
    if len(edges) != joint_time.shape[1] + 1:
        raise VizError(f"need {joint_time.shape[1] + 1} span edges, got {len(edges)}")
    # Two scales: whole-clip and per-span numbers differ in size (a span moves fewer windows).
    vmax_pose = _vmax(joint)
    vmax = _vmax(joint_time)
    fig = _figure(12.0, 7.0)
    ax_pose, ax_map = fig.subplots(1, 2, width_ratios=[1, 1.6])
    pts = _draw_pose(ax_pose, layout, pose_xy, joint, vmax_pose)
    pose_bar = fig.colorbar(pts, ax=ax_pose, orientation="horizontal", fraction=0.04, pad=0.02)
    pose_bar.set_label(joint_label or value_label, fontsize=9)
    if pose_label:
        ax_pose.set_title(pose_label, fontsize=9, loc="left", color="0.35")
    mesh = ax_map.pcolormesh(
        edges,
        np.arange(v + 1) - 0.5,
        np.ma.masked_invalid(joint_time),
        cmap=CMAP_SIGNED,
        vmin=-vmax,
        vmax=vmax,
    )
    ax_map.set_yticks(np.arange(v), layout.joints, fontsize=6.5 if v > 20 else 8)
    ax_map.set_ylim(v - 0.5, -0.5)
    ax_map.set_xlabel("time (s)")
    ax_map.tick_params(axis="y", length=0)
    bar = fig.colorbar(mesh, ax=ax_map, fraction=0.04, pad=0.02)
    bar.set_label(value_label)
    fig.suptitle(title, fontsize=12, x=0.01, ha="left")
    fig.savefig(path, dpi=dpi, facecolor="white")
    return path


def render_occlusion_picture(path: str | Path, seq: Any, res: Any) -> Path:
    """The predict model's picture: `res` (an `explain.occlusion.OcclusionResult`) of `seq` (its
    `PoseSequence`), the skeleton drawn at the moment of the strongest attribution."""
    from musclemap.skeleton import MEDIAPIPE33

    k = int(np.argmax(np.nansum(np.abs(res.joint_time), axis=0)))  # the span that mattered most
    mid = 0.5 * (res.edges[k] + res.edges[k + 1])
    seen = np.flatnonzero(seq.valid)
    frame = int(seen[np.argmin(np.abs(seq.times[seen] - mid))])
    return render_joint_attribution(
        path,
        layout=MEDIAPIPE33,
        pose_xy=seq.image[frame, :, :2] * np.array([seq.width, seq.height]),
        joint=res.joint,
        joint_time=res.joint_time,
        edges=res.edges,
        title=f"{res.group} (score {res.base:.2f}): which joints drove it",
        value_label="drop of the local score when the joint is frozen in the span",
        joint_label="drop of the clip score when the joint is frozen throughout",
        pose_label=f"pose at {seq.times[frame]:.1f} s (the span that mattered most)",
    )


def _vmax(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(max(finite.max() if finite.size else 0.0, 1e-12))


def _draw_pose(
    ax: Any, layout: SkeletonLayout, xy: np.ndarray, joint: np.ndarray, vmax: float
) -> Any:
    ok = np.isfinite(xy).all(axis=1)
    for a, b in layout.edges:
        if ok[a] and ok[b]:
            ax.plot(xy[[a, b], 0], xy[[a, b], 1], color="0.7", linewidth=2.5, zorder=1)
    strength = np.abs(np.nan_to_num(joint)) / vmax
    pts = ax.scatter(
        xy[ok, 0],
        xy[ok, 1],
        c=joint[ok],
        cmap=CMAP_SIGNED,
        vmin=-vmax,
        vmax=vmax,
        s=30 + 320 * strength[ok],
        edgecolors="0.2",
        linewidths=0.6,
        zorder=2,
    )
    centre = float(np.median(xy[ok, 0])) if ok.any() else 0.0
    for j in np.argsort(-np.abs(np.nan_to_num(joint)))[:4]:
        if ok[j] and strength[j] > 0.05:
            right = xy[j, 0] >= centre  # label outwards, away from the body
            ax.annotate(
                f"{layout.joints[j]} {joint[j]:+.3f}",
                xy[j],
                xytext=(10 if right else -10, 4),
                textcoords="offset points",
                ha="left" if right else "right",
                fontsize=8,
                zorder=3,
            )
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.margins(0.15)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    return pts


def overlay_cam(frames: np.ndarray, cam: np.ndarray, *, alpha: float = 0.6) -> np.ndarray:
    """Blend a `(T, H, W)` map in [0, 1] on uint8 frames `(T, H, W, 3)` (opacity alpha * map)."""
    from matplotlib import colormaps

    if frames.shape[:3] != cam.shape or frames.shape[-1] != 3:
        raise VizError(f"frames {frames.shape} and map {cam.shape} differ in (T, H, W)")
    c = np.clip(cam, 0.0, 1.0)[..., None]
    heat = colormaps[CMAP_CAM](c[..., 0])[..., :3] * 255.0
    out = frames.astype(np.float32) * (1 - alpha * c) + heat * (alpha * c)
    return np.clip(out, 0, 255).astype(np.uint8)


def render_cam_frames(
    path: str | Path,
    frames: np.ndarray,
    cam: np.ndarray,
    *,
    title: str = "",
    times: Sequence[float] | np.ndarray | None = None,
    max_frames: int = 8,
    dpi: int = 110,
) -> Path:
    """PNG: up to `max_frames` evenly spaced frames of the clip with the map blended on."""
    path = _suffix(path, ".png", "Grad-CAM picture")
    blended = overlay_cam(frames, cam)
    pick = np.unique(np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).round())
    h, w = frames.shape[1:3]
    cols = min(4, len(pick))
    rows = -(-len(pick) // cols)
    fig = _figure(3.0 * cols, 3.0 * rows * h / w + 0.6)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, i in zip(axes, pick.astype(int), strict=False):
        ax.imshow(blended[i])
        label = f"frame {i}" if times is None else f"{times[i]:.2f} s"
        ax.set_title(f"{label}  (max {cam[i].max():.2f})", fontsize=8)
    fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    fig.savefig(path, dpi=dpi, facecolor="white")
    return path


def _encode(path: Path, frames: Any, size: tuple[int, int], fps: float) -> None:
    """H.264 mp4 (yuv420p) of an iterable of uint8 `(H, W, 3)` frames of `size` (w, h)."""
    from fractions import Fraction

    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_cam_video(
    path: str | Path, frames: np.ndarray, cam: np.ndarray, *, fps: float = 4.0
) -> Path:
    """mp4 of the clip's frames with the map blended on (even size, `fps` frames per second)."""
    path = _suffix(path, ".mp4", "Grad-CAM video")
    blended = overlay_cam(frames, cam)
    h, w = (s - s % 2 for s in blended.shape[1:3])
    _encode(path, (np.ascontiguousarray(f[:h, :w]) for f in blended), (w, h), fps)
    return path


def write_joint_overlay(
    video_path: str | Path,
    out_path: str | Path,
    *,
    image: np.ndarray,
    valid: np.ndarray,
    times: np.ndarray,
    joint_time: np.ndarray,
    edges: np.ndarray,
    layout: SkeletonLayout | str,
    caption: str = "",
    max_side: int = 960,
) -> Path:
    """The input video with the skeleton, joints coloured by `joint_time` (V, K) at that time.

    Args:
        image: `(T, V, 3)` pose samples, x, y in [0, 1] of the frame, visibility.
        valid, times: `(T,)` which samples have a person, and their times (seconds).
        edges: `(K + 1,)` span boundaries, seconds.
        caption: One line drawn at the top left.
    """
    layout = as_layout(layout)
    from musclemap.data.video_io import iter_frames, probe

    out_path = _suffix(out_path, ".mp4", "overlay")
    if Path(out_path).resolve() == Path(video_path).resolve():
        raise VizError(f"overlay would overwrite its input {video_path}")
    info = probe(video_path)
    scale = min(1.0, max_side / max(info.width, info.height))
    size = (max(2, int(info.width * scale)) // 2 * 2, max(2, int(info.height * scale)) // 2 * 2)
    vmax = _vmax(joint_time)
    colors = signed_colors(np.nan_to_num(joint_time), vmax)  # (V, K, 3)
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.1

    def frames() -> Any:
        for t, frame in iter_frames(video_path, fps=None):
            canvas = Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR)
            k = int(np.argmin(np.abs(times - t))) if len(times) else -1
            if k >= 0 and valid[k] and abs(times[k] - t) <= 0.6 * step:
                span = int(np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(edges) - 2))
                strength = np.nan_to_num(joint_time[:, span]) / vmax
                _draw_joints(canvas, image[k], layout, colors[:, span], strength)
            if caption:
                _caption(canvas, caption)
            yield np.asarray(canvas)

    _encode(out_path, frames(), size, info.fps if info.fps > 0 else 30.0)
    return out_path


def _caption(canvas: Image.Image, text: str) -> None:
    """One line of white text on a dark band at the top left."""
    from musclemap.viz.common import font

    px = max(10, round(min(canvas.size) / 32))
    draw = ImageDraw.Draw(canvas)
    face = font(px)
    box = draw.textbbox((0, 0), text, font=face)
    pad = px // 2
    draw.rectangle((0, 0, box[2] + 2 * pad, box[3] + 2 * pad), fill=(25, 25, 30))
    draw.text((pad, pad), text, fill=(255, 255, 255), font=face)


def _draw_joints(
    canvas: Image.Image,
    joints: np.ndarray,
    layout: SkeletonLayout,
    colors: np.ndarray,
    strength: np.ndarray,
) -> None:
    w, h = canvas.size
    xy = joints[:, :2] * np.array([w, h])
    vis = joints[:, 2] if joints.shape[1] > 2 else np.ones(len(joints))
    ok = np.isfinite(xy).all(axis=1) & (np.nan_to_num(vis) >= _MIN_VISIBILITY)
    draw = ImageDraw.Draw(canvas)
    width = max(2, round(min(w, h) / 200))
    for a, b in layout.edges:
        if ok[a] and ok[b]:
            draw.line([tuple(xy[a]), tuple(xy[b])], fill=(200, 200, 200), width=width)
    for j in np.flatnonzero(ok):
        r = width * (1.2 + 3.0 * min(abs(float(strength[j])), 1.0))
        x, y = xy[j]
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(colors[j]), outline=(30, 30, 30))
