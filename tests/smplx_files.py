"""Writers for model files in the exact SMPL-X layout, filled with random but valid data.

The real SMPL-X files are licensed; tests write look-alikes with the same keys, shapes and
dtypes (v1.1 npz: 300 shape + 100 expression columns, uint32 faces and kintree) so the
loader is exercised exactly as it would be on SMPLX_NEUTRAL.npz.
"""
from __future__ import annotations

import numpy as np

from mayhem.core.body.skeleton import NUM_JOINTS, PARENTS

SMPLX_NUM_VERTICES = 10475
SMPLX_NUM_FACES = 20908


def smplx_model_arrays(n_vertices: int = SMPLX_NUM_VERTICES, shape_columns: int = 400, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    V = n_vertices
    v_template = rng.normal(scale=0.3, size=(V, 3))
    faces = rng.integers(0, V, (SMPLX_NUM_FACES, 3)).astype(np.uint32)
    weights = np.zeros((V, NUM_JOINTS))
    for _ in range(4):
        weights[np.arange(V), rng.integers(0, NUM_JOINTS, V)] += rng.random(V)
    weights /= weights.sum(1, keepdims=True)
    J_regressor = np.zeros((NUM_JOINTS, V))
    for j in range(NUM_JOINTS):
        idx = rng.choice(V, 12, replace=False)
        J_regressor[j, idx] = rng.random(12)
    J_regressor /= J_regressor.sum(1, keepdims=True)
    kintree = np.stack([PARENTS, np.arange(NUM_JOINTS)]).astype(np.int64)
    kintree = kintree.astype(np.uint32)  # root parent wraps to 4294967295 as in the real files
    return {
        "hands_componentsl": np.linalg.qr(rng.normal(size=(45, 45)))[0],
        "hands_componentsr": np.linalg.qr(rng.normal(size=(45, 45)))[0],
        "hands_meanl": rng.normal(scale=0.2, size=45),
        "hands_meanr": rng.normal(scale=0.2, size=45),
        "f": faces,
        "ft": faces,
        "vt": rng.random((V, 2)),
        "v_template": v_template,
        "J_regressor": J_regressor,
        "weights": weights,
        "kintree_table": kintree,
        "shapedirs": rng.normal(scale=0.01, size=(V, 3, shape_columns)),
        "posedirs": rng.normal(scale=0.01, size=(V, 3, 486)),
        "lmk_faces_idx": rng.integers(0, SMPLX_NUM_FACES, 51).astype(np.int64),
        "lmk_bary_coords": rng.dirichlet(np.ones(3), 51),
        "dynamic_lmk_faces_idx": rng.integers(0, SMPLX_NUM_FACES, (79, 17)).astype(np.int64),
        "dynamic_lmk_bary_coords": rng.dirichlet(np.ones(3), (79, 17)),
        "joint2num": np.array(0),
        "part2num": np.array(0),
    }


def write_smplx_npz(path, **kwargs) -> dict:
    arrays = smplx_model_arrays(**kwargs)
    np.savez(path, **{k: v for k, v in arrays.items() if k not in ("joint2num", "part2num")})
    return arrays
