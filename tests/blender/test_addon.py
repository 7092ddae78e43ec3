"""The Blender add-on shell: manifest, registration, panels, and the operators end to end.

Operators run through bpy.ops exactly as the sidebar buttons call them. The render test is tiny
(64x36, 2 frames, 4 samples); the exactness test compares Blender's deformed mesh and camera
with the recipe the render service writes, which is what the labels are computed from.
"""
from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "blender_addon"
W, H = 64, 36
CONTRACT_KEYS = ("frame", "image_size", "K", "world_to_cam", "model", "gender", "betas", "expression",
                 "global_orient", "transl", "body_pose", "jaw_pose", "leye_pose", "reye_pose", "left_hand_pose",
                 "right_hand_pose", "global_orient_cam", "transl_cam", "joints3d_cam", "joints2d",
                 "joints_visible", "bbox", "instance_id")
CLASS_NAMES = ("MayhemPreferences", "MayhemSceneSettings", "MAYHEM_OT_add_body", "MAYHEM_OT_load_motion",
               "MAYHEM_OT_dress_body", "MAYHEM_OT_undress_body", "MAYHEM_OT_render_dataset", "VIEW3D_PT_mayhem",
               "VIEW3D_PT_mayhem_body", "VIEW3D_PT_mayhem_motion", "VIEW3D_PT_mayhem_clothing",
               "VIEW3D_PT_mayhem_render")


# ------------------------------------------------------------------------------ manifest
def test_manifest_has_the_required_fields():
    import mayhem

    data = tomllib.loads((ADDON / "blender_manifest.toml").read_text(encoding="utf-8"))
    assert data["schema_version"] == "1.0.0"
    assert data["id"] == "mayhem" and data["name"] == "Mayhem" and data["type"] == "add-on"
    assert data["version"] == mayhem.__version__ == "0.1.0"
    assert (data["blender_version_min"], data["blender_version_max"]) == ("4.5.0", "5.4.0")  # tested lines
    assert data["license"] == ["SPDX:Apache-2.0"]
    assert data["maintainer"].strip()
    tagline = data["tagline"]
    assert 0 < len(tagline) <= 64 and tagline[-1].isalnum()  # Blender's rules for taglines
    assert "files" in data["permissions"] and "write datasets" in data["permissions"]["files"]


def _blender_ext_cli() -> Path | None:
    spec = importlib.util.find_spec("bpy")
    if spec is None or spec.origin is None:
        return None
    found = sorted(Path(spec.origin).parent.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    return found[-1] if found else None


def test_manifest_passes_blenders_own_validator():
    cli = _blender_ext_cli()
    if cli is None:
        pytest.skip("this bpy build ships no extensions command-line tool (bl_pkg/cli/blender_ext.py)")
    run = subprocess.run([sys.executable, str(cli), "validate", str(ADDON)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_package_and_core_import_without_bpy(tmp_path):
    """register() imports ui/ lazily: the library side must work where bpy does not exist."""
    (tmp_path / "mayhem").symlink_to(ADDON, target_is_directory=True)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import mayhem, mayhem.core.recipe, mayhem.core.config, "
            "mayhem.core.dataset.labels; assert 'bpy' not in sys.modules, 'bpy was imported'; print(mayhem.__version__)")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "0.1.0"


def _absolute_mayhem_imports(tree) -> list[int]:
    """Line numbers of `import mayhem...` / `from mayhem... import`, except in `if __name__ ==
    "__main__"` blocks (a file run as a script may load its own package under that name)."""
    import ast

    lines = []

    def visit(node):
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            lines.extend(node.lineno for a in node.names if a.name.split(".")[0] == "mayhem")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "mayhem":
            lines.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return lines


def test_extension_code_uses_only_relative_imports():
    """An installed extension is imported as bl_ext.<repo>.mayhem: `import mayhem` would break."""
    import ast

    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in sorted(ADDON.rglob("*.py"))
                 for line in _absolute_mayhem_imports(ast.parse(path.read_text(encoding="utf-8")))]
    assert not offenders
    assert _absolute_mayhem_imports(ast.parse("import mayhem.core\nfrom .x import y\n")) == [1]  # the check bites


# -------------------------------------------------------------------------- registration
@pytest.fixture
def addon(fresh_blender):
    import mayhem

    mayhem.register()
    try:
        yield fresh_blender
    finally:
        # Also keeps the bpy module from hanging at interpreter exit, which it does when an
        # operator class is still registered then.
        mayhem.unregister()


def _registered(bpy) -> dict:
    """Registration state of every add-on class (property groups and preferences are not
    exposed on bpy.types by name, so ask the classes themselves)."""
    from mayhem import ui

    assert {c.__name__ for c in ui.CLASSES} == set(CLASS_NAMES)
    return {c.__name__: c.is_registered for c in ui.CLASSES}


def test_register_unregister_and_register_again(fresh_blender):
    import mayhem

    bpy = fresh_blender
    mayhem.register()
    try:
        assert all(_registered(bpy).values()), _registered(bpy)
        settings = bpy.context.scene.mayhem
        assert settings.samples == 16 and tuple(settings.resolution) == (320, 180) and len(settings.betas) == 10
        from mayhem.ui.preferences import MayhemPreferences

        assert MayhemPreferences.bl_idname == "mayhem"  # = the add-on's package name
        assert hasattr(bpy.ops.mayhem, "render_dataset") and hasattr(bpy.types, "VIEW3D_PT_mayhem_render")
    finally:
        mayhem.unregister()
    assert not any(_registered(bpy).values()), _registered(bpy)
    assert "mayhem" not in bpy.types.Scene.bl_rna.properties
    assert not hasattr(bpy.types, "MAYHEM_OT_add_body")
    mayhem.register()
    try:
        assert all(_registered(bpy).values())
        bpy.context.scene.mayhem.samples = 5
        assert bpy.context.scene.mayhem.samples == 5
    finally:
        mayhem.unregister()
    assert not any(_registered(bpy).values())


ADDON_MANAGER_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
import bpy
import addon_utils  # on sys.path once bpy is imported
bpy.ops.wm.read_factory_settings(use_empty=True)
addon_utils.enable("mayhem", default_set=True, handle_error=None)
try:
    prefs = bpy.context.preferences.addons["mayhem"].preferences
    assert [getattr(prefs, n) for n in ("smplx_folder", "amass_folder", "hdri_folder", "output_folder")] == [""] * 4
    prefs.output_folder = "/tmp/somewhere"
    assert bpy.context.scene.mayhem.output_folder(bpy.context) == "/tmp/somewhere"
    assert hasattr(bpy.types, "VIEW3D_PT_mayhem")
finally:
    addon_utils.disable("mayhem", default_set=True)
assert not hasattr(bpy.types, "VIEW3D_PT_mayhem")
print("ADDON-OK")
"""


def test_blenders_addon_manager_enables_it_with_preferences(tmp_path):
    """The way Blender itself loads the add-on (addon_utils, in a fresh process so its module
    reload sees an importable package): preferences exist under the package name and feed the panel."""
    pytest.importorskip("bpy")
    (tmp_path / "mayhem").symlink_to(ADDON, target_is_directory=True)
    run = subprocess.run([sys.executable, "-c", ADDON_MANAGER_SCRIPT, str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0 and "ADDON-OK" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]


class _Layout:
    """Stands in for UILayout when drawing panels without a window: every prop and operator the
    draw code names must exist, which is what breaks when a property is renamed."""

    def __init__(self, bpy, log):
        self._bpy, self.log = bpy, log

    def prop(self, data, name, **kw):
        assert name in data.bl_rna.properties, f"{type(data).__name__} has no property {name!r}"
        self.log.append(("prop", name))

    def operator(self, idname, **kw):
        category, name = idname.split(".")
        assert hasattr(self._bpy.types, f"{category.upper()}_OT_{name}"), idname
        self.log.append(("operator", idname))

    def label(self, **kw):
        self.log.append(("label", kw.get("text", "")))

    def separator(self, **kw):
        pass

    def column(self, **kw):
        return self

    row = box = split = column


def test_panels_draw_their_settings_and_operators(addon):
    bpy = addon
    s = bpy.context.scene.mayhem
    drawn = []
    for body_source, motion_source, environment in (("FREE", "BUILTIN", "city"), ("SMPLX", "AMASS", "SCENE")):
        s.body_source, s.motion_source, s.environment = body_source, motion_source, environment
        for cls in (bpy.types.VIEW3D_PT_mayhem, bpy.types.VIEW3D_PT_mayhem_body, bpy.types.VIEW3D_PT_mayhem_motion,
                    bpy.types.VIEW3D_PT_mayhem_clothing, bpy.types.VIEW3D_PT_mayhem_render):
            assert cls.bl_space_type == "VIEW_3D" and cls.bl_region_type == "UI" and cls.bl_category == "Mayhem"
            log = []
            fake = type("Panel", (), {"layout": _Layout(bpy, log), "settings_layout": cls.settings_layout})()
            cls.draw(fake, bpy.context)
            drawn.append((cls.__name__, log))
    ops = {entry[1] for _, log in drawn for entry in log if entry[0] == "operator"}
    assert ops == {"mayhem.add_body", "mayhem.load_motion", "mayhem.dress_body", "mayhem.undress_body",
                   "mayhem.render_dataset"}
    props = {entry[1] for _, log in drawn for entry in log if entry[0] == "prop"}
    assert {"model_path", "betas", "skin_tone", "builtin_motion", "amass_path", "resolution", "samples",
            "output_dir", "environment", "top", "bottom", "top_fabric", "looseness", "preroll"} <= props
    for name in ("VIEW3D_PT_mayhem_body", "VIEW3D_PT_mayhem_motion", "VIEW3D_PT_mayhem_clothing",
                 "VIEW3D_PT_mayhem_render"):
        assert getattr(bpy.types, name).bl_parent_id == "VIEW3D_PT_mayhem"


# ----------------------------------------------------------------------------- operators
def _bundled_motions() -> dict:
    from mayhem.core import assets

    return assets.builtin_motion_paths()


def _write_clip(path, frames=12, fps=30.0, seed=1, expression=True):
    """A small AMASS SMPL-X clip with every part moving (face, hands, expression, root)."""
    from mayhem.core.motion.amass import MotionClip, save_amass_smplx

    rng = np.random.default_rng(seed)
    F = frames
    clip = MotionClip(
        global_orient=np.tile([math.pi / 2, 0.0, 0.0], (F, 1)) + rng.normal(scale=0.05, size=(F, 3)),
        body_pose=rng.normal(scale=0.2, size=(F, 63)), jaw_pose=rng.normal(scale=0.1, size=(F, 3)),
        leye_pose=rng.normal(scale=0.05, size=(F, 3)), reye_pose=rng.normal(scale=0.05, size=(F, 3)),
        left_hand_pose=rng.normal(scale=0.2, size=(F, 45)), right_hand_pose=rng.normal(scale=0.2, size=(F, 45)),
        transl=np.cumsum(np.full((F, 3), 0.02), axis=0) + [1.0, 2.0, 0.0], betas=np.zeros(10),
        expression=rng.normal(size=(F, 10)) if expression else None, gender="neutral", fps=fps,
        source="test", source_format="smplx")
    save_amass_smplx(clip, path)
    return path


def _add_free_body(bpy, betas=(1.0, -0.5, 0.3, 0, 0, 0, 0, 0, 0, 0.2), tone=0.6):
    s = bpy.context.scene.mayhem
    s.body_source, s.gender, s.betas, s.skin_tone = "FREE", "neutral", betas, tone
    assert bpy.ops.mayhem.add_body() == {"FINISHED"}
    return bpy.context.active_object


def _fcurves(id_data):
    anim = id_data.animation_data
    bag = anim.action.layers[0].strips[0].channelbag(anim.action_slot)
    return list(bag.fcurves)


def test_add_body_builds_the_free_body_with_skin_and_properties(addon, free_body_path):
    from mayhem.core.body.model import load_body_model
    from mayhem.core.body.skeleton import JOINT_NAMES
    from mayhem.services.bodies import body_info, body_mesh

    bpy = addon
    bpy.context.scene.cursor.location = (0.5, -1.0, 0.0)
    arm = _add_free_body(bpy)
    assert arm.type == "ARMATURE"
    assert len(arm.data.bones) == 56 and arm.data.bones[0].name == "root"  # bones are listed depth first
    assert sorted(b.name for b in arm.data.bones) == sorted(["root", *JOINT_NAMES])
    assert tuple(arm.location) == pytest.approx((0.5, -1.0, 0.0))
    mesh = body_mesh(arm)
    model = load_body_model(free_body_path, gender="neutral")
    assert len(mesh.data.vertices) == model.num_vertices and len(mesh.data.polygons) == len(model.faces)
    assert mesh.active_material is not None and "skin" in mesh.active_material.name
    info = body_info(arm)
    assert info["model"] == "free" and info["gender"] == "neutral"
    assert info["betas"] == pytest.approx([1.0, -0.5, 0.3, 0, 0, 0, 0, 0, 0, 0.2])
    assert info["skin"]["tone"] == pytest.approx(0.6)
    # The bones sit on the shaped rest joints of the numpy model.
    rest = model.forward(betas=np.array(info["betas"]), return_vertices=False).rest_joints[0]
    heads = np.array([arm.data.bones[n].head_local for n in JOINT_NAMES])
    assert np.abs(heads - rest).max() < 1e-5
    # A second body gets its own names.
    arm2 = _add_free_body(bpy)
    assert arm2.name != arm.name and body_mesh(arm2).name != mesh.name


def test_add_body_from_an_smplx_file_and_a_bad_path(addon, smplx_npz):
    bpy = addon
    s = bpy.context.scene.mayhem
    s.body_source, s.model_path, s.gender = "SMPLX", str(smplx_npz), "female"
    assert bpy.ops.mayhem.add_body() == {"FINISHED"}
    arm = bpy.context.active_object
    assert arm["mayhem_model_ref"] == str(Path(smplx_npz).resolve()) and arm["mayhem_gender"] == "female"
    n_objects = len(bpy.data.objects)
    s.model_path = str(Path(smplx_npz).with_name("missing.npz"))
    with pytest.raises(RuntimeError, match="missing.npz"):
        bpy.ops.mayhem.add_body()
    assert len(bpy.data.objects) == n_objects


def test_load_motion_keys_a_bundled_clip(addon, free_body_path):
    from mayhem.core.motion.amass import load_amass

    clips = _bundled_motions()
    if not clips:
        pytest.skip("assets/motions has no bundled clips yet")
    bpy = addon
    scene = bpy.context.scene
    arm = _add_free_body(bpy)
    name = sorted(clips)[0]
    s = scene.mayhem
    s.motion_source, s.builtin_motion, s.start_frame = "BUILTIN", name, 0
    assert bpy.ops.mayhem.load_motion() == {"FINISHED"}
    fps = scene.render.fps / scene.render.fps_base
    n = load_amass(clips[name], target_fps=fps).num_frames
    assert (scene.frame_start, scene.frame_end) == (0, n - 1)
    curves = _fcurves(arm)
    assert len(curves) == 3 + 55 * 4  # root location + one quaternion per joint
    for fc in curves:
        assert len(fc.keyframe_points) == n
        assert fc.keyframe_points[0].co[0] == 0 and fc.keyframe_points[-1].co[0] == n - 1
    motion = json.loads(arm["mayhem_motion"])
    assert motion["ref"] == f"builtin:{name}" and motion["frames"] == n
    # The body stands on the ground: its lowest point over the clip is at z = 0.
    from mayhem.scene.body.rig import evaluated_vertices
    from mayhem.services.bodies import body_mesh

    low = []
    for f in range(0, n, max(1, n // 20)):
        scene.frame_set(f)
        low.append(evaluated_vertices(body_mesh(arm), bpy.context.evaluated_depsgraph_get())[:, 2].min())
    assert -1e-4 < min(low) < 0.02


def test_load_motion_needs_a_selected_body(addon, tmp_path):
    bpy = addon
    s = bpy.context.scene.mayhem
    s.motion_source, s.amass_path = "AMASS", str(_write_clip(tmp_path / "clip.npz"))
    assert not bpy.ops.mayhem.load_motion.poll()
    with pytest.raises(RuntimeError):
        bpy.ops.mayhem.load_motion()


def test_scene_recipe_reproduces_blenders_mesh_and_camera(addon, free_body_path, tmp_path):
    """What the labels are computed from (the recipe) matches what Blender renders: every vertex
    on every frame, with the body moved and turned after loading, a clip that starts after the
    render range begins and ends before it ends, and a rolled, animated camera."""
    import bpy_extras
    import mathutils

    from mayhem.core.camera.pinhole import project
    from mayhem.core.dataset.labels import camera_per_frame
    from mayhem.core.recipe import person_params, posed_vertices
    from mayhem.scene.body.rig import evaluated_vertices
    from mayhem.services.bodies import body_mesh
    from mayhem.services.scene_dataset import _cache_for, scene_recipe

    bpy = addon
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    arm = _add_free_body(bpy)
    s = scene.mayhem
    s.motion_source, s.amass_path, s.start_frame = "AMASS", str(_write_clip(tmp_path / "clip.npz")), 3
    assert bpy.ops.mayhem.load_motion() == {"FINISHED"}
    assert (scene.frame_start, scene.frame_end) == (3, 14)
    arm.location = (1.0, 2.0, 0.1)
    arm.rotation_euler = (0.0, 0.0, 0.7)
    cam_data = bpy.data.cameras.new("cam")
    cam_data.lens = 35.0
    cam = bpy.data.objects.new("cam", cam_data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    cam.location = (1.0, -4.0, 1.5)
    cam.rotation_euler = (1.45, 0.1, 0.05)
    cam.keyframe_insert("location", frame=1)  # a two-key camera move, not a motion: fine to key directly
    cam.location = (1.5, -3.5, 1.4)
    cam.keyframe_insert("location", frame=16)
    scene.frame_start, scene.frame_end = 1, 16

    roots = {}
    recipe = scene_recipe(scene, width=160, height=90, roots=roots)
    assert recipe.camera.kind == "path" and recipe.people[0].motion.start_frame == -2
    cache = _cache_for(recipe.people, roots)
    model, params, _ = person_params(recipe.people[0], recipe.frames, recipe.fps, cache)
    verts = posed_vertices(model, params)
    K, w2c = camera_per_frame(recipe)
    vert_err, pix_err = 0.0, 0.0
    for k in range(recipe.frames):
        scene.frame_set(scene.frame_start + k)
        blender = evaluated_vertices(body_mesh(arm), bpy.context.evaluated_depsgraph_get())
        vert_err = max(vert_err, float(np.abs(blender - verts[k]).max()))
        sample = verts[k][::97]
        uv, _ = project(sample, K[k], w2c[k])
        ndc = np.array([tuple(bpy_extras.object_utils.world_to_camera_view(scene, cam, mathutils.Vector(p)))
                        for p in sample])
        pix = np.stack([ndc[:, 0] * 160 - 0.5, (1.0 - ndc[:, 1]) * 90 - 0.5], axis=1)
        pix_err = max(pix_err, float(np.abs(pix - uv).max()))
    assert vert_err < 1e-5, vert_err  # metres; Blender keys and vertices are float32
    assert pix_err < 1e-3, pix_err

    # A tilt is not something a recipe placement can express: refused with the object's name.
    arm.rotation_euler = (0.3, 0.0, 0.7)
    from mayhem.core.errors import MayhemInputError

    with pytest.raises(MayhemInputError, match=arm.name):
        scene_recipe(scene, width=160, height=90)


def test_render_dataset_writes_a_sequence_of_the_scene(addon, free_body_path, tmp_path):
    from mayhem.core.io.exr import read_depth_exr
    from mayhem.core.io.png import read_png
    from mayhem.services.bodies import body_mesh

    bpy = addon
    scene = bpy.context.scene
    arm = _add_free_body(bpy)
    s = scene.mayhem
    clips = _bundled_motions()
    if clips:
        s.motion_source, s.builtin_motion = "BUILTIN", sorted(clips)[0]
    else:
        s.motion_source, s.amass_path = "AMASS", str(_write_clip(tmp_path / "clip.npz", expression=False))
    assert bpy.ops.mayhem.load_motion() == {"FINISHED"}
    scene.frame_start, scene.frame_end = 0, 1
    out = tmp_path / "dataset"
    s.output_dir, s.resolution, s.samples, s.environment = str(out), (W, H), 4, "city"
    user_resolution = (scene.render.resolution_x, scene.render.resolution_y)
    mesh = body_mesh(arm)
    mesh.pass_index = 7
    assert scene.camera is None

    assert bpy.ops.mayhem.render_dataset() == {"FINISHED"}

    # The user's scene is as it was, plus the framing camera it lacked.
    assert [sc.name for sc in bpy.data.scenes] == [scene.name]
    assert (scene.render.resolution_x, scene.render.resolution_y) == user_resolution
    assert mesh.pass_index == 7 and scene.world is None
    assert scene.camera is not None and scene.camera.name == "mayhem_camera"

    seq = out / "seq_000000"
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json", "seq_000000"]
    for k in range(2):
        rgb = read_png(seq / "rgb" / f"{k:06d}.png")
        assert rgb.shape == (H, W, 3) and rgb.dtype == np.uint8 and rgb.std() > 1.0
    masks = np.stack([read_png(seq / "mask" / f"{k:06d}.png") for k in range(2)])
    depth = np.stack([read_depth_exr(seq / "depth" / f"{k:06d}.exr") for k in range(2)])
    assert masks.dtype == np.uint16 and set(np.unique(masks)) == {0, 1}
    assert np.all(np.isfinite(depth[masks == 1])) and np.all(depth[masks == 1] > 0)
    labels = np.load(seq / "labels.npz")
    for key in CONTRACT_KEYS:
        assert key in labels.files, key
    assert labels["joints2d"].shape == (2, 1, 55, 2) and labels["body_pose"].shape == (2, 1, 63)
    assert list(labels["model"]) == ["free"] and list(labels["instance_id"]) == [1]
    assert labels["betas"][0] == pytest.approx([1.0, -0.5, 0.3, 0, 0, 0, 0, 0, 0, 0.2], abs=1e-6)
    # Pixels and labels agree: the body's mask lies inside its projected bounding box.
    for k in range(2):
        x0, y0, x1, y1 = labels["bbox"][k, 0]
        rows, cols = np.nonzero(masks[k] == 1)
        assert len(rows) > 20
        inside = (cols >= x0 - 1) & (cols <= x1 + 1) & (rows >= y0 - 1) & (rows <= y1 + 1)
        assert inside.mean() > 0.99
    recipe = json.loads((seq / "scene.json").read_text())
    assert recipe["people"][0]["object"] == arm.name and recipe["world"]["hdri"] == "builtin:city"
    doc = json.loads((out / "dataset.json").read_text())
    assert doc["format_version"] == 1 and [e["name"] for e in doc["sequences"]] == ["seq_000000"]
    assert doc["sequences"][0]["status"] == "done" and doc["sequences"][0]["frames"] == 2

    # Rendering again adds the next sequence; the scene's own world works too.
    s.environment = "SCENE"
    assert bpy.ops.mayhem.render_dataset() == {"FINISHED"}
    doc = json.loads((out / "dataset.json").read_text())
    assert [e["name"] for e in doc["sequences"]] == ["seq_000000", "seq_000001"]
    assert json.loads((out / "seq_000001" / "scene.json").read_text())["world"]["kind"] == "scene"
    assert not list(out.glob(".*partial"))


def test_render_dataset_refuses_a_body_without_motion(addon, free_body_path, tmp_path):
    bpy = addon
    _add_free_body(bpy)
    s = bpy.context.scene.mayhem
    s.output_dir = str(tmp_path / "out")
    with pytest.raises(RuntimeError, match="no motion"):
        bpy.ops.mayhem.render_dataset()
    assert not (tmp_path / "out" / "seq_000000").exists()


def _short_walk(path, frames=8):
    """The first frames of the bundled walk as an AMASS SMPL-X file (a gentle motion for cloth)."""
    from mayhem.core.motion.amass import MotionClip, load_amass, save_amass_smplx

    clip = load_amass(_bundled_motions()["walk_straight"], target_fps=30)
    keys = ("global_orient", "body_pose", "jaw_pose", "leye_pose", "reye_pose", "left_hand_pose", "right_hand_pose",
            "transl")
    short = MotionClip(**{k: getattr(clip, k)[:frames] for k in keys}, betas=np.zeros(10), expression=None,
                       gender="neutral", fps=30.0, source="test", source_format="smplx")
    save_amass_smplx(short, path)
    return path


def test_dress_body_simulates_garments_and_renders_clothing_masks(addon, free_body_path, tmp_path):
    from mayhem.core.io.png import read_png
    from mayhem.services.bodies import body_mesh
    from mayhem.services.clothing import garment_objects

    bpy = addon
    scene = bpy.context.scene
    arm = _add_free_body(bpy)
    scene.render.fps, scene.render.fps_base = 30, 1.0
    s = scene.mayhem
    s.motion_source, s.amass_path = "AMASS", str(_short_walk(tmp_path / "walk.npz"))
    assert bpy.ops.mayhem.load_motion() == {"FINISHED"}
    assert (scene.frame_start, scene.frame_end) == (0, 7)
    s.top, s.bottom, s.top_fabric, s.bottom_fabric = "tshirt", "shorts", "cotton", "denim"
    s.garment_vertices, s.preroll, s.look_seed = 700, 6, 3

    assert bpy.ops.mayhem.dress_body() == {"FINISHED"}
    garments = garment_objects(arm)
    assert sorted(o.name for o in garments) == sorted([f"{body_mesh(arm).name}_shorts", f"{body_mesh(arm).name}_tshirt"])
    outfit = json.loads(arm["mayhem_outfit"])
    assert [r["status"] for r in outfit["outcome"]] and all(
        r["status"] in ("simulated", "retried", "fallback") for r in outfit["outcome"])
    # The motion moved past the pre-roll: first frame at 1 + 6, range follows.
    assert (scene.frame_start, scene.frame_end) == (7, 14)
    assert json.loads(arm["mayhem_motion"])["frame_start"] == 7

    out = tmp_path / "dataset"
    s.output_dir, s.resolution, s.samples, s.environment = str(out), (W, H), 4, "city"
    scene.frame_end = 8
    assert bpy.ops.mayhem.render_dataset() == {"FINISHED"}
    seq = out / "seq_000000"
    for k in range(2):
        person = read_png(seq / "mask" / f"{k:06d}.png")
        body = read_png(seq / "mask_body" / f"{k:06d}.png")
        cloth = read_png(seq / "mask_clothing" / f"{k:06d}.png")
        assert (cloth == 1).sum() > 20 and (body == 1).sum() > 20
        assert np.array_equal((body == 1) | (cloth == 1), person == 1)
        assert not np.any((body == 1) & (cloth == 1))

    # Undress removes the garments and the body's collision modifier; dressing again works.
    assert bpy.ops.mayhem.undress_body() == {"FINISHED"}
    assert not garment_objects(arm) and "mayhem_outfit" not in arm
    assert not [m for m in body_mesh(arm).modifiers if m.type == "COLLISION"]


def test_panel_defaults_and_choices_come_from_their_owners(addon):
    """The panel offers what a config file gets: the same defaults and the same choices."""
    from mayhem.core.body.skeleton import GENDERS
    from mayhem.core.clothing.fabrics import FABRICS, ClothSettings
    from mayhem.core.clothing.garments import BOTTOM_KINDS, DEFAULT_TARGET_VERTICES, TOP_KINDS, GarmentSpec
    from mayhem.core.config import Config
    from mayhem.ui.properties import MayhemSceneSettings

    props = MayhemSceneSettings.bl_rna.properties
    config, cloth = Config(), ClothSettings()
    assert props["cloth_quality"].default == cloth.quality and props["preroll"].default == cloth.preroll
    assert props["garment_vertices"].default == DEFAULT_TARGET_VERTICES
    assert props["looseness"].default == pytest.approx(GarmentSpec("tshirt").looseness)
    assert props["samples"].default == config.render.samples
    assert list(props["resolution"].default_array) == config.camera.resolution
    assert props["shadow_catcher"].default == config.world.shadow_catcher
    assert [i.identifier for i in props["gender"].enum_items] == list(GENDERS)
    assert [i.identifier for i in props["top"].enum_items] == ["NONE", *TOP_KINDS, "dress"]
    assert [i.identifier for i in props["bottom"].enum_items] == ["NONE", *BOTTOM_KINDS]
    assert [i.identifier for i in props["top_fabric"].enum_items] == list(FABRICS)
