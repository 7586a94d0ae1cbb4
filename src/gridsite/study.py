"""Orchestration: study file -> layers -> criteria -> overlay -> sites -> power grid -> outputs.

This module only wires stages together; each computation lives in its stage's module.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from rasterio.enums import Resampling

from gridsite import layers
from gridsite.config import load_study
from gridsite.criteria.constraints import exclusion_mask
from gridsite.criteria.distance import distance_to_mask
from gridsite.criteria.interpolate import idw_to_grid
from gridsite.criteria.transforms import apply_transform
from gridsite.errors import LayerError, OutputExistsError
from gridsite.geo import M_PER_KM, Raster, RasterGrid
from gridsite.mcda.overlay import weighted_linear_combination
from gridsite.powergrid.connect import connect_sites, required_connection_kv
from gridsite.powergrid.graph import graph_from_pypsa_tables, graph_summary, graph_to_gdfs
from gridsite.report.manifest import build_manifest, write_manifest
from gridsite.report.raster import write_geotiff
from gridsite.report.vector import write_csv, write_geojson
from gridsite.sites import (
    assign_region_names,
    nearest_names,
    parcel_size_cells,
    parcels_to_sites,
    pick_parcels,
    rank_sites,
)
from gridsite.spec import CriterionSpec, StudySpec

__all__ = [
    "SITE_COLUMNS",
    "Study",
    "StudyResult",
    "check_inputs",
    "output_names",
    "used_layers",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str], None]

#: Leading columns of the sites table, in order; ``score_<criterion>`` and ``value_<criterion>``
#: columns follow.
SITE_COLUMNS = (
    "rank",
    "site_id",
    "score",
    "suitability",
    "area_ha",
    "lon",
    "lat",
    "province",
    "place",
    "substation_id",
    "substation_name",
    "substation_kv",
    "interconnect_km",
    "backbone_path_km",
    "capacity_mw",
    "required_kv",
    "score_interconnect",
    "score_capacity",
)


@dataclass
class StudyResult:
    """What a study run produced; ``write`` puts it on disk.

    Attributes
    ----------
    spec
        The resolved study.
    sites
        Ranked sites (best first), polygons in the study CRS.
    suitability
        Suitability in [0, 1] on the study grid; NaN outside the study area, 0 where excluded.
    scores
        Each criterion's score raster in [0, 1].
    excluded
        Cells excluded by any constraint.
    grid_graph
        The power-grid graph (nodes: buses; edges: lines and transformers).
    timings_s
        Seconds per stage.
    inputs
        ``(layer name, path)`` of every file read.
    """

    spec: StudySpec
    sites: gpd.GeoDataFrame
    suitability: Raster
    scores: dict[str, NDArray[np.float32]]
    excluded: NDArray[np.bool_]
    grid_graph: nx.Graph
    timings_s: dict[str, float] = field(default_factory=dict)
    inputs: list[tuple[str, Path]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def output_names(self) -> list[str]:
        """File names :meth:`write` produces, given the study's ``[outputs]``."""
        return output_names(self.spec)

    def write(self, out_dir: Path | str, *, overwrite: bool = False) -> list[Path]:
        """Write sites.geojson, sites.csv, suitability.tif, grid.geojson, map.html, manifest.json.

        Every file is written to a temporary name and renamed into place. Unless ``overwrite``,
        nothing is written when any of the outputs exists already.

        Returns
        -------
        list of Path
            The files written, in the order of :meth:`output_names`.

        Raises
        ------
        OutputExistsError
            Naming the outputs that exist, when ``overwrite`` is false.
        """
        from gridsite.report.webmap import write_map  # folium only when a map is written

        out = Path(out_dir)
        paths = {name: out / name for name in self.output_names()}
        if not overwrite:
            _check_free(paths.values())
        out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        sites_wgs = self.sites.to_crs(4326)
        grid = self.suitability.grid
        buses, lines = graph_to_gdfs(self.grid_graph)
        attributions = self.attributions()
        written = [
            write_geojson(sites_wgs, paths["sites.geojson"], overwrite=overwrite),
            write_csv(
                pd.DataFrame(self.sites.drop(columns="geometry")),
                paths["sites.csv"],
                overwrite=overwrite,
            ),
        ]
        if "suitability.tif" in paths:
            written.append(
                write_geotiff(
                    self.suitability.array,
                    grid,
                    paths["suitability.tif"],
                    description="suitability score, 0-1, 0 = excluded",
                    overwrite=overwrite,
                )
            )
        if "grid.geojson" in paths:
            both = gpd.GeoDataFrame(pd.concat([lines, buses], ignore_index=True), crs=4326)
            written.append(write_geojson(both, paths["grid.geojson"], overwrite=overwrite))
        if "map.html" in paths:
            written.append(
                write_map(
                    paths["map.html"],
                    suitability=self.suitability.array,
                    grid=grid,
                    sites=sites_wgs,
                    buses=buses,
                    lines=lines,
                    attributions=[a["attribution"] for a in attributions],
                    title=self.spec.title,
                    overwrite=overwrite,
                )
            )
        timings = dict(self.timings_s)
        timings["write"] = time.perf_counter() - t0
        manifest = build_manifest(
            study_name=self.spec.name,
            config=_spec_to_config(self.spec),
            inputs=self.inputs,
            timings_s=timings,
            attributions=attributions,
            outputs=written,
        )
        manifest["stats"] = self.stats
        written.append(write_manifest(manifest, paths["manifest.json"], overwrite=overwrite))
        return written

    def attributions(self) -> list[dict[str, str]]:
        """Licence and attribution of every layer the run read, one entry per distinct text."""
        seen: dict[str, dict[str, str]] = {}
        for name, _ in self.inputs:
            spec = self.spec.layers[name]
            if spec.attribution and spec.attribution not in seen:
                seen[spec.attribution] = {
                    "layer": name,
                    "licence": spec.licence,
                    "attribution": spec.attribution,
                }
        return list(seen.values())


def output_names(spec: StudySpec) -> list[str]:
    """File names a run of ``spec`` writes, given its ``[outputs]``."""
    o = spec.outputs
    names = ["sites.geojson", "sites.csv"]
    names += ["suitability.tif"] if o.suitability_tif else []
    names += ["grid.geojson"] if o.grid_geojson else []
    names += ["map.html"] if o.map_html else []
    return [*names, "manifest.json"]


def _check_free(paths: Iterable[Path]) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise OutputExistsError(
            f"outputs exist already: {', '.join(existing)}; pass --overwrite (overwrite=True) "
            "or choose another output folder"
        )


def _spec_to_config(spec: StudySpec) -> dict[str, Any]:
    from dataclasses import asdict

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, Path):
            return str(v)
        return v

    return dict(clean(asdict(spec)))


class Study:
    """A siting study: build with :meth:`from_toml`, run with :meth:`run`.

    Examples
    --------
    >>> study = Study.from_toml("studies/korea.toml")          # doctest: +SKIP
    >>> result = study.run()                                    # doctest: +SKIP
    >>> result.sites[["rank", "site_id", "score"]].head()       # doctest: +SKIP
    """

    def __init__(self, spec: StudySpec) -> None:
        self.spec = spec

    @classmethod
    def from_toml(
        cls,
        path: Path | str,
        data_root: Path | str | None = None,
        *,
        resolution_m: float | None = None,
    ) -> Study:
        """Read and validate a study file.

        Parameters
        ----------
        path
            The study TOML file.
        data_root
            Folder holding the data pack; else ``GRIDSITE_DATA``, else the file's ``data_root``.
        resolution_m
            Cell size in metres (study CRS), overriding the file's.
        """
        return cls(load_study(path, data_root=data_root, resolution_m=resolution_m))

    def check_outputs_free(self, out_dir: Path | str) -> None:
        """Raise :class:`OutputExistsError` if any output of this study exists in ``out_dir``."""
        _check_free(Path(out_dir) / name for name in output_names(self.spec))

    def with_top(self, count: int) -> Study:
        """Return a copy of the study that keeps ``count`` sites."""
        return Study(replace(self.spec, sites=replace(self.spec.sites, count=count)))

    def run(self, *, progress: ProgressCallback | None = None) -> StudyResult:
        """Run every stage and return the result (nothing is written)."""
        return _Run(self.spec, progress).execute()


class _Run:
    """State of one run: the layers read so far and the stage timings (no global state)."""

    def __init__(self, spec: StudySpec, progress: ProgressCallback | None) -> None:
        self.spec = spec
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.inputs: dict[str, Path] = {}
        self._vectors: dict[str, gpd.GeoDataFrame] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(name)
        t0 = time.perf_counter()
        yield
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0

    def vector(self, name: str, *, require: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
        if name not in self._vectors:
            spec = self.spec.layers[name]
            self._vectors[name] = layers.read_vector(
                spec, self.spec.data_root, crs=self.spec.crs, require=require
            )
            self.inputs[name] = layers.layer_path(spec, self.spec.data_root)
        return self._vectors[name]

    def raster(self, name: str, grid: RasterGrid, resampling: Resampling) -> NDArray[np.float32]:
        spec = self.spec.layers[name]
        self.inputs[name] = layers.layer_path(spec, self.spec.data_root)
        return layers.read_raster(spec, self.spec.data_root, grid, resampling=resampling)

    def features_mask(self, layer: str, select: Any, grid: RasterGrid, *, area: bool) -> Any:
        gdf = layers.select_features(self.vector(layer), select, layer=layer)
        return layers.rasterize_mask(gdf, grid, all_touched=not area)

    def criterion_value(self, c: CriterionSpec, grid: RasterGrid) -> NDArray[np.float32]:
        if c.measure == "distance":
            mask = self.features_mask(c.layer, c.select, grid, area=False)
            if not mask.any():
                raise LayerError(
                    f"criterion {c.name!r}: layer {c.layer!r} has no feature inside the study "
                    "grid after its select filter; check the filter, the layer's CRS and extent"
                )
            return (distance_to_mask(mask, resolution_m=grid.resolution_m) / M_PER_KM).astype(
                np.float32
            )
        if c.measure == "interpolate":
            assert c.field is not None  # checked by config
            pts = layers.select_features(
                self.vector(c.layer, require=(c.field,)), c.select, layer=c.layer
            )
            xy = np.column_stack([pts.geometry.x, pts.geometry.y])
            vals = pd.to_numeric(pts[c.field], errors="coerce").to_numpy(float)
            return idw_to_grid(xy, vals, grid)
        return self.raster(c.layer, grid, Resampling.bilinear)

    def execute(self) -> StudyResult:
        spec = self.spec
        with self.stage("study area"):
            outline = self.vector(spec.area_layer)
            if outline.empty:
                raise LayerError(f"study area layer {spec.area_layer!r} has no features")
            xmin, ymin, xmax, ymax = outline.total_bounds
            m = spec.area_margin_km * M_PER_KM
            grid = RasterGrid.from_bounds(
                (xmin - m, ymin - m, xmax + m, ymax + m),
                resolution_m=spec.resolution_m,
                crs=spec.crs,
            )
            in_area = layers.rasterize_mask(outline, grid, all_touched=False)
        log.info(
            "study grid: %d x %d cells of %.0f m in %s", *grid.shape, grid.resolution_m, grid.crs
        )

        values: dict[str, NDArray[np.float32]] = {}
        scores: dict[str, NDArray[np.float32]] = {}
        with self.stage("criteria"):
            for c in spec.criteria:
                values[c.name] = self.criterion_value(c, grid)
                scores[c.name] = apply_transform(values[c.name], c.transform)
                log.debug("criterion %s: value %s", c.name, _range(values[c.name], in_area))

        excluded = ~in_area
        excluded_km2: dict[str, float] = {}
        with self.stage("constraints"):
            for k in spec.constraints:
                if k.kind == "raster_values":
                    r = self.raster(k.layer, grid, Resampling.nearest)
                    hit = np.isin(r, np.asarray(k.values, dtype=np.float32))
                else:
                    feats = self.features_mask(
                        k.layer, k.select, grid, area=k.kind in ("inside", "outside")
                    )
                    hit = exclusion_mask(
                        k.kind,
                        feats,
                        buffer_m=k.buffer_km * M_PER_KM,
                        resolution_m=grid.resolution_m,
                    )
                excluded_km2[k.name] = float((hit & in_area).sum() * grid.cell_area_m2 / 1e6)
                excluded |= hit
        log.info(
            "constraints: %s",
            ", ".join(f"{n} {a:,.0f} km2" for n, a in excluded_km2.items()) or "none",
        )

        with self.stage("overlay"):
            suit = weighted_linear_combination(
                scores, {c.name: c.weight for c in spec.criteria}, excluded=excluded & in_area
            )
            suit[~in_area] = np.nan
        open_km2 = float((np.nan_to_num(suit) > 0).sum() * grid.cell_area_m2 / 1e6)
        area_km2 = float(in_area.sum() * grid.cell_area_m2 / 1e6)
        log.info("suitability: %s km2 open of %s km2", f"{open_km2:,.0f}", f"{area_km2:,.0f}")

        with self.stage("sites"):
            size = parcel_size_cells(spec.campus.campus_area_ha, grid.resolution_m)
            parcels = pick_parcels(
                suit,
                grid,
                size=size,
                count=spec.sites.count * spec.sites.pool_factor,
                min_spacing_km=spec.sites.min_spacing_km,
            )
            table = parcels_to_sites(
                parcels, grid, scores=scores, values=values, id_prefix=spec.name
            )
        log.info("sites: %d candidate parcels of %d x %d cells", len(parcels), size, size)

        pg = spec.powergrid
        with self.stage("power grid"):
            buses = self.vector(pg.buses)
            lines = self.vector(pg.lines)
            trafos = self.vector(pg.transformers) if pg.transformers else None
            convs = self.vector(pg.converters) if pg.converters else None
            graph = graph_from_pypsa_tables(
                _wgs84_table(buses),
                _wgs84_table(lines),
                None if trafos is None else _wgs84_table(trafos),
                None if convs is None else _wgs84_table(convs),
                crs=spec.crs,
                rating_mva_per_circuit=pg.rating_mva_per_circuit,
                power_factor=pg.power_factor,
                rating_source=pg.rating_source,
            )
            summary = graph_summary(graph)
            need_kv = required_connection_kv(
                spec.campus.campus_mw,
                rating_mva_per_circuit=pg.rating_mva_per_circuit,
                min_kv=pg.min_connection_kv,
                power_factor=pg.power_factor,
            )
            conn = connect_sites(
                graph,
                table[["x_m", "y_m"]].to_numpy(float),
                min_kv=need_kv,
                backbone_kv=pg.backbone_kv,
                power_factor=pg.power_factor,
            )
        log.info("connection: sites connect at >= %.0f kV", need_kv)

        with self.stage("ranking"):
            table = pd.concat([table.reset_index(drop=True), conn.reset_index(drop=True)], axis=1)
            table["required_kv"] = need_kv
            ranked = rank_sites(table, spec.ranking, campus_mw=spec.campus.campus_mw)
            ranked = ranked.head(spec.sites.count).copy()
            if spec.province_layer and spec.province_field:
                regions = self.vector(spec.province_layer, require=(spec.province_field,))
                ranked = assign_region_names(
                    gpd.GeoDataFrame(ranked, geometry="geometry", crs=grid.crs),
                    regions,
                    field=spec.province_field,
                )
            else:
                ranked["province"] = ""
            ranked["place"] = ""
            if spec.place_layer and spec.place_field:
                places = self.vector(spec.place_layer, require=(spec.place_field,))
                field_ = spec.place_field
                ranked["place"] = nearest_names(
                    ranked[["x_m", "y_m"]].to_numpy(), places, field=field_
                )
                sub_xy = np.array(
                    [
                        (graph.nodes[b]["x_m"], graph.nodes[b]["y_m"])
                        for b in ranked["substation_id"]
                    ]
                )
                near = nearest_names(sub_xy, places, field=field_)
                ranked["substation_name"] = [
                    name if name else f"near {town}"
                    for name, town in zip(ranked["substation_name"], near, strict=True)
                ]
            lead = [c for c in SITE_COLUMNS if c in ranked.columns]
            rest = [c for c in ranked.columns if c not in lead and c != "geometry"]
            sites = gpd.GeoDataFrame(
                ranked[[*lead, *rest, "geometry"]], geometry="geometry", crs=grid.crs
            )
        log.info(
            "ranking: %d sites, best %s (score %.3f)",
            len(sites),
            sites["site_id"].iloc[0],
            sites["score"].iloc[0],
        )

        return StudyResult(
            spec=spec,
            sites=sites,
            suitability=Raster(array=suit, grid=grid),
            scores=scores,
            excluded=excluded,
            grid_graph=graph,
            timings_s=dict(self.timings),
            inputs=sorted(self.inputs.items()),
            stats={
                "grid_shape": list(grid.shape),
                "resolution_m": grid.resolution_m,
                "excluded_km2": excluded_km2,
                "open_km2": open_km2,
                "power_grid": summary,
                "required_connection_kv": need_kv,
            },
        )


def _range(arr: NDArray[np.float32], where: NDArray[np.bool_]) -> str:
    vals = arr[where & np.isfinite(arr)]
    return f"{vals.min():.3g}..{vals.max():.3g}" if vals.size else "no data"


def _wgs84_table(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Tables for the power-grid builder carry WGS84 geometry, as PyPSA-Earth writes them."""
    return pd.DataFrame(gdf.to_crs(4326))


def used_layers(spec: StudySpec) -> dict[str, tuple[str, ...]]:
    """Every layer the study reads, with the fields it needs from each."""
    need: dict[str, set[str]] = {spec.area_layer: set()}

    def add(layer: str | None, *fields: str | None) -> None:
        if layer is not None:
            need.setdefault(layer, set()).update(f for f in fields if f)

    add(spec.province_layer, spec.province_field)
    for c in spec.criteria:
        add(c.layer, c.field, c.select.field if c.select else None)
    for k in spec.constraints:
        add(k.layer, k.select.field if k.select else None)
    pg = spec.powergrid
    add(pg.buses)
    add(pg.lines)
    add(pg.transformers)
    add(pg.converters)
    return {name: tuple(sorted(fields)) for name, fields in need.items()}


def check_inputs(spec: StudySpec) -> list[str]:
    """Open every input the study uses and return all problems found (empty when all is well)."""
    problems: list[str] = []
    for name, fields in used_layers(spec).items():
        layer = spec.layers[name]
        try:
            if layer.format == "raster":
                layers.check_raster(layer, spec.data_root)
            else:
                gdf = layers.read_vector(layer, spec.data_root, crs=spec.crs, require=fields)
                if gdf.empty:
                    problems.append(f"layer {name!r}: no features")
        except LayerError as exc:
            problems.append(str(exc))
    return problems
