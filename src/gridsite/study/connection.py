"""Orchestrate each site's grid connection: routes and costs, competition, feeds, speed to power."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gridsite import layers
from gridsite.geo import M_PER_KM, RasterGrid, WindowedRaster
from gridsite.powergrid.connect import backbone_path_km, connect_sites, station_capacity_mw
from gridsite.powergrid.costs import TransmissionCosts
from gridsite.powergrid.interconnect import cost_multiplier_raster, line_cost_raster, route_site
from gridsite.powergrid.redundancy import independent_feeds
from gridsite.powergrid.timeline import TimelineAssumptions, speed_to_power_months
from gridsite.sites.competition import allocate_headroom
from gridsite.sites.ranking import rank_sites
from gridsite.spec import StudySpec
from gridsite.study.progress import Step

__all__ = ["ConnectionOutcome", "connect_and_rank"]

log = logging.getLogger(__name__)


@dataclass
class ConnectionOutcome:
    """Ranked sites with their connection, and the chosen routes (None without routing)."""

    sites: pd.DataFrame
    routes: gpd.GeoDataFrame | None


def connect_and_rank(
    table: pd.DataFrame,
    *,
    spec: StudySpec,
    grid: RasterGrid,
    graph: nx.Graph,
    hosting: pd.DataFrame | None,
    required_kv: float,
    masks: Mapping[str, NDArray[np.bool_] | WindowedRaster],
    slope_pct: NDArray[np.floating] | None = None,
    progress: Step | None = None,
) -> ConnectionOutcome:
    """Connect every candidate site, rank, let sites compete for headroom, and rank again.

    Without ``[interconnect]`` a site connects to its nearest bus at ``required_kv`` (straight
    line); with it, to the cheapest routed substation among its ``k`` nearest feasible ones.
    With an electrical model, a substation is feasible when its N-1 hosting capacity covers the
    campus (else the site keeps its cheapest option and is marked not supplied). ``masks`` are
    those of :func:`~gridsite.study.rasters.derived_masks` (``route_barrier``,
    ``route_urban``), as arrays or read by window: routing reads only each site's window.
    ``progress(done, total)`` counts the sites routed (with ``[interconnect]``).
    """
    pg = spec.powergrid
    campus_mw = spec.campus.campus_mw
    hc = hosting.set_index("bus_id") if hosting is not None else None
    top_kv = max((float(kv) for _, kv in graph.nodes(data="voltage_kv") if kv == kv), default=0.0)
    for key, kv, column in (
        ("backbone_kv", pg.backbone_kv, "backbone_path_km"),
        ("feeds_kv", pg.feeds_kv, "independent_feeds"),
    ):
        if kv > top_kv:
            log.warning(
                "no bus of the power grid reaches [powergrid] %s = %g kV (the highest is %g kV): "
                "%s will be empty or 0 for every site; set %s to this grid's backbone voltage",
                key,
                kv,
                top_kv,
                column,
                key,
            )
    if spec.interconnect is None:
        conn = connect_sites(
            graph,
            table[["x_m", "y_m"]].to_numpy(float),
            min_kv=required_kv,
            backbone_kv=pg.backbone_kv,
            power_factor=pg.power_factor,
        )
        sites = pd.concat([table.reset_index(drop=True), conn.reset_index(drop=True)], axis=1)
        if hc is not None:
            for col in ("hosting_capacity_mw", "hosting_capacity_n0_mw", "maxflow_capacity_mw"):
                sites[col] = sites["substation_id"].map(hc[col])
            sites = _compete_nearest(sites, spec)
        routes = None
    else:
        options = _route_options(
            table, spec, grid, graph, hc, required_kv, masks, slope_pct, progress
        )
        cheapest = _pick_cheapest(table, options)
        cheapest["headroom_mw"] = cheapest["hosting_capacity_mw"]
        cheapest["supplied"] = (
            cheapest["hosting_capacity_mw"] >= campus_mw if hc is not None else None
        )
        first = rank_sites(_add_timeline(cheapest, spec), spec.ranking, campus_mw=campus_mw)
        sites, routes = _compete(first, options, spec, hc is not None)
        if hc is not None:
            for col in ("hosting_capacity_n0_mw", "maxflow_capacity_mw"):
                sites[col] = sites["substation_id"].map(hc[col])
        subs = sites["substation_id"].dropna().unique()
        sites["backbone_path_km"] = sites["substation_id"].map(
            backbone_path_km(graph, subs, backbone_kv=pg.backbone_kv)
        )
        rev = {b: station_capacity_mw(graph, b, power_factor=pg.power_factor) for b in subs}
        sites["capacity_mw"] = sites["substation_id"].map(rev)
    sites["required_kv"] = required_kv
    feeds = independent_feeds(
        graph, sites["substation_id"].dropna().unique(), backbone_kv=pg.feeds_kv
    )
    sites["independent_feeds"] = sites["substation_id"].map(feeds).astype("Int64")
    if spec.interconnect is not None:
        sites = _add_timeline(sites, spec)
    ranked = rank_sites(
        sites.drop(columns=["rank", "score"], errors="ignore"), spec.ranking, campus_mw=campus_mw
    )
    if routes is not None:
        routes = routes.merge(ranked[["site_id", "rank"]], on="site_id")
    return ConnectionOutcome(sites=ranked, routes=routes)


def _add_timeline(sites: pd.DataFrame, spec: StudySpec) -> pd.DataFrame:
    """Speed to power of each site's chosen connection (months)."""
    ic = spec.interconnect
    assert ic is not None
    a = TimelineAssumptions(
        base_months=ic.base_months,
        months_per_km=ic.months_per_km,
        upgrade_months=ic.upgrade_months,
        transformer_months=ic.transformer_months,
        reinforcement_months=ic.reinforcement_months,
    )
    route_km = sites["route_km"].to_numpy(float)
    line_kv = sites["line_kv"].to_numpy(float)
    sub_kv = sites["substation_kv"].to_numpy(float)
    unsupplied = (sites["supplied"] == False).to_numpy(bool)  # noqa: E712 (None stays None)
    out = sites.copy()
    out["speed_to_power_months"] = [
        speed_to_power_months(
            float(route_km[i]),
            float(line_kv[i]),
            transformer=bool(abs(sub_kv[i] - line_kv[i]) > 0.5),
            reinforcement=bool(unsupplied[i]),
            assumptions=a,
        )
        if np.isfinite(route_km[i])
        else np.nan
        for i in range(len(out))
    ]
    return out


def _route_options(
    table: pd.DataFrame,
    spec: StudySpec,
    grid: RasterGrid,
    graph: nx.Graph,
    hc: pd.DataFrame | None,
    required_kv: float,
    masks: Mapping[str, NDArray[np.bool_] | WindowedRaster],
    slope_pct: NDArray[np.floating] | None,
    progress: Step | None,
) -> gpd.GeoDataFrame:
    ic = spec.interconnect
    assert ic is not None
    costs = layers.read_revx_costs(
        layers.layer_path(spec.layers[ic.costs], spec.data_root), region=ic.cost_region
    )
    if slope_pct is not None:
        slope_pct = np.nan_to_num(slope_pct, nan=0.0)  # no slope data: flat, not impassable
    surface = RoutingCost(
        urban=masks["route_urban"],
        barrier=masks["route_barrier"],
        slope_pct=slope_pct,
        costs=costs,
        voltage_kv=required_kv,
    )

    subs = pd.DataFrame(
        [
            {
                "bus_id": str(n),
                "station_id": d.get("station_id", n),
                "substation_name": d.get("name", "") or "",
                "voltage_kv": float(d["voltage_kv"]),
                "x_m": float(d["x_m"]),
                "y_m": float(d["y_m"]),
            }
            for n, d in graph.nodes(data=True)
            if not d.get("dc")
            and d.get("symbol", "substation") == "substation"
            and float(d["voltage_kv"]) >= required_kv - 0.5
        ]
    )
    subs["row"], subs["col"] = grid.xy_to_rowcol(subs["x_m"].to_numpy(), subs["y_m"].to_numpy())
    subs["hosting_capacity_mw"] = (
        subs["bus_id"].map(hc["hosting_capacity_mw"]) if hc is not None else np.nan
    )
    site_rows, site_cols = grid.xy_to_rowcol(table["x_m"].to_numpy(), table["y_m"].to_numpy())
    # Sites and substations must be enterable even where a barrier covers their cell.
    inside = (subs["row"].between(0, grid.shape[0] - 1)) & (
        subs["col"].between(0, grid.shape[1] - 1)
    )
    surface.open_cells(
        np.concatenate([subs.loc[inside, "row"].to_numpy(int), np.asarray(site_rows, int)]),
        np.concatenate([subs.loc[inside, "col"].to_numpy(int), np.asarray(site_cols, int)]),
    )
    sub_xy = subs[["x_m", "y_m"]].to_numpy(float)
    window_m = ic.window_km * M_PER_KM
    kw = dict(
        costs=costs,
        campus_mw=spec.campus.campus_mw,
        site_kv=required_kv,
        window_m=window_m,
        rating_mva_per_circuit=spec.powergrid.rating_mva_per_circuit,
        power_factor=spec.powergrid.power_factor,
    )
    found = []
    for i, site in enumerate(table["site_id"]):
        # Candidates: the k nearest substations that can take the line, and every one within the
        # window whose hosting capacity covers the campus (so competition has options).
        dist = np.hypot(sub_xy[:, 0] - table["x_m"].iloc[i], sub_xy[:, 1] - table["y_m"].iloc[i])
        pick = set(np.argsort(dist, kind="stable")[: ic.k_substations].tolist())
        if hc is not None:
            ok = (dist <= window_m) & (subs["hosting_capacity_mw"] >= spec.campus.campus_mw)
            pick |= set(np.flatnonzero(ok.to_numpy()).tolist())
        cands = subs.iloc[sorted(pick)]
        rc = (int(site_rows[i]), int(site_cols[i]))
        site_xy = (float(table["x_m"].iloc[i]), float(table["y_m"].iloc[i]))
        opts = route_site(
            surface,
            grid,
            rc,
            cands,
            k=len(cands),
            site_xy=site_xy,
            **kw,  # type: ignore[arg-type]
        )
        opts = opts[opts["reachable"]].copy()
        opts["site_id"] = site
        found.append(opts)
        if progress is not None:
            progress(i + 1, len(table))
    options = gpd.GeoDataFrame(pd.concat(found, ignore_index=True), crs=grid.crs)
    extra = subs.set_index("bus_id")[["station_id", "substation_name", "hosting_capacity_mw"]]
    options = options.join(extra, on="bus_id")
    options["interconnect_km"] = options["straight_km"]
    n_unrouted = int((~table["site_id"].isin(options["site_id"])).sum())
    log.info(
        "routing: %d options for %d sites (k=%d + hosting-feasible within %.0f km); %d sites "
        "reach no substation",
        len(options),
        len(table),
        ic.k_substations,
        ic.window_km,
        n_unrouted,
    )
    return options


class RoutingCost:
    """The tie-line cost raster (MUSD per km), made window by window as routing asks for it.

    ``cost_multiplier_raster`` of the urban mask (and slope) times the line cost at the
    connection voltage, ``inf`` on barrier cells except the cells opened with
    :meth:`open_cells` (sites and substations); the same numbers as building the whole raster,
    which at 30 m over Korea would be 4 GB of float64.
    """

    def __init__(
        self,
        *,
        urban: NDArray[np.bool_] | WindowedRaster,
        barrier: NDArray[np.bool_] | WindowedRaster,
        slope_pct: NDArray[np.floating] | None,
        costs: TransmissionCosts,
        voltage_kv: float,
    ) -> None:
        self.shape = tuple(barrier.shape)
        self._urban, self._barrier, self._slope = urban, barrier, slope_pct
        self._costs, self._voltage_kv = costs, voltage_kv
        self._open: tuple[NDArray[np.int64], NDArray[np.int64]] = (
            np.empty(0, np.int64),
            np.empty(0, np.int64),
        )

    def open_cells(self, rows: NDArray[np.integer], cols: NDArray[np.integer]) -> None:
        """Make these cells enterable whatever the barriers say."""
        self._open = (np.asarray(rows, np.int64), np.asarray(cols, np.int64))

    def __getitem__(self, key: tuple[slice, slice]) -> NDArray[np.float64]:
        rs, cs = key
        urban = np.asarray(self._urban[rs, cs], dtype=bool)
        slope = None if self._slope is None else self._slope[rs, cs]
        multiplier = cost_multiplier_raster(
            urban.shape, costs=self._costs, urban=urban, slope_pct=slope
        )
        cost = line_cost_raster(multiplier, costs=self._costs, voltage_kv=self._voltage_kv)
        blocked = np.asarray(self._barrier[rs, cs], dtype=bool)
        r0, r1, _ = rs.indices(self.shape[0])
        c0, c1, _ = cs.indices(self.shape[1])
        rows, cols = self._open
        here = (rows >= r0) & (rows < r1) & (cols >= c0) & (cols < c1)
        blocked[rows[here] - r0, cols[here] - c0] = False
        cost[blocked] = np.inf
        return cost


_OPTION_COLUMNS = (
    "bus_id",
    "substation_name",
    "substation_kv",
    "line_kv",
    "interconnect_km",
    "route_km",
    "parallel_circuits",
    "line_cost_musd",
    "substation_cost_musd",
    "transformer_cost_musd",
    "interconnect_cost_musd",
    "hosting_capacity_mw",
)


def _pick_cheapest(table: pd.DataFrame, options: pd.DataFrame) -> pd.DataFrame:
    best = options.sort_values("interconnect_cost_musd", kind="stable").groupby("site_id").head(1)
    cols = best.set_index("site_id")[list(_OPTION_COLUMNS)].rename(
        columns={"bus_id": "substation_id"}
    )
    out = table.join(cols, on="site_id")
    # A site that reaches no substation cannot be connected: it keeps NaN figures and ranks low.
    return out


def _compete(
    first: pd.DataFrame, options: gpd.GeoDataFrame, spec: StudySpec, with_hosting: bool
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    order = [s for s in first["site_id"] if s in set(options["site_id"])]
    if with_hosting:
        chosen = allocate_headroom(options, order, campus_mw=spec.campus.campus_mw)
    else:
        chosen = _pick_cheapest_rows(options, order)
        chosen["headroom_mw"] = np.nan
        chosen["supplied"] = None
    chosen = gpd.GeoDataFrame(chosen, geometry="geometry", crs=options.crs)
    keep = [*_OPTION_COLUMNS, "headroom_mw", "supplied"]
    replaced = [c for c in _OPTION_COLUMNS if c != "bus_id"]
    replaced += ["substation_id", "headroom_mw", "supplied", "speed_to_power_months"]
    sites = first.drop(columns=replaced, errors="ignore")
    joined = chosen.set_index("site_id")[keep].rename(columns={"bus_id": "substation_id"})
    sites = sites.join(joined, on="site_id")
    routes = chosen[
        ["site_id", "bus_id", "route_km", "interconnect_cost_musd", "parallel_circuits", "geometry"]
    ].copy()
    return sites, gpd.GeoDataFrame(routes, geometry="geometry", crs=options.crs)


def _pick_cheapest_rows(options: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    best = options.sort_values("interconnect_cost_musd", kind="stable").groupby("site_id").head(1)
    return best.set_index("site_id").loc[order].reset_index()


def _compete_nearest(sites: pd.DataFrame, spec: StudySpec) -> pd.DataFrame:
    """Without routing: sites in suitability order draw down their nearest station's headroom."""
    sites = sites.sort_values("suitability", ascending=False, kind="stable")
    options = sites.assign(
        station_id=sites["substation_id"], interconnect_cost_musd=sites["interconnect_km"]
    )
    chosen = allocate_headroom(options, list(sites["site_id"]), campus_mw=spec.campus.campus_mw)
    out = sites.merge(chosen[["site_id", "headroom_mw", "supplied"]], on="site_id", how="left")
    return out
