from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridsite.config import load_study
from gridsite.errors import ConfigError, DataRootError

from .conftest import DATA, KOREA_STUDY

CATALOG = KOREA_STUDY.parent.parent / "layers" / "korea.toml"


def _write_study(tmp_path: Path, text: str) -> Path:
    body = KOREA_STUDY.read_text(encoding="utf-8")
    body = body.replace('catalog = "../layers/korea.toml"', f'catalog = "{CATALOG.as_posix()}"')
    body = body.replace('data_root = "../../shared/data"', f'data_root = "{DATA.as_posix()}"')
    path = tmp_path / "study.toml"
    path.write_text(text(body) if callable(text) else body + text, encoding="utf-8")
    return path


def test_korea_study_loads_with_its_defaults(data_root: Path) -> None:
    spec = load_study(KOREA_STUDY, environ={})
    assert spec.crs == "EPSG:5179"
    assert spec.resolution_m == 500
    assert spec.campus.campus_mw == 500
    assert spec.data_root == data_root.resolve()
    assert abs(sum(c.weight for c in spec.criteria) - 1.0) < 1e-9
    assert {c.layer for c in spec.criteria} <= set(spec.layers)


def test_misspelt_key_names_dotted_location_and_file(tmp_path: Path) -> None:
    path = _write_study(
        tmp_path,
        lambda b: b.replace(
            'transform = { kind = "linear", low = 30', 'transfrom = { kind = "linear", low = 30', 1
        ),
    )
    with pytest.raises(ConfigError) as info:
        load_study(path, environ={})
    msg = str(info.value)
    assert str(path) in msg
    assert "criteria[0].transfrom: unknown key" in msg
    assert "criteria[0].transform: required key is missing" in msg


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    path = _write_study(
        tmp_path,
        lambda b: b.replace("campus_mw = 500", "campus_mw = -5").replace("count = 20", "count = 0"),
    )
    with pytest.raises(ConfigError) as info:
        load_study(path, environ={})
    assert "2 problem(s)" in str(info.value)
    assert "campus.campus_mw" in str(info.value)
    assert "sites.count" in str(info.value)


def test_unknown_layer_lists_catalog(tmp_path: Path) -> None:
    path = _write_study(tmp_path, lambda b: b.replace('layer = "shoreline"', 'layer = "coast"'))
    with pytest.raises(
        ConfigError, match=r"criteria\[2\]\.layer: unknown layer 'coast'.*shoreline"
    ):
        load_study(path, environ={})


def test_bad_transform_parameters_are_config_errors(tmp_path: Path) -> None:
    path = _write_study(tmp_path, lambda b: b.replace("low = 30, high = 0", "low = 30, high = 30"))
    with pytest.raises(ConfigError, match=re.escape("criteria[0].transform")):
        load_study(path, environ={})


def test_data_root_precedence(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert (
        load_study(KOREA_STUDY, data_root=other, environ={"GRIDSITE_DATA": "/nope"}).data_root
        == other
    )
    assert load_study(KOREA_STUDY, environ={"GRIDSITE_DATA": str(other)}).data_root == other
    assert load_study(KOREA_STUDY, environ={}).data_root == DATA.resolve()


def test_missing_data_root_is_clear(tmp_path: Path) -> None:
    with pytest.raises(DataRootError, match=r"nope.*GRIDSITE_DATA variable"):
        load_study(KOREA_STUDY, environ={"GRIDSITE_DATA": str(tmp_path / "nope")})


def test_resolution_override() -> None:
    assert load_study(KOREA_STUDY, resolution_m=2000, environ={}).resolution_m == 2000
    with pytest.raises(ConfigError, match="resolution"):
        load_study(KOREA_STUDY, resolution_m=-1, environ={})


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_study(tmp_path / "absent.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[study\nname = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_study(bad, environ={})


def test_supply_section_resolves(data_root: Path) -> None:
    spec = load_study(KOREA_STUDY, environ={})
    su = spec.supply
    assert su is not None
    assert su.cfe_target == 0.8
    assert set(su.land_exclusions) <= {k.name for k in spec.constraints}
    assert [k.name for k in su.exclusions] == ["lakes", "settlements"]
    assert su.exclusions[1].buffer_km == 1


def test_supply_problems_name_their_keys(tmp_path: Path) -> None:
    path = _write_study(
        tmp_path,
        lambda b: (
            b.replace('sea_exclusions = ["dmz_and_north"]', 'sea_exclusions = ["dmz"]')
            .replace("soc_min = 0.1", "soc_min = 0.95")
            .replace(
                'cost_source = "', 'costs = { pv_capex = 700, discount_rate = -2 }\ncost_source = "'
            )
        ),
    )
    with pytest.raises(ConfigError) as info:
        load_study(path, environ={})
    msg = str(info.value)
    assert "supply.sea_exclusions: 'dmz' is not a constraint name" in msg
    assert "supply.soc_min (0.95) must be below supply.soc_max (0.9)" in msg
    assert "supply.costs.pv_capex: unknown cost" in msg
    assert "discount_rate must be > -1" in msg
