"""Summaries of 3D scene files: the walkable-floor height field computed from a scene's
triangles, saved next to the file (or in the cache, keyed by its SHA-256) and checked when
read.

Why a file: summarising needs Blender to read the scene, sampling recipes does not.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..errors import MayhemInputError
from .environment import (
    BUILTIN_ENVIRONMENTS,
    BUILTIN_PREFIX,
    CELL_EPS,
    CELL_M,
    HEADROOM_M,
    MAX_CELLS,
    MAX_FLOOR_HEIGHT_M,
    MAX_SLOPE_DEG,
    ROLE_CODES,
    SCENE_SUFFIXES,
    STEP_M,
    SUMMARY_SUFFIX,
    SUMMARY_VERSION,
    Environment,
)


# --------------------------------------------------------------------------- summariser
def _triangle_cells(lo, hi, origin, cell, shape, max_pairs=4_000_000):
    """Yield (tri_index, ix, iy) for every cell overlapping each triangle's XY bounding box
    (closed: a triangle touching a cell border belongs to both cells), in chunks."""
    ny, nx = shape
    ix0 = np.clip(np.floor((lo[:, 0] - origin[0]) / cell - CELL_EPS), 0, nx).astype(np.int64)
    ix1 = np.clip(np.floor((hi[:, 0] - origin[0]) / cell + CELL_EPS), -1, nx - 1).astype(np.int64)
    iy0 = np.clip(np.floor((lo[:, 1] - origin[1]) / cell - CELL_EPS), 0, ny).astype(np.int64)
    iy1 = np.clip(np.floor((hi[:, 1] - origin[1]) / cell + CELL_EPS), -1, ny - 1).astype(np.int64)
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
    from ..io.npz import save_npz

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


