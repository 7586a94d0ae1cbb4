"""What a study run produced, and how it is written to disk (through the report edge)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gridsite.energy.summary import monthly_balance
from gridsite.errors import OutputExistsError
from gridsite.geo import Raster, WindowedRaster
from gridsite.powergrid.graph import graph_to_gdfs
from gridsite.report.atomic import atomic_write_text, staged_folder
from gridsite.report.gpkg import write_sites_gpkg
from gridsite.report.manifest import build_manifest, input_records, write_manifest
from gridsite.report.mapassets import MapAssetMode
from gridsite.report.overlay import SupplyAreas
from gridsite.report.sitepage import SITE_PAGES, write_site_pages
from gridsite.report.supplyplot import supply_svg
from gridsite.report.vector import write_csv, write_geojson
from gridsite.spec import StudySpec
from gridsite.study.ahead import SCORES, RastersAhead, raster_threads, raster_writers
from gridsite.study.specjson import spec_to_json
from gridsite.study.supply import SUPPLY_COLUMNS, SiteSupply

__all__ = [
    "GRID_OUTPUTS",
    "RUN_OUTPUTS",
    "SCORES",
    "SITE_COLUMNS",
    "SUPPLY_PLOTS",
    "StudyResult",
    "check_outputs_free",
    "grid_output_names",
    "output_names",
    "write_grid_outputs",
]

#: Leading columns of the sites table, in order; the rest follow (``score_<criterion>``,
#: ``value_<criterion>``, ...). Columns of stages a study does not run are absent.
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
    "supplied",
    "substation_id",
    "substation_name",
    "substation_kv",
    "interconnect_km",
    "route_km",
    "interconnect_cost_musd",
    "line_cost_musd",
    "substation_cost_musd",
    "transformer_cost_musd",
    "parallel_circuits",
    "hosting_capacity_mw",
    "hosting_capacity_n0_mw",
    "headroom_mw",
    "maxflow_capacity_mw",
    "capacity_mw",
    "independent_feeds",
    "speed_to_power_months",
    "backbone_path_km",
    "required_kv",
    *SUPPLY_COLUMNS,
)


#: Folder of the per-site supply plots (one ``<site_id>.svg`` each).
SUPPLY_PLOTS = "supply_plots"

#: Every top-level name :meth:`StudyResult.write` may write, under any settings: with
#: ``overwrite``, these are the old outputs the new set replaces (other entries of the output
#: folder, e.g. ``grid/`` and ``sensitivity/``, are kept).
RUN_OUTPUTS = (
    "sites.geojson",
    "sites.csv",
    "suitability.tif",
    "suitability.qml",
    SCORES,
    "sites.gpkg",
    "grid.geojson",
    "grid_qa.csv",
    "hosting_capacity.csv",
    "hosting_capacity.geojson",
    "routes.geojson",
    "supply_monthly.csv",
    SUPPLY_PLOTS,
    SITE_PAGES,
    "map.html",
    "manifest.json",
)


def output_names(spec: StudySpec) -> list[str]:
    """File names a run of ``spec`` writes, given its ``[outputs]`` and stages."""
    o = spec.outputs
    names = ["sites.geojson", "sites.csv"]
    names += ["suitability.tif", "suitability.qml"] if o.suitability_tif else []
    names += [SCORES] if o.score_tifs else []
    names += ["sites.gpkg"] if o.sites_gpkg else []
    names += ["grid.geojson"] if o.grid_geojson else []
    names += ["grid_qa.csv"]
    names += ["hosting_capacity.csv", "hosting_capacity.geojson"] if spec.electrical else []
    names += ["routes.geojson"] if spec.interconnect else []
    names += ["supply_monthly.csv", SUPPLY_PLOTS] if spec.supply else []
    names += [SITE_PAGES]
    names += ["map.html"] if o.map_html else []
    return [*names, "manifest.json"]


def check_outputs_free(paths: Iterable[Path]) -> None:
    """Raise :class:`OutputExistsError` naming every path of ``paths`` that exists."""
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise OutputExistsError(
            f"outputs exist already: {', '.join(existing)}; pass --overwrite (overwrite=True) "
            "or choose another output folder"
        )


@dataclass
class StudyResult:
    """What a study run produced; :meth:`write` puts it on disk.

    Attributes
    ----------
    spec
        The resolved study.
    sites
        Ranked sites (best first), polygons in the study CRS.
    suitability
        Suitability in [0, 1] on the study grid; NaN outside the study area, 0 where excluded.
    scores
        Each criterion's score raster in [0, 1] (read-only, memory-mapped from a temporary file:
        ``np.array(result.scores[name])`` gives a copy in memory); chunked runs keep them only
        with ``[outputs] score_tifs`` (else empty).
    excluded
        Cells excluded by any constraint (an array, or read by window in chunked runs).
    grid_graph
        The power-grid graph (nodes: buses; edges: lines, transformers, converters); with an
        ``[electrical]`` section it carries the electrical model of the first screened hour.
    hosting
        Per substation bus (with ``[electrical]``): hosting capacities and bounds; else None.
    routes
        Routed tie lines of the ranked sites (with ``[interconnect]``), else None.
    grid_qa
        The power-grid QA table (islands, unconnected buses, far snaps...).
    supply
        Each ranked site's hourly supply result by site id (with ``[supply]``), else None.
    timings_s
        Seconds per stage.
    inputs
        ``(layer name, path)`` of every file read.
    stats
        Counts and figures worth keeping in the manifest.
    supply_masks
        With ``[supply]``: the masks ``supply_land``, ``supply_eligible`` and ``supply_sea`` of
        :func:`gridsite.study.rasters.derived_masks` (arrays, or read by window in chunked
        runs), drawn on the map as the renewable potential; else empty.
    ahead
        With ``Study.run(write_ahead=True)``: the GeoTIFFs being written in the background
        (:mod:`gridsite.study.ahead`), which :meth:`write` puts in place; else None.
    """

    spec: StudySpec
    sites: gpd.GeoDataFrame
    suitability: Raster
    scores: Mapping[str, NDArray[np.float32]]
    excluded: NDArray[np.bool_]
    grid_graph: nx.Graph
    hosting: gpd.GeoDataFrame | None = None
    routes: gpd.GeoDataFrame | None = None
    grid_qa: pd.DataFrame | None = None
    supply: dict[str, SiteSupply] | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    inputs: list[tuple[str, Path]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    supply_masks: Mapping[str, NDArray[np.bool_] | WindowedRaster] = field(default_factory=dict)
    ahead: RastersAhead | None = field(default=None, repr=False, compare=False)

    def output_names(self) -> list[str]:
        """File names :meth:`write` produces."""
        return output_names(self.spec)

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

    def write(
        self, out_dir: Path | str, *, overwrite: bool = False, map_assets: MapAssetMode = "inline"
    ) -> list[Path]:
        """Write the outputs (see :func:`output_names`) into ``out_dir``, as one set.

        Every file is written under a temporary name and renamed into place, inside a staging
        folder beside ``out_dir`` that is swapped with ``out_dir`` once all are written
        (:func:`gridsite.report.atomic.staged_folder`): whenever the process stops, ``out_dir``
        holds either the complete previous outputs or the complete new ones. Unless
        ``overwrite``, nothing is written when any of the outputs exists already; with it, the
        previous run's outputs are replaced as a whole (stale supply plots and outputs of
        stages the study no longer runs go too) and other entries of ``out_dir`` are kept.
        ``map_assets`` is passed to :func:`gridsite.report.write_map` as ``assets``
        (``"inline"`` or ``"cdn"``) and recorded in the manifest (``write.map_assets``).

        The same result written twice gives byte-identical files, except ``manifest.json``
        (time stamp and timings) and ``map.html``.

        Returns
        -------
        list of Path
            The files written, under ``out_dir``.

        Raises
        ------
        OutputExistsError
            Naming the outputs that exist, when ``overwrite`` is false.
        """
        out = Path(out_dir)
        names = self.output_names()
        with staged_folder(out, outputs=names, overwrite=overwrite, replaces=RUN_OUTPUTS) as stage:
            written = self._write_into(stage, map_assets=map_assets)
        return [out / p.relative_to(stage) for p in written]

    def _write_into(self, stage: Path, *, map_assets: MapAssetMode) -> list[Path]:
        """Write every output into the fresh folder ``stage``; return the files."""
        from gridsite.report.webmap import write_map  # folium only when a map is written

        t0 = time.perf_counter()
        paths = {name: stage / name for name in self.output_names()}
        sites_wgs = self.sites.to_crs(4326)
        grid = self.suitability.grid
        buses, lines = graph_to_gdfs(self.grid_graph)
        attributions = self.attributions()
        hashed_inputs = input_records(self.inputs)  # once, for the manifest and the site pages
        # The GeoTIFFs go to more threads (or were written ahead, during the run): GDAL compresses
        # and builds overviews without holding the GIL, while this thread renders the map and
        # the site pages in Python. A chunked run writes them one at a time, map and pages after.
        threads = raster_threads(self.spec)
        with ThreadPoolExecutor(threads, thread_name_prefix="gridsite-rasters") as pool:
            writers = raster_writers(
                self.spec, self.suitability, self.scores, self.stats.get("criterion_weights", {})
            )
            rasters = [
                pool.submit(self.ahead.place, name, stage / name)
                if self.ahead is not None and name in self.ahead
                else pool.submit(write, stage / name)
                for name, write in writers.items()
            ]
            if self.spec.chunk_px:
                wait(rasters)  # bounded memory: the rasters first, then the map and pages
            written = [
                write_geojson(sites_wgs, paths["sites.geojson"]),
                write_csv(pd.DataFrame(self.sites.drop(columns="geometry")), paths["sites.csv"]),
            ]
            rest: list[Path] = []
            if "grid.geojson" in paths:
                both = gpd.GeoDataFrame(pd.concat([lines, buses], ignore_index=True), crs=4326)
                rest.append(write_geojson(both, paths["grid.geojson"]))
            if "sites.gpkg" in paths:
                routes = self.routes
                if routes is None and self.spec.interconnect is not None:
                    routes = gpd.GeoDataFrame(geometry=[], crs=grid.crs)
                rest.append(
                    write_sites_gpkg(
                        paths["sites.gpkg"],
                        crs=grid.crs,
                        sites=self.sites,
                        buses=buses,
                        lines=lines,
                        routes=routes,
                        hosting=self.hosting,
                    )
                )
            qa = self.grid_qa if self.grid_qa is not None else pd.DataFrame()
            rest.append(write_csv(qa, paths["grid_qa.csv"]))
            if self.hosting is not None:
                rest.append(
                    write_csv(
                        pd.DataFrame(self.hosting.drop(columns="geometry")),
                        paths["hosting_capacity.csv"],
                    )
                )
                rest.append(write_geojson(self.hosting, paths["hosting_capacity.geojson"]))
            if "routes.geojson" in paths:
                routes = (
                    self.routes
                    if self.routes is not None
                    else gpd.GeoDataFrame(geometry=[], crs=grid.crs)
                )
                rest.append(write_geojson(routes, paths["routes.geojson"]))
            plots = self._supply_plots()
            if self.supply is not None:
                rest.append(write_csv(self._supply_monthly(), paths["supply_monthly.csv"]))
                rest += _write_plots(plots, paths[SUPPLY_PLOTS])
            rest += write_site_pages(
                paths[SITE_PAGES],
                self.sites,
                spec=self.spec,
                buses=buses,
                lines=lines,
                routes=self.routes,
                supply_plots=plots,
                score_weights=self.stats.get("site_score_weights"),
                inputs=hashed_inputs,
                attributions=attributions,
                map_href="../map.html" if "map.html" in paths else None,
            )
            if "map.html" in paths:
                rest.append(
                    write_map(
                        paths["map.html"],
                        suitability=self.suitability.array,
                        grid=grid,
                        sites=sites_wgs,
                        buses=buses,
                        lines=lines,
                        attributions=[a["attribution"] for a in attributions],
                        title=self.spec.title,
                        site_plots=plots,
                        site_pages=SITE_PAGES,
                        assets=map_assets,
                        **self._map_layers(),
                    )
                )
            written += [job.result() for job in rasters] + rest
        timings = dict(self.timings_s)
        timings["write"] = time.perf_counter() - t0
        manifest = build_manifest(
            study_name=self.spec.name,
            config=spec_to_json(self.spec),
            inputs=self.inputs,
            inputs_hashed=hashed_inputs,
            timings_s=timings,
            attributions=attributions,
            outputs=written,
            output_root=stage,
        )
        manifest["stats"] = self.stats
        manifest["write"] = {"map_assets": map_assets}
        written.append(write_manifest(manifest, paths["manifest.json"]))
        return written

    def _map_layers(self) -> dict[str, Any]:
        """Return write_map's keywords for the layers besides suitability, sites, power grid."""
        weights = self.stats.get("criterion_weights", {})
        notes = {}
        for c in self.spec.criteria:
            unit = f"value in {c.unit}; " if c.unit else ""
            notes[c.name] = f"{unit}weight {weights.get(c.name, 0.0):.2f}. {c.description}".strip()
        su, masks = self.spec.supply, self.supply_masks
        areas = None
        if su is not None and {"supply_land", "supply_eligible", "supply_sea"} <= set(masks):
            areas = SupplyAreas(
                eligible=masks["supply_eligible"],
                land=masks["supply_land"],
                sea=masks["supply_sea"],
                pv_mw_per_km2=su.pv_mw_per_km2,
                wind_mw_per_km2=su.wind_mw_per_km2,
                offshore_mw_per_km2=su.offshore_mw_per_km2,
                offshore_max_shore_km=su.offshore_max_shore_km,
            )
        return {
            "scores": self.scores,
            "score_notes": notes,
            "excluded": self.excluded,
            "hosting": self.hosting,
            "routes": self.routes,
            "supply_areas": areas,
        }

    def _supply_plots(self) -> dict[str, str]:
        """Inline SVG of each ranked site's hourly supply match (empty without ``[supply]``)."""
        if self.supply is None or self.spec.supply is None:
            return {}
        ranks = dict(zip(self.sites["site_id"].astype(str), self.sites["rank"], strict=True))
        return {
            sid: supply_svg(
                s.dispatch,
                pv_mw_series=s.pv_output_mw,
                wind_mw_series=s.wind_output_mw,
                title=f"#{ranks[sid]} {sid}",
                year=self.spec.supply.year,
            )
            for sid, s in self.supply.items()
        }

    def _supply_monthly(self) -> pd.DataFrame:
        """Monthly energy balance of each ranked site's supply, long format."""
        assert self.supply is not None and self.spec.supply is not None
        ranks = dict(zip(self.sites["site_id"].astype(str), self.sites["rank"], strict=True))
        parts = [
            monthly_balance(s.dispatch, year=self.spec.supply.year).assign(
                rank=ranks[sid], site_id=sid
            )
            for sid, s in self.supply.items()
        ]
        table = pd.concat(parts, ignore_index=True)
        lead = ["rank", "site_id"]
        return table[[*lead, *(c for c in table.columns if c not in lead)]]


def _write_plots(plots: dict[str, str], folder: Path) -> list[Path]:
    """Write one ``<site_id>.svg`` per site into the new folder ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return [atomic_write_text(folder / f"{sid}.svg", svg) for sid, svg in plots.items()]


#: Every name :func:`write_grid_outputs` may write (see :data:`RUN_OUTPUTS`).
GRID_OUTPUTS = ("grid.geojson", "grid_qa.csv", "hosting_capacity.csv", "hosting_capacity.geojson")


def grid_output_names(spec: StudySpec) -> list[str]:
    """File names :func:`write_grid_outputs` produces."""
    names = ["grid.geojson", "grid_qa.csv"]
    names += ["hosting_capacity.csv", "hosting_capacity.geojson"] if spec.electrical else []
    return names


def write_grid_outputs(
    spec: StudySpec,
    graph: nx.Graph,
    qa: pd.DataFrame,
    hosting: gpd.GeoDataFrame | None,
    out_dir: Path | str,
    *,
    overwrite: bool = False,
) -> list[Path]:
    """Write the power-grid model of a study: graph, QA table, hosting capacities.

    The files are written as one set, like :meth:`StudyResult.write`; unless ``overwrite``,
    nothing is written when any of them exists.
    """
    out = Path(out_dir)
    names = grid_output_names(spec)
    with staged_folder(out, outputs=names, overwrite=overwrite, replaces=GRID_OUTPUTS) as stage:
        buses, lines = graph_to_gdfs(graph)
        both = gpd.GeoDataFrame(pd.concat([lines, buses], ignore_index=True), crs=4326)
        written = [
            write_geojson(both, stage / "grid.geojson"),
            write_csv(qa, stage / "grid_qa.csv"),
        ]
        if hosting is not None:
            table = pd.DataFrame(hosting.drop(columns="geometry"))
            written.append(write_csv(table, stage / "hosting_capacity.csv"))
            written.append(write_geojson(hosting, stage / "hosting_capacity.geojson"))
    return [out / p.relative_to(stage) for p in written]
