"""Blender cloth on the free body: pre-roll timeline, simulation checks, bake, forced fallback,
and the procedural fabric materials.

The clip is short (6 pre-roll + 6 sequence frames) and the garments coarse (about 1 000
vertices) so the test stays quick; the checks are the real ones (core.clothing.fabrics limits).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from mayhem.core.clothing import garments as G  # noqa: E402
from mayhem.core.clothing import preroll as FB  # noqa: E402
from mayhem.core.clothing.body_rest import reference_body_pose  # noqa: E402
from mayhem.core.clothing.checks import under_layer_share  # noqa: E402
from mayhem.core.clothing.fabrics import ClothSettings, get_fabric  # noqa: E402
from mayhem.core.clothing.looks import sample_look  # noqa: E402
from mayhem.scene.body.rig import build_body, evaluated_vertices  # noqa: E402
from mayhem.scene.clothing import cloth as C  # noqa: E402
from mayhem.scene.clothing.materials import apply_material, fabric_material  # noqa: E402

PREROLL, FRAMES = 6, 6


@pytest.fixture(scope="module")
def outfit(free_body_rest):
    return G.make_outfit([G.GarmentSpec("tshirt", target_vertices=1000),
                          G.GarmentSpec("shorts", target_vertices=1000)], free_body_rest)


def small_motion(n: int) -> dict:
    """World-frame params near the A reference pose: a slow step forward with a little spine
    bend, arm swing and knee bend (Y-up model turned Z-up by global_orient, as AMASS)."""
    t = np.arange(n) / 30.0
    body_pose = np.tile(reference_body_pose("A"), (n, 1))
    wave = np.sin(2 * np.pi * 1.0 * t)
    body_pose[:, 3 * 2 + 0] += 0.1 * wave          # spine1 (joint 3) flexion
    body_pose[:, 3 * 15 + 1] += 0.15 * wave        # left shoulder (joint 16) swing
    body_pose[:, 3 * 16 + 1] -= 0.15 * wave        # right shoulder
    body_pose[:, 3 * 3 + 0] += 0.15 * (1 - np.cos(2 * np.pi * t))  # left knee (joint 4)
    return {"global_orient": np.tile([np.pi / 2, 0.0, 0.0], (n, 1)), "body_pose": body_pose,
            "transl": np.stack([np.zeros(n), -0.3 * t, np.full(n, 1.0)], axis=1)}


def _lbs(model, params_frame: dict, g: G.Garment) -> np.ndarray:
    """The skin-bound garment in numpy: LBS of the bind mesh with the garment's weights."""
    out = model.forward(**{k: v[None] for k, v in params_frame.items()})
    T = out.joint_transforms[0].copy()
    T[:, :3, 3] -= np.einsum("jab,jb->ja", T[:, :3, :3], out.rest_joints[0])
    M = np.einsum("nj,jab->nab", g.skin_weights.astype(np.float64), T)
    return np.einsum("nab,nb->na", M[:, :3, :3], g.bind_vertices) + M[:, :3, 3]


def _scene(fresh_blender, model, outfit, fabrics, settings):
    bpy.context.scene.render.fps = 30
    rig = build_body(model, None, name="person")
    params = small_motion(FRAMES)
    offset = C.animate_with_preroll(rig, params, settings, outfit[0].reference_pose)
    dressed = C.dress(rig, outfit, fabrics, settings, FRAMES)
    return rig, params, offset, dressed


def test_tshirt_and_shorts_simulate_within_limits(fresh_blender, model, outfit):
    settings = ClothSettings(preroll=PREROLL, settle=2)
    rig, params, offset, dressed = _scene(fresh_blender, model, outfit, ["cotton", "denim"], settings)
    assert offset == FB.SIM_START_FRAME + PREROLL
    scene = bpy.context.scene
    # Timeline: the body starts in the garments' reference pose, sequence frame 0 is at `offset`.
    pre = FB.preroll_params(params, PREROLL, 2, outfit[0].reference_pose)
    for blender_frame, k in ((FB.SIM_START_FRAME, 0), (offset, PREROLL)):
        scene.frame_set(blender_frame)
        got = evaluated_vertices(rig.mesh, bpy.context.evaluated_depsgraph_get())
        want = model.forward(**{key: v[k][None] for key, v in pre.items()}).vertices[0]
        assert np.abs(got - want).max() < 1e-3
    # At the start frame the garments are exactly their reference-pose shape (rigidly placed).
    R = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=np.float64)  # Rx(90°)
    scene.frame_set(FB.SIM_START_FRAME)
    for dg in dressed:
        got = evaluated_vertices(dg.obj, bpy.context.evaluated_depsgraph_get())
        pel = model.forward().rest_joints[0][0]
        want = (dg.garment.vertices - pel) @ R.T + pel + pre["transl"][0]
        assert np.abs(got - want).max() < 1e-3

    outcomes = C.simulate(dressed, settings)
    for o, dg in zip(outcomes, dressed):
        assert o["status"] in ("simulated", "retried"), o
        assert o["finite"] and o["penetration_median"] <= settings.penetration_median_limit, o
        assert o["penetration_max"] <= settings.penetration_max_limit, o
        assert o["max_stretch_robust"] <= settings.stretch_limit, o
        assert dg.cloth.point_cache.is_baked
        assert len(dg.summary.per_frame) == FRAMES
    # The bake replays what was checked: re-evaluate the last frame and compare the stretch.
    scene.frame_set(offset + FRAMES - 1)
    dg = dressed[1]
    V = evaluated_vertices(dg.obj, bpy.context.evaluated_depsgraph_get())
    assert dg.checker.stretch(V)[0] == pytest.approx(dg.summary.per_frame[-1].stretch, rel=1e-4)
    # Fully pinned vertices (the waistband) follow the skin exactly.
    last = {k: v[PREROLL + FRAMES - 1] for k, v in pre.items()}
    lbs = _lbs(model, last, dg.garment)
    pinned = dg.garment.pin_weights >= 0.999
    assert pinned.sum() > 10
    assert np.abs(V[pinned] - lbs[pinned]).max() < 2e-3
    # The garment moved with the body and hangs free: unpinned vertices differ from the LBS.
    assert np.abs(V[~pinned] - lbs[~pinned]).max() > 1e-3
    # A new attempt really simulates again (Blender keeps cached frames when settings change
    # from Python; simulate frees them): a much softer, heavier fabric sags differently.
    dg.status = None
    dg.fabric = get_fabric("silk", {"mass": 3.0})
    (again,) = C.simulate([dg], settings)
    scene.frame_set(offset + FRAMES - 1)
    V2 = evaluated_vertices(dg.obj, bpy.context.evaluated_depsgraph_get())
    assert again["status"] in ("simulated", "retried", "fallback")
    assert np.abs(V2[~pinned] - V[~pinned]).max() > 1e-3


def test_blow_up_falls_back_to_the_skin(fresh_blender, model, outfit):
    """Absurd fabric (no stiffness, heavy): the cloth tears under gravity on both attempts, so
    the garment ends bound to the skin, and the outcome says so; nothing raises."""
    settings = ClothSettings(preroll=PREROLL, settle=2)
    absurd = get_fabric("cotton", {"tension": 1e-3, "compression": 1e-3, "shear": 1e-3,
                                      "bending": 0.0, "mass": 50.0, "min_quality": 1})
    rig, params, offset, dressed = _scene(fresh_blender, model, outfit[1:], [absurd], settings)
    (outcome,) = C.simulate(dressed, settings)
    dg = dressed[0]
    assert outcome["status"] == "fallback", outcome
    assert outcome["attempts"] == 1
    assert outcome["quality_steps"] == settings.quality * settings.retry_quality_factor
    assert "stretch" in outcome["reason"] or "blew up" in outcome["reason"]
    assert dg.cloth is None and dg.obj["mayhem_cloth_status"] == "fallback"
    # The fallback is the armature-skinned garment: numpy LBS of the bind mesh.
    pre = FB.preroll_params(params, PREROLL, 2, outfit[0].reference_pose)
    k = PREROLL + 3
    bpy.context.scene.frame_set(FB.SIM_START_FRAME + k)
    V = evaluated_vertices(dg.obj, bpy.context.evaluated_depsgraph_get())
    assert np.abs(V - _lbs(model, {key: v[k] for key, v in pre.items()}, dg.garment)).max() < 1e-3
    # simulate's own skin-bound estimate (used to judge retries) is the same garment.
    assert np.abs(C._skinned_vertices(dg) - V).max() < 1e-4
    # Its checks were measured too (skin-bound: no stretch beyond the skin's own).
    assert len(dg.summary.per_frame) == FRAMES
    assert outcome["max_stretch"] < 2.0 and outcome["penetration_max"] < 0.05


def test_fabric_patterns_render(fresh_blender):
    """Each pattern renders on metre UVs; patterned looks vary across the image, solid barely."""
    from mayhem.scene import blender_compat as compat

    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 4
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y = 64, 64
    world = bpy.data.worlds.new("w")
    scene.world = world
    compat.enable_nodes(world).nodes["Background"].inputs["Color"].default_value = (1, 1, 1, 1)
    s = 0.15
    me = bpy.data.meshes.new("swatch")
    me.from_pydata([(-s, -s, 0), (s, -s, 0), (s, s, 0), (-s, s, 0)], [], [(0, 1, 2, 3)])
    uv = np.array([[-s, -s], [s, -s], [s, s], [-s, s]], np.float32)  # metres, as garment UVs
    me.uv_layers.new(name="UVMap").uv.foreach_set("vector", uv.ravel())
    obj = bpy.data.objects.new("swatch", me)
    scene.collection.objects.link(obj)
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    scene.camera = cam
    cam.data.type = "ORTHO"
    cam.data.ortho_scale = 0.28
    cam.location = (0, 0, 1)
    rng = np.random.default_rng(5)
    spread = {}
    for pattern, fabric in (("solid", "cotton"), ("stripes", "cotton"), ("plaid", "wool"),
                            ("denim", "denim"), ("prints", "silk")):
        look = sample_look(rng, fabric, pattern)
        if pattern != "denim":  # fixed, contrasting colours; denim keeps its own indigo pair
            look.update(color=[0.8, 0.2, 0.1], color2=[0.1, 0.3, 0.9])
        apply_material(obj, fabric_material(look, fabric, name=pattern))
        scene.render.filepath = str(Path(bpy.app.tempdir) / f"swatch_{pattern}.png")
        bpy.ops.render.render(write_still=True)
        img = bpy.data.images.load(scene.render.filepath)
        px = np.array(img.pixels[:]).reshape(64, 64, 4)[..., :3]
        spread[pattern] = float(px.std(axis=(0, 1)).mean())
        assert np.all(np.isfinite(px)) and px.mean() > 0.02
    for pattern in ("stripes", "plaid", "prints", "denim"):
        assert spread[pattern] > 1.3 * spread["solid"], spread


def test_layer_tunnelling_is_measured():
    """core.clothing.checks.under_layer_share: an outer sheet pushed under an inner one is counted, one
    lying over it or far past its edge is not."""
    from mayhem.core.geometry.spatial import SurfaceQuery

    n = 21
    x, y = np.meshgrid(np.linspace(0, 0.2, n), np.linspace(0, 0.2, n))
    V = np.stack([x.ravel(), y.ravel(), np.zeros(n * n)], axis=1)
    q = np.arange(n * n).reshape(n, n)
    F = np.concatenate([np.stack([q[:-1, :-1], q[:-1, 1:], q[1:, 1:]], -1).reshape(-1, 3),
                        np.stack([q[:-1, :-1], q[1:, 1:], q[1:, :-1]], -1).reshape(-1, 3)])  # normals +z
    inner = SurfaceQuery(V, F, cell=0.04)
    assert under_layer_share(V + [0, 0, 0.01], inner) == 0.0           # over it
    assert under_layer_share(V - [0, 0, 0.01], inner) > 0.95           # tunnelled under it
    assert under_layer_share(V - [0, 0, 0.2], inner) == 0.0            # far from it: not judged
