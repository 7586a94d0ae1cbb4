"""Where a campus would connect to the power grid, and what that connection offers.

For each candidate site: the nearest substation bus of a high-enough voltage (straight line), the
network distance from that bus to the bulk backbone, and a cheap capacity bound for its station.
"""

# G is networkx's conventional name for a graph (house style: networkx puts G first).

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from gridsite.errors import PowerGridError
from gridsite.geo import M_PER_KM
from gridsite.powergrid.graph import DEFAULT_RATING_MVA_PER_CIRCUIT

__all__ = [
    "CONNECTION_COLUMNS",
    "backbone_path_km",
    "connect_sites",
    "required_connection_kv",
    "station_capacity_mw",
]

#: Columns of :func:`connect_sites`' result, in order.
CONNECTION_COLUMNS: tuple[str, ...] = (
    "substation_id",
    "substation_name",
    "substation_kv",
    "interconnect_km",
    "backbone_path_km",
    "capacity_mw",
)


def required_connection_kv(
    campus_mw: float,
    *,
    rating_mva_per_circuit: Sequence[tuple[float, float]] = DEFAULT_RATING_MVA_PER_CIRCUIT,
    min_kv: float = 154.0,
    power_factor: float = 1.0,
) -> float:
    """Return the lowest voltage class whose single circuit can carry the campus.

    Parameters
    ----------
    campus_mw
        The campus's peak demand (MW).
    rating_mva_per_circuit
        ``(voltage class kV, MVA per circuit)``.
    min_kv
        No class below this is considered (kV).
    power_factor
        MW per MVA, in (0, 1].

    Returns
    -------
    float
        The lowest class ``>= min_kv`` with ``rating * power_factor >= campus_mw`` (kV); the
        highest class if none suffices.

    Examples
    --------
    >>> required_connection_kv(400.0), required_connection_kv(500.0)
    (154.0, 345.0)
    """
    if not (campus_mw > 0 and math.isfinite(campus_mw)):
        raise PowerGridError(f"campus_mw must be a positive number of MW, got {campus_mw!r}")
    _check_power_factor(power_factor)
    classes = sorted((float(kv), float(mva)) for kv, mva in rating_mva_per_circuit)
    eligible = [(kv, mva) for kv, mva in classes if kv >= min_kv]
    if not eligible:
        raise PowerGridError(
            f"no voltage class in rating_mva_per_circuit {classes!r} is at least min_kv={min_kv}; "
            "lower min_kv or extend the rating table"
        )
    for kv, mva in eligible:
        if mva * power_factor >= campus_mw:
            return kv
    return eligible[-1][0]


def station_capacity_mw(G: nx.Graph, bus: str, *, power_factor: float = 1.0) -> float:
    """Estimate the capacity a bus's substation offers a new load, by reV's heuristic.

    NREL reV's supply-curve transmission features (``reV.handlers.transmission.
    TransmissionFeatures._substation_capacity``) rate a substation at half the summed capacity
    of the lines attached to it: power flows in on some lines and out on others, so on average
    half the attached capacity is free to serve a new connection. Here the lines are every
    ``kind == "line"`` edge touching any bus of the same ``station_id`` as ``bus`` (each counted
    once), and their full thermal ``rating_mva`` is used (reV uses an available fraction).

    Parameters
    ----------
    G
        A graph from :func:`gridsite.powergrid.graph_from_pypsa_tables`.
    bus
        The bus id (str).
    power_factor
        MW per MVA, in (0, 1].

    Returns
    -------
    float
        ``sum(rating_mva) / 2 * power_factor`` (MW); 0 for a station with no lines.
    """
    _check_power_factor(power_factor)
    if bus not in G:
        raise PowerGridError(f"bus {bus!r} is not in the power-grid graph; pass a str bus id")
    station = G.nodes[bus]["station_id"]
    station_buses = [n for n, s in G.nodes(data="station_id") if s == station]
    return _station_capacity_mw(G, station_buses, power_factor)


def connect_sites(
    G: nx.Graph,
    sites_xy: NDArray[np.float64],
    *,
    min_kv: float,
    backbone_kv: float = 765.0,
    power_factor: float = 1.0,
) -> pd.DataFrame:
    """Find each site's connection substation and measure the connection.

    Parameters
    ----------
    G
        A graph from :func:`gridsite.powergrid.graph_from_pypsa_tables`.
    sites_xy
        Site points, shape ``(n, 2)``, ``(x, y)`` order, in the graph's CRS ``G.graph["crs"]``
        (metres).
    min_kv
        Lowest bus voltage a campus may connect to (kV), e.g. from :func:`required_connection_kv`.
    backbone_kv
        Buses at or above this voltage (kV) form the bulk backbone.
    power_factor
        MW per MVA for ``capacity_mw``, in (0, 1].

    Returns
    -------
    pandas.DataFrame
        One row per site, in input order, with the columns :data:`CONNECTION_COLUMNS`:
        ``substation_id`` (bus id) and ``substation_name``, ``substation_kv``, the nearest AC bus
        with ``voltage_kv >= min_kv``; ``interconnect_km``, the straight-line distance to it in the
        graph's CRS; ``backbone_path_km``, the shortest network path (by ``length_km``) from it to
        any backbone bus (0 on the backbone, NaN on an island without one); ``capacity_mw`` from
        :func:`station_capacity_mw`.

    Raises
    ------
    PowerGridError
        If ``sites_xy`` is not ``(n, 2)`` and finite, or no AC bus reaches ``min_kv``.
    """
    _check_power_factor(power_factor)
    sites = np.asarray(sites_xy, dtype=np.float64)
    if sites.ndim != 2 or sites.shape[1] != 2 or not np.isfinite(sites).all():
        raise PowerGridError(
            f"sites_xy must be a finite (n, 2) array of x, y metres, got shape {sites.shape}"
        )

    candidates = [
        n for n, d in G.nodes(data=True) if d["voltage_kv"] >= min_kv and not d.get("dc", False)
    ]
    if not candidates:
        raise PowerGridError(
            f"no AC bus in the power grid has a voltage of at least {min_kv:g} kV; "
            "lower min_connection_kv or check the buses table"
        )
    if len(sites) == 0:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in CONNECTION_COLUMNS})

    bus_xy = np.array([(G.nodes[n]["x_m"], G.nodes[n]["y_m"]) for n in candidates])
    distance_m, index = cKDTree(bus_xy).query(sites)

    to_backbone_km = _to_backbone_km(G, backbone_kv)

    buses_by_station: dict[str, list[str]] = {}
    for n, station in G.nodes(data="station_id"):
        buses_by_station.setdefault(station, []).append(n)
    capacity_by_station: dict[str, float] = {}

    rows = []
    for d_m, i in zip(distance_m, index, strict=True):
        bus = candidates[int(i)]
        node = G.nodes[bus]
        station = node["station_id"]
        if station not in capacity_by_station:
            capacity_by_station[station] = _station_capacity_mw(
                G, buses_by_station[station], power_factor
            )
        rows.append(
            {
                "substation_id": bus,
                "substation_name": node.get("name", ""),
                "substation_kv": float(node["voltage_kv"]),
                "interconnect_km": float(d_m) / M_PER_KM,
                "backbone_path_km": float(to_backbone_km.get(bus, math.nan)),
                "capacity_mw": capacity_by_station[station],
            }
        )
    return pd.DataFrame(rows, columns=list(CONNECTION_COLUMNS))


def backbone_path_km(G: nx.Graph, buses: Iterable[str], *, backbone_kv: float) -> pd.Series:
    """Shortest network path (km, by ``length_km``) from each bus to any backbone bus.

    0 on the backbone, NaN on an island without one.
    """
    dist = _to_backbone_km(G, backbone_kv)
    return pd.Series({b: float(dist.get(b, math.nan)) for b in buses}, name="backbone_path_km")


def _to_backbone_km(G: nx.Graph, backbone_kv: float) -> dict[Any, float]:
    backbone = [n for n, kv in G.nodes(data="voltage_kv") if kv >= backbone_kv]
    # One multi-source Dijkstra from the whole backbone gives every bus its distance to the
    # nearest backbone bus; running it per site would repeat the same search.
    if not backbone:
        return {}
    return dict(nx.multi_source_dijkstra_path_length(G, backbone, weight="length_km"))


def _station_capacity_mw(G: nx.Graph, station_buses: list[str], power_factor: float) -> float:
    lines: set[frozenset[str]] = set()
    rating_mva = 0.0
    for bus in station_buses:
        for u, v, data in G.edges(bus, data=True):
            edge = frozenset((u, v))
            # A line between two buses of one station touches it twice but counts once.
            if data["kind"] == "line" and edge not in lines:
                lines.add(edge)
                rating_mva += float(data["rating_mva"])
    return rating_mva / 2.0 * power_factor


def _check_power_factor(power_factor: float) -> None:
    if not (0.0 < power_factor <= 1.0):
        raise PowerGridError(f"power_factor must be in (0, 1], got {power_factor!r}")


def _dtype(column: str) -> str:
    return "str" if column in ("substation_id", "substation_name") else "float64"
