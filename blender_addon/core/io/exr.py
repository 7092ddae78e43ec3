"""Minimal OpenEXR reader and writer in pure numpy.

Why: Blender's compositor writes depth and object-index passes as a multilayer EXR, and the
dataset's depth files are EXRs too. Reading and writing them here keeps values exact (no
colour management) and works wherever numpy does, without OpenEXR bindings.

Scope: scanline files, single-part or multi-part (Blender 5.x's File Output node writes a
multilayer EXR as one part per layer; the parts' channels are merged by name); channel types
UINT, HALF, FLOAT; compressions NONE, RLE, ZIPS, ZIP (what Blender's File Output node writes by
default). Tiled and deep files and PIZ/PXR24/B44/DWA compression raise MayhemInputError naming
the file.

Channel names as Blender writes them (checked in tests/blender/test_imageio.py on 4.5 and 5.x):
  * compositor File Output node, multilayer EXR, inputs "Image", "Depth", "IndexOB":
    'Image.R', 'Image.G', 'Image.B', 'Image.A', 'Depth.V', 'IndexOB.V'
  * render output OPEN_EXR_MULTILAYER: 'ViewLayer.Combined.R', ..., 'ViewLayer.Depth.Z',
    'ViewLayer.IndexOB.X'
  Data passes stay FLOAT even at color_depth '16' (only Image becomes HALF). Cycles' Depth is
  camera-z (planar) distance and 1e10 where nothing was hit: convert that to +inf.

Dataset contract: depth/NNNNNN.exr holds one FLOAT channel named 'Y', metres along the
camera z axis, +inf for background (see `write_depth_exr`). 'Y' (not 'Z') because a lone
'Y' channel is what image tools read as a grey image: Blender 4.5 shows garbage for a file
whose only channel is 'Z'.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import MayhemInputError
from .atomic import atomic_write_bytes

MAGIC = 20000630
_PIXEL_DTYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}  # UINT, HALF, FLOAT
_COMPRESSIONS = {0: "NONE", 1: "RLE", 2: "ZIPS", 3: "ZIP", 4: "PIZ", 5: "PXR24", 6: "B44",
                 7: "B44A", 8: "DWAA", 9: "DWAB", 10: "HTJ2K256", 11: "HTJ2K32"}
_LINES_PER_BLOCK = {"NONE": 1, "RLE": 1, "ZIPS": 1, "ZIP": 16}
_TILED, _LONG_NAMES, _DEEP, _MULTIPART = 0x200, 0x400, 0x800, 0x1000


# ---------------------------------------------------------------- byte transforms
def _predict_interleave(raw: bytes) -> np.ndarray:
    """EXR's ZIP/RLE pre-pass: split even/odd bytes into two halves, then delta-code."""
    b = np.frombuffer(raw, np.uint8)
    t = np.concatenate([b[0::2], b[1::2]])
    if t.size > 1:
        t[1:] = t[1:] - t[:-1] + np.uint8(128)  # uint8 arithmetic wraps mod 256 as the spec wants
    return t


def _unpredict_deinterleave(t: np.ndarray, size: int) -> bytes:
    """Inverse of `_predict_interleave`."""
    if t.size != size:
        raise ValueError(f"decompressed {t.size} bytes, expected {size}")
    d = t.copy()
    d[1:] -= np.uint8(128)
    x = np.cumsum(d, dtype=np.uint8)
    out = np.empty(size, np.uint8)
    half = (size + 1) // 2
    out[0::2] = x[:half]
    out[1::2] = x[half:]
    return out.tobytes()


def _rle_decode(data: bytes, size: int) -> np.ndarray:
    """OpenEXR RLE: signed count byte; negative -> copy -n literal bytes, else repeat next byte n+1 times."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        c = data[i] - 256 if data[i] > 127 else data[i]
        if c < 0:
            out += data[i + 1:i + 1 - c]
            i += 1 - c
        else:
            out += data[i + 1:i + 2] * (c + 1)
            i += 2
        if len(out) > size:
            break
    return np.frombuffer(bytes(out), np.uint8)


# ---------------------------------------------------------------- reading
def _cstr(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode("latin-1"), end + 1


def _parse_channels(value: bytes) -> list[tuple[str, int, int, int]]:
    chans, pos = [], 0
    while value[pos] != 0:
        name, pos = _cstr(value, pos)
        ptype, _plinear, xs, ys = struct.unpack_from("<iB3xii", value, pos)
        pos += 16
        chans.append((name, ptype, xs, ys))
    return chans


def read_exr_header(path) -> dict:
    """Header attributes of a scanline EXR's first part: {name: decoded value or raw bytes}."""
    headers, _ = _read_headers(Path(path), Path(path).read_bytes())
    return headers[0]


def read_exr_headers(path) -> list[dict]:
    """Header attributes of every part of a scanline EXR (one for a single-part file)."""
    return _read_headers(Path(path), Path(path).read_bytes())[0]


def _read_header(path: Path, buf: bytes) -> tuple[dict, int]:
    """The one header of a single-part file and the position of its offset table."""
    headers, pos = _read_headers(path, buf)
    if len(headers) != 1:
        raise MayhemInputError(path, "parts", f"expected a single-part EXR, found {len(headers)} parts")
    return headers[0], pos


def _parse_attributes(path: Path, buf: bytes, pos: int) -> tuple[dict, int]:
    """One header's attributes from `pos` up to its terminating null byte (returned past it)."""
    header = {}
    try:
        while buf[pos] != 0:
            name, pos = _cstr(buf, pos)
            atype, pos = _cstr(buf, pos)
            (size,) = struct.unpack_from("<i", buf, pos)
            value = buf[pos + 4:pos + 4 + size]
            pos += 4 + size
            if atype == "chlist":
                header[name] = _parse_channels(value)
            elif atype == "compression" or atype == "lineOrder":
                header[name] = value[0]
            elif atype == "box2i":
                header[name] = struct.unpack("<4i", value)
            elif atype in ("float", "int"):
                header[name] = struct.unpack("<" + atype[0], value)[0]
            elif atype == "string":
                header[name] = value.decode("utf-8", "replace")
            else:
                header[name] = value
    except (IndexError, ValueError, struct.error) as exc:
        raise MayhemInputError(path, "header", f"truncated or corrupt EXR header ({exc})") from None
    for key in ("channels", "compression", "dataWindow"):
        if key not in header:
            raise MayhemInputError(path, key, "required EXR header attribute is missing")
    return header, pos + 1


def _read_headers(path: Path, buf: bytes) -> tuple[list[dict], int]:
    """Every part's header and the position of the first offset table."""
    if len(buf) < 8 or struct.unpack_from("<i", buf, 0)[0] != MAGIC:
        raise MayhemInputError(path, None, "not an OpenEXR file (bad magic number)")
    flags = struct.unpack_from("<I", buf, 4)[0]
    if flags & _DEEP:
        raise MayhemInputError(path, "type", "deep EXR files are not supported")
    if flags & _TILED:
        raise MayhemInputError(path, "tiles", "tiled EXR files are not supported; write scanline images")
    pos = 8
    if not flags & _MULTIPART:
        header, pos = _parse_attributes(path, buf, pos)
        return [header], pos
    headers = []
    try:
        while buf[pos] != 0:  # multi-part: headers one after another, then an empty header
            header, pos = _parse_attributes(path, buf, pos)
            if header.get("type", "scanlineimage") != "scanlineimage":
                raise MayhemInputError(path, "type", f"part {header.get('name', len(headers))!r} is "
                                       f"{header['type']}; only scanline parts are supported")
            headers.append(header)
    except IndexError:
        raise MayhemInputError(path, "header", "truncated or corrupt EXR header (no end of parts)") from None
    if not headers:
        raise MayhemInputError(path, "parts", "multi-part EXR with no parts")
    return headers, pos + 1


def read_exr(path) -> dict[str, np.ndarray]:
    """Read every channel of a scanline EXR as {name: (H, W) array}, top row first.

    HALF channels come back as float32 (lossless), FLOAT as float32, UINT as uint32. The
    channels of all parts of a multi-part file are returned together.
    """
    path = Path(path)
    buf = path.read_bytes()
    headers, pos = _read_headers(path, buf)
    multipart = len(headers) > 1 or bool(struct.unpack_from("<I", buf, 4)[0] & _MULTIPART)
    tables = []
    for header in headers:
        comp = _COMPRESSIONS.get(header["compression"], f"#{header['compression']}")
        if comp not in _LINES_PER_BLOCK:
            raise MayhemInputError(path, "compression",
                                   f"{comp} compression is not supported (use NONE, RLE, ZIPS or ZIP)")
        x0, y0, x1, y1 = header["dataWindow"]
        n_chunks = -(-(y1 - y0 + 1) // _LINES_PER_BLOCK[comp])
        if pos + 8 * n_chunks > len(buf):
            raise MayhemInputError(path, "offsets", "file ends inside the offset table (truncated?)")
        tables.append(np.frombuffer(buf, "<u8", n_chunks, pos))
        pos += 8 * n_chunks
    out = {}
    for part, (header, offsets) in enumerate(zip(headers, tables)):
        channels = _read_part(path, buf, header, offsets, part if multipart else None)
        clash = out.keys() & channels.keys()
        if clash:
            raise MayhemInputError(path, "channels", f"channel {sorted(clash)[0]!r} is in more than one part")
        out.update(channels)
    return out


def _read_part(path: Path, buf: bytes, header: dict, offsets: np.ndarray, part: int | None) -> dict:
    """Decode one part's chunks; `part` is its number in a multi-part file (chunks start with it)."""
    comp = _COMPRESSIONS[header["compression"]]
    x0, y0, x1, y1 = header["dataWindow"]
    width, height = x1 - x0 + 1, y1 - y0 + 1
    chans = header["channels"]
    for name, ptype, xs, ys in chans:
        if ptype not in _PIXEL_DTYPES:
            raise MayhemInputError(path, "channels", f"channel {name!r} has unknown pixel type {ptype}")
        if (xs, ys) != (1, 1):
            raise MayhemInputError(path, "channels", f"channel {name!r} is subsampled ({xs}x{ys}); not supported")
    sizes = [_PIXEL_DTYPES[p].itemsize * width for _, p, _, _ in chans]
    line_bytes = sum(sizes)
    lpb = _LINES_PER_BLOCK[comp]
    prefix = 0 if part is None else 4
    out = {name: np.empty((height, width), _PIXEL_DTYPES[p]) for name, p, _, _ in chans}
    for off in offsets:
        off = int(off)
        try:
            if part is not None and struct.unpack_from("<i", buf, off)[0] != part:
                raise MayhemInputError(path, "offsets", f"a chunk of part {part} names another part")
            y, size = struct.unpack_from("<ii", buf, off + prefix)
        except struct.error:
            raise MayhemInputError(path, "offsets", "chunk offset points outside the file (truncated?)") from None
        row = y - y0
        n_lines = min(lpb, height - row)
        if row < 0 or n_lines <= 0:
            raise MayhemInputError(path, "offsets", f"chunk has scanline y={y} outside the data window")
        start = off + prefix + 8
        data = buf[start:start + size]
        expected = n_lines * line_bytes
        if len(data) != size:
            raise MayhemInputError(path, "offsets", "chunk runs past the end of the file (truncated?)")
        if size < expected:  # stored compressed; otherwise the writer kept it raw
            try:
                if comp == "RLE":
                    t = _rle_decode(data, expected)
                else:
                    t = np.frombuffer(zlib.decompress(data), np.uint8)
                data = _unpredict_deinterleave(t, expected)
            except (zlib.error, ValueError) as exc:
                raise MayhemInputError(path, "compression", f"corrupt {comp} chunk at y={y}: {exc}") from None
        elif size != expected:
            raise MayhemInputError(path, "offsets", f"chunk at y={y} has {size} bytes, expected {expected}")
        block = np.frombuffer(data, np.uint8).reshape(n_lines, line_bytes)
        col = 0
        for (name, p, _, _), nbytes in zip(chans, sizes):
            out[name][row:row + n_lines] = block[:, col:col + nbytes].copy().view(_PIXEL_DTYPES[p])
            col += nbytes
    return {name: a.astype(np.float32 if a.dtype.kind == "f" else np.uint32, copy=False)
            for name, a in out.items()}


# ---------------------------------------------------------------- writing
def _attr(name: str, atype: str, value: bytes) -> bytes:
    return name.encode() + b"\0" + atype.encode() + b"\0" + struct.pack("<i", len(value)) + value


def exr_bytes(channels: dict[str, np.ndarray], compression: str = "ZIP") -> bytes:
    """Serialise (H, W) channels as FLOAT into a single-part scanline EXR (NONE or ZIP)."""
    if compression not in ("NONE", "ZIP"):
        raise ValueError(f"compression must be 'NONE' or 'ZIP', got {compression!r}")
    if not channels:
        raise ValueError("write_exr needs at least one channel")
    names = sorted(channels, key=lambda n: n.encode())  # the spec orders channels by name
    arrays = [np.asarray(channels[n], dtype="<f4") for n in names]
    shape = arrays[0].shape
    if len(shape) != 2 or any(a.shape != shape for a in arrays) or 0 in shape:
        raise ValueError(f"channels must be non-empty (H, W) arrays of one shape, got {[a.shape for a in arrays]}")
    height, width = shape
    long_names = any(len(n.encode()) > 31 for n in names)
    chlist = b"".join(n.encode() + b"\0" + struct.pack("<iB3xii", 2, 0, 1, 1) for n in names) + b"\0"
    window = struct.pack("<4i", 0, 0, width - 1, height - 1)
    comp_id = {"NONE": 0, "ZIP": 3}[compression]
    header = b"".join([
        struct.pack("<iI", MAGIC, 2 | (_LONG_NAMES if long_names else 0)),
        _attr("channels", "chlist", chlist),
        _attr("compression", "compression", bytes([comp_id])),
        _attr("dataWindow", "box2i", window),
        _attr("displayWindow", "box2i", window),
        _attr("lineOrder", "lineOrder", b"\0"),  # INCREASING_Y: top row first
        _attr("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
        _attr("screenWindowCenter", "v2f", struct.pack("<2f", 0.0, 0.0)),
        _attr("screenWindowWidth", "float", struct.pack("<f", 1.0)),
        b"\0",
    ])
    lines = np.stack(arrays, axis=1)  # (H, C, W): each scanline is channel after channel
    lpb = _LINES_PER_BLOCK[compression]
    chunks = []
    for row in range(0, height, lpb):
        raw = lines[row:row + lpb].tobytes()
        if compression == "ZIP":
            packed = zlib.compress(_predict_interleave(raw).tobytes(), 6)
            if len(packed) < len(raw):
                raw = packed
        chunks.append(struct.pack("<ii", row, len(raw)) + raw)
    table_start = len(header)
    pos = table_start + 8 * len(chunks)
    offsets = []
    for c in chunks:
        offsets.append(pos)
        pos += len(c)
    return header + np.asarray(offsets, "<u8").tobytes() + b"".join(chunks)


def write_exr(path, channels: dict[str, np.ndarray], compression: str = "ZIP") -> Path:
    """Write (H, W) channels (stored as float32, top row first) to `path` atomically."""
    return atomic_write_bytes(path, exr_bytes(channels, compression))


DEPTH_CHANNEL = "Y"


def write_depth_exr(path, depth: np.ndarray, compression: str = "ZIP") -> Path:
    """Dataset depth file: one FLOAT channel 'Y', metres along camera z, +inf = background."""
    return write_exr(path, {DEPTH_CHANNEL: np.asarray(depth, np.float32)}, compression)


def read_depth_exr(path) -> np.ndarray:
    """Read a dataset depth file written by `write_depth_exr` as (H, W) float32."""
    channels = read_exr(path)
    if DEPTH_CHANNEL not in channels:
        raise MayhemInputError(path, "channels", f"depth EXR has no {DEPTH_CHANNEL!r} channel (has {sorted(channels)})")
    return channels[DEPTH_CHANNEL]
