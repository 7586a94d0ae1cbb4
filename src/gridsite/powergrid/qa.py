"""Quality checks of a power-grid graph: what a model would silently get wrong.

:func:`grid_qa` inspects any graph of the power-grid schema (from
:func:`~gridsite.powergrid.graph.graph_from_pypsa_tables` or
:func:`~gridsite.powergrid.build.graph_from_osm_lines`) and returns one row per issue;
:func:`qa_summary` condenses such a table into one log line. Nothing is fixed here: problems are
reported so that a reader can judge them, not hidden.
"""

# G is networkx's conventional name for a graph (house style: networkx puts G first).

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from pyproj import Geod
from shapely.geometry import LineString

__all__ = ["QA_COLUMNS", "grid_qa", "qa_summary"]

#: Columns of a QA table, in order (see :func:`grid_qa`).
QA_COLUMNS: tuple[str, ...] = (
    "issue",
    "element",
    "voltage_kv",
    "lon",
    "lat",
    "detail",
    "mw",
    "n_buses",
)

#: Node ``symbol`` of a bus made for a line end that reached no substation.
LINE_END_SYMBOL = "line_end"

_GEOD = Geod(ellps="WGS84")
_MAX_LISTED = 10


def grid_qa(G: nx.Graph, *, snap_tolerance_m: float = 500.0) -> pd.DataFrame:
    """Find the power-grid graph's islands, unconnected buses, dangling ends and far snaps.

    Parameters
    ----------
    G
        A power-grid graph: nodes with ``voltage_kv``, ``lon``, ``lat`` (WGS84 degrees), edges with
        ``kind``, ``line_ids``, ``voltage_kv`` and ``geometry`` (LineString, WGS84 lon/lat), as
        :func:`~gridsite.powergrid.graph.graph_from_pypsa_tables` makes them. Optional node
        attributes ``load_mw`` and ``pmax_mw`` (MW) are summed per island; ``symbol`` ==
        ``"line_end"`` marks a bus made for a line end that reached no substation, and its
        ``nearest_bus_m`` the distance to the nearest bus of its voltage (metres).
    snap_tolerance_m
        A line whose geometry ends more than this far from the bus it is attached to (geodesic
        metres on WGS84) is a far snap.

    Returns
    -------
    pandas.DataFrame
        One row per issue, columns :data:`QA_COLUMNS`, sorted by issue then element:

        - ``island``: every connected component but the largest (isolated buses included);
          ``element`` its first bus id, ``n_buses`` its size, ``mw`` the sum of its buses'
          ``load_mw`` (NaN if no bus of the graph has one), ``voltage_kv`` its highest voltage,
          ``lon``/``lat`` the mean of its buses; ``detail`` lists its buses and any ``pmax_mw``.
        - ``no_line``: a bus with no line (only transformers or converters, or nothing).
        - ``no_voltage``: a line edge whose ``voltage_kv`` is missing or not positive.
        - ``dangling_end``: a ``line_end`` bus; ``detail`` gives ``nearest_bus_m``.
        - ``far_snap``: one row per line end farther than ``snap_tolerance_m`` from its bus;
          ``element`` is the line ids joined with ``";"``, ``lon``/``lat`` the geometry's end.
    """
    rows: list[dict[str, Any]] = []
    rows += _island_rows(G)
    rows += _node_rows(G)
    rows += _edge_rows(G, snap_tolerance_m)
    return qa_table(rows)


def qa_summary(qa: pd.DataFrame) -> str:
    """Condense a QA table into one line for logging.

    Parameters
    ----------
    qa
        A table from :func:`grid_qa` or :func:`~gridsite.powergrid.build.graph_from_osm_lines`.

    Returns
    -------
    str
        For example ``"grid QA: 5 islands (12 buses, 0 MW), 3 dangling ends, 0 lines without
        voltage, 2 far snaps, 1 bus without lines"``, followed by counts of any other issues.
        The MW are the islands' stranded load, ``"load unknown"`` if the graph carries none.

    Examples
    --------
    >>> qa = pd.DataFrame({"issue": ["island", "far_snap"], "n_buses": [2, 1], "mw": [5.0, None]})
    >>> qa_summary(qa)  # doctest: +ELLIPSIS
    'grid QA: 1 islands (2 buses, 5 MW), 0 dangling ends, ..., 1 far snaps, 0 buses without lines'
    """
    counts = qa["issue"].value_counts().to_dict() if len(qa) else {}
    islands = qa[qa["issue"] == "island"] if len(qa) else qa
    n_island_buses = int(pd.to_numeric(islands["n_buses"]).sum()) if len(islands) else 0
    island_mw = pd.to_numeric(islands["mw"]) if len(islands) else pd.Series(dtype=float)
    if len(island_mw) and island_mw.isna().all():
        load = "load unknown"
    else:
        load = f"{float(island_mw.sum()):,.0f} MW"
    main = {
        "island": None,
        "dangling_end": "dangling ends",
        "no_voltage": "lines without voltage",
        "far_snap": "far snaps",
        "no_line": "buses without lines",
    }
    parts = [f"{counts.get('island', 0)} islands ({n_island_buses} buses, {load})"]
    parts += [f"{counts.get(issue, 0)} {label}" for issue, label in main.items() if label]
    others = sorted((k, v) for k, v in counts.items() if k not in main)
    text = "grid QA: " + ", ".join(parts)
    if others:
        text += "; also " + ", ".join(f"{v} {k}" for k, v in others)
    return text


def qa_table(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Return QA rows as a table with the :data:`QA_COLUMNS`, sorted by issue then element."""
    table = pd.DataFrame(list(rows), columns=list(QA_COLUMNS))
    table = table.astype(
        {
            "issue": "object",
            "element": "object",
            "voltage_kv": "float64",
            "lon": "float64",
            "lat": "float64",
            "detail": "object",
            "mw": "float64",
            "n_buses": "int64",
        }
    )
    return table.sort_values(["issue", "element"], kind="stable", ignore_index=True)


def qa_row(
    issue: str,
    element: str,
    *,
    voltage_kv: float = math.nan,
    lon: float = math.nan,
    lat: float = math.nan,
    detail: str = "",
    mw: float = math.nan,
    n_buses: int = 0,
) -> dict[str, Any]:
    """Return one QA row as a dict keyed by :data:`QA_COLUMNS`."""
    return {
        "issue": issue,
        "element": element,
        "voltage_kv": voltage_kv,
        "lon": lon,
        "lat": lat,
        "detail": detail,
        "mw": mw,
        "n_buses": n_buses,
    }


# --- internals ------------------------------------------------------------------------------


def _island_rows(G: nx.Graph) -> list[dict[str, Any]]:
    components = [sorted(map(str, c)) for c in nx.connected_components(G)]
    # Largest first; ties broken by bus id so the main island is the same on every run.
    components.sort(key=lambda c: (-len(c), c[0]))
    has_load = any("load_mw" in data for _, data in G.nodes(data=True))
    has_gen = any("pmax_mw" in data for _, data in G.nodes(data=True))
    by_str = {str(n): n for n in G.nodes}
    rows = []
    for component in components[1:]:
        nodes = [G.nodes[by_str[n]] for n in component]
        listed = ", ".join(component[:_MAX_LISTED]) + (
            " ..." if len(component) > _MAX_LISTED else ""
        )
        detail = f"buses {listed}"
        if has_gen:
            detail += f"; generation {_attr_sum(nodes, 'pmax_mw'):,.0f} MW"
        rows.append(
            qa_row(
                "island",
                component[0],
                voltage_kv=max(float(d.get("voltage_kv", math.nan)) for d in nodes),
                lon=float(np.mean([d["lon"] for d in nodes])),
                lat=float(np.mean([d["lat"] for d in nodes])),
                detail=detail,
                mw=_attr_sum(nodes, "load_mw") if has_load else math.nan,
                n_buses=len(component),
            )
        )
    return rows


def _attr_sum(nodes: list[dict[str, Any]], name: str) -> float:
    values = [float(d[name]) for d in nodes if name in d and not pd.isna(d[name])]
    return float(sum(values))


def _node_rows(G: nx.Graph) -> list[dict[str, Any]]:
    rows = []
    for n, data in G.nodes(data=True):
        kinds = [d.get("kind") for _, _, d in G.edges(n, data=True)]
        where: dict[str, Any] = {
            "voltage_kv": float(data.get("voltage_kv", math.nan)),
            "lon": float(data["lon"]),
            "lat": float(data["lat"]),
            "n_buses": 1,
        }
        if "line" not in kinds:
            detail = (
                "only " + " and ".join(sorted({f"{k}s" for k in kinds if k}))
                if kinds
                else "no branch at all"
            )
            rows.append(qa_row("no_line", str(n), detail=detail, **where))
        if data.get("symbol") == LINE_END_SYMBOL:
            nearest = float(data.get("nearest_bus_m", math.inf))
            detail = (
                f"nearest {where['voltage_kv']:g} kV bus at {nearest:,.0f} m"
                if math.isfinite(nearest)
                else f"no {where['voltage_kv']:g} kV bus at all"
            )
            rows.append(qa_row("dangling_end", str(n), detail=detail, **where))
    return rows


def _edge_rows(G: nx.Graph, snap_tolerance_m: float) -> list[dict[str, Any]]:
    rows = []
    for u, v, data in G.edges(data=True):
        if data.get("kind") != "line":
            continue
        element = ";".join(map(str, data.get("line_ids", ()))) or f"{u}-{v}"
        kv = float(data.get("voltage_kv", math.nan))
        geometry = data.get("geometry")
        if not (kv > 0):  # also catches NaN
            mid = _midpoint(geometry, G, u, v)
            rows.append(qa_row("no_voltage", element, lon=mid[0], lat=mid[1], detail=f"{u} - {v}"))
        if isinstance(geometry, LineString) and not geometry.is_empty:
            rows += _far_snap_rows(G, u, v, geometry, element, kv, snap_tolerance_m)
    return rows


def _far_snap_rows(
    G: nx.Graph,
    u: Any,
    v: Any,
    geometry: LineString,
    element: str,
    kv: float,
    snap_tolerance_m: float,
) -> list[dict[str, Any]]:
    start, end = geometry.coords[0], geometry.coords[-1]
    bu, bv = G.nodes[u], G.nodes[v]
    lons0 = [start[0], end[0], start[0], end[0]]
    lats0 = [start[1], end[1], start[1], end[1]]
    lons1 = [bu["lon"], bv["lon"], bv["lon"], bu["lon"]]
    lats1 = [bu["lat"], bv["lat"], bv["lat"], bu["lat"]]
    _, _, dist = _GEOD.inv(lons0, lats0, lons1, lats1)
    # The edge is undirected: its geometry may run u -> v or v -> u; take the closer reading.
    if dist[0] + dist[1] <= dist[2] + dist[3]:
        pairs = [(start, u, dist[0]), (end, v, dist[1])]
    else:
        pairs = [(start, v, dist[2]), (end, u, dist[3])]
    return [
        qa_row(
            "far_snap",
            element,
            voltage_kv=kv,
            lon=float(point[0]),
            lat=float(point[1]),
            detail=f"line end {float(d):,.0f} m from bus {bus}",
            n_buses=1,
        )
        for point, bus, d in pairs
        if float(d) > snap_tolerance_m
    ]


def _midpoint(geometry: object, G: nx.Graph, u: Any, v: Any) -> tuple[float, float]:
    if isinstance(geometry, LineString) and not geometry.is_empty:
        point = geometry.interpolate(0.5, normalized=True)
        return float(point.x), float(point.y)
    return (
        (float(G.nodes[u]["lon"]) + float(G.nodes[v]["lon"])) / 2,
        (float(G.nodes[u]["lat"]) + float(G.nodes[v]["lat"])) / 2,
    )
