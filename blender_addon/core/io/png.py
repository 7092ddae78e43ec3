"""PNG reading and writing through Pillow (pinned in pyproject.toml and bundled as wheels in
the extension), plus one byte-level edit Pillow does not offer: dropping the text chunks
Blender writes into its renders.

Why our own writer at all: the dataset's instance masks are 16-bit PNGs whose values must be
exact integer ids; writing them here, not through Blender, avoids its colour management and
dithering. Pillow writes only IHDR, IDAT and IEND, so the same array gives the same bytes on
one machine (across machines only the pixels are guaranteed: Linux Pillow deflates with the
system zlib, macOS and Windows Pillow with zlib-ng).

Arrays are (H, W) gray, (H, W, 2) gray+alpha, (H, W, 3) RGB or (H, W, 4) RGBA, top row first,
uint8; 16-bit images are gray only, (H, W) uint16. Reading returns the same shapes; palette
images come back as RGB (RGBA when the file has a tRNS chunk), gray below 8 bits as uint8
scaled to 0-255. 16-bit colour files are refused: Pillow would silently keep only their high
byte, and Mayhem writes and reads none (Blender renders its RGB frames at 8 bits).
"""
from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import MayhemInputError
from .atomic import atomic_write_bytes

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}  # samples per pixel -> Pillow mode (8-bit)
# What Pillow raises for a damaged file: bad CRC (SyntaxError), truncation and zlib errors
# (OSError), unknown formats (UnidentifiedImageError, an OSError), absurd sizes.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError)


# ---------------------------------------------------------------- writing
def png_bytes(array: np.ndarray) -> bytes:
    """Encode (H, W[, 1-4]) uint8 or (H, W) uint16 (either byte order) as PNG bytes; ValueError
    for anything else."""
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    wide = arr.dtype.itemsize == 2
    if arr.dtype.kind != "u" or arr.dtype.itemsize > 2 or 0 in arr.shape or arr.ndim not in (2, 3) \
            or (arr.ndim == 3 and arr.shape[2] not in _MODES) or (wide and arr.ndim != 2):
        raise ValueError(f"PNG arrays must be (H, W[, 1-4]) uint8 or (H, W) uint16, got {arr.shape} {arr.dtype}")
    height, width = arr.shape[:2]
    if wide:  # Pillow's 16-bit gray mode takes little-endian samples
        image = Image.frombytes("I;16", (width, height), arr.astype("<u2").tobytes())
    else:
        image = Image.frombytes(_MODES[1 if arr.ndim == 2 else arr.shape[2]], (width, height), arr.tobytes())
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def write_png(path, array: np.ndarray) -> Path:
    """Write an image (see png_bytes) to `path` atomically, values exact."""
    return atomic_write_bytes(path, png_bytes(array))


# ---------------------------------------------------------------- reading
def read_png(path) -> np.ndarray:
    """Read a PNG into (H, W[, C]) uint8, or (H, W) uint16 for 16-bit gray, top row first.

    A file that is not a PNG, is damaged (any chunk's CRC, truncation, bad deflate data) or
    holds 16-bit colour raises MayhemInputError naming it.
    """
    path = Path(path)
    data = path.read_bytes()
    if not data.startswith(SIGNATURE) or data[12:16] != b"IHDR":
        raise MayhemInputError(path, "signature", "not a PNG file")
    depth, colour_type = data[24:26] if len(data) >= 26 else (0, 0)
    if depth == 16 and colour_type in (2, 4, 6):
        raise MayhemInputError(path, "IHDR", "16-bit colour PNGs are not supported (16-bit gray and 8-bit colour are)")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.verify()  # every chunk's CRC and the file's end; the pixels are not decoded
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.load()
            if image.mode in ("P", "PA"):
                image = image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
            elif image.mode == "1":
                image = image.convert("L")
            pixels = np.array(image)  # a writable copy (np.asarray's view of Pillow's bytes is not)
    except _DECODE_ERRORS as exc:
        raise MayhemInputError(path, "image data", f"damaged PNG ({exc})") from None
    return pixels.astype(np.uint16, copy=False) if pixels.dtype.itemsize == 2 else pixels


# ---------------------------------------------------------------- Blender's renders
_METADATA_CHUNKS = {b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def strip_png_metadata(path) -> Path:
    """Drop text and time chunks (render times, dates) so equal pixels give equal bytes.

    Blender's Cycles writes its per-frame render timings into every PNG it saves; a
    deterministic dataset must not carry them. The other chunks, pixel data included, are
    copied byte for byte (re-encoding would cost a decode and an encode per frame).
    """
    path = Path(path)
    data = path.read_bytes()
    if not data.startswith(SIGNATURE):
        raise MayhemInputError(path, "signature", "not a PNG file")
    out, pos = [SIGNATURE], len(SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos) if pos + 8 <= len(data) else (len(data),)
        end = pos + 12 + length
        if end > len(data):
            raise MayhemInputError(path, "chunks", f"truncated chunk at byte {pos}")
        if data[pos + 4:pos + 8] not in _METADATA_CHUNKS:
            out.append(data[pos:end])
        pos = end
    return atomic_write_bytes(path, b"".join(out))
