"""Candidate sites: campus-sized parcels cut from the suitability surface, and their ranking."""

from gridsite.sites.parcels import Parcel, parcel_size_cells, pick_parcels, window_sums
from gridsite.sites.ranking import rank_sites
from gridsite.sites.table import assign_region_names, nearest_names, parcels_to_sites

__all__ = [
    "Parcel",
    "assign_region_names",
    "nearest_names",
    "parcel_size_cells",
    "parcels_to_sites",
    "pick_parcels",
    "rank_sites",
    "window_sums",
]
