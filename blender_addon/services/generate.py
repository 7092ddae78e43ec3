"""Render sequences to the dataset format: the service behind `mayhem generate` and the add-on.

`render_sequence` renders one recipe inside the current Blender (bpy module or binary). Each
sequence is written into a hidden temporary folder, flushed to disk, and renamed into place
only when its images, masks, depth, labels and scene.json are all complete, so an interrupted
run (a killed process, a power cut) never leaves a sequence that looks finished but is not.

`generate_dataset` is the library entry of `mayhem generate`: it plans and runs a batch through
services.batch, where every sequence renders in its own fresh process.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from .. import __version__
from ..core.atomic import atomic_write_text, fsync_dir, safe_join
from ..core.config import Config
from ..core.exr import write_depth_exr
from ..core.labels import FORMAT_VERSION, compute_labels, write_labels
from ..core.npzio import save_npz
from ..core.outcome import with_outcome, without_outcome
from ..core.png import strip_png_metadata, write_png
from ..core.recipe import AssetCache

log = logging.getLogger("mayhem.generate")


class ProgressBar:
    """A one-line text progress bar on stderr (no dependency; fine in logs and terminals)."""

    def __init__(self, label: str, total: int, enabled: bool = True, width: int = 30):
        self.label, self.total, self.enabled, self.width = label, total, enabled, width
        self.start = time.perf_counter()

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        frac = done / max(self.total, 1)
        filled = int(round(frac * self.width))
        elapsed = time.perf_counter() - self.start
        eta = elapsed / done * (self.total - done) if done else 0.0
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} frames"
                         f" {elapsed:6.1f}s eta {eta:5.1f}s")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def write_recipe(path: Path, recipe: dict) -> None:
    """scene.json: the recipe, with its "outcome" (core.outcome) when the render recorded one."""
    atomic_write_text(path, recipe_json(recipe))


def recipe_json(recipe: dict) -> str:
    """The canonical text of a recipe (scene.json): the batch driver compares against it."""
    return json.dumps(recipe, indent=2, sort_keys=True) + "\n"


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder of a finished sequence before it is renamed into place: after
    a power cut a visible sequence must not contain empty files that only Blender wrote."""
    for root, dirs, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for name in [*dirs, "."]:
            fsync_dir(Path(root) / name)


def write_frames(folder: Path, frames: list) -> tuple[np.ndarray, np.ndarray]:
    """Per frame k: the RGB PNG renamed to rgb/{k:06d}.png (Blender names it by its own frame
    number), the person masks (mask/: body and clothing, mask_body/, mask_clothing/) and depth
    from the frame's pass EXR. Returns the (F,H,W) depth and instance-mask stacks for the labels."""
    from ..scene.render import read_pass_layers

    for sub in ("mask", "mask_body", "mask_clothing", "depth"):
        (folder / sub).mkdir()
    depth_stack, instance_stack = [], []
    for k, (rgb_path, pass_path) in enumerate(frames):
        expected = folder / "rgb" / f"{k:06d}.png"
        if Path(rgb_path) != expected:
            Path(rgb_path).replace(expected)
        strip_png_metadata(expected)  # Cycles writes render timings into each PNG
        passes = read_pass_layers(pass_path)
        instance = passes.instance.astype(np.uint16)
        zero = np.zeros_like(instance)
        write_png(folder / "mask" / f"{k:06d}.png", instance)
        write_png(folder / "mask_body" / f"{k:06d}.png", np.where(passes.clothing, zero, instance))
        write_png(folder / "mask_clothing" / f"{k:06d}.png", np.where(passes.clothing, instance, zero))
        write_depth_exr(folder / "depth" / f"{k:06d}.exr", passes.depth.astype(np.float32))
        depth_stack.append(passes.depth)
        instance_stack.append(instance)
    return np.stack(depth_stack), np.stack(instance_stack)


def write_garment_meshes(folder: Path, meshes: dict) -> None:
    """garments/<person id>_<garment name>.npz per simulated garment (docs/format.md)."""
    if not meshes:
        return
    folder.mkdir()
    for stem, arrays in meshes.items():
        save_npz(safe_join(folder, f"{stem}.npz"), arrays)


def clothing_counts(records: list[dict]) -> dict:
    """{status: garments} of a sequence, for its dataset.json entry."""
    return dict(sorted(Counter(r["status"] for r in records).items()))


def _frame_progress(name: str, total: int, progress):
    if callable(progress):
        return lambda i, n, s: progress(i + 1, n)
    bar = ProgressBar(name, total, enabled=bool(progress))
    bar.update(0)
    return lambda i, n, s: bar.update(i + 1)


def render_sequence(recipe: dict, out_dir, cache: AssetCache | None = None, progress=True, *,
                    threads: int | None = None) -> dict:
    """Render one recipe into OUT/<name>/ (via a temporary folder); returns its dataset entry.

    progress: True (text bar on stderr), False, or a callable(frames_done, frames_total).
    threads: Cycles threads for this render, overriding the recipe's render.threads without
    changing the recipe written to scene.json (thread count does not change the pixels).
    """
    from ..scene.dressing import garment_meshes
    from ..scene.render import configure_passes, render_animation
    from ..scene.sequence import build_scene

    recipe = without_outcome(recipe)  # a scene.json given back as a recipe: its old outcome goes
    cache = cache or AssetCache()
    out_dir = Path(out_dir)
    final = safe_join(out_dir, recipe["name"])
    tmp = safe_join(out_dir, f".{recipe['name']}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    build_recipe = recipe
    if threads is not None:
        build_recipe = {**recipe, "render": {**recipe["render"], "threads": int(threads)}}
    timings = {}
    try:
        t0 = time.perf_counter()
        built = build_scene(build_recipe, cache)
        pass_dir = tmp / "_passes"
        configure_passes(built.scene, pass_dir)
        timings["build_s"] = time.perf_counter() - t0
        if built.cloth_seconds:
            timings["cloth_s"] = built.cloth_seconds

        F = recipe["frames"]
        if (recipe.get("clothing") or {}).get("export_meshes"):
            write_garment_meshes(tmp / "garments", garment_meshes(built.dressings, built.frame_offset, F, built.scene))
        t0 = time.perf_counter()
        frames = render_animation(built.scene, built.frame_offset, built.frame_offset + F - 1, tmp / "rgb", pass_dir,
                                  progress=_frame_progress(recipe["name"], F, progress))
        timings["render_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        depth, instance = write_frames(tmp, frames)
        shutil.rmtree(pass_dir, ignore_errors=True)
        labels = compute_labels(recipe, cache, depth=depth, clothing_outcome=built.clothing, instance=instance)
        write_labels(tmp / "labels.npz", labels)
        write_recipe(tmp / "scene.json", with_outcome(recipe, {"clothing": built.clothing}))
        _fsync_tree(tmp)
        timings["labels_s"] = time.perf_counter() - t0
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # never leave a half-written sequence behind
        raise

    if final.exists():
        old = safe_join(out_dir, f".{recipe['name']}.old")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)
    fsync_dir(out_dir)  # persist the rename itself
    entry = {"name": recipe["name"], "status": "done", "frames": F, "people": len(recipe["people"]),
             "device": built.device, "timings": {k: round(v, 3) for k, v in timings.items()}}
    if built.clothing:
        entry["clothing"] = clothing_counts(built.clothing)
    return entry


def dataset_document(config: Config | dict, entries: list[dict]) -> dict:
    config_dict = config if isinstance(config, dict) else config.to_dict()
    return {
        "format_version": FORMAT_VERSION,
        "generator": f"mayhem {__version__}",
        "global_seed": config_dict["seed"],
        "config": config_dict,
        "sequences": entries,
    }


def write_dataset_json(out_dir: Path, config: Config | dict, entries: list[dict]) -> None:
    """dataset.json, replaced atomically: a reader or a resumed run never sees half of it."""
    doc = dataset_document(config, entries)
    atomic_write_text(Path(out_dir) / "dataset.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")


def generate_dataset(config: Config, out_dir, *, config_path=None, progress: bool = True,
                     indices: list[int] | None = None, **options) -> dict:
    """Sample every recipe first (bad input fails before anything is written), then render each
    sequence in its own process. `options` are services.batch.BatchOptions fields (workers,
    executor, address, overwrite, force, retry_failed, blender, retries).

    Returns the batch summary: counts 'done', 'failed', 'skipped', the dataset 'entries', ...
    """
    from .batch import BatchOptions, plan_batch, run_batch

    plan = plan_batch(config, out_dir, config_path=config_path, indices=indices)
    return run_batch(plan, BatchOptions(progress=progress, **options))
