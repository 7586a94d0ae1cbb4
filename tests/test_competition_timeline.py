from __future__ import annotations

import itertools

import pandas as pd
import pytest

from gridsite.powergrid.timeline import TimelineAssumptions, speed_to_power_months
from gridsite.sites.competition import allocate_headroom


def test_headroom_is_drawn_down_in_rank_order() -> None:
    opts = pd.DataFrame(
        {
            "site_id": ["s1", "s2", "s2", "s3"],
            "station_id": ["A", "A", "B", "A"],
            "hosting_capacity_mw": [1200.0, 1200.0, 400.0, 1200.0],
            "interconnect_cost_musd": [1.0, 2.0, 3.0, 1.0],
        }
    )
    out = allocate_headroom(opts, ["s1", "s2", "s3"], campus_mw=500).set_index("site_id")
    # s1 takes 500 of A's 1200; s2 still finds 700 at A (cheaper than B); s3 finds 200: unsupplied
    assert out.loc["s1", "headroom_mw"] == 1200.0 and out.loc["s1", "supplied"]
    assert out.loc["s2", "station_id"] == "A" and out.loc["s2", "headroom_mw"] == 700.0
    assert out.loc["s3", "headroom_mw"] == 200.0 and not out.loc["s3", "supplied"]


def test_order_matters_and_total_never_exceeds_hosting() -> None:
    opts = pd.DataFrame(
        {
            "site_id": ["x", "y", "z"],
            "station_id": ["A", "A", "A"],
            "hosting_capacity_mw": [1000.0] * 3,
            "interconnect_cost_musd": [1.0] * 3,
        }
    )
    for order in itertools.permutations(["x", "y", "z"]):
        out = allocate_headroom(opts, list(order), campus_mw=400)
        assert out["supplied"].tolist() == [True, True, False]
        assert out["site_id"].tolist() == list(order)
        assert 400 * out["supplied"].sum() <= 1000


@pytest.mark.parametrize(
    ("km", "kv", "trafo", "reinf", "months"),
    [
        (0.0, 345, False, False, 18.0),  # 12 + max(0, upgrade 6)
        (30.0, 345, False, False, 27.0),  # 12 + 30 x 0.5
        (30.0, 154, True, False, 30.0),  # 12 + max(9, transformer 18)
        (100.0, 765, False, True, 140.0),  # 12 + 80 + 48
    ],
)
def test_speed_to_power_hand_worked(km, kv, trafo, reinf, months) -> None:
    assert speed_to_power_months(km, kv, transformer=trafo, reinforcement=reinf) == months


def test_speed_to_power_assumptions_are_configurable() -> None:
    a = TimelineAssumptions(base_months=6, months_per_km=((154.0, 1.0),), upgrade_months=0)
    got = speed_to_power_months(5, 345, transformer=False, reinforcement=False, assumptions=a)
    assert got == 11
