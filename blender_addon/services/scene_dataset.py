"""Render the open scene (bodies made with the add-on, the scene camera) into the dataset format.

The service behind the add-on's "Render Dataset" operator. It does not resample anything: it
describes what the user built as a recipe (each body's model, betas, skin, motion reference and
placement from the properties the body and motion services stored; the camera's per-frame
matrices read from Blender), renders the scene's frame range with the same render/pass code as
`mayhem generate`, and computes labels from that recipe with the numpy body model, so they are
exact. Bodies may be moved and turned about the vertical axis after loading a motion; any
other change to a body (tilting it, editing its keys) is either refused or not seen by labels.

Rendering happens in a temporary linked copy of the scene, so the user's render settings,
compositor and world are left as they were.
"""
from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import bpy
import numpy as np

from ..core import assets
from ..core import recipe_types as rt
from ..core.camera.pinhole import look_at, world_to_cam_from_blender
from ..core.config import RenderConfig
from ..core.dataset.documents import add_dataset_entry
from ..core.dataset.frames import write_sequence_outputs
from ..core.dataset.layout import PASSES_DIR, next_sequence_index, sequence_name
from ..core.dataset.staging import staged_sequence
from ..core.errors import MayhemInputError
from ..core.recipe import AssetCache, person_model_file
from .bodies import body_info, body_mesh, get_model, scene_bodies
from .motions import motion_info, scene_fps

log = logging.getLogger("mayhem.scene_dataset")

TOLERANCE = 1e-5  # matrices: what counts as "no tilt", "unit scale", "constant"
# The camera added when the scene has none: a 50 mm lens at eye height, aimed at hip height.
FRAMING = {"focal_mm": 50.0, "sensor_width_mm": 36.0, "distance_m": 4.0, "height_m": 1.4, "target_height_m": 0.9}


# ----------------------------------------------------------------------------- recipe parts
def _placement(arm, motion: dict) -> rt.Placement:
    """The body's recipe placement: the motion's own, then the armature object's transform,
    which must be a turn about Z plus a shift (what the recipe's yaw + offset can express)."""
    M = np.array(arm.matrix_world, dtype=np.float64)
    R, t = M[:3, :3], M[:3, 3]
    yaw = math.atan2(R[1, 0], R[0, 0])
    c, s = math.cos(yaw), math.sin(yaw)
    Rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    if not np.allclose(R, Rz, atol=TOLERANCE):
        raise MayhemInputError(arm.name, "transform", "bodies may only be moved and turned about the vertical (Z) "
                                                      "axis; clear its other rotation and scale (Alt+R, Alt+S)")
    mesh = body_mesh(arm)
    if not np.allclose(np.array(mesh.matrix_world), M, atol=TOLERANCE):
        raise MayhemInputError(mesh.name, "transform", "the body mesh was moved away from its armature; "
                                                       "clear its transform (Alt+G, Alt+R, Alt+S) and move the armature instead")
    anim = arm.animation_data
    if anim is not None and anim.action is not None:
        moved = [fc.data_path for fc in _fcurves(arm) if not fc.data_path.startswith("pose.")]
        if moved:
            raise MayhemInputError(arm.name, moved[0], "the armature object itself is animated; labels follow "
                                                       "only the loaded motion, so remove the object keys")
    p = motion["placement"]
    d0 = np.array([p["x"], p["y"], p["z"]], dtype=np.float64)
    d = Rz @ d0 + t
    return rt.Placement(x=float(d[0]), y=float(d[1]), z=float(d[2]), yaw_rad=float(p["yaw_rad"]) + yaw)


def _fcurves(id_data):
    """All F-curves of an ID's assigned action slot (slotted actions, Blender 4.4+)."""
    anim = id_data.animation_data
    if anim is None or anim.action is None:
        return []
    slot = anim.action_slot
    out = []
    for layer in anim.action.layers:
        for strip in layer.strips:
            bag = strip.channelbag(slot) if slot is not None else None
            if bag is not None:
                out.extend(bag.fcurves)
    return out


def scene_people(scene, roots: dict | None = None) -> list[rt.PersonRecipe]:
    """Recipe people for the renderable bodies of `scene` (sorted by armature name). User files
    are referenced under `roots` (core.assets.ref_under_roots adds a root for a file outside them)."""
    roots = {} if roots is None else roots
    fps = scene_fps(scene)
    people = []
    for arm in scene_bodies(scene, renderable_only=True):
        info = body_info(arm)
        motion = motion_info(arm)
        if motion is None:
            raise MayhemInputError(arm.name, "motion", "this body has no motion; load one (Load Motion) or "
                                                       "hide it from renders")
        if abs(float(motion["fps"]) - fps) > 1e-6:
            raise MayhemInputError(arm.name, "motion.fps", f"the motion was keyed at {motion['fps']:g} fps but the scene "
                                                           f"runs at {fps:g} fps; load the motion again")
        p = len(people)
        model = info["model"] if info["model"] == "free" else info["model_path"]
        people.append(rt.PersonRecipe(
            id=p, instance_id=p + 1, object=arm.name, gender=info["gender"], model=assets.asset_ref(model, roots),
            betas=info["betas"], skin=rt.from_json(rt.Skin, info["skin"], arm.name, "skin"),
            # Blender frame scene.frame_start is clip frame frame_start - motion start; both
            # Blender's constant extrapolation and clip_window hold the end poses outside the clip.
            motion=rt.MotionRef(ref=assets.asset_ref(motion["ref"], roots),
                             start_frame=int(scene.frame_start) - int(motion["frame_start"])),
            placement=_placement(arm, motion)))
    if not people:
        raise MayhemInputError(scene.name, "bodies", "the scene has no Mayhem body to render; add one with Add Body")
    return people


def _sensor_width(cam_data, width: int, height: int) -> float:
    """Width of the sensor that spans the image width (what core.camera.pinhole.intrinsics expects)."""
    fit = cam_data.sensor_fit
    if fit == "HORIZONTAL" or (fit == "AUTO" and width >= height):
        return float(cam_data.sensor_width)
    if fit == "AUTO":  # portrait: the sensor width spans the image height
        return float(cam_data.sensor_width) * width / height
    return float(cam_data.sensor_height) * width / height


def _is_animated(obj) -> bool:
    """Whether obj's world matrix may change with the frame (keys, drivers, parents, constraints)."""
    while obj is not None:
        anim = obj.animation_data
        if anim is not None and (anim.action is not None or len(anim.drivers) or len(anim.nla_tracks)):
            return True
        if len(obj.constraints):
            return True
        obj = obj.parent
    return False


def scene_camera_entry(scene, width: int, height: int) -> rt.CameraRecipe:
    """Recipe camera for the scene camera over the frame range: focal, sensor, world_to_cam per frame."""
    cam = scene.camera
    if cam is None or cam.type != "CAMERA":
        raise MayhemInputError(scene.name, "camera", "the scene has no camera")
    data = cam.data
    if data.type != "PERSP":
        raise MayhemInputError(cam.name, "type", f"only perspective cameras are supported, not {data.type}")
    if abs(data.shift_x) > 1e-9 or abs(data.shift_y) > 1e-9:
        raise MayhemInputError(cam.name, "shift", "lens shift is not supported by the label intrinsics; set it to 0")
    frames = range(int(scene.frame_start), int(scene.frame_end) + 1)
    per_frame = _is_animated(cam) or (data.animation_data is not None)
    current = scene.frame_current
    mats, lenses = [], []
    try:
        for f in (frames if per_frame else frames[:1]):
            if per_frame:
                scene.frame_set(f)
            M = np.array(cam.matrix_world, dtype=np.float64)
            M[:3, :3] /= np.linalg.norm(M[:3, :3], axis=0, keepdims=True)  # Blender ignores camera scale
            mats.append(world_to_cam_from_blender(M))
            lenses.append(float(data.lens))
    finally:
        if per_frame:
            scene.frame_set(current)
    if max(lenses) - min(lenses) > TOLERANCE:
        raise MayhemInputError(cam.name, "lens", "the focal length changes over the frame range; labels support a fixed focal length")
    if not per_frame:
        mats = mats * len(frames)
    w2c = np.stack(mats)
    static = bool(np.allclose(w2c, w2c[:1], atol=TOLERANCE))
    return rt.CameraRecipe(kind="static" if static else "path", focal_mm=lenses[0],
                        sensor_width_mm=_sensor_width(data, width, height),
                        world_to_cam=[float(v) for v in w2c.reshape(-1)], details={"object": cam.name})


def scene_recipe(scene=None, *, width: int = 320, height: int = 180, samples: int = 16, name: str = "seq_000000",
                 index: int = 0, world: dict | None = None, device: str = "auto", roots: dict | None = None) -> rt.Recipe:
    """The recipe of what `scene` renders over its frame range (see the module docstring).

    `world`: None keeps the scene's own world (recorded as kind 'scene': it is not rebuilt from
    scene.json), or {'hdri': 'builtin:NAME' or a file, 'strength', 'rotation_rad', 'shadow_catcher'}.
    `roots`: asset roots (name -> folder) user files are referenced under; roots added for files
    outside them are added to this mapping, which then resolves the recipe (AssetCache.roots).
    """
    roots = {} if roots is None else roots
    if bpy.data.filepath:
        roots.setdefault("blend", Path(bpy.data.filepath).resolve().parent)
    scene = scene or bpy.context.scene
    # matrix_world is only refreshed by a depsgraph update: objects moved from Python since the
    # last one would otherwise be read where they were.
    scene.view_layers[0].update()
    if int(width) < 8 or int(height) < 8:
        raise MayhemInputError(None, "resolution", f"{width}x{height}: width and height must be at least 8 pixels")
    frames = int(scene.frame_end) - int(scene.frame_start) + 1
    if frames < 1:
        raise MayhemInputError(scene.name, "frame_range", "the scene's end frame is before its start frame")
    if world is None:
        world_entry = rt.WorldRecipe(kind="scene", name=scene.world.name if scene.world else None)
    else:
        hdri = str(world["hdri"])
        world_entry = rt.WorldRecipe(kind="hdri", hdri=assets.asset_ref(hdri, roots),
                                  strength=float(world.get("strength", 1.0)),
                                  rotation_rad=float(world.get("rotation_rad", 0.0)),
                                  shadow_catcher=bool(world.get("shadow_catcher", True)))
    render = RenderConfig(device=device, samples=int(samples), adaptive_threshold=0.05, denoise=True,
                          persistent_data=True, threads=0)
    return rt.Recipe(recipe_version=rt.RECIPE_VERSION, source="blender_scene",
                  blend_file=Path(bpy.data.filepath).name if bpy.data.filepath else None, scene=scene.name,
                  blender_frame_start=int(scene.frame_start), name=name, index=int(index), seed=int(index),
                  global_seed=None, frames=frames, fps=scene_fps(scene), image=rt.ImageSize(int(width), int(height)),
                  people=scene_people(scene, roots), people_dropped=0, world=world_entry, render=render,
                  camera=scene_camera_entry(scene, int(width), int(height)))


def add_framing_camera(scene, width: int, height: int, cache: AssetCache | None = None):
    """A static camera in front of the bodies (their mean facing direction), at eye height 1.4 m,
    pulled back until every vertex of every body stays in the image on every frame. Made the
    scene camera; the user can move it afterwards (the render reads whatever camera is set)."""
    from ..core.body.posing import facing_yaw
    from ..core.camera.pinhole import intrinsics, project
    from ..core.recipe import person_params, posed_vertices
    from ..scene.camera.objects import create_camera

    scene.view_layers[0].update()
    frames = int(scene.frame_end) - int(scene.frame_start) + 1
    roots = {}
    people = scene_people(scene, roots)
    cache = cache or _cache_for(people, roots)
    points, headings = [], []
    for person in people:
        model, params, _ = person_params(person, frames, scene_fps(scene), cache)
        points.append(posed_vertices(model, params)[:, ::7].reshape(-1, 3))
        headings.append(facing_yaw(params["global_orient"][0]))
    pts = np.concatenate(points)
    centre = (pts.min(0) + pts.max(0)) / 2.0
    heading = math.atan2(np.mean(np.sin(headings)), np.mean(np.cos(headings)))
    direction = np.array([math.cos(heading), math.sin(heading), 0.0])
    target = np.array([centre[0], centre[1], FRAMING["target_height_m"]])
    K = intrinsics(FRAMING["focal_mm"], FRAMING["sensor_width_mm"], width, height)
    distance = FRAMING["distance_m"]
    for _ in range(80):
        eye = target + distance * direction
        eye[2] = FRAMING["height_m"]
        w2c = look_at(eye, target)
        uv, depth = project(pts, K, w2c)
        if np.all((depth > 0.1) & (uv[:, 0] >= 0) & (uv[:, 0] <= width - 1) & (uv[:, 1] >= 0) & (uv[:, 1] <= height - 1)):
            break
        distance *= 1.1
    return create_camera("mayhem_camera", FRAMING["focal_mm"], FRAMING["sensor_width_mm"], w2c, scene=scene)


def _cache_for(people: list[rt.PersonRecipe], roots: dict) -> AssetCache:
    """An AssetCache on `roots`, pre-filled with the models the body service already loaded."""
    cache = AssetCache(roots=dict(roots))
    for p in people:
        path = person_model_file(p, cache.roots)
        cache.models[(path, p.gender)] = get_model(path, p.gender)
    return cache


# ---------------------------------------------------------------------------------- output
def _render_frames(scene, recipe: rt.Recipe, roots: dict, rgb_dir: Path, pass_dir: Path, progress) -> tuple[list, str]:
    """Render the recipe's frames of `scene` in a temporary linked copy; [(rgb, passes)], device."""
    from ..scene.render import clothing_pass_index, configure_cycles, configure_passes, render_animation
    from ..scene.sequence import resolve_hdri
    from ..scene.world.hdri import add_shadow_catcher, hdri_strength, setup_hdri_world
    from .clothing import garment_objects
    from .progress import frame_progress

    first = int(scene.frame_start)
    # Object pass indices are shared with the user's scene: bodies get their instance ids and
    # everything else 0, for this render only.
    saved_index = {o.name: o.pass_index for o in scene.objects}
    instance = {body_mesh(scene.objects[p.object]).name: p.instance_id for p in recipe.people}
    for p in recipe.people:  # garments of "Dress Body": the person mask, and the clothing mask
        for obj in garment_objects(scene.objects[p.object]):
            instance[obj.name] = clothing_pass_index(p.instance_id)
    render_scene = scene.copy()  # linked copy: same objects; its own settings, compositor and world slot
    render_scene.name = f"mayhem_render_{recipe.name}"
    extra_ids = []
    try:
        for o in scene.objects:
            o.pass_index = instance.get(o.name, 0)
        w = recipe.world
        if w.kind == "hdri":
            render_scene.world = None  # a new world for the copy; the user's stays untouched
            hdri = resolve_hdri(w.hdri, roots)  # strength as build_scene computes it, so scene.json rebuilds alike
            extra_ids.append(setup_hdri_world(render_scene, hdri, hdri_strength(w, hdri), w.rotation_rad))
            if w.shadow_catcher:
                ground = add_shadow_catcher(name="mayhem_render_ground", scene=render_scene)
                extra_ids += [ground, ground.data]
        r = recipe.render
        device = configure_cycles(render_scene, width=recipe.image.width, height=recipe.image.height,
                                  samples=r.samples, adaptive_threshold=r.adaptive_threshold,
                                  denoise=r.denoise, persistent_data=r.persistent_data, seed=recipe.seed,
                                  device=r.device, threads=r.threads)
        configure_passes(render_scene, pass_dir)
        frames = render_animation(render_scene, first, first + recipe.frames - 1, rgb_dir, pass_dir,
                                  progress=frame_progress(recipe.name, recipe.frames, progress))
    finally:
        for name, value in saved_index.items():
            if name in scene.objects:
                scene.objects[name].pass_index = value
        bpy.data.scenes.remove(render_scene)
        for id_ in extra_ids:
            {"OBJECT": bpy.data.objects, "MESH": bpy.data.meshes, "WORLD": bpy.data.worlds}[id_.id_type].remove(id_)
    return frames, device


def _clothing_outcome(recipe: rt.Recipe) -> list[dict]:
    """Outcome records of the garments "Dress Body" simulated, renumbered to the recipe's people."""
    from .clothing import PROP_OUTFIT

    records = []
    for p in recipe.people:
        raw = bpy.data.objects[p.object].get(PROP_OUTFIT)
        if raw:
            records += [{**r, "person": p.id} for r in json.loads(raw).get("outcome", [])]
    return records


def _write_outputs(tmp: Path, frames: list, recipe: rt.Recipe, cache: AssetCache) -> None:
    """The sequence's files, exactly as the batch worker writes them (core.dataset); garments put
    on by "Dress Body" are clothing, any other object of the scene is not part of a person."""
    write_sequence_outputs(tmp, frames, recipe, cache, _clothing_outcome(recipe))


def render_scene_dataset(out_dir, *, scene=None, width: int = 320, height: int = 180, samples: int = 16,
                         world: dict | None = None, device: str = "auto", progress=True, roots: dict | None = None) -> dict:
    """Render the scene's frame range into OUT/seq_NNNNNN/ (the next free number) and add it to
    OUT/dataset.json; returns the dataset.json entry plus 'path'. Adds a framing camera when the
    scene has none. `progress`: True (text bar on stderr), False, or a callable(done, total).
    `roots`: asset roots user files are referenced under (e.g. the add-on preferences' folders).
    """
    roots = dict(roots or {})
    scene = scene or bpy.context.scene
    out_dir = Path(out_dir).expanduser()
    if scene.camera is None:
        add_framing_camera(scene, width, height)
    out_dir.mkdir(parents=True, exist_ok=True)
    index = next_sequence_index(out_dir)
    recipe = scene_recipe(scene, width=width, height=height, samples=samples, name=sequence_name(index),
                          index=index, world=world, device=device, roots=roots)
    cache = _cache_for(recipe.people, roots)
    timings = {}
    with staged_sequence(out_dir, recipe.name) as tmp:
        t0 = time.perf_counter()
        frames, device_used = _render_frames(scene, recipe, roots, tmp / "rgb", tmp / PASSES_DIR, progress)
        timings["render_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        _write_outputs(tmp, frames, recipe, cache)
        timings["labels_s"] = time.perf_counter() - t0
    entry = {"name": recipe.name, "status": "done", "frames": recipe.frames, "people": len(recipe.people),
             "device": device_used, "source": "blender_scene",
             "timings": {k: round(v, 3) for k, v in timings.items()}}
    add_dataset_entry(out_dir, entry, source="blender_scene")
    return {**entry, "path": str(out_dir / recipe.name)}
