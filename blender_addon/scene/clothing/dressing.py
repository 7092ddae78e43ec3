"""Dress a sequence's people from their recipe outfits: garments, cloth simulation, painted outfits.

Timeline. Blender 4.5's cloth cache must start at Blender frame 1, and the garments need a
pre-roll that moves the body from their reference pose into the sequence's first pose
(core.clothing.fabrics). So when anyone wears a simulated outfit the whole scene shifts: sequence frame k
is Blender frame ``k + offset`` with ``offset = sequence_frame_offset(preroll)`` for every body
(dressed or not), the camera and the render range. :func:`timeline_offset` gives the offset
(0 without simulated clothing: the layout of scenes before clothing).

Garments. Procedural garments are cut from the person's own body (core.clothing.garments.make_outfit on
``BodyRest.from_model`` for the person's model and betas, A reference pose); user garments come
from the outfit loader (scene.clothing.user_outfits). Each garment object gets the pass index
``instance_id + CLOTHING_PASS_OFFSET`` (scene.render), so the person mask covers it and the
clothing mask can tell it from the skin.

Nothing about clothing fails a sequence except bad input (MayhemInputError): a garment that
cannot be made is dropped (status 'dropped', with the reason), a simulation that blows up is
retried and then bound to the skin (scene.clothing.cloth.simulate), and every garment of the recipe gets
one outcome record (scene.json "outcome", labels.npz "clothing_outcome").

Determinism (measured on the 2-core CPU machine, Blender 4.5 bpy): the same recipe rendered
twice, in one process or in two, wrote identical bytes for every file, garment vertices and
outcome figures included; also for 4 garments of 2-3.5 k vertices with a skirt's
self-collision and a retry, 30 pre-roll + 30 sequence frames. Recorded figures are rounded to
core.dataset.outcome.FIGURE_DIGITS all the same. tests/blender/test_clothing_scene.py checks it in one process,
tests/e2e/test_batch.py across worker processes. Not measured: different CPU counts or machines.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import bpy
import numpy as np

from ...core.assets import resolve_ref
from ...core.clothing.body_rest import BodyRest
from ...core.clothing.fabrics import FABRICS, ClothSettings
from ...core.clothing.garments import DEFAULT_TARGET_VERTICES, Garment, GarmentSpec, make_outfit
from ...core.clothing.preroll import SIM_START_FRAME, sequence_frame_offset
from ...core.dataset.outcome import rounded
from ...core.errors import MayhemInputError
from ...core.recipe_types import PersonRecipe, Recipe
from ..body.rig import BodyRig, animate_body, evaluated_vertices
from ..render import clothing_pass_index
from .cloth import animate_with_preroll, dress, fall_back, remove_garment, simulate
from .materials import apply_material, fabric_material

MODES = ("simulated", "texture", "none")
SOURCES = ("procedural", "user")
REFERENCE_POSE = "A"
# Garment names become object and file names (garments/<person>_<name>.npz).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Outcome fields copied from scene.clothing.cloth's per-garment outcome (timings are left out: they vary
# from run to run, and scene.json must not).
OUTCOME_FIELDS = ("kind", "fabric", "status", "within_limits", "reason", "quality_steps", "attempts", "vertices",
                  "finite", "penetration_median", "penetration_max", "max_stretch", "max_stretch_robust",
                  "layer_penetration_max")


@dataclass
class PersonDressing:
    """One person's clothing in the built scene."""

    person_id: int
    instance_id: int
    mode: str                                       # 'simulated' | 'texture' | 'none'
    garments: list = field(default_factory=list)    # the recipe's garment entries
    dressed: list = field(default_factory=list)     # DressedGarment per simulated garment
    indices: list = field(default_factory=list)     # recipe garment index of each dressed garment
    records: dict = field(default_factory=dict)     # recipe garment index -> outcome record


# ----------------------------------------------------------------------------- recipe parts
def _field(person: PersonRecipe, name: str) -> str:
    return f"people[{person.id}].outfit.{name}"


def outfit_mode(recipe: Recipe, person: PersonRecipe) -> str:
    """How the person is dressed. Recipes without a "clothing" section (written before
    clothing existed) and outfits without garments are 'none': the body as it always was."""
    outfit = person.outfit
    if recipe.clothing is None or outfit is None:
        return "none"
    if outfit.mode not in MODES:
        raise MayhemInputError(recipe.name, _field(person, "mode"), f"{outfit.mode!r} is not one of {MODES}")
    return outfit.mode if outfit.garments else "none"


def cloth_settings(recipe: Recipe) -> ClothSettings:
    """Simulation settings of the recipe's "clothing" section (ClothSettings' defaults without one)."""
    c = recipe.clothing
    settings = ClothSettings() if c is None else ClothSettings(
        preroll=c.preroll, settle=c.settle, quality=c.quality, collision_quality=c.collision_quality)
    try:
        return settings.validated()
    except MayhemInputError as exc:
        raise MayhemInputError(recipe.name, f"clothing.{exc.field.split('.')[-1]}", exc.problem) from None


def timeline_offset(recipe: Recipe) -> int:
    """Blender frame of sequence frame 0: 0, or the cloth pre-roll offset when anyone wears a
    simulated outfit."""
    if any(outfit_mode(recipe, p) == "simulated" for p in recipe.people):
        return sequence_frame_offset(cloth_settings(recipe).preroll)
    return 0


def garment_name(g: dict) -> str:
    return str(g.get("name") or g.get("garment") or g.get("kind") or "")


def check_outfit(sequence: str, person: PersonRecipe) -> list[dict]:
    """The person's garment entries, checked: source, name (unique, file-safe), fabric."""
    garments = person.outfit.garments
    seen = set()
    for i, g in enumerate(garments):
        where = _field(person, f"garments[{i}]")
        if not isinstance(g, dict):
            raise MayhemInputError(sequence, where, "must be a mapping")
        if g.get("source", "procedural") not in SOURCES:
            raise MayhemInputError(sequence, f"{where}.source", f"{g.get('source')!r} is not one of {SOURCES}")
        name = garment_name(g)
        if not NAME_PATTERN.fullmatch(name):
            raise MayhemInputError(sequence, f"{where}.name",
                                   f"{name!r}: use 1-64 letters, digits, '_', '-' or '.'")
        if name in seen:
            raise MayhemInputError(sequence, f"{where}.name", f"{name!r} is used twice in this outfit")
        seen.add(name)
        if g.get("fabric") not in FABRICS:
            raise MayhemInputError(sequence, f"{where}.fabric", f"{g.get('fabric')!r} is not one of {tuple(FABRICS)}")
    return garments


def _spec(g: dict) -> GarmentSpec:
    return GarmentSpec(kind=g.get("kind"), looseness=float(g.get("looseness", 0.3)),
                       length=None if g.get("length") is None else float(g["length"]),
                       sleeve=None if g.get("sleeve") is None else float(g["sleeve"]),
                       target_vertices=int(g.get("target_vertices", DEFAULT_TARGET_VERTICES)), name=garment_name(g))


def _make_user_garment(g: dict, body_rest: BodyRest, model=None, betas=None, roots=None) -> Garment:
    """A user garment (outfit manifest, a ROOT:path reference resolved against `roots`) fitted
    to this body, by the outfit loader. With the person's model and betas, the body in the
    manifest's pose is the model's own (pose correctives included), not `body_rest` re-posed by
    skinning."""
    try:
        from .user_outfits import load_user_garment
    except ImportError as exc:
        raise MayhemInputError(g.get("manifest"), "outfit.garments.source",
                               f"user outfits are not available ({exc})") from None
    manifest = str(resolve_ref(str(g.get("manifest")), roots, "outfit.garments.manifest"))
    return load_user_garment({**g, "manifest": manifest}, body_rest, model=model, betas=betas)


def _record(person_id: int, g: dict, **values) -> dict:
    """An outcome record with every field (None where it does not apply)."""
    record = {"person": person_id, "garment": garment_name(g), "source": g.get("source", "procedural"),
              **{k: None for k in OUTCOME_FIELDS}, "kind": g.get("kind"), "fabric": g.get("fabric")}
    record.update({k: rounded(v) for k, v in values.items()})
    return record


def _dropped(g: dict, person_id: int, exc: BaseException) -> dict:
    return _record(person_id, g, status="dropped", reason=f"{type(exc).__name__}: {exc}")


def _in_recipe_terms(sequence: str, person: PersonRecipe, exc: MayhemInputError) -> MayhemInputError:
    """Bad garment input named by the recipe and person (core errors name only the field)."""
    if exc.path is not None:
        return exc
    return MayhemInputError(sequence, _field(person, exc.field or "garments"), exc.problem)


def make_garments(sequence: str, person: PersonRecipe, body: BodyRest, dressing: PersonDressing, model=None,
                  betas=None, roots=None) -> list[tuple[int, Garment]]:
    """[(recipe garment index, Garment)] for the person's outfit. A garment that cannot be made
    for a reason other than bad input is recorded as dropped."""
    garments = check_outfit(sequence, person)
    made: list[tuple[int, Garment]] = []
    procedural = [i for i, g in enumerate(garments) if g.get("source", "procedural") == "procedural"]
    specs = []
    for i in procedural:  # bad cut parameters are input errors, named with the garment's index
        try:
            specs.append(_spec(garments[i]).resolved())
        except MayhemInputError as exc:
            where = f"garments[{i}].{(exc.field or '').split('.')[-1]}"
            raise MayhemInputError(sequence, _field(person, where), exc.problem) from None
        except (TypeError, ValueError) as exc:
            raise MayhemInputError(sequence, _field(person, f"garments[{i}]"), str(exc)) from None
    try:
        if procedural:
            made.extend(zip(procedural, make_outfit(specs, body)))
    except MayhemInputError as exc:
        raise _in_recipe_terms(sequence, person, exc) from None
    except Exception as exc:  # noqa: BLE001 - a garment that cannot be cut is dropped, not the sequence
        for i in procedural:
            dressing.records[i] = _dropped(garments[i], dressing.person_id, exc)
    for i, g in enumerate(garments):
        if g.get("source") != "user":
            continue
        try:
            made.append((i, _make_user_garment(g, body, model, betas, roots)))
        except MayhemInputError as exc:
            raise _in_recipe_terms(sequence, person, exc) from None
        except Exception as exc:  # noqa: BLE001
            dressing.records[i] = _dropped(g, dressing.person_id, exc)
    made.sort(key=lambda item: item[0])
    if made:  # one reference pose per person: the pre-roll starts from it
        ref = made[0][1].reference_pose
        for i, g in list(made):
            if not np.allclose(g.reference_pose, ref, atol=1e-6):
                made.remove((i, g))
                dressing.records[i] = _dropped(garments[i], dressing.person_id,
                                               ValueError("its reference pose differs from the outfit's first garment"))
    return made


# ---------------------------------------------------------------------------- dressing
def dress_person(sequence: str, person: PersonRecipe, rig: BodyRig, model, motion: dict, settings: ClothSettings,
                 n_frames: int, roots=None) -> PersonDressing:
    """Make the person's simulated outfit, key the body on the cloth timeline (pre-roll from the
    garments' reference pose) and put the garments on with cloth, fabric materials and clothing
    pass indices. Without any garment made, the body is keyed like an undressed one."""
    dressing = PersonDressing(person_id=person.id, instance_id=person.instance_id, mode="simulated",
                              garments=person.outfit.garments)
    offset = sequence_frame_offset(settings.preroll)
    body = BodyRest.from_model(model, rig.betas, reference=REFERENCE_POSE)
    made = make_garments(sequence, person, body, dressing, model, rig.betas, roots)
    garments = person.outfit.garments
    if not made:
        animate_body(rig, motion, frame_start=offset)
        return dressing
    animate_with_preroll(rig, motion, settings, made[0][1].reference_pose)
    before = set(bpy.data.objects)
    try:
        dressed = dress(rig, [g for _, g in made], [garments[i]["fabric"] for i, _ in made], settings, n_frames)
        for (i, _), dg in zip(made, dressed):
            look = garments[i].get("look") or {}
            apply_material(dg.obj, fabric_material(look, garments[i]["fabric"], name=f"{dg.obj.name}_fabric"))
            dg.obj.pass_index = clothing_pass_index(dressing.instance_id)
    except MayhemInputError as exc:
        raise _in_recipe_terms(sequence, person, exc) from None
    except Exception as exc:  # noqa: BLE001 - e.g. Blender refusing the mesh: the person goes undressed
        for obj in [o for o in bpy.data.objects if o not in before]:
            remove_garment(obj)
        for i, _ in made:
            dressing.records[i] = _dropped(garments[i], dressing.person_id, exc)
        return dressing
    dressing.dressed = dressed
    dressing.indices = [i for i, _ in made]
    return dressing


def paint_person(sequence: str, person: PersonRecipe, rig: BodyRig, model, material) -> PersonDressing:
    """A texture-only outfit: garments painted on the skin material (no simulation, no offset)."""
    garments = check_outfit(sequence, person)
    dressing = PersonDressing(person_id=person.id, instance_id=person.instance_id, mode="texture",
                              garments=garments)
    try:
        from .painted import paint_outfit
    except ImportError as exc:
        raise MayhemInputError(sequence, _field(person, "mode"),
                               f"texture outfits are not available ({exc})") from None
    body = BodyRest.from_model(model, rig.betas, reference=REFERENCE_POSE)
    try:
        paint_outfit(rig, material, garments, body)
        status, reason = "painted", None
    except MayhemInputError as exc:
        raise _in_recipe_terms(sequence, person, exc) from None
    except Exception as exc:  # noqa: BLE001 - an unpaintable outfit leaves the skin bare
        status, reason = "dropped", f"{type(exc).__name__}: {exc}"
    for i, g in enumerate(garments):
        dressing.records[i] = _record(dressing.person_id, g, status=status, reason=reason)
    return dressing


def simulate_outfits(dressings: list[PersonDressing], settings: ClothSettings, n_frames: int, scene=None) -> float:
    """Simulate every dressed garment of the scene in one pass (scene.clothing.cloth.simulate: checks,
    retries, skin-bound fallback) and leave the scene's frame range on the sequence frames.
    Returns the wall seconds spent; outcomes end up in each dressing's records."""
    scene = scene or bpy.context.scene
    offset = sequence_frame_offset(settings.preroll)
    everything = [dg for d in dressings for dg in d.dressed]
    t0 = time.perf_counter()
    if everything:
        scene.frame_start, scene.frame_end = SIM_START_FRAME, offset + n_frames - 1
        try:
            outcomes = simulate(everything, settings, scene=scene)
        except Exception as exc:  # noqa: BLE001 - simulate falls back by itself; this guards the rest
            for dg in everything:
                fall_back(dg, f"simulation failed: {type(exc).__name__}: {exc}")
            outcomes = [dg.outcome() for dg in everything]
        by_object = {o["object"]: o for o in outcomes}
        for d in dressings:
            for i, dg in zip(d.indices, d.dressed):
                o = by_object[dg.obj.name]
                d.records[i] = _record(d.person_id, d.garments[i], **{k: o.get(k) for k in OUTCOME_FIELDS})
    scene.frame_start, scene.frame_end = offset, offset + n_frames - 1
    return time.perf_counter() - t0


def outcome_records(dressings: list[PersonDressing]) -> list[dict]:
    """Every garment's outcome record, by person then recipe garment order."""
    return [d.records[i] for d in dressings for i in sorted(d.records)]


# ------------------------------------------------------------------------------- export
def garment_meshes(dressings: list[PersonDressing], frame_offset: int, n_frames: int, scene=None) -> dict:
    """{file stem '<person id>_<garment name>': arrays} of every dressed garment: faces (M,3)
    int32, vertices (F,N,3) float32 world coordinates at each sequence frame, uv (M,3,2)
    float32 (metres), pin_weights (N,), status, kind, fabric, instance_id (docs/format.md).
    Evaluated from the baked cache, or the skin-bound garment after a fallback."""
    scene = scene or bpy.context.scene
    items = [(d, i, dg) for d in dressings for i, dg in zip(d.indices, d.dressed)]
    if not items:
        return {}
    frames = {id(dg): np.empty((n_frames, len(dg.garment.vertices), 3), np.float32) for _, _, dg in items}
    current = scene.frame_current
    try:
        for k in range(n_frames):
            scene.frame_set(frame_offset + k)
            depsgraph = bpy.context.evaluated_depsgraph_get()
            for _, _, dg in items:
                frames[id(dg)][k] = evaluated_vertices(dg.obj, depsgraph)
    finally:
        scene.frame_set(current)
    out = {}
    for d, i, dg in items:
        g = dg.garment
        out[f"{d.person_id}_{garment_name(d.garments[i])}"] = {
            "faces": np.asarray(g.faces, dtype=np.int32), "vertices": frames[id(dg)],
            "uv": np.asarray(g.uv, dtype=np.float32), "pin_weights": np.asarray(g.pin_weights, dtype=np.float32),
            "status": np.array(str(d.records[i]["status"])),
            "kind": np.array(str(g.kind)), "fabric": np.array(dg.fabric.name),
            "instance_id": np.array(d.instance_id, dtype=np.int64),
        }
    return out
