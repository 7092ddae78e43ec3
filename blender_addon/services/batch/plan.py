"""Planning: every recipe of a batch sampled up front with core code (no Blender), so bad input
stops the run before anything renders; and what changed between two configs."""
from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ...core.config import Config
from ...core.errors import MayhemInputError
from ...core.recipe import AssetCache, sample_recipe

log = logging.getLogger("mayhem.batch")

IGNORED_CONFIG_FIELDS = ("sequences",)  # asking for more (or fewer) sequences is not a change
_MISSING = object()


@dataclass
class Plan:
    """Every recipe of the batch, sampled up front (no Blender), and what sampling cost."""

    config: Config
    out_dir: Path
    recipes: list
    sample_s: list
    config_path: object = None
    sample_total_s: float = 0.0


def check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise MayhemInputError(out, "--out", "exists and is not a folder; name a new or existing dataset folder")


def plan_batch(config: Config, out_dir, *, config_path=None, indices=None, progress: bool = False) -> Plan:
    """Sample the recipes of sequences `indices` (default 0..config.sequences-1).

    Raises MayhemInputError (nothing written) for bad config, models, motions or HDRIs.
    progress: report on stderr while sampling (it takes a while for thousands of sequences).
    """
    check_out_dir(Path(out_dir))
    indices = list(range(config.sequences)) if indices is None else [int(i) for i in indices]
    cache = AssetCache()
    recipes, times = [], []
    t_all = last = time.perf_counter()
    tty = progress and sys.stderr.isatty()
    for k, i in enumerate(indices):
        t0 = time.perf_counter()
        recipes.append(sample_recipe(config, i, config_path=config_path, cache=cache))
        times.append(time.perf_counter() - t0)
        if progress and t0 - last >= (1.0 if tty else 30.0):
            last = t0
            sys.stderr.write(f"{chr(13) if tty else ''}sampling recipes: {k + 1}/{len(indices)}{'' if tty else chr(10)}")
            sys.stderr.flush()
    if tty and time.perf_counter() - t_all >= 1.0:
        sys.stderr.write(f"\rsampling recipes: {len(indices)}/{len(indices)}\n")
    total = time.perf_counter() - t_all
    log.debug("sampled %d recipe(s) in %.2f s", len(recipes), total)
    return Plan(config=config, out_dir=Path(out_dir).expanduser(), recipes=recipes, sample_s=times,
                config_path=config_path, sample_total_s=total)


def _short(value) -> str:
    text = "(absent)" if value is _MISSING else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def config_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted paths of the fields that differ, each with its old and new value."""
    changes = []
    for key in sorted(set(old) | set(new)):
        path = f"{prefix}.{key}" if prefix else key
        if not prefix and key in IGNORED_CONFIG_FIELDS:
            continue
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if isinstance(a, dict) and isinstance(b, dict):
            changes.extend(config_changes(a, b, path))
        elif a != b:
            changes.append(f"{path} ({_short(a)} -> {_short(b)})")
    return changes
