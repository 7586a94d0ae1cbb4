"""Tests for gridsite.mcda.sensitivity: Monte Carlo weight sampling and one-at-a-time sweeps."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from gridsite.errors import ConfigError
from gridsite.mcda.sensitivity import monte_carlo_ranks, one_at_a_time, sample_weights


def dominant_table(n: int = 20) -> pd.DataFrame:
    """``power`` separates the sites by 1/19 each; the other two only wobble in [0.45, 0.55]."""
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "power": np.linspace(1.0, 0.0, n),
            "water": rng.uniform(0.45, 0.55, n),
            "land": rng.uniform(0.45, 0.55, n),
            "label": [f"site{i}" for i in range(n)],
        },
        index=[f"s{i:02d}" for i in range(n)],
    )


DOMINANT_WEIGHTS = {"power": 0.9, "water": 0.05, "land": 0.05}


@pytest.mark.parametrize("method", ["dirichlet", "uniform"])
def test_dominant_criterion_gives_stable_ranks(method: str) -> None:
    table = dominant_table()
    out = monte_carlo_ranks(table, DOMINANT_WEIGHTS, n_draws=500, method=method, seed=5)
    assert list(out.columns) == [
        "base_score",
        "base_rank",
        "rank_p05",
        "rank_p50",
        "rank_p95",
        "p_top10",
    ]
    # Sorted by base rank, which follows power (every power step of 0.9/19 = 0.047 outweighs the
    # others' spread of at most 0.1 x 0.1 = 0.01).
    assert list(out.index) == list(table.index)
    assert list(out["base_rank"]) == list(range(1, 21))
    assert (out["p_top10"].iloc[:10] == 1.0).all()
    assert (out["p_top10"].iloc[10:] == 0.0).all()
    assert out["rank_p05"].iloc[0] == out["rank_p95"].iloc[0] == 1
    assert (out["rank_p05"] == out["rank_p95"]).all()


def conflicting_table(n: int = 30) -> pd.DataFrame:
    a = np.linspace(0.0, 1.0, n)
    return pd.DataFrame({"a": a, "b": 1.0 - a})


def test_conflicting_criteria_are_unstable() -> None:
    # Equal weights: every site scores 0.5 and the base ranks are the row order (ties). Any draw
    # with w_a > 0.5 puts the last rows first, w_a < 0.5 the first rows: about half each.
    out = monte_carlo_ranks(conflicting_table(), {"a": 1.0, "b": 1.0}, n_draws=1000, seed=2)
    top = out[out["base_rank"] <= 10]
    assert len(top) == 10
    assert (top["p_top10"] < 1.0).all()
    assert top["p_top10"].between(0.35, 0.65).all()
    assert (top["rank_p05"] < top["rank_p95"]).all()
    assert out["rank_p05"].min() == 1
    assert out["rank_p95"].max() == 30


def test_same_seed_same_result_different_seed_different_draws() -> None:
    table, weights = conflicting_table(), {"a": 1.0, "b": 2.0}
    one = monte_carlo_ranks(table, weights, n_draws=300, method="uniform", spread=0.5, seed=42)
    two = monte_carlo_ranks(table, weights, n_draws=300, method="uniform", spread=0.5, seed=42)
    pd.testing.assert_frame_equal(one, two)
    np.testing.assert_array_equal(
        sample_weights(weights, n_draws=50, seed=42), sample_weights(weights, n_draws=50, seed=42)
    )
    assert not np.allclose(
        sample_weights(weights, n_draws=50, seed=42), sample_weights(weights, n_draws=50, seed=43)
    )
    # The conflicting table at equal weights flips with the draws, so other draws, other counts.
    equal = {"a": 1.0, "b": 1.0}
    three = monte_carlo_ranks(table, equal, n_draws=301, seed=1)
    four = monte_carlo_ranks(table, equal, n_draws=301, seed=2)
    assert not three["p_top10"].equals(four["p_top10"])


def test_dirichlet_draws_centre_on_the_base_weights() -> None:
    base = {"a": 0.5, "b": 0.3, "c": 0.2, "zero": 0.0}
    draws = sample_weights(base, n_draws=20000, method="dirichlet", concentration=50.0, seed=0)
    assert list(draws.columns) == ["a", "b", "c", "zero"]
    np.testing.assert_allclose(draws.sum(axis=1), 1.0)
    assert (draws["zero"] == 0.0).all()
    np.testing.assert_allclose(draws.mean(), [0.5, 0.3, 0.2, 0.0], atol=0.005)
    # Dirichlet(c w): var(w_j) = w_j (1 - w_j) / (c + 1).
    expected_sd = np.sqrt(np.array([0.25, 0.21, 0.16]) / 51.0)
    np.testing.assert_allclose(draws[["a", "b", "c"]].std(), expected_sd, rtol=0.05)


def test_uniform_draws_stay_within_the_spread() -> None:
    base = {"a": 0.5, "b": 0.3, "c": 0.2}
    spread = 0.2
    draws = sample_weights(base, n_draws=5000, method="uniform", spread=spread, seed=0)
    np.testing.assert_allclose(draws.sum(axis=1), 1.0)
    ratio = draws / pd.Series(base)
    # Each weight moves by a factor in [0.8, 1.2] before renormalisation, so by at most 1.2/0.8.
    assert ratio.to_numpy().min() >= (1 - spread) / (1 + spread)
    assert ratio.to_numpy().max() <= (1 + spread) / (1 - spread)
    assert ratio.to_numpy().max() > 1.1  # and it does move


def test_custom_aggregate_and_top_k() -> None:
    table = pd.DataFrame({"a": [0.9, 0.2, 0.5], "b": [0.1, 0.8, 0.5]}, index=["x", "y", "z"])

    def worst_criterion(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
        # Fuzzy AND ignores the weights, so every draw ranks z (0.5) > y (0.2) > x (0.1).
        return np.broadcast_to(scores.min(axis=1), (weights.shape[0], scores.shape[0]))

    out = monte_carlo_ranks(
        table, {"a": 1.0, "b": 1.0}, n_draws=50, seed=0, top_k=1, aggregate=worst_criterion
    )
    assert list(out.index) == ["z", "y", "x"]
    assert list(out["p_top1"]) == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="shape"):
        monte_carlo_ranks(table, {"a": 1.0}, seed=0, aggregate=lambda s, w: s)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "normal"}, "method"),
        ({"concentration": 0.0}, "concentration"),
        ({"method": "uniform", "spread": 1.0}, "spread"),
        ({"n_draws": 0}, "n_draws"),
        ({"top_k": 0}, "top_k"),
    ],
)
def test_monte_carlo_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        monte_carlo_ranks(conflicting_table(), {"a": 1.0, "b": 1.0}, seed=0, **kwargs)


def test_monte_carlo_names_missing_and_nan_criteria() -> None:
    table = pd.DataFrame({"a": [0.1, np.nan], "b": [0.2, 0.3]})
    with pytest.raises(ConfigError, match="slope"):
        monte_carlo_ranks(table, {"a": 1.0, "slope": 1.0}, seed=0)
    with pytest.raises(ConfigError, match="scores of a have NaN"):
        monte_carlo_ranks(table, {"a": 1.0, "b": 1.0}, seed=0)


# --- one at a time -------------------------------------------------------------------------


def test_oat_two_sites_two_criteria_hand_worked() -> None:
    # A = (0.8, 0.2), B = (0.3, 0.6). With w_power = t: A = 0.2 + 0.6 t, B = 0.6 - 0.3 t, equal at
    # t = 4/9 (A leads above). With w_water = t the mirror image: equal at t = 5/9 (B leads above).
    table = pd.DataFrame({"power": [0.8, 0.3], "water": [0.2, 0.6]}, index=["A", "B"])
    out = one_at_a_time(table, {"power": 1.0, "water": 1.0})
    assert len(out) == 4
    rows = out.set_index(["criterion", "site"])
    assert rows.loc[("power", "A"), "base_weight"] == 0.5
    assert rows.loc[("power", "A"), "base_rank"] == 1
    assert rows.loc[("power", "A"), "weight_below"] == pytest.approx(4 / 9, abs=1e-5)
    assert rows.loc[("power", "A"), "rank_below"] == 2
    assert np.isnan(rows.loc[("power", "A"), "weight_above"])
    assert pd.isna(rows.loc[("power", "A"), "rank_above"])
    assert rows.loc[("power", "B"), "weight_below"] == pytest.approx(4 / 9, abs=1e-5)
    assert rows.loc[("power", "B"), "rank_below"] == 1
    assert rows.loc[("water", "A"), "weight_above"] == pytest.approx(5 / 9, abs=1e-5)
    assert np.isnan(rows.loc[("water", "A"), "weight_below"])
    assert rows.loc[("water", "B"), "rank_above"] == 1


def exact_switches(scores: np.ndarray, base: np.ndarray, j: int, site: int) -> tuple[float, float]:
    """Nearest crossing of ``site``'s WLC line with any other site's, below and above w_j.

    Along the path, score_i(t) = t x_ij + (1 - t) R_i / (1 - w_j) with R_i the other criteria's
    weighted sum: a straight line in t, so two sites swap exactly where their lines cross.
    """
    others = np.delete(base, j) / (1.0 - base[j])
    rest = np.delete(scores, j, axis=1) @ others
    slope = scores[:, j] - rest
    below, above = np.nan, np.nan
    for k in range(len(scores)):
        if k == site or slope[k] == slope[site]:
            continue
        t = (rest[k] - rest[site]) / (slope[site] - slope[k])
        if 0.0 <= t < base[j] and not t <= below:
            below = t
        if base[j] < t <= 1.0 and not t >= above:
            above = t
    return below, above


def test_oat_matches_the_analytic_crossings() -> None:
    rng = np.random.default_rng(8)
    table = pd.DataFrame(rng.random((8, 3)), columns=["x", "y", "z"])
    weights = {"x": 0.5, "y": 0.3, "z": 0.2}
    out = one_at_a_time(table, weights, sites=list(range(8)), steps=1001, tol=1e-9)
    base = np.array([0.5, 0.3, 0.2])
    checked = 0
    for (j, name), site in itertools.product(enumerate(weights), range(8)):
        row = out[(out["criterion"] == name) & (out["site"] == site)].iloc[0]
        below, above = exact_switches(table.to_numpy(), base, j, site)
        np.testing.assert_allclose(row["weight_below"], below, atol=1e-7)
        np.testing.assert_allclose(row["weight_above"], above, atol=1e-7)
        checked += int(not np.isnan(below)) + int(not np.isnan(above))
    assert checked > 20  # most sites do switch somewhere


def test_oat_default_sites_are_the_base_top_ten() -> None:
    table = dominant_table(15)
    out = one_at_a_time(table, DOMINANT_WEIGHTS, steps=21)
    assert len(out) == 3 * 10
    assert list(out["site"].iloc[:10]) == list(table.index[:10])
    assert list(out["criterion"].unique()) == ["power", "water", "land"]


def test_oat_errors() -> None:
    table = conflicting_table(4)
    with pytest.raises(ConfigError, match="nowhere"):
        one_at_a_time(table, {"a": 1.0, "b": 1.0}, sites=[0, "nowhere"])
    with pytest.raises(ConfigError, match="steps"):
        one_at_a_time(table, {"a": 1.0, "b": 1.0}, steps=1)
