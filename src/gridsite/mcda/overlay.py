"""Weighted linear combination (WLC) of criterion scores into one suitability surface.

Scores are rasters on one study grid with values in [0, 1] (1 is best) and NaN outside the study
area; weights are relative importances, normalised here to sum to 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from gridsite.criteria.blocks import run_blocks
from gridsite.errors import ConfigError

__all__ = ["RunningLinearCombination", "normalise_weights", "weighted_linear_combination"]


def normalise_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Return ``weights`` divided by their sum, in the same order.

    Parameters
    ----------
    weights
        Criterion name to relative weight (unitless, ``>= 0``).

    Returns
    -------
    dict[str, float]
        Weights that sum to 1.

    Raises
    ------
    ConfigError
        Naming every criterion whose weight is negative or not finite, or if there are no weights
        or they are all zero.

    Examples
    --------
    >>> normalise_weights({"slope": 1.0, "substation_distance": 3.0})
    {'slope': 0.25, 'substation_distance': 0.75}
    """
    if not weights:
        raise ConfigError("no criterion weights given; add at least one criterion with a weight")
    problems = [
        f"criteria.{name}.weight must be a finite number >= 0, got {weight!r}"
        for name, weight in weights.items()
        if not (math.isfinite(weight) and weight >= 0)
    ]
    if problems:
        raise ConfigError("; ".join(problems))
    total = math.fsum(weights.values())
    if total == 0:
        raise ConfigError(
            f"all criterion weights are zero ({', '.join(weights)}); give at least one a weight > 0"
        )
    return {name: weight / total for name, weight in weights.items()}


def weighted_linear_combination(
    scores: Mapping[str, NDArray[np.floating]],
    weights: Mapping[str, float],
    *,
    excluded: NDArray[np.bool_] | None = None,
) -> NDArray[np.float32]:
    """Combine criterion scores into a suitability surface: ``sum(w_i * score_i)``.

    Parameters
    ----------
    scores
        Criterion name to score raster in [0, 1]; NaN marks cells outside the study area. All
        rasters share one shape (the study grid).
    weights
        Criterion name to relative weight, normalised with :func:`normalise_weights`; must have
        the same keys as ``scores``.
    excluded
        Boolean raster of the same shape; True cells (hard constraints) score 0.

    Returns
    -------
    NDArray[np.float32]
        Suitability in [0, 1]; NaN wherever any score is NaN (even if excluded), 0 on other
        excluded cells.

    Raises
    ------
    ConfigError
        If the keys of ``scores`` and ``weights`` differ (naming the criteria), or a weight is
        invalid.
    ValueError
        If the rasters do not all have the same shape.

    Examples
    --------
    >>> s = {"a": np.array([[1.0, 0.0]]), "b": np.array([[0.0, np.nan]])}
    >>> weighted_linear_combination(s, {"a": 3.0, "b": 1.0}).tolist()
    [[0.75, nan]]
    """
    missing_weights = [name for name in scores if name not in weights]
    missing_scores = [name for name in weights if name not in scores]
    problems = []
    if missing_weights:
        problems.append(f"criteria without a weight: {', '.join(missing_weights)}")
    if missing_scores:
        problems.append(f"weights without a criterion score: {', '.join(missing_scores)}")
    if problems:
        raise ConfigError("; ".join(problems))
    normalised = normalise_weights(weights)

    arrays = {name: np.asarray(score) for name, score in scores.items()}
    shapes = {name: array.shape for name, array in arrays.items()}
    if excluded is not None:
        excluded = np.asarray(excluded, dtype=bool)
        shapes["excluded"] = excluded.shape
    if len(set(shapes.values())) > 1:
        listing = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"score rasters must all have the study grid's shape, got {listing}")

    shape = next(iter(arrays.values())).shape
    out = np.empty(shape, dtype=np.float32)
    layers = [(arrays[name], np.float32(normalised[name])) for name in arrays]
    flat_out = out.reshape(-1)
    flat = [(a.reshape(-1), w) for a, w in layers]
    flat_excluded = None if excluded is None else excluded.reshape(-1)

    def block(start: int, stop: int) -> None:
        # One pass over a cache-sized block of every layer: the sum stays in cache, so memory
        # traffic is one read of each layer and one write (docs/mcda.md, "speed").
        acc = flat_out[start:stop]
        term = np.empty_like(acc)
        first, w0 = flat[0]
        np.multiply(first[start:stop], w0, out=acc, casting="same_kind")
        for array, w in flat[1:]:
            # A zero weight still multiplies NaN into NaN, so a cell outside any criterion's
            # coverage stays outside the study area whatever the weights are.
            np.multiply(array[start:stop], w, out=term, casting="same_kind")
            acc += term
        np.clip(acc, 0.0, 1.0, out=acc)
        if flat_excluded is not None:
            np.putmask(acc, flat_excluded[start:stop] & ~np.isnan(acc), 0.0)

    run_blocks(block, flat_out.size)
    return out


class RunningLinearCombination:
    """:func:`weighted_linear_combination` fed one score raster at a time.

    Each raster is added to a float32 sum as it arrives and can then be dropped, so a national
    grid never holds all its criteria at once. The products and sums are those of
    :func:`weighted_linear_combination` in the same order, so the result is identical to it.

    Examples
    --------
    >>> run = RunningLinearCombination({"a": 3.0, "b": 1.0})
    >>> run.add("a", np.array([[1.0, 0.0]], dtype=np.float32))
    >>> run.add("b", np.array([[0.0, np.nan]], dtype=np.float32))
    >>> run.result().tolist()
    [[0.75, nan]]
    """

    def __init__(self, weights: Mapping[str, float]) -> None:
        self._weights = normalise_weights(weights)
        self._added: list[str] = []
        self._sum: NDArray[np.float32] | None = None

    def add(self, name: str, score: NDArray[np.floating]) -> None:
        """Add ``score`` (a raster in [0, 1], NaN outside the area) with ``name``'s weight."""
        if name not in self._weights:
            raise ConfigError(f"criteria without a weight: {name}")
        if name in self._added:
            raise ValueError(f"criterion {name!r} was added twice")
        w = np.float32(self._weights[name])
        flat = np.asarray(score, dtype=np.float32).reshape(-1)  # as aggregate_scores casts
        if self._sum is None:
            self._sum = np.empty(np.shape(score), dtype=np.float32)
        elif self._sum.shape != np.shape(score):
            raise ValueError(
                f"score rasters must all have the study grid's shape, got {name} "
                f"{np.shape(score)} after {self._sum.shape}"
            )
        acc_flat = self._sum.reshape(-1)
        first = not self._added

        def block(start: int, stop: int) -> None:
            if first:
                np.multiply(flat[start:stop], w, out=acc_flat[start:stop], casting="same_kind")
            else:
                acc_flat[start:stop] += np.multiply(flat[start:stop], w, dtype=np.float32)

        run_blocks(block, acc_flat.size)
        self._added.append(name)

    def result(self) -> NDArray[np.float32]:
        """Return the suitability sum clipped to [0, 1], once every weighted criterion is in."""
        missing = [name for name in self._weights if name not in self._added]
        if missing or self._sum is None:
            raise ConfigError(f"weights without a criterion score: {', '.join(missing)}")
        np.clip(self._sum, 0.0, 1.0, out=self._sum)
        return self._sum
