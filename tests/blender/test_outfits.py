"""User outfits: manifests, reading OBJ / GLB / PLY / .blend garments, fitting to other shapes,
and simulating a fitted garment.

The tests write their own outfit: a procedural T-shirt and shorts (core.clothing.garments) made on the
free body at betas 0 in the A-pose are written as an OBJ by hand (UVs per corner, the pinned
band as an OBJ face group), and through Blender's exporters as GLB (pins as the custom
attribute _neckband) and PLY (the vertex group becomes a vertex property), and saved in a
.blend with vertex groups. The Blender objects carry a non-identity transform (their mesh data
is moved the other way), so reading must apply object transforms to get the garment back.
"""
from __future__ import annotations

import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mayhem.core.clothing import garments as G
from mayhem.core.clothing import user_outfits as O
from mayhem.core.clothing.body_rest import BodyRest, reference_body_pose
from mayhem.core.errors import MayhemInputError
from mayhem.core.geometry.spatial import PointGrid

HEAVY_TALL = np.array([2.0, -1.0])     # free body: 1.92 m and 84 l (betas 0: 1.69 m, 60 l)
PREROLL, FRAMES = 6, 6
# Blender's world is Z-up: model (x, y, z) -> Blender (x, -z, y).
TO_BLENDER = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])


@pytest.fixture(scope="module")
def template(free_body_rest):
    return free_body_rest


@pytest.fixture(scope="module")
def procedural(template):
    shirt, shorts = G.make_outfit([G.GarmentSpec("tshirt", target_vertices=1200),
                                   G.GarmentSpec("shorts", target_vertices=1000)], template)
    return {"shirt": shirt, "shorts": shorts}


def _pinned(g: G.Garment) -> np.ndarray:
    """Vertices of the faces wholly in the pin band: a set every format can carry (an OBJ face
    group names faces, so its vertex group is the vertices of those faces)."""
    band = np.all(g.pin_weights[g.faces] > 0.05, axis=1)
    mask = np.zeros(len(g.vertices), dtype=bool)
    mask[np.unique(g.faces[band])] = True
    return mask


def write_obj(path: Path, g: G.Garment, group: str, scale: float = 1.0, shift=(0.0, 0.0, 0.0)) -> None:
    band = np.all(_pinned(g)[g.faces], axis=1)
    lines = ["# garment written by test_outfits", "o garment"]
    lines += [f"v {x:.7f} {y:.7f} {z:.7f}" for x, y, z in (g.vertices + np.asarray(shift)) * scale]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in g.uv.reshape(-1, 2)]
    for name, sel in (("cloth", ~band), (group, band)):
        lines.append(f"g {name}")
        for k in np.flatnonzero(sel):
            a, b, c = g.faces[k] + 1
            t = 3 * k + 1
            lines.append(f"f {a}/{t} {b}/{t + 1} {c}/{t + 2}")
    path.write_text("\n".join(lines) + "\n")


def _blender_object(bpy, name: str, g: G.Garment, group: str, location, rotation, scale):
    """A mesh object whose world-space vertices are the garment in Blender's Z-up frame."""
    from mathutils import Euler

    R = np.array(Euler(rotation).to_matrix(), dtype=np.float64)
    world = g.vertices @ TO_BLENDER.T
    local = ((world - np.asarray(location)) @ R) / scale          # R^-1 = R^T
    me = bpy.data.meshes.new(name)
    me.from_pydata(local.tolist(), [], g.faces.tolist())
    me.uv_layers.new(name="UVMap").uv.foreach_set("vector", g.uv.astype(np.float32).ravel())
    obj = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(obj)
    obj.location, obj.rotation_euler, obj.scale = location, rotation, (scale, scale, scale)
    pins = _pinned(g)
    obj.vertex_groups.new(name=group).add(np.flatnonzero(pins).tolist(), 1.0, "REPLACE")
    attr = me.attributes.new("_" + group, "FLOAT", "POINT")   # glTF exports only _attributes
    attr.data.foreach_set("value", pins.astype(np.float32))
    return obj


@pytest.fixture(scope="module")
def outfit_dir(tmp_path_factory, procedural):
    bpy = pytest.importorskip("bpy")
    folder = tmp_path_factory.mktemp("outfit")
    write_obj(folder / "shirt.obj", procedural["shirt"], "neckband")
    write_obj(folder / "shorts.obj", procedural["shorts"], "waistband")
    write_obj(folder / "shirt_cm.obj", procedural["shirt"], "neckband", scale=100.0)
    write_obj(folder / "shirt_far.obj", procedural["shirt"], "neckband", shift=(0.0, 0.0, 1.0))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    shirt = _blender_object(bpy, "shirt", procedural["shirt"], "neckband", (0.2, -0.1, 1.0), (0.3, -0.2, 0.5), 1.5)
    shorts = _blender_object(bpy, "shorts", procedural["shorts"], "waistband", (0.0, 0.5, 0.9), (0.0, 0.0, 1.0), 1.0)
    bpy.context.view_layer.update()
    for obj in (shirt, shorts):
        obj.select_set(True)
    assert "FINISHED" in bpy.ops.export_scene.gltf(filepath=str(folder / "outfit.glb"), export_format="GLB",
                                                   use_selection=True, export_attributes=True,
                                                   export_materials="NONE", export_animations=False)
    for obj in (shirt, shorts):
        obj.select_set(obj is shirt)
    assert "FINISHED" in bpy.ops.wm.ply_export(filepath=str(folder / "shirt.ply"), export_selected_objects=True,
                                               export_uv=True, export_attributes=True, export_normals=False)
    bpy.data.libraries.write(str(folder / "outfit.blend"), {shirt, shorts})
    # A booby-trapped file: a registered text block and a Python driver that would leave a
    # marker file if anything ran them.
    marker = folder / "ran.txt"
    text = bpy.data.texts.new("evil.py")
    text.write(f"import pathlib; pathlib.Path({str(marker)!r}).touch()\n")
    text.use_module = True
    trap = _blender_object(bpy, "trap", procedural["shorts"], "waistband", (0, 0, 0), (0, 0, 0), 1.0)
    bpy.context.scene.collection.objects.unlink(trap)   # never evaluated here either
    fc = trap.driver_add("location", 0)
    fc.driver.type = "SCRIPTED"
    fc.driver.expression = f"__import__('pathlib').Path({str(marker)!r}).touch() or 0.0"
    bpy.data.libraries.write(str(folder / "trap.blend"), {trap, text})
    bpy.ops.wm.read_factory_settings(use_empty=True)
    (folder / "trap.yaml").write_text(
        "outfit: {body: {pose: A}, garments: [{file: trap.blend, kind: bottom, pin_group: waistband}]}\n")
    (folder / "outfit.yaml").write_text(textwrap.dedent("""\
        outfit:
          name: test outfit
          body: {model: free, gender: neutral, betas: [0, 0], pose: A}
          units: m
          garments:
            - {name: shirt_obj, file: shirt.obj, kind: top, fabric: cotton, pin_group: neckband}
            - {name: shirt_glb, file: outfit.glb, object: shirt, kind: top, pin_group: neckband}
            - {name: shirt_ply, file: shirt.ply, kind: top, fabric: silk, pin_group: neckband}
            - {name: shirt_blend, file: outfit.blend, object: shirt, kind: top, pin_group: neckband}
            - {name: shorts, file: outfit.blend, object: shorts, kind: bottom, fabric: denim}
            - {name: shorts_obj, file: shorts.obj, kind: bottom, pin_group: waistband}
        """))
    return folder


@pytest.fixture(scope="module")
def outfit_import(outfit_dir):
    from mayhem.scene.clothing import user_outfits as OI

    OI.clear_caches()
    return OI


def _ref(folder: Path, garment, manifest="outfit.yaml") -> dict:
    return {"source": "user", "manifest": str(folder / manifest), "garment": garment, "fabric": "cotton"}


def _match(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Index of the nearest reference point for each point (brute force; small meshes)."""
    grid = PointGrid(reference, 0.02)
    idx, d = grid.nearest(points)
    assert d.max() < 1e-4, d.max()   # the same vertices, up to the files' float precision
    return idx


# --------------------------------------------------------------------------- manifests
def _write(folder: Path, text: str, name: str = "m.yaml") -> Path:
    p = folder / name
    p.write_text(textwrap.dedent(text))
    return p


def test_manifest_fields_and_defaults(tmp_path):
    (tmp_path / "a.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    (tmp_path / "b.ply").write_text("ply\n")
    p = _write(tmp_path, """\
        outfit:
          garments:
            - {file: a.obj, kind: bottom}
            - {file: b.ply, kind: dress, name: frock, pin: none, units: cm}
            - {file: a.obj, kind: top, name: "0", pin_group: neck, up: z}
        """)
    m = O.load_manifest(p)
    assert m.name == "m" and m.body.model == "free" and m.body.pose == "T" and m.body.betas == ()
    assert m.names == ["a", "frock", "0"]
    a, frock, zero = m.garments
    assert (a.fabric, a.pin, a.layer, a.self_collision, a.up, a.units) == ("denim", "hem", 0, False, "Y", "m")
    assert (frock.pin, frock.layer, frock.self_collision, frock.up, frock.units) == ("none", 1, True, "Z", "cm")
    assert (zero.pin, zero.pin_group, zero.up) == ("group", "neck", "Z")
    assert m.garment(1) is frock and m.garment("frock") is frock and m.garment("0") is zero
    assert m.garment("1") is frock
    assert O.list_outfit_garments(p) == ["a", "frock", "0"]
    with pytest.raises(MayhemInputError, match="no garment named 'coat'"):
        m.garment("coat")


@pytest.mark.parametrize("text, field", [
    ("outfit: {garments: [{file: a.obj, kind: top, fabric: velvet}]}", "outfit.garments[0].fabric"),
    ("outfit: {garments: [{file: a.obj, kind: top}, {file: gone.obj, kind: top}]}", "outfit.garments[1].file"),
    ("outfit: {garments: [{file: a.txt, kind: top}]}", "outfit.garments[0].file"),
    ("outfit: {garments: [{file: a.obj, kind: hat}]}", "outfit.garments[0].kind"),
    ("outfit: {garments: [{file: a.obj}]}", "outfit.garments[0].kind"),
    ("outfit: {garments: [{file: a.obj, kind: top, colour: red}]}", "outfit.garments[0].colour"),
    ("outfit: {garments: [{file: a.obj, kind: top, pin: none, pin_group: w}]}", "outfit.garments[0].pin"),
    ("outfit: {garments: [{file: a.obj, kind: top, self_collision: maybe}]}", "outfit.garments[0].self_collision"),
    ("outfit: {garments: [{file: a.obj, kind: top}, {file: a.obj, kind: top}]}", "outfit.garments[1].name"),
    ("outfit: {body: {pose: B}, garments: [{file: a.obj, kind: top}]}", "outfit.body.pose"),
    ("outfit: {body: {betas: [1, x]}, garments: [{file: a.obj, kind: top}]}", "outfit.body.betas"),
    ("outfit: {body: {model: none.npz}, garments: [{file: a.obj, kind: top}]}", "outfit.body.model"),
    ("outfit: {units: feet, garments: [{file: a.obj, kind: top}]}", "outfit.units"),
    ("outfit: {up: X, garments: [{file: a.obj, kind: top}]}", "outfit.up"),
    ("outfit: {garments: []}", "outfit.garments"),
    ("garments: []", "outfit"),
])
def test_bad_manifest_names_the_field(tmp_path, text, field):
    (tmp_path / "a.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    p = _write(tmp_path, text + "\n")
    with pytest.raises(MayhemInputError) as err:
        O.load_manifest(p)
    assert err.value.field == field, str(err.value)
    assert str(p) in str(err.value)


def test_bad_yaml_names_the_file(tmp_path):
    p = _write(tmp_path, "outfit: {garments: [file: a.obj\n")
    with pytest.raises(MayhemInputError, match="invalid YAML at line") as err:
        O.load_manifest(p)
    assert err.value.path == str(p.resolve())


# ------------------------------------------------------------------------ fitting maths
def test_binding_reproduces_the_mesh_on_its_template(template, procedural):
    """Carried back onto the template itself, every vertex lands where it was (the frame-offset
    binding is exact), and the Garment's bind mesh skins back onto it."""
    g = procedural["shirt"]
    og = O.OutfitGarment(0, "shirt", Path("shirt.obj"), None, "top", "cotton", "hem", None, 0.035,
                         False, "m", "Y")
    fitted = O.fit_user_garment(O.MeshData(g.vertices, g.faces), og, template, template)
    assert np.abs(fitted.vertices - g.vertices).max() < 1e-9
    assert np.allclose(template.pose_points(fitted.bind_vertices, fitted.skin_weights.astype(np.float64)),
                       fitted.vertices, atol=1e-6)
    assert np.allclose(fitted.reference_pose, reference_body_pose("A"))
    assert fitted.rest_penetration == 0.0 and fitted.layer == 1
    assert np.allclose(fitted.skin_weights.sum(axis=1), 1.0, atol=1e-5)
    # Hem pins: the band along the highest opening (the neckline), as procedural tops.
    assert np.all(fitted.pin_weights[g.pin_weights >= 0.999] > 0.99)
    assert fitted.pin_weights[g.vertices[:, 1] < template.joint("spine1")[1]].max() == 0.0


def test_body_in_pose_is_exact_without_correctives(model):
    """Re-posing a BodyRest (A -> T and back) matches the model's own forward pass."""
    a = BodyRest.from_model(model, HEAVY_TALL, reference="A")
    t = BodyRest.from_model(model, HEAVY_TALL, reference="T")
    t2 = O.body_in_pose(a, reference_body_pose("T"))
    a2 = O.body_in_pose(t, reference_body_pose("A"))
    for got, want in ((t2, t), (a2, a)):
        assert np.abs(got.vertices - want.vertices).max() < 1e-9
        assert np.abs(got.joints - want.joints).max() < 1e-9
        assert np.abs(got.skin_transforms - want.skin_transforms).max() < 1e-9


# ------------------------------------------------------------------------- mesh files
def test_every_format_reads_back_the_garment(outfit_dir, outfit_import, template, procedural):
    """(a) and (c): each format, fitted onto the template's own shape, is the procedural garment
    (< 1 mm: transforms, axes and seams undone), with the same pinned vertices."""
    g = procedural["shirt"]
    want_pins = _pinned(g)
    for name in ("shirt_obj", "shirt_glb", "shirt_ply", "shirt_blend"):
        got = outfit_import.load_user_garment(_ref(outfit_dir, name), template)
        assert len(got.vertices) == len(g.vertices) and len(got.faces) == len(g.faces), name
        idx = _match(got.vertices, g.vertices)
        assert len(np.unique(idx)) == len(idx)
        err = np.abs(got.vertices - g.vertices[idx]).max()
        assert err < 1e-3, (name, err)
        assert np.array_equal(got.pin_weights > 0.5, want_pins[idx]), name
        assert got.uv.shape == (len(got.faces), 3, 2) and np.all(np.isfinite(got.uv))
        assert got.name == name and got.kind == "top" and got.layer == 1
    shorts = outfit_import.load_user_garment(_ref(outfit_dir, "shorts"), template)
    idx = _match(shorts.vertices, procedural["shorts"].vertices)
    assert np.abs(shorts.vertices - procedural["shorts"].vertices[idx]).max() < 1e-3
    assert shorts.layer == 0 and not shorts.self_collision
    # The default pin is the band along the waistband (the highest opening).
    assert np.all(shorts.pin_weights[procedural["shorts"].pin_weights[idx] >= 0.999] > 0.99)


def test_formats_agree_on_another_shape(outfit_dir, outfit_import, model, template):
    """(b) and (c): on a taller, heavier body every format gives the same fitted garment, which
    keeps its clearance: (almost) nothing inside, mean distance as on the template."""
    person = BodyRest.from_model(model, HEAVY_TALL, reference="A")
    fitted = {name: outfit_import.load_user_garment(_ref(outfit_dir, name), person)
              for name in ("shirt_obj", "shirt_glb", "shirt_ply", "shirt_blend")}
    manifest = outfit_import.load_manifest(outfit_dir / "outfit.yaml")
    ref_mesh = outfit_import.prepared_garment(manifest, manifest.garment("shirt_obj"))[0]
    for name, g in fitted.items():
        mesh = outfit_import.prepared_garment(manifest, manifest.garment(name))[0]
        idx = _match(mesh.vertices, ref_mesh.vertices)
        assert np.abs(g.vertices - fitted["shirt_obj"].vertices[idx]).max() < 1e-4, name
    for name in ("shirt_obj", "shorts_obj"):
        on_template = outfit_import.load_user_garment(_ref(outfit_dir, name), template)
        on_person = outfit_import.load_user_garment(_ref(outfit_dir, name), person)
        _, _, _, d0 = template.query.closest(on_template.vertices)
        _, _, _, d1 = person.query.closest(on_person.vertices)
        assert np.mean(d1 < 0) < 0.01, name
        assert abs(d1.mean() - d0.mean()) < 0.005, (name, d0.mean(), d1.mean())
        # It is the bigger garment: it follows the body, not just the template.
        assert np.ptp(on_person.vertices[:, 1]) > 1.05 * np.ptp(on_template.vertices[:, 1])
        # Bind vertices skin back onto the fitted garment in the manifest's pose.
        W = on_person.skin_weights.astype(np.float64)
        assert np.allclose(person.pose_points(on_person.bind_vertices, W), on_person.vertices, atol=1e-6)


def test_reading_leaves_the_blend_file_unchanged(outfit_dir, fresh_blender, template):
    from mayhem.scene.clothing import user_outfits as OI

    bpy = fresh_blender
    bpy.data.objects.new("shirt", bpy.data.meshes.new("shirt"))   # a name clash with the file's
    counts = {name: len(getattr(bpy.data, name)) for name in
              ("objects", "meshes", "materials", "scenes", "collections", "libraries", "texts", "images")}
    OI.clear_caches()
    for name in ("shirt_obj", "shirt_glb", "shirt_ply", "shirt_blend", "shorts"):
        OI.load_user_garment(_ref(outfit_dir, name), template)
    assert not (outfit_dir / "ran.txt").exists()
    trap = OI.load_user_garment(_ref(outfit_dir, 0, "trap.yaml"), template)
    assert len(trap.vertices) > 500 and trap.pin_weights.max() == 1.0
    assert not (outfit_dir / "ran.txt").exists()        # neither the text nor the driver ran
    after = {name: len(getattr(bpy.data, name)) for name in counts}
    assert after == counts
    assert bpy.context.scene.name != OI.IMPORT_SCENE


def test_reference_pose_of_the_manifest_is_kept(outfit_dir, outfit_import, model):
    """A T-pose outfit on a person whose BodyRest is in the A-pose: the garment stays in the
    T-pose (its reference_pose), identical to fitting onto the person's T-pose body."""
    (outfit_dir / "t_outfit.yaml").write_text(
        "outfit: {body: {model: free, pose: T}, garments: [{file: shorts.obj, kind: bottom, pin_group: waistband}]}\n")
    ref = _ref(outfit_dir, "shorts", "t_outfit.yaml")
    person_a = BodyRest.from_model(model, HEAVY_TALL, reference="A")
    person_t = BodyRest.from_model(model, HEAVY_TALL, reference="T")
    from_a = outfit_import.load_user_garment(ref, person_a)
    from_t = outfit_import.load_user_garment(ref, person_t)
    exact = outfit_import.load_user_garment(ref, person_a, model=model, betas=HEAVY_TALL)
    assert np.allclose(from_a.reference_pose, 0.0)
    for g in (from_a, exact):
        assert np.abs(g.vertices - from_t.vertices).max() < 1e-8
        assert np.abs(g.bind_vertices - from_t.bind_vertices).max() < 1e-8


@pytest.mark.parametrize("garment, field, message", [
    ({"file": "shirt_far.obj"}, "outfit.garments[0].file", "farther than 0.3 m"),
    ({"file": "shirt_cm.obj"}, "outfit.garments[0].file", "farther than 0.3 m"),
    ({"file": "shirt.obj", "units": "mm"}, "outfit.garments[0].file", "inside the template body"),
    ({"file": "outfit.glb"}, "outfit.garments[0].object", "has 2 meshes"),
    ({"file": "outfit.blend", "object": "coat"}, "outfit.garments[0].object", "no mesh object named 'coat'"),
    ({"file": "shirt.obj", "pin_group": "hem"}, "outfit.garments[0].pin_group", "no vertex group"),
])
def test_unusable_meshes_are_rejected(outfit_dir, outfit_import, template, garment, field, message):
    entry = ", ".join(f"{k}: {v}" for k, v in {**garment, "kind": "top"}.items())
    name = "bad_" + "_".join(str(v).replace(".", "_") for v in garment.values()) + ".yaml"
    (outfit_dir / name).write_text(f"outfit: {{body: {{pose: A}}, garments: [{{{entry}}}]}}\n")
    with pytest.raises(MayhemInputError, match=message) as err:
        outfit_import.load_user_garment(_ref(outfit_dir, 0, name), template)
    assert err.value.field == field and str(outfit_dir / name) in str(err.value)


def test_mesh_checks(tmp_path):
    og = O.OutfitGarment(0, "g", tmp_path / "g.obj", None, "top", "cotton", "hem", None, 0.035, False, "m", "Y")
    quad = O.MeshData(np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0.0]]), np.array([[0, 1, 2], [0, 2, 3]]))
    with pytest.raises(MayhemInputError, match="no faces") as err:
        O.prepare_mesh(O.MeshData(quad.vertices, np.zeros((0, 3), int)), og, tmp_path / "m.yaml")
    assert err.value.field == "outfit.garments[0].file"
    bad = quad.vertices.copy()
    bad[2, 0] = np.nan
    with pytest.raises(MayhemInputError, match="NaN"):
        O.prepare_mesh(O.MeshData(bad, quad.faces), og, "m.yaml")
    n = 230   # a (n x n) grid: 52 900 vertices, above the limit
    x, y = np.meshgrid(np.arange(n) * 0.01, np.arange(n) * 0.01)
    V = np.stack([x.ravel(), y.ravel(), np.zeros(n * n)], 1)
    i = (np.arange(n - 1)[:, None] * n + np.arange(n - 1)[None]).ravel()
    F = np.concatenate([np.stack([i, i + 1, i + n + 1], 1), np.stack([i, i + n + 1, i + n], 1)])
    with pytest.raises(MayhemInputError, match="52900 vertices"):
        O.prepare_mesh(O.MeshData(V, F), og, "m.yaml")
    # Seams are welded, degenerate faces dropped, Z-up turned to Y-up, cm to m.
    split = O.MeshData(np.concatenate([quad.vertices, quad.vertices[[0, 2]]]), np.array([[0, 1, 2], [4, 5, 3], [0, 0, 1]]),
                       groups={"w": np.array([0, 0, 0, 1, 0.5, 0])})
    zup = O.OutfitGarment(0, "g", tmp_path / "g.ply", None, "top", "cotton", "hem", None, 0.035, False, "cm", "Z")
    m = O.prepare_mesh(split, zup, "m.yaml")
    assert len(m.vertices) == 4 and len(m.faces) == 2
    assert np.allclose(m.vertices[2], [0.01, 0.0, -0.01]) and np.allclose(m.groups["w"], [0.5, 0, 0, 1])


# --------------------------------------------------------------------------- simulation
def test_fitted_outfit_simulates(outfit_dir, outfit_import, model, fresh_blender):
    """(e) A user T-shirt (.blend) and shorts (OBJ), fitted to a taller, heavier body, go through
    scene.clothing.cloth.dress and simulate within the limits."""
    from test_cloth import small_motion

    from mayhem.core.clothing import fabrics as FB
    from mayhem.scene.body.rig import build_body
    from mayhem.scene.clothing import cloth as C

    bpy = fresh_blender
    bpy.context.scene.render.fps = 30
    person = BodyRest.from_model(model, HEAVY_TALL, reference="A")
    t0 = time.perf_counter()
    garments = [outfit_import.load_user_garment(_ref(outfit_dir, name), person) for name in ("shirt_blend", "shorts_obj")]
    assert time.perf_counter() - t0 < 10.0
    manifest = outfit_import.load_manifest(outfit_dir / "outfit.yaml")
    fabrics = [manifest.garment(name).fabric for name in ("shirt_blend", "shorts_obj")]
    assert fabrics == ["cotton", "denim"]
    settings = FB.ClothSettings(preroll=PREROLL, settle=2)
    rig = build_body(model, HEAVY_TALL, name="person")
    C.animate_with_preroll(rig, small_motion(FRAMES), settings, garments[0].reference_pose)
    dressed = C.dress(rig, garments, fabrics, settings, FRAMES)
    outcomes = C.simulate(dressed, settings)
    for o in outcomes:
        assert o["status"] in ("simulated", "retried"), o
        assert o["finite"] and o["penetration_max"] <= settings.penetration_max_limit, o


def test_recipe_user_garments_are_fitted_to_the_persons_own_model(outfit_import, outfit_dir, model):
    """scene.clothing.dressing passes the person's model and betas, so the body in the manifest's pose
    is the model's own forward pass (pose correctives included for SMPL-X), and the garments
    come back in recipe order."""
    from mayhem.core.recipe_types import MotionRef, Outfit, PersonRecipe, Skin
    from mayhem.scene.clothing.dressing import PersonDressing, make_garments

    betas = np.array([1.5, -0.5])
    person_body = BodyRest.from_model(model, betas, reference="A")
    outfit = {"mode": "simulated", "garments": [{**_ref(outfit_dir, "shorts_obj"), "name": "jeans", "fabric": "denim"},
                                                {**_ref(outfit_dir, "shirt_obj"), "name": "shirt"}]}
    person = PersonRecipe(id=0, instance_id=1, gender="neutral", model="free", betas=list(betas), skin=Skin(tone=0.5),
                          motion=MotionRef(ref="builtin:walk_straight"), outfit=Outfit(**outfit))
    dressing = PersonDressing(person_id=0, instance_id=1, mode="simulated")
    made = make_garments("seq", person, person_body, dressing, model, betas)
    assert [i for i, _ in made] == [0, 1] and not dressing.records
    for (_, got), name in zip(made, ("shorts_obj", "shirt_obj")):
        want = outfit_import.load_user_garment(_ref(outfit_dir, name), person_body, model=model, betas=betas)
        assert np.array_equal(got.vertices, want.vertices)
