"""Fabric presets, cloth-simulation settings, the pre-roll timeline and garment checks (numpy).

Why here and not in scene/: the recipe names a fabric and simulation settings; the numbers they
map to, the pre-roll motion and the per-frame checks are plain maths that tests and tools use
without Blender. scene/cloth.py applies them to Blender's cloth modifier.

Timeline: Blender 4.5's cloth point cache drops frame 0 when the cache starts at a negative
frame (measured: frames -10..-1 and 1.. are cached, frame 0 is not, and after baking frame 0
reads back a wrong state), so the pre-roll cannot live at negative frames. Instead the whole
scene is shifted: the simulation starts at Blender frame ``SIM_START_FRAME`` (1) with the body
in the garments' reference pose (core.garments: the A-pose by default, the zero pose for 'T'),
the pre-roll runs over ``preroll`` frames, and sequence frame k (file frame k, from 0) is
Blender frame ``k + sequence_frame_offset(preroll)``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .errors import MayhemInputError
from .garments import SurfaceQuery, face_normals, unique_edges
from .rotations import axis_angle_to_quaternion, quaternion_to_axis_angle, slerp

SIM_START_FRAME = 1
# Goals from issue 4: share of garment vertices inside the body, and edge stretch vs rest.
PENETRATION_MEDIAN_LIMIT = 0.01
PENETRATION_MAX_LIMIT = 0.03
STRETCH_LIMIT = 1.5


@dataclass(frozen=True)
class Fabric:
    """Blender cloth material parameters (Blender's units: vertex mass in kg, stiffness and
    damping as in the Physics > Cloth panel). `min_quality` is the fewest solver steps per frame
    that keeps the fabric stable (stiff fabrics need more)."""

    name: str
    mass: float
    air_damping: float
    tension: float
    compression: float
    shear: float
    bending: float
    tension_damping: float
    compression_damping: float
    shear_damping: float
    bending_damping: float
    friction: float           # cloth-body friction (collision)
    min_quality: int = 5


# Values chosen from the range Blender's own cloth presets span (light, stretchy silk to stiff
# leather); wool sits between cotton and denim. Garment look, not material science.
FABRICS: dict[str, Fabric] = {
    "cotton": Fabric("cotton", mass=0.3, air_damping=1.0, tension=15.0, compression=15.0, shear=15.0,
                     bending=0.5, tension_damping=5.0, compression_damping=5.0, shear_damping=5.0,
                     bending_damping=0.5, friction=5.0, min_quality=5),
    "denim": Fabric("denim", mass=1.0, air_damping=1.0, tension=40.0, compression=40.0, shear=40.0,
                    bending=10.0, tension_damping=25.0, compression_damping=25.0, shear_damping=25.0,
                    bending_damping=0.5, friction=5.0, min_quality=8),
    "silk": Fabric("silk", mass=0.15, air_damping=1.0, tension=5.0, compression=5.0, shear=5.0,
                   bending=0.05, tension_damping=0.0, compression_damping=0.0, shear_damping=0.0,
                   bending_damping=0.5, friction=3.0, min_quality=5),
    "wool": Fabric("wool", mass=0.5, air_damping=1.0, tension=25.0, compression=25.0, shear=20.0,
                   bending=3.0, tension_damping=10.0, compression_damping=10.0, shear_damping=10.0,
                   bending_damping=0.5, friction=6.0, min_quality=6),
    "leather": Fabric("leather", mass=0.4, air_damping=1.0, tension=80.0, compression=80.0, shear=80.0,
                      bending=150.0, tension_damping=25.0, compression_damping=25.0, shear_damping=25.0,
                      bending_damping=0.5, friction=8.0, min_quality=10),
}
# Fabrics that suit each garment kind (for samplers; any fabric works on any garment).
KIND_FABRICS = {
    "tshirt": ("cotton", "silk", "wool"), "longsleeve": ("cotton", "wool", "silk"),
    "shorts": ("cotton", "denim"), "trousers": ("denim", "cotton", "wool", "leather"),
    "skirt": ("cotton", "denim", "silk", "wool", "leather"), "dress": ("cotton", "silk", "wool"),
}


def get_fabric(name: str, overrides: dict | None = None) -> Fabric:
    """Preset by name, optionally with some parameters replaced (e.g. for tests)."""
    if name not in FABRICS:
        raise MayhemInputError(None, "garment.fabric", f"{name!r} is not one of {tuple(FABRICS)}")
    fabric = FABRICS[name]
    if overrides:
        unknown = set(overrides) - set(asdict(fabric))
        if unknown:
            raise MayhemInputError(None, "garment.fabric", f"unknown fabric parameters {sorted(unknown)}")
        fabric = replace(fabric, **overrides)
    return fabric


@dataclass(frozen=True)
class ClothSettings:
    """Simulation settings shared by all garments of a sequence.

    quality: solver steps per frame (at least the fabric's min_quality); a failed check retries
    with `retry_quality_factor` times more steps (and one more collision step), then falls back to
    the skin-bound garment. Distances in metres; garments are generated with ≥ 1 cm clearance,
    more than collision_distance + body_thickness, so they start free of contact.
    """

    # 7 steps, not 5: over tests/blender/test_cloth_motions.py's 8 outfits x motions (1 600 vertices)
    # quality 5 and 6 left a top skin-bound (long sleeve over trousers, walk: 1.52 at 5 steps,
    # 1.51 on the 10-step retry), 7 and 8 passed all 8; over bench/bench_cloth.py --frames 30
    # (10 motions, 3 000 vertices) 15 of 20 garments were within the limits at 5, 16 at 7, 17 at
    # 8 (with 2 fallbacks, against 1 at 5 and 7). Those figures came from an AVX2 machine; on an
    # AVX-512 one the same long sleeve went skin-bound again at 7, 8 and 10 steps (retries at
    # 14-21) on both lines, pinched between arm and torso (see collision_distance).
    quality: int = 7
    collision_quality: int = 3
    # Low collider friction lets cloth slide over skin and an inner garment instead of catching
    # on it: a walking T-shirt over shorts went from 1.67x to 1.48x stretch (99.9th percentile
    # edge) with it and the root run-up of preroll_params. 2 mm, not 3: where arm and torso skin
    # come within a few mm (walking), a sleeve cannot keep 3 mm from both; over the 8 test cases
    # on 4.5 and 5.2 (16 runs) the long sleeve's walk went from skin-bound (stretch >= 1.5 after
    # both retries) to 1.40-1.43 on the first pass, and every run passed (worst: silk dress, walk,
    # 1.47-1.49; it was 1.40 at 3 mm and 10 steps).
    collision_distance: float = 0.002
    self_collision_distance: float = 0.003
    body_thickness: float = 0.002
    body_friction: float = 0.5       # the body collider's cloth friction
    garment_thickness: float = 0.002  # an inner garment as collider for an outer one
    garment_friction: float = 0.5     # cloth friction of an inner garment as collider
    pin_stiffness: float = 1.0
    preroll: int = 30
    settle: int = 5                  # of the pre-roll frames, held in the rest pose first
    retry_quality_factor: int = 2
    impulse_clamp: float = 0.0       # 0 = off; Blender's guard against collision explosions
    penetration_median_limit: float = PENETRATION_MEDIAN_LIMIT
    penetration_max_limit: float = PENETRATION_MAX_LIMIT
    stretch_limit: float = STRETCH_LIMIT
    # Edge stretch is judged at this quantile of the garment's edges (0.999: all but the worst
    # 0.1 %). Where arm and torso skin come within 2-7 mm of each other (walking, jogging) the
    # cloth between them cannot keep its collision distance on both sides and a handful of
    # edges there stretch past 1.5 without any blow-up; 1.0 judges the single worst edge.
    stretch_quantile: float = 0.999
    blowup_stretch: float = 3.0      # stop a simulation early once any frame stretches this far

    def validated(self) -> ClothSettings:
        checks = [("quality", self.quality >= 1), ("collision_quality", self.collision_quality >= 1),
                  ("collision_distance", self.collision_distance > 0),
                  ("preroll", self.preroll >= 1), ("settle", 0 <= self.settle < self.preroll),
                  ("retry_quality_factor", self.retry_quality_factor >= 1),
                  ("stretch_limit", self.stretch_limit > 1),
                  ("stretch_quantile", 0.5 <= self.stretch_quantile <= 1.0)]
        for name, ok in checks:
            if not ok:
                raise MayhemInputError(None, f"cloth.{name}", f"invalid value {getattr(self, name)!r}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


def sequence_frame_offset(preroll: int) -> int:
    """Blender frame of sequence frame 0: the simulation starts at SIM_START_FRAME with the
    rest pose, `preroll` frames before the sequence."""
    return SIM_START_FRAME + int(preroll)


def _ease(n_preroll: int, settle: int) -> np.ndarray:
    """Blend weights of the pre-roll frames: 0 for `settle` frames, then smoothstep towards 1
    (reached at sequence frame 0, which follows the last pre-roll frame)."""
    i = np.arange(n_preroll, dtype=np.float64)
    u = np.clip((i - settle) / max(n_preroll - settle, 1), 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


RUN_UP = 10  # pre-roll frames over which the root reaches the sequence's starting velocity


def _start_velocity(transl: np.ndarray) -> np.ndarray:
    """Root velocity at frame 0, per frame (zero for a one-frame sequence)."""
    return transl[1] - transl[0] if len(transl) > 1 else np.zeros(transl.shape[1])


def _run_up(n_preroll: int, settle: int) -> np.ndarray:
    """Distance (in frame-0 velocities) the root still has to travel to frame 0, per pre-roll
    frame: velocity ramps linearly from 0 to 1 over the last `r` frames, so the distance from
    k frames before frame 0 is k - k²/2r, and r/2 before the ramp."""
    r = max(1, min(RUN_UP, n_preroll - settle))
    k = np.arange(n_preroll, 0, -1, dtype=np.float64)  # frames before frame 0
    return np.where(k <= r, k - k * k / (2.0 * r), r / 2.0)


def preroll_params(params: dict, n_preroll: int, settle: int = 0, start_body_pose=None) -> dict:
    """World-frame SMPL-X params for frames [-n_preroll, F): the body moves from the garments'
    reference pose (`start_body_pose` (63,), zero = the rest pose) into frame 0's pose, then the
    sequence.

    Joint rotations are slerped from the start pose (identity for joints outside body_pose) to
    frame 0's; global_orient is held at frame 0's. The root translation runs up to frame 0's
    velocity over the last RUN_UP frames (standing still before), so the sequence does not start
    with a jerk: a body that starts walking at 1.2 m/s out of a standstill tugged the T-shirt hem
    over the shorts to 1.6x stretch on the first sequence frames. Expression is blended
    linearly from zero. Keys missing from `params` stay missing.
    """
    if "global_orient" not in params or "body_pose" not in params:
        raise ValueError("params need at least 'global_orient' (F,3) and 'body_pose' (F,63)")
    n_preroll = int(n_preroll)
    if n_preroll < 1:
        raise ValueError("n_preroll must be at least 1")
    t = _ease(n_preroll, settle)
    out = {}
    for key, value in params.items():
        if value is None:
            out[key] = None
            continue
        arr = np.asarray(value, dtype=np.float64)
        if key in ("betas",) or arr.ndim != 2:
            out[key] = value
            continue
        first = arr[0]
        if key == "transl":
            pre = first[None] - _run_up(n_preroll, settle)[:, None] * _start_velocity(arr)[None]
        elif key == "global_orient":
            pre = np.repeat(first[None], n_preroll, axis=0)
        elif key == "expression":
            pre = t[:, None] * first[None]
        else:  # a block of axis-angle joints
            aa = first.reshape(-1, 3)
            q1 = axis_angle_to_quaternion(aa)                                # (J, 4)
            if key == "body_pose" and start_body_pose is not None:
                q0 = axis_angle_to_quaternion(np.asarray(start_body_pose, dtype=np.float64).reshape(-1, 3))
            else:
                q0 = np.zeros_like(q1)
                q0[:, 0] = 1.0
            q = slerp(np.broadcast_to(q0, (n_preroll,) + q0.shape),
                      np.broadcast_to(q1, (n_preroll,) + q1.shape), t[:, None])
            pre = quaternion_to_axis_angle(q).reshape(n_preroll, -1)
        out[key] = np.concatenate([pre, arr], axis=0)
    return out


# =============================================================================== checks
LAYER_BAND = 0.03  # m: outer-garment vertices this close to the inner garment are tested for tunnelling


def under_layer_share(outer: np.ndarray, inner: SurfaceQuery) -> float:
    """Share of an outer garment's vertices that tunnelled under the inner garment: within
    LAYER_BAND of it and on its body side (negative signed distance by the inner garment's
    outward pseudo-normals). An open garment has no inside, so only the band near it is judged,
    and only where the vertex lies over the garment's surface: a vertex whose closest point is
    on a hem (its offset runs along the cloth, not across it) is past the garment's edge, e.g.
    T-shirt cloth above the shorts' waistband, snug on the waist."""
    outer = np.asarray(outer, dtype=np.float64)
    if not len(outer):
        return 0.0
    Q, face, _, sd = inner.closest(outer)
    d = outer - Q
    n = face_normals(inner.V, inner.F)[face]
    across = np.abs(np.einsum("ij,ij->i", d, n)) >= 0.9 * np.linalg.norm(d, axis=1)
    return float(np.mean((sd < 0) & (sd > -LAYER_BAND) & across))
def inside_mask(points: np.ndarray, body: SurfaceQuery) -> np.ndarray:
    """Which points lie inside the (closed) body surface: pseudo-normal sign at the closest point."""
    return body.closest(points)[3] < 0


def edge_lengths(V: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.linalg.norm(V[edges[:, 0]] - V[edges[:, 1]], axis=1)


@dataclass
class FrameCheck:
    frame: int
    finite: bool
    penetration: float     # share of garment vertices inside the body
    stretch: float         # largest edge length / rest length
    stretch_robust: float  # the `quantile` edge stretch (see ClothSettings.stretch_quantile)
    layer_penetration: float = 0.0  # outer garments: share of vertices under the inner garment


class GarmentChecker:
    """Per-frame checks of one garment (fixed topology) against a body surface query that the
    caller updates to the frame's body vertices (one update per body, shared by its garments)."""

    def __init__(self, rest_vertices: np.ndarray, faces: np.ndarray, quantile: float = 0.999):
        self.edges = unique_edges(np.asarray(faces))
        self.rest_len = np.maximum(edge_lengths(np.asarray(rest_vertices, dtype=np.float64), self.edges), 1e-9)
        self.quantile = float(quantile)

    def stretch(self, V: np.ndarray) -> tuple[float, float]:
        r = edge_lengths(V, self.edges) / self.rest_len
        return float(r.max()), float(np.quantile(r, self.quantile)) if self.quantile < 1 else float(r.max())

    def check(self, frame: int, garment_vertices: np.ndarray, body: SurfaceQuery | None) -> FrameCheck:
        V = np.asarray(garment_vertices, dtype=np.float64)
        if not np.all(np.isfinite(V)):
            return FrameCheck(frame, False, 1.0, float("inf"), float("inf"))
        st, st_q = self.stretch(V)
        pen = float(np.mean(inside_mask(V, body))) if body is not None else 0.0
        return FrameCheck(frame, True, pen, st, st_q)


@dataclass
class CheckSummary:
    frames: int
    finite: bool
    penetration_median: float
    penetration_max: float
    max_stretch: float          # largest edge stretch over all frames
    max_stretch_robust: float   # largest per-frame `quantile` edge stretch
    per_frame: list = field(default_factory=list, repr=False)
    layer_penetration_max: float = 0.0  # largest per-frame share under the inner garment

    def failure(self, settings: ClothSettings) -> str | None:
        """Why the checks fail (None if they pass). Stretch is judged on the quantile edge
        stretch (settings.stretch_quantile; 1.0 = the largest edge)."""
        if self.frames == 0:
            return "no frames checked"
        if not self.finite:
            return "non-finite vertex positions"
        if self.max_stretch_robust > settings.stretch_limit:
            return f"edge stretch {self.max_stretch_robust:.2f} > {settings.stretch_limit}"
        if self.penetration_max > settings.penetration_max_limit:
            return f"max penetration {self.penetration_max:.3f} > {settings.penetration_max_limit}"
        if self.penetration_median > settings.penetration_median_limit:
            return f"median penetration {self.penetration_median:.3f} > {settings.penetration_median_limit}"
        return None

    def passes(self, settings: ClothSettings) -> bool:
        return self.failure(settings) is None


def summarize(checks: list[FrameCheck]) -> CheckSummary:
    if not checks:
        return CheckSummary(0, True, 0.0, 0.0, 0.0, 0.0, [])
    pen = np.array([c.penetration for c in checks])
    return CheckSummary(len(checks), all(c.finite for c in checks), float(np.median(pen)), float(pen.max()),
                        float(max(c.stretch for c in checks)), float(max(c.stretch_robust for c in checks)),
                        checks, float(max(c.layer_penetration for c in checks)))


# ================================================================================ looks
PATTERNS = ("solid", "stripes", "plaid", "denim", "prints")
# Colour ranges per fabric, HSV in [0, 1] (hue wraps): (hue lo, hue hi), (sat lo, hi), (value lo, hi).
# Denim is indigo; leather runs from tan to black; the rest take any hue, wool muted, silk vivid.
COLOR_RANGES = {
    "cotton": ((0.0, 1.0), (0.05, 0.75), (0.15, 0.95)),
    "denim": ((0.56, 0.64), (0.35, 0.75), (0.12, 0.55)),
    "silk": ((0.0, 1.0), (0.3, 0.9), (0.3, 0.95)),
    "wool": ((0.0, 1.0), (0.05, 0.45), (0.12, 0.8)),
    "leather": ((0.02, 0.1), (0.2, 0.7), (0.03, 0.45)),
}
# Which patterns each fabric takes, with probabilities.
FABRIC_PATTERNS = {
    "cotton": {"solid": 0.45, "stripes": 0.2, "plaid": 0.15, "prints": 0.2},
    "denim": {"denim": 1.0},
    "silk": {"solid": 0.5, "prints": 0.3, "stripes": 0.2},
    "wool": {"solid": 0.5, "plaid": 0.3, "stripes": 0.2},
    "leather": {"solid": 1.0},
}


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6.0) % 6
    f = h * 6.0 - int(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def sample_color(rng: np.random.Generator, fabric: str) -> list[float]:
    """An sRGB colour (3 floats in [0, 1]) from the fabric's colour range."""
    (h0, h1), (s0, s1), (v0, v1) = COLOR_RANGES.get(fabric, COLOR_RANGES["cotton"])
    h = rng.uniform(h0, h1) % 1.0
    return [round(float(c), 4) for c in _hsv_to_rgb(h, rng.uniform(s0, s1), rng.uniform(v0, v1))]


def sample_look(rng: np.random.Generator, fabric: str, pattern: str | None = None) -> dict:
    """A JSON-ready description of a fabric's look for the recipe (scene/fabric_materials builds
    it): pattern, two sRGB colours, the pattern's period (m, on UVs in metres) and its own seed."""
    if fabric not in FABRICS:
        raise MayhemInputError(None, "garment.fabric", f"{fabric!r} is not one of {tuple(FABRICS)}")
    if pattern is None:
        table = FABRIC_PATTERNS[fabric]
        names = list(table)
        pattern = names[int(rng.choice(len(names), p=np.array(list(table.values())) / sum(table.values())))]
    if pattern not in PATTERNS:
        raise MayhemInputError(None, "garment.pattern", f"{pattern!r} is not one of {PATTERNS}")
    base = sample_color(rng, fabric)
    second = sample_color(rng, "cotton" if fabric == "denim" else fabric)
    if pattern == "denim":
        second = [round(min(1.0, 0.55 + 0.45 * c), 4) for c in base]   # faded warp/weft highlight
    period = {"solid": 0.0, "stripes": rng.uniform(0.006, 0.05), "plaid": rng.uniform(0.03, 0.12),
              "denim": 0.0025, "prints": rng.uniform(0.012, 0.04)}[pattern]
    return {"pattern": pattern, "color": base, "color2": second, "period": round(float(period), 5),
            "stripe_ratio": round(float(rng.uniform(0.2, 0.6)), 3), "seed": int(rng.integers(0, 2**31 - 1))}
