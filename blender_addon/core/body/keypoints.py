"""Keypoint sets built from SMPL-X joints and vertices: COCO-17, OpenPose BODY_25, OpenPose hands
(21 each) and OpenPose face-70 (iBUG-68 + pupils). Pure numpy.

Every set is a list of rows of one *source* array per body and frame, laid out like the
``smplx`` package's SMPLX output with ``use_face_contour=True``, face reordered to iBUG:

* rows 0-54: the 55 SMPL-X joints (core.body.skeleton.JOINT_NAMES);
* rows 55-75: 21 vertex joints, in the order of smplx's ``VertexJointSelector``: nose, reye,
  leye, rear, lear, LBigToe, LSmallToe, LHeel, RBigToe, RSmallToe, RHeel, then the finger tips
  thumb, index, middle, ring, pinky of the left and then the right hand. On SMPL-X's topology
  the vertex ids are smplx's ``vertex_ids['smplx']``; on the free body they are
  FREE_BODY_VERTEX_IDS (chosen on its rest mesh by the rules in free_body_vertex_ids);
* rows 76-143: the 68 iBUG face landmarks: 0-16 the jaw contour (the model's dynamic
  landmarks, picked per frame by the head's yaw as smplx does), 17-67 the static landmarks
  (``lmk_faces_idx``/``lmk_bary_coords``).

Mappings follow SMPLify-X's ``smpl_to_openpose`` (BODY_25: MidHip is the pelvis joint, Neck
the neck joint; hands: wrist, then per finger the three SMPL-X joints and the tip vertex).
COCO-17 takes nose, eyes and ears from the vertex joints and the limbs from the SMPL-X joints.
"""
from __future__ import annotations

import numpy as np

from ..errors import MayhemInputError
from ..geometry.rotations import axis_angle_to_matrix
from .skeleton import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PART_INDEX

SMPLX_NUM_VERTICES = 10475
VERTEX_JOINT_NAMES: tuple[str, ...] = (
    "nose", "reye", "leye", "rear", "lear", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
    "lthumb", "lindex", "lmiddle", "lring", "lpinky", "rthumb", "rindex", "rmiddle", "rring", "rpinky",
)
# smplx/vertex_ids.py, 'smplx' (SMPL-X topology, 10475 vertices)
SMPLX_VERTEX_IDS = np.array([9120, 9929, 9448, 616, 6, 5770, 5780, 8846, 8463, 8474, 8635,
                             5361, 4933, 5058, 5169, 5286, 8079, 7669, 7794, 7905, 8022], dtype=np.int64)
# The free body (assets/bodies/free_body.npz, 13524 vertices), from free_body_vertex_ids(); a test
# recomputes them from the file.
FREE_BODY_VERTEX_IDS = np.array([5054, 13461, 13389, 5439, 12038, 11551, 13107, 12442, 4933, 6511, 5845,
                                 9348, 8595, 8787, 8979, 9171, 2680, 1927, 2119, 2311, 2503], dtype=np.int64)
NUM_VERTEX_JOINTS = len(VERTEX_JOINT_NAMES)  # 21
NUM_FACE = 68
NUM_STATIC_LANDMARKS = 51
VERTEX_ROW = {name: NUM_JOINTS + i for i, name in enumerate(VERTEX_JOINT_NAMES)}
FACE_ROW0 = NUM_JOINTS + NUM_VERTEX_JOINTS  # 76: iBUG landmark 0
NUM_SOURCE_ROWS = FACE_ROW0 + NUM_FACE      # 144
SOURCE_NAMES: tuple[str, ...] = JOINT_NAMES + VERTEX_JOINT_NAMES + tuple(f"face_{i:02d}" for i in range(NUM_FACE))
# smplx's SMPLX.NECK_IDX and find_joint_kin_chain: the head's yaw is that of the neck's global rotation
NECK_CHAIN = (12, 9, 6, 3, 0)
CONTOUR_MAX_YAW_DEG = 39


def _j(name: str) -> int:
    return JOINT_INDEX[name]


def _hand(side: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    s = side[0]
    names, rows = [f"{side}_wrist"], [_j(f"{side}_wrist")]
    for finger in ("thumb", "index", "middle", "ring", "pinky"):
        for k in (1, 2, 3):
            names.append(f"{side}_{finger}{k}")
            rows.append(_j(f"{side}_{finger}{k}"))
        names.append(f"{side}_{finger}4")  # OpenPose's tip
        rows.append(VERTEX_ROW[f"{s}{finger}"])
    return tuple(names), tuple(rows)


_COCO = (("nose", VERTEX_ROW["nose"]), ("left_eye", VERTEX_ROW["leye"]), ("right_eye", VERTEX_ROW["reye"]),
         ("left_ear", VERTEX_ROW["lear"]), ("right_ear", VERTEX_ROW["rear"]),
         ("left_shoulder", _j("left_shoulder")), ("right_shoulder", _j("right_shoulder")),
         ("left_elbow", _j("left_elbow")), ("right_elbow", _j("right_elbow")),
         ("left_wrist", _j("left_wrist")), ("right_wrist", _j("right_wrist")),
         ("left_hip", _j("left_hip")), ("right_hip", _j("right_hip")),
         ("left_knee", _j("left_knee")), ("right_knee", _j("right_knee")),
         ("left_ankle", _j("left_ankle")), ("right_ankle", _j("right_ankle")))
_BODY25 = (("Nose", VERTEX_ROW["nose"]), ("Neck", _j("neck")),
           ("RShoulder", _j("right_shoulder")), ("RElbow", _j("right_elbow")), ("RWrist", _j("right_wrist")),
           ("LShoulder", _j("left_shoulder")), ("LElbow", _j("left_elbow")), ("LWrist", _j("left_wrist")),
           ("MidHip", _j("pelvis")), ("RHip", _j("right_hip")), ("RKnee", _j("right_knee")),
           ("RAnkle", _j("right_ankle")), ("LHip", _j("left_hip")), ("LKnee", _j("left_knee")),
           ("LAnkle", _j("left_ankle")), ("REye", VERTEX_ROW["reye"]), ("LEye", VERTEX_ROW["leye"]),
           ("REar", VERTEX_ROW["rear"]), ("LEar", VERTEX_ROW["lear"]),
           ("LBigToe", VERTEX_ROW["LBigToe"]), ("LSmallToe", VERTEX_ROW["LSmallToe"]), ("LHeel", VERTEX_ROW["LHeel"]),
           ("RBigToe", VERTEX_ROW["RBigToe"]), ("RSmallToe", VERTEX_ROW["RSmallToe"]), ("RHeel", VERTEX_ROW["RHeel"]))
_FACE70 = tuple((f"face_{i:02d}", FACE_ROW0 + i) for i in range(NUM_FACE)) + (
    ("right_pupil", VERTEX_ROW["reye"]), ("left_pupil", VERTEX_ROW["leye"]))

# set name -> (keypoint names, source rows)
KEYPOINT_SETS: dict[str, tuple[tuple[str, ...], np.ndarray]] = {
    "coco_17": (tuple(n for n, _ in _COCO), np.array([r for _, r in _COCO])),
    "body_25": (tuple(n for n, _ in _BODY25), np.array([r for _, r in _BODY25])),
    "hand_left_21": (_hand("left")[0], np.array(_hand("left")[1])),
    "hand_right_21": (_hand("right")[0], np.array(_hand("right")[1])),
    "face_70": (tuple(n for n, _ in _FACE70), np.array([r for _, r in _FACE70])),
}
# COCO's person skeleton (1-based keypoint indices, as in person_keypoints_*.json)
COCO_SKELETON = ((16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9),
                 (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7))


def is_surface_row(rows) -> np.ndarray:
    """True for source rows on the body surface (vertex joints, landmarks), False for joints."""
    return np.asarray(rows) >= NUM_JOINTS


def free_body_vertex_ids(model) -> np.ndarray:
    """The 21 vertex joints of the free body, from its rest mesh (SMPL-X rest frame: Y up, facing
    +Z, left = +X), eyeballs excluded except for the eyes, 'dominant' = largest skin weight:
    nose = most forward vertex dominated by head/jaw; eyes = most forward vertex of each eyeball;
    ears = most lateral head/jaw vertex between the eye joints' height and 4 cm below; big toe =
    most forward vertex dominated by the foot (toe) joint on the medial half of the toes, small
    toe = on their lateral third; heel = most backward ankle/foot vertex within 3 cm of the sole;
    finger tip = the vertex dominated by the third finger joint farthest along joint 2 -> 3."""
    v = model.v_template
    J = model.J_regressor @ v
    dom = np.argmax(model.weights, axis=1)
    parts = np.asarray(model.extras["part_labels"])
    skin = ~np.isin(parts, [PART_INDEX["leftEye"], PART_INDEX["rightEye"]])

    def best(sel, score):
        idx = np.flatnonzero(sel)
        return int(idx[np.argmax(score[idx])])

    ids = {}
    head = skin & np.isin(dom, [_j("head"), _j("jaw")])
    ids["nose"] = best(head, v[:, 2])
    ids["reye"] = best(parts == PART_INDEX["rightEye"], v[:, 2])
    ids["leye"] = best(parts == PART_INDEX["leftEye"], v[:, 2])
    ey = J[_j("left_eye_smplhf"), 1]
    band = head & (v[:, 1] < ey) & (v[:, 1] > ey - 0.04)
    ids["rear"], ids["lear"] = best(band, -v[:, 0]), best(band, v[:, 0])
    for side, S, sign in (("left", "L", 1.0), ("right", "R", -1.0)):
        toe = skin & (dom == _j(f"{side}_foot"))
        ids[f"{S}BigToe"] = best(toe & (sign * v[:, 0] <= np.median(sign * v[toe, 0])), v[:, 2])
        ids[f"{S}SmallToe"] = best(toe & (sign * v[:, 0] >= np.quantile(sign * v[toe, 0], 2 / 3)), v[:, 2])
        foot = skin & np.isin(dom, [_j(f"{side}_ankle"), _j(f"{side}_foot")])
        ids[f"{S}Heel"] = best(foot & (v[:, 1] < v[foot, 1].min() + 0.03), -v[:, 2])
    for s, side in (("l", "left"), ("r", "right")):
        for finger in ("thumb", "index", "middle", "ring", "pinky"):
            j3, j2 = _j(f"{side}_{finger}3"), _j(f"{side}_{finger}2")
            ids[f"{s}{finger}"] = best(skin & (dom == j3), v @ (J[j3] - J[j2]))
    return np.array([ids[n] for n in VERTEX_JOINT_NAMES], dtype=np.int64)


def vertex_joint_ids(model) -> np.ndarray:
    """(21,) vertex ids of the vertex joints for a model of SMPL-X's topology or the free body."""
    if model.num_vertices == SMPLX_NUM_VERTICES:
        return SMPLX_VERTEX_IDS
    if model.model_id == "free":
        return FREE_BODY_VERTEX_IDS
    raise MayhemInputError(model.path, "v_template", f"{model.num_vertices} vertices: keypoint sets need "
                           f"SMPL-X's topology ({SMPLX_NUM_VERTICES}) or the free body")


def _contour_layout(model) -> str:
    """Row order of the model's dynamic landmark table: smplx's (rows 0..39 = yaw 0..39 degrees,
    40..78 = -1..-39), or 'ascending' (row = yaw + 39), which is how the free body's table is
    built (assets/bodies/build_free_body.py: its row 39 is the frontal, symmetric contour)."""
    return "ascending" if model.model_id == "free" else "smplx"


def head_yaw_deg(orient_cam: np.ndarray, body_pose: np.ndarray) -> np.ndarray:
    """(F,) smplx's head yaw (integer degrees, before clamping): from the neck's global rotation
    R = R_root R_spine1 R_spine2 R_spine3 R_neck, -atan2(-R[2,0], hypot(R[0,0], R[1,0])) rounded."""
    F = orient_cam.shape[0]
    full = np.concatenate([np.asarray(orient_cam, np.float64).reshape(F, 1, 3),
                           np.asarray(body_pose, np.float64).reshape(F, 21, 3)], axis=1)
    rot = axis_angle_to_matrix(full[:, list(NECK_CHAIN)])  # (F,5,3,3)
    rel = np.broadcast_to(np.eye(3), (F, 3, 3))
    for k in range(len(NECK_CHAIN)):
        rel = rot[:, k] @ rel
    sy = np.sqrt(rel[:, 0, 0] ** 2 + rel[:, 1, 0] ** 2)
    return np.round(-np.degrees(np.arctan2(-rel[:, 2, 0], sy)))


def contour_rows(yaw_deg: np.ndarray, layout: str = "smplx") -> np.ndarray:
    """(F,) rows of the dynamic landmark table for integer head yaws (smplx's lookup)."""
    y = np.minimum(np.asarray(yaw_deg, np.float64), CONTOUR_MAX_YAW_DEG).astype(np.int64)
    if layout == "ascending":
        return np.clip(y, -CONTOUR_MAX_YAW_DEG, CONTOUR_MAX_YAW_DEG) + CONTOUR_MAX_YAW_DEG
    return np.where(y >= 0, y, np.where(y < -CONTOUR_MAX_YAW_DEG, 2 * CONTOUR_MAX_YAW_DEG, CONTOUR_MAX_YAW_DEG - y))


def source_points(model, vertices: np.ndarray, joints: np.ndarray, orient_cam: np.ndarray,
                  body_pose: np.ndarray) -> np.ndarray:
    """(F, 144, 3) source rows (module doc) of posed vertices (F,V,3) and joints (F,55,3), in
    the frame of the vertices. ``orient_cam`` (F,3) is the camera-frame global orientation (the
    contour is the silhouette seen from the camera) and ``body_pose`` (F,63) the body pose."""
    vertices = np.asarray(vertices, np.float64)
    F = vertices.shape[0]
    faces = np.asarray(model.faces, np.int64)
    ex = model.extras
    for key in ("lmk_faces_idx", "lmk_bary_coords", "dynamic_lmk_faces_idx", "dynamic_lmk_bary_coords"):
        if key not in ex:
            raise MayhemInputError(model.path, key, "missing key (needed for the face keypoints)")
    static = np.einsum("flkc,lk->flc", vertices[:, faces[np.asarray(ex["lmk_faces_idx"], np.int64)]],
                       np.asarray(ex["lmk_bary_coords"], np.float64))
    rows = contour_rows(head_yaw_deg(orient_cam, body_pose), _contour_layout(model))
    dyn_f = np.asarray(ex["dynamic_lmk_faces_idx"], np.int64)[rows]            # (F,17)
    dyn_b = np.asarray(ex["dynamic_lmk_bary_coords"], np.float64)[rows]        # (F,17,3)
    tri = vertices[np.arange(F)[:, None, None], faces[dyn_f]]                  # (F,17,3,3)
    contour = np.einsum("flkc,flk->flc", tri, dyn_b)
    return np.concatenate([np.asarray(joints, np.float64), vertices[:, vertex_joint_ids(model)], contour, static], axis=1)
