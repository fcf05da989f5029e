"""The body figure of the body map: a front and a back view drawn by this project.

Every outline is a closed, smooth curve through a few hand-placed control points (cubic Hermite
spline, converted to cubic Bezier segments), so the same geometry gives exact SVG paths and dense
polygons for PIL. One view is `VIEW_WIDTH` x `VIEW_HEIGHT` units, the body centred on x = 100,
head at the top. Shapes are drawn for the image's left half and mirrored, so the figure is
symmetric. A control point written `(x, y, 1)` is a corner (the curve has no tangent there).

Muscle regions (`regions(view)`) lie inside the silhouette (`silhouette(view)`); each names one of
the 20 taxonomy groups. Parts of the body without a group (hands, knees, elbows) show the
silhouette's own colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

VIEW_WIDTH = 200.0
VIEW_HEIGHT = 440.0
VIEWS = ("front", "back")
_MID = VIEW_WIDTH / 2

Point = Sequence[float]  # (x, y) or (x, y, 1) for a corner


@dataclass(frozen=True)
class Outline:
    """A closed smooth outline as cubic Bezier segments `(S, 4, 2)` in view units."""

    beziers: np.ndarray

    def svg_path(self, *, digits: int = 1) -> str:
        """SVG path data (`M ... C ... Z`)."""
        f = f"{{:.{digits}f}}"
        b = self.beziers
        parts = [f"M{f.format(b[0, 0, 0])} {f.format(b[0, 0, 1])}"]
        for seg in b:
            c = " ".join(f"{f.format(x)} {f.format(y)}" for x, y in seg[1:])
            parts.append(f"C{c}")
        return "".join(parts) + "Z"

    def polygon(self, *, samples: int = 12) -> np.ndarray:
        """Dense polygon `(S * samples, 2)` sampled along the curve (for raster drawing)."""
        t = np.linspace(0.0, 1.0, samples, endpoint=False)[None, :, None]  # (1, n, 1)
        b = self.beziers[:, None]  # (S, 1, 4, 2)
        pts = (
            (1 - t) ** 3 * b[..., 0, :]
            + 3 * (1 - t) ** 2 * t * b[..., 1, :]
            + 3 * (1 - t) * t**2 * b[..., 2, :]
            + t**3 * b[..., 3, :]
        )
        return pts.reshape(-1, 2)


@dataclass(frozen=True)
class Region:
    """One drawn muscle region: a taxonomy group id, the view and the outline."""

    group: str
    view: str
    outline: Outline


def smooth_outline(points: Sequence[Point], *, tension: float = 0.0) -> Outline:
    """Closed Catmull-Rom-like curve through `points`; `(x, y, 1)` marks a corner.

    Args:
        points: Control points in order around the shape (at least 3).
        tension: 0 is Catmull-Rom; towards 1 the curve tightens to the polygon.
    """
    if len(points) < 3:
        raise ValueError("an outline needs at least 3 points")
    pts = np.array([p[:2] for p in points], dtype=np.float64)  # (N, 2)
    corner = np.array([len(p) > 2 and bool(p[2]) for p in points])
    tangents = (np.roll(pts, -1, axis=0) - np.roll(pts, 1, axis=0)) * (1 - tension) / 2
    tangents[corner] = 0.0
    nxt = np.roll(pts, -1, axis=0)
    nxt_tan = np.roll(tangents, -1, axis=0)
    beziers = np.stack([pts, pts + tangents / 3, nxt - nxt_tan / 3, nxt], axis=1)  # (N, 4, 2)
    return Outline(beziers)


def _mirror(points: Sequence[Point]) -> list[Point]:
    """The same shape reflected about the body's midline (order reversed to keep orientation)."""
    return [(2 * _MID - p[0], *p[1:]) for p in reversed(points)]


def _pair(points: Sequence[Point]) -> list[Outline]:
    """A left-half shape and its mirror image on the right."""
    return [smooth_outline(points), smooth_outline(_mirror(points))]


def _sym(half: Sequence[Point]) -> list[Outline]:
    """One symmetric shape from its left half, listed from top-centre down to bottom-centre."""
    right = [(2 * _MID - p[0], *p[1:]) for p in reversed(half[1:-1])]
    return [smooth_outline([*half, *right])]


# --- Silhouette (same for both views; drawn under the regions) --------------------------------
# fmt: off

_HEAD = [(100, 5), (89, 8), (83, 17), (82, 26), (79, 28), (79, 35), (82, 39), (85, 45), (92, 50.5),
         (100, 52)]
_NECK = [(100, 40), (90, 42), (90, 56), (88, 64), (84, 72), (100, 76)]
_TORSO = [(100, 66), (88, 64), (76, 69), (62, 74), (54, 80), (58, 100), (65, 112), (67, 135),
          (69, 160), (71, 178), (66, 196), (60, 214), (60, 228), (72, 238), (88, 245), (100, 248)]
_UPPER_ARM = [(58, 73), (46, 82), (41, 100), (38, 122), (35, 145), (32, 165), (52, 168), (58, 145),
              (62, 125), (65, 108), (64, 88)]
_FOREARM = [(33, 158), (27, 180), (23, 205), (21, 233), (34, 235), (41, 212), (49, 186), (53, 162)]
_HAND = [(22, 228), (18.5, 246), (19, 262), (23, 275), (28, 278.5), (33, 275), (36, 261), (36, 245),
         (33.5, 228)]
_THIGH = [(60, 212), (56, 240), (57, 272), (62, 300), (68, 325), (95, 326), (96, 302), (98, 274),
          (99.5, 248), (96, 236), (80, 226)]
_SHIN = [(69, 318), (67, 340), (67, 360), (72, 386), (78, 410), (90, 412), (93, 390), (96, 362),
         (97, 340), (95, 318)]
_FOOT = [(78, 404), (74, 418), (72, 430), (80, 435), (96, 433), (97, 422), (93, 404)]

# fmt: on


def silhouette(view: str) -> list[Outline]:
    """Outlines of the body parts; their union is the figure (same for front and back)."""
    _check_view(view)
    return [
        *_sym(_NECK),
        *_sym(_TORSO),
        *_pair(_THIGH),
        *_pair(_SHIN),
        *_pair(_FOOT),
        *_pair(_UPPER_ARM),
        *_pair(_FOREARM),
        *_pair(_HAND),
        *_sym(_HEAD),
    ]


# --- Muscle regions ------------------------------------------------------------------------
# fmt: off

# Shared by both views (the arm and shoulder cap look alike from front and back).
_DELTOID = [(58, 76), (48, 84), (43, 98), (42, 116), (48, 128, 1), (56, 114), (61, 98), (62, 84)]
_FOREARM_MUSCLE = [(51, 167), (36, 168), (30, 182), (26, 202), (25, 216), (30, 222), (36, 220),
                   (41, 206), (48, 186)]
_WRIST = [(23, 223, 1), (22, 232, 1), (34, 233, 1), (37, 224, 1)]
_OUTER_THIGH = [(59, 228), (56.5, 250), (57.5, 276), (62, 300), (67, 314), (64, 290), (62, 266),
                (61.5, 244)]

_FRONT: dict[str, Sequence[Sequence[Point]]] = {
    "neck_head": [],  # head and neck are symmetric shapes, added below
    "chest": [[(98.5, 80, 1), (82, 77), (66, 84), (61, 97), (65, 111), (74, 120), (88, 122),
        (98.5, 117, 1)]],
    "shoulder": [_DELTOID],
    "biceps": [[(56, 120), (48, 126), (43, 140), (42, 153), (47, 161), (54, 158), (58, 145),
        (60, 130)]],
    "forearms": [_FOREARM_MUSCLE],
    "wrists": [_WRIST],
    "obliques": [[(68, 122), (69, 142), (71, 162), (72, 178), (69, 193), (76, 201), (83, 190),
        (83.5, 166), (82, 142), (76, 125)]],
    "upper_abdominis": [
        [(98.5, 125, 1), (88, 125), (86, 135), (87, 143), (98.5, 143, 1)],
        [(98.5, 146, 1), (87, 146), (86, 155), (87, 162), (98.5, 162, 1)],
        [(98.5, 165, 1), (87, 165), (86, 172), (87, 178), (98.5, 178, 1)],
    ],
    "lower_abdominis": [[(98.5, 182, 1), (87, 182), (86, 200), (89, 220), (95, 235),
        (98.5, 238, 1)]],
    "quadriceps": [[(64, 238), (60, 256), (61, 282), (66, 304), (74, 317), (86, 318), (91, 306),
        (90, 292), (86, 278), (84, 260), (86, 246), (76, 238)]],
    "inner_thigh": [[(98.5, 249), (91, 248), (87, 262), (88, 282), (93, 298), (96.5, 282),
        (98, 265)]],
    "outer_thigh": [_OUTER_THIGH],
    "calves": [[(95.5, 336), (92.5, 346), (92, 366), (94, 380), (96, 366), (96.5, 350)]],
    "feet_ankles": [
        [(72, 336), (69.5, 352), (71, 372), (77, 394), (82, 404), (85, 398), (84, 376), (81, 352),
         (78, 337)],
        [(79, 408), (75, 420), (74.5, 428), (82, 432), (95, 430.5), (95.5, 421), (92, 408)],
    ],
}

_BACK: dict[str, Sequence[Sequence[Point]]] = {
    "neck_head": [],
    "shoulder": [_DELTOID],
    "triceps": [[(56, 118), (47, 124), (42, 140), (40, 156), (45, 165), (54, 164), (59, 146),
        (61, 126)]],
    "forearms": [_FOREARM_MUSCLE],
    "wrists": [_WRIST],
    "latissimus": [[(65, 102), (67, 126), (70, 152), (76, 172), (87, 180, 1), (89, 160), (87, 146),
        (81, 122), (72, 100)]],
    "obliques": [[(72, 168), (71.5, 180), (67, 196), (76, 200), (84, 192), (80, 181)]],
    "lower_back": [[(98.5, 160, 1), (93, 160), (90, 174), (88, 194), (90, 210), (98.5, 214, 1)]],
    "gluteus": [[(63, 212), (60, 228), (64, 245), (76, 256), (92, 256), (98.5, 247, 1),
        (98.5, 220, 1), (90, 212), (76, 206)]],
    "hamstring": [[(66, 262), (64, 282), (68, 304), (76, 318), (86, 318), (91, 302), (92, 282),
        (91, 264), (80, 259)]],
    "inner_thigh": [[(98.5, 262), (95.5, 264), (95, 282), (96.5, 296), (98.5, 282)]],
    "outer_thigh": [_OUTER_THIGH],
    "calves": [
        [(80, 328), (72, 332), (68, 348), (70, 368), (78, 386, 1), (82, 366), (82.5, 342)],
        [(85, 328), (84.5, 342), (84, 366), (83, 388, 1), (90, 378), (94.5, 358), (95, 340),
         (92, 329)],
    ],
    "feet_ankles": [[(80, 394), (79, 410), (77, 424), (80, 433), (94, 432), (95, 420), (92, 408),
        (88, 394)]],
}

# The trapezius (upper back) is one diamond from the skull to the mid-back.
_TRAPEZIUS = [(100, 47), (93, 49), (90.5, 60), (80, 70), (63, 76), (59, 80), (70, 88), (81, 108),
              (91, 138), (100, 158)]
# The neck seen from the front: sternocleidomastoids framing the throat.
_NECK_FRONT = [(100, 54), (91, 50), (90.5, 60), (88, 68), (93, 75), (100, 77)]

# fmt: on


@cache
def regions(view: str) -> tuple[Region, ...]:
    """Muscle regions of a view, in drawing order (later ones on top)."""
    _check_view(view)
    table = _FRONT if view == "front" else _BACK
    out: list[Region] = []
    for group, shapes in table.items():
        for shape in shapes:
            out.extend(Region(group, view, o) for o in _pair(shape))
    if view == "front":
        out.extend(Region("neck_head", view, o) for o in _sym(_NECK_FRONT))
    else:
        out.extend(Region("upper_back", view, o) for o in _sym(_TRAPEZIUS))
    out.extend(Region("neck_head", view, o) for o in _sym(_HEAD))
    return tuple(out)


def details(view: str) -> list[np.ndarray]:
    """Thin decorative lines `(N, 2)` (navel, spine, knee caps) that help read the figure."""
    _check_view(view)
    lines: list[np.ndarray] = []
    if view == "front":
        navel = smooth_outline([(99, 179), (100, 177.5), (101, 179), (100, 181)])
        lines.append(_closed(navel.polygon(samples=6)))
        knee = _closed(_ellipse(82.5, 329, 5.5, 7.5))
        lines.extend([knee, np.c_[2 * _MID - knee[:, 0], knee[:, 1]]])
    else:
        lines.append(np.array([[100.0, 160.0], [100.0, 214.0]]))
    return lines


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 48) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.c_[cx + rx * np.cos(a), cy + ry * np.sin(a)]


def _closed(pts: np.ndarray) -> np.ndarray:
    return np.concatenate([pts, pts[:1]])


def _check_view(view: str) -> None:
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {VIEWS}")
