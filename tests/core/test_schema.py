"""core.schema: the typed fields behind the config and outfit manifests."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from mayhem.core.errors import MayhemInputError
from mayhem.core.schema import REQUIRED, from_dict, typed_field


@dataclass
class Inner:
    axis: str | None = typed_field(None, "an axis", optional=True, choices=("Y", "Z"), upper=True)
    weights: list = typed_field([], "numbers", numbers=True)


@dataclass
class Doc:
    file: str = typed_field(REQUIRED, "a file", nonempty=True)
    count: int = typed_field(1, "a count", minimum=1, maximum=9)
    span: list = typed_field([0.0, 1.0], "a range", is_range=True)
    inner: Inner = field(default_factory=Inner)


def test_defaults_conversions_and_nested_fields():
    doc = from_dict(Doc, {"file": "a.obj", "span": 2, "inner": {"axis": "z", "weights": [1, 2.5]}}, "d.yaml")
    assert doc == Doc(file="a.obj", count=1, span=[2, 2], inner=Inner(axis="Z", weights=[1.0, 2.5]))
    assert from_dict(Doc, {"file": "a", "inner": None}, "d.yaml").inner == Inner()


@pytest.mark.parametrize("data, fld, words", [
    ({}, "file", "missing"),
    ({"file": " "}, "file", "must not be empty"),
    ({"file": "a", "count": 10}, "count", "<= 9"),
    ({"file": "a", "count": 1.5}, "count", "whole number"),
    ({"file": "a", "span": [2, 1]}, "span", "greater than"),
    ({"file": "a", "inner": {"axis": "x"}}, "inner.axis", "must be one of Y, Z"),
    ({"file": "a", "inner": {"weights": [1, "x"]}}, "inner.weights", "expected a number"),
    ({"file": "a", "inner": {"weights": [float("nan")]}}, "inner.weights", "finite"),
    ({"file": "a", "inner": []}, "inner", "expected a mapping"),
    ({"file": "a", "colour": 1}, "colour", "unknown field"),
    ({"file": "a", 3: 1}, "3", "unknown field"),
])
def test_errors_name_the_file_and_dotted_field(data, fld, words):
    with pytest.raises(MayhemInputError) as err:
        from_dict(Doc, data, "d.yaml")
    assert err.value.field == fld and words in str(err.value) and str(err.value).startswith(f"d.yaml: {fld}: ")


def test_check_runs_on_every_object_read_nested_first():
    seen = []
    from_dict(Doc, {"file": "a", "inner": {}}, "d.yaml", check=lambda obj, data, path, prefix: seen.append((type(obj).__name__, prefix)))
    assert seen == [("Inner", "inner"), ("Doc", "")]
