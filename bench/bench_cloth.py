"""Cloth benchmark: simulation cost per frame per 1 000 garment vertices at the default quality,
and the penetration / stretch checks over the bundled motions, two garments each.

For every motion in assets/motions/ (procedural clips; AMASS-format npz) the free body wears a
top and a bottom (pairs cycle through T-shirt + shorts, long sleeve + trousers, T-shirt + skirt,
long sleeve + shorts, T-shirt + trousers) made at the default resolution, and the sequence is
simulated with the default ClothSettings (pre-roll included) through scene.clothing.cloth.simulate:
checks, retries and fallbacks exactly as in production. Reported per motion: vertices, frames,
status, quality steps, penetration median/max, edge stretch (worst edge and the 99.9 %
quantile the checks judge), and the cost of the first (default-quality) pass in wall and CPU
seconds per simulated frame per 1 000 vertices.

    python bench/bench_cloth.py            # all motions, up to --frames sequence frames each
    python bench/bench_cloth.py --quick    # 3 motions, 30 frames
    python bench/bench_cloth.py --json out.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import bpy  # noqa: E402
import conftest  # noqa: E402,F401  (makes `mayhem` importable from a checkout)

from mayhem.core.body.model import load_body_model  # noqa: E402
from mayhem.core.clothing import garments as G  # noqa: E402
from mayhem.core.clothing import preroll as FB  # noqa: E402
from mayhem.core.clothing.body_rest import BodyRest  # noqa: E402
from mayhem.core.clothing.fabrics import ClothSettings  # noqa: E402
from mayhem.core.motion.amass import load_amass  # noqa: E402
from mayhem.scene.body.rig import build_body  # noqa: E402
from mayhem.scene.clothing import cloth as C  # noqa: E402

PAIRS = [("tshirt", "shorts"), ("longsleeve", "trousers"), ("tshirt", "skirt"),
         ("longsleeve", "shorts"), ("tshirt", "trousers")]
FABRIC = {"tshirt": "cotton", "longsleeve": "cotton", "shorts": "cotton", "trousers": "denim",
          "skirt": "cotton", "dress": "cotton"}
PARAM_KEYS = ("global_orient", "body_pose", "jaw_pose", "leye_pose", "reye_pose",
              "left_hand_pose", "right_hand_pose", "transl")
QUICK_MOTIONS = ("walk_straight", "idle_sway", "dance")


def run_motion(model, path: Path, pair, n_frames: int, settings: ClothSettings, target: int) -> dict:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = 30
    clip = load_amass(path, target_fps=30)
    n = min(n_frames, clip.body_pose.shape[0]) if n_frames else clip.body_pose.shape[0]
    params = {k: getattr(clip, k)[:n] for k in PARAM_KEYS}
    t0 = time.perf_counter()
    body = BodyRest.from_model(model, reference="A")
    garments = G.make_outfit([G.GarmentSpec(k, target_vertices=target) for k in pair], body)
    make_s = time.perf_counter() - t0
    rig = build_body(model, None, name="person")
    C.animate_with_preroll(rig, params, settings, garments[0].reference_pose)
    dressed = C.dress(rig, garments, [FABRIC[k] for k in pair], settings, n)
    outcomes = C.simulate(dressed, settings)
    first = dressed[0].passes[0]  # the default-quality pass that simulated both garments
    ref_s = reference_step_seconds(dressed, first["frames"])
    kv = first["vertices"] / 1000.0
    return {
        "motion": path.stem, "frames": n, "preroll": settings.preroll, "garments": list(pair),
        "vertices": [o["vertices"] for o in outcomes], "make_seconds": round(make_s, 1),
        "first_pass": {"frames": first["frames"], "vertices": first["vertices"],
                       "wall_s_per_frame_per_kv": first["step_seconds"] / first["frames"] / kv,
                       "cpu_s_per_frame_per_kv": first["step_cpu_seconds"] / first["frames"] / kv,
                       "check_s_per_frame": first["check_seconds"] / first["frames"]},
        "reference_s_per_frame": ref_s / first["frames"],
        "ratio_to_reference": first["step_seconds"] / max(ref_s, 1e-9),
        "passes": len(dressed[0].passes),
        "outcomes": outcomes,
    }


def reference_step_seconds(dressed, n_frames: int) -> float:
    """The same frames stepped with the garments skin-bound (cloth modifiers off): the cost of
    everything but the cloth solver, measured in the same process as the simulation."""
    for dg in dressed:
        if dg.cloth is not None:
            dg.cloth.show_viewport = False
    scene = bpy.context.scene
    t0 = time.perf_counter()
    for f in range(FB.SIM_START_FRAME, FB.SIM_START_FRAME + n_frames):
        scene.frame_set(f)
        bpy.context.evaluated_depsgraph_get()
    return time.perf_counter() - t0


def _pen(o: dict) -> str:
    return f"{100 * o['penetration_median']:.2f} % / {100 * o['penetration_max']:.2f} %"


def _st(o: dict) -> str:
    return f"{o['max_stretch_robust']:.2f} / {o['max_stretch']:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"motions {QUICK_MOTIONS}, 30 frames")
    ap.add_argument("--frames", type=int, default=90, help="max sequence frames per motion (0 = all)")
    ap.add_argument("--vertices", type=int, default=G.DEFAULT_TARGET_VERTICES, help="target vertices per garment")
    ap.add_argument("--motions", nargs="*", help="motion names (default: all bundled)")
    ap.add_argument("--json", type=Path, help="write the raw results here")
    args = ap.parse_args()

    model = load_body_model(ROOT / "assets" / "bodies" / "free_body.npz")
    paths = sorted((ROOT / "assets" / "motions").glob("*.npz"))
    if not paths:
        sys.exit("no motions in assets/motions/")
    names = args.motions or (QUICK_MOTIONS if args.quick else [p.stem for p in paths])
    frames = 30 if args.quick else args.frames
    settings = ClothSettings()
    results = []
    for i, name in enumerate(names):
        path = ROOT / "assets" / "motions" / f"{name}.npz"
        r = run_motion(model, path, PAIRS[i % len(PAIRS)], frames, settings, args.vertices)
        results.append(r)
        print(json.dumps(r), flush=True)

    print("\n| motion | garments (vertices) | frames | status | quality | penetration median / max | "
          "stretch p99.9 / max | top under bottom | s/frame/1k vertices (wall, cpu) | × skin-bound step |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        o = r["outcomes"]
        fp = r["first_pass"]
        print(f"| {r['motion']} | {', '.join(f'{g} ({v})' for g, v in zip(r['garments'], r['vertices']))} | "
              f"{r['frames']} + {r['preroll']} | {' / '.join(x['status'] for x in o)} | "
              f"{' / '.join(str(x['quality_steps']) for x in o)} | "
              f"{' / '.join(_pen(x) for x in o)} | "
              f"{' / '.join(_st(x) for x in o)} | "
              f"{100 * max(x['layer_penetration_max'] or 0.0 for x in o):.2f} % | "
              f"{fp['wall_s_per_frame_per_kv']:.3f}, {fp['cpu_s_per_frame_per_kv']:.3f} | "
              f"{r['ratio_to_reference']:.1f} |")
    all_o = [x for r in results for x in r["outcomes"]]
    wall = [r["first_pass"]["wall_s_per_frame_per_kv"] for r in results]
    cpu = [r["first_pass"]["cpu_s_per_frame_per_kv"] for r in results]
    pen_med = [x["penetration_median"] for x in all_o]
    pen_max = [x["penetration_max"] for x in all_o]
    print(f"\nsimulation cost at default quality (quality {settings.quality}, collision quality "
          f"{settings.collision_quality}): median {statistics.median(wall):.3f} s wall, "
          f"{statistics.median(cpu):.3f} s CPU per frame per 1 000 garment vertices; "
          f"{statistics.median(r['ratio_to_reference'] for r in results):.1f}x the same frames skin-bound")
    count = {k: sum(x["status"] == k for x in all_o) for k in ("simulated", "retried", "fallback")}
    print(f"garments: {len(all_o)}; simulated {count['simulated']}, retried {count['retried']}, "
          f"fallback {count['fallback']}; within limits {sum(bool(x['within_limits']) for x in all_o)}")
    print(f"penetration: median of medians {100 * np.median(pen_med):.2f} %, "
          f"worst median {100 * max(pen_med):.2f} %, worst max {100 * max(pen_max):.2f} %; "
          f"stretch p99.9 worst {max(x['max_stretch_robust'] for x in all_o):.2f}, "
          f"worst edge {max(x['max_stretch'] for x in all_o):.2f}")
    if args.json:
        args.json.write_text(json.dumps({"settings": settings.to_dict(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
