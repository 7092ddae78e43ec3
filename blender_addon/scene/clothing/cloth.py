"""Blender cloth simulation of procedural garments on animated SMPL-X bodies.

Scheme (why each part):

* **Objects.** A garment (core.clothing.garments.Garment) becomes a mesh holding its bind vertices (the
  body's zero pose) parented to the body's armature, with an Armature modifier and the skin
  weights as vertex groups, then a Cloth modifier. The armature-deformed garment is (a) the
  cloth's start state and rest shape (Blender takes spring rest lengths from the modifier's
  input at the start frame, where the body is in the garment's reference pose), (b) the goal of
  the pinned vertices (group ``mayhem_pin``: waistband or neckline band), which therefore follow
  the skin exactly, and (c) the fallback: without the Cloth modifier the garment is simply
  bound to the skin.
* **Collisions.** The body mesh gets a Collision modifier after its Armature modifier (single
  sided, so a vertex that slipped inside is pushed back out along the body's normals). Each
  garment collides only with the colliders of its own person: the body, plus for an outer
  layer (tops) the inner garments (bottoms), which get a Collision modifier after their Cloth
  modifier. Garments are generated with the outer layer a gap outside the inner one, so
  layers start apart and the collision keeps them apart.
* **Timeline.** Blender 4.5's point cache loses frame 0 when a cache starts below 0 (see
  core.clothing.fabrics), so the simulation starts at Blender frame 1 (SIM_START_FRAME) in the garments'
  reference pose; the pre-roll (``settings.preroll`` frames, reference pose → frame 0's pose)
  follows, and sequence frame k is Blender frame ``k + sequence_frame_offset(settings.preroll)``.
  :func:`animate_with_preroll` keys the body that way.
* **Simulation, checks, retries.** :func:`simulate` steps the scene frame by frame (the cloth
  fills its memory cache), evaluates every garment and its body at each sequence frame and
  checks them (core.clothing.fabrics: share of vertices inside the body, largest edge stretch, NaN).
  Garments of a person whose checks all pass are baked (``ptcache.bake_from_cache``: no second
  simulation). Otherwise the failed garments get ``retry_quality_factor`` times more solver
  steps and one more collision step, and the person's garments are simulated again (their
  cached frames freed first: Blender keeps them when settings change from Python); a garment
  failing twice is replaced by the skin-bound garment (Cloth modifier removed), and garments of
  that person are simulated once more against it. Nothing raises for a failed simulation: each
  garment gets an outcome record.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import bpy
import numpy as np

from ...core.body.skeleton import JOINT_NAMES
from ...core.clothing.checks import GarmentChecker, summarize, under_layer_share
from ...core.clothing.fabrics import ClothSettings, Fabric, get_fabric
from ...core.clothing.garments import Garment
from ...core.clothing.preroll import SIM_START_FRAME, preroll_params, sequence_frame_offset
from ...core.geometry.spatial import SurfaceQuery
from ..body.rig import BodyRig, add_armature_modifier, animate_body, copy_skin_weights, evaluated_vertices
from ..geometry.mesh_arrays import add_vertex_group, triangle_mesh

PIN_GROUP = "mayhem_pin"
CLOTH_MODIFIER = "Cloth"
COLLISION_MODIFIER = "Collision"


@dataclass
class DressedGarment:
    """A garment object in the scene and its simulation state."""

    garment: Garment
    obj: bpy.types.Object
    rig: BodyRig
    fabric: Fabric
    quality: int
    colliders: bpy.types.Collection | None = None
    attempts: int = 0
    status: str | None = None                  # 'simulated' | 'retried' | 'fallback'
    reason: str | None = None                  # why the last failed attempt failed
    summary: object | None = None              # core.clothing.checks.CheckSummary of the final state
    passes: list = field(default_factory=list)  # per pass: frames, step/check wall and CPU seconds
    within_limits: bool | None = None
    checker: GarmentChecker | None = field(default=None, repr=False)
    skin_joints: np.ndarray | None = field(default=None, repr=False)
    skin_W: np.ndarray | None = field(default=None, repr=False)

    @property
    def person(self) -> str:
        return self.rig.armature.name

    @property
    def cloth(self):
        return self.obj.modifiers.get(CLOTH_MODIFIER)

    def outcome(self) -> dict:
        s = self.summary
        return {
            "garment": self.garment.name, "kind": self.garment.kind, "object": self.obj.name,
            "person": self.person, "fabric": self.fabric.name, "status": self.status,
            "penetration_median": None if s is None else s.penetration_median,
            "penetration_max": None if s is None else s.penetration_max,
            "max_stretch": None if s is None else s.max_stretch,
            "max_stretch_robust": None if s is None else s.max_stretch_robust,
            "layer_penetration_max": None if s is None else s.layer_penetration_max,
            "finite": None if s is None else s.finite,
            "within_limits": self.within_limits,
            "quality_steps": self.quality, "attempts": self.attempts, "reason": self.reason,
            "vertices": int(len(self.garment.vertices)),
            # Wall seconds of frame stepping (cloth + body evaluation) and of the checks, summed
            # over this garment's passes; a pass simulates all its person's garments at once.
            "sim_seconds": round(sum(p["step_seconds"] for p in self.passes), 3),
            "check_seconds": round(sum(p["check_seconds"] for p in self.passes), 3),
        }


# ------------------------------------------------------------------------------- objects
def _garment_mesh(garment: Garment, name: str):
    me = triangle_mesh(name, garment.bind_vertices, garment.faces)  # zero pose: the armature's bind pose
    uv = me.uv_layers.new(name="UVMap")
    uv.uv.foreach_set("vector", np.asarray(garment.uv, dtype=np.float32).ravel())
    return me


def build_garment_object(garment: Garment, rig: BodyRig, *, name: str | None = None,
                         collection=None) -> bpy.types.Object:
    """Mesh + skin weights + pin group + Armature modifier, parented to the rig's armature."""
    collection = collection or bpy.context.scene.collection
    name = name or f"{rig.mesh.name}_{garment.name}"
    obj = bpy.data.objects.new(name, _garment_mesh(garment, name))
    collection.objects.link(obj)
    obj.parent = rig.armature  # both at identity, like the body mesh
    copy_skin_weights(obj, rig.model, None, np.asarray(garment.skin_weights))
    add_vertex_group(obj, PIN_GROUP, garment.pin_weights)
    add_armature_modifier(obj, rig.armature)
    obj["mayhem_garment"] = json.dumps(garment.spec.to_dict())
    obj["mayhem_person"] = rig.armature.name
    return obj


def add_body_collision(rig: BodyRig, settings: ClothSettings):
    """Collision modifier on the body (after its Armature modifier), once per body."""
    mod = rig.mesh.modifiers.get(COLLISION_MODIFIER) or rig.mesh.modifiers.new(COLLISION_MODIFIER, "COLLISION")
    col = rig.mesh.collision
    col.use = True
    col.thickness_outer = settings.body_thickness
    col.damping = 0.1
    col.cloth_friction = settings.body_friction
    col.use_culling = True   # single sided: push out along the body's normals
    col.use_normal = False
    return mod


def _configure_cloth(dg: DressedGarment, settings: ClothSettings, frame_end: int) -> None:
    mod = dg.cloth
    f, s, c = dg.fabric, mod.settings, mod.collision_settings
    s.quality = int(dg.quality)
    s.mass = f.mass
    s.air_damping = f.air_damping
    s.tension_stiffness = f.tension
    s.tension_stiffness_max = f.tension
    s.compression_stiffness = f.compression
    s.compression_stiffness_max = f.compression
    s.shear_stiffness = f.shear
    s.shear_stiffness_max = f.shear
    s.bending_stiffness = f.bending
    s.bending_stiffness_max = f.bending
    s.tension_damping = f.tension_damping
    s.compression_damping = f.compression_damping
    s.shear_damping = f.shear_damping
    s.bending_damping = f.bending_damping
    s.vertex_group_mass = PIN_GROUP
    s.pin_stiffness = settings.pin_stiffness
    c.use_collision = True
    c.distance_min = settings.collision_distance
    c.collision_quality = int(settings.collision_quality + dg.attempts)
    c.friction = f.friction
    c.impulse_clamp = settings.impulse_clamp
    c.use_self_collision = bool(dg.garment.self_collision)
    c.self_distance_min = settings.self_collision_distance
    c.self_impulse_clamp = settings.impulse_clamp
    c.collection = dg.colliders
    pc = mod.point_cache
    pc.frame_start = SIM_START_FRAME
    pc.frame_end = int(frame_end)


def animate_with_preroll(rig: BodyRig, params: dict, settings: ClothSettings, reference_pose=None) -> int:
    """Key the body for the cloth timeline: the garments' reference pose at SIM_START_FRAME (the
    `reference_pose` (63,) of the garments, e.g. ``garments[0].reference_pose``; None = zero
    pose), the pre-roll, then the sequence. Returns the Blender frame of sequence frame 0."""
    settings = settings.validated()
    animate_body(rig, preroll_params(params, settings.preroll, settings.settle, reference_pose),
                 frame_start=SIM_START_FRAME)
    return sequence_frame_offset(settings.preroll)


def dress(rig: BodyRig, garments: list[Garment], fabrics: list, settings: ClothSettings, n_frames: int,
          *, collection=None) -> list[DressedGarment]:
    """Put `garments` (from core.clothing.garments.make_outfit for this rig's body) on the rig, with cloth.

    `fabrics`: one Fabric or preset name per garment. `n_frames`: sequence length (the cache
    covers the pre-roll and the sequence).
    """
    settings = settings.validated()
    if len(fabrics) != len(garments):
        raise ValueError(f"{len(garments)} garments but {len(fabrics)} fabrics")
    for g in garments[1:]:
        if not np.allclose(g.reference_pose, garments[0].reference_pose):
            raise ValueError("garments of one person must share a reference pose (make them with one BodyRest)")
    add_body_collision(rig, settings)
    frame_end = sequence_frame_offset(settings.preroll) + int(n_frames) - 1
    inner_objs: list = []
    order = sorted(range(len(garments)), key=lambda i: garments[i].layer)
    made: dict[int, DressedGarment] = {}
    for i in order:
        g = garments[i]
        fabric = fabrics[i] if isinstance(fabrics[i], Fabric) else get_fabric(fabrics[i])
        obj = build_garment_object(g, rig, collection=collection)
        colliders = bpy.data.collections.new(colliders_name(obj.name))
        colliders.objects.link(rig.mesh)
        for o in inner_objs:
            colliders.objects.link(o)
        obj.modifiers.new(CLOTH_MODIFIER, "CLOTH")
        dg = DressedGarment(garment=g, obj=obj, rig=rig, fabric=fabric,
                            quality=max(settings.quality, fabric.min_quality), colliders=colliders)
        _configure_cloth(dg, settings, frame_end)
        dg.checker = GarmentChecker(g.vertices, g.faces, settings.stretch_quantile)
        made[i] = dg
        if g.layer == 0:
            # Inner garments are colliders for the outer ones (after the cloth in the stack).
            obj.modifiers.new(COLLISION_MODIFIER, "COLLISION")
            obj.collision.use = True
            obj.collision.thickness_outer = settings.garment_thickness
            obj.collision.use_culling = False  # an open surface has no inside
            obj.collision.cloth_friction = settings.garment_friction
            inner_objs.append(obj)
    return [made[i] for i in range(len(garments))]


def _body_faces(rig: BodyRig) -> np.ndarray:
    """Triangles of the body mesh (the model's faces; the mesh's own triangulation otherwise)."""
    if rig.model is not None:
        return np.asarray(rig.model.faces)
    me = rig.mesh.data
    me.calc_loop_triangles()
    tri = np.empty(len(me.loop_triangles) * 3, dtype=np.int32)
    me.loop_triangles.foreach_get("vertices", tri)
    return tri.reshape(-1, 3)


# ---------------------------------------------------------------------------- simulation
def _free_cache(dg: DressedGarment) -> None:
    """Drop the garment's cached frames so the next pass simulates again.

    Changing cloth settings from Python does not reset the memory cache (measured in 4.5: a
    re-run after changing mass and damping replayed the old frames); free_bake marks the cache
    outdated, and the next pass from the start frame recomputes it.
    """
    with bpy.context.temp_override(scene=bpy.context.scene, point_cache=dg.cloth.point_cache):
        bpy.ops.ptcache.free_bake()


def _bake_from_cache(dg: DressedGarment) -> None:
    with bpy.context.temp_override(scene=bpy.context.scene, point_cache=dg.cloth.point_cache):
        bpy.ops.ptcache.bake_from_cache()


def _run_pass(active: list[DressedGarment], check_only: list[DressedGarment], settings: ClothSettings,
              frame_end: int, scene) -> dict:
    """Step the scene from the start frame to frame_end; per-frame checks for every garment in
    `active` + `check_only`. A simulated garment that blows up (NaN or stretch beyond
    `blowup_stretch`) is marked and the pass ends early once every simulated garment has."""
    offset = sequence_frame_offset(settings.preroll)
    watched = active + check_only
    checks = {id(dg): [] for dg in watched}
    # On a retry the skin-bound garment is checked too, so a simulation that misses the limits
    # without blowing up can be compared with the fallback it would otherwise become.
    skin_checks = {id(dg): [] for dg in active if dg.attempts > 0}
    queries: dict[str, SurfaceQuery] = {}  # one body surface per person, updated per frame
    blown: dict[int, str] = {}
    step_wall = step_cpu = check_wall = 0.0
    n_frames = 0
    for f in range(SIM_START_FRAME, frame_end + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        scene.frame_set(f)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        t1, c1 = time.perf_counter(), time.process_time()
        step_wall += t1 - t0
        step_cpu += c1 - c0
        n_frames += 1
        in_sequence = f >= offset
        updated: set[str] = set()
        frame_vertices: dict[int, np.ndarray] = {}
        for dg in watched:
            if id(dg) in blown:
                continue
            V = evaluated_vertices(dg.obj, depsgraph)
            frame_vertices[id(dg)] = V
            if in_sequence:
                if dg.person not in updated:
                    body_v = evaluated_vertices(dg.rig.mesh, depsgraph)
                    if dg.person in queries:
                        queries[dg.person].update(body_v)
                    else:
                        queries[dg.person] = SurfaceQuery(body_v, _body_faces(dg.rig), cell=0.04)
                    updated.add(dg.person)
                fc = dg.checker.check(f - offset, V, queries[dg.person])
                checks[id(dg)].append(fc)
                if id(dg) in skin_checks:
                    skinned = _skinned_vertices(dg)
                    skin_checks[id(dg)].append(dg.checker.check(f - offset, skinned, queries[dg.person]))
                bad = (not fc.finite) or fc.stretch_robust > settings.blowup_stretch
            else:
                finite = bool(np.all(np.isfinite(V)))
                bad = (not finite) or dg.checker.stretch(V)[1] > settings.blowup_stretch
            if bad and dg in active:
                blown[id(dg)] = f"blew up at Blender frame {f} (NaN or stretch > {settings.blowup_stretch})"
        if in_sequence:
            _check_layers(watched, frame_vertices, checks)
        check_wall += time.perf_counter() - t1
        if active and all(id(dg) in blown for dg in active) and not check_only:
            break
    record = {"frames": n_frames, "step_seconds": step_wall, "step_cpu_seconds": step_cpu,
              "check_seconds": check_wall, "simulated": [dg.garment.name for dg in active],
              "vertices": int(sum(len(dg.garment.vertices) for dg in active))}
    for dg in watched:
        dg.passes.append(record)
    return {"checks": checks, "blown": blown, "skin_checks": skin_checks}


def _check_layers(watched: list[DressedGarment], frame_vertices: dict, checks: dict) -> None:
    """Record on each outer garment's latest check the share of its vertices that tunnelled
    under its person's inner garment(s) this frame (core.clothing.checks.under_layer_share)."""
    inner_queries: dict[int, SurfaceQuery] = {}
    for dg in watched:
        if dg.garment.layer == 0 or id(dg) not in frame_vertices or not checks[id(dg)]:
            continue
        shares = []
        for inner in watched:
            V = frame_vertices.get(id(inner))
            if inner.person != dg.person or inner.garment.layer != 0 or V is None or not np.all(np.isfinite(V)):
                continue
            if id(inner) not in inner_queries:
                inner_queries[id(inner)] = SurfaceQuery(V, np.asarray(inner.garment.faces), cell=0.04)
            shares.append(under_layer_share(frame_vertices[id(dg)], inner_queries[id(inner)]))
        if shares and checks[id(dg)][-1].finite:
            checks[id(dg)][-1].layer_penetration = max(shares)


def _skinned_vertices(dg: DressedGarment) -> np.ndarray:
    """World positions of the skin-bound garment at the current frame (numpy LBS with the
    armature's bone matrices: what the Armature modifier alone makes of the bind mesh)."""
    arm = dg.rig.armature
    mw = np.array(arm.matrix_world, dtype=np.float64)
    if dg.skin_joints is None:
        W = np.asarray(dg.garment.skin_weights, dtype=np.float64)
        dg.skin_joints = np.flatnonzero(W.max(axis=0) > 0)
        dg.skin_W = W[:, dg.skin_joints]
    M = np.empty((len(dg.skin_joints), 4, 4))
    for k, j in enumerate(dg.skin_joints):
        pb = arm.pose.bones[JOINT_NAMES[j]]
        rest = np.array(pb.bone.matrix_local, dtype=np.float64)
        M[k] = mw @ np.array(pb.matrix, dtype=np.float64) @ np.linalg.inv(rest)
    B = np.einsum("nk,kab->nab", dg.skin_W, M)
    return np.einsum("nab,nb->na", B[:, :3, :3], dg.garment.bind_vertices) + B[:, :3, 3]


def _score(summary, settings: ClothSettings) -> float:
    """How far a garment's checks are from the limits (≤ 1 within all of them; lower is better)."""
    if summary is None or summary.frames == 0 or not summary.finite:
        return float("inf")
    return max(summary.max_stretch_robust / settings.stretch_limit,
               summary.penetration_median / settings.penetration_median_limit,
               summary.penetration_max / settings.penetration_max_limit)


def simulate(dressed: list[DressedGarment], settings: ClothSettings, *, scene=None) -> list[dict]:
    """Simulate, check, retry, fall back, bake. Returns one outcome dict per garment (same order).

    Never raises for a failed simulation; the outcome's ``status`` says what the garment is:
    'simulated' (first attempt passed), 'retried' (simulated again with more solver steps),
    'fallback' (bound to the skin, no physics). ``reason`` keeps why the last failed attempt
    failed. A retry that blows up (NaN, stretch beyond ``blowup_stretch``) always falls back; a
    retry that misses the limits without blowing up is kept when its checks are closer to the
    limits than the skin-bound garment's (measured in the same pass), with ``within_limits``
    False: a skin-bound top in a walk is itself outside the limits (the skin stretches in the
    armpit), and would only be a worse garment.
    """
    settings = settings.validated()
    scene = scene or bpy.context.scene
    frame_end = max((dg.cloth.point_cache.frame_end for dg in dressed if dg.cloth is not None), default=0)
    pending = [dg for dg in dressed if dg.cloth is not None and dg.status is None]
    check_only: list[DressedGarment] = []
    for _ in range(2 * len(dressed) + 2):  # each round retries or retires at least one garment
        if not pending and not check_only:
            break
        try:
            for dg in pending:
                _configure_cloth(dg, settings, frame_end)
                _free_cache(dg)
            result = _run_pass(pending, check_only, settings, frame_end, scene)
        except Exception as exc:  # noqa: BLE001 - a Blender error in a pass is a failed simulation
            result = {"checks": {id(dg): [] for dg in pending + check_only},
                      "blown": {id(dg): f"{type(exc).__name__}: {exc}" for dg in pending}}
        for dg in check_only:
            dg.summary = summarize(result["checks"][id(dg)])
            dg.within_limits = dg.summary.failure(settings) is None
        check_only = []
        failed, passed = [], []
        kept = []  # missed the limits on the retry, yet closer to them than the skin-bound garment
        for dg in pending:
            dg.summary = summarize(result["checks"][id(dg)])
            blown = result["blown"].get(id(dg))
            why = blown or dg.summary.failure(settings)
            if why:
                dg.reason = why
            skin = result.get("skin_checks", {}).get(id(dg))
            if why and not blown and dg.attempts > 0 and skin:
                if _score(dg.summary, settings) <= _score(summarize(skin), settings):
                    kept.append(dg)
                    continue
            (failed if why else passed).append(dg)
            dg.within_limits = not why
        failed_people = {dg.person for dg in failed}
        next_pending = []
        for dg in kept:
            dg.within_limits = False
            passed.append(dg)
        for dg in passed:
            if dg.person in failed_people:
                next_pending.append(dg)  # re-run beside its person's retried garments
                continue
            try:
                _bake_from_cache(dg)
                dg.status = "retried" if dg.attempts else "simulated"
            except Exception as exc:
                dg.reason = f"bake failed: {type(exc).__name__}: {exc}"
                fall_back(dg)
                check_only.append(dg)
        for dg in failed:
            if dg.attempts < 1:
                dg.attempts += 1
                dg.quality = int(dg.quality * settings.retry_quality_factor)
                next_pending.append(dg)
            else:
                fall_back(dg)
                check_only.append(dg)
        pending = next_pending
    for dg in pending:  # unreachable in practice: every round retries or retires a garment
        dg.reason = "unresolved after the retry rounds"
        fall_back(dg)
    return [dg.outcome() for dg in dressed]


def fall_back(dg: DressedGarment, reason: str | None = None) -> None:
    """Remove the Cloth modifier: the garment is bound to the skin by its Armature modifier.
    `reason` replaces the garment's recorded reason when given."""
    mod = dg.cloth
    if mod is not None:
        dg.obj.modifiers.remove(mod)
    dg.status = "fallback"
    if reason is not None:
        dg.reason = reason
    dg.obj["mayhem_cloth_status"] = "fallback"


def colliders_name(garment_object_name: str) -> str:
    """The collection of a garment's colliders (its body, and inner garments for an outer one)."""
    return f"{garment_object_name}_colliders"


def remove_garment(obj) -> None:
    """Delete a garment object with its mesh and its collider collection (the body stays)."""
    colliders = bpy.data.collections.get(colliders_name(obj.name))
    if colliders is not None:
        bpy.data.collections.remove(colliders)
    mesh = obj.data
    bpy.data.objects.remove(obj)
    if isinstance(mesh, bpy.types.Mesh) and mesh.users == 0:
        bpy.data.meshes.remove(mesh)
