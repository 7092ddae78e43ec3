"""core/raster: exact pixel counts, fill rule, z-buffer, perspective depth, and Cycles as oracle."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
from blender_scenes import pass_scene

from mayhem.core.geometry.raster import mask_iou, mask_outline, rasterize_ids, rasterize_silhouette
from mayhem.core.io import exr

RNG = np.random.default_rng(7)
QUAD = np.array([[0, 1, 2], [0, 2, 3]])


def cross2(a, b):
    """z of the cross product of 2D vectors (numpy 2 no longer takes 2D vectors in np.cross)."""
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def rect(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


def brute_force(tri, width, height):
    """Independent oracle: barycentric coordinates of every pixel centre by solving 2x2 systems."""
    (ax, ay), (bx, by), (cx, cy) = tri
    yy, xx = np.mgrid[0:height, 0:width].astype(float)
    m = np.array([[bx - ax, cx - ax], [by - ay, cy - ay]])
    l1, l2 = np.linalg.solve(m, np.stack([xx.ravel() - ax, yy.ravel() - ay]))
    return ((l1 >= 0) & (l2 >= 0) & (l1 + l2 <= 1)).reshape(height, width)


def sphere_mesh(n_u, n_v):
    u = np.linspace(0, 2 * np.pi, n_u, endpoint=False)
    v = np.linspace(0, np.pi, n_v)
    uu, vv = np.meshgrid(u, v)
    pts = np.stack([np.sin(vv) * np.cos(uu), np.sin(vv) * np.sin(uu), np.cos(vv)], -1).reshape(-1, 3)
    i, j = np.arange(n_v - 1)[:, None] * n_u, np.arange(n_u)[None]
    a, b = i + j, i + (j + 1) % n_u
    faces = np.concatenate([np.stack([a, b, b + n_u], -1), np.stack([a, b + n_u, a + n_u], -1)], axis=1)
    return pts, faces.reshape(-1, 3)


def project(points_cam, f, width, height):
    k = np.array([[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1]])
    uvw = points_cam @ k.T
    return uvw[:, :2] / uvw[:, 2:], points_cam[:, 2]


# ------------------------------------------------------------------ coverage
def test_square_of_two_triangles_exact_pixels():
    # corners on pixel centres: top-left rule keeps the left/top edges, drops right/bottom
    mask = rasterize_silhouette(rect(2, 3, 9, 8), QUAD, 12, 10)
    expected = np.zeros((10, 12), bool)
    expected[3:8, 2:9] = True
    np.testing.assert_array_equal(mask, expected)
    # reversed winding is drawn too (two-sided)
    np.testing.assert_array_equal(rasterize_silhouette(rect(2, 3, 9, 8), QUAD[:, ::-1], 12, 10), expected)
    # corners between pixel centres: 1.5..5.5 spans centres 2, 3, 4, 5
    assert rasterize_silhouette(rect(1.5, 1.5, 5.5, 5.5), QUAD, 12, 10).sum() == 16


def test_fan_covers_each_pixel_exactly_once():
    """Top-left rule: triangles sharing edges (and a vertex on a pixel centre) never double-count."""
    centre = np.array([[10.0, 8.0]])
    ring = rect(3, 2, 17, 14)
    pts = np.concatenate([centre, ring, [[10.0, 2.0], [17.0, 8.0]]])  # extra points on the edges
    outline = [1, 5, 2, 6, 3, 4]
    faces = np.array([[0, outline[i], outline[(i + 1) % 6]] for i in range(6)])
    total = sum(rasterize_silhouette(pts, f[None], 20, 16).astype(int) for f in faces)
    assert total.max() == 1
    assert total.sum() == 14 * 12


def test_random_triangles_match_brute_force():
    w, h = 41, 29
    for _ in range(200):
        tri = RNG.uniform([-10, -10], [w + 10, h + 10], (3, 2))
        if abs(cross2(tri[1] - tri[0], tri[2] - tri[0])) < 1e-3:
            continue
        got = rasterize_silhouette(tri, [[0, 1, 2]], w, h)
        np.testing.assert_array_equal(got, brute_force(tri, w, h))


def test_triangle_area_matches_pixel_count():
    for tri in ([[10.3, 5.7], [300.2, 40.1], [90.6, 170.9]], [[0, 0], [319, 0], [0, 179]]):
        tri = np.array(tri)
        area = abs(cross2(tri[1] - tri[0], tri[2] - tri[0])) / 2
        count = rasterize_silhouette(tri, [[0, 1, 2]], 320, 180).sum()
        assert abs(count - area) / area < 0.01, (count, area)


def test_clipping_and_degenerate_input():
    big = np.array([[-1000.0, -1000.0], [5000.0, -1000.0], [-1000.0, 5000.0]])
    assert rasterize_silhouette(big, [[0, 1, 2]], 64, 36).all()
    outside = np.array([[100.0, 100.0], [120.0, 100.0], [100.0, 120.0]])
    assert not rasterize_silhouette(outside, [[0, 1, 2]], 64, 36).any()
    line = np.array([[0.0, 0.0], [10.0, 10.0], [20.0, 20.0]])
    assert not rasterize_silhouette(line, [[0, 1, 2]], 64, 36).any()
    nan = np.array([[0.0, 0.0], [10.0, np.nan], [0.0, 20.0]])
    assert not rasterize_silhouette(nan, [[0, 1, 2]], 64, 36).any()
    assert not rasterize_silhouette(np.zeros((0, 2)), np.zeros((0, 3), int), 64, 36).any()
    with pytest.raises(ValueError):
        rasterize_silhouette(big, [[0, 1, 3]], 64, 36)


def test_behind_camera_triangles_are_skipped():
    pts = rect(2, 2, 20, 20)
    depth = np.array([1.0, 1.0, 1.0, 1.0])
    assert rasterize_silhouette(pts, QUAD, 32, 32, depth).sum() == 18 * 18
    depth[1] = -0.5  # vertex 1 is only in the first triangle
    mask = rasterize_silhouette(pts, QUAD, 32, 32, depth)
    np.testing.assert_array_equal(mask, rasterize_silhouette(pts, QUAD[1:], 32, 32))
    depth[3] = 0.0  # on the camera plane: skipped as well
    assert not rasterize_silhouette(pts, QUAD, 32, 32, depth).any()
    assert rasterize_silhouette(pts, QUAD, 32, 32).sum() == 18 * 18  # no depth given: drawn
    assert not rasterize_ids([(pts, QUAD, depth, 1)], 32, 32).any()


# ------------------------------------------------------------------ z-buffer
def test_zbuffer_nearest_quad_wins_in_any_order():
    near = (rect(2, 2, 12, 12), QUAD, np.full(4, 2.0), 1)
    far = (rect(8, 6, 20, 16), QUAD, np.full(4, 5.0), 2)
    for meshes in ([near, far], [far, near]):
        ids, depth = rasterize_ids(meshes, 24, 20, return_depth=True)
        assert ids.dtype == np.uint16
        assert np.all(ids[2:12, 2:12] == 1)                      # the near quad, overlap included
        assert np.all(ids[12:16, 8:20] == 2) and np.all(ids[6:12, 12:20] == 2)
        assert (ids == 2).sum() == 12 * 10 - 4 * 6               # far quad minus the overlap
        np.testing.assert_allclose(depth[ids == 1], 2.0, rtol=1e-12)
        np.testing.assert_allclose(depth[ids == 2], 5.0, rtol=1e-12)
        assert np.all(np.isinf(depth[ids == 0]))
    # interpenetrating quads: each wins where it is nearer
    tilt = (rect(2, 2, 12, 12), QUAD, np.array([1.0, 9.0, 9.0, 1.0]), 3)
    flat = (rect(2, 2, 12, 12), QUAD, np.full(4, 3.0), 4)
    ids = rasterize_ids([tilt, flat], 24, 20)
    assert np.all(ids[2:12, 2] == 3) and np.all(ids[2:12, 11] == 4)
    with pytest.raises(ValueError):
        rasterize_ids([(rect(0, 0, 1, 1), QUAD, np.ones(4), 70000)], 4, 4)


def test_depth_is_perspective_correct():
    """A tilted plane seen by a pinhole camera: interpolated depth equals ray-plane intersection."""
    w, h, f = 80, 60, 70.0
    corners = np.array([[-1.0, -0.8, 2.0], [1.2, -0.7, 6.0], [1.1, 0.9, 6.5]])
    normal = np.cross(corners[1] - corners[0], corners[2] - corners[0])
    uv, z = project(corners[:3], f, w, h)
    ids, depth = rasterize_ids([(uv, [[0, 1, 2]], z, 1)], w, h, return_depth=True)
    yy, xx = np.nonzero(ids)
    assert len(yy) > 400
    rays = np.stack([(xx - (w - 1) / 2) / f, (yy - (h - 1) / 2) / f, np.ones(len(xx))], -1)
    expected = (normal @ corners[0]) / (rays @ normal)  # camera z where the ray meets the plane
    np.testing.assert_allclose(depth[yy, xx], expected, rtol=1e-10)


# ------------------------------------------------------------------ masks
def test_mask_iou_and_outline():
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    a[0:4, 0:4] = True
    b[2:6, 0:4] = True
    assert mask_iou(a, b) == pytest.approx(8 / 24)
    assert mask_iou(a, a) == 1.0 and mask_iou(a, ~a) == 0.0
    assert mask_iou(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0
    with pytest.raises(ValueError):
        mask_iou(a, a[:5])
    square = np.zeros((10, 10), bool)
    square[2:7, 3:8] = True
    ring = square.copy()
    ring[3:6, 4:7] = False
    np.testing.assert_array_equal(mask_outline(square), ring)
    np.testing.assert_array_equal(mask_outline(a), a & ~np.pad(np.ones((3, 3), bool), ((0, 7), (0, 7))))
    ids = np.zeros((6, 6), np.uint16)
    ids[:, :3], ids[:, 3:] = 1, 2  # two people touching: their shared border is outlined
    assert np.array_equal(np.nonzero(mask_outline(ids))[1], np.tile([2, 3], 6))


# ------------------------------------------------------------------ against Cycles
def test_matches_cycles_object_index_and_depth(tmp_path, fresh_blender):
    """Cube rendered by Cycles (samples at pixel centres) vs our projection of the same cube."""
    bpy = fresh_blender
    w, h = 160, 90
    scene, tree, rlayers = pass_scene(bpy, w, h, samples=1)
    location, rotation = np.array([-0.3, 0.4, 0.2]), (0.3, 0.5, 0.7)
    bpy.ops.mesh.primitive_cube_add(size=1.2, location=location, rotation=rotation)
    cube = bpy.context.object
    cube.pass_index = 1
    from mayhem.scene import blender_compat as compat

    node = compat.add_file_output(tree, {name: compat.render_layer_socket(rlayers, name)
                                         for name in ("Depth", "IndexOB")})
    compat.set_file_output_pattern(node, tmp_path, "####")
    bpy.ops.render.render(write_still=False)
    passes = exr.read_exr(tmp_path / "0001.exr")

    # our side: cube corners from our own construction, not from Blender's mesh
    rx, ry, rz = rotation
    mx = np.array([[1, 0, 0], [0, math.cos(rx), -math.sin(rx)], [0, math.sin(rx), math.cos(rx)]])
    my = np.array([[math.cos(ry), 0, math.sin(ry)], [0, 1, 0], [-math.sin(ry), 0, math.cos(ry)]])
    mz = np.array([[math.cos(rz), -math.sin(rz), 0], [math.sin(rz), math.cos(rz), 0], [0, 0, 1]])
    corners = np.array([[x, y, z] for x in (-0.6, 0.6) for y in (-0.6, 0.6) for z in (-0.6, 0.6)])
    world = corners @ (mz @ my @ mx).T + location                    # Blender XYZ Euler
    cam_pts = np.stack([world[:, 0], -world[:, 2], world[:, 1] + 4], -1)  # OpenCV camera frame
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    uv, z = project(cam_pts, 50 / 36 * w, w, h)
    ids, depth = rasterize_ids([(uv, faces, z, 1)], w, h, return_depth=True)

    theirs = passes["IndexOB.V"] == 1
    iou = mask_iou(ids == 1, theirs)
    print(f"\ncube {theirs.sum()} px, IoU ours vs Cycles = {iou:.4f}")
    assert theirs.sum() > 1000 and iou > 0.995
    inner = (ids == 1) & theirs & ~mask_outline(ids == 1)
    err = np.abs(depth[inner] - passes["Depth.V"][inner])
    print(f"depth |ours - Cycles| over {inner.sum()} px: median {np.median(err):.2e}, max {err.max():.2e} m")
    assert err.max() < 1e-4


# ------------------------------------------------------------------ speed
def test_timing_30k_triangles():
    pts, faces = sphere_mesh(150, 101)
    assert len(faces) == 30000
    for w, h in ((320, 180), (1280, 720)):
        cam = pts * [0.25, 0.45, 0.25] + [0, 0, 2.5]  # a body-sized blob filling most of the height
        uv, z = project(cam, h * 2.0, w, h)
        t0 = time.perf_counter()
        mask = rasterize_silhouette(uv, faces, w, h, z)
        t1 = time.perf_counter()
        ids = rasterize_ids([(uv, faces, z, 1)], w, h)
        t2 = time.perf_counter()
        assert mask.sum() > 0.05 * w * h
        np.testing.assert_array_equal(ids > 0, mask)
        print(f"\n{len(faces)} triangles at {w}x{h}: silhouette {1e3 * (t1 - t0):.1f} ms, "
              f"ids+depth {1e3 * (t2 - t1):.1f} ms, {mask.sum()} px covered")
