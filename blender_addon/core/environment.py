"""Mesh environments without Blender: where people can stand, and where they cannot.

Recipes are sampled on machines without Blender, so placement needs a plain description of a
3D scene's ground. That description is an *environment summary*: a height field on a regular
XY grid (CELL_M cells) holding, per cell, the height of the walkable floor, or NaN where a
person cannot stand (no floor, too steep, or something in the way between STEP_M and
HEADROOM_M above the floor: walls, furniture, the inside of a solid). One representation
serves every source:

* the built-in procedural environments (``builtin:room``, ``builtin:courtyard``) are laid out
  here from a seed (`builtin_layout`), and their summary is computed analytically from the
  same boxes and quads that scene/environment.py builds in Blender;
* user scenes (.blend, glTF/GLB, FBX, USD) are summarised once inside Blender by
  ``mayhem prepare-scene FILE`` (scene/environment.py extracts the world-space triangles and
  calls `summarize_triangles` below), which writes ``FILE.mayhem.npz`` next to the file (or
  into the cache folder, keyed by the file's SHA-256). Sampling reads it and fails with a
  MayhemInputError naming the file when it is missing or stale.

The summariser works on triangles only: it ray-casts floor triangles downwards at every cell
centre (vectorised barycentric tests), rasterises every other triangle conservatively into
the cells it touches (so vertical walls, which a vertical ray never hits, still block), and
marks cells whose nearest surface above the floor is seen from behind (the inside of a closed
solid, e.g. a pillar standing on a ground plane). Floors must face up; faces whose normals
point the wrong way confuse the solid test, so objects can carry a custom property
``mayhem_role`` = 'floor' | 'obstacle' | 'ignore' to override the automatic roles.

Placement API used by core.recipe: `for_world`, `is_clear`, `ground_z`, `sample_spots`,
`floor_height`.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import MayhemInputError

SUMMARY_VERSION = 1
SUMMARY_SUFFIX = ".mayhem.npz"
CELL_M = 0.1            # grid resolution of summaries (coarsened for huge scenes, see MAX_CELLS)
MAX_CELLS = 4_000_000   # a 200 m x 200 m scene still fits at 0.1 m
STEP_M = 0.05           # geometry lower than this above the floor does not block (rugs, thresholds)
HEADROOM_M = 2.0        # geometry up to this height above the floor blocks a standing person
MAX_FLOOR_HEIGHT_M = 0.35  # upward faces up to this far from the ground level count as floor (steps, terraces)
MAX_SLOPE_DEG = 30.0    # steeper faces are not floor
ROLES = ("auto", "floor", "obstacle", "ignore")
ROLE_CODES = {name: i for i, name in enumerate(ROLES)}
BUILTIN_PREFIX = "builtin:"
BUILTIN_ENVIRONMENTS = ("room", "courtyard")
SCENE_SUFFIXES = (".blend", ".gltf", ".glb", ".fbx", ".usd", ".usda", ".usdc", ".usdz")
_EPS_CELLS = 1e-5       # triangles touching a cell border count for both cells (float32 vs float64 safe)


@dataclass
class Environment:
    """Walkable floor of a scene as a height field: height[iy, ix] is the floor height at the
    centre of cell (ix, iy), whose lower-left corner is origin + (ix, iy) * cell; NaN = no go."""

    ref: str
    origin: np.ndarray
    cell: float
    height: np.ndarray
    ground_z: float
    sha256: str | None = None
    layout: dict | None = None
    params: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.height.shape

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(X, Y) of every cell centre, each shaped like height."""
        ny, nx = self.height.shape
        xs = self.origin[0] + (np.arange(nx) + 0.5) * self.cell
        ys = self.origin[1] + (np.arange(ny) + 0.5) * self.cell
        return np.meshgrid(xs, ys)

    @property
    def walkable_area_m2(self) -> float:
        return float(np.isfinite(self.height).sum() * self.cell ** 2)


# ------------------------------------------------------------------------------ queries
def _cells_of(env: Environment, xy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ix, iy, inside) of the cells containing points xy (N, 2)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    ix = np.floor((xy[:, 0] - env.origin[0]) / env.cell).astype(np.int64)
    iy = np.floor((xy[:, 1] - env.origin[1]) / env.cell).astype(np.int64)
    ny, nx = env.height.shape
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    return ix, iy, inside


def floor_height(env: Environment, xy) -> np.ndarray:
    """Walkable floor height under each point (N, 2) -> (N,), NaN where a person cannot stand."""
    ix, iy, inside = _cells_of(env, xy)
    out = np.full(ix.shape, np.nan)
    out[inside] = env.height[iy[inside], ix[inside]]
    return out


@functools.lru_cache(maxsize=64)
def _disk_offsets(radius_cells: float) -> np.ndarray:
    """Cell offsets that may hold a point within radius_cells (in cells) of some point of the
    centre cell: conservative, so a clearance check never misses an obstacle."""
    r = int(np.ceil(radius_cells)) + 1
    d = np.arange(-r, r + 1)
    dx, dy = np.meshgrid(d, d)
    gap = np.maximum(np.abs(dx) - 1, 0) ** 2 + np.maximum(np.abs(dy) - 1, 0) ** 2
    keep = gap <= radius_cells ** 2
    return np.stack([dx[keep], dy[keep]], axis=1)


def is_clear(env: Environment, points_xy, radius_m: float = 0.1, max_step_m: float = 0.03) -> bool:
    """Whether a person covering points_xy (e.g. a whole sequence's root path or swept body
    footprint, (N, 2)) stays on walkable floor, at least radius_m from every obstacle and floor
    edge, on a floor whose height varies by at most max_step_m (motions are captured on flat
    ground: a clip cannot walk up a step)."""
    ix, iy, inside = _cells_of(env, points_xy)
    if not inside.all():
        return False
    ny, nx = env.height.shape
    keys = np.unique(iy * nx + ix)
    off = _disk_offsets(float(radius_m) / env.cell)
    cx = (keys % nx)[:, None] + off[None, :, 0]
    cy = (keys // nx)[:, None] + off[None, :, 1]
    if cx.min() < 0 or cy.min() < 0 or cx.max() >= nx or cy.max() >= ny:
        return False
    h = env.height[cy, cx]
    if not np.isfinite(h).all():
        return False
    return bool(h.max() - h.min() <= max_step_m)


def ground_z(env: Environment, points_xy) -> float:
    """Floor height a person covering points_xy stands on: the highest floor under them, so
    no foot sinks into it (is_clear already bounds the variation)."""
    h = floor_height(env, points_xy)
    if not np.isfinite(h).any():
        raise ValueError("no walkable floor under these points")
    return float(np.nanmax(h))


def clear_mask(env: Environment, radius_m: float, max_step_m: float = 0.03) -> np.ndarray:
    """(ny, nx) bool: cells whose centre has a flat, walkable square of half-width radius_m
    around it (contains the disk of that radius). Separable sliding min/max, cached per env."""
    key = (float(radius_m), float(max_step_m))
    cache = env.__dict__.setdefault("_clear_masks", {})
    if key not in cache:
        r = int(np.ceil(radius_m / env.cell - 1e-9))
        lo = np.where(np.isnan(env.height), -np.inf, env.height).astype(np.float64)
        hi = np.where(np.isnan(env.height), np.inf, env.height).astype(np.float64)
        for axis in (0, 1):
            pad = [(0, 0), (0, 0)]
            pad[axis] = (r, r)
            windows = np.lib.stride_tricks.sliding_window_view
            lo = windows(np.pad(lo, pad, constant_values=-np.inf), 2 * r + 1, axis=axis).min(axis=-1)
            hi = windows(np.pad(hi, pad, constant_values=np.inf), 2 * r + 1, axis=axis).max(axis=-1)
        cache[key] = np.isfinite(lo) & np.isfinite(hi) & (hi - lo <= max_step_m)
    return cache[key]


def sample_spots(env: Environment, rng, n: int = 1, clearance_m: float = 1.0, max_step_m: float = 0.03) -> np.ndarray:
    """n random cell centres (n, 2) with flat walkable floor within clearance_m around them."""
    mask = clear_mask(env, clearance_m, max_step_m)
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        raise MayhemInputError(env.ref, "world.scenes",
                               f"no walkable spot with {clearance_m:g} m of free floor around it")
    pick = idx[rng.integers(idx.size, size=n)]
    ny, nx = mask.shape
    return np.stack([env.origin[0] + (pick % nx + 0.5) * env.cell,
                     env.origin[1] + (pick // nx + 0.5) * env.cell], axis=1)


# --------------------------------------------------------------------------- summariser
def _triangle_cells(lo, hi, origin, cell, shape, max_pairs=4_000_000):
    """Yield (tri_index, ix, iy) for every cell overlapping each triangle's XY bounding box
    (closed: a triangle touching a cell border belongs to both cells), in chunks."""
    ny, nx = shape
    ix0 = np.clip(np.floor((lo[:, 0] - origin[0]) / cell - _EPS_CELLS), 0, nx).astype(np.int64)
    ix1 = np.clip(np.floor((hi[:, 0] - origin[0]) / cell + _EPS_CELLS), -1, nx - 1).astype(np.int64)
    iy0 = np.clip(np.floor((lo[:, 1] - origin[1]) / cell - _EPS_CELLS), 0, ny).astype(np.int64)
    iy1 = np.clip(np.floor((hi[:, 1] - origin[1]) / cell + _EPS_CELLS), -1, ny - 1).astype(np.int64)
    wx = np.maximum(ix1 - ix0 + 1, 0)
    wy = np.maximum(iy1 - iy0 + 1, 0)
    count = wx * wy
    start = 0
    T = len(count)
    while start < T:
        csum = np.cumsum(count[start:])
        stop = start + max(1, int(np.searchsorted(csum, max_pairs, side="right")))
        cnt = count[start:stop]
        tri = np.repeat(np.arange(start, stop), cnt)
        if tri.size:
            local = np.arange(tri.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            yield tri, ix0[tri] + local % wx[tri], iy0[tri] + local // wx[tri]
        start = stop


def _barycentric_hits(tris, tri, px, py):
    """(hit, z) of vertical rays through (px, py) against triangles tris[tri] (XY area > 0)."""
    a, b, c = tris[tri, 0], tris[tri, 1], tris[tri, 2]
    e1x, e1y = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    e2x, e2y = c[:, 0] - a[:, 0], c[:, 1] - a[:, 1]
    d = e1x * e2y - e1y * e2x
    qx, qy = px - a[:, 0], py - a[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        v = (qx * e2y - qy * e2x) / d
        w = (e1x * qy - e1y * qx) / d
        u = 1.0 - v - w
        tol = -1e-9
        hit = (np.abs(d) > 1e-12) & (u >= tol) & (v >= tol) & (w >= tol)
        z = u * a[:, 2] + v * b[:, 2] + w * c[:, 2]
    return hit, z


def _touches_cell(tris, tri, cx, cy, half):
    """Conservative 2D overlap of triangles' XY projections with square cells (separating
    axes: the triangle's edge normals; the box axes are covered by the bbox enumeration).
    A vertical triangle projects to a segment and still overlaps the cells it crosses."""
    p = tris[tri][:, :, :2]
    ok = np.ones(len(tri), dtype=bool)
    for k in range(3):
        e = p[:, (k + 1) % 3] - p[:, k]
        mx, my = -e[:, 1], e[:, 0]
        proj = p[:, :, 0] * mx[:, None] + p[:, :, 1] * my[:, None]
        centre = cx * mx + cy * my
        reach = (np.abs(mx) + np.abs(my)) * half
        tol = 1e-7 * (np.abs(mx) + np.abs(my)) * (1.0 + np.abs(cx) + np.abs(cy))
        ok &= (centre + reach >= proj.min(axis=1) - tol) & (centre - reach <= proj.max(axis=1) + tol)
    return ok


def summarize_triangles(tris, roles=None, *, ref: str = "<triangles>", cell: float = CELL_M,
                        ground: float | None = None, step_m: float = STEP_M, headroom_m: float = HEADROOM_M,
                        max_floor_height_m: float = MAX_FLOOR_HEIGHT_M, max_slope_deg: float = MAX_SLOPE_DEG,
                        sha256: str | None = None) -> Environment:
    """Environment summary of world-space triangles (T, 3, 3) with per-triangle roles
    (codes of ROLES; default all 'auto').

    Floor: upward faces (normal within max_slope_deg of +Z) of role 'floor', or of role 'auto'
    lying within max_floor_height_m of the ground level (the height with the largest upward
    area, unless `ground` is given). Each cell's floor is the highest floor triangle under its
    centre. A cell is then blocked (NaN) when any other triangle touching it spans heights
    between floor + step_m and floor + headroom_m, or when the nearest surface above its floor
    faces upwards (the floor continues inside a closed solid)."""
    tris = np.asarray(tris, dtype=np.float64).reshape(-1, 3, 3)
    roles = np.zeros(len(tris), np.int64) if roles is None else np.asarray(roles, np.int64).reshape(-1)
    keep = roles != ROLE_CODES["ignore"]
    tris, roles = tris[keep], roles[keep]
    n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    area2 = np.linalg.norm(n, axis=1)
    valid = area2 > 1e-12
    tris, roles, n, area2 = tris[valid], roles[valid], n[valid], area2[valid]
    nz = n[:, 2] / area2
    upward = nz >= np.cos(np.deg2rad(max_slope_deg))
    zc = tris[:, :, 2].mean(axis=1)
    if ground is None:
        cand = upward & ((roles == ROLE_CODES["auto"]) | (roles == ROLE_CODES["floor"]))
        if not cand.any():
            raise MayhemInputError(ref, "floor", "no upward-facing faces: nothing to stand on")
        bins = np.round(zc[cand] / 0.02).astype(np.int64)
        keys, inv = np.unique(bins, return_inverse=True)
        weight = np.bincount(inv, weights=np.abs(n[cand, 2]))
        ground = float(keys[int(np.argmax(weight))] * 0.02)
    zmin, zmax = tris[:, :, 2].min(axis=1), tris[:, :, 2].max(axis=1)
    floor = upward & ((roles == ROLE_CODES["floor"]) | (
        (roles == ROLE_CODES["auto"]) & (zmin >= ground - max_floor_height_m) & (zmax <= ground + max_floor_height_m)))
    if not floor.any():
        raise MayhemInputError(ref, "floor", f"no upward-facing faces near the ground level z = {ground:.2f} m")

    lo_all, hi_all = tris[:, :, :2].min(axis=1), tris[:, :, :2].max(axis=1)
    flo, fhi = lo_all[floor].min(axis=0), hi_all[floor].max(axis=0)
    while True:
        # snapped with a tolerance, so float32 copies of the same geometry get the same grid
        origin = np.floor(flo / cell + 1e-3) * cell - cell
        nx = int(np.ceil((fhi[0] - origin[0]) / cell - 1e-3)) + 1
        ny = int(np.ceil((fhi[1] - origin[1]) / cell - 1e-3)) + 1
        if nx * ny <= MAX_CELLS:
            break
        cell *= 2.0
    shape = (ny, nx)
    height = np.full(nx * ny, -np.inf)

    # 1. floor: highest floor triangle under each cell centre (a downward ray cast)
    fidx = np.flatnonzero(floor)
    ftris = tris[fidx]
    for tri, ix, iy in _triangle_cells(lo_all[fidx], hi_all[fidx], origin, cell, shape):
        px = origin[0] + (ix + 0.5) * cell
        py = origin[1] + (iy + 0.5) * cell
        hit, z = _barycentric_hits(ftris, tri, px, py)
        np.maximum.at(height, (iy * nx + ix)[hit], z[hit])
    height[~np.isfinite(height)] = np.nan

    # 2. everything else: blocks cells it touches within the body's height band, and tells
    #    whether a floor lies inside a solid (nearest surface above it seen from behind)
    oidx = np.flatnonzero(~floor)
    otris = tris[oidx]
    blocked = np.zeros(nx * ny, dtype=bool)
    near_z = np.full(nx * ny, np.inf)
    near_up = np.zeros(nx * ny, dtype=bool)
    ozmin, ozmax, oup = zmin[oidx], zmax[oidx], nz[oidx] > 1e-6
    for tri, ix, iy in _triangle_cells(lo_all[oidx], hi_all[oidx], origin, cell, shape):
        flat = iy * nx + ix
        h = height[flat]
        has_floor = np.isfinite(h)
        tri, ix, iy, flat, h = tri[has_floor], ix[has_floor], iy[has_floor], flat[has_floor], h[has_floor]
        px = origin[0] + (ix + 0.5) * cell
        py = origin[1] + (iy + 0.5) * cell
        band = (ozmax[tri] >= h + step_m) & (ozmin[tri] <= h + headroom_m)
        touch = band.copy()
        touch[band] = _touches_cell(otris, tri[band], px[band], py[band], cell / 2.0)
        blocked[flat[touch]] = True
        hit, z = _barycentric_hits(otris, tri, px, py)
        above = hit & (z > h + 1e-3)
        if above.any():
            f, zz, up = flat[above], z[above], oup[tri[above]]
            order = np.lexsort((~up, zz, f))  # nearest first; on ties the up-facing one wins
            f, zz, up = f[order], zz[order], up[order]
            first = np.r_[True, f[1:] != f[:-1]]
            f, zz, up = f[first], zz[first], up[first]
            closer = (zz < near_z[f]) | ((zz == near_z[f]) & up)
            near_z[f[closer]] = zz[closer]
            near_up[f[closer]] = up[closer]
    height[blocked | near_up] = np.nan
    params = {"step_m": step_m, "headroom_m": headroom_m, "max_floor_height_m": max_floor_height_m,
              "max_slope_deg": max_slope_deg, "triangles": int(len(tris))}
    return Environment(ref=ref, origin=origin.astype(np.float64), cell=float(cell),
                       height=height.reshape(shape).astype(np.float32), ground_z=float(ground),
                       sha256=sha256, params=params)


# ---------------------------------------------------------------------- summary files
def file_sha256(path) -> str:
    """SHA-256 of a file, cached per (path, size, mtime) so repeated sampling hashes once."""
    p = Path(path)
    st = p.stat()
    return _sha256_cached(str(p.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    """Folder of summaries written with --cache: $MAYHEM_CACHE/environments, else
    ~/.cache/mayhem/environments (for scene folders the user cannot write into)."""
    root = os.environ.get("MAYHEM_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "mayhem"
    return base / "environments"


def summary_paths(scene_file) -> list[Path]:
    """Where a scene's summary is looked for, in order: next to it, then the cache."""
    p = Path(scene_file)
    return [p.with_name(p.name + SUMMARY_SUFFIX), cache_dir() / f"{file_sha256(p)}.npz"]


def save_summary(path, env: Environment) -> Path:
    from .npzio import save_npz

    meta = {"version": SUMMARY_VERSION, "ref": env.ref, "sha256": env.sha256, "cell": env.cell,
            "ground_z": env.ground_z, "params": env.params}
    return save_npz(path, {"meta": np.array(json.dumps(meta, sort_keys=True)), "origin": env.origin,
                           "height": env.height})


def load_summary(path) -> Environment:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            origin, height = z["origin"].astype(np.float64), z["height"].astype(np.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise MayhemInputError(path, "summary", f"not a readable environment summary ({exc})") from None
    if meta.get("version") != SUMMARY_VERSION:
        raise MayhemInputError(path, "summary", f"summary version {meta.get('version')} (expected {SUMMARY_VERSION}); "
                                                "prepare the scene again")
    return Environment(ref=meta["ref"], origin=origin, cell=float(meta["cell"]), height=height,
                       ground_z=float(meta["ground_z"]), sha256=meta.get("sha256"), params=meta.get("params", {}))


def load_scene_summary(scene_file, config_path=None, field_name: str = "world.scenes") -> Environment:
    """The summary of a user scene file; MayhemInputError when it is missing or stale."""
    scene_file = Path(scene_file)
    if not scene_file.is_file():
        raise MayhemInputError(config_path, field_name, f"scene file {scene_file} not found")
    sha = file_sha256(scene_file)
    return _load_checked(str(scene_file.resolve()), sha, str(config_path) if config_path else None, field_name)


@functools.lru_cache(maxsize=16)
def _load_checked(scene_file: str, sha: str, config_path, field_name) -> Environment:
    stale = None
    for candidate in summary_paths(scene_file):
        if candidate.is_file():
            env = load_summary(candidate)
            if env.sha256 == sha:
                env.ref = scene_file
                return env
            stale = candidate
    why = (f"its summary {stale} was made from a different version of the file" if stale
           else "it has no environment summary")
    raise MayhemInputError(config_path, field_name,
                           f"{scene_file}: {why}; run `mayhem prepare-scene {scene_file}` (needs Blender) first")


def check_scene_ref(ref: str, config_path=None) -> str:
    """Normalise one world.scenes entry: 'builtin:NAME' or an absolute path of a scene file."""
    if ref.startswith(BUILTIN_PREFIX):
        name = ref[len(BUILTIN_PREFIX):]
        if name not in BUILTIN_ENVIRONMENTS:
            raise MayhemInputError(config_path, "world.scenes",
                                   f"no built-in environment {name!r} (have: {', '.join(BUILTIN_ENVIRONMENTS)})")
        return ref
    path = Path(ref).expanduser()
    if path.suffix.lower() not in SCENE_SUFFIXES:
        raise MayhemInputError(config_path, "world.scenes",
                               f"{ref}: not a scene file ({', '.join(SCENE_SUFFIXES)}) or builtin:room / builtin:courtyard")
    if not path.is_file():
        raise MayhemInputError(config_path, "world.scenes", f"scene file {path} not found")
    return str(path.resolve())


def for_world(world: dict, config_path=None) -> Environment | None:
    """The environment of a recipe's world (None for HDRI worlds: a flat, endless floor at z = 0)."""
    if world.get("kind", "hdri") != "mesh":
        return None
    ref = world["scene"]
    if ref.startswith(BUILTIN_PREFIX):
        return builtin_environment(ref[len(BUILTIN_PREFIX):], int(world["layout_seed"]))
    return load_scene_summary(ref, config_path)


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
    (boxes) or to the shown side (quads). scene/environment.py builds exactly these."""
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
