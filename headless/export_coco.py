"""`mayhem export-coco`: runs as `python -m headless.export_coco ...` or `blender -b -P headless/export_coco.py -- ...`."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from headless._bootstrap import run  # noqa: E402

if __name__ == "__main__":
    run("export-coco")
