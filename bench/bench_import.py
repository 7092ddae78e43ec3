"""Motion-import benchmark: Mayhem's bulk F-curve path vs per-frame keyframe_insert, same process.

Both importers key the same clip (55 bone quaternions + root location + 486 pose-corrective
shape-key values per frame) on identical rigs built from a full-size SMPL-X-layout model
(random contents: the real file is licensed). The reference does what per-frame Blender
importers such as the SMPL-X Blender add-on do: for every frame, for every bone, convert the
joint's axis-angle to a quaternion, set ``pose_bone.rotation_quaternion`` and call
``keyframe_insert``; then set each corrective ``key_block.value`` and call ``keyframe_insert``.
Ours is ``mayhem.scene.body.rig.animate_body`` (one ``keyframe_points.add`` + ``foreach_set`` per
channel). The two results are checked to give the same evaluated mesh before timing counts.

    python bench/bench_import.py [--frames 1000] [--ref-frames 1000] [--repeats 3]

With ``--ref-frames`` below ``--frames`` the reference time is scaled linearly, but only after
timing the reference on N/2 and N frames and printing the measured ratio (linear ⇔ ≈ 2).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import bpy  # noqa: E402
import conftest  # noqa: E402,F401  (makes `mayhem` importable from a checkout)
from mathutils import Quaternion, Vector  # noqa: E402
from smplx_files import write_smplx_npz  # noqa: E402

from mayhem.core.body.model import NUM_POSE_BASIS, load_body_model  # noqa: E402
from mayhem.core.body.skeleton import JOINT_NAMES  # noqa: E402
from mayhem.scene.body.rig import ROOT_BONE, animate_body, build_body, corrective_key_name, evaluated_vertices, full_pose  # noqa: E402


def random_clip(n_frames: int, seed: int = 0) -> dict:
    """A smooth random clip (moderate angles) in world-frame SMPL-X parameters."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)[:, None] / 30.0
    def wave(width, amp):
        phase = rng.uniform(0, 2 * np.pi, width)
        freq = rng.uniform(0.2, 1.5, width)
        return amp * rng.normal(size=width) * np.sin(2 * np.pi * freq * t + phase)
    return {
        "global_orient": np.array([np.pi / 2, 0, 0]) + wave(3, 0.3),
        "body_pose": wave(63, 0.3), "jaw_pose": wave(3, 0.1), "leye_pose": wave(3, 0.1),
        "reye_pose": wave(3, 0.1), "left_hand_pose": wave(45, 0.3), "right_hand_pose": wave(45, 0.3),
        "transl": np.cumsum(wave(3, 0.01), axis=0),
    }


def reference_import(rig, params: dict, frame_start: int = 0) -> None:
    """Per-frame, per-channel keyframe_insert (the common add-on way)."""
    pose = full_pose(params)
    transl = params["transl"]
    arm = rig.armature
    bones = [arm.pose.bones[name] for name in JOINT_NAMES]
    root = arm.pose.bones[ROOT_BONE]
    key_blocks = rig.mesh.data.shape_keys.key_blocks
    correctives = [key_blocks[corrective_key_name(k)] for k in range(NUM_POSE_BASIS)]
    for f in range(pose.shape[0]):
        frame = frame_start + f
        root.location = transl[f]
        root.keyframe_insert("location", frame=frame, group=ROOT_BONE)
        for j, pb in enumerate(bones):
            rod = Vector(pose[f, j])
            angle = rod.length
            pb.rotation_quaternion = Quaternion(rod.normalized(), angle) if angle > 0 else Quaternion()
            pb.keyframe_insert("rotation_quaternion", frame=frame, group=pb.name)
        # Pose feature of this frame (Rodrigues per joint, as the add-on does with numpy).
        aa = pose[f, 1:]
        ang = np.linalg.norm(aa, axis=1, keepdims=True)
        axis = aa / np.where(ang > 0, ang, 1.0)
        K = np.zeros((len(aa), 3, 3))
        K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
        K[:, 1, 0], K[:, 2, 0], K[:, 2, 1] = axis[:, 2], -axis[:, 1], axis[:, 0]
        s, c = np.sin(ang)[:, :, None], np.cos(ang)[:, :, None]
        feat = (s * K + (1 - c) * (K @ K)).reshape(-1)  # = R - I
        for kb, value in zip(correctives, feat.tolist()):
            kb.value = value
            kb.keyframe_insert("value", frame=frame)


def fresh_rig(model, betas, name):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return build_body(model, betas, name=name)


def time_reference(model, betas, params, n_frames) -> float:
    clip = {k: v[:n_frames] for k, v in params.items()}
    rig = fresh_rig(model, betas, "ref")
    t0 = time.perf_counter()
    reference_import(rig, clip)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--ref-frames", type=int, default=None, help="frames for the reference (default: --frames)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    ref_frames = args.ref_frames or args.frames

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "SMPLX_NEUTRAL.npz"
        write_smplx_npz(path)
        model = load_body_model(path)
    betas = np.random.default_rng(1).normal(size=10)
    params = random_clip(args.frames)
    channels = 3 + 4 * len(JOINT_NAMES) + NUM_POSE_BASIS
    print(f"model: {model.num_vertices} vertices, correctives on; clip: {args.frames} frames, "
          f"{channels} channels, {channels * args.frames} keys")

    # Correctness first: both importers must give the same evaluated mesh.
    n_check = min(20, args.frames)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    ours_rig = build_body(model, betas, name="ours")
    ref_rig = build_body(model, betas, name="ref")
    check = {k: v[:n_check] for k, v in params.items()}
    animate_body(ours_rig, check)
    reference_import(ref_rig, check)
    worst = 0.0
    for f in (0, n_check // 2, n_check - 1):
        bpy.context.scene.frame_set(f)
        dg = bpy.context.evaluated_depsgraph_get()
        worst = max(worst, float(np.abs(evaluated_vertices(ours_rig.mesh, dg) - evaluated_vertices(ref_rig.mesh, dg)).max()))
    print(f"check: max vertex difference ours vs reference on {n_check} frames: {worst * 1e3:.5f} mm")
    if worst > 1e-4:
        raise SystemExit("importers disagree; timing would be meaningless")

    t0 = time.perf_counter()
    fresh_rig(model, betas, "build")
    print(f"build_body (armature, mesh, weights, 486 shape keys): {time.perf_counter() - t0:.3f} s")

    ours = []
    for _ in range(args.repeats):
        rig = fresh_rig(model, betas, "ours")
        t0 = time.perf_counter()
        animate_body(rig, params)
        ours.append(time.perf_counter() - t0)
    ours_s = statistics.median(ours)
    print(f"ours: animate_body {args.frames} frames: median {ours_s:.3f} s over {args.repeats} "
          f"({[round(x, 3) for x in ours]})")

    if ref_frames < args.frames:
        half = time_reference(model, betas, params, ref_frames // 2)
        full = time_reference(model, betas, params, ref_frames)
        print(f"reference: {ref_frames // 2} frames {half:.2f} s, {ref_frames} frames {full:.2f} s, "
              f"ratio {full / half:.2f} (2.00 = linear)")
        ref_s = full * args.frames / ref_frames
        print(f"reference: {args.frames} frames SCALED LINEARLY from {ref_frames}: {ref_s:.2f} s")
    else:
        ref_s = time_reference(model, betas, params, args.frames)
        print(f"reference: keyframe_insert {args.frames} frames: {ref_s:.2f} s (measured, not scaled)")
    print(f"ratio reference/ours = {ref_s / ours_s:.0f}x")


if __name__ == "__main__":
    main()
