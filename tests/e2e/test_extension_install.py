"""The extension zip passes Blender's own validator and installs and enables through bpy's
extension API, in the Blender line the suite runs on; the manifest's version range admits it.
The zip is this platform's (headless/build_extension.py --platform host); Blender unpacks its
Pillow and tqdm wheels into the user folder, which BLENDER_USER_RESOURCES points at a
temporary folder, so nothing lands in ~/.config/blender."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(__import__("importlib").util.find_spec("bpy") is None, reason="needs bpy")

# Runs in a fresh interpreter: installing registers the add-on's classes, which must not clash
# with the source-tree add-on other tests register, and the user's own repositories stay untouched.
_INSTALL = textwrap.dedent("""
    import json, os, sys, tempfile
    import bpy
    zip_path, repo_dir = sys.argv[1], sys.argv[2]
    repos = bpy.context.preferences.extensions.repos
    repos.new(name="mayhem_ci", module="mayhem_ci", custom_directory=repo_dir, source="USER")
    result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="mayhem_ci",
                                                      enable_on_install=True)
    enabled = "bl_ext.mayhem_ci.mayhem" in bpy.context.preferences.addons
    operators = sorted(c for c in dir(bpy.types) if c.startswith("MAYHEM_OT_"))
    has_assets = os.path.isfile(os.path.join(repo_dir, "mayhem", "assets", "bodies", "free_body.npz"))
    print("RESULT " + json.dumps({"result": sorted(result), "enabled": enabled, "operators": operators,
                                 "version": list(bpy.app.version), "assets": has_assets,
                                 "extensions": bpy.utils.user_resource("EXTENSIONS")}))
""")

# A later, fresh process with the same user folder: `import bpy` puts the extension's
# site-packages ahead of the venv's (in the installing process it is appended last, so a venv
# copy of Pillow would win there), so this is where the bundled copies must be the ones used.
_IMPORT = textwrap.dedent("""
    import json, sys
    import bpy
    import numpy as np
    import PIL, tqdm
    from PIL import Image
    ids = np.array([[0, 1, 32767], [32768, 65534, 65535]], np.uint16)
    back = np.asarray(Image.frombytes("I;16", (3, 2), ids.astype("<u2").tobytes()))
    print("RESULT " + json.dumps({"PIL": [PIL.__version__, PIL.__file__], "tqdm": [tqdm.__version__, tqdm.__file__],
                                 "round_trip": bool((back == ids).all())}))
""")


def _build(out: Path) -> Path:
    res = subprocess.run([sys.executable, "-m", "headless.build_extension", "--out", str(out), "--platform", "host"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return Path(res.stdout.strip())


def _run(code: str, *args, user: Path) -> dict:
    res = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "BLENDER_USER_RESOURCES": str(user)})
    line = next((x for x in res.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, res.stdout[-2000:] + res.stderr[-2000:]
    return json.loads(line[len("RESULT "):])


def _blender_ext_cli() -> Path:
    import bpy

    return Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"


def test_manifest_range_admits_this_blender():
    import bpy

    manifest = tomllib.loads((ROOT / "blender_addon" / "blender_manifest.toml").read_text())
    low = tuple(int(x) for x in manifest["blender_version_min"].split("."))
    high = tuple(int(x) for x in manifest["blender_version_max"].split("."))
    assert low <= tuple(bpy.app.version) < high  # blender_version_max is exclusive


def test_zip_passes_blenders_validator(tmp_path):
    zip_path = _build(tmp_path)
    res = subprocess.run([sys.executable, str(_blender_ext_cli()), "validate", str(zip_path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Success" in res.stdout, res.stdout


def test_zip_installs_and_enables_with_its_own_pillow_and_tqdm(tmp_path):
    zip_path = _build(tmp_path / "dist")
    repo, user = tmp_path / "repo", tmp_path / "user"
    repo.mkdir()
    got = _run(_INSTALL, zip_path, repo, user=user)
    assert got["result"] == ["FINISHED"] and got["enabled"], got  # a wrong-platform zip also says FINISHED
    assert {"MAYHEM_OT_add_body", "MAYHEM_OT_render_dataset", "MAYHEM_OT_dress_body"} <= set(got["operators"])
    assert got["assets"], "the installed extension lacks its free body"
    site = Path(got["extensions"]) / ".local" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    assert site.is_relative_to(user), got["extensions"]
    # Only this Python's wheel (of the cp311 and cp313 ones in the zip) was unpacked.
    binaries = [p.name for p in (site / "PIL").iterdir() if p.suffix in (".so", ".pyd")]
    assert any(n.startswith("_imaging.") for n in binaries), binaries
    assert all(n.endswith(tuple(EXTENSION_SUFFIXES)) for n in binaries), binaries

    got = _run(_IMPORT, user=user)
    assert got["PIL"] == ["13.0.0", str(site / "PIL" / "__init__.py")], got
    assert got["tqdm"] == ["4.70.1", str(site / "tqdm" / "__init__.py")], got
    assert got["round_trip"]


def test_validator_rejects_a_broken_manifest(tmp_path):
    """The validator check above can fail: a manifest without its id is refused."""
    import zipfile

    good = zipfile.ZipFile(_build(tmp_path / "dist"))
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for name in good.namelist():
            data = good.read(name)
            if name == "blender_manifest.toml":
                data = b"\n".join(x for x in data.splitlines() if not x.startswith(b"id ="))
            zf.writestr(name, data)
    res = subprocess.run([sys.executable, str(_blender_ext_cli()), "validate", str(bad)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "id" in (res.stdout + res.stderr)
