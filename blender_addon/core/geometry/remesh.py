"""Isotropic remeshing of a triangle surface (split, collapse, flip, tangential relaxation),
projected back onto the input surface, with boundaries kept on their curves.

Why: cloth springs behave best on near-equilateral triangles of one size, and a garment cut
from the body inherits the body's uneven triangles.
"""
from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

from .mesh import boundary_edges, compact, scatter_add, unique_edges, vertex_normals
from .spatial import SurfaceQuery, closest_on_segments


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
    s = scatter_add(idx, V[other], n)
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


