"""core.schema.property_spec: a typed field as the plain arguments of a UI property, and the
fixed-length number lists (`entries`) it sizes vectors from."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from mayhem.core.config import CameraConfig, ClothingConfig, Config, RenderConfig, config_from_dict
from mayhem.core.errors import MayhemInputError
from mayhem.core.schema import REQUIRED, PropertySpec, from_dict, property_spec, typed_field


@dataclass
class Part:
    name: str = typed_field("a", "a name")


@dataclass
class Doc:
    on: bool = typed_field(True, "a switch")
    count: int = typed_field(3, "a count", minimum=1, maximum=9)
    scale: float = typed_field(0.5, "a scale", minimum=0.0)
    axis: str = typed_field("Y", "an axis", choices=("X", "Y", "Z"))
    note: str = typed_field("hi", "free text")
    file: str = typed_field(REQUIRED, "a file")
    span: list = typed_field([0.2, 0.8], "a range", is_range=True, minimum=0.0, maximum=1.0)
    fixed: list = typed_field([2, 2], "a fixed range", is_range=True, integer=True, minimum=1, maximum=5)
    size: list = typed_field([4, 3], "width and height", entries=("w", "h"), integer=True, minimum=1, maximum=10)
    one: list = typed_field(["b"], "one choice", choices=("a", "b", "c"))
    many: list = typed_field(["a", "c"], "several choices", choices=("a", "b", "c"))
    free: list = typed_field([], "anything")
    part: Part = field(default_factory=Part)
    maybe: Part | None = typed_field(None, "an optional part", optional=True)
    plain: int = 4


@pytest.mark.parametrize("name, entry, expected", [
    ("on", False, PropertySpec("Doc.on", "BOOL", "On", "A switch", True)),
    ("count", False, PropertySpec("Doc.count", "INT", "Count", "A count", 3, minimum=1, maximum=9)),
    ("scale", False, PropertySpec("Doc.scale", "FLOAT", "Scale", "A scale", 0.5, minimum=0.0)),
    ("axis", False, PropertySpec("Doc.axis", "ENUM", "Axis", "An axis", "Y", items=("X", "Y", "Z"))),
    ("note", False, PropertySpec("Doc.note", "STRING", "Note", "Free text", "hi")),
    ("file", False, PropertySpec("Doc.file", "STRING", "File", "A file", None)),  # required: no default
    ("span", False, PropertySpec("Doc.span", "FLOAT_VECTOR", "Span", "A range", (0.2, 0.8), 0.0, 1.0, size=2)),
    ("span", True, PropertySpec("Doc.span", "FLOAT", "Span", "A range", None, 0.0, 1.0)),  # draws among many
    ("fixed", True, PropertySpec("Doc.fixed", "INT", "Fixed", "A fixed range", 2, 1, 5)),  # always 2
    ("size", False, PropertySpec("Doc.size", "INT_VECTOR", "Size", "Width and height", (4, 3), 1, 10, size=2)),
    ("one", True, PropertySpec("Doc.one", "ENUM", "One", "One choice", "b", items=("a", "b", "c"))),
    ("many", True, PropertySpec("Doc.many", "ENUM", "Many", "Several choices", None, items=("a", "b", "c"))),
])
def test_each_kind_of_field(name, entry, expected):
    assert property_spec(Doc, name, entry=entry) == expected


@pytest.mark.parametrize("name, entry, words", [
    ("plain", False, "Doc.plain is not a typed field"),
    ("missing", False, "Doc.missing is not a typed field"),
    ("many", False, "a list of choices: a property holds one entry (entry=True)"),
    ("free", False, "a list of free values"),
    ("free", True, "a list of free values"),
    ("count", True, "is not a list or range"),
    ("part", False, "Doc.part is not a typed field"),  # a nested document
    ("maybe", False, "Doc.maybe (Part) has no UI property"),
])
def test_fields_no_property_holds_are_refused(name, entry, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        property_spec(Doc, name, entry=entry)


def test_the_config_fields_the_panel_mirrors():
    samples = property_spec(RenderConfig, "samples")
    assert (samples.kind, samples.label, samples.default) == ("INT", "Samples", Config().render.samples)
    assert (samples.minimum, samples.maximum, samples.description) == (1, 65536, "Cycles samples per pixel")
    res = property_spec(CameraConfig, "resolution")
    assert (res.kind, res.size, res.default, res.minimum, res.maximum) == ("INT_VECTOR", 2, (320, 180), 8, 16384)
    fabrics = property_spec(ClothingConfig, "fabrics", entry=True)
    assert fabrics.kind == "ENUM" and fabrics.items == ("cotton", "denim", "silk", "wool", "leather")
    assert fabrics.default is None  # a config allows all five: the panel names its own


def test_entries_are_a_fixed_number_of_bounded_numbers():
    doc = from_dict(Doc, {"file": "f", "size": [5.0, 10]}, "d.yaml")
    assert doc.size == [5, 10] and all(type(v) is int for v in doc.size)
    for value, words in (([5], "expected [w, h], got [5]"), ([5, 6, 7], "expected [w, h]"), ([0, 5], ">= 1"),
                         ([5, 11], "<= 10"), ([5, 2.5], "whole number"), ([True, 5], "expected a number"),
                         ("5x5", "expected a list")):
        with pytest.raises(MayhemInputError) as err:
            from_dict(Doc, {"file": "f", "size": value}, "d.yaml")
        assert str(err.value).startswith("d.yaml: size: ") and words in str(err.value), (value, str(err.value))


def test_config_resolution_keeps_its_checks():
    assert config_from_dict({"camera": {"resolution": [8, 16384]}}).camera.resolution == [8, 16384]
    for value, words in (([320], "expected [width, height]"), ([320, 7], ">= 8"), ([16385, 90], "<= 16384"),
                         ([320.5, 90], "whole number")):
        with pytest.raises(MayhemInputError, match=r"^<config>: camera\.resolution: .*" + words.replace("[", r"\[")):
            config_from_dict({"camera": {"resolution": value}})
