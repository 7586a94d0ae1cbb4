"""The READ edge: find layer files under the data root, read them, and align them to the grid."""

from gridsite.layers.align import check_raster, rasterize_mask, read_raster
from gridsite.layers.costs import read_revx_costs
from gridsite.layers.matrix import read_pairwise_matrix
from gridsite.layers.read import layer_path, read_table, read_vector, select_features

__all__ = [
    "check_raster",
    "layer_path",
    "rasterize_mask",
    "read_pairwise_matrix",
    "read_raster",
    "read_revx_costs",
    "read_table",
    "read_vector",
    "select_features",
]
