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
