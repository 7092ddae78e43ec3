"""One sequence end to end: recipe -> Blender -> Cycles -> files, labels matching the pixels,
byte-identical reruns, and the CLI's handling of bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mayhem.core.camera.pinhole import project
from mayhem.core.config import config_from_dict
from mayhem.core.geometry.raster import mask_iou, rasterize_ids
from mayhem.core.io.exr import read_depth_exr
from mayhem.core.io.png import read_png
from mayhem.core.recipe import AssetCache, person_params, posed_vertices
from mayhem.core.recipe_types import recipe_from_json

ROOT = Path(__file__).resolve().parents[2]
W, H = 160, 90


def _config(motion_folder, **over):
    data = {"seed": 11, "frames": 2, "body": {"model": "free"}, "motion": {"source": str(motion_folder)},
            "people": {"count": [2, 2], "min_gap_m": 0.2, "area_radius_m": 1.0},
            "camera": {"resolution": [W, H], "focal_mm": [35, 35]},
            "render": {"samples": 4, "denoise": False},
            # Unclothed: the mask-vs-labelled-mesh check needs bodies without hair, shoes or clothes.
            "appearance": {"bald_probability": 1.0, "barefoot_probability": 1.0},
            "clothing": {"probability": 0.0}}
    data.update(over)
    return config_from_dict(data)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, motion_folder):
    from mayhem.services.batch import BatchOptions, generate

    out = tmp_path_factory.mktemp("out") / "ds"
    summary = generate(_config(motion_folder), out, BatchOptions(progress=False))
    assert summary["failed"] == 0, summary
    return out


def test_files_and_dataset_json(dataset):
    doc = json.loads((dataset / "dataset.json").read_text())
    assert doc["format_version"] == 1 and doc["global_seed"] == 11
    (entry,) = doc["sequences"]
    assert entry["status"] == "done" and entry["frames"] == 2 and entry["people"] == 2
    seq = dataset / "seq_000000"
    for k in range(2):
        assert read_png(seq / "rgb" / f"{k:06d}.png").shape == (H, W, 3)
        mask = read_png(seq / "mask" / f"{k:06d}.png")
        assert mask.dtype == np.uint16 and set(np.unique(mask)) <= {0, 1, 2}
        depth = read_depth_exr(seq / "depth" / f"{k:06d}.exr")
        assert depth.dtype == np.float32 and depth.shape == (H, W)
        assert np.isfinite(depth[mask > 0]).all() and (depth[mask > 0] > 0).all()
    assert not list(dataset.glob(".*partial*"))
    recipe = recipe_from_json(json.loads((seq / "scene.json").read_text()))
    assert recipe.name == "seq_000000" and len(recipe.people) == 2


def test_rendered_masks_match_labelled_meshes(dataset, motion_folder):
    """IoU >= 0.98 between each rendered person mask and the z-buffered silhouette of the
    labelled SMPL-X mesh, on every frame."""
    seq = dataset / "seq_000000"
    recipe = recipe_from_json(json.loads((seq / "scene.json").read_text()))
    with np.load(seq / "labels.npz") as z:
        labels = {k: z[k] for k in z.files}
    cache = AssetCache(roots={"motion.source": motion_folder})  # the root the config named
    meshes = []
    for p, person in enumerate(recipe.people):
        model, params, _ = person_params(person, recipe.frames, recipe.fps, cache)
        meshes.append((model.faces, posed_vertices(model, params), labels["instance_id"][p]))
    compared = 0
    for f in range(recipe.frames):
        projected = [(project(v[f], labels["K"][f], labels["world_to_cam"][f]), faces, inst) for faces, v, inst in meshes]
        ids = rasterize_ids([(uv, faces, z, inst) for (uv, z), faces, inst in projected], W, H)
        rendered = read_png(seq / "mask" / f"{f:06d}.png")
        for _, _, inst in meshes:
            if (ids == inst).sum() == 0:  # out of view or hidden on this frame: nothing to compare
                assert (rendered == inst).sum() == 0, (f, inst)
                continue
            assert mask_iou(ids == inst, rendered == inst) >= 0.98, (f, inst)
            compared += 1
    # Both people are framed on every frame: an empty mask or an empty silhouette must fail.
    assert compared == recipe.frames * len(meshes), compared


def test_depth_lies_on_the_labelled_bodies(dataset, motion_folder):
    """Each person's masked pixels have depths within the camera-z extent of its mesh, and
    each pelvis joint is behind the rendered surface at its pixel."""
    seq = dataset / "seq_000000"
    recipe = recipe_from_json(json.loads((seq / "scene.json").read_text()))
    with np.load(seq / "labels.npz") as z:
        labels = {k: z[k] for k in z.files}
    cache = AssetCache(roots={"motion.source": motion_folder})  # the root the config named
    for f in range(recipe.frames):
        depth = read_depth_exr(seq / "depth" / f"{f:06d}.exr")
        mask = read_png(seq / "mask" / f"{f:06d}.png")
        for p, person in enumerate(recipe.people):
            model, params, _ = person_params(person, recipe.frames, recipe.fps, cache)
            _, z = project(posed_vertices(model, params)[f], labels["K"][f], labels["world_to_cam"][f])
            d = depth[mask == labels["instance_id"][p]]
            assert d.size and d.min() >= z.min() - 0.01 and d.max() <= z.max() + 0.01
            u, v = np.rint(labels["joints2d"][f, p, 0]).astype(int)
            assert depth[v, u] < labels["joints3d_cam"][f, p, 0, 2]
    assert labels["joints_visible"].any()


def test_keypoints_file_follows_the_rendered_passes(dataset, motion_folder):
    """keypoints.npz of a render: every set's shapes, the joints' `visible` equal to labels.npz's
    joints_visible, and the states recomputed from the written depth and mask files equal."""
    from mayhem.core.body.keypoints import KEYPOINT_SETS
    from mayhem.core.dataset.documents import read_recipe
    from mayhem.core.dataset.keypoints import VISIBLE, compute_keypoints

    seq = dataset / "seq_000000"
    with np.load(seq / "keypoints.npz") as z:
        stored = {k: z[k] for k in z.files}
    with np.load(seq / "labels.npz") as z:
        visible = z["joints_visible"]
    for name, (names, rows) in KEYPOINT_SETS.items():
        assert stored[f"{name}_2d"].shape == (2, 2, len(names), 2) and list(stored[f"{name}_names"]) == list(names)
        joint = rows < 55
        assert np.array_equal(stored[f"{name}_visibility"][:, :, joint] == VISIBLE, visible[:, :, rows[joint]]), name
    recipe = read_recipe(seq)
    cache = AssetCache(roots={"motion.source": motion_folder})
    depth = np.stack([read_depth_exr(seq / "depth" / f"{k:06d}.exr") for k in range(2)])
    mask = np.stack([read_png(seq / "mask" / f"{k:06d}.png") for k in range(2)])
    again = compute_keypoints(recipe, cache, depth=depth, instance=mask)
    for key in stored:
        assert np.array_equal(again[key], stored[key]), key
    states = np.concatenate([stored[f"{n}_visibility"].ravel() for n in KEYPOINT_SETS])
    assert (states == VISIBLE).any()


def test_same_config_same_bytes(dataset, tmp_path, motion_folder):
    from mayhem.services.batch import BatchOptions, generate

    generate(_config(motion_folder), tmp_path / "again", BatchOptions(progress=False))
    for rel in ("seq_000000/labels.npz", "seq_000000/keypoints.npz", "seq_000000/scene.json", "seq_000000/mask/000001.png",
                "seq_000000/depth/000001.exr", "seq_000000/rgb/000001.png"):
        assert (dataset / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes(), rel


def test_overlay_contact_sheet(dataset, tmp_path):
    from mayhem.core.dataset.overlay import BODY_JOINTS, PALETTE, contact_sheet

    out = contact_sheet(dataset, tmp_path / "sheet.png", max_frames=2)
    sheet = read_png(out)
    assert sheet.shape == (H + 4, 2 * W + 6, 3)
    seq = dataset / "seq_000000"
    with np.load(seq / "labels.npz") as z:
        labels = {k: z[k] for k in z.files}
    F = len(labels["frame"])
    for i, f in enumerate((0, F - 1)):  # two tiles: the first and the last frame
        tile = sheet[2:2 + H, 2 + i * (W + 2):2 + i * (W + 2) + W]
        rgb = read_png(seq / "rgb" / f"{f:06d}.png")[..., :3]
        # Away from every person's box (the drawing stays inside it, give or take a dot), the
        # frame is untouched; inside, labels were drawn.
        near = np.zeros((H, W), bool)
        for x0, y0, x1, y1 in labels["bbox"][f]:
            near[max(int(y0) - 3, 0):int(np.ceil(y1)) + 4, max(int(x0) - 3, 0):int(np.ceil(x1)) + 4] = True
        assert near.any() and np.array_equal(tile[~near], rgb[~near])
        assert (tile[near] != rgb[near]).any(axis=-1).sum() > 50
        # The last person drawn: its body-joint dots in its colour (visible) or grey (hidden).
        p = len(labels["instance_id"]) - 1
        hits = total = 0
        for j in range(BODY_JOINTS):
            x, y = np.rint(labels["joints2d"][f, p, j]).astype(int)
            if 0 <= x < W and 0 <= y < H:
                want = PALETTE[p % len(PALETTE)] if labels["joints_visible"][f, p, j] else (90, 90, 90)
                hits += bool(np.array_equal(tile[y, x], want))
                total += 1
        assert total >= BODY_JOINTS // 2 and hits >= 0.8 * total, (f, hits, total)


def _cli(*args, cwd=ROOT):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "headless.generate", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_bad_config_exits_2_with_one_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("camera:\n  focal_mm: [80, 20]\n")
    res = _cli(str(cfg), "--out", str(tmp_path / "out"))
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines == [f"mayhem: error: {cfg}: camera.focal_mm: min 80 is greater than max 20"]
    assert not (tmp_path / "out").exists()


def test_cli_bad_motion_file_exits_2_before_writing(tmp_path):
    folder = tmp_path / "amass"
    folder.mkdir()
    (folder / "broken.npz").write_bytes(b"not a zip")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"motion:\n  source: {folder}\nframes: 2\n")
    res = _cli(str(cfg), "--out", str(tmp_path / "out"))
    assert res.returncode == 2, res.stderr
    assert "broken.npz" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
