"""Tests for gridsite.energy.profiles: hand cases, brute-force loops and the real KPG 193 tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridsite.energy.profiles import campus_load, site_profiles
from gridsite.errors import ConfigError, GridsiteError, LayerError

SHARED = Path(__file__).resolve().parents[2] / "shared"
KPG = SHARED / "data" / "korea" / "grid" / "kpg193"


@pytest.fixture
def buses() -> tuple[np.ndarray, list[int], pd.DataFrame]:
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 100_000, size=(12, 2))
    ids = [10 + 3 * i for i in range(12)]
    hours = 48
    table = pd.DataFrame(rng.random((hours, 12)), columns=[str(i) for i in ids])
    table.insert(0, "hour_of_year", np.arange(1, hours + 1))
    return xy, ids, table


def test_nearest_is_the_nearest_bus_column(
    buses: tuple[np.ndarray, list[int], pd.DataFrame],
) -> None:
    xy, ids, table = buses
    sites = np.array([[5_000.0, 90_000.0], [50_000.0, 50_000.0], [99_000.0, 1_000.0]])
    got = site_profiles(xy, table, ids, sites, method="nearest")
    assert got.shape == (48, 3)
    for j, (sx, sy) in enumerate(sites):
        dists = [math.hypot(bx - sx, by - sy) for bx, by in xy]
        nearest_id = ids[int(np.argmin(dists))]
        np.testing.assert_array_equal(got[:, j], table[str(nearest_id)].to_numpy())


def test_idw_on_a_bus_returns_its_column(buses: tuple[np.ndarray, list[int], pd.DataFrame]) -> None:
    xy, ids, table = buses
    got = site_profiles(xy, table, ids, xy[[3, 8]], method="idw", k=4)
    np.testing.assert_array_equal(got[:, 0], table[str(ids[3])].to_numpy())
    np.testing.assert_array_equal(got[:, 1], table[str(ids[8])].to_numpy())


@pytest.mark.parametrize(("k", "power"), [(4, 2.0), (3, 1.0), (12, 2.0), (30, 3.0)])
def test_idw_matches_brute_force(
    buses: tuple[np.ndarray, list[int], pd.DataFrame], k: int, power: float
) -> None:
    xy, ids, table = buses
    sites = np.array([[12_345.0, 67_890.0], [70_000.0, 20_000.0]])
    got = site_profiles(xy, table, ids, sites, method="idw", k=k, power=power)
    for j, (sx, sy) in enumerate(sites):
        dists = sorted((math.hypot(bx - sx, by - sy), b) for b, (bx, by) in enumerate(xy))
        chosen = dists[: min(k, len(ids))]
        for h in range(len(table)):
            num = sum(table[str(ids[b])].iloc[h] / d**power for d, b in chosen)
            den = sum(1.0 / d**power for d, _ in chosen)
            assert got[h, j] == pytest.approx(num / den, rel=1e-12)


def test_integer_columns_and_string_ids_match(
    buses: tuple[np.ndarray, list[int], pd.DataFrame],
) -> None:
    xy, ids, table = buses
    int_table = table.rename(columns={str(i): i for i in ids})
    sites = np.array([[40_000.0, 40_000.0]])
    a = site_profiles(xy, table, ids, sites, method="idw")
    b = site_profiles(xy, int_table, [str(i) for i in ids], sites, method="idw")
    np.testing.assert_array_equal(a, b)


def test_missing_bus_ids_raise_layer_error(
    buses: tuple[np.ndarray, list[int], pd.DataFrame],
) -> None:
    xy, ids, table = buses
    with pytest.raises(LayerError, match="999"):
        site_profiles(xy, table.drop(columns=[str(ids[0])]), [999, *ids[1:]], xy[:1])
    with pytest.raises(GridsiteError):
        site_profiles(xy, table.drop(columns=[str(ids[5])]), ids, xy[:1])


def test_bad_method_and_k(buses: tuple[np.ndarray, list[int], pd.DataFrame]) -> None:
    xy, ids, table = buses
    with pytest.raises(ConfigError):
        site_profiles(xy, table, ids, xy[:1], method="linear")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        site_profiles(xy, table, ids, xy[:1], method="idw", k=0)


@pytest.fixture(scope="module")
def kpg193() -> tuple[np.ndarray, list[int], pd.DataFrame, pd.DataFrame]:
    pyproj = pytest.importorskip("pyproj")
    pv_path = KPG / "kpg193_v2_0_hourly_pv_capacity_factor_2025.csv.gz"
    bus_path = KPG / "kpg193_v2_0_buses.csv"
    if not (pv_path.exists() and bus_path.exists()):
        pytest.skip(f"KPG 193 data pack not found under {KPG}")
    table = pd.read_csv(pv_path, compression="gzip")
    bus_table = pd.read_csv(bus_path)
    to_5179 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:5179", always_xy=True)
    x, y = to_5179.transform(bus_table["lon"].to_numpy(), bus_table["lat"].to_numpy())
    annual = pd.read_csv(KPG / "derived_kpg193_v2_0_bus_re_capacity_factor_2025.csv")
    return np.column_stack([x, y]), bus_table["bus_i"].tolist(), table, annual


def test_kpg193_site_on_bus_1_gets_bus_1_column(
    kpg193: tuple[np.ndarray, list[int], pd.DataFrame, pd.DataFrame],
) -> None:
    xy, ids, table, _ = kpg193
    assert len(table) == 8760
    bus1 = xy[ids.index(1)]
    for method in ("nearest", "idw"):
        got = site_profiles(xy, table, ids, bus1[None, :], method=method)  # type: ignore[arg-type]
        np.testing.assert_array_equal(got[:, 0], table["1"].to_numpy(dtype=float))
    mean_cf = site_profiles(xy, table, ids, xy, method="nearest").mean(axis=0)
    assert mean_cf.min() >= 0.16 and mean_cf.max() <= 0.21


def test_kpg193_annual_cf_matches_data_pack(
    kpg193: tuple[np.ndarray, list[int], pd.DataFrame, pd.DataFrame],
) -> None:
    xy, ids, table, annual = kpg193
    got = site_profiles(xy, table, ids, xy, method="nearest").mean(axis=0)
    expected = annual.set_index("bus_id").loc[ids, "pv_cf_mean"].to_numpy()
    # The hourly tables are rounded to 4 decimals; the annual means were taken before rounding.
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_campus_load_flat() -> None:
    load = campus_load(8760, campus_mw=500.0, utilisation=0.8)
    assert load.shape == (8760,)
    assert load.mean() == pytest.approx(400.0)
    assert load.min() == load.max()


def test_campus_load_profile_is_scaled_to_the_mean() -> None:
    shape = np.tile(np.r_[np.full(12, 0.9), np.full(12, 1.1)], 365)
    load = campus_load(8760, campus_mw=500.0, utilisation=0.8, profile=shape)
    assert load.shape == (8760,)
    assert load.mean() == pytest.approx(400.0, rel=1e-12)
    assert load[0] == pytest.approx(400.0 * 0.9)
    assert load[12] == pytest.approx(400.0 * 1.1)


@pytest.mark.parametrize(
    "profile",
    [np.ones(10), -np.ones(24), np.zeros(24), np.r_[np.ones(23), np.nan]],
)
def test_campus_load_rejects_bad_profiles(profile: np.ndarray) -> None:
    with pytest.raises(ConfigError):
        campus_load(24, campus_mw=100.0, profile=profile)


@pytest.mark.parametrize(
    "kwargs", [{"hours": 0}, {"campus_mw": -1.0}, {"utilisation": 0.0}, {"utilisation": 1.5}]
)
def test_campus_load_rejects_bad_numbers(kwargs: dict) -> None:
    args = {"hours": 24, "campus_mw": 100.0, **kwargs}
    with pytest.raises(ConfigError):
        campus_load(args.pop("hours"), **args)
