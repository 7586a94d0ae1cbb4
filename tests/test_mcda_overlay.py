"""Tests for gridsite.mcda.overlay: weighted linear combination."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gridsite.errors import ConfigError
from gridsite.mcda.overlay import (
    RunningLinearCombination,
    normalise_weights,
    weighted_linear_combination,
)


def test_normalise_weights() -> None:
    assert normalise_weights({"a": 2.0, "b": 6.0, "c": 0.0}) == {"a": 0.25, "b": 0.75, "c": 0.0}
    assert normalise_weights({"only": 0.3}) == {"only": 1.0}


@pytest.mark.parametrize(
    ("weights", "named"),
    [
        ({"slope": -1.0, "water": 1.0}, ["slope"]),
        ({"slope": float("nan"), "water": float("inf")}, ["slope", "water"]),
        ({"slope": 0.0, "water": 0.0}, ["slope", "water"]),
    ],
)
def test_normalise_weights_errors_name_the_criteria(
    weights: dict[str, float], named: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        normalise_weights(weights)
    for name in named:
        assert name in str(info.value)


def test_normalise_weights_empty() -> None:
    with pytest.raises(ConfigError, match="no criterion weights"):
        normalise_weights({})


def test_wlc_hand_worked_2x2() -> None:
    a = np.array([[1.0, 0.5], [0.0, 0.2]])
    b = np.array([[0.0, 0.5], [1.0, 0.8]])
    # Weights 3:1 -> 0.75 a + 0.25 b: [[0.75, 0.5], [0.25, 0.35]].
    result = weighted_linear_combination({"a": a, "b": b}, {"a": 3.0, "b": 1.0})
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, [[0.75, 0.5], [0.25, 0.35]], atol=1e-7)


def test_wlc_excluded_is_zero_and_nan_stays_nan() -> None:
    a = np.array([[1.0, np.nan], [0.4, 0.6]])
    b = np.array([[1.0, 1.0], [np.nan, 0.2]])
    excluded = np.array([[True, True], [False, False]])
    result = weighted_linear_combination({"a": a, "b": b}, {"a": 1.0, "b": 1.0}, excluded=excluded)
    assert result[0, 0] == 0.0
    assert np.isnan(result[0, 1])
    assert np.isnan(result[1, 0])
    np.testing.assert_allclose(result[1, 1], 0.4, atol=1e-7)


def test_wlc_nan_propagates_even_with_zero_weight() -> None:
    a = np.array([0.5, 0.5])
    b = np.array([np.nan, 0.9])
    result = weighted_linear_combination({"a": a, "b": b}, {"a": 1.0, "b": 0.0})
    assert np.isnan(result[0])
    assert result[1] == 0.5


def test_wlc_clips_to_unit_interval() -> None:
    result = weighted_linear_combination({"a": np.array([1.5, -0.5])}, {"a": 1.0})
    np.testing.assert_array_equal(result, [1.0, 0.0])


def test_wlc_key_mismatch_names_both_sides() -> None:
    scores = {"slope": np.zeros(2), "water": np.zeros(2)}
    with pytest.raises(ConfigError) as info:
        weighted_linear_combination(scores, {"slope": 1.0, "substations": 1.0})
    assert "water" in str(info.value)
    assert "substations" in str(info.value)


def test_wlc_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="shape"):
        weighted_linear_combination(
            {"a": np.zeros((2, 2)), "b": np.zeros((2, 3))}, {"a": 1, "b": 1}
        )
    with pytest.raises(ValueError, match="excluded"):
        weighted_linear_combination(
            {"a": np.zeros((2, 2))}, {"a": 1.0}, excluded=np.zeros((3, 3), dtype=bool)
        )


def test_wlc_bad_weight() -> None:
    with pytest.raises(ConfigError, match="slope"):
        weighted_linear_combination({"slope": np.zeros(2)}, {"slope": -2.0})


SHAPE = (4, 5)
score_arrays = hnp.arrays(
    np.float64,
    SHAPE,
    elements=st.one_of(st.floats(0.0, 1.0), st.just(np.nan)),
)


@given(
    scores=st.lists(score_arrays, min_size=1, max_size=4),
    raw_weights=st.lists(st.floats(0.0, 1e6), min_size=4, max_size=4).filter(lambda w: sum(w) > 0),
    excluded=hnp.arrays(np.bool_, SHAPE),
)
def test_wlc_properties(
    scores: list[np.ndarray], raw_weights: list[float], excluded: np.ndarray
) -> None:
    names = [f"c{i}" for i in range(len(scores))]
    weights = dict(zip(names, raw_weights, strict=False))
    if sum(weights.values()) == 0:
        weights[names[0]] = 1.0
    result = weighted_linear_combination(
        dict(zip(names, scores, strict=True)), weights, excluded=excluded
    )
    any_nan = np.isnan(np.stack(scores)).any(axis=0)
    np.testing.assert_array_equal(np.isnan(result), any_nan)
    valid = result[~any_nan]
    assert ((valid >= 0) & (valid <= 1)).all()
    assert (result[excluded & ~any_nan] == 0).all()
    # Away from exclusions the result lies between the smallest and largest score of the cell.
    stack = np.stack(scores)
    keep = ~excluded & ~any_nan
    assert (result[keep] >= stack.min(axis=0)[keep].astype(np.float32) - 1e-6).all()
    assert (result[keep] <= stack.max(axis=0)[keep].astype(np.float32) + 1e-6).all()


@pytest.mark.parametrize("shape", [(3, 4), (700, 300)])  # one block, and many on threads
def test_running_combination_equals_the_overlay_bit_for_bit(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(7)
    weights = {"a": 0.3, "b": 0.2, "c": 0.17, "d": 0.33}
    scores = {n: rng.random(shape, dtype=np.float32) * 1.1 for n in weights}  # some clip at 1
    scores["b"][rng.random(shape) < 0.1] = np.nan
    scores["c"] = scores["c"].astype(np.float64)  # cast to float32 first, as the overlay does
    running = RunningLinearCombination(weights)
    for name, score in scores.items():
        running.add(name, score)
    np.testing.assert_array_equal(
        running.result(), weighted_linear_combination(scores, weights), strict=True
    )


def test_running_combination_names_what_is_missing_or_unweighted() -> None:
    running = RunningLinearCombination({"a": 1.0, "b": 1.0})
    with pytest.raises(ConfigError, match="without a weight: c"):
        running.add("c", np.zeros((2, 2)))
    running.add("a", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        running.add("b", np.zeros((3, 2)))
    with pytest.raises(ConfigError, match="without a criterion score: b"):
        running.result()
