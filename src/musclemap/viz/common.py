"""What every picture shares: the probability colour scale, the font, score checks and the error.

Pictures (body map, timeline, overlay, attribution) import from here, not from each other, so a
new picture needs none of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from PIL import ImageFont

from musclemap.errors import MusclemapError
from musclemap.taxonomy import GROUP_IDS

# Light grey (inactive) -> pale yellow -> orange -> red (strongly active); also used by the
# timeline so both pictures read the same.
COLOR_STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (222, 223, 228)),
    (0.2, (254, 237, 170)),
    (0.45, (254, 196, 80)),
    (0.7, (243, 120, 45)),
    (1.0, (190, 20, 35)),
)


class VizError(MusclemapError, ValueError):
    """Bad input to a picture (unknown group, probability outside [0, 1], wrong file suffix).

    A `ValueError` for library callers and a `MusclemapError`, so the CLI prints one line.
    """


def validate_scores(scores: Mapping[str, float]) -> dict[str, float]:
    """Check a `{group_id: probability}` mapping and return it as plain floats.

    Groups may be missing (drawn as "no score"); unknown ids and values outside [0, 1] are errors.

    Raises:
        VizError: Unknown group id, or a probability that is not a number in [0, 1].
    """
    if not isinstance(scores, Mapping):
        raise VizError(f"scores must be a mapping group_id -> probability, got {type(scores)}")
    out: dict[str, float] = {}
    for gid, value in scores.items():
        if gid not in GROUP_IDS:
            raise VizError(f"unknown muscle group {gid!r}; valid: {', '.join(GROUP_IDS)}")
        try:
            p = float(value)
        except (TypeError, ValueError):
            raise VizError(f"probability of {gid!r} is not a number: {value!r}") from None
        if not (math.isfinite(p) and 0.0 <= p <= 1.0):
            raise VizError(f"probability of {gid!r} must be in [0, 1], got {value!r}")
        out[gid] = p
    return out


def color_of(p: float) -> tuple[int, int, int]:
    """RGB colour of a probability on the body-map colour scale."""
    p = min(max(float(p), 0.0), 1.0)
    for (p0, c0), (p1, c1) in zip(COLOR_STOPS, COLOR_STOPS[1:], strict=False):
        if p <= p1:
            w = (p - p0) / (p1 - p0)
            return tuple(round(a + (b - a) * w) for a, b in zip(c0, c1, strict=True))  # type: ignore[return-value]
    return COLOR_STOPS[-1][1]


@cache
def font(size_px: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans (shipped with matplotlib) at `size_px`; PIL's default font if missing."""
    import matplotlib  # ships DejaVu Sans, so text looks the same everywhere

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    try:
        return ImageFont.truetype(str(path), size_px)
    except OSError:
        return ImageFont.load_default(size=size_px)
