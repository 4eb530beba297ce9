"""The things a TempoWorld is made of: named colours, backgrounds and shapes.

Object colours are saturated and far apart in RGB (every pair at least 95 apart, Euclidean), so an
object can be found in a decoded frame by its colour alone; backgrounds are muted (every object colour at
least 125 away from every background). Consecutive shots use backgrounds at least ``MIN_CUT_DISTANCE``
apart, so a hard cut is a large jump in frame difference. Shapes are convex pieces (a star is its pentagon plus five spikes, a
cross two bars) in a unit frame: ``radius`` 1 is roughly the size of a unit circle.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["BACKGROUNDS", "COLORS", "MIN_CUT_DISTANCE", "SHAPES", "SYMMETRY_DEG", "Shape", "bound_radius", "shape_pieces"]

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (230, 25, 25),
    "green": (20, 200, 40),
    "blue": (30, 70, 255),
    "yellow": (255, 225, 0),
    "purple": (150, 40, 230),
    "orange": (255, 130, 0),
    "cyan": (0, 215, 230),
    "pink": (255, 80, 200),
}

BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "dark grey": (45, 45, 45),
    "light grey": (175, 175, 175),
    "navy": (20, 25, 80),
    "brown": (90, 60, 35),
    "dark green": (25, 70, 45),
    "beige": (215, 205, 175),
    "maroon": (85, 20, 35),
    "slate": (80, 100, 115),
}

MIN_CUT_DISTANCE = 70.0

Shape = str
SHAPES: tuple[Shape, ...] = ("circle", "square", "triangle", "star", "cross")

# the rotation that maps a shape onto itself: a rotation by it is visible only while it happens
SYMMETRY_DEG: dict[Shape, float] = {"square": 90.0, "triangle": 120.0, "star": 72.0, "cross": 90.0}


def _regular(n: int, r: float, phase_deg: float) -> np.ndarray:
    """Vertices of a regular n-gon of circumradius ``r``, counter-clockwise in math axes (y up)."""
    a = np.deg2rad(phase_deg) + 2 * np.pi * np.arange(n) / n
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def _star_pieces(outer: float = 1.2, inner: float = 0.5) -> list[np.ndarray]:
    pent = _regular(5, inner, 90 + 36)  # inner pentagon, vertices between the spikes
    tips = _regular(5, outer, 90)
    pieces = [pent]
    for i in range(5):
        left, right = pent[(i - 1) % 5], pent[i]
        pieces.append(np.stack([right, tips[i], left]) if _ccw(np.stack([right, tips[i], left]))
                      else np.stack([left, tips[i], right]))
    return pieces


def _ccw(poly: np.ndarray) -> bool:
    x, y = poly[:, 0], poly[:, 1]
    return float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)) > 0


def _rect(hw: float, hh: float) -> np.ndarray:
    return np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]], dtype=np.float64)


_PIECES: dict[Shape, list[np.ndarray]] = {
    "square": [_rect(0.85, 0.85)],
    "triangle": [_regular(3, 1.2, 90)],
    "star": _star_pieces(),
    "cross": [_rect(1.05, 0.38), _rect(0.38, 1.05)],
}


def shape_pieces(shape: Shape) -> list[np.ndarray]:
    """Convex counter-clockwise polygons (unit size, y up) whose union is ``shape``; [] for a circle."""
    if shape == "circle":
        return []
    return _PIECES[shape]


def bound_radius(shape: Shape) -> float:
    """Radius of the smallest origin-centred circle holding the unit shape (for layout checks)."""
    if shape == "circle":
        return 1.0
    return max(float(np.max(np.hypot(p[:, 0], p[:, 1]))) for p in _PIECES[shape])


assert all(_ccw(p) for ps in _PIECES.values() for p in ps)
assert math.isclose(bound_radius("circle"), 1.0)
