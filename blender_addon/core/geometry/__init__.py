"""Geometry in numpy: rotations, triangle meshes, spatial queries, remeshing, rasterising.
"""
