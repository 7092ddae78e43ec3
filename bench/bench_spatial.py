"""Spatial queries: Mayhem's numpy PointGrid / SurfaceQuery against mathutils' KDTree / BVHTree.

Issue 11 asks whether the trees that ship with every Blender should replace the hand-written
queries in scene code. This measures both on the workload the cloth checks run per frame: the
vertices of a T-shirt and of trousers (made at the default resolution on the free body, then
pushed 0-30 mm off it at random) against the free body (13.5k vertices, 27k faces), and as
many points 0-30 mm off the posed body of each frame for the surface queries.

- nearest body vertex for each garment vertex: PointGrid.nearest vs KDTree.find (one call
  per query: mathutils has no batched lookup);
- closest surface point: SurfaceQuery.closest vs BVHTree.find_nearest, per frame on a moving
  body. The body is posed for each frame; SurfaceQuery.update keeps its topology tables, and
  the BVHTree is rebuilt (it has no update).

Reported: seconds per frame for each, as a ratio (mathutils / numpy) measured side by side in
one process, and whether the answers agree (same nearest index; the same closest distance to
1e-6 m, with the sign from SurfaceQuery).

    python bench/bench_spatial.py [--frames 5] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import bpy  # noqa: E402,F401  (mathutils comes with the bpy module)
import conftest  # noqa: E402,F401  (makes `mayhem` importable from a checkout)
from mathutils import Vector  # noqa: E402
from mathutils.bvhtree import BVHTree  # noqa: E402
from mathutils.kdtree import KDTree  # noqa: E402

from mayhem.core.body.model import load_body_model  # noqa: E402
from mayhem.core.body.skeleton import POSE_PARAM_NAMES  # noqa: E402
from mayhem.core.clothing.body_rest import BodyRest  # noqa: E402
from mayhem.core.clothing.garments import GarmentSpec, make_outfit  # noqa: E402
from mayhem.core.geometry import spatial as G  # noqa: E402
from mayhem.core.motion.amass import load_amass  # noqa: E402


def kd_nearest(points: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tree = KDTree(len(points))
    for i, p in enumerate(points):
        tree.insert(p, i)
    tree.balance()
    found = [tree.find(q) for q in queries]
    return np.array([f[1] for f in found]), np.array([f[2] for f in found])


def bvh_closest(V: np.ndarray, F: np.ndarray, queries: np.ndarray) -> np.ndarray:
    tree = BVHTree.FromPolygons([Vector(v) for v in V], F.tolist(), all_triangles=True)
    return np.array([tree.find_nearest(Vector(q))[3] for q in queries])


def brute_force_distance(V: np.ndarray, F: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Exact distance from each point to the mesh: every point against every triangle."""
    A, B, C = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    out = np.empty(len(P))
    for i, p in enumerate(P):
        Q = G.closest_on_triangles(np.broadcast_to(p, A.shape), A, B, C)[0]
        out[i] = np.sqrt(((Q - p) ** 2).sum(axis=1).min())
    return out


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    model = load_body_model(ROOT / "assets" / "bodies" / "free_body.npz")
    rest = BodyRest.from_model(model, reference="A")
    outfit = make_outfit([GarmentSpec("trousers"), GarmentSpec("tshirt")], rest)
    rng = np.random.default_rng(0)
    garment_v = np.concatenate([g.vertices for g in outfit])
    normals = rng.normal(size=garment_v.shape)
    queries = garment_v + normals / np.linalg.norm(normals, axis=1, keepdims=True) * rng.uniform(0, 0.03, (len(garment_v), 1))
    clip = load_amass(ROOT / "assets" / "motions" / "walk_straight.npz", target_fps=30)
    posed = model.forward(**{k: getattr(clip, k)[:args.frames] for k in POSE_PARAM_NAMES},
                          transl=clip.transl[:args.frames] * 0).vertices
    F = np.asarray(model.faces)
    near_idx = rng.choice(model.num_vertices, len(queries), replace=True)
    offsets = queries - garment_v
    print(f"{len(queries)} garment vertices against the free body ({model.num_vertices} vertices, {len(F)} faces), "
          f"{args.frames} frames, {args.repeats} repeats, bpy {bpy.app.version_string}")

    nn_np, nn_mu, cl_np, cl_mu = [], [], [], []
    agree_nn = agree_cl = True
    worst = err_np = err_mu = err_np_near = 0.0
    check_idx = rng.choice(len(queries), 300, replace=False)  # checked against brute force
    for _ in range(args.repeats):
        t, (idx_np, d_np) = timed(lambda: G.PointGrid(rest.vertices, 0.02).nearest(queries))
        nn_np.append(t)
        t, (idx_mu, d_mu) = timed(kd_nearest, rest.vertices, queries)
        nn_mu.append(t)
        agree_nn &= bool(np.array_equal(idx_np, idx_mu) or np.allclose(d_np, d_mu, atol=1e-9))
        query = G.SurfaceQuery(posed[0], F, cell=0.04)
        t_np = t_mu = 0.0
        for f in range(args.frames):
            q = posed[f][near_idx] + offsets  # points 0-30 mm off the moving body, as garments are
            t0 = time.perf_counter()
            query.update(posed[f])
            _, _, _, signed = query.closest(q)
            t_np += time.perf_counter() - t0
            t, unsigned = timed(bvh_closest, posed[f], F, q)
            t_mu += t
            worst = max(worst, float(np.abs(np.abs(signed) - unsigned).max()))
            exact = brute_force_distance(posed[f], F, q[check_idx])
            err_np = max(err_np, float(np.abs(np.abs(signed[check_idx]) - exact).max()))
            near = exact < 0.01
            err_np_near = max(err_np_near, float(np.abs(np.abs(signed[check_idx][near]) - exact[near]).max(initial=0.0)))
            err_mu = max(err_mu, float(np.abs(unsigned[check_idx] - exact).max()))
        agree_cl &= worst < 1e-6
        cl_np.append(t_np / args.frames)
        cl_mu.append(t_mu / args.frames)

    def row(name, a, b, agree):
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"| {name} | {ma:.3f} | {mb:.3f} | **{mb / ma:.2f}** | {'yes' if agree else 'no'} |")

    print("| query (per frame) | numpy s | mathutils s | mathutils / numpy | same answers |")
    print("| --- | --- | --- | --- | --- |")
    row("nearest body vertex (build + query)", nn_np, nn_mu, agree_nn)
    row("closest surface point (update/rebuild + query)", cl_np, cl_mu, agree_cl)
    print(f"worst |closest distance| difference between the two: {worst:.2e} m; against brute force "
          f"(300 points per frame): SurfaceQuery {err_np:.2e} m ({err_np_near:.2e} m for points within 1 cm of "
          f"the surface), BVHTree {err_mu:.2e} m")
    return 0


if __name__ == "__main__":
    sys.exit(main())
