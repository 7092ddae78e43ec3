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

Painted garments (texture-only outfits, scene.painted_clothing) use the same region fields on
the body itself: :func:`garment_field`, :func:`garment_signed_distance` (metres to the hem along
the skin), :func:`garment_coverage` (0..1 with a 5 mm soft hem) and :func:`body_cloth_uvs`.
"""
from __future__ import annotations

import heapq
import itertools
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
    C = values.shape[1]
    flat = (np.asarray(index, dtype=np.int64)[:, None] * C + np.arange(C)).ravel()
    return np.bincount(flat, weights=values.ravel(), minlength=n * C).reshape(n, C)


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
    body for every garment vertex of every frame would dominate the checks. Cells are looked up
    in a dense table (one index per cell) when the grid is small enough, and the points are kept
    sorted by cell, one array per coordinate, so a scan reads them contiguously. Queries far
    from every point (a flared skirt's hem, 10-30 cm from the legs) would need hundreds of mostly
    empty cells per ring; after `max_ring` rings they are settled through clusters of points
    with bounding boxes instead (exact, see _far).
    """

    DENSE_CELLS = 1 << 23     # at most this many cells get a dense start table (8 M × 8 bytes)

    def __init__(self, points: np.ndarray, cell: float):
        self.points = np.asarray(points, dtype=np.float64)
        self.cell = float(cell)
        self.origin = self.points.min(axis=0) - self.cell
        ijk = np.floor((self.points - self.origin) / self.cell).astype(np.int64)
        self.dims = ijk.max(axis=0) + 2
        key = self._key(ijk)
        self.order = np.argsort(key, kind="stable")
        self.sorted_key = key[self.order]
        self._sorted_xyz = np.ascontiguousarray(self.points[self.order].T)      # (3, n)
        n_cells = int(np.prod(self.dims))
        self._cell_start = (np.searchsorted(self.sorted_key, np.arange(n_cells + 1))
                            if n_cells <= self.DENSE_CELLS else None)
        self._coarse = None
        self._rings: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _key(self, ijk: np.ndarray) -> np.ndarray:
        return ijk[..., 0] + self.dims[0] * (ijk[..., 1] + self.dims[1] * ijk[..., 2])

    @staticmethod
    def _ring(r: int) -> np.ndarray:
        """Cell offsets at Chebyshev distance exactly r (r = 1 includes the centre cell)."""
        k = np.arange(-r, r + 1)
        o = np.stack(np.meshgrid(k, k, k, indexing="ij"), axis=-1).reshape(-1, 3)
        cheb = np.abs(o).max(axis=1)
        return o[(cheb == r) | (cheb < 1)] if r == 1 else o[cheb == r]

    def _ring_keys(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        if r not in self._rings:
            offs = self._ring(r)
            self._rings[r] = (offs, self._key(offs))
        return self._rings[r]

    def _scan(self, Q, sel, r, best_i, best_d) -> None:
        """Update the best match of queries `sel` with the points in the cells of ring `r`."""
        offs, koff = self._ring_keys(r)
        K = len(offs)
        Qs = Q[sel]
        ijk = np.floor((Qs - self.origin) / self.cell).astype(np.int64)
        keys = self._key(ijk)[:, None] + koff[None]                         # (nq, K)
        valid = None
        if not np.all((ijk >= r) & (ijk < self.dims - r)):                  # ring leaves the grid
            cells = ijk[:, None, :] + offs[None]
            valid = np.all((cells >= 0) & (cells < self.dims), axis=2)
            keys = np.where(valid, keys, 0)
        start, counts = self._cell_ranges(keys)
        if valid is not None:
            counts = np.where(valid, counts, 0)
        counts = counts.ravel()
        nz = np.flatnonzero(counts)
        if r > 1 and len(nz):
            # Skip occupied cells farther from their query than its best match so far.
            q = nz // K
            lo = (ijk[q] + offs[nz % K]) * self.cell + self.origin
            gap = np.maximum(np.maximum(lo - Qs[q], Qs[q] - (lo + self.cell)), 0.0)
            nz = nz[np.einsum("ij,ij->i", gap, gap) <= best_d[sel[q]] ** 2]
        self._measure_cells(Qs, sel, start.ravel(), counts, nz, K, best_i, best_d)

    def _cell_ranges(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First point and point count of each cell key (dense start table, else sorted keys)."""
        if self._cell_start is not None:
            start = self._cell_start[keys]
            return start, self._cell_start[keys + 1] - start
        start = np.searchsorted(self.sorted_key, keys, side="left")
        return start, np.searchsorted(self.sorted_key, keys, side="right") - start

    def _scan_box(self, Q, sel, bound, best_i, best_d) -> None:
        """Update queries `sel` with the points in the cells that cover the ball of radius
        `bound` around each (at most 3 cells per axis: bound ≤ cell)."""
        Qs = Q[sel]
        lo = np.floor((Qs - bound[:, None] - self.origin) / self.cell).astype(np.int64)
        hi = np.floor((Qs + bound[:, None] - self.origin) / self.cell).astype(np.int64)
        lo = np.clip(lo, 0, self.dims - 1)
        span = np.clip(hi, 0, self.dims - 1) - lo                      # 0..2 per axis
        offs, koff = self._box_keys()
        valid = np.all(offs[None] <= span[:, None, :], axis=2)           # (nq, 27)
        keys = np.where(valid, self._key(lo)[:, None] + koff[None], 0)
        start, counts = self._cell_ranges(keys)
        counts = np.where(valid, counts, 0).ravel()
        self._measure_cells(Qs, sel, start.ravel(), counts, np.flatnonzero(counts), len(offs), best_i, best_d)

    def _box_keys(self) -> tuple[np.ndarray, np.ndarray]:
        if "box" not in self._rings:
            k = np.arange(3)
            offs = np.stack(np.meshgrid(k, k, k, indexing="ij"), axis=-1).reshape(-1, 3)
            self._rings["box"] = (offs, self._key(offs))
        return self._rings["box"]

    def _measure_cells(self, Qs, sel, start, counts, nz, K, best_i, best_d) -> None:
        """Distances from queries Qs (rows of `sel`) to the points of the occupied cells nz
        (flat indices into the (query, cell) table); keeps strict improvements."""
        nq = len(sel)
        if not len(nz):
            return
        cz = counts[nz]
        total = int(cz.sum())
        # Sorted position of every (query, point) pair, grouped by query in scan order.
        pos = np.arange(total) - np.repeat(np.cumsum(cz) - cz - start[nz], cz)
        qloc = np.repeat(nz // K, cz)
        X = self._sorted_xyz
        d2 = (Qs[qloc, 0] - X[0, pos]) ** 2
        d2 += (Qs[qloc, 1] - X[1, pos]) ** 2
        d2 += (Qs[qloc, 2] - X[2, pos]) ** 2
        tot = np.bincount(qloc, minlength=nq)
        has = np.flatnonzero(tot)
        mins = np.minimum.reduceat(d2, (np.cumsum(tot) - tot)[has])
        hit = np.flatnonzero(d2 == np.repeat(mins, tot[has]))
        qh = qloc[hit]
        first = np.ones(len(hit), dtype=bool)
        first[1:] = qh[1:] != qh[:-1]                                         # first minimum per query
        hit, tgt = hit[first], sel[qh[first]]
        cand_d = np.sqrt(d2[hit])
        better = cand_d < best_d[tgt]
        best_i[tgt[better]] = self.order[pos[hit[better]]]
        best_d[tgt[better]] = cand_d[better]

    def _clusters(self):
        """Points grouped by coarse cells (2 × 2 × 2 grid cells or more) with their tight bounding boxes."""
        if self._coarse is None:
            # Coarse enough that a query's bounds to all clusters stay cheap (≈ 4 √n clusters).
            size = 2.0 * self.cell
            while True:
                ijk = np.floor((self.points - self.origin) / size).astype(np.int64)
                _, label = np.unique(ijk, axis=0, return_inverse=True)
                if label.max(initial=0) + 1 <= 4.0 * math.sqrt(len(self.points)) + 8:
                    break
                size *= 1.5
            label = label.ravel()
            order = np.argsort(label, kind="stable")
            count = np.bincount(label)
            start = np.cumsum(count) - count
            lo = np.full((len(count), 3), np.inf)
            hi = np.full((len(count), 3), -np.inf)
            np.minimum.at(lo, label, self.points)
            np.maximum.at(hi, label, self.points)
            self._coarse = (order, start, count, lo.T.copy(), hi.T.copy(),
                            np.ascontiguousarray(self.points[order].T))
        return self._coarse

    def _far(self, Q, sel, best_i, best_d, block: int = 1024) -> None:
        """Exact nearest for queries far from the points (a flared hem, 10-30 cm from the legs).

        Lower bounds to every cluster's box; the cluster with the smallest bound gives a close
        upper bound; then every cluster whose bound is below it is measured point by point.
        """
        order, start, count, lo, hi, X = self._clusters()
        for c0 in range(0, len(sel), block):
            s = sel[c0:c0 + block]
            q = Q[s]
            lb = np.zeros((len(s), len(count)))
            for k in range(3):
                g = np.maximum(lo[k][None] - q[:, k:k + 1], 0.0) + np.maximum(q[:, k:k + 1] - hi[k][None], 0.0)
                lb += g * g
            first = np.argmin(lb, axis=1)
            ub = self._measure(q, np.arange(len(s)), first, start, count, X, order, s, best_i, best_d)
            qi, ci = np.nonzero(lb <= ub[:, None])
            other = ci != first[qi]
            self._measure(q, qi[other], ci[other], start, count, X, order, s, best_i, best_d)

    @staticmethod
    def _measure(q, qi, ci, start, count, X, order, s, best_i, best_d) -> np.ndarray:
        """Distances from queries q[qi] to every point of clusters ci (grouped by query, in
        order); keeps improvements in best_i/best_d[s]; returns each query's best squared distance."""
        cnt = count[ci]
        total = int(cnt.sum())
        pos = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt - start[ci], cnt)
        qq = np.repeat(qi, cnt)
        d2 = (q[qq, 0] - X[0, pos]) ** 2
        d2 += (q[qq, 1] - X[1, pos]) ** 2
        d2 += (q[qq, 2] - X[2, pos]) ** 2
        per = np.bincount(qq, minlength=len(q))
        has = np.flatnonzero(per)
        mins = np.minimum.reduceat(d2, (np.cumsum(per) - per)[has])
        hit = np.flatnonzero(d2 == np.repeat(mins, per[has]))
        qh = qq[hit]
        head = np.ones(len(hit), dtype=bool)
        head[1:] = qh[1:] != qh[:-1]
        hit = hit[head]
        tgt = s[qh[head]]
        d = np.sqrt(d2[hit])
        better = d < best_d[tgt]
        best_i[tgt[better]] = order[pos[hit[better]]]
        best_d[tgt[better]] = d[better]
        return best_d[s] ** 2

    def nearest(self, queries: np.ndarray, max_ring: int = 1, max_dist: float | None = None,
                hint: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(index, distance) of the nearest point for each query.

        Scans cells in growing rings; after ring r every point within r·cell is seen, so a
        query is settled once its best distance is ≤ r·cell. Queries still open after
        `max_ring` rings are settled through the point clusters (see _far). With `max_dist`,
        queries with nothing that close get index -1 and distance inf.

        `hint` (index per query, -1 = none; e.g. the answer for the same points a moment ago)
        bounds each distance by the hinted point's, so only the few cells within that bound
        are scanned: the answer is the same, found with fewer distance evaluations.
        """
        Q = np.asarray(queries, dtype=np.float64)
        n = len(Q)
        best_i = np.full(n, -1, dtype=np.int64)
        best_d = np.full(n, np.inf)
        pending = np.arange(n)
        if hint is not None and n and max_dist is None:
            hint = np.asarray(hint, dtype=np.int64)
            bound = np.full(n, np.inf)
            ok = hint >= 0
            bound[ok] = np.sqrt(np.sum((Q[ok] - self.points[hint[ok]]) ** 2, axis=1)) * (1 + 1e-9) + 1e-12
            near = np.flatnonzero(bound <= self.cell)
            self._scan_box(Q, near, bound[near], best_i, best_d)
            pending = np.flatnonzero(best_i < 0)
        r = 0
        for r in range(1, max(int(max_ring), 1) + 1):
            if not len(pending):
                break
            self._scan(Q, pending, r, best_i, best_d)
            pending = pending[best_d[pending] > r * self.cell]
            if max_dist is not None and r * self.cell >= max_dist:
                break
        if len(pending) and not (max_dist is not None and r * self.cell >= max_dist):
            self._far(Q, pending[np.all(np.isfinite(Q[pending]), axis=1)], best_i, best_d)
        if max_dist is not None:
            far = best_d > max_dist
            best_i[far], best_d[far] = -1, np.inf
        return best_i, best_d


def _dot3(x, y):
    """Row-wise dot product of 3-vectors given as coordinate triples of (K,) arrays.

    Summed (x0·y0 + x2·y2) + x1·y1: the order in which numpy 1.26's einsum("ij,ij->i") sums
    3-vectors on x86 (measured), so the results match the former (K, 3) einsum code bit for bit
    there; any order is an equally good dot product.
    """
    return (x[0] * y[0] + x[2] * y[2]) + x[1] * y[1]


def _closest_on_triangles_xyz(P, A, B, C):
    """closest_on_triangles on coordinate triples (tuples of three (K,) arrays): every
    operation runs on contiguous arrays, faster than on (K, 3) rows."""
    ab = (B[0] - A[0], B[1] - A[1], B[2] - A[2])
    ac = (C[0] - A[0], C[1] - A[1], C[2] - A[2])
    ap = (P[0] - A[0], P[1] - A[1], P[2] - A[2])
    d1 = _dot3(ab, ap)
    d2 = _dot3(ac, ap)
    bp = (P[0] - B[0], P[1] - B[1], P[2] - B[2])
    d3 = _dot3(ab, bp)
    d4 = _dot3(ac, bp)
    cp = (P[0] - C[0], P[1] - C[1], P[2] - C[2])
    d5 = _dot3(ab, cp)
    d6 = _dot3(ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    # Voronoi region of P, tested in the order of Ericson's early returns.
    feat = np.select([(d1 <= 0) & (d2 <= 0), (d3 >= 0) & (d4 <= d3), (vc <= 0) & (d1 >= 0) & (d3 <= 0),
                      (d6 >= 0) & (d5 <= d6), (vb <= 0) & (d2 >= 0) & (d6 <= 0),
                      (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0)],
                     [0, 1, 3, 2, 5, 4], 6).astype(np.int8)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        denom = va + vb + vc
        denom = np.where(np.abs(denom) < 1e-30, 1e-30, denom)
        v6, w6 = vb / denom, vc / denom                     # face interior
        v3 = d1 / (d1 - d3)                                 # edge AB
        w5 = d2 / (d2 - d6)                                 # edge CA
        d43 = d4 - d3
        w4 = d43 / (d43 + (d5 - d6))                        # edge BC
        # Barycentrics per feature 0..6 (0 * x keeps a NaN a NaN, for degenerate triangles).
        b0 = np.choose(feat, [1.0, 0.0, 0.0, 1 - v3, 0 * w4, 1 - w5, 1 - v6 - w6])
        b1 = np.choose(feat, [0.0, 1.0, 0.0, v3, 1 - w4, 0 * w5, v6])
        b2 = np.choose(feat, [0.0, 0.0, 1.0, 0 * v3, w4, w5, w6])
    b0, b1, b2 = (np.nan_to_num(b, copy=False, nan=1.0 / 3.0) for b in (b0, b1, b2))   # degenerate triangles
    Q = tuple(b0 * A[k] + b1 * B[k] + b2 * C[k] for k in range(3))
    return Q, (b0, b1, b2), feat


def closest_on_triangles(P, A, B, C):
    """Closest point on triangle (A, B, C) to P, row-wise (Ericson, Real-Time Collision Detection).

    Returns (Q, bary (K,3), feature) with feature 0/1/2 = vertex A/B/C, 3/4/5 = edge AB/BC/CA,
    6 = face interior: the feature picks the pseudo-normal for the inside test.
    """
    xyz = lambda X: tuple(np.ascontiguousarray(np.asarray(X, dtype=np.float64).T))
    Q, bary, feat = _closest_on_triangles_xyz(xyz(P), xyz(A), xyz(B), xyz(C))
    return np.stack(Q, axis=1), np.stack(bary, axis=1), feat


class SurfaceQuery:
    """Closest point and inside/outside on a triangle mesh with fixed topology.

    Candidates for a query are the faces around the nearest vertex's one-ring (its "2-ring
    faces"); the sign of (p - q) against the pseudo-normal of the closest feature (face, edge or
    vertex) decides inside/outside, exact for a closed mesh when q is the true closest point.
    Candidates whose bounding sphere lies farther than the nearest vertex are skipped (they
    cannot hold the closest point). `update` moves the vertices (one call per frame) and keeps
    the topology tables.
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
        self.cand = np.full((n, max(int(deg.max(initial=0)), 1)), -1, dtype=np.int64)
        col = np.arange(len(pv)) - np.repeat(np.cumsum(deg) - deg, deg)
        self.cand[pv, col] = pf
        # The same lists flat (CSR): vertex v's candidates are cand_flat[cand_start[v]:][:deg[v]].
        self._cand_flat, self._cand_count = pf, deg
        self._cand_start = np.cumsum(deg) - deg
        # The nearest vertex must have faces: the grid holds only vertices that faces use.
        self._grid_ids = np.flatnonzero(deg) if np.any(deg == 0) else None
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
        ids = self._grid_ids
        self.grid = PointGrid(self.V if ids is None else self.V[ids], self._cell)
        T = self.V[self.F]                                                   # (M, 3, 3)
        center = T.mean(axis=1)
        self._radius = np.sqrt(np.max(np.sum((T - center[:, None]) ** 2, axis=2), axis=1))
        # Corner and centre coordinates per face, one contiguous array per coordinate.
        self._corners = tuple(tuple(np.ascontiguousarray(T[:, c, k]) for k in range(3)) for c in range(3))
        self._center = tuple(np.ascontiguousarray(center[:, k]) for k in range(3))

    def closest(self, P: np.ndarray):
        """(Q, face, bary, signed distance): negative inside (behind the surface)."""
        return self.closest_near(P)[:4]

    def closest_near(self, P: np.ndarray, hint: np.ndarray | None = None):
        """closest(P) plus the nearest vertex of each point, which a later query of the same,
        slightly moved points can pass back as `hint` (same answers, less search)."""
        P = np.asarray(P, dtype=np.float64)
        n = len(P)
        ids = self._grid_ids
        if hint is not None and ids is not None:
            hint = np.searchsorted(ids, hint)           # grid indices of the hinted vertices
        near, dv = self.grid.nearest(P, hint=hint)
        near = np.maximum(near, 0)                        # non-finite queries: any vertex
        if ids is not None:
            near = ids[near]
        cnt = self._cand_count[near]
        qi = np.repeat(np.arange(n), cnt)
        f = self._cand_flat[np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt - self._cand_start[near], cnt)]
        Pt = tuple(np.ascontiguousarray(P[:, k]) for k in range(3))
        Pq = tuple(x[qi] for x in Pt)
        # A face whose bounding sphere is farther than the nearest vertex cannot be closest.
        c = tuple(self._center[k][f] - Pq[k] for k in range(3))
        lower = np.sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]) - self._radius[f]
        keep = np.flatnonzero(~(lower > dv[qi] * (1.0 + 1e-9) + 1e-12))
        qi, f = qi[keep], f[keep]
        Pq = tuple(x[keep] for x in Pq)
        A, B, C = (tuple(x[f] for x in corner) for corner in self._corners)
        Qt, bt, feat = _closest_on_triangles_xyz(Pq, A, B, C)
        d2 = (Pq[0] - Qt[0]) ** 2 + (Pq[1] - Qt[1]) ** 2 + (Pq[2] - Qt[2]) ** 2
        # First smallest distance per query (candidates come grouped by query, in list order).
        per = np.bincount(qi, minlength=n)
        mins = np.minimum.reduceat(d2, np.cumsum(per) - per)
        hit = np.flatnonzero(d2 == np.repeat(mins, per))
        qh = qi[hit]
        head = np.ones(len(hit), dtype=bool)
        head[1:] = qh[1:] != qh[:-1]
        best = hit[head]
        Qb = np.stack([x[best] for x in Qt], axis=1)
        bb = np.stack([x[best] for x in bt], axis=1)
        fb, featb = f[best], feat[best]
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
        return Qb, fb, bb, sign * dist, near

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
        F = np.asarray(F, dtype=np.int64).reshape(-1, 3)
        self.P = list(map(tuple, np.asarray(V, dtype=np.float64).tolist()))
        self.F = F.tolist()
        self.alive = [True] * len(self.F)
        self.vf = vf = [set() for _ in self.P]
        for i, (a, b, c) in enumerate(self.F):
            vf[a].add(i)
            vf[b].add(i)
            vf[c].add(i)
        self.bnd = [False] * len(self.P)
        for a, b in boundary_edges(np.asarray(F)).tolist():
            self.bnd[a] = self.bnd[b] = True
        self._touched = None

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
        """The set of undirected edges (a < b) of the live faces."""
        a, b = self._edge_arrays()
        return set(zip(a.tolist(), b.tolist()))

    def _face_array(self) -> np.ndarray:
        F = np.fromiter(itertools.chain.from_iterable(self.F), np.int64, 3 * len(self.F)).reshape(-1, 3)
        return F[np.fromiter(self.alive, bool, len(self.alive))]

    def _edge_arrays(self, F: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Edges of every live face in face order (ab, bc, ca; duplicates kept), smaller index first."""
        F = self._face_array() if F is None else F
        e = F[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
        return np.minimum(e[:, 0], e[:, 1]), np.maximum(e[:, 0], e[:, 1])

    def _points(self) -> np.ndarray:
        return np.fromiter(itertools.chain.from_iterable(self.P), np.float64, 3 * len(self.P)).reshape(-1, 3)

    def _lengths2(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Squared edge lengths, rounded exactly as _d2 rounds them (x·x + y·y + z·z)."""
        P = self._points()
        d = P[a] - P[b]
        return d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2]

    def nbrs(self, v):
        F = self.F
        s = set().union(*[F[fi] for fi in self.vf[v]])
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
        a, b = self._edge_arrays()
        key = np.unique(a * len(self.P) + b)
        a, b = key // len(self.P), key % len(self.P)
        d2 = self._lengths2(a, b)
        m = d2 > hi2
        heap = [(-d, (x, y)) for d, x, y in zip(d2[m].tolist(), a[m].tolist(), b[m].tolist())]
        heapq.heapify(heap)
        while heap:
            _, (a, b) = heapq.heappop(heap)
            if not (self.vf[a] & self.vf[b]) or self._d2(a, b) <= hi2:
                continue
            for e in self.split(a, b):
                d2 = self._d2(*e)
                if d2 > hi2:
                    heapq.heappush(heap, (-d2, e))

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
        P = self.P
        px, py, pz = p
        for w in na | nb:
            if w == a or w == b:
                continue
            q = P[w]
            dx, dy, dz = q[0] - px, q[1] - py, q[2] - pz
            if dx * dx + dy * dy + dz * dz > hi2:
                return False
        # No face may flip or degenerate (the same arithmetic as _normal and _dot, inlined).
        sqrt = math.sqrt
        for v in (a, b):
            for fi in self.vf[v] - shared:
                f = self.F[fi]
                (x0, y0, z0), (x1, y1, z1), (x2, y2, z2) = P[f[0]], P[f[1]], P[f[2]]
                ux, uy, uz, vx, vy, vz = x1 - x0, y1 - y0, z1 - z0, x2 - x0, y2 - y0, z2 - z0
                n0 = (uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx)
                (x0, y0, z0), (x1, y1, z1), (x2, y2, z2) = (p if u == a or u == b else P[u] for u in f)
                ux, uy, uz, vx, vy, vz = x1 - x0, y1 - y0, z1 - z0, x2 - x0, y2 - y0, z2 - z0
                n1 = (uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx)
                l0 = sqrt(n0[0] * n0[0] + n0[1] * n0[1] + n0[2] * n0[2])
                l1 = sqrt(n1[0] * n1[0] + n1[1] * n1[1] + n1[2] * n1[2])
                if l1 < 1e-14 or n0[0] * n1[0] + n0[1] * n1[1] + n0[2] * n1[2] < 0.3 * l0 * l1:
                    return False
        if self._touched is not None:
            t = self._touched
            for w in na | nb:
                t[w] = 1
            t[a] = t[b] = 1
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
        n = len(self.P)
        a, b = self._edge_arrays()
        key = np.unique(a * n + b)
        ea, eb = key // n, key % n
        d2 = self._lengths2(ea, eb)
        m = np.flatnonzero(d2 < lo2)
        m = m[np.lexsort((eb[m], ea[m], d2[m]))]
        far = self._too_far_after_collapse(ea, eb, m, hi2)
        # A collapse changes positions and neighbourhoods only around its edge: there it marks
        # the vertices, and elsewhere the "too far" verdict above still holds.
        self._touched = touched = bytearray(n)
        for a, b, skip in zip(ea[m].tolist(), eb[m].tolist(), far.tolist()):
            if not self.vf[a] or not self.vf[b] or self._d2(a, b) >= lo2:
                continue
            if skip and not (touched[a] or touched[b]):
                continue
            self.try_collapse(a, b, hi2)
        self._touched = None

    def _too_far_after_collapse(self, ea, eb, m, hi2) -> np.ndarray:
        """For edges (ea, eb)[m]: would a neighbour of either end lie farther than √hi2 from the
        collapse point (try_collapse's length check, with its rounding), in the current mesh?"""
        if not len(m):
            return np.zeros(0, dtype=bool)
        P = self._points()
        bnd = np.array(self.bnd, dtype=bool)
        x, y = ea[m], eb[m]
        mid = (P[x] + P[y]) / 2
        p = np.where((bnd[x] & ~bnd[y])[:, None], P[x], np.where((bnd[y] & ~bnd[x])[:, None], P[y], mid))
        # Neighbours of x and of y from the edge list (CSR by vertex).
        src = np.concatenate([ea, eb])
        dst = np.concatenate([eb, ea])
        o = np.argsort(src, kind="stable")
        src, dst = src[o], dst[o]
        start = np.searchsorted(src, np.arange(len(P) + 1))
        ends = np.concatenate([x, y])
        cnt = start[ends + 1] - start[ends]
        owner = np.repeat(np.concatenate([np.arange(len(x))] * 2), cnt)
        w = dst[np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt - start[ends], cnt)]
        d = P[w] - p[owner]
        dd = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2]
        bad = (dd > hi2) & (w != x[owner]) & (w != y[owner])
        return np.bincount(owner[bad], minlength=len(x)) > 0

    def _flip_plan(self, order: list):
        """Which edges of `order` the flip pass must evaluate, and which to add after a flip.

        Returns (pending positions, sorted; starts, positions): positions[starts[v]:starts[v+1]]
        are the edges whose quad (a, b and the opposite corners c, d) contains vertex v. An edge
        is pending unless it certainly cannot gain now: one face on each side, oriented
        consistently, after - before >= 0 for the current valences. A flip changes the valences
        of its own quad only, so the pass re-evaluates exactly the later edges sharing a vertex
        with it (see flip_valence): the decisions are those of a pass evaluating every edge.
        """
        F = self._face_array()
        n = len(self.P)
        if not len(order) or not len(F):
            return list(range(len(order))), [0] * (n + 1), []
        E = np.fromiter(itertools.chain.from_iterable(order), np.int64, 2 * len(order)).reshape(-1, 2)
        # The side where a -> b runs in face order gives c, the other side d.
        c1, d1 = _opposite_corners(F, n, E)
        ok = (c1 >= 0) & (d1 >= 0)
        count = np.bincount(F.ravel(), minlength=n)
        bnd = np.array(self.bnd, dtype=bool)
        val = count + bnd
        tgt = np.where(bnd, 4, 6)
        a, b = E[:, 0], E[:, 1]
        c, d = np.maximum(c1, 0), np.maximum(d1, 0)
        dev = lambda v, x: np.abs(val[v] + x - tgt[v])
        before = dev(a, 0) + dev(b, 0) + dev(c, 0) + dev(d, 0)
        after = dev(a, -1) + dev(b, -1) + dev(c, 1) + dev(d, 1)
        pending = ~ok | (after < before)
        # A degenerate face would fool the counts: evaluate every edge around it.
        degenerate = (F[:, 0] == F[:, 1]) | (F[:, 1] == F[:, 2]) | (F[:, 2] == F[:, 0])
        bad = np.zeros(n, dtype=bool)
        bad[F[degenerate].ravel()] = True
        pos = np.arange(len(E))
        vert = np.concatenate([a, b, c1, d1])
        ids = np.concatenate([pos] * 4)
        keep = vert >= 0
        vert, ids = vert[keep], ids[keep]
        pending |= np.bincount(ids[bad[vert]], minlength=len(E)) > 0
        o = _argsort_small(vert, n)
        starts = np.searchsorted(vert[o], np.arange(n + 1))
        return np.flatnonzero(pending).tolist(), starts.tolist(), ids[o].tolist()

    def flip_valence(self) -> None:
        """One valence-improving flip pass over the edges (in the edge set's order)."""
        order = list(self.edges())
        pending, starts, positions = self._flip_plan(order)
        queued = bytearray(len(order))
        for i in pending:
            queued[i] = 1
        heapq.heapify(pending)
        while pending:
            i = heapq.heappop(pending)
            a, b = order[i]
            shared = list(self.vf[a] & self.vf[b])
            if len(shared) != 2:
                continue
            f1, f2 = self.F[shared[0]], self.F[shared[1]]
            k = f1.index(a)
            if f1[(k + 1) % 3] != b:
                f1, f2 = f2, f1
                shared.reverse()
            c = f1[0] + f1[1] + f1[2] - a - b      # the third corner
            d = f2[0] + f2[1] + f2[2] - a - b
            if c == d or not self.vf[c].isdisjoint(self.vf[d]):
                continue  # c-d is already an edge
            bnd, vf = self.bnd, self.vf
            ta = 4 if bnd[a] else 6
            tb = 4 if bnd[b] else 6
            tc = 4 if bnd[c] else 6
            td = 4 if bnd[d] else 6
            va, vb = len(vf[a]) + bnd[a], len(vf[b]) + bnd[b]
            vc, vd = len(vf[c]) + bnd[c], len(vf[d]) + bnd[d]
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
            for v in (a, b, c, d):       # their valences changed: re-evaluate the later edges around
                for j in positions[starts[v]:starts[v + 1]]:
                    if j > i and not queued[j]:
                        queued[j] = 1
                        heapq.heappush(pending, j)

    def arrays(self):
        V, F, _ = compact(self._points(), self._face_array())
        return V, F


def _argsort_small(x: np.ndarray, n: int) -> np.ndarray:
    """Stable argsort of integers in [0, n): a radix sort when they fit in 16 bits."""
    return np.argsort(x.astype(np.uint16) if n <= 1 << 16 else x, kind="stable")


def _opposite_corners(F: np.ndarray, n: int, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each edge (a, b) of E: the third corner of the face where a -> b runs in face order,
    and of the face where b -> a does; -1 where there is no such face or more than one."""
    tail = F.ravel()                                     # half-edge k of face i: corner k -> k+1
    head = F[:, [1, 2, 0]].ravel()
    opp = F[:, [2, 0, 1]].ravel()
    o = _argsort_small(tail, n)
    start = np.searchsorted(tail[o], np.arange(n + 1))
    deg = np.diff(start)
    width = max(int(deg.max(initial=0)), 1)
    # Heads and opposite corners of each vertex's outgoing half-edges, padded to one width.
    slot = np.arange(len(o)) - np.repeat(start[:-1], deg)
    heads = np.full((n, width), -1, dtype=np.int64)
    opps = np.full((n, width), -1, dtype=np.int64)
    heads[tail[o], slot] = head[o]
    opps[tail[o], slot] = opp[o]

    def side(x, y):
        match = heads[x] == y[:, None]
        col = np.argmax(match, axis=1)
        return np.where(match.sum(axis=1) == 1, opps[x, col], -1)

    return side(E[:, 0], E[:, 1]), side(E[:, 1], E[:, 0])


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


_TOPOLOGY_CACHE: list = []


def _smoothing_topology(F: np.ndarray, n: int):
    """(edges, boundary edges, is_boundary) of F; the last one is kept, since the inflation
    loops smooth the same faces dozens of times."""
    for key_F, key_n, value in _TOPOLOGY_CACHE:
        if key_n == n and key_F.shape == F.shape and np.array_equal(key_F, F):
            return value
    value = (unique_edges(F),) + _boundary_info(F, n)
    _TOPOLOGY_CACHE[:] = [(np.array(F, copy=True), n, value)]
    return value


def smooth_step(V: np.ndarray, F: np.ndarray, lam, tangential: bool = False) -> np.ndarray:
    """One Laplacian step; boundary vertices move along their boundary neighbours only."""
    E, be, is_b = _smoothing_topology(np.asarray(F), len(V))
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
    def from_model(cls, model, betas=None, reference: str = "A") -> BodyRest:
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

    def resolved(self) -> GarmentSpec:
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
    _, face, bary, sd, near = body.query.closest_near(V)
    n = body.query.normal_at(face, bary)
    V = V + np.maximum(clearance - sd, 0.0)[:, None] * n
    lam = np.full(len(V), 0.5)
    mu = np.where(taubin, -0.53, 0.0) if taubin is not None else None
    for _ in range(iterations):
        V = smooth_step(V, F, lam)
        if mu is not None and np.any(mu):
            V = smooth_step(V, F, mu)
        V, near = _push_out_near(V, body, clearance, extra, hint=near)
    return V


def _push_out(V, body: BodyRest, clearance, extra=None, subset: np.ndarray | None = None) -> np.ndarray:
    """Move vertices closer than `clearance` to the body out to it (and, with `extra`, out of
    the inner garment). `subset` limits the work to those vertices (the others are unchanged)."""
    if subset is not None:
        out = V.copy()
        out[subset] = _push_out(V[subset], body, clearance[subset], extra)
        return out
    return _push_out_near(V, body, clearance, extra)[0]


def _push_out_near(V, body: BodyRest, clearance, extra=None, hint=None):
    """_push_out, also returning the nearest body vertex of each vertex (before the push) for
    the next iteration's `hint`."""
    Q, face, bary, sd, near = body.query.closest_near(V, hint)
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
    return V, near


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


def _region_of_part() -> np.ndarray:
    """UV region per body part: 0 torso (and head), 1/2 left/right arm, 3/4 left/right leg."""
    name_region = {"leftArm": 1, "leftForeArm": 1, "leftHand": 1, "rightArm": 2, "rightForeArm": 2,
                   "rightHand": 2, "leftUpLeg": 3, "leftLeg": 3, "leftFoot": 3,
                   "rightUpLeg": 4, "rightLeg": 4, "rightFoot": 4}
    lut = np.zeros(len(PART_NAMES), dtype=np.int64)
    for nm, r in name_region.items():
        lut[PART_INDEX[nm]] = r
    return lut


def _face_regions(V, F, body: BodyRest, force_torso: np.ndarray | None = None) -> np.ndarray:
    """UV region per face from the body part under its centroid."""
    c = V[F].mean(axis=1)
    _, f, bary, _ = body.query.closest(c)
    corner = np.argmax(bary, axis=1)
    lab = body.part_labels[body.faces[f, corner]]
    region = _region_of_part()[lab]
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
    used = np.flatnonzero(np.any(W != 0.0, axis=0))     # joints no vertex uses stay exactly 0
    w = W[:, used]
    C = len(used)
    flat = (idx[:, None] * C + np.arange(C)).ravel()
    for _ in range(iterations):
        s = np.bincount(flat, weights=w[other].ravel(), minlength=n * C).reshape(n, C)
        w = 0.5 * w + 0.5 * s / cnt
    W[:, used] = w
    return W


def _rigid_band(weights: np.ndarray, pins: np.ndarray, joint: str) -> np.ndarray:
    """Pinned vertices follow one joint rigidly (the neckline the chest, the waistband the pelvis).

    Why: pinned vertices move exactly as skinned, so any stretch of the skinning shows up as
    cloth stretch. With smoothed weights a neckline vertex follows the collars and upper arms a
    little, and arm swing stretched neckline edges to 1.55x rest in a walk (free body, T-shirt
    of 1 400 vertices); bound to spine3 the pinned edges keep their length.
    """
    rigid = np.zeros_like(weights)
    rigid[:, JOINT_INDEX[joint]] = 1.0
    p = np.asarray(pins, dtype=np.float64)[:, None]
    return _sparsify(p * rigid + (1.0 - p) * weights)


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
        hem_y = _top_hem_y(H, spec)
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
        Vr, Fr = cut_mesh(body.vertices, body.faces, _bottom_field(body, H["waist"], _leg_end_y(H, spec)))
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
    near = None
    for _ in range(3):
        Vg, near = _push_out_near(smooth_step(Vg, Fg, 0.3), body, clearance, extra, hint=near)
    moved = None
    for _ in range(3):  # where two body parts are close (crotch), one push can land near the other
        prev = Vg
        Vg = _push_out(Vg, body, clearance, extra, subset=moved)
        moved = np.flatnonzero(np.any(Vg != prev, axis=1))   # only moved vertices can be short again
    if skirt_mask is not None:
        skirt_mask = _skirt_region(Vg, body, kind, H)

    loops = boundary_loops(Fg)
    if kind in TOP_KINDS or kind == "dress":
        pin_loops = _pick_loop(Vg, loops, lambda c: c[1])           # the neckline: highest loop
    else:
        pin_loops = _pick_loop(Vg, loops, lambda c: c[1])           # the waistband
    pins = _band_weights(Vg, pin_loops, PIN_BAND)
    _, face, bary, sd, _ = body.query.closest_near(Vg, hint=near)
    weights = np.einsum("ij,ijk->ik", bary, body.weights[body.faces[face]])   # = surface_weights
    if skirt_mask is not None and skirt_mask.any():
        weights = _skirt_weights(Vg, weights, skirt_mask, H)
    weights = _sparsify(_smooth_weights(Fg, weights, len(Vg)))
    weights = _rigid_band(weights, pins, "spine3" if kind in TOP_KINDS or kind == "dress" else "pelvis")
    region = _face_regions(Vg, Fg, body, force_torso=skirt_mask)
    uv = _corner_uvs(Vg, Fg, region, body)
    weights32 = weights.astype(np.float32)
    bind = body.unpose(Vg, weights32.astype(np.float64))
    return Garment(spec=spec, vertices=Vg, faces=Fg, uv=uv, pin_weights=pins,
                   skin_weights=weights32, clearance=clearance,
                   bind_vertices=bind, reference_pose=np.array(body.body_pose, dtype=np.float64),
                   layer=1 if kind in TOP_KINDS else 0,
                   self_collision=kind in ("skirt", "dress"),
                   rest_penetration=float(np.mean(sd < 0)))


def _top_hem_y(H: dict, spec: GarmentSpec) -> float:
    """Where a top's hem (or a dress's bodice seam) is cut."""
    if spec.kind == "dress":
        return H["natural_waist"]
    lo, hi = H["natural_waist"], H["crotch"] + 0.04
    return lo + spec.length * (hi - lo)


def _leg_end_y(H: dict, spec: GarmentSpec) -> float:
    """Where shorts' or trousers' legs end."""
    if spec.kind == "shorts":
        lo, hi = H["crotch"] - 0.05, H["knee"] + 0.02
    else:
        lo, hi = 0.5 * (H["knee"] + H["ankle"]), H["ankle"] + 0.04
    return lo + spec.length * (hi - lo)


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


# ======================================================================== painted garments
COVERAGE_EDGE = 0.005   # m: width of a painted garment's soft hem (coverage 0 -> 1 across it)


def garment_field(spec: GarmentSpec, body: BodyRest) -> np.ndarray:
    """(V,) region field on the body's vertices, positive where the garment covers the skin.

    The fields make_garment cuts along (same hem heights, sleeve cut, neckline and never-covered
    parts), so a painted garment covers what a simulated one is cut from. Skirts are tubes, not
    cuts: painted, a skirt covers hips and thighs from the waist down to its hem, as a tight
    skirt would; a dress is its bodice's field joined with such a skirt.
    """
    spec = spec.resolved()
    H = _heights(body)
    if spec.kind in TOP_KINDS:
        return _top_field(body, _top_hem_y(H, spec), spec.sleeve)
    if spec.kind in ("shorts", "trousers"):
        return _bottom_field(body, H["waist"], _leg_end_y(H, spec))
    hem = _skirt_hem_y(H, spec.length)
    if spec.kind == "skirt":
        return _bottom_field(body, H["waist"], hem)
    # Dress: the skirt part overlaps the bodice by 5 cm so the union has no seam at the waist.
    bodice = _top_field(body, _top_hem_y(H, spec), spec.sleeve)
    return np.maximum(bodice, _bottom_field(body, H["natural_waist"] + 0.05, hem))


def surface_gradient_norm(V: np.ndarray, F: np.ndarray, f: np.ndarray) -> np.ndarray:
    """(V,) length of the surface gradient of the piecewise-linear field `f`, per vertex: the
    area-weighted mean over its faces (where f is a min of several fields the gradients of
    neighbouring faces point different ways, so their lengths are averaged, not the vectors)."""
    e0 = V[F[:, 2]] - V[F[:, 1]]          # edge opposite corner 0, and so on
    e1 = V[F[:, 0]] - V[F[:, 2]]
    e2 = V[F[:, 1]] - V[F[:, 0]]
    n = np.cross(e2, -e1)                  # 2·area · unit normal
    area2 = np.maximum(_rows_norm(n), 1e-20)
    nu = n / area2[:, None]
    g = (f[F[:, 0], None] * np.cross(nu, e0) + f[F[:, 1], None] * np.cross(nu, e1)
         + f[F[:, 2], None] * np.cross(nu, e2)) / area2[:, None]
    w = np.repeat(area2, 3)
    num = np.bincount(F.ravel(), weights=np.repeat(_rows_norm(g) * area2, 3), minlength=len(V))
    den = np.bincount(F.ravel(), weights=w, minlength=len(V))
    return num / np.maximum(den, 1e-20)


def garment_signed_distance(spec: GarmentSpec, body: BodyRest) -> np.ndarray:
    """(V,) approximate distance in metres along the skin to the garment's edge, positive
    inside the garment: garment_field divided by the length of its surface gradient (the
    plane cuts are metres already, the smoothed label borders are not). Interpolated linearly
    across the body's faces its zero contour is the cut's hem line, at any mesh density."""
    phi = garment_field(spec, body)
    grad = surface_gradient_norm(body.vertices, body.faces, phi)
    return phi / np.maximum(grad, 0.05)


def coverage_from_distance(sd: np.ndarray, edge: float = COVERAGE_EDGE) -> np.ndarray:
    """Coverage in [0, 1] from a signed distance: smoothstep across `edge` metres centred on
    the hem (what the painted material computes per shading point)."""
    t = np.clip(np.asarray(sd, dtype=np.float64) / edge + 0.5, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def garment_coverage(spec: GarmentSpec, body: BodyRest, edge: float = COVERAGE_EDGE) -> np.ndarray:
    """(V,) share of the skin covered by a painted `spec` at each body vertex, in [0, 1]: 1
    inside the garment, 0 outside, a smooth `edge`-wide hem (5 mm by default) in between."""
    return coverage_from_distance(garment_signed_distance(spec, body), edge)


def body_cloth_uvs(body: BodyRest) -> np.ndarray:
    """(T, 3, 2) per-corner UVs in metres on the body's own faces, laid out as garments' UVs
    (cylindrical per torso / arm / leg, seams at the back, underneath, inside): fabric patterns
    painted on the skin get the same scale and direction as on a simulated garment."""
    corner = body.part_labels[body.faces]                          # (T, 3)
    region = _region_of_part()[corner[:, 0]]
    return _corner_uvs(body.vertices, body.faces, region, body)
