"""Appearance: the sampled draws (skin on the Monk scale, hair, shoes) and what Blender builds
from them (hair curves on the head, shoes on the feet, the instance mask covering both).

Sampling tests are pure numpy. The Blender tests use the free body; hair and shoe geometry is
checked against the real body mesh with ray-parity inside tests (mathutils BVH), not against
the approximate collision maps the builders use.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chi2

from mayhem.core.body import appearance as ap
from mayhem.core.config import AppearanceConfig, BodyConfig, config_from_dict
from mayhem.core.dataset.passes import read_passes
from mayhem.core.errors import MayhemInputError

FREE_BODY = Path(__file__).resolve().parents[2] / "assets" / "bodies" / "free_body.npz"
P_FAIL = 1e-4  # chance a correct sampler fails a frequency test


def _draws(n, appearance=None, body=None, seed=0):
    rng = np.random.default_rng(seed)
    appearance = appearance or AppearanceConfig()
    body = body or BodyConfig()
    return [ap.sample_appearance(body, appearance, rng, []) for _ in range(n)]


def _chi2_ok(counts: dict, probs: dict) -> bool:
    n = sum(counts.values())
    keys = [k for k in probs if probs[k] > 0]
    assert set(counts) <= set(keys), f"drew {set(counts) - set(keys)} with probability 0"
    obs = np.array([counts.get(k, 0) for k in keys], float)
    exp = np.array([probs[k] * n for k in keys])
    stat = float(((obs - exp) ** 2 / exp).sum())
    return stat < chi2.ppf(1 - P_FAIL, len(keys) - 1)


def _count(values):
    out = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


# ------------------------------------------------------------------------------ sampling
def test_all_ten_monk_levels_equally_often():
    draws = _draws(2000)
    levels = [d["skin"]["monk_level"] for d in draws]
    assert _chi2_ok(_count(levels), {k: 0.1 for k in range(1, 11)})
    for d in draws:
        tone = d["skin"]["tone"]
        lo, hi = ap.monk_band(d["skin"]["monk_level"])
        assert lo <= tone <= hi and ap.monk_level(tone) == d["skin"]["monk_level"]


def test_skin_range_and_uniform_mode():
    body = BodyConfig(skin_tone=[0.5, 1.0])
    levels = _count(d["skin"]["monk_level"] for d in _draws(1500, body=body))
    # levels 6..10 have bands inside [0.5, 1]; level 5's band [0.39, 0.5] only touches it
    assert set(levels) <= {5, 6, 7, 8, 9, 10} and all(levels.get(k, 0) > 200 for k in range(6, 11))
    assert all(0.5 <= d["skin"]["tone"] <= 1.0 for d in _draws(300, body=body))
    # continuous uniform tones give the end levels half bands: the reason monk_levels is the default
    uni = _count(d["skin"]["monk_level"] for d in _draws(2000, AppearanceConfig(skin_tone_sampling="uniform")))
    probs = {k: (0.5 if k in (1, 10) else 1.0) / 9 for k in range(1, 11)}
    assert _chi2_ok(uni, probs)


def test_hair_styles_colours_and_bald_follow_the_config():
    weights = [1, 2, 3, 4, 1, 2, 3, 4]
    cfg = AppearanceConfig(hair_style_weights=weights, bald_probability=0.2,
                           hair_colour_weights=[5, 4, 3, 2, 1])
    draws = _draws(3000, cfg)
    styles = _count(d["hair"]["style"] for d in draws)
    total = sum(weights)
    probs = {s: 0.8 * w / total for s, w in zip(cfg.hair_styles, weights)}
    probs[ap.BALD] = 0.2
    assert _chi2_ok(styles, probs)
    colours = _count(d["hair"]["colour"] for d in draws)
    assert _chi2_ok(colours, {c: w / 15 for c, w in zip(cfg.hair_colours, [5, 4, 3, 2, 1])})
    for d in draws:
        h = d["hair"]
        box = ap.HAIR_COLOUR_PARAMS[h["colour"]]
        assert box["melanin"][0] <= h["melanin"] <= box["melanin"][1]
        assert box["melanin_redness"][0] <= h["melanin_redness"] <= box["melanin_redness"][1]
        if h["style"] != ap.BALD:
            for name, (lo, hi) in ap.HAIR_STYLE_PARAMS[h["style"]].items():
                assert lo <= h[name] <= hi, (h["style"], name)


def test_shoe_kinds_follow_the_config():
    cfg = AppearanceConfig(shoe_kind_weights=[1, 1, 2], barefoot_probability=0.1)
    draws = _draws(2000, cfg)
    probs = {"sneaker": 0.225, "boot": 0.225, "flat": 0.45, ap.BAREFOOT: 0.1}
    assert _chi2_ok(_count(d["shoes"]["kind"] for d in draws), probs)
    for d in draws:
        s = d["shoes"]
        assert all(0.0 <= c <= 1.0 for c in s["rgb"] + s["sole_rgb"])
        kind = s["kind"] if s["kind"] != ap.BAREFOOT else None
        if kind:
            lo, hi = ap.SHOE_KIND_PARAMS[kind]["top_m"]
            assert lo <= s["top_m"] <= hi and s["colour"] in ap.SHOE_PALETTES[kind]["upper"]
    only_boots = _draws(200, AppearanceConfig(shoe_kinds=["boot"], shoe_kind_weights=[]))
    assert {d["shoes"]["kind"] for d in only_boots} == {"boot"}


def test_same_seed_same_draws_and_streams_are_independent():
    a, b = _draws(20, seed=7), _draws(20, seed=7)
    assert json.dumps(a) == json.dumps(b)
    assert json.dumps(a) != json.dumps(_draws(20, seed=8))
    # hair options do not move skin tones or shoes (each part has its own child stream)
    c = _draws(20, AppearanceConfig(hair_styles=["long"], hair_style_weights=[], bald_probability=0.5), seed=7)
    assert [x["skin"] for x in a] == [x["skin"] for x in c]
    assert [x["shoes"] for x in a] == [x["shoes"] for x in c]


def test_config_validation():
    cfg = config_from_dict({"appearance": {"hair_styles": ["bob", "bun"], "hair_style_weights": [1, 3]}})
    assert cfg.appearance.hair_styles == ["bob", "bun"]
    with pytest.raises(MayhemInputError) as err:
        config_from_dict({"appearance": {"hair_styles": ["bob", "bun"], "hair_style_weights": [1, 2, 3]}}, "c.yaml")
    assert err.value.field == "appearance.hair_style_weights"
    with pytest.raises(MayhemInputError) as err:
        config_from_dict({"appearance": {"shoe_kind_weights": [0, 0, 0]}}, "c.yaml")
    assert err.value.field == "appearance.shoe_kind_weights"
    with pytest.raises(MayhemInputError) as err:
        config_from_dict({"appearance": {"hair_styles": ["mohawk"]}}, "c.yaml")
    assert err.value.field == "appearance.hair_styles"
    with pytest.raises(MayhemInputError):
        config_from_dict({"appearance": {"bald_probability": 1.5}}, "c.yaml")


def test_hair_albedo_orders_natural_colours():
    lum = {c: float(ap.hair_albedo_rgb(np.mean(p["melanin"]), np.mean(p["melanin_redness"])) @ [0.2126, 0.7152, 0.0722])
           for c, p in ap.HAIR_COLOUR_PARAMS.items()}
    assert lum["grey"] > lum["blond"] > lum["red"] > lum["brown"] > lum["black"]
    red = ap.hair_albedo_rgb(0.5, 0.95)
    assert red[0] > 2 * red[2]


def test_recipe_records_appearance(tmp_path):
    from mayhem.core.recipe import sample_recipe
    from mayhem.core.recipe_types import recipe_to_json

    cfg = config_from_dict({"people": {"count": [2, 2]}, "frames": 2})
    r1, r2 = recipe_to_json(sample_recipe(cfg, 0)), recipe_to_json(sample_recipe(cfg, 0))
    assert json.dumps(r1, sort_keys=True) == json.dumps(r2, sort_keys=True)
    for person in r1["people"]:
        assert {"skin", "hair", "shoes"} <= set(person)
        assert 1 <= person["skin"]["monk_level"] <= 10
        assert person["hair"]["style"] in ap.HAIR_STYLES + (ap.BALD,)
        assert person["shoes"]["kind"] in ap.SHOE_KINDS + (ap.BAREFOOT,)


# ------------------------------------------------------------------------------- Blender
def _ray_parity_inside(bvh, points) -> np.ndarray:
    """Inside a closed mesh by majority vote of ray-crossing parities along three directions."""
    from mathutils import Vector

    dirs = [Vector((0.577, 0.577, 0.577)), Vector((-0.6, 0.48, -0.64)), Vector((0.0, -0.8, 0.6))]
    out = []
    for p in points:
        votes = 0
        for d in dirs:
            o, hits = Vector(p), 0
            for _ in range(100):
                loc, _, _, _ = bvh.ray_cast(o, d)
                if loc is None:
                    break
                hits += 1
                o = loc + d * 1e-6
            votes += hits % 2
        out.append(votes >= 2)
    return np.array(out)


def _bvh(verts, faces):
    from mathutils.bvhtree import BVHTree

    return BVHTree.FromPolygons(np.asarray(verts, float).tolist(), np.asarray(faces).tolist())


@pytest.fixture
def free_rig(fresh_blender):
    from mayhem.core.body.model import load_body_model
    from mayhem.scene.body.rig import build_body

    model = load_body_model(FREE_BODY)
    betas = np.random.default_rng(3).normal(size=10)
    return build_body(model, betas, name="person_00")


def _hair_draw(style, seed=0):
    rng = np.random.default_rng(seed)
    hair = {"style": style, "melanin": 0.6, "melanin_redness": 0.3, "roughness": 0.3, "random_colour": 0.1,
            "part_x": 0.3, "density": 1.0, "seed": seed}
    for name, (lo, hi) in ap.HAIR_STYLE_PARAMS[style].items():
        hair[name] = float(rng.uniform(lo, hi))
    return hair


def test_every_hair_style_builds_outside_the_body(free_rig):
    from mayhem.scene.body import hair as H
    from mayhem.scene.body.hair import add_hair, head_geometry, rest_vertices

    rig = free_rig
    geo = head_geometry(rig)
    faces = np.asarray(rig.model.faces)
    bvh = _bvh(rest_vertices(rig), faces)
    density = 0.25
    for style in ap.HAIR_STYLES:
        built = add_hair(rig, _hair_draw(style, seed=1), 1, density=density, geometry=geo)
        expected = round(H.STRANDS[style] * density)
        assert built.num_strands == expected and built.num_points == H.POINTS[style]
        curves = built.curves.data
        assert len(curves.curves) == expected and len(curves.points) == expected * H.POINTS[style]
        assert built.curves.pass_index == 1 and built.scalp.pass_index == 1
        assert built.curves.parent_type == "BONE" and built.curves.parent_bone == "head"
        assert curves.materials[0].node_tree.nodes["Principled Hair BSDF"].parametrization == "MELANIN"
        pos = np.empty(len(curves.points) * 3, np.float32)
        curves.attributes["position"].data.foreach_get("vector", pos)
        pts = pos.reshape(expected, H.POINTS[style], 3).astype(float)
        np.testing.assert_allclose(pts[:, 0], built.roots, atol=1e-6)
        # roots on the scalp, just above it
        d = np.array([bvh.find_nearest(p)[3] for p in built.roots[::10]])
        assert d.max() < 2e-3, (style, d.max())
        # no strand point inside the body (subsample of every strand point)
        sample = pts.reshape(-1, 3)[::7]
        inside = _ray_parity_inside(bvh, sample)
        assert not inside.any(), (style, int(inside.sum()), len(sample))
        extent = np.linalg.norm(pts[:, -1] - pts[:, 0], axis=1).max()
        assert extent > {"buzz": 0.003, "short": 0.02}.get(style, 0.05), (style, extent)
    # bald: nothing is added
    n_objects = len(bpy_module().data.objects)
    assert add_hair(rig, {"style": ap.BALD}, 1).curves is None
    assert len(bpy_module().data.objects) == n_objects


def bpy_module():
    import bpy

    return bpy


def _head_rotation_motion(n=2):
    """Frame 0 upright, frame 1 with the neck and head turned and the body moved."""
    from mayhem.core.body.skeleton import JOINT_INDEX

    body_pose = np.zeros((n, 63))
    for name, aa in (("neck", [0.25, 0.3, 0.1]), ("head", [-0.3, 0.5, 0.2])):
        j = JOINT_INDEX[name] - 1
        body_pose[1, 3 * j:3 * j + 3] = aa
    return {"global_orient": np.array([[np.pi / 2, 0, 0], [np.pi / 2, 0.0, 0.7]]),
            "body_pose": body_pose, "transl": np.array([[0, 0, 0.9], [0.3, -0.2, 0.95]])}


def test_hair_follows_the_head(free_rig):
    from mayhem.core.body.skeleton import JOINT_INDEX
    from mayhem.scene.body.hair import add_hair, rest_vertices
    from mayhem.scene.body.rig import animate_body, evaluated_vertices

    bpy = bpy_module()
    rig = free_rig
    animate_body(rig, _head_rotation_motion())
    built = add_hair(rig, _hair_draw("bob", seed=2), 1, density=0.2)
    rest = rest_vertices(rig)
    head_only = np.flatnonzero(rig.model.weights[:, JOINT_INDEX["head"]] >= 0.999)
    scene = bpy.context.scene
    moved = []
    for frame in (0, 1):
        scene.frame_set(frame)
        dg = bpy.context.evaluated_depsgraph_get()
        arm = rig.armature
        pb = arm.pose.bones["head"]
        deform = np.array(arm.matrix_world @ pb.matrix @ pb.bone.matrix_local.inverted())
        mw = np.array(built.curves.evaluated_get(dg).matrix_world)
        roots = built.roots @ mw[:3, :3].T + mw[:3, 3]
        expect = built.roots @ deform[:3, :3].T + deform[:3, 3]
        assert np.abs(roots - expect).max() < 1e-3, frame  # rigid with the head bone
        skin = evaluated_vertices(rig.mesh, dg)
        # ... which is exactly how skinning moves the head's fully weighted skin
        skin_expect = rest[head_only] @ deform[:3, :3].T + deform[:3, 3]
        assert np.abs(skin[head_only] - skin_expect).max() < 1e-3, frame
        # the scalp shell follows the skin under it (it is skinned with the same weights)
        shell = evaluated_vertices(built.scalp, dg)
        gap = np.linalg.norm(shell - skin[built.scalp_vertices], axis=1)
        assert shell.shape[0] > 100 and gap.max() < 2e-3, (frame, gap.max())
        moved.append(roots)
    assert np.linalg.norm(moved[1] - moved[0], axis=1).min() > 0.05  # the pose really moved the hair


def test_shoes_enclose_and_follow_the_feet(free_rig):
    from mayhem.core.body.skeleton import JOINT_INDEX
    from mayhem.scene.body.rig import animate_body, evaluated_vertices
    from mayhem.scene.body.shoes import add_shoes

    bpy = bpy_module()
    rig = free_rig
    body_pose = np.zeros((2, 63))
    for name, aa in (("left_ankle", [0.5, 0.2, 0.0]), ("right_ankle", [-0.4, 0.0, 0.3]),
                     ("left_foot", [0.4, 0.0, 0.0]), ("right_knee", [0.9, 0.0, 0.0])):
        j = JOINT_INDEX[name] - 1
        body_pose[1, 3 * j:3 * j + 3] = aa
    animate_body(rig, {"global_orient": np.zeros((2, 3)), "body_pose": body_pose, "transl": np.zeros((2, 3))})
    scene = bpy.context.scene
    for kind in ap.SHOE_KINDS:
        rng = np.random.default_rng(5)
        draw = {"kind": kind, "rgb": [0.1, 0.2, 0.5], "sole_rgb": [0.9, 0.9, 0.9], "roughness": 0.5}
        draw.update({k: float(rng.uniform(*b)) for k, b in ap.SHOE_KIND_PARAMS[kind].items()})
        built = add_shoes(rig, draw, 3)
        assert len(built.objects) == 2
        gaps = []
        for frame in (0, 1):
            scene.frame_set(frame)
            dg = bpy.context.evaluated_depsgraph_get()
            body = evaluated_vertices(rig.mesh, dg)
            for obj, ids in zip(built.objects, built.foot_vertices):
                assert obj.pass_index == 3 and len(obj.data.materials) == 2
                sv = evaluated_vertices(obj, dg)
                tris = np.array([tuple(p.vertices) for p in obj.data.polygons])
                inside = _ray_parity_inside(_bvh(sv, tris), body[ids[::3]])
                assert inside.all(), (kind, frame, obj.name, int((~inside).sum()))
                foot = body[ids]
                d2 = (sv ** 2).sum(1)[:, None] - 2 * sv @ foot.T + (foot ** 2).sum(1)[None]
                gaps.append((sv, np.sqrt(np.maximum(d2.min(1), 0))))
        # each shoe moved with its foot: the shoe really moved, and every shoe vertex kept its
        # distance to the nearest foot vertex (no sliding off or sinking in)
        for (s0, g0), (s1, g1) in zip(gaps[:2], gaps[2:]):
            assert np.linalg.norm(s1 - s0, axis=1).max() > 0.03
            assert np.abs(g1 - g0).mean() < 2e-3 and np.abs(g1 - g0).max() < 0.015, (kind, np.abs(g1 - g0).max())
        for obj in built.objects:
            bpy.data.objects.remove(obj)
    assert add_shoes(rig, {"kind": ap.BAREFOOT}, 3).objects == []


def test_render_mask_covers_hair_and_shoes(fresh_blender, tmp_path):
    """Tiny Cycles render: the person's mask contains the body's and shoes' silhouettes and
    extends beyond them only where the hair projects."""
    from mayhem.core.body.model import load_body_model
    from mayhem.core.camera import pinhole as cc
    from mayhem.core.geometry.raster import rasterize_ids
    from mayhem.scene import render
    from mayhem.scene.body.hair import add_hair
    from mayhem.scene.body.rig import animate_body, build_body, evaluated_vertices
    from mayhem.scene.body.shoes import add_shoes
    from mayhem.scene.body.skin import apply_skin, skin_material
    from mayhem.scene.camera.objects import create_camera
    from mayhem.scene.world import hdri as world

    bpy = fresh_blender
    W, H = 160, 90
    scene = bpy.context.scene
    world.setup_hdri_world(scene, world.builtin_hdris()["forest"], 1.0, 0.0)
    rig = build_body(load_body_model(FREE_BODY), np.zeros(10), name="person_00")
    animate_body(rig, {"global_orient": np.array([[np.pi / 2, 0, 0]]), "body_pose": np.zeros((1, 63)),
                       "transl": np.array([[0.0, 0.0, 0.9]])})
    rig.mesh.pass_index = 1
    apply_skin(rig.mesh, skin_material(0.7, name="skin"))
    hair = add_hair(rig, _hair_draw("bun", seed=4), 1, density=0.5)
    shoes = add_shoes(rig, {"kind": "boot", "rgb": [0.1, 0.05, 0.02], "sole_rgb": [0.02, 0.02, 0.02],
                            "roughness": 0.6, "top_m": 0.2, "sole_m": 0.015, "margin_m": 0.007}, 1)
    # Camera from the side, rolled so the standing body spans the image width.
    w2c = cc.look_at(np.array([3.2, 0.0, 0.9]), np.array([0.0, 0.0, 0.9]), up=(0.0, -1.0, 0.0))
    K = cc.intrinsics(35.0, 36.0, W, H)
    create_camera("cam", 35.0, 36.0, w2c)
    render.configure_cycles(scene, width=W, height=H, samples=2, adaptive_threshold=0.0, denoise=False,
                            device="cpu", threads=2)
    render.configure_passes(scene, tmp_path / "passes")
    files = render.render_animation(scene, 0, 0, tmp_path / "rgb", tmp_path / "passes")
    _, ids = read_passes(files[0][1])
    mask = ids == 1

    dg = bpy.context.evaluated_depsgraph_get()
    meshes = []
    for obj in [rig.mesh] + shoes.objects:
        v = evaluated_vertices(obj, dg)
        uv, z = cc.project(v, K, w2c)
        tris = np.array([tuple(p.vertices) for p in obj.data.polygons]) if obj is not rig.mesh else rig.model.faces
        meshes.append((uv, tris, z, 1))
    silhouette = rasterize_ids(meshes, W, H) == 1
    assert silhouette.sum() > 500
    covered = (mask & silhouette).sum() / silhouette.sum()
    assert covered >= 0.99, covered
    # pixels beyond body + shoes: only where the hair projects
    mw = np.array(hair.curves.matrix_world)
    pos = np.empty(len(hair.curves.data.points) * 3, np.float32)
    hair.curves.data.attributes["position"].data.foreach_get("vector", pos)
    huv, _ = cc.project(pos.reshape(-1, 3) @ mw[:3, :3].T + mw[:3, 3], K, w2c)
    extra = mask & ~silhouette
    ys, xs = np.nonzero(extra)
    assert len(xs) >= 10, len(xs)
    lo, hi = huv.min(0) - 1.0, huv.max(0) + 1.0
    assert np.all((xs >= lo[0]) & (xs <= hi[0]) & (ys >= lo[1]) & (ys <= hi[1]))
