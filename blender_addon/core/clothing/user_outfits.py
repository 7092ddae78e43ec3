"""User outfits: garment meshes made on a template body, listed in a YAML manifest, fitted to
any body shape of the same model (numpy + yaml only; scene/clothing/user_outfits.py reads the files).

Why a manifest: a mesh file says nothing about the body it was modelled on, its units, its up
axis, which vertices hold it up (the waistband) or what it is made of. The manifest says it
once per outfit, and every bad value is reported with the manifest file and the field's path
(``outfit.garments[1].file``), like the config (core/config.py).

Fitting (:func:`fit_user_garment`). The template body is the manifest's model with its betas in
its pose (``A`` or ``T``). Each garment vertex is bound to the template surface: closest
triangle, barycentric coordinates, the offset along the smooth (interpolated) normal there (the
clearance), and the small rest of the offset (tangential: where the closest point is on an
edge or a corner). Carrying the binding to the shaped body (same model, other betas, same pose)
rebuilds every vertex from the same surface point, at the same height along the new smooth
normal, with its tangential part mapped by the surface's local deformation (per body vertex,
the mean of its triangles' deformation gradients, blended barycentrically). All three are
continuous across triangles, so garment vertices bound to adjacent triangles stay neighbours,
and on the template's own shape the mesh is reproduced to rounding.

Cloth away from the skin is not described well by its closest surface point alone: where it
bridges two body parts (armpit, crotch) neighbours are bound to different parts, and a skirt's
hem is bound to whichever leg is nearer. So the displacement field (fitted minus template
position) is smoothed over the garment: a vertex keeps (1 - w) of its own displacement and
takes w of its neighbours' mean, iterated (Jacobi), with w = NEAR_SMOOTHING (0.75) up to 2 cm
from the skin rising smoothly to 1 at 8 cm, where the displacement becomes the harmonic
interpolation of the displacements around it (a skirt hangs from the hips). The template's
own shape has zero displacement everywhere, so this changes nothing there. Finally any vertex
that ended closer to the skin than min(its template distance, 1 cm) is pushed back out.

The fitted mesh becomes a core.clothing.garments.Garment in the template pose: skin weights from the
nearest body triangle, smoothed over the garment (as for procedural garments), pins from a
vertex group or a band along the highest opening, UVs from the file rescaled to metres (or
cylindrical ones), and bind vertices by inverse skinning to the zero pose.
"""
from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..body.skeleton import GENDERS
from ..errors import MayhemInputError
from ..geometry.mesh import boundary_loops, mesh_area, scatter_add, unique_edges, vertex_normals
from ..schema import REQUIRED, from_dict, typed_field
from . import garments as G
from .body_rest import BodyRest, reference_body_pose
from .fabrics import FABRICS

OUTFIT_KINDS = ("top", "bottom", "dress", "other")
# Bottoms are the inner layer (tops tuck over them); everything else is outer.
KIND_LAYER = {"bottom": 0, "top": 1, "dress": 1, "other": 1}
DEFAULT_FABRIC = {"top": "cotton", "bottom": "denim", "dress": "cotton", "other": "cotton"}
PIN_JOINT = {"top": "spine3", "dress": "spine3", "bottom": "pelvis"}  # 'other' keeps smoothed weights
MESH_SUFFIXES = (".obj", ".gltf", ".glb", ".ply", ".blend")
# Up axis of each format when the manifest does not say: OBJ and glTF are Y-up by convention
# (glTF by its specification), Blender's own data and its PLY export are Z-up.
DEFAULT_UP = {".obj": "Y", ".gltf": "Y", ".glb": "Y", ".ply": "Z", ".blend": "Z"}
UNIT_SCALE = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254}
BODY_POSES = ("A", "T")
PIN_MODES = ("hem", "group", "none")

MAX_VERTICES = 50_000
FAR_FROM_BODY = 0.3     # m: a vertex this far from the template body is not on it
MAX_FAR_SHARE = 0.25    # more than this share of far vertices: wrong units, axis or body
MAX_INSIDE_SHARE = 0.15  # more than this share inside the template: too small (units) or turned
WELD_DISTANCE = 1e-6    # m: vertices this close are one (formats split them at UV seams)
# Displacement smoothing weight: NEAR_SMOOTHING up to NEAR_SKIN from the skin (where cloth
# bridges two body parts, neighbours bound to different parts would otherwise part), rising
# to 1 at FAR_SKIN and beyond (the harmonic interpolation of the neighbours' displacements).
NEAR_SKIN, FAR_SKIN = 0.02, 0.08
NEAR_SMOOTHING = 0.75
SMOOTH_ITERATIONS = 150
MIN_FIT_CLEARANCE = G.BASE_CLEARANCE  # fitted vertices keep min(template distance, this)

UP_AXES = ("Y", "Z")


# =========================================================================== manifest
@dataclass(frozen=True)
class BodySpec:
    """The template body the garments were modelled on."""

    model: str                   # 'free' or the model file / folder as written in the manifest
    model_path: Path             # resolved model file
    gender: str
    betas: tuple
    pose: str                    # 'A' or 'T' (core.clothing.body_rest.reference_body_pose)

    @property
    def body_pose(self) -> np.ndarray:
        return reference_body_pose(self.pose)


@dataclass(frozen=True)
class OutfitGarment:
    """One garment entry of a manifest, validated and with its file resolved."""

    index: int
    name: str
    file: Path
    object: str | None
    kind: str
    fabric: str
    pin: str                     # 'hem' | 'group' | 'none'
    pin_group: str | None
    pin_width: float
    self_collision: bool
    units: str
    up: str                      # 'Y' or 'Z': the file's up axis

    @property
    def field(self) -> str:
        return f"outfit.garments[{self.index}]"

    @property
    def layer(self) -> int:
        return KIND_LAYER[self.kind]


@dataclass(frozen=True)
class OutfitManifest:
    path: Path
    name: str
    body: BodySpec
    garments: tuple

    @property
    def names(self) -> list[str]:
        return [g.name for g in self.garments]

    def garment(self, key) -> OutfitGarment:
        """A garment by name or by index (int, or a string of digits)."""
        if isinstance(key, bool):
            key = None
        if isinstance(key, str) and key.strip().isdigit() and key not in self.names:
            key = int(key)
        if isinstance(key, numbers.Integral):
            key = int(key)
            if 0 <= key < len(self.garments):
                return self.garments[key]
            raise MayhemInputError(self.path, "garment", f"index {key} out of range: the outfit has "
                                                         f"{len(self.garments)} garment(s)")
        for g in self.garments:
            if g.name == key:
                return g
        raise MayhemInputError(self.path, "garment", f"no garment named {key!r} (have: {', '.join(self.names)})")


# The manifest as written: typed fields (core.schema); parse_manifest resolves files and the
# defaults that depend on other fields.
@dataclass
class _BodyEntry:
    model: str = typed_field("free", "'free' or an SMPL-X .npz/.pkl file or folder (relative to the manifest)",
                             nonempty=True)
    gender: str = typed_field("neutral", "gender of the template body", choices=GENDERS)
    betas: list | None = typed_field([], "shape coefficients of the template body (at most 300)", optional=True,
                                     numbers=True)
    pose: str = typed_field("T", "reference pose the garments were modelled in", choices=BODY_POSES, upper=True)


@dataclass
class _GarmentEntry:
    file: str = typed_field(REQUIRED, "mesh file (" + ", ".join(MESH_SUFFIXES) + "), relative to the manifest",
                            nonempty=True)
    kind: str = typed_field(REQUIRED, "what the garment is", choices=OUTFIT_KINDS)
    name: str | None = typed_field(None, "the garment's name (default: the object's or the file's)", optional=True,
                                   nonempty=True)
    object: str | None = typed_field(None, "the object to take from a file with several", optional=True, nonempty=True)
    fabric: str | None = typed_field(None, "fabric preset (default by kind)", optional=True, choices=tuple(FABRICS))
    pin: str | None = typed_field(None, "pinned vertices: hem band, a vertex group, or none", optional=True,
                                  choices=PIN_MODES)
    pin_group: str | None = typed_field(None, "vertex group (or float vertex attribute) of pinned vertices",
                                        optional=True, nonempty=True)
    pin_width: float = typed_field(G.PIN_BAND, "width of the pinned hem band, metres, in (0, 0.5]", maximum=0.5)
    self_collision: bool | None = typed_field(None, "cloth self-collision (default: dresses only)", optional=True)
    units: str | None = typed_field(None, "the file's units (default: the outfit's)", optional=True,
                                    choices=tuple(UNIT_SCALE))
    up: str | None = typed_field(None, "the file's up axis (default: the outfit's, else the format's)",
                                 optional=True, choices=UP_AXES, upper=True)


@dataclass
class _OutfitEntry:
    name: str | None = typed_field(None, "outfit name (default: the manifest's file name)", optional=True,
                                   nonempty=True)
    body: _BodyEntry = field(default_factory=_BodyEntry)
    units: str = typed_field("m", "units of the garment files", choices=tuple(UNIT_SCALE))
    up: str | None = typed_field(None, "up axis of the garment files", optional=True, choices=UP_AXES, upper=True)
    garments: list = typed_field(REQUIRED, "the garments (a non-empty list of mappings)")


@dataclass
class _ManifestEntry:
    outfit: _OutfitEntry = field(default_factory=_OutfitEntry)


def resolve_model_path(model: str, gender: str, manifest_path: Path) -> Path:
    """'free' is the bundled free body; a relative path is relative to the manifest; a folder is
    searched for SMPLX_{GENDER}.npz, then .pkl (as the smplx package names them)."""
    from ..assets import resolve_body_model

    return resolve_body_model(os.path.expanduser(model), gender, manifest_path, field="outfit.body.model",
                              base=Path(manifest_path).parent)


def _body(path: Path, entry: _BodyEntry) -> BodySpec:
    betas = entry.betas or []
    if len(betas) > 300:
        raise MayhemInputError(path, "outfit.body.betas", f"{len(betas)} coefficients; SMPL-X has at most 300")
    return BodySpec(model=entry.model, model_path=resolve_model_path(entry.model, entry.gender, path),
                    gender=entry.gender, betas=tuple(betas), pose=entry.pose)


def _garment(path: Path, k: int, data, outfit: _OutfitEntry) -> OutfitGarment:
    fld = f"outfit.garments[{k}]"
    entry = from_dict(_GarmentEntry, data, path, fld)
    fpath = Path(os.path.expanduser(entry.file))
    if not fpath.is_absolute():
        fpath = path.parent / fpath
    suffix = fpath.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise MayhemInputError(path, f"{fld}.file", f"{entry.file}: unsupported format {suffix!r} "
                                                    f"(use {', '.join(MESH_SUFFIXES)})")
    if not fpath.is_file():
        raise MayhemInputError(path, f"{fld}.file", f"{fpath} not found")
    pin = entry.pin or ("group" if entry.pin_group else "hem")
    if pin == "group" and not entry.pin_group:
        raise MayhemInputError(path, f"{fld}.pin_group", "pin: group needs pin_group (the vertex group's name)")
    if pin != "group" and entry.pin_group:
        raise MayhemInputError(path, f"{fld}.pin", f"pin: {pin} contradicts pin_group {entry.pin_group!r}")
    if not entry.pin_width > 0.0:
        raise MayhemInputError(path, f"{fld}.pin_width", f"must be a width in metres in (0, 0.5], got {entry.pin_width!r}")
    # glTF is Y-up by its specification, whatever the outfit says for the other files.
    up = entry.up or ("Y" if suffix in (".gltf", ".glb") else (outfit.up or DEFAULT_UP[suffix]))
    return OutfitGarment(index=k, name=entry.name or entry.object or fpath.stem, file=fpath, object=entry.object,
                         kind=entry.kind, fabric=entry.fabric or DEFAULT_FABRIC[entry.kind], pin=pin,
                         pin_group=entry.pin_group, pin_width=float(entry.pin_width),
                         self_collision=(entry.kind == "dress") if entry.self_collision is None else entry.self_collision,
                         units=entry.units or outfit.units, up=up)


def parse_manifest(data, path) -> OutfitManifest:
    """Validate a manifest already read from YAML (`path` names it in errors and anchors
    relative file paths)."""
    path = Path(path)
    if not isinstance(data, dict) or "outfit" not in data:
        raise MayhemInputError(path, "outfit", "missing: the manifest is a mapping with one key, outfit")
    outfit = from_dict(_ManifestEntry, data, path).outfit
    if not isinstance(outfit.garments, list) or not outfit.garments:
        raise MayhemInputError(path, "outfit.garments", "must be a non-empty list of garments")
    body = _body(path, outfit.body)
    garments = tuple(_garment(path, k, g, outfit) for k, g in enumerate(outfit.garments))
    seen: dict[str, int] = {}
    for g in garments:
        if g.name in seen:
            raise MayhemInputError(path, f"{g.field}.name", f"{g.name!r} is already the name of garments[{seen[g.name]}]")
        seen[g.name] = g.index
    return OutfitManifest(path=path, name=outfit.name or path.stem, body=body, garments=garments)


def load_manifest(path) -> OutfitManifest:
    """Read (yaml.safe_load) and validate an outfit manifest."""
    from ..config import parse_yaml, read_text

    path = Path(os.path.expanduser(str(path))).resolve()
    text = read_text(path, "outfit manifest")
    return parse_manifest(parse_yaml(text, path), path)


def list_outfit_garments(manifest_path) -> list[str]:
    """Names of the garments of a manifest, in order."""
    return load_manifest(manifest_path).names


# =============================================================================== meshes
@dataclass
class MeshData:
    """A triangle mesh as read from a file: per-corner UVs, named per-vertex weights."""

    vertices: np.ndarray                 # (N, 3)
    faces: np.ndarray                    # (M, 3) int64
    uv: np.ndarray | None = None         # (M, 3, 2) per corner, file units (0-1 texture space)
    groups: dict = field(default_factory=dict)  # name -> (N,) weights (vertex groups, float attributes)
    object_name: str = ""


def to_model_space(vertices: np.ndarray, up: str, units: str) -> np.ndarray:
    """File coordinates -> model coordinates (metres, Y up, front +Z). A Z-up file is turned so
    its up becomes +Y and its -Y (Blender's front view looks along +Y at a -Y-facing character)
    becomes +Z: (x, y, z) -> (x, z, -y)."""
    V = np.asarray(vertices, dtype=np.float64) * UNIT_SCALE[units]
    if up == "Z":
        V = np.stack([V[:, 0], V[:, 2], -V[:, 1]], axis=1)
    return V


def _weld(V: np.ndarray, F: np.ndarray, groups: dict, tol: float):
    """Merge vertices within `tol` (quantised positions); drop degenerate and repeated faces,
    and vertices no face uses. Returns V, F, groups, kept-face mask."""
    key = np.round(V / tol).astype(np.int64)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(first)                 # keep the file's vertex order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    remap = rank[inverse]
    Vw = V[first[order]]
    Fw = remap[F]
    gw = {}
    for name, w in groups.items():
        acc = np.zeros(len(Vw))
        np.maximum.at(acc, remap, np.asarray(w, dtype=np.float64))
        gw[name] = acc
    ok = (Fw[:, 0] != Fw[:, 1]) & (Fw[:, 1] != Fw[:, 2]) & (Fw[:, 2] != Fw[:, 0])
    if ok.any():
        area = np.linalg.norm(np.cross(Vw[Fw[:, 1]] - Vw[Fw[:, 0]], Vw[Fw[:, 2]] - Vw[Fw[:, 0]]), axis=1)
        ok &= area > tol * tol
    srt = np.sort(Fw, axis=1)
    _, uniq = np.unique(srt, axis=0, return_index=True)
    dup = np.ones(len(Fw), dtype=bool)
    dup[uniq] = False
    ok &= ~dup
    Fk = Fw[ok]
    used = np.unique(Fk)
    re2 = np.full(len(Vw), -1, dtype=np.int64)
    re2[used] = np.arange(len(used))
    return Vw[used], re2[Fk], {n: w[used] for n, w in gw.items()}, ok


def prepare_mesh(raw: MeshData, garment: OutfitGarment, manifest_path) -> MeshData:
    """Validate a mesh read from `garment.file` and bring it to model space (metres, Y up),
    welded into one surface (formats split vertices along UV seams)."""
    fld = f"{garment.field}.file"
    name = garment.file.name + (f" (object {raw.object_name})" if raw.object_name else "")
    V = np.asarray(raw.vertices, dtype=np.float64).reshape(-1, 3)
    F = np.asarray(raw.faces, dtype=np.int64).reshape(-1, 3)
    if not len(F) or not len(V):
        raise MayhemInputError(manifest_path, fld, f"{name} has no faces")
    if F.min() < 0 or F.max() >= len(V):
        raise MayhemInputError(manifest_path, fld, f"{name}: face indices outside the vertex list")
    if not np.all(np.isfinite(V)):
        raise MayhemInputError(manifest_path, fld, f"{name} has NaN or infinite vertex coordinates")
    V = to_model_space(V, garment.up, garment.units)
    V, F, groups, kept = _weld(V, F, raw.groups, WELD_DISTANCE)
    if not len(F):
        raise MayhemInputError(manifest_path, fld, f"{name} has only degenerate faces")
    if len(V) > MAX_VERTICES:
        raise MayhemInputError(manifest_path, fld, f"{name} has {len(V)} vertices; at most {MAX_VERTICES} simulate "
                                       "in reasonable time (decimate or remesh it)")
    uv = None
    if raw.uv is not None:
        uv = np.asarray(raw.uv, dtype=np.float64).reshape(-1, 3, 2)[kept]
        if not np.all(np.isfinite(uv)):
            uv = None
    return MeshData(vertices=V, faces=F, uv=uv, groups=groups, object_name=raw.object_name)


# ============================================================================ binding
@dataclass
class SurfaceBinding:
    """Where each point sits relative to a body surface (valid on any body of that topology)."""

    face: np.ndarray        # (N,) closest triangle
    bary: np.ndarray        # (N, 3) barycentric coordinates of the closest point
    height: np.ndarray      # (N,) offset along the smooth (interpolated) normal there
    tangential: np.ndarray  # (N, 3) the rest of the offset (nonzero where the closest point is
                            # on an edge or a corner, or the smooth normal leans)
    distance: np.ndarray    # (N,) signed distance to the surface (negative inside)


def bind_to_surface(points: np.ndarray, body: BodyRest) -> SurfaceBinding:
    P = np.asarray(points, dtype=np.float64)
    Q, face, bary, sd = body.query.closest(P)
    n = body.query.normal_at(face, bary)
    d = P - Q
    h = np.einsum("ij,ij->i", d, n)
    return SurfaceBinding(face=face, bary=bary, height=h, tangential=d - h[:, None] * n, distance=sd)


def surface_deformation(source: BodyRest, target: BodyRest) -> np.ndarray:
    """(V, 3, 3) per body vertex: the area-weighted mean over its triangles of the linear map
    taking each source triangle (two edges and its unit normal) to the target triangle. Blended
    with barycentric weights it is continuous across triangles, and the identity when the
    body does not change."""
    F = source.faces

    def columns(V):
        e1 = V[F[:, 1]] - V[F[:, 0]]
        e2 = V[F[:, 2]] - V[F[:, 0]]
        n = np.cross(e1, e2)
        area = np.linalg.norm(n, axis=1)
        return np.stack([e1, e2, n / np.maximum(area, 1e-30)[:, None]], axis=2), 0.5 * area

    A, area = columns(source.vertices)
    B, _ = columns(target.vertices)
    ok = area > 1e-14
    D = np.broadcast_to(np.eye(3), (len(F), 3, 3)).copy()
    D[ok] = B[ok] @ np.linalg.inv(A[ok])
    n = len(source.vertices)
    w = np.where(ok, area, 0.0)
    M = np.zeros((n, 9))
    for k in range(3):
        M += scatter_add(F[:, k], (w[:, None] * D.reshape(-1, 9)), n)
    total = np.bincount(F.ravel(), weights=np.repeat(w, 3), minlength=n)[:, None]
    M = np.where(total > 0, M / np.maximum(total, 1e-30), np.eye(3).ravel())
    return M.reshape(n, 3, 3)


def carry(binding: SurfaceBinding, target: BodyRest, deformation: np.ndarray | None = None) -> np.ndarray:
    """The bound points rebuilt on `target` (same topology as the body they were bound to):
    same surface point, same height along the smooth normal, the tangential part mapped by the
    surface's deformation (`surface_deformation(template, target)`; None = unchanged)."""
    tri = target.faces[binding.face]
    Q = np.einsum("ij,ijk->ik", binding.bary, target.vertices[tri])
    n = target.query.normal_at(binding.face, binding.bary)
    t = binding.tangential
    if deformation is not None:
        M = np.einsum("ij,ijab->iab", binding.bary, deformation[tri])
        t = np.einsum("iab,ib->ia", M, t)
    return Q + binding.height[:, None] * n + t


def _harmonic_blend(F: np.ndarray, D0: np.ndarray, w: np.ndarray, iterations: int) -> np.ndarray:
    """D = (1 - w) D0 + w mean(neighbours' D), iterated (Jacobi): where w = 1 the displacement
    is the harmonic interpolation of the displacements around it."""
    if not np.any(w > 0):
        return D0
    E = unique_edges(F)
    n = len(D0)
    idx = np.concatenate([E[:, 0], E[:, 1]])
    other = np.concatenate([E[:, 1], E[:, 0]])
    cnt = np.maximum(np.bincount(idx, minlength=n), 1).astype(np.float64)[:, None]
    D = D0.copy()
    w = w[:, None]
    for _ in range(iterations):
        mean = np.stack([np.bincount(idx, weights=D[other, c], minlength=n) for c in range(3)], 1) / cnt
        D = (1.0 - w) * D0 + w * mean
    return D


def fit_vertices(vertices: np.ndarray, faces: np.ndarray, binding: SurfaceBinding,
                 template: BodyRest, target: BodyRest, deformation: np.ndarray | None = None) -> np.ndarray:
    """Garment vertices carried from `template` (where `binding` was made) to `target` (same
    model and pose, other shape)."""
    V0 = np.asarray(vertices, dtype=np.float64)
    if deformation is None:
        deformation = surface_deformation(template, target)
    D0 = carry(binding, target, deformation) - V0
    dist = np.abs(binding.distance)
    t = np.clip((dist - NEAR_SKIN) / (FAR_SKIN - NEAR_SKIN), 0.0, 1.0)
    w = NEAR_SMOOTHING + (1.0 - NEAR_SMOOTHING) * t * t * (3 - 2 * t)
    D = _harmonic_blend(faces, D0, w, SMOOTH_ITERATIONS)
    V = V0 + D
    # Vertices that were outside the template keep at least min(their distance, 1 cm); a vertex
    # the user modelled inside the body is left where the binding puts it.
    floor = np.where(binding.distance > 0, np.minimum(binding.distance, MIN_FIT_CLEARANCE), -np.inf)
    for _ in range(3):
        _, _, _, sd = target.query.closest(V)
        if not np.any(sd < floor - 1e-6):
            break
        V = G._push_out(V, target, np.where(sd < floor - 1e-6, floor, -np.inf))
    return V


# ============================================================================ garments
def template_body(model, body: BodySpec, manifest_path=None) -> BodyRest:
    """The template body: `model` (core.body.model.BodyModel of body.model_path) shaped by the
    manifest's betas, in its pose."""
    betas = np.asarray(body.betas, dtype=np.float64)
    if len(betas) > model.num_betas:
        raise MayhemInputError(manifest_path, "outfit.body.betas",
                   f"{len(betas)} coefficients; the model {model.model_id} has {model.num_betas}")
    return BodyRest.from_model(model, betas if len(betas) else None, reference=body.pose)


def body_in_pose(body: BodyRest, body_pose: np.ndarray) -> BodyRest:
    """The same shaped body in another pose (zero global orientation), by unposing its vertices
    and joints with its own skinning and posing them again. Exact for models without pose
    correctives (the free body); for SMPL-X the correctives of the old pose stay (millimetres)."""
    from ..body.model import _chain
    from ..body.skeleton import NUM_JOINTS, PARENTS
    from ..geometry.rotations import axis_angle_to_matrix

    pose = np.asarray(body_pose, dtype=np.float64).reshape(63)
    if np.allclose(body.body_pose, pose, atol=1e-9):
        return body
    if body.skin_transforms is None:
        rest_v, rest_j = body.vertices, body.joints
    else:
        T = body.skin_transforms
        rest_j = np.linalg.solve(T[:, :3, :3], (body.joints - T[:, :3, 3])[..., None])[..., 0]
        rest_v = body.unpose(body.vertices, body.weights)
    full = np.zeros((1, NUM_JOINTS, 3))
    full[0, 1:22] = pose.reshape(21, 3)
    Gt = _chain(axis_angle_to_matrix(full), rest_j[None], PARENTS)[0]
    skin = Gt.copy()
    skin[:, :3, 3] -= np.einsum("jab,jb->ja", Gt[:, :3, :3], rest_j)
    M = np.einsum("nj,jab->nab", body.weights, skin)
    verts = np.einsum("nab,nb->na", M[:, :3, :3], rest_v) + M[:, :3, 3]
    return BodyRest(verts, body.faces, body.part_labels, Gt[:, :3, 3], body.weights,
                      skin_transforms=skin, body_pose=pose)


def check_same_topology(template: BodyRest, target: BodyRest, manifest_path) -> None:
    if template.vertices.shape != target.vertices.shape or not np.array_equal(template.faces, target.faces):
        raise MayhemInputError(manifest_path, "outfit.body.model",
                   f"the outfit fits bodies of its template model ({len(template.vertices)} vertices); "
                   f"this person's body model has {len(target.vertices)}: garments carry over only "
                   "between shapes of one model")


def bind_garment(mesh: MeshData, garment: OutfitGarment, template: BodyRest, manifest_path) -> SurfaceBinding:
    """Bind a prepared (model-space) mesh to the template; rejects meshes that are not on it."""
    binding = bind_to_surface(mesh.vertices, template)
    far = np.abs(binding.distance) > FAR_FROM_BODY
    share = float(np.mean(far))
    if share > MAX_FAR_SHARE:
        raise MayhemInputError(manifest_path, f"{garment.field}.file",
                   f"{garment.file.name}: {100 * share:.0f} % of its vertices are farther than "
                   f"{FAR_FROM_BODY} m from the template body (allowed {100 * MAX_FAR_SHARE:.0f} %): "
                   "check outfit.units, outfit.up and outfit.body")
    inside = float(np.mean(binding.distance < 0))
    if inside > MAX_INSIDE_SHARE:
        raise MayhemInputError(manifest_path, f"{garment.field}.file",
                   f"{garment.file.name}: {100 * inside:.0f} % of its vertices are inside the template "
                   f"body (allowed {100 * MAX_INSIDE_SHARE:.0f} %): check outfit.units, outfit.up and outfit.body")
    return binding


def _pins(V, F, mesh: MeshData, garment: OutfitGarment, manifest_path) -> np.ndarray:
    if garment.pin == "none":
        return np.zeros(len(V))
    if garment.pin == "group":
        w = find_group(mesh.groups, garment.pin_group)
        if w is None:
            have = ", ".join(sorted(mesh.groups)) or "none"
            raise MayhemInputError(manifest_path, f"{garment.field}.pin_group",
                       f"{garment.file.name} has no vertex group or float vertex attribute named "
                       f"{garment.pin_group!r} (have: {have})")
        w = np.clip(np.asarray(w, dtype=np.float64), 0.0, 1.0)
        if not np.any(w > 0):
            raise MayhemInputError(manifest_path, f"{garment.field}.pin_group",
                       f"vertex group {garment.pin_group!r} of {garment.file.name} is empty")
        return w
    loops = boundary_loops(F)
    if not loops:
        raise MayhemInputError(manifest_path, f"{garment.field}.pin",
                   f"{garment.file.name} has no opening to pin (closed mesh): use pin_group or pin: none")
    return G._band_weights(V, G._pick_loop(V, loops, lambda c: c[1]), garment.pin_width)


def find_group(groups: dict, name: str):
    """A vertex group or float attribute by name: exact, then ignoring case and a leading '_'
    (glTF custom attributes are written as _NAME)."""
    if name in groups:
        return groups[name]
    want = name.lstrip("_").lower()
    for k, w in groups.items():
        if k.lstrip("_").lower() == want:
            return w
    return None


def _is_skirt(V, F, kind: str, body: BodyRest) -> bool:
    """Whether the garment's lowest opening is one hem around both legs below the crotch (skirt,
    dress) rather than a leg opening: its cloth between the legs must follow the hips, not
    the nearest leg."""
    if kind == "top":
        return False
    loops = boundary_loops(F)
    if not loops:
        return False
    low = min(loops, key=lambda lp: V[lp, 1].mean())
    cx = body.joint("pelvis")[0]
    x = V[low, 0]
    return bool(V[low, 1].mean() < body.crotch_y and abs(x.mean() - cx) < 0.04
                and x.min() < cx - 0.05 and x.max() > cx + 0.05)


def _uvs_in_metres(mesh: MeshData) -> np.ndarray | None:
    """The file's UVs scaled by one factor so their area equals the surface area (patterns are
    laid out in metres, core.clothing.fabrics); None without usable UVs."""
    if mesh.uv is None:
        return None
    uv = mesh.uv
    a = uv[:, 1] - uv[:, 0]
    b = uv[:, 2] - uv[:, 0]
    uv_area = 0.5 * float(np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum())
    area = mesh_area(mesh.vertices, mesh.faces)
    if uv_area < 1e-12 * max(area, 1e-12) or uv_area <= 0:
        return None
    return uv * math.sqrt(area / uv_area)


def _outward(mesh: MeshData, body: BodyRest):
    """Faces (and their UV corners) turned to face away from the body, as procedural garments
    do (the file's winding may be either)."""
    F, uv = mesh.faces, mesh.uv
    Q, _, _, _ = body.query.closest(mesh.vertices)
    away = np.einsum("ij,ij->i", vertex_normals(mesh.vertices, F), mesh.vertices - Q)
    if np.sum(away) < 0:
        F = F[:, ::-1].copy()
        uv = None if uv is None else uv[:, ::-1].copy()
    return F, uv


def fit_user_garment(mesh: MeshData, garment: OutfitGarment, template: BodyRest, target: BodyRest,
                     *, binding: SurfaceBinding | None = None, deformation: np.ndarray | None = None,
                     manifest_path=None) -> G.Garment:
    """A core.clothing.garments.Garment for `target` (the person's shaped body in the manifest's pose)
    from `mesh` (prepared, model space) modelled on `template`. `binding` (bind_garment) and
    `deformation` (surface_deformation(template, target)) may be passed when reused."""
    check_same_topology(template, target, manifest_path)
    if not np.allclose(template.body_pose, target.body_pose, atol=1e-9):
        raise MayhemInputError(manifest_path, "outfit.body.pose", "the target body must be in the manifest's pose "
                                                       "(core.clothing.user_outfits.body_in_pose)")
    if binding is None:
        binding = bind_garment(mesh, garment, template, manifest_path)
    F, uv_file = _outward(mesh, template)
    V = fit_vertices(mesh.vertices, F, binding, template, target, deformation)
    pins = _pins(V, F, mesh, garment, manifest_path)
    weights = target.surface_weights(V)
    skirt = None
    if _is_skirt(V, F, garment.kind, target):
        H = G._heights(target)
        skirt = V[:, 1] < H["hip"]
        weights = G._skirt_weights(V, weights, skirt, H)
    weights = G._sparsify(G._smooth_weights(F, weights, len(V)))
    if garment.kind in PIN_JOINT:  # pinned band rides one joint rigidly, as for procedural garments
        weights = G._rigid_band(weights, pins, PIN_JOINT[garment.kind])
    uv = _uvs_in_metres(MeshData(mesh.vertices, F, uv_file))
    if uv is None:
        uv = G._corner_uvs(V, F, G._face_regions(V, F, target, force_torso=skirt), target)
    _, _, _, sd = target.query.closest(V)
    weights32 = weights.astype(np.float32)
    bind = target.unpose(V, weights32.astype(np.float64))
    spec = G.GarmentSpec(kind=garment.kind, looseness=0.0, target_vertices=len(V), name=garment.name)
    return G.Garment(spec=spec, vertices=V, faces=F.copy(), uv=uv, pin_weights=pins,
                     skin_weights=weights32, clearance=np.maximum(sd, 0.0),
                     bind_vertices=bind, reference_pose=np.array(target.body_pose, dtype=np.float64),
                     layer=garment.layer, self_collision=garment.self_collision,
                     rest_penetration=float(np.mean(sd < 0)))
