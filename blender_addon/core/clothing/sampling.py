"""Draw each person's outfit for the recipe (pure numpy): which garments, their cut, fabric and look.

The recipe keeps every draw (kind, length, sleeve, looseness, fabric, colours, pattern seed), so
a sequence rebuilt from scene.json wears exactly the same clothes; the garment meshes themselves
are made from these numbers when the scene is built (core.clothing.garments, scene/dressing).

Recipe layout (see docs/format.md):

    recipe["clothing"] = {"preroll": 30, "settle": 5, "quality": 7, "collision_quality": 3,
                          "export_meshes": false}
    person["outfit"] = {"mode": "simulated" | "texture" | "none", "garments": [garment, ...]}
    garment = {"source": "procedural", "kind", "name", "looseness", "length", "sleeve",
               "target_vertices", "fabric", "look"}
            | {"source": "user", "manifest", "garment", "name", "kind", "fabric", "look"}
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..assets import config_relative
from ..errors import MayhemInputError
from .fabrics import KIND_FABRICS
from .looks import FABRIC_PATTERNS, sample_look

# Ranges each cut parameter is drawn from, per kind (fractions as in core.clothing.garments.GarmentSpec).
LENGTH_RANGE = {"tshirt": (0.3, 0.9), "longsleeve": (0.3, 0.9), "shorts": (0.2, 1.0),
                "trousers": (0.6, 1.0), "skirt": (0.0, 1.0), "dress": (0.0, 1.0)}
SLEEVE_RANGE = {"tshirt": (0.1, 0.45), "longsleeve": (0.75, 1.0), "dress": (0.0, 0.45)}


def clothing_settings(config) -> dict:
    """The sequence-level simulation settings the recipe carries (recipe["clothing"])."""
    c = config.clothing
    return {"preroll": int(c.preroll_frames), "settle": int(c.settle_frames), "quality": int(c.quality),
            "collision_quality": int(c.collision_quality), "export_meshes": bool(c.export_meshes)}


def _pick(rng, names: list, weights: list) -> str:
    p = np.asarray(weights if weights else [1.0] * len(names), dtype=np.float64)
    return str(names[int(rng.choice(len(names), p=p / p.sum()))])


def _fabric(rng, kind: str, allowed: list) -> str:
    suited = [f for f in KIND_FABRICS.get(kind, ()) if f in allowed] or list(allowed)
    return str(suited[int(rng.integers(len(suited)))])


def _look(rng, fabric: str, patterns: list) -> dict:
    usual = FABRIC_PATTERNS[fabric]
    names = [p for p in usual if p in patterns]
    if not names:
        return sample_look(rng, fabric, "solid")
    weights = np.array([usual[p] for p in names], dtype=np.float64)
    return sample_look(rng, fabric, names[int(rng.choice(len(names), p=weights / weights.sum()))])


def _uniform(rng, lo: float, hi: float) -> float:
    return round(float(rng.uniform(lo, hi)), 4)


def garment_entry(kind: str, fabric: str, look: dict, *, looseness: float, length: float | None,
                  sleeve: float | None, target_vertices: int) -> dict:
    """A procedural garment as the recipe holds it (length/sleeve None: the kind's default)."""
    return {"source": "procedural", "kind": kind, "name": kind, "looseness": looseness, "length": length,
            "sleeve": sleeve, "target_vertices": int(target_vertices), "fabric": fabric, "look": look}


def procedural_garment(rng, kind: str, config) -> dict:
    c = config.clothing
    fabric = _fabric(rng, kind, c.fabrics)
    looseness, length = _uniform(rng, *c.looseness), _uniform(rng, *LENGTH_RANGE[kind])
    sleeve = _uniform(rng, *SLEEVE_RANGE[kind]) if kind in SLEEVE_RANGE else 0.0
    return garment_entry(kind, fabric, _look(rng, fabric, c.patterns), looseness=looseness, length=length,
                         sleeve=sleeve, target_vertices=c.garment_vertices)


def _user_outfit(rng, manifest: tuple[Path, str], config, config_path) -> list[dict]:
    from .user_outfits import load_manifest  # numpy + yaml; parsed (not meshed) here

    path, ref = manifest
    outfit = load_manifest(path)
    garments = []
    for entry in outfit.garments:
        garments.append({"source": "user", "manifest": ref, "garment": entry.name,
                         "name": entry.name, "kind": entry.kind, "fabric": entry.fabric,
                         "look": _look(rng, entry.fabric, config.clothing.patterns)})
    return garments


def check_user_outfits(config, config_path=None) -> list[tuple[Path, str]]:
    """Every manifest in clothing.user_outfits parses (fail before anything renders); returns
    (file, recipe reference ``clothing.user_outfits[i]:NAME``) per manifest."""
    refs = []
    for i, entry in enumerate(config.clothing.user_outfits):
        path = config_relative(entry, config_path)
        if not path.is_file():
            raise MayhemInputError(config_path, f"clothing.user_outfits[{i}]", f"outfit manifest {path} not found")
        from .user_outfits import load_manifest
        load_manifest(path)
        refs.append((path, f"clothing.user_outfits[{i}]:{path.name}"))
    return refs


def sample_outfit(rng, config, user_outfits: list[tuple[Path, str]], config_path=None) -> dict:
    """One person's outfit; every draw comes from `rng` (the recipe's clothing stream), in a fixed
    order, so adding people or changing appearance never changes another person's clothes."""
    c = config.clothing
    dressed = rng.uniform() < c.probability
    texture = rng.uniform() < c.texture_probability
    user = rng.uniform() < c.user_outfit_probability
    dress = rng.uniform() < c.dress_probability
    if not dressed:
        return {"mode": "none", "garments": []}
    if user and user_outfits:
        manifest = user_outfits[int(rng.integers(len(user_outfits)))]
        return {"mode": "simulated", "garments": _user_outfit(rng, manifest, config, config_path)}
    if dress:
        kinds = ["dress"]
    else:
        kinds = [_pick(rng, c.bottoms, c.bottom_weights), _pick(rng, c.tops, c.top_weights)]
    if texture:  # painted clothing is tight: a painted skirt or dress would read as leggings anyway
        kinds = ["trousers" if k in ("skirt", "dress") else k for k in kinds]
        if kinds == ["trousers"]:
            kinds.append(_pick(rng, c.tops, c.top_weights))
    garments = [procedural_garment(rng, k, config) for k in kinds]
    return {"mode": "texture" if texture else "simulated", "garments": garments}
