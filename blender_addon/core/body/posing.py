"""A person's SMPL-X parameters per frame: clip window, placement in the world, camera frame.

SMPL-X rotates the body about the pelvis joint J0 of the shaped rest pose, so moving a
posed body rigidly by (R, d) is not just R @ transl + d: it is

    global_orient' = R @ global_orient
    transl'        = R @ (J0 + transl) + d - J0

The same identity gives the camera-frame parameters with (R, d) = world_to_cam.
"""
from __future__ import annotations

import numpy as np

from ..geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from ..motion.amass import MotionClip

POSE_KEYS = ("global_orient", "body_pose", "jaw_pose", "leye_pose", "reye_pose", "left_hand_pose", "right_hand_pose")


def clip_window(clip: MotionClip, start: int, frames: int) -> dict:
    """Frames [start, start + frames) of a clip; a clip that runs out holds its last pose."""
    idx = np.minimum(np.arange(start, start + frames), clip.num_frames - 1)
    idx = np.maximum(idx, 0)
    out = {k: v[idx].copy() for k, v in clip.pose_params().items()}
    out["transl"] = clip.transl[idx].copy()
    if clip.expression is not None:
        out["expression"] = clip.expression[idx].copy()
    return out


def rigid_move(params: dict, pelvis_rest: np.ndarray, rotation: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(global_orient, transl) after moving the posed body by x -> rotation @ x + offset.

    rotation: (3,3) or (F,3,3); offset: (3,) or (F,3); pelvis_rest: (3,) or (F,3).
    """
    R = np.asarray(rotation, dtype=np.float64)
    orient = matrix_to_axis_angle(R @ axis_angle_to_matrix(params["global_orient"]))
    J0 = np.asarray(pelvis_rest, dtype=np.float64)
    moved = np.einsum("...ij,...j->...i", R, J0 + params["transl"]) + offset - J0
    return orient, moved


def yaw_matrix(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def place(params: dict, pelvis_rest: np.ndarray, x: float, y: float, z: float, yaw: float) -> dict:
    """World-frame parameters of a clip window turned by yaw about the world Z axis through
    the origin and then shifted by (x, y, z)."""
    out = dict(params)
    out["global_orient"], out["transl"] = rigid_move(params, pelvis_rest, yaw_matrix(yaw), np.array([x, y, z]))
    return out


def to_camera(params_world: dict, pelvis_rest: np.ndarray, world_to_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(global_orient_cam, transl_cam): SMPL-X with these yields world_to_cam applied to the
    world vertices exactly."""
    w2c = np.asarray(world_to_cam, dtype=np.float64)
    return rigid_move(params_world, pelvis_rest, w2c[..., :3, :3], w2c[..., :3, 3])


def facing_yaw(global_orient: np.ndarray) -> float:
    """Heading (radians about Z) of a body: SMPL-X bodies face their model +Z axis."""
    forward = axis_angle_to_matrix(np.asarray(global_orient, dtype=np.float64)) @ np.array([0.0, 0.0, 1.0])
    return float(np.arctan2(forward[1], forward[0]))
