"""What rendering a recipe produced that the recipe cannot say in advance (pure Python).

A recipe holds every random draw, but some results are only known after Blender ran: whether
each garment's cloth simulation passed its checks, was retried, or fell back to the skin-bound
garment. scene.json stores them beside the recipe under the "outcome" key, and labels.npz as
the JSON string "clothing_outcome" (docs/format.md). Anything comparing a stored scene.json with
a freshly sampled recipe, or rebuilding a scene from it, must drop that key first.
"""
from __future__ import annotations

import json
import math

OUTCOME_KEY = "outcome"
# Simulation figures are rounded before they are recorded, so scene.json and labels.npz stay
# byte-identical across runs (see scene/clothing/dressing.py for the run-to-run spread measured).
FIGURE_DIGITS = 6


def without_outcome(recipe: dict) -> dict:
    """The recipe part of a scene.json (a shallow copy without the "outcome" key)."""
    return {k: v for k, v in recipe.items() if k != OUTCOME_KEY}


def with_outcome(recipe: dict, outcome: dict) -> dict:
    """What scene.json holds: the recipe plus its outcome."""
    return {**without_outcome(recipe), OUTCOME_KEY: outcome}


def rounded(value, digits: int = FIGURE_DIGITS):
    """A JSON-safe figure: floats rounded, non-finite floats as None; other values unchanged."""
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    return value


def outcome_json(records: list[dict]) -> str:
    """Canonical JSON text of outcome records (sorted keys, no spaces to vary)."""
    return json.dumps(records, sort_keys=True, separators=(",", ":"), allow_nan=False)
