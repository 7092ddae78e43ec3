"""Progress of a render on the command line: a one-line text bar on stderr."""
from __future__ import annotations

import sys
import time


class ProgressBar:
    """A one-line text progress bar on stderr (fine in logs and terminals)."""

    def __init__(self, label: str, total: int, enabled: bool = True, width: int = 30):
        self.label, self.total, self.enabled, self.width = label, total, enabled, width
        self.start = time.perf_counter()

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        frac = done / max(self.total, 1)
        filled = int(round(frac * self.width))
        elapsed = time.perf_counter() - self.start
        eta = elapsed / done * (self.total - done) if done else 0.0
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} frames"
                         f" {elapsed:6.1f}s eta {eta:5.1f}s")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def frame_progress(name: str, total: int, progress):
    """The per-frame callback of scene.render.render_animation for `progress`: True (a text bar),
    False (silent) or a callable(frames_done, frames_total)."""
    if callable(progress):
        return lambda i, n, s: progress(i + 1, n)
    bar = ProgressBar(name, total, enabled=bool(progress))
    bar.update(0)
    return lambda i, n, s: bar.update(i + 1)
