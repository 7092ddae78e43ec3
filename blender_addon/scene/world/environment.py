"""Mesh environments in Blender: the built-in procedural room and courtyard, user scene files
loaded without running their scripts, and the summary (walkable floor) that placement needs.

Built-in layouts come from core.world.rooms.builtin_layout(name, seed): this module only turns
their boxes and quads into objects, procedural materials and lights, so the analytic summary
core computes from the same parts describes exactly what renders. Their walls and ceilings are
single-sided and every built-in material turns transparent to *camera* rays that hit a back
face ("cut-away" walls): a camera outside the room, or inside a pillar, sees the people, while
light and shadow rays still see closed walls. Fully transparent hits write neither depth nor
object index (Cycles' pass alpha threshold), so labels see the same geometry as the pixels.

User scenes (.blend, .gltf/.glb, .fbx, .usd/.usda/.usdc/.usdz) load into a collection named
ENV_COLLECTION. A .blend is *appended* (bpy.data.libraries.load, link=False: its first scene's
objects; the scene itself, its compositor and scripts are dropped), Python auto-execution is
switched off first, Text datablocks that came along are deleted, and drivers whose expression
needs Python are removed, so nothing in a downloaded file can run code. Every environment object
gets pass_index 0 (background in the instance mask).

`prepare_scene(FILE)` is the one-off step for user scenes (`mayhem prepare-scene FILE`): it loads
the file, extracts world-space triangles and writes FILE.mayhem.npz (core.world.environment).
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import bpy
import numpy as np

from ...core.assets import resolve_ref
from ...core.errors import MayhemInputError
from ...core.world import environment as cenv
from ...core.world.rooms import builtin_layout, part_mesh
from ...core.world.scene_summary import file_sha256, save_summary, summarize_triangles, summary_paths
from .. import blender_compat as compat

log = logging.getLogger("mayhem.environment")

ENV_COLLECTION = "mayhem_environment"
ROLE_PROPERTY = "mayhem_role"


# ---------------------------------------------------------------------------- materials
def _cutaway(tree, shader_out):
    """shader -> Mix(shader, Transparent) by Backfacing AND Is Camera Ray: back faces vanish for
    the camera only."""
    n, links = tree.nodes, tree.links
    geo = n.new("ShaderNodeNewGeometry")
    path = n.new("ShaderNodeLightPath")
    both = n.new("ShaderNodeMath")
    both.operation = "MULTIPLY"
    links.new(geo.outputs["Backfacing"], both.inputs[0])
    links.new(path.outputs["Is Camera Ray"], both.inputs[1])
    clear = n.new("ShaderNodeBsdfTransparent")
    mix = n.new("ShaderNodeMixShader")
    links.new(both.outputs[0], mix.inputs["Fac"])
    links.new(shader_out, mix.inputs[1])
    links.new(clear.outputs[0], mix.inputs[2])
    return mix.outputs[0]


def _ramp_between(tree, fac_socket, c0, c1):
    ramp = tree.nodes.new("ShaderNodeValToRGB")
    ramp.color_ramp.elements[0].color = (*c0, 1.0)
    ramp.color_ramp.elements[1].color = (*c1, 1.0)
    tree.links.new(fac_socket, ramp.inputs["Fac"])
    return ramp.outputs["Color"]


def procedural_material(name: str, spec: dict):
    """A procedural material of a layout's kind (wood, plaster, tiles, paving, concrete, stone,
    grass, fabric, metal, soil) in world-space coordinates, with cut-away back faces."""
    mat = bpy.data.materials.new(name)
    compat.enable_nodes(mat)
    tree = mat.node_tree
    nodes, links = tree.nodes, tree.links
    nodes.clear()
    out = nodes.new("ShaderNodeOutputMaterial")
    bsdf = nodes.new("ShaderNodeBsdfPrincipled")
    coord = nodes.new("ShaderNodeTexCoord")
    vec = coord.outputs["Object"]  # environment objects sit at the identity: object = world
    kind = spec["kind"]
    color = np.asarray(spec["color"], dtype=np.float64)
    dark, light = tuple(np.clip(color * 0.7, 0, 1)), tuple(np.clip(color * 1.15, 0, 1))
    rough = {"metal": 0.35, "tiles": 0.25, "wood": 0.55, "fabric": 0.9, "grass": 0.95, "soil": 1.0}.get(kind, 0.8)
    bsdf.inputs["Roughness"].default_value = rough
    if kind == "metal":
        bsdf.inputs["Metallic"].default_value = 1.0
    if kind in ("tiles", "paving"):
        brick = nodes.new("ShaderNodeTexBrick")
        brick.offset = 0.5 if kind == "paving" else 0.0
        brick.inputs["Scale"].default_value = 1.6 if kind == "tiles" else 2.5
        brick.inputs["Mortar Size"].default_value = 0.01
        brick.inputs["Brick Width"].default_value = 0.5
        brick.inputs["Row Height"].default_value = 0.5 if kind == "tiles" else 0.25
        brick.inputs["Color1"].default_value = (*light, 1.0)
        brick.inputs["Color2"].default_value = (*dark, 1.0)
        brick.inputs["Mortar"].default_value = (*np.clip(color * 0.45, 0, 1), 1.0)
        links.new(vec, brick.inputs["Vector"])
        links.new(brick.outputs["Color"], bsdf.inputs["Base Color"])
    elif kind == "wood":
        wave = nodes.new("ShaderNodeTexWave")
        wave.wave_type = "RINGS"
        wave.inputs["Scale"].default_value = 3.0
        wave.inputs["Distortion"].default_value = 6.0
        wave.inputs["Detail"].default_value = 3.0
        links.new(vec, wave.inputs["Vector"])
        links.new(_ramp_between(tree, wave.outputs["Fac"], dark, light), bsdf.inputs["Base Color"])
    else:
        noise = nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = {"grass": 40.0, "fabric": 60.0, "soil": 30.0, "stone": 8.0}.get(kind, 4.0)
        noise.inputs["Detail"].default_value = 6.0
        links.new(vec, noise.inputs["Vector"])
        spread = {"plaster": 0.92, "concrete": 0.8, "metal": 0.95}.get(kind, 0.7)
        links.new(_ramp_between(tree, noise.outputs["Fac"], tuple(np.clip(color * spread, 0, 1)),
                                tuple(np.clip(color / spread, 0, 1))), bsdf.inputs["Base Color"])
    links.new(_cutaway(tree, bsdf.outputs["BSDF"]), out.inputs["Surface"])
    return mat


# ----------------------------------------------------------------------------- built-in
def _env_collection(scene):
    coll = bpy.data.collections.get(ENV_COLLECTION)
    if coll is None:
        coll = bpy.data.collections.new(ENV_COLLECTION)
    if coll.name not in scene.collection.children:
        scene.collection.children.link(coll)
    return coll


def build_builtin(layout: dict, scene=None) -> list:
    """Objects, materials and lights of a core.world.rooms.builtin_layout."""
    scene = scene or bpy.context.scene
    coll = _env_collection(scene)
    mats = {key: procedural_material(f"env_{layout['name']}_{key}", spec) for key, spec in layout["materials"].items()}
    objects = []
    for part in layout["parts"]:
        verts, faces = part_mesh(part)
        mesh = bpy.data.meshes.new(part["name"])
        mesh.from_pydata(verts.tolist(), [], faces)
        mesh.update()
        mesh.materials.append(mats[part["material"]])
        obj = bpy.data.objects.new(part["name"], mesh)
        obj[ROLE_PROPERTY] = part["role"]
        obj.pass_index = 0
        coll.objects.link(obj)
        objects.append(obj)
    for k, spec in enumerate(layout["lights"]):
        light = bpy.data.lights.new(f"env_light_{k}", type=spec["type"])
        light.color = spec["color"]
        obj = bpy.data.objects.new(f"env_light_{k}", light)
        if spec["type"] == "AREA":
            light.shape = "SQUARE"
            light.size = spec["size"]
            light.energy = spec["power_w"]
            obj.location = spec["location"]  # area lights shine down their local -Z
        else:  # SUN: local -Z points away from the sun's direction
            from mathutils import Vector

            el, az = math.radians(spec["elevation_deg"]), math.radians(spec["azimuth_deg"])
            towards_sun = Vector((math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)))
            obj.rotation_euler = towards_sun.to_track_quat("Z", "Y").to_euler()
            light.energy = spec["strength"]
            light.angle = math.radians(spec["angle_deg"])
        obj.visible_camera = False
        obj.pass_index = 0
        coll.objects.link(obj)
        objects.append(obj)
    return objects


# --------------------------------------------------------------------------- user files
def _id_collections():
    """bpy.data's per-type ID collections, without the UI's (window managers, screens, workspaces)."""
    for name, coll in compat.id_collections():
        if name not in ("window_managers", "screens", "workspaces"):
            yield coll


def _all_ids() -> set:
    return {(type(i).__name__, i.session_uid) for c in _id_collections() for i in c if isinstance(i, bpy.types.ID)}


def _new_ids(before: set) -> list:
    return [i for c in _id_collections() for i in c
            if isinstance(i, bpy.types.ID) and (type(i).__name__, i.session_uid) not in before]


def _neutralise_scripts(ids) -> dict:
    """Delete Text datablocks and drivers that need Python among freshly loaded IDs.

    Simple driver expressions (arithmetic on variables) are evaluated by Blender without Python
    and stay; anything else would run arbitrary code whenever auto-execution is on."""
    removed = {"texts": 0, "drivers": 0}
    for id_ in ids:
        if isinstance(id_, bpy.types.Text):
            continue
        owners = [id_] + [t for t in (getattr(id_, "node_tree", None),) if t is not None]
        for owner in owners:
            anim = getattr(owner, "animation_data", None)
            if anim is None:
                continue
            for fc in list(anim.drivers):
                drv = fc.driver
                if drv.type == "SCRIPTED" and not drv.is_simple_expression:
                    anim.drivers.remove(fc)
                    removed["drivers"] += 1
    for id_ in ids:
        if isinstance(id_, bpy.types.Text):
            bpy.data.texts.remove(id_)
            removed["texts"] += 1
    return removed


def _renderable_objects(src_scene) -> set:
    """Objects of a scene whose collections are neither excluded from its first view layer nor
    hidden for rendering."""
    out = set()

    def walk(layer_coll):
        if layer_coll.exclude or layer_coll.collection.hide_render:
            return
        out.update(layer_coll.collection.objects)
        for child in layer_coll.children:
            walk(child)

    if src_scene.view_layers:
        walk(src_scene.view_layers[0].layer_collection)
    else:
        out.update(src_scene.objects)
    return out


def _append_blend(path: Path, coll) -> None:
    with bpy.data.libraries.load(str(path), link=False) as (src, dst):
        if src.scenes:
            dst.scenes = [src.scenes[0]]
        else:
            dst.objects = list(src.objects)
    if dst.scenes:
        src_scene = dst.scenes[0]
        visible = _renderable_objects(src_scene)
        for obj in list(src_scene.objects):
            coll.objects.link(obj)
            if obj not in visible:
                obj.hide_render = True
        bpy.data.scenes.remove(src_scene)
    else:
        for obj in dst.objects:
            if obj is not None:
                coll.objects.link(obj)


def _import_with_operator(path: Path, coll, scene) -> None:
    suffix = path.suffix.lower()
    view_layer = scene.view_layers[0]
    view_layer.active_layer_collection = next(lc for lc in view_layer.layer_collection.children
                                              if lc.collection == coll)
    with bpy.context.temp_override(scene=scene, view_layer=view_layer):
        if suffix in (".gltf", ".glb"):
            result = bpy.ops.import_scene.gltf(filepath=str(path))
        elif suffix == ".fbx":
            result = bpy.ops.import_scene.fbx(filepath=str(path))
        else:
            result = bpy.ops.wm.usd_import(filepath=str(path))
    if "FINISHED" not in result:
        raise RuntimeError(f"importer returned {result}")


def load_scene_file(path, scene=None, field: str = "world.scenes") -> list:
    """Load a user scene into ENV_COLLECTION without running any of its code; returns its objects."""
    scene = scene or bpy.context.scene
    path = Path(path)
    if not path.is_file():
        raise MayhemInputError(path, field, "scene file not found")
    suffix = path.suffix.lower()
    if suffix not in cenv.SCENE_SUFFIXES:
        raise MayhemInputError(path, field, f"unsupported scene format {suffix!r} (use {', '.join(cenv.SCENE_SUFFIXES)})")
    # Registered Text blocks and Python drivers only run with auto-execution on; keep it off.
    bpy.context.preferences.filepaths.use_scripts_auto_execute = False
    coll = _env_collection(scene)
    before = _all_ids()
    try:
        if suffix == ".blend":
            _append_blend(path, coll)
        else:
            _import_with_operator(path, coll, scene)
    except (RuntimeError, OSError) as exc:
        raise MayhemInputError(path, field, f"could not load the scene ({str(exc).strip().splitlines()[-1] if str(exc).strip() else exc})") from None
    new = _new_ids(before)
    removed = _neutralise_scripts(new)
    if removed["texts"] or removed["drivers"]:
        log.info("%s: removed %d text block(s) and %d Python driver(s)", path.name, removed["texts"], removed["drivers"])
    objects = [i for i in new if isinstance(i, bpy.types.Object)]
    for obj in [o for o in objects if o.type == "CAMERA"]:  # the sequence brings its own camera
        objects.remove(obj)
        bpy.data.objects.remove(obj)
    for obj in objects:
        obj.pass_index = 0
        if obj.name not in coll.objects and not obj.users_collection:
            coll.objects.link(obj)
    return objects


# ------------------------------------------------------------------------------ summary
def extract_triangles(scene=None, objects=None) -> tuple[np.ndarray, np.ndarray]:
    """World-space triangles (T, 3, 3) and role codes of every renderable mesh-like object
    (instances and modifiers evaluated), optionally only those whose original is in `objects`."""
    scene = scene or bpy.context.scene
    wanted = None if objects is None else {o.name for o in objects}
    for obj in scene.objects:  # the viewport depsgraph skips viewport-hidden objects
        if not obj.hide_render and obj.hide_viewport:
            obj.hide_viewport = False
    depsgraph = bpy.context.evaluated_depsgraph_get()
    depsgraph.update()
    tris, roles = [], []
    for inst in depsgraph.object_instances:
        obj = inst.object
        original = obj.original
        owner = inst.parent.original if inst.is_instance and inst.parent is not None else original
        if original.hide_render or owner.hide_render:
            continue
        if wanted is not None and original.name not in wanted and owner.name not in wanted:
            continue
        if obj.type not in ("MESH", "CURVE", "SURFACE", "FONT", "META"):
            continue
        role = str(original.get(ROLE_PROPERTY, owner.get(ROLE_PROPERTY, "auto")))
        if role not in cenv.ROLE_CODES:
            raise MayhemInputError(original.name, ROLE_PROPERTY, f"unknown role {role!r} (use {', '.join(cenv.ROLES)})")
        try:
            mesh = obj.to_mesh()
        except RuntimeError:
            continue
        try:
            mesh.calc_loop_triangles()
            n = len(mesh.loop_triangles)
            if n == 0:
                continue
            idx = np.empty(n * 3, dtype=np.int32)
            mesh.loop_triangles.foreach_get("vertices", idx)
            co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
            mesh.vertices.foreach_get("co", co)
        finally:
            obj.to_mesh_clear()
        M = np.array(inst.matrix_world, dtype=np.float64)
        world = co.reshape(-1, 3).astype(np.float64) @ M[:3, :3].T + M[:3, 3]
        t = world[idx.reshape(-1, 3)]
        if np.linalg.det(M[:3, :3]) < 0:  # mirrored: keep normals pointing outwards
            t = t[:, [0, 2, 1]]
        tris.append(t)
        roles.append(np.full(n, cenv.ROLE_CODES[role], np.int64))
    if not tris:
        return np.zeros((0, 3, 3)), np.zeros(0, np.int64)
    return np.concatenate(tris), np.concatenate(roles)


def summarize_scene(scene=None, objects=None, *, ref: str = "<scene>", sha256: str | None = None, **params) -> cenv.Environment:
    """Environment summary (core.world.environment) of the scene's geometry."""
    tris, roles = extract_triangles(scene, objects)
    if len(tris) == 0:
        raise MayhemInputError(ref, "floor", "the scene has no mesh geometry")
    return summarize_triangles(tris, roles, ref=ref, sha256=sha256, **params)


def prepare_scene(path, out=None, *, use_cache: bool = False, **params) -> tuple[Path, cenv.Environment]:
    """The one-off step that makes a user scene usable for sampling without Blender: load it
    safely into an empty Blender, summarise its walkable floor and write the summary to `out`,
    else FILE.mayhem.npz next to it (or the cache folder when use_cache). Returns (path, env)."""
    from ..reset import reset_blender

    path = Path(path).expanduser().resolve()
    reset_blender()
    objects = load_scene_file(path, bpy.context.scene, field="scene")
    env = summarize_scene(bpy.context.scene, objects, ref=str(path), sha256=file_sha256(path), **params)
    if out is None:
        out = summary_paths(path)[1 if use_cache else 0]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_summary(out, env)
    log.info("%s: walkable floor %.1f m^2 at ground z = %.2f m (%d x %d cells of %.2f m) -> %s",
             path.name, env.walkable_area_m2, env.ground_z, env.shape[1], env.shape[0], env.cell, out)
    return out, env


def raycast_vertical(scene, xy, z_from: float, up: bool = False, distance: float = 1e3) -> tuple[np.ndarray, np.ndarray]:
    """(z, normal_z) of the first surface below (or above, with up) each point (N, 2) from
    height z_from, by Blender's own ray caster (NaN where nothing is hit): an independent check
    of summaries."""
    from mathutils import Vector

    depsgraph = bpy.context.evaluated_depsgraph_get()
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    z = np.full(len(xy), np.nan)
    nz = np.full(len(xy), np.nan)
    direction = Vector((0.0, 0.0, 1.0 if up else -1.0))
    for k, (x, y) in enumerate(xy):
        hit, loc, normal, _, _, _ = scene.ray_cast(depsgraph, Vector((x, y, z_from)), direction, distance=distance)
        if hit:
            z[k], nz[k] = loc.z, normal.z
    return z, nz


# ------------------------------------------------------------------------------- sequence
def build_environment(world, scene=None, roots=None) -> list:
    """The mesh environment of a recipe's world (core.recipe_types.WorldRecipe; the HDRI is set
    up by the caller). `roots` resolve a user scene file's ROOT:path reference."""
    scene = scene or bpy.context.scene
    ref = world.scene
    if ref.startswith(cenv.BUILTIN_PREFIX):
        layout = builtin_layout(ref[len(cenv.BUILTIN_PREFIX):], int(world.layout_seed))
        return build_builtin(layout, scene)
    path = resolve_ref(ref, roots, "world.scene")
    if not path.is_file():
        raise MayhemInputError(path, "world.scene", "scene file not found")
    expected = world.scene_sha256
    if expected and file_sha256(path) != expected:
        raise MayhemInputError(path, "world.scene_sha256", "the scene file changed after the recipe was sampled; "
                                                           "prepare it again and resample")
    return load_scene_file(path, scene, field="world.scene")
