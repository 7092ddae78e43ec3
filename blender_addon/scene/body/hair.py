"""Procedural hair on a BodyRig: Blender hair curves grown on the scalp, rigid with the head bone.

Why this design:
* Hair curves (a Curves object) render natively in Cycles as thin strands, so the silhouette has
  real wisps (which pose estimators see in photographs) and the Principled Hair BSDF gives
  natural colours from two melanin numbers recorded in the recipe.
* Strands are grown in numpy on the shaped rest body, then the object is parented to the
  ``head`` bone. The head bone's rest orientation is the identity, so bone parenting moves
  the hair exactly as linear blend skinning moves a vertex weighted fully to the head; roots
  are only placed where the skin's head weight is ≥ ROOT_MIN_HEAD_WEIGHT, so the scalp under
  them moves (almost) rigidly with the head too.
* The skin under the hair gets a thin "scalp" shell in the hair's colour (skinned with the
  body's own weights) so gaps between the finite number of strands read as dense hair, and
  the buzz cut is mostly that shell.
* Collisions use two cheap implicit surfaces built from the body instead of a ray-casting
  tree (mathutils' BVH costs ~20 µs per query, too slow for 10^5 strand points per step):
  the head as a star-shaped radial map around the skull centre, and the neck/torso as a
  cylindrical radial map around the vertical axis. Both are exact enough (a few mm) to keep
  hair out of the skin, which the tests check against the real mesh.

All geometry is in the SMPL-X model frame of the rest body (Y up, facing +Z); the rig's objects
sit at the identity so that is also Blender's frame at rest.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import bpy
import numpy as np
from mathutils import Matrix

from ...core.body.appearance import BALD, HAIR_STYLES, hair_albedo_rgb
from ...core.body.skeleton import JOINT_INDEX, PART_NAMES
from ...core.errors import MayhemInputError
from .. import blender_compat as compat
from ..geometry.mesh_arrays import triangle_mesh
from .rig import add_armature_modifier, copy_skin_weights

HEAD_BONE = "head"
ROOT_MIN_HEAD_WEIGHT = 0.5
ROOT_LIFT = 0.0005        # roots sit this far above the skin
MIN_CLEARANCE = 0.0012    # every strand point keeps at least this distance from the skin
SCALP_SHELL_OFFSET = 0.0004
# Strands per style at density 1, and points per strand.
STRANDS = {"buzz": 14000, "short": 10000, "medium": 9000, "bob": 9000, "long": 9000,
           "ponytail": 8000, "bun": 8000, "curly": 8000}
POINTS = {"buzz": 3, "short": 6, "medium": 10, "bob": 14, "long": 18, "ponytail": 22, "bun": 22, "curly": 32}
ROOT_RADIUS = {"buzz": 0.00012, "short": 0.00011, "medium": 0.0001, "bob": 0.0001, "long": 0.0001,
               "ponytail": 0.0001, "bun": 0.0001, "curly": 0.0001}
TIP_RADIUS_FACTOR = 0.4
REFERENCE_HEAD = 0.108    # eye-to-crown height of the free body's mean shape; hairlines scale with it
# Hairline height above the eye centre (metres, for the reference head) against the azimuth
# around the skull's vertical axis (degrees, 0 = forehead, 90 = above the ear, 180 = nape).
# The ear spans about 85°..105° and -0.05..+0.015 m; sideburns come down in front of it.
HAIRLINE_AZIMUTH = np.array([0.0, 30.0, 55.0, 68.0, 73.0, 80.0, 85.0, 104.0, 112.0, 125.0, 180.0])
HAIRLINE_HEIGHT = np.array([0.058, 0.052, 0.036, 0.012, -0.015, -0.015, 0.022, 0.022, -0.010, -0.035, -0.045])


# ------------------------------------------------------------------ body-surface helpers
def rest_vertices(rig) -> np.ndarray:
    """(V, 3) shaped rest vertices of the rig's mesh (the data the Armature modifier deforms)."""
    me = rig.mesh.data
    co = np.empty(len(me.vertices) * 3, dtype=np.float32)
    me.vertices.foreach_get("co", co)
    return co.reshape(-1, 3).astype(np.float64)


def _require_model(rig):
    if rig.model is None:
        raise ValueError("this BodyRig has no model attached (build it with build_body)")
    return rig.model


def vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals."""
    fn = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    vn = np.zeros_like(verts)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)


def part_mask(model, parts: tuple[str, ...], joints: tuple[str, ...]) -> np.ndarray:
    """(V,) bool: vertices labelled with one of `parts`; models without part labels fall back
    to the vertices whose largest skinning weight belongs to one of `joints`."""
    labels = model.extras.get("part_labels") if model.extras else None
    if labels is not None and len(labels) == model.num_vertices:
        labels = np.asarray(labels)
        names = list(model.extras.get("part_names", PART_NAMES))
        ids = [names.index(p) for p in parts if p in names]
        return np.isin(labels, ids)
    return np.isin(np.argmax(model.weights, axis=1), [JOINT_INDEX[j] for j in joints])


def sample_surface(verts, faces, n: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n area-weighted random points on the triangles: (points, face index, barycentrics)."""
    tri = verts[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    fi = rng.choice(len(faces), size=n, p=area / area.sum())
    u, v = rng.random(n), rng.random(n)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    bary = np.stack([1 - u - v, u, v], axis=1)
    return np.einsum("nk,nkc->nc", bary, tri[fi]), fi, bary


def _normalize(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _max_filter(grid):
    """3x3 maximum; columns wrap around (longitude), rows clamp."""
    out = grid.copy()
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            shifted = np.roll(grid, dc, axis=1)
            if dr:
                shifted = np.concatenate([shifted[:1], shifted[:-1]]) if dr == 1 else np.concatenate([shifted[1:], shifted[-1:]])
            out = np.maximum(out, shifted)
    return out


def _fill_empty(grid, iterations=200):
    """Give empty (zero) cells the max of their non-empty neighbours, growing outwards."""
    grid = grid.copy()
    for _ in range(iterations):
        empty = grid <= 0
        if not empty.any():
            break
        grown = _max_filter(grid)
        grid[empty] = grown[empty]
    return grid


class RadialMap:
    """A star-shaped surface r(direction) around `centre`, on a latitude-longitude grid.

    Built as the largest distance of the given surface points in each grid cell, widened by one
    cell, so the map encloses the points (up to the cell size at the surface's slopes).
    `basis` rows are the local (side, up, forward) axes; latitude is measured from `up`.
    """

    def __init__(self, points, centre, basis, n_theta: int = 90, n_phi: int = 180, dilate: int = 1):
        self.centre = np.asarray(centre, np.float64)
        self.basis = np.asarray(basis, np.float64)
        self.n_theta, self.n_phi = n_theta, n_phi
        theta, phi, r = self._polar(points)
        it, ip = self._cells(theta, phi)
        grid = np.zeros((n_theta, n_phi))
        np.maximum.at(grid, (it, ip), r)
        for _ in range(dilate):
            grid = np.where(grid > 0, _max_filter(grid), grid)
        self.grid = _fill_empty(grid)

    def _polar(self, points):
        local = (np.asarray(points, np.float64) - self.centre) @ self.basis.T
        r = np.linalg.norm(local, axis=-1)
        theta = np.arccos(np.clip(local[..., 1] / np.maximum(r, 1e-12), -1.0, 1.0))
        phi = np.arctan2(local[..., 0], local[..., 2])
        return theta, phi, r

    def _cells(self, theta, phi):
        it = np.clip((theta / np.pi * self.n_theta).astype(np.int64), 0, self.n_theta - 1)
        ip = ((phi + np.pi) / (2 * np.pi) * self.n_phi).astype(np.int64) % self.n_phi
        return it, ip

    def radius(self, theta, phi):
        """Bilinear lookup between cell centres (wraps in longitude, clamps at the poles)."""
        x = theta / np.pi * self.n_theta - 0.5
        y = (phi + np.pi) / (2 * np.pi) * self.n_phi - 0.5
        x0 = np.floor(x).astype(np.int64)
        y0 = np.floor(y).astype(np.int64)
        fx, fy = x - x0, y - y0
        xa, xb = np.clip(x0, 0, self.n_theta - 1), np.clip(x0 + 1, 0, self.n_theta - 1)
        ya, yb = y0 % self.n_phi, (y0 + 1) % self.n_phi
        g = self.grid
        return ((1 - fx) * (1 - fy) * g[xa, ya] + fx * (1 - fy) * g[xb, ya]
                + (1 - fx) * fy * g[xa, yb] + fx * fy * g[xb, yb])

    def signed(self, points):
        """Distance from the centre minus the map's radius (negative inside)."""
        theta, phi, r = self._polar(points)
        return r - self.radius(theta, phi)

    def push_out(self, points, clearance):
        """Move points closer than `clearance` outside the surface radially out to it."""
        points = np.asarray(points, np.float64)
        theta, phi, r = self._polar(points)
        target = self.radius(theta, phi) + clearance
        inside = r < target
        if not inside.any():
            return points
        d = points - self.centre
        scale = np.where(inside, target / np.maximum(r, 1e-9), 1.0)
        return self.centre + d * scale[..., None]


class CylinderMap:
    """The torso and neck as r(height, azimuth) around a vertical axis; pushes along the
    surface normal (numerical gradient), so hair landing on the shoulders slides off them."""

    def __init__(self, points, origin, basis, cell: float = 0.005, n_phi: int = 144):
        self.origin = np.asarray(origin, np.float64)
        self.basis = np.asarray(basis, np.float64)
        local = (np.asarray(points, np.float64) - self.origin) @ self.basis.T
        self.y0 = float(local[:, 1].min())
        self.y1 = float(local[:, 1].max())
        self.cell, self.n_phi = cell, n_phi
        self.n_y = int(np.ceil((self.y1 - self.y0) / cell)) + 1
        iy = np.clip(((local[:, 1] - self.y0) / cell).astype(np.int64), 0, self.n_y - 1)
        ip = ((np.arctan2(local[:, 0], local[:, 2]) + np.pi) / (2 * np.pi) * n_phi).astype(np.int64) % n_phi
        grid = np.zeros((self.n_y, n_phi))
        np.maximum.at(grid, (iy, ip), np.hypot(local[:, 0], local[:, 2]))
        grid = np.where(grid > 0, _max_filter(grid), grid)
        self.grid = _fill_empty(grid)

    def _lookup(self, y, phi):
        x = (y - self.y0) / self.cell - 0.5
        z = (phi + np.pi) / (2 * np.pi) * self.n_phi - 0.5
        x0 = np.floor(x).astype(np.int64)
        z0 = np.floor(z).astype(np.int64)
        fx, fz = x - x0, z - z0
        xa, xb = np.clip(x0, 0, self.n_y - 1), np.clip(x0 + 1, 0, self.n_y - 1)
        za, zb = z0 % self.n_phi, (z0 + 1) % self.n_phi
        g = self.grid
        r = ((1 - fx) * (1 - fz) * g[xa, za] + fx * (1 - fz) * g[xb, za]
             + (1 - fx) * fz * g[xa, zb] + fx * fz * g[xb, zb])
        outside = (y < self.y0) | (y > self.y1)
        return np.where(outside, 0.0, r)

    def signed(self, points):
        local = (np.asarray(points, np.float64) - self.origin) @ self.basis.T
        return np.hypot(local[..., 0], local[..., 2]) - self._lookup(local[..., 1], np.arctan2(local[..., 0], local[..., 2]))

    def push_out(self, points, clearance, iterations: int = 3):
        points = np.asarray(points, np.float64).copy()
        clearance = np.broadcast_to(np.asarray(clearance, np.float64), points.shape[:-1])
        eps = 0.003
        for _ in range(iterations):
            f = self.signed(points)
            bad = f < clearance
            if not bad.any():
                break
            p = points[bad]
            grad = np.stack([(self.signed(p + eps * e) - self.signed(p - eps * e)) / (2 * eps)
                             for e in np.eye(3)], axis=-1)
            g2 = np.maximum(np.sum(grad * grad, axis=-1), 1e-6)
            step = np.clip(clearance[bad] - f[bad], 0.0, 0.05)
            points[bad] = p + grad * (step / g2)[:, None]
        return points


# ------------------------------------------------------------------------- head geometry
@dataclass
class HeadGeometry:
    """What hair needs to know about one rest body's head."""

    verts: np.ndarray          # (V, 3) shaped rest vertices
    faces: np.ndarray          # (F, 3)
    normals: np.ndarray        # (V, 3)
    basis: np.ndarray          # rows: side (+X, the body's left), up, forward
    centre: np.ndarray         # skull centre (radial map origin)
    eyes: np.ndarray           # midpoint of the eye joints
    scale: float               # head size relative to the reference head
    scalp_faces: np.ndarray    # (S,) face indices where hair grows
    head_map: RadialMap
    torso_map: CylinderMap

    def local(self, p):
        return (np.asarray(p) - self.centre) @ self.basis.T

    def world(self, local):
        return self.centre + np.asarray(local) @ self.basis

    def push_out(self, points, clearance):
        """Keep points out of the head and torso by `clearance` (scalar or broadcastable)."""
        shape = points.shape
        p = points.reshape(-1, 3)
        c = np.broadcast_to(np.asarray(clearance, np.float64), shape[:-1]).reshape(-1)
        p = self.head_map.push_out(p, c)
        p = self.torso_map.push_out(p, c)
        return p.reshape(shape)


def head_geometry(rig, rng=None) -> HeadGeometry:
    """Scalp region, head frame and collision maps of the rig's rest body."""
    model = _require_model(rig)
    rng = rng if rng is not None else np.random.default_rng(0)
    verts = rest_vertices(rig)
    faces = np.asarray(model.faces, dtype=np.int64)
    normals = vertex_normals(verts, faces)
    J = np.asarray(rig.rest_joints, np.float64)
    head_j, neck_j, pelvis_j = J[JOINT_INDEX["head"]], J[JOINT_INDEX["neck"]], J[JOINT_INDEX["pelvis"]]
    eyes = 0.5 * (J[JOINT_INDEX["left_eye_smplhf"]] + J[JOINT_INDEX["right_eye_smplhf"]])
    up = _normalize(head_j - pelvis_j)
    fwd = _normalize((eyes - head_j) - ((eyes - head_j) @ up) * up)
    side = np.cross(up, fwd)
    basis = np.stack([side, up, fwd])

    head = part_mask(model, ("head",), ("head", "jaw"))
    head_v = verts[head]
    top = float(((head_v - eyes) @ up).max())
    scale = top / REFERENCE_HEAD
    centre = head_j + up * ((eyes - head_j) @ up + 0.01 * scale)

    # Scalp: head part, rigid with the head bone, above the hairline.
    w_head = model.weights[:, JOINT_INDEX["head"]]
    rel = verts - centre
    az = np.degrees(np.arctan2(np.abs(rel @ side), rel @ fwd))
    height = (verts - eyes) @ up
    hairline = np.interp(az, HAIRLINE_AZIMUTH, HAIRLINE_HEIGHT) * scale
    scalp_v = head & (w_head >= ROOT_MIN_HEAD_WEIGHT) & (height >= hairline)
    scalp_faces = np.flatnonzero(scalp_v[faces].all(axis=1))
    if len(scalp_faces) < 50:
        raise MayhemInputError(getattr(model, "path", None), "part_labels",
                               f"found only {len(scalp_faces)} scalp triangles on this body; cannot grow hair")

    head_faces = faces[head[faces].all(axis=1)]
    pts, _, _ = sample_surface(verts, head_faces, 120000, rng)
    head_map = RadialMap(pts, centre, basis, n_theta=90, n_phi=180)

    torso = part_mask(model, ("neck", "spine2", "spine1", "spine", "leftShoulder", "rightShoulder"),
                      ("neck", "spine3", "spine2", "spine1", "left_collar", "right_collar"))
    axis_origin = neck_j - up * ((neck_j - pelvis_j) @ up)  # on the spine's vertical axis, pelvis height
    # The tops of the upper arms (shoulder caps) too, but not the arms beyond them: in a T-pose
    # they would make the whole shoulder height a wall.
    arms = part_mask(model, ("leftArm", "rightArm"), ("left_shoulder", "right_shoulder"))
    lateral = np.abs((verts - axis_origin) @ side)
    reach = max(abs(float((J[JOINT_INDEX[j]] - axis_origin) @ side)) for j in ("left_shoulder", "right_shoulder"))
    torso = torso | (arms & (lateral < reach + 0.03 * scale))
    torso_faces = faces[torso[faces].all(axis=1)]
    tpts, _, _ = sample_surface(verts, torso_faces, 150000, rng)
    torso_map = CylinderMap(tpts, axis_origin, basis)
    return HeadGeometry(verts=verts, faces=faces, normals=normals, basis=basis, centre=centre, eyes=eyes,
                        scale=scale, scalp_faces=scalp_faces, head_map=head_map, torso_map=torso_map)


# ------------------------------------------------------------------------ strand growth
def _resample(strands: np.ndarray, keep: np.ndarray, n_out: int) -> np.ndarray:
    """Resample each strand's first keep[i] arc length to n_out evenly spaced points."""
    seg = np.linalg.norm(np.diff(strands, axis=1), axis=-1)
    cum = np.concatenate([np.zeros((len(strands), 1)), np.cumsum(seg, axis=1)], axis=1)
    length = np.minimum(keep, cum[:, -1])
    t = np.linspace(0.0, 1.0, n_out)[None, :] * length[:, None]  # (N, K)
    idx = np.clip(np.sum(cum[:, None, :] <= t[:, :, None], axis=2) - 1, 0, cum.shape[1] - 2)
    c0 = np.take_along_axis(cum, idx, axis=1)
    c1 = np.take_along_axis(cum, idx + 1, axis=1)
    f = np.clip((t - c0) / np.maximum(c1 - c0, 1e-12), 0.0, 1.0)[..., None]
    a = np.take_along_axis(strands, idx[..., None], axis=1)
    b = np.take_along_axis(strands, (idx + 1)[..., None], axis=1)
    return a + f * (b - a)


def _grow(geo: HeadGeometry, roots, normals, lengths, steps, comb, *, lift, stiffness, clearance, gravity=1.0,
          converge=0.0):
    """Integrate strands from the roots: start along lift·normal + comb, bend towards gravity
    over `stiffness` metres of strand, and stay `clearance` outside the body at every step.

    `converge` > 0 steers strand parts below the ears back over the shoulders and within the
    width of the upper back, so long hair hangs behind the shoulders, clear of the arms.
    """
    down = -geo.basis[1]
    side, up, fwd = geo.basis
    start = -0.03 * geo.scale  # about the bottom of the ears
    n = len(roots)
    out = np.empty((n, steps + 1, 3))
    out[:, 0] = roots
    d = _normalize(lift * normals + comb)
    step = (lengths / steps)[:, None]
    p = roots.copy()
    for k in range(1, steps + 1):
        d = _normalize(d + gravity * down * (step / stiffness) + 0.3 * comb * (step / stiffness))
        if converge:
            h = (p - geo.eyes) @ up
            w = np.clip((start - h) / (0.03 * geo.scale), 0.0, 1.0)[:, None]
            rel = p - geo.centre
            x = (rel @ side)[:, None]
            in_front = (rel @ fwd)[:, None] > -0.07 * geo.scale
            too_wide = np.clip((np.abs(x) - 0.08 * geo.scale) / (0.02 * geo.scale), 0.0, 1.0)
            # back over the shoulders, and no wider than the upper back; then gravity and the
            # torso's surface take over
            d = _normalize(d + converge * w * (step / stiffness) * (-np.sign(x) * too_wide * side - 1.5 * in_front * fwd))
        q = geo.push_out(p + d * step, clearance)
        d = _normalize(q - p)
        p = q
        out[:, k] = p
    return out


def _comb_directions(geo: HeadGeometry, roots, normals, part_x, back_bias):
    """Tangent directions hair is combed in: away from a parting line (side part at part_x
    times the head half-width), and backwards by back_bias; projected onto the scalp."""
    loc = geo.local(roots)
    half_width = 0.075 * geo.scale
    side_sign = np.where(loc[:, 0] >= part_x * half_width * 0.5, 1.0, -1.0)
    # Near the part line (top front) hair goes sideways; behind the crown it falls back and down.
    front = np.clip(loc[:, 2] / (0.08 * geo.scale), -1.0, 1.0)
    comb_local = np.stack([side_sign * 0.9 * np.clip(front + 0.3, 0, 1),
                           np.full(len(roots), -0.3),
                           -back_bias - 0.6 * np.clip(-front, 0, 1)], axis=1)
    comb = comb_local @ geo.basis
    comb = comb - np.sum(comb * normals, axis=1, keepdims=True) * normals
    return _normalize(comb)


def _helix(strands, radius, period, phase):
    """Wrap each strand around its own path (curly hair): radius (N,), period (N,) metres."""
    t = _normalize(np.gradient(strands, axis=1))
    ref = np.where(np.abs(t[..., 1:2]) < 0.9, np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]))
    e1 = _normalize(np.cross(t, ref))
    e2 = np.cross(t, e1)
    seg = np.linalg.norm(np.diff(strands, axis=1), axis=-1)
    s = np.concatenate([np.zeros((len(strands), 1)), np.cumsum(seg, axis=1)], axis=1)
    ang = 2 * np.pi * s / period[:, None] + phase[:, None]
    ramp = np.clip(s / 0.01, 0, 1)  # roots stay on the scalp
    off = (np.cos(ang)[..., None] * e1 + np.sin(ang)[..., None] * e2) * (radius[:, None] * ramp)[..., None]
    return strands + off


def _gather_paths(geo, roots, tie, steps, clearance):
    """Strands combed flat over the scalp from each root to the tie point (ponytail, bun)."""
    t = np.linspace(0.0, 1.0, steps)[None, :, None]
    chord = roots[:, None, :] + t * (tie[None, None, :] - roots[:, None, :])
    return geo.head_map.push_out(chord.reshape(-1, 3), np.repeat(clearance, steps)).reshape(len(roots), steps, 3)


def _tie_point(geo, elevation_deg):
    """Point on the back of the head at this elevation above the skull centre's horizon."""
    e = np.radians(elevation_deg)
    direction = np.array([0.0, np.sin(e), -np.cos(e)]) @ geo.basis
    theta, phi, _ = geo.head_map._polar(geo.centre + direction)
    r = float(geo.head_map.radius(theta, phi))
    return geo.centre + direction * r, direction


def grow_strands(geo: HeadGeometry, hair: dict, n_strands: int, rng) -> np.ndarray:
    """(N, P, 3) strand points in the rest model frame for the recipe's hair draw."""
    style = hair["style"]
    if style not in HAIR_STYLES:
        raise MayhemInputError(None, "hair.style", f"unknown hair style {style!r} (have: {', '.join(HAIR_STYLES)}, {BALD})")
    n_points = POINTS[style]
    pts, fi, bary = sample_surface(geo.verts, geo.faces[geo.scalp_faces], n_strands, rng)
    normals = _normalize(np.einsum("nk,nkc->nc", bary, geo.normals[geo.faces[geo.scalp_faces][fi]]))
    roots = pts + normals * ROOT_LIFT
    s = geo.scale
    up = geo.basis[1]
    layer = rng.random(n_strands)
    clearance = MIN_CLEARANCE + hair.get("volume_m", 0.0) * layer

    if style == "buzz":
        lengths = hair["length_m"] * rng.uniform(0.7, 1.1, n_strands)
        comb = _comb_directions(geo, roots, normals, 0.0, 1.0)
        d = _normalize(normals + 0.8 * comb)
        t = np.linspace(0, 1, n_points)[None, :, None]
        strands = roots[:, None, :] + d[:, None, :] * lengths[:, None, None] * t
    elif style in ("short", "medium", "bob", "long"):
        length = hair["length_m"] * s
        lengths = length * rng.uniform(0.85, 1.1, n_strands)
        back = {"short": 0.8, "medium": 0.5, "bob": 0.3, "long": 0.7}[style]
        comb = _comb_directions(geo, roots, normals, hair.get("part_x", 0.0), back)
        lift = {"short": 0.5, "medium": 0.25, "bob": 0.2, "long": 0.15}[style]
        stiffness = {"short": 0.08, "medium": 0.035, "bob": 0.03, "long": 0.03}[style]
        steps = {"short": 8, "medium": 16, "bob": 28, "long": 40}[style]
        dense = _grow(geo, roots, normals, lengths, steps, comb, lift=lift, stiffness=stiffness, clearance=clearance,
                      converge=1.0 if style == "long" else 0.0)
        keep = lengths.copy()
        if "cut_below_eyes_m" in hair:  # cut straight across at this height below the eyes
            cut = -hair["cut_below_eyes_m"] * s + rng.normal(0, 0.004, n_strands)
            h = (dense - geo.eyes) @ up
            seg = np.linalg.norm(np.diff(dense, axis=1), axis=-1)
            cum = np.concatenate([np.zeros((n_strands, 1)), np.cumsum(seg, axis=1)], axis=1)
            below = h < cut[:, None]
            first = np.where(below.any(axis=1), np.argmax(below, axis=1), dense.shape[1] - 1)
            keep = np.minimum(keep, cum[np.arange(n_strands), first])
        strands = _resample(dense, keep, n_points)
    elif style == "curly":
        lengths = hair["length_m"] * s * rng.uniform(0.8, 1.1, n_strands)
        comb = _comb_directions(geo, roots, normals, 0.0, 0.2)
        dense = _grow(geo, roots, normals, lengths, 16, 0.4 * comb, lift=1.0, stiffness=0.12,
                      clearance=clearance, gravity=0.35)
        base = _resample(dense, lengths, n_points)
        radius = hair["curl_radius_m"] * rng.uniform(0.7, 1.2, n_strands)
        period = hair["curl_period_m"] * rng.uniform(0.8, 1.2, n_strands)
        strands = _helix(base, radius, period, rng.uniform(0, 2 * np.pi, n_strands))
    elif style in ("ponytail", "bun"):
        tie, out_dir = _tie_point(geo, hair["tie_elevation_deg"])
        n1 = 8
        head_part = _gather_paths(geo, roots, tie, n1, clearance)
        head_part[:, 0] = roots
        n2 = n_points - n1
        if style == "ponytail":
            tail_len = hair["tail_length_m"] * s * rng.uniform(0.85, 1.05, n_strands)
            u = np.linspace(0, 1, n2 + 1)[1:]
            down = -up
            # Tail: leaves the tie outwards, bends down; spreads from the tie's radius.
            e1 = _normalize(np.cross(down, geo.basis[0]))
            e2 = geo.basis[0]
            r0 = 0.008 * s
            disc = np.sqrt(rng.random(n_strands))[:, None] * np.exp(1j * rng.uniform(0, 2 * np.pi, n_strands))[:, None]
            arc = u[None, :] * tail_len[:, None]
            along = (out_dir[None, None, :] * (0.04 * s * (1 - np.exp(-arc / (0.04 * s))))[..., None]
                     + down[None, None, :] * (arc - 0.5 * 0.04 * s * (1 - np.exp(-arc / (0.04 * s))))[..., None])
            spread = r0 + 0.08 * arc
            lateral = (disc.real * spread)[..., None] * e1 + (disc.imag * spread)[..., None] * e2
            tail = tie[None, None, :] + out_dir * 0.006 * s + along + lateral
            strands = np.concatenate([head_part, tail], axis=1)
        else:
            rb = hair["bun_radius_m"] * s
            centre = tie + out_dir * rb * 0.75
            a = _normalize(tie - centre)
            rand = _normalize(rng.normal(size=(n_strands, 3)))
            b = _normalize(rand - (rand @ a)[:, None] * a)
            rr = rb * (0.55 + 0.45 * np.sqrt(rng.random(n_strands)))
            sweep = rng.uniform(1.2 * np.pi, 2.2 * np.pi, n_strands)
            ang = np.linspace(0, 1, n2 + 1)[1:][None, :] * sweep[:, None]
            bun = centre + rr[:, None, None] * (np.cos(ang)[..., None] * a + np.sin(ang)[..., None] * b[:, None, :])
            strands = np.concatenate([head_part, bun], axis=1)
    # Every point (but the root) keeps clear of the skin.
    strands[:, 1:] = geo.push_out(strands[:, 1:], np.repeat(clearance[:, None], strands.shape[1] - 1, axis=1))
    return strands


# ------------------------------------------------------------------------ Blender objects
def parent_to_bone(obj, armature, bone_name: str) -> None:
    """Parent obj to a bone keeping its current (rest) world placement.

    Blender bone-parents to the bone's tail, so the parent inverse is the inverse of
    armature · rest bone matrix · tail offset; with the armature at rest the object stays put,
    and when posed it moves by pose · rest⁻¹, the same transform skinning applies.
    """
    bone = armature.data.bones[bone_name]
    obj.parent = armature
    obj.parent_type = "BONE"
    obj.parent_bone = bone_name
    rest = armature.matrix_world @ bone.matrix_local @ Matrix.Translation((0.0, bone.length, 0.0))
    obj.matrix_parent_inverse = rest.inverted()


def hair_material(hair: dict, name: str):
    """Principled Hair BSDF (Chiang model, melanin parametrisation) from the recipe's numbers."""
    mat = bpy.data.materials.new(name)
    compat.enable_nodes(mat)
    nt = mat.node_tree
    nt.nodes.clear()
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    out.location = (300, 0)
    bsdf = nt.nodes.new("ShaderNodeBsdfHairPrincipled")
    bsdf.parametrization = "MELANIN"
    bsdf.inputs["Melanin"].default_value = float(hair["melanin"])
    bsdf.inputs["Melanin Redness"].default_value = float(hair["melanin_redness"])
    bsdf.inputs["Roughness"].default_value = float(hair.get("roughness", 0.3))
    bsdf.inputs["Radial Roughness"].default_value = 0.3
    bsdf.inputs["Random Color"].default_value = float(hair.get("random_colour", 0.1))
    bsdf.inputs["Random Roughness"].default_value = 0.2
    nt.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    mat.diffuse_color = (*hair_albedo_rgb(hair["melanin"], hair["melanin_redness"]).tolist(), 1.0)
    return mat


def scalp_material(hair: dict, name: str):
    mat = bpy.data.materials.new(name)
    compat.enable_nodes(mat)
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    rgb = hair_albedo_rgb(hair["melanin"], hair["melanin_redness"])
    bsdf.inputs["Base Color"].default_value = (*rgb.tolist(), 1.0)
    bsdf.inputs["Roughness"].default_value = 0.7
    mat.diffuse_color = (*rgb.tolist(), 1.0)
    return mat


@dataclass
class HairBuild:
    """What add_hair made, and the rest-frame strand roots (for tests and labels)."""

    curves: object = None      # the Curves object, None when bald
    scalp: object = None       # the scalp shell mesh object, None when bald
    roots: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    scalp_vertices: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # body ids under the shell
    num_strands: int = 0
    num_points: int = 0
    seconds: float = 0.0


def _scalp_shell(rig, geo: HeadGeometry, hair: dict, name: str, instance_id: int):
    model = rig.model
    faces = geo.faces[geo.scalp_faces]
    used, inverse = np.unique(faces, return_inverse=True)
    co = geo.verts[used] + geo.normals[used] * SCALP_SHELL_OFFSET
    me = triangle_mesh(name, co, inverse.reshape(-1, 3))
    obj = bpy.data.objects.new(name, me)
    for coll in rig.mesh.users_collection:
        coll.objects.link(obj)
    obj.parent = rig.armature
    copy_skin_weights(obj, model, used)
    add_armature_modifier(obj, rig.armature)
    obj.data.materials.append(scalp_material(hair, f"{name}_material"))
    obj.pass_index = int(instance_id)
    return obj, used


def add_hair(rig, hair: dict, instance_id: int, *, density: float | None = None, geometry: HeadGeometry | None = None) -> HairBuild:
    """Grow the recipe's hair draw on the rig: a Curves object bone-parented to the head and a
    skinned scalp shell, both with pass_index = instance_id so the person's mask covers them.

    `density` overrides hair["density"] (the strand-count multiplier); bald draws add nothing.
    """
    t0 = time.perf_counter()
    if hair is None or hair.get("style", BALD) == BALD:
        return HairBuild()
    _require_model(rig)
    rng = np.random.default_rng(int(hair.get("seed", 0)))
    geo = geometry or head_geometry(rig, np.random.default_rng(1))
    style = hair["style"]
    dens = float(hair.get("density", 1.0) if density is None else density)
    n_strands = max(50, int(round(STRANDS.get(style, 8000) * dens)))
    strands = grow_strands(geo, hair, n_strands, rng)
    n, p = strands.shape[:2]

    base = rig.mesh.name
    curves = bpy.data.hair_curves.new(f"{base}_hair")
    curves.add_curves([p] * n)
    curves.attributes["position"].data.foreach_set("vector", strands.astype(np.float32).ravel())
    radius = curves.attributes.get("radius") or curves.attributes.new("radius", "FLOAT", "POINT")
    taper = np.linspace(1.0, TIP_RADIUS_FACTOR, p)
    radius.data.foreach_set("value", np.tile(ROOT_RADIUS.get(style, 1e-4) * taper, n).astype(np.float32))
    curves.materials.append(hair_material(hair, f"{base}_hair_material"))
    obj = bpy.data.objects.new(f"{base}_hair", curves)
    for coll in rig.mesh.users_collection:
        coll.objects.link(obj)
    parent_to_bone(obj, rig.armature, HEAD_BONE)
    obj.pass_index = int(instance_id)
    obj["mayhem_hair"] = style

    scalp, scalp_ids = _scalp_shell(rig, geo, hair, f"{base}_scalp", instance_id)
    return HairBuild(curves=obj, scalp=scalp, roots=strands[:, 0].copy(), scalp_vertices=scalp_ids,
                     num_strands=n, num_points=p, seconds=time.perf_counter() - t0)
