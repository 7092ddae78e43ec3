"""Fabric presets, cloth-simulation settings, the pre-roll timeline and garment checks (numpy).

Why here and not in scene/: the recipe names a fabric and simulation settings; the numbers they
map to, the pre-roll motion and the per-frame checks are plain maths that tests and tools use
without Blender. scene/clothing/cloth.py applies them to Blender's cloth modifier.

Timeline: Blender 4.5's cloth point cache drops frame 0 when the cache starts at a negative
frame (measured: frames -10..-1 and 1.. are cached, frame 0 is not, and after baking frame 0
reads back a wrong state), so the pre-roll cannot live at negative frames. Instead the whole
scene is shifted: the simulation starts at Blender frame ``SIM_START_FRAME`` (1) with the body
in the garments' reference pose (core.clothing.garments: the A-pose by default, the zero pose for 'T'),
the pre-roll runs over ``preroll`` frames, and sequence frame k (file frame k, from 0) is
Blender frame ``k + sequence_frame_offset(preroll)``.
"""
from __future__ import annotations

import numpy as np

from ..geometry.rotations import axis_angle_to_quaternion, quaternion_to_axis_angle, slerp

SIM_START_FRAME = 1


def sequence_frame_offset(preroll: int) -> int:
    """Blender frame of sequence frame 0: the simulation starts at SIM_START_FRAME with the
    rest pose, `preroll` frames before the sequence."""
    return SIM_START_FRAME + int(preroll)


def _ease(n_preroll: int, settle: int) -> np.ndarray:
    """Blend weights of the pre-roll frames: 0 for `settle` frames, then smoothstep towards 1
    (reached at sequence frame 0, which follows the last pre-roll frame)."""
    i = np.arange(n_preroll, dtype=np.float64)
    u = np.clip((i - settle) / max(n_preroll - settle, 1), 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


RUN_UP = 10  # pre-roll frames over which the root reaches the sequence's starting velocity


def _start_velocity(transl: np.ndarray) -> np.ndarray:
    """Root velocity at frame 0, per frame (zero for a one-frame sequence)."""
    return transl[1] - transl[0] if len(transl) > 1 else np.zeros(transl.shape[1])


def _run_up(n_preroll: int, settle: int) -> np.ndarray:
    """Distance (in frame-0 velocities) the root still has to travel to frame 0, per pre-roll
    frame: velocity ramps linearly from 0 to 1 over the last `r` frames, so the distance from
    k frames before frame 0 is k - k²/2r, and r/2 before the ramp."""
    r = max(1, min(RUN_UP, n_preroll - settle))
    k = np.arange(n_preroll, 0, -1, dtype=np.float64)  # frames before frame 0
    return np.where(k <= r, k - k * k / (2.0 * r), r / 2.0)


def preroll_params(params: dict, n_preroll: int, settle: int = 0, start_body_pose=None) -> dict:
    """World-frame SMPL-X params for frames [-n_preroll, F): the body moves from the garments'
    reference pose (`start_body_pose` (63,), zero = the rest pose) into frame 0's pose, then the
    sequence.

    Joint rotations are slerped from the start pose (identity for joints outside body_pose) to
    frame 0's; global_orient is held at frame 0's. The root translation runs up to frame 0's
    velocity over the last RUN_UP frames (standing still before), so the sequence does not start
    with a jerk: a body that starts walking at 1.2 m/s out of a standstill tugged the T-shirt hem
    over the shorts to 1.6x stretch on the first sequence frames. Expression is blended
    linearly from zero. Keys missing from `params` stay missing.
    """
    if "global_orient" not in params or "body_pose" not in params:
        raise ValueError("params need at least 'global_orient' (F,3) and 'body_pose' (F,63)")
    n_preroll = int(n_preroll)
    if n_preroll < 1:
        raise ValueError("n_preroll must be at least 1")
    t = _ease(n_preroll, settle)
    out = {}
    for key, value in params.items():
        if value is None:
            out[key] = None
            continue
        arr = np.asarray(value, dtype=np.float64)
        if key in ("betas",) or arr.ndim != 2:
            out[key] = value
            continue
        first = arr[0]
        if key == "transl":
            pre = first[None] - _run_up(n_preroll, settle)[:, None] * _start_velocity(arr)[None]
        elif key == "global_orient":
            pre = np.repeat(first[None], n_preroll, axis=0)
        elif key == "expression":
            pre = t[:, None] * first[None]
        else:  # a block of axis-angle joints
            aa = first.reshape(-1, 3)
            q1 = axis_angle_to_quaternion(aa)                                # (J, 4)
            if key == "body_pose" and start_body_pose is not None:
                q0 = axis_angle_to_quaternion(np.asarray(start_body_pose, dtype=np.float64).reshape(-1, 3))
            else:
                q0 = np.zeros_like(q1)
                q0[:, 0] = 1.0
            q = slerp(np.broadcast_to(q0, (n_preroll,) + q0.shape),
                      np.broadcast_to(q1, (n_preroll,) + q1.shape), t[:, None])
            pre = quaternion_to_axis_angle(q).reshape(n_preroll, -1)
        out[key] = np.concatenate([pre, arr], axis=0)
    return out


