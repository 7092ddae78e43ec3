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
The pre-roll then starts from the reference pose (core.clothing.preroll.preroll_params), where the
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

Painted garments (texture-only outfits, scene.clothing.painted) use the same region fields on
the body itself: :func:`garment_field`, :func:`garment_signed_distance` (metres to the hem along
the skin), :func:`garment_coverage` (0..1 with a 5 mm soft hem) and :func:`body_cloth_uvs`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..body.skeleton import JOINT_INDEX, NUM_JOINTS, PART_INDEX, PART_NAMES
from ..errors import MayhemInputError
from ..geometry.mesh import boundary_loops, cut_mesh, face_normals, mesh_area, row_norms, unique_edges, unit_rows
from ..geometry.remesh import remesh, smooth_step
from ..geometry.spatial import PointGrid, SurfaceQuery
from .body_rest import ARM_PARTS, NEVER_COVERED, BodyRest, part_indices

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
        dist = row_norms(rel - s[:, None] * a)
        # Cut where s > s_end inside the arm's cylinder; outside it (the torso) nothing.
        phi = np.minimum(phi, np.maximum(s_end - s, dist - radius))
    head = body.smooth_indicator(part_indices("neck", "head", "leftEye", "rightEye"), iterations=10)
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
        dn = unit_rows(d)
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
    area2 = np.maximum(row_norms(n), 1e-20)
    nu = n / area2[:, None]
    g = (f[F[:, 0], None] * np.cross(nu, e0) + f[F[:, 1], None] * np.cross(nu, e1)
         + f[F[:, 2], None] * np.cross(nu, e2)) / area2[:, None]
    w = np.repeat(area2, 3)
    num = np.bincount(F.ravel(), weights=np.repeat(row_norms(g) * area2, 3), minlength=len(V))
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
