"""Tests for gridsite.mcda.aggregate: OWA, TOPSIS, fuzzy overlay and constraints."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gridsite.errors import ConfigError
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
from gridsite.mcda.overlay import weighted_linear_combination

from .conftest import REFERENCE

# --- TOPSIS against the reference fixture --------------------------------------------------


@pytest.fixture(scope="module")
def opricovic() -> dict[str, object]:
    path = REFERENCE / "mcda" / "mcda_reference.json"
    case: dict[str, object] = json.loads(path.read_text())["topsis_opricovic_tzeng_2004"]
    return case


REFERENCE_KEYS = {
    "vector": "pymcdm_vector_normalisation",
    "minmax": "pymcdm_default(minmax)",
}


@pytest.mark.parametrize("normalisation", ["vector", "minmax"])
def test_topsis_matches_pymcdm_on_opricovic_tzeng(
    opricovic: dict[str, object], normalisation: str
) -> None:
    matrix = np.array(opricovic["matrix"], dtype=float)
    benefit = [t == 1 for t in opricovic["types"]]
    expected = np.array(opricovic[REFERENCE_KEYS[normalisation]])
    result = topsis(matrix, opricovic["weights"], benefit=benefit, normalisation=normalisation)
    np.testing.assert_allclose(result, expected, atol=1e-6)


def test_topsis_published_rounded_values(opricovic: dict[str, object]) -> None:
    matrix = np.array(opricovic["matrix"], dtype=float)
    minmax = topsis(matrix, [0.5, 0.5], benefit=[False, True], normalisation="minmax")
    np.testing.assert_allclose(minmax, opricovic["expected_pymcdm_test"], atol=1e-3)
    vector = topsis(matrix, [0.5, 0.5], benefit=[False, True], normalisation="vector")
    np.testing.assert_allclose(vector, [0.762, 0.722, 0.238], atol=1e-3)


@pytest.mark.parametrize("normalisation", ["vector", "minmax"])
def test_topsis_site_table_and_raster_agree_with_the_matrix(
    opricovic: dict[str, object], normalisation: str
) -> None:
    matrix = np.array(opricovic["matrix"], dtype=float)
    expected = np.array(opricovic[REFERENCE_KEYS[normalisation]])
    table = pd.DataFrame(
        {"cost_musd": matrix[:, 0], "capacity_mw": matrix[:, 1], "name": ["x", "y", "z"]},
        index=["s1", "s2", "s3"],
    )
    weights = {"cost_musd": 1.0, "capacity_mw": 1.0}
    benefit = {"cost_musd": False, "capacity_mw": True}
    series = topsis(table, weights, benefit=benefit, normalisation=normalisation)
    assert list(series.index) == ["s1", "s2", "s3"]
    np.testing.assert_allclose(series.to_numpy(), expected, atol=1e-6)

    # A 2 x 2 raster holding the three alternatives and one nodata cell, which must neither get a
    # value nor move the ideal points.
    cost = np.array([[1.0, 2.0], [5.0, np.nan]])
    capacity = np.array([[3000.0, 3750.0], [4500.0, 9999.0]])
    raster = topsis(
        {"cost_musd": cost, "capacity_mw": capacity},
        weights,
        benefit=benefit,
        normalisation=normalisation,
    )
    assert raster.dtype == np.float32
    assert raster.shape == (2, 2)
    assert np.isnan(raster[1, 1])
    np.testing.assert_allclose(raster.ravel()[:3], expected, atol=1e-6)


def test_topsis_identical_alternatives_are_one_half() -> None:
    result = topsis(np.ones((3, 2)), [1.0, 1.0], benefit=True)
    np.testing.assert_array_equal(result, [0.5, 0.5, 0.5])


def test_topsis_constant_criterion_does_not_separate() -> None:
    # Criterion 2 is constant; only criterion 1 separates: min-max gives 0, 0.5, 1 on it.
    matrix = np.array([[0.0, 7.0], [1.0, 7.0], [2.0, 7.0]])
    result = topsis(matrix, [1.0, 1.0], benefit=True, normalisation="minmax")
    np.testing.assert_allclose(result, [0.0, 0.5, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"benefit": [True]}, "one per criterion"),
        ({"benefit": {"a": True}}, "b"),
        ({"benefit": True, "normalisation": "sum"}, "normalisation"),
    ],
)
def test_topsis_errors(kwargs: dict[str, object], match: str) -> None:
    table = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0]})
    with pytest.raises(ConfigError, match=match):
        topsis(table, {"a": 1.0, "b": 1.0}, **kwargs)


def test_topsis_missing_column_is_named() -> None:
    with pytest.raises(ConfigError, match="slope"):
        topsis(pd.DataFrame({"a": [1.0]}), {"a": 1.0, "slope": 1.0}, benefit=True)


# --- OWA, hand-worked on three criteria ----------------------------------------------------

# Two cells; criterion weights 1:1:2 -> u = (0.25, 0.25, 0.5).
#   cell 0: a=0.9, b=0.5, c=0.1 -> sorted 0.9 (u .25), 0.5 (u .25), 0.1 (u .5)
#   cell 1: a=0.1, b=0.9, c=0.5 -> sorted 0.9 (u .25), 0.5 (u .5),  0.1 (u .25)
OWA_SCORES = {
    "a": np.array([[0.9, 0.1]]),
    "b": np.array([[0.5, 0.9]]),
    "c": np.array([[0.1, 0.5]]),
}
OWA_WEIGHTS = {"a": 1.0, "b": 1.0, "c": 2.0}


@pytest.mark.parametrize(
    ("alpha", "expected"),
    [
        # alpha = 1: the weighted linear combination, 0.225+0.125+0.05 and 0.025+0.225+0.25.
        (1.0, [0.4, 0.5]),
        # alpha = 2: cumulative u (.25, .5, 1) -> Q (.0625, .25, 1) -> v (.0625, .1875, .75)
        #   -> 0.05625 + 0.09375 + 0.075 = 0.225;
        # cell 1: cumulative (.25, .75, 1) -> Q (.0625, .5625, 1) -> v (.0625, .5, .4375)
        #   -> 0.05625 + 0.25 + 0.04375 = 0.35.
        (2.0, [0.225, 0.35]),
        # alpha = 0.5: Q (.5, .70711, 1) -> v (.5, .20711, .29289) -> .45 + .10355 + .02929.
        # cell 1: Q (.5, .86603, 1) -> v (.5, .36603, .13397) -> .45 + .18301 + .0134.
        (0.5, [0.58284, 0.64641]),
        (0.0, [0.9, 0.9]),  # OR: the maximum
        (math.inf, [0.1, 0.1]),  # AND: the minimum
    ],
)
def test_owa_risk_attitude_hand_worked(alpha: float, expected: list[float]) -> None:
    result = ordered_weighted_average(OWA_SCORES, OWA_WEIGHTS, risk_attitude=alpha)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result[0], expected, atol=1e-5)


def test_owa_alpha_one_equals_wlc() -> None:
    rng = np.random.default_rng(3)
    scores = {name: rng.random((4, 5)) for name in "abcd"}
    weights = {"a": 0.1, "b": 0.4, "c": 0.3, "d": 0.2}
    np.testing.assert_allclose(
        ordered_weighted_average(scores, weights, risk_attitude=1.0),
        weighted_linear_combination(scores, weights),
        atol=1e-6,
    )


def test_owa_alpha_limits_approach_max_and_min() -> None:
    near_or = ordered_weighted_average(OWA_SCORES, OWA_WEIGHTS, risk_attitude=1e-6)
    near_and = ordered_weighted_average(OWA_SCORES, OWA_WEIGHTS, risk_attitude=1e6)
    np.testing.assert_allclose(near_or[0], [0.9, 0.9], atol=1e-5)
    np.testing.assert_allclose(near_and[0], [0.1, 0.1], atol=1e-5)


def test_owa_is_monotone_in_risk_attitude() -> None:
    alphas = [0.0, 0.1, 0.5, 1.0, 2.0, 10.0, math.inf]
    values = [
        float(ordered_weighted_average(OWA_SCORES, OWA_WEIGHTS, risk_attitude=a)[0, 1])
        for a in alphas
    ]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize(
    ("order_weights", "expected"),
    [
        ([1.0, 1.0, 1.0], [0.4, 0.5]),  # equal order weights: WLC
        ([1.0, 0.0, 0.0], [0.9, 0.9]),
        ([0.0, 0.0, 1.0], [0.1, 0.1]),
        # (0.5, 0.5, 0): cell 0 u*v = (.125, .125, 0) -> (.5, .5, 0) -> 0.7;
        # cell 1 u*v = (.125, .25, 0) -> (1/3, 2/3, 0) -> 0.3 + 1/3.
        ([0.5, 0.5, 0.0], [0.7, 0.3 + 1 / 3]),
    ],
)
def test_owa_order_weights_hand_worked(order_weights: list[float], expected: list[float]) -> None:
    result = ordered_weighted_average(OWA_SCORES, OWA_WEIGHTS, order_weights=order_weights)
    np.testing.assert_allclose(result[0], expected, atol=1e-6)


def test_owa_ties_do_not_depend_on_criterion_order() -> None:
    # Tied best values (0.5, 0.5) with unequal weights: alpha = 2 gives 0.5 * 0.64 + 0.2 * 0.36.
    forward = {"a": np.array([0.5]), "b": np.array([0.5]), "c": np.array([0.2])}
    backward = {"b": forward["b"], "a": forward["a"], "c": forward["c"]}
    weights = {"a": 0.6, "b": 0.2, "c": 0.2}
    one = ordered_weighted_average(forward, weights, risk_attitude=2.0)
    other = ordered_weighted_average(backward, {k: weights[k] for k in "bac"}, risk_attitude=2.0)
    np.testing.assert_allclose(one, [0.392], atol=1e-6)
    np.testing.assert_allclose(other, one)


def test_owa_order_weights_break_ties_by_criterion_order() -> None:
    # a and b tie at 0.5; u = (.6, .2, .2), v = (.5, 0, .5). With a placed first:
    # (.6*.5*.5 + .2*.5*.2) / (.6*.5 + .2*.5) = .17 / .4; with b first: .07 / .2.
    z = {"a": np.array([0.5]), "b": np.array([0.5]), "c": np.array([0.2])}
    v = [0.5, 0.0, 0.5]
    a_first = ordered_weighted_average(z, {"a": 0.6, "b": 0.2, "c": 0.2}, order_weights=v)
    b_first = ordered_weighted_average(
        {"b": z["b"], "a": z["a"], "c": z["c"]}, {"b": 0.2, "a": 0.6, "c": 0.2}, order_weights=v
    )
    np.testing.assert_allclose(a_first, [0.425], atol=1e-7)
    np.testing.assert_allclose(b_first, [0.35], atol=1e-7)


def test_all_nodata_stack_gives_all_nan() -> None:
    stack = {"a": np.full((2, 3), np.nan), "b": np.full((2, 3), np.nan)}
    weights = {"a": 1.0, "b": 1.0}
    for result in (
        ordered_weighted_average(stack, weights, risk_attitude=0.5),
        ordered_weighted_average(stack, weights, order_weights=[1, 0]),
        topsis(stack, weights, benefit=True),
        fuzzy_gamma(stack, 0.9),
    ):
        assert result.shape == (2, 3)
        assert np.isnan(result).all()


def test_owa_zero_weight_criterion_is_ignored_by_the_quantifier() -> None:
    scores = {"a": np.array([0.2]), "b": np.array([0.6]), "z": np.array([1.0])}
    result = ordered_weighted_average(scores, {"a": 1.0, "b": 1.0, "z": 0.0}, risk_attitude=0.0)
    np.testing.assert_allclose(result, [0.6], atol=1e-7)


def test_owa_nan_and_site_table() -> None:
    raster = ordered_weighted_average(
        {"a": np.array([[np.nan, 1.0]]), "b": np.array([[0.5, 0.0]])},
        {"a": 1.0, "b": 1.0},
        risk_attitude=2.0,
    )
    assert np.isnan(raster[0, 0])
    np.testing.assert_allclose(raster[0, 1], 0.25)  # Q(.5) = .25 on the 1.0
    table = pd.DataFrame({"a": [1.0, 0.0], "b": [0.0, 1.0], "id": ["p", "q"]}, index=[7, 9])
    series = ordered_weighted_average(table, {"a": 1.0, "b": 3.0}, risk_attitude=1.0)
    assert isinstance(series, pd.Series)
    assert list(series.index) == [7, 9]
    np.testing.assert_allclose(series.to_numpy(), [0.25, 0.75])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one"),
        ({"risk_attitude": 1.0, "order_weights": [1, 1, 1]}, "exactly one"),
        ({"risk_attitude": -1.0}, "alpha"),
        ({"risk_attitude": math.nan}, "alpha"),
        ({"order_weights": [1.0, 1.0]}, "one per criterion"),
        ({"order_weights": [0.0, 0.0, 0.0]}, "not all zero"),
        ({"order_weights": [1.0, -1.0, 1.0]}, "order_weights"),
    ],
)
def test_owa_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ordered_weighted_average(OWA_SCORES, OWA_WEIGHTS, **kwargs)


def test_owa_order_weights_need_positive_criterion_weights() -> None:
    with pytest.raises(ConfigError, match="c"):
        ordered_weighted_average(
            OWA_SCORES, {"a": 1.0, "b": 1.0, "c": 0.0}, order_weights=[1, 1, 1]
        )


def test_owa_raster_keys_must_match_weights() -> None:
    with pytest.raises(ConfigError, match="criteria without a weight: c"):
        ordered_weighted_average(OWA_SCORES, {"a": 1.0, "b": 1.0}, risk_attitude=1.0)
    with pytest.raises(ValueError, match="shape"):
        ordered_weighted_average(
            {"a": np.zeros((2, 2)), "b": np.zeros((2, 3))},
            {"a": 1.0, "b": 1.0},
            risk_attitude=1.0,
        )


# --- fuzzy overlay -------------------------------------------------------------------------

FUZZY = {
    "a": np.array([[0.2, 0.5, 1.0, 0.0, np.nan]]),
    "b": np.array([[0.5, 0.5, 0.3, 0.0, 0.4]]),
}
FUZZY_PRODUCT = [0.1, 0.25, 0.3, 0.0, np.nan]
FUZZY_SUM = [0.6, 0.75, 1.0, 0.0, np.nan]  # 1 - 0.8*0.5, 1 - 0.5*0.5, 1 - 0*0.7, 1 - 1*1


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (fuzzy_and, [0.2, 0.5, 0.3, 0.0, np.nan]),
        (fuzzy_or, [0.5, 0.5, 1.0, 0.0, np.nan]),
        (fuzzy_product, FUZZY_PRODUCT),
        (fuzzy_sum, FUZZY_SUM),
    ],
)
def test_fuzzy_rules_hand_worked(rule: object, expected: list[float]) -> None:
    result = rule(FUZZY)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result[0], expected, atol=1e-7)


def test_fuzzy_gamma_hand_worked_and_limits() -> None:
    half = fuzzy_gamma(FUZZY, 0.5)
    expected = np.sqrt(np.array(FUZZY_SUM) * np.array(FUZZY_PRODUCT))
    np.testing.assert_allclose(half[0], expected, atol=1e-7)
    np.testing.assert_allclose(half[0, :3], [0.244949, 0.433013, 0.547723], atol=1e-6)
    np.testing.assert_array_equal(fuzzy_gamma(FUZZY, 0.0), fuzzy_product(FUZZY))
    np.testing.assert_array_equal(fuzzy_gamma(FUZZY, 1.0), fuzzy_sum(FUZZY))


def test_fuzzy_site_table() -> None:
    table = pd.DataFrame({"a": [0.5, 1.0], "b": [0.5, 0.0]}, index=["x", "y"])
    series = fuzzy_sum(table)
    assert list(series.index) == ["x", "y"]
    np.testing.assert_allclose(series.to_numpy(), [0.75, 1.0])


def test_fuzzy_rejects_values_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"slope_pct \[0, 12\]"):
        fuzzy_and({"slope_pct": np.array([0.0, 12.0]), "b": np.array([0.1, 0.2])})


@pytest.mark.parametrize("gamma", [-0.1, 1.5, math.nan])
def test_fuzzy_gamma_out_of_range(gamma: float) -> None:
    with pytest.raises(ConfigError, match="gamma"):
        fuzzy_gamma(FUZZY, gamma)


# --- constraints ---------------------------------------------------------------------------


def test_constraints_hand_worked() -> None:
    score = np.array([[0.8, 0.8, 0.8], [0.8, 0.6, np.nan]], dtype=np.float32)
    excluded = np.array([[True, True, False], [False, False, True]])
    forced = np.array([[False, True, False], [True, False, True]])
    partial = np.array([[1.0, 0.5, 0.5], [0.0, 0.25, 0.5]])
    result = apply_constraints(score, excluded=excluded, forced=forced, partial=partial)
    assert result.dtype == np.float32
    # excluded -> 0; forced beats excluded and partial; partial multiplies; NaN stays NaN.
    np.testing.assert_allclose(result, [[0.0, 0.8, 0.4], [0.8, 0.15, np.nan]], atol=1e-7)
    assert score[0, 0] == pytest.approx(0.8)  # the input is not modified


def test_constraints_each_alone() -> None:
    score = np.array([0.4, 0.9, np.nan])
    np.testing.assert_array_equal(
        apply_constraints(score, excluded=[True, False, True]), [0.0, 0.9, np.nan]
    )
    np.testing.assert_array_equal(apply_constraints(score, forced=[True, True, True]), score)
    np.testing.assert_allclose(
        apply_constraints(score, partial=[0.5, 0.0, 1.0]), [0.2, 0.0, np.nan]
    )


def test_constraints_site_series() -> None:
    score = pd.Series([0.5, 0.7], index=["a", "b"], name="score")
    result = apply_constraints(score, excluded=[False, True])
    assert isinstance(result, pd.Series)
    assert result.name == "score"
    assert result.to_dict() == {"a": 0.5, "b": 0.0}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"partial": [0.5, 1.5]}, r"\[0, 1\]"),
        ({"partial": [0.5, np.nan]}, "NaN"),
        ({"excluded": [True]}, "shape"),
        ({"forced": [[True, False]]}, "shape"),
    ],
)
def test_constraints_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        apply_constraints(np.array([0.1, 0.2]), **kwargs)


# --- properties ----------------------------------------------------------------------------

unit = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def stacks(draw: st.DrawFn) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    n = draw(st.integers(1, 5))
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=2, max_side=6))
    scores = {f"c{i}": draw(hnp.arrays(np.float64, shape, elements=unit)) for i in range(n)}
    weights = draw(st.lists(st.floats(0.01, 10.0), min_size=n, max_size=n))
    return scores, {f"c{i}": w for i, w in enumerate(weights)}


@settings(max_examples=60, deadline=None)
@given(stacks(), st.floats(0.0, 50.0), st.floats(0.0, 1.0))
def test_aggregates_of_unit_inputs_stay_in_unit_interval(
    stack: tuple[dict[str, np.ndarray], dict[str, float]], alpha: float, gamma: float
) -> None:
    scores, weights = stack
    low = np.min(np.stack(list(scores.values())), axis=0)
    high = np.max(np.stack(list(scores.values())), axis=0)
    owa = ordered_weighted_average(scores, weights, risk_attitude=alpha)
    assert np.all((owa >= low - 1e-6) & (owa <= high + 1e-6))  # OWA is a mean: min <= OWA <= max
    owa_v = ordered_weighted_average(scores, weights, order_weights=np.linspace(1, 0, len(scores)))
    assert np.all((owa_v >= low - 1e-6) & (owa_v <= high + 1e-6))
    results = [
        topsis(scores, weights, benefit=True, normalisation="vector"),
        topsis(scores, weights, benefit=False, normalisation="minmax"),
        fuzzy_and(scores),
        fuzzy_or(scores),
        fuzzy_product(scores),
        fuzzy_sum(scores),
        fuzzy_gamma(scores, gamma),
    ]
    for result in results:
        assert result.shape == low.shape
        assert np.all((result >= 0.0) & (result <= 1.0))


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.float64, 12, elements=unit),
    hnp.arrays(bool, 12),
    hnp.arrays(bool, 12),
    hnp.arrays(np.float64, 12, elements=unit),
)
def test_constraints_properties(
    score: np.ndarray, excluded: np.ndarray, forced: np.ndarray, partial: np.ndarray
) -> None:
    result = apply_constraints(score, excluded=excluded, forced=forced, partial=partial)
    assert np.all(result[excluded & ~forced] == 0.0)
    np.testing.assert_array_equal(result[forced], score[forced])
    assert np.all((result >= 0.0) & (result <= score))
