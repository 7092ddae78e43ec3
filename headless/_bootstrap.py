"""Make `mayhem` importable for the headless entry points, installed or not.

Inside a stock Blender (`blender -b -P headless/generate.py -- ...`) the package is not
installed, so the repository's blender_addon/ folder is loaded under the name `mayhem`.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ensure_mayhem() -> None:
    if "mayhem" in sys.modules or importlib.util.find_spec("mayhem") is not None:
        return
    spec = importlib.util.spec_from_file_location(
        "mayhem", ROOT / "blender_addon" / "__init__.py", submodule_search_locations=[str(ROOT / "blender_addon")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["mayhem"] = module
    spec.loader.exec_module(module)


def script_args() -> list[str]:
    """Arguments after `--` when run by Blender, else the usual ones."""
    argv = sys.argv
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def run(verb: str) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    ensure_mayhem()
    from mayhem.cli import run_verb

    code = run_verb(verb, script_args())
    if code:
        sys.exit(code)
