"""Return Blender to a known empty state before building a sequence (and before each bpy test).

Every sequence is built from its recipe alone; anything left over from a previous sequence
(objects, images, actions, device preferences) would make results depend on run order.
"""
from __future__ import annotations

import bpy


def reset_blender() -> None:
    """Factory settings with an empty scene, and Cycles enabled.

    read_factory_settings also drops non-persistent app handlers and resets the preferences
    (so the Cycles device is chosen again by render.select_device).
    """
    bpy.ops.wm.read_factory_settings(use_empty=True)
    # Factory settings reload the default add-ons; make sure Cycles is among them (a Blender
    # configured without it would otherwise fail later with an unhelpful KeyError).
    if "cycles" not in bpy.context.preferences.addons:
        import addon_utils  # on sys.path only once bpy is imported

        addon_utils.enable("cycles", default_set=True)
    if "cycles" not in bpy.context.preferences.addons:
        raise RuntimeError("the Cycles add-on could not be enabled in this Blender")
