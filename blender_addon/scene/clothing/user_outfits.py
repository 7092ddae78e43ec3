"""Read user garment meshes (OBJ, glTF/GLB, PLY, .blend) with Blender and fit them to a person.

Why Blender reads the files: its importers handle every variant of these formats (ngons,
binary and text PLY, embedded or external glTF buffers), and a user's outfit is usually made
in Blender anyway. Nothing of the import stays: each file is imported into a throwaway scene,
its triangles, per-corner UVs, vertex groups and float vertex attributes are copied into numpy
arrays, and every datablock the import created is removed again, so the user's scene is
unchanged. A .blend is appended (bpy.data.libraries.load, its objects only) with Python
auto-execution off, and any Text datablock it brought is deleted before anything else happens
(as scene/world/environment.py does for scene files). Object transforms are applied (through the
parent chain); modifiers and shape keys are not (apply them before saving the garment).

Coordinates handed to core.clothing.user_outfits are the file's own: OBJ and PLY are imported with Blender's
axis conversion off, glTF's Y-up is restored from the importer's Z-up, and a .blend's objects
are in Blender's Z-up world. core.clothing.user_outfits.to_model_space then applies the manifest's units and
up axis.

Parsed manifests, imported meshes, body models, template bodies and bindings are cached per
process (keyed by path, modification time and size), so dressing many people in one outfit
reads and binds each garment once.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import bpy
import numpy as np

from ...core.body.model import BodyModel, load_body_model
from ...core.clothing import user_outfits as O
from ...core.clothing.body_rest import BodyRest
from ...core.clothing.garments import Garment
from ...core.clothing.user_outfits import list_outfit_garments  # noqa: F401  (re-exported for the scene layer)
from ...core.errors import MayhemInputError
from ..world.environment import _all_ids, _neutralise_scripts, _new_ids

log = logging.getLogger("mayhem.outfits")

IMPORT_SCENE = "mayhem_outfit_import"

_manifests: dict = {}
_meshes: dict = {}
_models: dict = {}
_templates: dict = {}
_bindings: dict = {}
# The last person's bodies: (body_rest, pose key, model, betas key, template) -> (target, deformation).
# Kept by identity, one person at a time: garments of one person reuse them.
_person: list = []


def clear_caches() -> None:
    """Forget everything read so far (tests; a user who edited a file within one mtime tick)."""
    for cache in (_manifests, _meshes, _models, _templates, _bindings, _person):
        cache.clear()


def _file_key(path: Path) -> tuple:
    st = os.stat(path)
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


# ------------------------------------------------------------------------------ reading
def _world_matrix(obj) -> np.ndarray:
    """Object → world through the parent chain (an appended object's stored matrix_world is
    whatever it was when the file was saved, possibly never evaluated)."""
    M = np.array(obj.matrix_basis, dtype=np.float64)
    if obj.parent is not None:
        M = _world_matrix(obj.parent) @ np.array(obj.matrix_parent_inverse, dtype=np.float64) @ M
    return M


def _mesh_arrays(obj) -> O.MeshData:
    """Triangles (Blender's own triangulation of quads and ngons), per-corner UVs of the active
    UV map, vertex groups and float point attributes of a mesh object, in world coordinates."""
    me = obj.data
    n = len(me.vertices)
    co = np.empty(3 * n, dtype=np.float32)
    me.vertices.foreach_get("co", co)
    M = _world_matrix(obj)
    V = co.reshape(-1, 3).astype(np.float64) @ M[:3, :3].T + M[:3, 3]
    me.calc_loop_triangles()
    nt = len(me.loop_triangles)
    tri = np.empty(3 * nt, dtype=np.int32)
    me.loop_triangles.foreach_get("vertices", tri)
    loops = np.empty(3 * nt, dtype=np.int32)
    me.loop_triangles.foreach_get("loops", loops)
    F = tri.reshape(-1, 3).astype(np.int64)
    uv = None
    layer = me.uv_layers.active
    if layer is not None and nt:
        corner_uv = np.empty(2 * len(me.loops), dtype=np.float32)
        layer.uv.foreach_get("vector", corner_uv)
        uv = corner_uv.reshape(-1, 2)[loops].reshape(-1, 3, 2).astype(np.float64)
    if np.linalg.det(M[:3, :3]) < 0:  # mirrored: keep the winding
        F = F[:, ::-1].copy()
        uv = None if uv is None else uv[:, ::-1].copy()
    groups: dict[str, np.ndarray] = {}
    if obj.vertex_groups:
        W = np.zeros((len(obj.vertex_groups), n))
        for v in me.vertices:
            for g in v.groups:
                if g.group < len(W):
                    W[g.group, v.index] = g.weight
        for vg in obj.vertex_groups:
            groups[vg.name] = W[vg.index]
    for attr in me.attributes:
        if attr.domain == "POINT" and attr.data_type == "FLOAT" and not attr.name.startswith(".") \
                and attr.name not in groups:
            vals = np.empty(n, dtype=np.float32)
            attr.data.foreach_get("value", vals)
            groups[attr.name] = vals.astype(np.float64)
    return O.MeshData(vertices=V, faces=F, uv=uv, groups=groups, object_name=obj.name)


def _import_with_operator(path: Path, scene) -> None:
    suffix = path.suffix.lower()
    view_layer = scene.view_layers[0]
    with bpy.context.temp_override(scene=scene, view_layer=view_layer):
        if suffix == ".obj":
            # Axis conversion off (forward Y, up Z is Blender's own frame); OBJ face groups
            # (`g name`) become vertex groups, so a waistband can be named in an OBJ.
            result = bpy.ops.wm.obj_import(filepath=str(path), forward_axis="Y", up_axis="Z",
                                           import_vertex_groups=True, use_split_groups=False,
                                           use_split_objects=True, validate_meshes=True)
        elif suffix == ".ply":
            result = bpy.ops.wm.ply_import(filepath=str(path), forward_axis="Y", up_axis="Z",
                                           merge_verts=False, import_attributes=True)
        else:
            result = bpy.ops.import_scene.gltf(filepath=str(path), merge_vertices=False,
                                               import_shading="NORMALS")
    if "FINISHED" not in result:
        raise RuntimeError(f"importer returned {result}")


def _append_blend(path: Path, object_name: str | None) -> None:
    with bpy.data.libraries.load(str(path), link=False) as (src, dst):
        names = list(src.objects)
        if object_name is not None and object_name in names:
            names = [object_name]
        dst.objects = names


def _matches(name: str, want: str) -> bool:
    """An imported object's name is the file's, or that with a '.001'-style suffix when the
    current file already had an object of that name."""
    if name == want:
        return True
    head, _, tail = name.rpartition(".")
    return head == want and tail.isdigit()


def _pick_object(meshes: list, object_name: str | None, path: Path, manifest_path, fld: str):
    if not meshes:
        raise MayhemInputError(manifest_path, f"{fld}.file", f"{path.name} contains no mesh with faces")
    if object_name is None:
        if len(meshes) > 1:
            names = ", ".join(sorted(o.name for o in meshes))
            raise MayhemInputError(manifest_path, f"{fld}.object",
                                   f"{path.name} has {len(meshes)} meshes ({names}): name one with object")
        return meshes[0]
    exact = [o for o in meshes if o.name == object_name] or [o for o in meshes if _matches(o.name, object_name)]
    if not exact:
        names = ", ".join(sorted(o.name for o in meshes))
        raise MayhemInputError(manifest_path, f"{fld}.object",
                               f"{path.name} has no mesh object named {object_name!r} (have: {names})")
    return exact[0]


def read_mesh_file(path, object_name: str | None = None, *, manifest_path=None,
                   field: str = "garment") -> O.MeshData:
    """The triangles, per-corner UVs and named vertex weights of one mesh object of `path`, in
    the file's coordinates; the current Blender file is left as it was."""
    path = Path(path)
    if not path.is_file():
        raise MayhemInputError(manifest_path or path, f"{field}.file", f"{path} not found")
    suffix = path.suffix.lower()
    if suffix not in O.MESH_SUFFIXES:
        raise MayhemInputError(manifest_path or path, f"{field}.file",
                               f"{path.name}: unsupported format {suffix!r} (use {', '.join(O.MESH_SUFFIXES)})")
    bpy.context.preferences.filepaths.use_scripts_auto_execute = False
    before = _all_ids()
    new: list = []
    try:
        try:
            if suffix == ".blend":
                _append_blend(path, object_name)
            else:
                scene = bpy.data.scenes.new(IMPORT_SCENE)
                _import_with_operator(path, scene)
        except (RuntimeError, OSError) as exc:
            msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise MayhemInputError(manifest_path or path, f"{field}.file",
                                   f"could not read {path.name} ({msg})") from None
        new = _new_ids(before)
        _neutralise_scripts(new)
        new = _new_ids(before)  # the Text blocks are gone
        meshes = [i for i in new if isinstance(i, bpy.types.Object) and i.type == "MESH" and len(i.data.polygons)]
        obj = _pick_object(meshes, object_name, path, manifest_path or path, field)
        data = _mesh_arrays(obj)
        if suffix in (".gltf", ".glb"):
            # Blender's glTF importer turns the file's Y-up into Z-up: (x, y, z) -> (x, -z, y).
            V = data.vertices
            data.vertices = np.stack([V[:, 0], V[:, 2], -V[:, 1]], axis=1)
        if object_name is not None:
            data.object_name = object_name
        log.debug("%s: %s, %d vertices, %d triangles, groups %s", path.name, data.object_name,
                  len(data.vertices), len(data.faces), sorted(data.groups))
        return data
    finally:
        leftovers = _new_ids(before)
        if leftovers:
            bpy.data.batch_remove(leftovers)


# ------------------------------------------------------------------------------ caching
def load_manifest(path) -> O.OutfitManifest:
    """core.clothing.user_outfits.load_manifest, cached per (path, mtime, size)."""
    path = Path(os.path.expanduser(str(path)))
    if not path.is_file():
        raise MayhemInputError(path, None, "outfit manifest not found")
    key = _file_key(path)
    if key not in _manifests:
        _manifests[key] = O.load_manifest(path)
    return _manifests[key]


def _raw_mesh(garment: O.OutfitGarment, manifest_path) -> O.MeshData:
    key = (_file_key(garment.file), garment.object)
    if key not in _meshes:
        _meshes[key] = read_mesh_file(garment.file, garment.object, manifest_path=manifest_path,
                                      field=garment.field)
    return _meshes[key]


def _model(path: Path, gender: str) -> BodyModel:
    key = (_file_key(path), gender)
    if key not in _models:
        _models[key] = load_body_model(path, gender=gender)
    return _models[key]


def template_for(manifest: O.OutfitManifest) -> BodyRest:
    """The manifest's template body (cached)."""
    body = manifest.body
    key = (_file_key(body.model_path), body.gender, body.betas, body.pose)
    if key not in _templates:
        _templates[key] = O.template_body(_model(body.model_path, body.gender), body, manifest.path)
    return _templates[key]


def prepared_garment(manifest: O.OutfitManifest, garment: O.OutfitGarment):
    """(model-space mesh, its binding to the template) of one garment (cached)."""
    template = template_for(manifest)
    body = manifest.body
    key = (_file_key(garment.file), garment.object, garment.units, garment.up,
           _file_key(body.model_path), body.gender, body.betas, body.pose)
    if key not in _bindings:
        mesh = O.prepare_mesh(_raw_mesh(garment, manifest.path), garment, manifest.path)
        _bindings[key] = (mesh, O.bind_garment(mesh, garment, template, manifest.path))
    return _bindings[key]


# ------------------------------------------------------------------------------- public
def _garment_ref(g: dict):
    if not isinstance(g, dict):
        raise MayhemInputError(None, "garment", "a user garment is a mapping with manifest and garment")
    if g.get("source", "user") != "user":
        raise MayhemInputError(None, "garment.source", f"{g.get('source')!r}: load_user_garment takes source: user")
    manifest = g.get("manifest")
    if not isinstance(manifest, (str, os.PathLike)) or not str(manifest):
        raise MayhemInputError(None, "garment.manifest", "missing: the outfit manifest's path")
    if "garment" not in g:
        raise MayhemInputError(manifest, "garment.garment", "missing: a garment name or index of the manifest")
    return manifest, g["garment"]


def load_user_garment(g: dict, body_rest: BodyRest, *, model: BodyModel | None = None,
                      betas=None) -> Garment:
    """The garment `g` = {"source": "user", "manifest": path, "garment": name or index, ...}
    fitted to the person whose body is `body_rest` (core.clothing.body_rest.BodyRest of the person's
    model and betas).

    The garment is made in the manifest's pose (its `reference_pose`), whatever pose
    `body_rest` is in: if they differ, the person's body is re-posed into the manifest's pose
    (core.clothing.user_outfits.body_in_pose; exact for the free body, without the pose correctives for
    SMPL-X unless `model` and `betas` of the person are given, in which case that body is
    computed by the model). "fabric" and "look" of `g` are the caller's (scene.clothing.cloth.dress,
    scene.clothing.materials); the manifest's fabric is `manifest.garment(key).fabric`.
    """
    manifest_path, key = _garment_ref(g)
    manifest = load_manifest(manifest_path)
    garment = manifest.garment(key)
    template = template_for(manifest)
    target, deformation = _person_body(body_rest, manifest, template, model, betas)
    mesh, binding = prepared_garment(manifest, garment)
    return O.fit_user_garment(mesh, garment, template, target, binding=binding, deformation=deformation,
                              manifest_path=manifest.path)


def _person_body(body_rest: BodyRest, manifest: O.OutfitManifest, template: BodyRest, model, betas):
    """(the person's body in the manifest's pose, its deformation from the template), reused
    for the garments of one person."""
    betas_key = None if betas is None else tuple(np.asarray(betas, dtype=np.float64).reshape(-1).tolist())
    if _person:
        (b, pose, mdl, bk, tmpl), value = _person[0]
        if b is body_rest and pose == manifest.body.pose and mdl is model and bk == betas_key and tmpl is template:
            return value
    if model is not None:
        target = BodyRest.from_model(model, betas, reference=manifest.body.pose)
    else:
        target = O.body_in_pose(body_rest, manifest.body.body_pose)
    O.check_same_topology(template, target, manifest.path)
    value = (target, O.surface_deformation(template, target))
    _person[:] = [((body_rest, manifest.body.pose, model, betas_key, template), value)]
    return value
