"""Shared fixtures: make `mayhem` importable from a source checkout, synthetic model files.

Layout and markers: tests/core/ holds the numpy-core tests (marker `core`, no bpy import:
`pytest -m core` runs them alone in seconds); tests/blender/ the tests of the Blender layer
(`bpy`); tests/e2e/ whole jobs through the batch driver, the CLI or an installed extension
(`bpy`, `render`, `slow`). Other test modules may add `render` or `slow` themselves. Every
test marked `bpy` starts from Blender's factory settings (an empty file), so no test sees
another test's scene.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

if importlib.util.find_spec("mayhem") is None:  # running from a checkout without `pip install -e .`
    spec = importlib.util.spec_from_file_location("mayhem", ROOT / "blender_addon" / "__init__.py",
                                                  submodule_search_locations=[str(ROOT / "blender_addon")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["mayhem"] = module
    spec.loader.exec_module(module)


@pytest.fixture(scope="session")
def smplx_npz(tmp_path_factory):
    """A full-size model file in the SMPL-X v1.1 npz layout (random contents)."""
    from smplx_files import write_smplx_npz

    path = tmp_path_factory.mktemp("models") / "SMPLX_NEUTRAL.npz"
    write_smplx_npz(path)
    return path


@pytest.fixture(scope="session")
def free_body_path():
    path = ROOT / "assets" / "bodies" / "free_body.npz"
    if not path.exists():
        pytest.fail(f"{path} is missing: build it with assets/bodies/build_free_body.py")
    return path


@pytest.fixture(scope="session")
def free_body_model(free_body_path):
    """The bundled free body, loaded once per test session (core.body.model)."""
    from mayhem.core.body.model import load_body_model

    return load_body_model(free_body_path)


@pytest.fixture(scope="session")
def free_body_rest(free_body_model):
    """The free body at betas 0 in the garments' A reference pose (core.clothing.body_rest.BodyRest)."""
    from mayhem.core.clothing.body_rest import BodyRest

    return BodyRest.from_model(free_body_model, reference="A")


@pytest.fixture(scope="session")
def motion_folder(tmp_path_factory):
    """A folder holding one AMASS SMPL-X clip, walk.npz: arms lowered, walking forward slowly."""
    from motion_files import write_walking_clip

    folder = tmp_path_factory.mktemp("amass")
    write_walking_clip(folder / "walk.npz")
    return folder


@pytest.fixture(scope="session")
def model(free_body_model):
    """"The" body model of tests that need one: the free body (a module may define its own)."""
    return free_body_model


@pytest.fixture(scope="session")
def body(free_body_rest):
    """"The" rest body of tests that need one: the free body in the A pose (a module may define its own)."""
    return free_body_rest


@pytest.fixture
def fresh_blender(request):
    """bpy after a factory reset to an empty file, so no test sees another test's scene (done
    by _factory_reset_for_bpy_tests for tests marked `bpy`)."""
    bpy = pytest.importorskip("bpy")
    if request.node.get_closest_marker("bpy") is None:
        bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy


FOLDER_MARKERS = {"core": ("core",), "blender": ("bpy",), "e2e": ("bpy", "render", "slow")}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for name in FOLDER_MARKERS.get(Path(str(item.fspath)).parent.name, ()):
            item.add_marker(name)


@pytest.fixture(autouse=True)
def _factory_reset_for_bpy_tests(request):
    """Blender back to factory settings before each `bpy` test (module-scoped fixtures that
    built and rendered a scene have already collected what they need)."""
    if request.node.get_closest_marker("bpy") is not None:
        bpy = pytest.importorskip("bpy")
        bpy.ops.wm.read_factory_settings(use_empty=True)
    yield


_SESSION = {}


def pytest_sessionfinish(session, exitstatus):
    """Unregister the add-on if a test left it registered: the bpy module hangs at
    interpreter exit while any Operator class is still registered."""
    _SESSION["status"] = int(exitstatus)
    module = sys.modules.get("mayhem.ui")
    if module is None or "bpy" not in sys.modules:
        return
    try:
        sys.modules["mayhem"].unregister()
    except Exception:  # already unregistered
        pass


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Leave without running C++ exit handlers once bpy is loaded: bpy 4.5's global-state
    destructor can wait forever on a condition variable at interpreter exit (seen after the
    whole suite had passed), which would turn a green run into a CI timeout."""
    if "bpy" in sys.modules and "status" in _SESSION:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_SESSION["status"])
