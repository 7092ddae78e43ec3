"""The operators: each reads the panel's settings and calls one service function.

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


class MAYHEM_OT_dress_body(bpy.types.Operator):
    bl_idname = "mayhem.dress_body"
    bl_label = "Dress Body"
    bl_description = ("Cut the Clothing panel's garments from the active body's shape, simulate them with Blender "
                      "cloth along its motion (after a pre-roll from the garments' rest pose) and bake them. "
                      "Blocks Blender until done")
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        from ..services.bodies import PROP_MOTION, armature_of

        arm = armature_of(context.active_object)
        if arm is None:
            cls.poll_message_set("Select a body made with Add Body")
            return False
        if PROP_MOTION not in arm:
            cls.poll_message_set("Load a motion on the body first")
            return False
        return True

    def execute(self, context):
        from ..services.clothing import dress_body, procedural_garments

        s = context.scene.mayhem
        kinds, fabrics = s.outfit_kinds()
        try:
            garments = procedural_garments(kinds, fabrics, looseness=s.looseness,
                                           target_vertices=s.garment_vertices, seed=s.look_seed)
            records = dress_body(context.active_object, garments, preroll=s.preroll, quality=s.cloth_quality,
                                 scene=context.scene)
        except MayhemInputError as exc:
            return _fail(self, exc)
        summary = ", ".join(f"{r['garment']}: {r['status']}" for r in records)
        self.report({"INFO"}, f"{summary}; motion now starts at frame {context.scene.frame_start}")
        return {"FINISHED"}


class MAYHEM_OT_undress_body(bpy.types.Operator):
    bl_idname = "mayhem.undress_body"
    bl_label = "Undress"
    bl_description = "Remove the active body's garments"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        from ..services.bodies import armature_of
        from ..services.clothing import garment_objects

        arm = armature_of(context.active_object)
        return arm is not None and bool(garment_objects(arm))

    def execute(self, context):
        from ..services.clothing import undress_body

        n = undress_body(context.active_object)
        self.report({"INFO"}, f"removed {n} garment(s)")
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


CLASSES = (MAYHEM_OT_add_body, MAYHEM_OT_load_motion, MAYHEM_OT_dress_body, MAYHEM_OT_undress_body,
           MAYHEM_OT_render_dataset)
