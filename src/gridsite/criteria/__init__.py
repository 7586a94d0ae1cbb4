"""Pure criterion computations: distances and buffers, value transforms, interpolation.

Arrays on the study :class:`~gridsite.geo.RasterGrid` in, arrays out; nothing here reads or writes
files. Distances are in metres in the grid's projected CRS.
"""

from gridsite.criteria.constraints import exclusion_mask
from gridsite.criteria.distance import distance_to_mask, north_of, within_distance
from gridsite.criteria.interpolate import idw, idw_to_grid
from gridsite.criteria.transforms import (
    apply_transform,
    fuzzy_large,
    fuzzy_small,
    linear,
    piecewise_linear,
    transform_problems,
)

__all__ = [
    "apply_transform",
    "distance_to_mask",
    "exclusion_mask",
    "fuzzy_large",
    "fuzzy_small",
    "idw",
    "idw_to_grid",
    "linear",
    "north_of",
    "piecewise_linear",
    "transform_problems",
    "within_distance",
]
