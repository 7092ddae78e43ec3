"""One recipe on two Blender lines: render and cloth time per frame, and how far outputs agree.

    python bench/bench_blender_lines.py --python-a .venv-4.5/bin/python --python-b .venv/bin/python \
        [--config assets/configs/quickstart.yaml] [--repeats 2] [--out /tmp/lines]

Two bpy versions cannot share a process, so each line runs `python -m headless.generate` in
its own interpreter, alternating A B A B ... so both see the same machine load; the ratios are
of medians over the repeats. The same config and seed run on both, so the outputs also tell:
  * within a line, whether repeats give byte-identical labels, masks, depth and scene.json;
  * across lines, whether labels and scene.json are identical, how many mask pixels differ,
    how far depth and RGB differ.
Prints a Markdown report for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _core():
    import importlib.util

    if "mayhem" not in sys.modules:
        spec = importlib.util.spec_from_file_location("mayhem", ROOT / "blender_addon" / "__init__.py",
                                                      submodule_search_locations=[str(ROOT / "blender_addon")])
        module = importlib.util.module_from_spec(spec)
        sys.modules["mayhem"] = module
        spec.loader.exec_module(module)
    from mayhem.core.io import exr, png
    return exr, png


def run_line(python: str, config: Path, out: Path) -> dict:
    """Generate the dataset with this interpreter; return its version and per-sequence timings."""
    res = subprocess.run([python, "-m", "headless.generate", str(config), "--out", str(out),
                          "--overwrite", "--workers", "1", "--quiet"],
                         cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{python} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    version = subprocess.run([python, "-c", "import bpy; print(bpy.app.version_string)"],
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
    dataset = json.loads((out / "dataset.json").read_text())
    return {"version": version, "sequences": dataset["sequences"]}


def per_frame(result: dict, key: str) -> float:
    """Seconds of timing `key` per rendered frame, over all sequences."""
    seqs = [s for s in result["sequences"] if s.get("status") == "done"]
    frames = sum(int(s["frames"]) for s in seqs)
    return sum(float(s.get("timings", {}).get(key, 0.0)) for s in seqs) / max(frames, 1)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(out: Path, pattern: str) -> list[Path]:
    return sorted(out.glob(pattern))


def same_bytes(a: Path, b: Path, pattern: str) -> bool:
    fa, fb = files(a, pattern), files(b, pattern)
    return len(fa) == len(fb) > 0 and all(digest(x) == digest(y) for x, y in zip(fa, fb))


def compare_lines(a: Path, b: Path) -> dict:
    """Differences between two datasets of the same config and seed."""
    exr, png = _core()
    report = {"labels identical": same_bytes(a, b, "seq_*/labels.npz"),
              "scene.json identical": same_bytes(a, b, "seq_*/scene.json")}
    la, lb = (np.load(files(x, "seq_*/labels.npz")[0], allow_pickle=False) for x in (a, b))
    numeric = [k for k in la.files if la[k].dtype.kind in "fiu" and k in lb.files and la[k].shape == lb[k].shape]
    report["labels max |diff|"] = max((float(np.max(np.abs(la[k].astype(np.float64) - lb[k])))
                                       for k in numeric if la[k].size), default=0.0)
    mask_px = mask_diff = 0
    for x, y in zip(files(a, "seq_*/mask/*.png"), files(b, "seq_*/mask/*.png")):
        ma, mb = png.read_png(x), png.read_png(y)
        mask_px += ma.size
        mask_diff += int(np.count_nonzero(ma != mb))
    report["mask pixels differing"] = mask_diff / max(mask_px, 1)
    depth_err = []
    for x, y in zip(files(a, "seq_*/depth/*.exr"), files(b, "seq_*/depth/*.exr")):
        da, db = exr.read_depth_exr(x), exr.read_depth_exr(y)
        both = np.isfinite(da) & np.isfinite(db)
        depth_err.append(np.abs(da[both] - db[both]))
    d = np.concatenate(depth_err) if depth_err else np.zeros(1)
    report["depth |diff| median m"] = float(np.median(d))
    report["depth |diff| p99 m"] = float(np.percentile(d, 99))
    rgb_err = []
    for x, y in zip(files(a, "seq_*/rgb/*.png"), files(b, "seq_*/rgb/*.png")):
        ra, rb = png.read_png(x).astype(np.int32), png.read_png(y).astype(np.int32)
        rgb_err.append(np.abs(ra - rb).ravel())
    e = np.concatenate(rgb_err)
    mse = float(np.mean(e.astype(np.float64) ** 2))
    report["RGB mean |diff| (0-255)"] = float(e.mean())
    report["RGB p99 |diff|"] = float(np.percentile(e, 99))
    report["RGB PSNR dB"] = float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python-a", required=True, help="interpreter with the reference bpy (e.g. 4.5)")
    ap.add_argument("--python-b", required=True, help="interpreter with the other bpy (e.g. 5.2)")
    ap.add_argument("--config", type=Path, default=ROOT / "assets" / "configs" / "quickstart.yaml")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("/tmp/mayhem_bench_lines"))
    args = ap.parse_args(argv)

    runs = {"a": [], "b": []}
    for rep in range(args.repeats):
        order = ("a", "b") if rep % 2 == 0 else ("b", "a")
        for side in order:
            python = args.python_a if side == "a" else args.python_b
            out = args.out / side / f"run{rep}"
            result = run_line(python, args.config, out)
            result["out"] = out
            runs[side].append(result)
            print(f"run {rep} {result['version']}: render {per_frame(result, 'render_s'):.3f} s/frame, "
                  f"cloth {per_frame(result, 'cloth_s'):.3f} s/frame", file=sys.stderr)

    va, vb = runs["a"][0]["version"], runs["b"][0]["version"]
    print(f"Command: `python bench/bench_blender_lines.py --python-a A --python-b B --config "
          f"{args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config} "
          f"--repeats {args.repeats}` (A = bpy {va}, B = bpy {vb})\n")
    print(f"| per rendered frame | bpy {va} | bpy {vb} | ratio {vb} / {va} |")
    print("| --- | --- | --- | --- |")
    for key, label in (("render_s", "Cycles render"), ("cloth_s", "cloth simulation"), ("build_s", "scene build (cloth included)")):
        ma = statistics.median(per_frame(r, key) for r in runs["a"])
        mb = statistics.median(per_frame(r, key) for r in runs["b"])
        ratio = f"**{mb / ma:.2f}**" if ma > 0 else "-"
        print(f"| {label} | {ma:.3f} s | {mb:.3f} s | {ratio} |")
    print()
    for side, version in (("a", va), ("b", vb)):
        outs = [r["out"] for r in runs[side]]
        if len(outs) > 1:
            same = {what: all(same_bytes(outs[0], o, pat) for o in outs[1:]) for what, pat in
                    (("labels", "seq_*/labels.npz"), ("masks", "seq_*/mask*/*.png"),
                     ("depth", "seq_*/depth/*.exr"), ("scene.json", "seq_*/scene.json"),
                     ("RGB", "seq_*/rgb/*.png"))}
            print(f"Within bpy {version}, {len(outs)} runs byte-identical: "
                  + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in same.items()))
    print()
    print(f"Across lines (bpy {va} vs {vb}, run 0 of each):\n")
    for key, value in compare_lines(runs["a"][0]["out"], runs["b"][0]["out"]).items():
        print(f"- {key}: {value:.3g}" if isinstance(value, float) else f"- {key}: {'yes' if value else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
