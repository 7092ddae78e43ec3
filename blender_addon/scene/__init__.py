"""Blender scene building (needs bpy): bodies, skin, cameras, animation written in bulk."""
