"""Add SMPL-X bodies to the open Blender scene, and find them again later.

The service behind the add-on's "Add Body" operator; scripts and CLIs call it the same way.
Every body's armature carries what the motion and render services need to rebuild its exact
SMPL-X parameters without guessing: model reference and file, gender, betas, skin (custom
properties, so they survive saving the .blend file).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import bpy
import numpy as np

from ..core import assets
from ..core.body.model import BodyModel, load_body_model
from ..core.body.skeleton import JOINT_NAMES
from ..core.errors import MayhemInputError
from ..core.motion.amass import GENDERS
from ..scene.body.rig import BodyRig, build_body

# Custom properties on the armature object (build_body also writes mayhem_model_id,
# mayhem_model_path, mayhem_gender and mayhem_betas).
PROP_MODEL_REF = "mayhem_model_ref"   # 'free' or the absolute model file path (recipe `model`)
PROP_SKIN = "mayhem_skin"             # JSON {"tone", "texture", "seed"} (recipe `skin`)
PROP_MOTION = "mayhem_motion"         # JSON written by services.motions.load_motion

# Loaded models by (file, gender, mtime): the free body or an SMPL-X file takes about a second
# to load and validate, and a panel user adds bodies one click at a time.
_MODELS: dict[tuple[str, str], tuple[int, BodyModel]] = {}


def get_model(path, gender: str) -> BodyModel:
    """The body model in `path` for `gender`, loaded once per file version."""
    path = Path(os.fspath(path)).resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise MayhemInputError(path, "body.model", "model file not found") from None
    key = (str(path), gender)
    cached = _MODELS.get(key)
    if cached is None or cached[0] != mtime:
        cached = _MODELS[key] = (mtime, load_body_model(path, gender=gender))
    return cached[1]


def _unique_name(base: str) -> str:
    """A name not used by any object yet, for both the mesh and '<name>_armature'."""
    names = set(bpy.data.objects.keys())
    name, k = base, 1
    while name in names or f"{name}_armature" in names:
        name = f"{base}_{k:02d}"
        k += 1
    return name


def add_body(model: str | os.PathLike = "free", gender: str = "neutral", betas=None, skin_tone: float = 0.5,
             name: str = "person", *, location=None, skin_seed: int = 0, collection=None) -> BodyRig:
    """Build a skinned SMPL-X body in the current scene and give it a skin.

    `model`: 'free' (the bundled free body), an SMPL-X .npz/.pkl file, or a folder holding
    SMPLX_{NEUTRAL,FEMALE,MALE}.npz. `betas`: up to the model's number of shape coefficients.
    `location`: where the armature object goes (the render service accounts for moves and
    turns about the vertical axis). The armature becomes the active, selected object.
    """
    if gender not in GENDERS:
        raise MayhemInputError(None, "gender", f"{gender!r}, expected one of {', '.join(GENDERS)}")
    model = os.fspath(model)
    path = assets.resolve_body_model(model, gender)
    body_model = get_model(path, gender)
    betas = np.zeros(0) if betas is None else np.asarray(betas, dtype=np.float64).reshape(-1)
    if betas.shape[0] > body_model.num_betas:
        raise MayhemInputError(path, "betas", f"{betas.shape[0]} shape coefficients given; the model has {body_model.num_betas}")
    if not np.all(np.isfinite(betas)):
        raise MayhemInputError(None, "betas", "contains NaN or inf")
    tone = float(skin_tone)
    if not 0.0 <= tone <= 1.0:
        raise MayhemInputError(None, "skin_tone", f"{tone}, expected a value in [0, 1]")

    rig = build_body(body_model, betas, name=_unique_name(name), collection=collection)
    from ..scene.body.skin import apply_skin, skin_material

    material = skin_material(tone, name=f"{rig.mesh.name}_skin", seed=int(skin_seed))
    apply_skin(rig.mesh, material)

    arm = rig.armature
    arm[PROP_MODEL_REF] = "free" if model == "free" else str(Path(path).resolve())
    arm[PROP_SKIN] = json.dumps({"tone": tone, "texture": None, "seed": int(skin_seed)})
    if location is not None:
        arm.location = tuple(float(v) for v in location)

    view_layer = bpy.context.view_layer
    if arm.name in view_layer.objects:
        for obj in view_layer.objects:
            obj.select_set(False)
        arm.select_set(True)
        view_layer.objects.active = arm
    return rig


def is_body(obj) -> bool:
    """True for the armature (or the skinned mesh) of a body made by add_body / build_body."""
    return armature_of(obj) is not None


def armature_of(obj):
    """The body armature for `obj` (the armature itself or its skinned mesh), else None."""
    if obj is None:
        return None
    if obj.type == "ARMATURE" and "mayhem_model_path" in obj:
        return obj
    if obj.type == "MESH":
        for mod in obj.modifiers:
            if mod.type == "ARMATURE" and mod.object is not None and "mayhem_model_path" in mod.object:
                return mod.object
    return None


def body_mesh(arm_obj):
    """The mesh skinned by a body armature (the child whose Armature modifier uses it)."""
    for child in arm_obj.children:
        if child.type == "MESH" and any(m.type == "ARMATURE" and m.object == arm_obj for m in child.modifiers):
            return child
    raise MayhemInputError(arm_obj.name, "mesh", "this body armature has no skinned mesh child")


def body_info(arm_obj) -> dict:
    """The recipe-level description of a body armature: model, model_path, gender, betas, skin."""
    try:
        betas = [float(b) for b in json.loads(arm_obj["mayhem_betas"])]
        info = {"model": str(arm_obj.get(PROP_MODEL_REF, arm_obj["mayhem_model_path"])),
                "model_path": str(arm_obj["mayhem_model_path"]), "gender": str(arm_obj["mayhem_gender"]),
                "betas": betas,
                "skin": json.loads(arm_obj.get(PROP_SKIN, '{"tone": 0.5, "texture": null, "seed": 0}'))}
    except (KeyError, ValueError, TypeError) as exc:
        raise MayhemInputError(arm_obj.name, "mayhem_* properties", f"body properties are missing or damaged ({exc})") from None
    return info


def rig_of(target) -> BodyRig:
    """A BodyRig for a BodyRig, a body armature object or its mesh (model reloaded if needed)."""
    if isinstance(target, BodyRig):
        return target
    arm = armature_of(target)
    if arm is None:
        name = getattr(target, "name", repr(target))
        raise MayhemInputError(name, "object", "is not a Mayhem body (add one with Add Body)")
    info = body_info(arm)
    model = get_model(info["model_path"], info["gender"])
    betas = np.asarray(info["betas"], dtype=np.float64)
    bones = arm.data.bones
    rest = np.array([bones[n].head_local for n in JOINT_NAMES], dtype=np.float64)
    return BodyRig(armature=arm, mesh=body_mesh(arm), model_id=model.model_id, betas=betas,
                   rest_joints=rest, model=model)


def scene_bodies(scene=None, *, renderable_only: bool = False) -> list:
    """Body armatures in `scene`, sorted by name (the order of people in labels)."""
    scene = scene or bpy.context.scene
    found = [o for o in scene.objects if o.type == "ARMATURE" and "mayhem_model_path" in o]
    if renderable_only:
        found = [o for o in found if not body_mesh(o).hide_render]
    return sorted(found, key=lambda o: o.name)
