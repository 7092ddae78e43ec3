"""Garment-making benchmark: seconds per procedural garment on the free body, noise-normalised.

Every dressed person pays core.clothing.garments.make_garment once per garment (top + bottom) and
BodyRest.from_model once, so this measures both, per kind, at the default resolution
(target_vertices 3000), together with the quality figures the speed must not cost: vertex
count, triangle quality (4√3·area / Σ edge², 1 = equilateral; mean and minimum), the share of
vertices inside the body at rest, the edge-length spread (95th / 5th percentile) and the number
of hem loops.

The machine is shared and its speed varies, so a fixed reference workload (a numpy matrix
product loop plus a pure-Python set/heap loop, the two kinds of work garment making does) runs
between the measurements in the same process; each time is also given as a ratio to the
reference's median, comparable between runs and between versions measured at different times.

    python bench/bench_garments.py                      # all kinds, 3 repeats each
    python bench/bench_garments.py --kinds tshirt,skirt --repeats 5 --json out.json
    python bench/bench_garments.py --module /tmp/old_garments.py   # another garments.py version
"""
from __future__ import annotations

import argparse
import heapq
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import conftest  # noqa: E402,F401  (makes `mayhem` importable from a checkout)

from mayhem.core.body.model import load_body_model  # noqa: E402
from mayhem.core.io.atomic import atomic_write_text  # noqa: E402

FREE_BODY = ROOT / "assets" / "bodies" / "free_body.npz"


def load_garments_module(path: str | None):
    """core.clothing.garments, or another version of it loaded from `path` as a sibling module."""
    if not path:
        from mayhem.core.clothing import garments
        return garments
    spec = importlib.util.spec_from_file_location("mayhem.core.clothing._bench_garments", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def reference_workload() -> float:
    """Seconds for a fixed mix of numpy (matrix products) and plain Python (sets, heap) work."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((160, 160))
    t0 = time.perf_counter()
    b = a
    for _ in range(400):
        b = np.tanh(b @ a * 0.01)
    heap, seen = [], set()
    for i in range(600000):
        key = (i * 7919) % 10007
        if key not in seen:
            seen.add(key)
            heapq.heappush(heap, (key, i))
    while heap:
        heapq.heappop(heap)
    return time.perf_counter() - t0


def quality(G, garment, body) -> dict:
    V, F = garment.vertices, garment.faces
    a = V[F[:, 1]] - V[F[:, 0]]
    b = V[F[:, 2]] - V[F[:, 0]]
    c = V[F[:, 2]] - V[F[:, 1]]
    area = 0.5 * np.linalg.norm(np.cross(a, b), axis=1)
    q = 4.0 * np.sqrt(3.0) * area / np.maximum((a * a).sum(1) + (b * b).sum(1) + (c * c).sum(1), 1e-30)
    E = G.unique_edges(F)
    el = np.linalg.norm(V[E[:, 0]] - V[E[:, 1]], axis=1)
    p5, p95 = np.percentile(el, [5, 95])
    sd = body.query.closest(V)[3]
    return {"vertices": int(len(V)), "quality_mean": float(q.mean()), "quality_min": float(q.min()),
            "rest_penetration": float(garment.rest_penetration), "min_clearance_mm": float(sd.min() * 1000),
            "edge_spread": float(p95 / p5), "hem_loops": len(G.boundary_loops(F))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default=None, help="comma-separated garment kinds (default: all)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--target", type=int, default=None, help="target_vertices (default: the module's)")
    ap.add_argument("--module", default=None, help="path of another garments.py to measure instead")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    G = load_garments_module(args.module)
    kinds = args.kinds.split(",") if args.kinds else list(G.GARMENT_KINDS)
    target = args.target or G.DEFAULT_TARGET_VERTICES
    model = load_body_model(FREE_BODY)
    refs: list[float] = [reference_workload() for _ in range(3)]

    body_times = []
    for _ in range(max(args.repeats, 3)):
        t0 = time.perf_counter()
        body = G.BodyRest.from_model(model, reference="A")
        body_times.append(time.perf_counter() - t0)
    rows = []
    for kind in kinds:
        times, garment = [], None
        for _ in range(args.repeats):
            refs.append(reference_workload())
            t0 = time.perf_counter()
            garment = G.make_garment(G.GarmentSpec(kind, target_vertices=target), body)
            times.append(time.perf_counter() - t0)
        rows.append({"kind": kind, "seconds": statistics.median(times), "seconds_all": times,
                     **quality(G, garment, body)})
    refs.append(reference_workload())
    ref = statistics.median(refs)

    print(f"garments module: {G.__file__}")
    print(f"reference workload: median {ref:.3f} s over {len(refs)} runs "
          f"(min {min(refs):.3f}, max {max(refs):.3f})")
    body_s = statistics.median(body_times)
    print(f"BodyRest.from_model: {body_s:.3f} s = {body_s / ref:.2f} ref\n")
    head = ("kind", "s", "ref×", "verts", "q mean", "q min", "pen", "clear mm", "spread", "hems")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print(f"| {r['kind']} | {r['seconds']:.2f} | {r['seconds'] / ref:.2f} | {r['vertices']} | "
              f"{r['quality_mean']:.3f} | {r['quality_min']:.3f} | {r['rest_penetration']:.4f} | "
              f"{r['min_clearance_mm']:.1f} | {r['edge_spread']:.3f} | {r['hem_loops']} |")
    total = sum(r["seconds"] for r in rows)
    print(f"\nall kinds: {total:.2f} s = {total / ref:.2f} ref "
          f"(mean {total / len(rows):.2f} s per garment, repeats {args.repeats}, target {target})")
    if args.json:
        atomic_write_text(args.json, json.dumps({
            "module": G.__file__, "reference_seconds": ref, "reference_runs": refs,
            "body_rest_seconds": body_s, "body_rest_ratio": body_s / ref, "target_vertices": target,
            "repeats": args.repeats,
            "kinds": [{**r, "ratio": r["seconds"] / ref} for r in rows]}, indent=2))


if __name__ == "__main__":
    main()
