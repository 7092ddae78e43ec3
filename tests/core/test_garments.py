"""Procedural garments on the free body, and the garment-check maths (pure numpy, no bpy).

Each garment kind is generated once (module fixture) at the default resolution and checked for
what the cloth simulation relies on: a manifold, outward-facing triangle mesh of 2-6 k vertices,
closed hems where the kind has openings, UVs, pins on the top hem, skin weights, a bind pose
that skins back onto the reference-pose garment exactly, and no vertex inside the body at rest.
The inside test itself is checked against brute-force ray parity.
"""
from __future__ import annotations

import numpy as np
import pytest

from mayhem.core.body.skeleton import JOINT_INDEX
from mayhem.core.clothing import garments as G
from mayhem.core.clothing import preroll as FB
from mayhem.core.clothing.body_rest import NEVER_COVERED, BodyRest, part_labels_from_weights, reference_body_pose
from mayhem.core.clothing.checks import GarmentChecker, summarize
from mayhem.core.clothing.fabrics import FABRICS, ClothSettings, get_fabric
from mayhem.core.clothing.looks import FABRIC_PATTERNS, sample_look
from mayhem.core.errors import MayhemInputError
from mayhem.core.geometry.mesh import vertex_normals
from mayhem.core.geometry.spatial import PointGrid, SurfaceQuery

# Openings of each kind: neck + hem + 2 sleeves; waist + 2 legs; waist + hem.
EXPECTED_HEMS = {"tshirt": 4, "longsleeve": 4, "dress": 4, "shorts": 3, "trousers": 3, "skirt": 2}


@pytest.fixture(scope="module")
def garments(body):
    return {kind: G.make_garment(G.GarmentSpec(kind), body) for kind in G.GARMENT_KINDS}


def _edge_face_counts(F):
    e = np.sort(np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]]), axis=1)
    _, counts = np.unique(e, axis=0, return_counts=True)
    return counts


def _ray_parity_inside(points, V, F, direction=(0.3141, 0.9, 0.2718)):
    """Brute-force inside test: odd number of crossings along one ray (Möller-Trumbore)."""
    d = np.asarray(direction, dtype=np.float64)
    d /= np.linalg.norm(d)
    A, B, C = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    e1, e2 = B - A, C - A
    p = np.cross(d, e2)
    det = np.einsum("ij,ij->i", e1, p)
    ok = np.abs(det) > 1e-14
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    out = np.zeros(len(points), dtype=bool)
    for i, o in enumerate(points):
        s = o - A
        u = np.einsum("ij,ij->i", s, p) * inv
        q = np.cross(s, e1)
        v = (q @ d) * inv
        t = np.einsum("ij,ij->i", e2, q) * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        out[i] = hit.sum() % 2 == 1
    return out


# ------------------------------------------------------------------------------- kinds
@pytest.mark.slow
@pytest.mark.parametrize("kind", G.GARMENT_KINDS)
def test_garment_mesh_is_cloth_ready(kind, garments, body):
    g = garments[kind]
    V, F = g.vertices, g.faces
    assert 2000 <= len(V) <= 6000, len(V)
    assert np.all(np.isfinite(V))
    counts = _edge_face_counts(F)
    assert counts.max() <= 2, "non-manifold edge"
    # Hems: the expected number of closed loops, covering every boundary edge.
    loops = g.hems
    assert len(loops) == EXPECTED_HEMS[kind], [len(lp) for lp in loops]
    assert sum(len(lp) for lp in loops) == int(np.sum(counts == 1))
    assert min(len(lp) for lp in loops) >= 12
    # Near-uniform triangles (cloth springs behave best on one edge length).
    el = np.linalg.norm(V[g.edges[:, 0]] - V[g.edges[:, 1]], axis=1)
    p5, p50, p95 = np.percentile(el, [5, 50, 95])
    assert p95 / p5 < 2.5, (p5, p50, p95)
    # Faces point away from the body: normals agree with (vertex - closest body point).
    Q, _, _, sd = body.query.closest(V)
    vn = vertex_normals(V, F)
    assert np.mean(np.einsum("ij,ij->i", vn, V - Q) > 0) > 0.95
    # Outside the body at rest, farther than the cloth collision distance + body thickness
    # (7 mm by default; the base clearance is 10 mm, a little less where thighs nearly touch).
    assert g.rest_penetration == 0.0
    s = ClothSettings()
    assert sd.min() > s.collision_distance + s.body_thickness, sd.min()
    assert np.median(sd) >= G.BASE_CLEARANCE
    # UVs: per corner, finite, in metres (a garment spans decimetres, not 1e-3 or 1e3).
    assert g.uv.shape == (len(F), 3, 2) and np.all(np.isfinite(g.uv))
    du, dv = g.uv[:, 1] - g.uv[:, 0], g.uv[:, 2] - g.uv[:, 0]
    uv_area = 0.5 * np.abs(du[:, 0] * dv[:, 1] - du[:, 1] * dv[:, 0])  # numpy 2: no 2D np.cross
    assert np.mean(uv_area > 1e-8) > 0.99
    assert 0.1 < np.ptp(g.uv[..., 1]) < 3.0
    # Pins: weight 1 on the top hem (neckline or waistband), none on the lowest hem.
    top = max(loops, key=lambda lp: V[lp, 1].mean())
    bottom = min(loops, key=lambda lp: V[lp, 1].mean())
    assert np.all(g.pin_weights[top] == 1.0)
    assert np.all(g.pin_weights[bottom] == 0.0)
    assert 0.005 < np.mean(g.pin_weights > 0) < 0.25
    # Skin weights: rows sum to 1, at most 4 joints; the bind mesh skins back exactly.
    W = g.skin_weights.astype(np.float64)
    assert np.allclose(W.sum(axis=1), 1.0, atol=1e-5)
    assert (W > 0).sum(axis=1).max() <= 4
    assert np.allclose(body.pose_points(g.bind_vertices, W), V, atol=1e-9)
    assert g.self_collision == (kind in ("skirt", "dress"))
    assert g.layer == (1 if kind in G.TOP_KINDS else 0)


def test_hems_sit_where_the_kind_says(garments, body):
    H = G._heights(body)
    ank = body.joint("left_ankle")[1]
    lowest = {k: g.vertices[:, 1].min() for k, g in garments.items()}
    assert lowest["trousers"] < ank + 0.08          # trousers reach the ankle
    assert lowest["shorts"] > H["knee"] - 0.02       # shorts stop above the knee
    assert lowest["tshirt"] > H["crotch"]            # a top ends above the crotch
    assert lowest["dress"] < H["knee"] + 0.05        # default dress: about knee length
    wrist_x = body.joint("left_wrist")[0]
    reach = {k: garments[k].vertices[:, 0].max() for k in ("tshirt", "longsleeve")}
    assert reach["longsleeve"] > wrist_x - 0.06 > reach["tshirt"]


def test_looseness_moves_the_garment_out(body, garments):
    loose = G.make_garment(G.GarmentSpec("tshirt", looseness=1.0, target_vertices=1500), body)
    snug = garments["tshirt"]  # looseness 0.3
    d_loose = np.median(body.query.closest(loose.vertices)[3])
    d_snug = np.median(body.query.closest(snug.vertices)[3])
    expected = 0.7 * G.LOOSENESS_CLEARANCE
    assert d_loose - d_snug > 0.7 * expected, (d_snug, d_loose)
    assert d_snug >= G.BASE_CLEARANCE


def test_sleeve_length_moves_the_sleeve_hem(body):
    o, a, s_min, s_wrist, _ = body.arm_axis("left")
    ends = []
    for sleeve in (0.0, 0.45):
        g = G.make_garment(G.GarmentSpec("tshirt", sleeve=sleeve, target_vertices=1500), body)
        left = [lp for lp in g.hems if g.vertices[lp, 0].mean() > 0.15]
        s = (g.vertices[left[0]] - o) @ a
        ends.append(s.mean())
    expected = 0.45 * (s_wrist - 0.03 - s_min)
    assert ends[1] - ends[0] == pytest.approx(expected, abs=0.02)


def test_outer_layer_clears_the_inner_garment(body):
    trousers, top = G.make_outfit([G.GarmentSpec("trousers", target_vertices=1500),
                                   G.GarmentSpec("tshirt", target_vertices=1500)], body)
    q = SurfaceQuery(trousers.vertices, trousers.faces)
    Q, face, bary, sd = q.closest(top.vertices)
    over = (np.linalg.norm(top.vertices - Q, axis=1) < 0.03) & (bary.min(axis=1) > 1e-6)
    assert over.sum() > 50  # the hem of the top overlaps the waistband
    assert sd[over].min() > 0.8 * G.LAYER_GAP, sd[over].min()


def test_bad_specs_raise():
    with pytest.raises(MayhemInputError, match="garment.kind"):
        G.GarmentSpec("cape").resolved()
    with pytest.raises(MayhemInputError, match="garment.looseness"):
        G.GarmentSpec("tshirt", looseness=2.0).resolved()
    assert G.GarmentSpec("tshirt", sleeve=1.0).resolved().sleeve == 0.45


# ------------------------------------------------------------------------ geometry maths
def test_inside_test_agrees_with_ray_parity(model):
    V = model.v_template
    F = model.faces
    q = SurfaceQuery(V, F, cell=0.04)
    rng = np.random.default_rng(0)
    # Points near the skin (within ±2 cm) where the sign is hardest, plus a few far inside/out.
    # Only where garments go: the eyeballs poke through the closed eyelids (two intersecting
    # closed surfaces, where parity and "inside the skin" differ), and toes touch each other.
    labels = model.extras["part_labels"]
    allowed = np.flatnonzero(~np.isin(labels, NEVER_COVERED))
    idx = rng.choice(allowed, 250, replace=False)
    n = vertex_normals(V, F)[idx]
    pts = V[idx] + n * rng.uniform(-0.02, 0.02, size=(250, 1))
    pts = np.concatenate([pts, rng.uniform(V.min(0), V.max(0), size=(100, 3))])
    got = q.closest(pts)[3] < 0
    want = _ray_parity_inside(pts, V, F)
    assert np.mean(got == want) >= 0.995, np.flatnonzero(got != want)


def test_point_grid_matches_brute_force(model):
    rng = np.random.default_rng(1)
    P = model.v_template
    Q = np.concatenate([P[rng.choice(len(P), 300)] + rng.normal(scale=0.01, size=(300, 3)),
                        rng.normal(scale=1.0, size=(50, 3))])
    i, d = PointGrid(P, 0.03).nearest(Q)
    d2 = ((Q[:, None] - P[None]) ** 2).sum(axis=2)
    assert np.allclose(d, np.sqrt(d2.min(axis=1)))


def test_labels_from_weights_match_the_free_body_labels(model):
    got = part_labels_from_weights(model.weights)
    assert np.mean(got == model.extras["part_labels"]) > 0.9


def test_checker_measures_stretch_and_penetration(body, garments):
    g = garments["shorts"]
    checker = GarmentChecker(g.vertices, g.faces, quantile=0.999)
    c = checker.check(0, g.vertices, body.query)
    assert c.finite and c.penetration == 0.0 and c.stretch == pytest.approx(1.0)
    # Scaling about the pelvis stretches every edge by the factor; the body then lies outside.
    pel = body.joint("pelvis")
    c = checker.check(1, pel + 1.3 * (g.vertices - pel), body.query)
    assert c.stretch == pytest.approx(1.3) and c.stretch_robust == pytest.approx(1.3)
    # Moving half the garment into the body shows as penetration.
    Q, _, _, _ = body.query.closest(g.vertices)
    inward = g.vertices.copy()
    half = np.arange(len(inward)) % 2 == 0
    out_dir = (g.vertices[half] - Q[half]) / np.linalg.norm(g.vertices[half] - Q[half], axis=1)[:, None]
    inward[half] = Q[half] - 0.005 * out_dir
    c = checker.check(2, inward, body.query)
    assert c.penetration == pytest.approx(0.5, abs=0.02)
    bad = g.vertices.copy()
    bad[0] = np.nan
    assert not checker.check(3, bad, body.query).finite
    settings = ClothSettings()
    ok = summarize([checker.check(0, g.vertices, body.query)])
    assert ok.passes(settings)
    stretched = summarize([checker.check(1, pel + 1.6 * (g.vertices - pel), body.query)])
    assert "stretch" in stretched.failure(settings)
    lenient = ClothSettings(stretch_limit=100.0)
    assert "penetration" in summarize([checker.check(2, inward, body.query)]).failure(lenient)


def test_preroll_moves_from_reference_pose_to_frame_zero():
    rng = np.random.default_rng(2)
    F, N = 5, 8
    params = {"global_orient": rng.normal(size=(F, 3)), "body_pose": rng.normal(scale=0.3, size=(F, 63)),
              "left_hand_pose": rng.normal(scale=0.2, size=(F, 45)), "transl": rng.normal(size=(F, 3)),
              "expression": rng.normal(size=(F, 10))}
    ref = reference_body_pose("A")
    out = FB.preroll_params(params, N, settle=2, start_body_pose=ref)
    for k in params:
        assert out[k].shape == (N + F, params[k].shape[1])
        assert np.allclose(out[k][N:], params[k])
    assert np.allclose(out["body_pose"][:3], ref)              # settle: held in the reference pose
    assert np.allclose(out["left_hand_pose"][0], 0.0)
    assert np.allclose(out["global_orient"][:N], params["global_orient"][0])
    # The root stands still, then runs up to frame 0's velocity: no jump in speed at frame 0.
    T = out["transl"]
    v0 = params["transl"][1] - params["transl"][0]
    assert np.allclose(T[:N - min(FB.RUN_UP, N - 2)], T[0])          # still before the run-up
    assert np.allclose(T[N] - T[N - 1], v0 * (1 - 1 / (2 * min(FB.RUN_UP, N - 2))))
    speeds = np.linalg.norm(np.diff(T[:N + 1], axis=0), axis=1)
    assert np.all(np.diff(speeds) >= -1e-12)                            # accelerating only
    # The angle to frame 0's rotation shrinks monotonically through the pre-roll.
    from mayhem.core.geometry.rotations import axis_angle_to_matrix
    R = axis_angle_to_matrix(out["body_pose"].reshape(-1, 21, 3))
    R0 = R[N]
    ang = np.arccos(np.clip((np.einsum("fjab,jab->fj", R[:N + 1], R0) - 1) / 2, -1, 1)).max(axis=1)
    assert np.all(np.diff(ang[1:]) <= 1e-9) and ang[-1] < 1e-6
    assert FB.sequence_frame_offset(N) == FB.SIM_START_FRAME + N


def test_fabric_presets_and_looks():
    for name in FABRICS:
        f = get_fabric(name)
        assert f.mass > 0 and f.tension > 0 and f.min_quality >= 1
    assert get_fabric("cotton", {"tension": 99.0}).tension == 99.0
    with pytest.raises(MayhemInputError):
        get_fabric("kevlar")
    rng = np.random.default_rng(3)
    for fabric in FABRICS:
        for _ in range(20):
            look = sample_look(rng, fabric)
            assert look["pattern"] in FABRIC_PATTERNS[fabric]
            assert all(0.0 <= c <= 1.0 for c in look["color"] + look["color2"])
    denim = [sample_look(rng, "denim")["color"] for _ in range(20)]
    assert all(c[2] >= c[0] for c in denim)  # indigo: blue over red
    assert JOINT_INDEX["left_shoulder"] == 16  # reference_body_pose indexes body_pose by joint - 1


@pytest.mark.slow
def test_garments_on_an_smplx_file_use_labels_from_its_weights(tmp_path, free_body_model):
    """A model file in the real SMPL-X v1.1 npz layout (no part labels: they come from the
    skinning weights), with pose correctives and 300 shape components, dresses like the free body.
    Its geometry is the free body's, so the garments must be as clean."""
    from smplx_files import smplx_model_arrays

    from mayhem.core.body.model import load_body_model

    m = free_body_model
    V = m.num_vertices
    arrays = smplx_model_arrays(n_vertices=V, seed=3)
    rng = np.random.default_rng(3)
    shapedirs = np.zeros((V, 3, 400))
    shapedirs[:, :, :m.shapedirs.shape[2]] = m.shapedirs
    arrays.update(v_template=m.v_template, f=m.faces.astype(np.uint32), ft=m.faces.astype(np.uint32),
                  weights=m.weights, J_regressor=m.J_regressor, shapedirs=shapedirs,
                  posedirs=rng.normal(scale=1e-3, size=(V, 3, 486)))
    arrays.pop("joint2num"), arrays.pop("part2num")
    path = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(path, **arrays)
    model = load_body_model(path)
    assert "part_labels" not in model.extras and model.posedirs is not None
    body = BodyRest.from_model(model, np.array([1.5, -1.0, 0.5]), reference="A")
    for kind, hems in (("tshirt", 4), ("trousers", 3), ("dress", 4)):
        g = G.make_garment(G.GarmentSpec(kind, target_vertices=1600), body)
        assert 1200 <= len(g.vertices) <= 2400, kind
        assert len(g.hems) == hems, kind
        assert g.rest_penetration < 0.005, kind
        assert np.allclose(g.skin_weights.sum(axis=1), 1.0, atol=1e-5)
