"""A sequence re-renders from its scene.json alone, in another copy of the project.

The dataset and the project (add-on code and assets) are copied to another folder, and a
fresh process that imports Mayhem from the copy renders the sequence again from scene.json.
Its labels must be byte-identical, and the scene.json of the built-in defaults must name no
file of the original checkout: assets are referenced by id (`free`, `builtin:NAME`, a bundled
HDRI's name).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_output_hashes import render  # noqa: E402  (the quickstart at test size, as the hash test)

RERENDER = """
import json, sys
from pathlib import Path
import mayhem
from mayhem.services.generate import render_sequence
assert Path(mayhem.__file__).resolve().is_relative_to(Path(sys.argv[1]).resolve()), mayhem.__file__
recipe = json.loads(Path(sys.argv[2]).read_text())
render_sequence(recipe, sys.argv[3], progress=False)
"""


def _strings(tree):
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _strings(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _strings(value)
    elif isinstance(tree, str):
        yield tree


def test_scene_json_rerenders_in_another_copy_with_identical_labels(tmp_path):
    dataset = render("quickstart", tmp_path / "dataset")
    scene = json.loads((dataset / "seq_000000" / "scene.json").read_text())
    leaked = [s for s in _strings(scene) if str(ROOT) in s or s.startswith("/")]
    assert not leaked, leaked

    other = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "blender_addon", other / "project" / "blender_addon")
    shutil.copytree(ROOT / "assets", other / "project" / "assets",
                    ignore=shutil.ignore_patterns("*.py", "*.md", "configs"))
    shutil.copytree(dataset, other / "data")
    (other / "path").mkdir()
    (other / "path" / "mayhem").symlink_to(other / "project" / "blender_addon")
    env = {k: v for k, v in os.environ.items() if k != "MAYHEM_ASSETS"}
    env["PYTHONPATH"] = str(other / "path")
    subprocess.run([sys.executable, "-c", RERENDER, str(other / "project"), str(other / "data" / "seq_000000" / "scene.json"),
                    str(other / "again")], check=True, cwd=other, env=env, timeout=600)
    again = other / "again" / "seq_000000"
    assert (again / "labels.npz").read_bytes() == (dataset / "seq_000000" / "labels.npz").read_bytes()
    assert json.loads((again / "scene.json").read_text()) == scene


RERENDER_WITH_ROOTS = RERENDER.replace(
    "render_sequence(recipe, sys.argv[3], progress=False)",
    "from mayhem.core.assets import parse_roots\nfrom mayhem.core.recipe import AssetCache\n"
    "render_sequence(recipe, sys.argv[3], AssetCache(roots=parse_roots(sys.argv[4:])), progress=False)")


def test_user_files_are_named_by_root_and_rerender_elsewhere(tmp_path, motion_folder):
    """A config's own files (an AMASS folder, an HDRI file) are written into scene.json relative
    to the config field that named them (`motion.source:walk.npz`, `world.hdri:sky.exr`); moved
    to another machine's folders and named there (--root), the sequence renders to the same labels."""
    import bpy
    import yaml
    from test_output_hashes import OVERRIDES, _merge  # noqa: E402
    from test_output_hashes import ROOT as PROJECT

    from mayhem.core.config import config_from_dict
    from mayhem.services.batch import BatchOptions, generate

    data = tmp_path / "mine"
    shutil.copytree(motion_folder, data / "amass")
    sky = Path(bpy.utils.system_resource("DATAFILES")) / "studiolights" / "world" / "forest.exr"
    (data / "hdri").mkdir()
    shutil.copy(sky, data / "hdri" / "sky.exr")
    base = yaml.safe_load((PROJECT / "assets" / "configs" / "quickstart.yaml").read_text())
    cfg = _merge(base, {**OVERRIDES, "motion": {"source": str(data / "amass")},
                        "world": {"hdri": str(data / "hdri" / "sky.exr")}, "clothing": {"probability": 0.0}})
    summary = generate(config_from_dict(cfg), tmp_path / "dataset", BatchOptions(workers=1, progress=False))
    assert summary["failed"] == 0, summary
    scene = json.loads((tmp_path / "dataset" / "seq_000000" / "scene.json").read_text())
    leaked = [s for s in _strings(scene) if str(tmp_path) in s or s.startswith("/")]
    assert not leaked, leaked
    assert scene["world"]["hdri"] == "world.hdri:sky.exr"
    assert all(p["motion"]["ref"].startswith("motion.source:") for p in scene["people"])

    other = tmp_path / "elsewhere"
    shutil.move(data, other / "theirs")  # the original folders are gone
    env = {k: v for k, v in os.environ.items() if k != "MAYHEM_ASSETS"}
    run = subprocess.run([sys.executable, "-c", RERENDER_WITH_ROOTS, str(Path(__file__).resolve().parents[2]),
                          str(tmp_path / "dataset" / "seq_000000" / "scene.json"), str(other / "again")],
                         capture_output=True, text=True, cwd=other, env=env, timeout=600)
    # Unnamed roots fail with the root to give: the HDRI's is the first the scene needs.
    assert run.returncode != 0 and "asset root 'world.hdri' is not set" in run.stderr and "--root world.hdri=" in run.stderr
    subprocess.run([sys.executable, "-c", RERENDER_WITH_ROOTS, str(Path(__file__).resolve().parents[2]),
                    str(tmp_path / "dataset" / "seq_000000" / "scene.json"), str(other / "again"),
                    f"motion.source={other / 'theirs' / 'amass'}", f"world.hdri={other / 'theirs' / 'hdri'}"],
                   check=True, cwd=other, env=env, timeout=600)
    again = other / "again" / "seq_000000"
    assert (again / "labels.npz").read_bytes() == (tmp_path / "dataset" / "seq_000000" / "labels.npz").read_bytes()
