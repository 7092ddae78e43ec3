"""Scenes without Blender for the keypoint and export tests: depth and instance passes
rasterised from the labelled bodies of a recipe (core.geometry.raster), optionally with a wall
(scene geometry, id 0) over the lowest image rows, and a dataset folder written from them
with the same writers as a render."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mayhem.core.camera.pinhole import project
from mayhem.core.dataset.documents import dataset_document, write_dataset_json, write_recipe
from mayhem.core.dataset.keypoints import KEYPOINTS_NPZ, compute_keypoints, write_keypoints
from mayhem.core.dataset.labels import camera_per_frame, compute_labels, write_labels
from mayhem.core.dataset.layout import FRAME_FOLDERS, frame_path
from mayhem.core.geometry.raster import rasterize_ids
from mayhem.core.io.exr import write_depth_exr
from mayhem.core.io.png import write_png
from mayhem.core.recipe import person_params


def passes_of(recipe, cache, wall_below_row=None, wall_depth=1.0):
    """(depth (F,H,W) float64, +inf empty; instance (F,H,W) uint16) of the labelled bodies."""
    W, H = recipe.image.width, recipe.image.height
    K, w2c = camera_per_frame(recipe)
    verts = []
    for person in recipe.people:
        model, params, _ = person_params(person, recipe.frames, recipe.fps, cache)
        v = model.forward(betas=params["betas"], **{k: x for k, x in params.items() if k != "betas"}).vertices
        verts.append((v, model.faces, person.instance_id))
    depths, ids = [], []
    for f in range(recipe.frames):
        meshes = []
        for v, faces, ident in verts:
            uv, z = project(v[f], K[f], w2c[f])
            meshes.append((uv, faces, z, ident))
        inst, depth = rasterize_ids(meshes, W, H, return_depth=True)
        if wall_below_row is not None:
            wall = depth[wall_below_row:] > wall_depth
            depth[wall_below_row:][wall] = wall_depth
            inst[wall_below_row:][wall] = 0
        depths.append(depth)
        ids.append(inst)
    return np.stack(depths), np.stack(ids)


def write_numpy_dataset(root, recipe, cache, wall_below_row=None, keypoints=True) -> Path:
    """A one-sequence dataset folder (dataset.json, scene.json, labels.npz, keypoints.npz, frames)."""
    root = Path(root)
    seq = root / recipe.name
    for folder, _ in FRAME_FOLDERS:
        (seq / folder).mkdir(parents=True, exist_ok=True)
    depth, inst = passes_of(recipe, cache, wall_below_row)
    W, H = recipe.image.width, recipe.image.height
    for f in range(recipe.frames):
        write_png(frame_path(seq, "rgb", f), np.full((H, W, 3), 128, np.uint8))
        write_png(frame_path(seq, "mask", f), inst[f])
        write_png(frame_path(seq, "mask_body", f), inst[f])
        write_png(frame_path(seq, "mask_clothing", f), np.zeros_like(inst[f]))
        write_depth_exr(frame_path(seq, "depth", f), depth[f].astype(np.float32))
    write_labels(seq / "labels.npz", compute_labels(recipe, cache, depth=depth, instance=inst))
    if keypoints:
        write_keypoints(seq / KEYPOINTS_NPZ, compute_keypoints(recipe, cache, depth=depth, instance=inst))
    write_recipe(seq, recipe)
    write_dataset_json(root, dataset_document(None, [{"name": recipe.name, "index": recipe.index, "status": "done",
                                                      "frames": recipe.frames, "people": len(recipe.people)}]))
    return root
