"""The Blender body (armature + shape keys + skinning) against the numpy SMPL-X forward pass.

Every frame is evaluated through Blender's depsgraph and compared vertex by vertex with
BodyModel.forward; the tolerance is 1 mm. Also checks the skeleton, the bulk-written F-curves
and the skin material.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from mayhem.core.body.model import NUM_POSE_BASIS, load_body_model  # noqa: E402
from mayhem.core.body.skeleton import JOINT_NAMES, PARENTS  # noqa: E402
from mayhem.core.errors import MayhemInputError  # noqa: E402
from mayhem.scene.body import skin  # noqa: E402
from mayhem.scene.body.rig import (  # noqa: E402
    ROOT_BONE,
    animate_body,
    build_body,
    continuous_quaternions,
    corrective_key_name,
    evaluated_vertices,
)
from mayhem.scene.motion import actions  # noqa: E402

FREE_BODY = Path(__file__).resolve().parents[2] / "assets" / "bodies" / "free_body.npz"
TOLERANCE_M = 1e-3
FRAME_START = 5


@pytest.fixture(params=["smplx_random", "free_body"])
def body_model(request):
    if request.param == "free_body":
        if not FREE_BODY.exists():
            pytest.skip(f"{FREE_BODY} not built")
        return load_body_model(FREE_BODY)
    return load_body_model(request.getfixturevalue("smplx_npz"))


def random_motion(rng, n_frames: int, angle: float = 0.35) -> dict:
    """World-frame SMPL-X parameters with moderate joint angles (std `angle` rad per axis)."""
    return {
        "global_orient": rng.normal(scale=1.0, size=(n_frames, 3)),
        "body_pose": rng.normal(scale=angle, size=(n_frames, 63)),
        "jaw_pose": rng.normal(scale=angle / 2, size=(n_frames, 3)),
        "leye_pose": rng.normal(scale=angle / 2, size=(n_frames, 3)),
        "reye_pose": rng.normal(scale=angle / 2, size=(n_frames, 3)),
        "left_hand_pose": rng.normal(scale=angle, size=(n_frames, 45)),
        "right_hand_pose": rng.normal(scale=angle, size=(n_frames, 45)),
        "transl": rng.normal(scale=1.0, size=(n_frames, 3)),
    }


def blender_errors(rig, model, betas, params, frame_start, expression=None) -> np.ndarray:
    """Per-frame max vertex distance (m) between Blender's evaluated mesh and model.forward."""
    ref = model.forward(betas=betas, expression=expression, **params).vertices
    scene = bpy.context.scene
    errs = []
    for k in range(ref.shape[0]):
        scene.frame_set(frame_start + k)
        got = evaluated_vertices(rig.mesh, bpy.context.evaluated_depsgraph_get())
        errs.append(np.linalg.norm(got - ref[k], axis=1).max())
    return np.array(errs)


def test_blender_body_matches_forward_pass(fresh_blender, body_model):
    rng = np.random.default_rng(7)
    betas = rng.normal(size=min(10, body_model.num_betas))
    rig = build_body(body_model, betas, name="body")
    params = random_motion(rng, 6)
    n = animate_body(rig, params, frame_start=FRAME_START, set_scene_range=True)
    assert n == 6
    assert (bpy.context.scene.frame_start, bpy.context.scene.frame_end) == (FRAME_START, FRAME_START + 5)
    errs = blender_errors(rig, body_model, betas, params, FRAME_START)
    print(f"\n{body_model.model_id}: max vertex error per frame (mm): {np.round(errs * 1e3, 4).tolist()}")
    assert errs.max() <= TOLERANCE_M, f"max error {errs.max() * 1e3:.4f} mm"
    # The correctives are really in play: muting them must break the match.
    if body_model.posedirs is not None:
        for kb in rig.mesh.data.shape_keys.key_blocks:
            kb.mute = True
        muted = blender_errors(rig, body_model, betas, params, FRAME_START)
        assert muted.max() > 10 * TOLERANCE_M


def test_expression_follows_forward_pass(fresh_blender, body_model):
    """Expression keys are added on demand; with the joint-shift locations the posed face matches."""
    rng = np.random.default_rng(3)
    betas = rng.normal(size=min(10, body_model.num_betas))
    rig = build_body(body_model, betas, name="face")
    assert rig.num_expression_keys == 0
    F = 5
    n_cols = min(12, body_model.num_expression)
    n_used = n_cols - 2  # trailing zero columns get no shape keys
    expression = np.zeros((F, n_cols))
    expression[:, :n_used] = rng.normal(size=(F, n_used))
    params = random_motion(rng, F)
    animate_body(rig, {**params, "expression": expression}, frame_start=0)
    assert rig.num_expression_keys == n_used  # one per used component (up to the last non-zero)
    errs = blender_errors(rig, body_model, betas, params, 0, expression=expression)
    print(f"\n{body_model.model_id} with expression: max vertex error per frame (mm): "
          f"{np.round(errs * 1e3, 4).tolist()}")
    assert errs.max() <= TOLERANCE_M
    # The joint-shift locations matter: without them the match breaks.
    bag = actions.ensure_channelbag(rig.armature)
    for fc in [fc for fc in bag.fcurves if fc.data_path.endswith(".location") and ROOT_BONE not in fc.data_path]:
        bag.fcurves.remove(fc)
    for pb in rig.armature.pose.bones:
        if pb.name != ROOT_BONE:
            pb.location = (0.0, 0.0, 0.0)
    without = blender_errors(rig, body_model, betas, params, 0, expression=expression)
    print(f"without joint-shift locations: {without.max() * 1e3:.3f} mm")
    assert without.max() > TOLERANCE_M
    # A later clip without expression resets the face and the joint shifts.
    animate_body(rig, params, frame_start=0)
    errs = blender_errors(rig, body_model, betas, params, 0)
    assert errs.max() <= TOLERANCE_M


def test_skeleton_is_smplx(fresh_blender, smplx_npz):
    model = load_body_model(smplx_npz)
    betas = np.linspace(-1, 1, 10)
    rig = build_body(model, betas, name="body")
    bones = rig.armature.data.bones
    assert sorted(b.name for b in bones) == sorted([ROOT_BONE, *JOINT_NAMES])
    assert bones[ROOT_BONE].parent is None
    expected_joints = model.forward(betas=betas, return_vertices=False).rest_joints[0]
    for j, name in enumerate(JOINT_NAMES):
        bone = bones[name]
        assert bone.parent.name == (ROOT_BONE if PARENTS[j] < 0 else JOINT_NAMES[PARENTS[j]])
        m = np.array(bone.matrix_local)
        np.testing.assert_allclose(m[:3, :3], np.eye(3), atol=1e-6)  # identity rest orientation
        np.testing.assert_allclose(m[:3, 3], expected_joints[j], atol=1e-6)
        assert not bone.use_connect
    np.testing.assert_allclose(rig.rest_joints, expected_joints, atol=1e-9)
    assert [g.name for g in rig.mesh.vertex_groups] == list(JOINT_NAMES)
    mod = rig.mesh.modifiers["Armature"]
    assert mod.object == rig.armature and not mod.use_deform_preserve_volume
    assert rig.armature["mayhem_model_id"] == model.model_id
    np.testing.assert_allclose(np.array(json.loads(rig.armature["mayhem_betas"])), betas)
    # Weights went in exactly (float32) for a sample of vertices.
    for v in np.random.default_rng(0).choice(model.num_vertices, 50, replace=False):
        got = np.zeros(len(JOINT_NAMES))
        for ge in rig.mesh.data.vertices[int(v)].groups:
            got[ge.group] = ge.weight
        np.testing.assert_allclose(got, model.weights[v], atol=1e-6)
    assert len(rig.mesh.data.uv_layers) == 1


def test_fcurves_bulk_written(fresh_blender, smplx_npz):
    model = load_body_model(smplx_npz)
    rig = build_body(model, np.zeros(10), name="body")
    F = 37
    params = random_motion(np.random.default_rng(1), F)
    animate_body(rig, params, frame_start=FRAME_START)
    arm_bag = actions.ensure_channelbag(rig.armature)
    key_bag = actions.ensure_channelbag(rig.mesh.data.shape_keys)
    assert len(arm_bag.fcurves) == 3 + 4 * len(JOINT_NAMES)
    assert len(key_bag.fcurves) == NUM_POSE_BASIS
    for fc in list(arm_bag.fcurves) + list(key_bag.fcurves):
        kp = fc.keyframe_points
        assert len(kp) == F
        co = np.empty(2 * F, dtype=np.float32)
        kp.foreach_get("co", co)
        np.testing.assert_array_equal(co[0::2], FRAME_START + np.arange(F))
        assert {k.interpolation for k in kp} == {"LINEAR"}
    fc = key_bag.fcurves.find(f'key_blocks["{corrective_key_name(0)}"].value')
    assert fc.group.name == "pose correctives"
    # Writing again replaces keys instead of adding curves or keys.
    animate_body(rig, random_motion(np.random.default_rng(2), F), frame_start=FRAME_START)
    assert len(arm_bag.fcurves) == 3 + 4 * len(JOINT_NAMES)
    assert all(len(fc.keyframe_points) == F for fc in arm_bag.fcurves)
    # Root location carries transl; the armature object stays at the identity.
    bpy.context.scene.frame_set(FRAME_START + 3)
    np.testing.assert_allclose(rig.armature.pose.bones[ROOT_BONE].location,
                               random_motion(np.random.default_rng(2), F)["transl"][3], atol=1e-6)
    np.testing.assert_allclose(np.array(rig.armature.matrix_world), np.eye(4))


def test_write_fcurves_on_an_object(fresh_blender):
    obj = bpy.data.objects.new("empty", None)
    bpy.context.scene.collection.objects.link(obj)
    values = np.sin(np.arange(20) * 0.3)
    actions.write_fcurves(obj, [("location", 2, "Object Transforms", values)], frame_start=10)
    assert obj.animation_data.action_slot is not None
    for k in (0, 7, 19):
        bpy.context.scene.frame_set(10 + k)
        assert obj.location.z == pytest.approx(values[k], abs=1e-6)
    bpy.context.scene.frame_set(13, subframe=0.5)  # LINEAR: halfway between the keys
    assert obj.location.z == pytest.approx(0.5 * (values[3] + values[4]), abs=1e-6)


def test_quaternions_are_sign_continuous():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(50, 3, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    out = continuous_quaternions(q)
    assert np.all(np.sum(out[1:] * out[:-1], axis=-1) >= 0)
    np.testing.assert_allclose(np.abs(np.sum(out * q, axis=-1)), 1.0)  # same rotations


def _base_color(mat) -> np.ndarray:
    """Colour feeding the BSDF's Base Color, through the variation node."""
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    hsv = bsdf.inputs["Base Color"].links[0].from_node
    src = hsv.inputs["Color"].links[0].from_node
    return np.array(src.outputs["Color"].default_value[:3])


def test_skin_material(fresh_blender, tmp_path):
    light, mid, dark = (skin.skin_material(t, name=f"skin{t}") for t in (0.0, 0.5, 1.0))
    for mat in (light, mid, dark):
        bsdf = mat.node_tree.nodes["Principled BSDF"]
        assert bsdf.inputs["Subsurface Weight"].default_value > 0
        assert 0.45 <= bsdf.inputs["Roughness"].default_value <= 0.55
    lum = [float(_base_color(m) @ [0.2126, 0.7152, 0.0722]) for m in (light, mid, dark)]
    assert lum[0] > lum[1] > lum[2]
    np.testing.assert_allclose(_base_color(light), skin.srgb_to_linear(np.array([0xf6, 0xed, 0xe4]) / 255), atol=1e-6)
    np.testing.assert_allclose(_base_color(dark), skin.srgb_to_linear(np.array([0x29, 0x24, 0x20]) / 255), atol=1e-6)
    with pytest.raises(MayhemInputError):
        skin.skin_material(1.5)

    missing = tmp_path / "no_such_albedo.png"
    with pytest.raises(MayhemInputError) as err:
        skin.skin_material(0.3, albedo_texture=str(missing))
    assert err.value.field == "skin.texture" and "no_such_albedo.png" in str(err.value)

    img = bpy.data.images.new("albedo", 4, 4)
    path = tmp_path / "albedo.png"
    img.filepath_raw = str(path)
    img.file_format = "PNG"
    img.save()
    mat = skin.skin_material(0.3, albedo_texture=str(path))
    tex = [n for n in mat.node_tree.nodes if n.bl_idname == "ShaderNodeTexImage"]
    assert len(tex) == 1 and Path(tex[0].image.filepath).name == "albedo.png"

    me = bpy.data.meshes.new("m")
    obj = bpy.data.objects.new("m", me)
    skin.apply_skin(obj, mid)
    skin.apply_skin(obj, dark)
    assert list(obj.data.materials) == [dark]
