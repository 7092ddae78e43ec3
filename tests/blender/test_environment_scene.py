"""scene.world.environment in Blender: built-in room/courtyard match their analytic summaries, user
scenes load without running their scripts, occlusion by scene objects reaches joints_visible,
and mesh-scene sequences render with masks that match the labelled meshes."""
from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mayhem.core.camera.pinhole import project
from mayhem.core.config import config_from_dict
from mayhem.core.recipe_types import WorldRecipe
from mayhem.core.world import rooms as E
from mayhem.core.world.environment import ROLES, STEP_M, floor_height, is_clear
from mayhem.core.world.scene_summary import file_sha256, load_scene_summary, summarize_triangles

ROOT = Path(__file__).resolve().parents[2]
W, H = 160, 90


# ------------------------------------------------------------------------------ built-in
@pytest.mark.parametrize("name,seed", [("room", 0), ("room", 7), ("courtyard", 0), ("courtyard", 7)])
def test_builtin_scene_matches_analytic_summary(fresh_blender, name, seed):
    from mayhem.scene.world import environment as SE

    bpy = fresh_blender
    env = E.builtin_environment(name, seed)
    objects = SE.build_builtin(env.layout, bpy.context.scene)
    assert all(o.pass_index == 0 for o in objects)
    assert {o.get("mayhem_role") for o in objects if o.type == "MESH"} <= set(ROLES)

    # 1. the triangles Blender holds give the same summary as core's analytic one
    from_bpy = SE.summarize_scene(bpy.context.scene, ref=name)
    assert from_bpy.shape == env.shape and from_bpy.ground_z == 0.0
    np.testing.assert_allclose(from_bpy.origin, env.origin, atol=1e-9)
    np.testing.assert_array_equal(np.isfinite(from_bpy.height), np.isfinite(env.height))

    # 2. Blender's own ray caster agrees at every cell centre: down from 1.95 m, walkable cells
    #    see bare floor; every blocked cell inside the walls sees an obstacle top, or looking up
    #    from 1 cm sees a face from behind (inside a solid), or borders such a cell
    #    (conservative rasterisation of obstacle edges)
    X, Y = env.cell_centres()
    hx, hy = env.layout["half_extent"]
    interior = (np.abs(X) < hx - 0.1) & (np.abs(Y) < hy - 0.1)
    xy = np.stack([X[interior], Y[interior]], 1)
    z, nz = SE.raycast_vertical(bpy.context.scene, xy, 1.95)
    z_up, nz_up = SE.raycast_vertical(bpy.context.scene, xy, 0.01, up=True)
    walkable = np.isfinite(env.height[interior])
    assert np.all(np.abs(z[walkable]) < 1e-5) and np.all(nz[walkable] > 0.999)
    assert not np.any(nz_up[walkable] > 0)  # nothing but the ceiling (or sky) above them
    seen = np.zeros(env.shape, bool)
    seen[interior] = (z > STEP_M) | (nz_up > 0)
    assert seen.sum() > 20
    near = seen.copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near |= np.roll(np.roll(seen, dy, 0), dx, 1)
    blocked = ~np.isfinite(env.height) & interior
    assert np.all(near[blocked]), f"{(~near & blocked).sum()} blocked cells without an obstacle"
    assert np.all(~np.isfinite(env.height[seen]))


# ---------------------------------------------------------------------------- user files
def _make_user_scene(bpy, with_camera=True):
    """Floor 8 x 6 m, a 1 m crate at (1.5, 0.5), a wall segment; returns its triangles."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    parts = [{"quad": [[-4, -3, 0], [4, -3, 0], [4, 3, 0], [-4, 3, 0]]},
             {"box": [1.0, 0.0, 0.0, 2.0, 1.0, 1.0]},
             {"box": [-2.0, -3.0, 0.0, -1.8, -1.0, 2.5]}]
    tris = []
    for k, part in enumerate(parts):
        v, faces = E.part_mesh(part)
        mesh = bpy.data.meshes.new(f"part{k}")
        mesh.from_pydata(v.tolist(), [], faces)
        obj = bpy.data.objects.new(f"part{k}", mesh)
        obj.pass_index = 7  # must come back as 0 (background)
        scene.collection.objects.link(obj)
        tris += [v[[f[0], f[i], f[i + 1]]] for f in faces for i in (1, 2)]
    if with_camera:
        cam = bpy.data.objects.new("their_camera", bpy.data.cameras.new("their_camera"))
        scene.collection.objects.link(cam)
    return np.array(tris)


@pytest.mark.parametrize("suffix", [".glb", ".fbx", ".usdc"])
def test_user_scene_formats_load_and_summarise(fresh_blender, tmp_path, suffix, monkeypatch):
    from mayhem.scene.world import environment as SE

    bpy = fresh_blender
    monkeypatch.setenv("MAYHEM_CACHE", str(tmp_path / "cache"))
    tris = _make_user_scene(bpy)
    path = tmp_path / f"yard{suffix}"
    if suffix == ".glb":
        bpy.ops.export_scene.gltf(filepath=str(path), export_format="GLB")
    elif suffix == ".fbx":
        bpy.ops.export_scene.fbx(filepath=str(path))
    else:
        bpy.ops.wm.usd_export(filepath=str(path))
    expected = summarize_triangles(tris)

    out, env = SE.prepare_scene(path)
    assert out == path.with_name(path.name + ".mayhem.npz") and out.is_file()
    assert env.shape == expected.shape and env.ground_z == 0.0
    mismatch = np.isfinite(env.height) != np.isfinite(expected.height)
    assert mismatch.sum() == 0, f"{mismatch.sum()} cells differ"
    env_objects = bpy.data.collections[SE.ENV_COLLECTION].all_objects
    assert len(env_objects) >= 3 and all(o.pass_index == 0 for o in env_objects)
    assert not [o for o in bpy.data.objects if o.type == "CAMERA"]
    loaded = load_scene_summary(path)
    np.testing.assert_array_equal(loaded.height, env.height)
    assert np.isnan(floor_height(loaded, [(1.5, 0.5)])[0])
    assert floor_height(loaded, [(0.0, -1.0)])[0] == pytest.approx(0.0, abs=1e-5)  # FBX axes: float noise


def test_user_scene_places_people_clear_of_obstacles(fresh_blender, tmp_path, free_body_path):
    """Sampling (no Blender needed) reads the prepared summary: people avoid the crate and wall."""
    from mayhem.core.recipe import AssetCache, person_params, posed_vertices, sample_recipe
    from mayhem.core.world.placement import swept_footprint
    from mayhem.scene.world import environment as SE

    bpy = fresh_blender
    _make_user_scene(bpy)
    path = tmp_path / "yard.glb"
    bpy.ops.export_scene.gltf(filepath=str(path), export_format="GLB")
    SE.prepare_scene(path)
    config = config_from_dict({"seed": 2, "frames": 4, "body": {"model": "free"}, "people": {"count": [3, 3]},
                               "world": {"mesh_probability": 1.0, "scenes": [str(path)]}})
    cache = AssetCache()
    recipe = sample_recipe(config, 0, cache=cache)
    assert recipe.world.scene == "world.scenes[0]:yard.glb"  # relative to its config field's folder
    assert recipe.world.scene_sha256 == file_sha256(path)
    env = load_scene_summary(path)
    for person in recipe.people:
        model, params, _ = person_params(person, recipe.frames, recipe.fps, cache)
        fp = swept_footprint(posed_vertices(model, params), np.zeros(2)).points
        assert is_clear(env, fp, 0.1)
    assert len(recipe.people) >= 2


EVIL = textwrap.dedent("""
    import bpy, os, sys
    out = sys.argv[-1]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    def add(name, verts, faces, coll):
        mesh = bpy.data.meshes.new(name)
        mesh.from_pydata(verts, [], faces)
        obj = bpy.data.objects.new(name, mesh)
        coll.objects.link(obj)
        return obj
    floor = add("floor", [(-3, -3, 0), (3, -3, 0), (3, 3, 0), (-3, 3, 0)], [(0, 1, 2, 3)], scene.collection)
    # a driver that creates a marker file when Python evaluates it
    fc = floor.driver_add("location", 2)
    fc.driver.type = "SCRIPTED"
    fc.driver.expression = "__import__('pathlib').Path(%r).touch() or 0.0" % (out + ".driver")
    ok = floor.driver_add("location", 1)  # a simple expression: evaluated without Python, kept
    ok.driver.type = "SCRIPTED"
    ok.driver.expression = "0.0 * 2"
    # a Text block registered to run at file load
    text = bpy.data.texts.new("startup.py")
    text.write("import pathlib\\npathlib.Path(%r).touch()\\n" % (out + ".text"))
    text.use_module = True
    hidden = bpy.data.collections.new("excluded")
    scene.collection.children.link(hidden)
    add("excluded_box", [(0, 0, 0), (1, 0, 0), (1, 1, 0)], [(0, 1, 2)], hidden)
    bpy.context.view_layer.layer_collection.children["excluded"].exclude = True
    bpy.ops.wm.save_as_mainfile(filepath=out)
    sys.stdout.flush()
    os._exit(0)  # bpy 4.5 can hang at exit after saving a failing Python driver
""")

NAIVE = textwrap.dedent("""
    import bpy, os, sys
    bpy.context.preferences.filepaths.use_scripts_auto_execute = True
    bpy.ops.wm.open_mainfile(filepath=sys.argv[-1])
    bpy.context.scene.frame_set(3)
    sys.stdout.flush()
    os._exit(0)
""")


def _run(code, *args):
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]


def test_blend_scripts_never_run(fresh_blender, tmp_path):
    from mayhem.scene.world import environment as SE

    bpy = fresh_blender
    blend = tmp_path / "evil.blend"
    _run(EVIL, str(blend))
    markers = [Path(str(blend) + ".driver"), Path(str(blend) + ".text")]
    # Control: opened the ordinary way with auto-run on, the file does run its code.
    _run(NAIVE, str(blend))
    assert all(m.exists() for m in markers)
    for m in markers:
        m.unlink()

    bpy.context.preferences.filepaths.use_scripts_auto_execute = True  # a user who trusts everything
    objects = SE.load_scene_file(blend, bpy.context.scene)
    scene = bpy.context.scene
    for frame in (1, 2, 3):
        scene.frame_set(frame)
        bpy.context.view_layer.update()
    SE.summarize_scene(scene, objects, ref=str(blend))
    assert not any(m.exists() for m in markers)
    assert len(bpy.data.texts) == 0
    assert bpy.context.preferences.filepaths.use_scripts_auto_execute is False
    floor = bpy.data.objects["floor"]
    drivers = floor.animation_data.drivers
    assert [d.driver.expression for d in drivers] == ["0.0 * 2"]  # the Python one is gone
    assert bpy.data.objects["excluded_box"].hide_render
    assert {o.name for o in objects} == {"floor", "excluded_box"} and len(bpy.data.scenes) == 1
    assert all(o.pass_index == 0 for o in objects)


def test_missing_or_bad_scene_file(fresh_blender, tmp_path):
    from mayhem.core.errors import MayhemInputError
    from mayhem.scene.world import environment as SE

    with pytest.raises(MayhemInputError, match="scene file not found"):
        SE.load_scene_file(tmp_path / "nope.glb")
    bad = tmp_path / "broken.glb"
    bad.write_bytes(b"not a gltf")
    with pytest.raises(MayhemInputError, match="broken.glb: world.scenes: could not load"):
        SE.load_scene_file(bad)


# ------------------------------------------------------------------------------ renders
def _base_config(motion_folder, **over):
    data = {"seed": 11, "frames": 2, "body": {"model": "free"}, "motion": {"source": str(motion_folder)},
            "people": {"count": [2, 2], "area_radius_m": 1.0},
            "appearance": {"bald_probability": 1.0, "barefoot_probability": 1.0},  # the mask is the body alone
            "clothing": {"probability": 0.0},
            "camera": {"resolution": [W, H], "focal_mm": [35, 35]},
            "render": {"samples": 4, "denoise": False}}
    data.update(over)
    return config_from_dict(data)


def _segment_hits_box(p0, p1, lo, hi):
    """Whether the segments p0 -> p1 (N, 3) cross the axis-aligned box [lo, hi] (slab test)."""
    d = p1 - p0
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = (lo - p0) / d
        t1 = (hi - p0) / d
    tmin = np.nanmax(np.minimum(t0, t1), axis=1)
    tmax = np.nanmin(np.maximum(t0, t1), axis=1)
    return (tmax >= np.maximum(tmin, 0)) & (tmin <= 1)


def test_joints_behind_a_scene_object_are_not_visible(fresh_blender, tmp_path, motion_folder, free_body_path):
    """A crate between the camera and a person hides the joints behind it (rendered-depth test
    in core.dataset.labels); without the crate the same joints are visible."""
    from mayhem.core.recipe import AssetCache, person_params, sample_recipe
    from mayhem.core.recipe_types import CameraRecipe
    from mayhem.services.generate import render_sequence

    bpy = fresh_blender
    cache = AssetCache()
    recipe = sample_recipe(_base_config(motion_folder, frames=1, people={"count": [1, 1]}), 0, cache=cache)
    person = recipe.people[0]
    person.placement.yaw_rad = 0.0
    _, params, rest = person_params(person, 1, recipe.fps, cache)
    pelvis = params["transl"][0] + rest[0]
    person.placement.x -= pelvis[0]  # pelvis over the origin
    person.placement.y -= pelvis[1]
    eye, target = np.array([0.0, -5.0, 1.2]), np.array([0.0, 0.0, 0.9])
    recipe.camera = CameraRecipe(kind="static", focal_mm=30.0, sensor_width_mm=36.0, eye=eye.tolist(),
                                 target=target.tolist())

    # a user scene: floor and a 2 m wide, 1.1 m tall crate half-way to the camera
    bpy.ops.wm.read_factory_settings(use_empty=True)
    lo, hi = np.array([-1.0, -2.6, 0.0]), np.array([1.0, -2.2, 1.1])
    for name, part in (("floor", {"quad": [[-6, -6, 0], [6, -6, 0], [6, 6, 0], [-6, 6, 0]]}),
                       ("crate", {"box": [*lo, *hi]})):
        v, faces = E.part_mesh(part)
        mesh = bpy.data.meshes.new(name)
        mesh.from_pydata(v.tolist(), [], faces)
        bpy.context.scene.collection.objects.link(bpy.data.objects.new(name, mesh))
    glb = tmp_path / "crate.glb"
    bpy.ops.export_scene.gltf(filepath=str(glb), export_format="GLB")

    visible = {}
    for kind in ("hdri", "mesh"):
        rec = copy.deepcopy(recipe)
        rec.name = f"seq_{kind}"
        if kind == "mesh":
            cache.roots["test.scenes"] = tmp_path
            rec.world = dataclasses.replace(rec.world, kind="mesh", scene="test.scenes:crate.glb",
                                            scene_sha256=file_sha256(glb), shadow_catcher=False)
        render_sequence(rec, tmp_path / "out", cache, progress=False)
        with np.load(tmp_path / "out" / rec.name / "labels.npz") as z:
            visible[kind] = z["joints_visible"][0, 0]
            w2c, joints_cam = z["world_to_cam"][0], z["joints3d_cam"][0, 0].astype(np.float64)
    joints = (np.linalg.inv(w2c) @ np.c_[joints_cam, np.ones(len(joints_cam))].T).T[:, :3]
    eyes = np.repeat(eye[None], len(joints), 0)
    margin = np.array([0.05, 0.0, 0.05])  # ~3 px at the crate: no joint grazes its edge
    behind = _segment_hits_box(eyes, joints, lo + margin, hi - margin)
    clear = ~_segment_hits_box(eyes, joints, lo - margin, hi + margin)
    assert behind.sum() >= 8  # pelvis, hips, knees, ankles, feet, hands...
    assert not visible["mesh"][behind].any(), np.flatnonzero(visible["mesh"][behind])
    assert visible["hdri"][behind].sum() >= 8  # the same joints are seen without the crate
    np.testing.assert_array_equal(visible["mesh"][clear], visible["hdri"][clear])  # nothing else changed
    assert visible["mesh"][15] and clear[15]  # the head, above the crate


def _clip_near(tri_cam, near=0.05):
    """Triangles (camera frame) clipped to z >= near (Sutherland-Hodgman, one plane)."""
    out = []
    for tri in tri_cam:
        inside = tri[:, 2] >= near
        if inside.all():
            out.append(tri)
            continue
        if not inside.any():
            continue
        poly = []
        for k in range(3):
            a, b = tri[k], tri[(k + 1) % 3]
            if a[2] >= near:
                poly.append(a)
            if (a[2] >= near) != (b[2] >= near):
                t = (near - a[2]) / (b[2] - a[2])
                poly.append(a + t * (b - a))
        for k in range(1, len(poly) - 1):
            out.append(np.array([poly[0], poly[k], poly[k + 1]]))
    return np.array(out).reshape(-1, 3, 3)


def _environment_raster_mesh(layout, K, w2c, eye):
    """(uv, faces, z) of the layout's triangles the camera sees from the front (back faces are
    see-through for camera rays), clipped at the near plane."""
    tris, _ = E.layout_triangles(layout)
    n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    front = np.einsum("ij,ij->i", n, eye - tris[:, 0]) > 0
    tris = tris[front]
    cam = tris @ w2c[:3, :3].T + w2c[:3, 3]
    cam = _clip_near(cam)
    pts = cam.reshape(-1, 3)
    uv = pts @ K.T
    uv = uv[:, :2] / uv[:, 2:3]
    return uv, np.arange(len(pts)).reshape(-1, 3), pts[:, 2]


@pytest.fixture(scope="module")
def mesh_dataset(tmp_path_factory, motion_folder, free_body_path):
    from mayhem.services.batch import BatchOptions, generate

    out = tmp_path_factory.mktemp("mesh") / "ds"
    config = _base_config(motion_folder, sequences=2, seed=3,
                          world={"mesh_probability": 1.0, "scenes": ["builtin:room", "builtin:courtyard"]})
    summary = generate(config, out, BatchOptions(progress=False))
    assert summary["failed"] == 0, summary
    return out


def test_mesh_scene_sequences_masks_match_labels(mesh_dataset, motion_folder):
    """Rendered masks vs the z-buffered labelled SMPL-X meshes together with the environment's
    own triangles: IoU >= 0.98 for every person the scene does not occlude, on every frame."""
    from mayhem.core.geometry.raster import mask_iou, rasterize_ids
    from mayhem.core.io.png import read_png
    from mayhem.core.recipe import AssetCache, person_params, posed_vertices
    from mayhem.core.recipe_types import recipe_from_json

    cache = AssetCache(roots={"motion.source": motion_folder})  # the roots the batch's config named
    scenes, checked, occluded = set(), 0, 0
    for seq in sorted(mesh_dataset.glob("seq_*")):
        recipe = recipe_from_json(json.loads((seq / "scene.json").read_text()))
        world = recipe.world
        assert world.kind == "mesh"
        scenes.add(world.scene)
        layout = E.builtin_layout(world.scene.split(":")[1], world.layout_seed)
        with np.load(seq / "labels.npz") as z:
            labels = {k: z[k] for k in z.files}
        meshes = []
        for p, person in enumerate(recipe.people):
            model, params, _ = person_params(person, recipe.frames, recipe.fps, cache)
            meshes.append((model.faces, posed_vertices(model, params), int(labels["instance_id"][p])))
        for f in range(recipe.frames):
            K, w2c = labels["K"][f], labels["world_to_cam"][f]
            eye = -w2c[:3, :3].T @ w2c[:3, 3]
            people = [(*project(v[f], K, w2c), faces, inst) for faces, v, inst in meshes]
            people = [(uv, faces, z, inst) for uv, z, faces, inst in people]
            alone = rasterize_ids(people, W, H)
            env_uv, env_faces, env_z = _environment_raster_mesh(layout, K, w2c, eye)
            scene_ids = rasterize_ids(people + [(env_uv, env_faces, env_z, 65000)], W, H)
            rendered = read_png(seq / "mask" / f"{f:06d}.png")
            for _, _, _, inst in people:
                if (alone == inst).sum() == 0:
                    continue
                if (scene_ids == inst).sum() < (alone == inst).sum():
                    occluded += 1
                    continue
                checked += 1
                assert mask_iou(alone == inst, rendered == inst) >= 0.98, (seq.name, f, inst)
    assert scenes == {"builtin:room", "builtin:courtyard"}
    assert checked >= 4, (checked, occluded)


# --------------------------------------------------------------------------------- HDRIs
def test_hdri_upper_hemisphere_luminance_and_strength(fresh_blender):
    from mayhem.scene.world import hdri as world

    found = world.builtin_hdris()
    measured = {name: world.hdri_upper_luminance(found[name]) for name in ("city", "night", "studio", "sunset")}
    assert measured == pytest.approx({"city": 1.638, "night": 0.282, "studio": 1.372, "sunset": 0.808}, abs=2e-3)
    city = found["city"]
    assert world.hdri_strength(WorldRecipe(strength=1.5, exposure_ev=1.0, normalize=True), city) == pytest.approx(3.0 / measured["city"])
    assert world.hdri_strength(WorldRecipe(strength=1.5, exposure_ev=-1.0), city) == pytest.approx(0.75)
    assert world.hdri_strength(WorldRecipe(strength=1.2, rotation_rad=0.0), city) == 1.2  # recipes before exposure fields


def _grey_sphere_brightness(bpy, hdri, strength):
    """Mean linear value of a diffuse albedo-0.5 sphere standing on a shadow catcher, seen from
    4 sides (48 x 48 px, 8 samples)."""
    import mathutils

    from mayhem.scene import blender_compat as compat
    from mayhem.scene.world import hdri as world

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.5, location=(0, 0, 0.5))
    mat = bpy.data.materials.new("grey")
    bsdf = compat.enable_nodes(mat).nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (0.5, 0.5, 0.5, 1)
    bsdf.inputs["Roughness"].default_value = 1.0
    bpy.context.object.data.materials.append(mat)
    world.add_shadow_catcher(scene=scene)
    world.setup_hdri_world(scene, hdri, strength, 0.0)
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    cam.data.lens = 80
    scene.collection.objects.link(cam)
    scene.camera = cam
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 8
    scene.cycles.use_denoising = False
    scene.render.use_persistent_data = True
    scene.render.resolution_x = scene.render.resolution_y = 48
    values = []
    for az in np.linspace(0, 2 * np.pi, 4, endpoint=False):
        cam.location = (3 * np.cos(az), 3 * np.sin(az), 0.8)
        cam.rotation_euler = (mathutils.Vector((0, 0, 0.5)) - cam.location).to_track_quat("-Z", "Y").to_euler()
        bpy.ops.render.render()
        result = bpy.data.images["Render Result"]
        path = Path(bpy.app.tempdir) / "sphere.exr"
        scene.render.image_settings.file_format = "OPEN_EXR"
        result.save_render(str(path))
        img = bpy.data.images.load(str(path))
        px = np.empty(48 * 48 * 4, np.float32)
        img.pixels.foreach_get(px)
        bpy.data.images.remove(img)
        values.append(px.reshape(48, 48, 4)[18:30, 18:30, :3].mean())
    return float(np.mean(values))


def test_normalised_hdris_light_bodies_equally(fresh_blender):
    from mayhem.scene.world import hdri as world

    bpy = fresh_blender
    found = world.builtin_hdris()
    strength = {n: world.hdri_strength(WorldRecipe(normalize=True), found[n]) for n in ("city", "night")}
    norm = {n: _grey_sphere_brightness(bpy, found[n], strength[n]) for n in ("city", "night")}
    raw = {n: norm[n] / strength[n] for n in norm}  # Cycles is linear in the world strength
    assert raw["city"] / raw["night"] > 4.0
    assert 0.75 < norm["city"] / norm["night"] < 1.33
    assert 0.35 < norm["city"] < 0.6  # albedo 0.5 under unit upper-hemisphere luminance
