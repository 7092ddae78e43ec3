"""Decode the pass EXR Blender writes per frame: depth, person instance ids, clothing pixels.

Pure numpy (no bpy): the layout is fixed by scene.render.configure_passes, which names the
layers; this is the one reader of it, for both render paths and for tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import MayhemInputError
from ..io.exr import read_exr

BACKGROUND_DEPTH = 1e9  # Cycles writes ~1e10 where a ray hits nothing; anything above is sky
# Object pass index of a person's clothing (garments, shoes): instance_id + this. Instance ids
# must stay below it; the IndexOB pass is float32, exact for these integers.
CLOTHING_PASS_OFFSET = 1000
MAX_INSTANCE_ID = CLOTHING_PASS_OFFSET - 1
# A body pixel counts as clothing where the painted coverage (scene.clothing.painted's shader
# AOV CLOTHING_AOV) is at least this.
PAINTED_COVERAGE = 0.5


@dataclass
class FramePasses:
    """The decoded passes of one frame (see read_pass_layers)."""

    depth: np.ndarray      # (H,W) float32 metres along the camera axis, +inf where nothing was hit
    instance: np.ndarray   # (H,W) uint16 instance id of the person (body or clothing), 0 elsewhere
    clothing: np.ndarray   # (H,W) bool: the pixel shows a person's clothing (garment, shoe, painted)


def read_pass_layers(pass_path) -> FramePasses:
    """Depth, instance ids and the clothing flag from a pass EXR written by configure_passes."""
    channels = read_exr(pass_path)
    # 'Depth.V' from the File Output node; 'ViewLayer.Depth.Z' if a render-output EXR is given
    # (whose object-index layer is 'IndexOB' on 4.x, 'Object Index' on 5.x)
    depth_key = next((k for k in channels if "Depth" in k.split(".")), None)
    index_key = next((k for k in channels if {"IndexOB", "Object Index"} & set(k.split("."))), None)
    if depth_key is None or index_key is None:
        raise MayhemInputError(pass_path, "Depth/IndexOB",
                               f"pass file lacks a Depth or IndexOB layer (channels: {sorted(channels)})")
    depth = np.asarray(channels[depth_key], dtype=np.float32).copy()
    depth[~(depth < BACKGROUND_DEPTH)] = np.inf
    index = np.rint(np.asarray(channels[index_key], dtype=np.float64))
    index = np.clip(index, 0, np.iinfo(np.uint16).max + CLOTHING_PASS_OFFSET)
    clothing = index > CLOTHING_PASS_OFFSET
    painted_key = next((k for k in channels if "Clothing" in k.split(".")), None)
    if painted_key is not None:  # pass files from before painted clothing have no such layer
        painted = np.asarray(channels[painted_key], dtype=np.float32) >= PAINTED_COVERAGE
        clothing |= painted & (index >= 1) & (index <= MAX_INSTANCE_ID)
    index[index > CLOTHING_PASS_OFFSET] -= CLOTHING_PASS_OFFSET
    instance = np.clip(index, 0, np.iinfo(np.uint16).max).astype(np.uint16)
    return FramePasses(depth=depth, instance=instance, clothing=clothing)


def read_passes(pass_path) -> tuple[np.ndarray, np.ndarray]:
    """(depth (H,W) float32 metres along the camera axis, +inf where nothing was hit;
    instance (H,W) uint16 person instance id, clothing included) from a pass EXR written by
    configure_passes. read_pass_layers also says which pixels are clothing.
    """
    passes = read_pass_layers(pass_path)
    return passes.depth, passes.instance
