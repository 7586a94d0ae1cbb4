"""Routed interconnection: reVX cost tables, cost rules, and least-cost tie lines to substations."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsite.errors import LayerError, PowerGridError
from gridsite.geo import RasterGrid
from gridsite.layers import read_revx_costs
from gridsite.powergrid import (
    ROUTE_COLUMNS,
    TransmissionCosts,
    cost_multiplier_raster,
    length_multiplier,
    line_cost_per_km_musd,
    line_cost_raster,
    parallel_circuits,
    route_site,
    substation_cost_musd,
)

REVX = Path(__file__).resolve().parents[2] / "shared" / "data" / "revx-xmission-costs"
CRS = "EPSG:5179"
SQRT2 = math.sqrt(2.0)
needs_revx = pytest.mark.skipif(not REVX.is_dir(), reason="reVX cost tables not in the data pack")


def hand_costs() -> TransmissionCosts:
    """Round numbers that make totals easy to work by hand (MUSD, km, kV)."""
    return TransmissionCosts(
        region="HAND",
        line_musd_per_km=((154.0, 0.5), (345.0, 1.0)),
        line_capacity_mw=(),
        power_classes_mw=(),
        landuse_multipliers=(("urban", 1.5), ("forest", 2.0)),
        landuse_codes=(("urban", (24,)), ("forest", (41, 42))),
        hill_slope_pct=2.0,
        hill_multiplier=1.4,
        mountain_slope_pct=8.0,
        mountain_multiplier=1.75,
        transformer_musd_per_mva=((154.0, 154.0, 0.005), (154.0, 345.0, 0.006)),
        new_substation_musd=((154.0, 10.0), (345.0, 20.0)),
        upgrade_substation_musd=((154.0, 2.0), (345.0, 4.0)),
    )


def grid_km(rows: int, cols: int, resolution_m: float = 1000.0) -> RasterGrid:
    return RasterGrid.from_bounds(
        (0.0, 0.0, cols * resolution_m, rows * resolution_m), resolution_m=resolution_m, crs=CRS
    )


def subs(*rows: tuple[str, int, int, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["bus_id", "row", "col", "voltage_kv"])


# --- reVX tables -----------------------------------------------------------------------------


@needs_revx
@pytest.mark.parametrize("region", ["TEPPC", "MISO", "SCE", "Southeast"])
def test_revx_tables_are_converted_per_mile_to_per_km(region: str) -> None:
    raw = {p.stem: json.loads(p.read_text()) for p in REVX.glob("*.json")}
    costs = read_revx_costs(REVX, region=region)
    by_kv = dict(costs.line_musd_per_km)
    # capacity class -> voltage: 102 MW 69 kV, 205 MW 138 kV, 400 MW 230 kV, 1500 MW 500 kV
    for cap, kv in (("102", 69.0), ("205", 138.0), ("400", 230.0), ("1500", 500.0)):
        usd_per_mile = raw["base_line_costs"][region][cap]
        assert by_kv[kv] == pytest.approx(usd_per_mile / 1e6 / 1.609344, rel=1e-12)
    assert set(by_kv) == {69.0, 138.0, 230.0, 500.0}
    for kv, usd in raw["upgrade_substation_costs"][region].items():
        assert dict(costs.upgrade_substation_musd)[float(kv)] == pytest.approx(usd / 1e6)
    for kv, usd in raw["new_substation_costs"][region].items():
        assert dict(costs.new_substation_musd)[float(kv)] == pytest.approx(usd / 1e6)
    entry = next(e for e in raw["iso_multipliers"] if e["iso"] == region)
    assert dict(costs.landuse_multipliers) == pytest.approx(entry["land_use"])
    assert costs.hill_multiplier == entry["slope"]["hill_mult"]
    assert costs.mountain_slope_pct == entry["slope"]["mtn_slope"]
    assert costs.region == region and "2019 US$" in costs.source


@needs_revx
def test_revx_teppc_numbers_by_hand() -> None:
    costs = read_revx_costs(REVX)  # TEPPC is the default region
    assert costs.region == "TEPPC"
    # 205 MW / 138 kV: 1,180,083 $/mile / 1.609344 km/mile = 733,270 $/km
    assert line_cost_per_km_musd(costs, 138.0) == pytest.approx(0.733270, abs=1e-6)
    # a 154 kV line takes the next costed class up, 230 kV: 1,579,572 $/mile = 0.981501 MUSD/km
    assert line_cost_per_km_musd(costs, 154.0) == pytest.approx(0.981501, abs=1e-6)
    # 345 and 765 kV both price as the 1,500 MW 500 kV line: 3,052,857 $/mile
    assert line_cost_per_km_musd(costs, 345.0) == pytest.approx(1.896957, abs=1e-6)
    assert line_cost_per_km_musd(costs, 765.0) == line_cost_per_km_musd(costs, 345.0)
    # transformer $/MVA: a 154 kV line (161 kV class) into a 345 kV substation: 6,100 $/MVA
    assert costs.transformer_cost_musd_per_mva(154.0, 345.0) == pytest.approx(0.0061)
    assert costs.transformer_cost_musd_per_mva(345.0, 765.0) == pytest.approx(0.00786)
    assert substation_cost_musd(costs, 154.0) == pytest.approx(5.5)  # upgrade, 230 kV class
    assert substation_cost_musd(costs, 154.0, new_substation=True) == pytest.approx(9.171)
    assert dict(costs.landuse_codes)["forest"] == (41, 42, 43)


@pytest.fixture
def revx_copy(tmp_path: Path) -> Path:
    if not REVX.is_dir():
        pytest.skip("reVX cost tables not in the data pack")
    folder = tmp_path / "revx"
    shutil.copytree(REVX, folder)
    return folder


def test_bad_json_names_the_file(revx_copy: Path) -> None:
    (revx_copy / "base_line_costs.json").write_text('{"TEPPC": {"102": 983701,')
    with pytest.raises(LayerError, match=r"base_line_costs\.json is not valid JSON"):
        read_revx_costs(revx_copy)


def test_bad_value_names_file_and_key(revx_copy: Path) -> None:
    path = revx_copy / "upgrade_substation_costs.json"
    table = json.loads(path.read_text())
    table["TEPPC"]["230"] = "lots"
    path.write_text(json.dumps(table))
    with pytest.raises(LayerError, match=r"upgrade_substation_costs\.json.*'TEPPC\.230'.*'lots'"):
        read_revx_costs(revx_copy)


def test_missing_table_and_unknown_region(revx_copy: Path) -> None:
    with pytest.raises(LayerError, match="has no region 'KEPCO'"):
        read_revx_costs(revx_copy, region="KEPCO")
    (revx_copy / "transformer_costs.json").unlink()
    with pytest.raises(LayerError, match=r"transformer_costs\.json not found"):
        read_revx_costs(revx_copy)
    with pytest.raises(LayerError, match="does not exist"):
        read_revx_costs(revx_copy / "nowhere")


# --- cost rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length_km", "linear", "step"),
    [
        # reVX linear: 1 + 0.5 (10 mi - d) / 8.5 mi below 10 miles, i.e. 27/17 at 0 km
        (0.0, 27 / 17, 1.5),
        (8.0, 1 + 0.5 * (10 - 8 / 1.609344) / 8.5, 1.2),  # 1.295825
        (16.0, 1 + 0.5 * (10 - 16 / 1.609344) / 8.5, 1.2),  # 1.003415
        (30.0, 1.0, 1.0),
    ],
)
def test_length_multiplier(length_km: float, linear: float, step: float) -> None:
    assert length_multiplier(length_km) == pytest.approx(linear, rel=1e-12)
    assert length_multiplier(length_km, kind="step") == step


def test_length_multiplier_shape() -> None:
    assert length_multiplier(1.5 * 1.609344) == pytest.approx(1.5)  # x1.5 at 1.5 miles
    assert length_multiplier(10 * 1.609344) == pytest.approx(1.0)  # continuous at 10 miles
    values = [length_multiplier(d) for d in np.linspace(0, 40, 401)]
    assert (np.diff(values) <= 0).all()
    with pytest.raises(ValueError, match="kind"):
        length_multiplier(1.0, kind="cubic")
    with pytest.raises(ValueError, match="length_km"):
        length_multiplier(-1.0)


@pytest.mark.parametrize(
    ("campus_mw", "kv", "kwargs", "circuits"),
    [
        (500.0, 154.0, {}, 2),  # 500 MW > 452 MVA of one 154 kV circuit
        (500.0, 345.0, {}, 1),  # 2,173 MVA
        (452.0, 154.0, {}, 1),
        (905.0, 154.0, {}, 3),
        (3000.0, 345.0, {}, 2),
        (500.0, 154.0, {"rating_mva_per_circuit": 904.0}, 1),  # a KPG 193 double-bundle rating
        (410.0, 154.0, {"power_factor": 0.9}, 2),  # 452 MVA x 0.9 = 406.8 MW
    ],
)
def test_parallel_circuits(
    campus_mw: float, kv: float, kwargs: dict[str, float], circuits: int
) -> None:
    assert parallel_circuits(campus_mw, voltage_kv=kv, **kwargs) == circuits


def test_cost_multiplier_raster() -> None:
    costs = hand_costs()
    slope = np.array([[0.0, 1.99, 2.0], [7.99, 8.0, np.nan]])
    land = np.array([[24, 41, 42], [0, 41, 24]])
    urban = np.array([[False, False, False], [True, False, False]])
    out = cost_multiplier_raster(
        (2, 3), costs=costs, slope_pct=slope, landuse_classes=land, urban=urban
    )
    expected = np.array([[1.5, 2.0, 2.0 * 1.4], [1.5 * 1.4, 2.0 * 1.75, 1.5]])
    np.testing.assert_allclose(out, expected)
    assert (cost_multiplier_raster((2, 3), costs=costs) == 1.0).all()
    # another land-cover product's codes (e.g. Korea's) replace reVX's NLCD codes
    korea = cost_multiplier_raster(
        (2, 3), costs=costs, landuse_classes=land, landuse_codes={"forest": [0]}
    )
    np.testing.assert_allclose(korea, [[1, 1, 1], [2, 1, 1]])
    with pytest.raises(ValueError, match="slope_pct shape"):
        cost_multiplier_raster((3, 3), costs=costs, slope_pct=slope)


def test_line_cost_raster() -> None:
    out = line_cost_raster(
        np.array([[1.0, 2.0], [np.nan, 1.5]]), costs=hand_costs(), voltage_kv=154
    )
    np.testing.assert_allclose(out, [[0.5, 1.0], [np.nan, 0.75]])


# --- route_site ------------------------------------------------------------------------------


def test_hand_worked_uniform_route() -> None:
    grid = grid_km(10, 10)  # 1 km cells
    cost = np.full(grid.shape, 0.5)  # MUSD per km, one circuit
    out = route_site(
        cost,
        grid,
        (0, 0),
        subs(("A", 3, 5, 154.0)),
        costs=hand_costs(),
        campus_mw=500.0,
        site_kv=154.0,
    )
    row = out.iloc[0]
    assert list(out.columns) == [*ROUTE_COLUMNS, "geometry"]
    assert bool(row["chosen"]) and bool(row["reachable"])
    # 8-connected geometric distance: 3 diagonal + 2 rook steps of 1 km
    assert row["route_km"] == pytest.approx(3 * SQRT2 + 2)  # 6.242641
    assert row["straight_km"] == pytest.approx(math.sqrt(34))  # 5.830952
    # length multiplier at 6.242641 km = 3.879 mi: 1 + 0.5 (10 - 3.879) / 8.5 = 1.360059
    assert row["length_multiplier"] == pytest.approx(1.360059, abs=1e-6)
    assert row["parallel_circuits"] == 2  # 500 MW on 452 MVA circuits
    # 0.5 MUSD/km x 6.242641 km x 1.360059 x 2 circuits = 8.490360
    assert row["line_cost_musd"] == pytest.approx(8.490360, abs=1e-6)
    assert row["substation_cost_musd"] == 2.0  # upgrade of a 154 kV substation
    assert row["transformer_cost_musd"] == 0.0  # same voltage
    assert row["interconnect_cost_musd"] == pytest.approx(10.490360, abs=1e-6)
    geom = row["geometry"]
    assert geom.coords[0] == (500.0, 9500.0)  # site cell centre
    assert geom.coords[-1] == (5500.0, 6500.0)  # substation cell centre
    assert geom.length == pytest.approx(row["route_km"] * 1000.0)
    assert out.crs == CRS


def test_route_pinned_to_the_true_end_points() -> None:
    grid = grid_km(10, 10)
    cost = np.full(grid.shape, 0.5)
    sub = subs(("A", 3, 5, 154.0)).assign(x_m=5900.0, y_m=6200.0)  # inside cell (3, 5)
    site_xy = (100.0, 9900.0)  # inside cell (0, 0), off its centre
    row = route_site(
        cost,
        grid,
        (0, 0),
        sub,
        costs=hand_costs(),
        campus_mw=500.0,
        site_kv=154.0,
        site_xy=site_xy,
    ).iloc[0]
    geom = row["geometry"]
    assert geom.coords[0] == site_xy and geom.coords[-1] == (5900.0, 6200.0)
    # the interior still runs through cell centres: a shortest 8-connected path from (0, 0) to
    # (3, 5) takes 5 steps, so 4 interior cells (several such paths tie; any one will do)
    inner = list(geom.coords)[1:-1]
    assert len(inner) == 4
    assert all(x % 1000 == 500 and y % 1000 == 500 for x, y in inner)
    assert row["straight_km"] == pytest.approx(math.hypot(5800.0, 3700.0) / 1000)
    assert row["route_km"] == pytest.approx(geom.length / 1000)
    assert row["route_km"] >= row["straight_km"]


def test_transformer_and_new_substation_costs() -> None:
    grid = grid_km(5, 5)
    table = subs(("HV", 0, 4, 345.0), ("TAP", 4, 0, 154.0))
    table["new_substation"] = [False, True]
    out = route_site(
        np.full(grid.shape, 0.5),
        grid,
        (0, 0),
        table,
        costs=hand_costs(),
        campus_mw=500.0,
        site_kv=154.0,
    ).set_index("bus_id")
    # both 4 km away: line 0.5 x 4 x m(4 km) x 2
    line = 0.5 * 4.0 * length_multiplier(4.0) * 2
    # 345 kV substation: 154 kV upgrade (2.0) + transformer 0.006 MUSD/MVA x 500 MVA = 3.0
    assert out.loc["HV", "transformer_cost_musd"] == pytest.approx(3.0)
    assert out.loc["HV", "interconnect_cost_musd"] == pytest.approx(line + 2.0 + 3.0)
    # tapping a line: a new 154 kV substation (10.0), no transformer
    assert out.loc["TAP", "substation_cost_musd"] == 10.0
    assert out.loc["TAP", "interconnect_cost_musd"] == pytest.approx(line + 10.0)
    assert bool(out.loc["HV", "chosen"]) and not bool(out.loc["TAP", "chosen"])


def test_cheaper_substation_wins_even_if_farther() -> None:
    grid = grid_km(20, 20)
    cost = np.full(grid.shape, 0.5)
    cost[:, 3:8] = 20.0  # a costly band (e.g. a city) between the site and the near substation
    out = route_site(
        cost,
        grid,
        (10, 2),
        subs(("NEAR", 10, 9, 154.0), ("FAR", 1, 0, 154.0), ("FARTHER", 0, 19, 154.0)),
        costs=hand_costs(),
        campus_mw=300.0,
        site_kv=154.0,
        k=2,
    )
    assert len(out) == 2  # k nearest in a straight line: NEAR (7 km) and FAR (~9.2 km)
    chosen = out[out["chosen"]].iloc[0]
    near = out.set_index("bus_id").loc["NEAR"]
    assert chosen["bus_id"] == "FAR"
    assert chosen["straight_km"] > near["straight_km"]
    assert chosen["interconnect_cost_musd"] < near["interconnect_cost_musd"]
    assert out["interconnect_cost_musd"].is_monotonic_increasing


def test_barrier_forces_a_detour() -> None:
    grid = grid_km(12, 12)
    cost = np.full(grid.shape, 0.5)
    table = subs(("S", 10, 5, 154.0))
    kwargs: dict[str, Any] = {"costs": hand_costs(), "campus_mw": 100.0, "site_kv": 154.0}
    direct = route_site(cost, grid, (1, 5), table, **kwargs).iloc[0]
    barriers = np.zeros(grid.shape, dtype=bool)
    barriers[5, 1:11] = True  # a wall with gaps at the edges
    detour = route_site(cost, grid, (1, 5), table, barriers=barriers, **kwargs).iloc[0]
    assert direct["route_km"] == pytest.approx(9.0)
    assert detour["route_km"] > direct["route_km"] + 1.0
    assert detour["straight_km"] == direct["straight_km"]
    assert detour["line_cost_musd"] > direct["line_cost_musd"]
    res = grid.resolution_m
    for x, y in detour["geometry"].coords:
        r, c = int((grid.transform.f - y) // res), int((x - grid.transform.c) // res)
        assert not barriers[r, c]


def test_unreachable_substation_is_reported_not_chosen() -> None:
    grid = grid_km(10, 10)
    barriers = np.zeros(grid.shape, dtype=bool)
    barriers[0:3, 0:3] = True
    barriers[1, 1] = False  # "ISLAND" sits inside a closed ring of barriers
    out = route_site(
        np.full(grid.shape, 0.5),
        grid,
        (6, 6),
        subs(("ISLAND", 1, 1, 154.0), ("OPEN", 9, 9, 154.0)),
        costs=hand_costs(),
        campus_mw=100.0,
        site_kv=154.0,
        barriers=barriers,
    )
    assert list(out["bus_id"]) == ["OPEN", "ISLAND"]  # unreachable last
    island = out.iloc[1]
    assert not island["reachable"] and not island["chosen"]
    assert math.isnan(island["interconnect_cost_musd"]) and island["geometry"] is None
    assert island["straight_km"] == pytest.approx(5 * SQRT2)
    assert bool(out.iloc[0]["chosen"])
    # with only unreachable substations, nothing is chosen
    alone = route_site(
        np.full(grid.shape, 0.5),
        grid,
        (6, 6),
        subs(("ISLAND", 1, 1, 154.0)),
        costs=hand_costs(),
        campus_mw=100.0,
        site_kv=154.0,
        barriers=barriers,
    )
    assert len(alone) == 1 and not alone["chosen"].any()


def test_window_limits_the_search() -> None:
    grid = grid_km(40, 40)
    barriers = np.zeros(grid.shape, dtype=bool)
    barriers[20, :35] = True  # passing needs a detour to cols 35..39
    table = subs(("S", 25, 5, 154.0))
    kwargs: dict[str, Any] = {
        "costs": hand_costs(),
        "campus_mw": 100.0,
        "site_kv": 154.0,
        "barriers": barriers,
    }
    wide = route_site(np.ones(grid.shape), grid, (15, 5), table, window_m=None, **kwargs)
    narrow = route_site(np.ones(grid.shape), grid, (15, 5), table, window_m=5_000.0, **kwargs)
    assert bool(wide.iloc[0]["reachable"]) and not bool(narrow.iloc[0]["reachable"])


def test_feasibility_filter_and_k() -> None:
    grid = grid_km(10, 10)
    table = subs(
        ("LOW", 0, 1, 66.0),  # below the line's voltage: cannot take it
        ("OUT", -3, 0, 154.0),  # outside the grid
        ("A", 0, 3, 154.0),
        ("B", 0, 5, 345.0),
        ("C", 0, 7, 154.0),
    )
    out = route_site(
        np.ones(grid.shape),
        grid,
        (0, 0),
        table,
        costs=hand_costs(),
        campus_mw=100.0,
        site_kv=154.0,
        k=2,
    )
    assert set(out["bus_id"]) == {"A", "B"}
    none = route_site(
        np.ones(grid.shape),
        grid,
        (0, 0),
        table.iloc[:2],
        costs=hand_costs(),
        campus_mw=100.0,
        site_kv=154.0,
    )
    assert none.empty and list(none.columns) == [*ROUTE_COLUMNS, "geometry"]


def test_site_on_the_substation_cell() -> None:
    grid = grid_km(5, 5)
    out = route_site(
        np.ones(grid.shape),
        grid,
        (2, 2),
        subs(("HERE", 2, 2, 154.0)),
        costs=hand_costs(),
        campus_mw=100.0,
        site_kv=154.0,
    )
    row = out.iloc[0]
    assert row["route_km"] == 0.0 and row["line_cost_musd"] == 0.0
    assert row["interconnect_cost_musd"] == 2.0  # the substation upgrade alone
    assert row["geometry"].length == 0.0


def test_missing_substation_columns() -> None:
    grid = grid_km(5, 5)
    with pytest.raises(PowerGridError, match="lacks column"):
        route_site(
            np.ones(grid.shape),
            grid,
            (0, 0),
            pd.DataFrame({"bus_id": ["a"], "row": [1], "col": [1]}),
            costs=hand_costs(),
            campus_mw=100.0,
            site_kv=154.0,
        )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(3, 20), st.integers(3, 20)),
    data=st.data(),
)
def test_route_never_shorter_than_straight_line(
    seed: int, shape: tuple[int, int], data: st.DataObject
) -> None:
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0.05, 5.0, size=shape)
    grid = grid_km(*shape, resolution_m=250.0)
    rows, cols = shape
    site = (data.draw(st.integers(0, rows - 1)), data.draw(st.integers(0, cols - 1)))
    n = data.draw(st.integers(1, 4))
    table = subs(
        *(
            (f"S{i}", int(rng.integers(rows)), int(rng.integers(cols)), 154.0 + 191.0 * (i % 2))
            for i in range(n)
        )
    )
    out = route_site(
        cost, grid, site, table, costs=hand_costs(), campus_mw=500.0, site_kv=154.0, k=4
    )
    assert out["reachable"].all() and out["chosen"].sum() == 1
    assert (out["route_km"] >= out["straight_km"] - 1e-9).all()
    total = out["line_cost_musd"] + out["substation_cost_musd"] + out["transformer_cost_musd"]
    np.testing.assert_allclose(out["interconnect_cost_musd"], total)
    assert out["interconnect_cost_musd"].is_monotonic_increasing
