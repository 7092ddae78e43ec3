"""HumanData export read the way its clients read it.

The reader below follows, step by step and in its own words, what SMPLer-X's
``data/humandata.py`` (``HumanDataset.load_data`` and ``process_human_model_output``) and
MMHuman3D's ``HumanData.load`` do with a file: np.load with pickles, ``__keypoints_compressed__``
checked first, ``meta`` height/width per row, ``bbox_xywh[:, :4]``, hand/face boxes used when
their last column is > 0, the first keypoint key found in their priority lists, per-keypoint
masks, the ``smplx`` dict renamed (root_pose, shape, trans, lhand_pose, rhand_pose, expr) and
every pose reshaped to rows of 3. Datasets are made as in test_export_bedlam (no render).
"""
from __future__ import annotations

import numpy as np
import pytest
from test_export_bedlam import FRAMES, H, W, _cameras, _person, write_dataset

from mayhem.cli import main as cli_main
from mayhem.core.body.model import load_body_model
from mayhem.core.camera.pinhole import cam_points
from mayhem.core.errors import MayhemInputError
from mayhem.core.export import humandata as ehd

# Keypoint keys in the order SMPLer-X looks for them (first present wins).
KPS2D_ORDER = ("keypoints2d", "keypoints2d_smplx", "keypoints2d_smpl", "keypoints2d_original")
KPS3D_ORDER = ("keypoints3d_cam", "keypoints3d", "keypoints3d_smplx", "keypoints3d_smpl", "keypoints3d_original")
HIGHEST_ROW_READ = 143  # SMPLer-X's 144/190 -> 137 mapping reads rows up to this one
SMPLX_RENAMES = {"global_orient": "root_pose", "betas": "shape", "transl": "trans", "left_hand_pose": "lhand_pose",
                 "right_hand_pose": "rhand_pose", "expression": "expr"}


def read_like_clients(path, image_root):
    """The client's reading steps; returns per-row records and the raw arrays."""
    content = np.load(path, allow_pickle=True)
    n = len(content["image_path"])
    assert not content["__keypoints_compressed__"]          # read before anything else
    assert int(content["__data_len__"]) == n
    meta = content["meta"].item()
    image_shape = np.stack([np.array(meta["height"]), np.array(meta["width"])], axis=-1)
    bbox_xywh = content["bbox_xywh"]
    smplx = content["smplx"].item()
    hand_face = {k: content[k] for k in ("lhand_bbox_xywh", "rhand_bbox_xywh", "face_bbox_xywh")}
    key3d = next(k for k in KPS3D_ORDER if k in content.files)
    key2d = next(k for k in KPS2D_ORDER if k in content.files)
    assert (key2d, key3d) == ("keypoints2d_smplx", "keypoints3d_smplx")
    kp3d, kp2d = content[key3d][..., :3], content[key2d][..., :2]
    mask = content[f"{key3d}_mask"]
    assert kp3d.shape[1] > HIGHEST_ROW_READ and kp2d.shape[1] > HIGHEST_ROW_READ and mask.shape == (kp3d.shape[1],)
    records = []
    for i in range(n):
        img = image_root / str(content["image_path"][i])
        assert img.is_file(), img
        h, w = image_shape[i]
        x, y, bw, bh = bbox_xywh[i][:4]
        # process_bbox/sanitize_bbox: the box must survive clipping to the image
        x1, y1 = max(0.0, x), max(0.0, y)
        x2, y2 = min(w - 1.0, x1 + max(0.0, bw - 1)), min(h - 1.0, y1 + max(0.0, bh - 1))
        assert bw * bh > 0 and x2 >= x1 and y2 >= y1
        boxes = {}
        for key, b in hand_face.items():
            boxes[key] = None if b[i][-1] <= 0 else np.concatenate([b[i][:2], b[i][:2] + b[i][2:4]])  # xyxy
        param = {k: v[i] for k, v in smplx.items()}
        for old, new in SMPLX_RENAMES.items():
            param[new] = param.pop(old)
        param = {k: np.asarray(v, dtype=np.float32).reshape(-1, 3) if k not in ("shape", "expr")
                 else np.asarray(v, dtype=np.float32).reshape(1, -1) for k, v in param.items()}
        assert param["body_pose"].shape == (21, 3) and param["lhand_pose"].shape == (15, 3)
        assert param["shape"].shape == (1, 10) and param["expr"].shape == (1, 10)
        records.append({"bbox": (x, y, bw, bh), "boxes": boxes, "smplx": param, "joint_img": kp2d[i],
                        "joint_cam": kp3d[i], "joint_valid": mask.reshape(-1, 1), "img_shape": (h, w)})
    misc = content["misc"].item()
    return records, {"meta": meta, "misc": misc, "kp2d": content[key2d], "kp3d": content[key3d], "mask": mask,
                     "bbox": bbox_xywh, **hand_face, "smplx": smplx, "image_path": content["image_path"]}


@pytest.fixture(scope="module")
def smplx_model(smplx_npz):
    return load_body_model(smplx_npz)


@pytest.fixture(scope="module")
def smplx_dataset(tmp_path_factory, smplx_model):
    """2 people x 3 frames on the SMPL-X-layout model; person 1 leaves the picture on frame 2."""
    rng = np.random.default_rng(11)
    t0 = np.array([[-0.7, 0.0, 0.9], [-0.6, 0.1, 0.9], [-0.5, 0.2, 0.9]])
    t1 = np.array([[0.7, 0.3, 0.9], [0.8, 0.3, 0.9], [40.0, 0.3, 0.9]])
    people = [_person(rng, t0), _person(rng, t1)]
    K, w2c = _cameras(FRAMES)
    root = tmp_path_factory.mktemp("hd")
    labels = write_dataset(root, smplx_model, people, K, w2c)
    out = root / "humandata.npz"
    n = ehd.export_humandata(root, out, body_model=smplx_model)
    return root, labels, out, n


@pytest.fixture(scope="module")
def free_dataset(tmp_path_factory, free_body_model):
    rng = np.random.default_rng(12)
    people = [_person(rng, np.array([[0.0, 0.2, 0.9], [0.1, 0.2, 0.9], [0.2, 0.2, 0.9]]))]
    K, w2c = _cameras(FRAMES)
    root = tmp_path_factory.mktemp("hd_free")
    labels = write_dataset(root, free_body_model, people, K, w2c, model_id="free")
    out = root / "humandata.npz"
    n = ehd.export_humandata(root, out)  # the free body is found without --body-model
    return root, labels, out, n


def _rows(labels, model):
    """(frame, person) of the rows the export keeps, frame-major: every vertex in front of the
    camera and the full-body box overlapping the image (person 1 at x = 40 m is dropped)."""
    keys = ("global_orient", "transl", "body_pose", "jaw_pose", "leye_pose", "reye_pose", "left_hand_pose",
            "right_hand_pose")
    verts = [cam_points(model.forward(betas=labels["betas"][p], expression=labels["expression"][:, p],
                                      **{k: labels[k][:, p] for k in keys}).vertices, labels["world_to_cam"])
             for p in range(labels["model"].shape[0])]
    keep = []
    for f in range(FRAMES):
        for p in range(len(verts)):
            x0, y0, x1, y1 = labels["bbox"][f, p]
            if verts[p][f, :, 2].min() > 0 and x1 >= 0 and x0 <= W - 1 and y1 >= 0 and y0 <= H - 1:
                keep.append((f, p))
    return keep


def test_rows_and_reader(smplx_dataset, smplx_model):
    root, labels, out, n = smplx_dataset
    records, raw = read_like_clients(out, root)
    rows = _rows(labels, smplx_model)
    assert n == len(records) == len(rows) == 5
    assert list(raw["image_path"]) == [f"seq_000000/rgb/{f:06d}.png" for f, _ in rows]
    assert list(raw["meta"]["instance_id"]) == [p + 1 for _, p in rows]
    assert list(raw["meta"]["gender"]) == ["neutral"] * 5
    assert list(raw["meta"]["height"]) == [H] * 5 and list(raw["meta"]["width"]) == [W] * 5
    K = labels["K"]
    np.testing.assert_allclose(raw["meta"]["focal_length"], [K[f, [0, 1], [0, 1]] for f, _ in rows], rtol=1e-6)
    np.testing.assert_allclose(raw["meta"]["principal_point"], [K[f, [0, 1], [2, 2]] for f, _ in rows], rtol=1e-6)
    assert raw["misc"]["flat_hand_mean"] is False
    assert raw["mask"].sum() == 144  # SMPL-X topology with landmarks and contour table: every keypoint
    for rec in records:
        assert all(b is not None for b in rec["boxes"].values())
    assert raw["bbox"].dtype == np.float32 and raw["bbox"].shape == (5, 5) and np.all(raw["bbox"][:, 4] == 1)


def _reproject(raw):
    """keypoints3d through the meta camera: x/z * f + c, compared with keypoints2d (px)."""
    f, c = raw["meta"]["focal_length"][:, None], raw["meta"]["principal_point"][:, None]
    m = raw["mask"] > 0
    xyz = raw["kp3d"][:, m, :3].astype(np.float64)
    uv = xyz[..., :2] / xyz[..., 2:] * f + c
    return np.abs(uv - raw["kp2d"][:, m, :2]).max()


@pytest.mark.parametrize("which", ["smplx_dataset", "free_dataset"])
def test_reprojection_and_boxes(which, request):
    root, labels, out, n = request.getfixturevalue(which)
    _, raw = read_like_clients(out, root)
    err = _reproject(raw)
    print(f"{which}: keypoints2d vs keypoints3d through meta camera: {err:.2e} px")
    assert err < 1e-3
    kp = raw["kp2d"][..., :2].astype(np.float64)
    m = raw["mask"] > 0
    inside = (kp[..., 0] >= 0) & (kp[..., 0] <= W - 1) & (kp[..., 1] >= 0) & (kp[..., 1] <= H - 1)

    def contained(box, rows_):
        x, y, w, h = box[:, None, :4].T.astype(np.float64)
        sel = kp[:, rows_]
        ok = (sel[..., 0] >= x.T - 1e-3) & (sel[..., 0] <= (x + w).T + 1e-3) & \
             (sel[..., 1] >= y.T - 1e-3) & (sel[..., 1] <= (y + h).T + 1e-3)
        return np.all(ok | ~inside[:, rows_])

    body_rows = np.flatnonzero(m)
    assert contained(raw["bbox"], body_rows)
    for key, rows_ in (("lhand_bbox_xywh", ehd.LEFT_HAND_KEYPOINTS), ("rhand_bbox_xywh", ehd.RIGHT_HAND_KEYPOINTS),
                       ("face_bbox_xywh", range(76, 144))):
        rows_ = [r for r in rows_ if m[r]]
        assert np.all(raw[key][:, 4] == 1), key
        assert contained(raw[key], rows_), key
        # part boxes lie within the (1.2x, clipped) body box
        b, hb = raw["bbox"].astype(np.float64), raw[key].astype(np.float64)
        assert np.all(hb[:, 0] >= b[:, 0] - 1e-3) and np.all(hb[:, 0] + hb[:, 2] <= b[:, 0] + b[:, 2] + 1e-3)
    # the 1.2x body box is the labels' full-body box enlarged about its centre (unclipped rows)
    f0 = labels["bbox"][0, 0].astype(np.float64)
    c, half = (f0[:2] + f0[2:]) / 2, (f0[2:] - f0[:2]) / 2 * 1.2
    exp = np.clip(np.concatenate([c - half, c + half]), 0, [W - 1, H - 1, W - 1, H - 1])
    np.testing.assert_allclose(raw["bbox"][0, :4], [exp[0], exp[1], exp[2] - exp[0], exp[3] - exp[1]], atol=1e-3)


@pytest.mark.parametrize("which", ["smplx_dataset", "free_dataset"])
def test_numpy_body_from_smplx_dict_matches_labels(which, request, smplx_model, free_body_model):
    """SMPLX(the dict's camera-frame parameters), as the client builds it, gives the labels' joints."""
    root, labels, out, n = request.getfixturevalue(which)
    model = smplx_model if which == "smplx_dataset" else free_body_model
    records, raw = read_like_clients(out, root)
    flat = raw["misc"]["flat_hand_mean"]
    rows = _rows(labels, model)
    worst = 0.0
    for rec, (f, p) in zip(records, rows):
        s = rec["smplx"]
        res = model.forward(betas=s["shape"][0], expression=s["expr"][0], global_orient=s["root_pose"].reshape(3),
                            body_pose=s["body_pose"].reshape(63), jaw_pose=s["jaw_pose"].reshape(3),
                            leye_pose=s["leye_pose"].reshape(3), reye_pose=s["reye_pose"].reshape(3),
                            left_hand_pose=s["lhand_pose"].reshape(45), right_hand_pose=s["rhand_pose"].reshape(45),
                            transl=s["trans"].reshape(3), flat_hand_mean=flat)
        worst = max(worst, np.abs(res.joints[0] - labels["joints3d_cam"][f, p]).max(),
                    np.abs(res.joints[0] - rec["joint_cam"][:55]).max())
        lm = ehd.keypoint_availability(model)
        kp = ehd.smplx_keypoints(model, res.vertices, res.joints, np.concatenate(
            [s["root_pose"], s["body_pose"], s["jaw_pose"], s["leye_pose"], s["reye_pose"],
             s["lhand_pose"] + (0 if flat else model.hands_mean_l.reshape(15, 3)),
             s["rhand_pose"] + (0 if flat else model.hands_mean_r.reshape(15, 3))])[None])
        worst = max(worst, np.abs(kp[0, lm] - rec["joint_cam"][lm]).max())
    print(f"{which}: numpy SMPL-X from the smplx dict vs labels joints / keypoints3d: {worst * 1000:.4f} mm")
    assert worst < 1e-4  # float32 parameters


def test_smplx_package_rebuilds_every_keypoint(smplx_dataset, smplx_npz):
    """smplx.create as SMPLer-X does (use_pca=False, use_face_contour=True, default hand mean):
    its 144 joints from the dict are keypoints3d_smplx, and their projection keypoints2d."""
    torch = pytest.importorskip("torch")
    smplx = pytest.importorskip("smplx")
    root, labels, out, n = smplx_dataset
    records, raw = read_like_clients(out, root)
    layer = smplx.create(str(smplx_npz), model_type="smplx", ext="npz", use_pca=False, use_face_contour=True,
                         num_betas=10, num_expression_coeffs=10, batch_size=n, dtype=torch.float64)
    t = lambda key: torch.tensor(np.stack([r["smplx"][key].reshape(-1) for r in records]), dtype=torch.float64)  # noqa: E731
    res = layer(betas=t("shape"), expression=t("expr"), global_orient=t("root_pose"), body_pose=t("body_pose"),
                left_hand_pose=t("lhand_pose"), right_hand_pose=t("rhand_pose"), jaw_pose=t("jaw_pose"),
                leye_pose=t("leye_pose"), reye_pose=t("reye_pose"), transl=t("trans"))
    joints = res.joints.detach().numpy()
    assert joints.shape == (n, 144, 3)
    err3d = np.abs(joints - raw["kp3d"][..., :3]).max()
    f, c = raw["meta"]["focal_length"][:, None], raw["meta"]["principal_point"][:, None]
    err2d = np.abs(joints[..., :2] / joints[..., 2:] * f + c - raw["kp2d"][..., :2]).max()
    print(f"smplx package (use_face_contour) vs keypoints3d_smplx: {err3d * 1000:.4f} mm, vs keypoints2d: {err2d:.2e} px")
    assert err3d < 1e-4 and err2d < 2e-3


def test_flat_hand_mean_option(smplx_dataset, smplx_model, tmp_path):
    root, labels, out, n = smplx_dataset
    ehd.export_humandata(root, tmp_path / "flat.npz", body_model=smplx_model, flat_hand_mean=True)
    _, flat = read_like_clients(tmp_path / "flat.npz", root)
    _, rel = read_like_clients(out, root)
    assert flat["misc"]["flat_hand_mean"] is True
    d = flat["smplx"]["left_hand_pose"].reshape(n, 45) - rel["smplx"]["left_hand_pose"].reshape(n, 45)
    np.testing.assert_allclose(d, np.broadcast_to(smplx_model.hands_mean_l, (n, 45)), atol=1e-6)
    np.testing.assert_array_equal(flat["kp3d"], rel["kp3d"])


def test_contour_table_rows():
    """Head turns pick table rows as the smplx package does: 0..39 for angles >= 0, 40..78 below."""
    pose = np.zeros((5, 55, 3))
    # a turn about the camera/body y axis of the neck: -angle degrees is the picked angle
    for i, deg in enumerate([0.0, -10.4, 10.4, -80.0, 80.0]):
        pose[i, 12] = [0.0, np.radians(deg), 0.0]
    assert list(ehd.contour_table_rows(pose)) == [0, 10, 39 + 10, 39, 78]


def test_free_body_keypoints(free_dataset):
    root, labels, out, n = free_dataset
    _, raw = read_like_clients(out, root)
    m = raw["mask"] > 0
    assert n == FRAMES
    assert m[:55].all() and not m[55:76].any() and m[76:144].all()  # no SMPL-X vertex ids on the free body
    assert np.all(raw["kp2d"][:, ~m] == 0) and np.all(raw["kp2d"][:, m, 2] == 1)
    assert list(raw["meta"]["model"]) == ["free"] * FRAMES


def test_deterministic_bytes(smplx_dataset, smplx_model, tmp_path):
    root, _, out, _ = smplx_dataset
    ehd.export_humandata(root, tmp_path / "b.npz", body_model=smplx_model)
    assert (tmp_path / "b.npz").read_bytes() == out.read_bytes()


def test_bad_inputs_and_cli(smplx_dataset, smplx_npz, tmp_path, capsys):
    root, _, _, _ = smplx_dataset
    with pytest.raises(MayhemInputError, match="SMPLX_NEUTRAL.*--body-model"):
        ehd.export_humandata(root, tmp_path / "x.npz")  # a non-free model must be given
    assert not (tmp_path / "x.npz").exists()
    assert cli_main(["export-humandata", str(tmp_path / "nope"), "--out", str(tmp_path / "y.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope" in err
    out = tmp_path / "ok.npz"
    assert cli_main(["export-humandata", str(root), "--out", str(out), "--body-model", str(smplx_npz)]) == 0
    assert "5 rows" in capsys.readouterr().out
    assert out.read_bytes() == (root / "humandata.npz").read_bytes()


def test_too_many_betas_refused(tmp_path, smplx_model):
    rng = np.random.default_rng(5)
    K, w2c = _cameras(FRAMES)
    write_dataset(tmp_path / "ds", smplx_model, [_person(rng, np.array([[0.0, 0.0, 0.9]] * FRAMES), n_betas=16)], K, w2c)
    with pytest.raises(MayhemInputError, match="labels.npz: betas"):
        ehd.export_humandata(tmp_path / "ds", tmp_path / "x.npz", body_model=smplx_model)
