"""Tests for gridsite.mcda.weights: direct and rank-based (surrogate) weights."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridsite.errors import ConfigError
from gridsite.mcda.weights import (
    direct_weights,
    rank_order_centroid_weights,
    rank_reciprocal_weights,
    rank_sum_weights,
)

RankRule = Callable[[Mapping[str, int]], dict[str, float]]
RULES: list[RankRule] = [rank_sum_weights, rank_reciprocal_weights, rank_order_centroid_weights]


def _approx(expected: dict[str, float]) -> object:
    return pytest.approx(expected, abs=1e-12)


def test_direct_weights_are_normalised() -> None:
    assert direct_weights({"a": 20, "b": 50, "c": 30}) == _approx({"a": 0.2, "b": 0.5, "c": 0.3})


def test_direct_weights_reject_negative() -> None:
    with pytest.raises(ConfigError, match=r"criteria\.b\.weight"):
        direct_weights({"a": 1.0, "b": -1.0})


# Hand-worked, n = 3:
# ROC: a (1 + 1/2 + 1/3)/3 = 11/18, b (1/2 + 1/3)/3 = 5/18, c (1/3)/3 = 2/18
# rank sum: (3, 2, 1)/6; rank reciprocal: (1, 1/2, 1/3)/(11/6) = (6, 3, 2)/11
@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (rank_order_centroid_weights, {"a": 11 / 18, "b": 5 / 18, "c": 2 / 18}),
        (rank_sum_weights, {"a": 3 / 6, "b": 2 / 6, "c": 1 / 6}),
        (rank_reciprocal_weights, {"a": 6 / 11, "b": 3 / 11, "c": 2 / 11}),
    ],
)
def test_rank_weights_n3_hand_worked(rule: RankRule, expected: dict[str, float]) -> None:
    got = rule({"a": 1, "b": 2, "c": 3})
    assert got == _approx(expected)


def test_roc_n3_published_rounding() -> None:
    got = rank_order_centroid_weights({"a": 1, "b": 2, "c": 3})
    assert [round(w, 3) for w in got.values()] == [0.611, 0.278, 0.111]


def test_roc_n4_hand_worked() -> None:
    # (1/4) * (1 + 1/2 + 1/3 + 1/4, 1/2 + 1/3 + 1/4, 1/3 + 1/4, 1/4) = (25, 13, 7, 3)/48
    got = rank_order_centroid_weights({"w": 1, "x": 2, "y": 3, "z": 4})
    assert got == _approx({"w": 25 / 48, "x": 13 / 48, "y": 7 / 48, "z": 3 / 48})


def test_order_of_result_is_order_given_not_rank_order() -> None:
    got = rank_sum_weights({"c": 3, "a": 1, "b": 2})
    assert list(got) == ["c", "a", "b"]
    assert got == _approx({"a": 3 / 6, "b": 2 / 6, "c": 1 / 6})


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # a and b share positions 1 and 2: each gets the mean of those positions' weights.
        (rank_order_centroid_weights, {"a": 8 / 18, "b": 8 / 18, "c": 2 / 18}),
        (rank_sum_weights, {"a": 2.5 / 6, "b": 2.5 / 6, "c": 1 / 6}),
        (rank_reciprocal_weights, {"a": 4.5 / 11, "b": 4.5 / 11, "c": 2 / 11}),
    ],
)
def test_ties_share_their_positions(rule: RankRule, expected: dict[str, float]) -> None:
    assert rule({"a": 1, "b": 1, "c": 2}) == _approx(expected)
    # Competition-style ranks (1, 1, 3) mean the same ranking.
    assert rule({"a": 1, "b": 1, "c": 3}) == _approx(expected)


@pytest.mark.parametrize("rule", RULES)
def test_only_the_order_of_ranks_matters(rule: RankRule) -> None:
    assert rule({"a": 1, "b": 2, "c": 5}) == _approx(rule({"a": 1, "b": 2, "c": 3}))


@pytest.mark.parametrize("rule", RULES)
def test_single_criterion_gets_everything(rule: RankRule) -> None:
    assert rule({"only": 1}) == {"only": 1.0}


@pytest.mark.parametrize("rule", RULES)
def test_bad_ranks_are_all_named(rule: RankRule) -> None:
    with pytest.raises(ConfigError) as info:
        rule({"a": 0, "b": 1.5, "c": 1, "d": True})  # type: ignore[dict-item]
    message = str(info.value)
    for name in ("'a'", "'b'", "'d'"):
        assert name in message
    assert "'c'" not in message


@pytest.mark.parametrize("rule", RULES)
def test_nothing_ranked_is_an_error(rule: RankRule) -> None:
    with pytest.raises(ConfigError, match="no criteria ranked"):
        rule({})


@pytest.mark.parametrize("rule", RULES)
@given(ranks=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=12))
def test_rank_weights_sum_to_one_and_follow_the_ranking(rule: RankRule, ranks: list[int]) -> None:
    named = {f"c{i}": r for i, r in enumerate(ranks)}
    got = rule(named)
    assert sum(got.values()) == pytest.approx(1.0)
    for a, ra in named.items():
        for b, rb in named.items():
            if ra < rb:
                assert got[a] > got[b]
            elif ra == rb:
                assert got[a] == pytest.approx(got[b])
