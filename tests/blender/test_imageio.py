"""core/atomic, core/png and core/exr: round trips, hand-made edge cases, and Blender as an
independent oracle (its own writers for our readers, its own loaders for our writers)."""
from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import pytest
from blender_scenes import pass_scene

from mayhem.core.errors import MayhemInputError
from mayhem.core.io import atomic, exr, png

RNG = np.random.default_rng(1234)


# ------------------------------------------------------------------ helpers
def blender_pixels(bpy, path, non_color=False):
    """Pixels as Blender's own loader sees them: (H, W, 4) float32, top row first."""
    img = bpy.data.images.load(str(path))
    if non_color:
        img.colorspace_settings.name = "Non-Color"
    w, h = img.size
    px = np.empty(w * h * 4, np.float32)
    img.pixels.foreach_get(px)
    return px.reshape(h, w, 4)[::-1]  # Blender stores the bottom row first


def png_chunks(data: bytes):
    pos, out = 8, []
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        out.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return out


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def build_png(ihdr: bytes, raw_rows: np.ndarray, extra=()) -> bytes:
    """A PNG from already-packed scanlines (filter 0), for formats our writer does not produce."""
    body = np.concatenate([np.zeros((len(raw_rows), 1), np.uint8), raw_rows], axis=1).tobytes()
    chunks = [(b"IHDR", ihdr), *extra, (b"IDAT", zlib.compress(body)), (b"IEND", b"")]
    return png.SIGNATURE + b"".join(chunk(k, v) for k, v in chunks)


# ------------------------------------------------------------------ atomic
def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    atomic.atomic_write_text(target, "one")
    atomic.atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]


def test_atomic_path_failure_keeps_old_file_and_removes_temp(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.name == f".a.bin.tmp-{os.getpid()}"
            tmp.write_bytes(b"half")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_safe_join(tmp_path):
    assert atomic.safe_join(tmp_path, "seq_000000", "mask") == (tmp_path / "seq_000000" / "mask").resolve()
    for bad in (("..", "x"), ("a/../../x",), ("/etc/passwd",)):
        with pytest.raises(ValueError, match="escapes the output folder"):
            atomic.safe_join(tmp_path, *bad)
    (tmp_path / "link").symlink_to(tmp_path.parent)
    with pytest.raises(ValueError, match="link"):
        atomic.safe_join(tmp_path, "link", "x")


# ------------------------------------------------------------------ PNG round trips
@pytest.mark.parametrize("shape", [(7, 5), (1, 1), (1, 9), (9, 4, 1), (9, 4, 2), (6, 11, 3), (5, 3, 4)])
def test_png_round_trip_8bit(tmp_path, shape):
    a = RNG.integers(0, 256, shape, dtype=np.uint8)
    b = png.read_png(png.write_png(tmp_path / "a.png", a))
    assert b.dtype == np.uint8 and b.flags.writeable
    np.testing.assert_array_equal(b, a[..., 0] if shape[-1:] == (1,) and len(shape) == 3 else a)


@pytest.mark.parametrize("shape", [(7, 5), (1, 1), (1, 9), (64, 3)])
def test_png_round_trip_16bit_gray(tmp_path, shape):
    a = RNG.integers(0, 65536, shape, dtype=np.uint16)
    a.flat[:min(a.size, 5)] = [0, 1, 32767, 32768, 65535][:min(a.size, 5)]
    b = png.read_png(png.write_png(tmp_path / "a.png", a))
    assert b.dtype == np.uint16 and b.shape == a.shape and b.flags.writeable
    np.testing.assert_array_equal(b, a)


def test_mask_ids_are_exact_16bit(tmp_path):
    """Instance ids 0..65535 survive exactly: no scaling, dithering or colour management."""
    ids = np.arange(256 * 256, dtype=np.uint16).reshape(256, 256)
    data = png.write_png(tmp_path / "mask.png", ids).read_bytes()
    np.testing.assert_array_equal(png.read_png(tmp_path / "mask.png"), ids)
    ihdr = png_chunks(data)[0][1]
    assert ihdr[8:10] == bytes([16, 0])  # bit depth 16, colour type 0 (gray)


_BYTES_IN_CHILD = """
import hashlib, sys
import numpy as np
from mayhem.core.io.png import png_bytes
a = np.random.default_rng(7).integers(0, 65536, (90, 160), dtype=np.uint16)
a[0, :5] = [0, 1, 32767, 32768, 65535]
rgb = np.random.default_rng(8).integers(0, 256, (90, 160, 3), dtype=np.uint8)
print(hashlib.sha256(png_bytes(a)).hexdigest(), hashlib.sha256(png_bytes(rgb)).hexdigest())
"""


def test_png_writer_is_deterministic_and_checks_input(tmp_path):
    """Same array, same bytes: in this process, from a non-contiguous or big-endian copy, and in
    a fresh interpreter; and nothing but IHDR, IDAT and IEND (no time or text chunks)."""
    import hashlib
    import subprocess
    import sys

    a = np.random.default_rng(7).integers(0, 65536, (90, 160), dtype=np.uint16)
    a[0, :5] = [0, 1, 32767, 32768, 65535]
    rgb = np.random.default_rng(8).integers(0, 256, (90, 160, 3), dtype=np.uint8)
    ours = png.png_bytes(a)
    assert ours == png.png_bytes(a.astype(">u2")) == png.png_bytes(np.asfortranarray(a))
    assert png.png_bytes(rgb) == png.png_bytes(rgb[:, ::-1][:, ::-1])
    assert [k for k, _ in png_chunks(ours)] == [b"IHDR", b"IDAT", b"IEND"]
    assert png.write_png(tmp_path / "a.png", a).read_bytes() == ours
    child = subprocess.run([sys.executable, "-c", _BYTES_IN_CHILD], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == [hashlib.sha256(ours).hexdigest(), hashlib.sha256(png.png_bytes(rgb)).hexdigest()]
    for bad in (rgb.astype(np.float32), rgb[..., :0], np.zeros((2, 2, 5), np.uint8), np.zeros((2, 2, 3), np.uint16),
                np.zeros(4, np.uint8), np.zeros((2, 2), np.int32)):
        with pytest.raises(ValueError, match="PNG arrays"):
            png.png_bytes(bad)


def test_png_palette_and_low_bit_depths(tmp_path):
    h, w = 5, 13
    idx = RNG.integers(0, 16, (h, w), dtype=np.uint8)
    palette = RNG.integers(0, 256, (16, 3), dtype=np.uint8)
    trns = RNG.integers(0, 256, 10, dtype=np.uint8)  # shorter than the palette: rest is opaque
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)
    path = tmp_path / "pal.png"
    path.write_bytes(build_png(ihdr, idx, [(b"PLTE", palette.tobytes()), (b"tRNS", trns.tobytes())]))
    alpha = np.concatenate([trns, np.full(6, 255, np.uint8)])
    np.testing.assert_array_equal(png.read_png(path), np.concatenate([palette, alpha[:, None]], axis=1)[idx])
    path.write_bytes(build_png(ihdr, idx, [(b"PLTE", palette.tobytes())]))
    np.testing.assert_array_equal(png.read_png(path), palette[idx])
    for depth in (1, 2, 4):  # gray below 8 bits: scaled to 0..255
        values = RNG.integers(0, 2**depth, (h, w), dtype=np.uint8)
        packed = np.packbits(np.unpackbits(values[..., None], axis=2)[..., 8 - depth:].reshape(h, -1), axis=1)
        path.write_bytes(build_png(struct.pack(">IIBBBBB", w, h, depth, 0, 0, 0, 0), packed))
        got = png.read_png(path)
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, values * (255 // (2**depth - 1)), err_msg=f"{depth}-bit gray")


def test_png_bad_files_raise_clear_errors(tmp_path):
    good = png.png_bytes(RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    idat = good.index(b"IDAT") + 8
    flipped = bytearray(good)
    flipped[idat + 5] ^= 0x10  # one bit of the deflate stream: caught by the IDAT CRC
    rgb16 = build_png(struct.pack(">IIBBBBB", 2, 2, 16, 2, 0, 0, 0), np.zeros((2, 12), np.uint8))
    cases = [(b"GIF89a" + good, "signature: not a PNG"), (b"", "signature: not a PNG"),
             (bytes(flipped), "image data: damaged PNG"), (good[:-12], "image data: damaged PNG"),
             (good[:idat + 20], "image data: damaged PNG"), (rgb16, "IHDR: 16-bit colour")]
    for data, expected in cases:
        path = tmp_path / "x.png"
        path.write_bytes(data)
        with pytest.raises(MayhemInputError, match=rf"x\.png: {expected}") as err:
            png.read_png(path)
        assert "\n" not in str(err.value)


# ------------------------------------------------------------------ PNG vs Blender
def test_png_written_by_us_loads_identically_in_blender(tmp_path, fresh_blender):
    bpy = fresh_blender
    rgba = RNG.integers(0, 256, (13, 21, 4), dtype=np.uint8)
    png.write_png(tmp_path / "rgba.png", rgba)
    np.testing.assert_array_equal(np.rint(blender_pixels(bpy, tmp_path / "rgba.png") * 255), rgba)
    gray16 = RNG.integers(0, 65536, (13, 21), dtype=np.uint16)
    png.write_png(tmp_path / "g16.png", gray16)
    px = blender_pixels(bpy, tmp_path / "g16.png", non_color=True)
    np.testing.assert_array_equal(np.rint(px[..., 0] * 65535.0), gray16)


def test_png_written_by_blender_reads_like_blender(tmp_path, fresh_blender):
    """Blender (libpng, adaptive filters incl. Paeth) writes 8-bit RGB (Mayhem's renders) and
    RGBA, and 16-bit BW; 16-bit colour, which Pillow would cut to 8 bits, is refused."""
    bpy = fresh_blender
    scene = bpy.context.scene
    scene.view_settings.view_transform = "Standard"
    h, w = 37, 61
    yy, xx = np.mgrid[0:h, 0:w]
    rgba = np.stack([xx / (w - 1), yy / (h - 1), (xx + yy) % 7 / 6, np.ones((h, w))], -1)
    img = bpy.data.images.new("src", w, h, alpha=True, float_buffer=True)
    img.pixels.foreach_set(rgba[::-1].astype(np.float32).ravel())
    settings = scene.render.image_settings
    settings.file_format = "PNG"
    for mode, depth, channels in (("RGB", "8", 3), ("RGBA", "8", 4), ("BW", "16", 1), ("RGB", "16", 3)):
        settings.color_mode, settings.color_depth = mode, depth
        path = tmp_path / f"{mode}{depth}.png"
        img.save_render(str(path), scene=scene)
        if depth == "16" and channels > 1:
            with pytest.raises(MayhemInputError, match=rf"{mode}16\.png: IHDR: 16-bit colour"):
                png.read_png(path)
            continue
        ours = png.read_png(path)
        scale = 255.0 if depth == "8" else 65535.0
        assert ours.dtype == (np.uint8 if depth == "8" else np.uint16)
        assert ours.shape == ((h, w, channels) if channels > 1 else (h, w))
        theirs = np.rint(blender_pixels(bpy, path, non_color=True) * scale)
        theirs = theirs[..., :channels] if channels > 1 else theirs[..., 0]
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{mode} {depth}-bit")
        assert len(np.unique(ours)) > 50  # a real gradient, not a blank image
        if channels > 1:  # red grows left to right, green top to bottom, as we put them in
            assert np.all(np.diff(ours[..., 0].astype(int), axis=1) >= 0) and ours[0, 0, 0] < ours[0, -1, 0]
            assert np.all(np.diff(ours[..., 1].astype(int), axis=0) >= 0) and ours[0, 0, 1] < ours[-1, 0, 1]


# ------------------------------------------------------------------ EXR round trips
def _special_floats(h, w):
    a = RNG.normal(0, 100, (h, w)).astype(np.float32)
    a.flat[:6] = [np.inf, -np.inf, np.nan, -0.0, 1e-42, np.finfo(np.float32).max]
    return a


@pytest.mark.parametrize("compression", ["NONE", "ZIP"])
@pytest.mark.parametrize("shape", [(1, 1), (17, 3), (40, 33)])
def test_exr_round_trip_bit_exact(tmp_path, compression, shape):
    channels = {"Z": _special_floats(*shape), "b.V": np.ones(shape, np.float32), "A": _special_floats(*shape)}
    path = exr.write_exr(tmp_path / "d.exr", channels, compression)
    back = exr.read_exr(path)
    assert list(back) == ["A", "Z", "b.V"]  # the spec orders channels by name
    for name, a in channels.items():
        assert back[name].dtype == np.float32
        np.testing.assert_array_equal(back[name].view(np.uint32), a.view(np.uint32))
    header = exr.read_exr_header(path)
    assert header["compression"] == {"NONE": 0, "ZIP": 3}[compression]
    assert header["dataWindow"] == (0, 0, shape[1] - 1, shape[0] - 1)


def test_exr_zip_compresses_smooth_data_and_depth_contract(tmp_path):
    yy, xx = np.mgrid[0:180, 0:320]
    depth = (2.0 + 0.01 * xx + 0.003 * yy).astype(np.float32)
    depth[:30] = np.inf  # background
    exr.write_depth_exr(tmp_path / "z.exr", depth, "ZIP")
    exr.write_depth_exr(tmp_path / "z0.exr", depth, "NONE")
    assert os.path.getsize(tmp_path / "z.exr") < 0.5 * os.path.getsize(tmp_path / "z0.exr")
    assert [c[0] for c in exr.read_exr_header(tmp_path / "z.exr")["channels"]] == ["Y"]
    np.testing.assert_array_equal(exr.read_depth_exr(tmp_path / "z.exr"), depth)


def test_exr_decreasing_line_order(tmp_path):
    """Same pixels stored bottom block first with lineOrder = DECREASING_Y."""
    a = _special_floats(5, 4)
    data = exr.exr_bytes({"Y": a}, "NONE")
    header, pos = exr._read_header(tmp_path, data)
    offsets = np.frombuffer(data, "<u8", 5, pos)
    chunks = [data[o:(offsets[i + 1] if i + 1 < 5 else len(data))] for i, o in enumerate(offsets)]
    start = pos + 8 * 5
    new_offsets, body = [0] * 5, b""
    for i in reversed(range(5)):  # physically store the last scanline first
        new_offsets[i] = start + len(body)
        body += chunks[i]
    head = bytearray(data[:pos])
    lo = head.index(b"lineOrder\0lineOrder\0") + len(b"lineOrder\0lineOrder\0") + 4
    head[lo] = 1
    (tmp_path / "dec.exr").write_bytes(bytes(head) + np.asarray(new_offsets, "<u8").tobytes() + body)
    assert exr.read_exr_header(tmp_path / "dec.exr")["lineOrder"] == 1
    np.testing.assert_array_equal(exr.read_exr(tmp_path / "dec.exr")["Y"].view(np.uint32), a.view(np.uint32))


def test_exr_bad_files_raise_clear_errors(tmp_path):
    data = exr.exr_bytes({"Z": np.zeros((20, 10), np.float32)}, "ZIP")
    table = exr._read_header(tmp_path, data)[1]
    for cut in (len(data) - 10, table + 4):  # inside the last chunk, inside the offset table
        (tmp_path / "t.exr").write_bytes(data[:cut])
        with pytest.raises(MayhemInputError, match=r"t\.exr: offsets"):
            exr.read_exr(tmp_path / "t.exr")
    (tmp_path / "t.exr").write_bytes(b"\0" * 64)
    with pytest.raises(MayhemInputError, match="not an OpenEXR"):
        exr.read_exr(tmp_path / "t.exr")
    with pytest.raises(ValueError):
        exr.write_exr(tmp_path / "u.exr", {"Z": np.zeros((2, 2)), "Y": np.zeros((3, 2))})
    with pytest.raises(ValueError):
        exr.write_exr(tmp_path / "u.exr", {"Z": np.zeros((2, 2))}, "PIZ")


# ------------------------------------------------------------------ EXR vs Blender
def test_exr_written_by_us_loads_identically_in_blender(tmp_path, fresh_blender):
    bpy = fresh_blender
    rgba = {c: RNG.normal(0, 10, (23, 37)).astype(np.float32) for c in "RGBA"}
    exr.write_exr(tmp_path / "rgba.exr", rgba, "ZIP")
    px = blender_pixels(bpy, tmp_path / "rgba.exr")
    for i, c in enumerate("RGBA"):
        np.testing.assert_array_equal(px[..., i], rgba[c])
    gray = _special_floats(23, 37)
    gray[~np.isfinite(gray)] = 7.0
    exr.write_exr(tmp_path / "gray.exr", {"Y": gray}, "NONE")
    np.testing.assert_array_equal(blender_pixels(bpy, tmp_path / "gray.exr")[..., 0], gray)
    # Note: Blender 4.5's image loader does not show a lone 'Z' channel (the dataset's depth
    # layout); the bytes are laid out exactly as for 'Y' above, which it reads correctly.


@pytest.fixture(scope="module")
def cycles_render(tmp_path_factory):
    """One tiny Cycles render; the compositor writes the passes with every codec Blender offers."""
    import bpy

    out = tmp_path_factory.mktemp("cycles")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene, tree, rlayers = pass_scene(bpy, 64, 36, samples=4)
    bpy.ops.mesh.primitive_cube_add(size=1, location=(-0.8, 0, 0.3))
    bpy.context.object.pass_index = 3
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.4, location=(0.9, 1.0, -0.2))
    bpy.context.object.pass_index = 5
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    scene.collection.objects.link(sun)
    from mayhem.scene import blender_compat as compat

    compat.add_composite_output(tree, compat.render_layer_socket(rlayers, "Image"))

    def file_output(sub, codec, depth, inputs, multilayer=True):
        node = compat.add_file_output(tree, {name: compat.render_layer_socket(rlayers, name) for name in inputs},
                                      multilayer=multilayer, codec=codec, color_depth=depth)
        compat.set_file_output_pattern(node, out / sub, "####")

    for codec in ("NONE", "ZIP", "ZIPS", "RLE", "PIZ"):
        file_output(codec, codec, "32", ["Image", "Depth", "IndexOB"])
    file_output("HALF", "ZIP", "16", ["Image", "Depth", "IndexOB"])
    file_output("SINGLE", "ZIP", "32", ["Image"], multilayer=False)
    scene.render.filepath = str(out / "rgb.png")
    scene.render.image_settings.file_format = "PNG"
    bpy.ops.render.render(write_still=True)
    settings = scene.render.image_settings
    compat.set_exr_format(settings, multilayer=True, codec="ZIP", color_depth="32")
    bpy.data.images["Render Result"].save_render(str(out / "render_multilayer.exr"), scene=scene)
    return out


def test_blender_multilayer_channel_names(cycles_render):
    names = set(exr.read_exr(cycles_render / "ZIP" / "0001.exr"))
    assert names == {"Image.R", "Image.G", "Image.B", "Image.A", "Depth.V", "IndexOB.V"}
    names = set(exr.read_exr(cycles_render / "render_multilayer.exr"))
    from mayhem.scene import blender_compat as compat

    index = compat.pass_name("IndexOB")
    assert {"ViewLayer.Combined.R", "ViewLayer.Depth.Z", f"ViewLayer.{index}.X"} <= names


def test_blender_codecs_read_identically(cycles_render):
    ref = exr.read_exr(cycles_render / "NONE" / "0001.exr")
    for codec in ("ZIP", "ZIPS", "RLE"):
        path = cycles_render / codec / "0001.exr"
        got = exr.read_exr(path)
        assert got.keys() == ref.keys()
        for name in ref:
            np.testing.assert_array_equal(got[name].view(np.uint32), ref[name].view(np.uint32), err_msg=codec)
        assert os.path.getsize(path) < os.path.getsize(cycles_render / "NONE" / "0001.exr")
    half = exr.read_exr(cycles_render / "HALF" / "0001.exr")
    types = {c[0]: c[1] for h in exr.read_exr_headers(cycles_render / "HALF" / "0001.exr") for c in h["channels"]}
    assert types["Image.R"] == 1 and types["Depth.V"] == 2  # Blender keeps data passes in float
    for c in "RGBA":
        np.testing.assert_array_equal(half[f"Image.{c}"], ref[f"Image.{c}"].astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(half["Depth.V"], ref["Depth.V"])
    with pytest.raises(MayhemInputError, match=r"0001\.exr: compression: PIZ"):
        exr.read_exr(cycles_render / "PIZ" / "0001.exr")


def test_blender_passes_have_expected_values(cycles_render):
    """Ids, depth and orientation: the cube is top-left in the image, its front face at 3.5 m."""
    passes = exr.read_exr(cycles_render / "ZIP" / "0001.exr")
    index, depth = passes["IndexOB.V"], passes["Depth.V"]
    assert set(np.unique(index)) == {0.0, 3.0, 5.0}
    ys, xs = np.nonzero(index == 3)
    assert xs.mean() < 32 and ys.mean() < 18  # top-left: rows are top first, columns left first
    ys, xs = np.nonzero(index == 5)
    assert xs.mean() > 32 and ys.mean() > 18
    # camera at y=-4 looking along +y; the cube's front face is the plane y=-0.5
    fx = 50 / 36 * 64
    u = fx * -0.8 / 3.5 + 31.5
    v = fx * -0.3 / 3.5 + 17.5
    assert index[round(v), round(u)] == 3
    assert depth[round(v), round(u)] == pytest.approx(3.5, abs=1e-4)
    assert np.all(depth[index == 0] == np.float32(1e10))  # Blender's "no hit" depth


def test_blender_exr_and_png_read_like_blender(cycles_render, fresh_blender):
    bpy = fresh_blender
    from mayhem.scene import blender_compat as compat

    path = compat.single_layer_file(cycles_render / "SINGLE", "####", "Image", 1)
    ours = exr.read_exr(path)
    theirs = blender_pixels(bpy, path)
    for i, c in enumerate("RGBA"):
        np.testing.assert_array_equal(ours[c], theirs[..., i])
    assert ours["R"].std() > 0
    rgb = png.read_png(cycles_render / "rgb.png")
    assert rgb.shape == (36, 64, 4) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, np.rint(blender_pixels(bpy, cycles_render / "rgb.png", True) * 255))


def test_strip_png_metadata_keeps_pixels(tmp_path):
    img = (np.arange(12 * 7 * 3) % 251).astype(np.uint8).reshape(12, 7, 3)
    raw = png.png_bytes(img)
    path = tmp_path / "a.png"
    extra = chunk(b"tEXt", b"RenderTime\x0000:01.23") + chunk(b"tIME", bytes(7))
    path.write_bytes(raw[:33] + extra + raw[33:])  # after IHDR, as Blender writes it
    assert [k for k, _ in png_chunks(path.read_bytes())] == [b"IHDR", b"tEXt", b"tIME", b"IDAT", b"IEND"]
    png.strip_png_metadata(path)
    assert path.read_bytes() == raw
    np.testing.assert_array_equal(png.read_png(path), img)
    path.write_bytes(raw[:-6])
    with pytest.raises(MayhemInputError, match=r"a\.png: chunks: truncated chunk at byte"):
        png.strip_png_metadata(path)
    assert path.read_bytes() == raw[:-6]  # a failed strip leaves the file as it was
