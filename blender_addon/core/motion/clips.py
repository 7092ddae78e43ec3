"""The bundled procedural clips (walks, jog, idle, wave, squat, jump, turn, reach, dance),
each a plan for core.motion.amass.procedural's solver, and their deterministic AMASS files.

Why apart from the solver: a new clip is a new plan here; the solver that keeps feet
planted does not change.
"""
from __future__ import annotations

import math

import numpy as np

from ..io.npz import npz_bytes
from .amass import MotionClip, amass_smplx_arrays
from .procedural import (
    FPS,
    JOG,
    SIDES,
    WALK,
    Gait,
    MotionBuilder,
    Plant,
    Rig,
    foot_track,
    gait_motion,
    hann_smooth,
    heading_left,
    keys,
    minjerk,
    path_arc,
    path_straight,
    rot_x,
    rot_y,
    rot_z,
    standing_feet,
)

# ================================================================ the clips

def clip_walk_straight(rig: Rig) -> MotionClip:
    """Steady walk, 1.2 m/s, straight toward -Y, 8 s."""
    return gait_motion(rig, "walk_straight", 8.0, WALK, path_straight).solve()


def clip_walk_curve(rig: Rig) -> MotionClip:
    """Walk along a left-turning circle of radius 2.5 m, 1.1 m/s, 9 s (about 225°)."""
    g = Gait(**{**WALK.__dict__, "speed": 1.1, "period": 1.12})
    b = gait_motion(rig, "walk_curve", 9.0, g, lambda s: path_arc(s, 1.0 / 2.5))
    b.pelvis_rot = b.pelvis_rot @ rot_z(np.full(b.n, -0.05))  # lean into the turn (to the left)
    b.head(twist=np.full(b.n, 0.12))                          # look into the turn
    return b.solve()


def clip_jog(rig: Rig) -> MotionClip:
    """Jog at 2.6 m/s toward -Y with short flight phases, 6 s."""
    return gait_motion(rig, "jog", 6.0, JOG, path_straight).solve()


def clip_idle_sway(rig: Rig) -> MotionClip:
    """Standing: slow weight shifts, breathing, looking around, 9 s."""
    b = MotionBuilder(rig, 9.0, "idle_sway")
    t = b.t
    standing_feet(b, width=0.1, toe_out=0.14)
    shift = 0.035 * np.sin(2 * np.pi * t / 4.5 - 0.3)
    b.pelvis_xy = np.stack([shift, 0.004 * np.sin(2 * np.pi * t / 3.1)], -1)
    b.height = rig.standing_height - 0.012 - 0.004 * np.cos(2 * np.pi * t / 4.5)
    b.pelvis_rot = rot_z(-1.2 * shift) @ rot_y(0.04 * np.sin(2 * np.pi * t / 6.0)) @ rot_x(np.full_like(t, 0.03))
    breath = 0.015 * np.sin(2 * np.pi * t / 3.6)
    b.spine(flex=0.02 - breath, lateral=0.8 * shift, twist=-0.03 * np.sin(2 * np.pi * t / 6.0))
    look = keys(t, (0.0, 0.0), (1.5, 0.0), (2.4, 0.45), (3.8, 0.45), (4.8, -0.1), (6.0, -0.5),
                (7.2, -0.5), (8.2, 0.0), (9.0, 0.0))
    nod = keys(t, (0.0, 0.0), (2.4, -0.08), (4.8, 0.12), (6.0, 0.05), (9.0, 0.0))
    b.head(flex=nod, twist=look, lateral=-0.4 * shift)
    for side, sgn in SIDES:
        b.arm(side, down=1.3 + 0.03 * np.sin(2 * np.pi * t / 3.6),
              forward=0.03 + 0.02 * sgn * np.sin(2 * np.pi * t / 6.0),
              elbow=0.22 + 0.04 * np.sin(2 * np.pi * t / 4.5 + sgn), twist=-0.1, wrist=0.1,
              collar=-0.04 + 0.6 * breath)
    b.hands(curl=0.35 + 0.05 * np.sin(2 * np.pi * t / 5.0), thumb=0.3)
    return b.solve()


def clip_wave(rig: Rig) -> MotionClip:
    """Stand, raise the right hand and wave three times, lower it, 5 s."""
    b = MotionBuilder(rig, 5.0, "wave")
    t = b.t
    standing_feet(b, width=0.095, toe_out=0.13)
    shift = keys(t, (0.0, 0.0), (0.8, 0.025), (4.2, 0.025), (5.0, 0.0))
    b.pelvis_xy = np.stack([shift, np.zeros_like(t)], -1)
    b.height = rig.standing_height - 0.012 + np.zeros_like(t)
    b.pelvis_rot = rot_z(-0.8 * shift) @ rot_x(np.full_like(t, 0.03))
    up = keys(t, (0.0, 0.0), (0.5, 0.0), (1.3, 1.0), (3.7, 1.0), (4.5, 0.0), (5.0, 0.0))
    wave = np.sin(2 * np.pi * (t - 1.3) / 0.8) * keys(t, (1.1, 0.0), (1.5, 1.0), (3.5, 1.0), (3.8, 0.0))
    b.spine(flex=0.02, lateral=0.6 * shift + 0.04 * up, twist=-0.06 * up)
    b.head(twist=-0.1 * up, flex=-0.03 * up, lateral=0.05 * up)
    b.arm("left", down=1.3, elbow=0.25, twist=-0.1, wrist=0.1, collar=-0.05)
    # Right arm: raised to the side above shoulder height, forearm up, palm forward.
    b.arm("right", down=1.3 - 1.55 * up, forward=0.25 * up, twist=-0.1 - 1.35 * up,
          elbow=0.25 + 1.35 * up + 0.35 * wave, wrist=0.1 - 0.2 * up, wrist_dev=0.25 * wave,
          collar=-0.05 + 0.12 * up)
    b.hands(curl=0.35, thumb=0.3, side="left")
    b.hands(curl=0.35 - 0.3 * up, spread=2.0 * up, thumb=0.3 - 0.2 * up, side="right")
    return b.solve()


def clip_squat(rig: Rig) -> MotionClip:
    """Two bodyweight squats with arms raised forward for balance, 6.5 s."""
    b = MotionBuilder(rig, 6.5, "squat")
    t = b.t
    standing_feet(b, width=0.15, toe_out=0.3)
    d = keys(t, (0.0, 0.0), (0.5, 0.0), (1.7, 1.0), (2.1, 1.0), (3.2, 0.0), (3.5, 0.0),
             (4.7, 1.0), (5.1, 1.0), (6.2, 0.0), (6.5, 0.0))
    b.pelvis_xy = np.stack([np.zeros_like(t), 0.16 * d], -1)          # hips back (+Y is behind)
    b.height = rig.standing_height - 0.012 - 0.40 * d
    b.pelvis_rot = rot_x(0.03 + 0.35 * d)
    b.spine(flex=0.02 + 0.25 * d)
    b.head(flex=-0.45 * d)
    for side, _ in SIDES:
        b.arm(side, down=1.3 + 0.22 * d, forward=2.0 * d, elbow=0.25 - 0.1 * d, twist=-0.1 - 0.3 * d,
              wrist=0.1, collar=-0.05 + 0.08 * d)
    b.hands(curl=0.35 - 0.1 * d, thumb=0.3)
    return b.solve()


def _hermite(u, p0, p1, m0, m1):
    """Cubic Hermite on u in [0, 1] with end values p and end slopes m (per unit u)."""
    u2, u3 = u * u, u * u * u
    return (2 * u3 - 3 * u2 + 1) * p0 + (u3 - 2 * u2 + u) * m0 + (-2 * u3 + 3 * u2) * p1 + (u3 - u2) * m1


def clip_jump(rig: Rig) -> MotionClip:
    """Countermovement jump 0.3 m forward with an arm swing, landing and recovery, 4 s.

    The flight is ballistic (g = 9.81 m/s²): the pelvis leaves the push-off with the
    take-off velocity and follows a parabola until the toes touch down.
    """
    b = MotionBuilder(rig, 4.0, "jump")
    t = b.t
    g = 9.81
    h0 = rig.standing_height - 0.012
    t_dip, t_push, t_off = 1.05, 1.2, 1.5     # crouch reached, push starts, take-off
    dip, ext = -0.22, 0.03                    # pelvis below / above standing
    v0 = 2.2                                  # vertical take-off speed, m/s
    drop = 0.05                               # landing pelvis height below take-off
    tf = (v0 + math.sqrt(v0 * v0 + 2 * g * drop)) / g
    t_land = t_off + tf
    v_land = v0 - g * tf
    t_abs = t_land + 0.3                      # landing absorbed
    absorb = -0.2
    hh = h0 + keys(t, (0.0, 0.0), (0.4, 0.0), (t_dip, dip), (t_push, dip))
    seg = (t >= t_push) & (t < t_off)
    T = t_off - t_push
    hh[seg] = h0 + _hermite((t[seg] - t_push) / T, dip, ext, 0.0, v0 * T)
    seg = (t >= t_off) & (t < t_land)
    tt = t[seg] - t_off
    hh[seg] = h0 + ext + v0 * tt - 0.5 * g * tt * tt
    seg = (t >= t_land) & (t < t_abs)
    T2 = t_abs - t_land
    hh[seg] = h0 + _hermite((t[seg] - t_land) / T2, ext - drop, absorb, v_land * T2, 0.0)
    seg = t >= t_abs
    hh[seg] = h0 + keys(t[seg], (t_abs, absorb), (t_abs + 0.2, absorb), (3.4, 0.0), (4.0, 0.0))
    b.height = hh
    b.height_exact = True
    # Forward travel (toward -Y): accelerates during the push, constant in flight, stops
    # during the absorption; c1 continuous.
    vx = 0.3 / (0.5 * T + tf + 0.5 * T2)
    y = np.zeros_like(t)
    seg = (t >= t_push) & (t < t_off)
    y[seg] = 0.5 * vx * (t[seg] - t_push) ** 2 / T
    y0 = 0.5 * vx * T
    seg = (t >= t_off) & (t < t_land)
    y[seg] = y0 + vx * (t[seg] - t_off)
    y1 = y0 + vx * tf
    seg = t >= t_land
    tt = np.minimum(t[seg] - t_land, T2)
    y[seg] = y1 + vx * tt - 0.5 * vx * tt * tt / T2
    y_end = y1 + 0.5 * vx * T2
    b.pelvis_xy = np.stack([np.zeros_like(t), -y], -1)
    crouch = np.clip((h0 - hh) / -dip, 0.0, None)
    w, toe_out = 0.11, 0.15
    heel = 0.9     # foot pitch at take-off and touch-down (toes down)
    for side, sgn in SIDES:
        before = Plant(-1.0, t_off, (sgn * w, 0.0), sgn * toe_out, heel_off=heel, roll=0.25)
        after = Plant(t_land, 9.0, (sgn * w, -y_end + 0.03), sgn * toe_out)
        ft = foot_track(rig, side, t, [before, after])
        toe0 = ft.toe[t < t_off][-1] if np.any(t < t_off) else ft.toe[0]
        toe1 = ft.toe[t >= t_land][0]
        p_off = np.array([0.0, -y0, h0 + ext])
        p_land = np.array([0.0, -y1, h0 + ext - drop])
        fl = np.flatnonzero((t >= t_off) & (t < t_land))
        u = (t[fl] - t_off) / tf
        pel = np.stack([np.zeros_like(u), -y[fl], hh[fl]], -1)
        # In flight each toe keeps its offset from the pelvis (blended from take-off to
        # touch-down) with the legs tucked up to 0.1 m at mid-flight.
        rel = (toe0 - p_off) + minjerk(u)[:, None] * ((toe1 - p_land) - (toe0 - p_off))
        ft.toe[fl] = pel + rel + np.array([0.0, 0.0, 1.0]) * (0.1 * np.sin(np.pi * u) ** 2)[:, None]
        ft.pitch[fl] = heel
        ft.toe_angle[fl] = -heel * (1.0 - 0.7 * np.sin(np.pi * u) ** 2)   # toes relax, then flat to land
        land = t >= t_land
        ft.pitch[land] = heel * (1.0 - minjerk((t[land] - t_land) / 0.25))
        ft.toe_angle[land] = -ft.pitch[land]
        b.feet[side] = ft
    b.pelvis_rot = rot_x(0.03 + 0.5 * crouch)
    b.spine(flex=0.02 + 0.35 * crouch - 0.05 * np.clip(hh - h0, 0, None) / 0.3)
    b.head(flex=-0.55 * crouch)
    # Arms: back during the crouch, swing forward-up through take-off, down after landing.
    arm = keys(t, (0.0, 0.05), (0.4, 0.05), (t_dip - 0.05, -0.75), (t_push - 0.05, -0.7),
               (t_off + 0.12, 2.1), (t_land - 0.05, 1.9), (t_abs, 0.7), (t_abs + 0.3, 0.5),
               (3.5, 0.05), (4.0, 0.05))
    up = np.clip(arm / 2.1, 0.0, 1.0)
    for side, _ in SIDES:
        b.arm(side, down=1.3 + 0.1 * up, forward=arm, elbow=0.3 + 0.2 * up, twist=-0.15, wrist=0.1,
              collar=-0.05 + 0.12 * up)
    b.hands(curl=0.45, thumb=0.35)
    return b.solve()


def clip_turn_in_place(rig: Rig) -> MotionClip:
    """Turn 180° to the left on the spot in four steps, 4.5 s."""
    b = MotionBuilder(rig, 4.5, "turn_in_place")
    t = b.t
    w = 0.1
    toe_out = 0.12
    sched = {   # (t0, t1, heading of the footprint)
        "left": [(-1.0, 0.55, 0.0), (0.9, 1.5, 0.8), (1.85, 2.45, 1.85), (2.8, 6.0, np.pi)],
        "right": [(-1.0, 1.05, 0.0), (1.4, 1.95, 1.3), (2.35, 2.9, 2.5), (3.25, 6.0, np.pi)],
    }
    for side, sgn in SIDES:
        plants = [Plant(t0, t1, tuple(sgn * w * heading_left(psi)), psi + sgn * toe_out,
                        heel_off=0.15, roll=0.2, lift=0.05, land_pitch=-0.03)
                  for t0, t1, psi in sched[side]]
        b.feet[side] = foot_track(rig, side, t, plants)
    psi = keys(t, (0.0, 0.0), (0.35, 0.0), (3.15, np.pi), (4.5, np.pi))
    b.heading = psi
    # weight toward the supporting foot while the other steps
    lw = keys(t, (0.0, 0.0), (0.4, -0.03), (0.8, -0.03), (1.2, 0.03), (1.7, 0.03), (2.15, -0.03),
              (2.6, -0.03), (3.05, 0.03), (3.3, 0.0), (4.5, 0.0))
    b.pelvis_xy = lw[:, None] * heading_left(psi)
    b.height = rig.standing_height - 0.03 + np.zeros_like(t)
    b.pelvis_rot = rot_z(-1.0 * lw) @ rot_x(np.full_like(t, 0.04))
    b.spine(flex=0.03, lateral=0.5 * lw,
            twist=keys(t, (0.0, 0.0), (0.3, 0.15), (2.9, 0.15), (3.4, 0.0), (4.5, 0.0)))
    b.head(twist=keys(t, (0.0, 0.0), (0.3, 0.35), (2.8, 0.35), (3.4, 0.0), (4.5, 0.0)), flex=0.04)
    for side, sgn in SIDES:
        sw = 0.12 * np.sin(2 * np.pi * (t - 0.4) / 1.9) * keys(t, (0.2, 0.0), (0.6, 1.0), (3.0, 1.0), (3.6, 0.0))
        b.arm(side, down=1.25, forward=0.05 + sgn * sw, elbow=0.35, twist=-0.12, wrist=0.1, collar=-0.04)
    b.hands(curl=0.35, thumb=0.3)
    return b.solve()


def clip_reach(rig: Rig) -> MotionClip:
    """Reach forward-down with the right hand, then up high on tiptoes, 7 s."""
    b = MotionBuilder(rig, 7.0, "reach")
    t = b.t
    lo = keys(t, (0.0, 0.0), (0.4, 0.0), (1.6, 1.0), (2.3, 1.0), (3.3, 0.0), (7.0, 0.0))
    hi = keys(t, (0.0, 0.0), (3.5, 0.0), (4.6, 1.0), (5.4, 1.0), (6.4, 0.0), (7.0, 0.0))
    # Tiptoes while reaching up: heels rise by rotating each foot about its toe-base joint.
    for side, sgn in SIDES:
        xy = (sgn * 0.1, 0.0)
        b.feet[side] = foot_track(rig, side, t, [Plant(-1.0, 8.0, xy, sgn * 0.13)])
        b.feet[side].pitch[:] = 0.45 * hi
        b.feet[side].toe_angle[:] = -0.45 * hi
    b.pelvis_xy = np.stack([-0.03 * lo, 0.08 * lo + 0.02 * hi], -1)     # hips back (+Y) to balance
    b.height = rig.standing_height - 0.015 - 0.06 * lo + 0.06 * hi
    b.pelvis_rot = rot_x(0.03 + 0.35 * lo - 0.04 * hi) @ rot_z(0.05 * lo)
    b.spine(flex=0.02 + 0.4 * lo - 0.12 * hi, twist=-0.25 * lo - 0.1 * hi, lateral=-0.08 * lo + 0.08 * hi)
    b.head(flex=-0.1 * lo - 0.45 * hi, twist=-0.1 * lo)
    b.arm("left", down=1.3 - 0.1 * lo, forward=0.15 * lo, elbow=0.3, twist=-0.1, wrist=0.1, collar=-0.05)
    b.arm("right", down=1.3 + 0.15 * lo - 0.2 * hi, forward=1.65 * lo + 2.55 * hi,
          elbow=0.25 - 0.2 * lo - 0.15 * hi, twist=-0.1 - 0.2 * hi, wrist=0.1 - 0.25 * lo,
          collar=-0.05 + 0.15 * lo + 0.25 * hi)
    b.hands(curl=0.35, thumb=0.3, side="left")
    b.hands(curl=0.35 - 0.25 * (lo + hi) + 0.45 * keys(t, (1.6, 0.0), (1.9, 1.0), (2.4, 1.0), (2.8, 0.0)),
            spread=0.8 * (lo + hi), thumb=0.3, side="right")
    return b.solve()


def clip_dance(rig: Rig) -> MotionClip:
    """Side-step-touch to 120 bpm with hip sway, bounce and arm swings, 8 s."""
    b = MotionBuilder(rig, 8.0, "dance")
    t = b.t
    beat = 0.5
    w = 0.1
    step = 0.3
    # Four-beat pattern: right steps out, left closes to it, left steps out, right closes.
    pattern = (("right", True), ("left", False), ("left", True), ("right", False))
    pos = {"left": w, "right": -w}          # lateral ankle positions (+X = the body's left)
    plants = {"left": [[-1.0, None, w]], "right": [[-1.0, None, -w]]}
    for k, tb in enumerate(np.arange(0.1, 8.0, beat)):
        side, out = pattern[k % 4]
        sgn = 1.0 if side == "left" else -1.0
        other = "right" if side == "left" else "left"
        new = pos[side] + sgn * step if out else pos[other] + sgn * 1.6 * w
        plants[side][-1][1] = tb
        plants[side].append([tb + 0.28, None, new])
        pos[side] = new
    for side, sgn in SIDES:
        plants[side][-1][1] = 9.0
        pl = [Plant(a, bb, (xx, 0.0), sgn * 0.12, heel_off=0.25, roll=0.12, lift=0.06, land_pitch=0.15)
              for a, bb, xx in plants[side]]
        b.feet[side] = foot_track(rig, side, t, pl)
    # The pelvis follows the middle of the feet (smoothed over a beat) and sways with the music.
    mid = 0.5 * (b.feet["left"].toe[:, 0] + b.feet["right"].toe[:, 0])
    cx = hann_smooth(mid, int(round(beat * FPS)))
    ph = np.pi * (t - 0.1) / (2 * beat)     # half a turn per beat
    side_sway, swing = -np.cos(ph), np.sin(ph)
    b.pelvis_xy = np.stack([cx - 0.05 * side_sway, np.zeros_like(t)], -1)
    bounce = 0.5 - 0.5 * np.cos(4 * ph)
    b.height = rig.standing_height - 0.04 - 0.035 * bounce
    b.pelvis_rot = rot_z(0.09 * side_sway) @ rot_y(0.1 * swing) @ rot_x(np.full_like(t, 0.05))
    b.spine(flex=0.04, lateral=-0.12 * side_sway, twist=-0.12 * swing)
    b.head(flex=0.06 * bounce - 0.02, lateral=0.06 * side_sway)
    for side, sgn in SIDES:
        b.arm(side, down=1.05 + 0.1 * sgn * swing, forward=0.45 + 0.3 * sgn * swing, elbow=1.35 + 0.2 * bounce,
              twist=-0.3, wrist=0.05, collar=0.02, forearm=0.4)
    b.hands(curl=0.5, thumb=0.35)
    return b.solve()


CLIPS = {
    "walk_straight": clip_walk_straight,
    "walk_curve": clip_walk_curve,
    "jog": clip_jog,
    "idle_sway": clip_idle_sway,
    "wave": clip_wave,
    "squat": clip_squat,
    "jump": clip_jump,
    "turn_in_place": clip_turn_in_place,
    "reach": clip_reach,
    "dance": clip_dance,
}


def generate_clip(name: str, rig: Rig) -> MotionClip:
    """One named clip (see ``CLIPS``) solved for `rig`."""
    try:
        fn = CLIPS[name]
    except KeyError:
        raise ValueError(f"unknown procedural clip {name!r}; known: {', '.join(CLIPS)}") from None
    return fn(rig)


def generate_all(rig: Rig) -> dict[str, MotionClip]:
    """Every clip in ``CLIPS`` order."""
    return {name: fn(rig) for name, fn in CLIPS.items()}


# ================================================================ deterministic files


def clip_to_npz_bytes(clip: MotionClip) -> bytes:
    """The AMASS SMPL-X npz of `clip` exactly as ``motion.save_amass_smplx`` writes it."""
    return npz_bytes(amass_smplx_arrays(clip), compress=False)
