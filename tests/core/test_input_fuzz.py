"""Property tests: random and mutated configs, outfit manifests and npz files fed to the loaders.

Whatever a careless user or a damaged download hands Mayhem, a loader either returns or raises
MayhemInputError (one line naming the file and field). Any other exception is a bug. The
examples are derandomised, so a failure here fails the same way on every run and machine.
"""
from __future__ import annotations

import copy
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from mayhem.core.body.model import load_body_model  # noqa: E402
from mayhem.core.clothing.user_outfits import load_manifest, parse_manifest  # noqa: E402
from mayhem.core.config import config_from_dict, load_config  # noqa: E402
from mayhem.core.errors import MayhemInputError  # noqa: E402
from mayhem.core.motion.amass import load_amass  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Any YAML/JSON-shaped value: what a typo or a wrong paste can put in a field.
scalars = (st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats()
           | st.text(max_size=12) | st.sampled_from(["free", "auto", "builtin:wave", "T", "A", "", "-1", "nan"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)


def _paths(tree, prefix=()):
    """Every (key path) in a nested dict/list tree, the root included."""
    yield prefix
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for k, value in enumerate(tree):
            yield from _paths(value, (*prefix, k))


@st.composite
def mutated(draw, base: dict):
    """`base` with 1-3 edits: a value replaced, a key dropped, an unknown key added."""
    tree = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(_paths(tree))))
        kind = draw(st.sampled_from(["replace", "drop", "add"]))
        if not where:
            if kind == "replace":
                tree = draw(values)
            continue
        parent = tree
        for key in where[:-1]:
            parent = parent[key]
        if kind == "replace":
            parent[where[-1]] = draw(values)
        elif kind == "drop":
            del parent[where[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(values)
        if not isinstance(tree, (dict, list)):
            break
    return tree


def _loads_or_refuses(load, *args):
    """Run a loader: success, or one non-empty line. (`--hypothesis-show-statistics` shows
    how the examples split between the two.)"""
    try:
        load(*args)
    except MayhemInputError as exc:
        assert str(exc).strip() and "\n" not in str(exc), repr(str(exc))
        hypothesis.event("refused")
    else:
        hypothesis.event("loaded")


# ------------------------------------------------------------------------------- configs
QUICKSTART = yaml.safe_load((ROOT / "assets" / "configs" / "quickstart.yaml").read_text())
FULL_CONFIG = config_from_dict(QUICKSTART).to_dict()  # every field, so every field gets mutated


@FUZZ
@given(data=st.one_of(mutated(QUICKSTART), mutated(FULL_CONFIG)))
def test_mutated_configs_validate_or_name_the_field(data):
    _loads_or_refuses(config_from_dict, data, "fuzz.yaml")


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
       suffix=st.sampled_from([".yaml", ".json"]))
def test_random_config_files_load_or_are_refused(raw, suffix):
    _write_and_load(raw, f"config{suffix}", load_config)


# ----------------------------------------------------------------------------- manifests
MANIFEST = {"outfit": {"name": "fuzz", "units": "m", "up": "Y",
                       "body": {"model": "free", "pose": "T", "betas": [0.0, 0.5]},
                       "garments": [{"file": "a.obj", "kind": "top", "fabric": "cotton", "pin": "hem"},
                                    {"file": "a.obj", "kind": "bottom", "name": "b", "pin_width": 0.02,
                                     "self_collision": True, "pin_group": "waist"}]}}


@pytest.fixture(scope="module")
def manifest_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("manifest")
    (folder / "a.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    return folder


def test_the_unmutated_manifest_is_valid(manifest_dir):
    assert [g.name for g in parse_manifest(MANIFEST, manifest_dir / "m.yaml").garments] == ["a", "b"]


@FUZZ
@given(data=mutated(MANIFEST))
def test_mutated_manifests_validate_or_name_the_field(manifest_dir, data):
    _loads_or_refuses(parse_manifest, data, manifest_dir / "m.yaml")


@FUZZ
@given(raw=st.binary(max_size=200))
def test_random_manifest_files_load_or_are_refused(manifest_dir, raw):
    path = manifest_dir / "random.yaml"
    path.write_bytes(raw)
    _loads_or_refuses(load_manifest, path)


# ----------------------------------------------------------------------------- npz files
def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


any_array = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_, np.complex64,
                           np.dtype("<U4"), np.dtype("S3")]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))


@st.composite
def mutated_arrays(draw, base: dict):
    """`base` (name -> array) with 1-3 edits: an array dropped, replaced by a random one,
    cut to fewer rows, cast to another dtype, or filled with NaN; or an unknown key added."""
    arrays = dict(base)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(base)))
        kind = draw(st.sampled_from(["drop", "random", "cut", "cast", "nan", "add"]))
        if key not in arrays:
            continue
        arr = np.asarray(arrays[key])
        if kind == "drop":
            del arrays[key]
        elif kind == "random":
            arrays[key] = draw(any_array)
        elif kind == "cut" and arr.ndim:
            arrays[key] = arr[:draw(st.integers(0, max(arr.shape[0] - 1, 0)))]
        elif kind == "cast":
            dtype = draw(st.sampled_from([np.float32, np.int8, np.bool_, np.dtype("<U8")]))
            try:
                arrays[key] = arr.astype(dtype)
            except ValueError:  # text that is not a number: store it as text instead
                arrays[key] = arr.astype(np.dtype("<U8"))
        elif kind == "nan" and arr.dtype.kind == "f" and arr.size:
            arrays[key] = np.where(np.arange(arr.size).reshape(arr.shape) % 7 == 0, np.nan, arr)
        elif kind == "add":
            arrays[f"extra_{key}"] = draw(any_array)
    return arrays


@st.composite
def damaged_bytes(draw, data: bytes):
    """The file cut short, or with a few bytes flipped."""
    if draw(st.booleans()):
        return data[:draw(st.integers(0, len(data) - 1))]
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        out[draw(st.integers(0, len(out) - 1))] ^= draw(st.integers(1, 255))
    return bytes(out)


with np.load(ROOT / "assets" / "motions" / "wave.npz") as _z:
    MOTION = {k: _z[k][:40] if _z[k].ndim == 2 else _z[k] for k in _z.files}  # 40 frames: quick
MOTION["mocap_time_length"] = np.array(40 / float(MOTION["mocap_frame_rate"]))


def _small_body() -> dict:
    from smplx_files import smplx_model_arrays

    return smplx_model_arrays(n_vertices=300, shape_columns=20, seed=3)


BODY = _small_body()


def test_the_unmutated_files_load():
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "m.npz").write_bytes(_npz_bytes(MOTION))
        (Path(tmp) / "b.npz").write_bytes(_npz_bytes(BODY))
        assert load_amass(Path(tmp) / "m.npz", target_fps=30.0).num_frames >= 39
        assert load_body_model(Path(tmp) / "b.npz").v_template.shape == (300, 3)


def _write_and_load(raw: bytes, name: str, load) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(raw)
        _loads_or_refuses(load, path)


@FUZZ
@given(raw=st.one_of(mutated_arrays(MOTION).map(_npz_bytes), damaged_bytes(_npz_bytes(MOTION))))
def test_mutated_motion_files_load_or_are_refused(raw):
    _write_and_load(raw, "motion.npz", load_amass)


@settings(FUZZ, max_examples=300)
@given(raw=st.one_of(mutated_arrays(BODY).map(_npz_bytes), damaged_bytes(_npz_bytes(BODY))))
def test_mutated_body_model_files_load_or_are_refused(raw):
    _write_and_load(raw, "SMPLX_NEUTRAL.npz", load_body_model)
