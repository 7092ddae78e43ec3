"""Cycles settings, render passes and the frame loop.

One render per frame gives everything: the Composite output is the 8-bit RGB PNG written by the
render pipeline (scene.render.filepath), and a compositor File Output node writes the Depth (Z)
and object-index (IndexOB) passes of the same samples into a float multilayer EXR, so labels
and pixels can never come from different renders.

Object pass indices carry two things: the person's instance id, and whether the object is
clothing. A body, its hair and scalp get ``instance_id``; its garments and shoes get
``instance_id + CLOTHING_PASS_OFFSET`` (:func:`clothing_pass_index`). Clothing painted on the
skin (scene.clothing.painted) is part of the body object, so its shader writes its coverage to
the ``clothing`` AOV, saved beside the other passes. One render then yields the person mask
(body and clothing), the body-only mask and the clothing mask.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import time
from pathlib import Path

import bpy

from ..core.dataset.passes import CLOTHING_PASS_OFFSET, MAX_INSTANCE_ID
from ..core.errors import MayhemInputError
from . import blender_compat as compat
from .clothing.painted import CLOTHING_AOV, declare_clothing_aov

log = logging.getLogger("mayhem.render")

GPU_TYPES = ("OPTIX", "CUDA", "HIP", "METAL", "ONEAPI")  # preference order for 'auto'
_GPU_LABELS = {"OPTIX": "OptiX", "CUDA": "CUDA", "HIP": "HIP", "METAL": "Metal", "ONEAPI": "oneAPI"}
DEVICE_PREFERENCES = ("auto", "cpu") + tuple(t.lower() for t in GPU_TYPES)

PASS_NODE_NAME = "mayhem_passes"
FRAME_DIGITS = 6  # files are numbered 000000, 000001, ... (docs/format.md)


# ------------------------------------------------------------------------------------ device
def _cycles_preferences():
    return bpy.context.preferences.addons["cycles"].preferences


def _probe_gpu_devices() -> list[tuple[str, list[str]]]:
    """[(backend, [device names])] for every GPU backend Cycles can see on this machine.

    Kept separate from the selection logic so tests can substitute a fake machine.
    """
    prefs = _cycles_preferences()
    prefs.refresh_devices()
    found = []
    for backend in GPU_TYPES:
        try:
            devices = prefs.get_devices_for_type(backend)
        except Exception:  # backend not compiled into this Cycles build
            devices = []
        found.append((backend, [d.name for d in devices if d.type == backend]))
    return found


def _activate_device(backend: str) -> None:
    """Point the Cycles preferences at `backend` ('CPU' or a GPU type) and enable its devices."""
    prefs = _cycles_preferences()
    if backend == "CPU":
        prefs.compute_device_type = "NONE"
        return
    prefs.compute_device_type = backend
    for dev in prefs.get_devices_for_type(backend):
        dev.use = dev.type == backend  # GPU only: mixing in the CPU slows typical GPU renders


def select_device(preference: str = "auto") -> str:
    """Choose and enable the Cycles compute device; returns 'CPU' or the GPU backend used.

    'auto' tries OptiX > CUDA > HIP > Metal > oneAPI, then CPU. An explicit GPU preference
    that is unavailable falls back to CPU with a warning instead of failing a whole run.
    Logs exactly one line saying what was chosen and why.
    """
    pref = str(preference).strip().lower()
    if pref not in DEVICE_PREFERENCES:
        raise MayhemInputError(None, "render.device",
                               f"unknown device {preference!r}; expected one of {', '.join(DEVICE_PREFERENCES)}")
    if pref == "cpu":
        _activate_device("CPU")
        log.info("Cycles device: CPU (requested)")
        return "CPU"
    probed = dict(_probe_gpu_devices())
    order = GPU_TYPES if pref == "auto" else (pref.upper(),)
    for backend in order:
        names = probed.get(backend) or []
        if names:
            _activate_device(backend)
            log.info("Cycles device: %s (%s)", backend, ", ".join(names))
            return backend
    _activate_device("CPU")
    if pref == "auto":
        log.info("Cycles device: CPU (no %s device found)", "/".join(_GPU_LABELS[t] for t in GPU_TYPES))
    else:
        log.warning("Cycles device: CPU (requested %s, but no %s device found; falling back to CPU)",
                    pref.upper(), _GPU_LABELS[pref.upper()])
    return "CPU"


def oidn_available() -> bool:
    """Whether this Cycles build has OpenImageDenoise (the bpy wheel does; custom builds may not)."""
    import _cycles
    return bool(getattr(_cycles, "with_openimagedenoise", False))


# ---------------------------------------------------------------------------------- settings
def configure_cycles(scene, *, width: int, height: int, samples: int, adaptive_threshold: float,
                     denoise: bool = True, persistent_data: bool = True, seed: int = 0,
                     device: str = "auto", threads: int = 0) -> str:
    """Cycles settings for label-quality frames; returns the device used ('CPU', 'OPTIX', ...).

    View transform: AgX. HDRI skies and sunlit skin reach values far above 1; 'Standard' clips
    them to flat white and skews saturated highlights, while AgX rolls them off like a camera's
    tone curve, which is closer to the photographs the trained models will see.
    """
    r = scene.render
    r.engine = "CYCLES"
    cyc = scene.cycles
    used = select_device(device)
    cyc.device = "CPU" if used == "CPU" else "GPU"

    r.resolution_x = int(width)
    r.resolution_y = int(height)
    r.resolution_percentage = 100
    r.pixel_aspect_x = r.pixel_aspect_y = 1.0

    cyc.samples = int(samples)
    cyc.use_adaptive_sampling = adaptive_threshold > 0
    if adaptive_threshold > 0:
        cyc.adaptive_threshold = float(adaptive_threshold)
    cyc.time_limit = 0.0

    if denoise and not oidn_available():
        log.warning("OpenImageDenoise is not available in this Cycles build: rendering without denoising")
        denoise = False
    cyc.use_denoising = bool(denoise)
    if denoise:
        cyc.denoiser = "OPENIMAGEDENOISE"
        cyc.denoising_input_passes = "RGB_ALBEDO_NORMAL"
        cyc.denoising_prefilter = "ACCURATE"

    r.use_persistent_data = bool(persistent_data)
    cyc.seed = int(seed)
    cyc.use_animated_seed = False

    vs = scene.view_settings
    vs.view_transform = "AgX"
    vs.look = "None"
    vs.exposure = 0.0
    vs.gamma = 1.0
    scene.display_settings.display_device = "sRGB"

    r.film_transparent = False  # the HDRI is the visible background
    # Measured with Blender 4.5: IndexOB and Depth come from a ray through the pixel centre
    # whatever the pixel filter (identical masks at 0.01 px and 1.5 px, never fractional ids;
    # tests/blender/test_scene_render.py checks the pixel-centre alignment), so the filter only shapes
    # RGB anti-aliasing and Blender's default 1.5 px Blackman-Harris can stay.
    cyc.pixel_filter_type = "BLACKMAN_HARRIS"
    cyc.filter_width = 1.5
    r.dither_intensity = 0.0
    # No date/render-time metadata in the PNGs: same recipe -> same bytes.
    for flag in [name for name in dir(r) if name.startswith("use_stamp")]:
        setattr(r, flag, False)
    r.use_motion_blur = False  # labels are instantaneous; blurred pixels would not match them

    r.threads_mode = "FIXED" if threads > 0 else "AUTO"
    if threads > 0:
        r.threads = int(threads)
    return used


def _pass_node(scene):
    tree = compat.compositor_tree(scene, create=False)
    node = tree.nodes.get(PASS_NODE_NAME) if tree else None
    if node is None:
        raise RuntimeError("configure_passes(scene, pass_dir) must run before rendering")
    return node


def configure_passes(scene, pass_dir) -> None:
    """Enable Z, object-index and painted-clothing (AOV) passes and route them to a per-frame
    float EXR in `pass_dir`.

    Compositor: Render Layers.Image -> the compositor's result (the RGB PNG); Render Layers.
    Depth/IndexOB/clothing -> File Output (multilayer EXR, 32-bit float, ZIP: lossless and
    readable by core.io.exr). The node calls differ between Blender lines: scene.blender_compat.
    """
    vl = scene.view_layers[0]
    vl.use_pass_z = True
    vl.use_pass_object_index = True
    vl.use_pass_combined = True
    declare_clothing_aov(vl)

    r = scene.render
    r.use_compositing = True
    r.image_settings.file_format = "PNG"
    r.image_settings.color_mode = "RGB"
    r.image_settings.color_depth = "8"
    r.image_settings.compression = 15
    r.use_file_extension = True
    r.use_overwrite = True
    r.use_placeholder = False

    tree = compat.compositor_tree(scene)
    tree.nodes.clear()
    rl = tree.nodes.new("CompositorNodeRLayers")
    rl.scene = scene
    rl.layer = vl.name
    comp = compat.add_composite_output(tree, compat.render_layer_socket(rl, "Image"))
    out = compat.add_file_output(tree, {
        "Depth": compat.render_layer_socket(rl, "Depth"),
        "IndexOB": compat.render_layer_socket(rl, "IndexOB"),
        "Clothing": compat.render_layer_socket(rl, CLOTHING_AOV),
    })
    out.name = out.label = PASS_NODE_NAME
    rl.location, comp.location, out.location = (0, 0), (400, 100), (400, -150)
    set_pass_dir(scene, pass_dir)


def set_pass_dir(scene, pass_dir) -> None:
    """Point the pass EXRs at `pass_dir`; files are named by frame number, ######.exr."""
    compat.set_file_output_pattern(_pass_node(scene), pass_dir, "#" * FRAME_DIGITS)


def _frame_file(pattern: str, frame: int, ext: str) -> Path:
    """Blender's rule for '#' runs: the last run is replaced by the zero-padded frame number
    (no run: the number is appended), then the extension is added."""
    runs = list(re.finditer(r"#+", pattern))
    if runs:
        m = runs[-1]
        name = pattern[:m.start()] + str(frame).zfill(m.end() - m.start()) + pattern[m.end():]
    else:
        name = pattern + str(frame).zfill(4)
    return Path(name + ext)


# -------------------------------------------------------------------------------- rendering
@contextlib.contextmanager
def _quiet_stdout(enabled: bool = True):
    """Send Blender's per-sample render log (written to file descriptor 1 by C code) to
    /dev/null, so the progress bar and our own log lines stay readable."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def render_animation(scene, frame_start: int, frame_end: int, rgb_dir, pass_dir,
                     progress=None, quiet: bool = True) -> list[tuple[Path, Path]]:
    """Render frames frame_start..frame_end (inclusive) and return [(rgb_png, pass_exr)] per frame.

    `progress(frame_index, n_frames, seconds)` is called after each frame is written, with the
    wall time of that frame. Raises RuntimeError if Blender did not write an expected file.
    """
    rgb_dir, pass_dir = Path(rgb_dir), Path(pass_dir)
    rgb_dir.mkdir(parents=True, exist_ok=True)
    pass_dir.mkdir(parents=True, exist_ok=True)
    scene.frame_start = int(frame_start)
    scene.frame_end = int(frame_end)
    scene.frame_step = 1
    scene.render.filepath = str(rgb_dir / ("#" * FRAME_DIGITS))
    set_pass_dir(scene, pass_dir)
    n_frames = int(frame_end) - int(frame_start) + 1

    state = {"t0": time.perf_counter(), "done": 0}

    def on_pre(sc, *_):
        state["t0"] = time.perf_counter()

    def on_write(sc, *_):
        seconds = time.perf_counter() - state["t0"]
        index = sc.frame_current - int(frame_start)
        state["done"] += 1
        if progress is not None:
            progress(index, n_frames, seconds)

    handlers = bpy.app.handlers
    handlers.render_pre.append(on_pre)
    handlers.render_write.append(on_write)
    try:
        with _quiet_stdout(quiet):
            bpy.ops.render.render(animation=True, write_still=True, scene=scene.name)
    finally:
        handlers.render_pre.remove(on_pre)
        handlers.render_write.remove(on_write)

    out = []
    for frame in range(int(frame_start), int(frame_end) + 1):
        rgb = Path(scene.render.frame_path(frame=frame))
        passes = _frame_file(compat.file_output_pattern(_pass_node(scene)), frame, ".exr")
        missing = [str(p) for p in (rgb, passes) if not p.is_file()]
        if missing:
            raise RuntimeError(f"Blender did not write {missing} for frame {frame}")
        out.append((rgb, passes))
    return out


def clothing_pass_index(instance_id: int) -> int:
    """Object pass index of the clothing (garments, shoes) of person `instance_id`."""
    instance_id = int(instance_id)
    if not 1 <= instance_id <= MAX_INSTANCE_ID:
        raise MayhemInputError(None, "people.instance_id", f"{instance_id} is outside 1..{MAX_INSTANCE_ID}")
    return instance_id + CLOTHING_PASS_OFFSET
