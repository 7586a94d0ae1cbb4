"""The power-grid graph, built from PyPSA-Earth's OSM network tables.

PyPSA-Earth's ``build_osm_network`` writes the same four tables for any country: buses, lines,
transformers and converters, with voltages in volts, lengths in metres and WKT geometries in
WGS84 lon/lat. :func:`graph_from_pypsa_tables` turns them into an undirected :class:`networkx.Graph`
whose nodes are buses and whose edges are branches (lines, transformers, converters), each with a
thermal rating taken from a per-circuit table by voltage class.

Nothing here reads or writes files: DataFrames in, graphs and GeoDataFrames out.
"""

# G is networkx's conventional name for a graph (house style: networkx puts G first).

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry import LineString, Point

from gridsite.errors import CRSError, PowerGridError
from gridsite.geo import M_PER_KM

__all__ = [
    "DEFAULT_RATING_MVA_PER_CIRCUIT",
    "circuits_from_cables",
    "graph_from_pypsa_tables",
    "graph_summary",
    "graph_to_gdfs",
    "rating_mva_for_voltage",
    "warn_far_from_class",
]

logger = logging.getLogger(__name__)

#: KEPCO per-circuit thermal ratings ``(voltage class kV, MVA)``; see docs/domain.md section 3.
DEFAULT_RATING_MVA_PER_CIRCUIT: tuple[tuple[float, float], ...] = (
    (154.0, 452.0),
    (345.0, 2173.0),
    (765.0, 7290.0),
)

V_PER_KV = 1000.0
# PyPSA-Earth drops everything below 51 kV, so a voltage under 1 kV means the table is in kV.
_MIN_PLAUSIBLE_VOLTAGE_V = 1000.0
_CABLES_PER_CIRCUIT = 3

_BUS_COLUMNS = ("bus_id", "station_id", "voltage", "lon", "lat")
_LINE_COLUMNS = ("line_id", "bus0", "bus1", "voltage", "circuits", "length")
_TRANSFORMER_COLUMNS = ("line_id", "bus0", "bus1")
_CONVERTER_COLUMNS = ("converter_id", "bus0", "bus1")

BranchKey = tuple[str, str]


def circuits_from_cables(cables: int) -> int:
    """Return the number of three-phase circuits carried by ``cables`` conductors.

    One AC circuit is three phase conductors, so ``circuits = max(1, cables // 3)``: cables beyond a
    multiple of three are taken as earth or spare wires (the two Korean 765 kV lines tagged with 8
    cables are double-circuit routes, as all of KEPCO's 765 kV lines are), and a line with fewer
    than three cables (PyPSA-Earth writes 1 where OSM has no tag) counts as one circuit.

    Examples
    --------
    >>> [circuits_from_cables(c) for c in (0, 1, 2, 3, 6, 8, 9, 12)]
    [1, 1, 1, 1, 2, 2, 3, 4]
    """
    return max(1, int(cables) // _CABLES_PER_CIRCUIT)


def rating_mva_for_voltage(
    voltage_kv: float, rating_mva_per_circuit: Sequence[tuple[float, float]]
) -> float:
    """Return the per-circuit rating (MVA) of the voltage class nearest to ``voltage_kv``.

    Ties go to the lower class, the conservative choice.

    Examples
    --------
    >>> table = ((154, 452), (345, 2173), (765, 7290))
    >>> rating_mva_for_voltage(354, table), rating_mva_for_voltage(180, table)
    (2173.0, 452.0)
    """
    classes = _rating_table(rating_mva_per_circuit)
    nearest = min(classes, key=lambda kv_mva: (abs(kv_mva[0] - voltage_kv), kv_mva[0]))
    return nearest[1]


#: A line more than this fraction away from its rating class is logged: its rating is a guess.
FAR_FROM_CLASS = 0.2


def warn_far_from_class(
    voltages_kv: Iterable[float], rating_mva_per_circuit: Sequence[tuple[float, float]]
) -> list[float]:
    """Log one WARNING for line voltages far (> 20 %) from the rating class they are given.

    A grid outside Korea with the default (KEPCO) table would otherwise rate its 220 kV lines
    as 154 kV ones and its 500 kV lines as 345 kV ones without a word. Returns the voltages named.

    Examples
    --------
    >>> warn_far_from_class([154.0, 180.0, 220.0], ((154, 452), (345, 2173)))
    [220.0]
    """
    classes = _rating_table(rating_mva_per_circuit)
    far = []
    for kv in sorted({float(v) for v in voltages_kv if v == v and v > 0}):
        cls, _ = min(classes, key=lambda kv_mva: (abs(kv_mva[0] - kv), kv_mva[0]))
        if abs(kv - cls) > FAR_FROM_CLASS * cls:
            far.append(kv)
    if far:
        logger.warning(
            "lines at %s kV take the rating of a voltage class more than 20 %% away (classes: %s "
            "kV): set [powergrid] rating_mva_per_circuit to this grid's per-circuit ratings",
            ", ".join(f"{kv:g}" for kv in far),
            ", ".join(f"{kv:g}" for kv, _ in classes),
        )
    return far


def graph_from_pypsa_tables(
    buses: pd.DataFrame,
    lines: pd.DataFrame,
    transformers: pd.DataFrame | None = None,
    converters: pd.DataFrame | None = None,
    *,
    crs: str,
    rating_mva_per_circuit: Sequence[tuple[float, float]] = DEFAULT_RATING_MVA_PER_CIRCUIT,
    power_factor: float = 1.0,
    rating_source: str | None = None,
) -> nx.Graph:
    """Build the power-grid graph from PyPSA-Earth's OSM network tables.

    Parameters
    ----------
    buses
        ``all_buses_build_network.csv``: ``bus_id``, ``station_id``, ``voltage`` (V), ``lon``,
        ``lat`` (WGS84 degrees); optional ``dc`` (bool) and ``name``.
    lines
        ``all_lines_build_network.csv``: ``line_id``, ``bus0``, ``bus1``, ``voltage`` (V),
        ``circuits``, ``length`` (m); optional ``underground``, ``dc`` (bool) and ``geometry`` (WKT
        LineString in WGS84 lon/lat; a straight segment between the buses where missing).

        PyPSA-Earth's ``circuits`` column holds the OSM **cables** count, not circuits: in the
        Korean tables it takes the values 1, 2, 3, 6, 8, 9 and 12, with 6 (a double-circuit tower)
        on 494 of 803 lines, and a 765 kV route of 6 cables is the known double-circuit design.
        It becomes the edge's ``cables``, and ``circuits = max(1, cables // 3)``
        (:func:`circuits_from_cables`). A value of 1 is PyPSA-Earth's fill for a missing tag.
    transformers
        ``all_transformers_build_network.csv``: ``line_id``, ``bus0``, ``bus1``; optional
        ``voltage_bus0``/``voltage_bus1`` (V), else the buses' voltages are used.
    converters
        ``all_converters_build_network.csv``: ``converter_id``, ``bus0``, ``bus1``.
    crs
        Projected CRS (metres) for the nodes' ``x_m``/``y_m``, e.g. ``"EPSG:5179"``; stored as
        ``G.graph["crs"]``. Geometries stay in WGS84 lon/lat.
    rating_mva_per_circuit
        ``(voltage class kV, MVA per circuit)``; a line is rated at its circuits times the rating of
        the nearest class (ties to the lower class).
    power_factor
        MW per MVA, in (0, 1]; recorded as ``G.graph["power_factor"]`` for capacity estimates.
    rating_source
        Where the ratings come from, stored as ``G.graph["rating_source"]``; by default a
        description of ``rating_mva_per_circuit``.

    Returns
    -------
    networkx.Graph
        Nodes keyed by ``str(bus_id)`` with ``bus_id``, ``station_id`` (both str), ``name``,
        ``voltage_kv``, ``lon``, ``lat`` (WGS84 degrees), ``x_m``, ``y_m`` (``crs`` metres) and
        ``dc``. Edges have ``kind`` (``"line"``, ``"transformer"`` or ``"converter"``),
        ``line_ids`` (tuple of str), ``length_km``, ``voltage_kv``, ``cables``, ``circuits``,
        ``rating_mva``, ``underground``, ``dc`` and ``geometry`` (shapely LineString, WGS84
        lon/lat).

        **Parallel branches of one kind between the same two buses are merged into one edge**:
        cables, circuits and ``rating_mva`` are summed, ``length_km`` is the shortest (its geometry
        is kept), ``line_ids`` are concatenated, ``underground``/``dc`` are true if any part is.
        Transformers and converters have ``length_km`` 0, ``cables``/``circuits`` 0, ``rating_mva``
        NaN (OSM carries no ratings for them) and ``voltage_kv`` of their lower side; their
        geometry is the segment between their buses.

        Lines, transformers or converters naming a bus that is not in ``buses`` are skipped with a
        warning and counted in ``G.graph["skipped_lines"]``, ``["skipped_transformers"]`` and
        ``["skipped_converters"]``; self-loops are skipped into ``["skipped_self_loops"]``; a
        transformer or converter between two buses already joined by another kind of branch is
        skipped into ``["skipped_conflicting"]`` (a simple graph holds one edge per bus pair).

    Raises
    ------
    PowerGridError
        If a table lacks a required column, bus ids repeat, coordinates are missing, voltages are
        not in volts, or the rating table or power factor is invalid (all these problems are
        reported at once); or if not one line has both ends in the buses table.
    CRSError
        If ``crs`` is not a projected CRS in metres.
    """
    ratings = _rating_table(rating_mva_per_circuit)
    if not (0.0 < power_factor <= 1.0):
        raise PowerGridError(f"power_factor must be in (0, 1], got {power_factor!r}")
    to_xy = _projector(crs)

    problems: list[str] = []
    problems += _missing_columns("buses", buses, _BUS_COLUMNS)
    problems += _missing_columns("lines", lines, _LINE_COLUMNS)
    if transformers is not None:
        problems += _missing_columns("transformers", transformers, _TRANSFORMER_COLUMNS)
    if converters is not None:
        problems += _missing_columns("converters", converters, _CONVERTER_COLUMNS)
    if not problems:
        problems += _bus_problems(buses)
        problems += _voltage_problems("lines", lines["voltage"])
    if problems:
        raise PowerGridError(
            "the power-grid tables cannot be used:\n  - "
            + "\n  - ".join(problems)
            + "\nPass PyPSA-Earth build_osm_network tables (voltages in V, lengths in m)."
        )

    line_kv = pd.to_numeric(lines["voltage"], errors="coerce") / 1000.0
    ac = ~np.asarray(_bool_column(lines, "dc"), dtype=bool)  # HVDC links have no AC class
    warn_far_from_class(line_kv[ac], ratings)
    G = nx.Graph()
    _add_buses(G, buses, to_xy)
    skipped: dict[str, int] = {
        "skipped_lines": 0,
        "skipped_transformers": 0,
        "skipped_converters": 0,
        "skipped_self_loops": 0,
        "skipped_conflicting": 0,
    }
    branches: dict[BranchKey, _Branch] = {}
    line_candidates = _line_branches(G, lines, ratings)
    _check_lines_reach_buses(line_candidates, lines, buses)
    _merge_branches(branches, line_candidates, G, "lines", skipped)
    if transformers is not None:
        tr = _transformer_branches(G, transformers, kind="transformer", id_column="line_id")
        _merge_branches(branches, tr, G, "transformers", skipped)
    if converters is not None:
        conv = _transformer_branches(G, converters, kind="converter", id_column="converter_id")
        _merge_branches(branches, conv, G, "converters", skipped)
    for (u, v), branch in branches.items():
        G.add_edge(u, v, **branch.attrs())

    G.graph["crs"] = crs
    G.graph["power_factor"] = power_factor
    G.graph["rating_mva_per_circuit"] = ratings
    G.graph["rating_source"] = rating_source or (
        "per-circuit ratings by nearest voltage class: "
        + ", ".join(f"{kv:g} kV {mva:g} MVA" for kv, mva in ratings)
    )
    G.graph.update(skipped)
    return G


def graph_summary(G: nx.Graph) -> dict[str, Any]:
    """Count what the power-grid graph holds, and log it on one INFO line.

    Parameters
    ----------
    G
        A graph from :func:`graph_from_pypsa_tables`.

    Returns
    -------
    dict
        ``n_buses``; ``n_lines`` (source lines, before parallel ones were merged);
        ``n_line_edges`` (after merging); ``n_transformers``; ``n_converters``; ``n_islands``
        (connected components, isolated buses included); ``largest_island_buses``;
        ``line_length_km`` (route length: sum of merged line edges' ``length_km``);
        ``buses_by_voltage_kv`` and ``lines_by_voltage_kv`` (source-line counts), both keyed by kV;
        ``skipped_lines``.
    """
    n_lines = n_line_edges = n_transformers = n_converters = 0
    line_length_km = 0.0
    lines_by_kv: dict[float, int] = {}
    for _, _, data in G.edges(data=True):
        n_ids = len(data["line_ids"])
        if data["kind"] == "line":
            n_lines += n_ids
            n_line_edges += 1
            line_length_km += float(data["length_km"])
            kv = float(data["voltage_kv"])
            lines_by_kv[kv] = lines_by_kv.get(kv, 0) + n_ids
        elif data["kind"] == "transformer":
            n_transformers += n_ids
        else:
            n_converters += n_ids
    buses_by_kv: dict[float, int] = {}
    for _, kv_value in G.nodes(data="voltage_kv"):
        buses_by_kv[float(kv_value)] = buses_by_kv.get(float(kv_value), 0) + 1
    islands = [len(c) for c in nx.connected_components(G)]
    summary: dict[str, Any] = {
        "n_buses": G.number_of_nodes(),
        "n_lines": n_lines,
        "n_line_edges": n_line_edges,
        "n_transformers": n_transformers,
        "n_converters": n_converters,
        "n_islands": len(islands),
        "largest_island_buses": max(islands, default=0),
        "line_length_km": line_length_km,
        "buses_by_voltage_kv": dict(sorted(buses_by_kv.items())),
        "lines_by_voltage_kv": dict(sorted(lines_by_kv.items())),
        "skipped_lines": int(G.graph.get("skipped_lines", 0)),
    }
    logger.info(
        "power grid: %d buses, %d lines, %d transformers, %d islands",
        summary["n_buses"],
        n_lines,
        n_transformers,
        summary["n_islands"],
    )
    return summary


def graph_to_gdfs(G: nx.Graph) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return the graph's buses and branches as GeoDataFrames in EPSG:4326 (lon/lat).

    Parameters
    ----------
    G
        A graph from :func:`graph_from_pypsa_tables`.

    Returns
    -------
    buses, branches
        Buses as Points with the node attributes as columns; branches as LineStrings with
        ``bus0``, ``bus1`` and the edge attributes as columns, ``line_ids`` joined with ``";"``.
        Both in WGS84 lon/lat, ready for an RFC 7946 GeoJSON.
    """
    bus_rows = [
        {"bus_id": data["bus_id"], **_without(data, ("bus_id",))} for _, data in G.nodes(data=True)
    ]
    bus_columns = ["bus_id", "station_id", "name", "voltage_kv", "lon", "lat", "x_m", "y_m", "dc"]
    bus_df = pd.DataFrame(bus_rows, columns=bus_columns)
    bus_points = [Point(lon, lat) for lon, lat in zip(bus_df["lon"], bus_df["lat"], strict=True)]
    buses_gdf = gpd.GeoDataFrame(bus_df, geometry=bus_points, crs="EPSG:4326")

    branch_columns = [
        "bus0",
        "bus1",
        "kind",
        "line_ids",
        "length_km",
        "voltage_kv",
        "cables",
        "circuits",
        "rating_mva",
        "underground",
        "dc",
    ]
    branch_rows: list[dict[str, Any]] = []
    geometries: list[LineString] = []
    for u, v, data in G.edges(data=True):
        row = {"bus0": u, "bus1": v, **_without(data, ("geometry",))}
        row["line_ids"] = ";".join(data["line_ids"])
        branch_rows.append(row)
        geometries.append(data["geometry"])
    branch_df = pd.DataFrame(branch_rows, columns=branch_columns)
    branches_gdf = gpd.GeoDataFrame(branch_df, geometry=geometries, crs="EPSG:4326")
    return buses_gdf, branches_gdf


# --- internals ------------------------------------------------------------------------------


@dataclass
class _Branch:
    kind: str
    line_ids: list[str]
    length_km: float
    voltage_kv: float
    cables: int
    circuits: int
    rating_mva: float
    underground: bool
    dc: bool
    geometry: LineString

    def merge(self, other: _Branch) -> None:
        self.line_ids += other.line_ids
        if other.length_km < self.length_km:
            self.length_km = other.length_km
            self.geometry = other.geometry
        self.voltage_kv = max(self.voltage_kv, other.voltage_kv)
        self.cables += other.cables
        self.circuits += other.circuits
        self.rating_mva += other.rating_mva
        self.underground = self.underground or other.underground
        self.dc = self.dc or other.dc

    def attrs(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "line_ids": tuple(self.line_ids),
            "length_km": self.length_km,
            "voltage_kv": self.voltage_kv,
            "cables": self.cables,
            "circuits": self.circuits,
            "rating_mva": self.rating_mva,
            "underground": self.underground,
            "dc": self.dc,
            "geometry": self.geometry,
        }


@dataclass
class _Candidate:
    key: BranchKey
    line_id: str
    branch: _Branch | None = None
    problem: str = field(default="")


def _rating_table(
    rating_mva_per_circuit: Sequence[tuple[float, float]],
) -> tuple[tuple[float, float], ...]:
    table = tuple(sorted((float(kv), float(mva)) for kv, mva in rating_mva_per_circuit))
    if not table or any(not (kv > 0 and mva > 0) for kv, mva in table):
        raise PowerGridError(
            "rating_mva_per_circuit must list (voltage kV, MVA) pairs, all positive; "
            f"got {rating_mva_per_circuit!r}"
        )
    return table


def _projector(crs: str) -> Transformer:
    try:
        target = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError; ours names what to do
        raise CRSError(f"power-grid CRS {crs!r} is not a valid CRS: {exc}") from exc
    units = {axis.unit_name for axis in target.axis_info}
    if not target.is_projected or not units <= {"metre", "meter"}:
        raise CRSError(
            f"power-grid CRS {crs!r} must be projected in metres (e.g. EPSG:5179), got units "
            f"{sorted(units)}; distances to substations are measured in it"
        )
    return Transformer.from_crs("EPSG:4326", target, always_xy=True)


def _missing_columns(table: str, df: pd.DataFrame, required: Iterable[str]) -> list[str]:
    return [
        f"{table} table has no column {column!r} (expected PyPSA-Earth's {table} format)"
        for column in required
        if column not in df.columns
    ]


def _voltage_problems(table: str, voltage: pd.Series[Any]) -> list[str]:
    values = pd.to_numeric(voltage, errors="coerce")
    problems = []
    n_missing = int(values.isna().sum())
    if n_missing:
        problems.append(f"{table}: {n_missing} rows have no numeric 'voltage'; fill or drop them")
    low = values[values < _MIN_PLAUSIBLE_VOLTAGE_V]
    if len(low):
        problems.append(
            f"{table}: 'voltage' must be in volts, found {len(low)} values below "
            f"{_MIN_PLAUSIBLE_VOLTAGE_V:g} (e.g. {low.iloc[0]:g}); multiply kV by 1000"
        )
    return problems


def _bus_problems(buses: pd.DataFrame) -> list[str]:
    problems = _voltage_problems("buses", buses["voltage"])
    ids = buses["bus_id"].astype(str)
    duplicated = ids[ids.duplicated()].unique().tolist()
    if duplicated:
        problems.append(f"buses: bus_id repeats for {duplicated[:5]}; bus ids must be unique")
    no_xy = buses[["lon", "lat"]].apply(pd.to_numeric, errors="coerce").isna().any(axis=1)
    if no_xy.any():
        problems.append(
            f"buses: {int(no_xy.sum())} buses have no lon/lat, e.g. bus_id "
            f"{ids[no_xy].tolist()[:5]}; fill or drop them"
        )
    return problems


def _bool_column(df: pd.DataFrame, column: str) -> list[bool]:
    if column not in df.columns:
        return [False] * len(df)
    return [_as_bool(value) for value in df[column]]


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def _add_buses(G: nx.Graph, buses: pd.DataFrame, to_xy: Transformer) -> None:
    # Readers without type detection (GDAL's CSV driver) hand every field over as text.
    lon = pd.to_numeric(buses["lon"]).to_numpy(dtype=np.float64)
    lat = pd.to_numeric(buses["lat"]).to_numpy(dtype=np.float64)
    x_m, y_m = to_xy.transform(lon, lat)
    voltage_kv = pd.to_numeric(buses["voltage"]).to_numpy(dtype=np.float64) / V_PER_KV
    names = (
        ["" if pd.isna(n) else str(n) for n in buses["name"]]
        if "name" in buses.columns
        else [""] * len(buses)
    )
    dc = _bool_column(buses, "dc")
    for i, (bus_id, station_id) in enumerate(
        zip(buses["bus_id"], buses["station_id"], strict=True)
    ):
        key = str(bus_id)
        G.add_node(
            key,
            bus_id=key,
            station_id=str(station_id),
            name=names[i],
            voltage_kv=float(voltage_kv[i]),
            lon=float(lon[i]),
            lat=float(lat[i]),
            x_m=float(x_m[i]),
            y_m=float(y_m[i]),
            dc=dc[i],
        )


def _segment(G: nx.Graph, u: str, v: str) -> LineString:
    return LineString(
        [(G.nodes[u]["lon"], G.nodes[u]["lat"]), (G.nodes[v]["lon"], G.nodes[v]["lat"])]
    )


def _pair(G: nx.Graph, bus0: Hashable, bus1: Hashable, line_id: str) -> _Candidate:
    u, v = str(bus0), str(bus1)
    key = (u, v) if u <= v else (v, u)
    candidate = _Candidate(key=key, line_id=line_id)
    missing = [b for b in (u, v) if b not in G]
    if missing:
        candidate.problem = "missing"
    elif u == v:
        candidate.problem = "self_loop"
    return candidate


def _line_branches(
    G: nx.Graph, lines: pd.DataFrame, ratings: tuple[tuple[float, float], ...]
) -> list[_Candidate]:
    voltage_kv = pd.to_numeric(lines["voltage"]).to_numpy(dtype=np.float64) / V_PER_KV
    length_km = (
        pd.to_numeric(lines["length"], errors="coerce").to_numpy(dtype=np.float64) / M_PER_KM
    )
    cables_raw = pd.to_numeric(lines["circuits"], errors="coerce").to_numpy(dtype=np.float64)
    underground = _bool_column(lines, "underground")
    dc = _bool_column(lines, "dc")
    geometries: list[object] = (
        list(lines["geometry"]) if "geometry" in lines.columns else [None] * len(lines)
    )
    n_unknown_cables = int(np.isnan(cables_raw).sum())
    if n_unknown_cables:
        logger.warning(
            "lines: %d lines have no cables count; each is taken as one circuit", n_unknown_cables
        )
    candidates = []
    for i, (line_id, bus0, bus1) in enumerate(
        zip(lines["line_id"], lines["bus0"], lines["bus1"], strict=True)
    ):
        candidate = _pair(G, bus0, bus1, str(line_id))
        candidates.append(candidate)
        if candidate.problem:
            continue
        u, v = str(bus0), str(bus1)
        cables = 0 if math.isnan(cables_raw[i]) else round(float(cables_raw[i]))
        circuits = circuits_from_cables(cables)
        geometry = _line_geometry(geometries[i]) or _segment(G, u, v)
        km = float(length_km[i])
        if math.isnan(km):
            km = _geodesic_km(geometry)
        candidate.branch = _Branch(
            kind="line",
            line_ids=[str(line_id)],
            length_km=km,
            voltage_kv=float(voltage_kv[i]),
            cables=cables,
            circuits=circuits,
            rating_mva=circuits * rating_mva_for_voltage(float(voltage_kv[i]), ratings),
            underground=underground[i],
            dc=dc[i],
            geometry=geometry,
        )
    return candidates


def _transformer_branches(
    G: nx.Graph, table: pd.DataFrame, *, kind: str, id_column: str
) -> list[_Candidate]:
    candidates = []
    for row in table.to_dict("records"):
        candidate = _pair(G, row["bus0"], row["bus1"], str(row[id_column]))
        candidates.append(candidate)
        if candidate.problem:
            continue
        u, v = str(row["bus0"]), str(row["bus1"])
        side_v = [row.get("voltage_bus0"), row.get("voltage_bus1")]
        if any(s is None or pd.isna(s) for s in side_v):
            lower_kv = min(G.nodes[u]["voltage_kv"], G.nodes[v]["voltage_kv"])
        else:
            lower_kv = min(float(s) for s in side_v if s is not None) / V_PER_KV
        candidate.branch = _Branch(
            kind=kind,
            line_ids=[str(row[id_column])],
            length_km=0.0,
            voltage_kv=float(lower_kv),
            cables=0,
            circuits=0,
            rating_mva=math.nan,
            underground=False,
            dc=kind == "converter",
            geometry=_segment(G, u, v),
        )
    return candidates


def _check_lines_reach_buses(
    candidates: list[_Candidate], lines: pd.DataFrame, buses: pd.DataFrame
) -> None:
    """Raise if not one line joins two buses: the tables do not belong together."""
    if not candidates or any(c.problem != "missing" for c in candidates):
        return
    ends = [str(b) for b in (*lines["bus0"].head(3), *lines["bus1"].head(2))]
    ids = [str(b) for b in buses["bus_id"].head(5)]
    raise PowerGridError(
        f"lines table: none of its {len(candidates)} lines has both ends (bus0, bus1) in the "
        f"buses table: the lines name buses such as {ends}, the buses table has bus_id "
        f"{ids}...; give buses and lines from the same PyPSA-Earth build_osm_network run"
    )


def _merge_branches(
    branches: dict[BranchKey, _Branch],
    candidates: list[_Candidate],
    G: nx.Graph,
    table: str,
    skipped: dict[str, int],
) -> None:
    dangling = [c.line_id for c in candidates if c.problem == "missing"]
    loops = [c.line_id for c in candidates if c.problem == "self_loop"]
    conflicting: list[str] = []
    for candidate in candidates:
        if candidate.branch is None:
            continue
        existing = branches.get(candidate.key)
        if existing is None:
            branches[candidate.key] = candidate.branch
        elif existing.kind == candidate.branch.kind:
            existing.merge(candidate.branch)
        else:
            conflicting.append(candidate.line_id)
    if dangling:
        skipped[f"skipped_{table}"] += len(dangling)
        logger.warning(
            "%s: skipped %d rows whose bus0/bus1 is not in the buses table, e.g. %s",
            table,
            len(dangling),
            dangling[:5],
        )
    if loops:
        skipped["skipped_self_loops"] += len(loops)
        logger.warning("%s: skipped %d self-loops, e.g. %s", table, len(loops), loops[:5])
    if conflicting:
        skipped["skipped_conflicting"] += len(conflicting)
        logger.warning(
            "%s: skipped %d rows joining two buses already joined by another kind of branch, "
            "e.g. %s",
            table,
            len(conflicting),
            conflicting[:5],
        )


def _line_geometry(value: object) -> LineString | None:
    if isinstance(value, LineString):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    geometry = shapely.from_wkt(value)
    if isinstance(geometry, LineString) and not geometry.is_empty:
        return geometry
    return None


def _geodesic_km(geometry: LineString) -> float:
    return float(Geod(ellps="WGS84").geometry_length(geometry)) / M_PER_KM


def _without(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}
