"""Pure multi-criteria decision analysis: combining criterion scores into suitability.

Score rasters in [0, 1] on the study grid in, a suitability raster out; nothing here reads or
writes files.
"""

from gridsite.mcda.overlay import normalise_weights, weighted_linear_combination

__all__ = ["normalise_weights", "weighted_linear_combination"]
