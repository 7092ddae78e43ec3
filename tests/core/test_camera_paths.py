"""core.camera.paths: lens draws, motion paths and framing, checked independently of the sampler.

Bodies are the free body driven by the bundled procedural motions (a jogger, a dancer, a
walker on a curve, ...), placed by hand; every constraint is re-measured here on all joints
and all vertices of every frame, through core.dataset.labels.camera_per_frame as the labels see it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mayhem.core.body.model import load_body_model
from mayhem.core.body.posing import clip_window, facing_yaw, place
from mayhem.core.camera.paths import (
    BODY_JOINTS,
    HEAD_TORSO_JOINTS,
    MOTION_TYPES,
    body_for_framing,
    draw_focal,
    sample_camera,
    smooth_path,
)
from mayhem.core.camera.pinhole import intrinsics
from mayhem.core.config import config_from_dict
from mayhem.core.dataset.labels import camera_matrices, camera_per_frame
from mayhem.core.errors import MayhemInputError
from mayhem.core.motion.amass import load_amass

ROOT = Path(__file__).resolve().parents[2]
FPS, FRAMES = 30.0, 45
# (clip, x, y, yaw): one jogger alone; a group of three doing different things.
SCENES = {
    "solo": [("jog", 0.0, 0.0, 0.3)],
    "group": [("walk_curve", -1.5, 0.5, 0.0), ("dance", 1.2, -0.4, 2.0), ("wave", 0.2, 1.8, -1.5)],
}


def _scene(model, spec):
    bodies = []
    for name, x, y, yaw in spec:
        clip = load_amass(ROOT / "assets" / "motions" / f"{name}.npz", target_fps=FPS)
        window = clip_window(clip, 0, FRAMES)
        betas = np.zeros(10)
        rest = model.forward(betas=betas, return_vertices=False).rest_joints[:, 0]
        params = place(window, rest, x, y, 0.0, yaw)
        kw = {k: v for k, v in params.items() if k not in ("betas", "expression")}
        out = model.forward(betas=betas, **kw, dtype=np.float64)
        dz = -out.vertices[..., 2].min()
        verts, joints = out.vertices + [0, 0, dz], out.joints + [0, 0, dz]
        bodies.append(body_for_framing(joints, verts, model.weights, facing_yaw(params["global_orient"][0])))
    return bodies


@pytest.fixture(scope="module")
def scenes(free_body_path):
    model = load_body_model(free_body_path)
    return {name: _scene(model, spec) for name, spec in SCENES.items()}


def _camera_config(**over):
    cam = {"resolution": [320, 180], "shake_probability": 0.5}
    cam.update(over)
    return config_from_dict({"camera": cam}).camera


def _sample(cfg, bodies, seed):
    W, H = cfg.resolution
    return sample_camera(cfg, bodies, W, H, FRAMES, FPS, np.random.default_rng(seed))


def _per_frame(cam, W, H):
    return camera_matrices(cam, FRAMES, W, H)


def _proj(points, K, M):
    """Pinhole projection per frame, written out here (matmul) so the check does not reuse
    the sampler's code: points (F, N, 3), K (F,3,3), M (F,4,4) -> pixels (F,N,2), depth (F,N)."""
    pc = np.matmul(points, M[:, :3, :3].transpose(0, 2, 1)) + M[:, None, :3, 3]
    uvw = np.matmul(pc, K.transpose(0, 2, 1))
    return uvw[..., :2] / uvw[..., 2:], pc[..., 2]


def _eyes(M):
    return -np.einsum("fji,fj->fi", M[:, :3, :3], M[:, :3, 3])


def _verify_framing(cam, cfg, bodies):
    """Re-measure every framing promise on all joints and vertices of every frame."""
    W, H = cfg.resolution
    K, M = _per_frame(cam, W, H)
    closeup = cam["closeup"]
    joint_ids = HEAD_TORSO_JOINTS if closeup else BODY_JOINTS
    need = cfg.closeup_min_joints_in_view if closeup else cfg.min_joints_in_view
    eyes = _eyes(M)
    assert eyes[:, 2].min() >= 0.1
    in_view = []
    for p, b in enumerate(bodies):
        uv, z = _proj(b.joints[:, joint_ids], K, M)
        inside = (z > 0) & (uv[..., 0] >= 0) & (uv[..., 0] <= W - 1) & (uv[..., 1] >= 0) & (uv[..., 1] <= H - 1)
        if inside.sum(axis=1).min() >= need:
            in_view.append(p)
        verts = b.all_vertices()
        assert np.linalg.norm(verts - eyes[:, None], axis=-1).min() >= cfg.min_body_distance_m
        if cfg.frame_people and not closeup:
            uv, z = _proj(verts, K, M)
            assert (z > 0).all() and (uv >= 0).all() and (uv[..., 0] <= W - 1).all() and (uv[..., 1] <= H - 1).all()
    assert len(in_view) >= min(cfg.min_people_in_view, len(bodies))
    assert set(cam["framing"]["people_in_view"]) == set(in_view)
    if closeup or cam["motion"]["type"] == "follow":
        assert cam["motion"].get("person", cam["subjects"][0]) in in_view
    return K, M


VARIANTS = {
    "whole_bodies": {},
    "joints_only": {"frame_people": False, "min_people_in_view": 2, "min_joints_in_view": 15, "subject_fill": [0.6, 1.4]},
    "closeup": {"closeup_probability": 1.0},
    "closeup_portrait": {"closeup_probability": 1.0, "resolution": [180, 320]},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("motion", MOTION_TYPES)
def test_framing_holds_on_every_frame(scenes, motion, variant):
    cfg = _camera_config(motions=[motion], motion_weights=[1.0], **VARIANTS[variant])
    for scene in ("solo", "group"):
        for seed in range(3):
            cam = _sample(cfg, scenes[scene], seed)
            assert cam["motion"]["type"] == motion or cam["framing"]["status"] == "static_fallback"
            assert cam["framing"]["status"] in ("ok", "widened", "static_fallback")
            _verify_framing(cam, cfg, scenes[scene])


@pytest.mark.parametrize("motion", MOTION_TYPES)
def test_paths_are_smooth_rigid_motions(scenes, motion):
    """Valid rotations on every frame and bounded per-frame change: no jumps anywhere."""
    cfg = _camera_config(motions=[motion], motion_weights=[1.0], shake_probability=1.0)
    # Bounds from the config: fastest turn (pan/orbit) plus the fastest shake turn; fastest
    # travel (dolly/orbit cap, or a followed person) plus the fastest shake displacement.
    f_max = cfg.shake_frequency_hz[1]
    shake_turn = 2 * np.pi * f_max * cfg.shake_rotation_deg[1] * 1.5
    turn = (max(cfg.pan_speed_deg_s[1], cfg.orbit_speed_deg_s[1]) + shake_turn) / FPS
    person = max(np.linalg.norm(np.diff(b.joints[:, 0], axis=0), axis=1).max() for bs in scenes.values() for b in bs)
    shake_move = 2 * np.pi * f_max * cfg.shake_position_cm[1] / 100 * np.sqrt(3) / FPS
    move = max(cfg.max_speed_m_s / FPS, person) + shake_move
    for scene in ("solo", "group"):
        for seed in range(4):
            cam = _sample(cfg, scenes[scene], seed)
            assert cam["kind"] == "moving" and np.asarray(cam["world_to_cam"]).shape == (FRAMES, 4, 4)
            _, M = _per_frame(cam, *cfg.resolution)
            R = M[:, :3, :3]
            np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-10)
            np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-10)
            np.testing.assert_array_equal(M[:, 3], np.broadcast_to([0, 0, 0, 1.0], (FRAMES, 4)))
            rel = np.einsum("fij,fkj->fik", R[1:], R[:-1])
            angle = np.degrees(np.arccos(np.clip((np.trace(rel, axis1=1, axis2=2) - 1) / 2, -1, 1)))
            assert angle.max() <= 1.05 * turn + 1e-9, (scene, seed, angle.max(), turn)
            eyes = _eyes(M)
            step = np.linalg.norm(np.diff(eyes, axis=0), axis=1)
            assert step.max() <= 1.05 * move, (scene, seed, step.max(), move)
            # No jumps: the per-frame step itself changes smoothly (a 5 cm teleport would not).
            assert np.linalg.norm(np.diff(eyes, 2, axis=0), axis=1).max() <= 0.01, (scene, seed)


def test_static_camera_has_no_per_frame_matrices(scenes):
    cfg = _camera_config(motions=["static"], motion_weights=[1.0], shake_probability=0.0)
    cam = _sample(cfg, scenes["group"], 0)
    assert cam["kind"] == "static" and "world_to_cam" not in cam and cam["shake"] is None
    _, M = _per_frame(cam, *cfg.resolution)
    assert np.ptp(M, axis=0).max() == 0.0
    np.testing.assert_allclose(_eyes(M)[0], cam["eye"], atol=1e-12)


def test_follow_keeps_the_person_near_the_centre(scenes):
    cfg = _camera_config(motions=["follow"], motion_weights=[1.0], shake_probability=0.0)
    W, H = cfg.resolution
    for scene in ("solo", "group"):
        for seed in range(4):
            cam = _sample(cfg, scenes[scene], seed)
            K, M = _per_frame(cam, W, H)
            person = scenes[scene][cam["motion"]["person"]]
            uv, z = _proj(person.joints[:, :1], K, M)  # pelvis
            uv = uv[:, 0]
            off = np.linalg.norm(uv - K[:, :2, 2], axis=1) / np.hypot(W, H)
            assert off.max() <= 0.1, (scene, seed, off.max())
            # the jogger covers metres in 1.5 s, so the camera really travels with them
            if scene == "solo":
                assert np.linalg.norm(_eyes(M)[-1] - _eyes(M)[0]) > 1.0


def test_portrait_turns_the_sensor_and_keeps_k(scenes):
    cfg = _camera_config(resolution=[720, 1280], closeup_probability=1.0)
    cam = _sample(cfg, scenes["solo"], 1)
    assert cam["orientation"] == "portrait" and cam["sensor_fit"] == "HORIZONTAL"
    assert cam["sensor_width_mm"] == pytest.approx(20.25) and cam["sensor_long_side_mm"] == 36.0
    K, _ = _per_frame(cam, 720, 1280)
    # the same lens gives the same focal length in pixels as on a landscape 1280x720 frame
    f = cam["focal_mm"] / 36.0 * 1280
    np.testing.assert_allclose(K[0], [[f, 0, 359.5], [0, f, 639.5], [0, 0, 1]], rtol=1e-12)
    assert cam["fov_deg"][1] > cam["fov_deg"][0]


def test_focal_distribution():
    rng = np.random.default_rng(0)
    f = np.array([draw_focal(rng, [14.0, 300.0]) for _ in range(20000)])
    assert f.min() >= 14.0 and f.max() <= 300.0
    # log-uniform: each of 4 equal steps in log focal holds a quarter of the draws
    edges = np.exp(np.linspace(np.log(14.0), np.log(300.0), 5))
    share = np.histogram(f, edges)[0] / len(f)
    np.testing.assert_allclose(share, 0.25, atol=0.015)
    u = np.array([draw_focal(rng, [14.0, 300.0], "uniform") for _ in range(20000)])
    assert abs(u.mean() - 157.0) < 3.0
    assert draw_focal(rng, [50.0, 50.0]) == 50.0


def test_focal_from_cameras_within_range(scenes):
    cfg = _camera_config(focal_mm=[20, 200], closeup_focal_mm=[85, 100], closeup_probability=0.5)
    for seed in range(12):
        cam = _sample(cfg, scenes["solo"], seed)
        lo, hi = (85, 100) if cam["closeup"] else (20, 200)
        assert lo <= cam["focal_mm"] <= hi


def test_same_seed_same_camera_bytes(scenes):
    cfg = _camera_config()
    for seed in range(4):
        a = json.dumps(_sample(cfg, scenes["group"], seed), sort_keys=True)
        b = json.dumps(_sample(cfg, scenes["group"], seed), sort_keys=True)
        assert a == b
    assert json.dumps(_sample(cfg, scenes["group"], 0)) != json.dumps(_sample(cfg, scenes["group"], 1))


def test_fallback_widens_and_records(scenes):
    """A distance cap far too short for a 200 mm lens: every draw fails, the first is pulled
    back until the framing holds, and the recipe says so."""
    cfg = _camera_config(focal_mm=200, distance_m=[0.5, 1.0], framing_attempts=2, motions=["orbit"], motion_weights=[1.0])
    cam = _sample(cfg, scenes["group"], 0)
    fr = cam["framing"]
    assert fr["status"] == "widened" and fr["attempts"] == 2 and fr["widen_factor"] > 1.0
    assert fr["first_failure"] in ("body_cut", "too_close", "too_few_in_view")
    assert cam["distance_m"] > 1.0
    _verify_framing(cam, cfg, scenes["group"])


def test_clearance_from_bodies(scenes):
    cfg = _camera_config(min_body_distance_m=2.5, focal_mm=14, distance_m=[0.5, 100.0], motions=["dolly"],
                         motion_weights=[1.0])
    for seed in range(3):
        _verify_framing(_sample(cfg, scenes["group"], seed), cfg, scenes["group"])


def test_smooth_path_keeps_constant_velocity():
    x = np.stack([np.linspace(0, 3, 50), np.zeros(50), np.ones(50)], 1)
    np.testing.assert_allclose(smooth_path(x, 15.0), x, atol=1e-12)
    wobble = x + [0, 0.05, 0] * np.sin(np.arange(50) * 2.0)[:, None]
    smooth = smooth_path(wobble, 5.0)[:, 1]
    assert np.abs(smooth[15:-15]).max() < 0.001 and np.abs(smooth).max() < 0.01  # 5 cm sway: < 1 cm even at the ends


@pytest.mark.parametrize("camera,field,words", [
    ({"motion_weights": [1, 2]}, "camera.motion_weights", "one per motions entry"),
    ({"motion_weights": [0, 0, 0, 0, 0]}, "camera.motion_weights", "not all zero"),
    ({"motions": ["crane"]}, "camera.motions", "among"),
    ({"closeup_min_joints_in_view": 9}, "camera.closeup_min_joints_in_view", "<= 8"),
    ({"min_joints_in_view": 23}, "camera.min_joints_in_view", "<= 22"),
    ({"height_m": [0.0, 2.0]}, "camera.height_m", ">= 0.1"),
    ({"focal_distribution": "normal"}, "camera.focal_distribution", "must be one of"),
])
def test_camera_config_errors_name_the_field(camera, field, words):
    with pytest.raises(MayhemInputError) as err:
        config_from_dict({"camera": camera}, path="c.yaml")
    assert str(err.value).startswith(f"c.yaml: {field}: ") and words in str(err.value)


def test_recipe_camera_through_labels(tmp_path):
    """sample_recipe stores the path; labels read the same per-frame matrices back."""
    from mayhem.core.recipe import AssetCache, sample_recipe
    from mayhem.core.recipe_types import recipe_to_json

    cfg = config_from_dict({"seed": 5, "frames": 6, "people": {"count": [1, 1]},
                            "camera": {"resolution": [160, 90], "motions": ["orbit"], "motion_weights": [1.0]}})
    cache = AssetCache()
    recipe = recipe_to_json(sample_recipe(cfg, 0, cache=cache))
    again = recipe_to_json(sample_recipe(cfg, 0, cache=cache))
    assert json.dumps(recipe["camera"], sort_keys=True) == json.dumps(again["camera"], sort_keys=True)
    cam = json.loads(json.dumps(recipe["camera"]))
    assert cam["kind"] == "moving" and cam["motion"]["type"] == "orbit" and cam["framing"]["status"] == "ok"
    K, M = camera_per_frame({**recipe, "camera": cam})
    np.testing.assert_array_equal(M, np.asarray(cam["world_to_cam"]))
    np.testing.assert_allclose(K[0], intrinsics(cam["focal_mm"], 36.0, 160, 90))
