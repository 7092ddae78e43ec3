"""Meshes into Blender from numpy arrays, in bulk.
"""
