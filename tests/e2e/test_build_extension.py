"""The extension zip carries the add-on, its manifest and the free assets it needs."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_extension_zip_has_manifest_code_and_assets(tmp_path):
    res = subprocess.run([sys.executable, "-m", "headless.build_extension", "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    zip_path = Path(res.stdout.strip())
    names = set(zipfile.ZipFile(zip_path).namelist())
    assert "blender_manifest.toml" in names and "__init__.py" in names
    assert "core/body/model.py" in names and "ui/__init__.py" in names
    assert "assets/bodies/free_body.npz" in names
    assert any(n.startswith("assets/motions/") and n.endswith(".npz") for n in names)
    assert not any("__pycache__" in n for n in names)
    # The packaged assets are the ones core.assets finds inside an installed extension.
    extract = tmp_path / "x"
    zipfile.ZipFile(zip_path).extractall(extract)
    code = ("import importlib.util, sys; p=sys.argv[1]; "
            "spec=importlib.util.spec_from_file_location('mayhem', p+'/__init__.py', submodule_search_locations=[p]); "
            "m=importlib.util.module_from_spec(spec); sys.modules['mayhem']=m; spec.loader.exec_module(m); "
            "from mayhem.core import assets; print(assets.free_body_path())")
    out = subprocess.run([sys.executable, "-c", code, str(extract)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == extract / "assets" / "bodies" / "free_body.npz"
