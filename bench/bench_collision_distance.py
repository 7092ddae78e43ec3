"""Cloth at two collision distances, side by side in one process: outcome and simulation time.

The default went from 3 mm to 2 mm (issue 10). This runs the 8 cases of
tests/blender/test_cloth_motions.py (every garment kind through walk_straight and squat,
1 600 target vertices, 20 frames after a 12-frame pre-roll) at both distances, alternating
A B per case so machine noise falls on both alike. Everything else is the default
ClothSettings, and checks, retries and fallbacks run as in production. A retry costs time, so
the time per case includes the retries its checks asked for.

    python bench/bench_collision_distance.py [--distances 0.003 0.002]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import bpy  # noqa: E402
import conftest  # noqa: E402,F401  (makes `mayhem` importable from a checkout)

from mayhem.core.body.model import load_body_model  # noqa: E402
from mayhem.core.body.skeleton import POSE_PARAM_NAMES  # noqa: E402
from mayhem.core.clothing import fabrics as FB  # noqa: E402
from mayhem.core.clothing import garments as G  # noqa: E402
from mayhem.core.clothing.body_rest import BodyRest  # noqa: E402
from mayhem.core.motion.amass import load_amass  # noqa: E402
from mayhem.scene.body.rig import build_body  # noqa: E402
from mayhem.scene.clothing import cloth as C  # noqa: E402

OUTFITS = {"tshirt+shorts": (("shorts", "cotton"), ("tshirt", "cotton")),
           "longsleeve+trousers": (("trousers", "denim"), ("longsleeve", "cotton")),
           "skirt": (("skirt", "cotton"),), "dress": (("dress", "silk"),)}
MOTIONS = ("walk_straight", "squat")
FRAMES, PREROLL, VERTICES = 20, 12, 1600


def simulate(model, garments, fabrics, clip, distance: float):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = 30
    params = {k: getattr(clip, k)[:FRAMES] for k in (*POSE_PARAM_NAMES, "transl")}
    settings = FB.ClothSettings(preroll=PREROLL, settle=3, collision_distance=distance)
    rig = build_body(model, None, name="person")
    C.animate_with_preroll(rig, params, settings, garments[0].reference_pose)
    dressed = C.dress(rig, garments, fabrics, settings, FRAMES)
    t0 = time.perf_counter()
    outcomes = C.simulate(dressed, settings)
    return time.perf_counter() - t0, outcomes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--distances", type=float, nargs=2, default=(0.003, 0.002), metavar=("A", "B"))
    args = ap.parse_args(argv)
    model = load_body_model(ROOT / "assets" / "bodies" / "free_body.npz")
    rest = BodyRest.from_model(model, reference="A")
    clips = {m: load_amass(ROOT / "assets" / "motions" / f"{m}.npz", target_fps=30) for m in MOTIONS}
    totals = dict.fromkeys(args.distances, 0.0)
    passed = dict.fromkeys(args.distances, 0)
    print(f"bpy {bpy.app.version_string}; collision distance A = {args.distances[0] * 1000:g} mm, "
          f"B = {args.distances[1] * 1000:g} mm")
    print("| outfit | motion | A: status (stretch p99.9), s | B: status (stretch p99.9), s |")
    print("| --- | --- | --- | --- |")
    for name, items in OUTFITS.items():
        garments = G.make_outfit([G.GarmentSpec(k, target_vertices=VERTICES) for k, _ in items], rest)
        fabrics = [f for _, f in items]
        for motion in MOTIONS:
            cells = []
            for d in args.distances:
                seconds, outcomes = simulate(model, garments, fabrics, clips[motion], d)
                totals[d] += seconds
                ok = all(o["status"] in ("simulated", "retried") and o["within_limits"] for o in outcomes)
                passed[d] += ok
                cells.append(", ".join(f"{o['garment']} {o['status']} ({o['max_stretch_robust']:.2f})" for o in outcomes)
                             + f"; {seconds:.1f}")
            print(f"| {name} | {motion} | {cells[0]} | {cells[1]} |", flush=True)
    a, b = args.distances
    print(f"cases within limits: A {passed[a]}/8, B {passed[b]}/8; simulation time: A {totals[a]:.1f} s, "
          f"B {totals[b]:.1f} s, B / A = {totals[b] / totals[a]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
