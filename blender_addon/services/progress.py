"""Progress on the command line: a tqdm bar per render and one per batch, on stderr.

The bars are drawn on terminals only; in a log file the batch writes one plain line each
time a sequence finishes instead (a redrawn bar would fill it with carriage returns). The
add-on reports through window_manager.progress, not through this module.
"""
from __future__ import annotations

import sys
import time

from tqdm import tqdm


def _is_tty(stream) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


class ProgressBar:
    """Frames of one render, as a tqdm bar on stderr (when it is a terminal and `enabled`)."""

    def __init__(self, label: str, total: int, enabled: bool = True, stream=None):
        stream = stream or sys.stderr
        self.bar = tqdm(total=total, desc=label, unit="frame", file=stream, smoothing=0,
                        disable=not (enabled and _is_tty(stream)))

    def update(self, done: int) -> None:
        if self.bar.disable:
            return
        self.bar.n = done
        self.bar.refresh()
        if done >= self.bar.total:
            self.bar.close()


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
    """Sequences and frames of a batch (frames counted as they appear on disk) with an ETA.

    On a terminal (`tty`, detected from `stream` by default) a tqdm bar over the frames, with
    the sequences done (and failed) in its description, redrawn at every update; otherwise a
    line (`line`) each time a sequence finishes. `start` (perf_counter) may be reset before
    the first update, when the batch's rendering begins.
    """

    def __init__(self, sequences: int, frames: int, enabled: bool = True, stream=None, width: int = 24,
                 tty: bool | None = None):
        self.sequences, self.frames, self.enabled, self.width = sequences, frames, enabled, width
        self.stream = stream or sys.stderr
        self.tty = _is_tty(self.stream) if tty is None else tty
        self.last = None
        self.bar = None  # the tqdm bar, made at the first update on a terminal
        self.start = time.perf_counter()

    def _counts(self, done: int, failed: int) -> str:
        fail = f", {failed} failed" if failed else ""
        return f"mayhem {done + failed}/{self.sequences} sequences{fail}"

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
            if self.bar is None:
                self.bar = tqdm(total=self.frames, desc=self._counts(done, failed), unit="frame", file=self.stream,
                                smoothing=0, dynamic_ncols=True)
                # tqdm's clock is time.time: its elapsed time counts from our start, like line()'s
                self.bar.start_t = self.bar.last_print_t = time.time() - (time.perf_counter() - self.start)
            elif self.bar.disable:  # closed by the final update
                return
            self.bar.n = frames_done
            self.bar.set_description_str(self._counts(done, failed), refresh=False)
            self.bar.refresh()
            if final:
                self.bar.close()
            return
        if (done, failed) != self.last:
            self.stream.write(self.line(done, failed, frames_done) + "\n")
            self.last = (done, failed)
            self.stream.flush()
