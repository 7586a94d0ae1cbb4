"""The study pipeline: layers, criteria, overlay, parcels, power grid, connection, ranking."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from rasterio.enums import Resampling

from gridsite import layers
from gridsite.config import load_study
from gridsite.errors import ConfigError, LayerError
from gridsite.geo import M_PER_KM, Raster, RasterGrid, WindowedRaster
from gridsite.mcda.sensitivity import monte_carlo_ranks
from gridsite.mcda.weights import criterion_weights
from gridsite.powergrid.build import graph_from_osm_lines
from gridsite.powergrid.connect import required_connection_kv
from gridsite.powergrid.graph import graph_from_pypsa_tables, graph_summary
from gridsite.powergrid.qa import grid_qa, qa_summary
from gridsite.sites import (
    assign_region_names,
    contributions,
    locate_regions,
    nearest_names,
    parcel_size_cells,
    parcels_to_sites,
    pick_parcels,
    regions_to_sites,
    site_score_weights,
)
from gridsite.spec import ConstraintSpec, CriterionSpec, StudySpec
from gridsite.study.ahead import RastersAhead, raster_threads, raster_writers
from gridsite.study.checks import check_room_for_sites
from gridsite.study.chunked import SiteWindows, dask_client, run_chunked
from gridsite.study.connection import connect_and_rank
from gridsite.study.electrical import overload_rows, run_electrical
from gridsite.study.progress import Progress, ProgressCallback, StageProgress, Step
from gridsite.study.rasters import (
    FeatureKey,
    GridWindow,
    RasterInputs,
    WholeGridFeatures,
    constraint_key,
    criterion_key,
    derived_masks,
    ignore_scratch_warning,
    interpolation_points,
    raster_stage,
)
from gridsite.study.result import SITE_COLUMNS, StudyResult, check_outputs_free, output_names
from gridsite.study.spill import DiskRaster, SpilledRasters
from gridsite.study.supply import run_supply

__all__ = ["GridModel", "Progress", "ProgressCallback", "Study"]

log = logging.getLogger(__name__)


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
        chunk_px: int | None = None,
        scheduler: str | None = None,
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
        chunk_px
            Run the raster stages in square chunks of this many cells on Dask (0: in memory),
            overriding the file's ``study.chunk_px``; see docs/scaling.md.
        scheduler
            Address of a ``dask.distributed`` scheduler for the chunks (e.g.
            ``"tcp://10.0.0.5:8786"``; empty: local threads), overriding ``study.scheduler``.
        """
        return cls(
            load_study(
                path,
                data_root=data_root,
                resolution_m=resolution_m,
                chunk_px=chunk_px,
                scheduler=scheduler,
            )
        )

    def check_outputs_free(self, out_dir: Path | str) -> None:
        """Raise :class:`OutputExistsError` if any output of this study exists in ``out_dir``."""
        check_outputs_free(Path(out_dir) / name for name in output_names(self.spec))

    def with_top(self, count: int) -> Study:
        """Return a copy of the study that keeps ``count`` sites."""
        return Study(replace(self.spec, sites=replace(self.spec.sites, count=count)))

    def run(
        self, *, progress: ProgressCallback | None = None, write_ahead: bool = False
    ) -> StudyResult:
        """Run every stage and return the result (nothing is written to the output folder).

        ``progress``, if given, receives a :class:`~gridsite.study.progress.Progress` event
        ``(stage, done, total)`` as each stage starts and as its counted steps complete (see
        :mod:`gridsite.study.progress`). It used to receive only each stage's name as the stage
        started: such a callback now reads ``event.stage`` from the events with ``done == 0``.

        ``write_ahead``: when the result will be written, start writing its GeoTIFFs in the
        background as soon as the raster stage ends (into a temporary folder, while the later
        stages run; :mod:`gridsite.study.ahead`), so that :meth:`StudyResult.write` only puts
        them in place. ``gridsite run`` does. Chunked runs (bounded memory) write them later.
        """
        return _Run(self.spec, progress, write_ahead=write_ahead).execute()

    def grid(self, *, progress: ProgressCallback | None = None) -> GridModel:
        """Build only the power-grid model: graph, hosting capacity (with ``[electrical]``), QA.

        ``progress`` receives :class:`~gridsite.study.progress.Progress` events, as in :meth:`run`.
        """
        run = _Run(self.spec, progress)
        model = run.power_grid()
        model.stats["timings_s"] = dict(run.timings)
        model.stats["inputs"] = {k: str(v) for k, v in sorted(run.inputs.items())}
        return model


@dataclass
class GridModel:
    """The power grid of a study: graph (with the electrical model if any), hosting, QA."""

    graph: nx.Graph
    hosting: gpd.GeoDataFrame | None
    qa: pd.DataFrame
    required_kv: float
    stats: dict[str, Any]


class _Run:
    """State of one run: the layers read so far and the stage timings (no global state)."""

    def __init__(
        self, spec: StudySpec, progress: ProgressCallback | None, *, write_ahead: bool = False
    ) -> None:
        self.spec = spec
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.inputs: dict[str, Path] = {}
        self._vectors: dict[str, gpd.GeoDataFrame] = {}
        self._tables: dict[str, pd.DataFrame] = {}
        self.site_weights: dict[str, float] = {}
        self.write_ahead = write_ahead

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Step]:
        """Time the stage ``name``; yield its ``progress(done, total)`` step callable."""
        steps = StageProgress(self.progress, name, total)
        t0 = time.perf_counter()
        yield steps
        steps.finish()
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0

    def vector(self, name: str, *, require: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
        if name not in self._vectors:
            spec = self.spec.layers[name]
            self._vectors[name] = layers.read_vector(
                spec, self.spec.data_root, crs=self.spec.crs, require=require
            )
            self.inputs[name] = layers.layer_path(spec, self.spec.data_root)
        return self._vectors[name]

    def table(self, name: str, *, require: tuple[str, ...] = ()) -> pd.DataFrame:
        if name not in self._tables:
            spec = self.spec.layers[name]
            self._tables[name] = layers.read_table(spec, self.spec.data_root, require=require)
            self.inputs[name] = layers.layer_path(spec, self.spec.data_root)
        return self._tables[name]

    def raster(self, name: str, grid: RasterGrid, resampling: Resampling) -> NDArray[np.float32]:
        spec = self.spec.layers[name]
        self.inputs[name] = layers.layer_path(spec, self.spec.data_root)
        return layers.read_raster_window(spec, self.spec.data_root, grid, resampling=resampling)

    def raster_inputs(
        self,
        grid: RasterGrid,
        *,
        criteria: tuple[CriterionSpec, ...] | None = None,
        constraints: tuple[ConstraintSpec, ...] | None = None,
        extra: tuple[ConstraintSpec, ...] = (),
        weights: dict[str, float] | None = None,
    ) -> RasterInputs:
        """Read what the raster stage needs: the area, feature layers, IDW points; check rasters."""
        spec = self.spec
        crits = spec.criteria if criteria is None else criteria
        cons = spec.constraints if constraints is None else constraints
        keys: list[FeatureKey] = [criterion_key(c) for c in crits if c.measure == "distance"]
        keys += [constraint_key(k) for k in (*cons, *extra) if k.kind != "raster_values"]
        vectors = {}
        for layer, select, _ in keys:
            if (layer, select) not in vectors:
                gdf = layers.select_features(self.vector(layer), select, layer=layer)
                gdf.sindex  # noqa: B018 (built here, once, not by concurrent chunks)
                vectors[(layer, select)] = gdf
        points = {}
        for c in crits:
            if c.measure == "interpolate":
                assert c.field is not None  # checked by config
                pts = layers.select_features(
                    self.vector(c.layer, require=(c.field,)), c.select, layer=c.layer
                )
                points[c.name] = interpolation_points(pts, c.field)
        rasters = [c.layer for c in crits if c.measure == "raster"]
        rasters += [k.layer for k in (*cons, *extra) if k.kind == "raster_values"]
        for name in dict.fromkeys(rasters):
            raster = spec.layers[name]
            layers.check_raster_overlap(raster, spec.data_root, grid)
            self.inputs[name] = layers.layer_path(raster, spec.data_root)
        area = self.vector(spec.area_layer)
        area.sindex  # noqa: B018
        return RasterInputs(
            spec=replace(spec, criteria=crits, constraints=cons),
            grid=grid,
            area=area,
            vectors=vectors,
            points=points,
            weights=weights or {},
            features=WholeGridFeatures(),
            extra=extra,
        )

    def execute(self) -> StudyResult:
        spec = self.spec
        ignore_scratch_warning()  # before any thread rasterises (study.rasters)
        if spec.scheduler and not spec.chunk_px:
            raise ConfigError(
                f"study.scheduler = {spec.scheduler!r} needs study.chunk_px > 0 (--chunk-px): "
                "only the chunked raster stages run on a dask cluster"
            )
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
        log.info(
            "study grid: %d x %d cells of %.0f m in %s", *grid.shape, grid.resolution_m, grid.crs
        )
        weights = self.criterion_weights()
        with dask_client(spec.scheduler if spec.chunk_px else "") as client:
            inputs = self.raster_inputs(
                grid,
                extra=spec.supply.exclusions if spec.supply is not None else (),
                weights=weights,
            )
            scores: Mapping[str, NDArray[np.float32]]
            values: Mapping[str, NDArray[np.float32]]
            surface: NDArray[np.float32] | DiskRaster
            derived: Mapping[str, NDArray[np.bool_] | WindowedRaster]
            if spec.chunk_px:
                ch = run_chunked(inputs, client=client, stage=self.stage)
                # Suitability in a file and the later stages' masks as bits: read by window.
                surface = ch.suitability
                derived = {name: ch.masks[name] for name in ch.masks.names}
                hit_cells = ch.hit_cells
                # Scores and values of the candidates only, on each one's window (duck-typed
                # arrays: the site table only indexes them).
                site_windows = SiteWindows(ch.inputs)
                scores = cast(Mapping[str, NDArray[np.float32]], site_windows.scores)
                values = cast(Mapping[str, NDArray[np.float32]], site_windows.values)
                # Whole-grid scores in files (kept with [outputs] score_tifs), memory-mapped.
                full_scores: Mapping[str, NDArray[np.float32]] = {
                    name: raster.array() for name, raster in ch.scores.items()
                }
            else:
                self._check_features(inputs)
                # Values and scores go to disk as soon as they are done with (study.spill).
                spilled_values, spilled_scores = SpilledRasters(), SpilledRasters()
                # One step per criterion (its value is passed on once scored), one for the rest.
                n_steps = len(spec.criteria) + 1
                with self.stage("rasters", n_steps) as step:

                    def put_value(name: str, value: NDArray[np.float32]) -> None:
                        spilled_values.put(name, value)
                        step(len(spilled_values), n_steps)

                    r = raster_stage(
                        inputs,
                        GridWindow.whole(grid),
                        value_sink=put_value,
                        score_sink=spilled_scores.put,
                    )
                for name, sec in r.seconds.items():
                    self.timings[name] = self.timings.get(name, 0.0) + sec
                surface = r.suitability
                derived = derived_masks(spec, r.in_area, r.excluded, r.masks, r.extra_masks)
                hit_cells = {n: int((hit & r.in_area).sum()) for n, hit in r.masks.items()}
                scores, values, full_scores = spilled_scores, spilled_values, spilled_scores
                del r  # the constraint masks: later stages read only the derived ones

        ahead = None
        if self.write_ahead and not spec.chunk_px:
            # The rasters are final: their GeoTIFFs are written while the later stages run. Not
            # in a chunked run, whose point is bounded memory: it writes them in write().
            ahead = RastersAhead(raster_threads(spec))
            whole = Raster(surface if isinstance(surface, np.ndarray) else surface.array(), grid)
            for name, write in raster_writers(spec, whole, full_scores, weights).items():
                ahead.submit(name, write)
        excluded_km2 = {n: float(c * grid.cell_area_m2 / 1e6) for n, c in hit_cells.items()}
        log.info(
            "constraints: %s",
            ", ".join(f"{n} {a:,.0f} km2" for n, a in excluded_km2.items()) or "none",
        )
        log.info(
            "weights (%s): %s",
            spec.weights.method,
            ", ".join(f"{n} {w:.3f}" for n, w in weights.items()),
        )
        open_km2 = _count_cells(surface, lambda a: np.nan_to_num(a) > 0) * grid.cell_area_m2 / 1e6
        area_km2 = _count_cells(derived["in_area"], np.asarray) * grid.cell_area_m2 / 1e6
        log.info("suitability: %s km2 open of %s km2", f"{open_km2:,.0f}", f"{area_km2:,.0f}")

        check_room_for_sites(
            surface,
            in_area=derived["in_area"],
            excluded=derived["excluded"],
            excluded_km2=excluded_km2,
            grid=grid,
            campus_area_ha=spec.campus.campus_area_ha,
        )
        with self.stage("sites"):
            table = self.candidates(surface, grid, scores, values)

        supply = None
        if spec.supply is not None:
            with self.stage("supply", len(table)) as step:
                supply = run_supply(self, table, spec=spec, grid=grid, masks=derived, progress=step)
                table = table.join(supply.columns)

        grid_model = self.power_grid()
        graph, hosting, qa = grid_model.graph, grid_model.hosting, grid_model.qa
        need_kv = grid_model.required_kv
        stats: dict[str, Any] = dict(grid_model.stats)

        with self.stage("connection", len(table) if spec.interconnect else None) as step:
            ic = spec.interconnect
            slope = (
                self.raster(ic.slope_layer, grid, Resampling.bilinear)
                if ic is not None and ic.slope_layer
                else None
            )
            outcome = connect_and_rank(
                table,
                spec=spec,
                grid=grid,
                graph=graph,
                hosting=hosting,
                required_kv=need_kv,
                masks=derived,
                slope_pct=slope,
                progress=step,
            )

        with self.stage("ranking"):
            ranked = outcome.sites
            sw = site_score_weights(spec.ranking, weights)
            self.site_weights = sw
            ranked = ranked.join(contributions(ranked, sw))
            if spec.sensitivity.draws > 0:
                sens = spec.sensitivity
                robust = monte_carlo_ranks(
                    ranked[list(sw)].fillna(0.0),
                    sw,
                    n_draws=sens.draws,
                    method=sens.method,
                    concentration=sens.concentration,
                    spread=sens.spread,
                    seed=sens.seed,
                    top_k=sens.top_k,
                )
                keep = [c for c in robust.columns if c.startswith(("rank_p", "p_top"))]
                ranked = ranked.join(robust[keep])
            ranked = ranked.head(spec.sites.count).copy()
            sites = self._describe(gpd.GeoDataFrame(ranked, geometry="geometry", crs=grid.crs))
            routes = outcome.routes
            if routes is not None:
                routes = routes[routes["site_id"].isin(sites["site_id"])].sort_values("rank")
        log.info(
            "ranking: %d sites, best %s (score %.3f)",
            len(sites),
            sites["site_id"].iloc[0],
            sites["score"].iloc[0],
        )

        hourly = None
        if supply is not None:
            hourly = {str(i): supply.hourly[str(i)] for i in sites["site_id"]}
            stats["supply"] = {
                "eligible_land_km2": _count_cells(derived["supply_eligible"], np.asarray)
                * grid.cell_area_m2
                / 1e6,
                "sites_feasible": int(sites["cfe_feasible"].sum()),
                "capacity_factors_clipped_to_1": supply.cf_clipped,
                "cost_assumptions": spec.supply.cost_source if spec.supply else "",
            }
        stats |= {
            "criterion_weights": weights,
            "site_score_weights": self.site_weights,
            "grid_shape": list(grid.shape),
            "resolution_m": grid.resolution_m,
            "excluded_km2": excluded_km2,
            "open_km2": open_km2,
        }
        return StudyResult(
            spec=spec,
            sites=sites,
            suitability=Raster(
                array=surface if isinstance(surface, np.ndarray) else surface.array(), grid=grid
            ),
            scores=full_scores,
            excluded=derived["excluded"],  # type: ignore[arg-type]
            grid_graph=graph,
            hosting=hosting,
            routes=routes,
            grid_qa=qa,
            supply=hourly,
            timings_s=dict(self.timings),
            inputs=sorted(self.inputs.items()),
            stats=stats,
            supply_masks={k: v for k, v in derived.items() if k.startswith("supply_")},
            ahead=ahead,
        )

    def criterion_weights(self) -> dict[str, float]:
        """Resolve the criterion weights (direct, rank-based or AHP, optionally grouped)."""
        w = self.spec.weights
        ahp = None
        if w.method == "ahp":
            assert w.ahp_matrix is not None  # checked by config
            ahp = layers.read_pairwise_matrix(w.ahp_matrix)
            self.inputs["weights.ahp_matrix"] = w.ahp_matrix
        return criterion_weights(
            {c.name: c.weight for c in self.spec.criteria},
            method=w.method,
            ranks=dict(w.ranks),
            ahp=ahp,
            accept_inconsistent=w.accept_inconsistent,
            groups={c.name: c.group for c in self.spec.criteria},
            group_weights=dict(w.group_weights),
        )

    def candidates(
        self,
        suit: NDArray[np.float32] | DiskRaster,
        grid: RasterGrid,
        scores: Mapping[str, NDArray[np.float32]],
        values: Mapping[str, NDArray[np.float32]],
    ) -> gpd.GeoDataFrame:
        """Cut candidate sites (parcels or grown regions) from the suitability surface."""
        spec, st = self.spec, self.spec.sites
        count = st.count * st.pool_factor
        if st.method == "regions":
            regions = locate_regions(
                suit if isinstance(suit, np.ndarray) else suit.array(),  # whole, memory-mapped
                grid,
                count=count,
                min_area_ha=spec.campus.campus_area_ha,
                max_area_ha=st.max_area_ha or 4 * spec.campus.campus_area_ha,
                min_spacing_km=st.min_spacing_km,
                shape=st.shape,
                compactness=st.compactness,
                evaluate=st.evaluate,
            )
            log.info("sites: %d candidate regions", len(regions))
            return regions_to_sites(
                regions, grid, scores=scores, values=values, id_prefix=spec.name
            )
        size = parcel_size_cells(spec.campus.campus_area_ha, grid.resolution_m)
        parcels = pick_parcels(suit, grid, size=size, count=count, min_spacing_km=st.min_spacing_km)
        log.info("sites: %d candidate parcels of %d x %d cells", len(parcels), size, size)
        return parcels_to_sites(parcels, grid, scores=scores, values=values, id_prefix=spec.name)

    def _check_features(self, inputs: RasterInputs) -> None:
        for c in self.spec.criteria:
            if c.measure == "distance" and inputs.features.count(inputs, criterion_key(c)) == 0:
                raise LayerError(
                    f"criterion {c.name!r}: layer {c.layer!r} has no feature inside the study "
                    "grid after its select filter; check the filter, the layer's CRS and extent"
                )

    def power_grid(self) -> GridModel:
        """Build the power-grid graph, its electrical model and hosting capacity, and its QA."""
        spec = self.spec
        pg = spec.powergrid
        with self.stage("power grid"):
            trafos = self.vector(pg.transformers) if pg.transformers else None
            convs = self.vector(pg.converters) if pg.converters else None
            graph = graph_from_pypsa_tables(
                _wgs84_table(self.vector(pg.buses)),
                _wgs84_table(self.vector(pg.lines)),
                None if trafos is None else _wgs84_table(trafos),
                None if convs is None else _wgs84_table(convs),
                crs=spec.crs,
                rating_mva_per_circuit=pg.rating_mva_per_circuit,
                power_factor=pg.power_factor,
                rating_source=pg.rating_source,
            )
            osm_qa = None
            if pg.osm_ways is not None:
                osm_graph, osm_qa = graph_from_osm_lines(
                    self.vector(pg.osm_ways),
                    self.vector(pg.buses),
                    crs=spec.crs,
                    station_group_m=pg.station_group_m,
                    snap_tolerance_m=pg.snap_tolerance_m,
                    rating_mva_per_circuit=pg.rating_mva_per_circuit,
                    power_factor=pg.power_factor,
                )
                if pg.graph_source == "osm_ways":
                    graph = osm_graph
            need_kv = required_connection_kv(
                spec.campus.campus_mw,
                rating_mva_per_circuit=pg.rating_mva_per_circuit,
                min_kv=pg.min_connection_kv,
                power_factor=pg.power_factor,
            )
        log.info(
            "connection: a %.0f MW campus connects at >= %.0f kV", spec.campus.campus_mw, need_kv
        )
        stats: dict[str, Any] = {
            "power_grid": graph_summary(graph),
            "required_connection_kv": need_kv,
        }
        hosting = None
        overloaded = pd.DataFrame()
        if spec.electrical is not None:
            with self.stage("hosting capacity") as step:
                el = run_electrical(self, graph, spec, progress=step)
            graph, hosting, overloaded = el.graph, el.hosting, el.overloads
            stats["hours"] = [h.__dict__ for h in el.hours]
            stats["x_ohm_per_km"] = {str(k): v for k, v in el.x_ohm_per_km.items()}
            stats["base_case_overloads"] = len(el.overloads)
        with self.stage("power grid"):
            qa = grid_qa(graph)
            if osm_qa is not None:
                osm_qa = osm_qa.assign(issue="osm_" + osm_qa["issue"].astype(str))
                qa = pd.concat([qa, osm_qa], ignore_index=True)
            if not overloaded.empty:
                qa = pd.concat([qa, overload_rows(graph, overloaded)], ignore_index=True)
        log.info(qa_summary(qa))
        return GridModel(graph=graph, hosting=hosting, qa=qa, required_kv=need_kv, stats=stats)

    def _describe(self, ranked: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Name each site's province and nearest place; order the columns."""
        spec = self.spec
        if spec.province_layer and spec.province_field:
            regions = self.vector(spec.province_layer, require=(spec.province_field,))
            ranked = assign_region_names(ranked, regions, field=spec.province_field)
        else:
            ranked["province"] = ""
        ranked["place"] = ""
        if spec.place_layer and spec.place_field:
            places = self.vector(spec.place_layer, require=(spec.place_field,))
            xy = ranked[["x_m", "y_m"]].to_numpy()
            ranked["place"] = nearest_names(xy, places, field=spec.place_field)
            # OSM buses seldom carry names: an unnamed substation is named by its nearest town.
            sub = ranked["substation_id"].notna()
            if sub.any() and "substation_name" in ranked:
                sub_xy = self._bus_xy(ranked.loc[sub, "substation_id"])
                near = nearest_names(sub_xy, places, field=spec.place_field)
                names = ranked.loc[sub, "substation_name"].fillna("").astype(str)
                ranked.loc[sub, "substation_name"] = [
                    n if n else f"near {t}" for n, t in zip(names, near, strict=True)
                ]
        lead = [c for c in SITE_COLUMNS if c in ranked.columns]
        rest = [c for c in ranked.columns if c not in lead and c != "geometry"]
        return gpd.GeoDataFrame(
            ranked[[*lead, *rest, "geometry"]], geometry="geometry", crs=ranked.crs
        )

    def _bus_xy(self, bus_ids: pd.Series) -> NDArray[np.float64]:
        buses = self.vector(self.spec.powergrid.buses)
        xy = pd.DataFrame(
            {"x": buses.geometry.x.to_numpy(), "y": buses.geometry.y.to_numpy()},
            index=buses["bus_id"].astype(str),
        )
        return xy.loc[[str(b) for b in bus_ids]].to_numpy(float)


def _wgs84_table(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Tables for the power-grid builder carry WGS84 geometry, as PyPSA-Earth writes them."""
    return pd.DataFrame(gdf.to_crs(4326))


def _count_cells(
    raster: NDArray[Any] | WindowedRaster, test: Callable[[NDArray[Any]], NDArray[np.bool_]]
) -> float:
    """Count the cells where ``test`` holds, a strip of rows at a time for windowed rasters."""
    if isinstance(raster, np.ndarray):
        return float(np.count_nonzero(test(raster)))
    rows, cols = raster.shape[0], raster.shape[1]
    step = max(1, (1 << 22) // max(1, cols))
    return float(
        sum(np.count_nonzero(test(raster[r : r + step, 0:cols])) for r in range(0, rows, step))
    )
