"""Build one sequence's Blender scene from its recipe.

The recipe already holds every random draw; this module only turns it into Blender data:
world, ground, bodies (with motion and skin), camera and render settings. The add-on's
"render to dataset" operator and the batch CLI both call `build_scene`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import bpy

from ..core import assets
from ..core.errors import MayhemInputError
from ..core.labels import camera_per_frame
from ..core.recipe import AssetCache, person_params
from .body import animate_body, build_body
from .camera import create_camera
from .hair import add_hair
from .render import configure_cycles
from .reset import reset_blender
from .shoes import add_shoes
from .skin import apply_skin, skin_material
from .environment import build_environment
from .world import add_shadow_catcher, builtin_hdris, hdri_strength, setup_hdri_world


@dataclass
class BuiltScene:
    scene: object
    rigs: list = field(default_factory=list)
    camera: object = None
    device: str = "CPU"


def resolve_hdri(ref: str) -> Path:
    if ref.startswith(assets.BUILTIN_PREFIX):
        name = ref[len(assets.BUILTIN_PREFIX):]
        found = builtin_hdris()
        if name not in found:
            raise MayhemInputError(ref, "world.hdri", f"Blender has no bundled HDRI {name!r} (have: {', '.join(found)})")
        return found[name]
    return Path(ref)


def build_scene(recipe: dict, cache: AssetCache | None = None, *, reset: bool = True) -> BuiltScene:
    """A Blender scene that renders the recipe's frames 0..F-1."""
    cache = cache or AssetCache()
    if reset:
        reset_blender()
    scene = bpy.context.scene
    F = recipe["frames"]
    scene.frame_start, scene.frame_end = 0, F - 1
    fps = float(recipe["fps"])
    scene.render.fps = max(1, round(fps))
    scene.render.fps_base = scene.render.fps / fps

    world = recipe["world"]
    hdri = resolve_hdri(world["hdri"])
    setup_hdri_world(scene, hdri, hdri_strength(world, hdri), world["rotation_rad"])
    if world.get("kind", "hdri") == "mesh":  # a 3D scene (built-in or user file), lit by the HDRI too
        build_environment(world, scene)
    elif world.get("shadow_catcher", True):
        add_shadow_catcher(scene=scene)

    built = BuiltScene(scene=scene)
    for person in recipe["people"]:
        model, params, _ = person_params(person, F, fps, cache)
        rig = build_body(model, params["betas"], name=f"person_{person['id']:02d}")
        rig.mesh.pass_index = person["instance_id"]
        animate_body(rig, {k: v for k, v in params.items() if k != "betas"}, frame_start=0)
        skin = person["skin"]
        material = skin_material(skin["tone"], name=f"skin_{person['id']:02d}", albedo_texture=skin.get("texture"),
                                 seed=skin.get("seed", 0))
        apply_skin(rig.mesh, material)
        add_hair(rig, person.get("hair"), person["instance_id"])  # recipes without hair/shoes: nothing added
        add_shoes(rig, person.get("shoes"), person["instance_id"])
        built.rigs.append(rig)

    cam = recipe["camera"]
    _, w2c = camera_per_frame(recipe)
    static = cam.get("kind", "static") == "static"
    built.camera = create_camera("camera", cam["focal_mm"], cam["sensor_width_mm"], w2c[0] if static else w2c,
                                 frame_start=0, scene=scene)
    r = recipe["render"]
    built.device = configure_cycles(
        scene, width=recipe["image"]["width"], height=recipe["image"]["height"], samples=r["samples"],
        adaptive_threshold=r["adaptive_threshold"], denoise=r["denoise"], persistent_data=r["persistent_data"],
        seed=recipe["seed"] % (2**31), device=r["device"], threads=r.get("threads", 0))
    return built
