"""scene.world / scene.camera / scene.render: a tiny Cycles render checked against analytic geometry.

Two UV spheres (pass_index 1 and 2) on a shadow catcher under a bundled HDRI, seen by an animated
camera for 2 frames at 160x90, 8 samples. Masks, depth and intrinsics must agree with
core.camera.pinhole's pinhole model, which is what the labels are computed with.
"""
from __future__ import annotations

import logging

import numpy as np
import pytest

from mayhem.core.camera import pinhole as cc
from mayhem.core.dataset.passes import read_passes
from mayhem.core.errors import MayhemInputError

W, H = 160, 90
FOCAL, SENSOR = 35.0, 36.0
SPHERES = {1: ((-0.6, 0.0, 0.5), 0.5), 2: ((0.7, 0.5, 0.4), 0.4)}  # pass_index: (centre, radius)
EYES = np.array([[0.5, -5.0, 1.3], [0.2, -4.6, 1.1]])
TARGET = np.array([0.0, 0.0, 0.5])


def _pixel_rays(K):
    """Unit ray directions (H, W, 3) in the OpenCV camera frame through every pixel centre."""
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    rays = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(K).T
    return rays / np.linalg.norm(rays, axis=-1, keepdims=True)


def _sphere_hit(rays, centre_cam, radius):
    """Distance along each ray to the front surface of a sphere (nan where missed)."""
    b = rays @ centre_cam
    disc = b * b - (centre_cam @ centre_cam - radius * radius)
    with np.errstate(invalid="ignore"):
        return np.where(disc >= 0, b - np.sqrt(disc), np.nan)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Build and render the scene once; collect everything tests need while bpy still has it."""
    import bpy

    from mayhem.scene import render
    from mayhem.scene.camera import objects as scam
    from mayhem.scene.reset import reset_blender
    from mayhem.scene.world import hdri as world

    reset_blender()
    scene = bpy.context.scene
    world.setup_hdri_world(scene, world.builtin_hdris()["forest"], strength=1.0, rotation_rad=0.3)
    world.add_shadow_catcher()
    for index, (centre, radius) in SPHERES.items():
        bpy.ops.mesh.primitive_uv_sphere_add(segments=64, ring_count=32, radius=radius, location=centre)
        obj = bpy.context.active_object
        obj.name = f"sphere{index}"
        obj.pass_index = index
    w2c = cc.look_at(EYES, TARGET)
    cam = scam.create_camera("cam", FOCAL, SENSOR, w2c, frame_start=0)
    used = render.configure_cycles(scene, width=W, height=H, samples=8, adaptive_threshold=0.01,
                                   seed=0, device="auto", threads=2)
    out = tmp_path_factory.mktemp("render")
    render.configure_passes(scene, out / "passes")
    calls = []
    files = render.render_animation(scene, 0, 1, out / "rgb", out / "passes",
                                    progress=lambda i, n, s: calls.append((i, n, s)))
    matrices = []
    for frame in (0, 1):
        scene.frame_set(frame)
        matrices.append(np.array(cam.matrix_world))
    return {
        "files": files, "calls": calls, "device": used, "w2c": w2c,
        "K_blender": scam.camera_intrinsics_from_blender(cam, scene),
        "matrix_world": np.array(matrices),
        "passes": [read_passes(p) for _, p in files],
    }


def test_files_written_per_frame(rendered):
    from mayhem.core.io.png import read_png

    files = rendered["files"]
    assert [(r.name, p.name) for r, p in files] == [("000000.png", "000000.exr"), ("000001.png", "000001.exr")]
    for rgb_path, _ in files:
        rgb = read_png(rgb_path)
        assert rgb.shape == (H, W, 3) and rgb.dtype == np.uint8
        assert rgb.std() > 5  # an image, not a blank frame
    assert [(i, n) for i, n, _ in rendered["calls"]] == [(0, 2), (1, 2)]
    assert all(s > 0 for _, _, s in rendered["calls"])
    print("seconds per frame:", [round(s, 2) for _, _, s in rendered["calls"]])
    assert rendered["device"] == "CPU"


def test_pass_exr_channels(rendered):
    from mayhem.core.io.exr import read_exr

    channels = read_exr(rendered["files"][0][1])
    assert sorted(channels) == ["Clothing.V", "Depth.V", "IndexOB.V"]  # Clothing: painted-clothing AOV
    assert all(c.shape == (H, W) for c in channels.values())


def test_camera_follows_world_to_cam_and_intrinsics_agree(rendered):
    expected = cc.blender_camera_matrix_world(rendered["w2c"])
    np.testing.assert_allclose(rendered["matrix_world"], expected, atol=2e-6)
    np.testing.assert_allclose(rendered["K_blender"], cc.intrinsics(FOCAL, SENSOR, W, H), atol=1e-9)


@pytest.mark.parametrize("frame", [0, 1])
def test_instance_mask_matches_analytic_spheres(rendered, frame):
    depth, instance = rendered["passes"][frame]
    assert instance.dtype == np.uint16 and instance.shape == (H, W)
    assert set(np.unique(instance)) == {0, 1, 2}
    K, M = cc.intrinsics(FOCAL, SENSOR, W, H), rendered["w2c"][frame]
    rays = _pixel_rays(K)
    for index, (centre, radius) in SPHERES.items():
        c_cam = cc.cam_points(np.array(centre), M)
        analytic = np.isfinite(_sphere_hit(rays, c_cam, radius))
        rendered_mask = instance == index
        iou = (analytic & rendered_mask).sum() / (analytic | rendered_mask).sum()
        assert iou >= 0.95, (index, iou)
        # The pixel-centre convention (top-left centre at (0, 0)): shifting the principal point
        # by half a pixel either way must fit Blender's mask clearly worse.
        wrong = (analytic != rendered_mask).sum()
        for shift in (0.5, -0.5):
            K_shift = K.copy()
            K_shift[:2, 2] += shift
            shifted = np.isfinite(_sphere_hit(_pixel_rays(K_shift), c_cam, radius))
            assert 3 * wrong < (shifted != rendered_mask).sum(), (index, shift, wrong)


@pytest.mark.parametrize("frame", [0, 1])
def test_depth_is_planar_and_background_is_inf(rendered, frame):
    depth, instance = rendered["passes"][frame]
    assert depth.dtype == np.float32
    K, M = cc.intrinsics(FOCAL, SENSOR, W, H), rendered["w2c"][frame]
    rays = _pixel_rays(K)
    for centre, radius in SPHERES.values():
        c_cam = cc.cam_points(np.array(centre), M)
        (u, v), _ = cc.project(np.array(centre), K, M)
        u, v = int(round(u)), int(round(v))
        t = _sphere_hit(rays[v, u], c_cam, radius)
        assert abs(depth[v, u] - t * rays[v, u, 2]) < 0.01  # planar: camera z of the surface point

    # The floor (z = 0) is exactly planar, so pixels far off-axis tell planar from radial depth.
    R, tvec = M[:3, :3], M[:3, 3]
    eye = -R.T @ tvec
    rays_world = rays @ R  # camera -> world directions (R^T applied to each ray)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_floor = -eye[2] / rays_world[..., 2]
    hits = [np.isfinite(_sphere_hit(rays, cc.cam_points(np.array(c), M), r)) for c, r in SPHERES.values()]
    on_sphere = hits[0] | hits[1]
    floor = (s_floor > 0) & (s_floor < 20) & ~on_sphere
    v, u = H - 1, 0  # bottom-left corner: about 30 degrees off the optical axis
    assert floor[v, u]
    planar = s_floor[v, u] * rays[v, u, 2]
    assert abs(depth[v, u] - planar) < 0.01
    assert abs(s_floor[v, u] - planar) > 0.3  # radial distance would have failed
    np.testing.assert_allclose(depth[floor], (s_floor * rays[..., 2])[floor], atol=0.01)

    sky = (rays_world[..., 2] > 0) & ~on_sphere  # rays going up that miss both spheres
    assert sky.sum() > 500
    assert np.all(np.isinf(depth[sky])) and np.all(depth[sky] > 0)
    assert np.all(np.isfinite(depth[~sky & (floor | on_sphere)]))
    assert np.all(instance[sky] == 0) and np.all(instance[floor] == 0)


def test_select_device_auto_is_cpu_here(fresh_blender, caplog):
    from mayhem.scene import render

    with caplog.at_level(logging.INFO, logger="mayhem.render"):
        assert render.select_device("auto") == "CPU"
    lines = [r.getMessage() for r in caplog.records if r.name == "mayhem.render"]
    assert lines == ["Cycles device: CPU (no OptiX/CUDA/HIP/Metal/oneAPI device found)"]


def test_select_device_prefers_optix_and_falls_back(fresh_blender, caplog, monkeypatch):
    from mayhem.scene import render

    activated = []
    monkeypatch.setattr(render, "_probe_gpu_devices",
                        lambda: [("OPTIX", ["NVIDIA Fake RTX"]), ("CUDA", ["NVIDIA Fake RTX"]),
                                 ("HIP", []), ("METAL", []), ("ONEAPI", [])])
    monkeypatch.setattr(render, "_activate_device", activated.append)
    with caplog.at_level(logging.INFO, logger="mayhem.render"):
        assert render.select_device("auto") == "OPTIX"
        assert render.select_device("cuda") == "CUDA"
        assert render.select_device("hip") == "CPU"
        assert render.select_device("CPU") == "CPU"
    assert activated == ["OPTIX", "CUDA", "CPU", "CPU"]
    records = [r for r in caplog.records if r.name == "mayhem.render"]
    assert [r.getMessage() for r in records] == [
        "Cycles device: OPTIX (NVIDIA Fake RTX)",
        "Cycles device: CUDA (NVIDIA Fake RTX)",
        "Cycles device: CPU (requested HIP, but no HIP device found; falling back to CPU)",
        "Cycles device: CPU (requested)",
    ]
    assert records[2].levelno == logging.WARNING
    with pytest.raises(MayhemInputError, match="render.device"):
        render.select_device("vulkan")


def test_configure_cycles_settings(fresh_blender):
    from mayhem.scene import render

    scene = fresh_blender.context.scene
    assert render.oidn_available()
    render.configure_cycles(scene, width=64, height=48, samples=5, adaptive_threshold=0.02, seed=7, threads=1)
    cyc, r = scene.cycles, scene.render
    assert (r.engine, cyc.device, r.resolution_x, r.resolution_y, r.resolution_percentage) == ("CYCLES", "CPU", 64, 48, 100)
    assert (cyc.samples, cyc.use_adaptive_sampling) == (5, True)
    assert cyc.adaptive_threshold == pytest.approx(0.02)
    assert (cyc.use_denoising, cyc.denoiser) == (True, "OPENIMAGEDENOISE")
    assert (cyc.seed, cyc.use_animated_seed, r.use_persistent_data) == (7, False, True)
    assert (scene.view_settings.view_transform, r.film_transparent, r.dither_intensity) == ("AgX", False, 0.0)
    assert (r.threads_mode, r.threads) == ("FIXED", 1)


def test_builtin_hdris_and_world(fresh_blender):
    from mayhem.scene.world import hdri as world

    hdris = world.builtin_hdris()
    assert len(hdris) == 8 and "forest" in hdris
    assert all(p.is_file() and p.suffix == ".exr" for p in hdris.values())
    scene = fresh_blender.context.scene
    for _ in range(2):  # a second sequence with the same HDRI reuses the loaded image
        w = world.setup_hdri_world(scene, hdris["city"], strength=2.5, rotation_rad=1.25)
    assert len(fresh_blender.data.images) == 1
    nodes = w.node_tree.nodes
    env = next(n for n in nodes if n.bl_idname == "ShaderNodeTexEnvironment")
    mapping = next(n for n in nodes if n.bl_idname == "ShaderNodeMapping")
    bg = next(n for n in nodes if n.bl_idname == "ShaderNodeBackground")
    assert env.image.filepath == str(hdris["city"])
    assert tuple(mapping.inputs["Rotation"].default_value) == pytest.approx((0.0, 0.0, 1.25))
    assert bg.inputs["Strength"].default_value == pytest.approx(2.5)
    assert env.inputs["Vector"].links[0].from_node == mapping
    ground = world.add_shadow_catcher(size=10)
    assert ground.is_shadow_catcher and ground.pass_index == 0 and not ground.hide_render
    zs = [v.co.z for v in ground.data.vertices]
    assert zs == [0.0] * 4 and ground.dimensions.x == pytest.approx(10)


def test_hdri_paths(tmp_path):
    from mayhem.scene.world import hdri as world

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.exr").write_bytes(b"x")
    (tmp_path / "a" / "A.HDR").write_bytes(b"x")
    (tmp_path / "a" / "notes.txt").write_text("x")
    assert [p.name for p in world.hdri_paths([tmp_path / "a"])] == ["A.HDR", "b.exr"]
    (tmp_path / "empty").mkdir()
    for bad in ("empty", "missing"):
        with pytest.raises(MayhemInputError) as err:
            world.hdri_paths([tmp_path / "a", tmp_path / bad])
        assert err.value.field == "world.hdri_folders" and bad in str(err.value)
