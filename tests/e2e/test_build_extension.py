"""The extension zips carry the add-on, its manifest, the free assets and their platform's
pinned wheels; a stock Blender's Python without Pillow gets the same wheels unpacked.

The host platform's wheels (about 15 MB) are downloaded once into the wheel cache
(~/.cache/mayhem/wheels or MAYHEM_WHEEL_CACHE) and reused by later runs."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from headless import build_extension  # noqa: E402

wheels = build_extension.wheels
HOST = wheels.host_platform()


def _build(out: Path, *args: str) -> list[Path]:
    res = subprocess.run([sys.executable, "-m", "headless.build_extension", "--out", str(out), *args],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return [Path(line) for line in res.stdout.split()]


def test_host_zip_has_manifest_code_assets_and_wheels(tmp_path):
    (zip_path,) = _build(tmp_path, "--platform", "host")
    assert zip_path.name == f"mayhem-0.1.0-{HOST.replace('-', '_')}.zip"
    names = set(zipfile.ZipFile(zip_path).namelist())
    assert "blender_manifest.toml" in names and "__init__.py" in names and "wheels.py" in names
    assert "core/body/model.py" in names and "ui/__init__.py" in names
    assert "assets/bodies/free_body.npz" in names
    assert any(n.startswith("assets/motions/") and n.endswith(".npz") for n in names)
    assert not any("__pycache__" in n for n in names)
    expected = wheels.wheels_for(HOST)
    assert {n for n in names if n.startswith("wheels/")} == {f"wheels/{w.file}" for w in expected}
    assert {w.python for w in expected} == {"3.11", "3.13", None}  # both Blender lines, and tqdm
    zf = zipfile.ZipFile(zip_path)
    for w in expected:  # stored as downloaded: the pinned bytes
        info = zf.getinfo(f"wheels/{w.file}")
        assert info.compress_type == zipfile.ZIP_STORED
        assert hashlib.sha256(zf.read(info)).hexdigest() == w.sha256
    manifest = tomllib.loads(zf.read("blender_manifest.toml").decode())
    assert manifest["platforms"] == [HOST]
    assert manifest["wheels"] == [f"./wheels/{w.file}" for w in expected]
    assert manifest["permissions"] == tomllib.loads((ROOT / "blender_addon" / "blender_manifest.toml").read_text())["permissions"]
    # The packaged assets are the ones core.assets finds inside an installed extension.
    extract = tmp_path / "x"
    zf.extractall(extract)
    code = ("import importlib.util, sys; p=sys.argv[1]; "
            "spec=importlib.util.spec_from_file_location('mayhem', p+'/__init__.py', submodule_search_locations=[p]); "
            "m=importlib.util.module_from_spec(spec); sys.modules['mayhem']=m; spec.loader.exec_module(m); "
            "from mayhem.core import assets; print(assets.free_body_path())")
    out = subprocess.run([sys.executable, "-c", code, str(extract)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == extract / "assets" / "bodies" / "free_body.npz"


def test_zip_is_reproducible(tmp_path):
    (a,) = _build(tmp_path / "a", "--platform", "host")
    (b,) = _build(tmp_path / "b", "--platform", "host")
    assert a.name == b.name and a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("platform", list(wheels.PLATFORMS))
def test_every_platform_manifest_lists_its_wheels_before_permissions(platform):
    """Written for each of the five zips (no download needed): top-level keys, not [permissions]'."""
    source = (ROOT / "blender_addon" / "blender_manifest.toml").read_text()
    files = [w.file for w in wheels.wheels_for(platform)]
    text = build_extension.platform_manifest(source, platform, files)
    parsed = tomllib.loads(text)
    assert parsed["platforms"] == [platform] and parsed["wheels"] == [f"./wheels/{f}" for f in files]
    assert set(parsed["permissions"]) == {"files"}
    assert text.index("wheels = [") < text.index("[permissions]")
    pillow = [f for f in files if f.startswith("pillow-")]
    assert [f.split("-")[2] for f in pillow] == ["cp311", "cp313"]
    with pytest.raises(ValueError, match="must not set platforms"):
        build_extension.platform_manifest(text, platform, files)


def test_unknown_platform_is_refused(tmp_path):
    res = subprocess.run([sys.executable, "-m", "headless.build_extension", "--out", str(tmp_path), "--platform", "amiga"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "invalid choice: 'amiga'" in res.stderr
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------ a Python without Pillow
# Runs a headless verb the way a stock Blender does, in a Python where PIL and tqdm are
# hidden: the finder skips every site-packages folder for them (numpy stays importable).
_HIDDEN_RUN = """
import importlib.machinery, runpy, site, sys
HIDDEN = set(site.getsitepackages() + [site.getusersitepackages()])

class Hiding(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if path is None and name in ("PIL", "tqdm"):
            path = [p for p in sys.path if p not in HIDDEN]
        return super().find_spec(name, path, target)

sys.meta_path[:] = [Hiding if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
script, *args = sys.argv[1:]
if script == "check":
    import importlib.util
    print("BEFORE", importlib.util.find_spec("PIL"), importlib.util.find_spec("tqdm"))
    sys.path.insert(0, args[0])
    from headless._bootstrap import ensure_mayhem
    ensure_mayhem()
    from mayhem.wheels import WheelError, ensure_importable
    try:  # as the add-on's register() calls it: wheels already in the cache are unpacked
        ensure_importable(download=False)
    except WheelError as exc:
        print("WHEELERROR", exc)
        sys.exit(0)
    import numpy as np, PIL, tqdm
    from mayhem.core.io.png import read_png, write_png
    ids = np.array([[0, 1, 32767], [32768, 65534, 65535]], np.uint16)
    assert (read_png(write_png(args[1], ids)) == ids).all()
    print("PIL", PIL.__version__, PIL.__file__)
    print("TQDM", tqdm.__version__, tqdm.__file__)
else:
    sys.argv = [script, "--", *args]
    runpy.run_path(script, run_name="__main__")
"""


def _hidden(args, cache: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _HIDDEN_RUN, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "MAYHEM_WHEEL_CACHE": str(cache), **env})


def test_headless_in_a_python_without_pillow_unpacks_the_pinned_wheels(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    for path in wheels.fetch(wheels.wheels_for(HOST, wheels.this_python())):  # the shared cache, filled once
        shutil.copy(path, cache / path.name)
    res = _hidden(["check", ROOT, tmp_path / "ids.png"], cache)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "BEFORE None None" in res.stdout  # hidden indeed
    site = wheels.site_dir(cache, HOST, wheels.this_python())
    lines = dict(line.split(" ", 1) for line in res.stdout.splitlines())
    assert lines["PIL"] == f"{wheels.PINS['pillow']} {site / 'PIL' / '__init__.py'}"
    assert lines["TQDM"] == f"{wheels.PINS['tqdm']} {site / 'tqdm' / '__init__.py'}"
    log = [line for line in res.stderr.splitlines() if line.startswith("mayhem:")]
    assert len(log) == 1 and str(site) in log[0], res.stderr
    # A real verb through the script Blender runs: the wheels are found, the verb does its job
    # (here: refusing a folder that is not a dataset, in one line).
    res = _hidden([ROOT / "headless" / "overlay.py", tmp_path / "nothing"], cache)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "using the pinned wheels unpacked in" in res.stderr
    assert str(tmp_path / "nothing") in res.stderr.splitlines()[-1]


def test_headless_without_pillow_and_no_way_to_fetch_says_what_to_run(tmp_path):
    links = tmp_path / "no_wheels_here"
    links.mkdir()
    res = _hidden([ROOT / "headless" / "overlay.py", tmp_path / "nothing"], tmp_path / "empty_cache",
                  PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(links))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert lines[0].startswith("mayhem: Pillow and tqdm are not installed in this Python")
    command = f"-m pip download --no-deps --only-binary=:all: --implementation cp --python-version {wheels.this_python()}"
    assert command in lines[0] and f"pillow=={wheels.PINS['pillow']} tqdm=={wheels.PINS['tqdm']}" in lines[0]
    assert str(tmp_path / "empty_cache") in lines[0]
    assert not (tmp_path / "empty_cache" / "site").exists()
    res = _hidden(["check", ROOT, tmp_path / "ids.png"], tmp_path / "empty_cache")  # register(): never downloads
    assert res.returncode == 0 and not any(line.startswith("PIL ") for line in res.stdout.splitlines()), res.stdout
    (error,) = [line for line in res.stdout.splitlines() if line.startswith("WHEELERROR")]
    assert f"2 pinned wheel(s) not in {tmp_path / 'empty_cache'}; fetch them with: python3 {command}" in error
