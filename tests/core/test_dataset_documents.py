"""core.dataset.documents: when a sequence on disk counts as complete for a recipe."""
from __future__ import annotations

import dataclasses

from mayhem.core.dataset.documents import canonical_json, sequence_complete
from mayhem.core.dataset.layout import FRAME_FOLDERS, LABELS_NPZ, SCENE_JSON, frame_path
from mayhem.core.recipe_types import recipe_from_json, recipe_to_json

SCENE = {"name": "seq_000000", "index": 0, "seed": 1, "frames": 2, "fps": 30.0, "image": {"width": 16, "height": 9},
         "render": {"device": "cpu", "samples": 1, "adaptive_threshold": 0.05, "denoise": False,
                    "persistent_data": True, "threads": 0},
         "world": {"kind": "hdri", "hdri": "builtin:city"},
         "camera": {"kind": "static", "focal_mm": 50.0, "sensor_width_mm": 36.0, "eye": [0, -4, 1.4], "target": [0, 0, 1]},
         "people": [{"id": 0, "instance_id": 1, "gender": "neutral", "model": "free", "betas": [0.0] * 10,
                     "skin": {"tone": 0.5}, "motion": {"ref": "builtin:walk_straight"}}]}
RECIPE = recipe_from_json(SCENE)


def _sequence(out, scene: dict):
    seq = out / "seq_000000"
    for folder, _ in FRAME_FOLDERS:
        (seq / folder).mkdir(parents=True)
        for k in range(2):
            frame_path(seq, folder, k).write_bytes(b"x")
    (seq / LABELS_NPZ).write_bytes(b"x")
    (seq / SCENE_JSON).write_text(canonical_json(scene))
    return seq


def test_complete_only_with_every_frame_and_the_same_recipe(tmp_path):
    seq = _sequence(tmp_path, {**recipe_to_json(RECIPE), "outcome": {"clothing": []}})
    assert sequence_complete(tmp_path, RECIPE)
    assert not sequence_complete(tmp_path, dataclasses.replace(RECIPE, frames=3))
    frame_path(seq, "mask", 1).unlink()
    assert not sequence_complete(tmp_path, RECIPE)


def test_scene_json_with_the_former_absolute_model_path_still_counts(tmp_path):
    """Datasets written before recipes were portable stored people[].model_path; resuming them
    must not re-render every sequence."""
    legacy = recipe_to_json(RECIPE)
    legacy["people"][0]["model_path"] = "/some/checkout/assets/bodies/free_body.npz"
    _sequence(tmp_path, legacy)
    assert sequence_complete(tmp_path, RECIPE)
    other = dataclasses.replace(RECIPE, people=[dataclasses.replace(RECIPE.people[0], gender="female")])
    assert not sequence_complete(tmp_path, other)
