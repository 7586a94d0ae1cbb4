"""Orchestrate the electrical model and the hosting-capacity screen over the chosen hours."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from gridsite.powergrid.dcflow import dc_power_flow, overloads
from gridsite.powergrid.hosting import hosting_capacity, maxflow_capacity_mw, rev_capacity_mw
from gridsite.powergrid.model import (
    HourModel,
    allocate_cluster_values,
    calibrate_reactance,
    cluster_columns,
    dispatch_merit_order,
    electrical_graph,
    load_buses,
    place_plants,
    select_hours,
    set_reactance,
)
from gridsite.powergrid.qa import qa_row, qa_table
from gridsite.spec import StudySpec
from gridsite.study.progress import Step, sub_steps

__all__ = ["ElectricalOutcome", "Reader", "overload_rows", "run_electrical"]

log = logging.getLogger(__name__)


class Reader(Protocol):
    """What the electrical stage needs from a run: layers, read once."""

    def vector(self, name: str, *, require: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
        """Read a vector layer in the study CRS."""
        ...

    def table(self, name: str, *, require: tuple[str, ...] = ()) -> pd.DataFrame:
        """Read a table layer."""
        ...


@dataclass
class ElectricalOutcome:
    """The electrical stage's result.

    ``hosting`` has one row per screened bus (point geometry, study CRS); ``graph`` carries the
    electrical model of the first hour; ``hours`` summarise each hour; ``overloads`` lists
    base-case overloads per hour (reported, never hidden); ``x_ohm_per_km`` the reactances used.
    """

    hosting: gpd.GeoDataFrame
    graph: nx.Graph
    hours: list[HourModel]
    overloads: pd.DataFrame
    x_ohm_per_km: dict[float, float]


def screened_buses(G: nx.Graph, *, min_kv: float) -> list[str]:
    """AC substation buses at or above ``min_kv``: where a campus could connect."""
    return [
        str(n)
        for n, d in G.nodes(data=True)
        if not d.get("dc")
        and d.get("symbol", "substation") == "substation"
        and float(d.get("voltage_kv", 0.0)) >= min_kv
    ]


def run_electrical(
    reader: Reader, G: nx.Graph, spec: StudySpec, *, progress: Step | None = None
) -> ElectricalOutcome:
    """Build the electrical model at each screened hour and compute hosting capacities.

    ``progress(done, total)`` counts three screens (N-1 or the study's contingency, N-0 and
    max-flow) of every screened bus at every hour.
    """
    e = spec.electrical
    assert e is not None
    pg = spec.powergrid
    if e.x_ohm_per_km:
        x_km = dict(e.x_ohm_per_km)
    else:
        assert e.reactance_branches is not None  # checked by config
        x_km = calibrate_reactance(
            reader.table(e.reactance_branches), rating_mva_per_circuit=pg.rating_mva_per_circuit
        )
    log.info(
        "reactance: %s ohm/km per circuit",
        ", ".join(f"{kv:.0f} kV {x:.3f}" for kv, x in sorted(x_km.items())),
    )
    Gx = set_reactance(G, x_km, transformer_x_pu=e.transformer_x_pu)

    clusters = reader.vector(e.clusters, require=(e.cluster_id_field,))
    ids = clusters[e.cluster_id_field].astype(int).tolist()
    cxy = np.column_stack([clusters.geometry.x, clusters.geometry.y])
    demand = reader.table(e.demand, require=(e.hour_field,))
    hours = select_hours(demand, e.hours, hour_field=e.hour_field)
    dem = cluster_columns(demand, ids, hours, hour_field=e.hour_field, what=e.demand)
    ren = np.zeros_like(dem)
    for cap_name, prof_name in (
        (e.solar_capacity, e.solar_profile),
        (e.wind_capacity, e.wind_profile),
    ):
        if cap_name is None or prof_name is None:
            continue
        cap_t = reader.table(cap_name, require=(e.capacity_id_field, e.capacity_mw_field))
        cap = (
            cap_t.set_index(cap_t[e.capacity_id_field].astype(int))[e.capacity_mw_field]
            .reindex(ids)
            .fillna(0.0)
            .to_numpy(float)
        )
        prof = cluster_columns(
            reader.table(prof_name, require=(e.hour_field,)),
            ids,
            hours,
            hour_field=e.hour_field,
            what=prof_name,
        )
        ren += cap[:, None] * prof

    lb = load_buses(Gx)
    load = np.asarray(allocate_cluster_values(Gx, lb, cxy, dem), dtype=float)
    renew = np.asarray(allocate_cluster_values(Gx, lb, cxy, ren), dtype=float)
    plants = reader.vector(e.plants, require=(e.plant_capacity_field, e.plant_fuel_field))
    pcap = pd.to_numeric(plants[e.plant_capacity_field], errors="coerce").fillna(0).to_numpy(float)
    pfuel = plants[e.plant_fuel_field].astype(str).tolist()
    pbus = place_plants(Gx, np.column_stack([plants.geometry.x, plants.geometry.y]), pcap)
    avail = dict(e.availability)
    pmax = np.array(
        [
            c * avail.get(f, 1.0) if f in e.merit_order else 0.0
            for c, f in zip(pcap, pfuel, strict=True)
        ]
    )
    buses = screened_buses(Gx, min_kv=pg.min_connection_kv)
    n_steps = 3 * len(hours) * len(buses)

    def part(k: int) -> Step | None:
        """Return the steps of the k-th screen, within the whole stage's."""
        if progress is None:
            return None
        return sub_steps(progress, offset=k * len(buses), total=n_steps)

    per_hour: list[pd.DataFrame] = []
    summaries: list[HourModel] = []
    over: list[pd.DataFrame] = []
    first: nx.Graph | None = None
    for j, hour in enumerate(hours):
        net = float(dem[:, j].sum() - ren[:, j].sum())
        d = dispatch_merit_order(pcap, pfuel, net, order=e.merit_order, availability=avail)
        Gh = electrical_graph(
            Gx,
            load_mw=dict(zip(lb, load[:, j], strict=True)),
            renewable_mw=dict(zip(lb, renew[:, j], strict=True)),
            plant_bus=pbus,
            plant_gen_mw=d.gen_mw,
            plant_pmax_mw=pmax,
        )
        first = Gh if first is None else first
        summaries.append(
            HourModel(
                hour=hour,
                demand_mw=float(dem[:, j].sum()),
                renewable_mw=float(ren[:, j].sum()),
                dispatched_mw=float(d.gen_mw.sum()),
                shortfall_mw=d.shortfall_mw,
                marginal_fuel=d.marginal_fuel,
            )
        )
        flows = dc_power_flow(Gh, slack=e.slack)
        ov = overloads(flows)
        if not ov.empty:
            over.append(ov.assign(hour=hour))
        hc1 = hosting_capacity(
            Gh, buses=buses, contingency=e.contingency, slack=e.slack, progress=part(3 * j)
        )
        hc0 = hosting_capacity(
            Gh, buses=buses, contingency="n-0", slack=e.slack, progress=part(3 * j + 1)
        )
        mf = maxflow_capacity_mw(Gh, buses, progress=part(3 * j + 2))
        netload = pd.Series(
            {b: Gh.nodes[b]["load_mw"] - Gh.nodes[b]["gen_mw"] for b in buses}, dtype=float
        )
        per_hour.append(
            pd.DataFrame(
                {
                    "hour": hour,
                    "hosting_capacity_mw": hc1["hosting_capacity_mw"],
                    "hosting_capacity_n0_mw": hc0["hosting_capacity_mw"],
                    "binding_branch": hc1["binding_branch"].map(_edge_text),
                    "binding_outage": hc1["binding_outage"].map(_edge_text),
                    "islanded_by": hc1["islanded_by"].map(_edge_text),
                    "connected": hc1["connected"],
                    "maxflow_capacity_mw": (mf - netload).clip(lower=0.0),
                    "load_mw": pd.Series({b: Gh.nodes[b]["load_mw"] for b in buses}),
                }
            )
        )
        log.info(
            "hour %d: demand %s MW, renewables %s MW, dispatch %s MW (marginal %s), shortfall "
            "%s MW, %d overloaded branches",
            hour,
            f"{summaries[-1].demand_mw:,.0f}",
            f"{summaries[-1].renewable_mw:,.0f}",
            f"{summaries[-1].dispatched_mw:,.0f}",
            d.marginal_fuel or "none",
            f"{d.shortfall_mw:,.0f}",
            len(ov),
        )
    assert first is not None
    hosting = _combine_hours(per_hour)
    hosting["rev_capacity_mw"] = rev_capacity_mw(Gx, buses, power_factor=pg.power_factor)
    for col in ("voltage_kv", "station_id", "name", "lon", "lat", "x_m", "y_m"):
        hosting[col] = [Gx.nodes[b].get(col) for b in hosting.index]
    hosting.index.name = "bus_id"
    gdf = gpd.GeoDataFrame(
        hosting.reset_index(),
        geometry=gpd.points_from_xy(hosting["x_m"], hosting["y_m"]),
        crs=spec.crs,
    )
    over_df = pd.concat(over, ignore_index=False) if over else pd.DataFrame()
    return ElectricalOutcome(
        hosting=gdf, graph=first, hours=summaries, overloads=over_df, x_ohm_per_km=x_km
    )


def _edge_text(edge: Any) -> str | None:
    if edge is None or (isinstance(edge, float) and np.isnan(edge)):
        return None
    return f"{edge[0]}-{edge[1]}"


def _combine_hours(per_hour: list[pd.DataFrame]) -> pd.DataFrame:
    """Per bus, the hour whose N-1 hosting capacity is lowest, with that hour's figures."""
    stacked = pd.concat(per_hour)
    stacked["_hc"] = stacked["hosting_capacity_mw"].fillna(-np.inf)
    worst = stacked.sort_values("_hc", kind="stable").groupby(level=0).head(1)
    worst = worst.drop(columns="_hc").rename(columns={"hour": "binding_hour"})
    n0 = stacked.groupby(level=0)["hosting_capacity_n0_mw"].min()
    mf = stacked.groupby(level=0)["maxflow_capacity_mw"].min()
    worst["hosting_capacity_n0_mw"] = n0
    worst["maxflow_capacity_mw"] = mf
    return worst.drop(columns="load_mw").sort_index()


def overload_rows(G: nx.Graph, overloaded: pd.DataFrame) -> pd.DataFrame:
    """QA rows (issue ``base_overload``) for branches over their rating before any campus."""
    rows = []
    flows = overloaded.reset_index()
    for u, v, hour, flow, rating, loading in zip(
        flows.iloc[:, 0].astype(str),
        flows.iloc[:, 1].astype(str),
        flows["hour"].to_numpy(int),
        flows["flow_mw"].to_numpy(float),
        flows["rating_mva"].to_numpy(float),
        flows["loading"].to_numpy(float),
        strict=True,
    ):
        a, b = G.nodes[u], G.nodes[v]
        rows.append(
            qa_row(
                "base_overload",
                f"{u}-{v}",
                voltage_kv=float(G.edges[u, v].get("voltage_kv", np.nan)),
                lon=(float(a["lon"]) + float(b["lon"])) / 2,
                lat=(float(a["lat"]) + float(b["lat"])) / 2,
                detail=f"hour {hour}: {abs(flow):,.0f} MW on {rating:,.0f} MVA ({loading:.0%})",
                mw=abs(flow),
                n_buses=2,
            )
        )
    return qa_table(rows)
