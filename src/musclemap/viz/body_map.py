"""Body map: the 20 muscle groups on a front and a back figure, shaded by probability.

One scene (figure, labels, colour bar and a ranked list of the most active groups) is laid out in
abstract units and written either as SVG text (each region a `<g id="front-chest"
data-group="chest" data-prob="0.830">` with a `<title>`) or as PNG by drawing the same outlines
with PIL, supersampled for smooth edges. No cairo, no downloaded assets.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, ImageDraw

from musclemap.taxonomy import GROUP_IDS, MUSCLE_GROUPS
from musclemap.viz import figure
from musclemap.viz.common import COLOR_STOPS, VizError, color_of, font, validate_scores

_OUTLINE = (74, 74, 80)
_SKIN = (246, 242, 236)
_REGION_STROKE = (120, 120, 128)
_TEXT = (40, 40, 46)
_MUTED = (110, 110, 118)
_NO_SCORE = (250, 250, 250)
_NAMES = {g.id: g.name for g in MUSCLE_GROUPS}


_MARGIN, _GAP, _LABEL_H, _TITLE_H, _LEGEND_W = 16.0, 14.0, 26.0, 34.0, 214.0


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


# --- Scene: what to draw, in units -----------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    x: float
    y: float
    text: str
    size: float
    anchor: str = "start"  # start | middle | end (baseline at y)
    bold: bool = False
    color: tuple[int, int, int] = _TEXT


@dataclass(frozen=True)
class _Layout:
    width: float
    height: float
    views: dict[str, tuple[float, float]]  # view -> top-left offset
    legend: tuple[float, float] | None
    title: tuple[float, float] | None


def _layout(*, title: str, legend: bool) -> _Layout:
    top = _MARGIN + (_TITLE_H if title else 0.0)
    fig_top = top + _LABEL_H
    x_front = _MARGIN
    x_back = x_front + figure.VIEW_WIDTH + _GAP
    right = x_back + figure.VIEW_WIDTH
    legend_xy = (right + 22.0, fig_top) if legend else None
    width = (legend_xy[0] + _LEGEND_W if legend_xy else right) + _MARGIN
    height = fig_top + figure.VIEW_HEIGHT + _MARGIN
    return _Layout(
        width=width,
        height=height,
        views={"front": (x_front, fig_top), "back": (x_back, fig_top)},
        legend=legend_xy,
        title=(width / 2, _MARGIN + 22.0) if title else None,
    )


def layout_size(*, title: str = "", legend: bool = True) -> tuple[float, float]:
    """Width and height of the body map in layout units (its aspect ratio)."""
    lay = _layout(title=title, legend=legend)
    return lay.width, lay.height


def _texts(scores: dict[str, float], lay: _Layout, *, title: str, top_k: int) -> list[_Text]:
    out: list[_Text] = []
    if lay.title:
        out.append(_Text(*lay.title, title, 19, "middle", bold=True))
    for view, (x, y) in lay.views.items():
        out.append(_Text(x + figure.VIEW_WIDTH / 2, y - 8, view.capitalize(), 15, "middle", True))
    if lay.legend:
        lx, ly = lay.legend
        out.append(_Text(lx, ly + 4, "Activation probability", 12.5, bold=True))
        for i, tick in enumerate((0.0, 0.25, 0.5, 0.75, 1.0)):
            anchor = "start" if i == 0 else "end" if i == 4 else "middle"
            out.append(_Text(lx + tick * _BAR_W, ly + 40, f"{tick:g}", 11, anchor, color=_MUTED))
        out.append(_Text(lx, ly + 76, "Most active groups", 12.5, bold=True))
        for row, (gid, p) in enumerate(_ranked(scores)[:top_k]):
            y = ly + 100 + row * _ROW_H
            out.append(_Text(lx + 22, y, _NAMES[gid], 12.5))
            out.append(_Text(lx + _LEGEND_W - 4, y, f"{p:.0%}", 12.5, "end", color=_MUTED))
        if not scores:
            out.append(_Text(lx, ly + 100, "no scores", 12.5, color=_MUTED))
    return out


_BAR_W, _BAR_H, _ROW_H = 200.0, 14.0, 21.0


def _ranked(scores: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(scores.items(), key=lambda kv: (-kv[1], GROUP_IDS.index(kv[0])))


def _fill(scores: dict[str, float], gid: str) -> tuple[int, int, int]:
    return color_of(scores[gid]) if gid in scores else _NO_SCORE


# --- SVG ----------------------------------------------------------------------------------


def render_svg(
    scores: Mapping[str, float], *, title: str = "", legend: bool = True, top_k: int = 10
) -> str:
    """SVG text of the body map (see module docstring for the region attributes)."""
    s = validate_scores(scores)
    lay = _layout(title=title, legend=legend)
    w, h = lay.width, lay.height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:g} {h:g}" '
        f'width="{w:g}" height="{h:g}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
        f"<title>{escape(title or 'Muscle activation body map')}</title>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    for view, (x, y) in lay.views.items():
        out.append(f'<g id="{view}" transform="translate({x:g} {y:g})">')
        out.extend(_svg_view(view, s))
        out.append("</g>")
    if lay.legend:
        out.extend(_svg_legend(s, *lay.legend, top_k=top_k))
    for t in _texts(s, lay, title=title, top_k=top_k):
        weight = ' font-weight="bold"' if t.bold else ""
        out.append(
            f'<text x="{t.x:.1f}" y="{t.y:.1f}" font-size="{t.size:g}" text-anchor="{t.anchor}" '
            f'fill="{_hex(t.color)}"{weight}>{escape(t.text)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_view(view: str, scores: dict[str, float]) -> list[str]:
    parts = figure.silhouette(view)
    paths = "".join(f'<path d="{o.svg_path()}"/>' for o in parts)
    out = [
        # Stroke first and fill over it: only the outer contour of the union keeps its line.
        f'<g fill="{_hex(_OUTLINE)}" stroke="{_hex(_OUTLINE)}" stroke-width="3" '
        f'stroke-linejoin="round">{paths}</g>',
        f'<g fill="{_hex(_SKIN)}">{paths}</g>',
    ]
    by_group: dict[str, list[figure.Region]] = {}
    for region in figure.regions(view):
        by_group.setdefault(region.group, []).append(region)
    for gid, regions in by_group.items():
        p = scores.get(gid)
        label = f"{_NAMES[gid]}: " + (f"{p:.0%}" if p is not None else "no score")
        prob = f' data-prob="{p:.3f}"' if p is not None else ""
        d = "".join(f'<path d="{r.outline.svg_path()}"/>' for r in regions)
        out.append(
            f'<g id="{view}-{gid}" class="muscle" data-group="{gid}"{prob} '
            f'fill="{_hex(_fill(scores, gid))}" stroke="{_hex(_REGION_STROKE)}" '
            f'stroke-width="0.7" stroke-linejoin="round"><title>{escape(label)}</title>{d}</g>'
        )
    for line in figure.details(view):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in line)
        out.append(
            f'<polyline points="{pts}" fill="none" stroke="{_hex(_REGION_STROKE)}" '
            'stroke-width="0.8"/>'
        )
    return out


def _svg_legend(scores: dict[str, float], x: float, y: float, *, top_k: int) -> list[str]:
    stops = "".join(f'<stop offset="{p:g}" stop-color="{_hex(c)}"/>' for p, c in COLOR_STOPS)
    out = [
        f'<defs><linearGradient id="mm-scale">{stops}</linearGradient></defs>',
        f'<rect x="{x:g}" y="{y + 12:g}" width="{_BAR_W:g}" height="{_BAR_H:g}" rx="2" '
        f'fill="url(#mm-scale)" stroke="{_hex(_REGION_STROKE)}" stroke-width="0.7"/>',
    ]
    for row, (_gid, p) in enumerate(_ranked(scores)[:top_k]):
        ry = y + 100 + row * _ROW_H - 11
        out.append(
            f'<rect x="{x:g}" y="{ry:g}" width="14" height="14" rx="2" '
            f'fill="{_hex(color_of(p))}" stroke="{_hex(_REGION_STROKE)}" '
            'stroke-width="0.7"/>'
        )
    return out


# --- PNG (PIL) ------------------------------------------------------------------------------

_SUPERSAMPLE = 3


def body_map_image(
    scores: Mapping[str, float],
    height: int = 540,
    *,
    title: str = "",
    legend: bool = True,
    top_k: int = 10,
    background: tuple[int, int, int] | None = (255, 255, 255),
) -> Image.Image:
    """The body map as a PIL image `height` pixels tall.

    Args:
        scores: `{group_id: probability}`.
        height: Output height in pixels (width follows the layout's aspect ratio).
        title: Optional title above the figures.
        legend: Draw the colour bar and the ranked list of groups.
        top_k: Rows in the ranked list.
        background: RGB background, or None for a transparent RGBA image.

    Raises:
        VizError: Bad scores (see `validate_scores`) or a non-positive height.
    """
    s = validate_scores(scores)
    if height <= 0:
        raise VizError(f"height must be positive, got {height}")
    lay = _layout(title=title, legend=legend)
    scale = height / lay.height * _SUPERSAMPLE
    size = (round(lay.width * scale), round(lay.height * scale))
    mode, bg = ("RGBA", (255, 255, 255, 0)) if background is None else ("RGB", background)
    img = Image.new(mode, size, bg)
    draw = ImageDraw.Draw(img)
    for view, offset in lay.views.items():
        _draw_view(draw, view, s, offset=offset, scale=scale)
    if lay.legend:
        _draw_legend(img, draw, s, *lay.legend, scale=scale, top_k=top_k)
    for t in _texts(s, lay, title=title, top_k=top_k):
        anchor = {"start": "ls", "middle": "ms", "end": "rs"}[t.anchor]
        draw.text(
            (t.x * scale, t.y * scale),
            t.text,
            fill=t.color,
            font=font(round(t.size * scale), t.bold),
            anchor=anchor,
        )
    out_size = (round(lay.width * height / lay.height), height)
    return img.resize(out_size, Image.Resampling.LANCZOS)


def _xy(points: np.ndarray, offset: tuple[float, float], scale: float) -> list[tuple[float, float]]:
    pts = (points + np.asarray(offset)) * scale
    return [(float(x), float(y)) for x, y in pts]


def _draw_view(
    draw: ImageDraw.ImageDraw,
    view: str,
    scores: dict[str, float],
    *,
    offset: tuple[float, float],
    scale: float,
) -> None:
    parts = [_xy(o.polygon(), offset, scale) for o in figure.silhouette(view)]
    for pts in parts:  # outline under the fills, as in the SVG
        draw.line(pts + pts[:1], fill=_OUTLINE, width=max(1, round(3 * scale)), joint="curve")
    for pts in parts:
        draw.polygon(pts, fill=_SKIN)
    stroke = max(1, round(0.7 * scale))
    for region in figure.regions(view):
        pts = _xy(region.outline.polygon(), offset, scale)
        draw.polygon(pts, fill=_fill(scores, region.group))
        draw.line(pts + pts[:1], fill=_REGION_STROKE, width=stroke, joint="curve")
    for line in figure.details(view):
        draw.line(
            _xy(line, offset, scale),
            fill=_REGION_STROKE,
            width=max(1, round(0.8 * scale)),
            joint="curve",
        )


def _draw_legend(
    img: Image.Image,
    draw: ImageDraw.ImageDraw,
    scores: dict[str, float],
    x: float,
    y: float,
    *,
    scale: float,
    top_k: int,
) -> None:
    x0, y0 = round(x * scale), round((y + 12) * scale)
    w, h = round(_BAR_W * scale), round(_BAR_H * scale)
    ramp = np.array([color_of(i / max(w - 1, 1)) for i in range(w)], dtype=np.uint8)  # (w, 3)
    bar = Image.fromarray(np.repeat(ramp[None], h, axis=0))
    img.paste(bar.convert(img.mode), (x0, y0))
    width = max(1, round(0.7 * scale))
    draw.rectangle((x0, y0, x0 + w, y0 + h), outline=_REGION_STROKE, width=width)
    for row, (_gid, p) in enumerate(_ranked(scores)[:top_k]):
        ry = (y + 100 + row * _ROW_H - 11) * scale
        box = (x * scale, ry, (x + 14) * scale, ry + 14 * scale)
        draw.rounded_rectangle(
            box, radius=2 * scale, fill=color_of(p), outline=_REGION_STROKE, width=width
        )


# --- Public entry point -----------------------------------------------------------------------


def render_body_map(
    scores: Mapping[str, float], path: str | Path | None = None, *, title: str = ""
) -> str | bytes:
    """Render the body map as SVG or PNG.

    Args:
        scores: `{group_id: probability}` for some or all of the 20 groups.
        path: Output file; its suffix (`.svg` or `.png`) picks the format. None returns SVG text
            without writing.
        title: Optional title above the figures.

    Returns:
        The SVG text, or the PNG bytes.

    Raises:
        VizError: Bad scores, or a suffix other than .svg/.png.
    """
    suffix = Path(path).suffix.lower() if path is not None else ".svg"
    if suffix not in (".svg", ".png"):
        raise VizError(f"body map path must end in .svg or .png, got {str(path)!r}")
    if suffix == ".svg":
        svg = render_svg(scores, title=title)
        if path is not None:
            Path(path).write_text(svg, encoding="utf-8")
        return svg
    buf = io.BytesIO()
    body_map_image(scores, title=title).save(buf, format="PNG", optimize=True)
    data = buf.getvalue()
    assert path is not None
    Path(path).write_bytes(data)
    return data
