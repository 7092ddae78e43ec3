"""Procedural fabric materials: solid, stripes, checks/plaid, denim twill, small prints.

Why procedural: no texture assets to license or ship, unlimited variety from a seed, and the
patterns are laid out on the garments' UVs, which core.clothing.garments makes in metres (cylindrical
per region), so a period given in metres has the same physical size on every garment and body.

A look is the JSON-ready dict of core.clothing.looks.sample_look (pattern, sRGB colours, period in
metres, stripe ratio, seed); the fabric name sets the surface response (roughness, sheen,
specular): cotton and wool are matte with sheen, silk glossy, leather specular, denim rough
with a twill bump. Colours are given in sRGB and converted to the renderer's linear space.
"""
from __future__ import annotations

import json

import bpy
import numpy as np

from ...core.clothing.looks import PATTERNS
from ...core.errors import MayhemInputError
from .. import blender_compat as compat

# Surface response per fabric: roughness, sheen weight, specular IOR level.
SURFACE = {
    "cotton": (0.85, 0.35, 0.3),
    "denim": (0.9, 0.2, 0.3),
    "silk": (0.35, 0.6, 0.6),
    "wool": (0.95, 0.6, 0.2),
    "leather": (0.45, 0.0, 0.6),
}
VARIATION = 0.05   # ± brightness of the low-frequency noise on every fabric (dye, wear)


def _srgb_to_linear(c) -> list[float]:
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return [float(x) for x in lin]


class NodeGraph:
    """Small helper to place and link shader nodes (left to right along one row at `y`)."""

    def __init__(self, nt, x: float = -1400, y: float = 0):
        self.nt = nt
        self.x = x
        self.y = y

    def node(self, kind: str, **props):
        n = self.nt.nodes.new(kind)
        n.location = (self.x, self.y)
        self.x += 160
        for k, v in props.items():
            setattr(n, k, v)
        return n

    def math(self, op: str, a, b=None, c=None):
        n = self.node("ShaderNodeMath", operation=op)
        for slot, v in ((0, a), (1, b), (2, c)):
            if v is None:
                continue
            if isinstance(v, (int, float)):
                n.inputs[slot].default_value = float(v)
            else:
                self.nt.links.new(v, n.inputs[slot])
        return n.outputs[0]

    def mix(self, fac, a, b):
        n = self.node("ShaderNodeMix", data_type="RGBA", clamp_factor=True)
        for ident, v in (("Factor_Float", fac), ("A_Color", a), ("B_Color", b)):
            sock = next(s for s in n.inputs if s.identifier == ident)
            if isinstance(v, (list, tuple)):
                sock.default_value = (*v, 1.0) if len(v) == 3 else v
            elif isinstance(v, (int, float)):
                sock.default_value = float(v)
            else:
                self.nt.links.new(v, sock)
        return next(s for s in n.outputs if s.identifier == "Result_Color")


def _band(g: NodeGraph, coord, period: float, ratio: float):
    """1 where fract(coord / period) < ratio, else 0 (hard stripes)."""
    f = g.math("FRACT", g.math("DIVIDE", coord, max(period, 1e-4)))
    return g.math("LESS_THAN", f, ratio)


def fabric_material(look: dict, fabric: str = "cotton", *, name: str = "mayhem_fabric") -> bpy.types.Material:
    """A new material for `look` (core.clothing.looks.sample_look) on a garment with metre UVs."""
    check_look(look, fabric)
    mat = bpy.data.materials.new(name)
    compat.enable_nodes(mat)
    nt = mat.node_tree
    nt.nodes.clear()
    g = NodeGraph(nt)
    bsdf = add_fabric_shader(g, look, fabric)
    out = g.node("ShaderNodeOutputMaterial")
    nt.links.new(bsdf, out.inputs["Surface"])

    mat.diffuse_color = (*_srgb_to_linear(look.get("color", (0.5, 0.5, 0.5))), 1.0)  # solid-view colour
    mat["mayhem_look"] = json.dumps(look)
    mat["mayhem_fabric"] = fabric
    return mat


def check_look(look: dict, fabric: str) -> None:
    """MayhemInputError unless `look`'s pattern and `fabric` are known."""
    pattern = look.get("pattern", "solid")
    if pattern not in PATTERNS:
        raise MayhemInputError(None, "garment.look.pattern", f"{pattern!r} is not one of {PATTERNS}")
    if fabric not in SURFACE:
        raise MayhemInputError(None, "garment.fabric", f"{fabric!r} is not one of {tuple(SURFACE)}")


def add_fabric_shader(g: NodeGraph, look: dict, fabric: str = "cotton", *, uv_map: str = "UVMap"):
    """Add the fabric's nodes (pattern on the metre UVs of `uv_map`, dye noise, Principled
    BSDF, twill bump) to g's node tree and return the BSDF output socket. fabric_material wires
    it to a Material Output; scene.clothing.painted mixes it over the skin."""
    check_look(look, fabric)
    pattern = look.get("pattern", "solid")
    c1 = _srgb_to_linear(look.get("color", (0.5, 0.5, 0.5)))
    c2 = _srgb_to_linear(look.get("color2", look.get("color", (0.5, 0.5, 0.5))))
    period = float(look.get("period", 0.02))
    ratio = float(look.get("stripe_ratio", 0.4))
    seed = int(look.get("seed", 0))
    rng = np.random.default_rng(seed)
    roughness, sheen, specular = SURFACE[fabric]
    nt = g.nt
    uv = g.node("ShaderNodeUVMap", uv_map=uv_map)
    sep = g.node("ShaderNodeSeparateXYZ")
    nt.links.new(uv.outputs["UV"], sep.inputs["Vector"])
    u, v = sep.outputs["X"], sep.outputs["Y"]
    height = None

    if pattern == "solid":
        color = g.mix(0.0, c1, c1)
    elif pattern == "stripes":
        color = g.mix(_band(g, v, period, ratio), c1, c2)
    elif pattern == "plaid":
        # Two crossing band sets; where both cross the second colour is strongest (tartan-like).
        bu = _band(g, u, period, ratio)
        bv = _band(g, v, period * float(rng.uniform(0.8, 1.25)), ratio)
        fac = g.math("MULTIPLY", g.math("ADD", bu, bv), 0.5)
        color = g.mix(fac, c1, c2)
    elif pattern == "denim":
        # Twill: diagonal ribs at `period`, plus large, soft fading (wear) between two indigos.
        diag = g.math("ADD", u, g.math("MULTIPLY", v, 0.6))
        rib = g.math("SINE", g.math("MULTIPLY", diag, 2.0 * np.pi / max(period, 1e-4)))
        rib01 = g.math("MULTIPLY_ADD", rib, 0.5, 0.5)
        fade = g.node("ShaderNodeTexNoise")
        fade.inputs["Scale"].default_value = 6.0
        fade.inputs["Detail"].default_value = 3.0
        nt.links.new(uv.outputs["UV"], fade.inputs["Vector"])
        fac = g.math("ADD", g.math("MULTIPLY", rib01, 0.35), g.math("MULTIPLY", fade.outputs["Fac"], 0.5))
        color = g.mix(g.math("SUBTRACT", fac, 0.2), c1, c2)
        height = rib01
    else:  # prints: small dots scattered on a jittered grid
        vor = g.node("ShaderNodeTexVoronoi")
        vor.inputs["Scale"].default_value = 1.0 / max(period, 1e-4)
        vor.inputs["Randomness"].default_value = 0.8
        nt.links.new(uv.outputs["UV"], vor.inputs["Vector"])
        dots = g.math("LESS_THAN", vor.outputs["Distance"], float(0.18 + 0.2 * ratio))
        color = g.mix(dots, c1, c2)

    # Dye/wear variation: low-frequency noise in brightness, phase from the seed.
    noise = g.node("ShaderNodeTexNoise", noise_dimensions="4D")
    noise.inputs["Scale"].default_value = 8.0
    noise.inputs["W"].default_value = float(rng.uniform(0.0, 1000.0))
    nt.links.new(uv.outputs["UV"], noise.inputs["Vector"])
    bright = g.math("MULTIPLY_ADD", noise.outputs["Fac"], 2 * VARIATION, 1.0 - VARIATION)
    hsv = g.node("ShaderNodeHueSaturation")
    nt.links.new(color, hsv.inputs["Color"])
    nt.links.new(bright, hsv.inputs["Value"])

    bsdf = g.node("ShaderNodeBsdfPrincipled")
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Sheen Weight"].default_value = sheen
    bsdf.inputs["Sheen Roughness"].default_value = 0.5
    bsdf.inputs["Specular IOR Level"].default_value = specular
    nt.links.new(hsv.outputs["Color"], bsdf.inputs["Base Color"])
    if height is not None:
        bump = g.node("ShaderNodeBump")
        bump.inputs["Strength"].default_value = 0.3
        bump.inputs["Distance"].default_value = 0.0005
        nt.links.new(height, bump.inputs["Height"])
        nt.links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    return bsdf.outputs["BSDF"]


def apply_material(obj, material) -> None:
    """Make `material` the object's only material."""
    mats = obj.data.materials
    mats.clear()
    mats.append(material)
