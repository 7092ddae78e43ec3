"""Blender meshes and vertex groups from numpy arrays, in bulk, for every mesh Mayhem builds."""
from __future__ import annotations

import bpy
import numpy as np


def triangle_mesh(name: str, vertices: np.ndarray, faces: np.ndarray) -> bpy.types.Mesh:
    """A smooth-shaded triangle mesh: vertices (N,3), faces (M,3) vertex indices."""
    vertices = np.asarray(vertices, dtype=np.float32).reshape(-1, 3)
    faces = np.asarray(faces, dtype=np.int32).reshape(-1, 3)
    me = bpy.data.meshes.new(name)
    me.vertices.add(len(vertices))
    me.vertices.foreach_set("co", vertices.ravel())
    me.loops.add(faces.size)
    me.polygons.add(len(faces))
    me.loops.foreach_set("vertex_index", faces.ravel())
    me.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    me.update(calc_edges=True)
    me.shade_smooth()
    return me


def add_vertex_group(obj, name: str, weights: np.ndarray):
    """A vertex group from per-vertex weights (0 = not in the group).

    Blender has no bulk setter for deform weights, but VertexGroup.add takes a list of vertices
    that share a weight, so the Python-level work is one call per distinct float32 weight
    instead of one per vertex. Weights are stored as float32 by Blender anyway.
    """
    group = obj.vertex_groups.new(name=name)
    w = np.asarray(weights, dtype=np.float32)
    idx = np.flatnonzero(w > 0)
    if not len(idx):
        return group
    order = idx[np.argsort(w[idx], kind="stable")]
    vals = w[order]
    bounds = (np.flatnonzero(np.diff(vals)) + 1).tolist()
    ids = order.tolist()
    for a, b in zip([0] + bounds, bounds + [len(ids)]):
        group.add(ids[a:b], float(vals[a]), "REPLACE")
    return group
