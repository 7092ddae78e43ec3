"""Texture-only outfits: coverage on the free body (numpy) and the painted skin in Cycles.

The coverage must be the simulated garment's region (same fields, same zero contour) with a
5 mm soft hem measured along the skin; painted on a body it must change the torso pixels of a
tiny render and nothing much else, and the ``clothing`` AOV must show where it is.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mayhem.core.body.skeleton import PART_INDEX
from mayhem.core.clothing import garments as G
from mayhem.core.clothing.body_rest import NEVER_COVERED, BodyRest
from mayhem.core.errors import MayhemInputError
from mayhem.core.geometry.mesh import vertex_normals

W, H = 96, 54
RED = {"pattern": "solid", "color": [0.85, 0.05, 0.05], "color2": [0.85, 0.05, 0.05], "period": 0.02,
       "stripe_ratio": 0.4, "seed": 1}
BLUE = {"pattern": "stripes", "color": [0.05, 0.1, 0.8], "color2": [0.02, 0.05, 0.4], "period": 0.03,
        "stripe_ratio": 0.5, "seed": 2}
OUTFIT = [
    {"source": "procedural", "kind": "tshirt", "name": "top", "looseness": 0.2, "length": None, "sleeve": None,
     "target_vertices": 3000, "fabric": "cotton", "look": RED},
    {"source": "procedural", "kind": "trousers", "name": "bottom", "looseness": 0.2, "length": 1.0, "sleeve": None,
     "target_vertices": 3000, "fabric": "denim", "look": BLUE},
]


def _labels(*names):
    return np.array([PART_INDEX[n] for n in names])


# ------------------------------------------------------------------------------ coverage
def test_tshirt_covers_the_torso_not_hands_head_feet(body):
    spec = G.GarmentSpec("tshirt")
    c = G.garment_coverage(spec, body)
    lab = body.part_labels
    assert c.shape == (len(body.vertices),) and c.min() >= 0.0 and c.max() <= 1.0
    torso = np.isin(lab, _labels("spine", "spine1", "spine2", "leftShoulder", "rightShoulder"))
    assert np.mean(c[torso] > 0.5) > 0.98 and c[torso].mean() > 0.98
    never = np.isin(lab, NEVER_COVERED)
    assert c[never].max() == 0.0
    assert c[np.isin(lab, _labels("leftForeArm", "rightForeArm", "leftLeg", "rightLeg"))].max() == 0.0
    # Upper arms: the short sleeve covers their top part only.
    upper = c[np.isin(lab, _labels("leftArm", "rightArm"))]
    assert 0.3 < upper.mean() < 0.95
    # The painted region is the cut's region: the same zero contour as make_garment's field.
    phi = G.garment_field(spec, body)
    assert np.array_equal(phi >= 0, c >= 0.5)


def test_hem_edge_is_five_millimetres_along_the_skin(body):
    """At the front of the belly the hem is a horizontal plane cut: the signed distance must be
    the height above the hem (the skin there is nearly vertical), so the 5 mm edge is 5 mm."""
    spec = G.GarmentSpec("tshirt").resolved()
    sd = G.garment_signed_distance(spec, body)
    hem_y = G._top_hem_y(G._heights(body), spec)
    V = body.vertices
    pel = body.joint("pelvis")
    front = (np.abs(V[:, 0] - pel[0]) < 0.06) & (V[:, 2] > pel[2] + 0.05)
    near = front & (np.abs(V[:, 1] - hem_y) < 0.04) & (np.abs(V[:, 1] - hem_y) > 0.002)
    assert near.sum() >= 4
    ratio = sd[near] / (V[near, 1] - hem_y)
    assert np.all(ratio > 0.95) and np.all(ratio < 1.35), ratio
    c = G.coverage_from_distance(np.array([-0.003, -0.0025, 0.0, 0.0025, 0.003]))
    assert np.allclose(c, [0.0, 0.0, 0.5, 1.0, 1.0])


def test_trousers_cover_the_legs_to_near_the_ankles(body):
    c = G.garment_coverage(G.GarmentSpec("trousers", length=1.0), body)
    lab = body.part_labels
    V = body.vertices
    ankle = 0.5 * (body.joint("left_ankle")[1] + body.joint("right_ankle")[1])
    thighs = np.isin(lab, _labels("leftUpLeg", "rightUpLeg"))
    assert np.mean(c[thighs] > 0.5) > 0.99
    calves = np.isin(lab, _labels("leftLeg", "rightLeg"))
    above = calves & (V[:, 1] > ankle + 0.08)
    assert np.mean(c[above] > 0.5) > 0.99
    covered = c > 0.5
    assert V[covered, 1].min() < ankle + 0.08          # down to near the ankles ...
    assert c[np.isin(lab, NEVER_COVERED)].max() == 0.0  # ... but never the feet
    upper = np.isin(lab, _labels("spine1", "spine2", "leftArm", "rightArm", "neck"))
    assert c[upper].max() == 0.0


def test_every_kind_paints_a_region(body):
    areas = {}
    for kind in G.GARMENT_KINDS:
        c = G.garment_coverage(G.GarmentSpec(kind), body)
        assert np.all(np.isfinite(c))
        areas[kind] = float(np.mean(c > 0.5))
    assert areas["trousers"] > areas["shorts"] > 0.02
    assert areas["longsleeve"] > areas["tshirt"] > 0.05
    assert areas["dress"] > areas["tshirt"] and areas["dress"] > areas["skirt"] > 0.02


def test_body_cloth_uvs_are_metres(body):
    uv = G.body_cloth_uvs(body)
    assert uv.shape == (len(body.faces), 3, 2) and np.all(np.isfinite(uv))
    # Per face, UV edge lengths match the 3D edge lengths within the cylindrical distortion.
    P = body.vertices[body.faces]
    l3 = np.linalg.norm(P[:, 1] - P[:, 0], axis=1)
    l2 = np.linalg.norm(uv[:, 1] - uv[:, 0], axis=1)
    torso = np.isin(body.part_labels[body.faces[:, 0]], _labels("spine", "spine1", "spine2"))
    assert 0.7 < np.median(l2[torso] / l3[torso]) < 1.3


# --------------------------------------------------------------------------- in Blender
def _scene(bpy, model, paint: bool, out: Path):
    """The free body standing in the zero pose, seen from the front; renders one EXR with the
    combined pass and the clothing AOV. Returns (rgb (H,W,3), aov (H,W), material, rig)."""
    from mayhem.core.io.exr import read_exr
    from mayhem.scene import blender_compat as compat
    from mayhem.scene.body.rig import build_body
    from mayhem.scene.body.skin import apply_skin, skin_material
    from mayhem.scene.clothing.painted import CLOTHING_AOV, declare_clothing_aov, paint_outfit

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 4
    scene.cycles.seed = 0
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y = W, H
    scene.render.resolution_percentage = 100
    world = bpy.data.worlds.new("w")
    scene.world = world
    compat.enable_nodes(world).nodes["Background"].inputs["Color"].default_value = (1, 1, 1, 1)
    rig = build_body(model, None, name="person", pose_correctives=False)
    material = skin_material(0.3, seed=0)
    apply_skin(rig.mesh, material)
    if paint:
        body = BodyRest.from_model(model, reference="A")
        paint_outfit(rig, material, OUTFIT, body)
    # Model coordinates are Y-up with the front along +Z: a camera at +Z with no rotation
    # looks down -Z with +Y up, i.e. at the front of the body.
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    scene.camera = cam
    cam.data.lens, cam.data.sensor_width = 35.0, 36.0
    cam.location = (0.0, 0.35, 2.6)
    declare_clothing_aov(scene.view_layers[0])
    declare_clothing_aov(scene.view_layers[0])        # idempotent
    assert len(scene.view_layers[0].aovs) == 1
    fmt = scene.render.image_settings
    compat.set_exr_format(fmt, multilayer=True, codec="ZIP", color_depth="32")
    scene.render.filepath = str(out / ("painted.exr" if paint else "bare.exr"))
    bpy.ops.render.render(write_still=True)
    ch = read_exr(scene.render.filepath)
    rgb = np.stack([ch[next(k for k in ch if k.endswith(f"Combined.{c}"))] for c in "RGB"], axis=-1)
    aov_key = next((k for k in ch if k.split(".")[-2:-1] == [CLOTHING_AOV]), None)
    aov_px = ch[aov_key] if aov_key else np.zeros((H, W))
    return np.asarray(rgb, np.float64), np.asarray(aov_px, np.float64), material, rig, cam, scene


def _pixels(scene, cam, points):
    """Integer (row, col) of world points in the render, unique, inside the image."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    out = set()
    for p in points:
        x, y, z = world_to_camera_view(scene, cam, Vector(p.tolist()))
        col, row = int(x * W), int((1.0 - y) * H)
        if z > 0 and 0 <= col < W and 0 <= row < H:
            out.add((row, col))
    return tuple(np.array(sorted(out)).T)


def test_painted_body_renders_clothing_and_aov(fresh_blender, model, tmp_path):
    bpy = fresh_blender
    bare, bare_aov, _, _, _, _ = _scene(bpy, model, paint=False, out=tmp_path)
    rgb, aov, material, rig, cam, scene = _scene(bpy, model, paint=True, out=tmp_path)
    V = model.v_template
    n = vertex_normals(V, model.faces)
    lab = model.extras["part_labels"]
    front = n[:, 2] > 0.7
    torso = _pixels(scene, cam, V[front & np.isin(lab, _labels("spine1", "spine2"))])
    head = _pixels(scene, cam, V[front & np.isin(lab, _labels("head"))])
    assert len(torso[0]) >= 20 and len(head[0]) >= 8
    d_torso = np.abs(rgb[torso] - bare[torso]).mean()
    d_head = np.abs(rgb[head] - bare[head]).mean()
    assert d_torso > 0.05 and d_head < 0.25 * d_torso, (d_torso, d_head)
    # Red T-shirt over skin: red dominates green on the torso now.
    r, g = rgb[torso][:, 0].mean(), rgb[torso][:, 1].mean()
    assert r > 2.0 * g, (r, g)
    # The clothing AOV: coverage on the torso, none on the head, none without paint.
    assert aov[torso].mean() > 0.9 and aov[head].max() < 0.05 and bare_aov.max() == 0.0


def test_material_and_mesh_carry_the_paint(fresh_blender, model, body):
    from mayhem.scene.body.rig import build_body
    from mayhem.scene.body.skin import apply_skin, skin_material
    from mayhem.scene.clothing.painted import CLOTH_UV_MAP, CLOTHING_AOV, paint_outfit

    rig = build_body(model, None, name="person", pose_correctives=False)
    material = skin_material(0.5)
    apply_skin(rig.mesh, material)
    paint_outfit(rig, material, OUTFIT, body)
    nt = material.node_tree
    aovs = [nd for nd in nt.nodes if nd.bl_idname == "ShaderNodeOutputAOV"]
    assert len(aovs) == 1 and aovs[0].aov_name == CLOTHING_AOV and aovs[0].inputs["Value"].is_linked
    mixes = [nd for nd in nt.nodes if nd.bl_idname == "ShaderNodeMixShader"]
    assert len(mixes) == 2
    out = next(nd for nd in nt.nodes if nd.bl_idname == "ShaderNodeOutputMaterial")
    top_mix = out.inputs["Surface"].links[0].from_node
    assert top_mix.label == "painted top"          # the top is layered over the trousers
    me = rig.mesh.data
    for i, g in enumerate(OUTFIT):
        spec = G.GarmentSpec(g["kind"], looseness=g["looseness"], length=g["length"])
        want = G.garment_signed_distance(spec, body).astype(np.float32)
        got = np.empty(len(me.vertices), np.float32)
        me.attributes[f"mayhem_paint_{i}"].data.foreach_get("value", got)
        assert np.array_equal(got, want)
    assert CLOTH_UV_MAP in me.uv_layers
    assert me.uv_layers["UVMap"].active_render and me.uv_layers.active.name == "UVMap"


def test_user_garments_cannot_be_painted(fresh_blender, model, body):
    from mayhem.scene.body.rig import build_body
    from mayhem.scene.body.skin import skin_material
    from mayhem.scene.clothing.painted import paint_outfit

    rig = build_body(model, None, name="person", pose_correctives=False)
    with pytest.raises(MayhemInputError, match=r"garments\[1\]\.source"):
        paint_outfit(rig, skin_material(0.5), [OUTFIT[0], {"source": "user", "name": "jacket"}], body)
    with pytest.raises(MayhemInputError, match=r"garments\[0\]\.pattern"):
        paint_outfit(rig, skin_material(0.5), [dict(OUTFIT[0], look={"pattern": "zebra"})], body)
