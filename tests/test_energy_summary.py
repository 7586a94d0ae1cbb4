import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsite.energy import DispatchResult, monthly_balance, simulate, typical_week
from gridsite.energy.summary import month_start_hours
from gridsite.errors import ConfigError

# Hours in each month, typed out from the calendar (not computed by the code under test).
HOURS_2025 = [744, 672, 744, 720, 744, 720, 744, 744, 720, 744, 720, 744]
HOURS_2024 = [744, 696, 744, 720, 744, 720, 744, 744, 720, 744, 720, 744]
COLUMNS = [
    "load_gwh",
    "local_used_gwh",
    "discharge_gwh",
    "import_gwh",
    "charge_gwh",
    "curtailed_gwh",
    "cfe_share",
]


def make_dispatch(load, used, discharge=None, charge=None, curtailed=None, dt_h=1.0):
    """A DispatchResult from its flows; import and generation follow from the two balances."""
    load = np.asarray(load, dtype=float)
    used = np.asarray(used, dtype=float)
    zero = np.zeros_like(load)
    discharge = zero if discharge is None else np.asarray(discharge, dtype=float)
    charge = zero if charge is None else np.asarray(charge, dtype=float)
    curtailed = zero if curtailed is None else np.asarray(curtailed, dtype=float)
    return DispatchResult(
        load_mw=load,
        generation_mw=used + charge + curtailed,
        used_mw=used,
        charge_mw=charge,
        discharge_mw=discharge,
        import_mw=load - used - discharge,
        curtailed_mw=curtailed,
        soc_mwh=zero,
        dt_h=dt_h,
    )


def weekly(values, steps=168):
    return np.repeat(np.asarray(values, dtype=float), steps)


@pytest.fixture(scope="module")
def year_dispatch():
    h = np.arange(8760)
    pv = np.clip(np.sin((h % 24 - 6) / 12 * np.pi), 0, None) * (0.8 + 0.2 * np.cos(h / 8760 * 6))
    wind = 0.4 + 0.3 * np.sin(2 * np.pi * h / 83) * np.cos(2 * np.pi * h / 8760)
    load = 100 + 15 * np.sin(2 * np.pi * h / 24)
    return simulate(load, pv, wind, pv_mw=140, wind_mw=110, bess_mw=40, bess_mwh=160)


# --- typical_week ---------------------------------------------------------------------------


def test_typical_week_counts_battery_discharge():
    # Three weeks at 10 MW. Shares (used + discharge) / load: 2/10, (1 + 4)/10, 8/10 -> period
    # (2 + 5 + 8)/30 = 0.5, the second week's. Were discharge ignored, the shares would be 0.2,
    # 0.1, 0.8 with period 11/30 = 0.367, and the first week would win.
    d = make_dispatch(weekly([10, 10, 10]), weekly([2, 1, 8]), discharge=weekly([0, 4, 0]))
    assert typical_week(d) == 168


def test_typical_week_second_of_two_weeks_equals_the_period_share():
    # Week 1: 10 MW, all imported (share 0). Week 2: 10 MW, 5 MW local (share 0.5). A trailing
    # day at 70 MW, all local, is no whole week but counts in the period's share:
    # (0 + 5*168 + 70*24) / (10*336 + 70*24) = 2520 / 5040 = 0.5, exactly week 2's share.
    # Without the trailing day the period's share would be 0.25, a tie won by week 1.
    load = np.r_[weekly([10, 10]), np.full(24, 70.0)]
    used = np.r_[weekly([0, 5]), np.full(24, 70.0)]
    d = make_dispatch(load, used)
    assert d.cfe_share == 0.5
    assert typical_week(d) == 168


def test_typical_week_weights_weeks_by_their_load():
    # Week 1: 10 MW, share 1; week 2: 30 MW, share 0.5. Period (10 + 15)/40 = 0.625, closer to
    # week 2 (0.125 away) than week 1 (0.375); an unweighted mean of shares (0.75) would tie.
    d = make_dispatch(weekly([10, 30]), weekly([10, 15]))
    assert typical_week(d) == 168


@pytest.mark.parametrize(
    ("shares", "expected"),
    [
        ([0.25, 0.75], 0),  # period 0.5, both 0.25 away: the earliest wins
        ([0.9, 0.25, 0.75, 0.1], 168),  # period 0.5: weeks 2 and 3 tie, 1 and 4 are farther
    ],
)
def test_typical_week_ties_go_to_the_earliest(shares, expected):
    d = make_dispatch(weekly([10.0] * len(shares)), weekly(np.array(shares) * 10))
    assert typical_week(d) == expected


def test_typical_week_skips_weeks_without_load():
    # Week 1 has no load (no share); weeks 2 and 3 at shares 0.3 and 0.9 -> period 0.6, a tie.
    d = make_dispatch(weekly([0, 10, 10]), weekly([0, 3, 9]))
    assert typical_week(d) == 168


def test_typical_week_without_any_load_is_the_first():
    d = make_dispatch(np.zeros(400), np.zeros(400))
    assert typical_week(d) == 0


def test_typical_day_on_half_hour_steps():
    # dt 0.5 h: a 24-hour "week" is 48 steps. Day shares 0.1, 0.4, 0.7 -> period 0.4 -> day 2.
    d = make_dispatch(weekly([10, 10, 10], 48), weekly([1, 4, 7], 48), dt_h=0.5)
    assert typical_week(d, hours_per_week=24) == 48


@pytest.mark.parametrize(
    ("n", "hours_per_week", "dt_h"),
    [(167, 168, 1.0), (400, 1.5, 1.0), (400, 0, 1.0), (400, -168, 1.0), (400, 24, 5.0)],
)
def test_typical_week_rejects_bad_lengths(n, hours_per_week, dt_h):
    d = make_dispatch(np.ones(n), np.zeros(n), dt_h=dt_h)
    with pytest.raises(ConfigError, match=r"hours_per_week|less than one week"):
        typical_week(d, hours_per_week=hours_per_week)


@settings(max_examples=50, deadline=None)
@given(
    shares=st.lists(st.floats(0, 1), min_size=1, max_size=8),
    loads=st.lists(st.floats(1, 100), min_size=8, max_size=8),
    tail=st.integers(0, 23),  # less than one 24-step "week": never a whole week itself
)
def test_typical_week_is_the_closest_week(shares, loads, tail):
    n_weeks = len(shares)
    load = np.r_[weekly(loads[:n_weeks], 24), np.full(tail, 5.0)]
    used = np.r_[weekly(np.array(shares) * loads[:n_weeks], 24), np.zeros(tail)]
    d = make_dispatch(load, used)
    start = typical_week(d, hours_per_week=24)
    assert start % 24 == 0
    assert 0 <= start <= 24 * (n_weeks - 1)
    period = used.sum() / load.sum()
    distances = [abs(s - period) for s in shares]
    assert distances[start // 24] <= min(distances) + 1e-9


# --- monthly_balance ------------------------------------------------------------------------


@pytest.mark.parametrize(("year", "hours"), [(2025, HOURS_2025), (2024, HOURS_2024)])
def test_monthly_balance_hand_worked(year, hours):
    # Month m (1-12) holds a flat load of 10*m MW, served 4*m directly, m by the battery and
    # 5*m by import; 2 MW charge the battery and 3 MW are curtailed in every hour.
    m = np.arange(1, 13)
    per_hour = {
        "load": np.repeat(10.0 * m, hours),
        "used": np.repeat(4.0 * m, hours),
        "discharge": np.repeat(1.0 * m, hours),
    }
    n = sum(hours)
    d = make_dispatch(
        per_hour["load"],
        per_hour["used"],
        discharge=per_hour["discharge"],
        charge=np.full(n, 2.0),
        curtailed=np.full(n, 3.0),
    )
    table = monthly_balance(d, year=year)
    assert list(table.columns) == COLUMNS
    assert table.index.tolist() == list(range(1, 13))
    assert table.index.name == "month"
    h = np.array(hours, dtype=float)
    # e.g. January 2025: 744 h * 10 MW = 7.44 GWh; February 2025: 672 h * 20 MW = 13.44 GWh
    assert table.loc[1, "load_gwh"] == pytest.approx(7.44)
    assert table.loc[2, "load_gwh"] == pytest.approx(13.44 if year == 2025 else 13.92)
    np.testing.assert_allclose(table["load_gwh"], h * 10 * m / 1e3)
    np.testing.assert_allclose(table["local_used_gwh"], h * 4 * m / 1e3)
    np.testing.assert_allclose(table["discharge_gwh"], h * m / 1e3)
    np.testing.assert_allclose(table["import_gwh"], h * 5 * m / 1e3)
    np.testing.assert_allclose(table["charge_gwh"], h * 2 / 1e3)
    np.testing.assert_allclose(table["curtailed_gwh"], h * 3 / 1e3)
    np.testing.assert_allclose(table["cfe_share"], 0.5)


def test_monthly_balance_splits_at_midnight_of_the_first():
    # One MW in the last hour of January and in the first of March 2025, nothing else.
    load = np.zeros(8760)
    load[743] = 1.0  # 31 Jan 23:00
    load[744 + 672] = 1.0  # 1 Mar 00:00
    table = monthly_balance(make_dispatch(load, load), year=2025)
    assert table["load_gwh"].tolist() == [1e-3, 0, 1e-3] + [0] * 9
    assert table["cfe_share"].iloc[0] == 1.0
    assert table["cfe_share"].iloc[1:2].isna().all()  # February has no load


def test_monthly_balance_sums_to_the_annual_totals(year_dispatch):
    d = year_dispatch
    table = monthly_balance(d)
    totals = table.sum()
    assert totals["load_gwh"] == pytest.approx(d.load_gwh, rel=1e-12)
    assert totals["import_gwh"] == pytest.approx(d.grid_import_gwh, rel=1e-12)
    assert totals["curtailed_gwh"] == pytest.approx(d.curtailed_gwh, rel=1e-12)
    for column, field in [
        ("local_used_gwh", "used_mw"),
        ("discharge_gwh", "discharge_mw"),
        ("charge_gwh", "charge_mw"),
    ]:
        assert totals[column] == pytest.approx(getattr(d, field).sum() / 1e3, rel=1e-12)
    served = totals["local_used_gwh"] + totals["discharge_gwh"]
    assert served / totals["load_gwh"] == pytest.approx(d.cfe_share, rel=1e-9)
    np.testing.assert_allclose(
        table["load_gwh"],
        table["local_used_gwh"] + table["discharge_gwh"] + table["import_gwh"],
        rtol=1e-9,
    )


def test_monthly_balance_sums_exactly_on_whole_numbers():
    # Whole MW values add without rounding, so the months must add up to the year bit for bit.
    rng = np.random.default_rng(7)
    load = rng.integers(50, 150, 8760).astype(float)
    used = np.floor(load * rng.random(8760))
    discharge = np.floor((load - used) * rng.random(8760))
    d = make_dispatch(load, used, discharge=discharge, curtailed=rng.integers(0, 9, 8760))
    table = monthly_balance(d) * 1e3  # back to MWh, whole numbers
    assert table["load_gwh"].sum() == load.sum()
    assert table["local_used_gwh"].sum() == used.sum()
    assert table["discharge_gwh"].sum() == discharge.sum()
    assert table["import_gwh"].sum() == d.import_mw.sum()
    assert table["curtailed_gwh"].sum() == d.curtailed_mw.sum()


def test_monthly_balance_agrees_with_pandas_calendar(year_dispatch):
    d = year_dispatch
    months = pd.date_range("2025-01-01", periods=8760, freq="h").month
    oracle = pd.Series(d.import_mw).groupby(months).sum() / 1e3
    np.testing.assert_allclose(monthly_balance(d)["import_gwh"], oracle.to_numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("n", "dt_h", "year"),
    [(8760, 1.0, 2024), (8784, 1.0, 2025), (8000, 1.0, 2025), (17520, 0.5, 2025), (8760, 2, 2025)],
)
def test_monthly_balance_needs_a_calendar_year_of_hours(n, dt_h, year):
    d = make_dispatch(np.ones(n), np.zeros(n), dt_h=dt_h)
    with pytest.raises(ConfigError, match=r"year=\d{4}.*8,784 h for a leap year"):
        monthly_balance(d, year=year)


def test_month_start_hours():
    assert month_start_hours(2025).tolist() == [0, *np.cumsum(HOURS_2025).tolist()]
    assert month_start_hours(2024)[-1] == 8784
