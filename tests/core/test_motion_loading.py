"""AMASS loading, resampling and writing (mayhem.core.motion.amass).

Files are written in each real AMASS layout with np.savez and read back. Resampling is
checked against scipy's Rotation/Slerp as an independent reference.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp

from mayhem.core.errors import MayhemInputError
from mayhem.core.motion import amass as motion_mod
from mayhem.core.motion.amass import MotionClip, load_amass, resample, save_amass_smplx

POSE_NAMES = ("global_orient", "body_pose", "jaw_pose", "leye_pose", "reye_pose",
              "left_hand_pose", "right_hand_pose")
AMASS_SMPLX_KEYS = {"poses", "trans", "betas", "gender", "mocap_frame_rate", "mocap_time_length",
                    "surface_model_type", "num_betas", "root_orient", "pose_body", "pose_hand",
                    "pose_jaw", "pose_eye"}


def rand_poses(rng, frames, width, scale=0.4):
    return rng.normal(scale=scale, size=(frames, width))


def smplh_layout(rng, frames=20):
    """AMASS "SMPL+H G": trans, gender (bytes), mocap_framerate 120, betas 16, dmpls, poses 156."""
    return dict(trans=rng.normal(size=(frames, 3)), gender=np.array(b"female"),
                mocap_framerate=np.array(120.0), betas=rng.normal(size=16),
                dmpls=rng.normal(size=(frames, 8)), poses=rand_poses(rng, frames, 156))


def smplx_layout(rng, frames=20, num_betas=16):
    """AMASS "SMPL-X N": split keys and poses 165, mocap_frame_rate 60, str gender, no expression."""
    poses = rand_poses(rng, frames, 165)
    return dict(gender=np.array("male"), surface_model_type=np.array("smplx"),
                mocap_frame_rate=np.array(60.0), mocap_time_length=np.array(frames / 60.0),
                markers_latent=rng.normal(size=(53, 3)), latent_labels=np.array(["C7"] * 53),
                markers_latent_vids=np.arange(53), num_betas=np.array(num_betas),
                betas=rng.normal(size=num_betas), trans=rng.normal(size=(frames, 3)), poses=poses,
                root_orient=poses[:, :3], pose_body=poses[:, 3:66], pose_hand=poses[:, 75:],
                pose_jaw=poses[:, 66:69], pose_eye=poses[:, 69:75])


def write(tmp_path, name, **arrays):
    p = tmp_path / name
    np.savez(p, **arrays)
    assert p.exists()
    return p


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# ------------------------------------------------------------------------------- layouts

def test_smplh_156_layout(tmp_path, rng):
    d = smplh_layout(rng)
    clip = load_amass(write(tmp_path, "walk_poses.npz", **d), target_fps=None)
    p = d["poses"]
    assert clip.source_format == "smplh" and clip.gender == "female" and clip.fps == 120.0
    assert clip.num_frames == 20 and clip.source.endswith("walk_poses.npz")
    np.testing.assert_array_equal(clip.global_orient, p[:, 0:3])
    np.testing.assert_array_equal(clip.body_pose, p[:, 3:66])
    np.testing.assert_array_equal(clip.left_hand_pose, p[:, 66:111])
    np.testing.assert_array_equal(clip.right_hand_pose, p[:, 111:156])
    for name in ("jaw_pose", "leye_pose", "reye_pose"):
        assert clip.pose_params()[name].shape == (20, 3) and not clip.pose_params()[name].any()
    np.testing.assert_array_equal(clip.transl, d["trans"])
    np.testing.assert_array_equal(clip.betas, d["betas"])
    assert clip.expression is None
    for a in list(clip.pose_params().values()) + [clip.transl, clip.betas]:
        assert a.dtype == np.float64


def test_smplx_165_layout(tmp_path, rng):
    d = smplx_layout(rng)
    clip = load_amass(write(tmp_path, "a_stageii.npz", **d), target_fps=None)
    p = d["poses"]
    assert clip.source_format == "smplx" and clip.gender == "male" and clip.fps == 60.0
    expect = dict(global_orient=p[:, 0:3], body_pose=p[:, 3:66], jaw_pose=p[:, 66:69],
                  leye_pose=p[:, 69:72], reye_pose=p[:, 72:75], left_hand_pose=p[:, 75:120],
                  right_hand_pose=p[:, 120:165])
    params = clip.pose_params()
    assert list(params) == list(POSE_NAMES)
    for name, want in expect.items():
        np.testing.assert_array_equal(params[name], want, err_msg=name)
    assert clip.betas.shape == (16,) and clip.expression is None


def test_smplx_300_betas_and_expression_key(tmp_path, rng):
    d = smplx_layout(rng, num_betas=300)
    d["expressions"] = rng.normal(size=(20, 100)).astype(np.float32)
    d["gender"] = np.array(b"neutral")
    clip = load_amass(write(tmp_path, "b300.npz", **d), target_fps=None)
    np.testing.assert_array_equal(clip.betas, d["betas"])
    assert clip.betas.shape == (300,) and clip.gender == "neutral"
    assert clip.expression.shape == (20, 100) and clip.expression.dtype == np.float64
    np.testing.assert_array_equal(clip.expression, d["expressions"].astype(np.float64))


def test_split_keys_only(tmp_path, rng):
    d = smplx_layout(rng, num_betas=10)
    p = d.pop("poses")
    clip = load_amass(write(tmp_path, "split.npz", **d), target_fps=None)
    assert clip.source_format == "smplx"
    np.testing.assert_array_equal(clip.full_pose(), p)
    assert clip.betas.shape == (10,)


def test_split_root_and_body_only_zero_fills(tmp_path, rng):
    d = smplh_layout(rng)
    p = d.pop("poses")
    d["root_orient"], d["pose_body"] = p[:, :3], p[:, 3:66]
    clip = load_amass(write(tmp_path, "body_only.npz", **d), target_fps=None)
    np.testing.assert_array_equal(clip.global_orient, p[:, :3])
    np.testing.assert_array_equal(clip.body_pose, p[:, 3:66])
    assert not clip.left_hand_pose.any() and not clip.jaw_pose.any()
    assert clip.source_format == "smplh"  # no face keys, no surface_model_type


def test_gender_variants(tmp_path, rng):
    for i, g in enumerate([np.array(b"female"), np.array("Female"), "male", np.array([b"neutral"])]):
        d = smplh_layout(rng)
        d["gender"] = g
        clip = load_amass(write(tmp_path, f"g{i}.npz", **d), target_fps=None)
        assert clip.gender == ["female", "female", "male", "neutral"][i]


def test_float32_file_and_int_framerate(tmp_path, rng):
    d = smplx_layout(rng)
    d["poses"] = d["poses"].astype(np.float32)
    d["mocap_frame_rate"] = np.array(60)
    clip = load_amass(write(tmp_path, "f32.npz", **d), target_fps=None)
    assert clip.body_pose.dtype == np.float64 and clip.fps == 60.0
    np.testing.assert_array_equal(clip.body_pose, d["poses"][:, 3:66].astype(np.float64))


# ------------------------------------------------------------------------------- resampling

def test_120_to_30_keeps_every_4th_frame_exactly(tmp_path, rng):
    d = smplh_layout(rng, frames=121)
    d["poses"] = rand_poses(rng, 121, 156, scale=1.5)  # includes angles > pi
    clip = load_amass(write(tmp_path, "c120.npz", **d))  # default target 30 fps
    assert clip.fps == 30.0 and clip.num_frames == 31
    p = d["poses"][::4]
    np.testing.assert_array_equal(clip.global_orient, p[:, :3])
    np.testing.assert_array_equal(clip.body_pose, p[:, 3:66])
    np.testing.assert_array_equal(clip.left_hand_pose, p[:, 66:111])
    np.testing.assert_array_equal(clip.right_hand_pose, p[:, 111:156])
    np.testing.assert_array_equal(clip.transl, d["trans"][::4])
    np.testing.assert_array_equal(clip.betas, d["betas"])


@pytest.mark.parametrize("frames, expected", [(10, 3), (9, 3), (8, 2), (1, 1), (5, 2), (4, 1)])
def test_120_to_30_frame_count_no_extrapolation(tmp_path, rng, frames, expected):
    # Output frames at k/30 s while <= (frames - 1)/120 s.
    d = smplh_layout(rng, frames=frames)
    clip = load_amass(write(tmp_path, "n.npz", **d))
    assert clip.num_frames == expected
    np.testing.assert_array_equal(clip.transl, d["trans"][::4][:expected])


def test_60_to_30(tmp_path, rng):
    d = smplx_layout(rng, frames=31)
    d["expression"] = rng.normal(size=(31, 10))
    clip = load_amass(write(tmp_path, "c60.npz", **d), target_fps=30)
    assert clip.num_frames == 16 and clip.fps == 30.0
    np.testing.assert_array_equal(clip.full_pose(), d["poses"][::2])
    np.testing.assert_array_equal(clip.transl, d["trans"][::2])
    np.testing.assert_array_equal(clip.expression, d["expression"][::2])


def reference_resample_matrices(aa, src_fps, dst_fps):
    """Independent reference: scipy Slerp per joint at times k/dst_fps <= last source time."""
    frames = aa.shape[0]
    times = np.arange(frames) / src_fps
    n_out = int(np.floor((frames - 1) * dst_fps / src_fps + 1e-9)) + 1
    t_out = np.minimum(np.arange(n_out) / dst_fps, times[-1])
    out = []
    for j in range(aa.shape[1] // 3):
        s = Slerp(times, Rotation.from_rotvec(aa[:, 3 * j:3 * j + 3]))
        out.append(s(t_out).as_matrix())
    return np.stack(out, axis=1), t_out


def test_50_to_30_slerp_matches_reference(tmp_path, rng):
    frames = 26  # 0.5 s at 50 fps -> 16 frames at 30 fps
    d = smplx_layout(rng, frames=frames)
    d["poses"] = rand_poses(rng, frames, 165, scale=1.2)
    d["mocap_frame_rate"] = np.array(50.0)
    d["expression"] = rng.normal(size=(frames, 10))
    d.pop("root_orient")  # irrelevant when poses is present; keep the file minimal
    clip = load_amass(write(tmp_path, "c50.npz", **d), target_fps=30.0)
    assert clip.num_frames == 16 and clip.fps == 30.0
    want, t_out = reference_resample_matrices(d["poses"], 50.0, 30.0)
    got = Rotation.from_rotvec(clip.full_pose().reshape(-1, 3)).as_matrix().reshape(16, 55, 3, 3)
    np.testing.assert_allclose(got, want, atol=1e-9)
    # Linear channels.
    src_t = np.arange(frames) / 50.0
    for c in range(3):
        np.testing.assert_allclose(clip.transl[:, c], np.interp(t_out, src_t, d["trans"][:, c]), atol=1e-12)
    for c in range(10):
        np.testing.assert_allclose(clip.expression[:, c], np.interp(t_out, src_t, d["expression"][:, c]),
                                   atol=1e-12)
    # Frames 0, 3, 6, ... fall on source frames 0, 5, 10, ... and are copied exactly.
    np.testing.assert_array_equal(clip.full_pose()[::3], d["poses"][::5])


def test_constant_angular_velocity_is_exact():
    # Rotation about a fixed axis at constant speed, sampled at 50 fps, spinning past pi.
    axis = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    omega = 2.5  # rad/s -> 5 rad over 2 s
    frames = 101
    t_src = np.arange(frames) / 50.0
    aa = (omega * t_src)[:, None] * axis
    zeros = lambda w: np.zeros((frames, w))  # noqa: E731
    clip = MotionClip(global_orient=aa, body_pose=np.tile(aa, 21), jaw_pose=zeros(3),
                      leye_pose=zeros(3), reye_pose=zeros(3), left_hand_pose=zeros(45),
                      right_hand_pose=zeros(45), transl=zeros(3), betas=np.zeros(10),
                      expression=None, gender="neutral", fps=50.0, source="test", source_format="smplx")
    out = resample(clip, 30.0)
    assert out.num_frames == 61
    t_out = np.arange(61) / 30.0
    want = Rotation.from_rotvec((omega * t_out)[:, None] * axis).as_matrix()
    got = Rotation.from_rotvec(out.global_orient).as_matrix()
    np.testing.assert_allclose(got, want, atol=1e-12)
    got_body = Rotation.from_rotvec(out.body_pose.reshape(-1, 3)).as_matrix().reshape(61, 21, 3, 3)
    np.testing.assert_allclose(got_body, np.broadcast_to(want[:, None], got_body.shape), atol=1e-12)
    # While the angle stays below pi the axis-angle itself is reproduced.
    below = omega * t_out < np.pi - 1e-6
    np.testing.assert_allclose(out.global_orient[below], ((omega * t_out)[:, None] * axis)[below], atol=1e-12)


def test_resample_short_way_round_and_upsampling():
    # Two frames at 10 fps: 170 deg and -170 deg about z are 20 deg apart the short way.
    a = np.deg2rad(170.0)
    go = np.array([[0, 0, a], [0, 0, -a]])
    z = lambda w: np.zeros((2, w))  # noqa: E731
    clip = MotionClip(global_orient=go, body_pose=z(63), jaw_pose=z(3), leye_pose=z(3), reye_pose=z(3),
                      left_hand_pose=z(45), right_hand_pose=z(45), transl=np.array([[0, 0, 0], [1, 2, 3.0]]),
                      betas=np.zeros(10), expression=None, gender="neutral", fps=10.0, source="t",
                      source_format="smplx")
    out = resample(clip, 20.0)
    assert out.num_frames == 3
    mid = Rotation.from_rotvec(out.global_orient[1]).as_matrix()
    np.testing.assert_allclose(mid, Rotation.from_euler("z", 180, degrees=True).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(out.transl[1], [0.5, 1.0, 1.5], atol=1e-15)
    np.testing.assert_array_equal(out.global_orient[[0, 2]], go)


def test_resample_same_rate_is_identity(tmp_path, rng):
    d = smplx_layout(rng, frames=7)
    clip = load_amass(write(tmp_path, "same.npz", **d), target_fps=None)
    out = resample(clip, 60.0)
    np.testing.assert_array_equal(out.full_pose(), clip.full_pose())
    np.testing.assert_array_equal(out.transl, clip.transl)


@pytest.mark.parametrize("src, dst, step", [(23.976, 23.976, 1), (119.88, 29.97, 4), (59.94, 29.97, 2),
                                             (239.76, 23.976, 10)])
def test_non_integer_rates_still_copy_exact_frames(rng, src, dst, step):
    # k * src / dst is not always an exact integer in floating point (e.g. 43 * 23.976 / 23.976).
    frames = 401
    z = lambda w: rand_poses(rng, frames, w, scale=1.5)  # noqa: E731
    clip = MotionClip(global_orient=z(3), body_pose=z(63), jaw_pose=z(3), leye_pose=z(3), reye_pose=z(3),
                      left_hand_pose=z(45), right_hand_pose=z(45), transl=z(3), betas=np.zeros(10),
                      expression=z(10), gender="neutral", fps=src, source="t", source_format="smplx")
    out = resample(clip, dst)
    assert out.num_frames == (frames - 1) // step + 1
    np.testing.assert_array_equal(out.full_pose(), clip.full_pose()[::step])
    np.testing.assert_array_equal(out.transl, clip.transl[::step])
    np.testing.assert_array_equal(out.expression, clip.expression[::step])
    # Frame counts: k/dst <= (n-1)/src, with the same floating-point hazard at the end.
    for n in range(1, 200):
        assert resample(clip.slice(0, n), dst).num_frames == (n - 1) // step + 1, n


# ------------------------------------------------------------------------------- frame range, slice

def test_frame_range_is_in_resampled_frames(tmp_path, rng):
    d = smplh_layout(rng, frames=121)
    path = write(tmp_path, "fr.npz", **d)
    clip = load_amass(path, target_fps=30, frame_range=(2, 5))
    assert clip.num_frames == 3
    np.testing.assert_array_equal(clip.transl, d["trans"][[8, 12, 16]])
    np.testing.assert_array_equal(clip.body_pose, d["poses"][[8, 12, 16], 3:66])
    whole = load_amass(path, target_fps=30, frame_range=(0, 31))
    assert whole.num_frames == 31
    native = load_amass(path, target_fps=None, frame_range=(100, 121))
    np.testing.assert_array_equal(native.transl, d["trans"][100:121])


def test_slice_and_pose_params(tmp_path, rng):
    d = smplx_layout(rng, frames=12)
    d["expression"] = rng.normal(size=(12, 10))
    clip = load_amass(write(tmp_path, "s.npz", **d), target_fps=None)
    s = clip.slice(3, 7)
    assert s.num_frames == 4 and s.fps == clip.fps and s.gender == clip.gender
    np.testing.assert_array_equal(s.full_pose(), d["poses"][3:7])
    np.testing.assert_array_equal(s.expression, d["expression"][3:7])
    s.transl[:] = 0  # copies, not views
    assert clip.transl[3:7].any()
    assert set(clip.pose_params()) == set(POSE_NAMES)
    for bad in [(0, 0), (5, 3), (-1, 2), (0, 13), (1.0, 3)]:
        with pytest.raises(MayhemInputError, match="frame_range"):
            clip.slice(*bad)


# ------------------------------------------------------------------------------- writing

def test_save_load_round_trip_exact(tmp_path, rng):
    d = smplx_layout(rng, frames=15, num_betas=300)
    d["expression"] = rng.normal(size=(15, 50))
    d["gender"] = np.array("female")
    clip = load_amass(write(tmp_path, "in.npz", **d), target_fps=None)
    out = tmp_path / "out.npz"
    save_amass_smplx(clip, out)
    back = load_amass(out, target_fps=None)
    for name in POSE_NAMES + ("transl", "betas", "expression"):
        np.testing.assert_array_equal(getattr(back, name), getattr(clip, name), err_msg=name)
    assert (back.gender, back.fps, back.source_format) == ("female", 60.0, "smplx")


def test_saved_file_has_amass_smplx_layout(tmp_path, rng):
    d = smplh_layout(rng, frames=121)
    clip = load_amass(write(tmp_path, "h.npz", **d), target_fps=30)
    out = tmp_path / "x.npz"
    save_amass_smplx(clip, out)
    with np.load(out, allow_pickle=False) as f:
        assert set(f.files) == AMASS_SMPLX_KEYS  # no expression: the clip has none
        assert f["poses"].shape == (31, 165) and f["poses"].dtype == np.float64
        assert f["trans"].shape == (31, 3) and f["trans"].dtype == np.float64
        assert f["betas"].shape == (16,) and int(f["num_betas"]) == 16
        assert f["gender"].dtype.kind == "U" and str(f["gender"]) == "female"
        assert str(f["surface_model_type"]) == "smplx"
        assert float(f["mocap_frame_rate"]) == 30.0
        assert float(f["mocap_time_length"]) == pytest.approx(31 / 30.0)
        p = f["poses"]
        np.testing.assert_array_equal(f["root_orient"], p[:, :3])
        np.testing.assert_array_equal(f["pose_body"], p[:, 3:66])
        np.testing.assert_array_equal(f["pose_jaw"], p[:, 66:69])
        np.testing.assert_array_equal(f["pose_eye"], p[:, 69:75])
        np.testing.assert_array_equal(f["pose_hand"], p[:, 75:165])
        np.testing.assert_array_equal(p[:, 75:120], d["poses"][::4, 66:111])  # SMPL+H left hand
        np.testing.assert_array_equal(p[:, 120:165], d["poses"][::4, 111:156])
        assert not p[:, 66:75].any()
        for k in ("poses", "trans", "betas", "root_orient", "pose_body", "pose_hand", "pose_jaw", "pose_eye"):
            assert f[k].dtype == np.float64, k


def test_save_is_atomic_and_overwrites(tmp_path, rng, monkeypatch):
    d = smplx_layout(rng, frames=5)
    clip = load_amass(write(tmp_path, "src.npz", **d), target_fps=None)
    out = tmp_path / "motion"  # no .npz suffix: written at exactly this path
    save_amass_smplx(clip, out)
    assert out.exists() and not (tmp_path / "motion.npz").exists()
    before = out.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["motion", "src.npz"]

    def boom(*a, **k):
        raise RuntimeError("disk full")
    from mayhem.core.io import atomic as atomic_mod

    monkeypatch.setattr(atomic_mod.os, "fsync", boom)  # fails after the temp file is written
    with pytest.raises(RuntimeError):
        save_amass_smplx(clip.slice(0, 2), out)
    assert out.read_bytes() == before  # old file intact
    assert sorted(os.listdir(tmp_path)) == ["motion", "src.npz"]  # temp file removed
    monkeypatch.undo()
    save_amass_smplx(clip.slice(0, 2), out)
    assert load_amass(out, target_fps=None).num_frames == 2


def test_save_refuses_non_finite(tmp_path, rng):
    d = smplx_layout(rng, frames=5)
    clip = load_amass(write(tmp_path, "src.npz", **d), target_fps=None)
    clip.transl[2, 1] = np.nan
    with pytest.raises(MayhemInputError, match="transl"):
        save_amass_smplx(clip, tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


# ------------------------------------------------------------------------------- bad files

def _bad_cases():
    """name -> (builder(rng, tmp_path) returning a path, key expected in the message)."""
    def layout(mutate, base=smplh_layout, name="bad_motion.npz"):
        def build(rng, tmp_path):
            d = base(rng, frames=6)
            mutate(d, rng)
            return write(tmp_path, name, **d)
        return build

    def drop(*keys):
        def m(d, rng):
            for k in keys:
                d.pop(k)
        return m

    def setk(key, value):
        def m(d, rng):
            d[key] = value(d, rng) if callable(value) else value
        return m

    def nan_at(key, value=np.nan):
        def m(d, rng):
            a = np.array(d[key], dtype=np.float64)
            a.flat[min(3, a.size - 1)] = value
            d[key] = a
        return m

    def raw_file(content: bytes, name="bad_motion.npz"):
        def build(rng, tmp_path):
            p = tmp_path / name
            p.write_bytes(content)
            return p
        return build

    def truncated(rng, tmp_path):
        p = write(tmp_path, "bad_motion.npz", **smplh_layout(rng, frames=6))
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        return p

    def npy_file(rng, tmp_path):
        p = tmp_path / "bad_motion.npy"
        np.save(p, np.zeros((3, 156)))
        return p

    def zip_without_npy(rng, tmp_path):
        p = tmp_path / "bad_motion.npz"
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("readme.txt", "hello")
        return p

    def corrupt_member(rng, tmp_path):
        p = tmp_path / "bad_motion.npz"
        np.savez_compressed(p, **smplh_layout(rng, frames=200))
        data = bytearray(p.read_bytes())
        # Flip bytes inside the compressed poses member (largest), keep the zip directory.
        with zipfile.ZipFile(p) as z:
            info = z.getinfo("poses.npy")
        start = info.header_offset + 30 + len(info.filename) + 200
        for i in range(start, start + 64):
            data[i] ^= 0xFF
        p.write_bytes(bytes(data))
        return p

    def pickled(key):
        def m(d, rng):
            d[key] = np.array({"x": 1}, dtype=object)
        return m

    return {
        "text_file": (raw_file(b"this is not an npz archive\n"), None),
        "empty_file": (raw_file(b""), None),
        "truncated_zip": (truncated, None),
        "npy_not_npz": (npy_file, None),
        "missing_file": (lambda rng, tmp_path: tmp_path / "bad_motion.npz", None),
        "zip_without_arrays": (zip_without_npy, "poses"),
        "corrupt_member": (corrupt_member, "poses"),
        "missing_poses": (layout(drop("poses")), "poses"),
        "missing_trans": (layout(drop("trans")), "trans"),
        "missing_betas": (layout(drop("betas")), "betas"),
        "missing_gender": (layout(drop("gender")), "gender"),
        "missing_framerate": (layout(drop("mocap_framerate")), "mocap_frame_rate"),
        "split_missing_pose_body": (layout(drop("poses", "pose_body"), base=smplx_layout), "pose_body"),
        "poses_width_160": (layout(setk("poses", lambda d, r: r.normal(size=(6, 160)))), "poses"),
        "poses_1d": (layout(setk("poses", np.zeros(156))), "poses"),
        "poses_strings": (layout(setk("poses", np.array([["a"] * 156] * 6))), "poses"),
        "trans_wrong_frames": (layout(setk("trans", np.zeros((5, 3)))), "trans"),
        "trans_wrong_width": (layout(setk("trans", np.zeros((6, 2)))), "trans"),
        "betas_2d": (layout(setk("betas", np.zeros((6, 16)))), "betas"),
        "betas_empty": (layout(setk("betas", np.zeros(0))), "betas"),
        "pose_hand_wrong": (layout(setk("pose_hand", np.zeros((6, 89))), base=lambda r, frames:
                                   {k: v for k, v in smplx_layout(r, frames).items() if k != "poses"}),
                            "pose_hand"),
        "expression_wrong_frames": (layout(setk("expression", np.zeros((4, 10))), base=smplx_layout),
                                    "expression"),
        "nan_poses": (layout(nan_at("poses")), "poses"),
        "inf_trans": (layout(nan_at("trans", np.inf)), "trans"),
        "nan_betas": (layout(nan_at("betas")), "betas"),
        "nan_expression": (layout(lambda d, r: (setk("expressions", np.zeros((6, 10)))(d, r),
                                                nan_at("expressions")(d, r)), base=smplx_layout), "expressions"),
        "nan_split_key": (layout(lambda d, r: (drop("poses")(d, r), nan_at("pose_eye")(d, r)),
                                 base=smplx_layout), "pose_eye"),
        "zero_frames": (layout(lambda d, r: (setk("poses", np.zeros((0, 156)))(d, r),
                                             setk("trans", np.zeros((0, 3)))(d, r))), "poses"),
        "zero_fps": (layout(setk("mocap_framerate", np.array(0.0))), "mocap_framerate"),
        "negative_fps": (layout(setk("mocap_frame_rate", np.array(-60.0)), base=smplx_layout),
                         "mocap_frame_rate"),
        "nan_fps": (layout(setk("mocap_framerate", np.array(np.nan))), "mocap_framerate"),
        "fps_vector": (layout(setk("mocap_framerate", np.array([120.0, 60.0]))), "mocap_framerate"),
        "bad_gender": (layout(setk("gender", np.array("alien"))), "gender"),
        "numeric_gender": (layout(setk("gender", np.array(1))), "gender"),
        "pickled_gender": (layout(pickled("gender")), "gender"),
        "pickled_poses": (layout(pickled("poses")), "poses"),
    }


BAD_CASES = _bad_cases()


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_files_raise_mayhem_input_error(tmp_path, rng, case):
    build, key = BAD_CASES[case]
    path = build(rng, tmp_path)
    with pytest.raises(MayhemInputError) as info:
        load_amass(path)
    msg = str(info.value)
    assert path.name in msg
    assert info.value.path == str(path)
    if key is not None:
        assert key in msg and info.value.field == key
    else:
        assert info.value.field is None
    if case.startswith("pickled"):
        assert "pickle" in msg


def test_wrong_shape_message_gives_got_and_expected(tmp_path, rng):
    d = smplh_layout(rng, frames=6)
    d["poses"] = np.zeros((6, 160))
    with pytest.raises(MayhemInputError, match=r"poses: shape \(6, 160\), expected \(F, 156\).*\(F, 165\)"):
        load_amass(write(tmp_path, "w.npz", **d))
    d = smplh_layout(rng, frames=6)
    d["trans"] = np.zeros((5, 3))
    with pytest.raises(MayhemInputError, match=r"trans: shape \(5, 3\), expected \(6, 3\)"):
        load_amass(write(tmp_path, "w2.npz", **d))


@pytest.mark.parametrize("frame_range", [(0, 32), (-1, 3), (5, 5), (7, 2), (0.0, 3), (1,), "ab"])
def test_frame_range_out_of_bounds(tmp_path, rng, frame_range):
    d = smplh_layout(rng, frames=121)  # 31 frames at 30 fps
    path = write(tmp_path, "range_motion.npz", **d)
    with pytest.raises(MayhemInputError) as info:
        load_amass(path, frame_range=frame_range)
    assert "range_motion.npz" in str(info.value) and "frame_range" in str(info.value)


@pytest.mark.parametrize("fps", [0, -30, float("nan"), float("inf"), "fast"])
def test_bad_target_fps(tmp_path, rng, fps):
    path = write(tmp_path, "t.npz", **smplh_layout(rng, frames=6))
    with pytest.raises(MayhemInputError, match="target_fps"):
        load_amass(path, target_fps=fps)


def test_core_motion_imports_no_heavy_modules(tmp_path):
    # core/ is pure numpy: importing the motion module must not pull in bpy, torch or scipy.
    (tmp_path / "mayhem").symlink_to(os.path.dirname(os.path.dirname(motion_mod.__file__)))
    code = ("import sys; import mayhem.core.motion.amass as m; assert m.__file__.endswith('amass.py'); "
            "bad = [n for n in ('bpy', 'torch', 'scipy') if n in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
