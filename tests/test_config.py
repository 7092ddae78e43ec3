"""Config schema: defaults, the quickstart config, and errors that name file and field."""
from __future__ import annotations

from pathlib import Path

import pytest

from mayhem.core.config import Config, config_from_dict, describe_schema, load_config
from mayhem.core.errors import MayhemInputError

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_config_loads():
    cfg = load_config(ROOT / "assets" / "configs" / "quickstart.yaml")
    assert cfg.frames == 8 and cfg.camera.resolution == [320, 180]
    assert cfg.people.count == [1, 2]


def test_defaults_and_single_number_ranges():
    cfg = config_from_dict({"camera": {"focal_mm": 50}})
    assert cfg.camera.focal_mm == [50, 50]
    assert Config().render.device == "auto"


@pytest.mark.parametrize("data,field,words", [
    ({"camera": {"focal_mm": [60, 20]}}, "camera.focal_mm", "greater than"),
    ({"camera": {"fokal_mm": 20}}, "camera.fokal_mm", "unknown field"),
    ({"render": {"device": "gpu"}}, "render.device", "must be one of"),
    ({"people": {"count": [1, 40]}}, "people.count", "<= 15"),
    ({"people": {"count": [1.5, 2]}}, "people.count", "whole number"),
    ({"frames": "many"}, "frames", "expected a number"),
    ({"body": {"genders": ["robot"]}}, "body.genders", "among"),
    ({"camera": {"resolution": [320]}}, "camera.resolution", "width, height"),
    ({"world": {"shadow_catcher": "yes"}}, "world.shadow_catcher", "true or false"),
    ({"body": "free"}, "body", "mapping"),
])
def test_bad_fields_are_named(tmp_path, data, field, words):
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(MayhemInputError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: {field}: ")
    assert words in str(err.value)


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("seed: 1\ncamera: [\n")
    with pytest.raises(MayhemInputError, match=r"broken.yaml: invalid YAML at line"):
        load_config(path)


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("seed: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(MayhemInputError, match="evil.yaml"):
        load_config(path)


def test_schema_is_documented():
    rows = describe_schema()
    assert all(doc for _, _, doc in rows)
    from mayhem.core.config import CameraConfig

    assert ("camera.focal_mm", CameraConfig().focal_mm) in [(n, d) for n, d, _ in rows]
    assert len({n for n, _, _ in rows}) == len(rows)


@pytest.mark.parametrize("preset", sorted(p.name for p in (ROOT / "assets" / "configs").glob("*.yaml")))
def test_presets_load_and_sample(preset):
    """Every bundled preset validates and yields a recipe (no Blender needed)."""
    import dataclasses

    from mayhem.core.recipe import sample_recipe

    cfg = load_config(ROOT / "assets" / "configs" / preset)
    cfg = dataclasses.replace(cfg, frames=min(cfg.frames, 4))
    recipe = sample_recipe(cfg, 0, config_path=preset)
    assert recipe["people"] and recipe["image"]["width"] == cfg.camera.resolution[0]
    assert len(recipe["people"]) >= cfg.people.count[0] - recipe["people_dropped"]
