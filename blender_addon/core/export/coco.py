"""Export a Mayhem dataset as COCO person keypoints JSON (``person_keypoints_*.json`` layout) with
RLE instance masks, readable by pycocotools' ``COCO`` and scored by its ``COCOeval``.

One image per rendered frame; one annotation per person and frame whose mask (``mask/``: body,
hair, clothes, shoes) has at least one pixel:

* ``keypoints``: the 17 COCO keypoints of keypoints.npz's ``coco_17`` set as [x, y, v]; v is 2
  for ``visible``, 1 for the three occluded states, 0 (with x = y = 0) for ``outside``, as
  COCO's annotators mark them. x, y are Mayhem's pixels (centre of the top-left pixel at (0, 0),
  which is how detectron2 and mmpose read COCO keypoints); ``num_keypoints`` counts v > 0.
* ``segmentation``: the person's mask as compressed RLE (``pycocotools.mask.encode``, counts
  as a UTF-8 string); ``area`` its pixel count and ``bbox`` its tight box [x, y, w, h] in COCO's
  continuous coordinates (pixel k covers [k, k+1)), both from pycocotools; ``iscrowd`` 0.
* ``categories``: one, ``person``, with COCO's keypoint names and skeleton.

Extra fields, ignored by COCO readers: images carry ``sequence`` and ``frame``, annotations
``instance_id`` and ``keypoint_states`` (the five-state visibility of docs/format.md).
Sequences written before keypoints.npz existed get their keypoints recomputed from scene.json,
the depth and the mask files (built-in assets, or files under roots given to AssetCache).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from ..body.keypoints import COCO_SKELETON, KEYPOINT_SETS
from ..dataset.documents import completed_sequences, read_recipe
from ..dataset.keypoints import COCO_V, KEYPOINTS_NPZ, compute_keypoints
from ..dataset.layout import frame_path
from ..errors import MayhemInputError
from ..io.atomic import atomic_write_text, safe_join
from ..io.exr import read_depth_exr
from ..io.png import read_png

COCO_SET = "coco_17"
PERSON_CATEGORY = 1


def _read_npz(path: Path, keys) -> dict:
    if not path.is_file():
        raise MayhemInputError(path, None, "file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise MayhemInputError(path, missing[0], "missing key")
            return {k: z[k] for k in keys}
    except (OSError, ValueError) as exc:
        raise MayhemInputError(path, None, f"not a readable .npz ({exc})") from None


def _keypoints(seq_dir: Path, frames: int, cache) -> dict:
    """coco_17 keypoints and states of a sequence: keypoints.npz, or recomputed if it is absent."""
    keys = ("instance_id", f"{COCO_SET}_2d", f"{COCO_SET}_visibility")
    path = seq_dir / KEYPOINTS_NPZ
    if path.is_file():
        return _read_npz(path, keys)
    recipe = read_recipe(seq_dir)
    if recipe is None:
        raise MayhemInputError(path, None, "missing, and no scene.json to recompute it from")
    depth = np.stack([read_depth_exr(frame_path(seq_dir, "depth", k)) for k in range(frames)])
    instance = np.stack([read_png(frame_path(seq_dir, "mask", k)) for k in range(frames)])
    arrays = compute_keypoints(recipe, cache, depth=depth, instance=instance)
    return {k: arrays[k] for k in keys}


def coco_document(dataset_dir, *, image_root=None, frame_step: int = 1, cache=None) -> dict:
    """The COCO keypoints document of every completed sequence of a dataset (module doc)."""
    from pycocotools import mask as mask_utils  # a dependency of this export only

    dataset_dir = Path(dataset_dir)
    image_root = (Path(image_root) if image_root is not None else dataset_dir).resolve()
    if int(frame_step) < 1:
        raise MayhemInputError(None, "frame_step", f"must be >= 1, got {frame_step}")
    names = completed_sequences(dataset_dir)
    if not names:
        raise MayhemInputError(dataset_dir / "dataset.json", "sequences", "no completed sequence to export")
    images, annotations = [], []
    for name in names:
        seq_dir = safe_join(dataset_dir, name)
        labels_path = seq_dir / "labels.npz"
        labels = _read_npz(labels_path, ("frame", "image_size", "instance_id"))
        W, H = (int(v) for v in labels["image_size"])
        F, P = len(labels["frame"]), len(labels["instance_id"])
        kps = _keypoints(seq_dir, F, cache)
        uv, state = kps[f"{COCO_SET}_2d"], kps[f"{COCO_SET}_visibility"]
        if uv.shape[:2] != (F, P) or not np.array_equal(kps["instance_id"], labels["instance_id"]):
            raise MayhemInputError(seq_dir / KEYPOINTS_NPZ, f"{COCO_SET}_2d",
                                   f"expected {F} frames x {P} people of labels.npz, got {uv.shape[:2]}")
        for f in range(0, F, int(frame_step)):
            frame = int(labels["frame"][f])
            image = frame_path(seq_dir, "rgb", frame)
            if not image.is_file():
                raise MayhemInputError(image, None, "image of a completed sequence is missing")
            if not image.resolve().is_relative_to(image_root):
                raise MayhemInputError(image, "image_root", f"image is not inside the image root {image_root}")
            mask = read_png(frame_path(seq_dir, "mask", frame))
            if mask.shape != (H, W):
                raise MayhemInputError(frame_path(seq_dir, "mask", frame), None,
                                       f"expected a {W}x{H} mask, got shape {mask.shape}")
            image_id = len(images) + 1
            images.append({"id": image_id, "file_name": image.resolve().relative_to(image_root).as_posix(),
                           "width": W, "height": H, "sequence": name, "frame": frame})
            for p in range(P):
                person = np.asfortranarray(mask == labels["instance_id"][p], dtype=np.uint8)
                if not person.any():
                    continue
                rle = mask_utils.encode(person)
                v = COCO_V[state[f, p]]
                xy = np.where(v[:, None] > 0, uv[f, p].astype(np.float64), 0.0)
                annotations.append({
                    "id": len(annotations) + 1, "image_id": image_id, "category_id": PERSON_CATEGORY,
                    "keypoints": [x for k in range(len(v)) for x in (round(float(xy[k, 0]), 3),
                                                                     round(float(xy[k, 1]), 3), int(v[k]))],
                    "num_keypoints": int((v > 0).sum()),
                    "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")},
                    "area": float(mask_utils.area(rle)),
                    "bbox": [float(b) for b in mask_utils.toBbox(rle)],
                    "iscrowd": 0,
                    "instance_id": int(labels["instance_id"][p]),
                    "keypoint_states": [int(s) for s in state[f, p]],
                })
    return {
        "info": {"description": f"Mayhem dataset {dataset_dir.name} (COCO person keypoints export)",
                 "version": "1"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": PERSON_CATEGORY, "name": "person", "supercategory": "person",
                        "keypoints": list(KEYPOINT_SETS[COCO_SET][0]), "skeleton": [list(e) for e in COCO_SKELETON]}],
    }


def export_coco(dataset_dir, out_path, **kwargs) -> dict:
    """Write coco_document(dataset_dir, **kwargs) to out_path atomically; returns the document."""
    doc = coco_document(dataset_dir, **kwargs)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_path, json.dumps(doc, separators=(",", ":")) + "\n")
    return doc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mayhem export-coco",
                                     description="Write a Mayhem dataset as COCO person keypoints JSON with RLE masks.")
    parser.add_argument("dataset", help="dataset folder written by `mayhem generate`")
    parser.add_argument("--out", required=True, help=".json file to write")
    parser.add_argument("--image-root", default=None, help="folder file_name is relative to (default: DATASET)")
    parser.add_argument("--frame-step", type=int, default=1, help="keep every n-th frame")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`mayhem export-coco DATASET --out FILE.json`: 0 on success, 2 with one line on bad input."""
    args = build_parser().parse_args(argv)
    try:
        import pycocotools.mask  # noqa: F401
    except ImportError:
        print(f"mayhem export-coco: error: pycocotools is not installed in this Python ({sys.executable}); "
              "pip install pycocotools", file=sys.stderr)
        return 2
    try:
        doc = export_coco(args.dataset, args.out, image_root=args.image_root, frame_step=args.frame_step)
    except MayhemInputError as exc:
        print(f"mayhem export-coco: error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(doc['images'])} images, {len(doc['annotations'])} person annotations -> {os.fspath(args.out)}")
    return 0
