"""Add-on preferences: the user's folders, set once and used by every panel.

bl_idname must equal the add-on's module name. That is the package this ui/ folder belongs to:
'mayhem' when imported from a checkout, 'bl_ext.<repository>.mayhem' when installed as an
extension, so it is derived from __package__ rather than written out.
"""
from __future__ import annotations

import bpy
from bpy.props import StringProperty

ADDON_ID = __package__.rpartition(".")[0]  # the add-on package (parent of ui/)


class MayhemPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    smplx_folder: StringProperty(
        name="SMPL-X Models", subtype="DIR_PATH",
        description="Folder with SMPLX_NEUTRAL/FEMALE/MALE.npz (from smpl-x.is.tue.mpg.de); "
                    "used when a body's model file is left empty")
    amass_folder: StringProperty(
        name="AMASS Motions", subtype="DIR_PATH",
        description="Folder of AMASS .npz files; relative motion file paths are looked up here")
    hdri_folder: StringProperty(
        name="Extra HDRIs", subtype="DIR_PATH",
        description="Folder of .exr/.hdr environment maps offered next to Blender's bundled ones")
    output_folder: StringProperty(
        name="Default Output", subtype="DIR_PATH",
        description="Dataset folder used when the Render panel's output folder is empty")

    def draw(self, context):
        col = self.layout.column()
        col.use_property_split = True
        for name in ("smplx_folder", "amass_folder", "hdri_folder", "output_folder"):
            col.prop(self, name)


def get_preferences(context=None):
    """The add-on's preferences, or None when the package was registered without Blender's
    add-on manager (scripts, tests): callers then use their own defaults."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon is not None else None


def preference(name: str, context=None) -> str:
    """A folder preference as an absolute path, or '' when unset."""
    prefs = get_preferences(context)
    value = getattr(prefs, name, "") if prefs is not None else ""
    return bpy.path.abspath(value) if value else ""
