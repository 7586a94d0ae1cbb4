"""Robust ranking: how far the site ranks move when the criterion weights move.

Two views on one site table (rows = candidate sites, columns = criterion scores, 1 = best):

- :func:`monte_carlo_ranks` samples many weight vectors around the base weights (Dirichlet, or a
  uniform +/- spread) and reports each site's rank spread and its probability of staying in the
  top k;
- :func:`one_at_a_time` moves one criterion's weight from 0 to 1 at a time (the others rescaled
  to keep the sum 1) and reports, for the top sites, the weight at which each one's rank first
  changes, below and above the base weight.

Ranks are 1 = best; tied scores keep the table's row order (as in
:func:`gridsite.sites.ranking.rank_sites`). Randomness takes an explicit seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gridsite.errors import ConfigError
from gridsite.mcda.overlay import normalise_weights

__all__ = ["Aggregate", "monte_carlo_ranks", "one_at_a_time", "sample_weights"]

Aggregate = Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]
"""``aggregate(scores, weights) -> site scores``, vectorised over weight vectors.

``scores`` is ``(n_sites, n_criteria)``, ``weights`` ``(n_draws, n_criteria)`` with rows summing
to 1 (columns in the order of the weights mapping); the result is ``(n_draws, n_sites)``, higher
is better. The default is the weighted linear combination ``weights @ scores.T``.
"""

# Entries of one (draws x sites) block of scores: 2**22 x 8 bytes = 32 MB.
_BLOCK_ENTRIES = 1 << 22


def _wlc(scores: NDArray[np.float64], weights: NDArray[np.float64]) -> NDArray[np.float64]:
    return weights @ scores.T


def _criteria_matrix(
    criteria: pd.DataFrame, weights: Mapping[str, float]
) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
    """Return the base weights (normalised, mapping order) and the ``(sites, criteria)`` scores."""
    base = normalise_weights(weights)
    names = list(base)
    missing = [name for name in names if name not in criteria.columns]
    if missing:
        raise ConfigError(
            f"criteria {', '.join(missing)} have a weight but are not columns of the site table; "
            f"columns: {', '.join(map(str, criteria.columns))}"
        )
    if len(criteria) == 0:
        raise ConfigError("the site table is empty; there are no sites to rank")
    scores = criteria[names].to_numpy(dtype=np.float64)
    bad = [name for name, ok in zip(names, np.isfinite(scores).all(axis=0), strict=True) if not ok]
    if bad:
        raise ConfigError(
            f"criterion scores of {', '.join(bad)} have NaN or infinite values; fill them first "
            "(rank_sites scores a missing figure as 0)"
        )
    return names, np.array(list(base.values())), scores


def _ranks(site_scores: NDArray[np.float64]) -> NDArray[np.int32]:
    """Rank each row's sites, 1 = best, ties in row order (stable)."""
    order = np.argsort(-site_scores, axis=1, kind="stable")
    ranks = np.empty(site_scores.shape, dtype=np.int32)
    positions = np.broadcast_to(np.arange(1, site_scores.shape[1] + 1, dtype=np.int32), order.shape)
    np.put_along_axis(ranks, order, positions, axis=1)
    return ranks


def _rank_of(site_scores: NDArray[np.float64], sites: NDArray[np.intp]) -> NDArray[np.int64]:
    """Rank of site ``sites[b]`` (a position) in row ``b``, consistent with :func:`_ranks`."""
    own = site_scores[np.arange(len(sites)), sites][:, None]
    before = np.arange(site_scores.shape[1])[None, :] < sites[:, None]
    better = (site_scores > own) | ((site_scores == own) & before)
    ranks: NDArray[np.int64] = 1 + better.sum(axis=1)
    return ranks


def _evaluate(
    aggregate: Aggregate, scores: NDArray[np.float64], weights: NDArray[np.float64]
) -> NDArray[np.float64]:
    result = np.asarray(aggregate(scores, weights), dtype=np.float64)
    expected = (weights.shape[0], scores.shape[0])
    if result.shape != expected:
        raise ValueError(
            f"aggregate returned shape {result.shape}; it must return (weight vectors, sites) = "
            f"{expected}"
        )
    return result


def sample_weights(
    weights: Mapping[str, float],
    *,
    n_draws: int,
    method: Literal["dirichlet", "uniform"] = "dirichlet",
    concentration: float = 100.0,
    spread: float = 0.2,
    seed: int | np.random.Generator,
) -> pd.DataFrame:
    r"""Draw weight vectors around the base weights; each row sums to 1.

    - ``"dirichlet"``: :math:`w \sim \mathrm{Dirichlet}(c \, w_0)` with :math:`w_0` the
      normalised base weights and :math:`c` the ``concentration``. The mean is :math:`w_0` and
      :math:`\mathrm{sd}(w_j) = \sqrt{w_{0j}(1 - w_{0j}) / (c + 1)}`: with :math:`c = 100` a
      weight of 0.25 varies by about 0.043 (17 % of itself); larger :math:`c` is tighter.
    - ``"uniform"``: :math:`w_j = w_{0j} (1 + \varepsilon_j)` with
      :math:`\varepsilon_j \sim U(-s, s)` independently (:math:`s` = ``spread``, e.g. 0.2 for
      +/- 20 %), then renormalised to sum to 1 (so a weight's final change can be a little more
      or less than :math:`s`).

    A criterion with base weight 0 keeps weight 0 in every draw.

    Parameters
    ----------
    weights
        Criterion name to base weight (``>= 0``, normalised here).
    n_draws
        Number of weight vectors, ``>= 1``.
    method
        ``"dirichlet"`` or ``"uniform"``.
    concentration
        Dirichlet concentration :math:`c > 0` (``"dirichlet"`` only).
    spread
        Relative half-width :math:`s` in [0, 1) (``"uniform"`` only).
    seed
        Seed of :func:`numpy.random.default_rng` (or a Generator); the same seed gives the same
        draws.

    Returns
    -------
    pandas.DataFrame
        ``n_draws`` rows, one column per criterion in the order of ``weights``.

    Raises
    ------
    ConfigError
        For invalid weights, ``n_draws < 1``, an unknown method, ``concentration <= 0`` or
        ``spread`` outside [0, 1).

    Examples
    --------
    >>> draws = sample_weights({"a": 1.0, "b": 3.0}, n_draws=4, seed=1)
    >>> draws.shape, bool(np.allclose(draws.sum(axis=1), 1.0))
    ((4, 2), True)
    """
    base = normalise_weights(weights)
    values = np.array(list(base.values()), dtype=np.float64)
    draws = _draw(values, n_draws, method, concentration, spread, np.random.default_rng(seed))
    return pd.DataFrame(draws, columns=list(base))


def _draw(
    base: NDArray[np.float64],
    n_draws: int,
    method: str,
    concentration: float,
    spread: float,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    if n_draws < 1:
        raise ConfigError(f"n_draws must be >= 1, got {n_draws}")
    draws = np.zeros((n_draws, base.size))
    positive = base > 0.0
    if method == "dirichlet":
        if not (math.isfinite(concentration) and concentration > 0.0):
            raise ConfigError(f"concentration must be a finite number > 0, got {concentration!r}")
        draws[:, positive] = rng.dirichlet(concentration * base[positive], size=n_draws)
    elif method == "uniform":
        if not 0.0 <= spread < 1.0:
            raise ConfigError(f"spread must be in [0, 1), got {spread!r}")
        draws = base * (1.0 + rng.uniform(-spread, spread, size=(n_draws, base.size)))
    else:
        raise ConfigError(f"method must be 'dirichlet' or 'uniform', got {method!r}")
    normalised: NDArray[np.float64] = draws / draws.sum(axis=1, keepdims=True)
    return normalised


def monte_carlo_ranks(
    criteria: pd.DataFrame,
    weights: Mapping[str, float],
    *,
    n_draws: int = 1000,
    method: Literal["dirichlet", "uniform"] = "dirichlet",
    concentration: float = 100.0,
    spread: float = 0.2,
    seed: int | np.random.Generator,
    top_k: int = 10,
    aggregate: Aggregate | None = None,
) -> pd.DataFrame:
    """Rank spread of every site under weights sampled around the base weights.

    Draws ``n_draws`` weight vectors with :func:`sample_weights`, scores every site under all of
    them at once (one ``(n_draws x n_criteria) @ (n_criteria x n_sites)`` product for the default
    weighted linear combination) and ranks the sites in each draw.

    Parameters
    ----------
    criteria
        One row per site, one column per criterion score (in [0, 1], 1 = best); other columns are
        ignored. No NaN in the criteria used.
    weights
        Criterion name to base weight; its keys select the columns.
    n_draws, method, concentration, spread, seed
        As for :func:`sample_weights`.
    top_k
        The ``k`` of ``p_top{k}``, ``>= 1``.
    aggregate
        How a weight vector turns the criteria into a site score (see :data:`Aggregate`); default
        the weighted linear combination, as :func:`gridsite.sites.ranking.rank_sites` uses.

    Returns
    -------
    pandas.DataFrame
        On ``criteria``'s index, sorted by ``base_rank``: ``base_score`` and ``base_rank`` (the
        base weights); ``rank_p05``, ``rank_p50``, ``rank_p95``, the 5th, 50th and 95th
        percentile of the site's rank over the draws (empirical quantiles, so always ranks that
        occurred: in 95 % of the draws the site ranked ``rank_p95`` or better); and
        ``p_top{k}``, the share of draws in which it ranked ``k`` or better.

    Raises
    ------
    ConfigError
        For invalid weights or sampling options, criteria missing from the table or with NaN,
        an empty table, or ``top_k < 1``.
    ValueError
        If ``aggregate`` returns the wrong shape.

    Examples
    --------
    >>> sites = pd.DataFrame({"power": [0.9, 0.5, 0.1], "water": [0.1, 0.5, 0.9]},
    ...                      index=["A", "B", "C"])
    >>> out = monte_carlo_ranks(sites, {"power": 0.8, "water": 0.2}, n_draws=200, seed=0,
    ...                         top_k=1)
    >>> out[["base_rank", "rank_p05", "rank_p95", "p_top1"]]
       base_rank  rank_p05  rank_p95  p_top1
    A          1         1         1     1.0
    B          2         2         2     0.0
    C          3         3         3     0.0
    """
    if top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {top_k}")
    _, base, scores = _criteria_matrix(criteria, weights)
    aggregate = _wlc if aggregate is None else aggregate
    draws = _draw(base, n_draws, method, concentration, spread, np.random.default_rng(seed))

    n_sites = scores.shape[0]
    ranks = np.empty((n_draws, n_sites), dtype=np.int32)
    block = max(1, _BLOCK_ENTRIES // n_sites)
    for start in range(0, n_draws, block):
        stop = min(start + block, n_draws)
        ranks[start:stop] = _ranks(_evaluate(aggregate, scores, draws[start:stop]))

    base_score = _evaluate(aggregate, scores, base[None, :])
    quantiles = np.quantile(ranks, [0.05, 0.5, 0.95], axis=0, method="inverted_cdf")
    out = pd.DataFrame(
        {
            "base_score": base_score[0],
            "base_rank": _ranks(base_score)[0],
            "rank_p05": quantiles[0].astype(np.int32),
            "rank_p50": quantiles[1].astype(np.int32),
            "rank_p95": quantiles[2].astype(np.int32),
            f"p_top{top_k}": (ranks <= top_k).mean(axis=0),
        },
        index=criteria.index,
    )
    return out.sort_values("base_rank", kind="stable")


def _path_weights(base: NDArray[np.float64], j: int, t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weight vectors with criterion ``j`` at each ``t`` and the others rescaled to ``1 - t``.

    The others keep their proportions; if they were all 0 (criterion ``j`` had the whole weight)
    they share ``1 - t`` equally.
    """
    others = base.copy()
    others[j] = 0.0
    rest = others.sum()
    if rest > 0.0:
        others /= rest
    elif base.size > 1:
        others[:] = 1.0 / (base.size - 1)
        others[j] = 0.0
    path: NDArray[np.float64] = (1.0 - t)[:, None] * others[None, :]
    path[:, j] = t
    return path


def one_at_a_time(
    criteria: pd.DataFrame,
    weights: Mapping[str, float],
    *,
    sites: Sequence[Hashable] | None = None,
    steps: int = 101,
    tol: float = 1e-6,
    aggregate: Aggregate | None = None,
) -> pd.DataFrame:
    """For each criterion, the weights at which the top sites' ranks first change.

    Criterion ``j``'s weight runs over ``t`` in [0, 1] while the others keep their proportions and
    share ``1 - t``. Starting at the base weight and walking down (then up) a grid of ``steps``
    evenly spaced weights, the first weight where a site's rank differs from its base rank is
    located, then refined by bisection to ``tol``. A change that reverts within one grid step
    (``1 / (steps - 1)``) is not seen; raise ``steps`` to look closer.

    Parameters
    ----------
    criteria
        One row per site, one column per criterion score; other columns are ignored; no NaN.
    weights
        Criterion name to base weight; its keys select the columns.
    sites
        Index labels of the sites to report; default the 10 best at the base weights.
    steps
        Grid points on [0, 1], ``>= 2``.
    tol
        Width to which each switch weight is bisected, ``> 0``.
    aggregate
        As for :func:`monte_carlo_ranks`; default the weighted linear combination.

    Returns
    -------
    pandas.DataFrame
        One row per criterion and site (criteria in the order of ``weights``, sites best first):
        ``criterion``, ``site`` (the index label), ``base_weight`` (normalised), ``base_rank``;
        ``weight_below``, the largest weight below the base at which the rank differs (NaN if it
        never does down to 0), and ``rank_below``, the rank just past it; ``weight_above`` and
        ``rank_above`` likewise upwards to 1. Ranks are nullable integers.

    Raises
    ------
    ConfigError
        For invalid weights, criteria missing from the table or with NaN, sites that are not in
        the index, ``steps < 2`` or ``tol <= 0``.

    Examples
    --------
    Site A wins on power, B on water; at equal weights A leads (0.5 against 0.45):

    >>> table = pd.DataFrame({"power": [0.8, 0.3], "water": [0.2, 0.6]}, index=["A", "B"])
    >>> oat = one_at_a_time(table, {"power": 1.0, "water": 1.0}, sites=["A"])
    >>> oat[["criterion", "weight_below", "rank_below", "weight_above"]].round(4)
      criterion  weight_below  rank_below  weight_above
    0     power        0.4444           2           NaN
    1     water           NaN        <NA>        0.5556
    """
    if steps < 2:
        raise ConfigError(f"steps must be >= 2, got {steps}")
    if not tol > 0.0:
        raise ConfigError(f"tol must be > 0, got {tol!r}")
    names, base, scores = _criteria_matrix(criteria, weights)
    aggregate = _wlc if aggregate is None else aggregate
    base_ranks = _ranks(_evaluate(aggregate, scores, base[None, :]))[0]
    if sites is None:
        chosen = np.argsort(base_ranks, kind="stable")[: min(10, len(base_ranks))]
    else:
        positions = criteria.index.get_indexer(pd.Index(list(sites)))
        unknown = [site for site, pos in zip(sites, positions, strict=True) if pos < 0]
        if unknown:
            raise ConfigError(
                f"sites {', '.join(map(str, unknown))} are not in the site table's index"
            )
        chosen = positions[np.argsort(base_ranks[positions], kind="stable")]
    grid = np.linspace(0.0, 1.0, steps)

    rows: list[dict[str, object]] = []
    for j, name in enumerate(names):
        t0 = float(base[j])
        switches: dict[tuple[int, str], tuple[float, int]] = {}
        if base.size > 1:
            grid_ranks = _ranks(_evaluate(aggregate, scores, _path_weights(base, j, grid)))
            switches = _switches(
                aggregate, scores, base, j, t0, grid, grid_ranks, chosen, base_ranks, tol
            )
        for site in chosen:
            below = switches.get((int(site), "below"))
            above = switches.get((int(site), "above"))
            rows.append(
                {
                    "criterion": name,
                    "site": criteria.index[site],
                    "base_weight": t0,
                    "base_rank": int(base_ranks[site]),
                    "weight_below": math.nan if below is None else below[0],
                    "rank_below": pd.NA if below is None else below[1],
                    "weight_above": math.nan if above is None else above[0],
                    "rank_above": pd.NA if above is None else above[1],
                }
            )
    out = pd.DataFrame(
        rows,
        columns=[
            "criterion",
            "site",
            "base_weight",
            "base_rank",
            "weight_below",
            "rank_below",
            "weight_above",
            "rank_above",
        ],
    )
    return out.astype({"rank_below": "Int64", "rank_above": "Int64", "weight_below": float})


def _switches(
    aggregate: Aggregate,
    scores: NDArray[np.float64],
    base: NDArray[np.float64],
    j: int,
    t0: float,
    grid: NDArray[np.float64],
    grid_ranks: NDArray[np.int32],
    chosen: NDArray[np.intp],
    base_ranks: NDArray[np.int32],
    tol: float,
) -> dict[tuple[int, str], tuple[float, int]]:
    """Bracket each site's first rank change on the grid, then bisect all brackets together.

    Returns ``(site position, "below" | "above") -> (switch weight, rank just past it)``.
    """
    brackets: list[tuple[int, str, float, float]] = []  # site, side, unchanged t, changed t
    below = np.flatnonzero(grid < t0)[::-1]  # walking down from the base
    above = np.flatnonzero(grid > t0)
    for site in chosen:
        r0 = base_ranks[site]
        for side, walk in (("below", below), ("above", above)):
            changed = np.flatnonzero(grid_ranks[walk, site] != r0)
            if changed.size == 0:
                continue
            i = int(changed[0])
            unchanged = float(grid[walk[i - 1]]) if i > 0 else t0
            brackets.append((int(site), side, unchanged, float(grid[walk[i]])))
    if not brackets:
        return {}
    site_pos = np.array([b[0] for b in brackets], dtype=np.intp)
    good = np.array([b[2] for b in brackets])
    bad = np.array([b[3] for b in brackets])
    r0 = base_ranks[site_pos]
    while np.max(np.abs(bad - good)) > tol:
        mid = 0.5 * (good + bad)
        ranks = _rank_of(_evaluate(aggregate, scores, _path_weights(base, j, mid)), site_pos)
        moved = ranks != r0
        bad = np.where(moved, mid, bad)
        good = np.where(moved, good, mid)
    past = _rank_of(_evaluate(aggregate, scores, _path_weights(base, j, bad)), site_pos)
    return {
        (site, side): (float(0.5 * (g + b)), int(rank))
        for (site, side, _, _), g, b, rank in zip(brackets, good, bad, past, strict=True)
    }
