"""Placing people so that no two bodies ever touch, over the whole sequence.

Each person's body sweeps a footprint on the ground over the sequence (every vertex of every
frame, projected to z = 0). Footprints are rasterised into an occupancy grid; a new person
is accepted only where its whole swept footprint, grown by the configured gap, lands on free
cells. Because footprints are swept over all frames, two bodies cannot meet at any frame,
even when one walks where the other stood earlier.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CELL_M = 0.05  # grid resolution; footprints are dilated by a cell so gaps between samples close


@dataclass
class Footprint:
    """Ground cells (local frame, metres) swept by one unplaced clip, relative to its first pelvis."""

    points: np.ndarray  # (N, 2) sample points of the swept footprint


def swept_footprint(vertices: np.ndarray, origin_xy: np.ndarray) -> Footprint:
    """Footprint of posed vertices (F, V, 3), relative to origin_xy, thinned to one point per
    half cell (enough to rasterise without gaps at CELL_M)."""
    xy = vertices[..., :2].reshape(-1, 2) - origin_xy
    keys = _unique_rows(np.floor(xy / (CELL_M / 2)).astype(np.int64))
    return Footprint(points=(keys + 0.5) * (CELL_M / 2))


def _unique_rows(idx: np.ndarray) -> np.ndarray:
    """np.unique(idx, axis=0) for (N, 2) int64 cells, via one 1-D key (much faster)."""
    lo = idx.min(axis=0)
    span = int(idx[:, 1].max() - lo[1]) + 1
    keys = np.unique((idx[:, 0] - lo[0]) * span + (idx[:, 1] - lo[1]))
    return np.stack([keys // span + lo[0], keys % span + lo[1]], axis=1)


class OccupancyGrid:
    """A square boolean grid centred on the origin that remembers occupied ground."""

    def __init__(self, half_extent_m: float):
        self.half = float(half_extent_m)
        self.size = int(np.ceil(2 * self.half / CELL_M)) + 1
        self.grid = np.zeros((self.size, self.size), dtype=bool)

    def cells(self, xy: np.ndarray, grow_m: float = 0.0) -> np.ndarray | None:
        """Grid cells covered by points grown by grow_m (+ one cell); None if any falls outside."""
        idx = np.floor((xy + self.half) / CELL_M).astype(np.int64)
        r = int(np.ceil(grow_m / CELL_M)) + 1
        offsets = np.array([(dx, dy) for dx in range(-r, r + 1) for dy in range(-r, r + 1)
                            if (dx * dx + dy * dy) * CELL_M * CELL_M <= (grow_m + CELL_M * 1.5) ** 2])
        base = _unique_rows(idx)
        grown = (base[:, None, :] + offsets[None]).reshape(-1, 2)
        if grown.min() < 0 or grown.max() >= self.size:
            return None
        return grown

    def is_free(self, cells: np.ndarray) -> bool:
        return not self.grid[cells[:, 0], cells[:, 1]].any()

    def occupy(self, cells: np.ndarray) -> None:
        self.grid[cells[:, 0], cells[:, 1]] = True


def place_footprint(grid: OccupancyGrid, footprint: Footprint, rng, radius_m: float, gap_m: float,
                    tries: int = 200, spot_ok=None):
    """Find (x, y, yaw) putting the footprint's origin at (x, y) on free ground.

    The new footprint is grown by the full gap and checked against cells occupied by earlier
    (un-grown) footprints. ``spot_ok(path_xy)`` may veto a spot (obstacles, walkable floor).
    Returns (x, y, yaw, cells) or None after ``tries`` rejections.
    """
    for _ in range(tries):
        yaw = float(rng.uniform(-np.pi, np.pi))
        r = radius_m * np.sqrt(rng.uniform())
        a = rng.uniform(-np.pi, np.pi)
        x, y = float(r * np.cos(a)), float(r * np.sin(a))
        c, s = np.cos(yaw), np.sin(yaw)
        pts = footprint.points @ np.array([[c, s], [-s, c]]) + (x, y)
        cells = grid.cells(pts, grow_m=gap_m)
        if cells is None or not grid.is_free(cells):
            continue
        if spot_ok is not None and not spot_ok(pts):
            continue
        return x, y, yaw, grid.cells(pts)
    return None


def body_height(rest_vertices: np.ndarray) -> float:
    """Standing height of a rest-pose SMPL-X body (model frame, Y up)."""
    return float(rest_vertices[:, 1].max() - rest_vertices[:, 1].min())


def mesh_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Enclosed volume by the divergence theorem (closed, consistently oriented mesh)."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return float(abs(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)


BODY_DENSITY_KG_M3 = 985.0  # average human body density


def body_mass_index(rest_vertices: np.ndarray, faces: np.ndarray) -> float:
    height = body_height(rest_vertices)
    return BODY_DENSITY_KG_M3 * mesh_volume(rest_vertices, faces) / height**2
