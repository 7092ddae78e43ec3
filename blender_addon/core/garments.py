"""Procedural garments cut from the body's own surface (pure numpy).

Why cut from the body: a garment made this way fits any body shape (free body or SMPL-X, any
betas) with no template to refit, and it can be skinned by copying the body's weights, so the
fallback "garment bound to the skin" is just the armature-deformed garment.

Reference pose. Garments are made on the shaped body posed in a *reference pose*, by default
'A' (upper arms lowered 45° from the T-pose), and carried back to the zero pose by inverse
skinning (`Garment.bind_vertices`, the mesh the armature deforms). Measured on the free body
walking (walk_straight, T-shirt of 2 000 vertices, quality 5, collision quality 2, 30 pre-roll
frames): made in the T-pose, the cloth that bridges the armpit is squeezed between arm and
torso when the arms come down, a median 1.1 % (max 1.4 %) of its vertices ended inside the
body and the worst edge stretched 2.1×; made in the A-pose, 0.24 % (max 0.49 %) and 1.8×.
The pre-roll then starts from the reference pose (core.fabrics.preroll_params), where the
garment is exactly its rest shape.

How a garment is made (:func:`make_garment`):

1. **Region**: a scalar field on the posed body's vertices, positive where the garment covers
   the skin: the minimum of plane cuts placed from the shaped joints (hem height, sleeve end
   along the shoulder→wrist axis inside the arm's cylinder, waist and leg ends) and a smoothed
   part-label indicator (the neckline is the smoothed border of the ``neck``/``head`` labels;
   hands, feet and head are never covered). The body mesh is cut along the field's zero
   contour, so hems are clean curves, not the body's jagged edges.
2. **Remesh**: the cut surface is remeshed isotropically (split / collapse / flip / tangential
   relaxation, projected back onto the cut surface; boundaries slide along the hem curves) to a
   uniform triangle mesh with the edge length that gives ``target_vertices`` — cloth springs
   behave best on near-equilateral triangles of one size.
3. **Inflate**: vertices are moved out to ``clearance`` (1 cm plus looseness) and smoothed under
   the constraint "at least clearance outside the body" (and, for an outer layer, "at least a
   gap outside the inner garment"): the garment shrink-wraps the body's convex parts and
   bridges its concave ones (spine groove, armpits, crotch), as cloth does.
4. Skirts (and the skirt of a dress) are not cut from the legs but built as a tube on the
   convex hull of the body's cross-sections, flared below the hips, joined to the cut bodice.

The result (:class:`Garment`) carries per-corner UVs in metres (cylindrical per region: torso
about the vertical axis with the seam at the back, sleeves about the arm axis with the seam
underneath, trouser legs about the leg axis with the seam inside), pin weights (waistband for
bottoms, a band around the neckline for tops and dresses) and skin weights interpolated from
the nearest body triangle and smoothed over the garment (so bridging cloth does not tear when
skinned).
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from .errors import MayhemInputError
from .skeleton import JOINT_INDEX, NUM_JOINTS, PART_INDEX, PART_NAMES

GARMENT_KINDS = ("tshirt", "longsleeve", "shorts", "trousers", "skirt", "dress")
TOP_KINDS = ("tshirt", "longsleeve")
BOTTOM_KINDS = ("shorts", "trousers", "skirt")
# Defaults per kind: (length, sleeve); parameters are fractions in [0, 1], see GarmentSpec.
_DEFAULTS = {
    "tshirt": (0.7, 0.3), "longsleeve": (0.7, 1.0), "shorts": (0.5, 0.0),
    "trousers": (1.0, 0.0), "skirt": (0.4, 0.0), "dress": (0.5, 0.25),
}
# Sleeve ranges per kind: a T-shirt's sleeve never reaches the elbow, a long sleeve always does.
_SLEEVE_RANGE = {"tshirt": (0.0, 0.45), "longsleeve": (0.55, 1.0), "dress": (0.0, 0.45)}

BASE_CLEARANCE = 0.010   # m between skin and garment at rest: > cloth collision distance + body thickness
LOOSENESS_CLEARANCE = 0.03  # m added at looseness 1
LAYER_GAP = 0.010        # m between an inner and an outer garment where they overlap
PIN_BAND = 0.035         # m: width of the pinned band along the waistband / neckline
DEFAULT_TARGET_VERTICES = 3000


# ============================================================================ mesh basics
def _rows_norm(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->i", a, a))


def _unit(a: np.ndarray) -> np.ndarray:
    n = _rows_norm(a)
    return a / np.maximum(n, 1e-20)[:, None]


def _scatter_add(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum rows of `values` (K, C) into n bins by `index` (K,): bincount per column (fast)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        return np.bincount(index, weights=values, minlength=n)
    return np.stack([np.bincount(index, weights=values[:, c], minlength=n)
                     for c in range(values.shape[1])], axis=1)


def face_normals(V: np.ndarray, F: np.ndarray, unit: bool = True) -> np.ndarray:
    n = np.cross(V[F[:, 1]] - V[F[:, 0]], V[F[:, 2]] - V[F[:, 0]])
    return _unit(n) if unit else n


def vertex_normals(V: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals."""
    fn = face_normals(V, F, unit=False)
    vn = _scatter_add(F.ravel(), np.repeat(fn, 3, axis=0), len(V))
    return _unit(vn)


def _corner_angles(V: np.ndarray, F: np.ndarray) -> np.ndarray:
    """(M, 3) interior angle at each corner."""
    out = np.empty(F.shape, dtype=np.float64)
    for k in range(3):
        a = V[F[:, (k + 1) % 3]] - V[F[:, k]]
        b = V[F[:, (k + 2) % 3]] - V[F[:, k]]
        cos = np.einsum("ij,ij->i", a, b) / np.maximum(_rows_norm(a) * _rows_norm(b), 1e-20)
        out[:, k] = np.arccos(np.clip(cos, -1.0, 1.0))
    return out


def angle_weighted_normals(V: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Unit vertex pseudo-normals (Bærentzen & Aanæs): the right sign test at a closest vertex."""
    fn = face_normals(V, F)
    ang = _corner_angles(V, F)
    vn = _scatter_add(F.ravel(), (fn[:, None, :] * ang[:, :, None]).reshape(-1, 3), len(V))
    return _unit(vn)


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
    return float(0.5 * _rows_norm(face_normals(V, F, unit=False)).sum())


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


# ======================================================================= spatial queries
class PointGrid:
    """Nearest point among many (uniform hash grid; brute force where the grid cannot be sure).

    scipy's KD-tree is not available inside a user's Blender, and brute force over a 13k-vertex
    body for every garment vertex of every frame would dominate the checks.
    """

    def __init__(self, points: np.ndarray, cell: float):
        self.points = np.asarray(points, dtype=np.float64)
        self.cell = float(cell)
        self.origin = self.points.min(axis=0) - self.cell
        ijk = np.floor((self.points - self.origin) / self.cell).astype(np.int64)
        self.dims = ijk.max(axis=0) + 2
        key = self._key(ijk)
        self.order = np.argsort(key, kind="stable")
        self.sorted_key = key[self.order]

    def _key(self, ijk: np.ndarray) -> np.ndarray:
        return ijk[:, 0] + self.dims[0] * (ijk[:, 1] + self.dims[1] * ijk[:, 2])

    @staticmethod
    def _ring(r: int) -> np.ndarray:
        """Cell offsets at Chebyshev distance exactly r (r = 1 includes the centre cell)."""
        k = np.arange(-r, r + 1)
        o = np.stack(np.meshgrid(k, k, k, indexing="ij"), axis=-1).reshape(-1, 3)
        cheb = np.abs(o).max(axis=1)
        return o[(cheb == r) | (cheb < 1)] if r == 1 else o[cheb == r]

    def _scan(self, Q, sel, offs, best_i, best_d) -> None:
        """Update the best match of queries `sel` with the points in cells `offs` around them."""
        nq, K = len(sel), len(offs)
        ijk = np.floor((Q[sel] - self.origin) / self.cell).astype(np.int64)
        cells = ijk[:, None, :] + offs[None]
        valid = np.all((cells >= 0) & (cells < self.dims), axis=2)
        keys = self._key(np.where(valid[..., None], cells, 0).reshape(-1, 3)).reshape(nq, K)
        start = np.searchsorted(self.sorted_key, keys, side="left")
        stop = np.searchsorted(self.sorted_key, keys, side="right")
        counts = np.where(valid, stop - start, 0).ravel()
        total = int(counts.sum())
        if not total:
            return
        pair = np.repeat(np.arange(nq * K), counts)
        first = np.cumsum(counts) - counts
        within = np.arange(total) - np.repeat(first, counts)
        pidx = self.order[start.ravel()[pair] + within]
        qloc = pair // K
        d2 = np.sum((Q[sel][qloc] - self.points[pidx]) ** 2, axis=1)
        # Pairs come grouped by query, so per-query minima are one reduceat.
        tot = counts.reshape(nq, K).sum(axis=1)
        has = np.flatnonzero(tot)
        gstart = (np.cumsum(tot) - tot)[has]
        mins = np.minimum.reduceat(d2, gstart)
        hit = np.flatnonzero(d2 == np.repeat(mins, tot[has]))
        q_of_hit, first_hit = np.unique(qloc[hit], return_index=True)
        cand_i = pidx[hit[first_hit]]
        cand_d = np.sqrt(d2[hit[first_hit]])
        tgt = sel[q_of_hit]
        better = cand_d < best_d[tgt]
        best_i[tgt[better]] = cand_i[better]
        best_d[tgt[better]] = cand_d[better]

    def nearest(self, queries: np.ndarray, max_ring: int = 6,
                max_dist: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(index, distance) of the nearest point for each query.

        Scans cells in growing rings; after ring r every point within r·cell is seen, so a
        query is settled once its best distance is ≤ r·cell. Queries still open after
        `max_ring` rings are settled by brute force. With `max_dist`, queries with nothing that
        close get index -1 and distance inf (no brute force).
        """
        Q = np.asarray(queries, dtype=np.float64)
        n = len(Q)
        best_i = np.full(n, -1, dtype=np.int64)
        best_d = np.full(n, np.inf)
        pending = np.arange(n)
        for r in range(1, max_ring + 1):
            if not len(pending):
                break
            self._scan(Q, pending, self._ring(r), best_i, best_d)
            pending = pending[best_d[pending] > r * self.cell]
            if max_dist is not None and r * self.cell >= max_dist:
                far = best_d > max_dist
                best_i[far], best_d[far] = -1, np.inf
                return best_i, best_d
        for c0 in range(0, len(pending), 256):
            sel = pending[c0:c0 + 256]
            d2 = np.sum((Q[sel, None, :] - self.points[None]) ** 2, axis=2)
            j = np.argmin(d2, axis=1)
            best_i[sel] = j
            best_d[sel] = np.sqrt(d2[np.arange(len(sel)), j])
        return best_i, best_d


def closest_on_triangles(P, A, B, C):
    """Closest point on triangle (A, B, C) to P, row-wise (Ericson, Real-Time Collision Detection).

    Returns (Q, bary (K,3), feature) with feature 0/1/2 = vertex A/B/C, 3/4/5 = edge AB/BC/CA,
    6 = face interior: the feature picks the pseudo-normal for the inside test.
    """
    ab, ac, ap = B - A, C - A, P - A
    d1 = np.einsum("ij,ij->i", ab, ap)
    d2 = np.einsum("ij,ij->i", ac, ap)
    bp = P - B
    d3 = np.einsum("ij,ij->i", ab, bp)
    d4 = np.einsum("ij,ij->i", ac, bp)
    cp = P - C
    d5 = np.einsum("ij,ij->i", ab, cp)
    d6 = np.einsum("ij,ij->i", ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    K = len(P)
    bary = np.zeros((K, 3))
    feat = np.full(K, 6, dtype=np.int8)
    done = np.zeros(K, dtype=bool)

    def assign(mask, b, f):
        m = mask & ~done
        bary[m] = b[m] if np.ndim(b) == 2 else b
        feat[m] = f
        done[m] = True

    with np.errstate(divide="ignore", invalid="ignore"):
        assign((d1 <= 0) & (d2 <= 0), np.array([1.0, 0, 0]), 0)
        assign((d3 >= 0) & (d4 <= d3), np.array([0, 1.0, 0]), 1)
        v = d1 / (d1 - d3)
        assign((vc <= 0) & (d1 >= 0) & (d3 <= 0), np.stack([1 - v, v, 0 * v], 1), 3)
        assign((d6 >= 0) & (d5 <= d6), np.array([0, 0, 1.0]), 2)
        w = d2 / (d2 - d6)
        assign((vb <= 0) & (d2 >= 0) & (d6 <= 0), np.stack([1 - w, 0 * w, w], 1), 5)
        w = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        assign((va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0), np.stack([0 * w, 1 - w, w], 1), 4)
        denom = va + vb + vc
        denom = np.where(np.abs(denom) < 1e-30, 1e-30, denom)
        v, w = vb / denom, vc / denom
        assign(np.ones(K, dtype=bool), np.stack([1 - v - w, v, w], 1), 6)
    bary = np.nan_to_num(bary, nan=1.0 / 3.0)
    Q = bary[:, :1] * A + bary[:, 1:2] * B + bary[:, 2:] * C
    return Q, bary, feat


class SurfaceQuery:
    """Closest point and inside/outside on a triangle mesh with fixed topology.

    Candidates for a query are the faces around the nearest vertex's one-ring (its "2-ring
    faces"); the sign of (p - q) against the pseudo-normal of the closest feature (face, edge or
    vertex) decides inside/outside, exact for a closed mesh when q is the true closest point.
    `update` moves the vertices (one call per frame) and keeps the topology tables.
    """

    def __init__(self, V: np.ndarray, F: np.ndarray, cell: float | None = None):
        self.F = np.asarray(F, dtype=np.int64)
        n = int(np.asarray(V).shape[0])
        # Faces around each vertex, then around each of its one-ring neighbours.
        vf_v = self.F.ravel()
        vf_f = np.repeat(np.arange(len(self.F)), 3)
        order = np.argsort(vf_v, kind="stable")
        vf_v, vf_f = vf_v[order], vf_f[order]
        e = unique_edges(self.F)
        nbr = np.concatenate([e, e[:, ::-1], np.stack([np.arange(n)] * 2, 1)])  # incl. self
        starts = np.searchsorted(vf_v, nbr[:, 1], "left")
        stops = np.searchsorted(vf_v, nbr[:, 1], "right")
        cnt = stops - starts
        rep = np.repeat(np.arange(len(nbr)), cnt)
        first = np.cumsum(cnt) - cnt
        within = np.arange(cnt.sum()) - np.repeat(first, cnt)
        pv = nbr[rep, 0]
        pf = vf_f[starts[rep] + within]
        key = np.unique(pv * len(self.F) + pf)
        pv, pf = key // len(self.F), key % len(self.F)
        deg = np.bincount(pv, minlength=n)
        self.cand = np.full((n, max(int(deg.max()), 1)), -1, dtype=np.int64)
        col = np.arange(len(pv)) - np.repeat(np.cumsum(deg) - deg, deg)
        self.cand[pv, col] = pf
        # Neighbouring face across each (face, local edge k = corners k, k+1).
        he = np.stack([self.F, np.roll(self.F, -1, axis=1)], axis=2).reshape(-1, 2)
        m = max(n, 1)
        hk = he[:, 0] * m + he[:, 1]
        rk = he[:, 1] * m + he[:, 0]
        srt = np.argsort(hk)
        pos = np.searchsorted(hk[srt], rk)
        pos = np.minimum(pos, len(hk) - 1)
        found = hk[srt][pos] == rk
        self.across = np.where(found, srt[pos] // 3, -1).reshape(-1, 3)
        self._cell = cell
        self.update(V)

    def update(self, V: np.ndarray) -> None:
        self.V = np.asarray(V, dtype=np.float64)
        self.fn = face_normals(self.V, self.F)
        self.vn = angle_weighted_normals(self.V, self.F)
        if self._cell is None:
            el = _rows_norm(self.V[self.F[:, 1]] - self.V[self.F[:, 0]])
            self._cell = float(np.clip(2.0 * np.median(el), 0.01, 0.1))
        self.grid = PointGrid(self.V, self._cell)

    def closest(self, P: np.ndarray):
        """(Q, face, bary, signed distance): negative inside (behind the surface)."""
        P = np.asarray(P, dtype=np.float64)
        near, _ = self.grid.nearest(P)
        cand = self.cand[near]                                        # (n, K)
        qi, ci = np.nonzero(cand >= 0)
        f = cand[qi, ci]
        T = self.F[f]
        Q, bary, feat = closest_on_triangles(P[qi], self.V[T[:, 0]], self.V[T[:, 1]], self.V[T[:, 2]])
        d2 = np.sum((P[qi] - Q) ** 2, axis=1)
        o = np.lexsort((d2, qi))
        head = np.ones(len(o), dtype=bool)
        head[1:] = qi[o][1:] != qi[o][:-1]
        best = o[head]                       # one per query, queries in order 0..n-1
        Qb, fb, bb, featb = Q[best], f[best], bary[best], feat[best]
        # Pseudo-normal of the closest feature.
        normal = self.fn[fb].copy()
        is_v = featb <= 2
        if is_v.any():
            normal[is_v] = self.vn[self.F[fb[is_v], featb[is_v]]]
        is_e = (featb >= 3) & (featb <= 5)
        if is_e.any():
            k = featb[is_e] - 3
            other = self.across[fb[is_e], k]
            en = self.fn[fb[is_e]] + np.where((other >= 0)[:, None], self.fn[np.maximum(other, 0)], 0.0)
            normal[is_e] = en
        d = P - Qb
        dist = _rows_norm(d)
        sign = np.where(np.einsum("ij,ij->i", d, normal) < 0, -1.0, 1.0)
        return Qb, fb, bb, sign * dist

    def normal_at(self, face: np.ndarray, bary: np.ndarray) -> np.ndarray:
        """Smooth (interpolated vertex pseudo-normal) unit normal at surface points."""
        n = np.einsum("ij,ijk->ik", bary, self.vn[self.F[face]])
        return _unit(n)


def closest_on_segments(P: np.ndarray, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Closest point on the nearest of the segments (A_i, B_i), brute force (few segments)."""
    out = np.empty_like(P)
    ab = B - A
    ll = np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-30)
    for c0 in range(0, len(P), 512):
        p = P[c0:c0 + 512]
        t = np.clip(np.einsum("pij,ij->pi", p[:, None, :] - A[None], ab) / ll, 0.0, 1.0)
        q = A[None] + t[..., None] * ab[None]
        d2 = np.sum((p[:, None, :] - q) ** 2, axis=2)
        j = np.argmin(d2, axis=1)
        out[c0:c0 + 512] = q[np.arange(len(p)), j]
    return out


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


# ============================================================================ remeshing
class _DynMesh:
    """Triangle mesh with vertex→face sets, for local edits (split, collapse, flip) in Python.

    Garments have a few thousand vertices; plain Python on lists beats numpy on 3-vectors here.
    """

    def __init__(self, V: np.ndarray, F: np.ndarray):
        self.P = [tuple(p) for p in np.asarray(V, dtype=np.float64).tolist()]
        self.F = [list(f) for f in np.asarray(F).tolist()]
        self.alive = [True] * len(self.F)
        self.vf = [set() for _ in self.P]
        for i, f in enumerate(self.F):
            for v in f:
                self.vf[v].add(i)
        self.bnd = [False] * len(self.P)
        for a, b in boundary_edges(np.asarray(F)).tolist():
            self.bnd[a] = self.bnd[b] = True

    # -- small vector helpers
    @staticmethod
    def _sub(a, b):
        return (a[0] - b[0], a[1] - b[1], a[2] - b[2])

    @staticmethod
    def _cross(a, b):
        return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])

    @staticmethod
    def _dot(a, b):
        return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]

    def _d2(self, a, b):
        d = self._sub(self.P[a], self.P[b])
        return self._dot(d, d)

    def _normal(self, pa, pb, pc):
        return self._cross(self._sub(pb, pa), self._sub(pc, pa))

    def edges(self):
        es = set()
        for i, f in enumerate(self.F):
            if self.alive[i]:
                a, b, c = f
                es.add((a, b) if a < b else (b, a))
                es.add((b, c) if b < c else (c, b))
                es.add((c, a) if c < a else (a, c))
        return es

    def nbrs(self, v):
        s = set()
        for fi in self.vf[v]:
            s.update(self.F[fi])
        s.discard(v)
        return s

    def _add_face(self, f):
        self.F.append(list(f))
        self.alive.append(True)
        i = len(self.F) - 1
        for v in f:
            self.vf[v].add(i)
        return i

    def _kill_face(self, i):
        self.alive[i] = False
        for v in self.F[i]:
            self.vf[v].discard(i)

    # -- operations
    def split(self, a, b):
        faces = self.vf[a] & self.vf[b]
        pa, pb = self.P[a], self.P[b]
        self.P.append(((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2, (pa[2] + pb[2]) / 2))
        self.vf.append(set())
        self.bnd.append(len(faces) == 1)
        m = len(self.P) - 1
        out = [(a, m), (m, b)]
        for fi in list(faces):
            f = self.F[fi]
            k = f.index(a)
            if f[(k + 1) % 3] == b:
                x, y, c = a, b, f[(k + 2) % 3]
            else:
                x, y, c = b, a, f[(k + 1) % 3]
            self._kill_face(fi)
            self._add_face((x, m, c))
            self._add_face((m, y, c))
            out.append((m, c))
        return out

    def split_long(self, hi: float) -> None:
        """Split edges longer than `hi`, longest first (longest-edge bisection: always
        terminates and never makes needles, unlike splitting in arbitrary order)."""
        hi2 = hi * hi
        heap = [(-d2, e) for e in self.edges() if (d2 := self._d2(*e)) > hi2]
        heapq.heapify(heap)
        while heap:
            _, (a, b) = heapq.heappop(heap)
            if not (self.vf[a] & self.vf[b]) or self._d2(a, b) <= hi2:
                continue
            for e in self.split(a, b):
                d2 = self._d2(*e)
                if d2 > hi2:
                    heapq.heappush(heap, (-d2, e))

    def _valence(self, v):
        return len(self.vf[v]) + (1 if self.bnd[v] else 0)

    def try_collapse(self, a, b, hi2) -> bool:
        """Collapse edge (a, b): `a` disappears, `b` moves to the new position."""
        shared = self.vf[a] & self.vf[b]
        if not shared:
            return False
        is_bedge = len(shared) == 1
        if self.bnd[a] and self.bnd[b]:
            if not is_bedge:
                return False
            pa, pb = self.P[a], self.P[b]
            p = ((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2, (pa[2] + pb[2]) / 2)
        elif self.bnd[a]:
            a, b = b, a
            p = self.P[b]
        elif self.bnd[b]:
            p = self.P[b]
        else:
            pa, pb = self.P[a], self.P[b]
            p = ((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2, (pa[2] + pb[2]) / 2)
        na, nb = self.nbrs(a), self.nbrs(b)
        opp = set()
        for fi in shared:
            opp.update(self.F[fi])
        opp -= {a, b}
        if (na & nb) != opp:
            return False  # link condition: the collapse would make the surface non-manifold
        for c in opp:
            if len(self.vf[c]) <= (1 if self.bnd[c] else 2) + 1:
                return False  # c would be left with too few faces
        if len(self.vf[a]) + len(self.vf[b]) - 2 * len(shared) < 2:
            return False
        for w in na | nb:
            if w in (a, b):
                continue
            d = self._sub(self.P[w], p)
            if self._dot(d, d) > hi2:
                return False
        # No face may flip or degenerate.
        for v in (a, b):
            for fi in self.vf[v] - shared:
                f = self.F[fi]
                old = [self.P[u] for u in f]
                new = [p if u in (a, b) else self.P[u] for u in f]
                n0 = self._normal(*old)
                n1 = self._normal(*new)
                l0 = math.sqrt(self._dot(n0, n0))
                l1 = math.sqrt(self._dot(n1, n1))
                if l1 < 1e-14 or self._dot(n0, n1) < 0.3 * l0 * l1:
                    return False
        for fi in list(shared):
            self._kill_face(fi)
        for fi in list(self.vf[a]):
            f = self.F[fi]
            f[f.index(a)] = b
            self.vf[b].add(fi)
        self.vf[a] = set()
        self.P[b] = p
        return True

    def collapse_short(self, lo: float, hi: float) -> None:
        lo2, hi2 = lo * lo, hi * hi
        cand = sorted((self._d2(*e), e) for e in self.edges())
        for d2, (a, b) in cand:
            if d2 >= lo2:
                break
            if not self.vf[a] or not self.vf[b] or self._d2(a, b) >= lo2:
                continue
            self.try_collapse(a, b, hi2)

    def flip_valence(self) -> None:
        for a, b in list(self.edges()):
            shared = list(self.vf[a] & self.vf[b])
            if len(shared) != 2:
                continue
            f1, f2 = self.F[shared[0]], self.F[shared[1]]
            k = f1.index(a)
            if f1[(k + 1) % 3] != b:
                f1, f2 = f2, f1
                shared.reverse()
            c = next(v for v in f1 if v not in (a, b))
            d = next(v for v in f2 if v not in (a, b))
            if c == d or (self.vf[c] & self.vf[d]):
                continue  # c-d is already an edge
            ta = 4 if self.bnd[a] else 6
            tb = 4 if self.bnd[b] else 6
            tc = 4 if self.bnd[c] else 6
            td = 4 if self.bnd[d] else 6
            va, vb, vc, vd = (self._valence(v) for v in (a, b, c, d))
            before = abs(va - ta) + abs(vb - tb) + abs(vc - tc) + abs(vd - td)
            after = abs(va - 1 - ta) + abs(vb - 1 - tb) + abs(vc + 1 - tc) + abs(vd + 1 - td)
            if after >= before:
                continue
            if len(self.vf[a]) <= (2 if self.bnd[a] else 3) or len(self.vf[b]) <= (2 if self.bnd[b] else 3):
                continue
            P = self.P
            n0 = self._normal(P[a], P[b], P[c])
            n0b = self._normal(P[b], P[a], P[d])
            n0 = (n0[0] + n0b[0], n0[1] + n0b[1], n0[2] + n0b[2])
            n1 = self._normal(P[a], P[d], P[c])
            n2 = self._normal(P[d], P[b], P[c])
            l0 = math.sqrt(self._dot(n0, n0))
            l1 = math.sqrt(self._dot(n1, n1))
            l2 = math.sqrt(self._dot(n2, n2))
            if l1 < 1e-14 or l2 < 1e-14:
                continue
            if self._dot(n0, n1) < 0.5 * l0 * l1 or self._dot(n0, n2) < 0.5 * l0 * l2:
                continue
            self._kill_face(shared[0])
            self._kill_face(shared[1])
            self._add_face((a, d, c))
            self._add_face((d, b, c))

    def arrays(self):
        F = np.array([f for f, ok in zip(self.F, self.alive) if ok], dtype=np.int64)
        V = np.array(self.P, dtype=np.float64)
        V, F, _ = compact(V, F)
        return V, F


def _neighbour_mean(V: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(V)
    idx = np.concatenate([E[:, 0], E[:, 1]])
    other = np.concatenate([E[:, 1], E[:, 0]])
    s = _scatter_add(idx, V[other], n)
    cnt = np.bincount(idx, minlength=n).astype(np.float64)
    return s / np.maximum(cnt, 1)[:, None], cnt


def _boundary_info(F: np.ndarray, n: int):
    be = boundary_edges(F)
    is_b = np.zeros(n, dtype=bool)
    is_b[be.ravel()] = True
    return be, is_b


def smooth_step(V: np.ndarray, F: np.ndarray, lam, tangential: bool = False) -> np.ndarray:
    """One Laplacian step; boundary vertices move along their boundary neighbours only."""
    E = unique_edges(F)
    be, is_b = _boundary_info(F, len(V))
    c, _ = _neighbour_mean(V, E)
    if len(be):
        cb, cntb = _neighbour_mean(V, be)
        c[is_b] = cb[is_b]
    d = c - V
    if tangential:
        n = vertex_normals(V, F)
        inner = ~is_b
        d[inner] -= np.einsum("ij,ij->i", d[inner], n[inner])[:, None] * n[inner]
    lam = np.asarray(lam, dtype=np.float64)
    return V + (lam[:, None] if lam.ndim else lam) * d


def remesh(V: np.ndarray, F: np.ndarray, target: float, iterations: int = 6,
           ref: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic remeshing (Botsch & Kobbelt 2004) to edge length `target`, on surface `ref`.

    Interior vertices are projected onto the reference surface, boundary vertices onto its
    boundary curves, so hems keep their shape while their vertices become evenly spaced.
    """
    ref_V, ref_F = (V, F) if ref is None else ref
    query = SurfaceQuery(ref_V, ref_F)
    rbe = boundary_edges(ref_F)
    seg_a, seg_b = ref_V[rbe[:, 0]], ref_V[rbe[:, 1]]
    hi, lo = 4.0 / 3.0 * target, 4.0 / 5.0 * target
    for _ in range(iterations):
        dm = _DynMesh(V, F)
        dm.split_long(hi)
        dm.collapse_short(lo, hi)
        dm.flip_valence()
        V, F = dm.arrays()
        V = smooth_step(V, F, 0.5, tangential=True)
        V = _project(V, F, query, seg_a, seg_b)
    return V, F


def _project(V, F, query: SurfaceQuery, seg_a, seg_b) -> np.ndarray:
    _, is_b = _boundary_info(F, len(V))
    out = V.copy()
    inner = np.flatnonzero(~is_b)
    if len(inner):
        out[inner] = query.closest(V[inner])[0]
    if is_b.any() and len(seg_a):
        out[is_b] = closest_on_segments(V[is_b], seg_a, seg_b)
    return out


# =========================================================================== the body
JOINT_TO_PART = {
    "pelvis": "hips", "spine1": "spine", "spine2": "spine1", "spine3": "spine2", "neck": "neck",
    "head": "head", "jaw": "head", "left_eye_smplhf": "leftEye", "right_eye_smplhf": "rightEye",
}
for _side, _Side in (("left", "left"), ("right", "right")):
    JOINT_TO_PART.update({
        f"{_side}_collar": f"{_Side}Shoulder", f"{_side}_shoulder": f"{_Side}Arm",
        f"{_side}_elbow": f"{_Side}ForeArm", f"{_side}_wrist": f"{_Side}Hand",
        f"{_side}_hip": f"{_Side}UpLeg", f"{_side}_knee": f"{_Side}Leg",
        f"{_side}_ankle": f"{_Side}Foot", f"{_side}_foot": f"{_Side}ToeBase",
    })


def part_labels_from_weights(weights: np.ndarray) -> np.ndarray:
    """Per-vertex part labels from the dominant skinning joint (for models without labels)."""
    from .skeleton import JOINT_NAMES

    lut = np.empty(NUM_JOINTS, dtype=np.int16)
    for j, name in enumerate(JOINT_NAMES):
        part = JOINT_TO_PART.get(name)
        if part is None:  # finger joints
            part = "leftHandIndex1" if name.startswith("left") else "rightHandIndex1"
        lut[j] = PART_INDEX[part]
    return lut[np.argmax(weights, axis=1)]


def _parts(*names) -> np.ndarray:
    return np.array([PART_INDEX[n] for n in names], dtype=np.int64)


ARM_PARTS = _parts("leftArm", "rightArm", "leftForeArm", "rightForeArm", "leftHand", "rightHand",
                   "leftHandIndex1", "rightHandIndex1")
LEG_PARTS = _parts("leftUpLeg", "rightUpLeg", "leftLeg", "rightLeg", "leftFoot", "rightFoot",
                   "leftToeBase", "rightToeBase")
NEVER_COVERED = _parts("head", "leftEye", "rightEye", "eyeballs", "leftHand", "rightHand",
                       "leftHandIndex1", "rightHandIndex1", "leftFoot", "rightFoot",
                       "leftToeBase", "rightToeBase")


REFERENCE_POSES = ("A", "T")
A_POSE_ARM_DROP = math.radians(45.0)


def reference_body_pose(reference: str = "A") -> np.ndarray:
    """(63,) body_pose of a garment reference pose: 'T' is the zero pose; 'A' lowers both
    upper arms by 45° (about the model's Z axis), halving the arm travel of the pre-roll into
    everyday poses and removing most of the cloth a T-pose garment has in the armpits."""
    if reference not in REFERENCE_POSES:
        raise MayhemInputError(None, "garment.reference_pose", f"{reference!r} is not one of {REFERENCE_POSES}")
    pose = np.zeros(63)
    if reference == "A":
        for joint, sign in (("left_shoulder", -1.0), ("right_shoulder", 1.0)):
            j = JOINT_INDEX[joint] - 1
            pose[3 * j + 2] = sign * A_POSE_ARM_DROP
    return pose


@dataclass
class BodyRest:
    """The shaped body a garment is cut from, in the garment's reference pose.

    `vertices` and `joints` are posed (reference pose, model coordinates, no root motion);
    `skin_transforms` (55, 4, 4) take the zero pose to the reference pose (LBS), so garment
    points can be carried back to the zero pose the body's armature is bound in (`unpose`).
    """

    vertices: np.ndarray          # (V, 3) shaped vertices in the reference pose (model coords, Y up)
    faces: np.ndarray             # (T, 3)
    part_labels: np.ndarray       # (V,) into PART_NAMES
    joints: np.ndarray            # (55, 3) shaped joints in the reference pose
    weights: np.ndarray           # (V, 55) skinning weights
    skin_transforms: np.ndarray | None = None   # (55, 4, 4); None = identity (zero pose)
    body_pose: np.ndarray | None = None         # (63,) the reference pose; None = zero
    query: SurfaceQuery = field(init=False, repr=False)
    _smooth: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self):
        self.vertices = np.asarray(self.vertices, dtype=np.float64)
        self.faces = np.asarray(self.faces, dtype=np.int64)
        self.part_labels = np.asarray(self.part_labels, dtype=np.int64)
        self.joints = np.asarray(self.joints, dtype=np.float64)
        self.weights = np.asarray(self.weights, dtype=np.float64)
        if self.part_labels.shape != (len(self.vertices),):
            raise MayhemInputError(None, "part_labels",
                                   f"expected ({len(self.vertices)},), got {self.part_labels.shape}")
        if self.body_pose is None:
            self.body_pose = np.zeros(63)
        self.query = SurfaceQuery(self.vertices, self.faces, cell=0.04)
        self._edges = unique_edges(self.faces)

    @classmethod
    def from_model(cls, model, betas=None, reference: str = "A") -> "BodyRest":
        """The body `model` (core.body_model.BodyModel) shaped by `betas` (as build_body makes
        it) and posed in the reference pose `reference` ('A' or 'T', see reference_body_pose)."""
        betas = np.zeros(0) if betas is None else np.asarray(betas, dtype=np.float64).reshape(-1)
        if betas.shape[0] > model.num_betas:
            raise MayhemInputError(getattr(model, "path", None), "betas",
                                   f"{betas.shape[0]} coefficients; the model has {model.num_betas}")
        body_pose = reference_body_pose(reference)
        out = model.forward(betas=betas if len(betas) else None, body_pose=body_pose[None])
        T = np.array(out.joint_transforms[0], dtype=np.float64)
        T[:, :3, 3] -= np.einsum("jab,jb->ja", T[:, :3, :3], out.rest_joints[0])
        labels = model.extras.get("part_labels") if getattr(model, "extras", None) else None
        if labels is None:
            labels = part_labels_from_weights(model.weights)
        return cls(out.vertices[0], model.faces, labels, out.joints[0], model.weights,
                   skin_transforms=T, body_pose=body_pose)

    def unpose(self, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Inverse LBS: where points with skin `weights` sit when the body is in its zero pose."""
        if self.skin_transforms is None:
            return np.array(points, dtype=np.float64)
        M = np.einsum("nj,jab->nab", weights, self.skin_transforms)
        return np.linalg.solve(M[:, :3, :3], (points - M[:, :3, 3])[..., None])[..., 0]

    def pose_points(self, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Forward LBS from the zero pose to the reference pose (the inverse of unpose)."""
        if self.skin_transforms is None:
            return np.array(points, dtype=np.float64)
        M = np.einsum("nj,jab->nab", weights, self.skin_transforms)
        return np.einsum("nab,nb->na", M[:, :3, :3], points) + M[:, :3, 3]

    def joint(self, name: str) -> np.ndarray:
        return self.joints[JOINT_INDEX[name]]

    def smooth_indicator(self, parts: np.ndarray, iterations: int = 8) -> np.ndarray:
        """Indicator of `parts` on the vertices, Laplacian-smoothed: its 0.5 contour is a smooth
        curve near the label border (labels follow skin weights and are jagged)."""
        key = (tuple(sorted(int(p) for p in parts)), iterations)
        if key not in self._smooth:
            x = np.isin(self.part_labels, parts).astype(np.float64)
            E = self._edges
            n = len(x)
            cnt = np.bincount(E.ravel(), minlength=n).astype(np.float64)
            for _ in range(iterations):
                s = np.bincount(E[:, 0], weights=x[E[:, 1]], minlength=n) + \
                    np.bincount(E[:, 1], weights=x[E[:, 0]], minlength=n)
                x = 0.5 * x + 0.5 * s / np.maximum(cnt, 1)
            self._smooth[key] = x
        return self._smooth[key]

    # -- landmarks (heights are model Y)
    @property
    def crotch_y(self) -> float:
        """Lowest midline point of the pelvis skin: below it the legs are separate tubes."""
        cx = self.joint("pelvis")[0]
        m = (np.abs(self.vertices[:, 0] - cx) < 0.012) & (self.part_labels == PART_INDEX["hips"])
        if not m.any():
            return float(self.joint("pelvis")[1] - 0.08)
        return float(self.vertices[m, 1].min())

    def arm_axis(self, side: str) -> tuple[np.ndarray, np.ndarray, float, float, float]:
        """(origin = shoulder joint, unit axis to the wrist, s where the arm leaves the torso,
        s at the wrist, arm radius): s is measured along the axis from the shoulder joint; the
        radius bounds the arm's skin around the axis (a sleeve cut only acts inside it, so a
        lowered arm's cut plane cannot reach the torso)."""
        o = self.joint(f"{side}_shoulder")
        a = self.joint(f"{side}_wrist") - o
        s_wrist = float(np.linalg.norm(a))
        a = a / s_wrist
        rel = self.vertices - o
        s = rel @ a
        dist = _rows_norm(rel - s[:, None] * a)
        arm = np.isin(self.part_labels, _parts(f"{side}Arm", f"{side}ForeArm"))
        radius = float(np.percentile(dist[arm & (s > 0)], 95)) + 0.02
        torso = ~np.isin(self.part_labels, np.concatenate([ARM_PARTS, _parts(f"{side}Shoulder"), NEVER_COVERED]))
        near = torso & (dist < radius)
        s_min = float(s[near].max()) + 0.02 if near.any() else 0.02
        return o, a, s_min, s_wrist, radius

    def surface_weights(self, points: np.ndarray) -> np.ndarray:
        """Skin weights at the closest body surface point (barycentric blend)."""
        _, f, bary, _ = self.query.closest(points)
        return np.einsum("ij,ijk->ik", bary, self.weights[self.faces[f]])


# ========================================================================= garments
@dataclass
class GarmentSpec:
    """What to make. Fractions in [0, 1]:

    looseness  0 = snug (1 cm ease), 1 = loose (4 cm ease; skirts flare more)
    length     tops: hem from the waist (0) to the hips just above the crotch (1);
               shorts: from just below the crotch (0) to the knee (1);
               trousers: from mid-calf (0) to the ankle (1);
               skirt, dress: from mid-thigh (0) to mid-calf (1)
    sleeve     0 = cap sleeve ... 1 = to the wrist; clipped to the kind's range (T-shirt and
               dress ≤ 0.45, long sleeve ≥ 0.55); ignored for bottoms
    """

    kind: str
    looseness: float = 0.3
    length: float | None = None
    sleeve: float | None = None
    target_vertices: int = DEFAULT_TARGET_VERTICES
    name: str | None = None

    def resolved(self) -> "GarmentSpec":
        if self.kind not in GARMENT_KINDS:
            raise MayhemInputError(None, "garment.kind", f"{self.kind!r} is not one of {GARMENT_KINDS}")
        length, sleeve = _DEFAULTS[self.kind]
        length = length if self.length is None else float(self.length)
        sleeve = sleeve if self.sleeve is None else float(self.sleeve)
        for fname, value in (("looseness", self.looseness), ("length", length), ("sleeve", sleeve)):
            if not 0.0 <= float(value) <= 1.0:
                raise MayhemInputError(None, f"garment.{fname}", f"must be in [0, 1], got {value}")
        if self.kind in _SLEEVE_RANGE:
            lo, hi = _SLEEVE_RANGE[self.kind]
            sleeve = min(max(sleeve, lo), hi)
        if not 200 <= int(self.target_vertices) <= 20000:
            raise MayhemInputError(None, "garment.target_vertices",
                                   f"must be in [200, 20000], got {self.target_vertices}")
        return GarmentSpec(self.kind, float(self.looseness), length, sleeve, int(self.target_vertices),
                           self.name or self.kind)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "looseness": self.looseness, "length": self.length,
                "sleeve": self.sleeve, "target_vertices": self.target_vertices, "name": self.name}


@dataclass
class Garment:
    """A garment mesh in the body's shaped rest pose (model coordinates)."""

    spec: GarmentSpec
    vertices: np.ndarray        # (N, 3) in the reference pose: the garment's natural (rest) shape
    faces: np.ndarray           # (M, 3), outward-facing
    uv: np.ndarray              # (M, 3, 2) per-corner UVs in metres
    pin_weights: np.ndarray     # (N,) in [0, 1]: cloth pin (goal) weights
    skin_weights: np.ndarray    # (N, 55) rows sum to 1
    clearance: np.ndarray       # (N,) intended distance to the skin at rest
    bind_vertices: np.ndarray | None = None   # (N, 3) carried to the body's zero pose (inverse
                                              # LBS): the mesh the armature deforms
    reference_pose: np.ndarray | None = None  # (63,) body_pose the garment was made in
    layer: int = 0              # 0 inner (bottoms), 1 outer (tops over bottoms)
    self_collision: bool = False
    rest_penetration: float = field(default=0.0)  # share of vertices inside the reference body

    def __post_init__(self):
        if self.bind_vertices is None:
            self.bind_vertices = self.vertices
        if self.reference_pose is None:
            self.reference_pose = np.zeros(63)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def hems(self) -> list[np.ndarray]:
        return boundary_loops(self.faces)

    @property
    def edges(self) -> np.ndarray:
        return unique_edges(self.faces)


def _target_edge(area: float, target_vertices: int) -> float:
    """Edge length of an equilateral mesh with `target_vertices` vertices on `area` m²."""
    return float(np.clip(math.sqrt(2.0 / math.sqrt(3.0) * area / target_vertices), 0.006, 0.05))


def _top_field(body: BodyRest, hem_y: float, sleeve: float) -> np.ndarray:
    V = body.vertices
    phi = V[:, 1] - hem_y
    for side in ("left", "right"):
        o, a, s_min, s_wrist, radius = body.arm_axis(side)
        s_end = s_min + sleeve * (s_wrist - 0.03 - s_min)
        rel = V - o
        s = rel @ a
        dist = _rows_norm(rel - s[:, None] * a)
        # Cut where s > s_end inside the arm's cylinder; outside it (the torso) nothing.
        phi = np.minimum(phi, np.maximum(s_end - s, dist - radius))
    head = body.smooth_indicator(_parts("neck", "head", "leftEye", "rightEye"), iterations=10)
    phi = np.minimum(phi, 0.1 * (0.5 - head))
    never = body.smooth_indicator(NEVER_COVERED, iterations=3)
    return np.minimum(phi, 0.1 * (0.5 - never))


def _bottom_field(body: BodyRest, waist_y: float, end_y: float) -> np.ndarray:
    V = body.vertices
    phi = np.minimum(waist_y - V[:, 1], V[:, 1] - end_y)
    arms = np.isin(body.part_labels, ARM_PARTS)
    phi[arms] = np.minimum(phi[arms], -0.05)
    never = body.smooth_indicator(NEVER_COVERED, iterations=3)
    return np.minimum(phi, 0.1 * (0.5 - never))


def _heights(body: BodyRest) -> dict:
    J = body.joint
    crotch = body.crotch_y
    pelvis = J("pelvis")[1]
    knee = 0.5 * (J("left_knee")[1] + J("right_knee")[1])
    ankle = 0.5 * (J("left_ankle")[1] + J("right_ankle")[1])
    spine1 = J("spine1")[1]
    return {
        "crotch": crotch, "pelvis": pelvis, "knee": knee, "ankle": ankle, "spine1": spine1,
        "waist": pelvis + 0.6 * (spine1 - pelvis),        # where trousers sit
        "natural_waist": spine1,                           # narrowest torso: a dress's seam
        "hip": 0.5 * (J("left_hip")[1] + J("right_hip")[1]),
    }


def _hull_polar(points2d: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Radius of the convex hull of `points2d` (around the origin) along each angle.

    Directions are (sin θ, cos θ) in the (x, z) plane: θ = 0 faces +Z (the body's front).
    """
    pts = np.unique(np.round(points2d, 6), axis=0)
    if len(pts) < 3:
        return np.full(len(angles), float(np.max(np.linalg.norm(points2d, axis=1), initial=0.05)))
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]

    def half(seq):
        h = []
        for p in seq:
            while len(h) >= 2 and ((h[-1][0] - h[-2][0]) * (p[1] - h[-2][1]) -
                                   (h[-1][1] - h[-2][1]) * (p[0] - h[-2][0])) <= 0:
                h.pop()
            h.append(p)
        return h

    lower = half(pts.tolist())
    upper = half(pts[::-1].tolist())
    hull = np.array(lower[:-1] + upper[:-1])
    a, b = hull, np.roll(hull, -1, axis=0)
    d = np.stack([np.sin(angles), np.cos(angles)], axis=1)          # (n, 2)
    e = b - a                                                         # (h, 2)
    # Solve t·d = a + u·e for each (direction, edge).
    den = d[:, None, 0] * e[None, :, 1] - d[:, None, 1] * e[None, :, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (a[None, :, 0] * e[None, :, 1] - a[None, :, 1] * e[None, :, 0]) / den
        u = (a[None, :, 0] * d[:, None, 1] - a[None, :, 1] * d[:, None, 0]) / den
    ok = (np.abs(den) > 1e-12) & (u >= -1e-9) & (u <= 1 + 1e-9) & (t > 0)
    r = np.where(ok, t, np.inf).min(axis=1)
    return np.where(np.isfinite(r), r, np.linalg.norm(hull, axis=1).max())


def _circular_smooth(r: np.ndarray, passes: int) -> np.ndarray:
    for _ in range(passes):
        r = 0.25 * np.roll(r, 1, axis=-1) + 0.5 * r + 0.25 * np.roll(r, -1, axis=-1)
    return r


def _skirt_tube(body: BodyRest, top_y: float, hem_y: float, flare: float, edge: float,
                top_ring: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """A tube on the convex hull of the body's cross-sections from top_y down to hem_y.

    Below the hip joints the radius never shrinks (cloth falls from the hips) and grows by
    `flare` per metre. With `top_ring` (an ordered loop of points) the tube starts from it, so
    it can be joined to a bodice; otherwise from a ring of its own. Returns V, F and the number
    of vertices in the first ring (they come first, in order).
    """
    V = body.vertices
    cx, cz = body.joint("pelvis")[0], body.joint("pelvis")[2]
    hip_y = _heights(body)["hip"]
    allowed = ~np.isin(body.part_labels, np.concatenate([ARM_PARTS, NEVER_COVERED]))
    if top_ring is not None:
        rel = top_ring - np.array([cx, 0.0, cz])
        angles = np.arctan2(rel[:, 0], rel[:, 2])
        ring0 = top_ring
    else:
        angles = None
        ring0 = None
    n_rows = max(2, int(math.ceil((top_y - hem_y) / (0.87 * edge))) + 1)
    ys = np.linspace(top_y, hem_y, n_rows)
    # Angular resolution for the hull radii (independent of the ring's vertex count).
    theta = np.linspace(-math.pi, math.pi, 181)[:-1]
    slab = max(0.6 * edge, 0.015)
    radii = []
    for y in ys:
        m = allowed & (np.abs(V[:, 1] - y) < slab)
        if m.sum() < 3:
            radii.append(radii[-1] if radii else np.full(len(theta), 0.15))
            continue
        pts = np.stack([V[m, 0] - cx, V[m, 2] - cz], axis=1)
        radii.append(_circular_smooth(_hull_polar(pts, theta), 2))
    radii = np.array(radii)
    below = ys <= hip_y
    if below.any():
        k0 = int(np.argmax(below))
        radii[k0:] = np.maximum.accumulate(radii[k0:], axis=0)
        radii[k0:] += flare * (hip_y - ys[k0:])[:, None]
    if angles is None:
        per = 2 * math.pi * radii.max()
        n_ring = max(24, int(round(per / edge)))
        angles = np.linspace(-math.pi, math.pi, n_ring + 1)[:-1] + math.pi / n_ring
    n_ring = len(angles)
    # Interpolate radii at the ring angles (periodic).
    tt = np.concatenate([theta, [theta[0] + 2 * math.pi]])
    rows = []
    for k, y in enumerate(ys):
        rr = np.concatenate([radii[k], radii[k, :1]])
        r = np.interp(np.mod(angles + math.pi, 2 * math.pi) - math.pi, tt, rr)
        rows.append(np.stack([cx + r * np.sin(angles), np.full(n_ring, y), cz + r * np.cos(angles)], axis=1))
    if ring0 is not None:
        rows[0] = ring0
    Vt = np.concatenate(rows)
    # Quads between consecutive rings, split along alternating diagonals.
    faces = []
    for k in range(n_rows - 1):
        i0, i1 = k * n_ring, (k + 1) * n_ring
        j = np.arange(n_ring)
        jn = (j + 1) % n_ring
        a, b, c, d = i0 + j, i0 + jn, i1 + jn, i1 + j
        alt = (j + k) % 2 == 0
        f1 = np.where(alt[:, None], np.stack([a, d, b], 1), np.stack([a, d, c], 1))
        f2 = np.where(alt[:, None], np.stack([b, d, c], 1), np.stack([a, c, b], 1))
        faces.append(f1)
        faces.append(f2)
    Ft = np.concatenate(faces).astype(np.int64)
    Ft = _orient_outward(Vt, Ft, np.array([cx, 0.0, cz]))
    return Vt, Ft, n_ring


def _orient_outward(V, F, center) -> np.ndarray:
    """Flip all faces if most normals point towards the vertical axis through `center`."""
    c = V[F].mean(axis=1)
    out = c - center
    out[:, 1] = 0.0
    if np.sum(np.einsum("ij,ij->i", face_normals(V, F), out)) < 0:
        F = F[:, ::-1].copy()
    return F


def _join_loops(V1, F1, loop1, V2, F2, n_first):
    """Glue mesh 2 (whose first n_first vertices duplicate loop1 of mesh 1, in order) onto mesh 1."""
    remap = np.concatenate([loop1, len(V1) + np.arange(len(V2) - n_first)])
    V = np.concatenate([V1, V2[n_first:]])
    F = np.concatenate([F1, remap[F2]])
    return V, F


def _inflate(V, F, body: BodyRest, clearance: np.ndarray, iterations: int,
             taubin: np.ndarray | None = None, extra=None) -> np.ndarray:
    """Offset to `clearance` and smooth under the constraint "≥ clearance outside the body".

    `taubin` (N,) bool marks vertices smoothed without shrinking (skirts keep their flare);
    `extra` is an optional (SurfaceQuery, gap, applies(Q, face) -> mask) for an inner garment.
    """
    _, face, bary, sd = body.query.closest(V)
    n = body.query.normal_at(face, bary)
    V = V + np.maximum(clearance - sd, 0.0)[:, None] * n
    lam = np.full(len(V), 0.5)
    mu = np.where(taubin, -0.53, 0.0) if taubin is not None else None
    for it in range(iterations):
        V = smooth_step(V, F, lam)
        if mu is not None and np.any(mu):
            V = smooth_step(V, F, mu)
        V = _push_out(V, body, clearance, extra)
    return V


def _push_out(V, body: BodyRest, clearance, extra=None) -> np.ndarray:
    Q, face, bary, sd = body.query.closest(V)
    short = sd < clearance
    if short.any():
        n = body.query.normal_at(face[short], bary[short])
        # Outside: move along the direction to the closest point; inside: along the normal.
        d = V[short] - Q[short]
        dn = _unit(d)
        use_n = (sd[short] <= 1e-6) | (np.einsum("ij,ij->i", dn, n) < 0.5)
        dirn = np.where(use_n[:, None], n, dn)
        V = V.copy()
        V[short] = Q[short] + clearance[short, None] * dirn
    if extra is not None:
        query, gap, applies = extra
        Qi, fi, bi, si = query.closest(V)
        m = applies(V, Qi, fi, bi, si) & (si < gap)
        if m.any():
            ni = query.normal_at(fi[m], bi[m])
            V = V.copy()
            V[m] = V[m] + (gap - si[m])[:, None] * ni
    return V


def _corner_uvs(V, F, region, body: BodyRest) -> np.ndarray:
    """Per-corner cylindrical UVs in metres per region (0 torso, 1/2 left/right arm, 3/4 legs)."""
    uv = np.zeros((len(F), 3, 2))
    P = V[F]                                                          # (M, 3, 3)
    pel = body.joint("pelvis")
    for r in np.unique(region):
        m = region == r
        p = P[m].reshape(-1, 3)
        if r == 0:
            rel = p - pel
            ang = np.arctan2(rel[:, 0], rel[:, 2])                    # seam at the back (-Z)
            along = p[:, 1]
            rad = np.hypot(rel[:, 0], rel[:, 2])
        elif r in (1, 2):
            side = "left" if r == 1 else "right"
            o, a, _, _, _ = body.arm_axis(side)
            e1 = np.array([0.0, 1.0, 0.0]) - a[1] * a
            e1 /= np.linalg.norm(e1)
            e2 = np.cross(a, e1)
            rel = p - o
            ang = np.arctan2(rel @ e2, rel @ e1)                       # seam underneath (-Y)
            along = rel @ a
            rad = np.hypot(rel @ e1, rel @ e2)
        else:
            side = "left" if r == 3 else "right"
            sx = 1.0 if side == "left" else -1.0
            hip = body.joint(f"{side}_hip")
            rel = p - hip
            ang = np.arctan2(rel[:, 2], sx * rel[:, 0])                # seam inside (towards the other leg)
            along = p[:, 1]
            rad = np.hypot(rel[:, 0], rel[:, 2])
        ang = ang.reshape(-1, 3)
        span = ang.max(axis=1) - ang.min(axis=1)
        wrap = span > math.pi
        ang[wrap] = np.where(ang[wrap] < 0, ang[wrap] + 2 * math.pi, ang[wrap])
        R = float(np.median(rad)) if len(rad) else 0.1
        uv[m, :, 0] = ang * R
        uv[m, :, 1] = along.reshape(-1, 3)
    return uv


def _face_regions(V, F, body: BodyRest, force_torso: np.ndarray | None = None) -> np.ndarray:
    """UV region per face from the body part under its centroid."""
    c = V[F].mean(axis=1)
    _, f, bary, _ = body.query.closest(c)
    corner = np.argmax(bary, axis=1)
    lab = body.part_labels[body.faces[f, corner]]
    name_region = {"leftArm": 1, "leftForeArm": 1, "leftHand": 1, "rightArm": 2, "rightForeArm": 2,
                   "rightHand": 2, "leftUpLeg": 3, "leftLeg": 3, "leftFoot": 3,
                   "rightUpLeg": 4, "rightLeg": 4, "rightFoot": 4}
    lut = np.zeros(len(PART_NAMES), dtype=np.int64)
    for nm, r in name_region.items():
        lut[PART_INDEX[nm]] = r
    region = lut[lab]
    if force_torso is not None:
        region[np.any(force_torso[F], axis=1)] = 0
    return region


def _band_weights(V, loops: list[np.ndarray], width: float) -> np.ndarray:
    """1 on the given boundary loops, falling smoothly to 0 at `width` from them."""
    if not loops:
        return np.zeros(len(V))
    pts = V[np.concatenate(loops)]
    grid = PointGrid(pts, max(width, 0.01))
    _, d = grid.nearest(V, max_dist=width)
    t = np.clip(1.0 - d / width, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _pick_loop(V, loops, key) -> list[np.ndarray]:
    """The loop maximising key(mean position) (e.g. highest = waistband)."""
    if not loops:
        return []
    scores = [key(V[lp].mean(axis=0)) for lp in loops]
    return [loops[int(np.argmax(scores))]]


def _smooth_weights(F: np.ndarray, W: np.ndarray, n: int, iterations: int = 40) -> np.ndarray:
    """Laplacian-smooth skin weights over the garment surface.

    Weights copied from the nearest skin jump where the garment bridges two body parts (armpit,
    crotch): one vertex follows the arm, its neighbour the torso, and skinning tears the garment
    apart. Smoothing spreads each jump over several rings, as a tailor's garment would move.
    """
    E = unique_edges(F)
    idx = np.concatenate([E[:, 0], E[:, 1]])
    other = np.concatenate([E[:, 1], E[:, 0]])
    cnt = np.maximum(np.bincount(idx, minlength=n), 1).astype(np.float64)[:, None]
    W = np.array(W, dtype=np.float64)
    for _ in range(iterations):
        W = 0.5 * W + 0.5 * _scatter_add(idx, W[other], n) / cnt
    return W


def _sparsify(weights: np.ndarray, keep: int = 4) -> np.ndarray:
    """Keep the `keep` largest weights per row and renormalise (as skinning tools do)."""
    w = np.clip(weights, 0.0, None)
    if w.shape[1] > keep:
        idx = np.argpartition(-w, keep, axis=1)[:, keep:]
        np.put_along_axis(w, idx, 0.0, axis=1)
    return w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)


def make_garment(spec: GarmentSpec, body: BodyRest, *, inner: Garment | None = None) -> Garment:
    """Cut, remesh and inflate one garment on `body`; `inner` is a garment it must lie over."""
    spec = spec.resolved()
    H = _heights(body)
    kind = spec.kind
    clear = BASE_CLEARANCE + LOOSENESS_CLEARANCE * spec.looseness
    skirt_mask = None
    if kind in TOP_KINDS or kind == "dress":
        if kind == "dress":
            hem_y = H["natural_waist"]
        else:
            lo, hi = H["natural_waist"], H["crotch"] + 0.04
            hem_y = lo + spec.length * (hi - lo)
        Vr, Fr = cut_mesh(body.vertices, body.faces, _top_field(body, hem_y, spec.sleeve))
        area = mesh_area(Vr, Fr)
        if kind == "dress":
            skirt_len = hem_y - _skirt_hem_y(H, spec.length)
            area += 2 * math.pi * 0.2 * skirt_len
        edge = _target_edge(area * (1 + 0.15 * spec.looseness), spec.target_vertices)
        Vg, Fg = remesh(Vr, Fr, edge, iterations=4, ref=(Vr, Fr))
        if kind == "dress":
            loops = boundary_loops(Fg)
            waist = _pick_loop(Vg, loops, lambda c: -c[1])[0]
            # Order the waist loop by angle so the tube's first ring follows it.
            Vs, Fs, n0 = _skirt_tube(body, hem_y, hem_y - skirt_len, 0.15 + 0.35 * spec.looseness,
                                     edge, top_ring=Vg[waist])
            nv = len(Vg)
            Vg, Fg = _join_loops(Vg, Fg, waist, Vs, Fs, n0)
            Fg = _fix_join_orientation(Vg, Fg, nv)
            skirt_mask = np.zeros(len(Vg), dtype=bool)
            skirt_mask[nv:] = True
            Vg, Fg = remesh(Vg, Fg, edge, iterations=4, ref=(Vg, Fg))
            skirt_mask = Vg[:, 1] < hem_y - 0.5 * edge
    elif kind == "skirt":
        top_y = H["waist"]
        hem_y = _skirt_hem_y(H, spec.length)
        edge = _target_edge(2 * math.pi * 0.2 * (top_y - hem_y) * (1 + 0.3 * spec.looseness),
                            spec.target_vertices)
        Vs, Fs, _ = _skirt_tube(body, top_y, hem_y, 0.15 + 0.35 * spec.looseness, edge)
        Vg, Fg = remesh(Vs, Fs, edge, iterations=3, ref=(Vs, Fs))
        skirt_mask = Vg[:, 1] < H["hip"]
    else:  # shorts, trousers
        if kind == "shorts":
            lo, hi = H["crotch"] - 0.05, H["knee"] + 0.02
        else:
            lo, hi = 0.5 * (H["knee"] + H["ankle"]), H["ankle"] + 0.04
        end_y = lo + spec.length * (hi - lo)
        Vr, Fr = cut_mesh(body.vertices, body.faces, _bottom_field(body, H["waist"], end_y))
        edge = _target_edge(mesh_area(Vr, Fr) * (1 + 0.15 * spec.looseness), spec.target_vertices)
        Vg, Fg = remesh(Vr, Fr, edge, iterations=4, ref=(Vr, Fr))

    clearance = np.full(len(Vg), clear)
    extra = _layer_constraint(inner) if inner is not None else None
    iters = 12 + int(round(12 * spec.looseness))
    Vg = _inflate(Vg, Fg, body, clearance, iters, taubin=skirt_mask, extra=extra)
    # A last, light remesh evens out triangles squeezed in bridged corners; then re-impose the
    # clearance so the rest garment is certainly outside the body (and the inner garment).
    Vg, Fg = remesh(Vg, Fg, edge, iterations=2, ref=(Vg, Fg))
    clearance = np.full(len(Vg), clear)
    for _ in range(3):
        Vg = _push_out(smooth_step(Vg, Fg, 0.3), body, clearance, extra)
    for _ in range(3):  # where two body parts are close (crotch), one push can land near the other
        Vg = _push_out(Vg, body, clearance, extra)
    if skirt_mask is not None:
        skirt_mask = _skirt_region(Vg, body, kind, H)

    loops = boundary_loops(Fg)
    if kind in TOP_KINDS or kind == "dress":
        pin_loops = _pick_loop(Vg, loops, lambda c: c[1])           # the neckline: highest loop
    else:
        pin_loops = _pick_loop(Vg, loops, lambda c: c[1])           # the waistband
    pins = _band_weights(Vg, pin_loops, PIN_BAND)
    weights = body.surface_weights(Vg)
    if skirt_mask is not None and skirt_mask.any():
        weights = _skirt_weights(Vg, weights, skirt_mask, H)
    weights = _sparsify(_smooth_weights(Fg, weights, len(Vg)))
    region = _face_regions(Vg, Fg, body, force_torso=skirt_mask)
    uv = _corner_uvs(Vg, Fg, region, body)
    _, _, _, sd = body.query.closest(Vg)
    weights32 = weights.astype(np.float32)
    bind = body.unpose(Vg, weights32.astype(np.float64))
    return Garment(spec=spec, vertices=Vg, faces=Fg, uv=uv, pin_weights=pins,
                   skin_weights=weights32, clearance=clearance,
                   bind_vertices=bind, reference_pose=np.array(body.body_pose, dtype=np.float64),
                   layer=1 if kind in TOP_KINDS else 0,
                   self_collision=kind in ("skirt", "dress"),
                   rest_penetration=float(np.mean(sd < 0)))


def _skirt_hem_y(H: dict, length: float) -> float:
    lo = 0.5 * (H["crotch"] + H["knee"])           # mid-thigh
    hi = 0.5 * (H["knee"] + H["ankle"])            # mid-calf
    return lo + length * (hi - lo)


def _skirt_region(V, body, kind, H) -> np.ndarray:
    return V[:, 1] < (H["hip"] if kind == "skirt" else H["natural_waist"] - 0.02)


def _skirt_weights(V, weights, mask, H) -> np.ndarray:
    """Skirt vertices below the crotch follow the pelvis and both hips, not the nearest leg.

    Only pinned vertices and the skin-bound fallback use these; a skirt bound to one leg would
    tear between the legs.
    """
    blend = np.zeros(NUM_JOINTS)
    blend[JOINT_INDEX["pelvis"]] = 0.5
    blend[JOINT_INDEX["left_hip"]] = 0.25
    blend[JOINT_INDEX["right_hip"]] = 0.25
    beta = np.clip((H["hip"] - V[:, 1]) / 0.15, 0.0, 1.0) * mask
    return (1 - beta)[:, None] * weights + beta[:, None] * blend[None]


def _fix_join_orientation(V, F, n_first_mesh) -> np.ndarray:
    """Make the appended tube's faces agree with the bodice's orientation across the seam."""
    tube = np.any(F >= n_first_mesh, axis=1)
    he = np.concatenate([F[~tube][:, [0, 1]], F[~tube][:, [1, 2]], F[~tube][:, [2, 0]]])
    key = set(map(tuple, he.tolist()))
    th = np.concatenate([F[tube][:, [0, 1]], F[tube][:, [1, 2]], F[tube][:, [2, 0]]])
    same = sum(1 for e in th.tolist() if tuple(e) in key)   # a shared edge in the same direction = clash
    if same:
        F = F.copy()
        F[tube] = F[tube][:, ::-1]
    return F


def _layer_constraint(inner: Garment):
    """(query, gap, applies): keep an outer garment LAYER_GAP outside `inner` where they overlap.

    It applies where the closest point of the inner garment is inside its surface (not on a hem
    edge), or wherever the outer vertex is behind the inner surface or within a gap of it.
    """
    q = SurfaceQuery(inner.vertices, inner.faces)
    loops = inner.hems
    on_hem = np.zeros(len(inner.vertices), dtype=bool)
    if loops:
        on_hem[np.concatenate(loops)] = True

    def applies(P, Q, face, bary, sd):
        corners = inner.faces[face]
        hem_point = np.any(on_hem[corners] & (bary > 1e-6), axis=1) & (np.sum(bary > 1e-6, axis=1) < 3)
        near = np.linalg.norm(P - Q, axis=1) < 0.05
        return near & (~hem_point | (sd < 0))

    return q, LAYER_GAP, applies


def make_outfit(specs: list[GarmentSpec], body: BodyRest) -> list[Garment]:
    """Several garments on one body: inner layers first, outer ones fitted over them."""
    specs = [s.resolved() for s in specs]
    order = sorted(range(len(specs)), key=lambda i: 1 if specs[i].kind in TOP_KINDS else 0)
    made: dict[int, Garment] = {}
    inner = None
    for i in order:
        g = make_garment(specs[i], body, inner=inner if specs[i].kind in TOP_KINDS else None)
        made[i] = g
        if specs[i].kind not in TOP_KINDS:
            inner = g if inner is None else inner
    return [made[i] for i in range(len(specs))]
