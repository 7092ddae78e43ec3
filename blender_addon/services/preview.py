"""Per-sequence MP4 previews: every frame of a sequence with its labels drawn on (the contact
sheet's overlay), encoded with Blender's own FFmpeg writer. Needs bpy (scene.movie)."""
from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..core.dataset.documents import completed_sequences
from ..core.dataset.layout import DATASET_JSON, SCENE_JSON, is_sequence_name, sequence_name
from ..core.dataset.overlay import sequence_overlay_frames
from ..core.errors import MayhemInputError
from ..core.io.atomic import atomic_path, safe_join
from ..core.io.png import write_png

log = logging.getLogger(__name__)
DEFAULT_FPS = 30.0
PREVIEW_DIR = "previews"


def _even(img: np.ndarray) -> np.ndarray:
    """Pad an odd width or height by one edge column/row: H.264 (4:2:0) needs even sizes."""
    h, w = img.shape[:2]
    return np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") if (h | w) % 2 else img


def _sequence_fps(seq_dir: Path) -> float:
    path = seq_dir / SCENE_JSON
    if not path.is_file():
        return DEFAULT_FPS
    try:
        fps = float(json.loads(path.read_text(encoding="utf-8")).get("fps", DEFAULT_FPS))
    except (ValueError, TypeError, AttributeError) as exc:
        raise MayhemInputError(path, "fps", f"unreadable ({exc})") from None
    if not fps > 0:
        raise MayhemInputError(path, "fps", f"must be > 0, got {fps}")
    return fps


def _select(dataset_dir: Path, wanted) -> list[str]:
    done = completed_sequences(dataset_dir)
    if not done:
        raise MayhemInputError(dataset_dir / DATASET_JSON, "sequences", "no completed sequence to preview")
    if not wanted:
        return done
    names = []
    for w in wanted:
        w = str(w)
        name = sequence_name(int(w)) if w.isdigit() else w
        if not is_sequence_name(name) or name not in done:
            raise MayhemInputError(dataset_dir / DATASET_JSON, "--sequence",
                                   f"{w!r} is not a completed sequence (completed: {', '.join(done)})")
        names.append(name)
    return names


def preview_videos(dataset_dir, out_dir=None, *, sequences=None, fps: float | None = None) -> list[Path]:
    """Write OUT/<sequence>.mp4 for each completed sequence (or the ones named: names or
    indices) at the sequence's frame rate (scene.json `fps`) unless `fps` is given."""
    from ..scene.movie import write_movie  # bpy

    dataset_dir = Path(dataset_dir)
    out_dir = Path(out_dir) if out_dir is not None else dataset_dir / PREVIEW_DIR
    if fps is not None and not float(fps) > 0:
        raise MayhemInputError(None, "--fps", f"must be > 0, got {fps}")
    written = []
    for name in _select(dataset_dir, sequences):
        seq_dir = safe_join(dataset_dir, name)
        rate = float(fps) if fps is not None else _sequence_fps(seq_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{name}.frames-", dir=out_dir))
        try:
            frames, size = [], None
            for k, img in sequence_overlay_frames(seq_dir):
                img = _even(img)
                size = size or (img.shape[1], img.shape[0])
                frames.append(write_png(scratch / f"{k:06d}.png", img))
            if not frames:
                raise MayhemInputError(seq_dir / "labels.npz", "frame", "the sequence has no frames")
            target = out_dir / f"{name}.mp4"
            with atomic_path(target) as tmp:
                write_movie(frames, tmp, fps=rate, size=size)
                if not tmp.is_file():
                    raise RuntimeError(f"Blender's FFmpeg writer wrote no file at {tmp}")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        log.debug("%s: %d frames -> %s", name, len(frames), target)
        written.append(target)
    return written
