"""scene.json and dataset.json: writing them, reading them back, and judging completeness."""
from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path

from ... import __version__
from ..errors import MayhemInputError
from ..io.atomic import atomic_write_text
from ..recipe_types import Recipe, recipe_from_json, recipe_to_json
from .labels import FORMAT_VERSION
from .layout import DATASET_JSON, FRAME_FOLDERS, LABELS_NPZ, SCENE_JSON, frame_file
from .outcome import with_outcome

log = logging.getLogger("mayhem.dataset")


def canonical_json(obj) -> str:
    """The one text form of a recipe or dataset document: sorted keys, 2-space indent, newline."""
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def normalised(obj):
    """obj as it reads back from JSON (tuples become lists, keys strings)."""
    return json.loads(json.dumps(obj, sort_keys=True))


def write_recipe(seq_dir: Path, recipe: Recipe, outcome: dict | None = None) -> None:
    """scene.json: the recipe, with its "outcome" (core.dataset.outcome) when the render recorded one."""
    document = recipe_to_json(recipe)
    atomic_write_text(Path(seq_dir) / SCENE_JSON, canonical_json(document if outcome is None else
                                                                 with_outcome(document, outcome)))


def read_recipe(seq_dir: Path) -> dict | None:
    """A sequence's scene.json, or None when it is missing or unreadable."""
    try:
        scene = json.loads((Path(seq_dir) / SCENE_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return scene if isinstance(scene, dict) else None


def _stored_recipe(scene: dict) -> dict | None:
    """A stored scene.json's recipe as today's recipes write it (outcome and legacy keys
    dropped: people[].model_path, written before recipes were portable), or None when it is
    not a recipe."""
    try:
        return normalised(recipe_to_json(recipe_from_json(scene)))
    except MayhemInputError:
        return None


def sequence_complete(out_dir, recipe: Recipe) -> bool:
    """True when OUT/<name>/ holds this exact recipe's finished sequence (scene.json's render
    "outcome", e.g. which garments fell back, is not part of the recipe)."""
    folder = Path(out_dir) / recipe.name
    scene = read_recipe(folder)
    if scene is None or _stored_recipe(scene) != normalised(recipe_to_json(recipe)) \
            or not (folder / LABELS_NPZ).is_file():
        return False
    F = int(recipe.frames)
    for sub, ext in FRAME_FOLDERS:
        try:
            present = set(os.listdir(folder / sub))
        except OSError:
            return False
        if any(frame_file(k, ext) not in present for k in range(F)):
            return False
    return True


def clothing_counts(records: list[dict]) -> dict:
    """{status: garments} of a sequence, for its dataset.json entry."""
    return dict(sorted(Counter(r["status"] for r in records).items()))


def dataset_document(config_dict: dict | None, entries: list[dict], **extra) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "generator": f"mayhem {__version__}",
        "global_seed": None if config_dict is None else config_dict["seed"],
        "config": config_dict,
        "sequences": entries,
        **extra,
    }


def write_dataset_json(out_dir, doc: dict) -> None:
    """dataset.json, replaced atomically: a reader or a resumed run never sees half of it."""
    atomic_write_text(Path(out_dir) / DATASET_JSON, canonical_json(doc))


def read_dataset_json(out_dir, hint: str = "") -> dict | None:
    """OUT/dataset.json as a dict; None when there is none; unreadable ones are bad input."""
    path = Path(out_dir) / DATASET_JSON
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MayhemInputError(path, None, f"unreadable ({exc}){hint}") from None
    if not isinstance(doc, dict):
        raise MayhemInputError(path, None, f"not a Mayhem dataset.json{hint}")
    return doc


def add_dataset_entry(out_dir, entry: dict, **extra) -> None:
    """Add or replace one sequence's entry; a dataset.json from `mayhem generate` keeps its config.
    An unreadable one is replaced (the sequences on disk are what counts)."""
    try:
        doc = read_dataset_json(out_dir)
    except MayhemInputError as exc:
        log.warning("%s; writing a new one", exc)
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("sequences"), list):
        doc = dataset_document(None, [], **extra)
    doc["sequences"] = [e for e in doc["sequences"] if e.get("name") != entry["name"]] + [entry]
    write_dataset_json(out_dir, doc)


def completed_sequences(dataset_dir) -> list[str]:
    """Names of the sequences dataset.json lists as done, for the readers of a dataset."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise MayhemInputError(dataset_dir, None, "dataset folder not found")
    index = dataset_dir / DATASET_JSON
    if not index.is_file():
        raise MayhemInputError(dataset_dir, DATASET_JSON, "not a Mayhem dataset folder (no dataset.json)")
    doc = read_dataset_json(dataset_dir)
    try:
        return [str(e["name"]) for e in doc["sequences"] if e.get("status") == "done"]
    except (KeyError, TypeError, AttributeError) as exc:
        raise MayhemInputError(index, "sequences", f"unreadable sequence list ({exc!r})") from None
