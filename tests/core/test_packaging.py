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
