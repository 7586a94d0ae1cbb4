"""Rank candidate sites: mix parcel suitability with site-level terms, best first."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from gridsite.criteria.transforms import apply_transform
from gridsite.errors import ConfigError
from gridsite.mcda.overlay import normalise_weights
from gridsite.spec import RankingSpec

__all__ = ["contributions", "rank_sites", "site_score_weights"]


def rank_sites(table: pd.DataFrame, ranking: RankingSpec, *, campus_mw: float) -> pd.DataFrame:
    """Score and rank sites.

    ``score = w_s x suitability + sum_t w_t x T_t(field_t)`` with the weights normalised to 1 and
    ``T_t`` each term's transform (applied to ``field_t / campus_mw`` for ``per_campus`` terms),
    so the score is in [0, 1]. A site without a figure for a term (NaN) scores 0 on it.

    Parameters
    ----------
    table
        One row per site with ``suitability`` and every term's field.
    ranking
        Weights, terms and transforms.
    campus_mw
        Campus demand (MW), for ``per_campus`` terms.

    Returns
    -------
    pandas.DataFrame
        ``table`` sorted best first, with ``score_<term>`` per term, ``score`` and ``rank``
        (1 = best; ties keep the input order).

    Raises
    ------
    ConfigError
        When a term's field is not a column of ``table``.
    """
    missing = [t.field for t in ranking.terms if t.field not in table.columns]
    if missing:
        raise ConfigError(
            f"ranking.terms: field(s) {', '.join(missing)} are not site columns here; available: "
            f"{', '.join(c for c in table.columns if c != 'geometry')}"
        )
    weights = normalise_weights(
        {"suitability": ranking.suitability_weight} | {t.name: t.weight for t in ranking.terms}
    )
    out = table.copy()
    score = weights["suitability"] * out["suitability"].to_numpy(float)
    for t in ranking.terms:
        raw = out[t.field].to_numpy(float)
        if t.per_campus:
            raw = raw / campus_mw
        s = np.nan_to_num(apply_transform(raw, t.transform).astype(float), nan=0.0)
        out[f"score_{t.name}"] = s
        score = score + weights[t.name] * s
    out["score"] = np.clip(score, 0.0, 1.0)
    out = out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def site_score_weights(
    ranking: RankingSpec, criterion_weights: Mapping[str, float]
) -> dict[str, float]:
    """Weights of the site table's score columns, summing to 1, behind each site's ``score``.

    The suitability share is spread over the criteria (``score_<criterion>``) by their weights,
    beside the ranking terms (``score_<term>``). For a weighted linear combination this
    reproduces the score from the site's mean criterion scores.

    Examples
    --------
    >>> from gridsite.spec import RankTerm, TransformSpec
    >>> r = RankingSpec(suitability_weight=0.5,
    ...                 terms=(RankTerm("cap", "capacity_mw", 0.5, TransformSpec("identity")),))
    >>> site_score_weights(r, {"a": 0.75, "b": 0.25})
    {'score_a': 0.375, 'score_b': 0.125, 'score_cap': 0.5}
    """
    top = normalise_weights(
        {"suitability": ranking.suitability_weight} | {t.name: t.weight for t in ranking.terms}
    )
    crit = normalise_weights(criterion_weights)
    out = {f"score_{c}": top["suitability"] * w for c, w in crit.items()}
    out |= {f"score_{t.name}": top[t.name] for t in ranking.terms}
    return out


def contributions(table: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """Each score column's weighted part of the site score: ``contribution_<name>`` columns.

    ``weights`` maps ``score_<name>`` columns to their weights (:func:`site_score_weights`).
    """
    return pd.DataFrame(
        {
            f"contribution_{col.removeprefix('score_')}": table[col].fillna(0.0) * w
            for col, w in weights.items()
        },
        index=table.index,
    )
