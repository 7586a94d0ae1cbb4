"""Analytic hierarchy process (AHP): criterion weights from pairwise comparisons.

A pairwise matrix ``A`` holds, in row ``i`` and column ``j``, how much more important criterion
``i`` is than criterion ``j`` on Saaty's 1-9 scale; it must be positive and reciprocal
(``a_ji = 1 / a_ij``) with ones on the diagonal. The weights are the principal (Perron) eigenvector
of ``A`` normalised to sum to 1; its eigenvalue ``lambda_max`` measures consistency:
``CI = (lambda_max - n) / (n - 1)`` and ``CR = CI / RI(n)``, with ``RI`` Saaty's (1980) random
index. A ratio above 0.10 means the judgements contradict each other too much to be used.

References
----------
Saaty T.L. (1980) The Analytic Hierarchy Process. McGraw-Hill, New York.
Saaty T.L. (2008) Decision making with the analytic hierarchy process. Int. J. Services Sciences
1(1):83-98.
Aczél J., Saaty T.L. (1983) Procedures for synthesizing ratio judgements. Journal of Mathematical
Psychology 27(1):93-102.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridsite.errors import ConfigError
from gridsite.mcda.overlay import normalise_weights

__all__ = [
    "MAX_AHP_CRITERIA",
    "RANDOM_INDEX_SAATY_1980",
    "AHPResult",
    "Judgement",
    "ahp_weights",
    "check_pairwise_matrix",
    "group_pairwise_matrix",
    "hierarchy_weights",
    "inconsistent_judgements",
    "random_index",
]

#: Saaty's (1980) random index RI(n): the mean CI of random reciprocal matrices of order n, as
#: commonly cited (and in docs/domain.md). Other tables exist (Saaty 2005; Donegan & Dodd 1991).
RANDOM_INDEX_SAATY_1980: Mapping[int, float] = MappingProxyType(
    {
        1: 0.0,
        2: 0.0,
        3: 0.58,
        4: 0.90,
        5: 1.12,
        6: 1.24,
        7: 1.32,
        8: 1.41,
        9: 1.45,
        10: 1.49,
        11: 1.51,
        12: 1.48,
        13: 1.56,
        14: 1.57,
        15: 1.59,
    }
)

#: The largest matrix the RI table covers; beyond it people cannot judge consistently anyway.
MAX_AHP_CRITERIA = 15

_RECIPROCAL_TOL = 0.02
_MAX_LISTED = 8


def random_index(n: int) -> float:
    """Return Saaty's (1980) random index RI(n) for an ``n`` x ``n`` matrix (0 for n = 1, 2).

    Raises
    ------
    ConfigError
        If ``n`` is outside 1..15.

    Examples
    --------
    >>> random_index(3), random_index(9)
    (0.58, 1.45)
    """
    if n not in RANDOM_INDEX_SAATY_1980:
        raise ConfigError(
            f"no random index for {n} criteria; AHP here takes 1 to {MAX_AHP_CRITERIA} criteria "
            "(group them into a hierarchy with hierarchy_weights)"
        )
    return RANDOM_INDEX_SAATY_1980[n]


def _ratio(value: float) -> str:
    """Format a judgement as Saaty would write it: ``3``, ``1/3``, ``2.5``, ``1/2.5``."""
    if not (math.isfinite(value) and value > 0):
        return repr(value)
    return f"{value:.3g}" if value >= 1 else f"1/{1 / value:.3g}"


def _cells(cells: list[str]) -> str:
    more = len(cells) - _MAX_LISTED
    return ", ".join(cells[:_MAX_LISTED]) + (f" and {more} more" if more > 0 else "")


def _matrix_problems(
    matrix: ArrayLike, names: Sequence[str] | None, label: str, reciprocal_tol: float
) -> tuple[NDArray[np.float64] | None, list[str]]:
    """Return the matrix as float64 (None if it cannot be one) and every problem found."""
    try:
        a = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return None, [f"{label}: not a numeric matrix ({exc})"]
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        return None, [f"{label}: must be a square matrix, got shape {a.shape}"]
    n = a.shape[0]
    problems = []
    if n == 0:
        problems.append(f"{label}: is empty; compare at least one criterion")
    if n > MAX_AHP_CRITERIA:
        problems.append(
            f"{label}: has {n} criteria, more than the {MAX_AHP_CRITERIA} the random-index table "
            "covers; group the criteria into a hierarchy (hierarchy_weights) of smaller matrices"
        )
    if names is not None:
        if len(names) != n:
            problems.append(f"{label}: {len(names)} names for a {n} x {n} matrix")
            names = None
        elif len(set(names)) != n:
            dupes = sorted({x for x in names if list(names).count(x) > 1})
            problems.append(f"{label}: criterion names repeat: {', '.join(dupes)}")
    labels = list(names) if names is not None else [str(i) for i in range(n)]

    def cell(i: int, j: int) -> str:
        return f"({labels[i]}, {labels[j]}) = {float(a[i, j]):g}"

    bad = [cell(i, j) for i, j in zip(*np.nonzero(~(np.isfinite(a) & (a > 0))), strict=True)]
    if bad:
        problems.append(f"{label}: judgements must be finite and > 0: {_cells(bad)}")
    diag = [cell(i, i) for i in range(n) if not math.isclose(a[i, i], 1.0, rel_tol=1e-9)]
    if diag:
        problems.append(
            f"{label}: the diagonal must be 1 (a criterion against itself): {_cells(diag)}"
        )
    with np.errstate(invalid="ignore", over="ignore"):
        product = a * a.T
    nonrecip = [
        f"({labels[i]}, {labels[j]}) = {_ratio(a[i, j])} but ({labels[j]}, {labels[i]}) = "
        f"{_ratio(a[j, i])}, not {_ratio(1 / a[i, j])}"
        for i in range(n)
        for j in range(i + 1, n)
        if a[i, j] > 0 and a[j, i] > 0 and abs(product[i, j] - 1.0) > reciprocal_tol
    ]
    if nonrecip:
        problems.append(
            f"{label}: must be reciprocal (a_ji = 1/a_ij; write 1/3 rather than 0.3): "
            f"{_cells(nonrecip)}"
        )
    return a, problems


def check_pairwise_matrix(
    matrix: ArrayLike,
    names: Sequence[str] | None = None,
    *,
    label: str = "pairwise matrix",
    reciprocal_tol: float = _RECIPROCAL_TOL,
) -> NDArray[np.float64]:
    """Check a pairwise-comparison matrix and return it as a float64 array.

    Parameters
    ----------
    matrix
        Square matrix; ``matrix[i][j]`` is how much more important criterion ``i`` is than ``j``.
    names
        Criterion names in row (and column) order, used in messages; optional.
    label
        What to call the matrix in messages (a file name, a hierarchy node).
    reciprocal_tol
        Largest accepted ``|a_ij a_ji - 1|``, so rounded entries such as 0.333 for 1/3 pass.

    Raises
    ------
    ConfigError
        Listing every problem at once: not square, more than 15 criteria, a judgement that is not
        finite and positive, a diagonal entry other than 1, a pair that is not reciprocal, or
        names that do not match the matrix.

    Examples
    --------
    >>> check_pairwise_matrix([[1, 3], [1 / 3, 1]]).shape
    (2, 2)
    """
    a, problems = _matrix_problems(matrix, names, label, reciprocal_tol)
    if problems or a is None:
        raise ConfigError("; ".join(problems))
    return a


class Judgement(NamedTuple):
    """One pairwise judgement set against what the derived weights imply."""

    row: str
    """The criterion of the matrix row (the one judged more or less important)."""
    col: str
    """The criterion of the matrix column."""
    given: float
    """The judgement ``a_ij`` as given."""
    consistent: float
    """The judgement the weights imply, ``w_i / w_j``."""
    log_error: float
    """``ln(a_ij w_j / w_i)``: 0 when the judgement agrees with the weights."""


def inconsistent_judgements(
    matrix: ArrayLike, names: Sequence[str], weights: Sequence[float], *, top: int = 3
) -> list[Judgement]:
    """Return the ``top`` judgements that disagree most with ``weights``.

    Judgements are ranked by ``|ln(a_ij w_j / w_i)|``, over the upper triangle (``i < j``), so a
    judgement and its reciprocal are named once.

    Parameters
    ----------
    matrix
        Checked pairwise matrix.
    names
        Criterion names in row order.
    weights
        Weights in row order (e.g. from :func:`ahp_weights`).
    top
        How many judgements to return.

    Examples
    --------
    >>> a = [[1, 2, 8], [1 / 2, 1, 2], [1 / 8, 1 / 2, 1]]
    >>> inconsistent_judgements(a, ["x", "y", "z"], [4 / 7, 2 / 7, 1 / 7], top=1)[0][:4]
    ('x', 'z', 8.0, 4.0)
    """
    a = np.asarray(matrix, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    n = a.shape[0]
    found = [
        Judgement(
            names[i],
            names[j],
            float(a[i, j]),
            float(w[i] / w[j]),
            float(math.log(a[i, j] * w[j] / w[i])),
        )
        for i in range(n)
        for j in range(i + 1, n)
    ]
    found.sort(key=lambda jd: -abs(jd.log_error))
    return found[:top]


@dataclass(frozen=True)
class AHPResult:
    """Weights and consistency of one pairwise matrix.

    Attributes
    ----------
    weights
        Criterion name to weight (normalised principal eigenvector), in matrix order.
    lambda_max
        Principal eigenvalue of the matrix (``= n`` for a perfectly consistent matrix).
    ci
        Consistency index ``(lambda_max - n) / (n - 1)``, clipped at 0 (0 for n = 1).
    cr
        Consistency ratio ``CI / RI(n)`` (0 for n = 1, 2, where RI is 0).
    ri
        The random index used, from :data:`RANDOM_INDEX_SAATY_1980`.
    """

    weights: Mapping[str, float]
    lambda_max: float
    ci: float
    cr: float
    ri: float

    def to_dict(self) -> dict[str, object]:
        """Return ``{"weights": {name: w}, "lambda_max": ..., "ci": ..., "cr": ...}``."""
        return {
            "weights": dict(self.weights),
            "lambda_max": self.lambda_max,
            "ci": self.ci,
            "cr": self.cr,
        }


def _principal_eigen(a: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    # A positive matrix has a real, simple largest eigenvalue with a one-signed eigenvector
    # (Perron-Frobenius), so dropping the zero imaginary part and the sign loses nothing.
    v = np.abs(vectors[:, k].real)
    return v / v.sum(), float(values[k].real)


def ahp_weights(
    matrix: ArrayLike,
    names: Sequence[str],
    *,
    accept_inconsistent: bool = False,
    max_cr: float = 0.10,
    label: str = "pairwise matrix",
) -> AHPResult:
    """Derive weights from a pairwise-comparison matrix by the principal eigenvector (Saaty 1980).

    Parameters
    ----------
    matrix
        Square, positive, reciprocal matrix with ones on the diagonal; ``matrix[i][j]`` is how much
        more important ``names[i]`` is than ``names[j]`` (Saaty's 1-9 scale). At most 15 criteria.
    names
        Criterion names in row (and column) order.
    accept_inconsistent
        Return the result even when ``CR > max_cr``.
    max_cr
        Largest acceptable consistency ratio; Saaty's rule is 0.10.
    label
        What to call the matrix in messages (a file name, a hierarchy node).

    Returns
    -------
    AHPResult
        Weights summing to 1, ``lambda_max``, CI, CR and the RI used.

    Raises
    ------
    ConfigError
        If the matrix is invalid (every problem listed, see :func:`check_pairwise_matrix`), or if
        ``CR > max_cr`` and not ``accept_inconsistent``; the message then names the three
        judgements furthest from the weights, with the value given and the value consistent with
        the weights.

    Examples
    --------
    >>> r = ahp_weights([[1, 2, 4], [1 / 2, 1, 2], [1 / 4, 1 / 2, 1]], ["a", "b", "c"])
    >>> {k: round(v, 4) for k, v in r.weights.items()}, round(r.cr, 6)
    ({'a': 0.5714, 'b': 0.2857, 'c': 0.1429}, 0.0)
    """
    a = check_pairwise_matrix(matrix, names, label=label)
    n = a.shape[0]
    w, lambda_max = _principal_eigen(a)
    # lambda_max >= n for any positive reciprocal matrix; anything below is rounding (float
    # error, or 0.333 written for 1/3), so CI is clipped at 0 rather than reported negative.
    ci = max(0.0, (lambda_max - n) / (n - 1)) if n > 1 else 0.0
    ri = random_index(n)
    cr = ci / ri if ri > 0 else 0.0
    if cr > max_cr and not accept_inconsistent:
        worst = inconsistent_judgements(a, names, w.tolist(), top=3)
        listing = "; ".join(
            f"({j.row}, {j.col}) given {_ratio(j.given)}, consistent with the weights "
            f"{_ratio(j.consistent)}"
            for j in worst
        )
        raise ConfigError(
            f"{label} is inconsistent: CR = {cr:.3f} > {max_cr:.2f} (lambda_max {lambda_max:.4f}, "
            f"CI {ci:.4f}, RI({n}) = {ri} from Saaty 1980). Most inconsistent judgements (row, "
            f"column): {listing}. Revise these judgements, or accept the matrix as it is "
            "(accept_inconsistent=True; CLI --accept-inconsistent)"
        )
    return AHPResult(
        weights=dict(zip(names, w.tolist(), strict=True)),
        lambda_max=lambda_max,
        ci=ci,
        cr=cr,
        ri=ri,
    )


def group_pairwise_matrix(
    matrices: Sequence[ArrayLike], *, judge_weights: Sequence[float] | None = None
) -> NDArray[np.float64]:
    """Combine several judges' pairwise matrices by the element-wise geometric mean.

    The (weighted) geometric mean is the one mean that keeps the combined matrix reciprocal
    (Aczél & Saaty 1983); pass the result to :func:`ahp_weights`.

    Parameters
    ----------
    matrices
        One pairwise matrix per judge, all of the same size and criterion order.
    judge_weights
        Relative weight of each judge (``>= 0``, normalised here); equal if omitted.

    Returns
    -------
    NDArray[np.float64]
        ``exp(sum_k v_k ln A_k)`` with ``v`` the normalised judge weights.

    Raises
    ------
    ConfigError
        Listing every invalid matrix, a size mismatch, or invalid judge weights.

    Examples
    --------
    >>> group_pairwise_matrix([[[1, 4], [1 / 4, 1]], [[1, 1], [1, 1]]]).round(3).tolist()
    [[1.0, 2.0], [0.5, 1.0]]
    """
    if not matrices:
        raise ConfigError("no pairwise matrices to combine; give at least one")
    problems: list[str] = []
    arrays: list[NDArray[np.float64]] = []
    for k, m in enumerate(matrices):
        a, found = _matrix_problems(m, None, f"matrix {k} of the group", _RECIPROCAL_TOL)
        problems += found
        if a is not None:
            arrays.append(a)
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) > 1:
        problems.append(
            "the group's matrices differ in size: "
            + ", ".join(f"matrix {k} {np.shape(m)}" for k, m in enumerate(matrices))
        )
    if judge_weights is not None and len(judge_weights) != len(matrices):
        problems.append(f"{len(judge_weights)} judge weights for {len(matrices)} matrices")
    if problems:
        raise ConfigError("; ".join(problems))
    if judge_weights is None:
        v = [1.0 / len(arrays)] * len(arrays)
    else:
        v = list(normalise_weights({f"judge {k}": w for k, w in enumerate(judge_weights)}).values())
    logs = sum((vk * np.log(a) for vk, a in zip(v, arrays, strict=True)), np.zeros(shapes[0]))
    return np.exp(logs)


#: Judgements at one hierarchy node: direct local weights {child: weight} (normalised here), an
#: :class:`AHPResult`, or ``(names, matrix)`` as :func:`gridsite.layers.read_pairwise_matrix`
#: returns, which is run through :func:`ahp_weights`.
NodeJudgements: TypeAlias = Mapping[str, float] | AHPResult | tuple[Sequence[str], ArrayLike]


def hierarchy_weights(
    tree: Mapping[str, NodeJudgements], *, accept_inconsistent: bool = False
) -> dict[str, float]:
    """Return global leaf weights of a criteria hierarchy: local weights multiplied down the tree.

    Parameters
    ----------
    tree
        Each inner node (the goal and every group of criteria) to the local weights of its
        children: a dict ``{child: weight}``, an :class:`AHPResult`, or a ``(names, matrix)``
        pair weighed by :func:`ahp_weights`. Children that are not keys of ``tree`` are the leaves
        (criteria). The root is the one node that is nobody's child.
    accept_inconsistent
        Passed to :func:`ahp_weights` for nodes given as matrices.

    Returns
    -------
    dict[str, float]
        Leaf name to global weight (product of the local weights on its path from the root),
        summing to 1, leaves in depth-first order.

    Raises
    ------
    ConfigError
        Listing every problem: no single root, a node under two parents, a node not reachable from
        the root (a cycle), invalid local weights or an invalid or inconsistent matrix (naming the
        node).

    Examples
    --------
    >>> tree = {"goal": {"grid": 3, "land": 1}, "grid": {"substation": 0.5, "headroom": 0.5}}
    >>> hierarchy_weights(tree)
    {'substation': 0.375, 'headroom': 0.375, 'land': 0.25}
    """
    if not tree:
        raise ConfigError("empty criteria hierarchy; give at least the goal node and its children")
    problems: list[str] = []
    local: dict[str, dict[str, float]] = {}
    for node, judged in tree.items():
        try:
            if isinstance(judged, AHPResult):
                local[node] = dict(judged.weights)
            elif isinstance(judged, tuple):
                names, matrix = judged
                result = ahp_weights(
                    matrix,
                    list(names),
                    accept_inconsistent=accept_inconsistent,
                    label=f"hierarchy node {node!r}",
                )
                local[node] = dict(result.weights)
            else:
                local[node] = normalise_weights({c: float(w) for c, w in judged.items()})
        except ConfigError as exc:
            problems.append(f"hierarchy node {node!r}: {exc}")

    parents: dict[str, list[str]] = {}
    for node, children in local.items():
        for child in children:
            parents.setdefault(child, []).append(node)
    shared = {c: ps for c, ps in parents.items() if len(ps) > 1}
    problems += [f"{c!r} is under more than one node ({', '.join(ps)})" for c, ps in shared.items()]
    roots = [node for node in tree if node not in parents]
    if len(roots) != 1:
        problems.append(
            f"a hierarchy needs exactly one root (a node nobody lists as a child), found "
            f"{', '.join(map(repr, roots)) or 'none (every node is a child: a cycle)'}"
        )
    if problems:
        raise ConfigError("; ".join(problems))

    out: dict[str, float] = {}
    reached = set()
    stack: list[tuple[str, float]] = [(roots[0], 1.0)]
    while stack:
        node, weight = stack.pop()
        reached.add(node)
        if node not in local:
            out[node] = weight
            continue
        # Reversed so that the stack pops children in the order given.
        stack += [(c, weight * w) for c, w in reversed(local[node].items())]
    unreached = [node for node in tree if node not in reached]
    if unreached:
        raise ConfigError(
            f"hierarchy nodes not reachable from the root {roots[0]!r} (a cycle?): "
            f"{', '.join(map(repr, unreached))}"
        )
    return out
