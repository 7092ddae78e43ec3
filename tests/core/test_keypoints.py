"""Keypoint sets (COCO-17, BODY_25, hands, face-70) and their visibility states.

The sets are checked against the smplx package (joints, vertex joints and landmarks with the
face contour) where it installs, the free body's vertex joints against the rules that chose
them and its face contour against its silhouette; the visibility rule on hand-built depth and id
buffers, then on scenes rasterised from the labelled free bodies with a wall in front.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from keypoint_scenes import passes_of

from mayhem.core.body import keypoints as kp
from mayhem.core.body.model import load_body_model
from mayhem.core.body.skeleton import JOINT_INDEX
from mayhem.core.camera.pinhole import cam_points, project
from mayhem.core.config import config_from_dict
from mayhem.core.dataset import keypoints as dk
from mayhem.core.dataset.labels import compute_labels
from mayhem.core.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mayhem.core.recipe import AssetCache, person_params, sample_recipe

pytestmark = pytest.mark.core


def test_sets_sizes_names_and_rows():
    sizes = {name: len(names) for name, (names, _) in kp.KEYPOINT_SETS.items()}
    assert sizes == {"coco_17": 17, "body_25": 25, "hand_left_21": 21, "hand_right_21": 21, "face_70": 70}
    for names, rows in kp.KEYPOINT_SETS.values():
        assert len(set(names)) == len(names) == len(rows)
        assert rows.min() >= 0 and rows.max() < kp.NUM_SOURCE_ROWS
    coco_names, coco_rows = kp.KEYPOINT_SETS["coco_17"]
    assert coco_rows[coco_names.index("left_knee")] == JOINT_INDEX["left_knee"]
    assert kp.SOURCE_NAMES[coco_rows[coco_names.index("right_ear")]] == "rear"
    body_names, body_rows = kp.KEYPOINT_SETS["body_25"]
    assert [kp.SOURCE_NAMES[r] for r in body_rows[19:]] == ["LBigToe", "LSmallToe", "LHeel", "RBigToe",
                                                             "RSmallToe", "RHeel"]
    hand_names, hand_rows = kp.KEYPOINT_SETS["hand_right_21"]
    assert [kp.SOURCE_NAMES[r] for r in hand_rows[:5]] == ["right_wrist", "right_thumb1", "right_thumb2",
                                                          "right_thumb3", "rthumb"]
    assert all(max(a, b) <= 17 for a, b in kp.COCO_SKELETON)


def test_free_body_vertex_joints_follow_their_rules(free_body_path):
    model = load_body_model(free_body_path)
    assert np.array_equal(kp.free_body_vertex_ids(model), kp.FREE_BODY_VERTEX_IDS)
    v = model.v_template[kp.FREE_BODY_VERTEX_IDS]
    at = {n: v[i] for i, n in enumerate(kp.VERTEX_JOINT_NAMES)}
    J = model.J_regressor @ model.v_template
    above_neck = model.v_template[:, 1] > J[JOINT_INDEX["neck"], 1]
    assert at["nose"][2] == model.v_template[above_neck, 2].max()   # most forward point of the head
    assert at["leye"][0] > 0 > at["reye"][0] and at["lear"][0] > at["leye"][0] and at["rear"][0] < at["reye"][0]
    for s, side in (("L", "left"), ("R", "right")):
        assert at[f"{s}BigToe"][2] > J[JOINT_INDEX[f"{side}_foot"], 2] > at[f"{s}Heel"][2]
        assert abs(at[f"{s}BigToe"][0]) < abs(at[f"{s}SmallToe"][0])
    for s, side in (("l", "left"), ("r", "right")):
        for finger in ("thumb", "index", "middle", "ring", "pinky"):
            tip, j3 = at[f"{s}{finger}"], J[JOINT_INDEX[f"{side}_{finger}3"]]
            assert 0.005 < np.linalg.norm(tip - j3) < 0.04


def test_source_points_match_smplx_with_face_contour(smplx_npz):
    torch = pytest.importorskip("torch", reason="torch is a test extra on Python 3.11 only")
    smplx = pytest.importorskip("smplx")
    model = load_body_model(smplx_npz)
    rng = np.random.default_rng(5)
    F = 12
    # camera-frame-like orientations (upright person facing an OpenCV camera) with head yaws
    # spread over +-60 degrees, so every branch of the contour lookup is taken
    flip = axis_angle_to_matrix(np.array([np.pi, 0.0, 0.0]))
    yaw = np.deg2rad(np.linspace(-60, 60, F))
    orient = matrix_to_axis_angle(flip @ axis_angle_to_matrix(np.stack([np.zeros(F), yaw, np.zeros(F)], 1)))
    p = {"betas": rng.normal(size=10), "expression": rng.normal(size=10), "global_orient": orient,
         "body_pose": rng.normal(scale=0.1, size=(F, 63)), "jaw_pose": rng.normal(scale=0.1, size=(F, 3)),
         "leye_pose": np.zeros((F, 3)), "reye_pose": np.zeros((F, 3)),
         "left_hand_pose": rng.normal(scale=0.2, size=(F, 45)), "right_hand_pose": rng.normal(scale=0.2, size=(F, 45)),
         "transl": rng.normal(size=(F, 3))}
    out = model.forward(**p)
    ours = kp.source_points(model, out.vertices, out.joints, orient, p["body_pose"])
    ref = smplx.SMPLX(str(smplx_npz), ext="npz", num_betas=10, num_expression_coeffs=10, use_pca=False,
                      flat_hand_mean=True, use_face_contour=True, batch_size=F, dtype=torch.float64)
    t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64)
    r = ref(betas=t(np.repeat(p["betas"][None], F, 0)), expression=t(np.repeat(p["expression"][None], F, 0)),
            **{k: t(p[k]) for k in ("global_orient", "body_pose", "jaw_pose", "leye_pose", "reye_pose",
                                    "left_hand_pose", "right_hand_pose", "transl")}).joints.detach().numpy()
    assert r.shape[1] == 144
    ref_rows = np.concatenate([r[:, :76], r[:, 127:144], r[:, 76:127]], axis=1)  # contour first: iBUG order
    assert np.abs(ours - ref_rows).max() <= 1e-6


@pytest.mark.parametrize("yaw_deg", [-30, 0, 17])
def test_free_body_contour_is_the_silhouette_seen_from_the_camera(free_body_path, yaw_deg):
    """An OpenCV camera in front of a free body turned by yaw: of the 79 rows of its contour
    table, the one picked is (within 1 mm) the one whose points lie nearest the face's
    silhouette (the extreme image x of the jaw-line skin at each point's height)."""
    model = load_body_model(free_body_path)
    rot = axis_angle_to_matrix(np.array([np.pi, 0.0, 0.0])) @ axis_angle_to_matrix(np.array([0.0, np.deg2rad(yaw_deg), 0.0]))
    orient = matrix_to_axis_angle(rot)[None]
    out = model.forward(global_orient=orient)
    v, rest = out.vertices[0], model.v_template
    J = model.J_regressor @ rest
    dom = np.argmax(model.weights, 1)
    face = np.isin(dom, [JOINT_INDEX["head"], JOINT_INDEX["jaw"]]) & (rest[:, 2] > J[JOINT_INDEX["jaw"], 2] - 0.01) \
        & (rest[:, 1] < J[JOINT_INDEX["left_eye_smplhf"], 1])

    def silhouette_error(contour):
        errors = []
        for k in list(range(8)) + list(range(9, 17)):
            band = face & (np.abs(v[:, 1] - contour[k, 1]) < 0.004) & (np.sign(rest[:, 0]) == (1 if k > 8 else -1))
            errors.append(abs(contour[k, 0] - (v[band, 0].max() if k > 8 else v[band, 0].min())))
        return max(errors)

    picked = kp.source_points(model, out.vertices, out.joints, orient, np.zeros((1, 63)))[0, kp.FACE_ROW0:kp.FACE_ROW0 + 17]
    faces, bary = model.extras["dynamic_lmk_faces_idx"], model.extras["dynamic_lmk_bary_coords"]
    every_row = [silhouette_error(np.einsum("kc,kcd->kd", bary[r], v[model.faces[faces[r]]])) for r in range(79)]
    assert silhouette_error(picked) <= min(every_row) + 0.001 and silhouette_error(picked) < 0.008


def test_visibility_rule_on_constructed_buffers():
    H, W = 20, 30
    depth = np.full((1, H, W), np.inf)
    inst = np.zeros((1, H, W), np.uint16)
    depth[0, 2, 2], inst[0, 2, 2] = 1.0, 0     # scene object 1 m away
    depth[0, 4, 4], inst[0, 4, 4] = 1.0, 2     # another person 1 m away
    depth[0, 6, 6], inst[0, 6, 6] = 2.5, 1     # the person itself (rendered, e.g. its clothes)
    depth[0, 8, 8], inst[0, 8, 8] = 5.0, 2     # another person behind the keypoint
    depth[0, 10, 10], inst[0, 10, 10] = 2.95, 0  # a scene surface within tolerance
    uv = np.array([[[-3, 5], [5, 50], [5, 5], [2, 2], [4, 4], [6.2, 5.9], [6, 6], [8, 8], [10, 10], [12, 12], [6, 6]]],
                  np.float64)
    z = np.array([[3.0, 3.0, -1.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]])
    own = np.array([[np.inf] * 5 + [2.0, 2.95, np.inf, np.inf, np.inf, 2.95]])
    tol = np.array([0.12] * 10 + [0.03])
    state = dk.keypoint_states(uv, z, 1, depth, inst, own, tol)
    names = [dk.VISIBILITY_STATES[s] for s in state[0]]
    assert names == ["outside", "outside", "outside", "occluded_scene", "occluded_person", "occluded_self",
                     "visible", "visible", "visible", "visible", "occluded_self"]
    assert dk.COCO_V[state[0]].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 1]


# ---------------------------------------------------------------- scenes from labelled bodies
@pytest.fixture(scope="module")
def two_people(motion_folder):
    config = config_from_dict({"seed": 2, "frames": 1, "body": {"model": "free"}, "motion": {"source": str(motion_folder)},
                               "people": {"count": [2, 2], "min_gap_m": 0.5, "area_radius_m": 1.5},
                               "camera": {"resolution": [160, 90], "focal_mm": [35, 35]}})
    cache = AssetCache()
    return sample_recipe(config, 0, cache=cache), cache


def _behind_each_other(recipe, cache, target_z: float):
    """The camera 4 m beyond A on the line from B's pelvis through A's, looking at B; returns
    the recipe and the horizontal direction d from B to A (towards the camera)."""
    pelvis = []
    for person in recipe.people:
        _, params, rest = person_params(person, 1, recipe.fps, cache)
        pelvis.append(params["transl"][0] + rest[0])
    a, b = pelvis
    d = (a - b) * np.array([1, 1, 0])
    d /= np.linalg.norm(d)
    eye = a + 4.0 * d
    eye[2] = 1.0
    target = b.copy()
    target[2] = target_z
    camera = dataclasses.replace(recipe.camera, eye=eye.tolist(), target=target.tolist(), world_to_cam=None)
    return dataclasses.replace(recipe, camera=camera), d


def _turned(recipe, cache, p, towards):
    """Recipe with person p's yaw changed so that its body faces direction `towards` (world xy)."""
    person = recipe.people[p]
    _, params, _ = person_params(person, 1, recipe.fps, cache)
    # body forward in world: SMPL-X rest forward (+Z model) rotated by global_orient
    fwd = axis_angle_to_matrix(params["global_orient"][0]) @ np.array([0.0, 0.0, 1.0])
    turn = np.arctan2(towards[1], towards[0]) - np.arctan2(fwd[1], fwd[0])
    placement = dataclasses.replace(person.placement, yaw_rad=person.placement.yaw_rad + float(turn))
    people = list(recipe.people)
    people[p] = dataclasses.replace(person, placement=placement)
    return dataclasses.replace(recipe, people=people)


def _state(arrays, set_name, p, name):
    names = list(arrays[f"{set_name}_names"])
    return dk.VISIBILITY_STATES[arrays[f"{set_name}_visibility"][0, p, names.index(name)]]


def test_every_state_on_scenes_of_labelled_bodies(two_people):
    recipe, cache = two_people
    recipe, d = _behind_each_other(recipe, cache, 0.9)
    recipe = _turned(recipe, cache, 0, -d)            # A faces away from the camera
    recipe = _turned(recipe, cache, 1, d)             # B, behind A, faces the camera
    wall_depth, wall_inst = passes_of(recipe, cache, wall_below_row=72)
    arrays = dk.compute_keypoints(recipe, cache, depth=wall_depth, instance=wall_inst)
    a, b = 0, 1
    assert _state(arrays, "body_25", b, "MidHip") == "occluded_person"
    assert _state(arrays, "body_25", a, "LAnkle") == _state(arrays, "body_25", a, "RAnkle") == "occluded_scene"
    assert _state(arrays, "body_25", a, "Nose") == "occluded_self"      # seen through the back of the head
    assert _state(arrays, "face_70", a, "face_30") == "occluded_self"
    assert _state(arrays, "body_25", a, "Neck") == "visible"
    # framing the feet leaves the heads above the image
    low = dataclasses.replace(recipe, camera=dataclasses.replace(recipe.camera, target=[*recipe.camera.target[:2], -0.6]))
    depth, inst = passes_of(low, cache)
    arrays_low = dk.compute_keypoints(low, cache, depth=depth, instance=inst)
    assert _state(arrays_low, "coco_17", a, "nose") == "outside"
    assert _state(arrays_low, "coco_17", b, "left_eye") == "outside"
    # a joint is `visible` exactly where labels.npz says joints_visible, under the same passes
    labels = compute_labels(recipe, cache, depth=wall_depth, instance=wall_inst)
    for set_name, (_, rows) in kp.KEYPOINT_SETS.items():
        joint = rows < kp.NUM_JOINTS
        vis = arrays[f"{set_name}_visibility"][:, :, joint] == dk.VISIBLE
        assert np.array_equal(vis, labels["joints_visible"][:, :, rows[joint]]), set_name
    counts = np.bincount(np.concatenate([arrays[f"{s}_visibility"].ravel() for s in kp.KEYPOINT_SETS]
                                        + [arrays_low[f"{s}_visibility"].ravel() for s in kp.KEYPOINT_SETS]), minlength=5)
    assert (counts > 0).all(), counts


def test_keypoints_are_the_projected_sources(two_people):
    recipe, cache = two_people
    arrays = dk.compute_keypoints(recipe, cache)
    labels = compute_labels(recipe, cache)
    for p, person in enumerate(recipe.people):
        model, params, _ = person_params(person, recipe.frames, recipe.fps, cache)
        out = model.forward(betas=params["betas"], **{k: v for k, v in params.items() if k != "betas"})
        src = kp.source_points(model, out.vertices, out.joints, labels["global_orient_cam"][:, p], params["body_pose"])
        for name, (_, rows) in kp.KEYPOINT_SETS.items():
            pc = cam_points(src[:, rows], labels["world_to_cam"])
            assert np.abs(arrays[f"{name}_3d_cam"][:, p] - pc).max() < 1e-5
            uv, _ = project(src[:, rows], labels["K"][0], labels["world_to_cam"][0])
            assert np.abs(arrays[f"{name}_2d"][:, p] - uv).max() < 1e-3
        joint_rows = kp.KEYPOINT_SETS["coco_17"][1][5:]
        assert np.abs(arrays["coco_17_2d"][:, p, 5:] - labels["joints2d"][:, p, joint_rows]).max() < 1e-3
