"""The files of a staged sequence: RGB renamed to 0..F-1, masks and depth from the passes, then
labels.npz and scene.json (write_sequence_outputs, for both render paths)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..io.atomic import safe_join
from ..io.exr import write_depth_exr
from ..io.npz import save_npz
from ..io.png import strip_png_metadata, write_png
from .documents import write_recipe
from .keypoints import KEYPOINTS_NPZ, compute_keypoints, write_keypoints
from .labels import compute_labels, write_labels
from .layout import FRAME_FOLDERS, GARMENTS_DIR, LABELS_NPZ, PASSES_DIR, frame_path
from .passes import read_pass_layers


def write_frames(seq_dir: Path, frames: list) -> tuple[np.ndarray, np.ndarray]:
    """Per frame k of [(rgb_png, pass_exr)] as Blender wrote them: rgb/k.png (renamed from
    Blender's own frame number, render timings stripped), mask/ (body and clothing), mask_body/,
    mask_clothing/ and depth/. Returns the (F,H,W) depth and instance stacks for the labels."""
    seq_dir = Path(seq_dir)
    for folder, _ in FRAME_FOLDERS:
        (seq_dir / folder).mkdir(exist_ok=True)
    depth_stack, instance_stack = [], []
    for k, (rgb_path, pass_path) in enumerate(frames):
        rgb = frame_path(seq_dir, "rgb", k)
        if Path(rgb_path) != rgb:
            Path(rgb_path).replace(rgb)
        strip_png_metadata(rgb)  # Cycles writes render timings into each PNG
        passes = read_pass_layers(pass_path)
        instance = passes.instance.astype(np.uint16)
        zero = np.zeros_like(instance)
        write_png(frame_path(seq_dir, "mask", k), instance)
        write_png(frame_path(seq_dir, "mask_body", k), np.where(passes.clothing, zero, instance))
        write_png(frame_path(seq_dir, "mask_clothing", k), np.where(passes.clothing, instance, zero))
        write_depth_exr(frame_path(seq_dir, "depth", k), passes.depth.astype(np.float32))
        depth_stack.append(passes.depth)
        instance_stack.append(instance)
    return np.stack(depth_stack), np.stack(instance_stack)


def write_garment_meshes(seq_dir: Path, meshes: dict) -> None:
    """garments/<person id>_<garment name>.npz per simulated garment (docs/format.md)."""
    if not meshes:
        return
    folder = Path(seq_dir) / GARMENTS_DIR
    folder.mkdir()
    for stem, arrays in meshes.items():
        save_npz(safe_join(folder, f"{stem}.npz"), arrays)


def write_sequence_outputs(seq_dir: Path, frames: list, recipe, cache, clothing: list) -> None:
    """Everything after the render: the frame files (write_frames), Blender's pass EXRs
    removed, labels.npz, keypoints.npz, and scene.json with the clothing outcome. `cache` is the recipe's
    core.recipe.AssetCache; `clothing` the outcome records of its garments."""
    seq_dir = Path(seq_dir)
    depth, instance = write_frames(seq_dir, frames)
    shutil.rmtree(seq_dir / PASSES_DIR, ignore_errors=True)
    write_labels(seq_dir / LABELS_NPZ, compute_labels(recipe, cache, depth=depth, clothing_outcome=clothing,
                                                      instance=instance))
    write_keypoints(seq_dir / KEYPOINTS_NPZ, compute_keypoints(recipe, cache, depth=depth, instance=instance))
    write_recipe(seq_dir, recipe, {"clothing": clothing})
