"""Clothing in the sequence pipeline: a hand-made recipe with one dressed person (T-shirt and
shorts, simulated) and one undressed person, rendered by services.generate.render_sequence.

Checks the shifted timeline (cloth pre-roll before the sequence) against labels computed without
Blender: bodies, camera and garments must sit where the labels say on every frame, the dressed
render must give the same labels as the undressed render of the same recipe, masks split into
body and clothing, the outcome is recorded in scene.json and labels.npz, and a garment whose
simulation blows up falls back to the skin without failing the sequence.

Tiny on purpose (96x54 px, 4 samples, 4 frames, 6 pre-roll frames, ~800-vertex garments).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from mayhem.core.camera.pinhole import look_at, project  # noqa: E402
from mayhem.core.clothing import fabrics as FB  # noqa: E402
from mayhem.core.clothing.garments import GARMENT_KINDS  # noqa: E402
from mayhem.core.clothing.looks import sample_look  # noqa: E402
from mayhem.core.dataset.documents import sequence_complete  # noqa: E402
from mayhem.core.geometry.raster import mask_iou, rasterize_ids  # noqa: E402
from mayhem.core.geometry.spatial import SurfaceQuery  # noqa: E402
from mayhem.core.io.png import read_png  # noqa: E402
from mayhem.core.motion.amass import MotionClip, save_amass_smplx  # noqa: E402
from mayhem.core.recipe import AssetCache, person_params, posed_vertices  # noqa: E402
from mayhem.core.recipe_types import Recipe, recipe_from_json  # noqa: E402
from mayhem.services.generate import render_sequence  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FREE_BODY = ROOT / "assets" / "bodies" / "free_body.npz"
W, H, FRAMES, PREROLL = 96, 54, 4, 6
CAMERA_STEP = 0.05  # m per frame: the camera moves, so its keys must follow the shifted timeline


def _clip(transl: np.ndarray, body_pose: np.ndarray) -> MotionClip:
    F = len(transl)
    zeros = np.zeros
    return MotionClip(global_orient=np.tile([np.pi / 2, 0, 0], (F, 1)), body_pose=body_pose,
                      jaw_pose=zeros((F, 3)), leye_pose=zeros((F, 3)), reye_pose=zeros((F, 3)),
                      left_hand_pose=zeros((F, 45)), right_hand_pose=zeros((F, 45)), transl=transl,
                      betas=zeros(16), expression=None, gender="neutral", fps=30.0, source="test",
                      source_format="smplx")


@pytest.fixture(scope="module")
def motions(tmp_path_factory):
    """walk.npz: a slow walk towards the camera, arms lowered (the dressed person);
    dash.npz: a fast sideways dash, 10 cm per frame (the undressed person), so a body keyed on
    the wrong timeline lands pixels away from its labels."""
    folder = tmp_path_factory.mktemp("motions")
    F = 12
    t = np.arange(F) / 30.0
    walk = np.zeros((F, 63))
    walk[:, 15 * 3 + 2], walk[:, 16 * 3 + 2] = -1.1, 1.1           # shoulders: arms down
    walk[:, 0], walk[:, 3] = 0.3 * np.sin(2 * np.pi * t), -0.3 * np.sin(2 * np.pi * t)  # hips
    save_amass_smplx(_clip(np.stack([np.zeros(F), -0.8 * t, np.full(F, 0.95)], 1), walk), folder / "walk.npz")
    dash = walk.copy()
    dash[:, 15 * 3 + 2] = -0.3 - 2.0 * t                              # left arm rises while dashing
    save_amass_smplx(_clip(np.stack([3.0 * t, np.zeros(F), np.full(F, 0.95)], 1), dash), folder / "dash.npz")
    return folder


def _look(seed: int, fabric: str) -> dict:
    return sample_look(np.random.default_rng(seed), fabric)


def _garment(kind: str, fabric: str, seed: int, **cut) -> dict:
    assert kind in GARMENT_KINDS
    return {"source": "procedural", "kind": kind, "name": kind, "looseness": cut.get("looseness", 0.3),
            "length": cut.get("length", 0.5), "sleeve": cut.get("sleeve", 0.3), "target_vertices": 800,
            "fabric": fabric, "look": _look(seed, fabric)}


def _person(pid: int, motion: Path, x: float, outfit: dict | None, shoes: bool = False) -> dict:
    person = {"id": pid, "instance_id": pid + 1, "gender": "neutral", "model": "free",
              "betas": [0.3, -0.2] + [0.0] * 8, "skin": {"tone": 0.4, "monk_level": 4, "texture": None, "seed": 7 + pid},
              "hair": {"style": "bald"}, "shoes": {"kind": "none"},
              "motion": {"ref": str(motion), "start_frame": 0},
              "placement": {"x": x, "y": 0.0, "z": 0.0, "yaw_rad": 0.0}}
    if shoes:
        person["shoes"] = {"kind": "sneaker", "colour": "white", "sole_colour": "white", "rgb": [0.8, 0.8, 0.8],
                           "sole_rgb": [0.9, 0.9, 0.9], "roughness": 0.5, "top_m": 0.08, "sole_m": 0.02,
                           "margin_m": 0.006}
    if outfit is not None:
        person["outfit"] = outfit
    return person


def make_recipe(motions: Path, *, clothed: bool = True, export: bool = True, name: str = "seq_000000",
                frames: int = FRAMES, people: list | None = None) -> Recipe:
    """A recipe written by hand in the recipe format (clothing section and person outfits)."""
    eye0, target0 = np.array([0.0, -3.6, 1.2]), np.array([0.2, 0.0, 0.85])
    w2c = [look_at(eye0 + [CAMERA_STEP * k, 0, 0], target0 + [CAMERA_STEP * k, 0, 0]) for k in range(frames)]
    outfit = {"mode": "simulated", "garments": [_garment("tshirt", "cotton", 1, sleeve=0.3),
                                                _garment("shorts", "denim", 2, length=0.5)]}
    if people is None:
        people = [_person(0, motions / "walk.npz", -0.45, outfit if clothed else None, shoes=True),
                  _person(1, motions / "dash.npz", 0.35, None)]
    recipe = {
        "recipe_version": 1, "name": name, "index": 0, "seed": 12345, "global_seed": 1, "frames": frames, "fps": 30.0,
        "image": {"width": W, "height": H},
        "render": {"device": "cpu", "samples": 4, "adaptive_threshold": 0.05, "denoise": False,
                   "persistent_data": True, "threads": 0},
        "world": {"kind": "hdri", "hdri": "builtin:sunset", "strength": 1.0, "rotation_rad": 0.0, "shadow_catcher": True},
        "people": people, "people_dropped": 0,
        "camera": {"kind": "path", "focal_mm": 35.0, "sensor_width_mm": 36.0,
                   "world_to_cam": [float(v) for v in np.stack(w2c).reshape(-1)]},
    }
    if clothed:
        recipe["clothing"] = {"preroll": PREROLL, "settle": 2, "quality": 5, "collision_quality": 3,
                              "export_meshes": export}
    return recipe_from_json(recipe)


def _labels(seq: Path) -> dict:
    with np.load(seq / "labels.npz") as z:
        return {k: z[k] for k in z.files}


def _masks(seq: Path, frame: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(read_png(seq / sub / f"{frame:06d}.png") for sub in ("mask", "mask_body", "mask_clothing"))


def _silhouettes(recipe: dict, labels: dict) -> list[list[np.ndarray]]:
    """[frame][person] boolean silhouette of the labelled body mesh (no other person in front)."""
    cache = AssetCache()
    out = [[None] * len(recipe.people) for _ in range(recipe.frames)]
    for p, person in enumerate(recipe.people):
        model, params, _ = person_params(person, recipe.frames, recipe.fps, cache)
        verts = posed_vertices(model, params)
        for f in range(recipe.frames):
            uv, z = project(verts[f], labels["K"][f], labels["world_to_cam"][f])
            out[f][p] = rasterize_ids([(uv, model.faces, z, 1)], W, H) == 1
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, motions):
    """The dressed recipe and the same recipe without clothing, each rendered once."""
    out = tmp_path_factory.mktemp("clothing")
    clothed, plain = make_recipe(motions), make_recipe(motions, clothed=False, name="seq_000001")
    entries = {"clothed": render_sequence(clothed, out, progress=False),
               "plain": render_sequence(plain, out, progress=False)}
    return {"out": out, "clothed": clothed, "plain": plain, "entries": entries,
            "seq": out / clothed.name, "plain_seq": out / plain.name}


def test_frames_masks_and_outcome(rendered):
    seq, recipe = rendered["seq"], rendered["clothed"]
    for sub, ext in (("rgb", "png"), ("mask", "png"), ("mask_body", "png"), ("mask_clothing", "png"),
                     ("depth", "exr")):
        assert sorted(p.name for p in (seq / sub).iterdir()) == [f"{k:06d}.{ext}" for k in range(FRAMES)], sub
    scene = json.loads((seq / "scene.json").read_text())
    records = scene["outcome"]["clothing"]
    assert [(r["person"], r["garment"]) for r in records] == [(0, "tshirt"), (0, "shorts")]
    for r in records:
        assert r["status"] in ("simulated", "retried", "fallback") and r["vertices"] > 500, r
        assert r["finite"] is True and 0 <= r["penetration_max"] <= 1, r
        assert r["max_stretch"] == round(r["max_stretch"], 6)
    labels = _labels(seq)
    assert json.loads(str(labels["clothing_outcome"])) == records
    assert json.loads(str(_labels(rendered["plain_seq"])["clothing_outcome"])) == []
    assert rendered["entries"]["clothed"]["clothing"] == {
        s: sum(r["status"] == s for r in records) for s in {r["status"] for r in records}}
    assert rendered["entries"]["clothed"]["timings"]["cloth_s"] > 0
    # The batch driver sees the finished sequence as this recipe's, outcome or not.
    assert sequence_complete(rendered["out"], recipe)
    assert not sequence_complete(rendered["out"], dataclasses.replace(recipe, seed=1))

    clothing_seen = 0
    for k in range(FRAMES):
        inst, body, cloth = _masks(seq, k)
        assert inst.dtype == body.dtype == cloth.dtype == np.uint16
        assert set(np.unique(inst)) <= {0, 1, 2}
        # Body and clothing split the person mask: disjoint, same ids, union = the person mask.
        assert not np.any((body > 0) & (cloth > 0))
        assert np.array_equal(np.where(cloth > 0, cloth, body), inst)
        assert np.all(cloth[cloth > 0] == inst[cloth > 0])
        # Only the dressed person (garments, shoes) has clothing; the undressed one is all body.
        assert set(np.unique(cloth)) <= {0, 1}
        assert np.count_nonzero(body == 1) > 0 and np.count_nonzero(inst == 2) > 0
        assert np.array_equal(body == 2, inst == 2)
        clothing_seen += np.count_nonzero(cloth == 1)
    assert clothing_seen > 100  # a T-shirt and shorts cover much of a person of ~45 px


def test_timeline_matches_the_labels(rendered):
    """Bodies, camera and garments are where the labels put them on every frame: the sequence
    frames sit after the cloth pre-roll for everything in the scene."""
    seq, recipe = rendered["seq"], rendered["clothed"]
    labels = _labels(seq)
    sil = _silhouettes(recipe, labels)
    for k in range(FRAMES):
        inst, body, cloth = _masks(seq, k)
        # The undressed dasher moves 10 cm per frame: its own frame's labels fit, others do not.
        ious = [mask_iou(sil[j][1], inst == 2) for j in range(FRAMES)]
        assert ious[k] >= 0.85 and ious[k] == max(ious), (k, ious)
        # The dressed person's labelled body is inside its mask (clothes only add to it), and
        # its clothing pixels hug that body.
        person = inst == 1
        covered = np.count_nonzero(sil[k][0] & person) / np.count_nonzero(sil[k][0])
        assert covered >= 0.95, (k, covered)
        near = sil[k][0].copy()
        for axis in (0, 1):
            for step in (-1, 1):
                near |= np.roll(sil[k][0], step, axis=axis)
        assert np.count_nonzero(cloth.astype(bool) & ~near) <= 0.05 * np.count_nonzero(cloth), k

    # Exported garment meshes: the pinned waistband of the shorts follows the labelled body.
    cache = AssetCache()
    model, params, _ = person_params(recipe.people[0], FRAMES, recipe.fps, cache)
    verts = posed_vertices(model, params)
    with np.load(seq / "garments" / "0_shorts.npz") as z:
        g = {k: z[k] for k in z.files}
    assert g["vertices"].shape[0] == FRAMES and g["vertices"].dtype == np.float32 and g["faces"].dtype == np.int32
    assert g["uv"].shape == (len(g["faces"]), 3, 2) and str(g["status"]) in ("simulated", "retried", "fallback")
    assert np.isfinite(g["vertices"]).all()
    pinned = g["pin_weights"] >= 0.999
    assert pinned.sum() > 10
    query = SurfaceQuery(verts[0], model.faces, cell=0.04)
    for k in range(FRAMES):
        dist = []
        for j in range(FRAMES):
            query.update(verts[j])
            dist.append(float(np.median(np.abs(query.closest(g["vertices"][k][pinned].astype(np.float64))[3]))))
        assert dist[k] < 0.03 and dist[k] == min(dist), (k, dist)
    # What was rendered is what was exported: the garments' silhouettes are the clothing mask
    # (the rest of the clothing mask is the shoes).
    with np.load(seq / "garments" / "0_tshirt.npz") as z:
        shirt = {k: z[k] for k in z.files}
    for k in range(FRAMES):
        meshes = []
        for i, garment in enumerate((shirt, g)):
            uv, z = project(garment["vertices"][k].astype(np.float64), labels["K"][k], labels["world_to_cam"][k])
            meshes.append((uv, garment["faces"], z, i + 1))
        drawn = rasterize_ids(meshes, W, H) > 0
        cloth = _masks(seq, k)[2] == 1
        assert np.count_nonzero(drawn & cloth) >= 0.95 * np.count_nonzero(drawn), k
        assert np.count_nonzero(drawn & cloth) >= 0.85 * np.count_nonzero(cloth), k
    assert not (rendered["plain_seq"] / "garments").exists()


def test_same_recipe_same_bytes(rendered, tmp_path):
    """The cloth simulation is deterministic: a second render of the dressed recipe writes the
    same bytes, garment vertices, outcome figures and labels included."""
    render_sequence(rendered["clothed"], tmp_path, progress=False)
    a, b = rendered["seq"], tmp_path / rendered["clothed"].name
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert {"labels.npz", "garments/0_tshirt.npz", "garments/0_shorts.npz"} <= {str(f) for f in files}
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_labels_do_not_depend_on_clothing(rendered):
    """The same recipe without clothing gives the same labels (except the outcome), and the
    undressed person's pixels do not move when the other person is dressed."""
    a, b = _labels(rendered["seq"]), _labels(rendered["plain_seq"])
    assert set(a) == set(b)
    for key in a:
        if key != "clothing_outcome":
            assert np.array_equal(a[key], b[key]), key
    for k in range(FRAMES):
        ia, _, _ = _masks(rendered["seq"], k)
        ib, _, _ = _masks(rendered["plain_seq"], k)
        free = (ia != 1) & (ib != 1)
        assert np.array_equal((ia == 2)[free], (ib == 2)[free]), k
        assert np.count_nonzero(ia == 1) >= np.count_nonzero(ib == 1)  # clothes only add pixels


def test_blown_up_garment_falls_back(tmp_path, motions, monkeypatch):
    """A fabric with no stiffness tears under gravity twice: the shorts end bound to the skin.
    A garment that cannot be made (an internal error, not bad input) is dropped: its person is
    rendered undressed on the same timeline. Both outcomes are recorded; the sequence completes."""
    from mayhem.scene.clothing import dressing

    absurd = FB.get_fabric("cotton", {"tension": 1e-3, "compression": 1e-3, "shear": 1e-3, "bending": 0.0,
                                      "mass": 50.0, "min_quality": 1})
    monkeypatch.setitem(FB.FABRICS, "cotton", absurd)
    real_make_outfit = dressing.make_outfit

    def make_outfit(specs, body):
        if any(spec.kind == "skirt" for spec in specs):
            raise RuntimeError("remesh did not converge")
        return real_make_outfit(specs, body)

    monkeypatch.setattr(dressing, "make_outfit", make_outfit)
    shorts = {"mode": "simulated", "garments": [_garment("shorts", "cotton", 3, length=0.5)]}
    skirt = {"mode": "simulated", "garments": [_garment("skirt", "silk", 4)]}
    recipe = make_recipe(motions, frames=2, export=False,
                         people=[_person(0, motions / "walk.npz", -0.45, shorts),
                                 _person(1, motions / "dash.npz", 0.35, skirt)])
    entry = render_sequence(recipe, tmp_path, progress=False)
    seq = tmp_path / recipe.name
    fallback, dropped = json.loads((seq / "scene.json").read_text())["outcome"]["clothing"]
    assert fallback["status"] == "fallback" and fallback["attempts"] == 1, fallback
    assert "stretch" in fallback["reason"] or "blew up" in fallback["reason"]
    assert set(dropped) == set(fallback)  # one record layout for every status
    assert (dropped["person"], dropped["garment"], dropped["status"]) == (1, "skirt", "dropped")
    assert dropped["vertices"] is None and dropped["kind"] == "skirt" and dropped["fabric"] == "silk"
    assert dropped["reason"] == "RuntimeError: remesh did not converge"
    assert entry["clothing"] == {"dropped": 1, "fallback": 1}
    assert sequence_complete(tmp_path, recipe)
    labels = _labels(seq)
    assert json.loads(str(labels["clothing_outcome"])) == [fallback, dropped]
    sil = _silhouettes(recipe, labels)
    for k in range(2):
        inst, body, cloth = _masks(seq, k)
        assert np.count_nonzero(cloth == 1) > 0  # the skin-bound shorts are still clothing
        assert not np.any(cloth == 2) and mask_iou(sil[k][1], inst == 2) >= 0.85  # undressed, on time
    assert not (seq / "garments").exists()


def test_painted_outfit_is_clothing_in_the_masks(tmp_path, motions):
    """A texture-only outfit: painted on the skin (no simulation, no pre-roll), recorded as
    painted, and its pixels counted as clothing through the shader's clothing AOV."""
    outfit = {"mode": "texture", "garments": [_garment("tshirt", "cotton", 5, sleeve=0.3),
                                              _garment("shorts", "cotton", 6, length=0.5)]}
    recipe = make_recipe(motions, frames=1, export=False, people=[_person(0, motions / "walk.npz", -0.45, outfit)])
    render_sequence(recipe, tmp_path, progress=False)
    seq = tmp_path / recipe.name
    records = json.loads((seq / "scene.json").read_text())["outcome"]["clothing"]
    assert [(r["garment"], r["status"]) for r in records] == [("tshirt", "painted"), ("shorts", "painted")]
    inst, body, cloth = _masks(seq, 0)
    labels = _labels(seq)
    sil = _silhouettes(recipe, labels)[0][0]
    assert mask_iou(sil, inst == 1) >= 0.85  # painted clothes do not change the silhouette
    assert np.array_equal(np.where(cloth > 0, cloth, body), inst) and not np.any((cloth > 0) & (body > 0))
    # T-shirt and shorts cover the torso and thighs: a good part of the body, not all of it.
    share = np.count_nonzero(cloth == 1) / np.count_nonzero(inst == 1)
    assert 0.25 < share < 0.9, share
