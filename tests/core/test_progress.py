"""services/progress.py: the command-line bars are tqdm's, and they count what the driver reports."""
from __future__ import annotations

import io
import time

from tqdm import tqdm

from mayhem.services.progress import BatchProgress, frame_progress


def _last_draw(text: str) -> str:
    return text.rstrip("\n").split("\r")[-1]


def test_batch_bar_counts_sequences_and_frames():
    out = io.StringIO()
    progress = BatchProgress(5, 50, stream=out, tty=True)
    progress.start = time.perf_counter() - 20.0  # rendering began 20 s ago (the driver resets start)
    progress.update(0, 0, 0)
    assert isinstance(progress.bar, tqdm)
    progress.update(1, 0, 10)
    assert _last_draw(out.getvalue()).startswith("mayhem 1/5 sequences:  20%|")
    assert "| 10/50 [00:20<01:20," in _last_draw(out.getvalue())  # 0.5 frame/s, 40 frames to go
    progress.update(2, 1, 27)  # a failed sequence counts as handled, and is named
    assert _last_draw(out.getvalue()).startswith("mayhem 3/5 sequences, 1 failed:  54%|")
    progress.update(4, 1, 40, final=True)
    assert out.getvalue().endswith("\n")
    final = _last_draw(out.getvalue())
    assert final.startswith("mayhem 5/5 sequences, 1 failed:  80%|") and "| 40/50 [00:20<" in final
    size = len(out.getvalue())
    progress.update(4, 1, 40)  # after the final update the bar is closed
    assert len(out.getvalue()) == size


def test_batch_progress_in_a_log_file_and_disabled():
    out = io.StringIO()  # not a terminal: one plain line per finished sequence, no bar
    progress = BatchProgress(3, 30, stream=out)
    for done, frames in ((0, 0), (0, 4), (0, 9), (1, 10), (1, 15), (2, 20)):
        progress.update(done, 0, frames)
    lines = out.getvalue().splitlines()
    assert progress.bar is None and "\r" not in out.getvalue()
    assert [ln.split("] ")[1].split(" |")[0] for ln in lines] == ["0/3 sequences", "1/3 sequences", "2/3 sequences"]
    assert " 20/30 frames " in lines[-1]
    quiet = io.StringIO()
    progress = BatchProgress(3, 30, enabled=False, stream=quiet, tty=True)
    progress.update(1, 0, 10, final=True)
    assert quiet.getvalue() == "" and progress.bar is None


def test_frame_progress_callable_and_silent(capsys):
    calls = []
    callback = frame_progress("seq_000000", 4, lambda done, total: calls.append((done, total)))
    for i in range(4):
        callback(i, 4, 0.1)
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    silent = frame_progress("seq_000000", 4, False)
    for i in range(4):
        silent(i, 4, 0.1)
    assert capsys.readouterr().err == ""


def test_frame_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    from mayhem.services.progress import ProgressBar

    out = Terminal()
    bar = ProgressBar("seq_000003", 3, stream=out)
    for done in range(4):
        bar.update(done)
    assert _last_draw(out.getvalue()).startswith("seq_000003: 100%|") and "| 3/3 [" in out.getvalue()
    assert out.getvalue().endswith("\n") and bar.bar.disable  # closed at the last frame
