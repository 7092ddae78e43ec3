"""`mayhem preview-video`: runs as `python -m headless.preview_video ...` or `blender -b -P headless/preview_video.py -- ...`."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from headless._bootstrap import run  # noqa: E402

if __name__ == "__main__":
    run("preview-video")
