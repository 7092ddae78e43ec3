"""The panel's inputs, stored per scene (Scene.mayhem) so they are saved with the .blend file
and each scene keeps its own; the methods turn them into the arguments the services take."""
from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    IntVectorProperty,
    StringProperty,
)

from ..core import assets
from ..core.body.skeleton import GENDERS
from ..core.clothing.fabrics import FABRICS, ClothSettings
from ..core.clothing.garments import BOTTOM_KINDS, DEFAULT_TARGET_VERTICES, TOP_KINDS, GarmentSpec
from ..core.config import Config
from ..core.errors import MayhemInputError
from ..core.recipe import BUILTIN_HDRIS
from .preferences import preference

NUM_BETAS = 10
HDRI_SUFFIXES = (".exr", ".hdr")

# Blender keeps only pointers to the strings of dynamic enum items: the lists must stay alive.
_motion_items: list = []
_environment_items: list = []


def _bundled_motions() -> dict:
    try:
        return assets.builtin_motion_paths()
    except MayhemInputError:  # no assets folder: show an empty list rather than fail drawing
        return {}


def motion_items(self, context):
    global _motion_items
    names = list(_bundled_motions())
    _motion_items = [(n, n.replace("_", " ").capitalize(), f"Bundled motion '{n}'") for n in names] or \
        [("NONE", "No bundled motions", "assets/motions has no .npz files")]
    return _motion_items


def _user_hdris(context) -> list[Path]:
    folder = preference("hdri_folder", context)
    if not folder or not Path(folder).is_dir():
        return []
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in HDRI_SUFFIXES)


def environment_items(self, context):
    global _environment_items
    items = [("SCENE", "Scene World", "Keep the scene's own world (its lighting is not rebuilt from scene.json)")]
    items += [(n, n.capitalize(), f"Blender's bundled CC0 HDRI '{n}'") for n in BUILTIN_HDRIS]
    items += [(f"FILE:{p.name}", p.stem, str(p)) for p in _user_hdris(context)]
    _environment_items = items
    return _environment_items


_FABRIC_ITEMS = [(name, name.title(), f"Blender cloth preset '{name}' (core.clothing.fabrics)") for name in FABRICS]
# Choices and defaults come from the modules that own them (the config, ClothSettings, the
# garment maker), so the panel offers what a config file would get.
_CONFIG, _CLOTH, _GARMENT = Config(), ClothSettings(), GarmentSpec("tshirt")
_KIND_LABELS = {"tshirt": "T-Shirt", "longsleeve": "Long Sleeve"}
_TOP_ITEMS = ([("NONE", "None", "No top")] + [(k, _KIND_LABELS.get(k, k.title()), "") for k in TOP_KINDS]
              + [("dress", "Dress", "A dress instead of a top and a bottom")])
_BOTTOM_ITEMS = [("NONE", "None", "No bottom")] + [(k, _KIND_LABELS.get(k, k.title()), "") for k in BOTTOM_KINDS]


class MayhemSceneSettings(bpy.types.PropertyGroup):
    # ---- body
    body_name: StringProperty(name="Name", default="person", description="Base name of the new body's objects")
    body_source: EnumProperty(
        name="Body", default="FREE",
        items=[("FREE", "Free Body", "The bundled CC0 body in the SMPL-X layout (no licence needed)"),
               ("SMPLX", "SMPL-X File", "An SMPL-X model file or folder (licensed separately)")])
    model_path: StringProperty(
        name="Model", subtype="FILE_PATH",
        description="SMPL-X .npz/.pkl file, or a folder with SMPLX_{NEUTRAL,FEMALE,MALE}.npz; "
                    "empty = the SMPL-X folder of the add-on preferences")
    gender: EnumProperty(name="Gender", default=GENDERS[0], items=[(g, g.title(), "") for g in GENDERS])
    betas: FloatVectorProperty(name="Shape", size=NUM_BETAS, default=(0.0,) * NUM_BETAS, soft_min=-3.0,
                               soft_max=3.0, description="Shape coefficients (betas), in standard deviations")
    skin_tone: FloatProperty(name="Skin Tone", default=0.3, min=0.0, max=1.0, subtype="FACTOR",
                             description="0 = lightest to 1 = darkest of the Monk Skin Tone scale")

    # ---- motion
    motion_source: EnumProperty(
        name="Motion", default="BUILTIN",
        items=[("BUILTIN", "Bundled", "A procedural clip shipped with Mayhem"),
               ("AMASS", "AMASS File", "An AMASS .npz (SMPL+H or SMPL-X)")])
    builtin_motion: EnumProperty(name="Clip", items=motion_items, description="Bundled motion clip")
    amass_path: StringProperty(name="File", subtype="FILE_PATH",
                               description="AMASS .npz; a relative path is looked up in the preferences' AMASS folder")
    start_frame: IntProperty(name="Start Frame", default=0, description="Blender frame of the clip's first frame")
    place_on_ground: BoolProperty(name="Place on Ground", default=True,
                                  description="Lowest point of the body over the clip touches the armature's ground")

    # ---- clothing
    top: EnumProperty(name="Top", default="tshirt", items=_TOP_ITEMS)
    bottom: EnumProperty(name="Bottom", default="trousers", items=_BOTTOM_ITEMS)
    top_fabric: EnumProperty(name="Top Fabric", default="cotton", items=_FABRIC_ITEMS)
    bottom_fabric: EnumProperty(name="Bottom Fabric", default="denim", items=_FABRIC_ITEMS)
    looseness: FloatProperty(name="Looseness", default=_GARMENT.looseness, min=0.0, max=1.0, subtype="FACTOR",
                             description="0 = snug (1 cm off the skin), 1 = loose (4 cm)")
    garment_vertices: IntProperty(name="Vertices", default=DEFAULT_TARGET_VERTICES, min=200, max=20000,
                                  description="Target vertices per garment (simulation time grows with it)")
    preroll: IntProperty(name="Pre-roll", default=_CLOTH.preroll, min=2, max=1000,
                         description="Frames in which the body moves from the garments' rest pose into the motion's "
                                     "first pose; the motion moves to start after them")
    cloth_quality: IntProperty(name="Quality", default=_CLOTH.quality, min=1, max=80, description="Cloth solver steps per frame")
    look_seed: IntProperty(name="Look Seed", default=0, min=0, description="Draws the fabric pattern and colours")

    def outfit_kinds(self) -> tuple[list[str], list[str]]:
        """(garment kinds, fabrics) chosen in the Clothing panel."""
        if self.top == "dress":
            return ["dress"], [self.top_fabric]
        pairs = [(k, f) for k, f in ((self.bottom, self.bottom_fabric), (self.top, self.top_fabric)) if k != "NONE"]
        return [k for k, _ in pairs], [f for _, f in pairs]

    # ---- render
    output_dir: StringProperty(name="Output", subtype="DIR_PATH",
                               description="Dataset folder (empty = the preferences' default output folder)")
    samples: IntProperty(name="Samples", default=_CONFIG.render.samples, min=1, soft_max=1024, description="Cycles samples per pixel")
    resolution: IntVectorProperty(name="Resolution", size=2, default=tuple(_CONFIG.camera.resolution), min=8, max=16384,
                                  description="Image width and height, pixels")
    environment: EnumProperty(name="Environment", items=environment_items, default=1,
                              description="Lighting and background of the rendered frames")
    environment_strength: FloatProperty(name="Strength", default=1.0, min=0.0, soft_max=5.0)
    shadow_catcher: BoolProperty(name="Ground Shadows", default=_CONFIG.world.shadow_catcher,
                                 description="A shadow-catcher plane at z = 0 under the HDRI")

    # ---- arguments for the services
    def model_reference(self, context) -> str:
        if self.body_source == "FREE":
            return "free"
        path = bpy.path.abspath(self.model_path) if self.model_path else preference("smplx_folder", context)
        if not path:
            raise MayhemInputError(None, "model", "choose an SMPL-X model file, or set the SMPL-X folder in the preferences")
        return path

    def motion_reference(self, context) -> str:
        if self.motion_source == "BUILTIN":
            if self.builtin_motion in ("", "NONE"):
                raise MayhemInputError(None, "motion", "no bundled motion is available; choose an AMASS file")
            return assets.BUILTIN_PREFIX + self.builtin_motion
        if not self.amass_path:
            raise MayhemInputError(None, "motion", "choose an AMASS .npz file")
        path = Path(bpy.path.abspath(self.amass_path))
        if not path.is_absolute():
            folder = preference("amass_folder", context)
            if folder:
                path = Path(folder) / path
        return str(path)

    def output_folder(self, context) -> str:
        folder = bpy.path.abspath(self.output_dir) if self.output_dir else preference("output_folder", context)
        if not folder:
            raise MayhemInputError(None, "output", "choose an output folder (Render panel or add-on preferences)")
        return folder

    def world(self, context) -> dict | None:
        env = self.environment
        if env == "SCENE":
            return None
        if env.startswith("FILE:"):
            hdri = str(Path(preference("hdri_folder", context)) / env[len("FILE:"):])
        else:
            hdri = assets.BUILTIN_PREFIX + env
        return {"hdri": hdri, "strength": self.environment_strength, "rotation_rad": 0.0,
                "shadow_catcher": self.shadow_catcher}
