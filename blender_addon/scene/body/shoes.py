"""Simple procedural shoes (sneaker, boot, flat) fitted around a BodyRig's feet and skinned to it.

Why this design: a shoe only has to look like a shoe at dataset resolutions, enclose the
foot whatever the body shape, and bend with the foot. So each shoe is the star-shaped
envelope (hair.RadialMap) of the foot's surface below the shoe's opening height, seen from a
point inside the foot, inflated by the upper's thickness, with the bottom flattened into a
sole. It is skinned with the weights of the nearest body vertices (inverse-distance average
of a few), so ankle and toe bending move it the way they move the foot it encloses.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import bpy
import numpy as np

from ...core.body.appearance import BAREFOOT, SHOE_KINDS
from ...core.body.skeleton import JOINT_INDEX
from ...core.errors import MayhemInputError
from .. import blender_compat as compat
from ..geometry.mesh_arrays import triangle_mesh
from .hair import RadialMap, _normalize, _require_model, part_mask, rest_vertices, sample_surface
from .rig import add_armature_modifier, copy_skin_weights

SOLE_BELOW = 0.004      # the sole's underside is this far below the lowest foot vertex
N_THETA, N_PHI = 40, 96  # mesh resolution of one shoe (latitude x longitude)
SKIN_NEIGHBOURS = 4


@dataclass
class ShoeBuild:
    objects: list = field(default_factory=list)   # left, right (empty when barefoot)
    foot_vertices: list = field(default_factory=list)  # body vertex ids each shoe encloses
    seconds: float = 0.0


def _foot_frame(rig, side: str):
    J = np.asarray(rig.rest_joints, np.float64)
    up = _normalize(J[JOINT_INDEX["head"]] - J[JOINT_INDEX["pelvis"]])
    ankle, toe = J[JOINT_INDEX[f"{side}_ankle"]], J[JOINT_INDEX[f"{side}_foot"]]
    fwd = _normalize((toe - ankle) - ((toe - ankle) @ up) * up)
    return np.stack([np.cross(up, fwd), up, fwd]), ankle


def _smooth_up(r: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Average each grid value with its neighbours, never going below the input (keeps enclosure)."""
    out = r.copy()
    for _ in range(iterations):
        padded = np.concatenate([out[:1], out, out[-1:]], axis=0)
        avg = (padded[:-2] + padded[2:] + np.roll(out, 1, axis=1) + np.roll(out, -1, axis=1) + 2 * out) / 6.0
        out = np.maximum(avg, r)
    return out


def _envelope_mesh(emap: RadialMap, margin: float):
    """Closed lat-long mesh of the map inflated by `margin`: (vertices, triangles)."""
    theta = (np.arange(N_THETA) + 0.5) / N_THETA * np.pi
    phi = (np.arange(N_PHI) + 0.5) / N_PHI * 2 * np.pi - np.pi
    T, P = np.meshgrid(theta, phi, indexing="ij")
    r = _smooth_up(emap.radius(T, P)) + margin
    dirs = np.stack([np.sin(T) * np.sin(P), np.cos(T), np.sin(T) * np.cos(P)], axis=-1)
    ring = (emap.centre + (dirs * r[..., None]) @ emap.basis).reshape(-1, 3)
    top = emap.centre + emap.basis[1] * (float(emap.radius(np.array(0.0), np.array(0.0))) + margin)
    bottom = emap.centre - emap.basis[1] * (float(emap.radius(np.array(np.pi), np.array(0.0))) + margin)
    verts = np.concatenate([ring, top[None], bottom[None]])
    i_top, i_bot = len(ring), len(ring) + 1
    idx = np.arange(N_THETA * N_PHI).reshape(N_THETA, N_PHI)
    nxt = np.roll(idx, -1, axis=1)
    quads_a, quads_b, quads_c, quads_d = idx[:-1], nxt[:-1], nxt[1:], idx[1:]
    tris = np.concatenate([
        np.stack([quads_a, quads_d, quads_b], -1).reshape(-1, 3),
        np.stack([quads_b, quads_d, quads_c], -1).reshape(-1, 3),
        np.stack([np.full(N_PHI, i_top), idx[0], nxt[0]], -1),
        np.stack([np.full(N_PHI, i_bot), nxt[-1], idx[-1]], -1),
    ])
    tri = verts[tris]
    volume = np.einsum("ij,ij->i", tri[:, 0] - emap.centre, np.cross(tri[:, 1] - emap.centre, tri[:, 2] - emap.centre)).sum()
    if volume < 0:  # outward normals for shading
        tris = tris[:, [0, 2, 1]]
    return verts, tris


def _material(name: str, rgb, roughness: float):
    mat = bpy.data.materials.new(name)
    compat.enable_nodes(mat)
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*[float(c) for c in rgb], 1.0)
    bsdf.inputs["Roughness"].default_value = float(roughness)
    mat.diffuse_color = (*[float(c) for c in rgb], 1.0)
    return mat


def build_shoe_geometry(rig, shoes: dict, side: str, rng=None):
    """Rest-frame shoe for one foot: (vertices, triangles, sole face mask, enclosed body vertex ids,
    body vertex ids used for skinning)."""
    model = _require_model(rig)
    rng = rng if rng is not None else np.random.default_rng(0)
    kind = shoes["kind"]
    if kind not in SHOE_KINDS:
        raise MayhemInputError(None, "shoes.kind", f"unknown shoe kind {kind!r} (have: {', '.join(SHOE_KINDS)}, {BAREFOOT})")
    verts = rest_vertices(rig)
    faces = np.asarray(model.faces, dtype=np.int64)
    foot = part_mask(model, (f"{side}Foot", f"{side}ToeBase"), (f"{side}_ankle", f"{side}_foot"))
    leg = part_mask(model, (f"{side}Leg",), (f"{side}_knee",))
    basis, ankle = _foot_frame(rig, side)
    up = basis[1]
    ground = float((verts[foot] @ up).min())
    top = ground + float(shoes["top_m"])
    region = foot | leg
    region_faces = faces[region[faces].any(axis=1)]
    pts, _, _ = sample_surface(verts, region_faces, 60000, rng)
    h = pts @ up
    pts = pts[h <= top]
    # Centre: inside the foot, over the middle of its length, low enough to see the toes.
    foot_v = verts[foot]
    along = (foot_v - ankle) @ basis[2]
    mid = ankle + basis[2] * (0.5 * (along.min() + along.max()))
    centre = mid + up * (ground + min(0.035, 0.5 * float(shoes["top_m"])) - mid @ up)
    emap = RadialMap(pts, centre, basis, n_theta=56, n_phi=112, dilate=1)
    sverts, tris = _envelope_mesh(emap, float(shoes["margin_m"]))
    # Flat sole just under the foot; a level opening (the cap above it lies inside the leg).
    sh = sverts @ up
    floor = ground - SOLE_BELOW
    rim = top + float(shoes["margin_m"])
    sverts = sverts + (np.maximum(floor - sh, 0.0) - np.maximum(sh - rim, 0.0))[:, None] * up
    centroid_h = sverts[tris].mean(axis=1) @ up
    sole = centroid_h < floor + float(shoes["sole_m"])
    enclosed = np.flatnonzero((foot | leg) & (verts @ up <= top - 0.01))  # the opening itself is approximate
    candidates = np.flatnonzero(region & (verts @ up <= top + 0.03))
    return sverts, tris, sole, enclosed, candidates


def _skin_weights(model, shoe_verts, body_verts, candidates) -> np.ndarray:
    """(S, 55) inverse-distance average of the weights of the nearest candidate body vertices."""
    cand = body_verts[candidates]
    d2 = (np.sum(shoe_verts ** 2, axis=1)[:, None] - 2.0 * shoe_verts @ cand.T + np.sum(cand ** 2, axis=1)[None, :])
    nearest = np.argpartition(d2, SKIN_NEIGHBOURS, axis=1)[:, :SKIN_NEIGHBOURS]
    dn = np.sqrt(np.maximum(np.take_along_axis(d2, nearest, axis=1), 0.0))
    w = 1.0 / np.maximum(dn, 1e-4)
    w /= w.sum(axis=1, keepdims=True)
    weights = np.einsum("sk,skj->sj", w, model.weights[candidates[nearest]])
    return weights / weights.sum(axis=1, keepdims=True)


def add_shoes(rig, shoes: dict, instance_id: int) -> ShoeBuild:
    """A pair of the recipe's shoes on the rig, skinned to it, with pass_index = instance_id."""
    t0 = time.perf_counter()
    build = ShoeBuild()
    if shoes is None or shoes.get("kind", BAREFOOT) == BAREFOOT:
        return build
    model = _require_model(rig)
    body = rest_vertices(rig)
    base = rig.mesh.name
    upper = _material(f"{base}_shoe_upper", shoes["rgb"], shoes.get("roughness", 0.5))
    sole = _material(f"{base}_shoe_sole", shoes["sole_rgb"], 0.8)
    for side in ("left", "right"):
        verts, tris, sole_mask, enclosed, candidates = build_shoe_geometry(rig, shoes, side)
        name = f"{base}_shoe_{side}"
        me = triangle_mesh(name, verts, tris)
        me.polygons.foreach_set("material_index", sole_mask.astype(np.int32))
        me.materials.append(upper)
        me.materials.append(sole)
        obj = bpy.data.objects.new(name, me)
        for coll in rig.mesh.users_collection:
            coll.objects.link(obj)
        obj.parent = rig.armature
        copy_skin_weights(obj, model, None, _skin_weights(model, verts, body, candidates))
        add_armature_modifier(obj, rig.armature)
        obj.pass_index = int(instance_id)
        obj["mayhem_shoe"] = shoes["kind"]
        build.objects.append(obj)
        build.foot_vertices.append(enclosed)
    build.seconds = time.perf_counter() - t0
    return build
