"""The panel's inputs, stored per scene (Scene.mayhem) so they are saved with the .blend file
and each scene keeps its own; the methods turn them into the arguments the services take."""
from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatVectorProperty,
    IntProperty,
    StringProperty,
)

from ..core import assets
from ..core.assets import BUILTIN_HDRIS
from ..core.clothing.garments import GarmentSpec
from ..core.clothing.user_outfits import DEFAULT_FABRIC
from ..core.config import BodyConfig, CameraConfig, ClothingConfig, RenderConfig, WorldConfig
from ..core.errors import MayhemInputError
from .preferences import preference
from .schema_props import schema_property

NUM_BETAS = BodyConfig.num_betas  # shape coefficients of a body, as many as the config draws per person
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


# Settings that a config or the garment maker also has are made from the config's typed fields
# (schema_property): their defaults, bounds and choices are the config's. Where the config
# draws from a range or list, the panel picks one value and its default is the panel's.
_KIND_LABELS = {"tshirt": "T-Shirt", "longsleeve": "Long Sleeve"}


def _fabric_items(fabrics):
    return [(name, name.title(), f"Blender cloth preset '{name}' (core.clothing.fabrics)") for name in fabrics]


def _top_items(kinds):
    return ([("NONE", "None", "No top")] + [(k, _KIND_LABELS.get(k, k.title()), "") for k in kinds]
            + [("dress", "Dress", "A dress instead of a top and a bottom")])


def _bottom_items(kinds):
    return [("NONE", "None", "No bottom")] + [(k, _KIND_LABELS.get(k, k.title()), "") for k in kinds]


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
    gender: schema_property(BodyConfig, "genders", entry=True, name="Gender", description="Gender of the body model")
    betas: FloatVectorProperty(name="Shape", size=NUM_BETAS, default=(0.0,) * NUM_BETAS, soft_min=-3.0,
                               soft_max=3.0, description="Shape coefficients (betas), in standard deviations")
    skin_tone: schema_property(BodyConfig, "skin_tone", entry=True, default=0.3, subtype="FACTOR",
                               description="0 = lightest (Monk 1) to 1 = darkest (Monk 10) of the Monk Skin Tone scale")

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
    top: schema_property(ClothingConfig, "tops", entry=True, name="Top", default="tshirt", items=_top_items,
                         description="The top, or a dress instead of a top and a bottom")
    bottom: schema_property(ClothingConfig, "bottoms", entry=True, name="Bottom", default="trousers",
                            items=_bottom_items, description="The bottom")
    top_fabric: schema_property(ClothingConfig, "fabrics", entry=True, name="Top Fabric", default=DEFAULT_FABRIC["top"],
                                items=_fabric_items, description="Fabric preset of the top or dress")
    bottom_fabric: schema_property(ClothingConfig, "fabrics", entry=True, name="Bottom Fabric",
                                   default=DEFAULT_FABRIC["bottom"], items=_fabric_items,
                                   description="Fabric preset of the bottom")
    looseness: schema_property(ClothingConfig, "looseness", entry=True, default=GarmentSpec.looseness, subtype="FACTOR")
    garment_vertices: schema_property(ClothingConfig, "garment_vertices", name="Vertices")
    preroll: schema_property(ClothingConfig, "preroll_frames", name="Pre-roll",
                             description="Frames in which the body moves from the garments' rest pose into the "
                                         "motion's first pose; the motion moves to start after them")
    cloth_quality: schema_property(ClothingConfig, "quality", name="Quality")
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
    samples: schema_property(RenderConfig, "samples", soft_max=1024)
    resolution: schema_property(CameraConfig, "resolution")
    environment: EnumProperty(name="Environment", items=environment_items, default=1,
                              description="Lighting and background of the rendered frames")
    environment_strength: schema_property(WorldConfig, "strength", entry=True, default=1.0, soft_max=5.0,
                                          description="Environment strength (multiplies the HDRI)")
    shadow_catcher: schema_property(WorldConfig, "shadow_catcher", name="Ground Shadows")

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
