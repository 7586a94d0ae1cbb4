"""Shared fixtures: where the data pack and the reference outputs are, and small study files."""

from __future__ import annotations

from pathlib import Path

import pytest

from .browser import browser_fixture  # noqa: F401 (the `browser` fixture, for every test module)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
REFERENCE = SHARED / "reference"
KOREA_STUDY = REPO / "studies" / "korea.toml"


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (DATA / "korea").is_dir():
        pytest.fail(f"the data pack is missing at {DATA}; the tests need ../shared beside the repo")
    return DATA
