"""`mayhem preview-video`: the MP4 decodes back (through Blender's FFmpeg reader) to the overlay frames.

A small hand-made dataset (no render): 5 frames of 158 x 89 (odd height: the movie is padded
to 158 x 90 for H.264), one person whose box, joints and mask move every frame.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from mayhem.cli import main as cli_main
from mayhem.core.dataset.overlay import draw_frame
from mayhem.core.errors import MayhemInputError
from mayhem.core.io.npz import save_npz
from mayhem.core.io.png import read_png, write_png

W, H, F, FPS = 158, 89, 5, 24


def _dataset(root):
    seq = root / "seq_000000"
    (seq / "rgb").mkdir(parents=True)
    (seq / "mask").mkdir()
    yy, xx = np.mgrid[0:H, 0:W]
    bbox = np.zeros((F, 1, 4), np.float32)
    joints = np.zeros((F, 1, 55, 2), np.float32)
    rng = np.random.default_rng(0)
    for f in range(F):
        rgb = np.stack([xx * 255 // W, yy * 255 // H, np.full_like(xx, 60 + 30 * f)], -1).astype(np.uint8)
        x0, y0 = 20 + 15 * f, 15
        mask = np.zeros((H, W), np.uint16)
        mask[y0:y0 + 50, x0:x0 + 30] = 1
        rgb[mask == 1] = (200, 170, 140)
        write_png(seq / "rgb" / f"{f:06d}.png", rgb)
        write_png(seq / "mask" / f"{f:06d}.png", mask)
        bbox[f, 0] = [x0, y0, x0 + 29, y0 + 49]
        joints[f, 0] = np.stack([x0 + 2 + rng.random(55) * 26, y0 + 2 + rng.random(55) * 46], -1)
    save_npz(seq / "labels.npz", {"frame": np.arange(F), "instance_id": np.array([1]), "bbox": bbox,
                                  "joints2d": joints, "joints_visible": np.ones((F, 1, 55), bool)})
    (seq / "scene.json").write_text(json.dumps({"name": "seq_000000", "fps": FPS}))
    (root / "dataset.json").write_text(json.dumps({"format_version": 1, "sequences": [
        {"name": "seq_000000", "status": "done", "frames": F, "people": 1}]}))
    return seq


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / mse)


def test_preview_video_decodes_to_overlay_frames(tmp_path, capsys):
    from mayhem.scene.movie import decode_movie, movie_info

    seq = _dataset(tmp_path / "ds")
    out = tmp_path / "previews"
    assert cli_main(["preview-video", str(tmp_path / "ds"), "--out", str(out)]) == 0
    movie = out / "seq_000000.mp4"
    assert capsys.readouterr().out.strip() == str(movie)
    assert sorted(p.name for p in out.iterdir()) == ["seq_000000.mp4"]  # no frames or partial file left
    head = movie.read_bytes()
    assert head[4:8] == b"ftyp" and b"avc1" in head and b"moov" in head  # an MP4 holding H.264
    info = movie_info(movie)
    assert info == {"frames": F, "size": (W, H + 1), "fps": pytest.approx(FPS)}

    with np.load(seq / "labels.npz") as z:
        labels = {k: z[k] for k in z.files}
    decoded = [read_png(p)[..., :3] for p in decode_movie(movie, tmp_path / "decoded")]
    assert len(decoded) == F
    drawn = [np.pad(draw_frame(read_png(seq / "rgb" / f"{f:06d}.png"), read_png(seq / "mask" / f"{f:06d}.png"),
                               labels, f), ((0, 1), (0, 0), (0, 0)), mode="edge") for f in range(F)]
    raw = [np.pad(read_png(seq / "rgb" / f"{f:06d}.png"), ((0, 1), (0, 0), (0, 0)), mode="edge") for f in range(F)]
    psnr = [[_psnr(d, o) for o in drawn] for d in decoded]
    print("decoded vs overlay PSNR (dB):", [round(psnr[f][f], 1) for f in range(F)])
    assert [int(np.argmax(row)) for row in psnr] == list(range(F))  # frames in order
    assert min(psnr[f][f] for f in range(F)) > 25.0  # 1-px coloured lines through 4:2:0 chroma
    for f in range(F):  # the overlay is in the movie: where it changed the frame, the movie follows it
        drawn_px = np.any(drawn[f] != raw[f], axis=-1)
        to_overlay = np.abs(decoded[f][drawn_px].astype(int) - drawn[f][drawn_px]).mean()
        to_raw = np.abs(decoded[f][drawn_px].astype(int) - raw[f][drawn_px]).mean()
        assert drawn_px.sum() > 100 and to_overlay < 0.5 * to_raw, (f, to_overlay, to_raw)


def test_preview_video_bad_input(tmp_path, capsys):
    seq = _dataset(tmp_path / "ds")
    out = tmp_path / "previews"
    assert cli_main(["preview-video", str(tmp_path / "ds"), "--sequence", "7", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dataset.json: --sequence" in err
    (seq / "mask" / "000003.png").unlink()
    from mayhem.services.preview import preview_videos

    with pytest.raises(MayhemInputError, match="000003.png"):
        preview_videos(tmp_path / "ds", out, sequences=["0"])
    assert list(out.iterdir()) == []  # nothing half-written
