"""How a planned batch runs: the options of `mayhem generate`, checked before anything starts."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from ...core.errors import MayhemInputError

log = logging.getLogger("mayhem.batch")


EXECUTORS = ("local", "ray")
GPU_DEVICES = ("optix", "cuda", "hip", "metal", "oneapi")
CLI = "command line"  # the "file" named by errors in options


@dataclass
class BatchOptions:
    """How to run a planned batch (the `mayhem generate` options)."""

    workers: int | None = None      # local: parallel renders (default 1); ray: renders per node
    executor: str = "local"         # 'local' or 'ray'
    address: str | None = None      # ray: address of an existing cluster (None: a local Ray)
    overwrite: bool = False         # delete previous outputs and start over
    force: bool = False             # accept a changed config (re-renders what it changes)
    retry_failed: bool = False      # rerun sequences recorded as failed
    blender: str | None = None      # a Blender binary for the workers (default: this Python + bpy)
    retries: int = 1                # extra attempts for a worker process that crashed
    progress: bool = True           # overall progress bar on stderr


def check_options(opts: BatchOptions) -> None:
    if opts.executor not in EXECUTORS:
        raise MayhemInputError(CLI, "--executor", f"must be one of {', '.join(EXECUTORS)}, got {opts.executor!r}")
    if opts.workers is not None and opts.workers < 1:
        raise MayhemInputError(CLI, "--workers", f"must be >= 1, got {opts.workers}")
    if opts.retries < 0:
        raise MayhemInputError(CLI, "--retries", f"must be >= 0, got {opts.retries}")
    if opts.blender and not (os.path.isfile(opts.blender) and os.access(opts.blender, os.X_OK)):
        raise MayhemInputError(opts.blender, "--blender", "not an executable file")
    if opts.address and opts.executor != "ray":
        raise MayhemInputError(CLI, "--address", "only meaningful with --executor ray")
