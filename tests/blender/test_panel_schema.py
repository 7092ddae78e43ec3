"""The panel's settings that mirror a config field are the config's: the registered Blender
properties (RNA) have the schema's default, hard bounds and enum choices, so the panel cannot
drift from the config again. The comparison is itself checked on specs made to differ."""
from __future__ import annotations

import dataclasses
import math

import pytest

from mayhem.core.config import BodyConfig, CameraConfig, ClothingConfig, RenderConfig, WorldConfig
from mayhem.core.schema import property_spec

# panel property -> (document class, field, one entry of it?, enum items the panel adds)
MIRRORED = {
    "gender": (BodyConfig, "genders", True, ()),
    "skin_tone": (BodyConfig, "skin_tone", True, ()),
    "top": (ClothingConfig, "tops", True, ("NONE", "dress")),
    "bottom": (ClothingConfig, "bottoms", True, ("NONE",)),
    "top_fabric": (ClothingConfig, "fabrics", True, ()),
    "bottom_fabric": (ClothingConfig, "fabrics", True, ()),
    "looseness": (ClothingConfig, "looseness", True, ()),
    "garment_vertices": (ClothingConfig, "garment_vertices", False, ()),
    "preroll": (ClothingConfig, "preroll_frames", False, ()),
    "cloth_quality": (ClothingConfig, "quality", False, ()),
    "samples": (RenderConfig, "samples", False, ()),
    "resolution": (CameraConfig, "resolution", False, ()),
    "environment_strength": (WorldConfig, "strength", True, ()),
    "shadow_catcher": (WorldConfig, "shadow_catcher", False, ()),
}
# No config field holds these (names, file paths, the panel's own sources and dynamic lists).
HAND_WRITTEN = {"body_name", "body_source", "model_path", "betas", "motion_source", "builtin_motion", "amass_path",
                "start_frame", "place_on_ground", "look_seed", "output_dir", "environment"}
RNA_TYPES = {"BOOL": "BOOLEAN", "INT": "INT", "FLOAT": "FLOAT", "STRING": "STRING", "ENUM": "ENUM",
             "INT_VECTOR": "INT", "FLOAT_VECTOR": "FLOAT"}
UNBOUNDED = {"INT": (-2**31, 2**31 - 1), "FLOAT": (-3.4028234663852886e38, 3.4028234663852886e38)}


def rna_mismatches(prop, spec, extra_items=()) -> list[str]:
    """How the registered property `prop` differs from `spec`: kind, vector size, hard bounds,
    default, enum items (the schema's choices in order, plus only `extra_items`)."""
    out = []
    if prop.type != RNA_TYPES[spec.kind]:
        return [f"type {prop.type}, schema {spec.kind}"]
    is_vector = spec.kind.endswith("_VECTOR")
    length = prop.array_length if prop.type in ("INT", "FLOAT", "BOOLEAN") else 0
    if length != (spec.size if is_vector else 0):
        out.append(f"size {length}, schema {spec.size}")
    close = (lambda a, b: math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)) if prop.type == "FLOAT" else (
        lambda a, b: a == b)
    if prop.type in ("INT", "FLOAT"):
        base = spec.kind.removesuffix("_VECTOR")
        for what, have, want, free in (("hard_min", prop.hard_min, spec.minimum, UNBOUNDED[base][0]),
                                       ("hard_max", prop.hard_max, spec.maximum, UNBOUNDED[base][1])):
            if not close(have, free if want is None else want):
                out.append(f"{what} {have}, schema {want}")
    if prop.type == "ENUM":
        ids = [item.identifier for item in prop.enum_items]
        if [i for i in ids if i not in extra_items] != list(spec.items):
            out.append(f"items {ids}, schema {list(spec.items)} plus {list(extra_items)}")
    default = tuple(prop.default_array) if length else prop.default
    if spec.default is not None:
        want = tuple(spec.default) if is_vector else spec.default
        same = (len(default) == len(want) and all(close(a, b) for a, b in zip(default, want))) if is_vector else (
            close(default, want) if prop.type in ("INT", "FLOAT") else default == want)
        if not same:
            out.append(f"default {default!r}, schema {spec.default!r}")
    elif prop.type == "ENUM":
        if default not in spec.items:
            out.append(f"default {default!r} is not among the schema's {list(spec.items)}")
    elif prop.type in ("INT", "FLOAT"):
        lo = -math.inf if spec.minimum is None else spec.minimum
        hi = math.inf if spec.maximum is None else spec.maximum
        if not all(lo <= v <= hi for v in (default if length else (default,))):
            out.append(f"default {default!r} is outside the schema's [{spec.minimum}, {spec.maximum}]")
    return out


@pytest.fixture
def settings_rna(fresh_blender):
    import mayhem
    from mayhem.ui.properties import MayhemSceneSettings

    mayhem.register()
    try:
        yield MayhemSceneSettings.bl_rna.properties
    finally:
        mayhem.unregister()


def test_every_panel_property_is_mirrored_or_declared_hand_written(settings_rna):
    names = {p.identifier for p in settings_rna} - {"rna_type", "name"}  # PropertyGroup's own
    assert not MIRRORED.keys() & HAND_WRITTEN
    assert names == MIRRORED.keys() | HAND_WRITTEN, (names ^ (MIRRORED.keys() | HAND_WRITTEN))


@pytest.mark.parametrize("prop", sorted(MIRRORED))
def test_mirrored_property_equals_the_schema(settings_rna, prop):
    cls, field, entry, extra = MIRRORED[prop]
    assert rna_mismatches(settings_rna[prop], property_spec(cls, field, entry=entry), extra) == []


@pytest.mark.parametrize("prop, change, words", [
    ("samples", {"maximum": 1024}, "hard_max 65536, schema 1024"),
    ("samples", {"minimum": None}, "hard_min 1, schema None"),
    ("samples", {"default": 32}, "default 16, schema 32"),
    ("samples", {"kind": "FLOAT"}, "type INT, schema FLOAT"),
    ("resolution", {"default": (640, 480)}, "default (320, 180), schema (640, 480)"),
    ("resolution", {"size": 3}, "size 2, schema 3"),
    ("skin_tone", {"minimum": 0.5}, "outside the schema's [0.5, 1.0]"),
    ("gender", {"items": ("neutral", "female")}, "items ['neutral', 'female', 'male'], schema ['neutral', 'female']"),
    ("top", {"items": ("longsleeve", "tshirt")}, "schema ['longsleeve', 'tshirt'] plus ['NONE', 'dress']"),
    ("bottom_fabric", {"items": ("cotton", "silk")}, "default 'denim' is not among the schema's"),
    ("shadow_catcher", {"default": False}, "default True, schema False"),
    ("environment_strength", {"maximum": 2.0}, "schema 2.0"),
])
def test_the_comparison_catches_a_differing_spec(settings_rna, prop, change, words):
    cls, field, entry, extra = MIRRORED[prop]
    spec = dataclasses.replace(property_spec(cls, field, entry=entry), **change)
    found = rna_mismatches(settings_rna[prop], spec, extra)
    assert any(words in m for m in found), found


def test_extra_items_must_be_declared(settings_rna):
    cls, field, entry, _ = MIRRORED["top"]
    assert rna_mismatches(settings_rna["top"], property_spec(cls, field, entry=entry), ("NONE",))  # 'dress' undeclared


@pytest.mark.parametrize("call, error, words", [
    (lambda sp: sp(RenderConfig, "samples", max=1024), TypeError, "max cannot be set by the panel"),
    (lambda sp: sp(RenderConfig, "samples", default=8), TypeError, "the default is the schema's (16)"),
    (lambda sp: sp(BodyConfig, "skin_tone", entry=True), TypeError, "has no single default"),
    (lambda sp: sp(BodyConfig, "genders", entry=True, items=lambda gs: [(g, g, "") for g in gs[1:]]), ValueError,
     "the panel's items leave out neutral"),
    (lambda sp: sp(RenderConfig, "samples", items=lambda c: []), TypeError, "is not an enum"),
    (lambda sp: sp(BodyConfig, "genders"), ValueError, "entry=True"),
])
def test_schema_property_refuses_what_the_panel_may_not_change(fresh_blender, call, error, words):
    from mayhem.ui.schema_props import schema_property

    with pytest.raises(error) as err:
        call(schema_property)
    assert words in str(err.value)


def test_a_schema_property_registers_and_holds_the_schemas_bounds(fresh_blender):
    """Outside the panel: a property group of one mirrored field clamps to the config's bounds."""
    bpy = fresh_blender
    from mayhem.ui.schema_props import schema_property

    group = type("MayhemTestSchemaGroup", (bpy.types.PropertyGroup,), {"__annotations__": {
        "samples": schema_property(RenderConfig, "samples", name="Spp"),
        "tone": schema_property(BodyConfig, "skin_tone", entry=True, default=0.25)}})
    bpy.utils.register_class(group)
    try:
        bpy.types.Scene.mayhem_test_group = bpy.props.PointerProperty(type=group)
        g = bpy.context.scene.mayhem_test_group
        assert (g.samples, g.tone) == (16, 0.25) and group.bl_rna.properties["samples"].name == "Spp"
        g.samples, g.tone = 10**6, -3.0
        assert (g.samples, g.tone) == (65536, 0.0)
    finally:
        del bpy.types.Scene.mayhem_test_group
        bpy.utils.unregister_class(group)
