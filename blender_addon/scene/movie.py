"""MP4 files through Blender's own FFmpeg writer: frames in, one H.264 movie out; and back.

Blender's video sequencer plays an image strip of PNG frames into the render pipeline, which
writes the movie (no 3D scene, no Cycles: it takes milliseconds a frame). Reading a movie back
goes the same way in reverse: a movie strip rendered to PNG frames. Both work in a separate
scene that is removed afterwards, with the 'Standard' view transform so PNG colours pass
through unchanged (Blender's default AgX would tone-map them).
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import bpy

from . import blender_compat as compat
from .render import _quiet_stdout

CONTAINER = "MPEG4"
CODEC = "H264"
QUALITY = "HIGH"  # ffmpeg.constant_rate_factor: 4:2:0 H.264 that every player plays


@contextlib.contextmanager
def _scratch_scene(name: str, width: int, height: int, fps: float):
    scene = bpy.data.scenes.new(name)
    try:
        r = scene.render
        r.resolution_x, r.resolution_y, r.resolution_percentage = int(width), int(height), 100
        fps_int = max(1, round(float(fps)))
        r.fps, r.fps_base = fps_int, fps_int / float(fps)
        r.use_sequencer, r.use_compositing = True, False
        r.use_file_extension = False
        scene.view_settings.view_transform = "Standard"
        scene.view_settings.look = "None"
        scene.view_settings.exposure, scene.view_settings.gamma = 0.0, 1.0
        scene.sequence_editor_create()
        yield scene
    finally:
        bpy.data.scenes.remove(scene)


def _render_animation(scene) -> None:
    with _quiet_stdout():  # Blender logs every frame it appends on file descriptor 1
        bpy.ops.render.render(animation=True, scene=scene.name)


def write_movie(frames: list, out_path, *, fps: float = 30.0, size: tuple[int, int]) -> Path:
    """Encode PNG frames (all in one folder, all `size` = (width, height), even numbers) as an
    H.264 MP4 at `out_path` (written as given; the caller makes it atomic)."""
    frames = [Path(f) for f in frames]
    if not frames:
        raise ValueError("no frames to encode")
    folder = frames[0].parent
    if any(f.parent != folder for f in frames):
        raise ValueError("movie frames must share one folder")
    width, height = size
    with _scratch_scene("mayhem_movie", width, height, fps) as scene:
        strip = scene.sequence_editor.strips.new_image("frames", str(frames[0]), 1, 1)
        for f in frames[1:]:
            strip.elements.append(f.name)
        scene.frame_start, scene.frame_end = 1, len(frames)
        r = scene.render
        compat.set_video_format(r.image_settings)
        r.ffmpeg.format, r.ffmpeg.codec, r.ffmpeg.constant_rate_factor = CONTAINER, CODEC, QUALITY
        r.ffmpeg.gopsize = 1 if len(frames) < 2 else min(len(frames), 30)
        r.filepath = str(out_path)
        _render_animation(scene)
    return Path(out_path)


def movie_info(path) -> dict:
    """Frame count, (width, height) and frame rate of a movie, as Blender's movie clip reads it."""
    clip = bpy.data.movieclips.load(str(path))
    try:
        return {"frames": int(clip.frame_duration), "size": (int(clip.size[0]), int(clip.size[1])),
                "fps": float(clip.fps)}
    finally:
        bpy.data.movieclips.remove(clip)


def decode_movie(path, out_dir) -> list[Path]:
    """Every frame of a movie as 8-bit RGB PNGs in out_dir (frame_0001.png, ...)."""
    info = movie_info(path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _scratch_scene("mayhem_decode", *info["size"], info["fps"] or 30.0) as scene:
        strip = scene.sequence_editor.strips.new_movie("movie", str(path), 1, 1)
        scene.frame_start, scene.frame_end = 1, info["frames"]
        r = scene.render
        compat.set_still_format(r.image_settings, "PNG")
        r.image_settings.color_mode, r.image_settings.color_depth = "RGB", "8"
        r.use_file_extension = True
        r.filepath = str(out_dir / "frame_")
        _render_animation(scene)
        scene.sequence_editor.strips.remove(strip)
    return sorted(out_dir.glob("frame_*.png"))
