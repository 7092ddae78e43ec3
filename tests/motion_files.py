"""A small AMASS SMPL-X clip for tests that render people walking (no bundled clip needed)."""
from __future__ import annotations

import numpy as np

from mayhem.core.motion.amass import MotionClip, save_amass_smplx


def write_walking_clip(path, frames: int = 20, fps: float = 30.0) -> None:
    """Arms lowered, hips swinging, walking forward slowly (0.8 m/s along -Y), pelvis 0.95 m up."""
    F = int(frames)
    t = np.arange(F) / fps
    body = np.zeros((F, 63))
    body[:, 15 * 3 + 2] = -1.2  # left_shoulder (joint 16 -> body_pose slot 15) about Z: arm down
    body[:, 16 * 3 + 2] = 1.2   # right_shoulder
    body[:, 0] = 0.3 * np.sin(2 * np.pi * t)   # left hip flexion
    body[:, 3] = -0.3 * np.sin(2 * np.pi * t)  # right hip
    clip = MotionClip(
        global_orient=np.tile([np.pi / 2, 0, 0], (F, 1)), body_pose=body,
        jaw_pose=np.zeros((F, 3)), leye_pose=np.zeros((F, 3)), reye_pose=np.zeros((F, 3)),
        left_hand_pose=np.zeros((F, 45)), right_hand_pose=np.zeros((F, 45)),
        transl=np.stack([np.zeros(F), -0.8 * t, np.full(F, 0.95)], 1),
        betas=np.zeros(16), expression=None, gender="neutral", fps=fps, source="test", source_format="smplx")
    save_amass_smplx(clip, path)
