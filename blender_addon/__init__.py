"""Mayhem: BEDLAM-style synthetic data for 3D human pose and shape estimation, in Blender.

This folder is both the Python package ``mayhem`` (core/ works with numpy alone) and a
Blender extension; bpy is imported only when Blender registers the add-on.
"""
__version__ = "0.1.0"


def register():
    from .wheels import ensure_importable

    ensure_importable(download=False)  # a symlinked source folder: Blender installed no wheels for it
    from .ui import register as _register

    _register()


def unregister():
    from .ui import unregister as _unregister

    _unregister()
