"""Build the installable Blender extension zips: the add-on package, the free assets and the
pinned Pillow and tqdm wheels, one zip per platform.

    python -m headless.build_extension [--out dist] [--platform NAME ...] [--wheel-cache DIR]

An installed extension cannot see the repository's assets/ folder, so the free body, the
procedural motions and the configs are copied into each zip under assets/, where
mayhem.core.assets looks first. Each zip also carries its platform's wheels (blender_addon/
wheels.py: file names and sha256; both Pythons, cp311 for Blender 4.5 and cp313 for 5.x, of
which Blender installs the one it runs) under wheels/, and its manifest gains the matching
`platforms` and `wheels` keys. Wheels are downloaded once with `pip download` into the wheel
cache (default ~/.cache/mayhem/wheels, never the repository) and checked against their sha256.
The zips are reproducible: same sources and wheels, same bytes. `--platform` takes linux-x64,
linux-arm64, macos-arm64, macos-x64, windows-x64 or host (this machine's); default all five.
Install a zip with Blender's "Install from Disk" (Preferences > Get Extensions).
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSET_GLOBS = ("bodies/free_body.npz", "bodies/README.md", "bodies/LICENSE-MakeHuman-CC0.md",
               "motions/*.npz", "motions/README.md", "configs/*.yaml")
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_TABLE = re.compile(r"\s*\[\[?\s*[\w.\"'-]+\s*\]")  # a [table] or [[array of tables]] header


def _load_wheels():
    """blender_addon/wheels.py of this checkout (stdlib only), whatever `mayhem` is installed."""
    spec = importlib.util.spec_from_file_location("_mayhem_wheels", ROOT / "blender_addon" / "wheels.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


wheels = _load_wheels()


def platform_manifest(source: str, platform: str, files: list[str]) -> str:
    """The source manifest with `platforms` and `wheels` for one platform's zip. They are
    top-level keys, so they go before the first [table] (after it they would belong to it)."""
    if any(k in tomllib.loads(source) for k in ("platforms", "wheels")):
        raise ValueError("blender_manifest.toml must not set platforms or wheels: the builder writes them")
    lines = source.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if _TABLE.match(line)), len(lines))
    block = (f'platforms = ["{platform}"]\n'
             "wheels = [\n" + "".join(f'  "./wheels/{f}",\n' for f in files) + "]\n\n")
    text = "".join(lines[:at]) + block + "".join(lines[at:])
    parsed = tomllib.loads(text)
    assert parsed["platforms"] == [platform] and parsed["wheels"] == [f"./wheels/{f}" for f in files]
    assert {k: v for k, v in parsed.items() if k not in ("platforms", "wheels")} == tomllib.loads(source)
    return text


def build(out_dir: Path, platform: str, cache: Path | None = None) -> Path:
    """One platform's zip in out_dir (written to a temporary name, then renamed)."""
    addon = ROOT / "blender_addon"
    source = (addon / "blender_manifest.toml").read_text(encoding="utf-8")
    manifest = tomllib.loads(source)
    needed = wheels.wheels_for(platform)
    wheel_paths = wheels.fetch(needed, cache)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{manifest['id']}-{manifest['version']}-{platform.replace('-', '_')}.zip"
    entries = [("blender_manifest.toml", platform_manifest(source, platform, [w.file for w in needed]).encode(),
                zipfile.ZIP_DEFLATED)]
    entries += [(p.relative_to(addon).as_posix(), p.read_bytes(), zipfile.ZIP_DEFLATED) for p in sorted(addon.rglob("*"))
                if p.is_file() and "__pycache__" not in p.parts and p.name != "blender_manifest.toml"]
    for pattern in ASSET_GLOBS:
        entries += [("assets/" + p.relative_to(ROOT / "assets").as_posix(), p.read_bytes(), zipfile.ZIP_DEFLATED)
                    for p in sorted((ROOT / "assets").glob(pattern))]
    entries += [(f"wheels/{p.name}", p.read_bytes(), zipfile.ZIP_STORED) for p in wheel_paths]  # already deflated
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name, data, compression in entries:
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    tmp.replace(target)
    return target


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "dist")
    ap.add_argument("--platform", action="append", choices=[*wheels.PLATFORMS, "host"],
                    help="build for this platform (repeatable; default: all five)")
    ap.add_argument("--wheel-cache", type=Path, default=None,
                    help=f"where the pinned wheels are kept (default {wheels.default_cache()})")
    args = ap.parse_args(argv)
    platforms = [wheels.host_platform() if p == "host" else p for p in args.platform or wheels.PLATFORMS]
    try:
        for platform in dict.fromkeys(platforms):
            print(build(args.out, platform, args.wheel_cache), flush=True)
    except wheels.WheelError as exc:
        print(f"build_extension: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
