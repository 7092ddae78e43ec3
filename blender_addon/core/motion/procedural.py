"""Procedural motion clips in SMPL-X parameters, AMASS world frame (pure numpy).

Why this exists: Mayhem must run end to end without AMASS (its licence forbids
redistribution), so the project ships its own clips, generated here from a rest skeleton.
The same code regenerates them bit for bit (``assets/motions/generate_motions.py``).

How a clip is made, and why it does not skate:

1. Plan. The pelvis follows a path (position and heading over time); each foot has a list
   of *plants*: time intervals during which it rests on a footprint (position, yaw).
2. Feet. While planted, the foot's toe-base joint (SMPL-X ``*_foot``) is held exactly at its
   footprint; heel rise at the end of a plant is a rotation of the foot about that joint, so
   the joint never slides. Between plants the foot rises, travels on a minimum-jerk path
   and comes down, so it never skims the floor.
3. Pelvis height. A nominal height curve is lowered smoothly (smooth minimum) wherever a
   leg could not reach its foot target with the knee flexed at least ``KNEE_MIN``.
4. Legs. Analytic two-bone IK per frame: the knee is a hinge about the thigh's X axis whose
   angle is solved from the hip-ankle distance, always on the flexion side; the hip
   rotation aims the leg at the ankle target with the knee pointing along the foot; the
   ankle rotation gives the planned foot orientation. Feet therefore land on the planned
   footprints exactly (the result is checked by forward kinematics).
5. Upper body. Spine, neck, head, collars, arms and fingers follow periodic or keyframed
   curves (monotone cubic interpolation, so held poses do not overshoot).

Frames: the SMPL-X model frame is Y up, the body faces +Z and +X is the body's left. The
world frame is AMASS's (Z up): ``global_orient = Rz(heading) · Rx(+90°) · pelvis``, so
heading 0 faces world -Y (Blender's front view looks at the body's front) and positive
heading turns the body to its left (counter-clockwise seen from above). Every clip starts
with the pelvis above the world origin (x = y = 0) at heading 0. ``transl`` puts the
floor at z = 0 for the rig the clip was solved for (see :class:`Rig`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..body.skeleton import JOINT_INDEX as J
from ..body.skeleton import NUM_JOINTS, PARENTS
from ..geometry.rotations import matrix_to_axis_angle
from .amass import MotionClip

FPS = 30.0
NUM_BETAS = 16          # AMASS SMPL-X files carry 16 betas; all zero = the rig's own shape
KNEE_MIN = math.radians(2.0)   # least local knee flexion (relative to the rest pose) the IK uses
REACH = 0.995           # legs are solved to at most this fraction of their reach at KNEE_MIN
NOISE_FLOOR = 1e-12     # rad or m: a stored value below this is rounding noise around zero
_EYE = np.eye(3)
_B = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # Rx(+90°): Y up -> Z up
_MIRROR = np.diag([-1.0, 1.0, 1.0])   # sagittal mirror (left <-> right)
SIDES = (("left", 1.0), ("right", -1.0))


# =============================================================================== rig

@dataclass(frozen=True)
class Rig:
    """The rest skeleton the clips are solved for.

    rest_joints: (55, 3) rest (T-pose) joints in the SMPL-X model frame (Y up).
    ground_y: model-frame height of the floor under the rest body. Feet rest on the floor
    when each foot joint is ``rest_y - ground_y`` above z = 0 with the foot in its rest
    orientation; for a body model this is its lowest rest vertex, so soles touch z = 0.
    """

    rest_joints: np.ndarray
    ground_y: float

    @classmethod
    def from_body_model(cls, model, betas=None) -> Rig:
        """Rig of a :class:`~mayhem.core.body.model.BodyModel` (neutral shape by default)."""
        betas = np.zeros(model.num_betas) if betas is None else np.asarray(betas, dtype=np.float64)
        out = model.forward(betas=betas[:model.num_betas])
        return cls(rest_joints=np.array(out.rest_joints[0], dtype=np.float64),
                   ground_y=float(out.vertices[0, :, 1].min()))

    @classmethod
    def from_joints(cls, rest_joints) -> Rig:
        """Rig from joints only: the lowest ankle/foot joint then stands on the floor."""
        rj = np.array(rest_joints, dtype=np.float64)
        feet = [J[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
        return cls(rest_joints=rj, ground_y=float(rj[feet, 1].min()))

    def contact_height(self, joint: str) -> float:
        """Height above the floor of a joint when its foot rests flat."""
        return float(self.rest_joints[J[joint], 1] - self.ground_y)

    @property
    def standing_height(self) -> float:
        """Pelvis joint height when standing in the rest pose."""
        return float(self.rest_joints[0, 1] - self.ground_y)


# ========================================================================= maths helpers

def rot_x(a):
    a = np.asarray(a, dtype=np.float64)
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([o, z, z, z, c, -s, z, s, c], -1).reshape(a.shape + (3, 3))


def rot_y(a):
    a = np.asarray(a, dtype=np.float64)
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([c, z, s, z, o, z, -s, z, c], -1).reshape(a.shape + (3, 3))


def rot_z(a):
    a = np.asarray(a, dtype=np.float64)
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([c, -s, z, s, c, z, z, z, o], -1).reshape(a.shape + (3, 3))


def _mirror(r):
    """Rotation of the mirrored joint (left-side convention -> right side)."""
    return _MIRROR @ r @ _MIRROR


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def minjerk(u):
    """Minimum-jerk ease 0 -> 1 on [0, 1] (zero velocity and acceleration at both ends)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (10.0 - 15.0 * u + 6.0 * u * u)


def smin(a, b, k):
    """Smooth minimum, never above min(a, b) (so reach limits hold), within k/2 of it."""
    return 0.5 * (a + b - np.sqrt((a - b) ** 2 + k * k))


def pchip(x, kt, kv):
    """Monotone piecewise-cubic interpolation (Fritsch-Carlson) with flat ends.

    Held values stay exactly held (no overshoot), which keeps planted feet flat and holds
    still poses still. x: (N,); kt: (K,) increasing; kv: (K,) or (K, D). Outside the keys
    the end values are held.
    """
    x = np.asarray(x, dtype=np.float64)
    kt = np.asarray(kt, dtype=np.float64)
    kv = np.asarray(kv, dtype=np.float64)
    vec = kv.ndim == 2
    if not vec:
        kv = kv[:, None]
    if kt.ndim != 1 or kt.size < 2 or np.any(np.diff(kt) <= 0):
        raise ValueError("pchip keys need at least two strictly increasing times")
    h = np.diff(kt)[:, None]
    delta = np.diff(kv, axis=0) / h
    m = np.zeros_like(kv)
    if len(kt) > 2:
        d0, d1 = delta[:-1], delta[1:]
        w1 = 2.0 * h[1:] + h[:-1]
        w2 = h[1:] + 2.0 * h[:-1]
        same = (d0 * d1) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            hm = (w1 + w2) / (w1 / np.where(same, d0, 1.0) + w2 / np.where(same, d1, 1.0))
        m[1:-1] = np.where(same, hm, 0.0)
    xc = np.clip(x, kt[0], kt[-1])
    i = np.clip(np.searchsorted(kt, xc, side="right") - 1, 0, len(kt) - 2)
    hh = h[i, 0][:, None]
    s = ((xc - kt[i]) / h[i, 0])[:, None]
    h00 = 2 * s**3 - 3 * s**2 + 1
    h10 = s**3 - 2 * s**2 + s
    h01 = -2 * s**3 + 3 * s**2
    h11 = s**3 - s**2
    out = h00 * kv[i] + h10 * hh * m[i] + h01 * kv[i + 1] + h11 * hh * m[i + 1]
    return out if vec else out[:, 0]


def hann_smooth(x, width: int):
    """Moving average with a Hann window `width` frames wide (ends padded with end values)."""
    win = np.hanning(width + 2)[1:-1]
    win /= win.sum()
    pad = width // 2
    xp = np.concatenate([np.full(pad, x[0]), x, np.full(width - 1 - pad, x[-1])])
    return np.convolve(xp, win, mode="valid")


def keys(t, *points):
    """pchip through (time, value) pairs; values may be tuples (vector keys)."""
    kt = [p[0] for p in points]
    kv = [p[1] for p in points]
    return pchip(t, kt, kv)


def _wrap(a):
    return (a + np.pi) % (2.0 * np.pi) - np.pi


def heading_dir(psi):
    """World forward (x, y) of a body at heading psi (heading 0 faces -Y)."""
    psi = np.asarray(psi, dtype=np.float64)
    return np.stack([np.sin(psi), -np.cos(psi)], -1)


def heading_left(psi):
    """World (x, y) of the body's left at heading psi."""
    psi = np.asarray(psi, dtype=np.float64)
    return np.stack([np.cos(psi), np.sin(psi)], -1)


# =================================================================== foot tracks

@dataclass
class Plant:
    """A foot resting on the floor from t0 to t1.

    xy: world (x, y) of the ankle joint's footprint (the ankle above it when flat);
    yaw: world heading of the foot; heel_off: foot pitch at lift-off (rad, heel up),
    reached by rotating about the toe-base joint during the last ``roll`` seconds;
    The remaining fields shape the swing *into* this plant: lift (toe-base joint clearance,
    m), swing_pitch (foot pitch at 40 % of the swing), land_pitch (pitch shortly before
    touch-down; toes down > 0, toes up < 0 with the heel kept above the floor), warp,
    bump and travel (below). The foot touches down flat unless changed afterwards.
    """

    t0: float
    t1: float
    xy: tuple
    yaw: float
    heel_off: float = 0.0
    roll: float = 0.0
    lift: float = 0.08
    swing_pitch: float = 0.0
    land_pitch: float = 0.0
    warp: float = 1.0         # horizontal progress minjerk(w ** warp): < 1 moves early, > 1 late
    bump: tuple = (2.0, 2.6)  # lift shape u^a (1-u)^b, peak at a / (a + b)
    travel: tuple = (0.06, 0.86)  # share of the swing in which the foot travels horizontally:
    #                               it rises before and comes down after, so it never skims the floor


@dataclass
class FootTrack:
    """Per-frame foot plan in world: toe-base joint position, foot yaw, pitch, toe angle."""

    toe: np.ndarray     # (F, 3)
    yaw: np.ndarray     # (F,)
    pitch: np.ndarray   # (F,) rotation about the foot's lateral axis, toes down > 0
    toe_angle: np.ndarray  # (F,) local rotation of the toe-base joint about X


def _foot_rot(yaw, pitch):
    """Global rotation of the ankle joint for a foot at world yaw and pitch."""
    return rot_z(yaw) @ _B @ rot_x(pitch)


def _toe_xy(rig: Rig, side: str, ankle_xy, yaw):
    """World (x, y) of the toe-base joint when the foot is flat with its ankle at ankle_xy."""
    off = rig.rest_joints[J[f"{side}_foot"]] - rig.rest_joints[J[f"{side}_ankle"]]
    w = (rot_z(yaw) @ _B @ off)[..., :2]
    return np.asarray(ankle_xy, dtype=np.float64) + w


def foot_track(rig: Rig, side: str, t: np.ndarray, plants: list[Plant]) -> FootTrack:
    """Per-frame foot plan from a time-ordered list of plants (see :class:`Plant`)."""
    n = t.shape[0]
    h_toe = rig.contact_height(f"{side}_foot")
    toe = np.empty((n, 3))
    yaw = np.empty(n)
    c = np.ones(n)   # share of the counter-rotation that keeps the toes flat
    toes_xy = [_toe_xy(rig, side, p.xy, p.yaw) for p in plants]
    pk_t, pk_v = [], []
    for i, p in enumerate(plants):
        if i and p.t0 <= plants[i - 1].t1:
            raise ValueError(f"{side} plants overlap at t={p.t0}")
        sel = (t >= p.t0) & (t <= p.t1)
        if i == 0:
            sel |= t < p.t0
        if i == len(plants) - 1:
            sel |= t > p.t1
        toe[sel, :2] = toes_xy[i]
        toe[sel, 2] = h_toe
        yaw[sel] = p.yaw
        if i:
            pk_t.append(p.t0 - 0.25 * (p.t0 - plants[i - 1].t1))
            pk_v.append(p.land_pitch)
        pk_t.append(p.t0)
        pk_v.append(0.0)
        if p.roll > 0:
            pk_t.append(p.t1 - p.roll)
            pk_v.append(0.0)
            pk_t.append(p.t1)
            pk_v.append(p.heel_off)
        elif p.heel_off:
            raise ValueError("heel_off needs roll > 0")
        if i + 1 < len(plants):
            q = plants[i + 1]
            dur = q.t0 - p.t1
            u = (t - p.t1) / dur
            sw = (u > 0) & (u < 1)
            uu = u[sw]
            u0, u1 = q.travel
            prog = minjerk(np.clip((uu - u0) / (u1 - u0), 0.0, 1.0) ** q.warp)
            toe[sw, :2] = toes_xy[i] + prog[:, None] * (toes_xy[i + 1] - toes_xy[i])
            a, b = q.bump
            peak = (a / (a + b)) ** a * (b / (a + b)) ** b
            toe[sw, 2] = h_toe + q.lift * uu**a * (1 - uu) ** b / peak
            yaw[sw] = p.yaw + minjerk(uu) * _wrap(q.yaw - p.yaw)
            c[sw] = 1.0 - minjerk(uu / 0.7)
            pk_t.append(p.t1 + 0.4 * dur)
            pk_v.append(q.swing_pitch)
    pitch = pchip(t, np.array(pk_t), np.array(pk_v)) if len(pk_t) > 1 else np.full(n, pk_v[0])
    # Toes up (pitch < 0) turns the heel down about the toe joint: lift the toe by as much,
    # so the heel stays above the floor (about 1.4 ankle-toe lengths behind the toe joint).
    toe[:, 2] += np.maximum(-np.sin(pitch), 0.0) * _heel_length(rig, side)
    return FootTrack(toe=toe, yaw=yaw, pitch=pitch, toe_angle=-pitch * c)


def _heel_length(rig: Rig, side: str) -> float:
    off = rig.rest_joints[J[f"{side}_foot"]] - rig.rest_joints[J[f"{side}_ankle"]]
    return 1.4 * float(np.hypot(off[0], off[2]))


# ===================================================================== the solver

class MotionBuilder:
    """Collects a clip's plan (pelvis, feet, upper-body rotations) and solves it.

    Local rotations of non-leg joints are composed with :meth:`rot` (model-frame
    conventions documented there); legs are filled in by :meth:`solve`.
    """

    def __init__(self, rig: Rig, duration: float, name: str):
        self.rig = rig
        self.name = name
        self.n = int(round(duration * FPS)) + 1
        self.t = np.arange(self.n) / FPS
        self.local = np.tile(_EYE, (self.n, NUM_JOINTS, 1, 1))
        self.pelvis_xy = np.zeros((self.n, 2))
        self.heading = np.zeros(self.n)
        self.pelvis_rot = np.tile(_EYE, (self.n, 1, 1))   # model frame, relative to heading
        self.height = np.full(self.n, rig.standing_height)  # nominal pelvis joint height
        self.height_exact = False   # True: use height as is (only checked for reach)
        self.feet: dict[str, FootTrack] = {}

    # ---------------------------------------------------------------- composing
    def rot(self, joint: str, r, mirror: bool = False):
        """Post-multiply a joint's local rotation by r ((3,3) or (F,3,3)).

        Conventions (model frame, left-side joints): Rx(+) bends the spine forward, flexes
        the knee, points the toes down; Ry(+) twists to the left; Rz(-) lowers the left arm
        and curls left fingers. ``mirror=True`` applies r mirrored (for right-side joints
        given in the left-side convention).
        """
        r = np.broadcast_to(np.asarray(r, dtype=np.float64), (self.n, 3, 3))
        if mirror:
            r = _mirror(r)
        j = J[joint]
        self.local[:, j] = self.local[:, j] @ r

    def spine(self, flex=0.0, lateral=0.0, twist=0.0, shares=(0.35, 0.3, 0.35)):
        """Distribute a trunk bend over spine1-3: flex (+ forward), lateral (+ to the left),
        twist (+ to the left), radians (scalars or per-frame arrays)."""
        for name, s in zip(("spine1", "spine2", "spine3"), shares):
            self.rot(name, rot_y(np.multiply(twist, s)) @ rot_x(np.multiply(flex, s)) @ rot_z(-np.multiply(lateral, s)))

    def head(self, flex=0.0, lateral=0.0, twist=0.0):
        """Neck + head: flex (+ nod down), lateral (+ to the left), twist (+ look left)."""
        for name, s in (("neck", 0.4), ("head", 0.6)):
            self.rot(name, rot_y(np.multiply(twist, s)) @ rot_x(np.multiply(flex, s)) @ rot_z(-np.multiply(lateral, s)))

    def arm(self, side: str, down=1.3, forward=0.0, twist=0.0, elbow=0.2, wrist=0.0,
            wrist_dev=0.0, collar=0.0, forearm=0.0):
        """One arm, in the left-side convention (mirrored for the right).

        down: shoulder rotation lowering the arm from the T-pose (rad, ~1.3 = at the side);
        forward: then swings the arm forward about the body's lateral axis; twist: rotation
        about the T-pose arm axis (negative turns the elbow crease forward/up); elbow:
        flexion (>= 0); wrist: flexion toward the palm; wrist_dev: ulnar(+)/radial deviation;
        collar: shoulder girdle raise; forearm: pronation(+)/supination about the forearm.
        """
        m = side == "right"
        self.rot(f"{side}_collar", rot_z(np.multiply(collar, 1.0)), mirror=m)
        shoulder = rot_x(-np.asarray(forward)) @ rot_z(-np.asarray(down)) @ rot_x(np.asarray(twist))
        self.rot(f"{side}_shoulder", shoulder, mirror=m)
        self.rot(f"{side}_elbow", rot_y(-np.asarray(elbow)) @ rot_x(np.asarray(forearm)), mirror=m)
        self.rot(f"{side}_wrist", rot_z(-np.asarray(wrist)) @ rot_y(np.asarray(wrist_dev)), mirror=m)

    def hands(self, curl=0.35, spread=0.0, thumb=0.3, side: str | None = None):
        """Finger curl (0 flat .. ~1.2 fist), per joint growing toward the little finger."""
        sides = [side] if side else ["left", "right"]
        gain = {"index": 0.8, "middle": 1.0, "ring": 1.1, "pinky": 1.2}
        splay = {"index": 1.0, "middle": 0.3, "ring": -0.4, "pinky": -1.0}
        for sd in sides:
            m = sd == "right"
            for f, g in gain.items():
                for k, share in ((1, 0.8), (2, 1.1), (3, 0.7)):
                    r = rot_z(-np.multiply(curl, g * share))
                    if k == 1:
                        r = rot_y(np.multiply(spread, 0.15 * splay[f])) @ r
                    self.rot(f"{sd}_{f}{k}", r, mirror=m)
            self.rot(f"{sd}_thumb1", rot_x(np.multiply(thumb, 0.6)) @ rot_y(np.multiply(thumb, 0.3)), mirror=m)
            self.rot(f"{sd}_thumb2", rot_z(-np.multiply(thumb, 0.5)), mirror=m)
            self.rot(f"{sd}_thumb3", rot_z(-np.multiply(thumb, 0.6)), mirror=m)

    # ---------------------------------------------------------------- solving
    def solve(self) -> MotionClip:
        """Pelvis height, leg IK, a forward-kinematics check of every foot target, and the
        clip (poses rounded through float32)."""
        rj = self.rig.rest_joints
        n = self.n
        r_pelvis = rot_z(self.heading) @ _B @ self.pelvis_rot
        self.local[:, 0] = _EYE

        legs = {}
        height = self.height
        for side, _ in SIDES:
            ft = self.feet[side]
            r_foot = _foot_rot(ft.yaw, ft.pitch)
            ankle = ft.toe + r_foot @ (rj[J[f"{side}_ankle"]] - rj[J[f"{side}_foot"]])
            geo = _leg_geometry(rj, side)
            o_hip = r_pelvis @ (rj[J[f"{side}_hip"]] - rj[0])
            horiz = np.linalg.norm(self.pelvis_xy + o_hip[:, :2] - ankle[:, :2], axis=1)
            reach = REACH * geo["d_max"]
            if np.any(horiz >= reach):
                f = int(np.argmax(horiz - reach))
                raise ValueError(f"{self.name}: {side} foot out of reach at frame {f}")
            # Highest pelvis that lets this leg reach its ankle target.
            cap = ankle[:, 2] - o_hip[:, 2] + np.sqrt(reach**2 - horiz**2)
            if self.height_exact:
                if np.any(height > cap + 1e-9):
                    f = int(np.argmax(height - cap))
                    raise ValueError(f"{self.name}: pelvis height out of the {side} leg's reach at frame {f}")
            else:
                height = smin(height, cap, 0.02)
            legs[side] = (ft, r_foot, ankle, geo, o_hip)
        pelvis = np.concatenate([self.pelvis_xy, height[:, None]], axis=1)

        for side, _ in SIDES:
            ft, r_foot, ankle, geo, o_hip = legs[side]
            hip = pelvis + o_hip
            g_hip, knee = _two_bone(geo, hip, ankle, ft.yaw)
            g_knee = g_hip @ rot_x(knee)
            self.local[:, J[f"{side}_hip"]] = np.swapaxes(r_pelvis, 1, 2) @ g_hip
            self.local[:, J[f"{side}_knee"]] = rot_x(knee)
            self.local[:, J[f"{side}_ankle"]] = np.swapaxes(g_knee, 1, 2) @ r_foot
            self.local[:, J[f"{side}_foot"]] = rot_x(ft.toe_angle)

        transl = pelvis - rj[0]
        joints = forward_joints(rj, r_pelvis, self.local, transl)
        for side, _ in SIDES:
            ft, _, ankle, _, _ = legs[side]
            err = max(np.abs(joints[:, J[f"{side}_ankle"]] - ankle).max(),
                      np.abs(joints[:, J[f"{side}_foot"]] - ft.toe).max())
            if err > 1e-6:
                raise AssertionError(f"{self.name}: {side} foot misses its target by {err:.2e} m")

        aa = matrix_to_axis_angle(self.local).reshape(n, NUM_JOINTS * 3)
        go = matrix_to_axis_angle(r_pelvis)
        # Stored through float32 (as mocap files are): keeps files stable across platforms
        # whose transcendental functions differ in the last bits. Values that are zero up to
        # rounding noise (|x| < 1e-12: the pelvis of a clip that never moves sideways) are
        # stored as 0: relative rounding cannot steady them, and the noise's sign and size
        # follow the CPU's SIMD kernels (AVX-512 and AVX2 machines gave +-6.9e-18 and 0).
        def q(x):
            x = np.asarray(x, dtype=np.float32).astype(np.float64)
            return np.where((x != 0.0) & (np.abs(x) < NOISE_FLOOR), 0.0, x)
        return MotionClip(
            global_orient=q(go), body_pose=q(aa[:, 3:66]), jaw_pose=q(aa[:, 66:69]),
            leye_pose=q(aa[:, 69:72]), reye_pose=q(aa[:, 72:75]),
            left_hand_pose=q(aa[:, 75:120]), right_hand_pose=q(aa[:, 120:165]),
            transl=q(transl), betas=np.zeros(NUM_BETAS), expression=None, gender="neutral",
            fps=FPS, source=f"mayhem.procedural:{self.name}", source_format="smplx")


def _leg_geometry(rj: np.ndarray, side: str) -> dict:
    """Rest thigh/shin vectors and the knee-angle solution constants of one leg."""
    u = rj[J[f"{side}_knee"]] - rj[J[f"{side}_hip"]]
    v = rj[J[f"{side}_ankle"]] - rj[J[f"{side}_knee"]]
    a = u[1] * v[1] + u[2] * v[2]
    b = u[2] * v[1] - u[1] * v[2]
    alpha = math.atan2(b, a)          # knee angle of the longest leg
    theta_min = max(alpha, 0.0) + KNEE_MIN
    w = u + rot_x(theta_min) @ v
    return dict(u=u, v=v, a=a, b=b, rho=math.hypot(a, b), alpha=alpha, theta_min=theta_min,
                c0=u[0] * v[0], uu=u @ u, vv=v @ v, d_max=float(np.linalg.norm(w)))


def _two_bone(geo: dict, hip: np.ndarray, ankle: np.ndarray, yaw: np.ndarray):
    """Hip global rotation and knee angle putting the ankle at `ankle`, knee toward `yaw`."""
    d_vec = ankle - hip
    d = np.linalg.norm(d_vec, axis=1)
    c = (d * d - geo["uu"] - geo["vv"]) / 2.0 - geo["c0"]
    knee = geo["alpha"] + np.arccos(np.clip(c / geo["rho"], -1.0, 1.0))
    knee = np.maximum(knee, geo["theta_min"])
    w = geo["u"] + rot_x(knee) @ geo["v"]
    e1 = _unit(w)
    x = np.array([1.0, 0.0, 0.0])
    e2 = _unit(x - (e1 @ x)[:, None] * e1)
    e3 = np.cross(e1, e2)
    f1 = _unit(d_vec)
    hinge = np.stack([np.cos(yaw), np.sin(yaw), np.zeros_like(yaw)], -1)
    f2 = _unit(hinge - np.sum(hinge * f1, -1, keepdims=True) * f1)
    f3 = np.cross(f1, f2)
    g = np.stack([f1, f2, f3], -1) @ np.swapaxes(np.stack([e1, e2, e3], -1), 1, 2)
    return g, knee


def forward_joints(rest_joints, root_rot, local, transl) -> np.ndarray:
    """(F, 55, 3) world joints from root rotation (F,3,3), local rotations (F,55,3,3)
    (entry 0 ignored) and transl, by SMPL-X forward kinematics (root about its rest joint)."""
    n = root_rot.shape[0]
    g = np.empty((n, NUM_JOINTS, 3, 3))
    p = np.empty((n, NUM_JOINTS, 3))
    g[:, 0] = root_rot
    p[:, 0] = rest_joints[0] + transl
    for j in range(1, NUM_JOINTS):
        q = PARENTS[j]
        g[:, j] = g[:, q] @ local[:, j]
        p[:, j] = p[:, q] + g[:, q] @ (rest_joints[j] - rest_joints[q])
    return p


# ================================================================= shared poses

def standing_feet(b: MotionBuilder, width=0.09, toe_out=0.12, center=(0.0, 0.0), heading=0.0):
    """Both feet planted for the whole clip, ankles `width` left/right of `center`."""
    for side, s in SIDES:
        xy = np.asarray(center) + s * width * heading_left(heading)
        b.feet[side] = foot_track(b.rig, side, b.t, [Plant(-1.0, b.t[-1] + 1.0, tuple(xy), heading + s * toe_out)])


# ============================================================ locomotion (gaits)

@dataclass(frozen=True)
class Gait:
    """Cyclic gait parameters (SI units, radians)."""

    period: float          # stride time (two steps), s
    duty: float            # stance share of the stride per foot
    speed: float           # m/s along the path
    width: float           # ankle footprint offset from the path, m
    toe_out: float
    lift: float            # toe-base joint clearance in swing, m
    heel_off: float        # foot pitch at lift-off
    roll: float            # share of stance with the heel rising
    swing_pitch: float
    land_pitch: float
    warp: float
    bump: tuple
    bob: float             # pelvis vertical amplitude; > 0 highest at mid-stance
    drop: float            # nominal pelvis lowering from standing height, m
    sway: float            # pelvis lateral shift toward the stance foot, m
    twist: float           # pelvis rotation about the vertical, rad
    list_: float           # pelvis obliquity (swing side drops), rad
    lean: float            # trunk forward lean, rad
    arm_swing: float
    arm_fwd: float         # mean arm flexion
    elbow: float
    elbow_swing: float
    curl: float
    land_reach: float = 0.3   # ankle ahead of the pelvis when the foot lands, m
    travel: tuple = (0.06, 0.86)  # see Plant.travel


WALK = Gait(period=1.06, duty=0.62, speed=1.2, width=0.075, toe_out=0.1, lift=0.075,
            heel_off=1.0, roll=0.45, swing_pitch=0.05, land_pitch=-0.12, warp=0.75, bump=(1.2, 2.5),
            bob=0.018, drop=0.02, sway=0.022, twist=0.08, list_=0.06, lean=0.04,
            arm_swing=0.28, arm_fwd=0.05, elbow=0.3, elbow_swing=0.15, curl=0.35, land_reach=0.25)
JOG = Gait(period=0.72, duty=0.37, speed=2.6, width=0.05, toe_out=0.06, lift=0.14,
           heel_off=1.2, roll=0.5, swing_pitch=0.7, land_pitch=0.15, warp=0.9, bump=(1.1, 1.5),
           bob=-0.03, drop=0.04, sway=0.012, twist=0.12, list_=0.05, lean=0.14,
           arm_swing=0.5, arm_fwd=0.05, elbow=1.45, elbow_swing=0.2, curl=0.8, land_reach=0.14,
           travel=(0.05, 0.93))


def path_straight(s, psi0=0.0):
    return s[:, None] * heading_dir(psi0)[None], np.full_like(s, psi0)


def path_arc(s, kappa, psi0=0.0):
    psi = psi0 + kappa * s
    xy = np.stack([(np.cos(psi0) - np.cos(psi)) / kappa, (np.sin(psi0) - np.sin(psi)) / kappa], -1)
    return xy, psi


def gait_motion(rig: Rig, name: str, duration: float, gait: Gait, path) -> MotionBuilder:
    """A steady gait along path(s) -> (xy (N,2), heading (N,)), starting at s = 0."""
    b = MotionBuilder(rig, duration, name)
    g = gait
    t = b.t
    phase = t / g.period            # left foot lands at integer phases
    s = g.speed * t
    xy, psi = path(s)
    stance = g.duty * g.period
    for side, sgn in SIDES:
        off = 0.0 if side == "left" else 0.5
        plants = []
        for k in range(-2, int(duration / g.period) + 3):
            t0 = (k + off) * g.period
            tm = t0 + stance / 2.0
            pxy, ppsi = path(np.array([g.speed * tm]))
            ahead = g.land_reach - 0.5 * stance * g.speed
            fxy = pxy[0] + sgn * g.width * heading_left(ppsi[0]) + ahead * heading_dir(ppsi[0])
            plants.append(Plant(t0, t0 + stance, tuple(fxy), float(ppsi[0] + sgn * g.toe_out),
                                heel_off=g.heel_off, roll=g.roll * stance, lift=g.lift,
                                swing_pitch=g.swing_pitch, land_pitch=g.land_pitch, warp=g.warp,
                                bump=g.bump, travel=g.travel))
        b.feet[side] = foot_track(rig, side, t, plants)
    w = 2.0 * np.pi * phase
    mid = 2.0 * np.pi * (phase - g.duty / 4.0)    # 0 at left mid-stance
    b.pelvis_xy = xy + (g.sway * np.sin(mid + np.pi / 2))[:, None] * heading_left(psi)
    b.heading = psi
    b.height = rig.standing_height - g.drop + g.bob * np.cos(2.0 * mid)
    # Left leg forward at phase 0 (left landing): pelvis turned right (left hip forward).
    tw = -g.twist * np.cos(w)
    b.pelvis_rot = rot_y(tw) @ rot_x(np.full_like(t, 0.04 + 0.5 * g.lean)) @ rot_z(g.list_ * np.sin(mid + np.pi / 2))
    b.spine(flex=0.5 * g.lean + 0.01 * np.cos(2 * mid), twist=-1.3 * tw,
            lateral=-0.5 * g.list_ * np.sin(mid + np.pi / 2))
    b.head(flex=-0.5 * g.lean - 0.04, twist=0.3 * tw)
    for side, sgn in SIDES:
        # Arms swing against the legs: the left arm is forward when the right leg is (phase 0.5).
        fw = g.arm_fwd - sgn * g.arm_swing * np.cos(w)
        elbow = g.elbow + g.elbow_swing * (fw - g.arm_fwd) / max(g.arm_swing, 1e-9)
        b.arm(side, down=1.28, forward=fw, elbow=elbow, twist=-0.15, wrist=0.1, collar=-0.04)
    b.hands(curl=g.curl, thumb=0.35)
    return b


