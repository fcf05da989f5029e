"""Body map: valid SVG with all 20 regions, PNG of the right size whose colours follow scores."""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from musclemap.errors import MusclemapError
from musclemap.taxonomy import GROUP_IDS
from musclemap.viz import body_map, figure

SVG_NS = "{http://www.w3.org/2000/svg}"


def _scores(value: float = 0.5) -> dict[str, float]:
    return {g: value for g in GROUP_IDS}


def test_svg_is_xml_with_every_group(tmp_path: Path) -> None:
    scores = {g: i / 19 for i, g in enumerate(GROUP_IDS)}
    out = tmp_path / "map.svg"
    svg = body_map.render_body_map(scores, out, title="Squat & press")
    assert isinstance(svg, str) and out.read_text() == svg
    root = ET.fromstring(svg)
    muscles = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "muscle"]
    assert {g.get("data-group") for g in muscles} == set(GROUP_IDS)
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids))
    chest = next(g for g in muscles if g.get("id") == "front-chest")
    assert chest.get("data-prob") == f"{scores['chest']:.3f}"
    assert chest.find(f"{SVG_NS}title").text == f"chest: {scores['chest']:.0%}"
    assert chest.get("fill") == "#{:02x}{:02x}{:02x}".format(*body_map.color_of(scores["chest"]))
    texts = {t.text for t in root.iter(f"{SVG_NS}text")}
    assert {"Front", "Back", "Squat & press", "wrists"} <= texts


def test_missing_groups_are_marked_not_guessed() -> None:
    root = ET.fromstring(body_map.render_body_map({"chest": 0.9}))
    calves = next(g for g in root.iter(f"{SVG_NS}g") if g.get("id") == "back-calves")
    assert calves.get("data-prob") is None
    assert calves.find(f"{SVG_NS}title").text == "calves: no score"


def _region_pixel(view: str, group: str, height: int) -> tuple[int, int]:
    """A pixel well inside the first region of `group` in the PNG."""
    region = next(r for r in figure.regions(view) if r.group == group)
    cx, cy = region.outline.polygon().mean(axis=0)
    _, h = body_map.layout_size()
    lay = body_map._layout(title="", legend=True)
    ox, oy = lay.views[view]
    scale = height / h
    return round((cx + ox) * scale), round((cy + oy) * scale)


@pytest.mark.parametrize(("view", "group"), [("front", "chest"), ("back", "gluteus")])
def test_png_size_and_region_colour_follows_probability(
    view: str, group: str, tmp_path: Path
) -> None:
    height = 400
    pixel = _region_pixel(view, group, height)
    colours = {}
    for p in (0.0, 1.0):
        data = body_map.render_body_map({**_scores(0.3), group: p}, tmp_path / "m.png")
        img = Image.open(io.BytesIO(data))
        assert (tmp_path / "m.png").read_bytes() == data
        assert img.format == "PNG" and img.size[1] == 540
        small = body_map.body_map_image({**_scores(0.3), group: p}, height=height)
        w, h = body_map.layout_size()
        assert small.size == (round(w * height / h), height)
        colours[p] = np.array(small.getpixel(pixel)[:3])
    assert np.abs(colours[0.0] - body_map.color_of(0.0)).max() <= 6
    assert np.abs(colours[1.0] - body_map.color_of(1.0)).max() <= 6


def test_transparent_image_without_legend() -> None:
    img = body_map.body_map_image(_scores(), height=120, legend=False, background=None)
    assert img.mode == "RGBA"
    assert img.getpixel((0, 0))[3] == 0  # corner is background
    assert img.getpixel((img.width // 4, img.height // 2))[3] == 255  # inside the front figure


def test_colour_scale_ends_and_is_clamped() -> None:
    assert body_map.color_of(0.0) == body_map.COLOR_STOPS[0][1]
    assert body_map.color_of(1.0) == body_map.COLOR_STOPS[-1][1]
    reds = [body_map.color_of(p)[1] for p in np.linspace(0.2, 1.0, 9)]
    assert all(a >= b for a, b in zip(reds, reds[1:], strict=False))  # darker as p grows


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({"pecs": 0.5}, "unknown muscle group 'pecs'"),
        ({"chest": 1.5}, r"'chest' must be in \[0, 1\]"),
        ({"chest": -0.1}, r"'chest' must be in \[0, 1\]"),
        ({"chest": math.nan}, r"'chest' must be in \[0, 1\]"),
        ({"chest": "high"}, "not a number"),
    ],
)
def test_bad_scores_raise_value_error(scores: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        body_map.render_body_map(scores, tmp_path / "m.png")
    with pytest.raises(ValueError, match=message):
        body_map.render_body_map(scores)


def test_errors_are_value_errors_the_cli_prints_as_one_line() -> None:
    with pytest.raises(body_map.VizError) as info:
        body_map.validate_scores({"chest": 3})
    assert isinstance(info.value, ValueError) and isinstance(info.value, MusclemapError)
    assert "\n" not in str(info.value)


def test_bad_suffix_and_height(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.svg or \.png"):
        body_map.render_body_map(_scores(), tmp_path / "m.jpg")
    with pytest.raises(ValueError, match="height"):
        body_map.body_map_image(_scores(), height=0)


def test_exercise_marks_svg_and_png(tmp_path: Path) -> None:
    scores = {**_scores(0.1), "chest": 0.9, "gluteus": 0.1}
    plain = body_map.render_svg(scores)
    assert "mark-" not in plain and "For the exercise" not in plain  # default drawing unchanged
    svg = body_map.render_body_map(
        scores, tmp_path / "m.svg", missing=["gluteus"], unexpected=["chest"]
    )
    root = ET.fromstring(svg)
    marked = {
        (el.get("class"), el.get("data-group"))
        for el in root.iter(f"{SVG_NS}path")
        if (el.get("class") or "").startswith("mark-")
    }
    assert marked == {("mark-missing", "gluteus"), ("mark-unexpected", "chest")}
    assert "expected, below threshold" in svg and "active, not expected" in svg
    # PNG: the hatch changes pixels inside the chest, the outline leaves its inside alone.
    height = 400
    chest, glute = _region_pixel("front", "chest", height), _region_pixel("back", "gluteus", height)
    bare = np.asarray(body_map.body_map_image(scores, height=height), dtype=int)
    marked_img = body_map.body_map_image(
        scores, height=height, marks={"chest": "unexpected", "gluteus": "missing"}
    )
    marked_px = np.asarray(marked_img, dtype=int)
    x, y = chest
    assert (
        np.abs(marked_px[y - 6 : y + 6, x - 6 : x + 6] - bare[y - 6 : y + 6, x - 6 : x + 6]).max()
        > 40
    )
    x, y = glute
    assert np.abs(marked_px[y, x] - bare[y, x]).max() <= 6
    with pytest.raises(body_map.VizError, match="unknown mark"):
        body_map.render_svg(scores, marks={"chest": "odd"})
