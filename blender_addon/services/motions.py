"""Put an AMASS or bundled motion on a body in the open scene.

The service behind the add-on's "Load Motion" operator. What it keys is fully described by
the JSON it stores on the armature (motion reference, frame rate, first Blender frame,
placement), which is exactly a recipe person's `motion` and `placement`: the render service
turns that back into SMPL-X parameters with core.recipe.person_params, so labels are computed
from the same numbers the animation was made from.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import bpy
import numpy as np

from ..core import assets
from ..core.body.posing import clip_window, place
from ..core.errors import MayhemInputError
from ..core.motion.amass import load_amass
from ..scene.body.rig import animate_body
from .bodies import PROP_MOTION, rig_of

GROUND_CHUNK = 64  # frames per forward pass when finding the lowest vertex of a clip


def motion_reference(value) -> str:
    """Canonical reference: 'builtin:NAME' for a bundled clip (also accepted as bare NAME),
    else the absolute path of an existing .npz file."""
    value = os.fspath(value)
    if value.startswith(assets.BUILTIN_PREFIX):
        assets.resolve_motion(value)  # raises for an unknown bundled name
        return value
    path = Path(value).expanduser()
    if path.is_file():
        return str(path.resolve())
    if value in assets.builtin_motion_paths():
        return assets.BUILTIN_PREFIX + value
    raise MayhemInputError(value, "motion", "neither a motion file nor the name of a bundled motion")


def scene_fps(scene) -> float:
    return float(scene.render.fps) / float(scene.render.fps_base)


def _set_scene_fps(scene, fps: float) -> None:
    scene.render.fps = max(1, round(fps))
    scene.render.fps_base = scene.render.fps / fps


def _lowest_z(model, betas: np.ndarray, params: dict) -> float:
    """Lowest vertex height over every frame (chunked: a long AMASS clip would not fit at once)."""
    n = params["global_orient"].shape[0]
    low = np.inf
    for a in range(0, n, GROUND_CHUNK):
        chunk = {k: v[a:a + GROUND_CHUNK] for k, v in params.items()}
        low = min(low, float(model.forward(betas=betas, **chunk).vertices[..., 2].min()))
    return low


def load_motion(target, motion_ref, fps: float | None = None, start_frame: int = 0, *,
                place_on_ground: bool = True, center: bool = True, scene=None) -> int:
    """Key a motion on a body (BodyRig, armature or its mesh); returns the number of frames.

    Clip frame k lands on Blender frame start_frame + k, resampled to `fps` (default: the
    scene's frame rate; a different value becomes the scene's). `center` moves the clip so
    its first pelvis position is at the armature's origin; `place_on_ground` lifts or lowers
    it so the lowest vertex over the whole clip touches the armature's z = 0. Sets the scene
    frame range to the clip. Replaces any motion the body had.
    """
    scene = scene or bpy.context.scene
    rig = rig_of(target)
    ref = motion_reference(motion_ref)
    if fps is None:
        fps = scene_fps(scene)
    else:
        fps = float(fps)
        _set_scene_fps(scene, fps)
    clip = load_amass(assets.resolve_motion(ref), target_fps=fps)
    window = clip_window(clip, 0, clip.num_frames)
    model, betas = rig.model, np.asarray(rig.betas, dtype=np.float64)
    # As core.recipe.person_params does: the pelvis the rotation is about follows the betas
    # (and the expression, when the clip has one).
    rest = model.forward(betas=betas, expression=window.get("expression"), return_vertices=False).rest_joints[:, 0]

    x = y = z = 0.0
    if center:
        start = rest[0] + window["transl"][0]
        x, y = -float(start[0]), -float(start[1])
    params = place(window, rest, x, y, 0.0, 0.0)
    if place_on_ground:
        z = -_lowest_z(model, betas, params)
        params = place(window, rest, x, y, z, 0.0)

    n_frames = animate_body(rig, {k: v for k, v in params.items() if k != "betas"}, frame_start=int(start_frame),
                            set_scene_range=True, scene=scene)
    rig.armature[PROP_MOTION] = json.dumps({
        "ref": ref, "fps": fps, "frame_start": int(start_frame), "frames": n_frames,
        "placement": {"x": x, "y": y, "z": z, "yaw_rad": 0.0},
    })
    return n_frames


def motion_info(arm_obj) -> dict | None:
    """The motion stored by load_motion on a body armature, or None if it has none."""
    raw = arm_obj.get(PROP_MOTION)
    if raw is None:
        return None
    try:
        info = json.loads(raw)
        _ = (info["ref"], float(info["fps"]), int(info["frame_start"]), info["placement"]["yaw_rad"])
    except (ValueError, KeyError, TypeError) as exc:
        raise MayhemInputError(arm_obj.name, PROP_MOTION, f"damaged motion property ({exc})") from None
    return info
