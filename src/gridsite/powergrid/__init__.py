"""The power network: a graph of buses and branches, and how sites connect to it.

Pure computation: DataFrames in, :class:`networkx.Graph` and DataFrames out, no file access.
"power grid" always means the electrical network here; "grid" alone is the raster grid.

- :func:`graph_from_pypsa_tables` builds the graph from PyPSA-Earth's OSM network tables;
  :func:`graph_summary` counts it, :func:`graph_to_gdfs` turns it into GeoDataFrames (WGS84).
- :func:`graph_from_osm_lines` builds it from raw OSM line ways and substation points, with a QA
  table; :func:`grid_qa` checks any such graph (islands, dangling ends, far snaps) and
  :func:`qa_summary` condenses the QA into one log line.
- :class:`TransmissionCosts` (reVX unit costs) and :func:`route_site` route a site's tie line
  over a cost raster to its cheapest substation and price it (:mod:`.interconnect`).
- :func:`required_connection_kv`, :func:`connect_sites` and :func:`station_capacity_mw` find each
  site's connection substation, the distances to it and to the backbone, and a capacity bound.
- :func:`ptdf`, :func:`lodf`, :func:`dc_power_flow`, :func:`dc_bus_results`, :func:`overloads` and
  :func:`islanding_outages` are the DC power-flow model of the graph's electrical attributes.
- :func:`hosting_capacity` (N-0/N-1 DC hosting capacity for a new load), with the cheaper bounds
  :func:`maxflow_capacity_mw` and :func:`rev_capacity_mw`.
- :func:`graph_from_pandapower` builds the electrical graph from a pandapower network.
"""

from gridsite.powergrid.build import graph_from_osm_lines
from gridsite.powergrid.connect import (
    CONNECTION_COLUMNS,
    connect_sites,
    required_connection_kv,
    station_capacity_mw,
)
from gridsite.powergrid.costs import (
    TransmissionCosts,
    length_multiplier,
    line_cost_per_km_musd,
    substation_cost_musd,
)
from gridsite.powergrid.dcflow import (
    BRANCH_INDEX_NAMES,
    dc_bus_results,
    dc_power_flow,
    islanding_outages,
    lodf,
    overloads,
    ptdf,
)
from gridsite.powergrid.graph import (
    DEFAULT_RATING_MVA_PER_CIRCUIT,
    circuits_from_cables,
    graph_from_pypsa_tables,
    graph_summary,
    graph_to_gdfs,
    rating_mva_for_voltage,
)
from gridsite.powergrid.hosting import (
    HOSTING_COLUMNS,
    hosting_capacity,
    maxflow_capacity_mw,
    rev_capacity_mw,
)
from gridsite.powergrid.interconnect import (
    ROUTE_COLUMNS,
    cost_multiplier_raster,
    line_cost_raster,
    parallel_circuits,
    route_site,
)
from gridsite.powergrid.pandapower_net import graph_from_pandapower
from gridsite.powergrid.qa import QA_COLUMNS, grid_qa, qa_summary

__all__ = [
    "BRANCH_INDEX_NAMES",
    "CONNECTION_COLUMNS",
    "DEFAULT_RATING_MVA_PER_CIRCUIT",
    "HOSTING_COLUMNS",
    "QA_COLUMNS",
    "ROUTE_COLUMNS",
    "TransmissionCosts",
    "circuits_from_cables",
    "connect_sites",
    "cost_multiplier_raster",
    "dc_bus_results",
    "dc_power_flow",
    "graph_from_osm_lines",
    "graph_from_pandapower",
    "graph_from_pypsa_tables",
    "graph_summary",
    "graph_to_gdfs",
    "grid_qa",
    "hosting_capacity",
    "islanding_outages",
    "length_multiplier",
    "line_cost_per_km_musd",
    "line_cost_raster",
    "lodf",
    "maxflow_capacity_mw",
    "overloads",
    "parallel_circuits",
    "ptdf",
    "qa_summary",
    "rating_mva_for_voltage",
    "required_connection_kv",
    "rev_capacity_mw",
    "route_site",
    "station_capacity_mw",
    "substation_cost_musd",
]
