"""Fabric presets and cloth-simulation settings (numpy-free numbers).

Why here and not in scene/: the recipe names a fabric and simulation settings; the numbers
they map to are plain data that tests and tools use without Blender. scene/clothing/cloth.py
applies them to Blender's cloth modifier.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..errors import MayhemInputError

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


