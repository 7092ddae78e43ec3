"""The one configuration schema, shared by the CLI and the add-on.

Configs are YAML (loaded with safe_load) or JSON. Every field is typed and checked, and an
error names the file and the dotted field path (``camera.focal_mm``) so a user can fix it
without reading code. A range field accepts ``[min, max]`` (drawn uniformly) or a single
number (fixed).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

# Each list of choices comes from the module that owns it (one place to add a hair style, a
# garment kind or a fabric).
from .body.appearance import HAIR_COLOURS, HAIR_STYLES, SHOE_KINDS
from .body.skeleton import GENDERS
from .camera.paths import MOTION_TYPES
from .clothing.fabrics import FABRICS, ClothSettings
from .clothing.garments import BOTTOM_KINDS, DEFAULT_TARGET_VERTICES, TOP_KINDS
from .clothing.looks import PATTERNS
from .errors import MayhemInputError
from .schema import from_dict, typed_field

Range = list  # [min, max] of numbers; a single number in YAML means [x, x]


_f = typed_field  # short: the field lines below are long enough


@dataclass
class BodyConfig:
    model: str = _f("free", "'free' (bundled free body), an SMPL-X .npz/.pkl file, or a folder with SMPLX_{NEUTRAL,FEMALE,MALE}.npz")
    genders: list = _f(["neutral"], "genders drawn uniformly per person", choices=GENDERS)
    num_betas: int = _f(10, "shape coefficients drawn per person", minimum=0, maximum=300)
    betas_std: float = _f(1.0, "standard deviation of the drawn betas", minimum=0.0, maximum=5.0)
    skin_tone: Range = _f([0.0, 1.0], "skin tone range, 0 lightest (Monk 1) to 1 darkest (Monk 10)", minimum=0.0, maximum=1.0, is_range=True)
    skin_textures: list = _f([], "optional albedo textures on the body's UVs (drawn uniformly; empty = procedural skin)")
    height_m: Range = _f([], "optional [min, max] standing height; betas are redrawn until the body fits", minimum=0.5, maximum=2.5, is_range=True, optional=True)
    bmi: Range = _f([], "optional [min, max] body-mass index (volume x 985 kg/m3 / height^2)", minimum=10.0, maximum=80.0, is_range=True, optional=True)


@dataclass
class MotionConfig:
    source: str = _f("builtin", "'builtin' (bundled procedural clips) or a folder of AMASS .npz files (searched recursively)")
    clips: list = _f([], "clip names (builtin) or file names to use; empty = all")


@dataclass
class PeopleConfig:
    count: Range = _f([1, 2], "people per sequence", minimum=1, maximum=15, is_range=True, integer=True)
    min_gap_m: float = _f(0.2, "minimum gap between two people's ground footprints swept over the whole sequence", minimum=0.0)
    area_radius_m: float = _f(2.0, "people's starting points are drawn within this radius of the scene centre", minimum=0.0)


@dataclass
class WorldConfig:
    hdri: str = _f("builtin", "'builtin' (Blender's 8 CC0 HDRIs), the name of one of them, or an .exr/.hdr file")
    hdri_folders: list = _f([], "extra folders of .exr/.hdr environment maps, drawn together with the builtin ones")
    strength: Range = _f([0.8, 1.2], "environment strength (multiplies the normalised HDRI)", minimum=0.0, is_range=True)
    exposure_ev: Range = _f([-0.5, 0.5], "exposure change in stops on top of strength (x 2^ev)", minimum=-10.0, maximum=10.0, is_range=True)
    normalize_exposure: bool = _f(True, "scale each HDRI so its upper hemisphere's mean luminance is 1 (the bundled ones range 0.28 (night) to 1.64 (city)), so bodies are equally bright under every HDRI")
    rotation_deg: Range = _f([0.0, 360.0], "environment rotation about the vertical axis, degrees", is_range=True)
    shadow_catcher: bool = _f(True, "add a shadow-catcher ground plane at z = 0 (HDRI worlds)")
    mesh_probability: float = _f(0.0, "fraction of sequences set in a 3D scene from `scenes` instead of on an HDRI backdrop (the HDRI still lights it)", minimum=0.0, maximum=1.0)
    scenes: list = _f(["builtin:room", "builtin:courtyard"], "3D scenes drawn uniformly: 'builtin:room', 'builtin:courtyard' (procedural, a new layout per sequence) or .blend/.gltf/.glb/.fbx/.usd* files prepared once with `mayhem prepare-scene FILE`")
    obstacle_clearance_m: float = _f(0.1, "3D scenes: each person's swept body footprint keeps this distance from walls, furniture and floor edges", minimum=0.0, maximum=5.0)
    floor_tolerance_m: float = _f(0.03, "3D scenes: largest floor height difference under one person's footprint (motions are captured on flat ground)", minimum=0.0, maximum=1.0)


@dataclass
class CameraConfig:
    """Lens, placement, motion and framing of each sequence's camera (core.camera.paths)."""

    focal_mm: Range = _f([14.0, 300.0], "focal length range, mm (on sensor_width_mm), for wide shots", minimum=1.0, maximum=2000.0, is_range=True)
    focal_distribution: str = _f("log_uniform", "how focal_mm is drawn: 'log_uniform' (every zoom factor equally likely: as many 14-28 mm as 150-300 mm shots) or 'uniform' (in mm)", choices=("log_uniform", "uniform"))
    sensor_width_mm: float = _f(36.0, "sensor size along the image's long side, mm (36 = full frame); portrait images turn the sensor, e.g. 20.25 mm across a 720x1280 image", minimum=1.0, maximum=100.0)
    resolution: list = _f([320, 180], "image width and height, pixels (height > width = portrait, written upright)", entries=("width", "height"), integer=True, minimum=8, maximum=16384)
    distance_m: Range = _f([0.5, 100.0], "limits of the camera's horizontal distance from its aim point, metres; inside them the distance follows from the focal length and subject_fill (the framing fallback may go further)", minimum=0.1, is_range=True)
    subject_fill: Range = _f([0.5, 0.9], "how far the framed people reach from the image centre towards its border over the sequence (1 = touching it; above 1 crops them); sets the camera distance", minimum=0.05, maximum=5.0, is_range=True)
    height_m: Range = _f([0.3, 3.0], "camera height above the ground, metres (a hard limit: the height the drawn pitch needs is clipped to it)", minimum=0.1, is_range=True)
    pitch_deg: Range = _f([-20.0, 5.0], "camera pitch towards the aim point, degrees (negative looks down); the actual pitch lies between 0 and the drawn one when height_m clips", minimum=-89.0, maximum=89.0, is_range=True)
    target_height_m: Range = _f([0.8, 1.1], "height of the aim point above the people's centre on the ground, metres (wide shots)", is_range=True)
    azimuth_deg: Range = _f([-90.0, 90.0], "camera direction around the people, degrees (0 = in front of the framed people's facing)", is_range=True)
    frame_people: bool = _f(True, "also keep every vertex of every person inside the image on every frame (whole bodies, no cropping); ignored by close-ups")
    min_people_in_view: int = _f(1, "at least this many people (the same ones on every frame; capped at the number of people) have min_joints_in_view joints inside the image on every frame", minimum=1, maximum=15)
    min_joints_in_view: int = _f(12, "of the 22 SMPL-X body joints (pelvis..wrists; hands and face are not counted)", minimum=1, maximum=22)
    min_body_distance_m: float = _f(0.3, "the camera keeps at least this distance from every body vertex on every frame, metres", minimum=0.0)
    closeup_probability: float = _f(0.0, "fraction of sequences shot as head-and-torso close-ups of one person", minimum=0.0, maximum=1.0)
    closeup_focal_mm: Range = _f([50.0, 135.0], "focal length range of close-ups, mm (portrait lenses; drawn with focal_distribution)", minimum=1.0, maximum=2000.0, is_range=True)
    closeup_fill: Range = _f([0.7, 1.0], "close-ups: how far the head and torso reach towards the border, as subject_fill", minimum=0.05, maximum=5.0, is_range=True)
    closeup_min_joints_in_view: int = _f(7, "close-ups: of the 8 head-and-torso joints (spine2, spine3, neck, collars, head, shoulders)", minimum=1, maximum=8)
    motions: list = _f(list(MOTION_TYPES), "camera motion types, one drawn per sequence", choices=MOTION_TYPES)
    motion_weights: list = _f([0.4, 0.15, 0.15, 0.15, 0.15], "relative probability of each entry of motions (empty = equal)")
    pan_speed_deg_s: Range = _f([2.0, 10.0], "pan: turn rate about the camera's vertical, degrees per second (total at most half the horizontal field of view)", minimum=0.0, is_range=True)
    dolly_speed_m_s: Range = _f([0.2, 1.0], "dolly: travel speed in or out along the view axis or sideways, metres per second", minimum=0.0, is_range=True)
    orbit_speed_deg_s: Range = _f([5.0, 30.0], "orbit: angular speed around the people's centre, degrees per second (at most one turn)", minimum=0.0, is_range=True)
    max_speed_m_s: float = _f(2.0, "cap on the camera's own travel speed for dolly and orbit, metres per second", minimum=0.0)
    follow_smoothing_s: float = _f(0.5, "follow: the camera tracks the person's pelvis smoothed with a Gaussian of this sigma, seconds", minimum=0.0, maximum=10.0)
    shake_probability: float = _f(0.3, "fraction of sequences with handheld shake on top of their motion", minimum=0.0, maximum=1.0)
    shake_rotation_deg: Range = _f([0.1, 0.5], "handheld shake: peak rotation, degrees (capped at a tenth of the field of view, as a steadied long lens)", minimum=0.0, maximum=10.0, is_range=True)
    shake_position_cm: Range = _f([0.2, 1.5], "handheld shake: peak displacement, centimetres", minimum=0.0, maximum=50.0, is_range=True)
    shake_frequency_hz: Range = _f([0.3, 2.0], "handheld shake: frequencies of its smooth sinusoid components, Hz", minimum=0.01, maximum=5.0, is_range=True)
    framing_attempts: int = _f(20, "camera draws tried before the fallback (pull the first draw back, then a static wide shot)", minimum=1, maximum=1000)


@dataclass
class RenderConfig:
    device: str = _f("auto", "Cycles device", choices=("auto", "cpu", "optix", "cuda", "hip", "metal", "oneapi"))
    samples: int = _f(16, "Cycles samples per pixel", minimum=1, maximum=65536)
    adaptive_threshold: float = _f(0.05, "adaptive sampling noise threshold (0 = off)", minimum=0.0, maximum=1.0)
    denoise: bool = _f(True, "OpenImageDenoise")
    persistent_data: bool = _f(True, "keep scene data between frames")
    threads: int = _f(0, "render threads (0 = all cores)", minimum=0)


@dataclass
class AppearanceConfig:
    skin_tone_sampling: str = _f("monk_levels", "'monk_levels': a Monk Skin Tone level (1-10) uniformly, then a tone inside it (every level equally often); 'uniform': tone uniform in body.skin_tone", choices=("monk_levels", "uniform"))
    hair_styles: list = _f(list(HAIR_STYLES), "procedural hair styles to draw from", choices=HAIR_STYLES)
    hair_style_weights: list = _f([], "relative probability of each entry of hair_styles (empty = equal)")
    bald_probability: float = _f(0.08, "probability that a person has no hair", minimum=0.0, maximum=1.0)
    hair_colours: list = _f(list(HAIR_COLOURS), "natural hair colours to draw from", choices=HAIR_COLOURS)
    hair_colour_weights: list = _f([0.35, 0.33, 0.14, 0.06, 0.12], "relative probability of each entry of hair_colours (empty = equal)")
    hair_density: float = _f(1.0, "multiplier on the number of hair strands (lower renders faster)", minimum=0.05, maximum=4.0)
    shoe_kinds: list = _f(list(SHOE_KINDS), "shoe kinds to draw from", choices=SHOE_KINDS)
    shoe_kind_weights: list = _f([0.5, 0.25, 0.25], "relative probability of each entry of shoe_kinds (empty = equal)")
    barefoot_probability: float = _f(0.0, "probability that a person wears no shoes", minimum=0.0, maximum=1.0)


@dataclass
class ClothingConfig:
    probability: float = _f(1.0, "share of people who wear an outfit (the rest are rendered as bare bodies with hair and shoes)", minimum=0.0, maximum=1.0)
    texture_probability: float = _f(0.2, "of the dressed people, the share whose outfit is painted on the skin instead of simulated (tight clothing, as BEDLAM did for garments that cannot be simulated)", minimum=0.0, maximum=1.0)
    user_outfit_probability: float = _f(0.0, "of the dressed people, the share who wear one of user_outfits (simulated) instead of procedural garments", minimum=0.0, maximum=1.0)
    user_outfits: list = _f([], "outfit manifests (YAML, see docs/outfits.md) drawn uniformly for user_outfit_probability")
    dress_probability: float = _f(0.15, "of the procedural outfits, the share that are a dress instead of a top and a bottom", minimum=0.0, maximum=1.0)
    tops: list = _f(list(TOP_KINDS), "procedural tops to draw from", choices=TOP_KINDS)
    top_weights: list = _f([0.6, 0.4], "relative probability of each entry of tops (empty = equal)")
    bottoms: list = _f(list(BOTTOM_KINDS), "procedural bottoms to draw from", choices=BOTTOM_KINDS)
    bottom_weights: list = _f([0.3, 0.55, 0.15], "relative probability of each entry of bottoms (empty = equal)")
    fabrics: list = _f(list(FABRICS), "fabric presets allowed; each garment draws among those that suit its kind (any allowed one if none does)", choices=tuple(FABRICS))
    patterns: list = _f(list(PATTERNS), "fabric patterns allowed (each fabric draws among its usual patterns that are allowed; 'solid' if none is)", choices=PATTERNS)
    looseness: Range = _f([0.1, 0.6], "garment ease: 0 = snug (1 cm off the skin), 1 = loose (4 cm)", is_range=True, minimum=0.0, maximum=1.0)
    garment_vertices: int = _f(DEFAULT_TARGET_VERTICES, "target vertices per simulated garment (cloth cost grows linearly with it)", minimum=200, maximum=20000)
    preroll_frames: int = _f(ClothSettings.preroll, "simulated frames before the sequence, in which the body moves from the garments' rest pose into the first frame's pose", minimum=2, maximum=1000)
    settle_frames: int = _f(5, "of the pre-roll frames, the first ones held in the rest pose so the cloth settles", minimum=0, maximum=999)
    quality: int = _f(ClothSettings.quality, "cloth solver steps per frame (stiff fabrics use at least their own minimum; a failed check retries with twice as many)", minimum=1, maximum=80)
    collision_quality: int = _f(3, "cloth collision steps per solver step", minimum=1, maximum=20)
    export_meshes: bool = _f(False, "also write every simulated garment's vertices per frame (garments/*.npz, see docs/format.md)")


@dataclass
class Config:
    seed: int = _f(0, "global seed; each sequence's seed derives from it and the sequence index", minimum=0)
    sequences: int = _f(1, "number of sequences", minimum=1)
    frames: int = _f(8, "frames per sequence", minimum=1, maximum=100000)
    fps: float = _f(30.0, "frame rate; motions are resampled to it", minimum=1.0, maximum=1000.0)
    body: BodyConfig = field(default_factory=BodyConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    people: PeopleConfig = field(default_factory=PeopleConfig)
    world: WorldConfig = field(default_factory=WorldConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    appearance: AppearanceConfig = field(default_factory=AppearanceConfig)
    clothing: ClothingConfig = field(default_factory=ClothingConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ------------------------------------------------------------------- validation
_WEIGHTED_LISTS = (("hair_styles", "hair_style_weights"), ("hair_colours", "hair_colour_weights"),
                   ("shoe_kinds", "shoe_kind_weights"), ("motions", "motion_weights"),
                   ("tops", "top_weights"), ("bottoms", "bottom_weights"))


def _reset_default_weights(obj, data) -> None:
    """A list given without its weights draws equally (default weights belong to the default list)."""
    for names, weights in _WEIGHTED_LISTS:
        if names in data and weights not in data and hasattr(obj, weights):
            setattr(obj, weights, [])


def _check_weights(obj, path, prefix):
    """Each weights list of `obj` (_WEIGHTED_LISTS) is empty or one non-negative number per entry
    of its list, not all zero."""
    for names, weights in _WEIGHTED_LISTS:
        if not hasattr(obj, weights):
            continue
        w, n = getattr(obj, weights), len(getattr(obj, names))
        if w and (len(w) != n or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0 for v in w)
                  or not sum(w) > 0):
            raise MayhemInputError(path, f"{prefix}.{weights}".lstrip("."),
                                   f"expected {n} non-negative numbers (one per {names} entry), not all zero, "
                                   f"or [] for equal; got {w!r}")


def _check_object(obj, data, path, prefix):
    """Cross-field checks that a per-field type cannot express (schema.from_dict's `check`)."""
    _reset_default_weights(obj, data)
    if isinstance(obj, AppearanceConfig):
        _check_weights(obj, path, prefix)
    if isinstance(obj, ClothingConfig):
        _check_weights(obj, path, prefix)
        if obj.settle_frames >= obj.preroll_frames:
            raise MayhemInputError(path, f"{prefix}.settle_frames".lstrip("."),
                                   f"must be smaller than preroll_frames ({obj.preroll_frames}), got {obj.settle_frames}")
        if obj.user_outfit_probability > 0 and not obj.user_outfits:
            raise MayhemInputError(path, f"{prefix}.user_outfits".lstrip("."),
                                   "user_outfit_probability > 0 needs at least one outfit manifest")
        if any(not isinstance(m, str) for m in obj.user_outfits):
            raise MayhemInputError(path, f"{prefix}.user_outfits".lstrip("."), f"expected a list of manifest paths, got {obj.user_outfits!r}")
    if isinstance(obj, CameraConfig):
        _check_weights(obj, path, prefix)


def config_from_dict(data: dict, path="<config>") -> Config:
    return from_dict(Config, data, path, check=_check_object)


def load_config(path) -> Config:
    """Read and validate a YAML or JSON config file."""
    path = Path(path)
    text = read_text(path, "config")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MayhemInputError(path, None, f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    else:
        data = parse_yaml(text, path)
    if data is None:  # an empty file (or only comments) is a mistake, not a request for defaults
        raise MayhemInputError(path, None, "the config is empty; give at least one field "
                               "(e.g. `sequences: 1`), or `{}` to render every default")
    return config_from_dict(data, path)


def read_text(path: Path, what: str) -> str:
    """A UTF-8 text file, or a MayhemInputError naming it (unreadable, or not UTF-8: the line
    and byte of the first bad byte, since an editor's Latin-1 save is the usual cause)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MayhemInputError(path, None, f"cannot read the {what} ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        bad = exc.object[exc.start:exc.start + 1]
        raise MayhemInputError(path, None, f"not UTF-8 text (line {line}, byte {exc.start}: {bad!r}); "
                               f"save the {what} as UTF-8") from None


def parse_yaml(text: str, path):
    """yaml.safe_load, with a syntax error reported as a MayhemInputError naming file and line."""
    try:
        import yaml
    except ImportError:
        raise MayhemInputError(path, None, "PyYAML is not installed here; use a .json file") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise MayhemInputError(path, None, f"invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None


def describe_schema(cls=Config, prefix="") -> list[tuple[str, object, str]]:
    """(dotted field, default, doc) for every leaf field: documentation and the add-on UI."""
    rows = []
    defaults = cls()
    for f in dataclasses.fields(cls):
        name = f"{prefix}.{f.name}" if prefix else f.name
        value = getattr(defaults, f.name)
        if dataclasses.is_dataclass(value):
            rows.extend(describe_schema(type(value), name))
        else:
            rows.append((name, value, f.metadata.get("doc", "")))
    return rows
