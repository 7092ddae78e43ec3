"""Every difference between the Blender lines Mayhem supports, named, in one place.

Mayhem runs on Blender 4.5 LTS and on Blender 5.x (5.0 to 5.3; 5.2 LTS is the default). Code
elsewhere never asks which Blender it runs in: it calls the functions here, and each function
says which change of Blender's it bridges. When a line is dropped, its branches go and the names stay.

The differences (each checked against both bpy wheels in tests):

* COMPOSITOR_AS_NODE_GROUP (5.0): the compositor is a node group assigned to
  ``scene.compositing_node_group``; ``scene.node_tree`` and ``scene.use_nodes`` are gone.
* COMPOSITOR_EFFECTS (5.3): the compositor is a stack of effects, ``scene.compositor_effects``,
  each with a node group; ``scene.compositing_node_group`` (the active effect's group) is
  deprecated. Mayhem's passes are the active effect's group.
* GROUP_OUTPUT_IS_COMPOSITE (5.0): the Composite node is gone; the compositor's result is the
  node group's first colour output (a Group Output node).
* FILE_OUTPUT_ITEMS (5.0): the File Output node has ``directory`` + ``file_name`` and one
  list of typed ``file_output_items`` instead of ``base_path`` + ``file_slots``/``layer_slots``;
  a multilayer EXR is ``format.media_type = 'MULTI_LAYER_IMAGE'``.
* MEDIA_TYPE (5.0): an image format's ``media_type`` ('IMAGE', 'MULTI_LAYER_IMAGE', 'VIDEO')
  must be set before ``file_format``; 'OPEN_EXR_MULTILAYER' exists only under
  'MULTI_LAYER_IMAGE'.
* MULTIPART_EXR (5.0): that node writes a multilayer EXR as a multi-part file, one part per
  layer (core.io.exr reads both layouts).
* NODES_ALWAYS_ON (5.0): materials and worlds always use nodes; setting ``use_nodes`` warns
  (it goes in 6.0).
* ALL_IDS_COLLECTION (5.0): ``bpy.data.all_ids`` lists every datablock beside the per-type
  collections, so walking all of bpy.data's collections meets each datablock twice.
* MEDIA_TYPE also covers movies: FFMPEG output is ``media_type = 'VIDEO'`` (set_video_format).
* PASS_SOCKET_NAMES (5.0): Render Layers sockets and render-result EXR layers are named by
  the passes' UI names ('Object Index' for the object-index pass, formerly 'IndexOB').
"""
from __future__ import annotations

from pathlib import Path

import bpy

BLENDER_VERSION = tuple(bpy.app.version)
IS_5X = BLENDER_VERSION >= (5, 0, 0)

COMPOSITOR_AS_NODE_GROUP = IS_5X
COMPOSITOR_EFFECTS = BLENDER_VERSION >= (5, 3, 0)
GROUP_OUTPUT_IS_COMPOSITE = IS_5X
FILE_OUTPUT_ITEMS = IS_5X
MEDIA_TYPE = IS_5X
MULTIPART_EXR = IS_5X
PASS_SOCKET_NAMES = IS_5X
NODES_ALWAYS_ON = IS_5X
ALL_IDS_COLLECTION = IS_5X

# Render Layers output sockets by pass, as each line names them.
_PASS_SOCKETS_4X = {"Image": "Image", "Depth": "Depth", "IndexOB": "IndexOB", "Normal": "Normal",
                    "Vector": "Vector"}
_PASS_SOCKETS_5X = {"Image": "Image", "Depth": "Depth", "IndexOB": "Object Index", "Normal": "Normal",
                    "Vector": "Vector"}


# ------------------------------------------------------------------------------ compositor
def compositor_tree(scene, *, create: bool = True):
    """The scene's own compositor node tree; with `create`, one is made if it has none.

    On 5.x a copied scene shares its source's node group: with `create`, a shared group is
    replaced by a new one, so editing this scene's compositor leaves the other scene's alone.
    """
    if COMPOSITOR_EFFECTS:
        effect = scene.compositor_effects.active
        tree = effect.node_group if effect is not None else None
        if create and (tree is None or tree.users > 1):
            tree = bpy.data.node_groups.new(f"{scene.name} compositor", "CompositorNodeTree")
            if effect is None:
                effect = scene.compositor_effects.new(name="Mayhem")
            effect.node_group = tree
        return tree
    if COMPOSITOR_AS_NODE_GROUP:
        tree = scene.compositing_node_group
        if create and (tree is None or tree.users > 1):
            tree = bpy.data.node_groups.new(f"{scene.name} compositor", "CompositorNodeTree")
            scene.compositing_node_group = tree
        return tree
    if create:
        scene.use_nodes = True
    return scene.node_tree


def pass_name(name: str) -> str:
    """This line's name of a render pass ('IndexOB' -> 'Object Index' on 5.x): the Render
    Layers socket and the layer name in a render-result EXR."""
    table = _PASS_SOCKETS_5X if PASS_SOCKET_NAMES else _PASS_SOCKETS_4X
    return table.get(name, name)


def render_layer_socket(rlayers_node, name: str):
    """The Render Layers node's output for pass `name` ('Image', 'Depth', 'IndexOB', an AOV)."""
    return rlayers_node.outputs[pass_name(name)]


def add_composite_output(tree, image_socket):
    """Route `image_socket` to the compositor's result (what render.filepath saves)."""
    if GROUP_OUTPUT_IS_COMPOSITE:
        if not any(item.item_type == "SOCKET" and item.in_out == "OUTPUT" for item in tree.interface.items_tree):
            tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        node = tree.nodes.new("NodeGroupOutput")
        tree.links.new(image_socket, node.inputs[0])
        return node
    node = tree.nodes.new("CompositorNodeComposite")
    node.use_alpha = False
    tree.links.new(image_socket, node.inputs["Image"])
    return node


def add_file_output(tree, inputs: dict, *, multilayer: bool = True, codec: str = "ZIP",
                    color_depth: str = "32"):
    """A File Output node writing float EXRs; `inputs` maps each layer name to a socket.

    Multilayer: one file per frame holding every layer ('Depth.V', 'IndexOB.V', ...). Not
    multilayer: one single-layer EXR per input, each in its own sub-folder named after it.
    """
    node = tree.nodes.new("CompositorNodeOutputFile")
    set_exr_format(node.format, multilayer=multilayer, codec=codec, color_depth=color_depth)
    if FILE_OUTPUT_ITEMS:
        node.file_output_items.clear()
        for name, socket in inputs.items():
            kind = "FLOAT" if socket.type == "VALUE" else ("VECTOR" if socket.type == "VECTOR" else "RGBA")
            node.file_output_items.new(kind, name)
    else:
        slots = node.layer_slots if multilayer else node.file_slots
        slots.clear()
        for name in inputs:
            slots.new(name)
    for name, socket in inputs.items():
        tree.links.new(socket, node.inputs[name])
    return node


def set_video_format(image_format) -> None:
    """Make scene.render.image_settings write one movie file through FFmpeg (MEDIA_TYPE: 5.0
    lists FFMPEG only under media_type 'VIDEO')."""
    if MEDIA_TYPE:
        image_format.media_type = "VIDEO"
    image_format.file_format = "FFMPEG"


def set_still_format(image_format, file_format: str = "PNG") -> None:
    """Make an image format write single images again (MEDIA_TYPE, as above)."""
    if MEDIA_TYPE:
        image_format.media_type = "IMAGE"
    image_format.file_format = file_format


def set_exr_format(image_format, *, multilayer: bool, codec: str = "ZIP", color_depth: str = "32") -> None:
    """Make an image format (a File Output node's or scene.render.image_settings) an EXR."""
    if MEDIA_TYPE:
        image_format.media_type = "MULTI_LAYER_IMAGE" if multilayer else "IMAGE"
    image_format.file_format = "OPEN_EXR_MULTILAYER" if multilayer else "OPEN_EXR"
    image_format.color_depth = color_depth
    image_format.exr_codec = codec


def single_layer_file(directory, name_pattern: str, item: str, frame: int) -> Path:
    """Where a File Output node that is not multilayer writes input `item` for `frame`:
    4.x prefixes the item's name to the numbered pattern, 5.x appends it."""
    digits = name_pattern.count("#")
    stem = name_pattern.replace("#" * digits, str(frame).zfill(digits))
    name = stem + item if FILE_OUTPUT_ITEMS else item + stem
    return Path(directory) / (name + ".exr")


def set_file_output_pattern(node, directory, name_pattern: str) -> None:
    """Files go to `directory`, named by `name_pattern` whose '#' run becomes the frame number
    (a node that is not multilayer adds each input's name: see single_layer_file)."""
    if FILE_OUTPUT_ITEMS:
        node.directory = str(directory)
        node.file_name = name_pattern
    elif node.format.file_format == "OPEN_EXR_MULTILAYER":
        node.base_path = str(Path(directory) / name_pattern)
    else:
        node.base_path = str(directory)
        for slot, socket in zip(node.file_slots, node.inputs):
            slot.path = socket.name + name_pattern


def file_output_pattern(node) -> str:
    """The full path pattern (directory + file name, '#' for the frame) of a File Output node."""
    if FILE_OUTPUT_ITEMS:
        return str(Path(node.directory) / node.file_name)
    return node.base_path


# ------------------------------------------------------------------------- shader nodes


def enable_nodes(id_block):
    """Make a material or world use its node tree; returns the tree."""
    if not NODES_ALWAYS_ON:
        id_block.use_nodes = True
    return id_block.node_tree


# ---------------------------------------------------------------------------- ID listing


def id_collections():
    """(name, collection) of bpy.data's per-type ID collections: each ID is in exactly one."""
    for prop in bpy.data.bl_rna.properties:
        if prop.type != "COLLECTION" or (ALL_IDS_COLLECTION and prop.identifier == "all_ids"):
            continue
        yield prop.identifier, getattr(bpy.data, prop.identifier)
