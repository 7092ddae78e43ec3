"""Procedural motion clips (assets/motions/*.npz, mayhem.core.motion.procedural).

Every committed clip is loaded the way users load AMASS files and posed with the free body
(Mayhem's own numpy forward pass); the physical checks below are measured on the posed
joints and mesh, independently of how the generator plans its motions:

* support: in each frame the lowest of the four foot joints (ankles, toe bases) is the
  support joint; the frame is a stance frame when that joint's vertical speed is small.
  In stance it must be within 3 cm of the floor (z = 0) and move horizontally at most
  0.15 m/s (no foot skating);
* airborne frames (no stance) only in clips that leave the ground, for at most 0.7 s;
* a foot joint resting at its own lowest level in two consecutive frames moves at most
  0.15 m/s between them (a second skating check that does not depend on the support rule);
* soles: the lowest mesh vertex never sinks more than 1 cm below the floor, and in stance
  frames lies within 1.5 cm of it;
* knees and elbows bend only the anatomical way, fingers never bend backwards;
* finite values, pelvis speed <= 6 m/s, no pose jumps between frames.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mayhem.core.body.model import load_body_model
from mayhem.core.body.skeleton import JOINT_INDEX, POSE_PARAM_NAMES
from mayhem.core.geometry.rotations import axis_angle_to_matrix
from mayhem.core.motion import clips as pm
from mayhem.core.motion.amass import load_amass
from mayhem.core.motion.procedural import Rig, keys

ROOT = Path(__file__).resolve().parents[2]
MOTIONS = ROOT / "assets" / "motions"
FPS = 30.0
FOOT_JOINTS = [JOINT_INDEX[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
AIRBORNE_CLIPS = {"jog", "jump"}
STANCE_VZ = 0.15        # m/s: vertical speed below which the support joint bears weight
MAX_STANCE_HEIGHT = 0.03
MAX_SKATE = 0.15        # m/s
MAX_ROOT_SPEED = 6.0    # m/s
MAX_ROT_STEP = 0.5      # rad per frame (15 rad/s, about peak knee speed in running), any joint
MAX_AIRBORNE = 0.7      # s: a 0.3 m jump is in the air for about 0.5 s
BEND_TOL = np.radians(1.0)
EXPECTED = ("walk_straight", "walk_curve", "jog", "idle_sway", "wave", "squat", "jump",
            "turn_in_place", "reach", "dance")


@pytest.fixture(scope="module")
def free_body(free_body_path):
    return load_body_model(free_body_path)


@pytest.fixture(scope="module")
def clips():
    return {name: load_amass(MOTIONS / f"{name}.npz", target_fps=FPS) for name in EXPECTED}


@pytest.fixture(scope="module")
def posed(clips, free_body):
    """Joints (F,55,3) and every 3rd frame's lowest vertex height, per clip."""
    out = {}
    for name, clip in clips.items():
        kw = {k: getattr(clip, k) for k in POSE_PARAM_NAMES}
        betas = clip.betas[:free_body.num_betas]
        joints = free_body.forward(betas=betas, transl=clip.transl, return_vertices=False, **kw).joints
        sub = slice(None, None, 3)
        verts = free_body.forward(betas=betas, transl=clip.transl[sub], dtype=np.float32,
                                  **{k: v[sub] for k, v in kw.items()}).vertices
        out[name] = (joints, verts[:, :, 2].min(axis=1).astype(np.float64))
    return out


def support_stats(joints: np.ndarray) -> dict:
    """Stance frames and their worst support height/speed (definitions in the docstring).

    The support joint is the slowest of the foot joints within 1 cm of the lowest one (a
    foot lifting off at the floor level is not what carries the body); a stance frame has
    the support joint's vertical speed <= STANCE_VZ in it and both neighbouring frames
    (so the apex of a flight, where the vertical speed passes zero, is not a stance).
    """
    feet = joints[:, FOOT_JOINTS]                     # (F,4,3)
    vel = np.gradient(feet, 1.0 / FPS, axis=0)
    z = feet[:, :, 2]
    near = z <= z.min(axis=1, keepdims=True) + 0.01
    speed = np.where(near, np.linalg.norm(vel, axis=2), np.inf)
    sup = np.argmin(speed, axis=1)
    f = np.arange(len(feet))
    zs = z[f, sup]
    slow = np.abs(vel[f, sup, 2]) <= STANCE_VZ
    stance = slow.copy()
    stance[1:] &= slow[:-1]
    stance[:-1] &= slow[1:]
    vh = np.linalg.norm(vel[f, sup, :2], axis=1)
    runs, run = [], 0
    for s in stance:
        run = 0 if s else run + 1
        runs.append(run)
    return dict(stance=stance, max_height=float(zs[stance].max()), min_height=float(z.min()),
                max_skate=float(vh[stance].max()), airborne=int((~stance).sum()),
                longest_air=max(runs) / FPS)


def planted_slip(joints: np.ndarray) -> float:
    """Worst horizontal speed of any foot joint between two frames in which it rests at
    its own lowest level (within 5 mm): a stricter skating check that needs no support rule."""
    feet = joints[:, FOOT_JOINTS]
    z = feet[:, :, 2]
    rest = z <= z.min(axis=0) + 0.005
    both = rest[1:] & rest[:-1]
    step = np.linalg.norm(np.diff(feet[:, :, :2], axis=0), axis=2) * FPS
    return float(step[both].max())


def rot_steps(clip) -> float:
    """Largest frame-to-frame change of any joint's local rotation (incl. global_orient), rad."""
    aa = clip.full_pose().reshape(clip.num_frames, 55, 3)
    r = axis_angle_to_matrix(aa)
    rel = np.einsum("fjba,fjbc->fjac", r[:-1], r[1:])
    cos = np.clip((np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0)
    return float(np.arccos(cos).max())


def bend_angles(clip) -> dict:
    """Flexion of knees and elbows (> 0 anatomical) and the worst finger hyperextension."""
    r = axis_angle_to_matrix(clip.full_pose().reshape(clip.num_frames, 55, 3))
    out = {}
    for side in ("left", "right"):
        shin = r[:, JOINT_INDEX[f"{side}_knee"]] @ np.array([0.0, -1.0, 0.0])
        out[f"{side}_knee"] = np.arctan2(-shin[:, 2], -shin[:, 1])       # shin swings back
        rest = np.array([1.0 if side == "left" else -1.0, 0.0, 0.0])
        fore = r[:, JOINT_INDEX[f"{side}_elbow"]] @ rest
        out[f"{side}_elbow"] = np.arcsin(np.clip(fore[:, 2], -1, 1))      # forearm swings forward
        fingers = [JOINT_INDEX[f"{side}_{f}{k}"] for f in ("index", "middle", "ring", "pinky") for k in (1, 2, 3)]
        tips = r[:, fingers] @ rest
        out[f"{side}_fingers"] = -np.arcsin(np.clip(tips[..., 1], -1, 1))  # curl toward the palm (-Y)
    return out


# ----------------------------------------------------------------------------- files

def test_every_clip_is_committed_and_listed():
    files = {p.stem for p in MOTIONS.glob("*.npz")}
    assert set(EXPECTED) <= set(pm.CLIPS)
    assert files == set(pm.CLIPS)
    readme = (MOTIONS / "README.md").read_text()
    for name in pm.CLIPS:
        assert f"`{name}`" in readme


@pytest.mark.parametrize("name", EXPECTED)
def test_clip_is_amass_smplx(name, clips):
    clip = clips[name]
    with np.load(MOTIONS / f"{name}.npz", allow_pickle=False) as raw:
        assert raw["poses"].shape == (clip.num_frames, 165)
        assert float(raw["mocap_frame_rate"]) == FPS
        assert str(raw["surface_model_type"]) == "smplx"
        assert raw["betas"].shape == (16,)
    assert clip.source_format == "smplx"
    assert clip.fps == FPS and clip.gender == "neutral"
    assert np.array_equal(clip.betas, np.zeros(16))
    assert 2.0 <= clip.duration <= 10.0
    for key in POSE_PARAM_NAMES + ("transl",):
        assert np.all(np.isfinite(getattr(clip, key))), key
    # Starts above the origin facing -Y (the documented convention).
    assert np.allclose(clip.transl[0, :2], 0.0, atol=0.06)
    fwd = axis_angle_to_matrix(clip.global_orient[0]) @ np.array([0.0, 0.0, 1.0])
    assert fwd[1] < -0.95


# ----------------------------------------------------------------------------- physics

@pytest.mark.parametrize("name", EXPECTED)
def test_feet_touch_the_floor_without_skating(name, posed):
    joints, lowest_vertex = posed[name]
    s = support_stats(joints)
    assert s["max_height"] <= MAX_STANCE_HEIGHT, s
    assert s["max_skate"] <= MAX_SKATE, s
    assert s["min_height"] >= 0.0, s                  # joints never below the floor
    assert planted_slip(joints) <= MAX_SKATE
    if name in AIRBORNE_CLIPS:
        assert s["longest_air"] <= MAX_AIRBORNE, s
    else:
        assert s["airborne"] == 0, s
    # The mesh: soles on the floor in stance, never more than 1 cm into it.
    assert lowest_vertex.min() >= -0.01
    stance_sub = s["stance"][::3]
    assert np.abs(lowest_vertex[stance_sub]).max() <= 0.015


@pytest.mark.parametrize("name", EXPECTED)
def test_speeds_and_smoothness(name, clips, posed):
    joints, _ = posed[name]
    pelvis_speed = np.linalg.norm(np.diff(joints[:, 0], axis=0), axis=1) * FPS
    assert pelvis_speed.max() <= MAX_ROOT_SPEED
    assert rot_steps(clips[name]) <= MAX_ROT_STEP
    # No joint teleports: every joint moves less than 0.4 m per frame (12 m/s).
    assert np.linalg.norm(np.diff(joints, axis=0), axis=2).max() <= 0.4


@pytest.mark.parametrize("name", EXPECTED)
def test_joints_bend_the_anatomical_way(name, clips):
    for key, angle in bend_angles(clips[name]).items():
        assert angle.min() >= -BEND_TOL, (key, np.degrees(angle.min()))


def test_locomotion_actually_moves(posed):
    """Guards against a degenerate generator: the walks and the jog cover ground."""
    for name, speed in (("walk_straight", 1.0), ("jog", 2.2), ("walk_curve", 0.9)):
        joints, _ = posed[name]
        path = np.linalg.norm(np.diff(joints[:, 0, :2], axis=0), axis=1).sum()
        assert path / (len(joints) / FPS) >= speed
    joints, _ = posed["jump"]
    assert joints[:, 0, 2].max() - joints[0, 0, 2] >= 0.2


def test_checks_catch_broken_motions(clips, free_body):
    """The measures above do flag a sliding, sinking, hovering or hyperextended walk."""
    clip = clips["walk_straight"]
    kw = {k: getattr(clip, k) for k in POSE_PARAM_NAMES}

    def joints(transl, **over):
        return free_body.forward(transl=transl, return_vertices=False, **{**kw, **over}).joints

    drift = clip.transl + np.outer(np.arange(clip.num_frames) / FPS, [0.3, 0.0, 0.0])
    assert support_stats(joints(drift))["max_skate"] > MAX_SKATE
    assert planted_slip(joints(drift)) > MAX_SKATE
    assert support_stats(joints(clip.transl - [0.0, 0.0, 0.05]))["min_height"] < 0.0
    assert support_stats(joints(clip.transl + [0.0, 0.0, 0.05]))["max_height"] > MAX_STANCE_HEIGHT
    bent = clip.full_pose().reshape(clip.num_frames, 55, 3).copy()
    bent[:, JOINT_INDEX["left_knee"]] *= -1.0
    broken = type(clip)(**{**clip.__dict__, "body_pose": bent[:, 1:22].reshape(clip.num_frames, 63)})
    assert bend_angles(broken)["left_knee"].min() < -BEND_TOL


# ----------------------------------------------------------------------------- determinism

def test_regenerated_clip_matches_the_file(free_body):
    rig = Rig.from_body_model(free_body)
    clip = pm.generate_clip("wave", rig)
    data = pm.clip_to_npz_bytes(clip)
    assert data == pm.clip_to_npz_bytes(clip)          # no time stamps or random names
    assert data == (MOTIONS / "wave.npz").read_bytes()
    with np.load(MOTIONS / "wave.npz") as raw:
        assert np.array_equal(raw["poses"], clip.full_pose())
        assert np.array_equal(raw["trans"], clip.transl)


def test_generator_rejects_unknown_names(free_body):
    with pytest.raises(ValueError, match="unknown procedural clip"):
        pm.generate_clip("moonwalk", Rig.from_body_model(free_body))


def test_pchip_holds_flat_keys_and_is_monotone():
    t = np.linspace(0.0, 3.0, 301)
    v = keys(t, (0.0, 0.0), (1.0, 0.0), (2.0, 1.0), (3.0, 1.0))
    assert np.all(v[t <= 1.0] == 0.0) and np.all(v[t >= 2.0] == 1.0)
    assert np.all(np.diff(v) >= 0.0)


def test_check_mode_detects_a_changed_file(tmp_path):
    """generate_motions.py --check compares bytes (here on one clip in a scratch folder)."""
    cmd = [sys.executable, str(MOTIONS / "generate_motions.py"), "--out", str(tmp_path), "--only", "wave"]
    subprocess.run(cmd, check=True, capture_output=True, cwd=tmp_path)
    f = tmp_path / "wave.npz"
    assert f.read_bytes() == (MOTIONS / "wave.npz").read_bytes()
    ok = subprocess.run(cmd + ["--check"], capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 1
    f.write_bytes(bytes(data))
    bad = subprocess.run(cmd + ["--check"], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1 and "wave" in bad.stdout + bad.stderr
