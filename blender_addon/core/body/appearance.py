"""Appearance draws of one person: skin tone, hair (style, colour, shape parameters), shoes.

Pure numpy, so the recipe sampler can run without Blender. Every draw lands in the recipe
(scene.json) as plain numbers and names, and scene/body/hair.py, scene/body/shoes.py and scene/body/skin.py
build exactly that, so a person's look is reproducible from scene.json alone.

Why these distributions:
* Skin: BEDLAM's lesson is that models trained on synthetic people generalise across skin tones
  only if all of them are in the data, so by default a Monk Skin Tone level (1..10) is drawn
  uniformly and the tone is drawn inside that level's band; every level gets the same share.
* Hair colour: the Principled Hair BSDF's melanin parametrisation (Chiang et al. 2016, as in
  Cycles) spans natural colours with two numbers, so each named colour is a box in
  (melanin, melanin redness).
* Each of skin, hair and shoes draws from its own child generator seeded by one integer taken
  from the caller's generator: a person always consumes exactly three draws of the caller's
  stream, whatever the config, so changing hair options never changes skin tones.
"""
from __future__ import annotations

import numpy as np

from ..errors import MayhemInputError

MONK_LEVELS = 10

# --------------------------------------------------------------------------------- hair
HAIR_STYLES = ("buzz", "short", "medium", "bob", "long", "ponytail", "bun", "curly")
BALD = "bald"

# Per style, uniform ranges of the shape parameters scene/body/hair.py reads (metres unless noted).
#   length_m: strand length along the strand (bob/long: before the cut line)
#   cut_below_eyes_m: bob and long hair are cut at this height below the eyes (None: no cut)
#   curl_radius_m / curl_period_m: helix radius and pitch around the strand's path (0: straight)
#   volume_m: extra distance the hair keeps from the scalp (how "full" it looks)
#   tail_length_m: ponytail length below the tie; bun_radius_m: radius of the bun
HAIR_STYLE_PARAMS = {
    "buzz":     {"length_m": (0.004, 0.010)},
    "short":    {"length_m": (0.035, 0.070), "volume_m": (0.002, 0.008)},
    "medium":   {"length_m": (0.09, 0.15), "volume_m": (0.003, 0.010)},
    "bob":      {"length_m": (0.22, 0.30), "cut_below_eyes_m": (0.06, 0.10), "volume_m": (0.004, 0.012)},
    "long":     {"length_m": (0.32, 0.50), "cut_below_eyes_m": (0.30, 0.42), "volume_m": (0.004, 0.012)},
    "ponytail": {"tail_length_m": (0.15, 0.32), "tie_elevation_deg": (-5.0, 25.0)},
    "bun":      {"bun_radius_m": (0.030, 0.042), "tie_elevation_deg": (35.0, 60.0)},
    "curly":    {"length_m": (0.06, 0.13), "curl_radius_m": (0.004, 0.009), "curl_period_m": (0.012, 0.024),
                 "volume_m": (0.010, 0.025)},
}

HAIR_COLOURS = ("black", "brown", "blond", "red", "grey")
# (melanin, melanin redness) boxes; grey is little pigment and no redness.
HAIR_COLOUR_PARAMS = {
    "black": {"melanin": (0.88, 1.0), "melanin_redness": (0.05, 0.25)},
    "brown": {"melanin": (0.55, 0.85), "melanin_redness": (0.20, 0.50)},
    "blond": {"melanin": (0.15, 0.38), "melanin_redness": (0.20, 0.50)},
    "red":   {"melanin": (0.38, 0.60), "melanin_redness": (0.80, 1.0)},
    "grey":  {"melanin": (0.02, 0.2), "melanin_redness": (0.0, 0.15)},
}

# ------------------------------------------------------------------------------- shoes
SHOE_KINDS = ("sneaker", "boot", "flat")
BAREFOOT = "none"
# top_m: height of the shoe's opening above the sole; sole_m: height of the sole band;
# margin_m: thickness of the upper around the foot.
SHOE_KIND_PARAMS = {
    "sneaker": {"top_m": (0.060, 0.080), "sole_m": (0.015, 0.025), "margin_m": (0.005, 0.008)},
    "boot":    {"top_m": (0.16, 0.26), "sole_m": (0.010, 0.020), "margin_m": (0.005, 0.008)},
    "flat":    {"top_m": (0.028, 0.038), "sole_m": (0.005, 0.009), "margin_m": (0.003, 0.005)},
}
# Palettes in sRGB (0..255): upper colours per kind, sole colours per kind.
SHOE_PALETTES = {
    "sneaker": {"upper": {"white": (235, 235, 232), "black": (25, 25, 28), "grey": (128, 130, 134),
                          "navy": (30, 40, 80), "red": (170, 30, 35), "blue": (40, 90, 170),
                          "beige": (200, 180, 150)},
                "sole": {"white": (240, 240, 236), "black": (20, 20, 20), "gum": (150, 100, 55)}},
    "boot": {"upper": {"brown": (95, 58, 30), "dark brown": (55, 35, 22), "black": (22, 20, 20),
                       "tan": (160, 110, 65)},
             "sole": {"black": (20, 20, 20), "brown": (60, 40, 25)}},
    "flat": {"upper": {"black": (20, 20, 22), "beige": (205, 175, 145), "red": (150, 25, 35),
                       "navy": (30, 38, 75), "brown": (110, 70, 40)},
             "sole": {"black": (25, 25, 25), "tan": (170, 130, 90)}},
}


def _srgb_to_linear(c) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def monk_level(tone: float) -> int:
    """Monk Skin Tone level (1..10) whose swatch is nearest to tone ∈ [0, 1] on scene/skin's scale."""
    return int(np.clip(np.rint(float(tone) * (MONK_LEVELS - 1)), 0, MONK_LEVELS - 1)) + 1


def monk_band(level: int) -> tuple[float, float]:
    """Tones whose nearest swatch is `level`: half-way to each neighbouring swatch."""
    step = 1.0 / (MONK_LEVELS - 1)
    return max(0.0, (level - 1.5) * step), min(1.0, (level - 0.5) * step)


def hair_albedo_rgb(melanin: float, melanin_redness: float) -> np.ndarray:
    """Approximate diffuse linear-RGB colour of a mass of hair with these melanin parameters.

    Uses the absorption coefficients of eumelanin and pheomelanin that Cycles' Principled
    Hair BSDF uses (d'Eon et al. 2011) and the same melanin → concentration mapping, with a
    fixed optical path of two fibre widths. It colours the scalp under the strands and the
    solid-view colour; the strands themselves are shaded by the hair BSDF.
    """
    melanin = float(np.clip(melanin, 0.0, 1.0))
    qty = -np.log(max(1.0 - melanin, 1e-4))
    eu, pheo = qty * (1.0 - melanin_redness), qty * melanin_redness
    sigma = eu * np.array([0.419, 0.697, 1.37]) + pheo * np.array([0.187, 0.4, 1.05])
    return 0.7 * np.exp(-2.0 * sigma)


def _weights(values, names, field: str) -> np.ndarray:
    """Normalised probabilities; an empty list means equal weights."""
    w = np.asarray(values if len(values) else [1.0] * len(names), dtype=np.float64)
    if w.shape != (len(names),) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise MayhemInputError(None, field, f"need {len(names)} non-negative weights (one per entry), not all zero; got {list(values)}")
    return w / w.sum()


def _pick(rng, names, weights):
    """One name with the given probabilities (inverse CDF of one uniform draw)."""
    cdf = np.cumsum(weights)
    return names[min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(names) - 1)]


def _uniform(rng, bounds) -> float:
    lo, hi = bounds
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


def sample_skin(tone_range, mode: str, textures, rng) -> dict:
    """Skin draw: tone on the Monk scale (see module doc), optional texture, variation seed."""
    lo, hi = float(tone_range[0]), float(tone_range[1])
    if mode == "monk_levels":
        levels = [k for k in range(1, MONK_LEVELS + 1)
                  if min(monk_band(k)[1], hi) >= max(monk_band(k)[0], lo)]
        level = levels[int(rng.integers(len(levels)))]
        a, b = monk_band(level)
        tone = _uniform(rng, (max(a, lo), min(b, hi)))
    elif mode == "uniform":
        tone = _uniform(rng, (lo, hi))
    else:
        raise MayhemInputError(None, "appearance.skin_tone_sampling", f"must be monk_levels or uniform, got {mode!r}")
    return {"tone": tone, "monk_level": monk_level(tone),
            "texture": textures[int(rng.integers(len(textures)))] if textures else None,
            "seed": int(rng.integers(2**31))}


def sample_hair(appearance, rng) -> dict:
    """Hair draw: style (or bald), shape parameters of that style, colour, strand density."""
    style_w = _weights(appearance.hair_style_weights, appearance.hair_styles, "appearance.hair_style_weights")
    colour_w = _weights(appearance.hair_colour_weights, appearance.hair_colours, "appearance.hair_colour_weights")
    bald = bool(rng.uniform() < appearance.bald_probability)
    style = _pick(rng, list(appearance.hair_styles), style_w)
    colour = _pick(rng, list(appearance.hair_colours), colour_w)
    cp = HAIR_COLOUR_PARAMS[colour]
    hair = {"style": BALD if bald else style, "colour": colour,
            "melanin": _uniform(rng, cp["melanin"]), "melanin_redness": _uniform(rng, cp["melanin_redness"]),
            "roughness": _uniform(rng, (0.25, 0.40)), "random_colour": _uniform(rng, (0.05, 0.25)),
            "part_x": _uniform(rng, (-0.6, 0.6)),
            "density": float(appearance.hair_density), "seed": int(rng.integers(2**31))}
    if not bald:
        for name, bounds in HAIR_STYLE_PARAMS[style].items():
            hair[name] = _uniform(rng, bounds)
    return hair


def sample_shoes(appearance, rng) -> dict:
    """Shoe draw: kind (or none), colours from the kind's palette with a small jitter, sizes."""
    kind_w = _weights(appearance.shoe_kind_weights, appearance.shoe_kinds, "appearance.shoe_kind_weights")
    barefoot = bool(rng.uniform() < appearance.barefoot_probability)
    kind = _pick(rng, list(appearance.shoe_kinds), kind_w)
    palette = SHOE_PALETTES[kind]
    upper_name = _pick(rng, list(palette["upper"]), np.full(len(palette["upper"]), 1.0 / len(palette["upper"])))
    sole_name = _pick(rng, list(palette["sole"]), np.full(len(palette["sole"]), 1.0 / len(palette["sole"])))
    jitter = rng.uniform(0.9, 1.1, size=3)
    upper = np.clip(np.asarray(palette["upper"][upper_name]) / 255.0 * jitter, 0.0, 1.0)
    shoes = {"kind": BAREFOOT if barefoot else kind, "colour": upper_name, "sole_colour": sole_name,
             "rgb": [float(c) for c in _srgb_to_linear(upper)],
             "sole_rgb": [float(c) for c in _srgb_to_linear(np.asarray(palette["sole"][sole_name]) / 255.0)],
             "roughness": _uniform(rng, (0.35, 0.75))}
    for name, bounds in SHOE_KIND_PARAMS[kind].items():
        shoes[name] = _uniform(rng, bounds)
    return shoes


def sample_appearance(body_config, appearance_config, rng, textures) -> dict:
    """One person's appearance: {"skin": ..., "hair": ..., "shoes": ...} for the recipe.

    `body_config` gives the skin tone range (body.skin_tone), `appearance_config` the rest;
    `textures` are resolved user skin textures (may be empty).
    """
    s_skin, s_hair, s_shoes = (int(x) for x in rng.integers(2**63 - 1, size=3))
    return {"skin": sample_skin(body_config.skin_tone, appearance_config.skin_tone_sampling, textures,
                                np.random.default_rng(s_skin)),
            "hair": sample_hair(appearance_config, np.random.default_rng(s_hair)),
            "shoes": sample_shoes(appearance_config, np.random.default_rng(s_shoes))}
