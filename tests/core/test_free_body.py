"""The free body (assets/bodies/free_body.npz): SMPL-X layout, rest pose, shape, skinning.

These check that the committed file is a usable SMPL-X stand-in: it loads through Mayhem's
loader and the `smplx` package, stands in SMPL-X's canonical T-pose, its shape space and
joint regressor behave like SMPL-X's (beta 0 = size, joints follow shape), and ordinary
poses (AMASS-style arm rotations, squats, random poses) do not tear the mesh.
Rebuilding the file is too slow for CI; `build_free_body.py --check` covers reproducibility.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from mayhem.core.body.model import BodyModel
from mayhem.core.body.skeleton import JOINT_INDEX, PARENTS, PART_INDEX, PART_NAMES


@pytest.fixture(scope="module")
def data(free_body_path):
    with np.load(free_body_path, allow_pickle=False) as d:
        return {k: d[k] for k in d.files}


@pytest.fixture(scope="module")
def model(free_body_path):
    return BodyModel.load(free_body_path)


def body_pose(**joints) -> np.ndarray:
    """(63,) body pose from {joint name: axis-angle}."""
    pose = np.zeros((21, 3))
    for name, aa in joints.items():
        pose[JOINT_INDEX[name] - 1] = aa
    return pose.ravel()


def _edges(faces):
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return np.unique(np.sort(e, axis=1), axis=0)


def _height(v):
    return v[:, 1].max() - v[:, 1].min()


J = JOINT_INDEX


# ----------------------------------------------------------------------------- layout
def test_file_size_and_keys(free_body_path, data):
    assert free_body_path.stat().st_size < 25e6
    for key in ("v_template", "f", "vt", "ft", "kintree_table", "J_regressor", "weights",
                "shapedirs", "posedirs", "hands_componentsl", "hands_componentsr",
                "hands_meanl", "hands_meanr", "lmk_faces_idx", "lmk_bary_coords",
                "dynamic_lmk_faces_idx", "dynamic_lmk_bary_coords", "part_labels", "part_names"):
        assert key in data, key
    V = data["v_template"].shape[0]
    assert 10_000 <= V <= 20_000
    assert data["v_template"].dtype == np.float64
    assert data["f"].shape[1] == 3 and data["f"].max() < V and data["f"].min() >= 0
    assert data["ft"].shape == data["f"].shape and data["ft"].max() < len(data["vt"])
    assert data["J_regressor"].shape == (55, V)
    assert data["weights"].shape == (V, 55)
    assert data["shapedirs"].shape == (V, 3, 20)
    assert data["posedirs"].shape == (V, 3, 486)
    assert data["hands_componentsl"].shape == (45, 45) and data["hands_meanr"].shape == (45,)
    assert data["lmk_faces_idx"].shape == (51,) and data["lmk_bary_coords"].shape == (51, 3)
    assert data["dynamic_lmk_faces_idx"].shape == (79, 17)
    assert data["dynamic_lmk_bary_coords"].shape == (79, 17, 3)
    assert str(data["model_id"]) == "free" and str(data["gender"]) == "neutral"


def test_loads_with_mayhem(model):
    assert model.model_id == "free"
    assert model.num_betas == 10 and model.num_expression == 10
    assert model.posedirs is None or not np.any(model.posedirs)
    out = model.forward(betas=np.zeros(10))
    assert out.vertices.shape == (1, model.num_vertices, 3)
    assert out.joints.shape == (1, 55, 3)


def test_skeleton_is_smplx(data, model):
    kt = data["kintree_table"]
    assert kt.shape == (2, 55)
    parents = kt[0].astype(np.int64)
    parents[0] = -1
    np.testing.assert_array_equal(parents, PARENTS)
    np.testing.assert_array_equal(kt[1], np.arange(55))
    np.testing.assert_array_equal(model.parents, PARENTS)


def test_loads_with_smplx_package(free_body_path, model, tmp_path):
    """`smplx` reads it as an SMPLX_NEUTRAL.npz and computes the same vertices.

    smplx.create() picks the model type from the file name when given a file, so the file
    is offered under SMPL-X's own name in a model folder.
    """
    torch = pytest.importorskip("torch")
    smplx = pytest.importorskip("smplx")
    folder = tmp_path / "smplx"
    folder.mkdir()
    os.symlink(free_body_path, folder / "SMPLX_NEUTRAL.npz")
    sm = smplx.create(str(tmp_path), model_type="smplx", gender="neutral", ext="npz",
                      use_pca=False, flat_hand_mean=True, num_betas=10, num_expression_coeffs=10)
    rng = np.random.default_rng(0)
    betas = rng.standard_normal(10)
    expr = rng.standard_normal(10) * 0.5
    pose = rng.normal(0, 0.3, 63)
    hand = rng.normal(0, 0.2, 45)
    with torch.no_grad():
        out = sm(betas=torch.tensor(betas[None], dtype=torch.float32),
                 expression=torch.tensor(expr[None], dtype=torch.float32),
                 body_pose=torch.tensor(pose[None], dtype=torch.float32),
                 left_hand_pose=torch.tensor(hand[None], dtype=torch.float32),
                 right_hand_pose=torch.tensor(hand[None], dtype=torch.float32),
                 return_verts=True)
    ours = model.forward(betas=betas, expression=expr, body_pose=pose,
                         left_hand_pose=hand, right_hand_pose=hand)
    np.testing.assert_allclose(out.vertices[0].numpy(), ours.vertices[0], atol=2e-4)
    np.testing.assert_allclose(out.joints[0, :55].numpy(), ours.joints[0], atol=2e-4)


# ----------------------------------------------------------------------------- rest pose
def test_rest_pose_is_smplx_t_pose(data, model):
    v = data["v_template"]
    j = model.forward().joints[0]
    labels = data["part_labels"]
    # Y up, standing: head above the feet, pelvis at the origin
    assert j[J["head"], 1] > j[J["pelvis"], 1] > j[J["left_ankle"], 1]
    assert np.linalg.norm(j[J["pelvis"]]) < 0.01
    assert 1.55 <= _height(v) <= 1.90
    # facing +Z: the nose is the most forward point of the head, the toes point forward
    head = v[labels == PART_INDEX["head"]]
    assert head[:, 2].max() - j[J["head"], 2] > 0.07 > j[J["head"], 2] - head[:, 2].min() - 0.03
    assert j[J["left_foot"], 2] > j[J["left_ankle"], 2] + 0.05
    # arms horizontal along +-X, the body's left arm along +X
    for side, sx in (("left", 1), ("right", -1)):
        sh, wr = j[J[f"{side}_shoulder"]], j[J[f"{side}_wrist"]]
        assert abs(wr[1] - sh[1]) < 0.03
        assert sx * (wr[0] - sh[0]) > 0.4
        assert abs(wr[2] - sh[2]) < 0.05
        mid3 = j[J[f"{side}_middle3"]]
        assert sx * (mid3[0] - wr[0]) > 0.1 and abs(mid3[1] - wr[1]) < 0.03
    # legs straight down
    for side in ("left", "right"):
        hip, knee, ank = (j[J[f"{side}_{n}"]] for n in ("hip", "knee", "ankle"))
        assert abs(ank[0] - hip[0]) < 0.08 and hip[1] > knee[1] > ank[1]
    # palms face down: the hand's skin lies mostly below... the back of the hand is up:
    # the finger joints sit in a horizontal plane
    fingers = [J[f"left_{f}{k}"] for f in ("index", "middle", "ring", "pinky") for k in (1, 2, 3)]
    assert np.ptp(j[fingers, 1]) < 0.03


def test_special_joints_at_anatomical_places(data, model):
    j = model.forward().joints[0]
    v = data["v_template"]
    labels = data["part_labels"]
    for side, part in (("left", "leftEye"), ("right", "rightEye")):
        eye = v[labels == PART_INDEX[part]]
        np.testing.assert_allclose(j[J[f"{side}_eye_smplhf"]], eye.mean(0), atol=0.004)
    assert j[J["left_eye_smplhf"], 0] > 0 > j[J["right_eye_smplhf"], 0]
    # jaw hinge: in the head, below the eyes, behind the face, in front of the head joint
    jaw = j[J["jaw"]]
    assert j[J["neck"], 1] < jaw[1] < j[J["left_eye_smplhf"], 1]
    assert j[J["head"], 2] <= jaw[2] < j[J["left_eye_smplhf"], 2]
    # knuckles in a row across the hand, each finger chain running outwards
    for f in ("index", "middle", "ring", "pinky", "thumb"):
        x = j[[J[f"left_{f}{k}"] for k in (1, 2, 3)], 0]
        assert np.all(np.diff(x) > 0), f
    z = j[[J[f"left_{f}1"] for f in ("index", "middle", "ring", "pinky")], 2]
    assert np.all(np.diff(z) < 0)          # index in front ... pinky at the back


# ----------------------------------------------------------------------------- posing
def test_amass_style_arms_down(model):
    """Rotating the shoulders about Z brings the arms down along the body (SMPL-X convention)."""
    for angle in np.deg2rad([70.0, 90.0]):
        pose = body_pose(left_shoulder=[0, 0, -angle], right_shoulder=[0, 0, angle])
        out = model.forward(body_pose=pose)
        j, v = out.joints[0], out.vertices[0]
        for side, sx in (("left", 1), ("right", -1)):
            sh, wr = j[J[f"{side}_shoulder"]], j[J[f"{side}_wrist"]]
            assert wr[1] < sh[1] - 0.35
            assert 0.1 < sx * wr[0] < 0.40
        assert _height(v) > 1.5


def test_beta0_changes_height(model):
    lo = model.forward(betas=np.r_[-2.0, np.zeros(9)]).vertices[0]
    hi = model.forward(betas=np.r_[2.0, np.zeros(9)]).vertices[0]
    assert _height(hi) - _height(lo) >= 0.15


def test_joints_follow_shape(model, data):
    rng = np.random.default_rng(1)
    for betas in [np.r_[2.0, np.zeros(9)], np.r_[-2.0, np.zeros(9)], rng.standard_normal(10)]:
        out = model.forward(betas=betas)
        j, v = out.rest_joints[0], out.vertices[0]
        for side in ("left", "right"):
            hip, knee, ank = (j[J[f"{side}_{n}"]] for n in ("hip", "knee", "ankle"))
            assert hip[1] > knee[1] > ank[1]
            t = np.dot(knee - hip, ank - hip) / np.dot(ank - hip, ank - hip)
            assert 0.35 < t < 0.65
        lo, hi = v.min(0), v.max(0)
        assert np.all(j > lo) and np.all(j < hi)
    tall = model.forward(betas=np.r_[2.0, np.zeros(9)]).rest_joints[0]
    short = model.forward(betas=np.r_[-2.0, np.zeros(9)]).rest_joints[0]
    assert tall[J["head"], 1] - short[J["head"], 1] > 0.05
    assert short[J["left_ankle"], 1] - tall[J["left_ankle"], 1] > 0.05


def test_regressor_and_weights_are_convex(data):
    jr, w = data["J_regressor"], data["weights"]
    assert np.all(jr >= 0) and np.allclose(jr.sum(1), 1.0, atol=1e-9)
    assert np.all(w >= 0) and np.allclose(w.sum(1), 1.0, atol=1e-9)
    np.testing.assert_allclose(jr.sum(1), 1.0)


def test_shape_components_ordered_by_variance(data):
    norms = np.linalg.norm(data["shapedirs"][:, :, :10].reshape(-1, 10), axis=0)
    assert np.all(np.diff(norms) <= 1e-9)
    assert norms[-1] > 0


def test_expression_moves_the_face_only(data, model):
    labels = data["part_labels"]
    face = np.isin(labels, [PART_INDEX["head"], PART_INDEX["neck"], PART_INDEX["leftEye"],
                            PART_INDEX["rightEye"]])
    dirs = data["shapedirs"][:, :, 10:20]
    for k in range(10):
        mag = np.linalg.norm(dirs[:, :, k], axis=1)
        assert mag.max() > 0.002, k                    # moves something (> 2 mm)
        assert mag[face].sum() / mag.sum() > 0.99, k
        assert mag[~face].max() < 0.002, k
    jaw_open = model.forward(expression=np.r_[1.0, np.zeros(9)]).vertices[0]
    rest = data["v_template"]
    assert np.linalg.norm(jaw_open - rest, axis=1).max() > 0.005


def test_part_labels_cover_the_body(data):
    labels = data["part_labels"]
    assert labels.shape == (data["v_template"].shape[0],)
    assert list(data["part_names"]) == list(PART_NAMES)
    present = {PART_NAMES[i] for i in np.unique(labels)}
    assert present >= set(PART_NAMES) - {"eyeballs"}
    v = data["v_template"]
    assert v[labels == PART_INDEX["leftHand"], 0].mean() > 0.5
    assert v[labels == PART_INDEX["rightFoot"], 1].mean() < -0.7
    assert v[labels == PART_INDEX["head"], 1].mean() > 0.5


def test_landmarks_on_the_face(data):
    v, f = data["v_template"], data["f"]
    for faces, bary in ((data["lmk_faces_idx"], data["lmk_bary_coords"]),
                        (data["dynamic_lmk_faces_idx"].ravel(), data["dynamic_lmk_bary_coords"].reshape(-1, 3))):
        assert faces.min() >= 0 and faces.max() < len(f)
        assert np.all(bary >= -1e-6) and np.allclose(bary.sum(1), 1.0, atol=1e-6)
        pts = np.einsum("nk,nkc->nc", bary, v[f[faces]])
        assert np.all(pts[:, 1] > 0.5) and np.all(np.abs(pts[:, 0]) < 0.09)
    pts = np.einsum("nk,nkc->nc", data["lmk_bary_coords"], v[f[data["lmk_faces_idx"]]])
    # iBUG order (from index 17): brows above the eyes above the nose tip above the mouth
    brows, eyes, nose_tip, mouth = pts[0:10], pts[19:31], pts[13], pts[31:51]
    assert brows[:, 1].min() > eyes[:, 1].max() - 0.005
    assert eyes[:, 1].min() > nose_tip[1] > mouth[:, 1].max()
    assert nose_tip[2] > mouth[:, 2].max()
    assert pts[19, 0] < 0 < pts[28, 0]   # 36 (subject's right eye, outer) on -X, 45 on +X


def test_no_tears_under_test_poses(data, model):
    """Edge stretch stays within 3x (and compression within 1/3) for 99.9 % of edges."""
    rng = np.random.default_rng(2)
    poses = [
        rng.normal(0.0, 0.25, 63) for _ in range(4)
    ] + [
        body_pose(left_hip=[-1.8, 0, 0], right_hip=[-1.8, 0, 0], left_knee=[2.2, 0, 0],
                  right_knee=[2.2, 0, 0], left_ankle=[-0.3, 0, 0], right_ankle=[-0.3, 0, 0]),
        body_pose(left_shoulder=[0, 0, 1.4], right_shoulder=[0, 0, -1.4]),
        body_pose(left_shoulder=[0, 0, -1.4], right_shoulder=[0, 0, 1.4],
                  left_elbow=[0, -1.8, 0], right_elbow=[0, 1.8, 0]),
        body_pose(spine1=[0.4, 0, 0], spine2=[0.4, 0, 0], spine3=[0.3, 0, 0], neck=[0.5, 0, 0]),
    ]
    e = _edges(data["f"])
    rest = data["v_template"]
    l0 = np.linalg.norm(rest[e[:, 0]] - rest[e[:, 1]], axis=1)
    out = model.forward(body_pose=np.stack(poses), betas=np.zeros(10))
    for v in out.vertices:
        ratio = np.linalg.norm(v[e[:, 0]] - v[e[:, 1]], axis=1) / l0
        assert np.quantile(ratio, 0.999) <= 3.0
        assert np.quantile(ratio, 0.001) >= 1 / 3


def test_hand_pose_has_identity_basis(data, model):
    np.testing.assert_array_equal(data["hands_componentsl"], np.eye(45))
    np.testing.assert_array_equal(data["hands_meanl"], np.zeros(45))
    fist = np.tile([0.0, 0.0, 1.2], 15)
    out = model.forward(left_hand_pose=fist)
    tip = out.joints[0, J["left_middle3"]]
    wrist = out.joints[0, J["left_wrist"]]
    assert np.linalg.norm(tip - wrist) < model.forward().joints[0, J["left_middle3"], 0] - wrist[0]
