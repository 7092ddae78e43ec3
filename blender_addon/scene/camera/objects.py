"""Blender camera objects from label-convention (OpenCV) extrinsics, and K read back from Blender.

The camera path is sampled in core code as OpenCV `world_to_cam` matrices; here it becomes a
Blender camera whose matrix_world follows core.camera.pinhole.blender_camera_matrix_world, animated in
bulk through scene.motion.actions.write_fcurves (no per-frame keyframe_insert).
"""
from __future__ import annotations

import bpy
import numpy as np

from ...core.camera import pinhole as core_camera
from ...core.geometry.rotations import matrix_to_quaternion
from ..motion.actions import write_fcurves

CLIP_START = 0.05  # metres: close enough for a camera near a person, far enough for depth precision
CLIP_END = 1000.0


def create_camera(name: str, focal_mm: float, sensor_width_mm: float, world_to_cam,
                  frame_start: int = 0, scene=None):
    """A camera object posed by OpenCV `world_to_cam` (4,4), or animated by (F,4,4) from frame_start.

    Sensor fit is HORIZONTAL so K matches core.camera.pinhole.intrinsics for any aspect ratio.
    Sets it as the scene camera.
    """
    scene = scene or bpy.context.scene
    data = bpy.data.cameras.new(name)
    data.type = "PERSP"
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = float(sensor_width_mm)
    data.lens = float(focal_mm)
    data.shift_x = 0.0
    data.shift_y = 0.0
    data.clip_start = CLIP_START
    data.clip_end = CLIP_END
    obj = bpy.data.objects.new(name, data)
    scene.collection.objects.link(obj)
    obj.rotation_mode = "QUATERNION"

    w2c = np.asarray(world_to_cam, dtype=np.float64)
    mw = core_camera.blender_camera_matrix_world(w2c)
    if mw.ndim == 2:
        mw = mw[None]
    loc = mw[:, :3, 3]
    quat = matrix_to_quaternion(mw[:, :3, :3])
    # q and -q are the same rotation; keep neighbours in the same hemisphere so interpolation
    # between frames takes the short way.
    for i in range(1, len(quat)):
        if np.dot(quat[i], quat[i - 1]) < 0:
            quat[i] = -quat[i]
    obj.location = loc[0]
    obj.rotation_quaternion = quat[0]
    if len(mw) > 1:
        channels = [("location", i, "Object Transforms", loc[:, i]) for i in range(3)]
        channels += [("rotation_quaternion", i, "Object Transforms", quat[:, i]) for i in range(4)]
        write_fcurves(obj, channels, frame_start)
    scene.camera = obj
    return obj


def camera_intrinsics_from_blender(cam_obj, scene) -> np.ndarray:
    """K (3,3) as Blender will render it: lens, sensor fit, resolution, pixel aspect and shift.

    Lets tests (and sanity checks on user-edited scenes) compare Blender with core.camera.pinhole.
    """
    cam = cam_obj.data
    if cam.type != "PERSP":
        raise ValueError(f"camera {cam_obj.name!r} is {cam.type}, only perspective cameras have a K")
    r = scene.render
    scale = r.resolution_percentage / 100.0
    w = int(r.resolution_x * scale)
    h = int(r.resolution_y * scale)
    if r.pixel_aspect_x != r.pixel_aspect_y:
        raise ValueError("camera_intrinsics_from_blender supports square pixels only")
    # Blender's viewplane: AUTO fit takes the larger side and always uses sensor_width; shifts
    # are in units of the fitted side.
    fit = cam.sensor_fit
    if fit == "AUTO":
        fit = "HORIZONTAL" if w >= h else "VERTICAL"
        sensor = cam.sensor_width
    else:
        sensor = cam.sensor_width if fit == "HORIZONTAL" else cam.sensor_height
    view = w if fit == "HORIZONTAL" else h
    f = cam.lens / sensor * view
    cx = w / 2.0 - 0.5 - cam.shift_x * view
    cy = h / 2.0 - 0.5 + cam.shift_y * view
    return np.array([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]])
