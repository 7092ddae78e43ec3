"""Spatial queries in numpy: a uniform point grid (neighbours within a radius) and closest
points on a triangle surface with an inside/outside sign.

Why numpy: the same queries run where there is no Blender (recipe sampling, core tests);
scene code may use mathutils trees where they measure better (bench/bench_spatial.py).
"""
from __future__ import annotations

import math

import numpy as np

from .mesh import angle_weighted_normals, face_normals, row_norms, unique_edges, unit_rows


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
            el = row_norms(self.V[self.F[:, 1]] - self.V[self.F[:, 0]])
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
        dist = row_norms(d)
        sign = np.where(np.einsum("ij,ij->i", d, normal) < 0, -1.0, 1.0)
        return Qb, fb, bb, sign * dist, near

    def normal_at(self, face: np.ndarray, bary: np.ndarray) -> np.ndarray:
        """Smooth (interpolated vertex pseudo-normal) unit normal at surface points."""
        n = np.einsum("ij,ijk->ik", bary, self.vn[self.F[face]])
        return unit_rows(n)


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


