"""Triangle meshes as numpy arrays: normals, edges, boundary loops, components, area, and
cutting a mesh along the zero contour of a scalar field.

Why numpy: garments, hair and user outfits are built on machines without Blender (recipes,
tests), so the mesh maths cannot use bmesh.
"""
from __future__ import annotations

import numpy as np


# ============================================================================ mesh basics
def row_norms(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->i", a, a))


def unit_rows(a: np.ndarray) -> np.ndarray:
    n = row_norms(a)
    return a / np.maximum(n, 1e-20)[:, None]


def scatter_add(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum rows of `values` (K, C) into n bins by `index` (K,): bincount per column (fast)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        return np.bincount(index, weights=values, minlength=n)
    C = values.shape[1]
    flat = (np.asarray(index, dtype=np.int64)[:, None] * C + np.arange(C)).ravel()
    return np.bincount(flat, weights=values.ravel(), minlength=n * C).reshape(n, C)


def face_normals(V: np.ndarray, F: np.ndarray, unit: bool = True) -> np.ndarray:
    n = np.cross(V[F[:, 1]] - V[F[:, 0]], V[F[:, 2]] - V[F[:, 0]])
    return unit_rows(n) if unit else n


def vertex_normals(V: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals."""
    fn = face_normals(V, F, unit=False)
    vn = scatter_add(F.ravel(), np.repeat(fn, 3, axis=0), len(V))
    return unit_rows(vn)


def _corner_angles(V: np.ndarray, F: np.ndarray) -> np.ndarray:
    """(M, 3) interior angle at each corner."""
    out = np.empty(F.shape, dtype=np.float64)
    for k in range(3):
        a = V[F[:, (k + 1) % 3]] - V[F[:, k]]
        b = V[F[:, (k + 2) % 3]] - V[F[:, k]]
        cos = np.einsum("ij,ij->i", a, b) / np.maximum(row_norms(a) * row_norms(b), 1e-20)
        out[:, k] = np.arccos(np.clip(cos, -1.0, 1.0))
    return out


def angle_weighted_normals(V: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Unit vertex pseudo-normals (Bærentzen & Aanæs): the right sign test at a closest vertex."""
    fn = face_normals(V, F)
    ang = _corner_angles(V, F)
    vn = scatter_add(F.ravel(), (fn[:, None, :] * ang[:, :, None]).reshape(-1, 3), len(V))
    return unit_rows(vn)


def unique_edges(F: np.ndarray) -> np.ndarray:
    """(E, 2) undirected edges, smaller index first, sorted."""
    F = np.asarray(F, dtype=np.int64)
    if not F.size:
        return np.zeros((0, 2), dtype=np.int64)
    e = np.sort(np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]]), axis=1)
    n = int(F.max()) + 1
    key = np.unique(e[:, 0] * n + e[:, 1])
    return np.stack([key // n, key % n], axis=1)


def boundary_edges(F: np.ndarray) -> np.ndarray:
    """(B, 2) directed boundary half-edges (their reverse is in no face), in face orientation."""
    he = np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]])
    n = int(F.max()) + 1 if F.size else 0
    key = he[:, 0].astype(np.int64) * n + he[:, 1]
    rkey = he[:, 1].astype(np.int64) * n + he[:, 0]
    return he[~np.isin(key, rkey)]


def boundary_loops(F: np.ndarray) -> list[np.ndarray]:
    """Boundary loops as ordered vertex arrays (face orientation), longest first.

    A boundary vertex with two outgoing boundary half-edges (a pinch) would make loops
    ambiguous; the garment meshes here are manifold, and any leftover half-edges are dropped.
    """
    be = boundary_edges(F)
    nxt = {}
    for a, b in be.tolist():
        nxt.setdefault(a, b)
    loops, seen = [], set()
    for start in list(nxt):
        if start in seen:
            continue
        loop, v = [], start
        while v not in seen and v in nxt:
            seen.add(v)
            loop.append(v)
            v = nxt[v]
        if v == start and len(loop) >= 3:
            loops.append(np.array(loop, dtype=np.int64))
    loops.sort(key=len, reverse=True)
    return loops


def mesh_area(V: np.ndarray, F: np.ndarray) -> float:
    return float(0.5 * row_norms(face_normals(V, F, unit=False)).sum())


def _components(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected-component label per vertex (union-find with path halving, numpy-driven)."""
    parent = np.arange(n)
    edges = np.asarray(edges, dtype=np.int64)
    while True:
        a = parent[edges[:, 0]]
        b = parent[edges[:, 1]]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        changed = lo != hi
        if not changed.any():
            break
        np.minimum.at(parent, hi[changed], lo[changed])
        while True:  # full path compression
            pp = parent[parent]
            if np.array_equal(pp, parent):
                break
            parent = pp
    return parent


def largest_component(V: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the largest edge-connected piece; drop unreferenced vertices. Returns V, F, old index."""
    if not len(F):
        return V[:0], F, np.zeros(0, dtype=np.int64)
    comp = _components(len(V), unique_edges(F))
    fc = comp[F[:, 0]]
    labels, counts = np.unique(fc, return_counts=True)
    keep = F[fc == labels[np.argmax(counts)]]
    return compact(V, keep)


def compact(V: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    used = np.unique(F)
    remap = np.full(len(V), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return V[used], remap[F], used


# ============================================================================ cutting
def cut_mesh(V: np.ndarray, F: np.ndarray, phi: np.ndarray, snap: float = 0.25):
    """Keep the part of the surface where phi >= 0, cut along the zero contour (marching triangles).

    Vertices whose crossing would fall within `snap` of an edge's end are moved onto the contour
    (phi := 0) first, so the cut makes no sliver triangles. Returns (V, F) of the kept part,
    reduced to its largest connected piece.
    """
    phi = np.asarray(phi, dtype=np.float64).copy()
    e = unique_edges(F)
    pa, pb = phi[e[:, 0]], phi[e[:, 1]]
    cross = (pa * pb) < 0
    t = np.where(cross, pa / np.where(cross, pa - pb, 1.0), 0.5)
    phi[e[cross & (t < snap), 0]] = 0.0
    phi[e[cross & (t > 1 - snap), 1]] = 0.0
    sign = np.sign(phi).astype(np.int8)          # +1 keep, 0 on the contour, -1 drop
    n = len(V)
    new_pts: dict[tuple[int, int], int] = {}
    extra: list[np.ndarray] = []

    def crossing(a: int, b: int) -> int:
        key = (a, b) if a < b else (b, a)
        idx = new_pts.get(key)
        if idx is None:
            s = phi[a] / (phi[a] - phi[b])
            extra.append(V[a] + s * (V[b] - V[a]))
            idx = n + len(extra) - 1
            new_pts[key] = idx
        return idx

    s = sign[F]
    pos = (s > 0).sum(1)
    neg = (s < 0).sum(1)
    out = [F[(neg == 0) & (pos > 0)]]  # no corner dropped (and not all on the contour)
    tris = []
    for fi in np.flatnonzero((neg > 0) & (pos > 0)):
        f = F[fi].tolist()
        sg = s[fi].tolist()
        # Rotate so the pattern starts at a fixed corner, keeping orientation.
        if pos[fi] == 1:
            k = sg.index(1)
            a, b, c = f[k], f[(k + 1) % 3], f[(k + 2) % 3]
            sb, sc = sg[(k + 1) % 3], sg[(k + 2) % 3]
            pb_ = b if sb == 0 else crossing(a, b)
            pc_ = c if sc == 0 else crossing(a, c)
            tris.append((a, pb_, pc_))
        else:  # two positive corners, one negative
            k = sg.index(-1)
            c, a, b = f[k], f[(k + 1) % 3], f[(k + 2) % 3]
            pa_, pb_ = crossing(c, a), crossing(c, b)
            tris.append((a, b, pb_))
            tris.append((a, pb_, pa_))
    if tris:
        out.append(np.array(tris, dtype=np.int64))
    Fk = np.concatenate(out) if out else np.zeros((0, 3), dtype=np.int64)
    Vk = np.concatenate([V, np.array(extra).reshape(-1, 3)]) if extra else V.copy()
    Vc, Fc, _ = largest_component(Vk, Fk)
    return Vc, Fc


