"""Panel properties built from the documents' typed fields (core.schema.property_spec), so a
panel setting has the default, bounds and choices a config file gets for the same field.

A panel may change how a property looks (label, tooltip, soft range, subtype, item labels and
extra items such as "None") but not what the schema says: hard bounds and the default come from
the field; a default is the panel's own only where the field has none (a range the config draws
from, where the panel picks one value).
"""
from __future__ import annotations

from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    IntVectorProperty,
    StringProperty,
)

from ..core.schema import property_spec

_MAKERS = {"BOOL": BoolProperty, "INT": IntProperty, "FLOAT": FloatProperty, "STRING": StringProperty,
           "ENUM": EnumProperty, "INT_VECTOR": IntVectorProperty, "FLOAT_VECTOR": FloatVectorProperty}
# What a panel may set: presentation, and `default` where the schema has no single one.
PANEL_OPTIONS = frozenset({"name", "description", "default", "soft_min", "soft_max", "step", "precision", "subtype",
                           "options", "update"})


def schema_property(cls, field: str, *, entry: bool = False, items=None, **options):
    """The bpy.props property of typed field `field` of dataclass `cls` (see property_spec for
    `entry`). items: for an enum, a function of the schema's choices returning the (identifier,
    label, description) items; it may add items but must keep every choice. options: PANEL_OPTIONS.
    """
    spec = property_spec(cls, field, entry=entry)
    fixed = sorted(set(options) - PANEL_OPTIONS)
    if fixed:
        raise TypeError(f"{spec.source}: {', '.join(fixed)} cannot be set by the panel (the schema's, or not a "
                        f"property option)")
    if "default" in options and spec.default is not None:
        raise TypeError(f"{spec.source}: the default is the schema's ({spec.default!r}), not the panel's")
    default = options.pop("default", spec.default)
    if default is None:
        raise TypeError(f"{spec.source} has no single default: the panel must give its own (default=...)")
    number = int if spec.kind.startswith("INT") else float
    kwargs = {"name": spec.label, "description": spec.description, "default": default}
    if spec.minimum is not None:
        kwargs["min"] = number(spec.minimum)
    if spec.maximum is not None:
        kwargs["max"] = number(spec.maximum)
    if spec.size is not None:
        kwargs["size"] = spec.size
        kwargs["default"] = tuple(number(v) for v in default)
    elif spec.kind in ("INT", "FLOAT"):
        kwargs["default"] = number(default)
    if spec.kind == "ENUM":
        made = list(items(spec.items)) if items else [(c, c.replace("_", " ").title(), "") for c in spec.items]
        missing = [c for c in spec.items if c not in {item[0] for item in made}]
        if missing:
            raise ValueError(f"{spec.source}: the panel's items leave out {', '.join(missing)}")
        kwargs["items"] = made
    elif items is not None:
        raise TypeError(f"{spec.source} is not an enum: it takes no items")
    kwargs.update(options)
    return _MAKERS[spec.kind](**kwargs)
