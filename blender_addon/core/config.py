"""The one configuration schema, shared by the CLI and the add-on.

Configs are YAML (loaded with safe_load) or JSON. Every field is typed and checked, and an
error names the file and the dotted field path (``camera.focal_mm``) so a user can fix it
without reading code. A range field accepts ``[min, max]`` (drawn uniformly) or a single
number (fixed).
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MayhemInputError

Range = list  # [min, max] of numbers; a single number in YAML means [x, x]


def _meta(doc: str, *, choices=None, minimum=None, maximum=None, is_range=False, integer=False, optional=False):
    return {"doc": doc, "choices": choices, "minimum": minimum, "maximum": maximum,
            "is_range": is_range, "integer": integer, "optional": optional}


def _f(default, doc, **kw):
    if isinstance(default, list):
        return field(default_factory=lambda d=default: list(d), metadata=_meta(doc, **kw))
    return field(default=default, metadata=_meta(doc, **kw))


@dataclass
class BodyConfig:
    model: str = _f("free", "'free' (bundled free body), an SMPL-X .npz/.pkl file, or a folder with SMPLX_{NEUTRAL,FEMALE,MALE}.npz")
    genders: list = _f(["neutral"], "genders drawn uniformly per person", choices=("neutral", "female", "male"))
    num_betas: int = _f(10, "shape coefficients drawn per person", minimum=0, maximum=300)
    betas_std: float = _f(1.0, "standard deviation of the drawn betas", minimum=0.0, maximum=5.0)
    skin_tone: Range = _f([0.0, 1.0], "skin tone range, 0 lightest (Monk 1) to 1 darkest (Monk 10)", minimum=0.0, maximum=1.0, is_range=True)
    skin_textures: list = _f([], "optional albedo textures on the body's UVs (drawn uniformly; empty = procedural skin)")
    height_m: Range = _f([], "optional [min, max] standing height; betas are redrawn until the body fits", minimum=0.5, maximum=2.5, is_range=True, optional=True)
    bmi: Range = _f([], "optional [min, max] body-mass index (volume x 985 kg/m3 / height^2)", minimum=10.0, maximum=80.0, is_range=True, optional=True)


@dataclass
class MotionConfig:
    source: str = _f("builtin", "'builtin' (bundled procedural clips) or a folder of AMASS .npz files (searched recursively)")
    clips: list = _f([], "clip names (builtin) or file names to use; empty = all")


@dataclass
class PeopleConfig:
    count: Range = _f([1, 2], "people per sequence", minimum=1, maximum=15, is_range=True, integer=True)
    min_gap_m: float = _f(0.2, "minimum gap between two people's ground footprints swept over the whole sequence", minimum=0.0)
    area_radius_m: float = _f(2.0, "people's starting points are drawn within this radius of the scene centre", minimum=0.0)


@dataclass
class WorldConfig:
    hdri: str = _f("builtin", "'builtin' (Blender's 8 CC0 HDRIs), the name of one of them, or an .exr/.hdr file")
    hdri_folders: list = _f([], "extra folders of .exr/.hdr environment maps, drawn together with the builtin ones")
    strength: Range = _f([0.8, 1.2], "environment strength", minimum=0.0, is_range=True)
    rotation_deg: Range = _f([0.0, 360.0], "environment rotation about the vertical axis, degrees", is_range=True)
    shadow_catcher: bool = _f(True, "add a shadow-catcher ground plane at z = 0")


@dataclass
class CameraConfig:
    focal_mm: Range = _f([35.0, 55.0], "focal length, mm", minimum=1.0, maximum=2000.0, is_range=True)
    sensor_width_mm: float = _f(36.0, "sensor width, mm", minimum=1.0, maximum=100.0)
    resolution: list = _f([320, 180], "image width and height, pixels")
    distance_m: Range = _f([4.0, 6.0], "camera distance from the people's centre, metres", minimum=0.1, is_range=True)
    height_m: Range = _f([1.0, 1.8], "camera height above the ground, metres", is_range=True)
    target_height_m: Range = _f([0.8, 1.1], "height of the look-at point, metres", is_range=True)
    azimuth_deg: Range = _f([-45.0, 45.0], "camera direction around the people, degrees (0 = in front of the clips' facing)", is_range=True)
    frame_people: bool = _f(True, "pull the camera back until every person's body is inside the image on every frame")


@dataclass
class RenderConfig:
    device: str = _f("auto", "Cycles device", choices=("auto", "cpu", "optix", "cuda", "hip", "metal", "oneapi"))
    samples: int = _f(16, "Cycles samples per pixel", minimum=1, maximum=65536)
    adaptive_threshold: float = _f(0.05, "adaptive sampling noise threshold (0 = off)", minimum=0.0, maximum=1.0)
    denoise: bool = _f(True, "OpenImageDenoise")
    persistent_data: bool = _f(True, "keep scene data between frames")
    threads: int = _f(0, "render threads (0 = all cores)", minimum=0)


@dataclass
class Config:
    seed: int = _f(0, "global seed; each sequence's seed derives from it and the sequence index", minimum=0)
    sequences: int = _f(1, "number of sequences", minimum=1)
    frames: int = _f(8, "frames per sequence", minimum=1, maximum=100000)
    fps: float = _f(30.0, "frame rate; motions are resampled to it", minimum=1.0, maximum=1000.0)
    body: BodyConfig = field(default_factory=BodyConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    people: PeopleConfig = field(default_factory=PeopleConfig)
    world: WorldConfig = field(default_factory=WorldConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    render: RenderConfig = field(default_factory=RenderConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ------------------------------------------------------------------- validation
def _check_number(value, path, fld, meta, integer):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MayhemInputError(path, fld, f"expected a number, got {value!r}")
    if integer and (not float(value).is_integer()):
        raise MayhemInputError(path, fld, f"expected a whole number, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise MayhemInputError(path, fld, "must be finite")
    if meta.get("minimum") is not None and value < meta["minimum"]:
        raise MayhemInputError(path, fld, f"must be >= {meta['minimum']}, got {value!r}")
    if meta.get("maximum") is not None and value > meta["maximum"]:
        raise MayhemInputError(path, fld, f"must be <= {meta['maximum']}, got {value!r}")
    return int(value) if integer else value


def _convert(value, ftype, meta, path, fld):
    if dataclasses.is_dataclass(ftype):
        return _from_dict(ftype, value, path, fld)
    if meta.get("is_range"):
        if meta.get("optional") and value in (None, []):
            return []
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value, value]
        if not isinstance(value, list) or len(value) != 2:
            raise MayhemInputError(path, fld, f"expected [min, max] or a single number, got {value!r}")
        lo, hi = (_check_number(v, path, fld, meta, meta.get("integer")) for v in value)
        if lo > hi:
            raise MayhemInputError(path, fld, f"min {lo} is greater than max {hi}")
        return [lo, hi]
    if ftype is bool:
        if not isinstance(value, bool):
            raise MayhemInputError(path, fld, f"expected true or false, got {value!r}")
        return value
    if ftype in (int, float):
        return _check_number(value, path, fld, meta, ftype is int)
    if ftype is str:
        if not isinstance(value, str):
            raise MayhemInputError(path, fld, f"expected a string, got {value!r}")
        if meta.get("choices") and value not in meta["choices"]:
            raise MayhemInputError(path, fld, f"must be one of {', '.join(meta['choices'])}, got {value!r}")
        return value
    if ftype is list:
        if not isinstance(value, list):
            raise MayhemInputError(path, fld, f"expected a list, got {value!r}")
        if meta.get("choices"):
            bad = [v for v in value if v not in meta["choices"]]
            if bad or not value:
                raise MayhemInputError(path, fld, f"entries must be among {', '.join(meta['choices'])}, got {value!r}")
        return list(value)
    raise TypeError(f"unsupported config field type {ftype}")


def _from_dict(cls, data, path, prefix=""):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MayhemInputError(path, prefix or None, f"expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        name = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise MayhemInputError(path, name, f"unknown field (known: {', '.join(sorted(known))})")
    kwargs = {}
    for name, value in data.items():
        fld = f"{prefix}.{name}" if prefix else name
        kwargs[name] = _convert(value, hints[name], dict(known[name].metadata), path, fld)
    obj = cls(**kwargs)
    _check_object(obj, path, prefix)
    return obj


def _check_object(obj, path, prefix):
    """Cross-field checks that a per-field type cannot express."""
    if isinstance(obj, CameraConfig):
        res = obj.resolution
        if len(res) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 8 or v > 16384 for v in res):
            raise MayhemInputError(path, f"{prefix}.resolution".lstrip("."), f"expected [width, height] in pixels (8..16384), got {res!r}")


def config_from_dict(data: dict, path="<config>") -> Config:
    return _from_dict(Config, data, path)


def load_config(path) -> Config:
    """Read and validate a YAML or JSON config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MayhemInputError(path, None, f"cannot read config ({exc.strerror or exc})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MayhemInputError(path, None, f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    else:
        try:
            import yaml
        except ImportError:
            raise MayhemInputError(path, None, "PyYAML is not installed here; use a .json config") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise MayhemInputError(path, None, f"invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return config_from_dict(data or {}, path)


def describe_schema(cls=Config, prefix="") -> list[tuple[str, object, str]]:
    """(dotted field, default, doc) for every leaf field: documentation and the add-on UI."""
    rows = []
    defaults = cls()
    for f in dataclasses.fields(cls):
        name = f"{prefix}.{f.name}" if prefix else f.name
        value = getattr(defaults, f.name)
        if dataclasses.is_dataclass(value):
            rows.extend(describe_schema(type(value), name))
        else:
            rows.append((name, value, f.metadata.get("doc", "")))
    return rows
