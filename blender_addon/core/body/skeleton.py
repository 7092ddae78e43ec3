"""SMPL-X skeleton constants: joint names, kinematic tree, pose-vector layout, body parts.

These are the names and parents of the SMPL-X model files; the free body uses the
same ones so every downstream module is model-agnostic.
"""
from __future__ import annotations

import numpy as np

JOINT_NAMES: tuple[str, ...] = (
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
NUM_JOINTS = len(JOINT_NAMES)  # 55
GENDERS = ("neutral", "female", "male")  # the genders SMPL-X model files come in
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}

PARENTS = np.array(
    [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
     20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
     21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53],
    dtype=np.int64,
)

# Layout of the 165-d SMPL-X pose vector (AMASS SMPL-X "poses", BEDLAM pose_cam).
POSE_SLICES = {
    "global_orient": slice(0, 3),
    "body_pose": slice(3, 66),
    "jaw_pose": slice(66, 69),
    "leye_pose": slice(69, 72),
    "reye_pose": slice(72, 75),
    "left_hand_pose": slice(75, 120),
    "right_hand_pose": slice(120, 165),
}
# Layout of the 156-d SMPL-H pose vector (AMASS SMPL+H "poses"); the 15 finger joints
# per hand are in the same order as SMPL-X's, so hands map one to one.
SMPLH_POSE_SLICES = {
    "global_orient": slice(0, 3),
    "body_pose": slice(3, 66),
    "left_hand_pose": slice(66, 111),
    "right_hand_pose": slice(111, 156),
}
POSE_PARAM_NAMES = tuple(POSE_SLICES)
POSE_PARAM_DIMS = {k: s.stop - s.start for k, s in POSE_SLICES.items()}

# Body-part labels used for per-vertex segmentation (names as in the public SMPL-X
# vertex segmentation), for masks and for cutting garments from the body surface.
PART_NAMES: tuple[str, ...] = (
    "hips", "leftUpLeg", "rightUpLeg", "spine", "leftLeg", "rightLeg", "spine1",
    "leftFoot", "rightFoot", "spine2", "leftToeBase", "rightToeBase", "neck",
    "leftShoulder", "rightShoulder", "head", "leftArm", "rightArm", "leftForeArm",
    "rightForeArm", "leftHand", "rightHand", "leftHandIndex1", "rightHandIndex1",
    "leftEye", "rightEye", "eyeballs",
)
PART_INDEX = {name: i for i, name in enumerate(PART_NAMES)}


def children_of(joint: int) -> list[int]:
    """Direct children of a joint in the kinematic tree."""
    return [int(c) for c in np.flatnonzero(PARENTS == joint)]
