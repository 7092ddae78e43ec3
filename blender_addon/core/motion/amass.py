"""AMASS motion loading, resampling and writing, in SMPL-X parameters (pure numpy).

Supported AMASS layouts (decided by the width of ``poses``):

* SMPL+H ("SMPL+H G"): ``poses`` (F,156), ``trans``, ``betas`` (16,), ``gender``,
  ``mocap_framerate``, ``dmpls`` (ignored: DMPL soft tissue has no SMPL-X counterpart).
  The 15 finger joints per hand are in SMPL-X order, so hands map one to one; jaw and eyes
  are zero.
* SMPL-X ("SMPL-X N/G"): ``poses`` (F,165) plus the split keys ``root_orient``,
  ``pose_body``, ``pose_hand``, ``pose_jaw``, ``pose_eye``; ``mocap_frame_rate``,
  ``surface_model_type``, ``num_betas``, betas of any length (10, 16, 300, ...), and
  optionally ``expression`` or ``expressions`` (F,E).
* Split only: no ``poses`` but ``root_orient`` (F,3) and ``pose_body`` (F,63), with
  ``pose_hand`` (F,90), ``pose_jaw`` (F,3), ``pose_eye`` (F,6) when present (zero when not).

Both frame-rate spellings (``mocap_framerate``, ``mocap_frame_rate``) are read; ``gender``
may be str or bytes (0-d or one-element array). Files are opened with
``allow_pickle=False``: a key stored as a pickled object array is reported, never unpickled.

Every problem with a file raises :class:`MayhemInputError` naming the file and the key.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace

import numpy as np

from ..body.skeleton import GENDERS, POSE_PARAM_DIMS, POSE_PARAM_NAMES, POSE_SLICES, SMPLH_POSE_SLICES
from ..errors import MayhemInputError
from ..geometry.rotations import axis_angle_to_quaternion, quaternion_to_axis_angle, slerp
from ..io.npz import save_npz, text_field

FRAME_RATE_KEYS = ("mocap_frame_rate", "mocap_framerate")
EXPRESSION_KEYS = ("expression", "expressions")
# Split SMPL-X keys: name -> (width, [(pose param, columns of the key)]).
_SPLIT_KEYS = {
    "root_orient": (3, [("global_orient", slice(0, 3))]),
    "pose_body": (63, [("body_pose", slice(0, 63))]),
    "pose_jaw": (3, [("jaw_pose", slice(0, 3))]),
    "pose_eye": (6, [("leye_pose", slice(0, 3)), ("reye_pose", slice(3, 6))]),
    "pose_hand": (90, [("left_hand_pose", slice(0, 45)), ("right_hand_pose", slice(45, 90))]),
}
_REQUIRED_SPLIT = ("root_orient", "pose_body")
# Frames whose source time is this close (in source frames) to a sample are copied exactly.
_SNAP = 1e-9


@dataclass
class MotionClip:
    """One motion in SMPL-X parameters, world frame as AMASS stores it (Z up), at `fps`.

    All per-frame arrays share the first dimension F (``num_frames``). Pose arrays are
    axis-angle, float64; hand poses are full (not PCA) with a flat hand mean.
    ``source_format`` tells where the parameters came from: 'smplh' clips carry SMPL+H
    betas (16), which are not SMPL-X betas.
    """

    global_orient: np.ndarray   # (F,3) float64 axis-angle
    body_pose: np.ndarray       # (F,63)
    jaw_pose: np.ndarray        # (F,3)
    leye_pose: np.ndarray       # (F,3)
    reye_pose: np.ndarray       # (F,3)
    left_hand_pose: np.ndarray  # (F,45) full hand pose, flat hand mean
    right_hand_pose: np.ndarray # (F,45)
    transl: np.ndarray          # (F,3)
    betas: np.ndarray           # (B,) float64
    expression: np.ndarray | None  # (F,E) or None when the file has none
    gender: str                 # 'neutral' | 'female' | 'male'
    fps: float
    source: str                 # file path or generator name
    source_format: str          # 'smplx' (165) | 'smplh' (156)

    def __post_init__(self):
        src = self.source
        for name in POSE_PARAM_NAMES + ("transl",):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        self.betas = np.asarray(self.betas, dtype=np.float64)
        if self.expression is not None:
            self.expression = np.asarray(self.expression, dtype=np.float64)
        if self.global_orient.ndim != 2 or self.global_orient.shape[0] == 0:
            raise MayhemInputError(src, "global_orient", f"shape {self.global_orient.shape}, expected (F, 3), F > 0")
        n = self.global_orient.shape[0]
        for name, width in dict(POSE_PARAM_DIMS, transl=3).items():
            arr = getattr(self, name)
            if arr.shape != (n, width):
                raise MayhemInputError(src, name, f"shape {arr.shape}, expected ({n}, {width})")
        if self.expression is not None and (self.expression.ndim != 2 or self.expression.shape[0] != n):
            raise MayhemInputError(src, "expression", f"shape {self.expression.shape}, expected ({n}, E)")
        if self.betas.ndim != 1:
            raise MayhemInputError(src, "betas", f"shape {self.betas.shape}, expected (B,)")
        if self.gender not in GENDERS:
            raise MayhemInputError(src, "gender", f"{self.gender!r}, expected one of {GENDERS}")
        self.fps = float(self.fps)
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise MayhemInputError(src, "fps", f"{self.fps}, expected a positive frame rate")
        if self.source_format not in ("smplx", "smplh"):
            raise MayhemInputError(src, "source_format", f"{self.source_format!r}, expected 'smplx' or 'smplh'")

    @property
    def num_frames(self) -> int:
        return int(self.global_orient.shape[0])

    @property
    def duration(self) -> float:
        """Time of the last frame, seconds (0 for a single frame)."""
        return (self.num_frames - 1) / self.fps

    def pose_params(self) -> dict[str, np.ndarray]:
        """The seven pose arrays by SMPL-X keyword (the clip's own arrays, not copies)."""
        return {name: getattr(self, name) for name in POSE_PARAM_NAMES}

    def full_pose(self) -> np.ndarray:
        """(F,165) SMPL-X pose vector in the layout of ``skeleton.POSE_SLICES``."""
        out = np.empty((self.num_frames, 165), dtype=np.float64)
        for name, sl in POSE_SLICES.items():
            out[:, sl] = getattr(self, name)
        return out

    def slice(self, start: int, stop: int) -> MotionClip:
        """Frames [start, stop) as a new clip (copies); requires 0 <= start < stop <= F."""
        start, stop = _check_range(self.source, (start, stop), self.num_frames)
        per_frame = {name: getattr(self, name)[start:stop].copy() for name in POSE_PARAM_NAMES}
        expr = None if self.expression is None else self.expression[start:stop].copy()
        return replace(self, **per_frame, transl=self.transl[start:stop].copy(),
                       expression=expr, betas=self.betas.copy())


def _check_range(source, frame_range, num_frames: int) -> tuple[int, int]:
    try:
        start, stop = frame_range
    except (TypeError, ValueError):
        raise MayhemInputError(source, "frame_range", f"{frame_range!r}, expected (start, stop)") from None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in (start, stop)):
        raise MayhemInputError(source, "frame_range", f"{frame_range!r}, expected two integers")
    start, stop = int(start), int(stop)
    if not (0 <= start < stop <= num_frames):
        raise MayhemInputError(
            source, "frame_range",
            f"[{start}, {stop}) is out of bounds: need 0 <= start < stop <= {num_frames} "
            f"(frames of the clip at its output frame rate)")
    return start, stop


def _check_fps(source, field: str, value) -> float:
    try:
        fps = float(value)
    except (TypeError, ValueError):
        raise MayhemInputError(source, field, f"{value!r} is not a number") from None
    if not (math.isfinite(fps) and fps > 0):
        raise MayhemInputError(source, field, f"{fps}, expected a positive frame rate")
    return fps


# ----------------------------------------------------------------------------- resampling

def resample(clip: MotionClip, target_fps: float) -> MotionClip:
    """Resample a clip to `target_fps`.

    Output frame k is at time k / target_fps, for every k whose time is <= the last
    source frame's time (no extrapolation; frame 0 is always kept). Every joint rotation
    is interpolated by slerp of quaternions (short way round), transl and expression
    linearly. Output frames that fall on a source frame (within 1e-9 frame) are exact
    copies, so 120 -> 30 fps keeps every 4th frame bit for bit.
    """
    target = _check_fps(clip.source, "target_fps", target_fps)
    n_src = clip.num_frames
    n_out = int(math.floor((n_src - 1) * target / clip.fps + _SNAP)) + 1
    pos = np.arange(n_out, dtype=np.float64) * clip.fps / target  # source frame of output k
    i0 = np.clip(np.floor(pos + _SNAP).astype(np.int64), 0, n_src - 1)
    frac = np.clip(pos - i0, 0.0, 1.0)
    exact = frac < _SNAP
    frac[exact] = 0.0
    i1 = np.minimum(i0 + 1, n_src - 1)

    params = clip.pose_params()
    names = list(params)
    widths = [params[n].shape[1] for n in names]
    aa = np.concatenate([params[n] for n in names], axis=1)    # (F, 165)
    aa_out = aa[i0]                                             # exact copies on source frames
    mid = ~exact
    if mid.any():
        q0 = axis_angle_to_quaternion(aa[i0[mid]].reshape(-1, 3))
        q1 = axis_angle_to_quaternion(aa[i1[mid]].reshape(-1, 3))
        t = np.repeat(frac[mid], aa.shape[1] // 3)
        aa_out[mid] = quaternion_to_axis_angle(slerp(q0, q1, t)).reshape(-1, aa.shape[1])

    out = {}
    col = 0
    for name, w in zip(names, widths):
        out[name] = aa_out[:, col:col + w].copy()
        col += w

    def lerp(x):  # exact on source frames: frac is 0 there
        return x[i0] * (1.0 - frac)[:, None] + x[i1] * frac[:, None]

    expr = None if clip.expression is None else lerp(clip.expression)
    return replace(clip, **out, transl=lerp(clip.transl), expression=expr,
                   betas=clip.betas.copy(), fps=target)


# ----------------------------------------------------------------------------- loading

def _open_npz(path: str):
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise MayhemInputError(path, None, "file not found") from None
    except IsADirectoryError:
        raise MayhemInputError(path, None, "is a directory, expected an AMASS .npz file") from None
    except Exception as exc:  # noqa: BLE001  a damaged archive fails in many ways
        if "pickle" in str(exc):  # neither a zip nor a .npy: numpy would try to unpickle it
            raise MayhemInputError(path, None, "not an npz archive (not a zip file; a pickle "
                                   "would not be loaded: untrusted data is never unpickled)") from None
        raise MayhemInputError(path, None, f"not a readable npz archive ({exc})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise MayhemInputError(path, None, "is a single .npy array, expected an AMASS .npz archive")
    return data


def _read(npz, path: str, key: str) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise MayhemInputError(
                path, key, "stored as a pickled object array; refusing to unpickle untrusted "
                "data (re-save it as a plain numeric/string array)") from None
        raise MayhemInputError(path, key, f"unreadable ({exc})") from None
    except Exception as exc:  # noqa: BLE001  a damaged .npy header or zip entry fails in many ways
        raise MayhemInputError(path, key, f"unreadable, file is corrupt ({type(exc).__name__}: {exc})") from None


def _numeric(path: str, key: str, arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise MayhemInputError(path, key, f"dtype {arr.dtype}, expected numbers")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise MayhemInputError(path, key, f"contains {bad} NaN/inf value(s)")
    return arr


def _per_frame(path: str, key: str, arr: np.ndarray, width: int, n: int | None) -> np.ndarray:
    rows = "F" if n is None else str(n)
    if arr.ndim != 2 or arr.shape[1] != width or (n is not None and arr.shape[0] != n):
        raise MayhemInputError(path, key, f"shape {arr.shape}, expected ({rows}, {width})")
    return _numeric(path, key, arr)


def _text(path: str, key: str, arr: np.ndarray) -> str:
    return text_field(path, key, arr).strip()


def load_amass(path, target_fps: float | None = 30.0,
               frame_range: tuple[int, int] | None = None) -> MotionClip:
    """Load an AMASS SMPL+H or SMPL-X npz as a SMPL-X :class:`MotionClip`.

    target_fps: resample to this rate (see :func:`resample`); None keeps the native rate.
    frame_range: (start, stop), half-open, in frames of the *resampled* clip (i.e. at
    target_fps, or the native rate when target_fps is None); 0 <= start < stop <= F.
    """
    path = os.fspath(path)
    if target_fps is not None:
        target_fps = _check_fps(path, "target_fps", target_fps)
    with _open_npz(path) as npz:
        keys = set(npz.files)

        def need(key: str) -> np.ndarray:
            if key not in keys:
                raise MayhemInputError(path, key, "missing key")
            return _read(npz, path, key)

        pose: dict[str, np.ndarray] = {}
        if "poses" in keys:
            poses = _read(npz, path, "poses")
            if poses.ndim != 2 or poses.shape[1] not in (156, 165):
                raise MayhemInputError(path, "poses", f"shape {poses.shape}, expected (F, 156) for "
                                       "SMPL+H or (F, 165) for SMPL-X")
            poses = _numeric(path, "poses", poses)
            n = poses.shape[0]
            if poses.shape[1] == 165:
                source_format = "smplx"
                for name, sl in POSE_SLICES.items():
                    pose[name] = poses[:, sl]
            else:
                source_format = "smplh"
                for name, sl in SMPLH_POSE_SLICES.items():
                    pose[name] = poses[:, sl]
        elif any(k in keys for k in _SPLIT_KEYS):
            n = None
            for key in _REQUIRED_SPLIT:
                if key not in keys:
                    raise MayhemInputError(path, key, "missing key (the file has split pose keys but "
                                           "no 'poses')")
            for key, (width, parts) in _SPLIT_KEYS.items():
                if key not in keys:
                    continue
                arr = _per_frame(path, key, _read(npz, path, key), width, n)
                n = arr.shape[0]
                for name, sl in parts:
                    pose[name] = arr[:, sl]
            smt = _text(path, "surface_model_type", _read(npz, path, "surface_model_type")).lower() \
                if "surface_model_type" in keys else ""
            if smt in ("smplx", "smplh"):
                source_format = smt
            else:
                source_format = "smplx" if ("pose_jaw" in keys or "pose_eye" in keys) else "smplh"
        else:
            raise MayhemInputError(path, "poses", "missing key (and no split root_orient/pose_body keys)")
        if n == 0:
            raise MayhemInputError(path, "poses", "zero frames")
        for name, dim in POSE_PARAM_DIMS.items():
            pose.setdefault(name, np.zeros((n, dim)))

        transl = _per_frame(path, "trans", need("trans"), 3, n)

        betas = need("betas")
        if betas.ndim == 2 and betas.shape[0] == 1:
            betas = betas[0]
        if betas.ndim != 1 or betas.shape[0] == 0:
            raise MayhemInputError(path, "betas", f"shape {betas.shape}, expected (B,) with B > 0")
        betas = _numeric(path, "betas", betas)

        gender = _text(path, "gender", need("gender")).lower()
        if gender not in GENDERS:
            raise MayhemInputError(path, "gender", f"{gender!r}, expected one of {GENDERS}")

        fps_key = next((k for k in FRAME_RATE_KEYS if k in keys), None)
        if fps_key is None:
            raise MayhemInputError(path, FRAME_RATE_KEYS[0],
                                   f"missing key (looked for {' and '.join(FRAME_RATE_KEYS)})")
        fps_arr = _read(npz, path, fps_key)
        if fps_arr.size != 1:
            raise MayhemInputError(path, fps_key, f"shape {fps_arr.shape}, expected a scalar")
        fps = _check_fps(path, fps_key, _numeric(path, fps_key, fps_arr).reshape(()).item())

        expression = None
        expr_key = next((k for k in EXPRESSION_KEYS if k in keys), None)
        if expr_key is not None:
            expr = _read(npz, path, expr_key)
            if expr.ndim != 2 or expr.shape[0] != n or expr.shape[1] == 0:
                raise MayhemInputError(path, expr_key, f"shape {expr.shape}, expected ({n}, E)")
            expression = _numeric(path, expr_key, expr)

    clip = MotionClip(
        **{name: np.ascontiguousarray(a) for name, a in pose.items()},
        transl=transl, betas=betas, expression=expression, gender=gender, fps=fps,
        source=path, source_format=source_format)
    if target_fps is not None:
        clip = resample(clip, target_fps)
    if frame_range is not None:
        start, stop = _check_range(path, frame_range, clip.num_frames)
        clip = clip.slice(start, stop)
    return clip


# ----------------------------------------------------------------------------- writing

def amass_smplx_arrays(clip: MotionClip) -> dict:
    """The arrays of `clip` in the AMASS SMPL-X npz layout (see `save_amass_smplx`)."""
    arrays = {name: getattr(clip, name) for name in POSE_PARAM_NAMES + ("transl", "betas")}
    if clip.expression is not None:
        arrays["expression"] = clip.expression
    for name, arr in arrays.items():
        if not np.all(np.isfinite(arr)):
            raise MayhemInputError(clip.source, name, "contains NaN/inf; refusing to write it")
    poses = clip.full_pose()
    data = {
        "gender": np.array(clip.gender),
        "surface_model_type": np.array("smplx"),
        "mocap_frame_rate": np.array(float(clip.fps), dtype=np.float64),
        "mocap_time_length": np.array(clip.num_frames / float(clip.fps), dtype=np.float64),
        "trans": np.asarray(clip.transl, dtype=np.float64),
        "poses": poses,
        "betas": np.asarray(clip.betas, dtype=np.float64),
        "num_betas": np.array(clip.betas.shape[0], dtype=np.int64),
        "root_orient": poses[:, POSE_SLICES["global_orient"]].copy(),
        "pose_body": poses[:, POSE_SLICES["body_pose"]].copy(),
        "pose_hand": poses[:, 75:165].copy(),
        "pose_jaw": poses[:, POSE_SLICES["jaw_pose"]].copy(),
        "pose_eye": poses[:, 69:75].copy(),
    }
    if clip.expression is not None:
        data["expression"] = np.asarray(clip.expression, dtype=np.float64)
    return data


def save_amass_smplx(clip: MotionClip, path) -> None:
    """Write `clip` in the AMASS SMPL-X npz layout, atomically, at exactly `path`.

    Keys: poses (F,165), trans, betas, gender (str), mocap_frame_rate, mocap_time_length
    (F / fps, s), surface_model_type 'smplx', num_betas, root_orient, pose_body, pose_hand
    (F,90), pose_jaw, pose_eye (F,6), and expression when the clip has one; float64.
    Stored uncompressed with fixed zip metadata (core.io.npz), so the same clip gives the
    same bytes on any machine, and written under a temporary name then moved into place.
    The betas are written as they are: for a clip with source_format 'smplh' they remain
    SMPL+H betas.
    """
    save_npz(path, amass_smplx_arrays(clip), compress=False)
