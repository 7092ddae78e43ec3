"""Export a Mayhem dataset as MMHuman3D HumanData (.npz), the layout SMPLer-X and AiOS train on.

One row per person instance per frame. Facts taken from the public code of MMHuman3D
(``mmhuman3d/data/data_structures/human_data.py``, ``docs/human_data.md``,
``core/conventions/keypoints_mapping/smplx.py``) and SMPLer-X (``data/humandata.py``,
``common/utils/preprocessing.py``, ``common/utils/human_models.py``); nothing copied:

* The file is ``np.savez_compressed`` of a dict: arrays, plus dicts (``smplx``, ``meta``,
  ``misc``) stored as 0-d object arrays (readers call ``.item()``, so ``allow_pickle=True``),
  and the attributes ``__key_strict__``, ``__data_len__`` (rows) and ``__keypoints_compressed__``
  as 0-d arrays. SMPLer-X reads ``content['__keypoints_compressed__']`` unconditionally.
* ``image_path`` (N,) str relative to the image root; ``bbox_xywh`` (N, 5) x, y, w, h,
  confidence; SMPLer-X uses ``[:4]`` and then pads it by ``bbox_ratio * 0.833``, i.e. it expects
  boxes already enlarged 1.2 times (MMHuman3D's suggested ``bbox_body_scale``).
  ``lhand_bbox_xywh``, ``rhand_bbox_xywh``, ``face_bbox_xywh`` (N, 5): a box is used when its
  confidence (last column) is > 0; MMHuman3D's suggested scale for them is 1.0.
* ``smplx`` dict, camera frame (MMHuman3D: all annotations in the OpenCV camera frame;
  SMPLer-X builds ``SMPLX(global_orient, body_pose, ..., transl)`` with no extrinsics for a
  dataset without ``cam_param['R']``): ``global_orient`` (N,3), ``body_pose`` (N,21,3),
  ``betas`` (N,10), ``transl`` (N,3), ``left_hand_pose``/``right_hand_pose`` (N,15,3),
  ``jaw_pose``, ``leye_pose``, ``reye_pose`` (N,3), ``expression`` (N,10). SMPLer-X reshapes
  every pose with ``view(-1, 3)`` / ``view(1, -1)``, so (N,21,3) and (N,63) both load.
* SMPLer-X's ``smplx.create(..., use_pca=False)`` keeps the package's default
  ``flat_hand_mean=False`` (a zero hand pose is the mean hand); its BEDLAM class subtracts the
  hand mean from BEDLAM's flat-hand poses. MMHuman3D records the convention in
  ``misc['flat_hand_mean']``. This export writes hand poses relative to the body model's hand
  mean by default (``misc['flat_hand_mean'] = False``), or the full poses with
  ``flat_hand_mean=True``.
* ``keypoints2d_smplx`` (N, K, 3) x, y, confidence and ``keypoints3d_smplx`` (N, K, 4) x, y, z,
  confidence, with ``keypoints2d_smplx_mask`` / ``keypoints3d_smplx_mask`` (K,), one value per
  keypoint for the whole file. SMPLer-X indexes them with its 144->137 mapping, so K must be at
  least 144: the ``smplx`` convention = the smplx package's SMPLX joints with
  ``use_face_contour=True``: 55 skeleton joints, 21 vertex joints, 51 face landmarks, 17
  face-contour landmarks (also the first 144 of MMHuman3D's 190 ``human_data`` keypoints).
* ``meta`` dict: ``gender`` (N,) str, ``height``/``width`` (N,) per row (SMPLer-X stacks them
  into the image shape), ``focal_length`` (N,2) and ``principal_point`` (N,2).

Mayhem's conventions kept as they are: pixel centres at integers (``principal_point`` is
K's cx, cy), metres, OpenCV camera frame. Rows whose person has a vertex behind the camera, or
whose body box misses the image, are left out.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import numpy as np

from ..dataset.documents import completed_sequences
from ..dataset.layout import frame_path
from ..errors import MayhemInputError
from ..geometry.rotations import axis_angle_to_matrix
from ..io.atomic import safe_join
from ..io.npz import save_npz
from .bedlam import SMPLX_EXTRA_VERTEX_IDS, _has_smplx_topology, _load_labels, _model_inputs, _model_table

log = logging.getLogger(__name__)

NUM_JOINTS = 55
NUM_KEYPOINTS = 144                      # smplx convention (smplx package, use_face_contour=True)
EXTRA = slice(55, 76)                    # 21 vertex joints: nose, eyes, ears, feet, finger tips
LANDMARKS = slice(76, 127)               # 51 static face landmarks
CONTOUR = slice(127, 144)                # 17 dynamic face-contour landmarks
FACE_KEYPOINTS = slice(76, 144)          # the 68 face keypoints (SMPLer-X's face part)
NECK_KIN_CHAIN = (12, 9, 6, 3, 0)        # neck up to the root, as the smplx package walks it
MAX_CONTOUR_ANGLE = 39                   # degrees, the look-up table's range
NUM_BETAS = 10                           # SMPLer-X: shape_param_dim = expr_code_dim = 10
NUM_EXPRESSION = 10
BBOX_BODY_SCALE = 1.2
BBOX_HAND_SCALE = 1.0
BBOX_FACE_SCALE = 1.0
# Skeleton joints whose skinning dominates a vertex of each hand: the wrist and its 15 finger joints.
LEFT_HAND_JOINTS = (20,) + tuple(range(25, 40))
RIGHT_HAND_JOINTS = (21,) + tuple(range(40, 55))
HEAD_JOINTS = (15, 22, 23, 24)           # head, jaw, eyes: the face box without landmarks
# smplx-convention rows of each hand's keypoints: wrist, 15 finger joints, 5 finger tips.
LEFT_HAND_KEYPOINTS = LEFT_HAND_JOINTS + tuple(range(66, 71))
RIGHT_HAND_KEYPOINTS = RIGHT_HAND_JOINTS + tuple(range(71, 76))
_POSE_KEYS = ("body_pose", "jaw_pose", "leye_pose", "reye_pose", "left_hand_pose", "right_hand_pose")


# ------------------------------------------------------------------------------ keypoints
def _rot_y_angle_deg(R: np.ndarray) -> np.ndarray:
    """The smplx package's head turn from a rotation matrix: atan2(-R20, hypot(R00, R10)), degrees."""
    return np.degrees(np.arctan2(-R[..., 2, 0], np.hypot(R[..., 0, 0], R[..., 1, 0])))


def contour_table_rows(full_pose_aa: np.ndarray) -> np.ndarray:
    """(F,) row of the dynamic-landmark table the smplx package picks for each pose.

    full_pose_aa: (F, 55, 3) axis-angle, joint 0 the global orientation of the frame the body
    is built in. The relative rotation of the neck chain (neck, spines, root) gives a turn
    angle in whole degrees, clamped to +-39: angles >= 0 index rows 0..39, negative ones
    rows 40..78 (39 - angle).
    """
    rot = axis_angle_to_matrix(np.asarray(full_pose_aa, dtype=np.float64)[:, list(NECK_KIN_CHAIN)])
    rel = np.broadcast_to(np.eye(3), rot.shape[:1] + (3, 3)).copy()
    for i in range(len(NECK_KIN_CHAIN)):
        rel = rot[:, i] @ rel
    angle = np.round(np.minimum(-_rot_y_angle_deg(rel), MAX_CONTOUR_ANGLE)).astype(np.int64)
    negative = np.where(angle < -MAX_CONTOUR_ANGLE, 2 * MAX_CONTOUR_ANGLE, MAX_CONTOUR_ANGLE - angle)
    return np.where(angle < 0, negative, angle)


def _landmarks(model, vertices: np.ndarray, faces_idx: np.ndarray, bary: np.ndarray) -> np.ndarray:
    """(F, L, 3) barycentric points; faces_idx/bary (L,)/(L,3) or per frame (F,L)/(F,L,3)."""
    tri = model.faces[np.asarray(faces_idx, dtype=np.int64)]                    # (..., L, 3)
    if tri.ndim == 2:
        corners = vertices[:, tri]                                             # (F, L, 3, 3)
        return np.einsum("flkc,lk->flc", corners, np.asarray(bary, dtype=np.float64))
    corners = vertices[np.arange(len(vertices))[:, None, None], tri]           # (F, L, 3, 3)
    return np.einsum("flkc,flk->flc", corners, np.asarray(bary, dtype=np.float64))


def keypoint_availability(model) -> np.ndarray:
    """(144,) bool: which smplx-convention keypoints this body model defines."""
    ok = np.zeros(NUM_KEYPOINTS, bool)
    ok[:NUM_JOINTS] = True
    if model is None:
        return ok
    ok[EXTRA] = _has_smplx_topology(model)
    lf, lb = model.extras.get("lmk_faces_idx"), model.extras.get("lmk_bary_coords")
    ok[LANDMARKS] = lf is not None and lb is not None and np.shape(lf) == (51,) and np.shape(lb) == (51, 3)
    df, db = model.extras.get("dynamic_lmk_faces_idx"), model.extras.get("dynamic_lmk_bary_coords")
    ok[CONTOUR] = (df is not None and db is not None and np.ndim(df) == 2 and np.shape(df)[1] == 17
                   and np.shape(db) == np.shape(df) + (3,) and np.shape(df)[0] == 2 * MAX_CONTOUR_ANGLE + 1)
    return ok


def smplx_keypoints(model, vertices: np.ndarray, joints: np.ndarray, full_pose_cam: np.ndarray) -> np.ndarray:
    """(F, 144, 3) the smplx-convention keypoints of posed bodies (zeros where the model lacks them).

    vertices, joints: (F, V, 3), (F, 55, 3) in the frame the keypoints are wanted in;
    full_pose_cam: (F, 55, 3) axis-angle in that frame (its root picks the face contour).
    """
    F = vertices.shape[0]
    out = np.zeros((F, NUM_KEYPOINTS, 3))
    out[:, :NUM_JOINTS] = joints
    ok = keypoint_availability(model)
    if ok[EXTRA.start]:
        out[:, EXTRA] = vertices[:, SMPLX_EXTRA_VERTEX_IDS]
    if ok[LANDMARKS.start]:
        out[:, LANDMARKS] = _landmarks(model, vertices, model.extras["lmk_faces_idx"], model.extras["lmk_bary_coords"])
    if ok[CONTOUR.start]:
        rows = contour_table_rows(full_pose_cam)
        faces_idx = np.asarray(model.extras["dynamic_lmk_faces_idx"], dtype=np.int64)[rows]
        bary = np.asarray(model.extras["dynamic_lmk_bary_coords"], dtype=np.float64)[rows]
        out[:, CONTOUR] = _landmarks(model, vertices, faces_idx, bary)
    return out


# ----------------------------------------------------------------------------------- boxes
def box_xywh(points_2d: np.ndarray, width: int, height: int, scale: float = 1.0, valid=None) -> np.ndarray:
    """(F, 5) x, y, w, h, confidence: the box of each frame's points, scaled about its centre,
    clipped to the pixel centres of the image ([0, W-1] x [0, H-1]); confidence 1 when the
    clipped box has an area (and ``valid``), else the row is all zeros."""
    p = np.asarray(points_2d, dtype=np.float64)
    x0, y0 = p[..., 0].min(-1), p[..., 1].min(-1)
    x1, y1 = p[..., 0].max(-1), p[..., 1].max(-1)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = (x1 - x0) / 2 * scale, (y1 - y0) / 2 * scale
    x0, x1 = np.clip(cx - hw, 0, width - 1), np.clip(cx + hw, 0, width - 1)
    y0, y1 = np.clip(cy - hh, 0, height - 1), np.clip(cy + hh, 0, height - 1)
    ok = np.isfinite(x0 + x1 + y0 + y1) & (x1 > x0) & (y1 > y0)
    if valid is not None:
        ok &= np.asarray(valid, bool)
    box = np.stack([x0, y0, x1 - x0, y1 - y0, np.ones_like(x0)], axis=-1)
    box[~ok] = 0.0
    return box


def _part_vertices(model, joints: tuple[int, ...]) -> np.ndarray:
    """Vertex ids whose largest skinning weight belongs to one of the joints."""
    return np.flatnonzero(np.isin(np.argmax(model.weights, axis=1), joints))


# ------------------------------------------------------------------------------- export
def export_humandata(dataset_dir, out_path, *, image_root=None, frame_step: int = 1, body_model=None,
                     flat_hand_mean: bool = False) -> int:
    """Write every completed sequence of a Mayhem dataset as one HumanData .npz; returns its rows.

    body_model: a BodyModel, a model file, or a list/mapping of them, for the model ids in the
    labels' ``model`` key; the bundled free body (``free``) is loaded when not given. Every
    person's model is needed: keypoints beyond the 55 joints, hand and face boxes, and the
    hand mean come from it.
    flat_hand_mean: write full hand poses (``misc['flat_hand_mean'] = True``) instead of poses
    relative to the model's hand mean.
    """
    dataset_dir = Path(dataset_dir)
    image_root = (Path(image_root) if image_root is not None else dataset_dir).resolve()
    if int(frame_step) < 1:
        raise MayhemInputError(None, "frame_step", f"must be >= 1, got {frame_step}")
    models = dict(_model_table(body_model) or {})
    names = completed_sequences(dataset_dir)
    if not names:
        raise MayhemInputError(dataset_dir / "dataset.json", "sequences", "no completed sequence to export")
    sequences = []
    for name in names:
        seq_dir = safe_join(dataset_dir, name)
        labels_path = seq_dir / "labels.npz"
        labels = _load_labels(labels_path)
        for p, model_id in enumerate(str(m) for m in labels["model"]):
            if model_id not in models:
                if model_id != "free":
                    raise MayhemInputError(labels_path, "model", f"person {p} uses body model {model_id!r}; give "
                                           f"its model file (--body-model), the models given are {sorted(models)}")
                from ..assets import free_body_path
                from ..body.model import load_body_model

                models["free"] = load_body_model(free_body_path())
        sequences.append((name, seq_dir, labels_path, labels))
    used = {str(m) for *_, lab in sequences for m in lab["model"]}
    available = np.logical_and.reduce([keypoint_availability(models[m]) for m in sorted(used)])

    rows: dict[str, list] = {k: [] for k in ("image_path", "bbox_xywh", "lhand_bbox_xywh", "rhand_bbox_xywh",
                                             "face_bbox_xywh", "kp2d", "kp3d", "gender", "height", "width",
                                             "focal_length", "principal_point", "model", "sequence", "frame",
                                             "instance_id", *("smplx_" + k for k in _SMPLX_KEYS))}
    for name, seq_dir, labels_path, labels in sequences:
        _export_sequence(name, seq_dir, labels_path, labels, image_root, int(frame_step), models, available,
                         bool(flat_hand_mean), rows)

    n = len(rows["image_path"])
    shapes = {"global_orient": (3,), "body_pose": (21, 3), "betas": (NUM_BETAS,), "transl": (3,),
              "left_hand_pose": (15, 3), "right_hand_pose": (15, 3), "jaw_pose": (3,), "leye_pose": (3,),
              "reye_pose": (3,), "expression": (NUM_EXPRESSION,)}
    smplx = {k: np.array(rows["smplx_" + k], dtype=np.float32).reshape((n,) + shapes[k]) for k in _SMPLX_KEYS}
    strings = lambda key: np.array(rows[key], dtype=str) if n else np.zeros(0, "<U1")  # noqa: E731
    mask = available.astype(np.float32)
    meta = {
        "gender": strings("gender"),
        "height": np.array(rows["height"], dtype=np.int64), "width": np.array(rows["width"], dtype=np.int64),
        "focal_length": np.array(rows["focal_length"], dtype=np.float32).reshape(n, 2),
        "principal_point": np.array(rows["principal_point"], dtype=np.float32).reshape(n, 2),
        # Mayhem's own, for tracing a row back to its files:
        "model": strings("model"), "sequence": strings("sequence"),
        "frame": np.array(rows["frame"], dtype=np.int64), "instance_id": np.array(rows["instance_id"], dtype=np.int64),
    }
    misc = {
        "flat_hand_mean": bool(flat_hand_mean), "kps3d_root_aligned": False, "smplx_source": "original",
        "cam_param_type": "perspective", "bbox_source": "smplx_vertices_and_keypoints",
        "bbox_body_scale": BBOX_BODY_SCALE, "bbox_hand_scale": BBOX_HAND_SCALE, "bbox_face_scale": BBOX_FACE_SCALE,
        "pixel_centre": "integer (top-left pixel centre at 0, 0)", "generator": "mayhem",
    }
    box = lambda key: np.array(rows[key], dtype=np.float32).reshape(n, 5)  # noqa: E731
    arrays = {
        "__key_strict__": np.array(False), "__data_len__": np.array(n), "__keypoints_compressed__": np.array(False),
        "image_path": strings("image_path"),
        "bbox_xywh": box("bbox_xywh"), "lhand_bbox_xywh": box("lhand_bbox_xywh"),
        "rhand_bbox_xywh": box("rhand_bbox_xywh"), "face_bbox_xywh": box("face_bbox_xywh"),
        "keypoints2d_smplx": np.array(rows["kp2d"], dtype=np.float32).reshape(n, NUM_KEYPOINTS, 3),
        "keypoints2d_smplx_mask": mask,
        "keypoints3d_smplx": np.array(rows["kp3d"], dtype=np.float32).reshape(n, NUM_KEYPOINTS, 4),
        "keypoints3d_smplx_mask": mask.copy(),
        "smplx": np.array(smplx, dtype=object), "meta": np.array(meta, dtype=object),
        "misc": np.array(misc, dtype=object), "config": np.array("mayhem"),
    }
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_npz(out_path, arrays, allow_pickle=True)
    log.debug("%d HumanData rows from %d sequence(s) -> %s", n, len(sequences), out_path)
    return n


_SMPLX_KEYS = ("global_orient", "body_pose", "betas", "transl", "left_hand_pose", "right_hand_pose",
               "jaw_pose", "leye_pose", "reye_pose", "expression")


def _fit_width(values: np.ndarray, width: int, labels_path: Path, key: str, p: int) -> np.ndarray:
    """Zero-pad or cut the last axis to `width`, refusing to drop a nonzero coefficient."""
    if np.any(values[..., width:] != 0):
        raise MayhemInputError(labels_path, key, f"person {p} has nonzero coefficients beyond {width}; "
                               f"HumanData readers (SMPLer-X) build SMPL-X with {width}")
    out = np.zeros(values.shape[:-1] + (width,))
    n = min(values.shape[-1], width)
    out[..., :n] = values[..., :n]
    return out


def _export_sequence(name, seq_dir, labels_path, labels, image_root, frame_step, models, available,
                     flat_hand_mean, rows) -> None:
    F, P = labels["frame"].shape[0], labels["model"].shape[0]
    W, H = (int(v) for v in labels["image_size"])
    frames = np.arange(0, F, frame_step)
    image_paths = []
    for f in frames:
        image = frame_path(seq_dir, "rgb", int(labels["frame"][f]))
        if not image.is_file():
            raise MayhemInputError(image, None, "image of a completed sequence is missing")
        resolved = image.resolve()
        if not resolved.is_relative_to(image_root):
            raise MayhemInputError(image, "image_root", f"image is not inside the image root {image_root}")
        image_paths.append(resolved.relative_to(image_root).as_posix())
    K = labels["K"][frames].astype(np.float64)
    w2c = labels["world_to_cam"][frames].astype(np.float64)
    R, t = w2c[:, :3, :3], w2c[:, :3, 3]

    per_person = []
    for p in range(P):
        model = models[str(labels["model"][p])]
        inputs = _model_inputs(model, labels, p, frames, labels_path)
        out = model.forward(**inputs)
        verts = np.einsum("fij,fvj->fvi", R, out.vertices) + t[:, None]
        joints = labels["joints3d_cam"][frames, p].astype(np.float64)
        pose = {k: labels[k][frames, p].astype(np.float64) for k in _POSE_KEYS}
        full_cam = np.concatenate([labels["global_orient_cam"][frames, p].astype(np.float64)]
                                  + [pose[k] for k in _POSE_KEYS], axis=1).reshape(len(frames), NUM_JOINTS, 3)
        kp3d = smplx_keypoints(model, verts, joints, full_cam)
        kp3d[:, ~available] = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            uvw = np.einsum("fij,fkj->fki", K, kp3d)
            kp2d = uvw[..., :2] / uvw[..., 2:]
            vuvw = np.einsum("fij,fkj->fki", K, verts)
            vuv = vuvw[..., :2] / vuvw[..., 2:]
        kp2d[:, ~available] = 0.0
        in_front = np.all(verts[..., 2] > 0, axis=1)
        body = box_xywh(vuv, W, H, BBOX_BODY_SCALE, valid=in_front)
        hands = []
        for part, kp_rows in ((LEFT_HAND_JOINTS, LEFT_HAND_KEYPOINTS), (RIGHT_HAND_JOINTS, RIGHT_HAND_KEYPOINTS)):
            kp_rows = [j for j in kp_rows if available[j]]
            pts = np.concatenate([vuv[:, _part_vertices(model, part)], kp2d[:, kp_rows]], axis=1)
            hands.append(box_xywh(pts, W, H, BBOX_HAND_SCALE, valid=in_front))
        face_rows = np.flatnonzero(available[FACE_KEYPOINTS]) + FACE_KEYPOINTS.start
        face_pts = kp2d[:, face_rows] if len(face_rows) else vuv[:, _part_vertices(model, HEAD_JOINTS)]
        face = box_xywh(face_pts, W, H, BBOX_FACE_SCALE, valid=in_front)

        if flat_hand_mean:
            lhand, rhand = pose["left_hand_pose"], pose["right_hand_pose"]
        else:
            lhand = pose["left_hand_pose"] - model.hands_mean_l[None]
            rhand = pose["right_hand_pose"] - model.hands_mean_r[None]
        smplx = {
            "global_orient": labels["global_orient_cam"][frames, p], "transl": labels["transl_cam"][frames, p],
            "body_pose": pose["body_pose"], "jaw_pose": pose["jaw_pose"], "leye_pose": pose["leye_pose"],
            "reye_pose": pose["reye_pose"], "left_hand_pose": lhand, "right_hand_pose": rhand,
            "betas": np.broadcast_to(_fit_width(labels["betas"][p].astype(np.float64), NUM_BETAS, labels_path,
                                                "betas", p), (len(frames), NUM_BETAS)),
            "expression": _fit_width(labels["expression"][frames, p].astype(np.float64), NUM_EXPRESSION,
                                     labels_path, "expression", p),
        }
        per_person.append((kp2d, kp3d, body, hands, face, in_front, smplx))

    conf = available.astype(np.float64)
    for i, f in enumerate(frames):
        for p in range(P):
            kp2d, kp3d, body, hands, face, in_front, smplx = per_person[p]
            if not in_front[i] or body[i, 4] <= 0:
                continue
            rows["image_path"].append(image_paths[i])
            rows["bbox_xywh"].append(body[i])
            rows["lhand_bbox_xywh"].append(hands[0][i])
            rows["rhand_bbox_xywh"].append(hands[1][i])
            rows["face_bbox_xywh"].append(face[i])
            rows["kp2d"].append(np.concatenate([kp2d[i], conf[:, None]], axis=1))
            rows["kp3d"].append(np.concatenate([kp3d[i], conf[:, None]], axis=1))
            rows["gender"].append(str(labels["gender"][p]))
            rows["height"].append(H)
            rows["width"].append(W)
            rows["focal_length"].append(K[i, [0, 1], [0, 1]])
            rows["principal_point"].append(K[i, [0, 1], [2, 2]])
            rows["model"].append(str(labels["model"][p]))
            rows["sequence"].append(name)
            rows["frame"].append(int(labels["frame"][f]))
            rows["instance_id"].append(int(labels["instance_id"][p]))
            for k in _SMPLX_KEYS:
                rows["smplx_" + k].append(smplx[k][i])


# ---------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mayhem export-humandata",
                                     description="Write a Mayhem dataset as MMHuman3D HumanData (.npz) for "
                                                 "SMPLer-X / AiOS-style loaders.")
    parser.add_argument("dataset", help="dataset folder written by `mayhem generate`")
    parser.add_argument("--out", required=True, help=".npz file to write")
    parser.add_argument("--image-root", default=None, help="folder image_path is relative to (default: DATASET)")
    parser.add_argument("--frame-step", type=int, default=1, help="keep every n-th frame")
    parser.add_argument("--body-model", action="append", default=None, metavar="PATH",
                        help="SMPL-X model file of the labels' `model` (repeat per model); the free body "
                             "is found by itself")
    parser.add_argument("--flat-hand-mean", action="store_true",
                        help="write full hand poses (misc.flat_hand_mean = True) instead of poses relative "
                             "to the model's hand mean (the smplx package's default)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`mayhem export-humandata DATASET --out FILE`: 0 on success, 2 with one line on bad input."""
    args = build_parser().parse_args(argv)
    try:
        models = None
        if args.body_model:
            from ..assets import free_body_path

            models = [free_body_path() if m == "free" else Path(m) for m in args.body_model]
        n = export_humandata(args.dataset, args.out, image_root=args.image_root, frame_step=args.frame_step,
                             body_model=models, flat_hand_mean=args.flat_hand_mean)
    except MayhemInputError as exc:
        print(f"mayhem export-humandata: error: {exc}", file=sys.stderr)
        return 2
    print(f"{n} rows -> {os.fspath(args.out)}")
    return 0
