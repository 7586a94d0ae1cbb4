"""The study without its optional sections: straight-line connection, with and without DC flow."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

import gridsite
from gridsite.spec import RankingSpec

from .conftest import KOREA_STUDY

pytestmark = pytest.mark.integration


def _study(data_root: Path, *, electrical: bool) -> gridsite.Study:
    s = gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=4000).with_top(8)
    spec = replace(s.spec, interconnect=None, ranking=RankingSpec())
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
