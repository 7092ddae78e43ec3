"""Pinhole cameras in the label convention, and the bridge to Blender's camera frame.

Labels use OpenCV cameras (x right, y down, z forward; `world_to_cam` 4x4; `K` in pixels with
the centre of the top-left pixel at (0, 0)) in Blender's Z-up world.  Blender cameras look down
their local -Z with +Y up, so the two camera frames differ by diag(1, -1, -1).  Everything here
is pure numpy so recipes and labels can be computed without Blender.

Batching: matrices may carry leading batch (frame) dimensions, (F, 4, 4) and (F, 3, 3); points
then carry the same leading dimensions, (F, ..., 3).
"""
from __future__ import annotations

import numpy as np

# Blender camera axes (x right, y up, looking down -z) -> OpenCV camera axes, and back (involution).
BLENDER_TO_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])


def intrinsics(focal_mm, sensor_width_mm, width: int, height: int) -> np.ndarray:
    """K for a camera whose sensor width spans the image width (Blender's 'HORIZONTAL' fit).

    Square pixels, principal point at the image centre. `focal_mm` may be an array (zooms):
    the result then has shape focal_mm.shape + (3, 3).
    """
    f = np.asarray(focal_mm, dtype=np.float64) / float(sensor_width_mm) * float(width)
    K = np.zeros(f.shape + (3, 3))
    K[..., 0, 0] = f
    K[..., 1, 1] = f
    # The optical axis meets the image at the continuous centre width/2; with pixel centres at
    # integer coordinates starting from 0 that is width/2 - 0.5.
    K[..., 0, 2] = width / 2.0 - 0.5
    K[..., 1, 2] = height / 2.0 - 0.5
    K[..., 2, 2] = 1.0
    return K


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """OpenCV `world_to_cam` (..., 4, 4) of a camera at `eye` looking at `target`, image up ~ `up`.

    When the viewing direction is parallel to `up` (e.g. eye straight above the target) the roll
    is undefined; we then take world +Y (or +X if `up` is Y) as the image-up hint so the result
    is still a valid rotation.
    """
    eye = np.asarray(eye, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    eye, target = np.broadcast_arrays(eye, target)
    up = np.broadcast_to(np.asarray(up, dtype=np.float64), eye.shape)
    forward = target - eye
    dist = np.linalg.norm(forward, axis=-1)
    if np.any(dist < 1e-12):
        raise ValueError("look_at: eye and target coincide")
    z = forward / dist[..., None]
    right = np.cross(z, up)
    degenerate = np.linalg.norm(right, axis=-1) < 1e-9 * np.linalg.norm(up, axis=-1)
    if np.any(degenerate):
        up_abs = np.abs(_normalize(up))
        alt = np.where((up_abs[..., 1] > 0.9)[..., None], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        right = np.where(degenerate[..., None], np.cross(z, alt), right)
    x = _normalize(right)
    y = np.cross(z, x)  # image down
    R = np.stack([x, y, z], axis=-2)
    M = np.zeros(eye.shape[:-1] + (4, 4))
    M[..., :3, :3] = R
    M[..., :3, 3] = -np.einsum("...ij,...j->...i", R, eye)
    M[..., 3, 3] = 1.0
    return M


def invert_rigid(M) -> np.ndarray:
    """Inverse of rigid transforms (..., 4, 4) via the transpose: exact and cheap."""
    M = np.asarray(M, dtype=np.float64)
    R = M[..., :3, :3]
    t = M[..., :3, 3]
    out = np.zeros(M.shape)
    Rt = np.swapaxes(R, -1, -2)
    out[..., :3, :3] = Rt
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", Rt, t)
    out[..., 3, 3] = 1.0
    return out


def _apply(A: np.ndarray, v: np.ndarray, points: np.ndarray) -> np.ndarray:
    """A (B..., 3, 3) @ points (B..., ..., 3) + v (B..., 3), batch dims of A leading in points."""
    batch = A.shape[:-2]
    nb = len(batch)
    if points.shape[:nb] != batch:
        raise ValueError(f"points {points.shape} must start with the matrices' batch shape {batch}")
    flat = points.reshape(batch + (-1, 3))
    out = np.einsum("...ij,...nj->...ni", A, flat) + v[..., None, :]
    return out.reshape(points.shape)


def cam_points(points, world_to_cam) -> np.ndarray:
    """World points (..., 3) -> OpenCV camera-frame points (..., 3)."""
    points = np.asarray(points, dtype=np.float64)
    M = np.asarray(world_to_cam, dtype=np.float64)
    return _apply(M[..., :3, :3], M[..., :3, 3], points)


def project(points, K, world_to_cam) -> tuple[np.ndarray, np.ndarray]:
    """World points (..., 3) -> (pixels (..., 2), depth (..., )) with depth = camera z.

    Points at or behind the camera (depth <= 0) give meaningless pixels; callers check depth.
    """
    pc = cam_points(points, world_to_cam)
    K = np.asarray(K, dtype=np.float64)
    if K.ndim > 2:  # per-frame K: points carry the same leading frame dimensions
        uvw = _apply(K, np.zeros(K.shape[:-2] + (3,)), pc)
    else:
        uvw = pc @ K.T
    depth = pc[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        pix = uvw[..., :2] / depth[..., None]
    return pix, depth


def blender_camera_matrix_world(world_to_cam) -> np.ndarray:
    """OpenCV `world_to_cam` (..., 4, 4) -> Blender camera object's matrix_world (..., 4, 4)."""
    return invert_rigid(world_to_cam) @ BLENDER_TO_OPENCV


def world_to_cam_from_blender(matrix_world) -> np.ndarray:
    """Blender camera matrix_world (..., 4, 4), unscaled -> OpenCV `world_to_cam` (..., 4, 4)."""
    M = np.asarray(matrix_world, dtype=np.float64) @ BLENDER_TO_OPENCV
    return invert_rigid(M)
