"""Atomic file writes and path containment for dataset output.

A render farm kills jobs mid-write; a reader (or a resumed run deciding what is already
done) must never see half a PNG or EXR. Every output file is therefore written to a
temporary sibling, fsynced, and `os.replace`d onto its name, which is atomic on POSIX and
Windows within one folder. `safe_join` keeps names that come from configs or recipes from
writing outside the output folder.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path


def safe_join(root, *parts) -> Path:
    """`root / parts...`, resolved, refusing any result outside `root` (ValueError names it).

    Catches `..`, absolute parts and symlinks that point out of the output folder.
    """
    base = Path(root).resolve()
    target = base.joinpath(*[os.fspath(p) for p in parts]).resolve()
    if target != base and not target.is_relative_to(base):
        raise ValueError(f"path {target} (from {[os.fspath(p) for p in parts]}) escapes the output folder {base}")
    return target


def fsync_dir(folder: Path) -> None:
    """Persist the rename itself; not possible on Windows, where it is unnecessary."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; on success it replaces `path`, on error it is removed.

    The caller writes the whole file to the yielded path (by any means: open(), a library
    that takes a file name, ...). The parent folder is created if missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns the path."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return Path(path)


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically (UTF-8, newlines as given); returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))
