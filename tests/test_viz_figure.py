"""The drawn body figure: every group has a region, shapes sit inside the view."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap.taxonomy import GROUP_IDS
from musclemap.viz import figure


def test_every_group_is_drawn_and_views_differ() -> None:
    front = {r.group for r in figure.regions("front")}
    back = {r.group for r in figure.regions("back")}
    assert front | back == set(GROUP_IDS)
    assert {"chest", "biceps", "quadriceps", "upper_abdominis"} <= front - back
    assert {"upper_back", "latissimus", "gluteus", "hamstring", "triceps"} <= back - front
    assert {"shoulder", "neck_head", "forearms", "outer_thigh"} <= front & back


@pytest.mark.parametrize("view", figure.VIEWS)
def test_shapes_stay_inside_the_view(view: str) -> None:
    outlines = [r.outline for r in figure.regions(view)] + figure.silhouette(view)
    for outline in outlines:
        pts = outline.polygon()
        assert np.isfinite(pts).all()
        assert pts[:, 0].min() >= 0 and pts[:, 0].max() <= figure.VIEW_WIDTH
        assert pts[:, 1].min() >= 0 and pts[:, 1].max() <= figure.VIEW_HEIGHT


def test_regions_are_mirrored_pairs() -> None:
    chest = [r.outline.polygon() for r in figure.regions("front") if r.group == "chest"]
    assert len(chest) == 2
    left, right = chest
    assert np.allclose(np.sort(200 - left[:, 0]), np.sort(right[:, 0]))


def test_smooth_outline_passes_through_points_and_keeps_corners() -> None:
    pts = [(0.0, 0.0), (10.0, 0.0, 1), (10.0, 10.0), (0.0, 10.0)]
    outline = figure.smooth_outline(pts)
    assert outline.beziers.shape == (4, 4, 2)
    assert np.allclose(outline.beziers[:, 0], np.array([p[:2] for p in pts]))
    # At the corner both handles collapse onto the point.
    assert np.allclose(outline.beziers[1, 1], [10, 0])
    assert np.allclose(outline.beziers[0, 2], [10, 0])
    d = outline.svg_path()
    assert d.startswith("M0.0 0.0C") and d.endswith("Z") and d.count("C") == 4


def test_bad_view_and_degenerate_outline() -> None:
    with pytest.raises(ValueError, match="unknown view"):
        figure.regions("side")
    with pytest.raises(ValueError, match="at least 3"):
        figure.smooth_outline([(0, 0), (1, 1)])
