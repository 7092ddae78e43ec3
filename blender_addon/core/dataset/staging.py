"""Write a sequence hidden, publish it whole: a reader or a resumed run never sees half of one.

A sequence is written into OUT/.NAME.partial, every file and folder is flushed, and only then
is the folder renamed to OUT/NAME (a previous version is parked as .NAME.old for the instant of
the swap). A killed process leaves at most hidden folders, which recover_stale tidies.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from ..io.atomic import fsync_dir, safe_join
from .layout import is_sequence_name, parked_name, partial_name, staged_kind


def fsync_tree(folder: Path) -> None:
    """Flush every file and folder under `folder`: after a power cut a published sequence must
    not hold empty files that only Blender's page cache had."""
    for root, dirs, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for name in [*dirs, "."]:
            fsync_dir(Path(root) / name)


def publish(staged: Path, final: Path) -> None:
    """Rename a flushed staging folder onto `final`, replacing any previous version."""
    out_dir = final.parent
    if final.exists():
        old = safe_join(out_dir, parked_name(final.name))
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        staged.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staged.rename(final)
    fsync_dir(out_dir)  # persist the rename itself


@contextlib.contextmanager
def staged_sequence(out_dir, name: str):
    """Yield an empty hidden folder for sequence `name`; on success it becomes OUT/name.

    On any exception (KeyboardInterrupt included) the hidden folder is removed and nothing of
    the sequence is published; a previous complete version stays untouched.
    """
    out_dir = Path(out_dir)
    if not name or name.startswith(".") or Path(name).name != name:
        raise ValueError(f"{name!r} is not a folder name (datasets use seq_NNNNNN)")
    final = safe_join(out_dir, name)
    tmp = safe_join(out_dir, partial_name(name))
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        fsync_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    publish(tmp, final)


def recover_stale(out_dir) -> None:
    """Leftovers of a killed run: staging folders go; a complete previous version parked by an
    interrupted replacement is put back (the completeness check then judges it)."""
    out_dir = Path(out_dir)
    for p in out_dir.glob(".seq_*"):
        staged = staged_kind(p.name)
        if staged is None or not p.is_dir():
            continue
        name, kind = staged
        if kind == "old" and not (out_dir / name).exists():
            p.rename(out_dir / name)
        else:
            shutil.rmtree(p, ignore_errors=True)


def remove_sequences(out_dir) -> None:
    """Every sequence folder, published or staged, under out_dir (and nothing else)."""
    for p in Path(out_dir).iterdir():
        if p.is_dir() and (is_sequence_name(p.name) or staged_kind(p.name)):
            shutil.rmtree(p)
