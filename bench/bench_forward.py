"""Forward-pass benchmark: Mayhem's numpy SMPL-X vs smplx.lbs.lbs, 1000 frames, same run.

Runs both implementations alternately on the same full-size model (SMPL-X v1.1 layout,
random contents: the real file is licensed) and the same random poses, and reports the
median time of each and the ratio reference/ours (> 1 means Mayhem is faster).

    python bench/bench_forward.py [--frames 1000] [--repeats 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import conftest  # noqa: E402,F401  (makes `mayhem` importable from a checkout)
from smplx_files import write_smplx_npz  # noqa: E402

from mayhem.core.body.model import load_body_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    import torch
    from smplx.lbs import lbs

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "SMPLX_NEUTRAL.npz"
        write_smplx_npz(path)
        model = load_body_model(path)
    rng = np.random.default_rng(0)
    F = args.frames
    betas, expr = rng.normal(size=10), rng.normal(size=10)
    full_pose = rng.normal(scale=0.5, size=(F, 165))
    transl = rng.normal(size=(F, 3))
    kwargs = dict(betas=betas, expression=expr, global_orient=full_pose[:, :3], body_pose=full_pose[:, 3:66],
                  jaw_pose=full_pose[:, 66:69], leye_pose=full_pose[:, 69:72], reye_pose=full_pose[:, 72:75],
                  left_hand_pose=full_pose[:, 75:120], right_hand_pose=full_pose[:, 120:], transl=transl)

    print(f"torch {torch.__version__} threads={torch.get_num_threads()}  numpy {np.__version__}")
    print(f"{F} frames, {model.num_vertices} vertices, 10 betas + 10 expression, pose correctives on")
    for np_dtype, th_dtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
        t = lambda a: torch.tensor(np.asarray(a), dtype=th_dtype)
        coeffs = t(np.concatenate([betas, expr])[None].repeat(F, 0))
        dirs = t(np.concatenate([model.shapedirs[:, :, :10], model.exprdirs[:, :, :10]], axis=2))
        posedirs = t(model.posedirs.reshape(-1, 486).T)
        ref_args = (t(full_pose), t(model.v_template), dirs, posedirs, t(model.J_regressor),
                    torch.tensor(model.parents), t(model.weights))
        tr = t(transl)[:, None]

        def run_ref():
            with torch.no_grad():
                v, j = lbs(coeffs, *ref_args, pose2rot=True)
                return (v + tr).numpy()

        def run_ours():
            return model.forward(**kwargs, dtype=np_dtype).vertices

        run_ref(), run_ours()  # warm-up (allocations, cached layouts)
        times = {"ours": [], "ref": []}
        for _ in range(args.repeats):
            for name, fn in (("ref", run_ref), ("ours", run_ours)):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
        ours, ref = statistics.median(times["ours"]), statistics.median(times["ref"])
        diff = np.abs(run_ours().astype(np.float64) - run_ref().astype(np.float64)).max()
        print(f"{np.dtype(np_dtype).name}: ours {ours:.3f} s  smplx.lbs {ref:.3f} s  "
              f"ratio (ref/ours) {ref / ours:.2f}  max |diff| {diff:.2e} m")


if __name__ == "__main__":
    main()
