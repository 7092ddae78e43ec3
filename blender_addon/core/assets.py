"""Where bundled assets live and how recipe references to assets resolve.

Recipes never hold an absolute machine path, so a scene.json renders the same in another
checkout or on another machine. Bundled assets are named by id (``free`` body,
``builtin:walk_straight`` motion, ``builtin:sunset`` HDRI). A user file is named relative to
a *root*: ``ROOT:relative/path``, where ROOT is the config field that named the file or its
folder (``motion.source:CMU/01/01_01_stageii.npz``, ``world.hdri_folders[0]:street.exr``,
``body.model:SMPLX_FEMALE.npz``). The roots' folders come from the config (`config_roots`) or,
for a scene.json rendered elsewhere, from whoever renders it (``--root NAME=DIR``, the add-on
preferences).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .errors import MayhemInputError

BUILTIN_PREFIX = "builtin:"
# Blender's bundled CC0 HDRIs (studiolights/world), referred to as builtin:NAME.
BUILTIN_HDRIS = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")


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


# ----------------------------------------------------------------------- root references
ROOT_SEPARATOR = ":"


def root_ref(root: str, folder, path) -> str:
    """``ROOT:relative/path`` of `path` inside `folder` (the folder of root ROOT)."""
    rel = Path(os.path.abspath(Path(path).expanduser())).relative_to(Path(os.path.abspath(Path(folder).expanduser())))
    return f"{root}{ROOT_SEPARATOR}{rel.as_posix()}"


def resolve_ref(ref: str, roots: Mapping[str, Path] | None, field: str) -> Path:
    """The file of a ``ROOT:relative/path`` reference. Absolute paths (scene.json files written
    before recipes named roots) are taken as they are."""
    if Path(ref).is_absolute():
        return Path(ref)
    root, sep, rel = ref.partition(ROOT_SEPARATOR)
    if not sep or not rel:
        raise MayhemInputError(None, field, f"{ref!r} is not an asset reference (builtin:NAME or ROOT:path)")
    roots = roots or {}
    if root not in roots:
        known = ", ".join(sorted(roots)) or "none"
        raise MayhemInputError(None, field, f"{ref}: asset root {root!r} is not set (set: {known}); "
                                            f"give its folder with --root {root}=FOLDER")
    path = Path(roots[root]) / rel
    if ".." in Path(rel).parts:
        raise MayhemInputError(None, field, f"{ref}: a reference may not leave its root")
    return path


def ref_stem(ref: str) -> str:
    """The file stem a reference names (``body.model:SMPLX_NEUTRAL.npz`` -> ``SMPLX_NEUTRAL``)."""
    return Path(ref.rpartition(ROOT_SEPARATOR)[2] if not Path(ref).is_absolute() else ref).stem


def ref_under_roots(path, roots: dict) -> str:
    """``ROOT:path`` of a file under the deepest of `roots`. A file under none gets a new root,
    ``folder.<name of its folder>``, added to `roots`: the recipe still holds no absolute path,
    and whoever renders it elsewhere names that folder (--root)."""
    path = Path(os.path.abspath(Path(path).expanduser()))
    best = None
    for name, folder in roots.items():
        folder = Path(os.path.abspath(folder))
        if path.is_relative_to(folder) and (best is None or len(folder.parts) > len(best[1].parts)):
            best = (name, folder)
    if best is None:
        base = f"folder.{path.parent.name or 'root'}"
        name, k = base, 1
        while name in roots and Path(roots[name]) != path.parent:
            k += 1
            name = f"{base}.{k}"
        roots[name] = path.parent
        best = (name, path.parent)
    return root_ref(best[0], best[1], path)


def asset_ref(value: str, roots: dict) -> str:
    """A recipe reference for a model, motion or HDRI value: ids (``free``, ``builtin:NAME``)
    stay, files become ``ROOT:path`` (ref_under_roots)."""
    if value == "free" or value.startswith(BUILTIN_PREFIX):
        return value
    return ref_under_roots(value, roots)


def config_relative(entry: str, config_path=None) -> Path:
    """A file a config names: a relative entry is relative to the config file's folder."""
    path = Path(entry).expanduser()
    if config_path is not None and not path.is_absolute():
        path = Path(config_path).parent / path
    return path.resolve()


def parse_roots(items) -> dict[str, Path]:
    """``NAME=DIR`` strings (the CLI's --root) as a roots mapping."""
    roots = {}
    for item in items or ():
        name, sep, folder = str(item).partition("=")
        if not sep or not name or not folder:
            raise MayhemInputError(None, "--root", f"{item!r}: expected NAME=FOLDER")
        roots[name] = Path(folder).expanduser().resolve()
    return roots


def _folder_of(value: str) -> Path:
    path = Path(value).expanduser().resolve()
    return path if path.is_dir() else path.parent


def config_roots(config, config_path=None) -> dict[str, Path]:
    """Roots named by a config's fields: each folder field is a root, and each file field's
    folder is one (absolute, on this machine; they are never written into a recipe)."""
    roots: dict[str, Path] = {}
    if config.motion.source != "builtin":
        roots["motion.source"] = Path(config.motion.source).expanduser().resolve()
    if config.body.model != "free":
        roots["body.model"] = _folder_of(config.body.model)
    for i, texture in enumerate(config.body.skin_textures):
        roots[f"body.skin_textures[{i}]"] = _folder_of(texture)
    world = config.world
    if world.hdri != "builtin" and world.hdri not in BUILTIN_HDRIS:
        roots["world.hdri"] = _folder_of(world.hdri)
    for i, folder in enumerate(world.hdri_folders):
        roots[f"world.hdri_folders[{i}]"] = Path(folder).expanduser().resolve()
    for i, scene in enumerate(world.scenes):
        if isinstance(scene, str) and not scene.startswith(BUILTIN_PREFIX):
            roots[f"world.scenes[{i}]"] = _folder_of(scene)
    for i, manifest in enumerate(config.clothing.user_outfits):  # relative to the config, as sampling reads them
        roots[f"clothing.user_outfits[{i}]"] = config_relative(manifest, config_path).parent
    return roots
