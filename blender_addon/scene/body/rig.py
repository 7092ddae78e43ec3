"""An SMPL-X body as a Blender armature + skinned mesh that reproduces the SMPL-X forward pass.

Why it matches the numpy model exactly (up to float32):

* every bone's rest orientation is the identity (tail = head + (0, L, 0), roll 0) and its head
  is the shaped rest joint, so a pose bone's ``rotation_quaternion`` *is* the SMPL-X local
  joint rotation, and Blender's chain ``parent · T(head_j - head_parent) · R_j`` is SMPL-X's;
* a ``root`` bone at the origin carries ``transl`` as its pose location (identity rest, so the
  location is in armature space) and parents the pelvis;
* the mesh holds the shaped rest vertices (template + shape blend for the betas) and 486
  pose-corrective shape keys whose values are the pose feature (R_j - I, joints 1..54);
  Blender applies shape keys before the Armature modifier, the SMPL-X order;
* the Armature modifier does linear blend skinning with the model's weights as vertex groups.

Armature and mesh objects sit at the identity, so the mesh is in SMPL-X model coordinates;
AMASS world-frame ``global_orient`` already turns Y-up into Z-up, so a world-frame motion lands
in Blender's Z-up world. Bone heads are the rest joints for the betas; expression, which in
SMPL-X also moves the regressed joints, is reproduced by pose locations (see animate_body).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import bpy
import numpy as np

from ...core.body.model import NUM_POSE_BASIS, BodyModel
from ...core.body.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS
from ...core.errors import MayhemInputError
from ...core.geometry.rotations import axis_angle_to_matrix, axis_angle_to_quaternion
from ..geometry.mesh_arrays import add_vertex_group, triangle_mesh
from ..motion.actions import write_fcurves

ROOT_BONE = "root"
# Pose features are entries of R - I: diagonal in [-2, 0], off-diagonal in [-1, 1].
CORRECTIVE_SLIDER_RANGE = (-2.0, 2.0)
# Expression coefficients are in units of standard deviations; Blender's hard limit is ±10.
EXPRESSION_SLIDER_RANGE = (-10.0, 10.0)
# Keys of `params` for animate_body, with their widths, in SMPL-X joint order.
POSE_KEYS = (("global_orient", 3), ("body_pose", 63), ("jaw_pose", 3), ("leye_pose", 3),
             ("reye_pose", 3), ("left_hand_pose", 45), ("right_hand_pose", 45))


def corrective_key_name(k: int) -> str:
    """Name of pose-corrective shape key k: joint, then the (row, column) of R_j - I."""
    joint, rc = divmod(k, 9)
    return f"pc_{JOINT_NAMES[joint + 1]}_{rc // 3}{rc % 3}"


def expression_key_name(k: int) -> str:
    return f"expr_{k:03d}"


@dataclass
class BodyRig:
    """What build_body made: the objects, and the parameters their rest state was built from."""

    armature: bpy.types.Object
    mesh: bpy.types.Object
    model_id: str
    betas: np.ndarray          # (B,) as given
    rest_joints: np.ndarray    # (55, 3) shaped rest joints, model coordinates
    model: BodyModel | None = field(default=None, repr=False)  # for expression keys added later

    @property
    def num_correctives(self) -> int:
        keys = self.mesh.data.shape_keys
        return 0 if keys is None else sum(1 for kb in keys.key_blocks if kb.name.startswith("pc_"))

    @property
    def num_expression_keys(self) -> int:
        keys = self.mesh.data.shape_keys
        return 0 if keys is None else sum(1 for kb in keys.key_blocks if kb.name.startswith("expr_"))


# --------------------------------------------------------------------------- building
def _shaped_vertices(model: BodyModel, betas: np.ndarray) -> np.ndarray:
    n = betas.shape[0]
    return model.v_template + model.shapedirs[:, :, :n] @ betas


def _bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Display lengths only (rest orientation is fixed): half the mean distance to the children."""
    lengths = np.full(NUM_JOINTS, 0.0)
    for j in range(NUM_JOINTS):
        kids = np.flatnonzero(PARENTS == j)
        if len(kids):
            lengths[j] = 0.5 * float(np.mean(np.linalg.norm(joints[kids] - joints[j], axis=1)))
    leaf = lengths[lengths > 0]
    default = 0.5 * float(np.median(leaf)) if len(leaf) else 0.02
    lengths[lengths <= 1e-4] = default
    return np.clip(lengths, 0.005, 0.2)


def _build_armature(name: str, joints: np.ndarray, collection) -> bpy.types.Object:
    arm = bpy.data.armatures.new(name)
    arm.display_type = "STICK"
    obj = bpy.data.objects.new(name, arm)
    collection.objects.link(obj)
    view_layer = bpy.context.view_layer  # `collection` must be in it: bones need edit mode
    previous_active = view_layer.objects.active
    if previous_active is not None and previous_active.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        lengths = _bone_lengths(joints)
        root = arm.edit_bones.new(ROOT_BONE)
        root.head = (0.0, 0.0, 0.0)
        root.tail = (0.0, float(lengths[0]), 0.0)
        root.roll = 0.0
        root.use_deform = False
        bones = []
        for j, joint_name in enumerate(JOINT_NAMES):
            eb = arm.edit_bones.new(joint_name)
            head = joints[j]
            eb.head = tuple(float(x) for x in head)
            eb.tail = (float(head[0]), float(head[1] + lengths[j]), float(head[2]))
            eb.roll = 0.0
            eb.use_connect = False
            eb.parent = root if PARENTS[j] < 0 else bones[PARENTS[j]]
            bones.append(eb)
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = previous_active
    for pb in obj.pose.bones:
        pb.rotation_mode = "QUATERNION"
    return obj


def _build_mesh(name: str, model: BodyModel, vertices: np.ndarray, collection) -> bpy.types.Object:
    me = triangle_mesh(name, vertices, model.faces)
    _add_uvs(me, model)
    obj = bpy.data.objects.new(name, me)
    collection.objects.link(obj)
    return obj


def _add_uvs(me, model: BodyModel) -> None:
    vt, ft = model.extras.get("vt"), model.extras.get("ft")
    if vt is None or ft is None:
        return
    vt = np.asarray(vt, dtype=np.float32)
    ft = np.asarray(ft, dtype=np.int64)
    if vt.ndim != 2 or vt.shape[1] != 2:
        raise MayhemInputError(model.path, "vt", f"expected (T, 2) texture coordinates, got {vt.shape}")
    if ft.shape != model.faces.shape or (ft.size and (ft.min() < 0 or ft.max() >= len(vt))):
        raise MayhemInputError(model.path, "ft", f"expected {model.faces.shape} indices below {len(vt)}")
    uv = me.uv_layers.new(name="UVMap")
    uv.uv.foreach_set("vector", vt[ft].ravel())


def _add_vertex_groups(obj, weights: np.ndarray) -> None:
    """One group per joint (empty ones too: the armature names every bone)."""
    for j, joint_name in enumerate(JOINT_NAMES):
        add_vertex_group(obj, joint_name, weights[:, j])


def copy_skin_weights(obj, model, vertex_ids: np.ndarray, weights: np.ndarray | None = None) -> None:
    """Vertex groups on obj: vertex i gets the body's weights of vertex_ids[i] (or `weights`);
    one group per joint that has any weight."""
    w = model.weights[vertex_ids] if weights is None else weights
    for j in np.flatnonzero(np.any(w > 0, axis=0)):
        add_vertex_group(obj, JOINT_NAMES[j], w[:, j])


def add_armature_modifier(obj, armature) -> None:
    """Deform `obj` by `armature` through its vertex groups (linear blend skinning, as SMPL-X)."""
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = armature
    mod.use_vertex_groups = True
    mod.use_bone_envelopes = False
    mod.use_deform_preserve_volume = False


def _add_shape_keys(obj, base: np.ndarray, dirs: np.ndarray, names, slider_range) -> None:
    """Shape keys base + dirs[:, :, k], written with foreach_set (one call per key)."""
    if obj.data.shape_keys is None:
        obj.shape_key_add(name="Basis", from_mix=False)
    names = list(names)
    for c0 in range(0, len(names), 64):  # 64 keys at a time: one transpose, bounded memory
        block = (base[None] + np.moveaxis(dirs[:, :, c0:c0 + 64], 2, 0)).astype(np.float32, order="C")
        for k, key_name in enumerate(names[c0:c0 + 64]):
            kb = obj.shape_key_add(name=key_name, from_mix=False)
            # ShapeKey.points is the raw-array accessor (ShapeKey.data goes point by point).
            kb.points.foreach_set("co", block[k].ravel())
            kb.slider_min, kb.slider_max = slider_range
            kb.value = 0.0


def add_expression_keys(rig: BodyRig, count: int) -> None:
    """Make sure the first `count` expression components exist as shape keys."""
    model = rig.model
    if model is None:
        raise ValueError("this BodyRig has no model attached; cannot add expression keys")
    if count > model.num_expression:
        raise ValueError(f"{count} expression coefficients requested; {model.model_id} has {model.num_expression}")
    have = rig.num_expression_keys
    if count <= have:
        return
    base = _shaped_vertices(model, np.asarray(rig.betas, dtype=np.float64))
    _add_shape_keys(rig.mesh, base, model.exprdirs[:, :, have:count],
                    [expression_key_name(k) for k in range(have, count)], EXPRESSION_SLIDER_RANGE)


def build_body(model: BodyModel, betas, *, name: str, expression_basis: bool | int = False,
               pose_correctives: bool = True, collection=None) -> BodyRig:
    """Armature (root + 55 SMPL-X bones) and skinned mesh for `model` shaped by `betas`.

    `expression_basis`: True adds one shape key per expression component of the model, an int
    adds that many; animate_body adds any it needs later, so False is fine for most uses.
    `pose_correctives`: add the 486 pose-corrective shape keys (skipped when the model has none).
    Objects are linked to `collection` (default: the scene's master collection).
    """
    collection = collection or bpy.context.scene.collection
    betas = np.zeros(0) if betas is None else np.asarray(betas, dtype=np.float64).reshape(-1)
    if betas.shape[0] > model.num_betas:
        raise ValueError(f"betas has {betas.shape[0]} coefficients; the model {model.model_id} has {model.num_betas}")
    vertices = _shaped_vertices(model, betas)
    # = model.forward(betas=betas).rest_joints[0], without building the forward pass's caches.
    rest_joints = model.J_regressor @ vertices

    arm_obj = _build_armature(f"{name}_armature", rest_joints, collection)
    mesh_obj = _build_mesh(name, model, vertices, collection)
    mesh_obj.parent = arm_obj  # both at identity: moving the armature object moves the body
    _add_vertex_groups(mesh_obj, model.weights)
    if pose_correctives and model.posedirs is not None:
        _add_shape_keys(mesh_obj, vertices, model.posedirs,
                        [corrective_key_name(k) for k in range(NUM_POSE_BASIS)], CORRECTIVE_SLIDER_RANGE)
    mod = mesh_obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm_obj
    mod.use_vertex_groups = True
    mod.use_bone_envelopes = False
    mod.use_deform_preserve_volume = False  # linear blend skinning, as SMPL-X

    arm_obj["mayhem_model_id"] = model.model_id
    arm_obj["mayhem_model_path"] = model.path
    arm_obj["mayhem_gender"] = model.gender
    arm_obj["mayhem_betas"] = json.dumps([float(b) for b in betas])
    rig = BodyRig(armature=arm_obj, mesh=mesh_obj, model_id=model.model_id, betas=betas,
                  rest_joints=rest_joints, model=model)
    if expression_basis:
        add_expression_keys(rig, model.num_expression if expression_basis is True else int(expression_basis))
    return rig


# -------------------------------------------------------------------------- animation
def full_pose(params: dict) -> np.ndarray:
    """(F, 55, 3) axis-angle in SMPL-X joint order; missing face/hand parts are zero."""
    if "global_orient" not in params or "body_pose" not in params:
        raise ValueError("params need at least 'global_orient' (F,3) and 'body_pose' (F,63)")
    n_frames = np.asarray(params["global_orient"]).reshape(-1, 3).shape[0]
    parts = []
    for key, width in POSE_KEYS:
        value = params.get(key)
        if value is None:
            parts.append(np.zeros((n_frames, width)))
            continue
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 1:
            arr = np.broadcast_to(arr, (n_frames, arr.shape[0]))
        if arr.shape != (n_frames, width):
            raise ValueError(f"params[{key!r}] must have shape ({n_frames}, {width}), got {arr.shape}")
        parts.append(arr)
    return np.concatenate(parts, axis=1).reshape(n_frames, NUM_JOINTS, 3)


def continuous_quaternions(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 so consecutive quaternions have a non-negative dot product.

    q and -q are the same rotation, but linear interpolation between keys (sub-frames, motion
    blur) would swing the long way round across a sign change.
    """
    q = np.array(q, dtype=np.float64, copy=True)
    if q.shape[0] < 2:
        return q
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    flips = np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)
    q[1:] *= flips[..., None]
    return q


def expression_joint_dirs(model: BodyModel, count: int) -> np.ndarray:
    """(55, 3, count): how each expression coefficient moves the regressed rest joints."""
    dirs = model.exprdirs[:, :, :count]
    V = model.num_vertices
    return (model.J_regressor @ dirs.reshape(V, 3 * count)).reshape(NUM_JOINTS, 3, count)


def animate_body(rig: BodyRig, params: dict, frame_start: int = 0, *, set_scene_range: bool = False,
                 scene=None) -> int:
    """Key a world-frame SMPL-X motion on the rig: file frame k → Blender frame frame_start + k.

    `params` holds (F, n) arrays global_orient, body_pose, jaw_pose, leye_pose, reye_pose,
    left_hand_pose, right_hand_pose (full, flat hand mean), transl, and optionally expression
    (F, E). Writes bone quaternions, root location, and corrective/expression shape-key values,
    one bulk write per channel. Returns the number of frames.

    Expression also moves SMPL-X's rest joints (they are regressed from the expressed mesh),
    while the bones' rest heads are fixed. A rest joint shifted by d_j is reproduced exactly
    by the pose location (I - R_j) d_j on that bone: then Blender's deform matrix
    M_j · T(-head_j) equals SMPL-X's G'_j · T(-J'_j) at every frame, so those joints get
    location curves too.
    """
    pose = full_pose(params)
    n_frames = pose.shape[0]
    transl = params.get("transl")
    transl = np.zeros((n_frames, 3)) if transl is None else np.asarray(transl, dtype=np.float64).reshape(n_frames, 3)
    rot = axis_angle_to_matrix(pose)  # (F, 55, 3, 3)

    expression = params.get("expression")
    if expression is not None:
        expression = np.asarray(expression, dtype=np.float64)
        if expression.ndim != 2 or expression.shape[0] != n_frames:
            raise ValueError(f"params['expression'] must have shape ({n_frames}, E), got {expression.shape}")
        used = np.flatnonzero(np.any(expression != 0, axis=0))
        if len(used):
            add_expression_keys(rig, int(used[-1]) + 1)
    n_expr = rig.num_expression_keys
    expr = np.zeros((n_frames, n_expr))
    if expression is not None and n_expr:
        width = min(n_expr, expression.shape[1])
        expr[:, :width] = expression[:, :width]

    quats = continuous_quaternions(axis_angle_to_quaternion(pose))  # (F, 55, 4) w, x, y, z
    channels = [(f'pose.bones["{ROOT_BONE}"].location', i, ROOT_BONE, transl[:, i]) for i in range(3)]
    for j, joint_name in enumerate(JOINT_NAMES):
        path = f'pose.bones["{joint_name}"].rotation_quaternion'
        channels.extend((path, i, joint_name, quats[:, j, i]) for i in range(4))
    if n_expr:
        jdirs = expression_joint_dirs(rig.model, n_expr)
        shift = np.einsum("jck,fk->fjc", jdirs, expr)  # (F, 55, 3) rest-joint shift d_j
        loc = shift - np.einsum("fjab,fjb->fja", rot, shift)  # (I - R_j) d_j
        for j in np.flatnonzero(np.any(jdirs != 0, axis=(1, 2))):
            path = f'pose.bones["{JOINT_NAMES[j]}"].location'
            channels.extend((path, i, JOINT_NAMES[j], loc[:, j, i]) for i in range(3))
    for pb in rig.armature.pose.bones:
        pb.rotation_mode = "QUATERNION"
    write_fcurves(rig.armature, channels, frame_start)

    key_channels = []
    if rig.num_correctives:
        feats = (rot[:, 1:] - np.eye(3)).reshape(n_frames, NUM_POSE_BASIS)
        key_channels.extend((f'key_blocks["{corrective_key_name(k)}"].value', 0, "pose correctives", feats[:, k])
                            for k in range(NUM_POSE_BASIS))
    key_channels.extend((f'key_blocks["{expression_key_name(k)}"].value', 0, "expression", expr[:, k])
                        for k in range(n_expr))
    if key_channels:
        write_fcurves(rig.mesh.data.shape_keys, key_channels, frame_start)

    if set_scene_range:
        scene = scene or bpy.context.scene
        scene.frame_start = frame_start
        scene.frame_end = frame_start + n_frames - 1
    return n_frames


def evaluated_vertices(mesh_obj, depsgraph) -> np.ndarray:
    """(V, 3) world-space vertices of the evaluated (shape keys + armature) mesh, float64."""
    obj_eval = mesh_obj.evaluated_get(depsgraph)
    mesh = obj_eval.to_mesh()
    try:
        co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
    finally:
        obj_eval.to_mesh_clear()
    co = co.reshape(-1, 3).astype(np.float64)
    mw = np.array(obj_eval.matrix_world, dtype=np.float64)
    return co @ mw[:3, :3].T + mw[:3, 3]
