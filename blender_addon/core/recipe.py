"""Config + seed -> recipe (core.recipe_types.Recipe): the description of one sequence.

Everything random is drawn here, in core code without Blender, so a cluster head can sample
and shard work, and any sequence can be rebuilt from its scene.json alone. Each sequence's
random stream derives from (global seed, sequence index) only, so sharding never changes
what a sequence contains.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import assets
from .body.model import BodyModel, load_body_model
from .body.posing import clip_window, facing_yaw, place
from .clothing import sampling as wardrobe
from .config import Config
from .dataset.layout import sequence_name
from .errors import MayhemInputError
from .motion.amass import MotionClip, load_amass
from .recipe_types import (
    RECIPE_VERSION,
    CameraRecipe,
    ClothingSettings,
    ImageSize,
    MotionRef,
    Outfit,
    PersonRecipe,
    Placement,
    Recipe,
    Skin,
    WorldRecipe,
    from_json,
)
from .world import environment
from .world.placement import OccupancyGrid, body_height, body_mass_index, place_footprint, swept_footprint
from .world.rooms import for_world
from .world.scene_summary import check_scene_ref, file_sha256, load_scene_summary


def sequence_seed(global_seed: int, index: int) -> int:
    """Seed of one sequence, independent of how sequences are sharded."""
    return int(np.random.SeedSequence([int(global_seed), int(index)]).generate_state(1, dtype=np.uint64)[0]) >> 1


@dataclass
class AssetCache:
    """Loaded body models and motion clips, shared across the sequences of one process, and the
    asset roots (core.assets) that user-file references of its recipes resolve against."""

    models: dict = field(default_factory=dict)
    clips: dict = field(default_factory=dict)
    roots: dict = field(default_factory=dict)

    def path(self, ref: str, field_name: str) -> Path:
        """The file of a recipe's ``ROOT:path`` reference (builtin ids are resolved by their owners)."""
        return assets.resolve_ref(ref, self.roots, field_name)

    def model(self, path: str, gender: str) -> BodyModel:
        key = (str(path), gender)
        if key not in self.models:
            self.models[key] = load_body_model(path, gender=gender)
        return self.models[key]

    def clip(self, ref: str, fps: float) -> MotionClip:
        key = (ref, float(fps))
        if key not in self.clips:
            path = assets.resolve_motion(ref) if ref.startswith(assets.BUILTIN_PREFIX) else self.path(ref, "motion.ref")
            self.clips[key] = load_amass(path, target_fps=fps)
        return self.clips[key]


def motion_catalog(config: Config, config_path=None) -> list[str]:
    """Motion references the config allows, in a stable order."""
    if config.motion.source == "builtin":
        names = list(assets.builtin_motion_paths())
        refs = [assets.BUILTIN_PREFIX + n for n in names]
        if config.motion.clips:
            missing = [c for c in config.motion.clips if c not in names]
            if missing:
                raise MayhemInputError(config_path, "motion.clips", f"no bundled motion named {missing[0]!r} (have: {', '.join(names)})")
            refs = [assets.BUILTIN_PREFIX + c for c in config.motion.clips]
    else:
        folder = Path(config.motion.source).expanduser()
        if not folder.is_dir():
            raise MayhemInputError(config_path, "motion.source", f"folder {folder} not found")
        files = sorted(p for p in folder.rglob("*.npz") if p.is_file())
        if config.motion.clips:
            files = [p for p in files if p.name in config.motion.clips or p.stem in config.motion.clips]
        refs = [assets.root_ref("motion.source", folder, p) for p in files]
    if not refs:
        raise MayhemInputError(config_path, "motion.source", "no motion files found")
    return refs


def hdri_catalog(config: Config, config_path=None) -> list[str]:
    world = config.world
    refs: list[str] = []
    if world.hdri == "builtin":
        refs = [assets.BUILTIN_PREFIX + n for n in assets.BUILTIN_HDRIS]
    elif world.hdri in assets.BUILTIN_HDRIS:
        refs = [assets.BUILTIN_PREFIX + world.hdri]
    else:
        path = Path(world.hdri).expanduser()
        if not path.is_file():
            raise MayhemInputError(config_path, "world.hdri", f"{path} is neither a bundled HDRI name nor a file")
        refs = [assets.root_ref("world.hdri", path.resolve().parent, path)]
    for i, folder in enumerate(world.hdri_folders):
        folder = Path(folder).expanduser()
        found = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".exr", ".hdr")) if folder.is_dir() else []
        if not found:
            raise MayhemInputError(config_path, "world.hdri_folders", f"{folder} has no .exr/.hdr files")
        refs.extend(assets.root_ref(f"world.hdri_folders[{i}]", folder, p) for p in found)
    return refs


def _uniform(rng, bounds) -> float:
    lo, hi = bounds
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


def person_model_file(person: PersonRecipe, roots=None) -> str:
    """The model file of a recipe person, from its `model` reference: ``free`` (the bundled
    body, wherever this checkout or extension is) or ``ROOT:file`` of an SMPL-X model."""
    if person.model == "free":
        return str(assets.free_body_path())
    return str(assets.resolve_body_model(str(assets.resolve_ref(person.model, roots, f"people[{person.id}].model")),
                                         person.gender, field=f"people[{person.id}].model"))


def person_params(person: PersonRecipe, frames: int, fps: float, cache: AssetCache):
    """World-frame SMPL-X parameters of a recipe person, its model and rest pelvis joints."""
    model = cache.model(person_model_file(person, cache.roots), person.gender)
    clip = cache.clip(person.motion.ref, fps)
    window = clip_window(clip, person.motion.start_frame, frames)
    betas = np.asarray(person.betas, dtype=np.float64)
    rest = model.forward(betas=betas, expression=window.get("expression"), return_vertices=False).rest_joints[:, 0]
    pl = person.placement
    params = place(window, rest, pl.x, pl.y, pl.z, pl.yaw_rad)
    params["betas"] = betas
    return model, params, rest


def posed_vertices(model: BodyModel, params: dict) -> np.ndarray:
    kwargs = {k: v for k, v in params.items() if k != "betas"}
    return model.forward(betas=params["betas"], **kwargs, dtype=np.float64).vertices


def sample_recipe(config: Config, index: int, *, config_path=None, cache: AssetCache | None = None) -> Recipe:
    """Draw one sequence's recipe from the config.

    People, world and camera each draw from their own random stream (children of the
    sequence seed), so a change in how one part is sampled leaves the others unchanged.
    The cache takes the config's asset roots (core.assets.config_roots).
    """
    cache = cache or AssetCache()
    cache.roots = {**assets.config_roots(config, config_path), **cache.roots}
    seed = sequence_seed(config.seed, index)
    # spawn(5)'s first four children equal spawn(4)'s: adding the clothing stream kept the others.
    rng_people, rng_world, rng_camera, rng_appearance, rng_clothing = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5))
    frames, fps = int(config.frames), float(config.fps)
    image = ImageSize(width=int(config.camera.resolution[0]), height=int(config.camera.resolution[1]))
    world = _sample_world(config, rng_world, config_path, cache)
    people, dropped = _sample_people(config, frames, fps, world, rng_people, rng_appearance, cache, config_path)
    camera = _sample_camera(config, people, frames, fps, image, rng_camera, cache)
    user_outfits = wardrobe.check_user_outfits(config, config_path) if config.clothing.user_outfit_probability > 0 else []
    for person in people:
        person.outfit = from_json(Outfit, wardrobe.sample_outfit(rng_clothing, config, user_outfits, config_path),
                                  config_path, f"people[{person.id}].outfit")
    return Recipe(recipe_version=RECIPE_VERSION, name=sequence_name(index), index=int(index), seed=seed,
                  global_seed=int(config.seed), frames=frames, fps=fps, image=image,
                  render=dataclasses.replace(config.render), world=world, people=people, people_dropped=dropped,
                  camera=camera, clothing=ClothingSettings(**wardrobe.clothing_settings(config)))


def _sample_world(config: Config, rng, config_path, cache: AssetCache) -> WorldRecipe:
    """An HDRI backdrop with a shadow catcher or, with probability world.mesh_probability, a 3D
    scene (core.world.environment) lit by the HDRI; people then stand around a walkable `centre`."""
    w = config.world
    hdris = hdri_catalog(config, config_path)
    world = WorldRecipe(kind="hdri", hdri=hdris[int(rng.integers(len(hdris)))], strength=_uniform(rng, w.strength),
                        rotation_rad=float(np.deg2rad(_uniform(rng, w.rotation_deg))),
                        shadow_catcher=bool(w.shadow_catcher), exposure_ev=_uniform(rng, w.exposure_ev),
                        normalize=bool(w.normalize_exposure))
    if w.mesh_probability > 0:
        if not w.scenes or not all(isinstance(s, str) for s in w.scenes):
            raise MayhemInputError(config_path, "world.scenes", f"expected a non-empty list of scene names or files, got {w.scenes!r}")
        files = [check_scene_ref(s, config_path) for s in w.scenes]
        for file in files:  # every user scene must be prepared: fail before anything renders
            if not file.startswith(environment.BUILTIN_PREFIX):
                load_scene_summary(file, config_path)
        if rng.uniform() < w.mesh_probability:
            i = int(rng.integers(len(files)))
            file = files[i]
            world.kind, world.shadow_catcher = "mesh", False
            if file.startswith(environment.BUILTIN_PREFIX):
                world.scene = file
                world.layout_seed = int(rng.integers(2**31))
            else:
                world.scene = assets.root_ref(f"world.scenes[{i}]", Path(file).parent, file)
                world.scene_sha256 = file_sha256(file)
            env = for_world(world, config_path, cache.roots)
            centre = environment.sample_spots(env, rng, 1, clearance_m=1.0, max_step_m=w.floor_tolerance_m)[0]
            world.centre = [float(centre[0]), float(centre[1])]
            world.floor_z = float(environment.floor_height(env, centre[None])[0])
    return world


def _sample_appearance(config: Config, rng, textures: list[str]) -> dict:
    """Skin, hair and shoes of one person (see core.body.appearance)."""
    from .body.appearance import sample_appearance
    return sample_appearance(config.body, config.appearance, rng, textures)


def _draw_betas(config: Config, model: BodyModel, rng, config_path) -> np.ndarray:
    """Betas ~ N(0, betas_std), redrawn until the body meets the optional height/BMI ranges."""
    body = config.body
    for _ in range(200):
        betas = rng.normal(scale=body.betas_std, size=body.num_betas)
        if not body.height_m and not body.bmi:
            return betas
        rest = posed_vertices(model, {"betas": betas})[0]
        if body.height_m and not body.height_m[0] <= body_height(rest) <= body.height_m[1]:
            continue
        if body.bmi and not body.bmi[0] <= body_mass_index(rest, model.faces) <= body.bmi[1]:
            continue
        return betas
    field = "body.height_m" if body.height_m else "body.bmi"
    raise MayhemInputError(config_path, field, f"no body of {model.model_id} in this range after 200 draws of betas; widen it")


def _sample_people(config: Config, frames: int, fps: float, world: WorldRecipe, rng, rng_appearance,
                   cache: AssetCache, config_path) -> tuple[list[PersonRecipe], int]:
    """Bodies, motions and placements; returns (people, number dropped for lack of room).

    Each person's whole swept footprint (all vertices, all frames) is placed on an occupancy
    grid, so no two bodies come within people.min_gap_m of each other at any time.
    """
    motions = motion_catalog(config, config_path)
    textures = []
    for i, t in enumerate(config.body.skin_textures):
        path = Path(t).expanduser().resolve()
        if not path.is_file():
            raise MayhemInputError(config_path, "body.skin_textures", f"texture {path} not found")
        textures.append(assets.root_ref(f"body.skin_textures[{i}]", path.parent, path))

    lo, hi = config.people.count
    n_people = int(rng.integers(lo, hi + 1))
    candidates = []
    for _ in range(n_people):
        gender = str(rng.choice(config.body.genders))
        model_path = assets.resolve_body_model(config.body.model, gender, config_path)
        model = cache.model(str(model_path), gender)
        betas = _draw_betas(config, model, rng, config_path)
        motion_ref = motions[int(rng.integers(len(motions)))]
        clip = cache.clip(motion_ref, fps)
        start = int(rng.integers(0, max(1, clip.num_frames - frames + 1)))
        model_ref = "free" if config.body.model == "free" else assets.root_ref("body.model", cache.roots["body.model"], model_path)
        look = _sample_appearance(config, rng_appearance, textures)
        person = PersonRecipe(id=-1, instance_id=-1, gender=gender, model=model_ref, betas=[float(b) for b in betas],
                              skin=Skin(**look["skin"]), hair=look["hair"], shoes=look["shoes"],
                              motion=MotionRef(ref=motion_ref, start_frame=start), placement=Placement())
        # The unplaced clip's swept footprint, relative to its first pelvis position.
        _, params, rest = person_params(person, frames, fps, cache)
        verts = posed_vertices(model, params)
        pelvis0 = params["transl"][0] + rest[0]
        candidates.append((person, swept_footprint(verts, pelvis0[:2]), pelvis0, float(-verts[..., 2].min())))

    reach = max([np.abs(fp.points).max() for _, fp, _, _ in candidates] + [1.0])
    grid = OccupancyGrid(config.people.area_radius_m + reach + config.people.min_gap_m + 1.0)
    # 3D scenes: footprints must stay on flat walkable floor, clear of obstacles (core.world.environment).
    env = for_world(world, config_path, cache.roots)
    cx, cy = world.centre or (0.0, 0.0)
    on_floor = None if env is None else (lambda pts: environment.is_clear(
        env, pts + (cx, cy), config.world.obstacle_clearance_m, config.world.floor_tolerance_m))
    people, dropped = [], 0
    for person, footprint, pelvis0, ground in candidates:
        radius = config.people.area_radius_m if n_people > 1 else 0.0
        spot = place_footprint(grid, footprint, rng, radius, config.people.min_gap_m, spot_ok=on_floor)
        if spot is None:
            dropped += 1
            continue
        x, y, yaw, cells = spot
        if env is not None:  # stand on the floor under the footprint; the grid stays centred on 0
            c, s = np.cos(yaw), np.sin(yaw)
            ground += environment.ground_z(env, footprint.points @ np.array([[c, s], [-s, c]]) + (x + cx, y + cy))
            x, y = x + cx, y + cy
        grid.occupy(cells)
        # Yaw turns the clip about the world origin; the offset then brings its first pelvis
        # position to (x, y). Ground contact: the lowest vertex over the sequence at z = 0.
        c, s = np.cos(yaw), np.sin(yaw)
        turned = np.array([c * pelvis0[0] - s * pelvis0[1], s * pelvis0[0] + c * pelvis0[1]])
        person.placement = Placement(x=float(x - turned[0]), y=float(y - turned[1]), z=ground, yaw_rad=yaw)
        person.id, person.instance_id = len(people), len(people) + 1
        people.append(person)
    return people, dropped


def _sample_camera(config: Config, people: list[PersonRecipe], frames: int, fps: float, image: ImageSize, rng,
                   cache: AssetCache) -> CameraRecipe:
    """Lens, path and framing of the camera (core.camera.paths), from one forward pass per person."""
    from .camera.paths import body_for_framing, sample_camera

    bodies = []
    for person in people:
        model, params, _ = person_params(person, frames, fps, cache)
        out = model.forward(betas=params["betas"], **{k: v for k, v in params.items() if k != "betas"}, dtype=np.float64)
        # Full meshes are recomputed only for the few exact checks, so a crowd's stay out of memory.
        bodies.append(body_for_framing(out.joints, out.vertices, model.weights, facing_yaw(params["global_orient"][0]),
                                       full_vertices=lambda m=model, p=params: posed_vertices(m, p)))
        del out
    drawn = sample_camera(config.camera, bodies, image.width, image.height, frames, fps, rng,
                          person_ids=[p.id for p in people])
    return from_json(CameraRecipe, drawn, None, "camera")
