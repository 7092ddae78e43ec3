"""Contact sheet: frames with their labels drawn on top, to check at a glance that labels
sit on the bodies (joints, skeleton, boxes and mask outlines per person)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..body.skeleton import PARENTS
from ..errors import MayhemInputError
from ..geometry.raster import mask_outline
from ..io.png import read_png, write_png
from .documents import completed_sequences
from .layout import DATASET_JSON, frame_path

# Distinct, saturated colours per person (cycled).
PALETTE = np.array([
    [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
    [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255],
    [170, 110, 40], [128, 0, 0], [170, 255, 195],
], dtype=np.uint8)
BODY_JOINTS = 22  # skeleton lines for body joints only; hands would clutter small frames


def _line(img, p0, p1, colour):
    n = int(max(abs(p1[0] - p0[0]), abs(p1[1] - p0[1]))) + 1
    if n > 10000:
        return
    xs = np.rint(np.linspace(p0[0], p1[0], n)).astype(int)
    ys = np.rint(np.linspace(p0[1], p1[1], n)).astype(int)
    ok = (xs >= 0) & (xs < img.shape[1]) & (ys >= 0) & (ys < img.shape[0])
    img[ys[ok], xs[ok]] = colour


def _dot(img, x, y, colour, r=1):
    x, y = int(round(x)), int(round(y))
    y0, y1, x0, x1 = max(y - r, 0), min(y + r + 1, img.shape[0]), max(x - r, 0), min(x + r + 1, img.shape[1])
    if y0 < y1 and x0 < x1:
        img[y0:y1, x0:x1] = colour


def draw_frame(rgb: np.ndarray, mask: np.ndarray, labels: dict, f: int) -> np.ndarray:
    """One frame with every person's mask outline, bbox, skeleton and joints drawn on."""
    img = rgb[..., :3].copy()
    for p, inst in enumerate(labels["instance_id"]):
        colour = PALETTE[p % len(PALETTE)]
        img[mask_outline(mask == inst)] = colour
        x0, y0, x1, y1 = labels["bbox"][f, p]
        for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
            _line(img, a, b, colour)
        j2d = labels["joints2d"][f, p]
        for j in range(1, BODY_JOINTS):
            _line(img, j2d[PARENTS[j]], j2d[j], (255, 255, 255))
        vis = labels["joints_visible"][f, p]
        for j in range(len(j2d)):
            _dot(img, *j2d[j], colour if vis[j] else (90, 90, 90), r=1 if j < BODY_JOINTS else 0)
    return img


def contact_sheet(dataset_dir, out_path=None, max_frames: int = 16, columns: int = 4) -> Path:
    """Tile up to max_frames frames (spread over the dataset's sequences) into one PNG."""
    dataset_dir = Path(dataset_dir)
    names = completed_sequences(dataset_dir)
    if not names:
        raise MayhemInputError(dataset_dir / DATASET_JSON, "sequences", "no completed sequence to draw")
    per_seq = max(1, max_frames // len(names))
    tiles = []
    for name in names:
        seq = dataset_dir / name
        with np.load(seq / "labels.npz") as z:
            labels = {k: z[k] for k in z.files}
        F = len(labels["frame"])
        for f in np.unique(np.linspace(0, F - 1, min(per_seq, F)).round().astype(int)):
            k = int(labels["frame"][f])
            tiles.append(draw_frame(read_png(frame_path(seq, "rgb", k)), read_png(frame_path(seq, "mask", k)),
                                    labels, f))
            if len(tiles) >= max_frames:
                break
        if len(tiles) >= max_frames:
            break
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    cols = min(columns, len(tiles))
    rows = -(-len(tiles) // cols)
    sheet = np.full((rows * h + (rows + 1) * 2, cols * w + (cols + 1) * 2, 3), 24, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = 2 + r * (h + 2), 2 + c * (w + 2)
        sheet[y:y + t.shape[0], x:x + t.shape[1]] = t
    out = Path(out_path) if out_path else dataset_dir / "contact_sheet.png"
    write_png(out, sheet)
    return out


def sequence_overlay_frames(seq_dir):
    """Yield (frame number, RGB uint8 image with the labels drawn on) for every frame of a
    sequence, in order: the frames of its preview video."""
    seq_dir = Path(seq_dir)
    labels_path = seq_dir / "labels.npz"
    if not labels_path.is_file():
        raise MayhemInputError(labels_path, None, "labels file not found")
    with np.load(labels_path) as z:
        labels = {k: z[k] for k in z.files}
    for key in ("frame", "instance_id", "bbox", "joints2d", "joints_visible"):
        if key not in labels:
            raise MayhemInputError(labels_path, key, "missing key")
    for f, k in enumerate(int(v) for v in labels["frame"]):
        rgb, mask = frame_path(seq_dir, "rgb", k), frame_path(seq_dir, "mask", k)
        for path in (rgb, mask):
            if not path.is_file():
                raise MayhemInputError(path, None, "frame of a completed sequence is missing")
        yield k, draw_frame(read_png(rgb), read_png(mask), labels, f)
