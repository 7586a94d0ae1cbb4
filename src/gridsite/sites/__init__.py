"""Candidate sites: campus-sized parcels or regions of the suitability surface, and ranking."""

from gridsite.sites.parcels import Parcel, parcel_size_cells, pick_parcels, window_sums
from gridsite.sites.ranking import contributions, rank_sites, site_score_weights
from gridsite.sites.regions import (
    Region,
    locate_regions,
    regions_to_labels,
    regions_to_polygons,
)
from gridsite.sites.table import (
    assign_region_names,
    nearest_names,
    parcels_to_sites,
    regions_to_sites,
)

__all__ = [
    "Parcel",
    "Region",
    "assign_region_names",
    "contributions",
    "locate_regions",
    "nearest_names",
    "parcel_size_cells",
    "parcels_to_sites",
    "pick_parcels",
    "rank_sites",
    "regions_to_labels",
    "regions_to_polygons",
    "regions_to_sites",
    "site_score_weights",
    "window_sums",
]
