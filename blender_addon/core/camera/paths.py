"""Camera of one sequence: lens, placement, motion path and framing, in pure numpy.

Why it looks the way it does:

* Lens first, then distance. The focal length is drawn (log-uniform by default: every zoom
  factor equally likely, so 14-28 mm, 28-56 mm ... each get the same share) and the camera is
  then put where the framed people reach a drawn fraction of the way from the image centre
  to its border over the whole path (`subject_fill`, pans and shake included). A
  300 mm lens therefore ends up tens of metres away and a 14 mm lens a metre or two away, as
  in real footage, instead of a fixed distance that crops or shrinks people.
* Height and pitch. The camera looks at an aim point (people's centre at `target_height_m`,
  or the chest/head for close-ups) with the drawn pitch; the height that pitch needs at that
  distance is clipped to `height_m`, so the height range is never left and the actual pitch
  lies between 0 and the drawn one.
* Motion. One type per sequence (static, pan, dolly, orbit, follow), optional handheld
  shake on top. Paths are centred on the middle of the sequence and move at physical speeds
  (deg/s, m/s), so short clips move little and long ones more, never faster.
* Framing. A path is accepted when at least `min_people_in_view` people (the same people on
  every frame) have `min_joints_in_view` of their 22 body joints (pelvis..wrists; hands and
  face joints are too small to say whether a person is in the picture) inside the image on
  every frame; close-ups count the 8 head-and-torso joints instead. Optionally every vertex
  of every person must be inside (`frame_people`). The camera keeps `min_body_distance_m`
  from every body vertex and stays above the ground on every frame. Draws are retried
  `framing_attempts` times; then the first draw is widened (pulled back) step by step, and
  as a last resort a static wide shot of everyone is used. The outcome is recorded.

Recipe camera dict (JSON): kind ('static' | 'moving'), closeup, orientation, focal_mm,
sensor_width_mm (across the image width: Blender's horizontal fit and K use it),
sensor_long_side_mm, sensor_fit, fov_deg [h, v], motion {type + its parameters: speeds, total
angle or travel, direction, followed person}, shake (None or amplitudes and frequencies),
eye/target (the path's reference pose: mid-sequence for pan, dolly and orbit, first frame for
follow; for static cameras they ARE the camera), distance_m (horizontal), height_m, pitch_deg,
azimuth_deg, subjects (framed person ids), framing {status 'ok' | 'widened' |
'static_fallback' | 'failed', attempts, widen_factor, first_failure, people_in_view, and the
limits applied}, and for moving cameras world_to_cam (F x 4 x 4 nested lists, OpenCV).
core.dataset.labels.camera_per_frame reads both kinds.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..geometry.rotations import axis_angle_to_matrix
from .pinhole import intrinsics, look_at

MOTION_TYPES = ("static", "pan", "dolly", "orbit", "follow")
DOLLY_DIRECTIONS = ("in", "out", "left", "right")
# Pelvis .. right_wrist: the body joints whose visibility says a person is in the picture.
BODY_JOINTS = np.arange(22)
# spine2, spine3, neck, left/right collar, head, left/right shoulder: what a close-up shows.
HEAD_TORSO_JOINTS = np.array([6, 9, 12, 13, 14, 15, 16, 17])
# Vertices mostly skinned to these joints form the close-up subject (adds jaw and eyes).
_HEAD_TORSO_SKIN = (6, 9, 12, 13, 14, 15, 16, 17, 22, 23, 24)
SPINE3, HEAD, PELVIS = 9, 15, 0

MIN_CAMERA_HEIGHT_M = 0.1   # never at or below the ground
NEAR_M = 0.1                # points nearer than this (camera z) never count as in view
WIDEN_STEP = 1.15           # fallback: distance grows by this factor per step
MAX_WIDEN_STEPS = 45        # 1.15**45 ~ 540x: enough to shrink any scene to the image centre
SAMPLE_VERTICES = 400       # spread-out vertices per body used while searching
SAMPLE_UPPER = 120
_CLEAR_SLACK_M = 0.3        # sampled clearance below limit + this -> confirm on every vertex
_FILL_PROBES = 9            # frames of a path on which the subject's image extent is measured


@dataclass
class Body:
    """What framing needs to know about one placed person, all in world coordinates.

    `sample` is a farthest-point subset of the vertices (every vertex lies within `spacing`
    of one on the first frame), so a search over hundreds of candidate paths stays cheap;
    `vertices` gives all vertices for the final exact checks (a callable so a crowd's full
    meshes need not sit in memory at once).
    """

    joints: np.ndarray      # (F, 55, 3)
    sample: np.ndarray      # (F, S, 3)
    upper: np.ndarray       # (F, U, 3) head-and-torso subset (close-up subject)
    heading: float          # facing direction at frame 0, radians about Z
    spacing: float          # metres
    vertices: Callable[[], np.ndarray] | np.ndarray

    def all_vertices(self) -> np.ndarray:
        return self.vertices() if callable(self.vertices) else np.asarray(self.vertices)


def farthest_points(points: np.ndarray, count: int) -> tuple[np.ndarray, float]:
    """Indices of `count` points spread by farthest-point sampling (deterministic, starts at
    index 0) and the covering radius: every point lies within it of a chosen one."""
    n = len(points)
    if n <= count:
        return np.arange(n), 0.0
    pts = np.ascontiguousarray(points, dtype=np.float64)
    chosen = np.empty(count, dtype=np.int64)
    chosen[0] = 0
    diff = pts - pts[0]
    dist2 = np.einsum("ij,ij->i", diff, diff)  # squared distances: no square roots in the loop
    for i in range(1, count):
        chosen[i] = int(np.argmax(dist2))
        np.subtract(pts, pts[chosen[i]], out=diff)
        np.minimum(dist2, np.einsum("ij,ij->i", diff, diff), out=dist2)
    return np.sort(chosen), float(np.sqrt(dist2.max()))


def body_for_framing(joints: np.ndarray, vertices: np.ndarray, weights: np.ndarray, heading: float,
                     full_vertices: Callable[[], np.ndarray] | None = None) -> Body:
    """A Body from one forward pass: joints (F,55,3), vertices (F,V,3), skinning weights (V,55).

    Without `full_vertices` the given vertex array is kept for the exact checks.
    """
    idx, spacing = farthest_points(vertices[0], SAMPLE_VERTICES)
    upper_ids = np.flatnonzero(np.isin(np.argmax(weights, axis=1), _HEAD_TORSO_SKIN))
    if len(upper_ids) == 0:
        upper_ids = np.arange(vertices.shape[1])
    up, _ = farthest_points(vertices[0, upper_ids], SAMPLE_UPPER)
    return Body(joints=np.asarray(joints, np.float64), sample=np.array(vertices[:, idx], np.float64),
                upper=np.array(vertices[:, upper_ids[up]], np.float64), heading=float(heading),
                spacing=spacing, vertices=full_vertices if full_vertices is not None else vertices)


# ------------------------------------------------------------------------------ draws
def draw_focal(rng, bounds, distribution: str = "log_uniform") -> float:
    """Focal length in mm: log-uniform (scale-free: equal odds per doubling) or uniform."""
    lo, hi = float(bounds[0]), float(bounds[1])
    if lo == hi:
        return lo
    if distribution == "uniform":
        return float(rng.uniform(lo, hi))
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _uniform(rng, bounds) -> float:
    lo, hi = float(bounds[0]), float(bounds[1])
    return lo if lo == hi else float(rng.uniform(lo, hi))


def smooth_path(x: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing along axis 0. The ends are padded with a straight line
    fitted to the last three sigmas of the path, so a constant velocity passes unchanged (no lag
    at the ends) while gait sway is removed right up to the first and last frame."""
    x = np.asarray(x, dtype=np.float64)
    F = len(x)
    if sigma_frames <= 0 or F < 3:
        return x.copy()
    r = int(np.ceil(3 * sigma_frames))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma_frames) ** 2)
    k /= k.sum()
    n = int(min(F, max(3, r)))

    def line(seg, at):  # least-squares line through seg (n, ...) sampled at 0..n-1, evaluated at `at`
        t = np.arange(len(seg), dtype=np.float64)
        tc = t - t.mean()
        slope = np.tensordot(tc, seg - seg.mean(0), axes=(0, 0)) / (tc @ tc)
        return seg.mean(0) + (at - t.mean()).reshape((-1,) + (1,) * (x.ndim - 1)) * slope

    head = line(x[:n], np.arange(-r, 0, dtype=np.float64))
    tail = line(x[F - n:], np.arange(n, n + r, dtype=np.float64))
    pad = np.concatenate([head, x, tail])
    out = np.zeros_like(x)
    for i, w in enumerate(k):
        out += w * pad[i:i + F]
    return out


def _project(points, K, M):
    """core.camera.pinhole.project for one K, through batched matmul, which is several times faster
    than einsum on whole meshes. points (..., N, 3) with M (4,4) or (F,4,4) and points (F, N, 3)."""
    R, t = M[..., :3, :3], M[..., :3, 3]
    pc = np.matmul(points, np.swapaxes(R, -1, -2)) + t[..., None, :]
    z = pc[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = pc[..., :2] / z[..., None] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
    return uv, z


def _rot_z(angle) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _extrinsics(R: np.ndarray, eyes: np.ndarray) -> np.ndarray:
    """world_to_cam (F,4,4) from camera rotations (F,3,3) or (3,3) and eye positions (F,3)."""
    R = np.broadcast_to(R, (len(eyes), 3, 3))
    M = np.zeros((len(eyes), 4, 4))
    M[:, :3, :3] = R
    M[:, :3, 3] = -np.einsum("fij,fj->fi", R, eyes)
    M[:, 3, 3] = 1.0
    return M


def _shake_noise(rng, frequency_hz, channels: int, sinusoids: int = 3):
    """Parameters of smooth bounded noise: per channel a few sinusoids with random
    frequencies and phases whose weights sum to 1, so |noise| <= 1."""
    freq = rng.uniform(frequency_hz[0], frequency_hz[1], size=(channels, sinusoids))
    phase = rng.uniform(0.0, 2 * np.pi, size=(channels, sinusoids))
    w = rng.uniform(0.2, 1.0, size=(channels, sinusoids))
    return freq, phase, w / w.sum(axis=1, keepdims=True)


def shake_signal(t: np.ndarray, freq, phase, weight) -> np.ndarray:
    """(F, channels) noise at times t (seconds)."""
    arg = 2 * np.pi * freq[None] * t[:, None, None] + phase[None]
    return np.sum(weight[None] * np.sin(arg), axis=-1)


# ---------------------------------------------------------------------------- geometry
@dataclass
class _Draw:
    focal: float
    fill: float
    anchor: int
    subjects: list
    pitch: float
    azimuth_offset: float
    target_height: float
    chest_blend: float
    speeds: dict            # drawn speed of each motion type (deg/s or m/s)
    sign: float
    dolly_direction: str
    shake_rot: float
    shake_pos: float
    shake_params: tuple


@dataclass
class _Rig:
    """A candidate camera: everything but the distance, which framing then chooses."""

    motion: str
    draw: _Draw
    K: np.ndarray
    f_px: float
    fov: tuple              # (horizontal, vertical) radians
    targets: np.ndarray     # (F, 3) aim point per frame (constant unless following)
    direction: np.ndarray   # (3,) horizontal unit vector from the aim point to the camera
    heights: tuple          # (min, max) camera height
    fill_points: np.ndarray  # (N, 3) subject points whose image size sets the distance
    fill_frames: np.ndarray  # frames on which that size is measured
    shake: bool
    speed: float            # of this motion: deg/s (pan, orbit) or m/s (dolly)
    max_speed: float        # m/s cap on the camera's own travel (dolly, orbit)


def _circular_mean(angles) -> float:
    return float(np.arctan2(np.mean(np.sin(angles)), np.mean(np.cos(angles))))


def _camera_height(rig: _Rig, d: float) -> float:
    t = rig.targets[0, 2]
    return float(np.clip(t - d * np.tan(rig.draw.pitch), rig.heights[0], rig.heights[1]))


def _path(rig: _Rig, d: float, fps: float, with_shake: bool = True):
    """(eyes (F,3), world_to_cam (F,4,4), motion record) of a rig at horizontal distance d."""
    dr, T = rig.draw, rig.targets
    F = len(T)
    s = (np.arange(F) / (F - 1) - 0.5) if F > 1 else np.zeros(1)  # -0.5 .. 0.5 over the sequence
    duration = (F - 1) / fps
    h = _camera_height(rig, d)
    eye0 = np.array([T[0, 0] + d * rig.direction[0], T[0, 1] + d * rig.direction[1], h])
    record = {"type": rig.motion}
    if rig.motion == "static":
        eyes = np.repeat(eye0[None], F, axis=0)
        M = look_at(eyes, T)
    elif rig.motion == "pan":
        # About the vertical through the camera; at most half the horizontal field of view in
        # total, so the subject (centred mid-sequence) stays in the picture.
        total = min(np.deg2rad(rig.speed) * duration, 0.5 * rig.fov[0])
        yaw = dr.sign * total * s
        eyes = np.repeat(eye0[None], F, axis=0)
        M = look_at(eyes, eyes + np.einsum("fij,j->fi", _rot_z(yaw), T[0] - eye0))
        record.update(speed_deg_s=float(np.rad2deg(total / duration)) if duration > 0 else 0.0,
                      total_deg=float(np.rad2deg(total)), direction=int(dr.sign))
    elif rig.motion == "dolly":
        R0 = look_at(eye0, T[0])[:3, :3]
        forward, right = R0[2], R0[0]
        travel = rig.speed * duration
        if dr.dolly_direction in ("in", "out"):
            travel = min(travel, 0.5 * float(np.linalg.norm(T[0] - eye0)))  # never closer than 3/4
            axis = forward if dr.dolly_direction == "in" else -forward
        else:
            axis = right if dr.dolly_direction == "right" else -right
        eyes = eye0 + travel * s[:, None] * axis
        M = _extrinsics(R0, eyes)
        record.update(direction=dr.dolly_direction, speed_m_s=float(travel / duration) if duration > 0 else 0.0,
                      travel_m=float(travel))
    elif rig.motion == "orbit":
        rate = min(np.deg2rad(rig.speed), rig.max_speed / d)  # a far camera would otherwise race round
        total = min(rate * duration, 2 * np.pi)
        az0 = np.arctan2(rig.direction[1], rig.direction[0])
        az = az0 + dr.sign * total * s
        eyes = np.stack([T[0, 0] + d * np.cos(az), T[0, 1] + d * np.sin(az), np.full(F, h)], axis=1)
        M = look_at(eyes, T)
        record.update(speed_deg_s=float(np.rad2deg(total / duration)) if duration > 0 else 0.0,
                      total_deg=float(np.rad2deg(total)), direction=int(dr.sign), radius_m=float(d))
    elif rig.motion == "follow":
        offset = eye0 - T[0]
        eyes = T + offset
        M = look_at(eyes, T)
        record.update(person=int(dr.anchor))
    else:
        raise ValueError(f"unknown camera motion {rig.motion!r}")
    if with_shake and rig.shake:
        freq, phase, weight = dr.shake_params
        n = shake_signal(np.arange(F) / fps, freq, phase, weight)
        # camera-frame small rotations: x = tilt, y = pan, z = roll (roll at half amplitude)
        rot = np.deg2rad(dr.shake_rot) * n[:, :3] * np.array([1.0, 1.0, 0.5])
        Rs = axis_angle_to_matrix(rot)
        R = np.einsum("fji,fjk->fik", Rs, M[:, :3, :3])  # Rs^T R: the camera turns in its own frame
        eyes = eyes + 0.01 * dr.shake_pos * n[:, 3:]
        M = _extrinsics(R, eyes)
    return eyes, M, record


def _subject_reach(rig: _Rig, d: float, fps: float, W: int, H: int) -> float | None:
    """How far the subject reaches from the image centre towards the border (1 = touching it),
    the worst over the probe frames of the path (pan, dolly and shake included); None when
    part of it is behind or too near the camera."""
    _, M, _ = _path(rig, d, fps)
    cx, cy = rig.K[0, 2], rig.K[1, 2]
    reach = 0.0
    for f in rig.fill_frames:
        uv, z = _project(rig.fill_points, rig.K, M[f])
        if np.any(z <= NEAR_M):
            return None
        reach = max(reach, np.abs(uv[:, 0] - cx).max() / (W / 2), np.abs(uv[:, 1] - cy).max() / (H / 2))
    return reach


def _fit_distance(rig: _Rig, fps: float, W: int, H: int, bounds) -> float:
    """Horizontal distance at which the subject reaches `fill` of the way from the image
    centre to its border, within bounds.

    Image extent falls roughly as 1/distance, so d <- d * reach / fill converges in a few steps.
    """
    lo, hi = float(bounds[0]), float(bounds[1])
    extent = np.ptp(rig.fill_points, axis=0)
    d = float(np.clip(rig.f_px * max(extent[2] / H, np.hypot(extent[0], extent[1]) / W) / rig.draw.fill, lo, hi))
    for _ in range(10):
        reach = _subject_reach(rig, d, fps, W, H)
        if reach is None:
            new = min(d * 2.0, hi)
        else:
            new = float(np.clip(d * reach / rig.draw.fill, lo, hi))
        if abs(new - d) <= 0.01 * d:
            return new
        d = new
    return d


# ----------------------------------------------------------------------------- checks
@dataclass
class _Spec:
    joint_ids: np.ndarray
    min_joints: int
    min_people: int
    whole_bodies: bool
    clearance: float
    required: int | None  # a person that must be among those in view (followed / close-up)


def _inside(uv, z, W, H, margin=0.0):
    return (z > NEAR_M) & (uv[..., 0] >= margin) & (uv[..., 0] <= W - 1 - margin) & \
        (uv[..., 1] >= margin) & (uv[..., 1] <= H - 1 - margin)


def check_framing(eyes, M, K, W, H, bodies: list[Body], spec: _Spec, exact: bool = True):
    """(ok, reason, ids of people in view on every frame) of a camera path.

    Searching uses each body's vertex sample with a margin of its sample spacing; with
    `exact`, bodies that come near the limits are confirmed on every vertex.
    """
    if eyes[:, 2].min() < MIN_CAMERA_HEIGHT_M:
        return False, "below_ground", []
    f_px = K[0, 0]
    in_view, confirm = [], []
    for i, b in enumerate(bodies):
        uv, z = _project(b.joints[:, spec.joint_ids], K, M)
        if _inside(uv, z, W, H).sum(axis=1).min() >= spec.min_joints:
            in_view.append(i)
        slack = 1.5 * b.spacing
        near = np.linalg.norm(b.sample - eyes[:, None], axis=-1).min()
        if near < spec.clearance + slack:
            return False, "too_close", []
        check_verts = near < spec.clearance + _CLEAR_SLACK_M
        if spec.whole_bodies:
            uv, z = _project(b.sample, K, M)
            margin = f_px * slack / np.maximum(z, NEAR_M)
            if not np.all((z > NEAR_M + slack) & (uv[..., 0] >= margin) & (uv[..., 0] <= W - 1 - margin)
                          & (uv[..., 1] >= margin) & (uv[..., 1] <= H - 1 - margin)):
                return False, "body_cut", []
            edge = 2.0 * margin + 0.02 * max(W, H)
            check_verts |= not np.all((uv[..., 0] >= edge) & (uv[..., 0] <= W - 1 - edge)
                                      & (uv[..., 1] >= edge) & (uv[..., 1] <= H - 1 - edge))
        if check_verts:
            confirm.append(i)
    if len(in_view) < spec.min_people:
        return False, "too_few_in_view", in_view
    if spec.required is not None and spec.required not in in_view:
        return False, "subject_out_of_view", in_view
    if exact:
        for i in confirm:
            v = bodies[i].all_vertices()
            if np.linalg.norm(v - eyes[:, None], axis=-1).min() < spec.clearance:
                return False, "too_close", []
            if spec.whole_bodies:
                uv, z = _project(v, K, M)
                if not np.all(_inside(uv, z, W, H)):
                    return False, "body_cut", []
    return True, "ok", in_view


# ------------------------------------------------------------------------------- main
def _choose(rng, names, weights):
    w = np.asarray(weights if len(weights) else [1.0] * len(names), dtype=np.float64)
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def _draw(cfg, rng, bodies, closeup: bool, P: int, min_people: int) -> _Draw:
    focal = draw_focal(rng, cfg.closeup_focal_mm if closeup else cfg.focal_mm, cfg.focal_distribution)
    fill = _uniform(rng, cfg.closeup_fill if closeup else cfg.subject_fill)
    anchor = int(rng.integers(P))
    k = int(rng.integers(min_people, P + 1))
    if closeup:
        subjects = [anchor]
    elif cfg.frame_people:
        subjects = list(range(P))
    else:
        centre = np.array([b.joints[:, PELVIS, :2].mean(0) for b in bodies])
        order = np.argsort(np.linalg.norm(centre - centre[anchor], axis=1), kind="stable")
        subjects = sorted(int(i) for i in order[:k])
    pitch = np.deg2rad(_uniform(rng, cfg.pitch_deg))
    az = np.deg2rad(_uniform(rng, cfg.azimuth_deg))
    target_h = _uniform(rng, cfg.target_height_m)
    blend = float(rng.uniform(0.3, 1.0))
    speed_range = {"pan": cfg.pan_speed_deg_s, "dolly": cfg.dolly_speed_m_s, "orbit": cfg.orbit_speed_deg_s}
    speeds = {m: _uniform(rng, r) for m, r in speed_range.items()}
    sign = 1.0 if rng.uniform() < 0.5 else -1.0
    dolly_dir = DOLLY_DIRECTIONS[int(rng.integers(len(DOLLY_DIRECTIONS)))]
    shake_rot = _uniform(rng, cfg.shake_rotation_deg)
    shake_pos = _uniform(rng, cfg.shake_position_cm)
    shake_params = _shake_noise(rng, cfg.shake_frequency_hz, 6)
    return _Draw(focal=focal, fill=fill, anchor=anchor, subjects=subjects, pitch=pitch, azimuth_offset=az,
                 target_height=target_h, chest_blend=blend, speeds=speeds, sign=sign, dolly_direction=dolly_dir,
                 shake_rot=shake_rot, shake_pos=shake_pos, shake_params=shake_params)


def _make_rig(cfg, draw: _Draw, motion: str, closeup: bool, shake: bool, bodies, F, fps, W, H, sensor_w) -> _Rig:
    K = intrinsics(draw.focal, sensor_w, W, H)
    f_px = float(K[0, 0])
    fov = (2 * np.arctan(W / 2 / f_px), 2 * np.arctan(H / 2 / f_px))
    speed = draw.speeds.get(motion, 0.0)
    if motion == "dolly":
        speed = min(speed, float(cfg.max_speed_m_s))
    anchor = bodies[draw.anchor]
    subj = [bodies[i] for i in draw.subjects]
    probes = np.unique(np.linspace(0, F - 1, min(F, _FILL_PROBES)).round().astype(int))
    if closeup:
        j = anchor.joints
        aim = j[:, SPINE3] + draw.chest_blend * (j[:, HEAD] - j[:, SPINE3])
        pts = anchor.upper
        heading = anchor.heading
    else:
        aim = None
        pts = np.concatenate([b.sample for b in subj], axis=1)
        heading = _circular_mean([b.heading for b in subj])
    if motion == "follow":
        if closeup:
            targets = smooth_path(aim, cfg.follow_smoothing_s * fps)
        else:
            pelvis = smooth_path(anchor.joints[:, PELVIS], cfg.follow_smoothing_s * fps)
            targets = np.column_stack([pelvis[:, :2], np.full(F, draw.target_height)])
        # The subject moves with the camera: measure its size in the first frame's camera,
        # with every frame's points carried along the aim path to the first frame.
        fill_points = (pts[probes] - (targets[probes] - targets[0])[:, None]).reshape(-1, 3)
        fill_frames = np.array([0])
    else:
        if closeup:
            c = aim.mean(axis=0)
        else:
            lo = pts.reshape(-1, 3).min(axis=0)
            hi = pts.reshape(-1, 3).max(axis=0)
            c = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, draw.target_height])
        targets = np.repeat(c[None], F, axis=0)
        fill_points = pts[probes].reshape(-1, 3)
        fill_frames = probes
    yaw = heading + draw.azimuth_offset
    direction = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    shake_rot = min(draw.shake_rot, np.rad2deg(0.1 * min(fov)) / 1.5)  # a steadied long lens
    draw = _replace(draw, shake_rot=shake_rot)
    heights = (max(float(cfg.height_m[0]), MIN_CAMERA_HEIGHT_M), max(float(cfg.height_m[1]), MIN_CAMERA_HEIGHT_M))
    return _Rig(motion=motion, draw=draw, K=K, f_px=f_px, fov=fov, targets=targets, direction=direction,
                heights=heights, fill_points=fill_points, fill_frames=fill_frames, shake=shake,
                speed=speed, max_speed=float(cfg.max_speed_m_s))


def _replace(draw: _Draw, **kw) -> _Draw:
    return _Draw(**{**draw.__dict__, **kw})


def _fallback_rig(cfg, bodies, F, fps, W, H, sensor_w, base: _Draw) -> _Rig:
    """Static wide shot of everyone, lens and direction of the first draw: always framable by
    pulling back, since every person then shrinks towards the image centre."""
    draw = _replace(base, subjects=list(range(len(bodies))), fill=0.5, pitch=0.0)
    return _make_rig(cfg, draw, "static", False, False, bodies, F, fps, W, H, sensor_w)


@dataclass(frozen=True)
class _Framing:
    """One framed camera path: the rig, its distance and per-frame world-to-camera matrices, and
    how it was found (status ok | widened | static_fallback | failed, with the widen factor)."""

    rig: object
    distance: float
    world_to_cam: np.ndarray
    record: dict
    in_view: list
    status: str
    widen_factor: float


def sample_camera(cfg, bodies: list[Body], width: int, height: int, frames: int, fps: float, rng,
                  person_ids: list[int] | None = None) -> dict:
    """The recipe's camera dict for one sequence (see the module docstring).

    cfg: core.config.CameraConfig; bodies: one Body per placed person (recipe order);
    rng: the sequence's camera random stream. Same inputs and stream -> same dict.
    """
    W, H, F = int(width), int(height), int(frames)
    ids = list(range(len(bodies))) if person_ids is None else [int(i) for i in person_ids]
    portrait = H > W
    # The configured sensor is the long side; portrait frames turn the sensor (720x1280 on a
    # 36 mm sensor -> 20.25 mm across the image, as BEDLAM), so focal lengths mean the same
    # field of view along the long side in both orientations and K = focal/sensor_w * W.
    sensor_w = float(cfg.sensor_width_mm) * (W / H if portrait else 1.0)
    closeup = bool(rng.uniform() < cfg.closeup_probability)
    motion = _choose(rng, list(cfg.motions), cfg.motion_weights)
    shake = bool(rng.uniform() < cfg.shake_probability)
    P = len(bodies)
    base = {"closeup": closeup, "orientation": "portrait" if portrait else "landscape",
            "sensor_width_mm": sensor_w, "sensor_long_side_mm": float(cfg.sensor_width_mm), "sensor_fit": "HORIZONTAL"}
    if P == 0:
        eye, target = np.array([0.0, -5.0, 1.5]), np.array([0.0, 0.0, 1.0])
        focal = draw_focal(rng, cfg.focal_mm, cfg.focal_distribution)
        return {"kind": "static", **base, "focal_mm": focal, "motion": {"type": "static"}, "shake": None,
                "eye": eye.tolist(), "target": target.tolist(), "framing": {"status": "no_people"}}

    min_people = min(int(cfg.min_people_in_view), P)
    spec = _Spec(joint_ids=HEAD_TORSO_JOINTS if closeup else BODY_JOINTS,
                 min_joints=int(cfg.closeup_min_joints_in_view if closeup else cfg.min_joints_in_view),
                 min_people=min_people, whole_bodies=bool(cfg.frame_people and not closeup),
                 clearance=float(cfg.min_body_distance_m), required=None)
    first = None
    result = None
    attempts = 0
    for attempts in range(1, int(cfg.framing_attempts) + 1):  # noqa: B007  (reported after the loop)
        draw = _draw(cfg, rng, bodies, closeup, P, min_people)
        rig = _make_rig(cfg, draw, motion, closeup, shake, bodies, F, fps, W, H, sensor_w)
        spec.required = draw.anchor if (closeup or motion == "follow") else None
        d = _fit_distance(rig, fps, W, H, cfg.distance_m)
        eyes, M, record = _path(rig, d, fps)
        ok, reason, in_view = check_framing(eyes, M, rig.K, W, H, bodies, spec)
        first = first or (rig, d, reason)
        if ok:
            result = _Framing(rig, d, M, record, in_view, "ok", 1.0)
            break
    if result is None:  # widen the first draw, then a static wide shot of everyone
        rig, d0, _ = first
        spec.required = rig.draw.anchor if (closeup or motion == "follow") else None
        for step in range(1, MAX_WIDEN_STEPS + 1):
            factor = WIDEN_STEP ** step
            eyes, M, record = _path(rig, d0 * factor, fps)
            ok, _, in_view = check_framing(eyes, M, rig.K, W, H, bodies, spec)
            if ok:
                result = _Framing(rig, d0 * factor, M, record, in_view, "widened", factor)
                break
    if result is None:
        rig = _fallback_rig(cfg, bodies, F, fps, W, H, sensor_w, first[0].draw)
        spec.required = None
        d0 = _fit_distance(rig, fps, W, H, cfg.distance_m)
        for step in range(0, MAX_WIDEN_STEPS + 1):
            factor = WIDEN_STEP ** step
            eyes, M, record = _path(rig, d0 * factor, fps)
            ok, _, in_view = check_framing(eyes, M, rig.K, W, H, bodies, spec)
            if ok or step == MAX_WIDEN_STEPS:
                result = _Framing(rig, d0 * factor, M, record, in_view, "static_fallback" if ok else "failed", factor)
                break

    rig, d, M, record = result.rig, result.distance, result.world_to_cam, result.record
    in_view, status, factor = result.in_view, result.status, result.widen_factor
    dr = rig.draw
    T0 = rig.targets[0]
    eye0 = np.array([T0[0] + d * rig.direction[0], T0[1] + d * rig.direction[1], _camera_height(rig, d)])
    moving = record["type"] != "static" or rig.shake
    cam = {
        "kind": "moving" if moving else "static",
        **base,
        "focal_mm": float(dr.focal),
        "fov_deg": [float(np.rad2deg(rig.fov[0])), float(np.rad2deg(rig.fov[1]))],
        "motion": record,
        "shake": ({"rotation_deg": float(dr.shake_rot), "position_cm": float(dr.shake_pos),
                   "frequencies_hz": np.round(dr.shake_params[0], 6).tolist()} if rig.shake else None),
        "eye": [float(v) for v in eye0],
        "target": [float(v) for v in T0],
        "distance_m": float(d),
        "height_m": float(eye0[2]),
        "pitch_deg": float(np.rad2deg(np.arctan2(T0[2] - eye0[2], d))),
        "azimuth_deg": float(np.rad2deg(np.arctan2(rig.direction[1], rig.direction[0]))),
        "subjects": [ids[i] for i in dr.subjects],
        "framing": {"status": status, "attempts": int(attempts), "widen_factor": float(factor),
                    "first_failure": None if status == "ok" and attempts == 1 else first[2],
                    "people_in_view": [ids[i] for i in in_view],
                    "min_people_in_view": int(spec.min_people), "min_joints_in_view": int(spec.min_joints),
                    "joints": "head_torso_8" if closeup else "body_22", "whole_bodies": bool(spec.whole_bodies),
                    "min_body_distance_m": float(spec.clearance)},
    }
    if record["type"] == "follow":
        record["person"] = ids[record["person"]]
        record["smoothing_s"] = float(cfg.follow_smoothing_s)
    if moving:
        cam["world_to_cam"] = M.tolist()
    return cam
