"""Put an electrical model on the power-grid graph: reactances, loads and generation at one hour.

The OSM grid has geometry but no impedances, loads or generators. This module adds them, each from
a named source, so that DC power flow can run on the real Korean network:

- Reactance per km by voltage class, calibrated from the KPG 193 model (Song & Kim 2024): each KPG
  branch's series reactance in ohm (``x_pu x kV^2 / 100``) over its straight-line length, times the
  number of circuits its rating implies (``round(rateA / per-circuit rating)``), gives ohm per km
  of one circuit; the class value is the median. KPG 193 lengths are straight lines between
  clustered buses, so this is ohm per straight-line km; OSM routes are longer, which makes the OSM
  branch reactances somewhat high in absolute terms but keeps their ratios.
- Loads: each KPG 193 bus stands for a cluster of the real grid. Every OSM load bus (the lowest
  AC voltage of each station) joins the cluster of its nearest KPG bus, and the cluster's demand at
  the hour is shared equally among its OSM buses. A cluster no OSM bus joined hands its demand to
  the OSM bus nearest to it, so the national total is kept.
- Generation: plants (e.g. the power-plant layer) join the nearest OSM bus at or above a voltage
  that depends on their size, and are dispatched in merit order with availability factors to meet
  the net demand (demand minus solar and wind at the hour).

Nothing here reads files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from gridsite.errors import PowerGridError
from gridsite.powergrid.graph import rating_mva_for_voltage

__all__ = [
    "DEFAULT_AVAILABILITY",
    "DEFAULT_MERIT_ORDER",
    "Dispatch",
    "HourModel",
    "allocate_cluster_values",
    "calibrate_reactance",
    "cluster_columns",
    "dispatch_merit_order",
    "electrical_graph",
    "load_buses",
    "place_plants",
    "select_hours",
    "set_reactance",
]

log = logging.getLogger(__name__)

#: Dispatch order of plant fuels, cheapest running cost first (:func:`dispatch_merit_order`).
DEFAULT_MERIT_ORDER: tuple[str, ...] = ("Nuclear", "Coal", "Gas", "Oil", "Hydro")
#: Share of installed capacity available at a typical hour (outages; water for hydro).
DEFAULT_AVAILABILITY: Mapping[str, float] = {
    "Nuclear": 0.9,
    "Coal": 0.85,
    "Gas": 0.9,
    "Oil": 0.9,
    "Hydro": 0.5,
}


def calibrate_reactance(
    branches: pd.DataFrame,
    *,
    rating_mva_per_circuit: Sequence[tuple[float, float]],
    min_length_km: float = 1.0,
) -> dict[float, float]:
    """Median reactance per km of one circuit, by voltage class, from a MATPOWER-style branch table.

    Parameters
    ----------
    branches
        Columns ``fbus_kV``, ``tbus_kV``, ``x`` (p.u. on 100 MVA), ``rateA`` (MVA) and
        ``straight_km`` (KPG 193's ``kpg193_v2_0_branches.csv``). Branches whose two ends carry
        different kV labels, or shorter than ``min_length_km``, are left out.
    rating_mva_per_circuit
        ``(kV, MVA)`` of one circuit per class, to infer each branch's number of circuits.

    Returns
    -------
    dict
        Voltage class (kV) -> ohm per km of one circuit.

    Examples
    --------
    >>> t = pd.DataFrame({"fbus_kV": [154.0, 154.0], "tbus_kV": [154.0, 154.0],
    ...                   "x": [0.01, 0.02], "rateA": [904.0, 452.0], "straight_km": [10.0, 10.0]})
    >>> calibrate_reactance(t, rating_mva_per_circuit=[(154, 452)])   # 0.474 and 0.474 ohm/km
    {154.0: 0.47432}
    """
    need = {"fbus_kV", "tbus_kV", "x", "rateA", "straight_km"}
    missing = sorted(need - set(branches.columns))
    if missing:
        raise PowerGridError(f"reactance calibration: branch table lacks {', '.join(missing)}")
    b = branches[(branches["fbus_kV"] == branches["tbus_kV"])]
    b = b[b["straight_km"] >= min_length_km]
    out: dict[float, float] = {}
    for kv, grp in b.groupby("fbus_kV"):
        kv_f = float(str(kv))
        per_circuit = rating_mva_for_voltage(kv_f, rating_mva_per_circuit)
        n = np.maximum(1.0, np.round(grp["rateA"].to_numpy(float) / per_circuit))
        length_km = grp["straight_km"].to_numpy(float)
        ohm_km = grp["x"].to_numpy(float) * kv_f**2 / 100.0 / length_km * n
        out[kv_f] = round(float(np.median(ohm_km)), 6)
    if not out:
        raise PowerGridError("reactance calibration: no branch with equal kV labels at both ends")
    return out


def set_reactance(
    G: nx.Graph,
    x_ohm_per_km: Mapping[float, float],
    *,
    base_mva: float = 100.0,
    transformer_x_pu: float = 0.01,
    min_length_km: float = 0.1,
) -> nx.Graph:
    """Return a copy of ``G`` with ``x_pu`` (one circuit, on ``base_mva``) on every edge.

    A line takes the ohm-per-km value of the voltage class nearest to its own voltage:
    ``x_pu = x_ohm_per_km x max(length_km, min_length_km) / (kV^2 / base_mva)``. Transformers get
    ``transformer_x_pu``: the default 0.01 p.u. on 100 MVA stands for three 500 MVA banks of 15 %
    short-circuit voltage in parallel (OSM gives no transformer data). Converters (HVDC) get none.
    """
    if not x_ohm_per_km:
        raise PowerGridError("set_reactance: no reactance per km given")
    classes = sorted(x_ohm_per_km.items())
    H = G.copy()
    H.graph["base_mva"] = base_mva
    for _, _, d in H.edges(data=True):
        if d.get("kind") == "line":
            kv = float(d["voltage_kv"])
            _, ohm = min(classes, key=lambda c: (abs(c[0] - kv), c[0]))
            length = max(float(d.get("length_km", 0.0)), min_length_km)
            d["x_pu"] = ohm * length / (kv * kv / base_mva)
        elif d.get("kind") == "transformer":
            d["x_pu"] = transformer_x_pu
            # OSM gives no transformer count: one equivalent unit per station pair of levels.
            d["circuits"] = max(1, int(d.get("circuits") or 0))
    return H


def load_buses(G: nx.Graph) -> list[str]:
    """Return the bus of each station that serves load: its lowest AC voltage level."""
    lowest: dict[object, tuple[float, str]] = {}
    for n, d in G.nodes(data=True):
        if d.get("dc"):
            continue
        key = d.get("station_id", n)
        kv = float(d.get("voltage_kv", np.inf))
        if key not in lowest or kv < lowest[key][0]:
            lowest[key] = (kv, str(n))
    return sorted(b for _, b in lowest.values())


def allocate_cluster_values(
    G: nx.Graph,
    buses: Sequence[str],
    cluster_xy: NDArray[np.floating],
    values: NDArray[np.floating],
) -> pd.Series:
    """Share each cluster's value (e.g. MW of demand) equally among the buses nearest to it.

    Parameters
    ----------
    G
        Graph whose nodes carry ``x_m``/``y_m`` (projected CRS, metres).
    buses
        The buses that may receive a share.
    cluster_xy
        ``(m, 2)`` cluster points in the same CRS.
    values
        ``(m,)`` or ``(m, h)`` values per cluster (h hours at once).

    Returns
    -------
    pandas.Series or DataFrame
        Per bus, the sum of its shares; totals equal ``values.sum(axis=0)``.
    """
    if not buses:
        raise PowerGridError("no bus to allocate demand to")
    bxy = np.array([(G.nodes[b]["x_m"], G.nodes[b]["y_m"]) for b in buses], dtype=float)
    cxy = np.asarray(cluster_xy, dtype=float)
    vals = np.asarray(values, dtype=float)
    _, cluster_of_bus = cKDTree(cxy).query(bxy)
    counts = np.bincount(cluster_of_bus, minlength=len(cxy))
    # A cluster that no bus joined hands its value to the bus nearest to it.
    _, nearest_bus = cKDTree(bxy).query(cxy)
    share = np.zeros((len(buses), *vals.shape[1:]))
    for c in range(len(cxy)):
        if counts[c] > 0:
            share[cluster_of_bus == c] += vals[c] / counts[c]
        else:
            share[nearest_bus[c]] += vals[c]
    if share.ndim == 1:
        return pd.Series(share, index=list(buses), name="value")
    return pd.DataFrame(share, index=list(buses))  # type: ignore[return-value]


def place_plants(
    G: nx.Graph,
    plants_xy: NDArray[np.floating],
    capacity_mw: NDArray[np.floating],
    *,
    large_mw: float = 500.0,
    large_kv: float = 345.0,
    small_kv: float = 154.0,
) -> list[str]:
    """Return the bus each plant connects to.

    That is the nearest AC bus of at least ``large_kv`` for plants of ``large_mw`` or more, else
    the nearest of at least ``small_kv``.
    """

    def pool(min_kv: float) -> tuple[list[str], cKDTree]:
        ids = [
            str(n)
            for n, d in G.nodes(data=True)
            if not d.get("dc") and float(d.get("voltage_kv", 0)) >= min_kv
        ]
        if not ids:
            raise PowerGridError(f"no AC bus of at least {min_kv:.0f} kV to connect plants to")
        xy = np.array([(G.nodes[b]["x_m"], G.nodes[b]["y_m"]) for b in ids], dtype=float)
        return ids, cKDTree(xy)

    big_ids, big_tree = pool(large_kv)
    small_ids, small_tree = pool(small_kv)
    xy = np.asarray(plants_xy, dtype=float)
    cap = np.asarray(capacity_mw, dtype=float)
    out: list[str] = []
    for i in range(len(xy)):
        ids, tree = (big_ids, big_tree) if cap[i] >= large_mw else (small_ids, small_tree)
        _, j = tree.query(xy[i])
        out.append(ids[int(j)])
    return out


@dataclass(frozen=True)
class Dispatch:
    """Result of :func:`dispatch_merit_order`: MW per plant, and what could not be served."""

    gen_mw: NDArray[np.float64]
    shortfall_mw: float
    marginal_fuel: str


def dispatch_merit_order(
    capacity_mw: NDArray[np.floating],
    fuel: Sequence[str],
    net_demand_mw: float,
    *,
    order: Sequence[str] = DEFAULT_MERIT_ORDER,
    availability: Mapping[str, float] = DEFAULT_AVAILABILITY,
) -> Dispatch:
    """Dispatch plants fuel by fuel in ``order`` until ``net_demand_mw`` is met.

    Each plant can give ``availability[fuel] x capacity``; fuels not in ``order`` are not
    dispatched. Within the marginal fuel every plant runs at the same share of its available
    capacity. A net demand above all available capacity leaves a ``shortfall_mw`` (the slack
    covers it in a power flow, and the study reports it); a negative net demand (surplus
    renewables) dispatches nothing.

    Examples
    --------
    >>> d = dispatch_merit_order(np.array([1000.0, 500.0, 400.0]), ["Nuclear", "Coal", "Gas"], 1200,
    ...                          availability={"Nuclear": 1.0, "Coal": 1.0, "Gas": 1.0})
    >>> d.gen_mw.tolist(), d.shortfall_mw, d.marginal_fuel
    ([1000.0, 200.0, 0.0], 0.0, 'Coal')
    """
    cap = np.asarray(capacity_mw, dtype=float)
    fuels = np.asarray(list(fuel), dtype=object)
    gen = np.zeros_like(cap)
    left = max(float(net_demand_mw), 0.0)
    marginal = ""
    for f in order:
        if left <= 0:
            break
        sel = fuels == f
        avail = cap[sel] * float(availability.get(f, 1.0))
        total = float(avail.sum())
        if total <= 0:
            continue
        frac = min(1.0, left / total)
        gen[sel] = avail * frac
        left -= total * frac
        marginal = f
    return Dispatch(gen_mw=gen, shortfall_mw=max(left, 0.0), marginal_fuel=marginal)


def select_hours(demand: pd.DataFrame, hours: Sequence[int | str], *, hour_field: str) -> list[int]:
    """Resolve ``"max"`` / ``"min"`` to the hours of highest / lowest total demand.

    Parameters
    ----------
    demand
        Wide hourly table: ``hour_field`` plus one column per cluster (MW).
    hours
        Hours of the year (as in ``hour_field``) or ``"max"`` / ``"min"``.

    Examples
    --------
    >>> t = pd.DataFrame({"h": [1, 2, 3], "a": [5.0, 9.0, 1.0], "b": [1.0, 1.0, 1.0]})
    >>> select_hours(t, ["max", "min", 2], hour_field="h")
    [2, 3, 2]
    """
    total = demand.drop(columns=[hour_field]).sum(axis=1)
    out: list[int] = []
    for h in hours:
        if h == "max":
            out.append(int(demand[hour_field].iloc[int(total.to_numpy().argmax())]))
        elif h == "min":
            out.append(int(demand[hour_field].iloc[int(total.to_numpy().argmin())]))
        else:
            if int(h) not in set(demand[hour_field].astype(int)):
                raise PowerGridError(f"hour {h} is not in the demand table")
            out.append(int(h))
    return out


def cluster_columns(
    table: pd.DataFrame, ids: Sequence[object], hours: Sequence[int], *, hour_field: str, what: str
) -> NDArray[np.float64]:
    """Return values of ``ids`` (columns named by id) at ``hours``, shape ``(ids, hours)``."""
    cols = {str(c).strip(): c for c in table.columns}
    missing = [str(i) for i in ids if str(i) not in cols]
    if missing:
        raise PowerGridError(
            f"{what}: no column for cluster(s) {', '.join(missing[:5])}; the table's columns must "
            "be the cluster ids"
        )
    rows = table.set_index(table[hour_field].astype(int)).loc[list(hours)]
    return np.asarray(rows[[cols[str(i)] for i in ids]].to_numpy(float).T)


@dataclass(frozen=True)
class HourModel:
    """The system at one hour: totals (MW) of demand, renewables, dispatch and shortfall."""

    hour: int
    demand_mw: float
    renewable_mw: float
    dispatched_mw: float
    shortfall_mw: float
    marginal_fuel: str


def electrical_graph(
    G: nx.Graph,
    *,
    load_mw: Mapping[str, float],
    renewable_mw: Mapping[str, float],
    plant_bus: Sequence[str],
    plant_gen_mw: NDArray[np.floating],
    plant_pmax_mw: NDArray[np.floating],
) -> nx.Graph:
    """Return a copy of ``G`` with ``load_mw``, ``gen_mw`` and ``pmax_mw`` on its buses.

    ``gen_mw`` is the plants' dispatch plus the renewables at the bus; ``pmax_mw`` (the
    distributed-slack participation) is the plants' available capacity. Buses not named get 0.
    """
    H = G.copy()
    for _, d in H.nodes(data=True):
        d["load_mw"] = 0.0
        d["gen_mw"] = 0.0
        d["pmax_mw"] = 0.0
    for b, v in load_mw.items():
        H.nodes[b]["load_mw"] += float(v)
    for b, v in renewable_mw.items():
        H.nodes[b]["gen_mw"] += float(v)
    for b, g, p in zip(plant_bus, plant_gen_mw, plant_pmax_mw, strict=True):
        H.nodes[b]["gen_mw"] += float(g)
        H.nodes[b]["pmax_mw"] += float(p)
    return H
