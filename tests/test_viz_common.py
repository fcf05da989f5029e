import pytest
from PIL import ImageFont

from musclemap.errors import MusclemapError
from musclemap.viz.common import COLOR_STOPS, VizError, color_of, font, validate_scores


def test_color_scale_hits_its_stops_and_interpolates_between():
    for p, rgb in COLOR_STOPS:
        assert color_of(p) == rgb
    # halfway between the stops at 0.45 (254, 196, 80) and 0.7 (243, 120, 45)
    assert color_of(0.575) == (248, 158, 62)
    assert color_of(-1.0) == COLOR_STOPS[0][1] and color_of(7.0) == COLOR_STOPS[-1][1]


def test_validate_scores_accepts_partial_maps_and_names_the_bad_entry():
    assert validate_scores({"chest": 1, "calves": "0.25"}) == {"chest": 1.0, "calves": 0.25}
    with pytest.raises(VizError, match="unknown muscle group 'pecs'"):
        validate_scores({"pecs": 0.5})
    with pytest.raises(VizError, match=r"'chest' must be in \[0, 1\], got 1.5"):
        validate_scores({"chest": 1.5})
    with pytest.raises(VizError, match="not a number"):
        validate_scores({"chest": "high"})
    with pytest.raises(VizError, match="mapping"):
        validate_scores([0.5])  # type: ignore[arg-type]


def test_viz_error_is_one_line_for_the_cli_and_a_value_error_for_callers():
    assert issubclass(VizError, MusclemapError) and issubclass(VizError, ValueError)


def test_font_is_truetype_and_cached():
    f = font(20, bold=True)
    assert isinstance(f, ImageFont.FreeTypeFont) and f.size == 20
    assert font(20, bold=True) is f and font(20) is not f
