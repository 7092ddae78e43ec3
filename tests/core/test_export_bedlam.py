"""BEDLAM training-label export against BEDLAM's own conventions.

The fake dataset is made the way Mayhem makes labels (numpy SMPL-X forward pass of a random
model in the SMPL-X file layout, camera-frame parameters from mayhem.core.body.posing.to_camera),
and the export is checked with the `smplx` package used the way BEDLAM's
data_processing/df_full_body.py uses it (flat hand mean, no PCA, num_betas=11, 127 joints).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from mayhem.core.body.model import load_body_model
from mayhem.core.body.posing import to_camera
from mayhem.core.body.skeleton import JOINT_NAMES
from mayhem.core.camera.pinhole import cam_points, intrinsics, look_at, project
from mayhem.core.errors import MayhemInputError
from mayhem.core.export import bedlam as eb
from mayhem.core.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mayhem.core.io.npz import save_npz
from mayhem.core.io.png import write_png

W, H = 320, 240
FRAMES = 3
POSE_KEYS = ("global_orient", "body_pose", "jaw_pose", "leye_pose", "reye_pose", "left_hand_pose", "right_hand_pose")


# ----------------------------------------------------------------------------- fixtures
def _person(rng, transl: np.ndarray, n_betas: int = 10) -> dict:
    """Random world-frame SMPL-X parameters; global_orient includes AMASS's Y-up -> Z-up turn."""
    F = transl.shape[0]
    y_to_z = axis_angle_to_matrix(np.array([np.pi / 2, 0.0, 0.0]))
    wiggle = axis_angle_to_matrix(rng.normal(scale=0.3, size=(F, 3)))
    return {
        "betas": rng.normal(size=n_betas),
        "expression": np.zeros((F, 10)),
        "global_orient": matrix_to_axis_angle(y_to_z @ wiggle),
        "body_pose": rng.normal(scale=0.3, size=(F, 63)),
        "jaw_pose": rng.normal(scale=0.1, size=(F, 3)),
        "leye_pose": rng.normal(scale=0.1, size=(F, 3)),
        "reye_pose": rng.normal(scale=0.1, size=(F, 3)),
        "left_hand_pose": rng.normal(scale=0.3, size=(F, 45)),
        "right_hand_pose": rng.normal(scale=0.3, size=(F, 45)),
        "transl": transl,
    }


def _cameras(F: int):
    """A camera that moves and turns a little every frame (per-frame K and world_to_cam)."""
    eye = np.stack([np.array([0.4 * f, -5.0, 1.4 + 0.1 * f]) for f in range(F)])
    target = np.stack([np.array([0.1 * f, 0.0, 0.7]) for f in range(F)])
    return np.repeat(intrinsics(35.0, 36.0, W, H)[None], F, 0), look_at(eye, target)


def write_dataset(root, model, people: list[dict], K, w2c, *, model_id="SMPLX_NEUTRAL", seq="seq_000000"):
    """A one-sequence Mayhem dataset folder whose labels follow the DESIGN.md contract."""
    F, P = w2c.shape[0], len(people)
    B = max(len(p["betas"]) for p in people)
    labels = {
        "frame": np.arange(F, dtype=np.int64), "image_size": np.array([W, H], dtype=np.int64),
        "K": K, "world_to_cam": w2c,
        "model": np.array([model_id] * P), "gender": np.array(["neutral"] * P),
        "betas": np.zeros((P, B), np.float32), "expression": np.zeros((F, P, 10), np.float32),
        "instance_id": np.arange(1, P + 1, dtype=np.int64), "joint_names": np.array(JOINT_NAMES),
    }
    for key, width in (("global_orient", 3), ("transl", 3), ("body_pose", 63), ("jaw_pose", 3), ("leye_pose", 3),
                       ("reye_pose", 3), ("left_hand_pose", 45), ("right_hand_pose", 45),
                       ("global_orient_cam", 3), ("transl_cam", 3)):
        labels[key] = np.zeros((F, P, width), np.float32)
    labels["joints3d_cam"] = np.zeros((F, P, 55, 3), np.float32)
    labels["joints2d"] = np.zeros((F, P, 55, 2), np.float32)
    labels["joints_visible"] = np.zeros((F, P, 55), bool)
    labels["bbox"] = np.zeros((F, P, 4), np.float32)
    for p, prm in enumerate(people):
        labels["betas"][p, :len(prm["betas"])] = prm["betas"]
        labels["expression"][:, p] = prm["expression"]
        for k in POSE_KEYS + ("transl",):
            labels[k][:, p] = prm[k]
        fwd = model.forward(**prm)
        rest = model.forward(betas=prm["betas"], expression=prm["expression"], return_vertices=False).rest_joints[:, 0]
        labels["global_orient_cam"][:, p], labels["transl_cam"][:, p] = to_camera(prm, rest, w2c)
        labels["joints3d_cam"][:, p] = cam_points(fwd.joints, w2c)
        uv, z = project(fwd.joints, K, w2c)
        labels["joints2d"][:, p] = uv
        labels["joints_visible"][:, p] = (z > 0) & (uv[..., 0] >= 0) & (uv[..., 0] <= W - 1) & (uv[..., 1] >= 0) & (uv[..., 1] <= H - 1)
        vuv, _ = project(fwd.vertices, K, w2c)
        labels["bbox"][:, p] = np.concatenate([vuv.min(1), vuv.max(1)], axis=1)
    seq_dir = root / seq
    (seq_dir / "rgb").mkdir(parents=True)
    save_npz(seq_dir / "labels.npz", labels)
    for f in range(F):
        write_png(seq_dir / "rgb" / f"{f:06d}.png", np.zeros((H, W, 3), np.uint8))
    scene = {"name": seq, "people": [{"instance_id": p + 1, "motion": {"ref": f"builtin:clip{p}", "start_frame": 4}}
                                     for p in range(P)]}
    (seq_dir / "scene.json").write_text(json.dumps(scene))
    (root / "dataset.json").write_text(json.dumps({"format_version": 1, "sequences": [
        {"name": seq, "status": "done", "frames": F, "people": P}]}))
    return labels


@pytest.fixture(scope="module")
def model(smplx_npz):
    return load_body_model(smplx_npz)


@pytest.fixture(scope="module")
def two_people(tmp_path_factory, model):
    """2 people x 3 frames; person 1 walks far out of the picture on the last frame."""
    rng = np.random.default_rng(7)
    t0 = np.array([[-0.7, 0.0, 0.9], [-0.6, 0.1, 0.9], [-0.5, 0.2, 0.9]])
    t1 = np.array([[0.7, 0.3, 0.9], [0.8, 0.3, 0.9], [40.0, 0.3, 0.9]])
    people = [_person(rng, t0), _person(rng, t1)]
    K, w2c = _cameras(FRAMES)
    root = tmp_path_factory.mktemp("ds")
    labels = write_dataset(root, model, people, K, w2c)
    return root, labels, people


def _export(root, tmp_path, **kw):
    out = tmp_path / "bedlam.npz"
    n = eb.export_bedlam(root, out, **kw)
    with np.load(out, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    assert len(data["imgname"]) == n
    return data


def _bedlam_keep(kp2d_b: np.ndarray, verts_cam: np.ndarray, min_joints: int = 8) -> bool:
    """BEDLAM's row rule written out joint by joint (df_full_body_bedlam1_compatible.py)."""
    valid = [j for j in kp2d_b[:22] if not (j[0] > W or j[1] > H or j[0] < 0 or j[1] < 0)]
    if len(valid) < 1:
        return False
    v = np.array(valid)
    scale = max(v[:, 0].max() - v[:, 0].min(), v[:, 1].max() - v[:, 1].min()) / 200 * 1.2
    return scale > 0 and len(valid) >= min_joints and not (verts_cam[:, 2] < 0).any()


# -------------------------------------------------------------------------------- tests
def test_rows_names_and_filter(two_people, model, tmp_path):
    root, labels, people = two_people
    data = _export(root, tmp_path, body_model=model)
    w2c = labels["world_to_cam"]
    expected = []
    for p, prm in enumerate(people):
        verts = cam_points(model.forward(**prm).vertices, w2c)
        for f in range(FRAMES):
            if _bedlam_keep(labels["joints2d"][f, p] + 0.5, verts[f]):
                expected.append(f"seq_000000/rgb/{f:06d}.png")
    assert expected[-1] == "seq_000000/rgb/000001.png" and len(expected) == 5  # person 1, frame 2 dropped
    assert list(data["imgname"]) == expected
    assert list(data["sub"]) == ["seq_000000/person_1"] * 3 + ["seq_000000/person_2"] * 2
    assert list(data["motion_info"]) == ["builtin:clip0;start_frame=4"] * 3 + ["builtin:clip1;start_frame=4"] * 2
    assert list(data["gender"]) == ["n"] * 5


def test_center_scale_and_gtkps(two_people, model, tmp_path):
    root, labels, _ = two_people
    data = _export(root, tmp_path, body_model=model)
    rows = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]  # (person, frame), body-major as BEDLAM writes
    for i, (p, f) in enumerate(rows):
        kp = labels["joints2d"][f, p].astype(np.float64) + 0.5
        assert np.abs(data["gtkps"][i, :55, :2] - kp).max() < 1e-4
        inside = kp[:22][(kp[:22, 0] >= 0) & (kp[:22, 0] <= W) & (kp[:22, 1] >= 0) & (kp[:22, 1] <= H)]
        x0, y0 = inside.min(0)
        x1, y1 = inside.max(0)
        np.testing.assert_allclose(data["center"][i], [(x0 + x1) / 2, (y0 + y1) / 2], atol=1e-4)
        assert data["scale"][i] == pytest.approx(max(x1 - x0, y1 - y0) / 200 * 1.2, abs=1e-6)
    assert data["gtkps"].shape == (5, 127, 3) and data["gtkps"].dtype == np.float32
    assert np.all(data["gtkps"][..., 2] == 1.0)
    K = labels["K"][[0, 1, 2, 0, 1]]
    np.testing.assert_allclose(data["cam_int"][:, :2, 2], K[:, :2, 2] + 0.5)
    np.testing.assert_allclose(data["cam_int"][:, 0, 2], W / 2)  # BEDLAM: principal point (W/2, H/2)
    np.testing.assert_allclose(data["cam_int"][:, 1, 2], H / 2)
    np.testing.assert_allclose(data["cam_int"][:, [0, 1], [0, 1]], K[:, [0, 1], [0, 1]])


def test_smplx_package_reproduces_camera_frame_and_keypoints(two_people, model, smplx_npz, tmp_path):
    """SMPLX(pose_cam, shape, trans_cam) + cam_ext[:3,3] is our camera-frame body; its 127 smplx
    joints projected through cam_int are gtkps; SMPLX(pose_world, shape, trans_world) moved by
    cam_ext is the same body."""
    torch = pytest.importorskip("torch")
    smplx = pytest.importorskip("smplx")
    root, labels, _ = two_people
    data = _export(root, tmp_path, body_model=model)
    n = len(data["imgname"])
    ref = smplx.create(str(smplx_npz), model_type="smplx", ext="npz", num_betas=11, num_expression_coeffs=10,
                       use_pca=False, flat_hand_mean=True, batch_size=n, dtype=torch.float64)

    def run(pose, trans):
        t = lambda a: torch.tensor(np.ascontiguousarray(a), dtype=torch.float64)
        out = ref(betas=t(data["shape"]), global_orient=t(pose[:, :3]), body_pose=t(pose[:, 3:66]),
                  jaw_pose=t(pose[:, 66:69]), leye_pose=t(pose[:, 69:72]), reye_pose=t(pose[:, 72:75]),
                  left_hand_pose=t(pose[:, 75:120]), right_hand_pose=t(pose[:, 120:165]), transl=t(trans))
        return out.joints.detach().numpy()

    rows = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    ours = np.stack([labels["joints3d_cam"][f, p] for p, f in rows]).astype(np.float64)
    ext_t = data["cam_ext"][:, :3, 3]
    cam = run(data["pose_cam"], data["trans_cam"]) + ext_t[:, None]
    err_cam = np.abs(cam[:, :55] - ours).max()
    assert err_cam <= 1e-5, err_cam
    # The reader's form: SMPLX without transl, plus translation = cam_ext[:3,3] + trans_cam.
    cam_reader = run(data["pose_cam"], np.zeros((n, 3))) + (ext_t + data["trans_cam"])[:, None]
    assert np.abs(cam_reader[:, :55] - ours).max() <= 1e-5
    world = run(data["pose_world"], data["trans_world"])
    moved = np.einsum("nij,nkj->nki", data["cam_ext"][:, :3, :3], world) + ext_t[:, None]
    err_world = np.abs(moved[:, :55] - ours).max()
    assert err_world <= 1e-5, err_world
    # gtkps: BEDLAM's projection (points / z, then cam_int) of all 127 smplx joints.
    proj = np.einsum("nij,nkj->nki", data["cam_int"], cam / cam[..., 2:])
    err_px = np.abs(proj[..., :2] - data["gtkps"][..., :2]).max()
    assert err_px < 2e-3, err_px


def test_bedlam_world_frame_is_gravity_aligned_and_yaw_free(two_people, tmp_path):
    root, labels, _ = two_people
    data = _export(root, tmp_path)
    R_ext = data["cam_ext"][:, :3, :3]
    R = labels["world_to_cam"][[0, 1, 2, 0, 1], :3, :3]
    # Mayhem's up (+Z) is BEDLAM's -y: R @ z_up == R_ext @ (0, -1, 0).
    np.testing.assert_allclose(-R_ext[:, :, 1], R[:, :, 2], atol=1e-12)
    # No yaw left in the camera rotation (roll @ pitch): the optical axis has no world-x part.
    np.testing.assert_allclose(R_ext[:, 2, 0], 0.0, atol=1e-12)
    assert np.all(R_ext[:, 2, 2] > 0)  # and it points forward along the world z heading
    np.testing.assert_allclose(data["cam_ext"][:, 3], np.tile([0, 0, 0, 1.0], (5, 1)))
    for A in eb.bedlam_world_rotation(labels["world_to_cam"]):
        np.testing.assert_allclose(A @ A.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(A) == pytest.approx(1.0)


def test_without_body_model_same_parameters(two_people, model, tmp_path):
    """No model: J0 recovered from the labels; parameters agree with the model-based export."""
    root, _, _ = two_people
    with_model = _export(root, tmp_path / "a", body_model=model)
    without = _export(root, tmp_path / "b")
    assert list(without["imgname"]) == list(with_model["imgname"])
    assert without["gtkps"].shape == (5, 55, 3)
    np.testing.assert_array_equal(without["gtkps"], with_model["gtkps"][:, :55])
    for key in ("pose_cam", "pose_world", "shape", "cam_int", "cam_ext", "center", "scale"):
        np.testing.assert_allclose(without[key], with_model[key], atol=1e-9, err_msg=key)
    for key in ("trans_cam", "trans_world"):
        np.testing.assert_allclose(without[key], with_model[key], atol=2e-6, err_msg=key)


def test_body_behind_camera_dropped(tmp_path, model):
    """Mirrored through the centre, a body right behind the camera projects inside the image;
    only the behind-the-camera rule drops it (with and without a body model)."""
    rng = np.random.default_rng(3)
    K, w2c = _cameras(FRAMES)
    cam_pos = -np.einsum("fji,fj->fi", w2c[:, :3, :3], w2c[:, :3, 3])
    back = cam_pos - 4.0 * w2c[:, 2, :3]  # 4 m behind each camera
    people = [_person(rng, np.array([[0.0, 0.0, 0.9]] * FRAMES)), _person(rng, back - np.array([0, 0, 0.2]))]
    labels = write_dataset(tmp_path / "ds", model, people, K, w2c)
    kp = labels["joints2d"][:, 1, :22] + 0.5
    inside = ((kp[..., 0] >= 0) & (kp[..., 0] <= W) & (kp[..., 1] >= 0) & (kp[..., 1] <= H)).sum(-1)
    assert np.all(inside >= 8)  # the keypoint rule alone would keep it
    for kw in ({"body_model": model}, {}):
        data = _export(tmp_path / "ds", tmp_path / "out", **kw)
        assert list(data["sub"]) == ["seq_000000/person_1"] * FRAMES


def test_frame_step_and_min_visible(two_people, tmp_path):
    root, _, _ = two_people
    data = _export(root, tmp_path, frame_step=2)
    assert list(data["imgname"]) == ["seq_000000/rgb/000000.png", "seq_000000/rgb/000002.png",
                                     "seq_000000/rgb/000000.png"]
    assert len(_export(root, tmp_path / "x", min_visible_joints=23)["imgname"]) == 0


def test_image_root(two_people, tmp_path):
    root, _, _ = two_people
    data = _export(root, tmp_path, image_root=root / "seq_000000")
    assert data["imgname"][0] == "rgb/000000.png"
    with pytest.raises(MayhemInputError, match="image_root"):
        eb.export_bedlam(root, tmp_path / "y.npz", image_root=tmp_path)


def test_bedlam_reader_steps(two_people, tmp_path):
    """Only the reading steps of BEDLAM's train/dataset/dataset.py (training branch), on our file."""
    root, _, _ = two_people
    out = tmp_path / "bedlam.npz"
    eb.export_bedlam(root, out)
    data = np.load(out, allow_pickle=True)
    imgname = data["imgname"]
    scale, center = data["scale"], data["center"]
    pose_cam = data["pose_cam"][:, :22 * 3].astype(float)  # constants.NUM_JOINTS_SMPLX = 22
    betas = data["shape"].astype(float)
    if betas.shape[-1] == 10:
        betas = np.hstack((betas, np.zeros((betas.shape[0], 1))))
    cam_int = data["cam_int"] if "cam_int" in data else np.zeros((imgname.shape[0], 3, 3))
    cam_ext = data["cam_ext"] if "cam_ext" in data else np.zeros((imgname.shape[0], 4, 4))
    assert "trans_cam" in data
    trans_cam = data["trans_cam"]
    keypoints = data["gtkps"][:, :24]
    proj_verts = data["proj_verts"] if "proj_verts" in data else np.zeros((len(imgname), 437, 3))
    gender = np.array([0 if str(g) == "m" else 1 for g in data["gender"]]).astype(np.int32)
    assert betas.shape == (5, 11) and pose_cam.shape == (5, 66) and proj_verts.shape == (5, 437, 3)
    assert gender.shape == (5,)
    img_res = 224
    for index in range(len(imgname)):
        path = root / str(imgname[index])  # os.path.join(DATASET_FOLDERS[ds], imgname)
        assert path.is_file()
        sc, c = float(scale[index]), center[index].copy()
        kp = keypoints[index].copy()
        # j2d_processing: transform(kp[i, 0:2] + 1, center, scale, [res, res]); kp[:, :-1] normalised
        h = 200 * sc
        for i in range(kp.shape[0]):
            pt = kp[i, 0:2] + 1 - 1
            new = np.array([img_res / h * pt[0] + img_res * (-c[0] / h + 0.5),
                            img_res / h * pt[1] + img_res * (-c[1] / h + 0.5)])
            kp[i, 0:2] = new.astype(int) + 1
        kp[:, :-1] = 2.0 * kp[:, :-1] / img_res - 1.0
        assert kp.shape == (24, 3) and np.all(kp[:, 2] == 1.0)
        # the 22 body joints lie inside the 1.2x box -> inside the crop
        assert np.all(np.abs(kp[:22, :2]) <= 1.0 + 2.0 / img_res)
        focal = (cam_int[index][0, 0], cam_int[index][1, 1])
        assert focal[0] > 0 and focal[1] > 0
        translation = cam_ext[index][:, 3].copy()
        translation[:3] += trans_cam[index]
        assert translation.shape == (4,) and translation[3] == 1.0 and translation[2] > 0


def test_deterministic_bytes(two_people, tmp_path):
    root, _, _ = two_people
    eb.export_bedlam(root, tmp_path / "a.npz")
    eb.export_bedlam(root, tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_bad_inputs(two_people, model, tmp_path, smplx_npz):
    root, _, _ = two_people
    with pytest.raises(MayhemInputError, match="dataset.json"):
        eb.export_bedlam(tmp_path, tmp_path / "x.npz")
    other = load_body_model(smplx_npz)
    other.model_id = "SMPLX_MALE"
    with pytest.raises(MayhemInputError, match="model.*SMPLX_NEUTRAL"):
        eb.export_bedlam(root, tmp_path / "x.npz", body_model=other)


def test_too_many_betas_refused(tmp_path, model):
    rng = np.random.default_rng(5)
    K, w2c = _cameras(FRAMES)
    write_dataset(tmp_path / "ds", model, [_person(rng, np.array([[0.0, 0.0, 0.9]] * FRAMES), n_betas=16)], K, w2c)
    with pytest.raises(MayhemInputError, match="betas"):
        eb.export_bedlam(tmp_path / "ds", tmp_path / "x.npz")


def test_main_cli(two_people, tmp_path, capsys, smplx_npz):
    root, _, _ = two_people
    assert eb.main([str(tmp_path / "nope"), "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope" in err
    out = tmp_path / "ok.npz"
    assert eb.main([str(root), "--out", str(out), "--body-model", str(smplx_npz)]) == 0
    assert "5 rows" in capsys.readouterr().out
    with np.load(out) as z:
        assert z["gtkps"].shape == (5, 127, 3)
        assert list(z.files) == ["imgname", "center", "scale", "pose_cam", "pose_world", "shape", "trans_cam",
                                 "trans_world", "gtkps", "cam_int", "cam_ext", "gender", "motion_info", "sub"]


def test_bbox_rule_edges():
    """Inclusive [0, W] x [0, H] in BEDLAM's pixel convention; rows without inside points get -1."""
    kp = np.array([[[0.0, 0.0], [W, H], [W + 1e-6, 10.0], [-1e-6, 10.0], [np.nan, 5.0]],
                   [[-5.0, 1.0], [1.0, H + 1.0], [np.inf, 1.0], [1.0, -np.inf], [-1.0, -1.0]]])
    center, scale, count = eb.bbox_center_scale(kp, W, H)
    assert list(count) == [2, 0]
    np.testing.assert_allclose(center[0], [W / 2, H / 2])
    assert scale[0] == pytest.approx(W / 200 * 1.2)
    np.testing.assert_array_equal(center[1], [-1, -1])
    assert scale[1] == -1


def test_world_rotation_for_a_camera_looking_straight_down():
    """Heading undefined by the optical axis: BEDLAM's yaw is where image-up points (pure pitch)."""
    w2c = look_at(np.array([0.0, 0.0, 5.0]), np.zeros(3), up=(1.0, 0.0, 0.0))
    A = eb.bedlam_world_rotation(w2c)
    np.testing.assert_allclose(A[2], [1.0, 0.0, 0.0], atol=1e-12)  # image-up is world +X
    R_ext = w2c[:3, :3] @ A.T
    np.testing.assert_allclose(R_ext[0], [1.0, 0.0, 0.0], atol=1e-12)  # no roll, no yaw
    np.testing.assert_allclose(np.abs(R_ext[1:, 1:]), [[0.0, 1.0], [1.0, 0.0]], atol=1e-12)  # pitch 90 degrees
