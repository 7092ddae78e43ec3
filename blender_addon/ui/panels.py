"""Sidebar (N panel) tab 'Mayhem' in the 3D viewport: Body, Motion, Clothing and Render
sub-panels, each drawing its own settings and the operators that use them."""
from __future__ import annotations

import bpy


class _MayhemPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Mayhem"

    def settings_layout(self):
        """The panel's layout with labels left of the fields, as Blender's own property panels."""
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        return layout


class VIEW3D_PT_mayhem(_MayhemPanel, bpy.types.Panel):
    bl_idname = "VIEW3D_PT_mayhem"
    bl_label = "Mayhem"

    def draw(self, context):
        from ..services.bodies import scene_bodies

        n = len(scene_bodies(context.scene))
        self.layout.label(text=f"{n} bod{'y' if n == 1 else 'ies'} in the scene", icon="ARMATURE_DATA")


class VIEW3D_PT_mayhem_body(_MayhemPanel, bpy.types.Panel):
    bl_idname = "VIEW3D_PT_mayhem_body"
    bl_parent_id = "VIEW3D_PT_mayhem"
    bl_label = "Body"

    def draw(self, context):
        s = context.scene.mayhem
        layout = self.settings_layout()
        layout.prop(s, "body_source")
        if s.body_source == "SMPLX":
            layout.prop(s, "model_path")
        layout.prop(s, "gender")
        layout.prop(s, "body_name")
        layout.prop(s, "skin_tone")
        col = layout.column(align=True)
        col.prop(s, "betas")
        layout.operator("mayhem.add_body", icon="ADD")


class VIEW3D_PT_mayhem_motion(_MayhemPanel, bpy.types.Panel):
    bl_idname = "VIEW3D_PT_mayhem_motion"
    bl_parent_id = "VIEW3D_PT_mayhem"
    bl_label = "Motion"

    def draw(self, context):
        s = context.scene.mayhem
        layout = self.settings_layout()
        layout.prop(s, "motion_source")
        layout.prop(s, "builtin_motion" if s.motion_source == "BUILTIN" else "amass_path")
        layout.prop(s, "start_frame")
        layout.prop(s, "place_on_ground")
        obj = context.active_object
        layout.label(text=f"Body: {obj.name if obj else 'none selected'}", icon="OBJECT_DATA")
        layout.operator("mayhem.load_motion", icon="ARMATURE_DATA")


class VIEW3D_PT_mayhem_clothing(_MayhemPanel, bpy.types.Panel):
    bl_idname = "VIEW3D_PT_mayhem_clothing"
    bl_parent_id = "VIEW3D_PT_mayhem"
    bl_label = "Clothing"

    def draw(self, context):
        s = context.scene.mayhem
        layout = self.settings_layout()
        layout.prop(s, "top")
        if s.top != "NONE":
            layout.prop(s, "top_fabric", text="Fabric")
        if s.top != "dress":
            layout.prop(s, "bottom")
            if s.bottom != "NONE":
                layout.prop(s, "bottom_fabric", text="Fabric")
        layout.prop(s, "looseness")
        layout.prop(s, "look_seed")
        col = layout.column(align=True)
        col.prop(s, "garment_vertices")
        col.prop(s, "cloth_quality")
        col.prop(s, "preroll")
        row = layout.row(align=True)
        row.operator("mayhem.dress_body", icon="MOD_CLOTH")
        row.operator("mayhem.undress_body", icon="X")


class VIEW3D_PT_mayhem_render(_MayhemPanel, bpy.types.Panel):
    bl_idname = "VIEW3D_PT_mayhem_render"
    bl_parent_id = "VIEW3D_PT_mayhem"
    bl_label = "Render"

    def draw(self, context):
        s = context.scene.mayhem
        scene = context.scene
        layout = self.settings_layout()
        layout.prop(s, "output_dir")
        layout.prop(s, "resolution")
        layout.prop(s, "samples")
        layout.prop(s, "environment")
        if s.environment != "SCENE":
            layout.prop(s, "environment_strength")
            layout.prop(s, "shadow_catcher")
        col = layout.column(align=True)
        col.prop(scene, "frame_start", text="Frames")
        col.prop(scene, "frame_end", text="End")
        if scene.camera is None:
            layout.label(text="No scene camera: one framing the bodies will be added", icon="INFO")
        layout.operator("mayhem.render_dataset", icon="RENDER_ANIMATION")


CLASSES = (VIEW3D_PT_mayhem, VIEW3D_PT_mayhem_body, VIEW3D_PT_mayhem_motion, VIEW3D_PT_mayhem_clothing,
           VIEW3D_PT_mayhem_render)
