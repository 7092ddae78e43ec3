"""Skin material: Principled BSDF with subsurface scattering, tone from the Monk Skin Tone scale.

Training data needs the full range of skin tones, so the base colour is a single parameter
tone ∈ [0, 1] running from the lightest to the darkest of the 10 Monk Skin Tone swatches
(interpolated in linear RGB, the space the renderer mixes light in). A low-amplitude noise
modulates brightness so large skin areas are not perfectly flat; a user albedo texture on the
body's UVs replaces the tone when given.
"""
from __future__ import annotations

import os

import bpy
import numpy as np

from ...core.errors import MayhemInputError
from .. import blender_compat as compat

# Monk Skin Tone scale, MST 1..10 (sRGB hex, as published with the scale).
MONK_SKIN_TONES_HEX = ("#f6ede4", "#f3e7db", "#f7ead0", "#eadaba", "#d7bd96",
                       "#a07e56", "#825c43", "#604134", "#3a312a", "#292420")
# Mean free path per channel (relative) and its scale in metres: red light travels furthest in skin.
SUBSURFACE_RADIUS = (1.0, 0.35, 0.2)
SUBSURFACE_SCALE = 0.01
VARIATION = 0.06  # ± brightness change of the procedural noise
NOISE_SCALE = 40.0  # per metre (object space): blotches of a few centimetres


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB transfer function, inverse."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _hex_to_srgb(value: str) -> np.ndarray:
    value = value.lstrip("#")
    return np.array([int(value[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64) / 255.0


MONK_SKIN_TONES_LINEAR = np.stack([srgb_to_linear(_hex_to_srgb(h)) for h in MONK_SKIN_TONES_HEX])


def skin_tone_rgb(tone: float) -> np.ndarray:
    """Linear RGB for tone ∈ [0, 1]: 0 = MST 1 (lightest), 1 = MST 10 (darkest), piecewise linear."""
    tone = float(tone)
    if not 0.0 <= tone <= 1.0:
        raise MayhemInputError(None, "skin.tone", f"must be in [0, 1], got {tone}")
    x = tone * (len(MONK_SKIN_TONES_LINEAR) - 1)
    i = min(int(np.floor(x)), len(MONK_SKIN_TONES_LINEAR) - 2)
    t = x - i
    return (1.0 - t) * MONK_SKIN_TONES_LINEAR[i] + t * MONK_SKIN_TONES_LINEAR[i + 1]


def _load_image(path: str):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MayhemInputError(path, "skin.texture", "image file not found")
    try:
        return bpy.data.images.load(os.path.abspath(path), check_existing=True)
    except RuntimeError as exc:
        raise MayhemInputError(path, "skin.texture", f"cannot read image ({exc})") from None


def skin_material(tone: float, *, name: str = "mayhem_skin", albedo_texture: str | None = None,
                  seed: int = 0) -> bpy.types.Material:
    """A new skin material. `seed` picks the noise pattern and a roughness in [0.45, 0.55]."""
    rgb = skin_tone_rgb(tone)
    image = _load_image(albedo_texture) if albedo_texture else None
    rng = np.random.default_rng(seed)
    roughness = float(0.45 + 0.10 * rng.random())
    noise_w = float(rng.uniform(0.0, 1000.0))

    mat = bpy.data.materials.new(name)
    compat.enable_nodes(mat)
    nt = mat.node_tree
    nt.nodes.clear()
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    out.location = (600, 0)
    bsdf = nt.nodes.new("ShaderNodeBsdfPrincipled")
    bsdf.location = (300, 0)
    bsdf.subsurface_method = "RANDOM_WALK_SKIN"
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["IOR"].default_value = 1.4  # skin's refractive index is about 1.4
    bsdf.inputs["Subsurface Weight"].default_value = 1.0
    bsdf.inputs["Subsurface Radius"].default_value = SUBSURFACE_RADIUS
    bsdf.inputs["Subsurface Scale"].default_value = SUBSURFACE_SCALE
    nt.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])

    # Base colour: flat tone or the user's albedo on the body UVs, times (1 ± VARIATION) noise.
    if image is not None:
        uv = nt.nodes.new("ShaderNodeUVMap")
        uv.location = (-700, 200)
        tex = nt.nodes.new("ShaderNodeTexImage")
        tex.location = (-450, 200)
        tex.image = image
        nt.links.new(uv.outputs["UV"], tex.inputs["Vector"])
        color_out = tex.outputs["Color"]
    else:
        rgb_node = nt.nodes.new("ShaderNodeRGB")
        rgb_node.location = (-450, 200)
        rgb_node.outputs["Color"].default_value = (*rgb.tolist(), 1.0)
        color_out = rgb_node.outputs["Color"]
    coord = nt.nodes.new("ShaderNodeTexCoord")
    coord.location = (-900, -150)
    noise = nt.nodes.new("ShaderNodeTexNoise")
    noise.location = (-700, -150)
    noise.noise_dimensions = "4D"
    noise.inputs["W"].default_value = noise_w
    noise.inputs["Scale"].default_value = NOISE_SCALE
    noise.inputs["Detail"].default_value = 4.0
    nt.links.new(coord.outputs["Object"], noise.inputs["Vector"])
    remap = nt.nodes.new("ShaderNodeMapRange")
    remap.location = (-450, -150)
    remap.clamp = True
    remap.inputs["From Min"].default_value = 0.3
    remap.inputs["From Max"].default_value = 0.7
    remap.inputs["To Min"].default_value = 1.0 - VARIATION
    remap.inputs["To Max"].default_value = 1.0 + VARIATION
    nt.links.new(noise.outputs["Fac"], remap.inputs["Value"])
    hsv = nt.nodes.new("ShaderNodeHueSaturation")
    hsv.location = (-150, 100)
    nt.links.new(color_out, hsv.inputs["Color"])
    nt.links.new(remap.outputs["Result"], hsv.inputs["Value"])
    nt.links.new(hsv.outputs["Color"], bsdf.inputs["Base Color"])

    mat.diffuse_color = (*rgb.tolist(), 1.0)  # solid-view / workbench colour
    mat["mayhem_skin_tone"] = float(tone)
    mat["mayhem_skin_seed"] = int(seed)
    if albedo_texture:
        mat["mayhem_skin_texture"] = os.fspath(albedo_texture)
    return mat


def apply_skin(mesh_obj, material) -> None:
    """Make `material` the body's only material (every face uses slot 0)."""
    mats = mesh_obj.data.materials
    mats.clear()
    mats.append(material)
