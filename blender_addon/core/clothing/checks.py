"""Per-frame garment checks: share of garment vertices inside the body, tunnelling through an
inner layer, and edge stretch against the rest mesh, summarised per garment.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..geometry.mesh import face_normals, unique_edges
from ..geometry.spatial import SurfaceQuery
from .fabrics import ClothSettings

# =============================================================================== checks
LAYER_BAND = 0.03  # m: outer-garment vertices this close to the inner garment are tested for tunnelling


def under_layer_share(outer: np.ndarray, inner: SurfaceQuery) -> float:
    """Share of an outer garment's vertices that tunnelled under the inner garment: within
    LAYER_BAND of it and on its body side (negative signed distance by the inner garment's
    outward pseudo-normals). An open garment has no inside, so only the band near it is judged,
    and only where the vertex lies over the garment's surface: a vertex whose closest point is
    on a hem (its offset runs along the cloth, not across it) is past the garment's edge, e.g.
    T-shirt cloth above the shorts' waistband, snug on the waist."""
    outer = np.asarray(outer, dtype=np.float64)
    if not len(outer):
        return 0.0
    Q, face, _, sd = inner.closest(outer)
    d = outer - Q
    n = face_normals(inner.V, inner.F)[face]
    across = np.abs(np.einsum("ij,ij->i", d, n)) >= 0.9 * np.linalg.norm(d, axis=1)
    return float(np.mean((sd < 0) & (sd > -LAYER_BAND) & across))
def inside_mask(points: np.ndarray, body: SurfaceQuery) -> np.ndarray:
    """Which points lie inside the (closed) body surface: pseudo-normal sign at the closest point."""
    return body.closest(points)[3] < 0


def edge_lengths(V: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.linalg.norm(V[edges[:, 0]] - V[edges[:, 1]], axis=1)


@dataclass
class FrameCheck:
    frame: int
    finite: bool
    penetration: float     # share of garment vertices inside the body
    stretch: float         # largest edge length / rest length
    stretch_robust: float  # the `quantile` edge stretch (see ClothSettings.stretch_quantile)
    layer_penetration: float = 0.0  # outer garments: share of vertices under the inner garment


class GarmentChecker:
    """Per-frame checks of one garment (fixed topology) against a body surface query that the
    caller updates to the frame's body vertices (one update per body, shared by its garments)."""

    def __init__(self, rest_vertices: np.ndarray, faces: np.ndarray, quantile: float = 0.999):
        self.edges = unique_edges(np.asarray(faces))
        self.rest_len = np.maximum(edge_lengths(np.asarray(rest_vertices, dtype=np.float64), self.edges), 1e-9)
        self.quantile = float(quantile)

    def stretch(self, V: np.ndarray) -> tuple[float, float]:
        r = edge_lengths(V, self.edges) / self.rest_len
        return float(r.max()), float(np.quantile(r, self.quantile)) if self.quantile < 1 else float(r.max())

    def check(self, frame: int, garment_vertices: np.ndarray, body: SurfaceQuery | None) -> FrameCheck:
        V = np.asarray(garment_vertices, dtype=np.float64)
        if not np.all(np.isfinite(V)):
            return FrameCheck(frame, False, 1.0, float("inf"), float("inf"))
        st, st_q = self.stretch(V)
        pen = float(np.mean(inside_mask(V, body))) if body is not None else 0.0
        return FrameCheck(frame, True, pen, st, st_q)


@dataclass
class CheckSummary:
    frames: int
    finite: bool
    penetration_median: float
    penetration_max: float
    max_stretch: float          # largest edge stretch over all frames
    max_stretch_robust: float   # largest per-frame `quantile` edge stretch
    per_frame: list = field(default_factory=list, repr=False)
    layer_penetration_max: float = 0.0  # largest per-frame share under the inner garment

    def failure(self, settings: ClothSettings) -> str | None:
        """Why the checks fail (None if they pass). Stretch is judged on the quantile edge
        stretch (settings.stretch_quantile; 1.0 = the largest edge)."""
        if self.frames == 0:
            return "no frames checked"
        if not self.finite:
            return "non-finite vertex positions"
        if self.max_stretch_robust > settings.stretch_limit:
            return f"edge stretch {self.max_stretch_robust:.2f} > {settings.stretch_limit}"
        if self.penetration_max > settings.penetration_max_limit:
            return f"max penetration {self.penetration_max:.3f} > {settings.penetration_max_limit}"
        if self.penetration_median > settings.penetration_median_limit:
            return f"median penetration {self.penetration_median:.3f} > {settings.penetration_median_limit}"
        return None

    def passes(self, settings: ClothSettings) -> bool:
        return self.failure(settings) is None


def summarize(checks: list[FrameCheck]) -> CheckSummary:
    if not checks:
        return CheckSummary(0, True, 0.0, 0.0, 0.0, 0.0, [])
    pen = np.array([c.penetration for c in checks])
    return CheckSummary(len(checks), all(c.finite for c in checks), float(np.median(pen)), float(pen.max()),
                        float(max(c.stretch for c in checks)), float(max(c.stretch_robust for c in checks)),
                        checks, float(max(c.layer_penetration for c in checks)))


