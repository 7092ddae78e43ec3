"""Rotation conversions in numpy, batched over leading axes.

Axis-angle is the SMPL-X/AMASS parameterisation; quaternions (w, x, y, z) are used for
slerp when resampling motions.
"""
from __future__ import annotations

import numpy as np


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """Rodrigues' formula: (..., 3) axis-angle -> (..., 3, 3) rotation matrices."""
    aa = np.asarray(aa)
    dtype = aa.dtype if aa.dtype in (np.float32, np.float64) else np.float64
    aa = aa.astype(dtype, copy=False)
    angle = np.sqrt(np.sum(aa * aa, axis=-1, keepdims=True))
    safe = np.where(angle < 1e-12, 1.0, angle)
    axis = aa / safe
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zeros = np.zeros_like(x)
    skew = np.stack([zeros, -z, y, z, zeros, -x, -y, x, zeros], axis=-1).reshape(aa.shape[:-1] + (3, 3))
    s = np.sin(angle)[..., None]
    c = np.cos(angle)[..., None]
    eye = np.eye(3, dtype=dtype)
    return eye + s * skew + (1.0 - c) * (skew @ skew)


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions (w, x, y, z), w >= 0."""
    m = np.asarray(m, dtype=np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    q = np.stack([
        1.0 + m00 + m11 + m22,
        1.0 + m00 - m11 - m22,
        1.0 - m00 + m11 - m22,
        1.0 - m00 - m11 + m22,
    ], axis=-1)
    q = np.sqrt(np.maximum(q, 0.0)) / 2.0
    # Recover signs from the off-diagonal terms, relative to the largest component.
    best = np.argmax(q, axis=-1)
    out = np.empty(m.shape[:-2] + (4,), dtype=np.float64)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    cand = np.stack([
        np.stack([w, (m[..., 2, 1] - m[..., 1, 2]) / (4 * np.maximum(w, 1e-12)),
                  (m[..., 0, 2] - m[..., 2, 0]) / (4 * np.maximum(w, 1e-12)),
                  (m[..., 1, 0] - m[..., 0, 1]) / (4 * np.maximum(w, 1e-12))], -1),
        np.stack([(m[..., 2, 1] - m[..., 1, 2]) / (4 * np.maximum(x, 1e-12)), x,
                  (m[..., 0, 1] + m[..., 1, 0]) / (4 * np.maximum(x, 1e-12)),
                  (m[..., 0, 2] + m[..., 2, 0]) / (4 * np.maximum(x, 1e-12))], -1),
        np.stack([(m[..., 0, 2] - m[..., 2, 0]) / (4 * np.maximum(y, 1e-12)),
                  (m[..., 0, 1] + m[..., 1, 0]) / (4 * np.maximum(y, 1e-12)), y,
                  (m[..., 1, 2] + m[..., 2, 1]) / (4 * np.maximum(y, 1e-12))], -1),
        np.stack([(m[..., 1, 0] - m[..., 0, 1]) / (4 * np.maximum(z, 1e-12)),
                  (m[..., 0, 2] + m[..., 2, 0]) / (4 * np.maximum(z, 1e-12)),
                  (m[..., 1, 2] + m[..., 2, 1]) / (4 * np.maximum(z, 1e-12)), z], -1),
    ], axis=-2)
    out = np.take_along_axis(cand, best[..., None, None], axis=-2)[..., 0, :]
    out = out * np.where(out[..., :1] < 0, -1.0, 1.0)
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) quaternions (w, x, y, z) -> (..., 3, 3) rotation matrices."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], axis=-1).reshape(q.shape[:-1] + (3, 3))


def axis_angle_to_quaternion(aa: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle -> (..., 4) quaternions (w, x, y, z); exact near zero."""
    aa = np.asarray(aa, dtype=np.float64)
    angle = np.linalg.norm(aa, axis=-1, keepdims=True)
    half = angle / 2.0
    # sin(a/2)/a, with its Taylor series near zero.
    k = np.where(angle < 1e-6, 0.5 - angle**2 / 48.0, np.sin(half) / np.where(angle < 1e-6, 1.0, angle))
    return np.concatenate([np.cos(half), aa * k], axis=-1)


def quaternion_to_axis_angle(q: np.ndarray) -> np.ndarray:
    """(..., 4) quaternions -> (..., 3) axis-angle with angle in [0, pi]."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    q = q * np.where(q[..., :1] < 0, -1.0, 1.0)
    s = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., :1])
    k = np.where(s < 1e-8, 2.0, angle / np.where(s < 1e-8, 1.0, s))
    return q[..., 1:] * k


def matrix_to_axis_angle(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 3) axis-angle."""
    return quaternion_to_axis_angle(matrix_to_quaternion(m))


def slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between unit quaternions, taking the short way round.

    q0, q1: (..., 4); t: broadcastable to (...,) in [0, 1].
    """
    q0 = np.asarray(q0, dtype=np.float64)
    q1 = np.asarray(q1, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_theta = np.sin(theta)
    near = sin_theta < 1e-6
    safe = np.where(near, 1.0, sin_theta)
    w0 = np.where(near, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    w1 = np.where(near, t, np.sin(t * theta) / safe)
    out = w0 * q0 + w1 * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)
