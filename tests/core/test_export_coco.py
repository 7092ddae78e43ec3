"""`mayhem export-coco`: the JSON loads in pycocotools' COCO, and COCOeval of the ground truth
against itself (as results with score 1) gives AP 1.0 for keypoints and for segmentation.

The dataset is written without Blender (tests/keypoint_scenes.py): two free bodies, one behind
the other, with a wall over their feet, so every COCO visibility value occurs.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mayhem.cli import main as cli_main
from mayhem.core.config import config_from_dict
from mayhem.core.dataset.keypoints import COCO_V
from mayhem.core.export.coco import coco_document
from mayhem.core.io.png import read_png
from mayhem.core.recipe import AssetCache, person_params, sample_recipe

pytest.importorskip("pycocotools")
from keypoint_scenes import write_numpy_dataset  # noqa: E402
from pycocotools import mask as mask_utils  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

pytestmark = pytest.mark.core
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, motion_folder):
    config = config_from_dict({"seed": 2, "frames": 2, "body": {"model": "free"}, "motion": {"source": str(motion_folder)},
                               "people": {"count": [2, 2], "min_gap_m": 0.5, "area_radius_m": 1.5},
                               "camera": {"resolution": [160, 90], "focal_mm": [35, 35]}})
    cache = AssetCache()
    recipe = sample_recipe(config, 0, cache=cache)
    a, b = (person_params(p, 1, recipe.fps, cache) for p in recipe.people)
    pa, pb = a[1]["transl"][0] + a[2][0], b[1]["transl"][0] + b[2][0]
    d = (pa - pb) * np.array([1.0, 1.0, 0.0])
    eye = pa + 2.5 * d / np.linalg.norm(d) + np.array([0.3, 0.0, 0.0])
    eye[2] = 1.0
    camera = dataclasses.replace(recipe.camera, eye=eye.tolist(), target=[pb[0], pb[1], 0.6], world_to_cam=None)
    recipe = dataclasses.replace(recipe, camera=camera)
    root = write_numpy_dataset(tmp_path_factory.mktemp("coco") / "ds", recipe, cache, wall_below_row=75)
    return root, cache


@pytest.fixture(scope="module")
def exported(dataset, tmp_path_factory):
    root, _ = dataset
    out = tmp_path_factory.mktemp("coco_out") / "person_keypoints.json"
    assert cli_main(["export-coco", str(root), "--out", str(out)]) == 0
    return out


def _quiet(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


def _evaluate(gt: COCO, results: list, iou_type: str) -> np.ndarray:
    dt = _quiet(gt.loadRes, results)
    ev = COCOeval(gt, dt, iou_type)
    _quiet(ev.evaluate)
    _quiet(ev.accumulate)
    _quiet(ev.summarize)
    return ev.stats


def test_pycocotools_loads_it_and_self_evaluation_gives_ap_1(exported):
    gt = _quiet(COCO, str(exported))
    assert len(gt.getImgIds()) == 2 and len(gt.getAnnIds()) >= 3
    (cat,) = gt.loadCats(gt.getCatIds())
    assert cat["name"] == "person" and len(cat["keypoints"]) == 17 and len(cat["skeleton"]) == 19
    anns = gt.loadAnns(gt.getAnnIds())
    kp = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0} for a in anns]
    seg = [{"image_id": a["image_id"], "category_id": 1, "segmentation": a["segmentation"], "score": 1.0} for a in anns]
    kp_stats, seg_stats = _evaluate(gt, kp, "keypoints"), _evaluate(gt, seg, "segm")
    assert kp_stats[0] == 1.0 and seg_stats[0] == 1.0
    # the evaluation can fail: keypoints 4 px off and masks shifted by 3 columns score below 1
    moved = [{"image_id": a["image_id"], "category_id": 1, "score": 1.0,
              "keypoints": [x + 4 * (i % 3 < 2) for i, x in enumerate(a["keypoints"])]} for a in anns]
    assert _evaluate(gt, moved, "keypoints")[0] < 0.9
    shifted = []
    for a in anns:
        rle = mask_utils.encode(np.asfortranarray(np.roll(mask_utils.decode(a["segmentation"]), 3, axis=1)))
        shifted.append({"image_id": a["image_id"], "category_id": 1, "score": 1.0,
                        "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()}})
    assert _evaluate(gt, shifted, "segm")[0] < 0.9


def test_annotations_follow_the_masks_and_keypoint_states(dataset, exported):
    root, _ = dataset
    doc = json.loads(exported.read_text())
    seq = root / "seq_000000"
    with np.load(seq / "keypoints.npz") as z:
        uv, state, ids = z["coco_17_2d"], z["coco_17_visibility"], z["instance_id"]
    seen = set()
    for ann in doc["annotations"]:
        image = next(i for i in doc["images"] if i["id"] == ann["image_id"])
        f, p = image["frame"], list(ids).index(ann["instance_id"])
        assert image["file_name"] == f"seq_000000/rgb/{f:06d}.png"
        person = read_png(seq / "mask" / f"{f:06d}.png") == ann["instance_id"]
        assert np.array_equal(mask_utils.decode(ann["segmentation"]).astype(bool), person)
        rows, cols = np.nonzero(person)
        assert ann["bbox"] == [cols.min(), rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1]
        assert ann["area"] == person.sum()
        k = np.array(ann["keypoints"], np.float64).reshape(17, 3)
        v = COCO_V[state[f, p]]
        assert np.array_equal(k[:, 2], v) and ann["num_keypoints"] == int((v > 0).sum())
        assert np.abs(k[v > 0, :2] - uv[f, p][v > 0]).max() <= 5e-4 and not k[v == 0, :2].any()
        seen |= set(v.tolist())
    assert seen == {0, 1, 2}, seen


def test_missing_keypoints_file_is_recomputed_identically(dataset, exported, tmp_path):
    root, cache = dataset
    copy = tmp_path / "old"
    shutil.copytree(root, copy)
    (copy / "seq_000000" / "keypoints.npz").unlink()
    assert coco_document(copy, cache=cache)["annotations"] == json.loads(exported.read_text())["annotations"]


def test_bad_dataset_exits_2_with_one_line(dataset, tmp_path):
    root, _ = dataset
    copy = tmp_path / "broken"
    shutil.copytree(root, copy)
    (copy / "seq_000000" / "labels.npz").unlink()
    run = subprocess.run([sys.executable, "-m", "headless.export_coco", str(copy), "--out", str(tmp_path / "x.json")],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "labels.npz" in lines[0], run.stderr
    assert not (tmp_path / "x.json").exists()
