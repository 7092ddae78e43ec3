"""The built-in procedural rooms (builtin:room, builtin:courtyard) laid out from a seed, and
the environment of a recipe's world, built-in or a summarised scene file.
"""
from __future__ import annotations

import functools

import numpy as np

from ..assets import resolve_ref
from ..errors import MayhemInputError
from .environment import BUILTIN_ENVIRONMENTS, BUILTIN_PREFIX, ROLE_CODES, Environment
from .scene_summary import load_scene_summary, summarize_triangles


def for_world(world, config_path=None, roots=None) -> Environment | None:
    """The environment of a recipe's world (core.recipe_types.WorldRecipe; None for HDRI
    worlds: a flat, endless floor at z = 0). `roots` resolve a user scene file's reference."""
    if world.kind != "mesh":
        return None
    ref = world.scene
    if ref.startswith(BUILTIN_PREFIX):
        return builtin_environment(ref[len(BUILTIN_PREFIX):], int(world.layout_seed))
    return load_scene_summary(resolve_ref(ref, roots, "world.scene"), config_path)


# ------------------------------------------------------------------ built-in layouts
# Every XY coordinate of a built-in layout is a whole number of decimetres, so no cell centre
# (odd multiples of 5 cm) ever lies on an edge and bpy's float32 copy summarises identically.
def _dm(rng, lo: float, hi: float) -> float:
    """Uniform draw snapped to whole decimetres (positions)."""
    return round(float(rng.uniform(lo, hi)) * 10) / 10


def _size(rng, lo: float, hi: float) -> float:
    """Uniform draw snapped to 0.2 m (sizes: a centred piece then has decimetre edges)."""
    return max(0.2, round(float(rng.uniform(lo, hi)) * 5) / 5)


def _box(name, role, material, x0, y0, z0, x1, y1, z1) -> dict:
    return {"name": name, "role": role, "material": material,
            "box": [round(v, 4) for v in (x0, y0, z0, x1, y1, z1)]}


def _quad(name, role, material, corners) -> dict:
    """Corners counter-clockwise as seen from the side the face shows (its normal)."""
    return {"name": name, "role": role, "material": material, "quad": [[round(c, 4) for c in p] for p in corners]}


def part_mesh(part: dict) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """(vertices (N, 3), quad faces) of a layout part, faces wound so normals point outwards
    (boxes) or to the shown side (quads). scene/world/environment.py builds exactly these."""
    if "quad" in part:
        return np.asarray(part["quad"], dtype=np.float64), [(0, 1, 2, 3)]
    x0, y0, z0, x1, y1, z1 = part["box"]
    v = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], dtype=np.float64)
    faces = [(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)]
    return v, faces


def layout_triangles(layout: dict) -> tuple[np.ndarray, np.ndarray]:
    """(triangles (T, 3, 3), role codes (T,)) of every part of a layout."""
    tris, roles = [], []
    for part in layout["parts"]:
        v, faces = part_mesh(part)
        for f in faces:
            for k in range(1, len(f) - 1):
                tris.append(v[[f[0], f[k], f[k + 1]]])
                roles.append(ROLE_CODES[part["role"]])
    return np.asarray(tris), np.asarray(roles, np.int64)


_PALETTES = {
    "wood": [(0.42, 0.26, 0.14), (0.55, 0.38, 0.22), (0.30, 0.18, 0.10), (0.62, 0.48, 0.32)],
    "plaster": [(0.80, 0.78, 0.74), (0.70, 0.72, 0.75), (0.78, 0.70, 0.60), (0.62, 0.66, 0.60)],
    "tiles": [(0.75, 0.75, 0.72), (0.35, 0.36, 0.38), (0.60, 0.50, 0.42)],
    "concrete": [(0.55, 0.55, 0.53), (0.45, 0.44, 0.42)],
    "stone": [(0.58, 0.54, 0.48), (0.48, 0.46, 0.44), (0.66, 0.60, 0.50)],
    "paving": [(0.52, 0.48, 0.44), (0.60, 0.56, 0.50), (0.45, 0.42, 0.40)],
    "grass": [(0.20, 0.32, 0.10), (0.26, 0.36, 0.14)],
    "fabric": [(0.30, 0.35, 0.55), (0.55, 0.20, 0.18), (0.35, 0.45, 0.30), (0.45, 0.42, 0.40)],
    "metal": [(0.30, 0.30, 0.32), (0.55, 0.56, 0.58)],
    "soil": [(0.22, 0.15, 0.09)],
}


def _material(rng, kind: str) -> dict:
    pal = _PALETTES[kind]
    base = np.asarray(pal[int(rng.integers(len(pal)))])
    color = np.clip(base * rng.uniform(0.85, 1.15, size=3), 0.02, 0.95)
    return {"kind": kind, "color": [round(float(c), 4) for c in color], "seed": int(rng.integers(1000))}


def _outer_ground(parts, hx, hy, material, far=150.0):
    """Ground around the interior (not walkable: people stay inside), so a camera outside the
    walls does not look into the void."""
    for name, (xa, ya, xb, yb) in {"ground_s": (-far, -far, far, -hy), "ground_n": (-far, hy, far, far),
                                   "ground_w": (-far, -hy, -hx, hy), "ground_e": (hx, -hy, far, hy)}.items():
        parts.append(_quad(name, "ignore", material, [(xa, ya, 0), (xb, ya, 0), (xb, yb, 0), (xa, yb, 0)]))


def _walls(parts, hx, hy, height, material):
    """Four single-sided walls facing inwards (the camera sees through their backs)."""
    corners = [(-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy)]
    for k, name in enumerate(("wall_s", "wall_e", "wall_n", "wall_w")):
        (xa, ya), (xb, yb) = corners[k], corners[(k + 1) % 4]
        parts.append(_quad(name, "obstacle", material, [(xb, yb, 0), (xa, ya, 0), (xa, ya, height), (xb, yb, height)]))


def _furniture(rng, kind, x, y, turn, top, materials) -> list[dict]:
    """Boxes of one furniture piece centred at (x, y), turned 90 degrees when `turn`."""
    def rect(cx, cy, w, d):  # footprint in the piece's frame -> world, decimetre aligned
        if turn:
            w, d, cx, cy = d, w, -cy, cx
        return x + cx - w / 2, y + cy - d / 2, x + cx + w / 2, y + cy + d / 2

    out = []
    def add(name, mat, r, z0, z1):
        out.append(_box(name, "obstacle", mat, r[0], r[1], z0, r[2], r[3], z1))

    if kind == "table":
        w, d, h = _size(rng, 1.0, 1.8), _size(rng, 0.6, 1.0), 0.75
        add("top", "wood", rect(0, 0, w, d), h - 0.04, h)
        for sx in (-1, 1):
            for sy in (-1, 1):
                add("leg", "wood", rect(sx * (w / 2 - 0.05), sy * (d / 2 - 0.05), 0.1, 0.1), 0.0, h - 0.04)
    elif kind == "bench":
        w, d, h = _size(rng, 1.2, 2.0), 0.4, 0.45
        add("seat", "wood", rect(0, 0, w, d), h - 0.05, h)
        for sx in (-1, 1):
            add("side", "metal", rect(sx * (w / 2 - 0.05), 0, 0.1, d), 0.0, h - 0.05)
    elif kind == "crate":
        w, d = _size(rng, 0.4, 1.0), _size(rng, 0.4, 1.0)
        h = round(float(rng.uniform(0.4, 1.0)), 2)
        add("crate", "wood", rect(0, 0, w, d), 0.0, h)
        if rng.uniform() < 0.4:
            add("crate_top", "wood", rect(0, 0, max(0.2, w - 0.2), max(0.2, d - 0.2)), h, h + round(float(rng.uniform(0.3, 0.6)), 2))
    elif kind == "pillar":
        s = _size(rng, 0.4, 0.6)
        add("pillar", "stone" if "stone" in materials else "plaster", rect(0, 0, s, s), 0.0, top - 0.002)
    elif kind == "shelf":
        w, d, h = _size(rng, 0.8, 1.6), 0.4, round(float(rng.uniform(1.7, 2.2)), 2)
        add("shelf", "wood", rect(0, 0, w, d), 0.0, h)
    elif kind == "sofa":
        w = _size(rng, 1.6, 2.2)
        add("sofa_seat", "fabric", rect(0, 0.1, w, 0.6), 0.0, 0.45)
        add("sofa_back", "fabric", rect(0, -0.3, w, 0.2), 0.0, 0.85)
    elif kind == "planter":
        w, d = _size(rng, 0.8, 1.6), _size(rng, 0.8, 1.6)
        h = round(float(rng.uniform(0.4, 0.8)), 2)
        add("planter", "stone", rect(0, 0, w, d), 0.0, h)
        add("soil", "soil", rect(0, 0, w - 0.2, d - 0.2), h, h + 0.02)
    else:
        raise ValueError(kind)
    return out


def _footprint(boxes) -> tuple[float, float, float, float]:
    b = np.asarray([p["box"] for p in boxes])
    return b[:, 0].min(), b[:, 1].min(), b[:, 3].max(), b[:, 4].max()


def _place_furniture(rng, parts, kinds, weights, count, hx, hy, top, materials):
    """Pieces at random decimetre positions, 90-degree turns, kept 0.8 m apart (walkways)
    and inside the walls; shelves stand against a wall."""
    taken = []
    p = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    for k in range(count):
        kind = kinds[int(rng.choice(len(kinds), p=p))]
        for _ in range(50):
            turn = bool(rng.integers(2))
            sub = np.random.default_rng(rng.integers(2**31))
            if kind == "shelf":  # back against a random wall
                side = int(rng.integers(4))
                span = 0.6 * (hx if side % 2 == 0 else hy)
                along = _dm(rng, -span, span)
                if side % 2 == 0:
                    x, y, turn = along, (-hy + 0.2) if side == 0 else (hy - 0.2), False
                else:
                    x, y, turn = (-hx + 0.2) if side == 1 else (hx - 0.2), along, True
                margin = 0.0
            else:
                x, y, margin = _dm(rng, -hx + 1.0, hx - 1.0), _dm(rng, -hy + 1.0, hy - 1.0), 0.3
            boxes = _furniture(sub, kind, x, y, turn, top, materials)
            x0, y0, x1, y1 = _footprint(boxes)
            if x0 < -hx + margin or x1 > hx - margin or y0 < -hy + margin or y1 > hy - margin:
                continue
            if any(x0 < b[2] + 0.8 and x1 > b[0] - 0.8 and y0 < b[3] + 0.8 and y1 > b[1] - 0.8 for b in taken):
                continue
            taken.append((x0, y0, x1, y1))
            for j, b in enumerate(boxes):
                b["name"] = f"{kind}_{k:02d}_{b['name']}_{j}"
            parts.extend(boxes)
            break


def builtin_layout(name: str, seed: int) -> dict:
    """The procedural room or courtyard of a seed: parts (boxes and single-sided quads with a
    role and a material key), materials and lights. Plain JSON data; deterministic."""
    rng = np.random.default_rng([int(seed), BUILTIN_ENVIRONMENTS.index(name)])
    parts: list[dict] = []
    if name == "room":
        hx, hy = _dm(rng, 4.5, 7.0), _dm(rng, 3.5, 5.5)
        top = round(float(rng.uniform(2.8, 3.4)), 2)
        materials = {"floor": _material(rng, ["wood", "tiles", "concrete"][int(rng.integers(3))]),
                     "wall": _material(rng, "plaster"), "ceiling": _material(rng, "plaster"),
                     "wood": _material(rng, "wood"), "metal": _material(rng, "metal"),
                     "fabric": _material(rng, "fabric"), "plaster": _material(rng, "plaster"),
                     "outside": _material(rng, "concrete")}
        parts.append(_quad("floor", "floor", "floor", [(-hx, -hy, 0), (hx, -hy, 0), (hx, hy, 0), (-hx, hy, 0)]))
        parts.append(_quad("ceiling", "obstacle", "ceiling", [(-hx, -hy, top), (-hx, hy, top), (hx, hy, top), (hx, -hy, top)]))
        _walls(parts, hx, hy, top, "wall")
        _outer_ground(parts, hx, hy, "outside")
        _place_furniture(rng, parts, ("table", "bench", "crate", "pillar", "shelf", "sofa"),
                         (3, 2, 3, 1, 2, 2), int(rng.integers(4, 9)), hx, hy, top, materials)
        n_lights = int(rng.integers(2, 5))
        lights = []
        for k in range(n_lights):
            lx = float((k + 0.5) / n_lights * 2 * hx - hx) if hx >= hy else 0.0
            ly = 0.0 if hx >= hy else float((k + 0.5) / n_lights * 2 * hy - hy)
            lights.append({"type": "AREA", "location": [round(lx, 3), round(ly, 3), round(top - 0.02, 3)],
                           "size": round(float(rng.uniform(0.8, 1.5)), 2),
                           "power_w": round(float(rng.uniform(0.8, 1.2) * 4.5 * (4 * hx * hy) / n_lights), 1),
                           "color": [1.0, round(float(rng.uniform(0.85, 1.0)), 3), round(float(rng.uniform(0.7, 1.0)), 3)]})
    elif name == "courtyard":
        hx, hy = _dm(rng, 6.0, 10.0), _dm(rng, 6.0, 10.0)
        top = round(float(rng.uniform(3.0, 5.0)), 2)
        materials = {"floor": _material(rng, "paving"), "wall": _material(rng, ["plaster", "stone"][int(rng.integers(2))]),
                     "wood": _material(rng, "wood"), "metal": _material(rng, "metal"), "stone": _material(rng, "stone"),
                     "soil": _material(rng, "soil"), "outside": _material(rng, "grass")}
        parts.append(_quad("floor", "floor", "floor", [(-hx, -hy, 0), (hx, -hy, 0), (hx, hy, 0), (-hx, hy, 0)]))
        _walls(parts, hx, hy, top, "wall")
        _outer_ground(parts, hx, hy, "outside")
        _place_furniture(rng, parts, ("bench", "planter", "pillar", "table", "crate"),
                         (3, 3, 2, 1, 1), int(rng.integers(4, 9)), hx, hy, top, materials)
        lights = [{"type": "SUN", "elevation_deg": round(float(rng.uniform(25, 70)), 2),
                   "azimuth_deg": round(float(rng.uniform(0, 360)), 2),
                   "strength": round(float(rng.uniform(2.0, 4.0)), 3), "angle_deg": 1.0,
                   "color": [1.0, round(float(rng.uniform(0.9, 1.0)), 3), round(float(rng.uniform(0.8, 0.95)), 3)]}]
    else:
        raise MayhemInputError(f"{BUILTIN_PREFIX}{name}", "world.scenes",
                               f"no built-in environment {name!r} (have: {', '.join(BUILTIN_ENVIRONMENTS)})")
    return {"name": name, "seed": int(seed), "half_extent": [hx, hy], "height": top,
            "parts": parts, "materials": materials, "lights": lights}


@functools.lru_cache(maxsize=32)
def builtin_environment(name: str, seed: int) -> Environment:
    """Analytic summary of a built-in layout (no Blender): the same triangles Blender renders."""
    layout = builtin_layout(name, seed)
    tris, roles = layout_triangles(layout)
    env = summarize_triangles(tris, roles, ref=f"{BUILTIN_PREFIX}{name}", ground=0.0)
    env.layout = layout
    return env
