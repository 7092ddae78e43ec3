"""The output format (docs/format.md), in one place: names, staging, frame files, documents.

Both render paths (the batch worker's services.generate.render_sequence and the add-on's
services.scene_dataset.render_scene_dataset) write a sequence only through this package, so a
dataset looks the same whichever path wrote it.
"""
