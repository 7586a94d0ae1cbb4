"""Sensitivity of a run's ranking to its weights: the rank spread and a one-at-a-time sweep."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gridsite.mcda.sensitivity import one_at_a_time
from gridsite.report.atomic import staged_folder
from gridsite.report.vector import write_csv
from gridsite.study.result import StudyResult

__all__ = ["SENSITIVITY_OUTPUTS", "rank_spread", "weight_sensitivity", "write_sensitivity"]


def weight_sensitivity(result: StudyResult, *, steps: int = 101) -> pd.DataFrame:
    """One-at-a-time sweep: the weight at which each ranked site's rank changes, per criterion.

    The sites are re-scored from their score columns with the run's weights
    (``stats["site_score_weights"]``): the criteria's mean scores and the ranking terms. The
    grid-headroom competition is not re-run along the sweep.
    """
    weights = result.stats["site_score_weights"]
    table = result.sites.set_index("site_id")[list(weights)].fillna(0.0)
    oat = one_at_a_time(table, weights, sites=list(table.index), steps=steps)
    oat["criterion"] = oat["criterion"].str.removeprefix("score_")
    return oat.rename(columns={"site": "site_id"})


#: Files :func:`write_sensitivity` writes.
SENSITIVITY_OUTPUTS = ("sensitivity.csv", "sensitivity_oat.csv")


def rank_spread(result: StudyResult) -> pd.DataFrame:
    """Return each ranked site's rank spread over the weight draws (``rank_p*``, ``p_top*``)."""
    cols = ["rank", "site_id", "score"] + [
        c for c in result.sites.columns if c.startswith(("rank_p", "p_top"))
    ]
    return pd.DataFrame(result.sites[cols])


def write_sensitivity(
    result: StudyResult, out_dir: Path | str, *, overwrite: bool = False
) -> list[Path]:
    """Write sensitivity.csv and sensitivity_oat.csv into ``out_dir``.

    The first holds :func:`rank_spread`, the second the one-at-a-time sweep
    (:func:`weight_sensitivity`). They are written as one set, like :meth:`StudyResult.write`;
    nothing is written when either exists, unless ``overwrite``.
    """
    out = Path(out_dir)
    names = list(SENSITIVITY_OUTPUTS)
    with staged_folder(out, outputs=names, overwrite=overwrite) as stage:
        written = [
            write_csv(rank_spread(result), stage / names[0]),
            write_csv(weight_sensitivity(result), stage / names[1]),
        ]
    return [out / p.relative_to(stage) for p in written]
