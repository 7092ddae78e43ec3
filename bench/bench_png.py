"""PNG codec: Pillow (core/io/png.py) vs the pure numpy + zlib codec it replaced, side by side.

    python bench/bench_png.py [--repeats 7] [--old-commit 2db218c]

The old codec is not kept in the tree (one implementation only): it is read from git at
`--old-commit` and loaded beside the new one. Images are 1280x720: a 16-bit instance mask
(three people on a zero background, as frames.py writes) and 8-bit RGB and RGBA renders (a
smooth gradient plus per-pixel noise, as a few-sample Cycles frame). Both readers read the
same files: the one each writer produced. Times are medians of alternating runs.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import conftest  # noqa: E402,F401  (makes `mayhem` importable from a checkout)

from mayhem.core.io import png as new  # noqa: E402


def load_old(commit: str):
    """The codec at `commit`, as module mayhem.core.io._png_old (its relative imports resolve)."""
    source = subprocess.run(["git", "show", f"{commit}:blender_addon/core/io/png.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    spec = importlib.util.spec_from_loader("mayhem.core.io._png_old", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "mayhem.core.io"
    exec(compile(source, f"{commit}:png.py", "exec"), module.__dict__)
    return module


def images(h: int = 720, w: int = 1280) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    mask = np.zeros((h, w), np.uint16)
    for pid, (cx, cy, rx, ry) in enumerate([(300, 400, 90, 260), (640, 380, 110, 300), (1000, 420, 80, 240)], 1):
        mask[((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1] = pid
    base = np.stack([xx / w, yy / h, 0.5 + 0.3 * np.sin(xx / 60.0) * np.cos(yy / 45.0)], -1) * 255
    rgb = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    rgba = np.concatenate([rgb, np.full((h, w, 1), 255, np.uint8)], axis=2)
    return {"mask uint16 (H, W)": mask, "render RGB uint8": rgb, "render RGBA uint8": rgba}


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--old-commit", default="2db218c")
    args = ap.parse_args(argv)
    old = load_old(args.old_commit)
    import PIL

    print(f"Pillow {PIL.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}, "
          f"old codec from {args.old_commit}; median of {args.repeats}\n")
    print("| image | step | old numpy codec | Pillow | ratio (old / Pillow) |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for name, a in images().items():
            files = {}
            for tag, codec in (("old", old), ("new", new)):
                files[tag] = Path(tmp) / f"{tag}.png"
                files[tag].write_bytes(codec.png_bytes(a))
                for reader in (old, new):  # every reader gets every writer's pixels back exactly
                    np.testing.assert_array_equal(reader.read_png(files[tag]), a)
            t_write = {tag: median_time(lambda c=codec: c.png_bytes(a), args.repeats)
                       for tag, codec in (("old", old), ("new", new))}
            print(f"| {name} | write (encode) | {t_write['old'] * 1e3:.1f} ms | {t_write['new'] * 1e3:.1f} ms "
                  f"| **{t_write['old'] / t_write['new']:.2f}** |")
            for tag, label in (("old", "old codec's file"), ("new", "Pillow's file")):
                t_old = median_time(lambda f=files[tag]: old.read_png(f), args.repeats)
                t_new = median_time(lambda f=files[tag]: new.read_png(f), args.repeats)
                print(f"| {name} | read {label} ({files[tag].stat().st_size:,} B) | {t_old * 1e3:.1f} ms "
                      f"| {t_new * 1e3:.1f} ms | **{t_old / t_new:.2f}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
