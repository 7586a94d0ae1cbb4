"""The docs describe every key the study-file models accept."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

from gridsite import config

from .conftest import REPO

SECTIONS = {
    "study": config.StudySection,
    "campus": config.CampusSection,
    "criteria": config.CriterionModel,
    "transform": config.TransformModel,
    "constraints": config.ConstraintModel,
    "sites": config.SitesSection,
    "powergrid": config.PowerGridSection,
    "ranking": config.RankingSection,
    "electrical": config.ElectricalSection,
    "interconnect": config.InterconnectSection,
    "supply": config.SupplySection,
    "supply_exclusions": config.SupplyExclusionModel,
    "ranking_terms": config.RankTermModel,
    "weights": config.WeightsSection,
    "aggregation": config.AggregationSection,
    "sensitivity": config.SensitivitySection,
    "outputs": config.OutputsSection,
    "catalog": config.LayerModel,
}


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_key_is_documented(section: str) -> None:
    text = (REPO / "docs" / "study-file.md").read_text(encoding="utf-8")
    model: type[BaseModel] = SECTIONS[section]
    documented = set(re.findall(r"`([a-z_0-9]+)`", text))
    missing = [k for k in model.model_fields if k not in documented]
    assert not missing, f"docs/study-file.md does not describe {section} keys {missing}"


def test_top_level_sections_are_documented() -> None:
    text = (REPO / "docs" / "study-file.md").read_text(encoding="utf-8")
    for key in config.StudyFile.model_fields:
        assert f"[{key}]" in text or f"[[{key}]]" in text, key


def test_cli_doc_is_current() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_cli_md", REPO / "docs" / "make_cli_md.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    current = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == mod.render(), "docs/cli.md is stale: run .venv/bin/python docs/make_cli_md.py"
