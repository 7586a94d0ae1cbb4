"""The READ edge: find layer files under the data root, read them, and align them to the grid."""

from gridsite.layers.align import (
    check_raster,
    check_raster_overlap,
    rasterize_mask,
    read_raster,
    read_raster_window,
)
from gridsite.layers.costs import read_revx_costs
from gridsite.layers.matrix import read_pairwise_matrix
from gridsite.layers.read import layer_path, read_table, read_vector, select_features

__all__ = [
    "check_raster",
    "check_raster_overlap",
    "layer_path",
    "rasterize_mask",
    "read_pairwise_matrix",
    "read_raster",
    "read_raster_window",
    "read_revx_costs",
    "read_table",
    "read_vector",
    "select_features",
]
