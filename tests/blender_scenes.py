"""Tiny Cycles scenes for tests that compare Blender's passes with Mayhem's own maths."""
from __future__ import annotations

import math


def pass_scene(bpy, width: int, height: int, samples: int):
    """The current scene set up for a CPU Cycles render of depth and object-index passes:
    samples at pixel centres (comparable with a rasterizer), a camera 4 m down -Y looking
    along +Y, and an empty compositor. Returns (scene, compositor tree, render-layers node)."""
    from mayhem.scene import blender_compat as compat

    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device, scene.cycles.samples, scene.cycles.use_denoising = "CPU", samples, False
    scene.cycles.filter_width = 0.01
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = width, height, 100
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0, -4, 0), (math.pi / 2, 0, 0)
    scene.camera = cam
    layer = scene.view_layers[0]
    layer.use_pass_z = layer.use_pass_object_index = True
    tree = compat.compositor_tree(scene)
    tree.nodes.clear()
    return scene, tree, tree.nodes.new("CompositorNodeRLayers")
