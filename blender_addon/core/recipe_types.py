"""The typed recipe: one sequence's scene.json as dataclasses.

Why: the recipe crosses every layer (sampled in core, built in scene/, rendered by services,
labelled in core.dataset, read back by resume and by users), and string-keyed dicts let a typo
or a missing key travel silently until Blender is half-built. These classes are what the layers
pass; `recipe_to_json` / `recipe_from_json` are the only places that know the JSON layout
(docs/format.md), and they write exactly the scene.json the dicts wrote.

Payloads that one module draws and one module reads stay plain JSON values, documented by that
module: a person's hair and shoes (core.body.appearance → scene.body.hair / shoes), outfit
garments (core.clothing.sampling → scene.clothing.dressing), and the camera's motion and
framing record (core.camera.paths).

Asset references (core.assets): ``free``, ``builtin:NAME``, or ``ROOT:relative/path``, where
ROOT names a config field (``motion.source``, ``world.hdri_folders[0]``, ...) whose folder the
config or the add-on preferences give. Never an absolute machine path.
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field

from .config import RenderConfig
from .errors import MayhemInputError

RECIPE_VERSION = 1
_OMIT_NONE = {"omit_none": True}  # field metadata: the key is left out of scene.json while None


def _optional():
    return field(default=None, metadata=_OMIT_NONE)


@dataclass
class ImageSize:
    width: int
    height: int


@dataclass
class WorldRecipe:
    """Lighting and ground: an HDRI (kind "hdri"), a 3D scene lit by the HDRI ("mesh"), or the
    Blender scene's own world ("scene", add-on renders)."""

    kind: str = "hdri"
    hdri: str | None = _optional()             # asset reference of the HDRI
    strength: float | None = _optional()
    rotation_rad: float | None = _optional()
    shadow_catcher: bool | None = _optional()
    exposure_ev: float | None = _optional()
    normalize: bool | None = _optional()
    scene: str | None = _optional()            # mesh: builtin:room / builtin:courtyard or a scene file reference
    layout_seed: int | None = _optional()      # mesh, built-in: the layout's seed
    scene_sha256: str | None = _optional()     # mesh, user file: the summarised file's hash
    centre: list | None = _optional()          # mesh: [x, y] where people stand around
    floor_z: float | None = _optional()
    name: str | None = _optional()             # scene: the Blender world's name


@dataclass
class Skin:
    tone: float
    monk_level: int | None = _optional()
    texture: str | None = None                 # asset reference of an albedo texture
    seed: int = 0


@dataclass
class MotionRef:
    ref: str                                   # builtin:NAME or ROOT:path of an AMASS file
    start_frame: int = 0


@dataclass
class Placement:
    """Turn about the world Z axis (yaw_rad), then shift (x, y, z), of the person's motion."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    yaw_rad: float = 0.0


@dataclass
class Outfit:
    mode: str = "none"                         # simulated | texture | none
    garments: list = field(default_factory=list)  # garment entries (core.clothing.sampling)


@dataclass
class PersonRecipe:
    id: int
    instance_id: int
    gender: str
    model: str                                 # free, or ROOT:path of an SMPL-X model file
    betas: list
    skin: Skin
    motion: MotionRef
    placement: Placement = field(default_factory=Placement)
    hair: dict | None = _optional()
    shoes: dict | None = _optional()
    outfit: Outfit | None = _optional()
    object: str | None = _optional()           # add-on renders: the body's armature object


@dataclass
class CameraRecipe:
    """The fields the scene and the labels read; `details` holds the rest of the draw record
    (distance, pitch, framing, shake, ...), written flat beside them as core.camera.paths made it."""

    focal_mm: float
    sensor_width_mm: float
    kind: str = "static"                       # static (eye/target) or a moving kind (world_to_cam per frame)
    eye: list | None = _optional()
    target: list | None = _optional()
    world_to_cam: list | None = _optional()    # F x 4 x 4 (or F*16 flat)
    motion: dict | None = _optional()
    details: dict = field(default_factory=dict, metadata={"flatten": True})

    @property
    def is_static(self) -> bool:
        return self.kind == "static"


@dataclass
class ClothingSettings:
    """Sequence-level cloth simulation settings (core.clothing.sampling.clothing_settings)."""

    preroll: int
    settle: int
    quality: int
    collision_quality: int
    export_meshes: bool = False


@dataclass
class Recipe:
    name: str
    index: int
    seed: int
    frames: int
    fps: float
    image: ImageSize
    render: RenderConfig
    world: WorldRecipe
    camera: CameraRecipe
    people: list[PersonRecipe] = field(default_factory=list)
    people_dropped: int = 0
    global_seed: int | None = None
    recipe_version: int = RECIPE_VERSION
    clothing: ClothingSettings | None = _optional()  # None: everyone unclothed
    # Add-on renders of the open Blender scene (services.scene_dataset):
    source: str | None = _optional()           # "blender_scene"
    blend_file: str | None = _optional()       # the .blend's file name (not its folder)
    scene: str | None = _optional()            # the Blender scene's name
    blender_frame_start: int | None = _optional()

    def person(self, person_id: int) -> PersonRecipe:
        return next(p for p in self.people if p.id == person_id)


# --------------------------------------------------------------------------------- JSON
def _plain(value):
    if dataclasses.is_dataclass(value):
        return to_json(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def to_json(obj) -> dict:
    """A recipe dataclass as its JSON mapping (None fields marked omit_none are left out)."""
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.metadata.get("flatten"):
            out.update(_plain(value))
        elif not (value is None and f.metadata.get("omit_none")):
            out[f.name] = _plain(value)
    return out


@functools.cache
def _hints(cls) -> dict:
    """A recipe class's field types, resolved once (every person of every scene.json reads them)."""
    return typing.get_type_hints(cls)


def _convert(value, ftype, path, fld):
    origin = typing.get_origin(ftype)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ftype) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], path, fld)
    if dataclasses.is_dataclass(ftype):
        return from_json(ftype, value, path, fld)
    if origin is list:
        if not isinstance(value, list):
            raise MayhemInputError(path, fld, f"expected a list, got {type(value).__name__}")
        (item,) = typing.get_args(ftype)
        return [_convert(v, item, path, f"{fld}[{i}]") for i, v in enumerate(value)]
    if ftype is bool:
        if not isinstance(value, bool):
            raise MayhemInputError(path, fld, f"expected true or false, got {value!r}")
        return value
    if ftype is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise MayhemInputError(path, fld, f"expected a whole number, got {value!r}")
        return value
    if ftype is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise MayhemInputError(path, fld, f"expected a number, got {value!r}")
        return float(value)
    if ftype is str:
        if not isinstance(value, str):
            raise MayhemInputError(path, fld, f"expected a string, got {value!r}")
        return value
    if ftype in (list, dict):
        if not isinstance(value, ftype):
            raise MayhemInputError(path, fld, f"expected a {'list' if ftype is list else 'mapping'}, got {type(value).__name__}")
        return value
    raise TypeError(f"unsupported recipe field type {ftype}")


def from_json(cls, data, path=None, prefix: str = ""):
    """Dataclass `cls` from a scene.json mapping; a wrong or missing key raises
    MayhemInputError naming `path` and the dotted field (``people[1].motion.ref``)."""
    if not isinstance(data, dict):
        raise MayhemInputError(path, prefix or None, f"expected a mapping, got {type(data).__name__}")
    hints = _hints(cls)
    fields = dataclasses.fields(cls)
    known = {f.name for f in fields if not f.metadata.get("flatten")}
    flatten = next((f.name for f in fields if f.metadata.get("flatten")), None)
    unknown = [k for k in data if k not in known]
    if unknown and flatten is None:
        name = f"{prefix}.{unknown[0]}" if prefix else str(unknown[0])
        raise MayhemInputError(path, name, f"unknown field (known: {', '.join(sorted(known))})")
    kwargs = {}
    for f in fields:
        fld = f"{prefix}.{f.name}" if prefix else f.name
        if f.metadata.get("flatten"):
            kwargs[f.name] = {k: data[k] for k in unknown}
        elif f.name in data:
            kwargs[f.name] = _convert(data[f.name], hints[f.name], path, fld)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise MayhemInputError(path, fld, "missing")
    return cls(**kwargs)


# scene.json keys that older releases wrote and today's recipes derive or ignore.
_LEGACY_PERSON_KEYS = ("model_path",)


def recipe_from_json(data, path=None) -> Recipe:
    """A Recipe from a scene.json mapping (its "outcome", the render's record, is not part of it)."""
    if isinstance(data, Recipe):
        return data
    if not isinstance(data, dict):
        raise MayhemInputError(path, None, f"a recipe must be a mapping, got {type(data).__name__}")
    data = {k: v for k, v in data.items() if k != "outcome"}
    if isinstance(data.get("people"), list):
        data["people"] = [{k: v for k, v in p.items() if k not in _LEGACY_PERSON_KEYS} if isinstance(p, dict) else p
                          for p in data["people"]]
    return from_json(Recipe, data, path)


def recipe_to_json(recipe: Recipe) -> dict:
    return to_json(recipe)
