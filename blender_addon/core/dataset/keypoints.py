"""keypoints.npz of a sequence: the keypoint sets of core.body.keypoints in 2D and 3D, and a
visibility state per keypoint from the depth and instance passes (docs/format.md).

The visibility rule (keypoint_states), per keypoint of person p with camera depth z, at the pixel
its projection rounds to:

1. ``outside``: z <= 0 or that pixel is outside the image;
2. the occluding surface s: where the pixel shows p itself (its id in the instance pass:
   body, hair, shoes or clothes), p's own labelled SMPL-X mesh (nearest surface); elsewhere
   the rendered depth (+inf where the ray hit nothing);
3. ``visible`` when s >= z - tolerance; otherwise the owner of the pixel says what hides it:
   p itself -> ``occluded_self``, another person -> ``occluded_person``, id 0 (scene objects,
   the ground) -> ``occluded_scene``.

Tolerance: joints lie inside the body, up to about 12 cm under the skin they are seen
through, so joints keep labels.OCCLUSION_TOLERANCE_M (0.12 m) and their own-mesh depth is
taken at the pixel centre, exactly as labels.npz's ``joints_visible`` (a joint is ``visible``
there iff ``joints_visible``). Surface keypoints (vertex joints, face landmarks) lie on the mesh,
so their own-mesh depth is taken at their exact sub-pixel projection, where a surface point
that is the nearest surface has s = z; SURFACE_TOLERANCE_M then only absorbs the pixel-centre
sampling of the rendered depth (another person, the scene) near silhouettes.
"""
from __future__ import annotations

import numpy as np

from ..body.keypoints import KEYPOINT_SETS, NUM_JOINTS, source_points
from ..body.posing import to_camera
from ..camera.pinhole import cam_points
from ..io.npz import save_npz
from ..recipe import AssetCache, person_params
from ..recipe_types import Recipe, recipe_from_json
from .labels import OCCLUSION_TOLERANCE_M, camera_per_frame, mesh_depth_at

KEYPOINTS_NPZ = "keypoints.npz"
VISIBILITY_STATES = ("outside", "occluded_scene", "occluded_person", "occluded_self", "visible")
OUTSIDE, OCCLUDED_SCENE, OCCLUDED_PERSON, OCCLUDED_SELF, VISIBLE = range(5)
JOINT_TOLERANCE_M = OCCLUSION_TOLERANCE_M
SURFACE_TOLERANCE_M = 0.03
# COCO's v per state: 0 not labelled (outside), 1 labelled but not visible, 2 visible
COCO_V = np.array([0, 1, 1, 1, 2], dtype=np.int64)


def pixel_of(uv: np.ndarray, z: np.ndarray, width: int, height: int):
    """(col, row, inside): the pixel each projection rounds to, and whether it is in the image
    and in front of the camera (col/row are clamped, valid only where inside)."""
    finite = np.isfinite(uv).all(axis=-1) & (z > 0)
    safe = np.where(finite[..., None], uv, -1.0)
    col, row = np.rint(safe[..., 0]).astype(np.int64), np.rint(safe[..., 1]).astype(np.int64)
    inside = finite & (col >= 0) & (col < width) & (row >= 0) & (row < height)
    return np.clip(col, 0, width - 1), np.clip(row, 0, height - 1), inside


def keypoint_states(uv: np.ndarray, z: np.ndarray, own_id: int, depth: np.ndarray, instance: np.ndarray,
                    own_surface: np.ndarray, tolerance) -> np.ndarray:
    """(F,K) uint8 index into VISIBILITY_STATES (module doc).

    uv (F,K,2) pixels, z (F,K) camera depth of the keypoints of one person whose id in the
    instance pass is ``own_id``; depth, instance (F,H,W) the passes; own_surface (F,K) the camera
    z of the person's own mesh at the keypoints (+inf where it does not cover them; only read
    where the pixel shows the person); tolerance: metres, scalar or (K,).
    """
    F, H, W = depth.shape
    col, row, inside = pixel_of(uv, z, W, H)
    f = np.broadcast_to(np.arange(F)[:, None], col.shape)
    rendered, owner = depth[f, row, col], instance[f, row, col].astype(np.int64)
    own = owner == own_id
    surface = np.where(own, own_surface, rendered)
    hidden = surface < z - np.broadcast_to(np.asarray(tolerance, np.float64), z.shape)
    state = np.full(z.shape, VISIBLE, np.uint8)
    state[hidden & own] = OCCLUDED_SELF
    state[hidden & ~own & (owner == 0)] = OCCLUDED_SCENE
    state[hidden & ~own & (owner != 0)] = OCCLUDED_PERSON
    state[~inside] = OUTSIDE
    return state


def own_surface_depth(vuv: np.ndarray, vz: np.ndarray, faces: np.ndarray, kuv: np.ndarray, surface: np.ndarray,
                      which: np.ndarray) -> np.ndarray:
    """(F,K) camera z of a person's mesh (projected vertices vuv (F,V,2), vz (F,V)) at the
    keypoints kuv (F,K,2): at their pixel centre for joints, at their exact projection for
    surface keypoints (``surface`` (K,) bool); computed where ``which`` (F,K), +inf elsewhere."""
    query = np.where(surface[None, :, None], kuv, np.rint(np.where(np.isfinite(kuv), kuv, 0.0)))
    out = np.full(which.shape, np.inf)
    for f in np.flatnonzero(which.any(axis=1)):
        out[f, which[f]] = mesh_depth_at(vuv[f], vz[f], faces, query[f, which[f]])
    return out


def compute_keypoints(recipe: Recipe, cache: AssetCache | None = None, depth: np.ndarray | None = None,
                      instance: np.ndarray | None = None) -> dict:
    """keypoints.npz arrays of a recipe; depth and instance (F,H,W) are its rendered passes.
    Without them every keypoint in the image is ``visible`` (no occlusion test)."""
    recipe = recipe_from_json(recipe)
    cache = cache or AssetCache()
    F, P = recipe.frames, len(recipe.people)
    W, H = recipe.image.width, recipe.image.height
    K, w2c = camera_per_frame(recipe)
    rows = np.concatenate([r for _, r in KEYPOINT_SETS.values()])
    surface = rows >= NUM_JOINTS
    tolerance = np.where(surface, SURFACE_TOLERANCE_M, JOINT_TOLERANCE_M)
    n = len(rows)
    kp2d = np.zeros((F, P, n, 2), np.float32)
    kp3d = np.zeros((F, P, n, 3), np.float32)
    state = np.zeros((F, P, n), np.uint8)
    for p, person in enumerate(recipe.people):
        model, params, rest = person_params(person, F, recipe.fps, cache)
        orient_cam, _ = to_camera(params, np.broadcast_to(rest, (F, 3)), w2c)
        fwd = model.forward(betas=params["betas"], **{k: v for k, v in params.items() if k != "betas"})
        src = source_points(model, fwd.vertices, fwd.joints, orient_cam, params["body_pose"])[:, rows]
        pc = cam_points(src, w2c)
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = np.einsum("fij,fkj->fki", K, pc)[..., :2] / pc[..., 2:]
        kp3d[:, p], kp2d[:, p] = pc, uv
        if depth is None or instance is None:
            state[:, p] = np.where(pixel_of(uv, pc[..., 2], W, H)[2], VISIBLE, OUTSIDE)
            continue
        vc = cam_points(fwd.vertices, w2c)
        with np.errstate(divide="ignore", invalid="ignore"):
            vuv = np.einsum("fij,fvj->fvi", K, vc)[..., :2] / vc[..., 2:]
        col, row, inside = pixel_of(uv, pc[..., 2], W, H)
        own = inside & (instance[np.arange(F)[:, None], row, col] == person.instance_id)
        mine = own_surface_depth(vuv, vc[..., 2], model.faces, uv, surface, own)
        state[:, p] = keypoint_states(uv, pc[..., 2], person.instance_id, depth, instance, mine, tolerance)

    out = {"visibility_states": np.array(VISIBILITY_STATES),
           "instance_id": np.array([p.instance_id for p in recipe.people], dtype=np.int64).reshape(P),
           "keypoint_sets": np.array(list(KEYPOINT_SETS))}
    start = 0
    for name, (names, set_rows) in KEYPOINT_SETS.items():
        sl = slice(start, start + len(set_rows))
        start = sl.stop
        out[f"{name}_names"] = np.array(names)
        out[f"{name}_2d"] = kp2d[:, :, sl]
        out[f"{name}_3d_cam"] = kp3d[:, :, sl]
        out[f"{name}_visibility"] = state[:, :, sl]
    return out


def write_keypoints(path, arrays: dict) -> None:
    save_npz(path, arrays)
