"""Texture-only outfits: procedural garments painted on the body's skin material.

BEDLAM painted tight clothing it could not simulate onto the body texture; here a painted
garment is its region on the body surface, the same one make_garment cuts a simulated garment
from (core.clothing.garments.garment_field), shaded with the same fabric nodes (scene.clothing.materials)
and mixed over the skin by coverage. No cloth, no offset, no pre-roll: it moves with the skin.

Coverage is stored per body vertex as a *signed distance to the hem* in metres (float point
attribute ``mayhem_paint_<i>``, core.clothing.garments.garment_signed_distance), and the material turns it
into coverage per shading point with a smoothstep across COVERAGE_EDGE (5 mm). Why not coverage
per vertex, or an image: the free body's torso triangles are up to 3 cm across (edge lengths:
median 7 mm, 95th percentile 32 mm), so a per-vertex 0/1 coverage interpolated over faces would
give a 3 cm blurred zig-zag; a distance is smooth, so interpolated linearly it puts the hem on
the same piecewise-linear contour the cut follows, and the 5 mm edge stays 5 mm at any mesh
density. An image baked on the body's UVs would need a texel size well under 5 mm over the
whole body (≥ 4k textures per person) and seams handling, for the same curve.

Fabric patterns use a second UV map, ``mayhem_cloth_uv``: per-corner UVs in metres laid out as
the garments' own (core.clothing.garments.body_cloth_uvs), so a 2 cm stripe is 2 cm and runs around the
torso as on a simulated T-shirt. The body's own UV map stays the active render map (the skin
albedo texture uses it).

Layering: bottoms (and dresses) first, tops over them, in the recipe's order within a layer.
The total coverage (the largest of the garments') also goes to a Cycles shader AOV named
``clothing`` (CLOTHING_AOV), so a pass can tell painted clothing from skin (the view layer
must declare the AOV; see scene.render for how passes are written).
"""
from __future__ import annotations

import json

import numpy as np

from ...core.clothing.body_rest import BodyRest
from ...core.clothing.garments import COVERAGE_EDGE, TOP_KINDS, GarmentSpec, body_cloth_uvs, garment_signed_distance
from ...core.errors import MayhemInputError
from .materials import NodeGraph, add_fabric_shader, check_look

CLOTHING_AOV = "clothing"
CLOTH_UV_MAP = "mayhem_cloth_uv"
ATTRIBUTE_PREFIX = "mayhem_paint_"
SPEC_KEYS = ("kind", "looseness", "length", "sleeve", "target_vertices", "name")


def painted_spec(g: dict, index: int) -> GarmentSpec:
    """The GarmentSpec of recipe garment `g` (garments[index]); only procedural ones paint."""
    source = g.get("source", "procedural")
    if source != "procedural":
        raise MayhemInputError(None, f"garments[{index}].source",
                               f"{source!r}: texture-only outfits paint procedural garments only")
    if "kind" not in g:
        raise MayhemInputError(None, f"garments[{index}].kind", "missing")
    try:
        spec = GarmentSpec(**{k: g[k] for k in SPEC_KEYS if g.get(k) is not None})
        check_look(g.get("look") or {}, g.get("fabric", "cotton"))
        return spec.resolved()
    except MayhemInputError as exc:
        raise MayhemInputError(None, f"garments[{index}].{(exc.field or '').split('.')[-1]}", exc.problem) from None
    except (TypeError, ValueError) as exc:
        raise MayhemInputError(None, f"garments[{index}]", f"bad garment parameters ({exc})") from None


def layer_order(specs: list[GarmentSpec]) -> list[int]:
    """Indices from the innermost garment to the outermost: bottoms and dresses, then tops."""
    return sorted(range(len(specs)), key=lambda i: 1 if specs[i].kind in TOP_KINDS else 0)


def paint_outfit(rig, material, garments: list[dict], body_rest: BodyRest) -> None:
    """Paint procedural `garments` (recipe entries: kind, name, looseness, length, sleeve,
    target_vertices, fabric, look) on `rig`'s body through its skin `material`.

    `body_rest` is the person's BodyRest (same model and betas as the rig, any reference pose:
    the fields are per vertex). Writes the distance attributes and the metre UV map on the body
    mesh and rewires `material` (the skin must be its surface shader) to mix each garment's
    fabric over the skin, plus the ``clothing`` AOV. Bad entries raise MayhemInputError.
    """
    me = rig.mesh.data
    if len(me.vertices) != len(body_rest.vertices):
        raise MayhemInputError(None, "body", f"the rig's mesh has {len(me.vertices)} vertices, the body rest "
                               f"{len(body_rest.vertices)}: not the same body model")
    if len(me.polygons) != len(body_rest.faces):
        raise MayhemInputError(None, "body", "the rig's mesh faces do not match the body model's")
    specs = [painted_spec(g, i) for i, g in enumerate(garments)]
    _write_cloth_uvs(me, body_cloth_uvs(body_rest))
    names = []
    for i, spec in enumerate(specs):
        name = f"{ATTRIBUTE_PREFIX}{i}"
        _write_point_attribute(me, name, garment_signed_distance(spec, body_rest))
        names.append(name)
    _paint_material(material, [(names[i], garments[i], specs[i]) for i in layer_order(specs)])


def declare_clothing_aov(view_layer) -> None:
    """Declare the ``clothing`` value AOV on `view_layer` (once), so Cycles renders it as a pass
    (Render Layers output socket "clothing"); materials without painted clothing write 0."""
    if CLOTHING_AOV not in view_layer.aovs:
        aov = view_layer.aovs.add()
        aov.name = CLOTHING_AOV
        aov.type = "VALUE"


def _write_point_attribute(me, name: str, values: np.ndarray) -> None:
    old = me.attributes.get(name)
    if old is not None:
        me.attributes.remove(old)
    attr = me.attributes.new(name=name, type="FLOAT", domain="POINT")
    attr.data.foreach_set("value", np.asarray(values, dtype=np.float32))


def _write_cloth_uvs(me, uv: np.ndarray) -> None:
    """Per-corner metre UVs as a second UV map; the body's own map stays active for rendering."""
    active, render = me.uv_layers.active, next((u for u in me.uv_layers if u.active_render), None)
    layer = me.uv_layers.get(CLOTH_UV_MAP) or me.uv_layers.new(name=CLOTH_UV_MAP)
    # Body faces are triangles whose loops run 3i, 3i+1, 3i+2 (scene.body.rig builds them so).
    layer.uv.foreach_set("vector", np.asarray(uv, dtype=np.float32).reshape(-1))
    if active is not None:
        me.uv_layers.active = active
    if render is not None:
        render.active_render = True


def _surface_input(nt):
    out = next((n for n in nt.nodes if n.type == "OUTPUT_MATERIAL" and n.is_active_output), None)
    out = out or next((n for n in nt.nodes if n.type == "OUTPUT_MATERIAL"), None)
    if out is None or not out.inputs["Surface"].is_linked:
        raise MayhemInputError(None, "skin.material", "the skin material has no surface shader to paint over")
    return out


def _paint_material(material, layers: list[tuple[str, dict, GarmentSpec]]) -> None:
    """Mix each layer's fabric over what is below it by its coverage; AOV = total coverage."""
    nt = material.node_tree
    out = _surface_input(nt)
    below = out.inputs["Surface"].links[0].from_socket
    total = None
    for row, (attr_name, g, spec) in enumerate(layers):
        graph = NodeGraph(nt, x=-1800, y=-700 - 450 * row)
        fabric = add_fabric_shader(graph, g.get("look") or {}, g.get("fabric", "cotton"), uv_map=CLOTH_UV_MAP)
        attr = graph.node("ShaderNodeAttribute", attribute_type="GEOMETRY", attribute_name=attr_name)
        cover = graph.node("ShaderNodeMapRange", interpolation_type="SMOOTHSTEP", clamp=True)
        cover.inputs["From Min"].default_value = -0.5 * COVERAGE_EDGE
        cover.inputs["From Max"].default_value = 0.5 * COVERAGE_EDGE
        cover.inputs["To Min"].default_value = 0.0
        cover.inputs["To Max"].default_value = 1.0
        nt.links.new(attr.outputs["Fac"], cover.inputs["Value"])
        mix = graph.node("ShaderNodeMixShader")
        mix.label = f"painted {spec.name}"
        nt.links.new(cover.outputs["Result"], mix.inputs["Fac"])
        nt.links.new(below, mix.inputs[1])
        nt.links.new(fabric, mix.inputs[2])
        below = mix.outputs["Shader"]
        if total is None:
            total = cover.outputs["Result"]
        else:
            mx = graph.node("ShaderNodeMath", operation="MAXIMUM")
            nt.links.new(total, mx.inputs[0])
            nt.links.new(cover.outputs["Result"], mx.inputs[1])
            total = mx.outputs["Value"]
    nt.links.new(below, out.inputs["Surface"])
    aov = nt.nodes.new("ShaderNodeOutputAOV")
    aov.aov_name = CLOTHING_AOV
    aov.location = (out.location[0], out.location[1] - 200)
    if total is not None:
        nt.links.new(total, aov.inputs["Value"])
    else:
        aov.inputs["Value"].default_value = 0.0
    material["mayhem_painted"] = json.dumps([{"name": spec.name, "kind": spec.kind, "attribute": a,
                                              "fabric": g.get("fabric", "cotton")} for a, g, spec in layers])
