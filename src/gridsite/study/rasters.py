"""The raster stage of a study on any window of its grid: criteria, constraints and overlay.

:func:`raster_stage` is the one implementation of the raster pipeline. The in-memory path calls it
once with the whole grid as the window; the chunked path (:mod:`gridsite.study.chunked`) maps it
over the chunks of the grid, and over each candidate site's bounding window for the site table.
The two paths differ only in how distances to a layer's features are measured
(:class:`Features`): by the exact Euclidean distance transform of the whole grid's mask
(:class:`WholeGridFeatures`), or by nearest-feature-cell queries against a KD-tree of the feature
cells of the whole grid (:class:`TreeFeatures`). Both are the exact centre-to-centre distance to
the nearest feature cell, so the two paths agree to floating-point rounding.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from numpy.typing import NDArray
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from scipy.spatial import cKDTree

from gridsite import layers
from gridsite.criteria.distance import (
    distance_to_cells,
    distance_to_mask,
    north_of,
    north_of_rows,
    within_distance,
    within_distance_of_cells,
)
from gridsite.criteria.interpolate import idw_to_grid_groups
from gridsite.criteria.transforms import apply_transform
from gridsite.energy.potential import eligible_land
from gridsite.errors import ConfigError
from gridsite.geo import M_PER_KM, RasterGrid
from gridsite.mcda.aggregate import aggregate_scores, apply_constraints
from gridsite.mcda.overlay import RunningLinearCombination
from gridsite.spec import ConstraintSpec, CriterionSpec, SelectSpec, StudySpec

__all__ = [
    "FeatureKey",
    "Features",
    "GridWindow",
    "RasterInputs",
    "TreeFeatures",
    "WholeGridFeatures",
    "WindowResult",
    "constraint_key",
    "criterion_key",
    "raster_stage",
]

#: Cells a chunk is grown by on each side for its local distance transform (at least; a quarter
#: of the chunk for big chunks): cells whose nearest feature lies that close need no tree query.
_MIN_PAD_PX = 64

#: A layer's features as one rasterisation: (layer, select filter, all_touched).
FeatureKey = tuple[str, SelectSpec | None, bool]


@dataclass(frozen=True)
class GridWindow:
    """Rows ``row0 .. row0 + rows - 1`` and columns ``col0 .. col0 + cols - 1`` of a study grid."""

    row0: int
    col0: int
    rows: int
    cols: int

    @classmethod
    def whole(cls, grid: RasterGrid) -> GridWindow:
        """Return the window covering all of ``grid``."""
        return cls(0, 0, *grid.shape)

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """``(row0, col0, rows, cols)``."""
        return (self.row0, self.col0, self.rows, self.cols)

    @property
    def slices(self) -> tuple[slice, slice]:
        """Index of the window into an array of the whole grid."""
        return (slice(self.row0, self.row0 + self.rows), slice(self.col0, self.col0 + self.cols))

    def grid(self, study: RasterGrid) -> RasterGrid:
        """Return the window as a grid of its own (same CRS and cell size, shifted origin)."""
        t, res = study.transform, study.resolution_m
        # Spelt out rather than composed, so that origins stay exact multiples of the cell size.
        transform = Affine(res, 0.0, t.c + self.col0 * res, 0.0, -res, t.f - self.row0 * res)
        return RasterGrid(crs=study.crs, transform=transform, shape=(self.rows, self.cols))


class Features(Protocol):
    """How the raster stage sees a layer's features on a window: as cells, and by distance."""

    def count(self, inputs: RasterInputs, key: FeatureKey) -> int:
        """Return the number of feature cells on the whole grid."""
        ...

    def mask(self, inputs: RasterInputs, key: FeatureKey, win: GridWindow) -> NDArray[np.bool_]:
        """Return the feature cells of the window."""
        ...

    def distance_m(
        self, inputs: RasterInputs, key: FeatureKey, win: GridWindow
    ) -> NDArray[np.float32]:
        """Return the distance (m) from each cell centre of the window to the nearest feature."""
        ...

    def within_m(
        self, inputs: RasterInputs, key: FeatureKey, win: GridWindow, distance_m: float
    ) -> NDArray[np.bool_]:
        """Return the cells within ``distance_m`` of a feature cell (inclusive)."""
        ...

    def north_of(self, inputs: RasterInputs, key: FeatureKey, win: GridWindow) -> NDArray[np.bool_]:
        """Return the line cells and every cell north of them, column by column, whole grid."""
        ...


@dataclass
class RasterInputs:
    """What :func:`raster_stage` needs, read once: picklable, so dask workers can get a copy.

    ``vectors`` holds each feature layer (selected, study CRS) by ``(layer, select)``; ``points``
    the data points of each ``interpolate`` criterion by name, as ``(xy, values)``.
    """

    spec: StudySpec
    grid: RasterGrid
    area: gpd.GeoDataFrame
    vectors: dict[tuple[str, SelectSpec | None], gpd.GeoDataFrame]
    points: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]
    weights: dict[str, float]
    features: Features
    #: Supply-only exclusions: their masks are computed, but they do not touch suitability.
    extra: tuple[ConstraintSpec, ...] = ()

    def rasterize(self, key: FeatureKey, win: GridWindow) -> NDArray[np.bool_]:
        """Burn the features of ``key`` on the window (only those whose box reaches it)."""
        layer, select, all_touched = key
        return _burn(self.vectors[(layer, select)], win.grid(self.grid), all_touched=all_touched)


def _rasterize(gdf: gpd.GeoDataFrame, grid: RasterGrid, *, all_touched: bool) -> NDArray[np.bool_]:
    return layers.rasterize_mask(gdf, grid, all_touched=all_touched)


def _burn(gdf: gpd.GeoDataFrame, grid: RasterGrid, *, all_touched: bool) -> NDArray[np.bool_]:
    x0, y0, x1, y1 = grid.bounds
    pad = grid.resolution_m
    near = np.sort(gdf.sindex.query(shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)))
    # Clipped to the window and a cell around it: a country outline of millions of vertices
    # would otherwise be handed to GDAL whole for every chunk. The parts inside are unchanged.
    clipped = shapely.clip_by_rect(
        gdf.geometry.to_numpy()[near], x0 - 2 * pad, y0 - 2 * pad, x1 + 2 * pad, y1 + 2 * pad
    )
    part = gpd.GeoDataFrame(geometry=clipped, crs=gdf.crs)
    return _rasterize(part, grid, all_touched=all_touched)


@dataclass
class WindowResult:
    """The raster stage on one window; ``scores``/``values`` only when asked for."""

    suitability: NDArray[np.float32]
    in_area: NDArray[np.bool_]
    excluded: NDArray[np.bool_]
    masks: dict[str, NDArray[np.bool_]]
    extra_masks: dict[str, NDArray[np.bool_]]
    scores: dict[str, NDArray[np.float32]] = field(default_factory=dict)
    values: dict[str, NDArray[np.float32]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def criterion_key(c: CriterionSpec) -> FeatureKey:
    """Return the features a ``distance`` criterion measures to (lines and points touch cells)."""
    return (c.layer, c.select, True)


def constraint_key(k: ConstraintSpec) -> FeatureKey:
    """Return the features of a vector constraint: areas by cell centre, lines by touch."""
    return (k.layer, k.select, k.kind not in ("inside", "outside"))


def raster_stage(
    inputs: RasterInputs,
    win: GridWindow,
    *,
    with_scores: bool = False,
    value_sink: Callable[[str, NDArray[np.float32]], None] | None = None,
    score_sink: Callable[[str, NDArray[np.float32]], None] | None = None,
) -> WindowResult:
    """Compute suitability, the study area and every constraint mask on one window of the grid.

    Outside the study area suitability is NaN; excluded cells score 0 (see
    :func:`~gridsite.mcda.aggregate.apply_constraints`). With ``with_scores``, each criterion's
    score and raw value rasters on the window are kept too (else they are dropped as soon as
    they have been combined). ``value_sink`` and ``score_sink``, if given, receive each
    criterion's raw value and score rasters instead of the result keeping them: values as soon
    as they are scored, scores as soon as they are combined (at once under the ``wlc`` rule,
    which sums the criteria as they come; after the overlay under the other rules).
    """
    spec = inputs.spec
    g = win.grid(inputs.grid)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    in_area = _burn(inputs.area, g, all_touched=False)
    values: dict[str, NDArray[np.float32]] = {}
    scores: dict[str, NDArray[np.float32]] = {}
    running = (
        RunningLinearCombination(inputs.weights)
        if score_sink is not None and spec.aggregation.method == "wlc"
        else None
    )
    # only the study area's cells: the rest become nodata anyway
    interpolated = idw_to_grid_groups(
        {c.name: inputs.points[c.name] for c in spec.criteria if c.measure == "interpolate"},
        g,
        mask=in_area,
    )
    for c in spec.criteria:
        value = interpolated.pop(c.name, None)
        if value is None:
            value = _criterion_value(inputs, c, win, g)
        # Outside the study area is nodata, so the nodata policies see only the area's cells.
        value[~in_area] = np.nan
        score = apply_transform(value, c.transform)
        if value_sink is not None:
            value_sink(c.name, value)
        elif with_scores:
            values[c.name] = value
        del value
        if running is not None and score_sink is not None:
            running.add(c.name, score)
            score_sink(c.name, score)
        else:
            scores[c.name] = score
        del score
    t1 = time.perf_counter()
    seconds["criteria"] = t1 - t0

    excluded = ~in_area
    forced = np.zeros(g.shape, dtype=bool)
    partial = np.ones(g.shape, dtype=np.float32)
    masks: dict[str, NDArray[np.bool_]] = {}
    for k in spec.constraints:
        hit = constraint_mask(inputs, k, win)
        masks[k.name] = hit
        if k.mode == "exclude":
            excluded |= hit
        elif k.mode == "force":
            forced |= hit
        else:
            partial[hit] *= k.factor
    extra = {k.name: constraint_mask(inputs, k, win) for k in inputs.extra}
    t2 = time.perf_counter()
    seconds["constraints"] = t2 - t1

    if running is not None:
        combined = running.result()
    else:
        combined = aggregate_scores(scores, inputs.weights, spec.aggregation)
        if score_sink is not None:
            for name in list(scores):
                score_sink(name, scores.pop(name))
    suit = np.asarray(
        apply_constraints(combined, excluded=excluded & in_area, forced=forced, partial=partial),
        dtype=np.float32,
    )
    # apply_constraints keeps NaN (its "outside the area"); inside the area a cell that is
    # excluded scores 0 even where a criterion has no data there: excluded, not unknown.
    suit[excluded & in_area & ~forced & np.isnan(suit)] = 0.0
    suit[~in_area] = np.nan
    seconds["overlay"] = time.perf_counter() - t2
    return WindowResult(
        suitability=suit,
        in_area=in_area,
        excluded=excluded,
        masks=masks,
        extra_masks=extra,
        scores=scores if with_scores and score_sink is None else {},
        values=values,
        seconds=seconds,
    )


def _criterion_value(
    inputs: RasterInputs,
    c: CriterionSpec,
    win: GridWindow,
    g: RasterGrid,
) -> NDArray[np.float32]:
    spec = inputs.spec
    if c.measure == "distance":
        dist_m = inputs.features.distance_m(inputs, criterion_key(c), win)
        return np.asarray(dist_m / M_PER_KM, dtype=np.float32)
    layer = spec.layers[c.layer]
    return layers.read_raster_window(layer, spec.data_root, g, resampling=Resampling.bilinear)


def constraint_mask(inputs: RasterInputs, k: ConstraintSpec, win: GridWindow) -> NDArray[np.bool_]:
    """Return the cells of the window a constraint (or a supply exclusion) hits."""
    spec = inputs.spec
    if k.kind == "raster_values":
        layer = spec.layers[k.layer]
        r = layers.read_raster_window(
            layer, spec.data_root, win.grid(inputs.grid), resampling=Resampling.nearest
        )
        return np.isin(r, np.asarray(k.values, dtype=np.float32))
    key = constraint_key(k)
    buffer_m = k.buffer_km * M_PER_KM
    feats = inputs.features
    grown = (
        feats.within_m(inputs, key, win, buffer_m) if buffer_m > 0 else feats.mask(inputs, key, win)
    )
    if k.kind == "outside":
        return ~grown
    if k.kind in ("inside", "near"):
        return grown
    if k.kind == "north_of":
        return feats.north_of(inputs, key, win) | grown
    raise ConfigError(f"constraint kind {k.kind!r} is not one of outside, inside, near, north_of")


# ---- the two ways of measuring distances --------------------------------------------------------


class WholeGridFeatures:
    """Features of the in-memory path: masks of the whole grid and their distance transforms.

    Only the whole grid is a valid window (a distance transform sees no feature beyond its
    array); masks are rasterised once per key and kept for the run.
    """

    def __init__(self) -> None:
        self._masks: dict[FeatureKey, NDArray[np.bool_]] = {}

    def _whole(self, inputs: RasterInputs, key: FeatureKey, win: GridWindow) -> NDArray[np.bool_]:
        if win != GridWindow.whole(inputs.grid):
            raise ValueError("WholeGridFeatures measures distances on the whole grid only")
        if key not in self._masks:
            layer, select, all_touched = key
            gdf = inputs.vectors[(layer, select)]
            self._masks[key] = layers.rasterize_mask(gdf, inputs.grid, all_touched=all_touched)
        return self._masks[key]

    def count(self, inputs: RasterInputs, key: FeatureKey) -> int:
        """See :meth:`Features.count`."""
        return int(self._whole(inputs, key, GridWindow.whole(inputs.grid)).sum())

    def mask(self, inputs: RasterInputs, key: FeatureKey, win: GridWindow) -> NDArray[np.bool_]:
        """See :meth:`Features.mask`."""
        return self._whole(inputs, key, win)

    def distance_m(
        self, inputs: RasterInputs, key: FeatureKey, win: GridWindow
    ) -> NDArray[np.float32]:
        """See :meth:`Features.distance_m`."""
        res = inputs.grid.resolution_m
        return distance_to_mask(self._whole(inputs, key, win), resolution_m=res)

    def within_m(
        self, inputs: RasterInputs, key: FeatureKey, win: GridWindow, distance_m: float
    ) -> NDArray[np.bool_]:
        """See :meth:`Features.within_m`."""
        mask = self._whole(inputs, key, win)
        return within_distance(mask, distance_m=distance_m, resolution_m=inputs.grid.resolution_m)

    def north_of(self, inputs: RasterInputs, key: FeatureKey, win: GridWindow) -> NDArray[np.bool_]:
        """See :meth:`Features.north_of`."""
        return north_of(self._whole(inputs, key, win))


@dataclass
class TreeFeatures:
    """Features of the chunked path: KD-trees and southern edges over the whole grid.

    ``trees`` holds, per key measured by distance, the feature cells of the whole grid by global
    (row, col); ``southernmost`` per ``north_of`` key the last line row of each column (-1 where
    the line does not cross). Masks are rasterised on each window as it comes.
    """

    trees: dict[FeatureKey, cKDTree]
    southernmost: dict[FeatureKey, NDArray[np.int64]]

    def count(self, inputs: RasterInputs, key: FeatureKey) -> int:
        """See :meth:`Features.count`."""
        if key in self.trees:
            return int(self.trees[key].n)
        return int((self.southernmost[key] >= 0).sum())

    def mask(self, inputs: RasterInputs, key: FeatureKey, win: GridWindow) -> NDArray[np.bool_]:
        """See :meth:`Features.mask`."""
        return inputs.rasterize(key, win)

    def _near(self, inputs: RasterInputs, key: FeatureKey, win: GridWindow) -> dict[str, Any]:
        """Return the window grown by a pad, with its feature cells (fewer tree queries)."""
        pad = max(_MIN_PAD_PX, win.rows // 4, win.cols // 4)
        rows, cols = inputs.grid.shape
        r0, c0 = max(0, win.row0 - pad), max(0, win.col0 - pad)
        r1, c1 = min(rows, win.row0 + win.rows + pad), min(cols, win.col0 + win.cols + pad)
        grown = GridWindow(r0, c0, r1 - r0, c1 - c0)
        return {"near_mask": inputs.rasterize(key, grown), "near_origin": (r0, c0), "pad_px": pad}

    def distance_m(
        self, inputs: RasterInputs, key: FeatureKey, win: GridWindow
    ) -> NDArray[np.float32]:
        """See :meth:`Features.distance_m`."""
        d = distance_to_cells(
            self.trees[key],
            win.bounds,
            resolution_m=inputs.grid.resolution_m,
            **self._near(inputs, key, win),
        )
        return d.astype(np.float32)

    def within_m(
        self, inputs: RasterInputs, key: FeatureKey, win: GridWindow, distance_m: float
    ) -> NDArray[np.bool_]:
        """See :meth:`Features.within_m`."""
        return within_distance_of_cells(
            self.trees[key],
            win.bounds,
            distance_m=distance_m,
            resolution_m=inputs.grid.resolution_m,
            **self._near(inputs, key, win),
        )

    def north_of(self, inputs: RasterInputs, key: FeatureKey, win: GridWindow) -> NDArray[np.bool_]:
        """See :meth:`Features.north_of`."""
        south = self.southernmost[key][win.col0 : win.col0 + win.cols]
        return north_of_rows(south, row0=win.row0, rows=win.rows)


def interpolation_points(
    gdf: gpd.GeoDataFrame, field_name: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(xy, values)`` of point features for IDW: coordinates in metres, values as floats."""
    xy = np.column_stack([gdf.geometry.x, gdf.geometry.y]).astype(np.float64)
    vals = pd.to_numeric(gdf[field_name], errors="coerce").to_numpy(float)
    return xy, vals


def derived_masks(
    spec: StudySpec,
    in_area: NDArray[np.bool_],
    excluded: NDArray[np.bool_],
    masks: dict[str, NDArray[np.bool_]],
    extra: dict[str, NDArray[np.bool_]],
) -> dict[str, NDArray[np.bool_]]:
    """Return the masks the stages after the raster stage read, from the raster stage's own.

    Cell by cell, so a window's result is the whole grid's on that window; the chunked path
    computes them per chunk and keeps only these (packed as bits), not every constraint mask.

    - ``in_area``, ``excluded``: the study area, and the cells any ``exclude`` constraint hits;
    - with ``[supply]``: ``supply_land`` (the area minus the sea constraint),
      ``supply_eligible`` (land minus the land exclusions and the supply-only exclusions) and
      ``supply_sea`` (the sea constraint minus the sea exclusions; all False without one);
    - with ``[interconnect]``: ``route_barrier`` (outside the area, or a barrier constraint)
      and ``route_urban`` (the urban constraint; all False without one).
    """
    out = {"in_area": in_area, "excluded": excluded}
    none = np.zeros(in_area.shape, dtype=bool)
    su = spec.supply
    if su is not None:
        sea = masks[su.sea_constraint] if su.sea_constraint else none
        land = in_area & ~sea
        exclusions = [masks[n] for n in su.land_exclusions]
        exclusions += [extra[k.name] for k in su.exclusions]
        out["supply_land"] = land
        out["supply_eligible"] = eligible_land(land, exclusions)
        open_sea = sea.copy()
        for name in su.sea_exclusions:
            open_sea &= ~masks[name]
        out["supply_sea"] = open_sea
    ic = spec.interconnect
    if ic is not None:
        barriers = ~in_area
        for name in ic.barriers:
            barriers = barriers | masks[name]
        out["route_barrier"] = barriers
        out["route_urban"] = masks[ic.urban_constraint] if ic.urban_constraint else none
    return out


def derived_mask_names(spec: StudySpec) -> list[str]:
    """Names of the masks :func:`derived_masks` returns for ``spec``, in its order."""
    names = ["in_area", "excluded"]
    if spec.supply is not None:
        names += ["supply_land", "supply_eligible", "supply_sea"]
    if spec.interconnect is not None:
        names += ["route_barrier", "route_urban"]
    return names


def ignore_scratch_warning() -> None:
    """Ignore rasterio's warning about its own scratch dataset, from now on.

    rasterio silences it while rasterising with ``warnings.catch_warnings``, which is not
    thread-safe: with windows burning in several threads (chunks, or two studies run at once)
    one thread's exit restores a filter list from before another thread's entry, and the
    warning escapes. A ``catch_warnings`` of our own would do the same to other runs. So exactly
    that warning is filtered for good, once per run before any thread starts; every snapshot
    rasterio takes then holds the filter (``filterwarnings`` replaces an identical filter rather
    than adding a second one).
    """
    warnings.filterwarnings(
        "ignore", message="Dataset has no geotransform", category=NotGeoreferencedWarning
    )
