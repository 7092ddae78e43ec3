"""core.world.environment: walkable floor by downward ray casts, obstacle clearance, built-in layouts,
summary files and placement of people in 3D scenes (no Blender)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mayhem.core.errors import MayhemInputError
from mayhem.core.recipe_types import WorldRecipe
from mayhem.core.world import scene_summary as E
from mayhem.core.world.environment import BUILTIN_ENVIRONMENTS, floor_height, ground_z, is_clear, sample_spots
from mayhem.core.world.rooms import builtin_environment, builtin_layout, for_world, part_mesh


def quad(a, b, c, d):
    """Two triangles of a planar quad a-b-c-d (counter-clockwise seen from its normal side)."""
    return [np.array([a, b, c]), np.array([a, c, d])]


def box(x0, y0, z0, x1, y1, z1):
    v, faces = part_mesh({"box": [x0, y0, z0, x1, y1, z1]})
    return [v[[f[0], f[k], f[k + 1]]] for f in faces for k in (1, 2)]


def two_level_scene():
    """Ground z = 0 on x in [-6, 0], a terrace z = 0.3 on x in [0, 3] with a riser at x = 0,
    a table (top + legs) on the ground, a closed 1 m pillar, a thin wall and a ceiling."""
    tris = []
    tris += quad((-6, -3, 0), (0, -3, 0), (0, 3, 0), (-6, 3, 0))
    tris += quad((0, -3, 0.3), (3, -3, 0.3), (3, 3, 0.3), (0, 3, 0.3))
    tris += quad((0, 3, 0), (0, -3, 0), (0, -3, 0.3), (0, 3, 0.3))          # riser, facing -x
    tris += box(-5.0, 1.0, 0.71, -3.8, 2.0, 0.75)                            # table top
    for x, y in ((-5.0, 1.0), (-3.9, 1.0), (-5.0, 1.9), (-3.9, 1.9)):
        tris += box(x, y, 0.0, x + 0.1, y + 0.1, 0.71)                       # legs
    tris += box(-3.0, -2.5, 0.0, -2.0, -1.5, 2.5)                            # pillar (closed solid)
    tris += quad((-1.27, -3, 0), (-1.27, -0.5, 0), (-1.27, -0.5, 2.5), (-1.27, -3, 2.5))  # thin wall
    tris += quad((-6, -3, 2.9), (-6, 3, 2.9), (3, 3, 2.9), (3, -3, 2.9))     # ceiling, facing down
    return np.array(tris)


@pytest.fixture(scope="module")
def env():
    return E.summarize_triangles(two_level_scene(), ref="two_level")


def test_floor_height_two_levels(env):
    assert env.ground_z == 0.0  # the largest upward area
    h = floor_height(env, [(-2.0, 0.5), (1.5, 0.5), (2.95, -2.95), (5.0, 0.0), (-7.0, 0.0)])
    np.testing.assert_allclose(h[:3], [0.0, 0.3, 0.3], atol=1e-9)
    assert np.isnan(h[3]) and np.isnan(h[4])  # outside the floor
    # the ceiling (down-facing, above headroom) blocks nothing: most of the ground is walkable
    ground = np.isfinite(env.height) & (np.abs(env.height) < 1e-9)
    assert ground.sum() * env.cell ** 2 > 0.85 * 36


def test_sloped_floor_is_ray_cast_exactly():
    ramp = np.array(quad((-1, -1, 0.0), (1, -1, 0.2), (1, 1, 0.2), (-1, 1, 0.0)))
    env = E.summarize_triangles(ramp, ground=0.1)
    X, Y = env.cell_centres()
    inside = np.isfinite(env.height)
    assert inside.sum() == 400  # 2 m x 2 m at 0.1 m
    np.testing.assert_allclose(env.height[inside], 0.1 + 0.1 * X[inside], atol=1e-6)
    steep = np.array(quad((-1, -1, 0.0), (1, -1, 1.5), (1, 1, 1.5), (-1, 1, 0.0)))  # 37 degrees
    with pytest.raises(MayhemInputError, match="nothing to stand on"):
        E.summarize_triangles(steep)


def test_obstacles_block_their_cells(env):
    h = floor_height
    assert np.isnan(h(env, [(-4.4, 1.5)])[0])        # under the table top
    assert np.isnan(h(env, [(-2.5, -2.0)])[0])       # inside the closed pillar (not just its sides)
    assert np.isnan(h(env, [(-1.25, -2.0)])[0])      # the thin wall's cells
    assert np.isnan(h(env, [(-0.05, 0.0)])[0])       # the riser, on the ground side
    assert h(env, [(-1.25, 0.5)])[0] == 0.0          # past the wall's end
    assert h(env, [(-4.4, 0.8)])[0] == 0.0           # beside the table
    assert h(env, [(0.15, 0.0)])[0] == pytest.approx(0.3)  # terrace side of the riser: its faces are below the step


def test_is_clear_whole_paths(env):
    walk = np.stack([np.linspace(-5.5, -3.5, 50), np.full(50, -0.5)], 1)
    assert is_clear(env, walk, 0.1)
    assert not is_clear(env, walk + (0, 1.5), 0.1)          # through the table's legs and top
    assert not is_clear(env, np.stack([np.linspace(-1, 1, 50), np.zeros(50)], 1), 0.1)  # up the step
    along_wall = np.stack([np.full(50, -1.6), np.linspace(-2.8, -0.8, 50)], 1)   # 0.33 m from the wall
    assert is_clear(env, along_wall, 0.1)
    assert not is_clear(env, along_wall, 0.5)               # clearance reaches the wall
    across_wall = np.stack([np.linspace(-2.0, -0.5, 50), np.full(50, -2.0)], 1)
    assert not is_clear(env, across_wall, 0.0)
    terrace = np.stack([np.linspace(0.8, 2.5, 50), np.full(50, 1.0)], 1)
    assert is_clear(env, terrace, 0.1) and ground_z(env, terrace) == pytest.approx(0.3)
    assert not is_clear(env, np.array([[2.95, 0.0]]), 0.1)  # floor edge within the clearance
    assert not is_clear(env, np.array([[10.0, 0.0]]), 0.1)  # off the grid


def test_sample_spots_have_clear_disks(env):
    rng = np.random.default_rng(3)
    spots = sample_spots(env, rng, 40, clearance_m=0.8)
    for s in spots:
        assert is_clear(env, s[None], 0.75)
    again = sample_spots(env, np.random.default_rng(3), 40, clearance_m=0.8)
    np.testing.assert_array_equal(spots, again)
    with pytest.raises(MayhemInputError, match="no walkable spot"):
        sample_spots(env, rng, 1, clearance_m=5.0)


def test_builtin_layouts_deterministic_and_decimetre_aligned():
    for name in BUILTIN_ENVIRONMENTS:
        for seed in range(6):
            a, b = builtin_layout(name, seed), builtin_layout(name, seed)
            assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
            xy = []
            for part in a["parts"]:
                v, _ = part_mesh(part)
                xy.append(v[:, :2])
            xy = np.concatenate(xy)
            np.testing.assert_allclose(xy * 10, np.round(xy * 10), atol=1e-6)  # no edge on a cell centre
            env = builtin_environment(name, seed)
            hx, hy = a["half_extent"]
            assert 0.45 * 4 * hx * hy < env.walkable_area_m2 < 4 * hx * hy
            assert np.nanmax(np.abs(env.height)) == 0.0
            furniture = [p for p in a["parts"] if "box" in p]
            assert len(furniture) >= 4
            for p in furniture:  # every furniture cell is blocked
                x0, y0, _, x1, y1, _ = p["box"]
                X, Y = env.cell_centres()
                assert np.isnan(env.height[(X > x0) & (X < x1) & (Y > y0) & (Y < y1)]).all()
    assert builtin_layout("room", 1) != builtin_layout("room", 2)


def test_summary_files_and_errors(tmp_path, env, monkeypatch):
    monkeypatch.setenv("MAYHEM_CACHE", str(tmp_path / "cache"))
    scene = tmp_path / "yard.glb"
    scene.write_bytes(b"glTF fake bytes")
    with pytest.raises(MayhemInputError) as err:
        E.load_scene_summary(scene, "cfg.yaml")
    msg = str(err.value)
    assert "cfg.yaml: world.scenes" in msg and "yard.glb" in msg and "mayhem prepare-scene" in msg
    env.sha256 = E.file_sha256(scene)
    E.save_summary(E.summary_paths(scene)[0], env)
    loaded = E.load_scene_summary(scene)
    np.testing.assert_array_equal(loaded.height, env.height)
    assert loaded.ref == str(scene.resolve()) and loaded.cell == env.cell
    scene.write_bytes(b"glTF other bytes")  # edited after preparing: the summary is stale
    with pytest.raises(MayhemInputError, match="different version of the file"):
        E.load_scene_summary(scene)
    cached = E.summary_paths(scene)[1]  # a summary in the cache folder, keyed by content
    assert cached.parent == tmp_path / "cache" / "environments"
    env.sha256 = E.file_sha256(scene)
    E.save_summary(cached, env)
    assert E.load_scene_summary(scene).sha256 == env.sha256
    assert for_world(WorldRecipe(kind="hdri", hdri="builtin:city")) is None


def _config(**world):
    from mayhem.core.config import config_from_dict

    return config_from_dict({"seed": 5, "frames": 6, "body": {"model": "free"}, "people": {"count": [4, 4]},
                             "world": {"mesh_probability": 1.0, **world}})


@pytest.mark.parametrize("scene", ["builtin:room", "builtin:courtyard"])
def test_recipe_places_people_on_the_walkable_floor(scene, free_body_path):
    from mayhem.core.recipe import AssetCache, person_params, posed_vertices, sample_recipe
    from mayhem.core.recipe_types import recipe_to_json
    from mayhem.core.world.placement import swept_footprint

    cache = AssetCache()
    config = _config(scenes=[scene])
    for index in range(2):
        recipe = sample_recipe(config, index, cache=cache)
        world = recipe.world
        assert world.kind == "mesh" and world.scene == scene and not world.shadow_catcher
        env = for_world(world)
        assert is_clear(env, np.array([world.centre]), 0.9)
        assert recipe.people
        for person in recipe.people:
            model, params, _ = person_params(person, recipe.frames, recipe.fps, cache)
            verts = posed_vertices(model, params)
            fp = swept_footprint(verts, np.zeros(2)).points
            assert is_clear(env, fp, config.world.obstacle_clearance_m, config.world.floor_tolerance_m)
            assert verts[..., 2].min() == pytest.approx(ground_z(env, fp), abs=1e-6)  # feet on the floor
        if index == 0:
            again = sample_recipe(config, index, cache=AssetCache())
            assert json.dumps(recipe_to_json(again), sort_keys=True) == json.dumps(recipe_to_json(recipe), sort_keys=True)


def test_recipe_world_errors(tmp_path):
    from mayhem.core.recipe import sample_recipe

    missing = tmp_path / "hall.glb"
    missing.write_bytes(b"x")
    with pytest.raises(MayhemInputError, match="hall.glb.*prepare-scene"):
        sample_recipe(_config(scenes=["builtin:room", str(missing)], mesh_probability=0.5), 0)
    with pytest.raises(MayhemInputError, match="world.scenes.*built-in environment 'attic'"):
        sample_recipe(_config(scenes=["builtin:attic"]), 0)
    with pytest.raises(MayhemInputError, match="world.scenes.*not a scene file"):
        sample_recipe(_config(scenes=[str(tmp_path / "notes.txt")]), 0)


def test_hdri_world_fields():
    from mayhem.core.config import config_from_dict
    from mayhem.core.recipe import sample_recipe

    config = config_from_dict({"frames": 2, "body": {"model": "free"}, "people": {"count": [1, 1]},
                               "world": {"exposure_ev": [-1, 1], "normalize_exposure": False}})
    world = sample_recipe(config, 0).world
    assert world.kind == "hdri" and -1 <= world.exposure_ev <= 1 and world.normalize is False
    assert world.shadow_catcher and world.centre is None
