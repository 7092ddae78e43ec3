"""Build one sequence's Blender scene from its recipe.

The recipe already holds every random draw; this module only turns it into Blender data:
world, ground, bodies (with motion, skin, hair, shoes and clothing), camera and render
settings. The add-on's "render to dataset" operator and the batch CLI both call `build_scene`.

Timeline: sequence frame k is Blender frame ``k + BuiltScene.frame_offset``. The offset is 0
unless someone wears simulated clothing; then every body, the camera and the frame range move
past the cloth pre-roll (scene/clothing/dressing.py), and the garments are simulated and baked here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import bpy

from ..core import assets
from ..core.dataset.labels import camera_per_frame
from ..core.dataset.passes import MAX_INSTANCE_ID
from ..core.errors import MayhemInputError
from ..core.recipe import AssetCache, person_params
from ..core.recipe_types import Recipe, recipe_from_json
from .body.hair import add_hair
from .body.rig import animate_body, build_body
from .body.shoes import add_shoes
from .body.skin import apply_skin, skin_material
from .camera.objects import create_camera
from .clothing.dressing import (
    PersonDressing,
    cloth_settings,
    dress_person,
    outcome_records,
    outfit_mode,
    paint_person,
    simulate_outfits,
    timeline_offset,
)
from .render import clothing_pass_index, configure_cycles
from .reset import reset_blender
from .world.environment import build_environment
from .world.hdri import add_shadow_catcher, builtin_hdris, hdri_strength, setup_hdri_world


@dataclass
class BuiltScene:
    scene: object
    rigs: list = field(default_factory=list)
    camera: object = None
    device: str = "CPU"
    frame_offset: int = 0                              # Blender frame of sequence frame 0
    dressings: list = field(default_factory=list)      # scene.clothing.dressing.PersonDressing per person
    clothing: list = field(default_factory=list)       # per-garment outcome records (scene.json "outcome")
    cloth_seconds: float = 0.0                         # wall time of the cloth simulation


def resolve_hdri(ref: str, roots=None) -> Path:
    """The file of a world's HDRI reference: builtin:NAME (Blender's bundled) or ROOT:path."""
    if ref.startswith(assets.BUILTIN_PREFIX):
        name = ref[len(assets.BUILTIN_PREFIX):]
        found = builtin_hdris()
        if name not in found:
            raise MayhemInputError(ref, "world.hdri", f"Blender has no bundled HDRI {name!r} (have: {', '.join(found)})")
        return found[name]
    return assets.resolve_ref(ref, roots, "world.hdri")


def build_scene(recipe: Recipe, cache: AssetCache | None = None, *, reset: bool = True) -> BuiltScene:
    """A Blender scene that renders the recipe's frames 0..F-1 at Blender frames
    frame_offset..frame_offset+F-1 (a scene.json mapping may be given; its "outcome" is ignored)."""
    recipe = recipe_from_json(recipe)
    cache = cache or AssetCache()
    if reset:
        reset_blender()
    scene = bpy.context.scene
    F = recipe.frames
    offset = timeline_offset(recipe)
    settings = cloth_settings(recipe) if offset else None
    scene.frame_start, scene.frame_end = offset, offset + F - 1
    fps = float(recipe.fps)
    scene.render.fps = max(1, round(fps))
    scene.render.fps_base = scene.render.fps / fps

    world = recipe.world
    hdri = resolve_hdri(world.hdri, cache.roots)
    setup_hdri_world(scene, hdri, hdri_strength(world, hdri), world.rotation_rad or 0.0)
    if world.kind == "mesh":  # a 3D scene (built-in or user file), lit by the HDRI too
        build_environment(world, scene, cache.roots)
    elif world.shadow_catcher is not False:
        add_shadow_catcher(scene=scene)

    built = BuiltScene(scene=scene, frame_offset=offset)
    for person in recipe.people:
        instance_id = person.instance_id
        if not 1 <= instance_id <= MAX_INSTANCE_ID:
            raise MayhemInputError(recipe.name, f"people[{person.id}].instance_id",
                                   f"{instance_id!r} is not an integer in 1..{MAX_INSTANCE_ID}")
        model, params, _ = person_params(person, F, fps, cache)
        rig = build_body(model, params["betas"], name=f"person_{person.id:02d}")
        rig.mesh.pass_index = instance_id
        motion = {k: v for k, v in params.items() if k != "betas"}
        skin = person.skin
        texture = None if skin.texture is None else cache.path(skin.texture, f"people[{person.id}].skin.texture")
        material = skin_material(skin.tone, name=f"skin_{person.id:02d}", albedo_texture=texture, seed=skin.seed)
        apply_skin(rig.mesh, material)
        mode = outfit_mode(recipe, person)
        if mode == "simulated":  # keys the body itself: pre-roll, then the sequence at `offset`
            dressing = dress_person(recipe.name, person, rig, model, motion, settings, F, cache.roots)
        else:
            animate_body(rig, motion, frame_start=offset)
            dressing = (paint_person(recipe.name, person, rig, model, material) if mode == "texture" else
                        PersonDressing(person_id=person.id, instance_id=instance_id, mode="none"))
        built.dressings.append(dressing)
        add_hair(rig, person.hair, instance_id)  # recipes without hair/shoes: nothing added
        shoes = add_shoes(rig, person.shoes, instance_id)
        for obj in shoes.objects:  # shoes are clothing: in the person mask, not in the body mask
            obj.pass_index = clothing_pass_index(instance_id)
        built.rigs.append(rig)

    cam = recipe.camera
    _, w2c = camera_per_frame(recipe)
    built.camera = create_camera("camera", cam.focal_mm, cam.sensor_width_mm, w2c[0] if cam.is_static else w2c,
                                 frame_start=offset, scene=scene)
    r = recipe.render
    built.device = configure_cycles(
        scene, width=recipe.image.width, height=recipe.image.height, samples=r.samples,
        adaptive_threshold=r.adaptive_threshold, denoise=r.denoise, persistent_data=r.persistent_data,
        seed=recipe.seed % (2**31), device=r.device, threads=r.threads)
    if settings is not None:
        built.cloth_seconds = simulate_outfits(built.dressings, settings, F, scene)
    built.clothing = outcome_records(built.dressings)
    return built
