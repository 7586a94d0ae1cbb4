import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsite.energy import capital_recovery_factor, simulate
from gridsite.errors import ConfigError


def test_hand_worked_48_hours():
    # Load 10 MW flat; 20 MW of PV at full output 08:00-16:00 each day, nothing otherwise; no
    # wind. Battery 5 MW / 20 MWh, rte 0.81 so eta = 0.9 each way, SoC window [2, 18] MWh,
    # starting at 10 MWh.
    load = np.full(48, 10.0)
    day = np.r_[np.zeros(8), np.ones(8), np.zeros(8)]
    pv_cf = np.r_[day, day]
    r = simulate(
        load,
        pv_cf,
        np.zeros(48),
        pv_mw=20,
        wind_mw=0,
        bess_mw=5,
        bess_mwh=20,
        round_trip_efficiency=0.81,
        soc_min=0.1,
        soc_max=0.9,
        soc_start=0.5,
    )
    # Day 1 night: h0 discharges the 5 MW limit (SoC 10 - 5/0.9 = 4.4444); h1 empties the
    # rest, (4.4444 - 2) * 0.9 = 2.2 MW; then the battery sits at 2 MWh.
    # Day: surplus 10 MW; charge 5 MW (SoC +4.5) at h8-h10 -> 6.5, 11, 15.5; h11 fills the last
    # 2.5 MWh with 2.5 / 0.9 = 2.7778 MW; h12-h15 curtail all 10 MW.
    # Evening: discharge 5, 5 (SoC 18 -> 12.4444 -> 6.8889), then (6.8889 - 2) * 0.9 = 4.4 MW.
    # Day 2 night starts empty: import 10 MW for 8 hours; day 2 repeats day 1 from h8.
    c11 = 2.5 / 0.9
    night1_dis = [5, 2.2, 0, 0, 0, 0, 0, 0]
    day_chg = [5, 5, 5, c11, 0, 0, 0, 0]
    eve_dis = [5, 5, 4.4, 0, 0, 0, 0, 0]
    zeros8 = [0.0] * 8
    discharge = night1_dis + zeros8 + eve_dis + zeros8 + zeros8 + eve_dis
    charge = zeros8 + day_chg + zeros8 + zeros8 + day_chg + zeros8
    used = zeros8 + [10.0] * 8 + zeros8 + zeros8 + [10.0] * 8 + zeros8
    imports = [10 - d if u == 0 else 0.0 for d, u in zip(discharge, used, strict=True)]
    curtailed = [10 - c if u == 10 else 0.0 for c, u in zip(charge, used, strict=True)]
    soc_night1 = [10 - 5 / 0.9] + [2.0] * 7
    soc_day = [6.5, 11, 15.5, 18, 18, 18, 18, 18]
    soc_eve = [18 - 5 / 0.9, 18 - 10 / 0.9] + [2.0] * 6
    soc = soc_night1 + soc_day + soc_eve + [2.0] * 8 + soc_day + soc_eve
    np.testing.assert_allclose(r.discharge_mw, discharge, atol=1e-9)
    np.testing.assert_allclose(r.charge_mw, charge, atol=1e-9)
    np.testing.assert_allclose(r.used_mw, used, atol=1e-9)
    np.testing.assert_allclose(r.import_mw, imports, atol=1e-9)
    np.testing.assert_allclose(r.curtailed_mw, curtailed, atol=1e-9)
    np.testing.assert_allclose(r.soc_mwh, soc, atol=1e-9)
    # Totals: import (5 + 7.8 + 6*10) + 2 * (5 + 5 + 5.6 + 5*10) + 8*10 = 72.8 + 131.2 + 80
    # = 284 MWh of 480
    assert r.grid_import_gwh == pytest.approx(0.284)
    assert r.cfe_share == pytest.approx(1 - 284 / 480)
    assert r.curtailed_gwh == pytest.approx(2 * (15 + 10 - c11 + 40) / 1e3)


def test_round_trip_losses_as_set():
    # Charge 10 MW for one hour from empty, then ask for far more than is stored: the battery
    # gives back 10 * rte over the cycle.
    rte = 0.81
    r = simulate(
        [0.0, 100.0],
        [1.0, 0.0],
        [0.0, 0.0],
        pv_mw=10,
        wind_mw=0,
        bess_mw=100,
        bess_mwh=100,
        round_trip_efficiency=rte,
        soc_min=0.0,
        soc_max=1.0,
        soc_start=0.0,
    )
    assert r.charge_mw[0] == pytest.approx(10)
    assert r.discharge_mw[1] == pytest.approx(10 * rte)
    assert r.soc_mwh[0] == pytest.approx(10 * math.sqrt(rte))
    assert r.soc_mwh[1] == pytest.approx(0, abs=1e-12)


def test_no_battery_imports_the_deficit():
    load = np.array([5.0, 10.0, 3.0])
    r = simulate(load, [0.5, 0.2, 1.0], [0.0, 0.5, 0.0], pv_mw=10, wind_mw=4, bess_mw=0, bess_mwh=0)
    np.testing.assert_allclose(r.import_mw, [0.0, 6.0, 0.0])
    np.testing.assert_allclose(r.curtailed_mw, [0.0, 0.0, 7.0])


profiles = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0, 1000), min_size=n, max_size=n),
        st.lists(st.floats(0, 1), min_size=n, max_size=n),
        st.lists(st.floats(0, 1), min_size=n, max_size=n),
    )
)


@settings(max_examples=200, deadline=None)
@given(
    data=profiles,
    pv_mw=st.floats(0, 2000),
    wind_mw=st.floats(0, 2000),
    bess_mw=st.floats(0, 500),
    bess_mwh=st.floats(0, 4000),
    rte=st.floats(0.5, 1.0),
    soc_lo=st.floats(0, 0.5),
    soc_span=st.floats(0, 0.5),
    start=st.floats(0, 1),
    dt_h=st.sampled_from([0.25, 1.0, 2.0]),
)
def test_balance_closes_and_soc_in_bounds(
    data, pv_mw, wind_mw, bess_mw, bess_mwh, rte, soc_lo, soc_span, start, dt_h
):
    load, pv, wind = (np.asarray(a) for a in data)
    soc_hi = soc_lo + soc_span
    r = simulate(
        load,
        pv,
        wind,
        pv_mw=pv_mw,
        wind_mw=wind_mw,
        bess_mw=bess_mw,
        bess_mwh=bess_mwh,
        round_trip_efficiency=rte,
        soc_min=soc_lo,
        soc_max=soc_hi,
        soc_start=soc_lo + start * soc_span,
        dt_h=dt_h,
    )
    gen = pv_mw * pv + wind_mw * wind
    flows = (r.used_mw, r.charge_mw, r.discharge_mw, r.import_mw, r.curtailed_mw)
    assert all((f >= -1e-9).all() for f in flows)
    np.testing.assert_allclose(
        (r.used_mw + r.discharge_mw + r.import_mw) * dt_h, load * dt_h, rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(
        (r.used_mw + r.charge_mw + r.curtailed_mw) * dt_h, gen * dt_h, rtol=0, atol=1e-6
    )
    assert (r.charge_mw <= bess_mw + 1e-9).all() and (r.discharge_mw <= bess_mw + 1e-9).all()
    assert (r.soc_mwh >= soc_lo * bess_mwh - 1e-6).all()
    assert (r.soc_mwh <= soc_hi * bess_mwh + 1e-6).all()
    # the battery never charges and discharges in the same step
    assert not ((r.charge_mw > 0) & (r.discharge_mw > 0)).any()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"load_mw": [1.0, 2.0]}, "lengths differ"),
        ({"pv_cf": [1.5]}, "exceeds 1"),
        ({"load_mw": [-1.0]}, "negative"),
        ({"soc_start": 0.95}, "soc_start"),
        ({"round_trip_efficiency": 0.0}, "round_trip_efficiency"),
        ({"bess_mw": -1.0}, "bess_mw"),
    ],
)
def test_bad_inputs_raise(kwargs, match):
    args = {
        "load_mw": [1.0],
        "pv_cf": [0.5],
        "wind_cf": [0.5],
        "pv_mw": 1.0,
        "wind_mw": 1.0,
        "bess_mw": 1.0,
        "bess_mwh": 1.0,
    } | kwargs
    load, pv, wind = args.pop("load_mw"), args.pop("pv_cf"), args.pop("wind_cf")
    with pytest.raises(ConfigError, match=match):
        simulate(load, pv, wind, **args)


@pytest.mark.parametrize(("rate", "years"), [(0.07, 25), (0.1, 10), (0.03, 40), (0.0, 20)])
def test_capital_recovery_factor_repays_the_capex(rate, years):
    # The annuity crf, discounted over the lifetime, is worth exactly the capex of 1.
    crf = capital_recovery_factor(rate, years)
    assert sum(crf / (1 + rate) ** k for k in range(1, years + 1)) == pytest.approx(1.0)


def test_capital_recovery_factor_table_value():
    # Standard annuity table (capital recovery factor, 10 %, 10 years) = 0.16275
    assert capital_recovery_factor(0.10, 10) == pytest.approx(0.16275, abs=5e-6)
