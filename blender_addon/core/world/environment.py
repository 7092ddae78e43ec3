"""Mesh environments without Blender: where people can stand, and where they cannot.

Recipes are sampled on machines without Blender, so placement needs a plain description of a
3D scene's ground. That description is an *environment summary*: a height field on a regular
XY grid (CELL_M cells) holding, per cell, the height of the walkable floor, or NaN where a
person cannot stand (no floor, too steep, or something in the way between STEP_M and
HEADROOM_M above the floor: walls, furniture, the inside of a solid). One representation
serves every source:

* the built-in procedural environments (``builtin:room``, ``builtin:courtyard``) are laid out
  here from a seed (`builtin_layout`), and their summary is computed analytically from the
  same boxes and quads that scene/world/environment.py builds in Blender;
* user scenes (.blend, glTF/GLB, FBX, USD) are summarised once inside Blender by
  ``mayhem prepare-scene FILE`` (scene/world/environment.py extracts the world-space triangles and
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
from dataclasses import dataclass, field

import numpy as np

from ..errors import MayhemInputError

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
CELL_EPS = 1e-5       # triangles touching a cell border count for both cells (float32 vs float64 safe)


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


