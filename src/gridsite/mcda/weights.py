"""Criterion weights from direct scores or from a ranking of the criteria.

Every function returns a dict of criterion name to weight, in the order given, summing to 1. The
rank-based rules turn an importance order (1 = most important) into "surrogate" weights, for when
a decision maker can order criteria but not score them. For weights from pairwise comparisons see
:mod:`gridsite.mcda.ahp`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from numpy.typing import ArrayLike

from gridsite.errors import ConfigError
from gridsite.mcda.ahp import ahp_weights
from gridsite.mcda.overlay import normalise_weights

__all__ = [
    "criterion_weights",
    "direct_weights",
    "rank_order_centroid_weights",
    "rank_reciprocal_weights",
    "rank_sum_weights",
]


def direct_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Return directly assigned weights (points, percentages...) normalised to sum to 1.

    Parameters
    ----------
    weights
        Criterion name to relative weight (unitless, ``>= 0``, not all zero).

    Returns
    -------
    dict[str, float]
        Weights that sum to 1, in the order given.

    Raises
    ------
    ConfigError
        Naming every negative or non-finite weight, or if all are zero.

    Examples
    --------
    >>> direct_weights({"slope": 20, "substation_distance": 50, "water": 30})
    {'slope': 0.2, 'substation_distance': 0.5, 'water': 0.3}
    """
    return normalise_weights({name: float(w) for name, w in weights.items()})


def _positions(ranks: Mapping[str, int]) -> dict[str, list[int]]:
    """Map each criterion to the 1-based positions its tie group occupies in the ranking."""
    if not ranks:
        raise ConfigError("no criteria ranked; give each criterion a rank (1 = most important)")
    problems = [
        f"criterion {name!r}: rank must be an integer >= 1, got {rank!r}"
        for name, rank in ranks.items()
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1
    ]
    if problems:
        raise ConfigError("; ".join(problems))
    ordered = sorted(ranks, key=lambda name: ranks[name])
    groups: dict[int, list[int]] = {}
    for position, name in enumerate(ordered, start=1):
        groups.setdefault(ranks[name], []).append(position)
    return {name: groups[ranks[name]] for name in ranks}


def _rank_weights(
    ranks: Mapping[str, int], per_position: Callable[[int, int], float]
) -> dict[str, float]:
    positions = _positions(ranks)
    n = len(ranks)
    raw = {
        name: math.fsum(per_position(p, n) for p in ps) / len(ps) for name, ps in positions.items()
    }
    total = math.fsum(raw.values())
    return {name: w / total for name, w in raw.items()}


def rank_sum_weights(ranks: Mapping[str, int]) -> dict[str, float]:
    """Weights proportional to ``n - r + 1`` (rank sum, Stillwell, Seaver & Edwards 1981).

    ``w_j = 2 (n + 1 - r_j) / (n (n + 1))`` for ``n`` criteria at positions ``r_j`` = 1..n.

    Parameters
    ----------
    ranks
        Criterion name to rank, an integer ``>= 1`` with 1 the most important. Only the order
        matters: ranks ``1, 2, 5`` are read as positions 1, 2, 3. Ties are allowed: criteria with
        the same rank share equally the weights of the positions they occupy together (the mean of
        those positions' weights), so ``{a: 1, b: 1, c: 2}`` gives ``a`` and ``b`` the mean of
        the weights of positions 1 and 2 and ``c`` the weight of position 3.

    Returns
    -------
    dict[str, float]
        Weights summing to 1, in the order given.

    Raises
    ------
    ConfigError
        Naming every rank that is not an integer ``>= 1``, or if nothing is ranked.

    References
    ----------
    Stillwell W.G., Seaver D.A., Edwards W. (1981) A comparison of weight approximation techniques
    in multiattribute utility decision making. Organizational Behavior and Human Performance
    28(1):62-77.

    Examples
    --------
    >>> {k: round(v, 4) for k, v in rank_sum_weights({"a": 1, "b": 2, "c": 3}).items()}
    {'a': 0.5, 'b': 0.3333, 'c': 0.1667}
    """
    return _rank_weights(ranks, lambda r, n: float(n - r + 1))


def rank_reciprocal_weights(ranks: Mapping[str, int]) -> dict[str, float]:
    """Weights proportional to ``1 / r`` (rank reciprocal, Stillwell, Seaver & Edwards 1981).

    ``w_j = (1 / r_j) / sum_k (1 / r_k)`` for positions ``r_j`` = 1..n.

    Parameters
    ----------
    ranks
        Criterion name to rank (1 = most important); only the order matters and ties share the
        weights of their positions equally, as in :func:`rank_sum_weights`.

    Returns
    -------
    dict[str, float]
        Weights summing to 1, in the order given.

    Raises
    ------
    ConfigError
        Naming every rank that is not an integer ``>= 1``, or if nothing is ranked.

    References
    ----------
    Stillwell W.G., Seaver D.A., Edwards W. (1981) A comparison of weight approximation techniques
    in multiattribute utility decision making. Organizational Behavior and Human Performance
    28(1):62-77.

    Examples
    --------
    >>> {k: round(v, 4) for k, v in rank_reciprocal_weights({"a": 1, "b": 2, "c": 3}).items()}
    {'a': 0.5455, 'b': 0.2727, 'c': 0.1818}
    """
    return _rank_weights(ranks, lambda r, n: 1.0 / r)


def rank_order_centroid_weights(ranks: Mapping[str, int]) -> dict[str, float]:
    """Rank-order-centroid (ROC) weights (Barron & Barrett 1996).

    ``w_j = (1 / n) sum_{k = r_j}^{n} 1 / k``: the centroid of the simplex of weight vectors that
    respect the ranking ``w_1 >= w_2 >= ... >= w_n``.

    Parameters
    ----------
    ranks
        Criterion name to rank (1 = most important); only the order matters and ties share the
        weights of their positions equally, as in :func:`rank_sum_weights`.

    Returns
    -------
    dict[str, float]
        Weights summing to 1, in the order given.

    Raises
    ------
    ConfigError
        Naming every rank that is not an integer ``>= 1``, or if nothing is ranked.

    References
    ----------
    Barron F.H., Barrett B.E. (1996) Decision quality using ranked attribute weights. Management
    Science 42(11):1515-1523.

    Examples
    --------
    >>> {k: round(v, 3) for k, v in rank_order_centroid_weights({"a": 1, "b": 2, "c": 3}).items()}
    {'a': 0.611, 'b': 0.278, 'c': 0.111}
    """
    return _rank_weights(ranks, lambda r, n: math.fsum(1.0 / k for k in range(r, n + 1)) / n)


def criterion_weights(
    direct: Mapping[str, float | None],
    *,
    method: str = "direct",
    ranks: Mapping[str, int] | None = None,
    ahp: tuple[Sequence[str], ArrayLike] | None = None,
    accept_inconsistent: bool = False,
    groups: Mapping[str, str | None] | None = None,
    group_weights: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Resolve a study's criterion weights, summing to 1.

    Parameters
    ----------
    direct
        Criterion name -> its ``weight`` from the study file (None where not given); the names
        and their order define the criteria.
    method
        ``direct`` (normalised), ``rank_sum``, ``rank_reciprocal``, ``roc`` (from ``ranks``) or
        ``ahp`` (from the pairwise matrix ``ahp``: ``(names, matrix)``).
    group_weights
        With ``groups`` (criterion -> group name): each group gets this share, spread over its
        members in proportion to their weights from ``method`` (a two-level hierarchy).

    Raises
    ------
    ConfigError
        Naming the key at fault: a negative, non-finite or all-zero weight (criterion or group),
        a missing rank, or an AHP matrix that is invalid, inconsistent or names other criteria.

    Examples
    --------
    >>> criterion_weights({"a": 2.0, "b": 1.0, "c": 1.0}, groups={"a": "g", "b": "g", "c": "h"},
    ...                   group_weights={"g": 0.5, "h": 0.5})
    {'a': 0.3333333333333333, 'b': 0.16666666666666666, 'c': 0.5}
    """
    names = list(direct)
    if method == "direct":
        raw = {n: float(direct[n] or 0.0) for n in names}
        # Inside groups only the ratios matter, so a group may hold zero-weight criteria.
        local = raw if group_weights else direct_weights(raw)
    elif method in ("rank_sum", "rank_reciprocal", "roc"):
        rule = {
            "rank_sum": rank_sum_weights,
            "rank_reciprocal": rank_reciprocal_weights,
            "roc": rank_order_centroid_weights,
        }[method]
        local = rule({n: int((ranks or {})[n]) for n in names})
    elif method == "ahp":
        if ahp is None:
            raise ConfigError("weights.method 'ahp' needs a pairwise matrix")
        m_names, matrix = ahp
        if set(m_names) != set(names):
            raise ConfigError(
                f"weights.ahp_matrix: its criteria {sorted(m_names)} differ from the study's "
                f"{sorted(names)}"
            )
        res = ahp_weights(
            matrix,
            list(m_names),
            accept_inconsistent=accept_inconsistent,
            label="weights.ahp_matrix",
        )
        local = {n: float(res.weights[n]) for n in names}
    else:
        raise ConfigError(
            f"weights.method {method!r} is not one of direct, rank_sum, rank_reciprocal, roc, ahp"
        )
    if not group_weights:
        return {n: float(local[n]) for n in names}
    assert groups is not None
    bad = [
        f"weights.group_weights.{g} must be a finite number >= 0, got {gw!r}"
        for g, gw in group_weights.items()
        if not (math.isfinite(gw) and gw >= 0)
    ]
    if bad:
        raise ConfigError("; ".join(bad))
    if math.fsum(group_weights.values()) <= 0:
        raise ConfigError(
            "weights.group_weights are all zero; give at least one group a weight > 0"
        )
    shares = direct_weights(group_weights)
    out: dict[str, float] = {}
    for g, share in shares.items():
        members = [n for n in names if groups.get(n) == g]
        total = sum(local[n] for n in members)
        if total <= 0:
            raise ConfigError(f"weights.group_weights: the criteria of group {g!r} weigh 0")
        for n in members:
            out[n] = share * local[n] / total
    return {n: out.get(n, 0.0) for n in names}
