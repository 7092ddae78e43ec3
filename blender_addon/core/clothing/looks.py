"""Garment looks: colour and print pattern per fabric, drawn from a seeded generator.
"""
from __future__ import annotations

import numpy as np

from ..errors import MayhemInputError
from .fabrics import FABRICS

# ================================================================================ looks
PATTERNS = ("solid", "stripes", "plaid", "denim", "prints")
# Colour ranges per fabric, HSV in [0, 1] (hue wraps): (hue lo, hue hi), (sat lo, hi), (value lo, hi).
# Denim is indigo; leather runs from tan to black; the rest take any hue, wool muted, silk vivid.
COLOR_RANGES = {
    "cotton": ((0.0, 1.0), (0.05, 0.75), (0.15, 0.95)),
    "denim": ((0.56, 0.64), (0.35, 0.75), (0.12, 0.55)),
    "silk": ((0.0, 1.0), (0.3, 0.9), (0.3, 0.95)),
    "wool": ((0.0, 1.0), (0.05, 0.45), (0.12, 0.8)),
    "leather": ((0.02, 0.1), (0.2, 0.7), (0.03, 0.45)),
}
# Which patterns each fabric takes, with probabilities.
FABRIC_PATTERNS = {
    "cotton": {"solid": 0.45, "stripes": 0.2, "plaid": 0.15, "prints": 0.2},
    "denim": {"denim": 1.0},
    "silk": {"solid": 0.5, "prints": 0.3, "stripes": 0.2},
    "wool": {"solid": 0.5, "plaid": 0.3, "stripes": 0.2},
    "leather": {"solid": 1.0},
}


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6.0) % 6
    f = h * 6.0 - int(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def sample_color(rng: np.random.Generator, fabric: str) -> list[float]:
    """An sRGB colour (3 floats in [0, 1]) from the fabric's colour range."""
    (h0, h1), (s0, s1), (v0, v1) = COLOR_RANGES.get(fabric, COLOR_RANGES["cotton"])
    h = rng.uniform(h0, h1) % 1.0
    return [round(float(c), 4) for c in _hsv_to_rgb(h, rng.uniform(s0, s1), rng.uniform(v0, v1))]


def sample_look(rng: np.random.Generator, fabric: str, pattern: str | None = None) -> dict:
    """A JSON-ready description of a fabric's look for the recipe (scene/fabric_materials builds
    it): pattern, two sRGB colours, the pattern's period (m, on UVs in metres) and its own seed."""
    if fabric not in FABRICS:
        raise MayhemInputError(None, "garment.fabric", f"{fabric!r} is not one of {tuple(FABRICS)}")
    if pattern is None:
        table = FABRIC_PATTERNS[fabric]
        names = list(table)
        pattern = names[int(rng.choice(len(names), p=np.array(list(table.values())) / sum(table.values())))]
    if pattern not in PATTERNS:
        raise MayhemInputError(None, "garment.pattern", f"{pattern!r} is not one of {PATTERNS}")
    base = sample_color(rng, fabric)
    second = sample_color(rng, "cotton" if fabric == "denim" else fabric)
    if pattern == "denim":
        second = [round(min(1.0, 0.55 + 0.45 * c), 4) for c in base]   # faded warp/weft highlight
    period = {"solid": 0.0, "stripes": rng.uniform(0.006, 0.05), "plaid": rng.uniform(0.03, 0.12),
              "denim": 0.0025, "prints": rng.uniform(0.012, 0.04)}[pattern]
    return {"pattern": pattern, "color": base, "color2": second, "period": round(float(period), 5),
            "stripe_ratio": round(float(rng.uniform(0.2, 0.6)), 3), "seed": int(rng.integers(0, 2**31 - 1))}
