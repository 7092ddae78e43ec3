"""Typed fields for the documents users write: the config and outfit manifests.

A document is a tree of dataclasses whose fields carry their checks (`typed_field`: choices,
bounds, ranges, optional). `from_dict` turns YAML data into that tree, and every error names
the file and the dotted field (``camera.focal_mm``, ``outfit.garments[1].kind``), so a user
can fix it without reading code. Choices come from the modules that own them. The add-on's
panel properties are made from the same fields (`property_spec` gives a field's kind, default,
bounds and choices as plain values; ui/schema_props.py builds the Blender property from them).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import field

from .errors import MayhemInputError

REQUIRED = dataclasses.MISSING  # typed_field(REQUIRED, ...): the document must give it


def typed_field(default, doc: str, *, choices=None, minimum=None, maximum=None, is_range=False, integer=False,
                optional=False, nonempty=False, upper=False, numbers=False, entries=None):
    """A dataclass field with its checks.

    choices: allowed values (of a string, or of each entry of a list). minimum/maximum: bounds
    of a number (or of both ends of a range, or of each of `entries`). is_range: ``[min, max]``
    or a single number. integer: whole numbers only. optional: None (or, for a range, []) is
    allowed and means "not given". nonempty: a string may not be empty. upper: a string is
    upper-cased before its choices are checked. numbers: a list of finite numbers. entries:
    names of the numbers of a fixed-length list (``("width", "height")``).
    """
    meta = {"doc": doc, "choices": choices, "minimum": minimum, "maximum": maximum, "is_range": is_range,
            "integer": integer, "optional": optional, "nonempty": nonempty, "upper": upper, "numbers": numbers,
            "entries": entries, "required": default is REQUIRED}
    if default is REQUIRED:
        return field(default=None, metadata=meta)
    if isinstance(default, list):
        return field(default_factory=lambda d=default: list(d), metadata=meta)
    return field(default=default, metadata=meta)


def check_number(value, path, fld, meta, integer):
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


def _plain_type(ftype):
    """str for `str | None`: whether None is allowed is the field's `optional`."""
    if typing.get_origin(ftype) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ftype) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return ftype


def convert(value, ftype, meta, path, fld, check=None):
    """One field's value, checked and converted (a nested dataclass through from_dict)."""
    ftype = _plain_type(ftype)
    if dataclasses.is_dataclass(ftype):
        return from_dict(ftype, value, path, fld, check=check)
    if value is None and meta.get("optional") and not meta.get("is_range"):
        return None
    if meta.get("is_range"):
        if meta.get("optional") and value in (None, []):
            return []
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value, value]
        if not isinstance(value, list) or len(value) != 2:
            raise MayhemInputError(path, fld, f"expected [min, max] or a single number, got {value!r}")
        lo, hi = (check_number(v, path, fld, meta, meta.get("integer")) for v in value)
        if lo > hi:
            raise MayhemInputError(path, fld, f"min {lo} is greater than max {hi}")
        return [lo, hi]
    if ftype is bool:
        if not isinstance(value, bool):
            raise MayhemInputError(path, fld, f"expected true or false, got {value!r}")
        return value
    if ftype in (int, float):
        return check_number(value, path, fld, meta, ftype is int)
    if ftype is str:
        if not isinstance(value, str):
            raise MayhemInputError(path, fld, f"expected a string, got {value!r}")
        if meta.get("nonempty") and not value.strip():
            raise MayhemInputError(path, fld, "must not be empty")
        if meta.get("upper"):
            value = value.upper()
        if meta.get("choices") and value not in meta["choices"]:
            raise MayhemInputError(path, fld, f"must be one of {', '.join(meta['choices'])}, got {value!r}")
        return value
    if ftype is list:
        if not isinstance(value, list):
            raise MayhemInputError(path, fld, f"expected a list, got {value!r}")
        if meta.get("entries"):
            names = meta["entries"]
            if len(value) != len(names):
                raise MayhemInputError(path, fld, f"expected [{', '.join(names)}], got {value!r}")
            return [check_number(v, path, fld, meta, meta.get("integer")) for v in value]
        if meta.get("choices"):
            bad = [v for v in value if v not in meta["choices"]]
            if bad or not value:
                raise MayhemInputError(path, fld, f"entries must be among {', '.join(meta['choices'])}, got {value!r}")
        if meta.get("numbers"):
            return [float(check_number(v, path, fld, {}, False)) for v in value]
        return list(value)
    raise TypeError(f"unsupported field type {ftype}")


def from_dict(cls, data, path, prefix="", *, check=None):
    """An instance of dataclass `cls` from a YAML mapping (None = every default).

    Unknown keys, missing required fields and bad values raise MayhemInputError naming
    `path` and the dotted field. `check(obj, data, path, prefix)`, when given, runs on every
    object read from the document (nested ones first; sections left out keep their defaults) for the cross-field checks a per-field type cannot
    express (the config passes its own).
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MayhemInputError(path, prefix or None, f"expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted((k for k in data if k not in known), key=str)
    if unknown:
        name = f"{prefix}.{unknown[0]}" if prefix else str(unknown[0])
        raise MayhemInputError(path, name, f"unknown field (known: {', '.join(sorted(known))})")
    kwargs = {}
    for name, f in known.items():
        fld = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if f.metadata.get("required"):
                choices = f.metadata.get("choices")
                raise MayhemInputError(path, fld, "missing" + (f" (one of {', '.join(choices)})" if choices else ""))
            continue
        kwargs[name] = convert(data[name], hints[name], dict(f.metadata), path, fld, check)
    obj = cls(**kwargs)
    if check is not None:
        check(obj, data, path, prefix)
    return obj


# --------------------------------------------------------------- UI properties
PROPERTY_KINDS = ("BOOL", "INT", "FLOAT", "STRING", "ENUM", "INT_VECTOR", "FLOAT_VECTOR")


@dataclasses.dataclass(frozen=True)
class PropertySpec:
    """One typed field as the plain arguments of a UI property (ui/schema_props.py builds the
    Blender one from them).

    kind: one of PROPERTY_KINDS. default: None when the field has no single default (a range or
    list that allows several values, a required field): the UI gives its own. minimum/maximum:
    hard bounds, None = unbounded. items: the enum's identifiers. size: a vector's length.
    """

    source: str  # "RenderConfig.samples", for messages
    kind: str
    label: str
    description: str
    default: object
    minimum: float | int | None = None
    maximum: float | int | None = None
    items: tuple | None = None
    size: int | None = None


def property_spec(cls, name: str, *, entry: bool = False) -> PropertySpec:
    """The UI property of typed field `name` of dataclass `cls`.

    entry=True: one value of the field's list or range, as a panel that picks one gender where a
    config lists the genders to draw from; its default is the one value the field's default
    allows, or None when it allows several (or none). A field a UI property cannot hold (a
    nested document, a list of free values, a list of choices without entry=True) is a ValueError.
    """
    known = {f.name: f for f in dataclasses.fields(cls)}
    source = f"{cls.__name__}.{name}"
    if name not in known or "doc" not in known[name].metadata:
        raise ValueError(f"{source} is not a typed field")
    f, meta = known[name], known[name].metadata
    ftype = _plain_type(typing.get_type_hints(cls)[name])
    if meta["required"]:
        default = None
    elif f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    else:
        default = f.default
    number = "INT" if meta["integer"] or ftype is int else "FLOAT"
    bounds = {"minimum": meta["minimum"], "maximum": meta["maximum"]}
    choices = tuple(meta["choices"]) if meta["choices"] else None
    if entry:
        if ftype is not list:
            raise ValueError(f"{source} is not a list or range: it has no entries")
        if not (choices or meta["is_range"] or meta["entries"] or meta["numbers"]):
            raise ValueError(f"{source} is a list of free values: no UI property holds one")
        single = default[0] if default and len(set(default)) == 1 else None
        if choices:
            return PropertySpec(source, "ENUM", _label(name), _tooltip(meta["doc"]), single, items=choices)
        return PropertySpec(source, number, _label(name), _tooltip(meta["doc"]), single, **bounds)
    if ftype is list:
        if meta["is_range"] or meta["entries"]:
            size = 2 if meta["is_range"] else len(meta["entries"])
            return PropertySpec(source, number + "_VECTOR", _label(name), _tooltip(meta["doc"]),
                                tuple(default) if default else None, size=size, **bounds)
        what = "a list of choices: a property holds one entry (entry=True)" if choices else "a list of free values"
        raise ValueError(f"{source} is {what}")
    if ftype is bool:
        return PropertySpec(source, "BOOL", _label(name), _tooltip(meta["doc"]), default)
    if ftype in (int, float):
        return PropertySpec(source, number, _label(name), _tooltip(meta["doc"]), default, **bounds)
    if ftype is str:
        kind = "ENUM" if choices else "STRING"
        return PropertySpec(source, kind, _label(name), _tooltip(meta["doc"]), default, items=choices)
    raise ValueError(f"{source} ({getattr(ftype, '__name__', ftype)}) has no UI property")


def _label(name: str) -> str:
    return name.replace("_", " ").title()


def _tooltip(doc: str) -> str:
    return doc[:1].upper() + doc[1:]
