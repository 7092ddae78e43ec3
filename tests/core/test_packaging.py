"""pyproject.toml lists every package of the add-on: a wheel (`pip install .`, not -e) built
from an incomplete list would lack a subpackage and fail on import."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_addon_package_is_in_the_wheel():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    source = ROOT / setup["package-dir"]["mayhem"]
    found = {"mayhem" + "".join(f".{part}" for part in init.parent.relative_to(source).parts)
             for init in source.rglob("__init__.py")}
    assert found == set(setup["packages"])


def test_bundled_wheels_are_the_pyproject_pins_for_every_platform_and_python():
    """pip installs pyproject's pins; the extension zips and a stock Blender get wheels.WHEELS:
    the same versions, one Pillow wheel per Blender platform and Python, tagged to match."""
    from mayhem import wheels

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {d.split("==")[0]: d.split("==")[1] for d in deps if d.split("==")[0] in wheels.PINS} == wheels.PINS
    arch = {"linux-x64": "x86_64", "linux-arm64": "aarch64", "macos-arm64": "arm64", "macos-x64": "x86_64",
            "windows-x64": "amd64"}
    for platform in wheels.PLATFORMS:
        for python in wheels.PYTHONS:
            got = wheels.wheels_for(platform, python)
            assert sorted(w.package for w in got) == ["pillow", "tqdm"]
            for w in got:
                name, version, py_tag, abi, plat = w.file[:-len(".whl")].split("-")
                assert version == wheels.PINS[name] and len(w.sha256) == 64
                if w.platform is None:
                    assert (py_tag, abi, plat) == ("py3", "none", "any")
                else:
                    assert py_tag == abi == "cp" + python.replace(".", "") and plat.endswith(arch[platform])
                    assert plat.startswith({"linux": "manylinux", "macos": "macosx", "windows": "win"}[platform.split("-")[0]])
    assert len({w.file for w in wheels.WHEELS}) == len(wheels.WHEELS) == 2 * len(wheels.PLATFORMS) + 1


# ------------------------------------------------------------------------------ layout
ADDON_DIR = ROOT / "blender_addon"
MAX_MODULE_LINES = 850  # "no module much over 800 lines" (issue 11)


def test_core_and_scene_split_by_subject_with_the_same_names():
    core = {p.name for p in (ADDON_DIR / "core").iterdir() if (p / "__init__.py").is_file()}
    scene = {p.name for p in (ADDON_DIR / "scene").iterdir() if (p / "__init__.py").is_file()}
    assert {"geometry", "body", "motion", "clothing", "world", "camera", "dataset", "io"} <= core
    assert scene <= core, f"scene/ subjects missing in core/: {scene - core}"


def test_no_module_much_over_800_lines():
    long = {str(p.relative_to(ROOT)): n for p in sorted(ADDON_DIR.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long


def test_every_core_module_imports_without_bpy():
    """core/ is the pure-numpy bottom layer: importing all of it pulls in neither bpy nor torch."""
    import subprocess
    import sys

    modules = sorted("mayhem." + ".".join(p.relative_to(ADDON_DIR).with_suffix("").parts).removesuffix(".__init__")
                     for p in (ADDON_DIR / "core").rglob("*.py"))
    code = ("import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)\n"
            "bad = [n for n in ('bpy', 'torch', 'mathutils') if n in sys.modules]\nprint(len(sys.argv) - 1, bad)\n"
            "sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.split()[0] == str(len(modules)) and len(modules) > 40
