"""The study without its optional sections: straight-line connection, with and without DC flow."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gridsite
from gridsite.spec import AggregationSpec, RankingSpec, SensitivitySpec, WeightsSpec

from .conftest import KOREA_STUDY

pytestmark = pytest.mark.integration


def _study(data_root: Path, *, electrical: bool) -> gridsite.Study:
    s = gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=4000).with_top(8)
    spec = replace(s.spec, interconnect=None, supply=None, ranking=RankingSpec())
    if not electrical:
        spec = replace(spec, electrical=None)
    return gridsite.Study(spec)


def test_without_interconnect_or_electrical_sites_join_the_nearest_bus(data_root: Path) -> None:
    result = _study(data_root, electrical=False).run()
    sites = result.sites
    assert result.hosting is None and result.routes is None
    assert "hosting_capacity_mw" not in sites.columns
    g = result.grid_graph
    for _, site in sites.iterrows():
        bus = g.nodes[str(site["substation_id"])]
        d = math.hypot(site["x_m"] - bus["x_m"], site["y_m"] - bus["y_m"]) / 1000
        assert site["interconnect_km"] == pytest.approx(d)
    assert sites["score"].between(0, 1).all()
    assert {"score_interconnect", "score_capacity"} <= set(sites.columns)


def test_electrical_without_routing_still_competes_for_headroom(data_root: Path) -> None:
    result = _study(data_root, electrical=True).run()
    sites = result.sites
    hc = result.hosting.set_index("bus_id")["hosting_capacity_mw"]
    assert sites["hosting_capacity_mw"].tolist() == [hc.get(b) for b in sites["substation_id"]]
    for bus, group in sites[sites["supplied"] == True].groupby("substation_id"):  # noqa: E712
        assert 500 * len(group) <= hc.loc[bus] + 1e-6


def _fast(data_root: Path, **changes: object) -> gridsite.Study:
    s = _study(data_root, electrical=False)
    return gridsite.Study(replace(s.spec, **changes))


def test_ahp_weights_from_a_consistent_csv_matrix(data_root: Path, tmp_path: Path) -> None:
    spec = _study(data_root, electrical=False).spec
    names = [c.name for c in spec.criteria]
    w = np.array([8, 7, 6, 5, 4, 3, 2, 1], dtype=float)[: len(names)]
    w = w / w.sum()
    matrix = pd.DataFrame(w[:, None] / w[None, :], index=names, columns=names)
    path = tmp_path / "ahp.csv"
    matrix.to_csv(path)
    study = gridsite.Study(replace(spec, weights=WeightsSpec(method="ahp", ahp_matrix=path)))
    result = study.run()
    got = result.stats["criterion_weights"]
    # a consistent matrix a_ij = w_i / w_j has the principal eigenvector w
    assert [got[n] for n in names] == pytest.approx(w.tolist(), abs=1e-9)


def test_rank_order_centroid_weights(data_root: Path) -> None:
    spec = _study(data_root, electrical=False).spec
    names = [c.name for c in spec.criteria]
    n = len(names)
    ranks = tuple((name, i + 1) for i, name in enumerate(names))
    result = gridsite.Study(replace(spec, weights=WeightsSpec(method="roc", ranks=ranks))).run()
    got = result.stats["criterion_weights"]
    roc = [sum(1 / k for k in range(i, n + 1)) / n for i in range(1, n + 1)]  # Barron & Barrett
    assert [got[nm] for nm in names] == pytest.approx(roc)


def test_owa_with_risk_attitude_one_equals_wlc(data_root: Path) -> None:
    wlc = _fast(data_root).run().suitability.array
    owa = _fast(data_root, aggregation=AggregationSpec(method="owa", risk_attitude=1.0))
    got = owa.run().suitability.array
    assert np.allclose(got, wlc, equal_nan=True, atol=1e-5)


def test_forced_and_partial_constraints(data_root: Path) -> None:
    spec = _study(data_root, electrical=False).spec
    base = gridsite.Study(spec).run()
    urban_only = [k for k in spec.constraints if k.name == "urban"]
    others = [k for k in spec.constraints if k.name != "urban"]
    forced = replace(urban_only[0], mode="force")
    res = gridsite.Study(replace(spec, constraints=(*others, forced))).run()
    urban = res.stats["excluded_km2"]["urban"] > 0
    assert urban
    # forcing a layer can only reopen cells: nowhere is the score lower than with it excluded
    a, b = base.suitability.array, res.suitability.array
    both = np.isfinite(a) & np.isfinite(b)
    assert (b[both] >= a[both] - 1e-6).all() and (b[both] > a[both] + 1e-6).any()
    half = replace(urban_only[0], mode="partial", factor=0.5)
    res2 = gridsite.Study(replace(spec, constraints=(*others, half))).run()
    c = res2.suitability.array
    # cells that forcing reopened and no other constraint excludes score half under 'partial'
    # (forcing also overrides the other constraints; a partial penalty does not)
    reopened = both & (a == 0) & (b > 0) & (c > 0)
    assert reopened.sum() > 100
    assert np.allclose(c[reopened], 0.5 * b[reopened], atol=1e-6)


def test_regions_sites_respect_area_bounds(data_root: Path) -> None:
    spec = _study(data_root, electrical=False).spec
    sites_spec = replace(spec.sites, method="regions", max_area_ha=4000.0)
    study = gridsite.Study(
        replace(spec, campus=replace(spec.campus, campus_area_ha=1600.0), sites=sites_spec)
    )
    sites = study.run().sites
    assert len(sites) > 0
    assert sites["area_ha"].between(1600.0 - 1e-6, 4000.0 + 1e-6).all()
    assert sites.geometry.is_valid.all()
    assert (sites.geometry.area / 1e4).to_numpy() == pytest.approx(sites["area_ha"].to_numpy())


def test_contributions_and_rank_spread(data_root: Path) -> None:
    study = _fast(data_root, sensitivity=SensitivitySpec(draws=300, seed=7))
    a = study.run().sites
    contrib = a[[c for c in a.columns if c.startswith("contribution_")]]
    assert contrib.sum(axis=1).to_numpy() == pytest.approx(a["score"].to_numpy(), abs=1e-6)
    assert (a["rank_p05"] <= a["rank_p50"]).all() and (a["rank_p50"] <= a["rank_p95"]).all()
    assert a["p_top10"].between(0, 1).all()
    b = study.run().sites
    assert a["p_top10"].tolist() == b["p_top10"].tolist()  # same seed, same draws


def test_supply_profiles_must_match_the_bus_field(data_root: Path) -> None:
    s = gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=4000).with_top(3)
    assert s.spec.supply is not None
    bad = replace(s.spec.supply, profile_bus_id_field="name_English")
    spec = replace(s.spec, electrical=None, interconnect=None, ranking=RankingSpec(), supply=bad)
    with pytest.raises(gridsite.LayerError, match="supply profile layer 'kpg193_pv_cf'"):
        gridsite.Study(spec).run()
