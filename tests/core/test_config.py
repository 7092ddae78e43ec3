"""Config schema: defaults, the quickstart config, and errors that name file and field."""
from __future__ import annotations

from pathlib import Path

import pytest

from mayhem.core.config import Config, config_from_dict, describe_schema, load_config
from mayhem.core.errors import MayhemInputError

ROOT = Path(__file__).resolve().parents[2]


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
    assert recipe.people and recipe.image.width == cfg.camera.resolution[0]
    assert len(recipe.people) >= cfg.people.count[0] - recipe.people_dropped


def _cli(argv, capsys):
    from mayhem.cli import main

    status = main(argv)
    return status, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("name,content,words", [
    ("latin1.yaml", "seed: 1\n# caf\xe9\n".encode("latin-1"), "not UTF-8 text (line 2, byte 13: b'\\xe9')"),
    ("empty.yaml", b"", "the config is empty"),
    ("comments.yaml", b"# sequences: 3\n\n", "the config is empty"),
])
def test_careless_config_files_are_refused_in_one_line(tmp_path, capsys, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out"
    status, err = _cli(["generate", str(path), "--out", str(out)], capsys)
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith(f"mayhem: error: {path}: ") and words in err[0]
    assert not out.exists()  # nothing written


def test_explicit_empty_mapping_means_every_default(tmp_path):
    path = tmp_path / "defaults.yaml"
    path.write_text("{}\n")
    assert load_config(path) == Config()


def test_out_pointing_at_a_file_is_refused_in_one_line(tmp_path, capsys):
    target = tmp_path / "dataset.txt"
    target.write_text("not a folder\n")
    config = tmp_path / "one.yaml"
    config.write_text("sequences: 1\nframes: 1\n")
    status, err = _cli(["generate", str(config), "--out", str(target)], capsys)
    assert status == 2 and len(err) == 1, err
    assert err[0] == f"mayhem: error: {target}: --out: exists and is not a folder; name a new or existing dataset folder"
    assert target.read_text() == "not a folder\n"
