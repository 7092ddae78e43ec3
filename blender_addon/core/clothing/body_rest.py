"""The body garments are made on: the shaped SMPL-X body in the garments' reference pose, its
surface query, part labels and the inverse skinning that carries a garment back to the
zero pose.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..body.skeleton import JOINT_INDEX, NUM_JOINTS, PART_INDEX
from ..errors import MayhemInputError
from ..geometry.mesh import row_norms, unique_edges
from ..geometry.spatial import SurfaceQuery

# =========================================================================== the body
JOINT_TO_PART = {
    "pelvis": "hips", "spine1": "spine", "spine2": "spine1", "spine3": "spine2", "neck": "neck",
    "head": "head", "jaw": "head", "left_eye_smplhf": "leftEye", "right_eye_smplhf": "rightEye",
}
for _side, _Side in (("left", "left"), ("right", "right")):
    JOINT_TO_PART.update({
        f"{_side}_collar": f"{_Side}Shoulder", f"{_side}_shoulder": f"{_Side}Arm",
        f"{_side}_elbow": f"{_Side}ForeArm", f"{_side}_wrist": f"{_Side}Hand",
        f"{_side}_hip": f"{_Side}UpLeg", f"{_side}_knee": f"{_Side}Leg",
        f"{_side}_ankle": f"{_Side}Foot", f"{_side}_foot": f"{_Side}ToeBase",
    })


def part_labels_from_weights(weights: np.ndarray) -> np.ndarray:
    """Per-vertex part labels from the dominant skinning joint (for models without labels)."""
    from ..body.skeleton import JOINT_NAMES

    lut = np.empty(NUM_JOINTS, dtype=np.int16)
    for j, name in enumerate(JOINT_NAMES):
        part = JOINT_TO_PART.get(name)
        if part is None:  # finger joints
            part = "leftHandIndex1" if name.startswith("left") else "rightHandIndex1"
        lut[j] = PART_INDEX[part]
    return lut[np.argmax(weights, axis=1)]


def part_indices(*names) -> np.ndarray:
    return np.array([PART_INDEX[n] for n in names], dtype=np.int64)


ARM_PARTS = part_indices("leftArm", "rightArm", "leftForeArm", "rightForeArm", "leftHand", "rightHand",
                   "leftHandIndex1", "rightHandIndex1")
LEG_PARTS = part_indices("leftUpLeg", "rightUpLeg", "leftLeg", "rightLeg", "leftFoot", "rightFoot",
                   "leftToeBase", "rightToeBase")
NEVER_COVERED = part_indices("head", "leftEye", "rightEye", "eyeballs", "leftHand", "rightHand",
                       "leftHandIndex1", "rightHandIndex1", "leftFoot", "rightFoot",
                       "leftToeBase", "rightToeBase")


REFERENCE_POSES = ("A", "T")
A_POSE_ARM_DROP = math.radians(45.0)


def reference_body_pose(reference: str = "A") -> np.ndarray:
    """(63,) body_pose of a garment reference pose: 'T' is the zero pose; 'A' lowers both
    upper arms by 45° (about the model's Z axis), halving the arm travel of the pre-roll into
    everyday poses and removing most of the cloth a T-pose garment has in the armpits."""
    if reference not in REFERENCE_POSES:
        raise MayhemInputError(None, "garment.reference_pose", f"{reference!r} is not one of {REFERENCE_POSES}")
    pose = np.zeros(63)
    if reference == "A":
        for joint, sign in (("left_shoulder", -1.0), ("right_shoulder", 1.0)):
            j = JOINT_INDEX[joint] - 1
            pose[3 * j + 2] = sign * A_POSE_ARM_DROP
    return pose


@dataclass
class BodyRest:
    """The shaped body a garment is cut from, in the garment's reference pose.

    `vertices` and `joints` are posed (reference pose, model coordinates, no root motion);
    `skin_transforms` (55, 4, 4) take the zero pose to the reference pose (LBS), so garment
    points can be carried back to the zero pose the body's armature is bound in (`unpose`).
    """

    vertices: np.ndarray          # (V, 3) shaped vertices in the reference pose (model coords, Y up)
    faces: np.ndarray             # (T, 3)
    part_labels: np.ndarray       # (V,) into PART_NAMES
    joints: np.ndarray            # (55, 3) shaped joints in the reference pose
    weights: np.ndarray           # (V, 55) skinning weights
    skin_transforms: np.ndarray | None = None   # (55, 4, 4); None = identity (zero pose)
    body_pose: np.ndarray | None = None         # (63,) the reference pose; None = zero
    query: SurfaceQuery = field(init=False, repr=False)
    _smooth: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self):
        self.vertices = np.asarray(self.vertices, dtype=np.float64)
        self.faces = np.asarray(self.faces, dtype=np.int64)
        self.part_labels = np.asarray(self.part_labels, dtype=np.int64)
        self.joints = np.asarray(self.joints, dtype=np.float64)
        self.weights = np.asarray(self.weights, dtype=np.float64)
        if self.part_labels.shape != (len(self.vertices),):
            raise MayhemInputError(None, "part_labels",
                                   f"expected ({len(self.vertices)},), got {self.part_labels.shape}")
        if self.body_pose is None:
            self.body_pose = np.zeros(63)
        self.query = SurfaceQuery(self.vertices, self.faces, cell=0.04)
        self._edges = unique_edges(self.faces)

    @classmethod
    def from_model(cls, model, betas=None, reference: str = "A") -> BodyRest:
        """The body `model` (core.body.model.BodyModel) shaped by `betas` (as build_body makes
        it) and posed in the reference pose `reference` ('A' or 'T', see reference_body_pose)."""
        betas = np.zeros(0) if betas is None else np.asarray(betas, dtype=np.float64).reshape(-1)
        if betas.shape[0] > model.num_betas:
            raise MayhemInputError(getattr(model, "path", None), "betas",
                                   f"{betas.shape[0]} coefficients; the model has {model.num_betas}")
        body_pose = reference_body_pose(reference)
        out = model.forward(betas=betas if len(betas) else None, body_pose=body_pose[None])
        T = np.array(out.joint_transforms[0], dtype=np.float64)
        T[:, :3, 3] -= np.einsum("jab,jb->ja", T[:, :3, :3], out.rest_joints[0])
        labels = model.extras.get("part_labels") if getattr(model, "extras", None) else None
        if labels is None:
            labels = part_labels_from_weights(model.weights)
        return cls(out.vertices[0], model.faces, labels, out.joints[0], model.weights,
                   skin_transforms=T, body_pose=body_pose)

    def unpose(self, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Inverse LBS: where points with skin `weights` sit when the body is in its zero pose."""
        if self.skin_transforms is None:
            return np.array(points, dtype=np.float64)
        M = np.einsum("nj,jab->nab", weights, self.skin_transforms)
        return np.linalg.solve(M[:, :3, :3], (points - M[:, :3, 3])[..., None])[..., 0]

    def pose_points(self, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Forward LBS from the zero pose to the reference pose (the inverse of unpose)."""
        if self.skin_transforms is None:
            return np.array(points, dtype=np.float64)
        M = np.einsum("nj,jab->nab", weights, self.skin_transforms)
        return np.einsum("nab,nb->na", M[:, :3, :3], points) + M[:, :3, 3]

    def joint(self, name: str) -> np.ndarray:
        return self.joints[JOINT_INDEX[name]]

    def smooth_indicator(self, parts: np.ndarray, iterations: int = 8) -> np.ndarray:
        """Indicator of `parts` on the vertices, Laplacian-smoothed: its 0.5 contour is a smooth
        curve near the label border (labels follow skin weights and are jagged)."""
        key = (tuple(sorted(int(p) for p in parts)), iterations)
        if key not in self._smooth:
            x = np.isin(self.part_labels, parts).astype(np.float64)
            E = self._edges
            n = len(x)
            cnt = np.bincount(E.ravel(), minlength=n).astype(np.float64)
            for _ in range(iterations):
                s = np.bincount(E[:, 0], weights=x[E[:, 1]], minlength=n) + \
                    np.bincount(E[:, 1], weights=x[E[:, 0]], minlength=n)
                x = 0.5 * x + 0.5 * s / np.maximum(cnt, 1)
            self._smooth[key] = x
        return self._smooth[key]

    # -- landmarks (heights are model Y)
    @property
    def crotch_y(self) -> float:
        """Lowest midline point of the pelvis skin: below it the legs are separate tubes."""
        cx = self.joint("pelvis")[0]
        m = (np.abs(self.vertices[:, 0] - cx) < 0.012) & (self.part_labels == PART_INDEX["hips"])
        if not m.any():
            return float(self.joint("pelvis")[1] - 0.08)
        return float(self.vertices[m, 1].min())

    def arm_axis(self, side: str) -> tuple[np.ndarray, np.ndarray, float, float, float]:
        """(origin = shoulder joint, unit axis to the wrist, s where the arm leaves the torso,
        s at the wrist, arm radius): s is measured along the axis from the shoulder joint; the
        radius bounds the arm's skin around the axis (a sleeve cut only acts inside it, so a
        lowered arm's cut plane cannot reach the torso)."""
        o = self.joint(f"{side}_shoulder")
        a = self.joint(f"{side}_wrist") - o
        s_wrist = float(np.linalg.norm(a))
        a = a / s_wrist
        rel = self.vertices - o
        s = rel @ a
        dist = row_norms(rel - s[:, None] * a)
        arm = np.isin(self.part_labels, part_indices(f"{side}Arm", f"{side}ForeArm"))
        radius = float(np.percentile(dist[arm & (s > 0)], 95)) + 0.02
        torso = ~np.isin(self.part_labels, np.concatenate([ARM_PARTS, part_indices(f"{side}Shoulder"), NEVER_COVERED]))
        near = torso & (dist < radius)
        s_min = float(s[near].max()) + 0.02 if near.any() else 0.02
        return o, a, s_min, s_wrist, radius

    def surface_weights(self, points: np.ndarray) -> np.ndarray:
        """Skin weights at the closest body surface point (barycentric blend)."""
        _, f, bary, _ = self.query.closest(points)
        return np.einsum("ij,ijk->ik", bary, self.weights[self.faces[f]])


