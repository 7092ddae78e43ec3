"""Dress a body of the open scene and simulate its clothes: the service behind "Dress Body".

The same code dresses recipe people (scene.clothing.dressing): garments cut from this body's shape,
the body re-keyed on the cloth timeline (a pre-roll from the garments' rest pose into the
motion's first pose, so the motion's first frame moves to Blender frame
``core.clothing.preroll.sequence_frame_offset(preroll)``), cloth simulated with the per-frame checks,
retry and skin-bound fallback, and baked. What was done is stored on the armature
(``mayhem_outfit``: garments, settings, outcome) and the motion property's ``frame_start``
follows the move, so "Render Dataset" labels the frames the motion is on.
"""
from __future__ import annotations

import json

import bpy
import numpy as np

from ..core import assets
from ..core.clothing.fabrics import FABRICS, ClothSettings
from ..core.clothing.garments import GARMENT_KINDS
from ..core.clothing.looks import sample_look
from ..core.clothing.sampling import garment_entry
from ..core.errors import MayhemInputError
from ..core.recipe import AssetCache, person_params
from ..core.recipe_types import MotionRef, Outfit, PersonRecipe, Placement, Skin
from ..scene.clothing.cloth import COLLISION_MODIFIER, remove_garment
from ..scene.clothing.dressing import dress_person, outcome_records, simulate_outfits
from .bodies import PROP_MOTION, rig_of
from .motions import motion_info

PROP_OUTFIT = "mayhem_outfit"
GARMENT_PROP = "mayhem_garment"  # set on every garment object by scene.clothing.cloth.build_garment_object


def procedural_garments(kinds: list[str], fabrics: list[str], *, looseness: float = 0.3,
                        target_vertices: int = 3000, seed: int = 0) -> list[dict]:
    """Recipe garment entries for `kinds` (core.clothing.garments.GARMENT_KINDS) with their fabrics; the
    look (pattern, colours) is drawn from `seed`."""
    if len(kinds) != len(fabrics):
        raise MayhemInputError(None, "outfit.fabrics", f"{len(kinds)} garments but {len(fabrics)} fabrics")
    rng = np.random.default_rng(int(seed))
    garments = []
    for kind, fabric in zip(kinds, fabrics):
        if kind not in GARMENT_KINDS:
            raise MayhemInputError(None, "outfit.kind", f"{kind!r} is not one of {GARMENT_KINDS}")
        if fabric not in FABRICS:
            raise MayhemInputError(None, "outfit.fabric", f"{fabric!r} is not one of {tuple(FABRICS)}")
        garments.append(garment_entry(kind, fabric, sample_look(rng, fabric), looseness=float(looseness),
                                      length=None, sleeve=None, target_vertices=target_vertices))
    return garments


def garment_objects(arm_obj) -> list:
    return [o for o in arm_obj.children if GARMENT_PROP in o]


def undress_body(target) -> int:
    """Remove the body's garments (objects, meshes, collider collections) and its collision
    modifier; returns how many garments were removed. The motion stays where it is."""
    rig = rig_of(target)
    removed = 0
    for obj in garment_objects(rig.armature):
        remove_garment(obj)
        removed += 1
    mod = rig.mesh.modifiers.get(COLLISION_MODIFIER)
    if mod is not None and mod.type == "COLLISION":
        rig.mesh.modifiers.remove(mod)
    if PROP_OUTFIT in rig.armature:
        del rig.armature[PROP_OUTFIT]
    return removed


def dress_body(target, garments: list[dict], *, preroll: int = 30, settle: int = 5, quality: int = 7,
               collision_quality: int = 3, scene=None) -> list[dict]:
    """Put `garments` (recipe garment entries, e.g. from procedural_garments) on a body that has
    a motion, simulate and bake them; returns one outcome record per garment."""
    scene = scene or bpy.context.scene
    rig = rig_of(target)
    arm = rig.armature
    info = motion_info(arm)
    if info is None:
        raise MayhemInputError(arm.name, "motion", "load a motion first: the clothes are simulated along it")
    if not garments:
        raise MayhemInputError(arm.name, "outfit.garments", "choose at least one garment")
    settings = ClothSettings(preroll=int(preroll), settle=int(settle), quality=int(quality),
                             collision_quality=int(collision_quality)).validated()
    undress_body(rig)

    n_frames = int(info["frames"])
    model_path, gender = str(rig.armature["mayhem_model_path"]), str(rig.armature["mayhem_gender"])
    roots: dict = {}
    model_ref, motion_ref = assets.asset_ref(model_path, roots), assets.asset_ref(info["ref"], roots)
    cache = AssetCache(roots=roots)
    cache.models[(str(assets.resolve_ref(model_ref, roots, "model")), gender)] = rig.model
    person = PersonRecipe(id=0, instance_id=1, gender=gender, model=model_ref, betas=[float(b) for b in rig.betas],
                          skin=Skin(tone=0.5), motion=MotionRef(ref=motion_ref, start_frame=0),
                          placement=Placement(**info["placement"]), outfit=Outfit(mode="simulated", garments=garments))
    model, params, _ = person_params(person, n_frames, float(info["fps"]), cache)
    motion = {k: v for k, v in params.items() if k != "betas"}
    dressing = dress_person(arm.name, person, rig, model, motion, settings, n_frames, roots)
    simulate_outfits([dressing], settings, n_frames, scene)  # leaves the range on the motion's frames
    records = outcome_records([dressing])
    arm[PROP_MOTION] = json.dumps({**info, "frame_start": int(scene.frame_start)})
    arm[PROP_OUTFIT] = json.dumps({"garments": garments, "settings": settings.to_dict(), "outcome": records})
    return records
