"""Pure multi-criteria decision analysis: combining criterion scores into suitability.

Score rasters in [0, 1] on the study grid in, a suitability raster out; nothing here reads or
writes files.
"""

from gridsite.mcda.aggregate import (
    apply_constraints,
    fuzzy_and,
    fuzzy_gamma,
    fuzzy_or,
    fuzzy_product,
    fuzzy_sum,
    ordered_weighted_average,
    topsis,
)
from gridsite.mcda.ahp import (
    AHPResult,
    ahp_weights,
    check_pairwise_matrix,
    group_pairwise_matrix,
    hierarchy_weights,
    inconsistent_judgements,
    random_index,
)
from gridsite.mcda.overlay import (
    RunningLinearCombination,
    normalise_weights,
    weighted_linear_combination,
)
from gridsite.mcda.sensitivity import (
    Aggregate,
    monte_carlo_ranks,
    one_at_a_time,
    sample_weights,
)
from gridsite.mcda.weights import (
    direct_weights,
    rank_order_centroid_weights,
    rank_reciprocal_weights,
    rank_sum_weights,
)

__all__ = [
    "AHPResult",
    "Aggregate",
    "RunningLinearCombination",
    "ahp_weights",
    "apply_constraints",
    "check_pairwise_matrix",
    "direct_weights",
    "fuzzy_and",
    "fuzzy_gamma",
    "fuzzy_or",
    "fuzzy_product",
    "fuzzy_sum",
    "group_pairwise_matrix",
    "hierarchy_weights",
    "inconsistent_judgements",
    "monte_carlo_ranks",
    "normalise_weights",
    "one_at_a_time",
    "ordered_weighted_average",
    "random_index",
    "rank_order_centroid_weights",
    "rank_reciprocal_weights",
    "rank_sum_weights",
    "sample_weights",
    "topsis",
    "weighted_linear_combination",
]
