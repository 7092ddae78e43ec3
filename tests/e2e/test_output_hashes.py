"""The outputs of the quickstart and two presets, pinned by hash: moving code must not move bytes.

Recorded on the code before the layout of issue 11 (commit 83e472a; the x86_64-avx2 keys at
51489a9, which the avx512 records show gives the same bytes), per Blender line and
machine class, at test size (160x90, 2 frames, 4 samples, smaller garments). labels.npz and
depth EXRs are compared as file bytes; masks as decoded pixels (their PNG encoder may change,
their pixels may not). Bytes are pinned per machine class because numpy's and OpenBLAS's
kernels are chosen by CPU (AVX2 and AVX-512 machines round the last bit differently); on a
class with no record the test skips and says so. Run `python tests/e2e/test_output_hashes.py`
to print the hashes of the current code, keyed for this machine (output_hashes.json holds them).
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ("quickstart", "single_person", "group_3_8")

# Test-size overrides: every other field is the config's own.
OVERRIDES = {
    "sequences": 1, "frames": 2,
    "camera": {"resolution": [160, 90]},
    "render": {"samples": 4, "denoise": False},
    "clothing": {"garment_vertices": 800, "preroll_frames": 10},
}

# output_hashes.json: {"<blender major.minor>/<machine class>": {config: {file: sha256}}}
RECORDED_FILE = Path(__file__).with_name("output_hashes.json")
RECORDED: dict[str, dict[str, dict[str, str]]] = json.loads(RECORDED_FILE.read_text())


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


def config_for(name: str):
    import yaml

    from mayhem.core.config import config_from_dict

    path = ROOT / "assets" / "configs" / f"{name}.yaml"
    return config_from_dict(_merge(yaml.safe_load(path.read_text()), OVERRIDES), path)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def output_hashes(dataset: Path) -> dict[str, str]:
    """sha256 per output: labels.npz and depth bytes, mask pixels (shape, dtype and values)."""
    import numpy as np

    from mayhem.core.io.png import read_png

    hashes = {}
    for seq in sorted(p for p in dataset.iterdir() if p.name.startswith("seq_")):
        hashes[f"{seq.name}/labels.npz"] = _sha((seq / "labels.npz").read_bytes())
        for path in sorted((seq / "depth").glob("*.exr")):
            hashes[f"{seq.name}/depth/{path.name}"] = _sha(path.read_bytes())
        for sub in ("mask", "mask_body", "mask_clothing"):
            for path in sorted((seq / sub).glob("*.png")):
                pixels = np.ascontiguousarray(read_png(path))
                hashes[f"{seq.name}/{sub}/{path.name}"] = _sha(
                    f"{pixels.shape}{pixels.dtype}".encode() + pixels.tobytes())
    return hashes


def render(name: str, out: Path) -> Path:
    from mayhem.services.batch import BatchOptions, generate

    summary = generate(config_for(name), out, BatchOptions(workers=1, progress=False))
    assert summary["failed"] == 0, summary
    return out


def blender_line() -> str:
    import bpy

    return ".".join(str(v) for v in bpy.app.version[:2])


def machine_class() -> str:
    """CPU architecture and widest SIMD level numpy dispatches to (e.g. x86_64-avx512)."""
    import platform

    import numpy as np

    try:
        features = np._core._multiarray_umath.__cpu_features__
    except AttributeError:  # numpy 1.x
        features = np.core._multiarray_umath.__cpu_features__
    level = next((name.lower() for name in ("AVX512F", "AVX2") if features.get(name)), "base")
    return f"{platform.machine()}-{level.replace('avx512f', 'avx512')}"


def record_key() -> str:
    return f"{blender_line()}/{machine_class()}"


@pytest.mark.parametrize("name", CONFIGS)
def test_outputs_match_recorded_hashes(name, tmp_path):
    key = record_key()
    if name not in RECORDED.get(key, {}):
        pytest.skip(f"no hashes recorded for {key} (recorded: {', '.join(RECORDED)})")
    assert output_hashes(render(name, tmp_path / name)) == RECORDED[key][name]


if __name__ == "__main__":
    import tempfile

    sys.path.insert(0, str(ROOT / "tests"))
    import conftest  # noqa: F401  (makes `mayhem` importable from a checkout)

    with tempfile.TemporaryDirectory() as tmp:
        result = {name: output_hashes(render(name, Path(tmp) / name)) for name in CONFIGS}
    print(json.dumps({record_key(): result}, indent=1, sort_keys=True))
