"""Render one recipe into the dataset format: the service the batch worker runs per sequence.

`render_sequence` renders one recipe inside the current Blender (bpy module or binary) into a
staged sequence folder (core.dataset.staging), published only when its images, masks, depth,
labels and scene.json are all complete. Batches of sequences are services.batch's job.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from ..core.dataset.documents import clothing_counts
from ..core.dataset.frames import write_garment_meshes, write_sequence_outputs
from ..core.dataset.layout import PASSES_DIR
from ..core.dataset.staging import staged_sequence
from ..core.recipe import AssetCache
from ..core.recipe_types import Recipe, recipe_from_json
from .progress import frame_progress


def render_sequence(recipe: Recipe, out_dir, cache: AssetCache | None = None, progress=True, *,
                    threads: int | None = None) -> dict:
    """Render one recipe into OUT/<name>/ (via a temporary folder); returns its dataset entry.

    progress: True (text bar on stderr), False, or a callable(frames_done, frames_total).
    threads: Cycles threads for this render, overriding the recipe's render.threads without
    changing the recipe written to scene.json (thread count does not change the pixels).
    """
    from ..scene.clothing.dressing import garment_meshes
    from ..scene.render import configure_passes, render_animation
    from ..scene.sequence import build_scene

    recipe = recipe_from_json(recipe)  # a scene.json given back as a recipe: its old outcome goes
    cache = cache or AssetCache()
    build_recipe = recipe
    if threads is not None:
        build_recipe = dataclasses.replace(recipe, render=dataclasses.replace(recipe.render, threads=int(threads)))
    timings = {}
    with staged_sequence(Path(out_dir), recipe.name) as tmp:
        t0 = time.perf_counter()
        built = build_scene(build_recipe, cache)
        pass_dir = tmp / PASSES_DIR
        configure_passes(built.scene, pass_dir)
        timings["build_s"] = time.perf_counter() - t0
        if built.cloth_seconds:
            timings["cloth_s"] = built.cloth_seconds

        F = recipe.frames
        if recipe.clothing is not None and recipe.clothing.export_meshes:
            write_garment_meshes(tmp, garment_meshes(built.dressings, built.frame_offset, F, built.scene))
        t0 = time.perf_counter()
        frames = render_animation(built.scene, built.frame_offset, built.frame_offset + F - 1, tmp / "rgb", pass_dir,
                                  progress=frame_progress(recipe.name, F, progress))
        timings["render_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        write_sequence_outputs(tmp, frames, recipe, cache, built.clothing)
        timings["labels_s"] = time.perf_counter() - t0

    entry = {"name": recipe.name, "status": "done", "frames": F, "people": len(recipe.people),
             "device": built.device, "timings": {k: round(v, 3) for k, v in timings.items()}}
    if built.clothing:
        entry["clothing"] = clothing_counts(built.clothing)
    return entry
