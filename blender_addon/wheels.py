"""The third-party wheels Mayhem ships with: Pillow and tqdm, pinned by file name and sha256.

pip installs them from pyproject.toml's pins. Everywhere else the same files are used:
headless/build_extension.py puts each platform's wheels into that platform's extension zip
(Blender installs the ones matching its Python); in a stock Blender running a checkout
(`blender -b -P headless/<verb>.py`, and its render workers) `ensure_importable` unpacks them
into a per-Python folder of the wheel cache and puts that on sys.path. Standard library only:
this runs before anything else of Mayhem is importable.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import platform as _platform
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

PINS = {"pillow": "13.0.0", "tqdm": "4.70.1"}  # also in pyproject.toml; PNG byte determinism is tested on these
MODULES = ("PIL", "tqdm")                      # what they provide
PYTHONS = ("3.11", "3.13")                     # Blender 4.5 LTS; Blender 5.x
PLATFORMS = {  # Blender's platform name -> pip's --platform for the Pillow wheel
    "linux-x64": "manylinux_2_28_x86_64",
    "linux-arm64": "manylinux_2_28_aarch64",
    "macos-arm64": "macosx_11_0_arm64",
    "macos-x64": "macosx_11_0_x86_64",
    "windows-x64": "win_amd64",
}


@dataclass(frozen=True)
class Wheel:
    file: str
    sha256: str
    platform: str | None = None  # Blender platform name; None: pure Python, every platform
    python: str | None = None    # "3.11" or "3.13"; None: every Python 3

    @property
    def package(self) -> str:
        return self.file.split("-")[0]


WHEELS = (  # as published on PyPI
    Wheel("pillow-13.0.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
          "a625df9a2a5597fa5e5266e01aefc82604bb85d291e3547981e863560d75da6c", "linux-x64", "3.11"),
    Wheel("pillow-13.0.0-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
          "5f56499c1a74d2b862beb0c33b8016f99d095858455df9d21583bbbc1c15b582", "linux-x64", "3.13"),
    Wheel("pillow-13.0.0-cp311-cp311-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl",
          "7c88c10dd432f3b39ccdafc9ed81d0c21b8fd634502574da76d1bfa4fe2c76d0", "linux-arm64", "3.11"),
    Wheel("pillow-13.0.0-cp313-cp313-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl",
          "19b66ca0a4d25cc0200b381ce824c7ea090db61427315e73cfb05dbf1b35c369", "linux-arm64", "3.13"),
    Wheel("pillow-13.0.0-cp311-cp311-macosx_11_0_arm64.whl",
          "37290fbef0c73e2d51d594eb78fded7dc7170d1c3ad0a890269e6fd8c8c4e061", "macos-arm64", "3.11"),
    Wheel("pillow-13.0.0-cp313-cp313-macosx_11_0_arm64.whl",
          "f11a3c1358bb3c68012a7b1f41b223c3db9f7bfde90b481df028cfe1c3363313", "macos-arm64", "3.13"),
    Wheel("pillow-13.0.0-cp311-cp311-macosx_10_10_x86_64.whl",
          "6f38f3f885a09cafc93fd667b1173a92f379e43785d635e7983c893f0da319fb", "macos-x64", "3.11"),
    Wheel("pillow-13.0.0-cp313-cp313-macosx_10_13_x86_64.whl",
          "ef5fe6b7db3f501c56000ba8fe7c7e1a35ca1d45824fbeb95a67daa85cff4dbe", "macos-x64", "3.13"),
    Wheel("pillow-13.0.0-cp311-cp311-win_amd64.whl",
          "d7710eb676e9bb68965cb045be0d333b4c0d7f9dfbaa7fbf121385b1588683d3", "windows-x64", "3.11"),
    Wheel("pillow-13.0.0-cp313-cp313-win_amd64.whl",
          "9dda0788a9932776a75d8bcc020076edc308ce2508b51f6739a45e3158b3fc42", "windows-x64", "3.13"),
    Wheel("tqdm-4.70.1-py3-none-any.whl",
          "c293e525e6fef9c20e8728fd4612df02a0aa31bb5fe91ecd93e123b1b7bffa73"),
)


class WheelError(RuntimeError):
    """A pinned wheel is missing, cannot be fetched or fails its sha256 (one line)."""


def host_platform() -> str:
    """This machine's Blender platform name (linux-x64, macos-arm64, ...)."""
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        _platform.machine().lower(), _platform.machine().lower())
    return f"{system}-{arch}"


def this_python() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def wheels_for(platform: str, python: str | None = None) -> list[Wheel]:
    """The pinned wheels a platform needs (for one Python, or for every supported one)."""
    if platform not in PLATFORMS:
        raise WheelError(f"no pinned wheels for platform {platform!r} (pinned: {', '.join(PLATFORMS)})")
    if python is not None and python not in PYTHONS:
        raise WheelError(f"no pinned Pillow wheel for Python {python} (pinned: {', '.join(PYTHONS)})")
    pythons = {None, *PYTHONS} if python is None else {None, python}
    return [w for w in WHEELS if w.platform in (None, platform) and w.python in pythons]


def default_cache() -> Path:
    """MAYHEM_WHEEL_CACHE, else <XDG_CACHE_HOME or ~/.cache>/mayhem/wheels (outside any checkout)."""
    if os.environ.get("MAYHEM_WHEEL_CACHE"):
        return Path(os.environ["MAYHEM_WHEEL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mayhem" / "wheels"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _groups(wheels: list[Wheel]) -> list[list[Wheel]]:
    """One `pip download` per (platform, Python); pure-Python wheels ride along with the first."""
    groups: dict[tuple, list[Wheel]] = {}
    for w in wheels:
        if w.platform is not None:
            groups.setdefault((w.platform, w.python), []).append(w)
    pure = [w for w in wheels if w.platform is None]
    if pure:
        (next(iter(groups.values())) if groups else groups.setdefault((None, None), [])).extend(pure)
    return list(groups.values())


def _pip_args(group: list[Wheel]) -> list[str]:
    args = ["download", "--no-deps", "--only-binary=:all:"]
    w = next((x for x in group if x.platform is not None), None)
    if w is not None:
        args += ["--implementation", "cp", "--python-version", w.python, "--platform", PLATFORMS[w.platform]]
    return args + [f"{p}=={PINS[p]}" for p in sorted({x.package for x in group})]


def fetch_commands(wheels: list[Wheel], cache: Path) -> list[str]:
    """The pip commands that download `wheels` into `cache`, as a user would type them."""
    return [" ".join(["python3", "-m", "pip", *_pip_args(g), "--dest", f'"{cache}"']) for g in _groups(wheels)]


def fetch(wheels: list[Wheel], cache: Path | None = None, *, download: bool = True) -> list[Path]:
    """Paths of `wheels` in the cache, each checked against its sha256; missing ones are
    downloaded with `pip download` (into a temporary folder, moved in once verified)."""
    cache = Path(cache or default_cache())
    missing = [w for w in wheels if not ((cache / w.file).is_file() and sha256(cache / w.file) == w.sha256)]
    if missing and not download:
        raise WheelError(f"{len(missing)} pinned wheel(s) not in {cache}; fetch them with: "
                         + " && ".join(fetch_commands(missing, cache)))
    for group in _groups(missing):
        tmp = cache / f".download-{os.getpid()}"
        tmp.mkdir(parents=True, exist_ok=True)
        try:
            try:
                run = subprocess.run([sys.executable, "-m", "pip", *_pip_args(group), "--dest", str(tmp)],
                                     capture_output=True, text=True)
                lines = run.stderr.strip().splitlines() or [f"pip exited with status {run.returncode}"]
            except OSError as exc:  # no runnable interpreter at sys.executable
                lines = [f"cannot run {sys.executable} -m pip: {exc}"]
            for w in group:
                got = tmp / w.file
                if not got.is_file():
                    reason = lines[-1]
                    raise WheelError(f"could not download {w.file} ({reason}); fetch it with: "
                                     + " && ".join(fetch_commands(group, cache)))
                if sha256(got) != w.sha256:
                    raise WheelError(f"{w.file} downloaded with sha256 {sha256(got)}, pinned {w.sha256}")
                os.replace(got, cache / w.file)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return [cache / w.file for w in wheels]


def site_dir(cache: Path, platform: str, python: str) -> Path:
    """Where the wheels for one platform and Python are unpacked (named after the pins)."""
    pins = "-".join(f"{p}{v}" for p, v in sorted(PINS.items()))
    return cache / "site" / f"cp{python.replace('.', '')}-{platform}-{pins}"


def unpack(wheels: list[Wheel], cache: Path, platform: str, python: str) -> Path:
    """Unpack the (cached, verified) wheels into site_dir, atomically; returns that folder."""
    target = site_dir(cache, platform, python)
    if target.is_dir():
        return target
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for path in fetch(wheels, cache, download=False):
        with zipfile.ZipFile(path) as zf:
            zf.extractall(tmp)
    try:
        os.replace(tmp, target)
    except OSError:  # another process unpacked it first
        shutil.rmtree(tmp, ignore_errors=True)
        if not target.is_dir():
            raise
    return target


def ensure_importable(*, download: bool = True, cache: Path | None = None, log=None) -> Path | None:
    """Make PIL and tqdm importable in this Python. Nothing to do when they are (a pip
    install, or Blender's extension wheels); otherwise the pinned wheels for this platform and
    Python are fetched (unless `download` is False), unpacked and the folder is put first on
    sys.path, with one line to `log` (default stderr). Returns that folder, or None.
    Raises WheelError (one line, with the command that fetches them) when that fails."""
    if all(importlib.util.find_spec(m) is not None for m in MODULES):
        return None
    cache = Path(cache or default_cache())
    platform, python = host_platform(), this_python()
    target = site_dir(cache, platform, python)
    if not target.is_dir():
        wheels = wheels_for(platform, python)
        fetch(wheels, cache, download=download)
        unpack(wheels, cache, platform, python)
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    print(f"mayhem: Pillow {PINS['pillow']} and tqdm {PINS['tqdm']} are not installed in this Python "
          f"({sys.executable}); using the pinned wheels unpacked in {target}", file=log or sys.stderr)
    return target
