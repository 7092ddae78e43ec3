"""Render sequences to the dataset format: the service behind `mayhem generate` and the add-on.

Each sequence is written into a hidden temporary folder and renamed into place only when
its images, masks, depth, labels and scene.json are all complete, so an interrupted run
never leaves a sequence that looks finished but is not. dataset.json is rewritten
atomically after every sequence.
"""
from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..core.atomic import atomic_write_text, safe_join
from ..core.config import Config
from ..core.exr import write_depth_exr
from ..core.labels import FORMAT_VERSION, compute_labels, write_labels
from ..core.png import strip_png_metadata, write_png
from ..core.recipe import AssetCache, sample_recipe

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
    atomic_write_text(path, json.dumps(recipe, indent=2, sort_keys=True) + "\n")


def render_sequence(recipe: dict, out_dir, cache: AssetCache | None = None, progress: bool = True) -> dict:
    """Render one recipe into OUT/<name>/ (via a temporary folder); returns its dataset entry."""
    from ..scene.render import configure_passes, read_passes, render_animation
    from ..scene.sequence import build_scene

    cache = cache or AssetCache()
    out_dir = Path(out_dir)
    final = safe_join(out_dir, recipe["name"])
    tmp = safe_join(out_dir, f".{recipe['name']}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    timings = {}
    t0 = time.perf_counter()
    built = build_scene(recipe, cache)
    pass_dir = tmp / "_passes"
    configure_passes(built.scene, pass_dir)
    timings["build_s"] = time.perf_counter() - t0

    F = recipe["frames"]
    bar = ProgressBar(recipe["name"], F, enabled=progress)
    bar.update(0)
    t0 = time.perf_counter()
    frames = render_animation(built.scene, 0, F - 1, tmp / "rgb", pass_dir,
                              progress=lambda i, n, s: bar.update(i + 1))
    timings["render_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    (tmp / "mask").mkdir()
    (tmp / "depth").mkdir()
    depth_stack = []
    for k, (rgb_path, pass_path) in enumerate(frames):
        expected = tmp / "rgb" / f"{k:06d}.png"
        if Path(rgb_path) != expected:
            Path(rgb_path).replace(expected)
        strip_png_metadata(expected)
        depth, instance = read_passes(pass_path)
        write_png(tmp / "mask" / f"{k:06d}.png", instance.astype(np.uint16))
        write_depth_exr(tmp / "depth" / f"{k:06d}.exr", depth.astype(np.float32))
        depth_stack.append(depth)
    shutil.rmtree(pass_dir, ignore_errors=True)
    labels = compute_labels(recipe, cache, depth=np.stack(depth_stack))
    write_labels(tmp / "labels.npz", labels)
    write_recipe(tmp / "scene.json", recipe)
    timings["labels_s"] = time.perf_counter() - t0

    if final.exists():
        old = safe_join(out_dir, f".{recipe['name']}.old")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)
    return {"name": recipe["name"], "status": "done", "frames": F, "people": len(recipe["people"]),
            "device": built.device, "timings": {k: round(v, 3) for k, v in timings.items()}}


def write_dataset_json(out_dir: Path, config: Config, entries: list[dict]) -> None:
    doc = {
        "format_version": FORMAT_VERSION,
        "generator": f"mayhem {__version__}",
        "global_seed": config.seed,
        "config": config.to_dict(),
        "sequences": entries,
    }
    atomic_write_text(out_dir / "dataset.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")


def generate_dataset(config: Config, out_dir, *, config_path=None, progress: bool = True,
                     indices: list[int] | None = None) -> dict:
    """Sample every recipe first (bad input fails before anything is written), then render."""
    out_dir = Path(out_dir)
    cache = AssetCache()
    indices = list(range(config.sequences)) if indices is None else indices
    t0 = time.perf_counter()
    recipes = [sample_recipe(config, i, config_path=config_path, cache=cache) for i in indices]
    sample_s = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for recipe in recipes:
        try:
            entry = render_sequence(recipe, out_dir, cache, progress=progress)
        except Exception as exc:  # one bad sequence must not end the batch
            log.exception("sequence %s failed", recipe["name"])
            entry = {"name": recipe["name"], "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                     "frames": recipe["frames"], "people": len(recipe["people"])}
        entry.setdefault("timings", {})["sample_s"] = round(sample_s / max(len(recipes), 1), 3)
        entries.append(entry)
        write_dataset_json(out_dir, config, entries)
    failed = sum(e["status"] != "done" for e in entries)
    log.info("%d sequence(s) done, %d failed -> %s", len(entries) - failed, failed, out_dir)
    return {"done": len(entries) - failed, "failed": failed, "entries": entries}
