"""What runs inside the fresh process that renders one sequence of a batch.

One process per sequence keeps memory flat over thousands of sequences (Blender never frees
everything between scenes) and turns a Blender crash into one failed sequence. The job is the
recipe file alone (scene.json content); the result (dataset entry or error) is written
atomically to --result, and the log (this process's stdout/stderr) goes wherever the driver
points them. Runs as

    python -m mayhem.services.worker RECIPE.json --out DIR [--root NAME=DIR ...] [--threads N] [--result FILE]
    python /path/to/mayhem/services/worker.py RECIPE.json --out DIR ...
    blender -b --factory-startup -P /path/to/mayhem/services/worker.py -- RECIPE.json --out DIR ...

Exit status: 0 done, 1 failed (error in the result file), anything else is a crash.
"""
if __name__ == "__main__" and not globals().get("__package__"):
    # Run as a file (a Blender binary's -P, or a python without `mayhem` installed): load the
    # package this file belongs to under the name `mayhem`, so relative imports work.
    import importlib.util as _ilu
    import os as _os
    import sys as _sys

    _here = _os.path.dirname(_os.path.abspath(__file__))
    _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _here]  # no top-level `generate`
    if "mayhem" not in _sys.modules:
        _pkg = _os.path.dirname(_here)
        _spec = _ilu.spec_from_file_location("mayhem", _os.path.join(_pkg, "__init__.py"),
                                             submodule_search_locations=[_pkg])
        _mod = _ilu.module_from_spec(_spec)
        _sys.modules["mayhem"] = _mod
        _spec.loader.exec_module(_mod)
    from mayhem.wheels import ensure_importable as _ensure_importable

    _ensure_importable(download=False)  # a stock Blender: the wheels the driver unpacked (headless/_bootstrap.py)
    from mayhem.services.worker import main as _main

    _sys.exit(_main())

import argparse
import json
import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path

log = logging.getLogger("mayhem.worker")


def die_with_parent(parent_pid: int | None) -> None:
    """Linux: ask the kernel to kill this process when the driver dies (kill -9 included), so an
    orphaned render can never race a resumed run on the same sequence. Best effort elsewhere."""
    if not sys.platform.startswith("linux") or not parent_pid:
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the driver died before prctl took effect
        os._exit(3)


def write_result(path, result: dict) -> None:
    """Atomic, so the driver reads either nothing (a crash) or the whole result."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def script_args(argv: list[str]) -> list[str]:
    """Arguments after `--` when run by Blender, else the usual ones."""
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mayhem.services.worker", description="render one sequence of a batch")
    p.add_argument("recipe", help="the sequence's recipe (scene.json content)")
    p.add_argument("--out", required=True, help="dataset folder; the sequence goes to OUT/<name>/")
    p.add_argument("--root", action="append", default=[], metavar="NAME=DIR",
                   help="folder of an asset root the recipe's ROOT:path references name (core.assets)")
    p.add_argument("--threads", type=int, default=None, help="Cycles threads (default: the recipe's render.threads)")
    p.add_argument("--result", default=None, help="where to write the result JSON")
    p.add_argument("--parent-pid", type=int, default=None, help="die when this process dies (Linux)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(script_args(sys.argv) if argv is None else argv)
    die_with_parent(args.parent_pid)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    t_start = time.perf_counter()
    result: dict
    code = 1
    try:
        from ..core.assets import parse_roots
        from ..core.recipe import AssetCache
        from ..core.recipe_types import recipe_from_json

        recipe = recipe_from_json(json.loads(Path(args.recipe).read_text(encoding="utf-8")), args.recipe)
        name = recipe.name
        log.info("sequence %s: %d frame(s), %d person(s), pid %d", name, recipe.frames, len(recipe.people), os.getpid())
        from ..scene import render as _bpy_loaded  # noqa: F401  (imports bpy: part of start-up time)
        from .generate import render_sequence

        t_start = time.perf_counter()

        def progress(done, total):
            log.info("frame %d/%d rendered", done, total)

        entry = render_sequence(recipe, args.out, AssetCache(roots=parse_roots(args.root)), progress=progress,
                                threads=args.threads)
        result = {**entry, "status": "done"}
        code = 0
        log.info("sequence %s done in %.1f s", name, time.perf_counter() - t_start)
    except KeyboardInterrupt:  # the run was interrupted: this sequence is incomplete, not failed
        log.warning("interrupted")
        return 130
    except BaseException as exc:  # noqa: BLE001 - every failure is reported, then the process ends
        traceback.print_exc()
        message = str(exc) or repr(exc)
        result = {"status": "failed", "error": f"{type(exc).__name__}: {message}"}
    # Time after bpy was imported; the driver, which times the whole process, derives start-up.
    result["main_s"] = round(time.perf_counter() - t_start, 3)
    sys.stderr.flush()
    if args.result:
        write_result(args.result, result)
    return code


if __name__ == "__main__":
    sys.exit(main())
