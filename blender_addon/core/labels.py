"""Exact ground truth of one sequence, computed from its recipe with the numpy body model.

Labels never read anything back from Blender except the rendered depth (for joint
occlusion), so they are exact by construction: the same forward pass that placed the bodies
also produces the vertices, joints and camera-frame parameters.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .camera import cam_points, intrinsics, look_at, project
from .npzio import save_npz
from .people import to_camera
from .recipe import AssetCache, person_params
from .skeleton import JOINT_NAMES, NUM_JOINTS

FORMAT_VERSION = 1
# A joint counts as visible when the rendered surface at its pixel is no more than this much
# in front of it: a body's own surface lies within a few centimetres of its joints, anything
# further in front (another person, a scene object, an arm across the chest) occludes it.
OCCLUSION_TOLERANCE_M = 0.12
MIN_EXPRESSION = 10


def camera_per_frame(recipe: dict) -> tuple[np.ndarray, np.ndarray]:
    """(K (F,3,3), world_to_cam (F,4,4)) of a recipe's camera.

    Moving cameras carry per-frame `world_to_cam` (F x 4 x 4 nested, or F*16 flat); static
    ones only eye/target, looked at with core.camera.look_at exactly as core.camera_paths
    checked their framing. `sensor_width_mm` is the sensor across the image width
    (horizontal fit), so portrait frames need no special case here.
    """
    F = recipe["frames"]
    cam = recipe["camera"]
    W, H = recipe["image"]["width"], recipe["image"]["height"]
    K = intrinsics(cam["focal_mm"], cam["sensor_width_mm"], W, H)
    if "world_to_cam" in cam:  # per-frame matrices (moving cameras)
        w2c = np.asarray(cam["world_to_cam"], dtype=np.float64).reshape(F, 4, 4)
    else:
        w2c = np.repeat(look_at(np.asarray(cam["eye"]), np.asarray(cam["target"]))[None], F, axis=0)
    return np.repeat(K[None], F, axis=0), w2c


def _model_label(person: dict) -> str:
    return "free" if person["model"] == "free" else Path(person["model"]).stem


def compute_labels(recipe: dict, cache: AssetCache | None = None, depth: np.ndarray | None = None) -> dict:
    """All contract arrays for a recipe; ``depth`` (F,H,W) enables the occlusion test."""
    cache = cache or AssetCache()
    F, P = recipe["frames"], len(recipe["people"])
    W, H = recipe["image"]["width"], recipe["image"]["height"]
    K, w2c = camera_per_frame(recipe)
    people = [person_params(p, F, recipe["fps"], cache) for p in recipe["people"]]
    B = max([len(p["betas"]) for p in recipe["people"]] + [0])
    E = max([MIN_EXPRESSION] + [prm["expression"].shape[1] for _, prm, _ in people if "expression" in prm])

    out = {
        "frame": np.arange(F, dtype=np.int64),
        "image_size": np.array([W, H], dtype=np.int64),
        "K": K, "world_to_cam": w2c,
        "model": np.array([_model_label(p) for p in recipe["people"]], dtype=str).reshape(P),
        "gender": np.array([p["gender"] for p in recipe["people"]], dtype=str).reshape(P),
        "betas": np.zeros((P, B), np.float32),
        "expression": np.zeros((F, P, E), np.float32),
        "instance_id": np.array([p["instance_id"] for p in recipe["people"]], dtype=np.int64).reshape(P),
        "joint_names": np.array(JOINT_NAMES),
    }
    for key, width in (("global_orient", 3), ("transl", 3), ("body_pose", 63), ("jaw_pose", 3), ("leye_pose", 3),
                       ("reye_pose", 3), ("left_hand_pose", 45), ("right_hand_pose", 45),
                       ("global_orient_cam", 3), ("transl_cam", 3)):
        out[key] = np.zeros((F, P, width), np.float32)
    out["joints3d_cam"] = np.zeros((F, P, NUM_JOINTS, 3), np.float32)
    out["joints2d"] = np.zeros((F, P, NUM_JOINTS, 2), np.float32)
    out["joints_visible"] = np.zeros((F, P, NUM_JOINTS), bool)
    out["bbox"] = np.zeros((F, P, 4), np.float32)

    for p, (model, params, rest) in enumerate(people):
        out["betas"][p, :len(params["betas"])] = params["betas"]
        if "expression" in params:
            out["expression"][:, p, :params["expression"].shape[1]] = params["expression"]
        for key in ("global_orient", "transl", "body_pose", "jaw_pose", "leye_pose", "reye_pose",
                    "left_hand_pose", "right_hand_pose"):
            out[key][:, p] = params[key]
        pelvis = np.broadcast_to(rest, (F, 3))  # rest pelvis joint, per frame when expression varies
        orient_cam, transl_cam = to_camera(params, pelvis, w2c)
        out["global_orient_cam"][:, p], out["transl_cam"][:, p] = orient_cam, transl_cam
        fwd = model.forward(betas=params["betas"], **{k: v for k, v in params.items() if k != "betas"})
        joints_cam = cam_points(fwd.joints, w2c)
        out["joints3d_cam"][:, p] = joints_cam
        uv, z = project(fwd.joints, K, w2c)
        out["joints2d"][:, p] = uv
        vuv, _ = project(fwd.vertices, K, w2c)
        out["bbox"][:, p] = np.concatenate([vuv.min(axis=1), vuv.max(axis=1)], axis=1)
        out["joints_visible"][:, p] = joint_visibility(uv, z, W, H, depth)
    return out


def joint_visibility(uv: np.ndarray, z: np.ndarray, width: int, height: int, depth: np.ndarray | None) -> np.ndarray:
    """(F,J) bool: joint inside the image, in front of the camera and, with a depth map,
    not hidden behind a surface more than OCCLUSION_TOLERANCE_M in front of it."""
    col = np.rint(uv[..., 0]).astype(np.int64)
    row = np.rint(uv[..., 1]).astype(np.int64)
    inside = (z > 0) & (col >= 0) & (col < width) & (row >= 0) & (row < height)
    if depth is None:
        return inside
    f = np.broadcast_to(np.arange(uv.shape[0])[:, None], col.shape)
    surface = depth[f, np.clip(row, 0, height - 1), np.clip(col, 0, width - 1)]
    return inside & (surface >= z - OCCLUSION_TOLERANCE_M)


def write_labels(path, labels: dict) -> None:
    save_npz(path, labels)
