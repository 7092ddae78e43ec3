"""Build the installable Blender extension zip: the add-on package plus the free assets.

    python -m headless.build_extension [--out dist]

An installed extension cannot see the repository's assets/ folder, so the free body, the
procedural motions and the configs are copied into the zip under assets/, where
mayhem.core.assets looks first. Install the result with Blender's
"Install from Disk" (Preferences > Get Extensions).
"""
from __future__ import annotations

import argparse
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSET_GLOBS = ("bodies/free_body.npz", "bodies/README.md", "bodies/LICENSE-MakeHuman-CC0.md",
               "motions/*.npz", "motions/README.md", "configs/*.yaml")
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def build(out_dir: Path) -> Path:
    addon = ROOT / "blender_addon"
    manifest = tomllib.loads((addon / "blender_manifest.toml").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    files = [(p, p.relative_to(addon).as_posix()) for p in sorted(addon.rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts]
    for pattern in ASSET_GLOBS:
        files += [(p, "assets/" + p.relative_to(ROOT / "assets").as_posix()) for p in sorted((ROOT / "assets").glob(pattern))]
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, name in files:
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    tmp.replace(target)
    return target


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "dist")
    args = ap.parse_args(argv)
    print(build(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
