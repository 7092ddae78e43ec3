"""Where each file of a dataset lives and what it is called (format version 1)."""
from __future__ import annotations

import re
from pathlib import Path

DATASET_JSON = "dataset.json"
SCENE_JSON = "scene.json"
LABELS_NPZ = "labels.npz"
GARMENTS_DIR = "garments"
PASSES_DIR = "_passes"  # Blender's raw pass EXRs while a sequence is staged; never published

# Per-frame folders of a sequence and the extension of their files.
FRAME_FOLDERS = (("rgb", ".png"), ("mask", ".png"), ("mask_body", ".png"), ("mask_clothing", ".png"),
                 ("depth", ".exr"))

_SEQUENCE = re.compile(r"seq_(\d{6})")
_STAGED = re.compile(r"\.(seq_\d{6})\.(partial|old)")


def sequence_name(index: int) -> str:
    return f"seq_{index:06d}"


def is_sequence_name(name: str) -> bool:
    return _SEQUENCE.fullmatch(name) is not None


def frame_file(k: int, ext: str) -> str:
    """File name of frame k (0-based in files, whatever Blender's frame numbers were)."""
    return f"{int(k):06d}{ext}"


def frame_path(seq_dir, folder: str, k: int) -> Path:
    """seq_dir/<folder>/<k>.<ext> for one of FRAME_FOLDERS."""
    return Path(seq_dir) / folder / frame_file(k, dict(FRAME_FOLDERS)[folder])


def partial_name(name: str) -> str:
    """The hidden folder a sequence is written into before it is renamed into place."""
    return f".{name}.partial"


def parked_name(name: str) -> str:
    """The hidden name a previous version of a sequence is parked under while it is replaced."""
    return f".{name}.old"


def staged_kind(name: str) -> tuple[str, str] | None:
    """(sequence name, 'partial' | 'old') for a hidden staging folder's name, else None."""
    m = _STAGED.fullmatch(name)
    return (m.group(1), m.group(2)) if m else None


def next_sequence_index(out_dir) -> int:
    """One past the highest sequence number in out_dir, staged folders included."""
    used = []
    for p in Path(out_dir).glob("*"):
        staged = staged_kind(p.name)
        name = staged[0] if staged else p.name
        if is_sequence_name(name):
            used.append(int(name[4:]))
    return max(used) + 1 if used else 0
