"""The power network: a graph of buses and branches, and how sites connect to it.

Pure computation: DataFrames in, :class:`networkx.Graph` and DataFrames out, no file access.
"power grid" always means the electrical network here; "grid" alone is the raster grid.

- :func:`graph_from_pypsa_tables` builds the graph from PyPSA-Earth's OSM network tables;
  :func:`graph_summary` counts it, :func:`graph_to_gdfs` turns it into GeoDataFrames (WGS84).
- :func:`required_connection_kv`, :func:`connect_sites` and :func:`station_capacity_mw` find each
  site's connection substation, the distances to it and to the backbone, and a capacity bound.
"""

from gridsite.powergrid.connect import (
    CONNECTION_COLUMNS,
    connect_sites,
    required_connection_kv,
    station_capacity_mw,
)
from gridsite.powergrid.graph import (
    DEFAULT_RATING_MVA_PER_CIRCUIT,
    circuits_from_cables,
    graph_from_pypsa_tables,
    graph_summary,
    graph_to_gdfs,
    rating_mva_for_voltage,
)

__all__ = [
    "CONNECTION_COLUMNS",
    "DEFAULT_RATING_MVA_PER_CIRCUIT",
    "circuits_from_cables",
    "connect_sites",
    "graph_from_pypsa_tables",
    "graph_summary",
    "graph_to_gdfs",
    "rating_mva_for_voltage",
    "required_connection_kv",
    "station_capacity_mw",
]
