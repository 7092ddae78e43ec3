"""Deterministic .npz writing (same arrays -> same bytes), and reading text fields back.

`np.savez` stamps every member with the current time, so two runs never match byte for
byte. Datasets promise "same config + same seed -> same labels, byte for byte", and the
committed assets promise a byte-identical rebuild, so every .npz Mayhem writes goes here.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from ..errors import MayhemInputError
from .atomic import atomic_write_bytes

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def npz_bytes(arrays: dict, compress: bool = True, allow_pickle: bool = False) -> bytes:
    """Serialise arrays into .npz bytes with fixed timestamps and member order as given.

    allow_pickle: let object arrays through (a dict stored as a 0-d object array, as
    MMHuman3D's HumanData does); their pickles are deterministic for the same contents."""
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_DATE)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            info.create_system = 3  # same bytes when written on Windows
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=allow_pickle)
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def save_npz(path, arrays: dict, compress: bool = True, allow_pickle: bool = False) -> Path:
    """Write a deterministic .npz atomically (temp file in the same folder, then rename)."""
    return atomic_write_bytes(path, npz_bytes(arrays, compress=compress, allow_pickle=allow_pickle))


def text_field(path, key: str, value) -> str:
    """A text field of a model or motion file: a one-element string array (npz) or a str/bytes
    (pickle), as str; anything else, or bytes that are not UTF-8, is a MayhemInputError."""
    if isinstance(value, np.ndarray):
        if value.size != 1 or value.dtype.kind not in "SU":
            raise MayhemInputError(path, key, f"expected a string, got dtype {value.dtype} shape {value.shape}")
        value = value.reshape(()).item()
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise MayhemInputError(path, key, f"{value!r} is not UTF-8 text") from None
    return str(value)
