"""The world in Blender: HDRI lighting and mesh environments.
"""
