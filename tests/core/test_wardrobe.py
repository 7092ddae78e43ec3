"""Outfit draws in the recipe (core.clothing.sampling) and the clothing section of the config."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from mayhem.core.clothing import sampling as wardrobe
from mayhem.core.clothing.fabrics import FABRICS, KIND_FABRICS
from mayhem.core.clothing.garments import GARMENT_KINDS
from mayhem.core.config import config_from_dict
from mayhem.core.errors import MayhemInputError
from mayhem.core.recipe import sample_recipe
from mayhem.core.recipe_types import recipe_to_json


def _outfits(clothing: dict, n: int = 400, seed: int = 0) -> list[dict]:
    config = config_from_dict({"clothing": clothing})
    rng = np.random.default_rng(seed)
    return [wardrobe.sample_outfit(rng, config, []) for _ in range(n)]


def test_defaults_dress_people_with_valid_garments():
    outfits = _outfits({})
    modes = Counter(o["mode"] for o in outfits)
    assert modes["none"] == 0
    assert 0.12 < modes["texture"] / len(outfits) < 0.28  # texture_probability 0.2
    for o in outfits:
        kinds = [g["kind"] for g in o["garments"]]
        assert kinds in (["dress"],) or (len(kinds) == 2 and kinds[1] in ("tshirt", "longsleeve")), kinds
        for g in o["garments"]:
            assert g["kind"] in GARMENT_KINDS and g["fabric"] in FABRICS
            assert g["fabric"] in KIND_FABRICS[g["kind"]]
            assert 0.0 <= g["length"] <= 1.0 and 0.0 <= g["sleeve"] <= 1.0 and 0.1 <= g["looseness"] <= 0.6
            assert set(g["look"]) >= {"pattern", "color", "color2", "period", "seed"}
    dresses = sum(o["garments"][0]["kind"] == "dress" for o in outfits) / len(outfits)
    assert 0.05 < dresses < 0.2  # dress_probability 0.15 of the simulated (texture turns dresses into trousers)


def test_painted_outfits_are_tight_clothing():
    for o in _outfits({"texture_probability": 1.0, "dress_probability": 0.5}):
        assert o["mode"] == "texture"
        kinds = [g["kind"] for g in o["garments"]]
        assert "skirt" not in kinds and "dress" not in kinds
        assert len(kinds) == 2


def test_probability_zero_leaves_bodies_bare_and_choices_are_honoured():
    assert all(o == {"mode": "none", "garments": []} for o in _outfits({"probability": 0.0}, n=50))
    outfits = _outfits({"tops": ["longsleeve"], "bottoms": ["skirt"], "dress_probability": 0.0,
                        "texture_probability": 0.0, "fabrics": ["wool"], "patterns": ["plaid"]}, n=50)
    for o in outfits:
        assert [g["kind"] for g in o["garments"]] == ["skirt", "longsleeve"]
        assert all(g["fabric"] == "wool" and g["look"]["pattern"] == "plaid" for g in o["garments"])
    # No allowed pattern is usual for leather: solid.
    leather = _outfits({"fabrics": ["leather"], "patterns": ["stripes"], "texture_probability": 0.0}, n=20)
    assert all(g["look"]["pattern"] == "solid" for o in leather for g in o["garments"])


def test_recipe_outfits_are_deterministic_and_leave_other_draws_alone():
    config = config_from_dict({"people": {"count": [3, 3]}, "frames": 4})
    a, b = recipe_to_json(sample_recipe(config, 5)), recipe_to_json(sample_recipe(config, 5))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a["clothing"] == {"preroll": 30, "settle": 5, "quality": 7, "collision_quality": 3, "export_meshes": False}
    assert all("outfit" in p for p in a["people"])
    # The clothing stream is separate: turning clothing off changes nothing else in the recipe.
    bare = recipe_to_json(sample_recipe(config_from_dict({"people": {"count": [3, 3]}, "frames": 4,
                                                          "clothing": {"probability": 0.0}}), 5))
    strip = lambda r: {k: v for k, v in r.items() if k != "people"}  # noqa: E731
    assert strip(bare) == {**strip(a), "clothing": a["clothing"]}
    for p, q in zip(a["people"], bare["people"]):
        assert {k: v for k, v in p.items() if k != "outfit"} == {k: v for k, v in q.items() if k != "outfit"}
        assert q["outfit"]["mode"] == "none"


@pytest.mark.parametrize("clothing, field", [
    ({"top_weights": [1.0]}, "clothing.top_weights"),
    ({"bottoms": ["kilt"]}, "clothing.bottoms"),
    ({"settle_frames": 30, "preroll_frames": 30}, "clothing.settle_frames"),
    ({"user_outfit_probability": 0.5}, "clothing.user_outfits"),
    ({"looseness": [0.8, 0.2]}, "clothing.looseness"),
    ({"fabrics": ["tweed"]}, "clothing.fabrics"),
])
def test_bad_clothing_config_names_the_field(clothing, field):
    with pytest.raises(MayhemInputError) as err:
        config_from_dict({"clothing": clothing}, "cfg.yaml")
    assert err.value.field == field
    assert "cfg.yaml" in str(err.value)


def test_missing_user_outfit_manifest_names_the_entry(tmp_path):
    config = config_from_dict({"clothing": {"user_outfit_probability": 1.0,
                                            "user_outfits": [str(tmp_path / "nope.yaml")]}})
    with pytest.raises(MayhemInputError) as err:
        sample_recipe(config, 0, config_path=tmp_path / "cfg.yaml")
    assert err.value.field == "clothing.user_outfits[0]"


def test_user_outfits_are_drawn_from_their_manifests(tmp_path):
    (tmp_path / "shirt.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    (tmp_path / "jeans.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    (tmp_path / "outfit.yaml").write_text(
        "outfit:\n  name: casual\n  garments:\n"
        "    - {file: jeans.obj, name: jeans, kind: bottom, fabric: denim}\n"
        "    - {file: shirt.obj, name: shirt, kind: top, fabric: cotton}\n")
    cfg = tmp_path / "cfg.yaml"
    config = config_from_dict({"people": {"count": [2, 2]}, "frames": 4,
                               "clothing": {"user_outfit_probability": 1.0, "user_outfits": ["outfit.yaml"]}}, cfg)
    recipe = recipe_to_json(sample_recipe(config, 0, config_path=cfg))  # relative manifest: next to the config
    for person in recipe["people"]:
        outfit = person["outfit"]
        assert outfit["mode"] == "simulated"
        assert [(g["source"], g["garment"], g["kind"], g["fabric"]) for g in outfit["garments"]] == [
            ("user", "jeans", "bottom", "denim"), ("user", "shirt", "top", "cotton")]
        # Named relative to its config field's root, never by absolute path (core.assets).
        assert all(g["manifest"] == "clothing.user_outfits[0]:outfit.yaml" for g in outfit["garments"])
        assert outfit["garments"][0]["look"]["pattern"] == "denim"
