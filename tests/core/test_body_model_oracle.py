"""The numpy SMPL-X forward pass against the reference implementation (smplx.lbs.lbs)."""
from __future__ import annotations

import numpy as np
import pytest

from mayhem.core.body.model import BodyModel, load_body_model
from mayhem.core.errors import MayhemInputError

torch = pytest.importorskip("torch", reason="torch is a test extra on Python 3.11 only (pyproject.toml)")
smplx = pytest.importorskip("smplx")
from smplx.lbs import lbs  # noqa: E402


def _random_params(rng, frames, n_betas=10, n_expr=10, angle=0.6):
    return {
        "betas": rng.normal(size=n_betas),
        "expression": rng.normal(size=n_expr),
        "global_orient": rng.normal(scale=angle, size=(frames, 3)),
        "body_pose": rng.normal(scale=angle, size=(frames, 63)),
        "jaw_pose": rng.normal(scale=angle, size=(frames, 3)),
        "leye_pose": rng.normal(scale=angle, size=(frames, 3)),
        "reye_pose": rng.normal(scale=angle, size=(frames, 3)),
        "left_hand_pose": rng.normal(scale=angle, size=(frames, 45)),
        "right_hand_pose": rng.normal(scale=angle, size=(frames, 45)),
        "transl": rng.normal(size=(frames, 3)),
    }


def _oracle(model: BodyModel, p: dict, dtype=torch.float64):
    """smplx.lbs.lbs on exactly the inputs SMPLX.forward would give it (flat hand mean)."""
    frames = p["body_pose"].shape[0]
    t = lambda a: torch.tensor(np.asarray(a), dtype=dtype)
    full_pose = np.concatenate([p["global_orient"], p["body_pose"], p["jaw_pose"], p["leye_pose"],
                                p["reye_pose"], p["left_hand_pose"], p["right_hand_pose"]], axis=1)
    nb, ne = len(p["betas"]), len(p["expression"])
    coeffs = np.concatenate([p["betas"], p["expression"]])[None].repeat(frames, 0)
    dirs = np.concatenate([model.shapedirs[:, :, :nb], model.exprdirs[:, :, :ne]], axis=2)
    posedirs = model.posedirs.reshape(-1, 486).T
    verts, joints = lbs(t(coeffs), t(full_pose), t(model.v_template), t(dirs), t(posedirs),
                        t(model.J_regressor), torch.tensor(model.parents), t(model.weights), pose2rot=True)
    tr = p["transl"][:, None, :]
    return verts.numpy() + tr, joints.numpy() + tr


def test_forward_matches_smplx_lbs_float64(smplx_npz):
    model = load_body_model(smplx_npz)
    rng = np.random.default_rng(1)
    p = _random_params(rng, frames=37, n_betas=300, n_expr=100)
    ours = model.forward(**p)
    ref_v, ref_j = _oracle(model, p)
    assert np.abs(ours.vertices - ref_v).max() <= 1e-6
    assert np.abs(ours.joints - ref_j).max() <= 1e-6


def test_forward_matches_with_few_betas_and_per_frame_shape(smplx_npz):
    model = load_body_model(smplx_npz)
    rng = np.random.default_rng(2)
    p = _random_params(rng, frames=5, n_betas=16, n_expr=10, angle=1.5)
    ref_v, ref_j = _oracle(model, p)
    per_frame = dict(p, betas=np.repeat(p["betas"][None], 5, 0), expression=np.repeat(p["expression"][None], 5, 0))
    ours = model.forward(**per_frame)
    assert np.abs(ours.vertices - ref_v).max() <= 1e-6
    assert np.abs(ours.joints - ref_j).max() <= 1e-6


def test_float32_close_to_float64(smplx_npz):
    model = load_body_model(smplx_npz)
    p = _random_params(np.random.default_rng(3), frames=8)
    v64 = model.forward(**p).vertices
    v32 = model.forward(**p, dtype=np.float32).vertices
    assert v32.dtype == np.float32
    assert np.abs(v64 - v32).max() < 1e-4


def test_smplx_package_reads_the_same_body(smplx_npz):
    """Loader column split and PCA hands agree with smplx.create on the same file."""
    model = load_body_model(smplx_npz)
    rng = np.random.default_rng(4)
    p = _random_params(rng, frames=3, n_betas=10, n_expr=10)
    pca_l, pca_r = rng.normal(size=(3, 6)), rng.normal(size=(3, 6))
    ref = smplx.create(str(smplx_npz), model_type="smplx", ext="npz", num_betas=10, num_expression_coeffs=10,
                       use_pca=True, num_pca_comps=6, flat_hand_mean=False, batch_size=3, dtype=torch.float64)
    t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64)
    out = ref(betas=t(np.repeat(p["betas"][None], 3, 0)), expression=t(np.repeat(p["expression"][None], 3, 0)),
              global_orient=t(p["global_orient"]), body_pose=t(p["body_pose"]), jaw_pose=t(p["jaw_pose"]),
              leye_pose=t(p["leye_pose"]), reye_pose=t(p["reye_pose"]), left_hand_pose=t(pca_l),
              right_hand_pose=t(pca_r), transl=t(p["transl"]))
    ours = model.forward(**dict(p, left_hand_pose=pca_l, right_hand_pose=pca_r), use_pca=True, flat_hand_mean=False)
    assert np.abs(ours.vertices - out.vertices.detach().numpy()).max() <= 1e-6
    assert np.abs(ours.joints - out.joints.detach().numpy()[:, :55]).max() <= 1e-6


def test_zero_pose_gives_template_and_regressed_joints(smplx_npz):
    model = load_body_model(smplx_npz)
    out = model.forward()
    assert np.allclose(out.vertices[0], model.v_template, atol=1e-12)
    assert np.allclose(out.joints[0], model.J_regressor @ model.v_template, atol=1e-12)


@pytest.mark.parametrize("key,mutate,expect", [
    ("v_template", lambda d: d.pop("v_template"), "missing key"),
    ("weights", lambda d: d.__setitem__("weights", d["weights"][:, :50]), "expected shape"),
    ("J_regressor", lambda d: d.__setitem__("J_regressor", d["J_regressor"] * np.nan), "NaN"),
    ("kintree_table", lambda d: d["kintree_table"].__setitem__((0, 5), 3), "kinematic tree"),
    ("posedirs", lambda d: d.__setitem__("posedirs", d["posedirs"][:, :, :100]), "posedirs"),
])
def test_bad_model_files_name_file_and_key(tmp_path, key, mutate, expect):
    from smplx_files import smplx_model_arrays

    arrays = smplx_model_arrays(n_vertices=300, shape_columns=20)
    mutate(arrays)
    path = tmp_path / "SMPLX_BROKEN.npz"
    np.savez(path, **arrays)
    with pytest.raises(MayhemInputError) as err:
        load_body_model(path)
    msg = str(err.value)
    assert "SMPLX_BROKEN.npz" in msg and key in msg and expect in msg


def test_not_a_model_file(tmp_path):
    path = tmp_path / "model.npz"
    path.write_text("hello")
    with pytest.raises(MayhemInputError, match="model.npz"):
        load_body_model(path)


def test_pickle_model_loads_without_chumpy(tmp_path):
    import pickle

    from smplx_files import smplx_model_arrays

    arrays = smplx_model_arrays(n_vertices=400, shape_columns=20)
    path = tmp_path / "SMPLX_FEMALE.pkl"
    with open(path, "wb") as fh:
        pickle.dump(arrays, fh)
    model = load_body_model(path)
    assert model.gender == "female" and model.num_betas == 10 and model.num_expression == 10
    assert model.model_id == "SMPLX_FEMALE"


def test_pickle_with_foreign_classes_is_refused(tmp_path):
    import pickle

    path = tmp_path / "SMPLX_MALE.pkl"

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(path, "wb") as fh:
        pickle.dump({"v_template": Evil()}, fh)
    with pytest.raises(MayhemInputError, match="refusing"):
        load_body_model(path)
