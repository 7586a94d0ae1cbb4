"""Rank candidate sites: mix parcel suitability with the grid connection, best first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridsite.criteria.transforms import apply_transform
from gridsite.mcda.overlay import normalise_weights
from gridsite.spec import RankingSpec

__all__ = ["rank_sites"]


def rank_sites(table: pd.DataFrame, ranking: RankingSpec, *, campus_mw: float) -> pd.DataFrame:
    """Score and rank sites.

    ``score = w_s * suitability + w_i * T_i(interconnect_km) + w_c * T_c(capacity_mw / campus_mw)``
    with weights normalised to 1 and T the configured transforms, so the score is in [0, 1].
    A site without a figure for a term (NaN) scores 0 on that term.

    Parameters
    ----------
    table
        One row per site with ``suitability``, ``interconnect_km`` and ``capacity_mw``.
    ranking
        Weights and transforms.
    campus_mw
        Campus demand (MW), to express capacity as a multiple of it.

    Returns
    -------
    pandas.DataFrame
        ``table`` sorted best first, with ``score_interconnect``, ``score_capacity``, ``score``
        and ``rank`` (1 = best; ties keep the input order) added.
    """
    w = normalise_weights(
        {
            "suitability": ranking.suitability_weight,
            "interconnect": ranking.interconnect_weight,
            "capacity": ranking.capacity_weight,
        }
    )
    out = table.copy()
    s_int = apply_transform(out["interconnect_km"].to_numpy(float), ranking.interconnect_transform)
    s_cap = apply_transform(
        out["capacity_mw"].to_numpy(float) / campus_mw, ranking.capacity_transform
    )
    out["score_interconnect"] = np.nan_to_num(s_int.astype(float), nan=0.0)
    out["score_capacity"] = np.nan_to_num(s_cap.astype(float), nan=0.0)
    score = (
        w["suitability"] * out["suitability"].to_numpy(float)
        + w["interconnect"] * out["score_interconnect"].to_numpy(float)
        + w["capacity"] * out["score_capacity"].to_numpy(float)
    )
    out["score"] = np.clip(score, 0.0, 1.0)
    out = out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out
