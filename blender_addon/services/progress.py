"""Progress on the command line: a one-line bar per render, and one overall line per batch."""
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


def hms(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class BatchProgress:
    """One overall line: sequences, frames (counted as they appear on disk) and ETA.

    On a terminal it is redrawn in place every second; in a log file a line is written each
    time a sequence finishes.
    """

    def __init__(self, sequences: int, frames: int, enabled: bool = True, stream=None, width: int = 24):
        self.sequences, self.frames, self.enabled, self.width = sequences, frames, enabled, width
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.last = None

    def line(self, done: int, failed: int, frames_done: int) -> str:
        elapsed = time.perf_counter() - self.start
        frac = frames_done / max(self.frames, 1)
        filled = int(round(frac * self.width))
        rate = frames_done / elapsed if elapsed > 0 else 0.0
        eta = (self.frames - frames_done) / rate if rate > 0 else None
        fail = f", {failed} failed" if failed else ""
        return (f"mayhem [{'#' * filled}{'.' * (self.width - filled)}] {done + failed}/{self.sequences} sequences{fail}"
                f" | {frames_done}/{self.frames} frames | {hms(elapsed)} elapsed, eta "
                f"{hms(eta) if eta is not None else '?'}")

    def update(self, done: int, failed: int, frames_done: int, final: bool = False) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r" + self.line(done, failed, frames_done) + ("\n" if final else ""))
        elif (done, failed) != self.last:
            self.stream.write(self.line(done, failed, frames_done) + "\n")
            self.last = (done, failed)
        self.stream.flush()
