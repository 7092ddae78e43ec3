"""Where bundled assets live and how user references to them resolve.

Recipes refer to bundled assets symbolically (``free`` body, ``builtin:walk_straight``
motion, ``builtin:sunset`` HDRI) so a scene.json stays valid on another machine; user
files are stored as absolute paths.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import MayhemInputError

BUILTIN_PREFIX = "builtin:"


def assets_root() -> Path:
    """The assets folder: $MAYHEM_ASSETS, else the one beside the package (checkout or extension)."""
    env = os.environ.get("MAYHEM_ASSETS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent  # blender_addon/
    for candidate in (here / "assets", here.parent / "assets"):
        if (candidate / "bodies").is_dir():
            return candidate
    raise MayhemInputError(here.parent / "assets", None, "Mayhem's assets folder was not found; set MAYHEM_ASSETS")


def free_body_path() -> Path:
    return assets_root() / "bodies" / "free_body.npz"


def builtin_motion_paths() -> dict[str, Path]:
    folder = assets_root() / "motions"
    return {p.stem: p for p in sorted(folder.glob("*.npz"))}


def resolve_motion(ref: str) -> Path:
    """Path of a motion reference (``builtin:NAME`` or a file path)."""
    if ref.startswith(BUILTIN_PREFIX):
        name = ref[len(BUILTIN_PREFIX):]
        clips = builtin_motion_paths()
        if name not in clips:
            raise MayhemInputError(ref, "motion", f"no bundled motion named {name!r} (have: {', '.join(clips)})")
        return clips[name]
    return Path(ref)


def resolve_body_model(model: str, gender: str, config_path=None, *, field: str = "body.model",
                       base: Path | None = None) -> Path:
    """Model file for a config's ``body.model`` value (or a manifest's, named by `field`) and a
    gender; a relative path is taken relative to `base` when given.

    ``free`` is the bundled free body (one neutral model serves every gender). A folder
    is searched for SMPLX_{GENDER}.npz then .pkl, as the smplx package names them.
    """
    if model == "free":
        return free_body_path()
    path = Path(model).expanduser()
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    if path.is_dir():
        for ext in ("npz", "pkl"):
            candidate = path / f"SMPLX_{gender.upper()}.{ext}"
            if candidate.is_file():
                return candidate
        raise MayhemInputError(config_path, field, f"{path} has no SMPLX_{gender.upper()}.npz or .pkl")
    if not path.is_file():
        raise MayhemInputError(config_path, field, f"model file {path} not found")
    return path
