"""core.camera.pinhole: intrinsics, look-at extrinsics, projection and the Blender camera bridge (numpy only)."""
from __future__ import annotations

import numpy as np
import pytest

from mayhem.core.camera import pinhole as cc


def _is_rotation(R):
    return np.allclose(R @ np.swapaxes(R, -1, -2), np.eye(3), atol=1e-12) and np.allclose(np.linalg.det(R), 1.0)


def test_intrinsics_numbers():
    K = cc.intrinsics(50.0, 36.0, 1920, 1080)
    f = 50.0 / 36.0 * 1920  # 2666.67 px
    np.testing.assert_allclose(K, [[f, 0, 959.5], [0, f, 539.5], [0, 0, 1]])
    K2 = cc.intrinsics(35.0, 36.0, 160, 90)
    np.testing.assert_allclose(K2[0, 0], 155.5555555555, rtol=1e-10)
    np.testing.assert_allclose(K2[:2, 2], [79.5, 44.5])
    # a zooming camera: one K per frame
    Ks = cc.intrinsics(np.array([24.0, 50.0, 85.0]), 36.0, 640, 480)
    assert Ks.shape == (3, 3, 3)
    np.testing.assert_allclose(Ks[:, 0, 0], np.array([24.0, 50.0, 85.0]) / 36 * 640)


def test_look_at_axes_and_target_on_principal_point():
    eye, target = np.array([1.0, -6.0, 1.7]), np.array([0.2, 0.5, 0.9])
    M = cc.look_at(eye, target)
    R = M[:3, :3]
    assert _is_rotation(R)
    np.testing.assert_allclose(M[:3, :3] @ eye + M[:3, 3], 0, atol=1e-12)  # eye is the origin
    K = cc.intrinsics(35, 36, 640, 480)
    pix, depth = cc.project(target, K, M)
    np.testing.assert_allclose(pix, K[:2, 2], atol=1e-9)
    np.testing.assert_allclose(depth, np.linalg.norm(target - eye))
    # image y (down) points against world up: the world +Z direction has negative camera y
    assert (R @ [0, 0, 1])[1] < 0
    # camera x is horizontal when up is world Z
    assert abs(R[0, 2]) < 1e-12


def test_right_of_camera_has_larger_u_and_up_has_smaller_v():
    # camera at -Y looking along +Y: its right is world +X
    M = cc.look_at([0.0, -5.0, 1.0], [0.0, 0.0, 1.0])
    K = cc.intrinsics(50, 36, 320, 240)
    (u0, v0), _ = cc.project(np.array([0.0, 0.0, 1.0]), K, M)
    (u1, v1), _ = cc.project(np.array([0.5, 0.0, 1.0]), K, M)
    (u2, v2), _ = cc.project(np.array([0.0, 0.0, 1.5]), K, M)
    assert u1 > u0 + 10 and abs(v1 - v0) < 1e-9
    assert v2 < v0 - 10 and abs(u2 - u0) < 1e-9
    # pinhole numbers: 0.5 m at 5 m with f = 50/36*320 px
    np.testing.assert_allclose(u1 - u0, 50 / 36 * 320 * 0.5 / 5.0)


def test_look_at_straight_down_is_valid():
    M = cc.look_at([0.0, 0.0, 10.0], [0.0, 0.0, 0.0])
    assert np.all(np.isfinite(M))
    assert _is_rotation(M[:3, :3])
    np.testing.assert_allclose(M[2, :3], [0, 0, -1], atol=1e-12)  # looking down
    K = cc.intrinsics(35, 36, 100, 100)
    pix, depth = cc.project(np.zeros(3), K, M)
    np.testing.assert_allclose(pix, [49.5, 49.5], atol=1e-9)
    np.testing.assert_allclose(depth, 10.0)
    # the degenerate case is per-element in a batch
    Mb = cc.look_at(np.array([[0, 0, 10.0], [3, -4, 2.0]]), np.zeros(3))
    np.testing.assert_allclose(Mb[0], M)
    np.testing.assert_allclose(Mb[1], cc.look_at([3, -4, 2.0], np.zeros(3)))
    with pytest.raises(ValueError):
        cc.look_at([1, 2, 3], [1, 2, 3])


def test_batched_projection_matches_per_frame():
    rng = np.random.default_rng(0)
    F, N = 4, 7
    eyes = rng.normal(size=(F, 3)) * 2 + [0, -6, 1.5]
    M = cc.look_at(eyes, np.array([0.0, 0.0, 1.0]))
    K = cc.intrinsics(rng.uniform(20, 80, F), 36, 640, 360)
    pts = rng.normal(size=(F, N, 3)) * 0.5 + [0, 0, 1]
    pix, depth = cc.project(pts, K, M)
    assert pix.shape == (F, N, 2) and depth.shape == (F, N)
    for f in range(F):
        p1, d1 = cc.project(pts[f], K[f], M[f])
        np.testing.assert_allclose(pix[f], p1)
        np.testing.assert_allclose(depth[f], d1)
        hom = (K[f] @ (M[f, :3, :3] @ pts[f].T + M[f, :3, 3:4])).T
        np.testing.assert_allclose(pix[f], hom[:, :2] / hom[:, 2:], rtol=1e-12)
    # one K for all frames
    pix2, _ = cc.project(pts, K[0], M)
    np.testing.assert_allclose(pix2[2], cc.project(pts[2], K[0], M[2])[0])
    with pytest.raises(ValueError):
        cc.cam_points(pts[:2], M)  # frame counts disagree


def test_blender_bridge_round_trip_and_axes():
    M = cc.look_at(np.array([[2.0, -5.0, 1.6], [0.0, 0.0, 8.0]]), np.array([0.0, 0.0, 1.0]))
    mw = cc.blender_camera_matrix_world(M)
    assert mw.shape == (2, 4, 4)
    np.testing.assert_allclose(cc.world_to_cam_from_blender(mw), M, atol=1e-12)
    np.testing.assert_allclose(cc.blender_camera_matrix_world(cc.world_to_cam_from_blender(mw)), mw, atol=1e-12)
    for f in range(2):
        # Blender camera: located at the eye, looking down local -Z, local +Y is image up
        eye = -M[f, :3, :3].T @ M[f, :3, 3]
        np.testing.assert_allclose(mw[f, :3, 3], eye, atol=1e-12)
        forward_cv = M[f, 2, :3]
        np.testing.assert_allclose(-mw[f, :3, 2], forward_cv, atol=1e-12)
        np.testing.assert_allclose(mw[f, :3, 1], -M[f, 1, :3], atol=1e-12)
        np.testing.assert_allclose(mw[f, :3, 0], M[f, 0, :3], atol=1e-12)
        assert _is_rotation(mw[f, :3, :3])
    np.testing.assert_allclose(cc.invert_rigid(M) @ M, np.broadcast_to(np.eye(4), M.shape), atol=1e-12)
