"""Pure criterion computations: distances and buffers, value transforms, interpolation.

Arrays on the study :class:`~gridsite.geo.RasterGrid` in, arrays out; nothing here reads or writes
files. Distances are in metres in the grid's projected CRS.
"""

from gridsite.criteria.constraints import exclusion_mask
from gridsite.criteria.costdistance import (
    accumulated_cost,
    least_cost_path,
    least_cost_paths,
    path_length_m,
)
from gridsite.criteria.distance import distance_to_mask, north_of, within_distance
from gridsite.criteria.interpolate import idw, idw_to_grid
from gridsite.criteria.transforms import (
    apply_transform,
    categorical,
    exponential,
    fuzzy_large,
    fuzzy_small,
    gaussian,
    linear,
    logarithm,
    logistic_decay,
    logistic_growth,
    ms_large,
    ms_small,
    near,
    piecewise_linear,
    power,
    symmetric_linear,
    transform_problems,
)

__all__ = [
    "accumulated_cost",
    "apply_transform",
    "categorical",
    "distance_to_mask",
    "exclusion_mask",
    "exponential",
    "fuzzy_large",
    "fuzzy_small",
    "gaussian",
    "idw",
    "idw_to_grid",
    "least_cost_path",
    "least_cost_paths",
    "linear",
    "logarithm",
    "logistic_decay",
    "logistic_growth",
    "ms_large",
    "ms_small",
    "near",
    "north_of",
    "path_length_m",
    "piecewise_linear",
    "power",
    "symmetric_linear",
    "transform_problems",
    "within_distance",
]
