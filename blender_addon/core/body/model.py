"""SMPL-X body model in numpy: load a model file and run the forward pass, batched over frames.

The maths follows the published SMPL-X model exactly (shape and expression blend shapes,
joint regression from the shaped mesh, pose correctives, linear blend skinning), so a real
SMPLX_*.npz and Mayhem's free body go through the same code. Heavy products are arranged
as a few large matrix multiplies over frame chunks, which is why this runs faster than a
straight transcription of the reference implementation.
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MayhemInputError
from ..geometry.rotations import axis_angle_to_matrix
from ..io.npz import text_field
from .skeleton import NUM_JOINTS, PARENTS

NUM_POSE_BASIS = (NUM_JOINTS - 1) * 9  # 486 pose-corrective inputs
NUM_HAND_JOINTS = 15
SMPLX_SHAPE_SPACE_DIM = 300  # files with >= 400 columns: 300 shape then 100 expression
SMPLX_EXPRESSION_SPACE_DIM = 100
# Frames per chunk in the skinning loop: keeps the per-chunk transforms in cache.
_CHUNK_FRAMES = 16


@dataclass
class BodyOutput:
    """Result of a forward pass; all arrays are per frame."""

    vertices: np.ndarray | None  # (F, V, 3) world/model frame, metres
    joints: np.ndarray           # (F, 55, 3) posed joints
    rest_joints: np.ndarray      # (F, 55, 3) or (1, 55, 3): shaped, unposed joints
    joint_transforms: np.ndarray  # (F, 55, 4, 4) global rigid transform of each joint (with transl)


@dataclass
class BodyModel:
    """An SMPL-X-layout body model (real SMPL-X file or the free body)."""

    path: str
    model_id: str
    gender: str
    v_template: np.ndarray       # (V, 3)
    faces: np.ndarray            # (Fc, 3) int64
    shapedirs: np.ndarray        # (V, 3, B) shape components
    exprdirs: np.ndarray         # (V, 3, E) expression components
    posedirs: np.ndarray | None  # (V, 3, 486); None when the file's are all zero
    J_regressor: np.ndarray      # (55, V)
    weights: np.ndarray          # (V, 55)
    parents: np.ndarray          # (55,)
    hands_components_l: np.ndarray  # (C, 45)
    hands_components_r: np.ndarray
    hands_mean_l: np.ndarray     # (45,)
    hands_mean_r: np.ndarray
    extras: dict = field(default_factory=dict)  # vt, ft, part_labels, landmarks, ...
    _cache: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path, gender: str | None = None) -> BodyModel:
        """Load an SMPL-X .npz (or a .pkl that unpickles without chumpy)."""
        return load_body_model(path, gender=gender)

    @property
    def num_vertices(self) -> int:
        return self.v_template.shape[0]

    @property
    def num_betas(self) -> int:
        return self.shapedirs.shape[2]

    @property
    def num_expression(self) -> int:
        return self.exprdirs.shape[2]

    # ---------------------------------------------------------- cached layouts
    def _layout(self, dtype) -> dict:
        """Matrices rearranged once per dtype for the frame-chunked forward pass."""
        key = np.dtype(dtype).str
        if key in self._cache:
            return self._cache[key]
        V = self.num_vertices
        dirs = np.concatenate([self.shapedirs, self.exprdirs], axis=2)  # (V,3,K)
        K = dirs.shape[2]
        dirs_cm = np.ascontiguousarray(dirs.transpose(2, 1, 0).reshape(K, 3 * V))
        lay = {
            # (3, V) coordinate-major, so per-chunk arrays are contiguous along vertices.
            "template_cm": np.ascontiguousarray(self.v_template.T, dtype=np.float64),
            # (K, 3V) coordinate-major blend-shape basis, float64 and the working dtype.
            "dirs_cm64": dirs_cm,
            "dirs_cm": dirs_cm.astype(dtype, copy=False),
            "J_template": self.J_regressor @ self.v_template,  # (55,3) float64
            "J_dirs": (self.J_regressor @ dirs.reshape(V, 3 * K)).reshape(NUM_JOINTS, 3, K),
            "weights_T": np.ascontiguousarray(self.weights.T, dtype=dtype),  # (55, V)
        }
        if self.posedirs is not None:
            pd = self.posedirs.reshape(V, 3, NUM_POSE_BASIS)
            lay["posedirs_cm"] = np.ascontiguousarray(pd.transpose(2, 1, 0).reshape(NUM_POSE_BASIS, 3 * V), dtype=dtype)
        self._cache[key] = lay
        return lay

    # ------------------------------------------------------------ forward pass
    def hand_pose_full(self, hand_pose: np.ndarray, side: str, use_pca: bool, flat_hand_mean: bool) -> np.ndarray:
        """Turn a hand pose (PCA coefficients or 45-d axis-angle) into the 45-d full pose."""
        comps = self.hands_components_l if side == "left" else self.hands_components_r
        mean = self.hands_mean_l if side == "left" else self.hands_mean_r
        hand_pose = np.asarray(hand_pose, dtype=np.float64)
        if use_pca:
            n = hand_pose.shape[-1]
            if n > comps.shape[0]:
                raise ValueError(f"{n} hand PCA coefficients requested; the model has {comps.shape[0]}")
            hand_pose = hand_pose @ comps[:n]
        if not flat_hand_mean:
            hand_pose = hand_pose + mean
        return hand_pose

    def forward(
        self,
        betas=None,
        expression=None,
        global_orient=None,
        body_pose=None,
        jaw_pose=None,
        leye_pose=None,
        reye_pose=None,
        left_hand_pose=None,
        right_hand_pose=None,
        transl=None,
        *,
        use_pca: bool = False,
        flat_hand_mean: bool = True,
        dtype=np.float64,
        return_vertices: bool = True,
    ) -> BodyOutput:
        """SMPL-X forward pass over F frames.

        Pose arguments are (F, n) or (n,) axis-angle arrays (hands: 45-d full poses, or PCA
        coefficients with ``use_pca``); ``betas`` (B,) or (F, B) and ``expression`` (E,) or
        (F, E) may have fewer columns than the model, never more. ``flat_hand_mean=True``
        (the AMASS/BEDLAM convention) means a zero hand pose is a flat hand.
        """
        dtype = np.dtype(dtype)
        poses = {
            "global_orient": global_orient, "body_pose": body_pose, "jaw_pose": jaw_pose,
            "leye_pose": leye_pose, "reye_pose": reye_pose,
        }
        dims = {"global_orient": 3, "body_pose": 63, "jaw_pose": 3, "leye_pose": 3, "reye_pose": 3}
        n_frames = _num_frames(list(poses.values()) + [left_hand_pose, right_hand_pose, transl, betas if np.ndim(betas) == 2 else None, expression if np.ndim(expression) == 2 else None])

        full = np.zeros((n_frames, NUM_JOINTS, 3), dtype=np.float64)
        col = 0
        for name, value in poses.items():
            n = dims[name] // 3
            if value is not None:
                full[:, col:col + n] = _frames(value, n_frames, dims[name], name).reshape(n_frames, n, 3)
            col += n
        for side, value in (("left", left_hand_pose), ("right", right_hand_pose)):
            if value is None:
                hand = self.hand_pose_full(np.zeros(45), side, False, flat_hand_mean)
            else:
                width = np.shape(value)[-1]
                hand = self.hand_pose_full(_frames(value, n_frames, width, f"{side}_hand_pose"), side, use_pca, flat_hand_mean)
            full[:, col:col + NUM_HAND_JOINTS] = np.broadcast_to(hand, (n_frames, 45)).reshape(n_frames, NUM_HAND_JOINTS, 3)
            col += NUM_HAND_JOINTS

        lay = self._layout(dtype)
        coeffs, per_frame_shape = self._blend_coefficients(betas, expression, n_frames)

        # Rest joints from the shaped (shape + expression) mesh, as the reference model does.
        J = lay["J_template"][None] + np.einsum("jck,fk->fjc", lay["J_dirs"], coeffs)  # (1 or F, 55, 3)

        rot = axis_angle_to_matrix(full)  # (F, 55, 3, 3) float64
        transforms = _chain(rot, np.broadcast_to(J, (n_frames, NUM_JOINTS, 3)), self.parents)
        posed_joints = transforms[:, :, :3, 3].copy()
        # Skinning transforms: global transform minus where it moves the rest joint.
        skin = transforms.copy()
        skin[:, :, :3, 3] -= np.einsum("fjab,fjb->fja", transforms[:, :, :3, :3], np.broadcast_to(J, (n_frames, NUM_JOINTS, 3)))

        t = np.zeros((n_frames, 3)) if transl is None else _frames(transl, n_frames, 3, "transl")
        posed_joints += t[:, None, :]
        transforms[:, :, :3, 3] += t[:, None, :]

        vertices = None
        if return_vertices:
            vertices = self._skin_vertices(lay, rot, skin, coeffs, per_frame_shape, t, dtype)
        return BodyOutput(
            vertices=vertices,
            joints=posed_joints.astype(dtype, copy=False),
            rest_joints=J.astype(dtype, copy=False),
            joint_transforms=transforms.astype(dtype, copy=False),
        )

    def _blend_coefficients(self, betas, expression, n_frames):
        """(1 or F, B+E) blend-shape coefficients, zero-padded to the model's widths."""
        per_frame = np.ndim(betas) == 2 or np.ndim(expression) == 2
        rows = n_frames if per_frame else 1
        coeffs = np.zeros((rows, self.num_betas + self.num_expression), dtype=np.float64)
        for value, offset, width, name in ((betas, 0, self.num_betas, "betas"),
                                           (expression, self.num_betas, self.num_expression, "expression")):
            if value is None:
                continue
            value = np.asarray(value, dtype=np.float64)
            n = value.shape[-1]
            if n > width:
                raise ValueError(f"{name} has {n} coefficients; the model {self.model_id} has {width}")
            coeffs[:, offset:offset + n] = value if value.ndim == 1 else _frames(value, rows, n, name)
        return coeffs, per_frame

    def _skin_vertices(self, lay, rot, skin, coeffs, per_frame_shape, transl, dtype):
        """Blend shapes + pose correctives + linear blend skinning, chunked over frames."""
        n_frames = rot.shape[0]
        V = self.num_vertices
        out = np.empty((n_frames, V, 3), dtype=dtype)
        shaped_static = None
        if not per_frame_shape:
            used = np.flatnonzero(coeffs[0])  # most coefficients are zero (300 betas, 100 expressions)
            shaped_static = (lay["template_cm"].reshape(-1) + coeffs[0, used] @ lay["dirs_cm64"][used]).astype(dtype)
        eye = np.eye(3)
        # Skinning transforms transposed to (F, 55, 4, 3): rows are the columns of [R | t].
        skin_rows = np.ascontiguousarray(skin[:, :, :3, :4].transpose(0, 1, 3, 2), dtype=dtype)
        weights_T = lay["weights_T"]
        for f0 in range(0, n_frames, _CHUNK_FRAMES):
            f1 = min(f0 + _CHUNK_FRAMES, n_frames)
            c = f1 - f0
            if shaped_static is not None:
                v = np.broadcast_to(shaped_static, (c, 3 * V)).copy()
            else:
                v = (lay["template_cm"].reshape(1, -1) + coeffs[f0:f1].astype(dtype) @ lay["dirs_cm"]).astype(dtype)
            if "posedirs_cm" in lay:
                feat = (rot[f0:f1, 1:] - eye).reshape(c, NUM_POSE_BASIS).astype(dtype)
                v += feat @ lay["posedirs_cm"]
            v = v.reshape(c, 3, V)
            # (c*12, 55) @ (55, V): each vertex's blended 3x4 transform, coordinate-major.
            T = (skin_rows[f0:f1].transpose(0, 2, 3, 1).reshape(c * 12, NUM_JOINTS) @ weights_T).reshape(c, 4, 3, V)
            res = T[:, 3] + T[:, 0] * v[:, 0:1] + T[:, 1] * v[:, 1:2] + T[:, 2] * v[:, 2:3]  # (c, 3, V)
            res += transl[f0:f1, :, None].astype(dtype)
            out[f0:f1] = res.transpose(0, 2, 1)
        return out


# ---------------------------------------------------------------------- helpers
def _num_frames(values) -> int:
    counts = {np.shape(v)[0] for v in values if v is not None and np.ndim(v) == 2}
    if len(counts) > 1:
        raise ValueError(f"inputs disagree on the number of frames: {sorted(counts)}")
    return counts.pop() if counts else 1


def _frames(value, n_frames: int, width: int, name: str) -> np.ndarray:
    """Broadcast a (width,) or (F, width) parameter to (F, width), checking its width."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{name} must have shape (F, {width}) or ({width},), got {np.shape(value)}")
    return np.broadcast_to(arr, (n_frames, width))


def _chain(rot: np.ndarray, joints: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Global 4x4 transforms of every joint from local rotations and rest joints."""
    n_frames = rot.shape[0]
    rel = joints.copy()
    rel[:, 1:] -= joints[:, parents[1:]]
    local = np.zeros((n_frames, NUM_JOINTS, 4, 4))
    local[:, :, :3, :3] = rot
    local[:, :, :3, 3] = rel
    local[:, :, 3, 3] = 1.0
    out = np.empty_like(local)
    out[:, 0] = local[:, 0]
    for j in range(1, NUM_JOINTS):
        out[:, j] = out[:, parents[j]] @ local[:, j]
    return out


# ---------------------------------------------------------------------- loading
class _ModelUnpickler(pickle.Unpickler):
    """Unpickles model .pkl files allowing only numpy and scipy.sparse classes."""

    _ALLOWED_PREFIXES = ("numpy", "scipy.sparse", "collections")

    def find_class(self, module, name):
        if module.startswith("chumpy"):
            raise pickle.UnpicklingError("needs chumpy (an old SMPL .pkl); use the .npz model file instead")
        if module.startswith(self._ALLOWED_PREFIXES) or (module, name) in {("builtins", "slice"), ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"), ("builtins", "object")}:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def _read_model_file(path: Path) -> dict:
    if not path.is_file():
        raise MayhemInputError(path, None, "model file not found")
    try:
        if path.suffix == ".pkl":
            with open(path, "rb") as fh:
                data = _ModelUnpickler(fh, encoding="latin1").load()
            if not isinstance(data, dict):
                raise MayhemInputError(path, None, "not an SMPL-X model pickle (expected a dict)")
            return data
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except MayhemInputError:
        raise
    except (pickle.UnpicklingError, ModuleNotFoundError, AttributeError) as exc:
        raise MayhemInputError(path, None, f"cannot load model pickle: {exc}") from None
    except Exception as exc:  # noqa: BLE001  a damaged archive or .npy header fails in many ways
        raise MayhemInputError(path, None, f"not a readable SMPL-X .npz/.pkl model file "
                               f"({type(exc).__name__}: {exc})") from None


def _dense(value):
    return value.toarray() if hasattr(value, "toarray") else np.asarray(value)


def _require(data: dict, path: Path, key: str, ndim: int) -> np.ndarray:
    if key not in data:
        raise MayhemInputError(path, key, "missing key")
    arr = _dense(data[key])
    if arr.ndim != ndim:
        raise MayhemInputError(path, key, f"expected {ndim} dimensions, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise MayhemInputError(path, key, f"dtype {arr.dtype}, expected numbers")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise MayhemInputError(path, key, "contains NaN or inf")
    return arr


def load_body_model(path, gender: str | None = None) -> BodyModel:
    """Load an SMPL-X model file (.npz, or .pkl without chumpy), validating every array.

    Shape/expression columns are split the way the `smplx` package splits them, so the
    same file gives the same body in Mayhem and in that package.
    """
    path = Path(os.fspath(path))
    data = _read_model_file(path)
    v_template = _require(data, path, "v_template", 2).astype(np.float64)
    V = v_template.shape[0]
    if v_template.shape[1] != 3:
        raise MayhemInputError(path, "v_template", f"expected shape (V, 3), got {v_template.shape}")
    faces = _require(data, path, "f", 2).astype(np.int64)
    if faces.shape[1] != 3 or faces.size == 0 or faces.min() < 0 or faces.max() >= V:
        raise MayhemInputError(path, "f", f"expected (F, 3) vertex indices below {V}")
    J_regressor = _require(data, path, "J_regressor", 2).astype(np.float64)
    if J_regressor.shape != (NUM_JOINTS, V):
        raise MayhemInputError(path, "J_regressor", f"expected shape ({NUM_JOINTS}, {V}), got {J_regressor.shape}")
    weights = _require(data, path, "weights", 2).astype(np.float64)
    if weights.shape != (V, NUM_JOINTS):
        raise MayhemInputError(path, "weights", f"expected shape ({V}, {NUM_JOINTS}), got {weights.shape}")
    kintree = _require(data, path, "kintree_table", 2)
    if kintree.shape != (2, NUM_JOINTS):
        raise MayhemInputError(path, "kintree_table", f"expected shape (2, {NUM_JOINTS}), got {kintree.shape}")
    parents = kintree[0].astype(np.int64)
    parents[0] = -1
    if not np.array_equal(parents, PARENTS):
        raise MayhemInputError(path, "kintree_table", "parents differ from the SMPL-X kinematic tree")
    shapedirs = _dense(data.get("shapedirs", np.zeros((V, 3, 0))))
    if "shapedirs" not in data:
        raise MayhemInputError(path, "shapedirs", "missing key")
    if shapedirs.dtype.kind not in "biuf":
        raise MayhemInputError(path, "shapedirs", f"dtype {shapedirs.dtype}, expected numbers")
    shapedirs = np.asarray(shapedirs, dtype=np.float64)
    if shapedirs.ndim == 2:
        shapedirs = shapedirs[:, :, None]
    if shapedirs.ndim != 3 or shapedirs.shape[:2] != (V, 3):
        raise MayhemInputError(path, "shapedirs", f"expected shape ({V}, 3, K), got {shapedirs.shape}")
    if not np.all(np.isfinite(shapedirs)):
        raise MayhemInputError(path, "shapedirs", "contains NaN or inf")
    K = shapedirs.shape[2]
    if K >= SMPLX_SHAPE_SPACE_DIM + SMPLX_EXPRESSION_SPACE_DIM:
        shape, expr = shapedirs[:, :, :SMPLX_SHAPE_SPACE_DIM], shapedirs[:, :, SMPLX_SHAPE_SPACE_DIM:SMPLX_SHAPE_SPACE_DIM + SMPLX_EXPRESSION_SPACE_DIM]
    else:
        shape, expr = shapedirs[:, :, :min(K, 10)], shapedirs[:, :, 10:20]
    posedirs = _require(data, path, "posedirs", np.ndim(_dense(data.get("posedirs", np.zeros((1, 1, 1))))))
    if posedirs.size != V * 3 * NUM_POSE_BASIS:
        raise MayhemInputError(path, "posedirs", f"expected {V}x3x{NUM_POSE_BASIS} values, got shape {posedirs.shape}")
    posedirs = posedirs.reshape(V, 3, NUM_POSE_BASIS)
    posedirs = None if not np.any(posedirs) else posedirs.astype(np.float64)

    def hand(key, shape_):
        if key not in data:
            return np.eye(45) if shape_ == (45, 45) else np.zeros(45)
        arr = _require(data, path, key, len(shape_)).astype(np.float64)
        if arr.shape[-1] != 45:
            raise MayhemInputError(path, key, f"expected 45 columns, got shape {arr.shape}")
        return arr

    file_gender = text_field(path, "gender", data["gender"]) if "gender" in data else None
    if gender is None:
        stem = path.stem.lower()
        gender = file_gender or ("female" if "female" in stem else "male" if "male" in stem else "neutral")
    extras = {k: _dense(data[k]) for k in ("vt", "ft", "part_labels", "part_names", "lmk_faces_idx",
                                           "lmk_bary_coords", "dynamic_lmk_faces_idx",
                                           "dynamic_lmk_bary_coords") if k in data}
    model_id = text_field(path, "model_id", data["model_id"]) if "model_id" in data else path.stem
    return BodyModel(
        path=str(path), model_id=model_id, gender=gender.lower(), v_template=v_template, faces=faces,
        shapedirs=shape, exprdirs=expr, posedirs=posedirs, J_regressor=J_regressor, weights=weights,
        parents=parents, hands_components_l=hand("hands_componentsl", (45, 45)),
        hands_components_r=hand("hands_componentsr", (45, 45)),
        hands_mean_l=hand("hands_meanl", (45,)), hands_mean_r=hand("hands_meanr", (45,)), extras=extras,
    )
