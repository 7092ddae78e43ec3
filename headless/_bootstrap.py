"""Make `mayhem` and its dependencies importable for the headless entry points, installed or not.

Inside a stock Blender (`blender -b -P headless/generate.py -- ...`) the package is not
installed, so the repository's blender_addon/ folder is loaded under the name `mayhem`, and
Blender's Python has numpy but not Pillow or tqdm: their pinned wheels are fetched into the
wheel cache once and unpacked there (mayhem/wheels.py).
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


def ensure_dependencies() -> None:
    """Pillow and tqdm from the pinned wheels when this Python lacks them; else one line, exit 2."""
    from mayhem.wheels import WheelError, ensure_importable

    try:
        ensure_importable()
    except WheelError as exc:
        print(f"mayhem: Pillow and tqdm are not installed in this Python ({sys.executable}): {exc}", file=sys.stderr)
        sys.exit(2)


def script_args() -> list[str]:
    """Arguments after `--` when run by Blender, else the usual ones."""
    argv = sys.argv
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def run(verb: str) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    ensure_mayhem()
    ensure_dependencies()
    from mayhem.cli import run_verb

    code = run_verb(verb, script_args())
    if code:
        sys.exit(code)
