"""Export a Mayhem dataset to BEDLAM's training-label layout: one .npz, one row per person per frame.

Tools written for BEDLAM (BEDLAM-CLIFF/HMR, CameraHMR, ...) read the per-scene label files that
BEDLAM's own script writes; this module writes the same keys with the same meaning, derived
from Mayhem's ``labels.npz`` (docs/format.md), so those tools train on Mayhem data unchanged.

Facts taken from BEDLAM's public code (repository pixelite1201/BEDLAM; nothing copied):

* Writer: ``data_processing/df_full_body.py`` (and its later variants
  ``df_full_body_bedlam1_compatible.py``, ``df_full_body_smplx_bedlam2.py``).
  - keys, in file order: imgname, center, scale, pose_cam, pose_world, shape, trans_cam,
    trans_world, gtkps, cam_int, cam_ext, gender, proj_verts, motion_info, sub.
  - rows: for each sequence, for each body, for each image (body-major).
  - ``imgname`` = ``<sequence folder>/<image file>``, joined onto an image root by the reader.
  - ``cam_int`` = [[f_mm/sensor_w*W, 0, W/2], [0, f_mm/sensor_h*H, H/2], [0, 0, 1]]: the
    principal point is the continuous image centre, i.e. pixel centres at half-integers.
    Mayhem puts the top-left pixel centre at (0, 0) (cx = W/2 - 0.5), so cx, cy and every
    2D point get +0.5 here.
  - ``pose_cam``/``pose_world`` (165,): global orient, body 63, jaw 3, leye 3, reye 3,
    left hand 45, right hand 45 (full axis-angle, flat hand mean, no PCA); only the global
    orientation differs between the two.
  - world frame: gravity-aligned with OpenCV-like axes (x right, y DOWN, z forward) whose
    heading follows the camera's yaw (the camera yaw is folded into the body rotation, so
    ``cam_ext[:3,:3]`` = roll @ pitch only). BEDLAM's origin is each body's placement point.
  - ``trans_world`` = R_w (J0 + transl) - J0 and ``trans_cam`` = R_ext (J0 + trans_world) - J0,
    with J0 the rest pelvis joint (rotation about the pelvis).
  - ``cam_ext`` (4,4): [:3,:3] the world->camera rotation, [:3,3] the world origin in the
    camera frame, [3,3] = 1. Camera-frame vertices = SMPLX(pose_cam, shape, trans_cam) +
    cam_ext[:3,3]; ``gtkps`` is that projected through ``cam_int`` (x/z, y/z, 1) @ K^T, so it
    has 3 columns and the third is always 1.0.
  - ``gtkps`` rows are the ``smplx`` package's SMPLX joints: 55 skeleton joints, 21 vertex
    joints (face, feet, finger tips), 51 face landmarks = 127.
  - ``center``/``scale``: bbox of the first 22 projected joints that lie in [0, W] x [0, H]
    (inclusive); center = bbox middle, scale = max(w, h) / 200 * 1.2.
  - row filter: drop when no joint is inside or scale <= 0; drop when fewer than N of the
    first 22 joints are inside (N = 8 in df_full_body_bedlam1_compatible.py and
    df_full_body_smplx_bedlam2.py; df_full_body.py at commit 099ab0ef uses 12 and has no
    vertex test); drop when any vertex has camera z < 0.
  - ``shape``: betas of the neutral SMPL-X built with num_betas=11.
* Reader: ``train/dataset/dataset.py`` (training branch) reads imgname, scale, center,
  ``pose_cam[:, :66]`` (NUM_JOINTS_SMPLX = 22 in ``train/core/constants.py``), ``shape`` (padded
  from 10 to 11 with a zero), ``cam_int`` (focal = [0,0], [1,1]), ``cam_ext``, ``trans_cam``
  (translation = cam_ext[:, 3] with trans_cam added to its first 3 entries), ``gtkps[:, :24]``
  (3 columns: x, y are normalised, the last is kept), optional ``proj_verts`` (else zeros
  (437, 3)) and ``gender`` (0 if 'm' else 1). ``train/core/hmr_trainer.py`` builds the
  neutral SMPLX with num_betas=11 and renders the GT as SMPLX(pose_cam) + translation.

How Mayhem's labels map (Mayhem's world is Blender's, Z up):

* BEDLAM world axes per frame: z = horizontal heading of the camera's optical axis, y = -Z
  (down), x = y cross z. Its origin is Mayhem's world origin, shared by everybody in the
  sequence (BEDLAM's differs per body; either satisfies the identities above).
* ``cam_ext`` = [world_to_cam[:3,:3] @ A^T | world_to_cam[:3,3]] with A the rotation from
  Mayhem's world to that frame; ``trans_cam`` = pelvis_cam - J0 - world_to_cam[:3,3].
* ``shape`` always has 11 columns; BEDLAM's labels carry no expression, so face expression
  is dropped (joints and ``gtkps`` still come from the rendered body).
* J0 is the rest pelvis of SMPLX(shape) when a body model is given, else it is recovered
  from the labels (pelvis joint minus transl); the two agree whenever the model's expression
  blend shapes leave the pelvis region unchanged, as SMPL-X's do.
* ``proj_verts`` needs BEDLAM's downsampling matrix (``downsample_mat_smplx.pkl``) and is not
  written; their reader substitutes zeros.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..body.model import BodyModel, load_body_model
from ..dataset.documents import completed_sequences
from ..dataset.layout import frame_path
from ..errors import MayhemInputError
from ..geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from ..io.atomic import safe_join
from ..io.npz import save_npz

log = logging.getLogger(__name__)

BEDLAM_NUM_BETAS = 11          # hmr_trainer.py: smplx.SMPLX(..., num_betas=11)
BBOX_JOINTS = 22               # df_full_body.py: get_bbox_valid(joints2d[:22], ...)
SCALE_FACTOR_BBOX = 1.2        # df_full_body.py: SCALE_FACTOR_BBOX
BBOX_SCALE_UNIT = 200.0        # df_full_body.py: max(w, h) / 200
MIN_VISIBLE_JOINTS = 8         # df_full_body_bedlam1_compatible.py / df_full_body_smplx_bedlam2.py
PIXEL_CENTRE_SHIFT = 0.5       # Mayhem pixel centres at integers -> BEDLAM's at half-integers
SMPLX_NUM_VERTICES = 10475
NUM_LANDMARKS = 51             # smplx SMPLX without face contour
# Vertex joints appended by the smplx package (vertex_ids.py 'smplx', vertex_joint_selector.py):
# nose, reye, leye, rear, lear, LBigToe, LSmallToe, LHeel, RBigToe, RSmallToe, RHeel,
# then finger tips thumb, index, middle, ring, pinky of the left and then the right hand.
SMPLX_EXTRA_VERTEX_IDS = np.array([
    9120, 9929, 9448, 616, 6,
    5770, 5780, 8846, 8463, 8474, 8635,
    5361, 4933, 5058, 5169, 5286,
    8079, 7669, 7794, 7905, 8022,
], dtype=np.int64)
NUM_GTKPS_FULL = 55 + len(SMPLX_EXTRA_VERTEX_IDS) + NUM_LANDMARKS  # 127
GENDER_LETTER = {"male": "m", "female": "f", "neutral": "n"}

_LABEL_KEYS = {
    # key: trailing shape after (F, P) / (P,) / (F,) ; None = checked separately
    "frame": None, "image_size": None, "K": None, "world_to_cam": None, "model": None, "gender": None,
    "betas": None, "instance_id": None, "expression": None,
    "global_orient": (3,), "transl": (3,), "body_pose": (63,), "jaw_pose": (3,), "leye_pose": (3,),
    "reye_pose": (3,), "left_hand_pose": (45,), "right_hand_pose": (45,), "global_orient_cam": (3,),
    "transl_cam": (3,), "joints3d_cam": (55, 3), "joints2d": (55, 2),
}
_POSE_PARTS = ("body_pose", "jaw_pose", "leye_pose", "reye_pose", "left_hand_pose", "right_hand_pose")


# ------------------------------------------------------------------------------ geometry
def bedlam_world_rotation(world_to_cam) -> np.ndarray:
    """(..., 3, 3) rotation A from Mayhem's Z-up world to BEDLAM's world frame of each camera.

    BEDLAM's world is gravity-aligned (y down) and turned with the camera's yaw, so its
    camera rotation is roll @ pitch only. z is the horizontal heading of the optical axis; a
    camera looking straight down (up) takes its image-up (image-down) direction instead, which
    is where the heading was before pitching by 90 degrees.
    """
    R = np.asarray(world_to_cam, dtype=np.float64)[..., :3, :3]
    forward, down = R[..., 2, :], R[..., 1, :]
    heading = forward.copy()
    heading[..., 2] = 0.0
    norm = np.linalg.norm(heading, axis=-1)
    vertical = norm < 1e-9
    if np.any(vertical):
        looking_down = forward[..., 2] < 0
        alt = np.where(looking_down[..., None], -down, down)
        alt[..., 2] = 0.0
        heading = np.where(vertical[..., None], alt, heading)
        norm = np.linalg.norm(heading, axis=-1)
    z = heading / norm[..., None]
    y = np.broadcast_to(np.array([0.0, 0.0, -1.0]), z.shape)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=-2)


def bbox_center_scale(kp2d: np.ndarray, width: int, height: int, rescale: float = SCALE_FACTOR_BBOX):
    """BEDLAM's box from keypoints in its pixel convention: (center (N,2), scale (N,), inside (N,)).

    Keypoints count when 0 <= x <= width and 0 <= y <= height; rows with none get center
    (-1, -1) and scale -1, as in df_full_body.py's get_bbox_valid.
    """
    kp = np.asarray(kp2d, dtype=np.float64)
    u, v = kp[..., 0], kp[..., 1]
    inside = np.isfinite(u) & np.isfinite(v) & (u >= 0) & (u <= width) & (v >= 0) & (v <= height)
    count = inside.sum(axis=-1)
    big = np.inf
    x0 = np.where(inside, u, big).min(axis=-1)
    x1 = np.where(inside, u, -big).max(axis=-1)
    y0 = np.where(inside, v, big).min(axis=-1)
    y1 = np.where(inside, v, -big).max(axis=-1)
    none = count == 0
    x0, x1, y0, y1 = (np.where(none, 0.0, a) for a in (x0, x1, y0, y1))
    center = np.stack([(x0 + x1) / 2.0, (y0 + y1) / 2.0], axis=-1)
    scale = np.maximum(x1 - x0, y1 - y0) / BBOX_SCALE_UNIT * rescale
    center[none] = -1.0
    scale[none] = -1.0
    return center, scale, count


def _extra_keypoints(model: BodyModel, vertices: np.ndarray) -> np.ndarray:
    """(F, 72, 3) the smplx package's vertex joints and 51 landmarks of SMPL-X-topology vertices."""
    faces = model.faces[np.asarray(model.extras["lmk_faces_idx"], dtype=np.int64)]  # (51, 3)
    bary = np.asarray(model.extras["lmk_bary_coords"], dtype=np.float64)          # (51, 3)
    landmarks = np.einsum("flkc,lk->flc", vertices[:, faces], bary)
    return np.concatenate([vertices[:, SMPLX_EXTRA_VERTEX_IDS], landmarks], axis=1)


def _has_smplx_topology(model: BodyModel) -> bool:
    lf = model.extras.get("lmk_faces_idx")
    lb = model.extras.get("lmk_bary_coords")
    return (model.num_vertices == SMPLX_NUM_VERTICES and lf is not None and lb is not None
            and np.shape(lf) == (NUM_LANDMARKS,) and np.shape(lb) == (NUM_LANDMARKS, 3))


# ------------------------------------------------------------------------------- inputs
def _load_labels(path: Path) -> dict:
    """labels.npz with every key the export needs, shapes checked against each other."""
    if not path.is_file():
        raise MayhemInputError(path, None, "labels file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            labels = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise MayhemInputError(path, None, f"not a readable .npz ({exc})") from None
    for key in _LABEL_KEYS:
        if key not in labels:
            raise MayhemInputError(path, key, "missing key")
    F = labels["frame"].shape[0] if labels["frame"].ndim == 1 else -1
    P = labels["model"].shape[0] if labels["model"].ndim == 1 else -1
    if F < 0 or P < 0:
        raise MayhemInputError(path, "frame" if F < 0 else "model", "expected a 1-D array")
    fixed = {"image_size": (2,), "K": (F, 3, 3), "world_to_cam": (F, 4, 4), "gender": (P,), "instance_id": (P,)}
    for key, shape in fixed.items():
        if labels[key].shape != shape:
            raise MayhemInputError(path, key, f"expected shape {shape}, got {labels[key].shape}")
    if labels["betas"].ndim != 2 or labels["betas"].shape[0] != P:
        raise MayhemInputError(path, "betas", f"expected shape ({P}, B), got {labels['betas'].shape}")
    if labels["expression"].ndim != 3 or labels["expression"].shape[:2] != (F, P):
        raise MayhemInputError(path, "expression", f"expected shape ({F}, {P}, E), got {labels['expression'].shape}")
    for key, tail in _LABEL_KEYS.items():
        if tail is not None and labels[key].shape != (F, P) + tail:
            raise MayhemInputError(path, key, f"expected shape {(F, P) + tail}, got {labels[key].shape}")
    return labels


def _scene_people(seq_dir: Path) -> dict:
    """scene.json people by instance id (for motion_info), or {} when there is no scene.json."""
    path = seq_dir / "scene.json"
    if not path.is_file():
        return {}
    try:
        people = json.loads(path.read_text(encoding="utf-8")).get("people", [])
        return {int(p["instance_id"]): p for p in people}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MayhemInputError(path, "people", f"unreadable ({exc!r})") from None


def _model_table(body_model) -> dict[str, BodyModel] | None:
    """Normalise the body_model argument to {model id: BodyModel} (None: no model)."""
    if body_model is None:
        return None
    if isinstance(body_model, Mapping):
        items = list(body_model.values())
    elif isinstance(body_model, (list, tuple)):
        items = list(body_model)
    else:
        items = [body_model]
    table = {}
    for item in items:
        model = item if isinstance(item, BodyModel) else load_body_model(item)
        table[model.model_id] = model
    return table


def _betas11(betas: np.ndarray, labels_path: Path, p: int) -> np.ndarray:
    out = np.zeros(BEDLAM_NUM_BETAS)
    n = min(len(betas), BEDLAM_NUM_BETAS)
    out[:n] = betas[:n]
    if np.any(betas[BEDLAM_NUM_BETAS:] != 0):
        raise MayhemInputError(labels_path, "betas", f"person {p} has nonzero shape coefficients beyond "
                               f"{BEDLAM_NUM_BETAS}; BEDLAM's reader builds SMPL-X with {BEDLAM_NUM_BETAS} betas")
    return out


def _model_inputs(model: BodyModel, labels: dict, p: int, frames: np.ndarray, labels_path: Path) -> dict:
    """Forward-pass arguments of person p on the given frames, fitted to the model's widths."""
    expr = labels["expression"][frames, p].astype(np.float64)
    if np.any(expr[:, model.num_expression:] != 0):
        raise MayhemInputError(labels_path, "expression", f"person {p} uses more expression coefficients "
                               f"than {model.path} has ({model.num_expression})")
    betas = labels["betas"][p].astype(np.float64)
    if np.any(betas[model.num_betas:] != 0):
        raise MayhemInputError(labels_path, "betas", f"person {p} uses more shape coefficients than "
                               f"{model.path} has ({model.num_betas})")
    kwargs = {k: labels[k][frames, p].astype(np.float64) for k in ("global_orient", "transl") + _POSE_PARTS}
    return dict(kwargs, betas=betas[:model.num_betas], expression=expr[:, :model.num_expression])


# ------------------------------------------------------------------------------- export
def export_bedlam(dataset_dir, out_path, *, image_root=None, frame_step: int = 1, body_model=None,
                  min_visible_joints: int = MIN_VISIBLE_JOINTS) -> int:
    """Write every completed sequence of a Mayhem dataset as one BEDLAM training-label .npz.

    image_root: folder the ``imgname`` entries are relative to (default: the dataset folder,
    giving ``seq_000000/rgb/000000.png``); it must contain the images.
    frame_step: keep every n-th frame (5 gives BEDLAM's 6 fps subset of 30 fps sequences).
    body_model: None, a BodyModel, a model file path, or a list/mapping of them, keyed by the
    model ids in the labels' ``model`` key. With a model the export applies BEDLAM's
    any-vertex-behind-the-camera filter, takes J0 from SMPLX(shape) and, for SMPL-X topology,
    writes all 127 ``gtkps`` rows; without one, the filter uses the 55 joints and ``gtkps``
    has the 55 skeleton rows (the first 55 of BEDLAM's 127).
    Returns the number of rows written.
    """
    dataset_dir = Path(dataset_dir)
    image_root = Path(image_root) if image_root is not None else dataset_dir
    if int(frame_step) < 1:
        raise MayhemInputError(None, "frame_step", f"must be >= 1, got {frame_step}")
    models = _model_table(body_model)
    names = completed_sequences(dataset_dir)
    if not names:
        raise MayhemInputError(dataset_dir / "dataset.json", "sequences", "no completed sequence to export")

    sequences = []
    for name in names:
        seq_dir = safe_join(dataset_dir, name)
        labels_path = seq_dir / "labels.npz"
        sequences.append((name, seq_dir, labels_path, _load_labels(labels_path)))
    full_gtkps = models is not None and all(
        _has_smplx_topology(models[str(m)]) for *_, lab in sequences for m in lab["model"] if str(m) in models)

    rows: dict[str, list] = {k: [] for k in ("imgname", "center", "scale", "pose_cam", "pose_world", "shape",
                                             "trans_cam", "trans_world", "gtkps", "cam_int", "cam_ext",
                                             "gender", "motion_info", "sub")}
    gendered = set()
    for name, seq_dir, labels_path, labels in sequences:
        _export_sequence(name, seq_dir, labels_path, labels, image_root.resolve(), int(frame_step), models,
                         full_gtkps, int(min_visible_joints), rows, gendered)
    if gendered:
        log.warning("people with %s body models exported; BEDLAM's trainer interprets `shape` with the "
                    "neutral SMPL-X", "/".join(sorted(gendered)))

    n = len(rows["imgname"])
    J = NUM_GTKPS_FULL if full_gtkps else 55
    arrays = {
        "imgname": np.array(rows["imgname"], dtype=str) if n else np.zeros(0, "<U1"),
        "center": np.array(rows["center"], dtype=np.float64).reshape(n, 2),
        "scale": np.array(rows["scale"], dtype=np.float64).reshape(n),
        "pose_cam": np.array(rows["pose_cam"], dtype=np.float64).reshape(n, 165),
        "pose_world": np.array(rows["pose_world"], dtype=np.float64).reshape(n, 165),
        "shape": np.array(rows["shape"], dtype=np.float64).reshape(n, BEDLAM_NUM_BETAS),
        "trans_cam": np.array(rows["trans_cam"], dtype=np.float64).reshape(n, 3),
        "trans_world": np.array(rows["trans_world"], dtype=np.float64).reshape(n, 3),
        "gtkps": np.array(rows["gtkps"], dtype=np.float32).reshape(n, J, 3),
        "cam_int": np.array(rows["cam_int"], dtype=np.float64).reshape(n, 3, 3),
        "cam_ext": np.array(rows["cam_ext"], dtype=np.float64).reshape(n, 4, 4),
        "gender": np.array(rows["gender"], dtype=str) if n else np.zeros(0, "<U1"),
        "motion_info": np.array(rows["motion_info"], dtype=str) if n else np.zeros(0, "<U1"),
        "sub": np.array(rows["sub"], dtype=str) if n else np.zeros(0, "<U1"),
    }
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_npz(out_path, arrays)
    log.debug("%d BEDLAM rows from %d sequence(s) -> %s", n, len(sequences), out_path)
    return n


def _export_sequence(name, seq_dir, labels_path, labels, image_root, frame_step, models, full_gtkps,
                     min_visible, rows, gendered) -> None:
    F, P = labels["frame"].shape[0], labels["model"].shape[0]
    W, H = (int(v) for v in labels["image_size"])
    frames = np.arange(0, F, frame_step)
    imgnames = []
    for f in frames:
        image = frame_path(seq_dir, "rgb", int(labels["frame"][f]))
        if not image.is_file():
            raise MayhemInputError(image, None, "image of a completed sequence is missing")
        resolved = image.resolve()
        if not resolved.is_relative_to(image_root):
            raise MayhemInputError(image, "image_root", f"image is not inside the image root {image_root}")
        imgnames.append(resolved.relative_to(image_root).as_posix())

    w2c = labels["world_to_cam"][frames].astype(np.float64)
    R, t = w2c[:, :3, :3], w2c[:, :3, 3]
    A = bedlam_world_rotation(w2c)
    cam_ext = np.zeros((len(frames), 4, 4))
    cam_ext[:, :3, :3] = R @ np.swapaxes(A, -1, -2)
    cam_ext[:, :3, 3] = t
    cam_ext[:, 3, 3] = 1.0
    cam_int = labels["K"][frames].astype(np.float64)
    cam_int[:, 0, 2] += PIXEL_CENTRE_SHIFT
    cam_int[:, 1, 2] += PIXEL_CENTRE_SHIFT
    scene_people = _scene_people(seq_dir)

    for p in range(P):
        model_id = str(labels["model"][p])
        model = None
        if models is not None:
            if model_id not in models:
                raise MayhemInputError(labels_path, "model", f"person {p} uses body model {model_id!r}; "
                                       f"the body models given are {sorted(models)}")
            model = models[model_id]
        gender = str(labels["gender"][p])
        if gender != "neutral":
            gendered.add(gender)
        shape = _betas11(labels["betas"][p].astype(np.float64), labels_path, p)

        pelvis_cam = labels["joints3d_cam"][frames, p, 0].astype(np.float64)
        pelvis_world = np.einsum("fji,fj->fi", R, pelvis_cam - t)  # R^T (p_cam - t)
        inputs = _model_inputs(model, labels, p, frames, labels_path) if model is not None else None
        if model is not None:  # the rest pelvis of the body BEDLAM's reader builds: shape only
            J0 = model.forward(betas=inputs["betas"], return_vertices=False).rest_joints[0, 0][None]
        else:
            J0 = pelvis_world - labels["transl"][frames, p].astype(np.float64)
        trans_cam = pelvis_cam - J0 - t
        trans_world = np.einsum("fij,fj->fi", A, pelvis_world) - J0
        orient_world = matrix_to_axis_angle(A @ axis_angle_to_matrix(labels["global_orient"][frames, p].astype(np.float64)))
        rest = np.concatenate([labels[k][frames, p].astype(np.float64) for k in _POSE_PARTS], axis=1)
        pose_cam = np.concatenate([labels["global_orient_cam"][frames, p].astype(np.float64), rest], axis=1)
        pose_world = np.concatenate([orient_world, rest], axis=1)

        kp = labels["joints2d"][frames, p].astype(np.float64) + PIXEL_CENTRE_SHIFT
        in_front = np.all(labels["joints3d_cam"][frames, p, :, 2] >= 0, axis=1)
        if model is not None:
            out = model.forward(**inputs)
            verts_cam = np.einsum("fij,fvj->fvi", R, out.vertices) + t[:, None]
            in_front = np.all(verts_cam[..., 2] >= 0, axis=1)
            if full_gtkps:
                extra = np.einsum("fij,fvj->fvi", R, _extra_keypoints(model, out.vertices)) + t[:, None]
                uvw = np.einsum("fij,fvj->fvi", labels["K"][frames].astype(np.float64), extra)
                with np.errstate(divide="ignore", invalid="ignore"):
                    kp = np.concatenate([kp, uvw[..., :2] / uvw[..., 2:] + PIXEL_CENTRE_SHIFT], axis=1)
        gtkps = np.concatenate([kp, np.ones(kp.shape[:2] + (1,))], axis=2)

        center, scale, count = bbox_center_scale(gtkps[:, :BBOX_JOINTS, :2], W, H)
        keep = (center[:, 0] >= 0) & (center[:, 1] >= 0) & (scale > 0) & (count >= min_visible) & in_front
        person = scene_people.get(int(labels["instance_id"][p]), {})
        motion = person.get("motion", {})
        motion_info = f"{motion['ref']};start_frame={motion.get('start_frame', 0)}" if "ref" in motion else ""
        for i in np.flatnonzero(keep):
            rows["imgname"].append(imgnames[i])
            rows["center"].append(center[i])
            rows["scale"].append(scale[i])
            rows["pose_cam"].append(pose_cam[i])
            rows["pose_world"].append(pose_world[i])
            rows["shape"].append(shape)
            rows["trans_cam"].append(trans_cam[i])
            rows["trans_world"].append(trans_world[i])
            rows["gtkps"].append(gtkps[i])
            rows["cam_int"].append(cam_int[i])
            rows["cam_ext"].append(cam_ext[i])
            rows["gender"].append(GENDER_LETTER.get(gender, gender[:1]))
            rows["motion_info"].append(motion_info)
            rows["sub"].append(f"{name}/person_{int(labels['instance_id'][p])}")


# ---------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mayhem export-bedlam",
                                     description="Write a Mayhem dataset as BEDLAM training labels (.npz).")
    parser.add_argument("dataset", help="dataset folder written by `mayhem generate`")
    parser.add_argument("--out", required=True, help=".npz file to write")
    parser.add_argument("--image-root", default=None, help="folder imgname is relative to (default: DATASET)")
    parser.add_argument("--frame-step", type=int, default=1, help="keep every n-th frame (5: 30 -> 6 fps)")
    parser.add_argument("--body-model", action="append", default=None, metavar="PATH",
                        help="SMPL-X model file of the labels' `model` (repeat per model; `free` for the "
                             "bundled free body): enables the vertex filter and 127-row gtkps")
    parser.add_argument("--min-visible-joints", type=int, default=MIN_VISIBLE_JOINTS,
                        help="drop rows with fewer of the first 22 joints inside the image")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`mayhem export-bedlam DATASET --out FILE`: 0 on success, 2 with one line on bad input."""
    args = build_parser().parse_args(argv)
    try:
        models = None
        if args.body_model:
            from ..assets import free_body_path

            models = [free_body_path() if m == "free" else Path(m) for m in args.body_model]
        n = export_bedlam(args.dataset, args.out, image_root=args.image_root, frame_step=args.frame_step,
                          body_model=models, min_visible_joints=args.min_visible_joints)
    except MayhemInputError as exc:
        print(f"mayhem export-bedlam: error: {exc}", file=sys.stderr)
        return 2
    print(f"{n} rows -> {os.fspath(args.out)}")
    return 0
