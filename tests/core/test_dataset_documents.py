"""core.dataset.documents: when a sequence on disk counts as complete for a recipe."""
from __future__ import annotations

import json

from mayhem.core.dataset.documents import sequence_complete, write_recipe
from mayhem.core.dataset.layout import FRAME_FOLDERS, LABELS_NPZ, frame_path

RECIPE = {"name": "seq_000000", "frames": 2, "people": [{"id": 0, "gender": "neutral", "model": "free",
                                                        "betas": [0.0] * 10}]}


def _sequence(out, scene: dict):
    seq = out / "seq_000000"
    for folder, _ in FRAME_FOLDERS:
        (seq / folder).mkdir(parents=True)
        for k in range(2):
            frame_path(seq, folder, k).write_bytes(b"x")
    (seq / LABELS_NPZ).write_bytes(b"x")
    write_recipe(seq, scene)
    return seq


def test_complete_only_with_every_frame_and_the_same_recipe(tmp_path):
    seq = _sequence(tmp_path, {**RECIPE, "outcome": {"clothing": []}})
    assert sequence_complete(tmp_path, RECIPE)
    assert not sequence_complete(tmp_path, {**RECIPE, "frames": 3})
    frame_path(seq, "mask", 1).unlink()
    assert not sequence_complete(tmp_path, RECIPE)


def test_scene_json_with_the_former_absolute_model_path_still_counts(tmp_path):
    """Datasets written before recipes were portable stored people[].model_path; resuming them
    must not re-render every sequence."""
    legacy = json.loads(json.dumps(RECIPE))
    legacy["people"][0]["model_path"] = "/some/checkout/assets/bodies/free_body.npz"
    _sequence(tmp_path, legacy)
    assert sequence_complete(tmp_path, RECIPE)
    assert not sequence_complete(tmp_path, {**RECIPE, "people": [{**RECIPE["people"][0], "gender": "female"}]})
