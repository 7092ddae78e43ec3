"""The three operators: each reads the panel's settings and calls one service function.

Bad input (a missing file, a wrong field) is reported in Blender's status bar as the service's
MayhemInputError message, which names the file and field; anything else is a bug and keeps
its traceback.
"""
from __future__ import annotations

import bpy

from ..core.errors import MayhemInputError


def _fail(op, exc: MayhemInputError):
    op.report({"ERROR"}, str(exc))
    return {"CANCELLED"}


class MAYHEM_OT_add_body(bpy.types.Operator):
    bl_idname = "mayhem.add_body"
    bl_label = "Add Body"
    bl_description = ("Add an SMPL-X body (armature with 55 joints + skinned mesh with skin material) "
                      "at the 3D cursor, shaped and skinned as set in the Body panel")
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        from ..services.bodies import add_body

        s = context.scene.mayhem
        try:
            rig = add_body(s.model_reference(context), s.gender, list(s.betas), s.skin_tone, s.body_name,
                           location=context.scene.cursor.location)
        except MayhemInputError as exc:
            return _fail(self, exc)
        self.report({"INFO"}, f"Added {rig.armature.name} ({rig.model_id}, {s.gender})")
        return {"FINISHED"}


class MAYHEM_OT_load_motion(bpy.types.Operator):
    bl_idname = "mayhem.load_motion"
    bl_label = "Load Motion"
    bl_description = ("Animate the active body with the motion chosen in the Motion panel, resampled to the "
                      "scene frame rate, and set the scene frame range to the clip")
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        from ..services.bodies import is_body

        if not is_body(context.active_object):
            cls.poll_message_set("Select a body made with Add Body")
            return False
        return True

    def execute(self, context):
        from ..services.motions import load_motion

        s = context.scene.mayhem
        try:
            n = load_motion(context.active_object, s.motion_reference(context), start_frame=s.start_frame,
                            place_on_ground=s.place_on_ground, scene=context.scene)
        except MayhemInputError as exc:
            return _fail(self, exc)
        self.report({"INFO"}, f"{n} frames keyed from frame {s.start_frame}")
        return {"FINISHED"}


class MAYHEM_OT_render_dataset(bpy.types.Operator):
    bl_idname = "mayhem.render_dataset"
    bl_label = "Render Dataset"
    bl_description = ("Render the scene's frame range with the scene camera (one framing the bodies is added if "
                      "there is none) into the next seq_NNNNNN of the output folder: RGB, instance masks, depth, "
                      "labels.npz with exact SMPL-X labels of every Mayhem body, and scene.json. "
                      "Blocks Blender until done")
    bl_options = {"REGISTER"}

    def execute(self, context):
        from ..services.scene_dataset import render_scene_dataset

        s = context.scene.mayhem
        wm = context.window_manager
        total = context.scene.frame_end - context.scene.frame_start + 1
        wm.progress_begin(0, max(total, 1))
        try:
            entry = render_scene_dataset(s.output_folder(context), scene=context.scene, width=s.resolution[0],
                                         height=s.resolution[1], samples=s.samples, world=s.world(context),
                                         progress=lambda done, n: wm.progress_update(done))
        except MayhemInputError as exc:
            return _fail(self, exc)
        finally:
            wm.progress_end()
        self.report({"INFO"}, f"{entry['frames']} frames, {entry['people']} people -> {entry['path']}")
        return {"FINISHED"}


CLASSES = (MAYHEM_OT_add_body, MAYHEM_OT_load_motion, MAYHEM_OT_render_dataset)
