"""Minimal PNG reader and writer in pure numpy + zlib.

Why: the dataset's instance masks are 16-bit PNGs whose values must be exact integer ids;
writing them here avoids Blender's colour management and dithering. Reading PNGs back
(Blender's RGB renders, our masks) is needed for overlays and tests, without Pillow.

Arrays are (H, W) grayscale, (H, W, 2) gray+alpha, (H, W, 3) RGB or (H, W, 4) RGBA, top row
first, dtype uint8 (bit depth <= 8) or uint16 (16-bit). Palette images are expanded to RGB(A)
(RGBA when the file has a tRNS chunk). Gray images of 1/2/4 bits keep their raw values
(0..2**bits-1), not rescaled. Interlaced (Adam7) files raise MayhemInputError.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import MayhemInputError
from .atomic import atomic_write_bytes

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}      # samples per pixel -> colour type (writer)


# ---------------------------------------------------------------- filters
def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def filter_rows(raw: np.ndarray, bpp: int, kinds) -> np.ndarray:
    """Apply PNG filters to (H, stride) uint8 scanlines; `kinds` is one filter type (0-4) per row.

    Encoding only reads unfiltered bytes, so every filter is one vectorised expression.
    Returns (H, 1 + stride) uint8 with the filter byte first.
    """
    x = raw.astype(np.int16)
    a = np.zeros_like(x)
    a[:, bpp:] = x[:, :-bpp]                       # left
    b = np.zeros_like(x)
    b[1:] = x[:-1]                                 # up
    c = np.zeros_like(x)
    c[1:, bpp:] = x[:-1, :-bpp]                    # up-left
    kinds = np.broadcast_to(np.asarray(kinds, np.int64), (raw.shape[0],))
    pred = np.zeros_like(x)
    for kind in np.unique(kinds):
        rows = kinds == kind
        if kind == 1:
            pred[rows] = a[rows]
        elif kind == 2:
            pred[rows] = b[rows]
        elif kind == 3:
            pred[rows] = (a[rows] + b[rows]) // 2
        elif kind == 4:
            pred[rows] = _paeth(a[rows], b[rows], c[rows])
        elif kind != 0:
            raise ValueError(f"PNG filter types are 0-4, got {kind}")
    out = np.empty((raw.shape[0], raw.shape[1] + 1), np.uint8)
    out[:, 0] = kinds
    out[:, 1:] = (x - pred) & 0xFF
    return out


def _choose_filters(raw: np.ndarray, bpp: int) -> np.ndarray:
    """Cheap per-row choice among None/Sub/Up: the smallest sum of |filtered byte as signed|."""
    x = raw.astype(np.int16)
    sub = x.copy()
    sub[:, bpp:] -= x[:, :-bpp]
    up = x.copy()
    up[1:] -= x[:-1]
    scores = [np.abs(((f + 128) & 0xFF) - 128).sum(axis=1, dtype=np.int64) for f in (x, sub, up)]
    return np.argmin(np.stack(scores), axis=0)


def _unfilter(data: np.ndarray, height: int, stride: int, bpp: int) -> np.ndarray:
    """Undo PNG filters: rows of None/Sub/Up one row at a time, Average/Paeth by wavefront."""
    rows = data.reshape(height, stride + 1)
    kinds, filt = rows[:, 0], rows[:, 1:]
    if np.any(kinds > 4):
        raise ValueError(f"unknown filter type {int(kinds.max())}")
    if np.all(kinds <= 2):
        out = np.empty((height, stride), np.uint8)
        prev = np.zeros(stride, np.uint8)
        for y in range(height):
            k, r = kinds[y], filt[y]
            if k == 0:
                cur = r
            elif k == 2:
                cur = r + prev                      # uint8 wraps mod 256
            else:
                cur = np.cumsum(r.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
            out[y] = cur
            prev = out[y]
        return out
    return _unfilter_wavefront(filt, kinds, bpp)


def _unfilter_wavefront(filt: np.ndarray, kinds: np.ndarray, bpp: int) -> np.ndarray:
    """General decoder. Pixel (y, x) needs (y, x-1), (y-1, x) and (y-1, x-1), so all pixels on
    one anti-diagonal x + y = k can be rebuilt at once. The image is stored skewed, T[k, y] =
    pixel (y, k - y), so each of the H + W - 1 steps works on contiguous slices."""
    height, stride = filt.shape
    n = stride // bpp
    f = filt.reshape(height, n, bpp).astype(np.int16)
    ys, xs = np.mgrid[0:height, 0:n]
    skew_f = np.zeros((height + n - 1, height, bpp), np.int16)
    skew_f[xs + ys, ys] = f
    t = np.zeros((height + n + 1, height + 1, bpp), np.int16)  # T[k + 2, y + 1]; zeros = outside
    m = [(kinds == i)[:, None].astype(np.int16) for i in range(5)]
    any_paeth = bool(np.any(kinds == 4))
    for k in range(height + n - 1):
        lo, hi = max(0, k - n + 1), min(height, k + 1)
        a = t[k + 1, lo + 1:hi + 1]
        b = t[k + 1, lo:hi]
        pred = m[1][lo:hi] * a + m[2][lo:hi] * b + m[3][lo:hi] * ((a + b) >> 1)
        if any_paeth:
            pred += m[4][lo:hi] * _paeth(a, b, t[k, lo:hi])
        t[k + 2, lo + 1:hi + 1] = (skew_f[k, lo:hi] + pred) & 0xFF
    return t[xs + ys + 2, ys + 1].reshape(height, stride).astype(np.uint8)


# ---------------------------------------------------------------- writing
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(array: np.ndarray, filters=None, level: int = 6) -> bytes:
    """Encode (H, W) or (H, W, 1-4) uint8/uint16 as PNG bytes (non-interlaced).

    `filters` None picks None/Sub/Up per row; an int or per-row sequence forces filter types.
    """
    arr = np.asarray(array)
    if arr.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG arrays must be uint8 or uint16, got {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in _COLOR_TYPE or 0 in arr.shape:
        raise ValueError(f"PNG arrays must be (H, W) or (H, W, 1|2|3|4), got {np.asarray(array).shape}")
    height, width, spp = arr.shape
    depth = 8 * arr.dtype.itemsize
    raw = arr.astype(">u2" if depth == 16 else np.uint8).view(np.uint8).reshape(height, -1)
    bpp = spp * arr.dtype.itemsize
    kinds = _choose_filters(raw, bpp) if filters is None else filters
    body = filter_rows(raw, bpp, kinds).tobytes()
    ihdr = struct.pack(">IIBBBBB", width, height, depth, _COLOR_TYPE[spp], 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(body, level))
            + _chunk(b"IEND", b""))


def write_png(path, array: np.ndarray) -> Path:
    """Write a gray/gray+alpha/RGB/RGBA uint8 or uint16 image to `path` atomically, values exact."""
    return atomic_write_bytes(path, png_bytes(array))


# ---------------------------------------------------------------- reading
def read_png(path) -> np.ndarray:
    """Read a non-interlaced PNG into (H, W[, C]) uint8/uint16, top row first (see module doc)."""
    path = Path(path)
    buf = path.read_bytes()
    if not buf.startswith(SIGNATURE):
        raise MayhemInputError(path, None, "not a PNG file (bad signature)")
    pos, chunks = 8, {}
    idat = []
    while pos + 8 <= len(buf):
        length, kind = struct.unpack_from(">I4s", buf, pos)
        data = buf[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack_from(">I", buf, pos + 8 + length) if pos + 12 + length <= len(buf) else (None,)
        if len(data) != length or crc != zlib.crc32(kind + data):
            raise MayhemInputError(path, kind.decode("latin-1"), "chunk is truncated or fails its CRC")
        pos += 12 + length
        if kind == b"IDAT":
            idat.append(data)
        elif kind == b"IEND":
            break
        else:
            chunks.setdefault(kind, data)
    if b"IHDR" not in chunks or not idat:
        raise MayhemInputError(path, "IHDR" if b"IHDR" not in chunks else "IDAT", "missing required chunk")
    width, height, depth, ctype, _comp, _filt, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    if interlace:
        raise MayhemInputError(path, "interlace", "interlaced (Adam7) PNGs are not supported")
    if ctype not in _CHANNELS or depth not in (1, 2, 4, 8, 16) or (ctype in (2, 4, 6) and depth < 8) \
            or (ctype == 3 and depth == 16):
        raise MayhemInputError(path, "IHDR", f"invalid colour type {ctype} with bit depth {depth}")
    spp = _CHANNELS[ctype]
    stride = (width * spp * depth + 7) // 8
    bpp = max(1, spp * depth // 8)
    try:
        data = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8)
        if data.size < height * (stride + 1):
            raise ValueError(f"image data has {data.size} bytes, expected {height * (stride + 1)}")
        rows = _unfilter(data[:height * (stride + 1)], height, stride, bpp)
    except (zlib.error, ValueError) as exc:
        raise MayhemInputError(path, "IDAT", f"corrupt image data: {exc}") from None
    if depth == 16:
        img = rows.view(">u2").astype(np.uint16).reshape(height, width, spp)
    elif depth == 8:
        img = rows.reshape(height, width, spp)
    else:
        bits = np.unpackbits(rows, axis=1).reshape(height, -1, depth)
        weights = (1 << np.arange(depth - 1, -1, -1)).astype(np.uint8)
        img = (bits * weights).sum(axis=2, dtype=np.uint8)[:, :width, None]
    if ctype == 3:
        if b"PLTE" not in chunks:
            raise MayhemInputError(path, "PLTE", "palette image without a palette")
        palette = np.frombuffer(chunks[b"PLTE"], np.uint8).reshape(-1, 3)
        if b"tRNS" in chunks:
            alpha = np.full(len(palette), 255, np.uint8)
            trns = np.frombuffer(chunks[b"tRNS"], np.uint8)[:len(palette)]
            alpha[:len(trns)] = trns
            palette = np.concatenate([palette, alpha[:, None]], axis=1)
        index = img[:, :, 0]
        if index.max(initial=0) >= len(palette):
            raise MayhemInputError(path, "PLTE", "pixel refers past the end of the palette")
        return palette[index]
    return img[:, :, 0] if spp == 1 else img


_METADATA_CHUNKS = {b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def strip_png_metadata(path) -> Path:
    """Drop text and time chunks (render times, dates) so equal pixels give equal bytes.

    Blender's Cycles writes its per-frame render timings into every PNG it saves; a
    deterministic dataset must not carry them. The pixel data is copied untouched.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:8] != SIGNATURE:
        raise MayhemInputError(path, "signature", "not a PNG file")
    out, pos = [data[:8]], 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if kind not in _METADATA_CHUNKS:
            out.append(data[pos:end])
        pos = end
    return atomic_write_bytes(path, b"".join(out))
