"""The power-grid graph, built from raw OpenStreetMap line ways and substation points.

The PyPSA-Earth/PyPSA-Eur recipe (docs/domain.md section 3), made to survive real OSM data and to
say what it could not fix:

1. split multi-voltage ways (``voltage="154000;345000"``) into one line per voltage;
2. group substation points closer than ``station_group_m`` into stations (single-linkage, which is
   DBSCAN with ``min_samples=1``) and make one bus per station and voltage;
3. join ways of one voltage that meet end to end into topological lines; a way end that touches
   another way's interior splits it there; three or more way ends meeting away from a station make
   a junction bus;
4. snap each line end to the nearest bus of its voltage within ``snap_tolerance_m``; an end beyond
   it gets a ``line_end`` bus of its own and is reported as dangling;
5. chain the voltage levels of each station with transformers (AC) and converters (DC);
6. merge parallel lines between the same two buses, as
   :func:`~gridsite.powergrid.graph.graph_from_pypsa_tables` does.

The graph has the schema of :func:`~gridsite.powergrid.graph.graph_from_pypsa_tables`; the QA
table lists every problem met on the way plus :func:`~gridsite.powergrid.qa.grid_qa` of the result.
Nothing here reads or writes files.
"""

# G is networkx's conventional name for a graph (house style: networkx puts G first).

from __future__ import annotations

import itertools
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.geometry import LineString, MultiLineString
from shapely.ops import substring

from gridsite.errors import CRSError, PowerGridError
from gridsite.geo import M_PER_KM
from gridsite.powergrid.graph import (
    DEFAULT_RATING_MVA_PER_CIRCUIT,
    V_PER_KV,
    _as_bool,
    _Branch,
    _projector,
    _rating_table,
    circuits_from_cables,
    rating_mva_for_voltage,
)
from gridsite.powergrid.qa import LINE_END_SYMBOL, grid_qa, qa_row, qa_table

__all__ = ["graph_from_osm_lines"]

logger = logging.getLogger(__name__)

_MIN_PLAUSIBLE_VOLTAGE_V = 1000.0
_TAG_SEPARATOR = ";"

XY = NDArray[np.float64]
Group = tuple[float, bool]  # (voltage kV, dc): lines only join buses of their own group


def graph_from_osm_lines(
    lines: gpd.GeoDataFrame,
    substations: gpd.GeoDataFrame,
    *,
    crs: str,
    station_group_m: float = 500.0,
    snap_tolerance_m: float = 1000.0,
    join_tolerance_m: float = 20.0,
    far_snap_m: float = 500.0,
    cables_column: str = "circuits",
    rating_mva_per_circuit: Sequence[tuple[float, float]] = DEFAULT_RATING_MVA_PER_CIRCUIT,
    power_factor: float = 1.0,
) -> tuple[nx.Graph, pd.DataFrame]:
    """Build the power-grid graph from OSM line ways and substation points, and report its flaws.

    Parameters
    ----------
    lines
        OSM power line/cable ways, LineStrings (MultiLineStrings are taken part by part) in any
        CRS: ``voltage`` (V; ``";"``-separated for multi-voltage ways), optional ``line_id``
        (else the index), ``cables_column``, ``underground`` and ``dc`` (bool).
    substations
        Substation points in any CRS (polygons are taken at a representative point) with
        ``voltage`` (V; ``";"``-separated for several levels), optional ``name`` and ``dc``.
        A multi-voltage station may be one point with several voltages or several points. The
        index identifies a point in the QA table. PyPSA-Earth's ``all_buses_build_network.csv``
        as points is one such table.
    crs
        Projected CRS in metres in which all distances are measured, e.g. ``"EPSG:5179"``; stored
        as ``G.graph["crs"]``.
    station_group_m
        Substation points closer than this (metres) form one station. Also the radius within
        which a junction or a through-point of two ways is taken to be at a station.
    snap_tolerance_m
        A line end joins the nearest bus of its voltage (and AC/DC kind) within this distance
        (metres); beyond it, the end is dangling.
    join_tolerance_m
        Way ends closer than this (metres) meet; a way end this close to another way's interior
        splits that way into a T-junction.
    far_snap_m
        Line ends snapped farther than this (metres) from their bus are reported as
        ``far_snap``.
    cables_column
        Column with the OSM ``cables`` count (PyPSA-Earth calls it ``circuits``). A line has
        ``max(1, cables // 3)`` circuits (:func:`~gridsite.powergrid.graph.circuits_from_cables`);
        a multi-voltage way's ``"3;6"`` is paired with its voltages, a single count is divided
        evenly between them.
    rating_mva_per_circuit
        ``(voltage class kV, MVA per circuit)``; a line is rated at its circuits times the rating
        of the nearest class.
    power_factor
        MW per MVA, in (0, 1]; recorded as ``G.graph["power_factor"]``.

    Returns
    -------
    G : networkx.Graph
        The schema of :func:`~gridsite.powergrid.graph.graph_from_pypsa_tables`, plus a node
        ``symbol``: ``"substation"`` (``bus_id`` ``"S<station>-<kV>"``, ``"...dc"`` for DC),
        ``"junction"`` (``"J<n>-<kV>"``) or ``"line_end"`` (``"E<n>-<kV>"``, with
        ``nearest_bus_m``). A line is a chain of ways: ``line_ids`` lists them (a way split at a
        T appears in two lines), ``length_km`` is the sum of their lengths in ``crs``,
        ``cables`` the fewest along the chain, ``underground`` true if any way is a cable; its
        geometry (WGS84 lon/lat) is the ways' and is not stretched to the buses. Substation buses
        that no line reaches are left out (and reported).
    qa : pandas.DataFrame
        One row per issue, columns :data:`~gridsite.powergrid.qa.QA_COLUMNS`: the build's own
        ``no_voltage``, ``multi_voltage_split``, ``no_geometry``, ``no_line`` (substation bus left
        out), ``self_loop`` (a line longer than ``2 * station_group_m`` from a bus back to itself,
        dropped; shorter ones are spans inside a station, dropped and counted in
        ``G.graph["in_station_ways"]``) and ``ring`` (a closed chain touching nothing, dropped),
        followed by :func:`~gridsite.powergrid.qa.grid_qa` of
        the graph with ``snap_tolerance_m=far_snap_m`` (islands, dangling ends, far snaps).

    Raises
    ------
    PowerGridError
        If a table lacks ``voltage`` or a geometry, a tolerance is not positive, or the rating
        table or power factor is invalid (all these problems are reported at once); or if not
        one way ends at a substation (ways with some ends away from substations are kept: those
        ends become ``line_end`` buses, reported as ``dangling_end`` in the QA table).
    CRSError
        If ``crs`` is not projected in metres, or an input has no CRS.
    """
    ratings = _rating_table(rating_mva_per_circuit)
    _check_inputs(lines, substations, station_group_m, snap_tolerance_m, join_tolerance_m)
    if not (0.0 < power_factor <= 1.0):
        raise PowerGridError(f"power_factor must be in (0, 1], got {power_factor!r}")
    _projector(crs)  # validates crs: projected, metres
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    issues: list[dict[str, Any]] = []

    points = _substation_points(substations, crs, issues)
    stations = _group_stations(points, station_group_m)
    buses = _station_buses(points, stations, to_lonlat)
    parts = _line_parts(lines, crs, cables_column, to_lonlat, issues)

    G = nx.Graph()
    branches: dict[tuple[str, str], _Branch] = {}
    counters = {"J": 0, "E": 0}
    for group in sorted({p.group for p in parts}):
        group_parts = [p for p in parts if p.group == group]
        group_buses = [b for b in buses if (b["voltage_kv"], b["dc"]) == group]
        _build_group(
            G,
            branches,
            group,
            group_parts,
            group_buses,
            counters=counters,
            station_group_m=station_group_m,
            snap_tolerance_m=snap_tolerance_m,
            join_tolerance_m=join_tolerance_m,
            ratings=ratings,
            to_lonlat=to_lonlat,
            issues=issues,
        )
    for (u, v), branch in branches.items():
        G.add_edge(u, v, **branch.attrs())
    if parts and not any(sym == "substation" for _, sym in G.nodes(data="symbol")):
        raise PowerGridError(
            f"not one of the {len(parts)} line ways (at {len({p.group for p in parts})} "
            f"voltage(s)) ends within snap_tolerance_m = {snap_tolerance_m:g} m of a "
            f"substation of its voltage ({len(points)} substation points): check that the "
            "lines and substations cover the same area and both give voltages in volts, or "
            "raise snap_tolerance_m"
        )
    _drop_unreached_buses(G, buses, issues)
    _add_station_branches(G)

    G.graph["crs"] = crs
    G.graph["power_factor"] = power_factor
    G.graph["rating_mva_per_circuit"] = ratings
    G.graph["rating_source"] = "per-circuit ratings by nearest voltage class: " + ", ".join(
        f"{kv:g} kV {mva:g} MVA" for kv, mva in ratings
    )
    G.graph["source"] = "osm_lines"
    G.graph.setdefault("in_station_ways", 0)

    graph_issues = grid_qa(G, snap_tolerance_m=far_snap_m).to_dict("records")
    qa = qa_table([*issues, *({str(k): v for k, v in row.items()} for row in graph_issues)])
    logger.info(
        "power grid from OSM: %d buses, %d line edges from %d ways, %d QA issues",
        G.number_of_nodes(),
        sum(1 for *_, k in G.edges(data="kind") if k == "line"),
        len(lines),
        len(qa),
    )
    return G, qa


# --- inputs ---------------------------------------------------------------------------------


@dataclass
class _Part:
    """One way (or a piece of it) at one voltage, in projected metres."""

    line_id: str
    group: Group
    xy: LineString
    cables: int
    underground: bool


def _check_inputs(
    lines: gpd.GeoDataFrame,
    substations: gpd.GeoDataFrame,
    station_group_m: float,
    snap_tolerance_m: float,
    join_tolerance_m: float,
) -> None:
    problems = []
    for table, df in (("lines", lines), ("substations", substations)):
        if not isinstance(df, gpd.GeoDataFrame):
            problems.append(f"{table} must be a GeoDataFrame, got {type(df).__name__}")
            continue
        if "voltage" not in df.columns:
            problems.append(f"{table} has no 'voltage' column (volts, ';' between levels)")
        if df.crs is None:
            raise CRSError(f"{table} has no CRS; set it (OSM data is EPSG:4326) before building")
    for name, value in (
        ("station_group_m", station_group_m),
        ("snap_tolerance_m", snap_tolerance_m),
        ("join_tolerance_m", join_tolerance_m),
    ):
        if not (value > 0 and math.isfinite(value)):
            problems.append(f"{name} must be a positive number of metres, got {value!r}")
    if problems:
        raise PowerGridError(
            "cannot build the power grid from OSM:\n  - " + "\n  - ".join(problems)
        )


def _split_tag(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [t.strip() for t in str(value).split(_TAG_SEPARATOR) if t.strip()]


def _voltages_kv(value: object) -> tuple[list[float], str]:
    """Return the tag's voltages (kV) and, if some part is unusable, why."""
    voltages, bad = [], []
    for token in _split_tag(value):
        try:
            volts = float(token)
        except ValueError:
            bad.append(token)
            continue
        if not (math.isfinite(volts) and volts >= _MIN_PLAUSIBLE_VOLTAGE_V):
            bad.append(token)
        else:
            voltages.append(volts / V_PER_KV)
    if bad:
        return voltages, f"voltage tag {value!r}: {', '.join(bad)} is not a voltage in volts"
    if not voltages:
        return voltages, "no voltage tag"
    return voltages, ""


def _cables_per_voltage(value: object, n_voltages: int) -> list[int]:
    tokens = _split_tag(value)
    numbers = []
    for token in tokens:
        try:
            number = float(token)
        except ValueError:
            continue
        if math.isfinite(number):
            numbers.append(round(number))
    if len(numbers) == n_voltages:
        return numbers
    total = numbers[0] if len(numbers) == 1 else sum(numbers)
    # A single count shared by several voltages is divided evenly between them.
    return [total // n_voltages] * n_voltages


def _as_points(geometries: gpd.GeoSeries) -> gpd.GeoSeries:
    is_point = geometries.geom_type == "Point"
    if bool(is_point.all()):
        return geometries
    return geometries.where(is_point, geometries.representative_point())


def _substation_points(
    substations: gpd.GeoDataFrame, crs: str, issues: list[dict[str, Any]]
) -> pd.DataFrame:
    """Return one row per substation point and voltage.

    Columns ``point_id``, ``voltage_kv``, ``dc``, ``name``, ``x_m``, ``y_m``.
    """
    geometry = _as_points(substations.geometry)
    valid = geometry.notna() & ~geometry.is_empty
    xy = geometry.to_crs(crs)
    dc = (
        [_as_bool(v) for v in substations["dc"]]
        if "dc" in substations
        else [False] * len(substations)
    )
    names = substations["name"] if "name" in substations else pd.Series("", substations.index)
    rows = []
    lonlat = geometry.to_crs("EPSG:4326")
    for i, (index, voltage) in enumerate(
        zip(substations.index, substations["voltage"], strict=True)
    ):
        point_id = str(index)
        voltages, problem = _voltages_kv(voltage)
        if not bool(valid.iloc[i]):
            issues.append(qa_row("no_geometry", point_id, detail="substation without geometry"))
            continue
        if problem:
            issues.append(
                qa_row(
                    "no_voltage",
                    point_id,
                    lon=float(lonlat.iloc[i].x),
                    lat=float(lonlat.iloc[i].y),
                    detail=f"substation: {problem}" + ("" if voltages else "; left out"),
                    n_buses=1,
                )
            )
        name = names.iloc[i]
        for kv in voltages:
            rows.append(
                {
                    "point_id": point_id,
                    "voltage_kv": kv,
                    "dc": dc[i],
                    "name": "" if pd.isna(name) else str(name),
                    "x_m": float(xy.iloc[i].x),
                    "y_m": float(xy.iloc[i].y),
                }
            )
    columns = ["point_id", "voltage_kv", "dc", "name", "x_m", "y_m"]
    return pd.DataFrame(rows, columns=columns)


def _group_stations(points: pd.DataFrame, station_group_m: float) -> NDArray[np.int64]:
    """Label each point with its station: connected components of the radius graph."""
    n = len(points)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    xy = points[["x_m", "y_m"]].to_numpy(dtype=np.float64)
    pairs = cKDTree(xy).query_pairs(station_group_m, output_type="ndarray")
    adjacency = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(adjacency, directed=False)
    # Renumber in order of first appearance so station ids follow the input's order.
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(np.argsort(first))
    return np.asarray(order[labels], dtype=np.int64)


def _station_buses(
    points: pd.DataFrame, stations: NDArray[np.int64], to_lonlat: Transformer
) -> list[dict[str, Any]]:
    """Return one bus per (station, voltage, dc), at the mean of its points."""
    if len(points) == 0:
        return []
    df = points.assign(station=stations)
    names = df.groupby("station")["name"].agg(lambda s: next((n for n in s if n), ""))
    buses = []
    for _, g in df.groupby(["station", "voltage_kv", "dc"], sort=True):
        first = g.iloc[0]
        station, kv, dc = int(first["station"]), float(first["voltage_kv"]), bool(first["dc"])
        x_m, y_m = float(g["x_m"].mean()), float(g["y_m"].mean())
        lon, lat = to_lonlat.transform(x_m, y_m)
        station_id = f"S{station}"
        bus_id = f"{station_id}-{kv:g}" + ("dc" if dc else "")
        buses.append(
            {
                "bus_id": bus_id,
                "station_id": station_id,
                "name": str(names.loc[station]),
                "voltage_kv": float(kv),
                "lon": float(lon),
                "lat": float(lat),
                "x_m": x_m,
                "y_m": y_m,
                "dc": bool(dc),
                "symbol": "substation",
                "point_ids": tuple(g["point_id"]),
            }
        )
    return buses


def _line_parts(
    lines: gpd.GeoDataFrame,
    crs: str,
    cables_column: str,
    to_lonlat: Transformer,
    issues: list[dict[str, Any]],
) -> list[_Part]:
    projected = lines.geometry.to_crs(crs)
    ids = [str(v) for v in lines.get("line_id", lines.index)]
    cables_raw = lines[cables_column] if cables_column in lines else pd.Series(None, lines.index)
    underground = [_as_bool(v) for v in lines.get("underground", [False] * len(lines))]
    dc = [_as_bool(v) for v in lines.get("dc", [False] * len(lines))]
    parts = []
    for i, (line_id, voltage) in enumerate(zip(ids, lines["voltage"], strict=True)):
        pieces = _linestrings(projected.iloc[i])
        if not pieces:
            issues.append(qa_row("no_geometry", line_id, detail="line without a LineString"))
            continue
        voltages, problem = _voltages_kv(voltage)
        lon, lat = _lonlat_at_middle(pieces[0], to_lonlat)
        where: dict[str, Any] = {"lon": float(lon), "lat": float(lat), "n_buses": 0}
        if problem:
            kept = f"; kept {', '.join(f'{kv:g}' for kv in voltages)} kV" if voltages else ""
            issues.append(qa_row("no_voltage", line_id, detail=problem + kept, **where))
        if not voltages:
            continue
        cables = _cables_per_voltage(cables_raw.iloc[i], len(voltages))
        if len(voltages) > 1:
            issues.append(
                qa_row(
                    "multi_voltage_split",
                    line_id,
                    voltage_kv=max(voltages),
                    detail=f"voltage {voltage!r}, cables {cables_raw.iloc[i]!r} -> "
                    + ", ".join(
                        f"{kv:g} kV x {c} cables" for kv, c in zip(voltages, cables, strict=True)
                    ),
                    **where,
                )
            )
        for k, (kv, n_cables) in enumerate(zip(voltages, cables, strict=True)):
            part_id = line_id if len(voltages) == 1 else f"{line_id}-{k + 1}"
            for piece in pieces:
                parts.append(_Part(part_id, (kv, dc[i]), piece, n_cables, underground[i]))
    return parts


def _linestrings(geometry: object) -> list[LineString]:
    if isinstance(geometry, LineString) and geometry.length > 0:
        return [geometry]
    if isinstance(geometry, MultiLineString):
        return [g for g in geometry.geoms if g.length > 0]
    return []


# --- topology of one voltage group --------------------------------------------------------


def _endpoint_vertices(parts: list[_Part], join_tolerance_m: float) -> tuple[XY, NDArray[np.int64]]:
    """Return every part's two endpoints (rows 2i, 2i+1) and the vertex each belongs to."""
    ends = np.array(
        [c for p in parts for c in (p.xy.coords[0][:2], p.xy.coords[-1][:2])], dtype=np.float64
    ).reshape(-1, 2)
    pairs = cKDTree(ends).query_pairs(join_tolerance_m, output_type="ndarray")
    n = len(ends)
    adjacency = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(adjacency, directed=False)
    return ends, np.asarray(labels, dtype=np.int64)


def _split_at_touching_ends(
    parts: list[_Part],
    bus_tree: cKDTree | None,
    snap_tolerance_m: float,
    join_tolerance_m: float,
) -> list[_Part]:
    """Split ways whose interior another way's loose end touches, making a T-junction there."""
    ends, labels = _endpoint_vertices(parts, join_tolerance_m)
    degree = np.bincount(labels)
    loose = [i for i in range(len(ends)) if degree[labels[i]] == 1]
    if bus_tree is not None and loose:
        dist, _ = bus_tree.query(ends[loose])
        loose = [i for i, d in zip(loose, np.atleast_1d(dist), strict=True) if d > snap_tolerance_m]
    if not loose:
        return parts
    tree = shapely.STRtree([p.xy for p in parts])
    hits = tree.query(shapely.points(ends[loose]), predicate="dwithin", distance=join_tolerance_m)
    cuts: dict[int, list[float]] = defaultdict(list)
    for k, j in zip(hits[0], hits[1], strict=True):
        i = loose[int(k)]
        if int(j) == i // 2:
            continue
        line = parts[int(j)].xy
        at = float(line.project(shapely.Point(ends[i])))
        if join_tolerance_m < at < line.length - join_tolerance_m:
            cuts[int(j)].append(at)
    if not cuts:
        return parts
    result = []
    for j, part in enumerate(parts):
        if j not in cuts:
            result.append(part)
            continue
        stops = [0.0, *sorted(set(cuts[j])), part.xy.length]
        for a, b in itertools.pairwise(stops):
            piece = substring(part.xy, a, b)
            if isinstance(piece, LineString) and piece.length > 0:
                result.append(_Part(part.line_id, part.group, piece, part.cables, part.underground))
    return result


def _chains(
    n_parts: int, labels: NDArray[np.int64], terminal: set[int]
) -> list[tuple[int, int, list[tuple[int, bool]]]]:
    """Walk the parts from terminal vertex to terminal vertex through the other vertices.

    Returns ``(start vertex, end vertex, [(part, forward), ...])`` per chain; a closed chain that
    meets no terminal is returned from and to its first vertex.
    """
    incident: dict[int, list[int]] = defaultdict(list)
    for p in range(n_parts):
        incident[int(labels[2 * p])].append(p)
        incident[int(labels[2 * p + 1])].append(p)
    visited = [False] * n_parts

    def walk(start: int, first: int) -> tuple[int, int, list[tuple[int, bool]]]:
        sequence: list[tuple[int, bool]] = []
        here, part = start, first
        while True:
            visited[part] = True
            forward = int(labels[2 * part]) == here
            sequence.append((part, forward))
            here = int(labels[2 * part + 1]) if forward else int(labels[2 * part])
            if here in terminal or here == start:
                return start, here, sequence
            following = [q for q in incident[here] if not visited[q]]
            if not following:
                return start, here, sequence
            part = following[0]

    chains = []
    for vertex in sorted(terminal):
        for part in incident[vertex]:
            if not visited[part]:
                chains.append(walk(vertex, part))
    for part in range(n_parts):
        if not visited[part]:
            chains.append(walk(int(labels[2 * part]), part))
    return chains


def _build_group(
    G: nx.Graph,
    branches: dict[tuple[str, str], _Branch],
    group: Group,
    parts: list[_Part],
    buses: list[dict[str, Any]],
    *,
    counters: dict[str, int],
    station_group_m: float,
    snap_tolerance_m: float,
    join_tolerance_m: float,
    ratings: tuple[tuple[float, float], ...],
    to_lonlat: Transformer,
    issues: list[dict[str, Any]],
) -> None:
    kv, dc = group
    bus_xy = np.array([(b["x_m"], b["y_m"]) for b in buses], dtype=np.float64).reshape(-1, 2)
    bus_tree = cKDTree(bus_xy) if len(buses) else None
    parts = _split_at_touching_ends(parts, bus_tree, snap_tolerance_m, join_tolerance_m)
    ends, labels = _endpoint_vertices(parts, join_tolerance_m)
    n_vertices = int(labels.max()) + 1
    degree = np.bincount(labels, minlength=n_vertices)
    centre = np.zeros((n_vertices, 2))
    np.add.at(centre, labels, ends)
    centre /= degree[:, None]
    if bus_tree is not None:
        dist, nearest = bus_tree.query(centre)
    else:
        dist, nearest = np.full(n_vertices, np.inf), np.zeros(n_vertices, dtype=np.int64)

    vertex_bus: dict[int, str] = {}
    suffix = f"{kv:g}" + ("dc" if dc else "")
    for v in range(n_vertices):
        at_station = dist[v] <= (snap_tolerance_m if degree[v] == 1 else station_group_m)
        if at_station:
            bus = buses[int(nearest[v])]
            vertex_bus[v] = bus["bus_id"]
            if bus["bus_id"] not in G:
                G.add_node(bus["bus_id"], **_without(bus, ("point_ids",)))
        elif degree[v] != 2:
            prefix = "J" if degree[v] > 2 else "E"
            counters[prefix] += 1
            station_id = f"{prefix}{counters[prefix]}"
            lon, lat = to_lonlat.transform(centre[v, 0], centre[v, 1])
            attrs: dict[str, Any] = {
                "bus_id": f"{station_id}-{suffix}",
                "station_id": station_id,
                "name": "",
                "voltage_kv": kv,
                "lon": float(lon),
                "lat": float(lat),
                "x_m": float(centre[v, 0]),
                "y_m": float(centre[v, 1]),
                "dc": dc,
                "symbol": "junction" if prefix == "J" else LINE_END_SYMBOL,
            }
            if prefix == "E":
                attrs["nearest_bus_m"] = float(dist[v])
            vertex_bus[v] = attrs["bus_id"]
            G.add_node(attrs["bus_id"], **attrs)

    rating = rating_mva_for_voltage(kv, ratings)
    for start, end, sequence in _chains(len(parts), labels, set(vertex_bus)):
        chain = [parts[p] for p, _ in sequence]
        coords: list[tuple[float, float]] = []
        for p, forward in sequence:
            xy = list(parts[p].xy.coords)
            coords += [(c[0], c[1]) for c in (xy if forward else xy[::-1])]
        geometry_xy = LineString(coords)
        length_km = sum(p.xy.length for p in chain) / M_PER_KM
        line_ids = list(dict.fromkeys(p.line_id for p in chain))
        lon, lat = _lonlat_at_middle(geometry_xy, to_lonlat)
        where: dict[str, Any] = {"voltage_kv": kv, "lon": float(lon), "lat": float(lat)}
        if start not in vertex_bus or end not in vertex_bus:
            issues.append(
                qa_row("ring", ";".join(line_ids), detail=f"{length_km:.2f} km closed", **where)
            )
            continue
        u, w = vertex_bus[start], vertex_bus[end]
        if u == w and length_km * M_PER_KM <= 2 * station_group_m:
            # A span inside the station's footprint (busbar, gantry): no branch, nothing wrong.
            G.graph["in_station_ways"] = G.graph.get("in_station_ways", 0) + len(chain)
            continue
        if u == w:
            issues.append(
                qa_row(
                    "self_loop",
                    ";".join(line_ids),
                    detail=f"{length_km:.2f} km from bus {u} back to it; dropped",
                    n_buses=1,
                    **where,
                )
            )
            continue
        cables = min(p.cables for p in chain)
        circuits = circuits_from_cables(cables)
        branch = _Branch(
            kind="line",
            line_ids=line_ids,
            length_km=length_km,
            voltage_kv=kv,
            cables=cables,
            circuits=circuits,
            rating_mva=circuits * rating,
            underground=any(p.underground for p in chain),
            dc=dc,
            geometry=shapely.transform(geometry_xy, _lonlat_of(to_lonlat)),
        )
        key = (u, w) if u <= w else (w, u)
        if key in branches:
            branches[key].merge(branch)
        else:
            branches[key] = branch


def _lonlat_at_middle(line: LineString, to_lonlat: Transformer) -> tuple[float, float]:
    middle = line.interpolate(0.5, normalized=True)
    lon, lat = to_lonlat.transform(middle.x, middle.y)
    return float(lon), float(lat)


def _lonlat_of(to_lonlat: Transformer) -> Any:
    def transform(xy: XY) -> XY:
        lon, lat = to_lonlat.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return transform


# --- stations -------------------------------------------------------------------------------


def _drop_unreached_buses(
    G: nx.Graph, buses: list[dict[str, Any]], issues: list[dict[str, Any]]
) -> None:
    """Report the substation buses no line reached; they are not added to the graph."""
    for bus in buses:
        if bus["bus_id"] in G:
            continue
        issues.append(
            qa_row(
                "no_line",
                bus["bus_id"],
                voltage_kv=bus["voltage_kv"],
                lon=bus["lon"],
                lat=bus["lat"],
                detail="no line of this voltage reaches it; left out (substation points "
                + ", ".join(bus["point_ids"][:5])
                + ")",
                n_buses=1,
            )
        )


def _add_station_branches(G: nx.Graph) -> None:
    """Chain each station's AC levels by voltage with transformers; DC levels get a converter."""
    by_station: dict[str, list[str]] = defaultdict(list)
    for n, data in G.nodes(data=True):
        if data.get("symbol") == "substation":
            by_station[data["station_id"]].append(n)
    for station in sorted(by_station):
        members = by_station[station]
        ac = sorted((n for n in members if not G.nodes[n]["dc"]), key=_kv_of(G))
        for low, high in itertools.pairwise(ac):
            _add_station_branch(G, low, high, "transformer")
        for n in sorted(n for n in members if G.nodes[n]["dc"]):
            if ac:
                kv = G.nodes[n]["voltage_kv"]
                nearest = min(ac, key=lambda a: (abs(G.nodes[a]["voltage_kv"] - kv), a))
                _add_station_branch(G, nearest, n, "converter")


def _kv_of(G: nx.Graph) -> Any:
    def key(n: str) -> tuple[float, str]:
        return float(G.nodes[n]["voltage_kv"]), n

    return key


def _add_station_branch(G: nx.Graph, u: str, v: str, kind: str) -> None:
    a, b = G.nodes[u], G.nodes[v]
    G.add_edge(
        u,
        v,
        kind=kind,
        line_ids=(f"{kind}_{u}_{v}",),
        length_km=0.0,
        voltage_kv=float(min(a["voltage_kv"], b["voltage_kv"])),
        cables=0,
        circuits=0,
        rating_mva=math.nan,
        underground=False,
        dc=kind == "converter",
        geometry=LineString([(a["lon"], a["lat"]), (b["lon"], b["lat"])]),
    )


def _without(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}
