"""Environment lighting (HDRI worlds) and the shadow-catcher ground.

Bodies are lit by an equirectangular HDRI that is also the visible background; a shadow-catcher
plane at z = 0 gives them contact shadows without drawing a floor over the HDRI.  Blender ships
eight CC0 HDRIs (the ones of the viewport's studio lights), so the project works with no
downloads; users can add folders of their own.
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from ...core.errors import MayhemInputError
from .. import blender_compat as compat

HDRI_SUFFIXES = (".exr", ".hdr")


def builtin_hdris() -> dict[str, Path]:
    """{name: path} of the CC0 HDRIs bundled with Blender (datafiles/studiolights/world)."""
    folder = Path(bpy.utils.system_resource("DATAFILES")) / "studiolights" / "world"
    return {p.stem: p for p in sorted(folder.glob("*.exr"))}


def hdri_paths(folders, field: str = "world.hdri_folders") -> list[Path]:
    """All .exr/.hdr files in the user's HDRI folders, sorted so sampling is reproducible.

    A missing or empty folder is a config error (it would otherwise silently shrink the pool).
    """
    out: list[Path] = []
    for folder in folders:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise MayhemInputError(folder, field, "HDRI folder does not exist")
        found = sorted(p for p in folder.iterdir()
                       if p.is_file() and p.suffix.lower() in HDRI_SUFFIXES)
        if not found:
            raise MayhemInputError(folder, field, "HDRI folder has no .exr or .hdr files")
        out.extend(found)
    return out


# Mean luminance of the upper hemisphere that `normalize` scales every HDRI to. Measured on the
# 8 bundled HDRIs (solid-angle weighted, Rec.709 luminance): city 1.64, courtyard 1.04, forest
# 1.42, interior 1.54, night 0.28, studio 1.37, sunrise 1.20, sunset 0.81. A diffuse grey sphere
# (albedo 0.5) on the ground renders at 0.40-0.49 x this value under every one of them, while
# the plain pixel mean (which over-weights the poles and counts the ground-blocked lower half)
# varies 0.8-1.1 x; so upper-hemisphere luminance is what makes bodies equally bright.
HDRI_TARGET_LUMINANCE = 1.0
_LUMINANCE_CACHE: dict = {}


def hdri_upper_luminance(path) -> float:
    """Solid-angle weighted mean Rec.709 luminance of an equirectangular HDRI's upper
    hemisphere (what lights a person standing on a floor), computed once per file."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _LUMINANCE_CACHE:
        image = bpy.data.images.load(str(path), check_existing=True)
        w, h = image.size
        if w == 0 or h == 0:
            raise MayhemInputError(path, "world.hdri", "Blender could not read this image")
        px = np.empty(w * h * image.channels, dtype=np.float32)
        image.pixels.foreach_get(px)
        rgb = px.reshape(h, w, image.channels)[..., :3].astype(np.float64)
        lum = rgb @ np.array([0.2126, 0.7152, 0.0722])
        lat = ((np.arange(h) + 0.5) / h - 0.5) * np.pi  # Blender's rows run bottom (nadir) to top
        up = lat > 0
        weight = np.cos(lat[up])
        _LUMINANCE_CACHE[key] = float((lum[up].mean(axis=1) * weight).sum() / weight.sum())
    return _LUMINANCE_CACHE[key]


def hdri_strength(world, path) -> float:
    """Background strength of a recipe world (core.recipe_types.WorldRecipe): strength x
    2^exposure_ev, divided by the HDRI's upper-hemisphere luminance (times
    HDRI_TARGET_LUMINANCE) when `normalize` is set."""
    strength = float(1.0 if world.strength is None else world.strength) * 2.0 ** float(world.exposure_ev or 0.0)
    if world.normalize:
        strength *= HDRI_TARGET_LUMINANCE / max(hdri_upper_luminance(path), 1e-4)
    return strength


def setup_hdri_world(scene, path, strength: float = 1.0, rotation_rad: float = 0.0):
    """Make `scene`'s world an HDRI: Texture Coordinate -> Mapping (Z rotation) -> Environment
    Texture -> Background(strength) -> World Output.  The image is loaded with
    check_existing=True so consecutive sequences sharing an HDRI do not reload it.
    """
    path = Path(path)
    if not path.is_file():
        raise MayhemInputError(path, "world.hdri", "HDRI file does not exist")
    world = scene.world
    if world is None:
        world = bpy.data.worlds.new("mayhem_world")
        scene.world = world
    compat.enable_nodes(world)
    nodes = world.node_tree.nodes
    links = world.node_tree.links
    nodes.clear()
    coord = nodes.new("ShaderNodeTexCoord")
    mapping = nodes.new("ShaderNodeMapping")
    mapping.vector_type = "POINT"
    env = nodes.new("ShaderNodeTexEnvironment")
    env.image = bpy.data.images.load(str(path), check_existing=True)
    env.projection = "EQUIRECTANGULAR"
    background = nodes.new("ShaderNodeBackground")
    output = nodes.new("ShaderNodeOutputWorld")
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, float(rotation_rad))
    background.inputs["Strength"].default_value = float(strength)
    links.new(coord.outputs["Generated"], mapping.inputs["Vector"])
    links.new(mapping.outputs["Vector"], env.inputs["Vector"])
    links.new(env.outputs["Color"], background.inputs["Color"])
    links.new(background.outputs["Background"], output.inputs["Surface"])
    for i, node in enumerate((coord, mapping, env, background, output)):
        node.location = (300 * i, 0)
    return world


def add_shadow_catcher(name: str = "ground", size: float = 50.0, scene=None):
    """A size x size plane at z = 0 that only catches shadows (the HDRI shows through).

    pass_index 0 keeps it out of the instance mask; its depth still appears in the Z pass,
    which is what a real camera would measure for the floor.
    """
    scene = scene or bpy.context.scene
    mesh = bpy.data.meshes.new(name)
    h = size / 2.0
    mesh.from_pydata([(-h, -h, 0.0), (h, -h, 0.0), (h, h, 0.0), (-h, h, 0.0)], [], [(0, 1, 2, 3)])
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    scene.collection.objects.link(obj)
    obj.is_shadow_catcher = True
    obj.pass_index = 0
    obj.hide_render = False
    obj.visible_camera = True
    obj.visible_shadow = True
    return obj
