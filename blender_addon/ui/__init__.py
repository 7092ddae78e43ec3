"""The add-on's Blender side: preferences, scene settings, operators and panels.

Imported only by register() (the package itself must import without bpy). Everything here is
thin: operators read settings and call functions in services/, which scripts and CLIs share.
"""
from __future__ import annotations

import bpy

from . import operators, panels
from .preferences import MayhemPreferences
from .properties import MayhemSceneSettings

CLASSES = (MayhemPreferences, MayhemSceneSettings, *operators.CLASSES, *panels.CLASSES)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.mayhem = bpy.props.PointerProperty(type=MayhemSceneSettings)


def unregister():
    if hasattr(bpy.types.Scene, "mayhem"):
        del bpy.types.Scene.mayhem
    for cls in reversed(CLASSES):
        if cls.is_registered:
            bpy.utils.unregister_class(cls)
