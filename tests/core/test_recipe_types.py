"""core.recipe_types and core.assets references: the typed recipe writes exactly the scene.json
the dicts wrote, reads it back, names bad fields, and never holds an absolute machine path."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mayhem.core import assets
from mayhem.core.config import config_from_dict
from mayhem.core.dataset.documents import canonical_json
from mayhem.core.errors import MayhemInputError
from mayhem.core.recipe import AssetCache, sample_recipe
from mayhem.core.recipe_types import CameraRecipe, PersonRecipe, Recipe, recipe_from_json, recipe_to_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def recipes():
    out = []
    for name in ("quickstart", "group_3_8", "mesh_scene", "orbit"):
        path = ROOT / "assets" / "configs" / f"{name}.yaml"
        data = yaml.safe_load(path.read_text())
        data["frames"] = 4
        out.append(sample_recipe(config_from_dict(data, path), 1, config_path=path))
    return out


def test_round_trip_is_byte_identical(recipes):
    for recipe in recipes:
        assert isinstance(recipe, Recipe) and all(isinstance(p, PersonRecipe) for p in recipe.people)
        assert isinstance(recipe.camera, CameraRecipe)
        text = canonical_json(recipe_to_json(recipe))
        again = recipe_from_json(json.loads(text))
        assert canonical_json(recipe_to_json(again)) == text
        assert again == recipe


def test_json_keeps_nulls_it_wrote_and_leaves_out_unset_keys(recipes):
    doc = recipe_to_json(recipes[0])
    assert doc["people"][0]["skin"]["texture"] is None          # written as null, as before
    assert "scene" not in doc["world"] and "clothing" in doc and "object" not in doc["people"][0]
    statics = [recipe_to_json(r)["camera"] for r in recipes if r.camera.is_static]
    assert all("world_to_cam" not in cam for cam in statics)
    assert "framing" in doc["camera"] and "motion" in doc["camera"]  # the draw record stays flat beside the fields


@pytest.mark.parametrize("change, field, words", [
    (lambda d: d.pop("frames"), "frames", "missing"),
    (lambda d: d.update(frames="2"), "frames", "whole number"),
    (lambda d: d["people"][0].update(betas="x"), "people[0].betas", "list"),
    (lambda d: d["people"][0]["motion"].update(ref=3), "people[0].motion.ref", "string"),
    (lambda d: d["people"][0]["placement"].update(x=float("nan")), "people[0].placement.x", "number"),
    (lambda d: d["world"].update(colour="red"), "world.colour", "unknown field"),
    (lambda d: d["image"].update(width=True), "image.width", "whole number"),
])
def test_bad_scene_json_names_file_and_field(recipes, change, field, words):
    doc = json.loads(json.dumps(recipe_to_json(recipes[0])))
    change(doc)
    with pytest.raises(MayhemInputError) as err:
        recipe_from_json(doc, "scene.json")
    assert str(err.value).startswith(f"scene.json: {field}: ") and words in str(err.value)


def test_outcome_and_legacy_model_path_are_not_recipe(recipes):
    doc = recipe_to_json(recipes[0])
    legacy = {**doc, "outcome": {"clothing": []},
              "people": [{**p, "model_path": "/old/checkout/free_body.npz"} for p in doc["people"]]}
    assert recipe_to_json(recipe_from_json(legacy)) == doc


# ---------------------------------------------------------------------------- references
def test_root_references_resolve_and_stay_inside(tmp_path):
    folder = tmp_path / "amass"
    (folder / "CMU").mkdir(parents=True)
    clip = folder / "CMU" / "01.npz"
    clip.write_bytes(b"x")
    ref = assets.root_ref("motion.source", folder, clip)
    assert ref == "motion.source:CMU/01.npz"
    assert assets.resolve_ref(ref, {"motion.source": folder}, "motion.ref") == clip
    with pytest.raises(MayhemInputError, match="asset root 'motion.source' is not set.*--root motion.source=FOLDER"):
        assets.resolve_ref(ref, {}, "motion.ref")
    with pytest.raises(MayhemInputError, match="may not leave its root"):
        assets.resolve_ref("motion.source:../secrets.npz", {"motion.source": folder}, "motion.ref")
    with pytest.raises(MayhemInputError, match="not an asset reference"):
        assets.resolve_ref("walk.npz", {}, "motion.ref")
    assert assets.ref_stem("body.model:SMPLX_NEUTRAL.npz") == "SMPLX_NEUTRAL"
    assert assets.parse_roots([f"a={folder}"]) == {"a": folder.resolve()}
    with pytest.raises(MayhemInputError, match="--root.*NAME=FOLDER"):
        assets.parse_roots(["nofolder"])


def test_files_outside_every_root_get_a_root_of_their_own(tmp_path):
    (tmp_path / "x" / "models").mkdir(parents=True)
    (tmp_path / "y" / "models").mkdir(parents=True)
    roots = {"prefs.smplx": tmp_path / "x"}
    assert assets.ref_under_roots(tmp_path / "x" / "models" / "m.npz", roots) == "prefs.smplx:models/m.npz"
    ref = assets.ref_under_roots(tmp_path / "y" / "models" / "m.npz", roots)
    assert ref == "folder.models:m.npz" and roots["folder.models"] == tmp_path / "y" / "models"
    other = assets.ref_under_roots(tmp_path / "x" / "other.npz", {**roots, "folder.models": tmp_path / "z"})
    assert other == "prefs.smplx:other.npz"


def test_user_files_are_sampled_as_root_references(tmp_path, motion_folder, smplx_npz):
    """No recipe string holds the machine's paths; each names the config field's root."""
    texture = tmp_path / "tex" / "skin.png"
    texture.parent.mkdir()
    texture.write_bytes(b"png")
    config = config_from_dict({"frames": 2, "people": {"count": [2, 2]}, "motion": {"source": str(motion_folder)},
                               "body": {"model": str(smplx_npz), "skin_textures": [str(texture)]}})
    cache = AssetCache()
    doc = recipe_to_json(sample_recipe(config, 0, cache=cache))
    text = json.dumps(doc)
    assert str(tmp_path) not in text and str(motion_folder) not in text and str(smplx_npz.parent) not in text
    person = doc["people"][0]
    assert person["model"] == f"body.model:{smplx_npz.name}"
    assert person["motion"]["ref"] == "motion.source:walk.npz"
    assert person["skin"]["texture"] == "body.skin_textures[0]:skin.png"
    assert cache.roots["motion.source"] == motion_folder.resolve()
    assert cache.path(person["skin"]["texture"], "skin.texture") == texture.resolve()
