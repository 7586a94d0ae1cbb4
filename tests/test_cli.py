from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import KOREA_STUDY

GRIDSITE = [sys.executable, "-m", "gridsite.cli"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GRIDSITE, *args], capture_output=True, text=True, env=env, check=False)


@pytest.mark.integration
def test_run_writes_outputs_and_prints_table(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _run(
        "run", str(KOREA_STUDY), "--out", str(out), "--resolution", "4000", "--top", "5", "-q"
    )
    assert proc.returncode == 0, proc.stderr
    gj = json.loads((out / "sites.geojson").read_text(encoding="utf-8"))
    assert [f["properties"]["rank"] for f in gj["features"]] == [1, 2, 3, 4, 5]
    before = (out / "sites.geojson").read_bytes()
    proc = _run("run", str(KOREA_STUDY), "--out", str(out), "--resolution", "4000", "--top", "3")
    assert proc.returncode == 1
    assert "outputs exist already" in proc.stderr and "--overwrite" in proc.stderr
    assert (out / "sites.geojson").read_bytes() == before
    proc = _run(
        "run",
        str(KOREA_STUDY),
        "--out",
        str(out),
        "--resolution",
        "4000",
        "--top",
        "3",
        "--overwrite",
    )
    assert proc.returncode == 0, proc.stderr
    assert "site_id" in proc.stdout and "sites.geojson" in proc.stdout
    gj = json.loads((out / "sites.geojson").read_text(encoding="utf-8"))
    assert len(gj["features"]) == 3


def test_validate_ok() -> None:
    proc = _run("validate", str(KOREA_STUDY))
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout


def test_validate_lists_problems_and_exits_1(tmp_path: Path) -> None:
    text = KOREA_STUDY.read_text(encoding="utf-8").replace("weight = 0.20", "wieght = 0.20", 1)
    bad = KOREA_STUDY.parent / f".test-bad-{tmp_path.name}.toml"
    bad.write_text(text, encoding="utf-8")
    try:
        proc = _run("validate", str(bad))
    finally:
        bad.unlink()
    assert proc.returncode == 1
    assert "criteria[0].wieght: unknown key" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_validate_reports_missing_input_files(tmp_path: Path) -> None:
    (tmp_path / "korea").mkdir()
    proc = _run("validate", str(KOREA_STUDY), "--data", str(tmp_path))
    assert proc.returncode == 1
    assert "country_outline" in proc.stderr and "not found" in proc.stderr


def test_run_on_missing_study_is_clear(tmp_path: Path) -> None:
    proc = _run("run", str(tmp_path / "nope.toml"))
    assert proc.returncode == 1
    assert "file not found" in proc.stderr and "Traceback" not in proc.stderr


def test_import_gridsite_pulls_in_neither_folium_nor_click() -> None:
    code = (
        "import sys, gridsite; "
        "print(sorted(m for m in ('folium', 'click', 'branca') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
    # Using the Study loads the compute stack, still without folium (rasterio itself uses click)
    code = "import sys, gridsite; gridsite.Study; print('folium' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"


@pytest.mark.integration
def test_grid_command_writes_qa_and_hosting(tmp_path: Path) -> None:
    out = tmp_path / "grid"
    proc = _run("grid", str(KOREA_STUDY), "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    qa = (out / "grid_qa.csv").read_text(encoding="utf-8").splitlines()
    assert qa[0] == "issue,element,voltage_kv,lon,lat,detail,mw,n_buses"
    issues = {line.split(",")[0] for line in qa[1:]}
    assert "island" in issues  # the OSM grid has 5 small islands besides the main one
    hc = (out / "hosting_capacity.csv").read_text(encoding="utf-8").splitlines()
    assert len(hc) > 600 and "hosting_capacity_mw" in hc[0]
    gj = json.loads((out / "hosting_capacity.geojson").read_text(encoding="utf-8"))
    assert len(gj["features"]) == len(hc) - 1


@pytest.mark.integration
def test_sensitivity_command(tmp_path: Path) -> None:
    out = tmp_path / "sens"
    args = [
        "sensitivity",
        str(KOREA_STUDY),
        "--out",
        str(out),
        "--resolution",
        "4000",
        "--draws",
        "200",
        "--seed",
        "3",
        "-q",
    ]
    proc = _run(*args)
    assert proc.returncode == 0, proc.stderr
    mc = (out / "sensitivity.csv").read_text(encoding="utf-8").splitlines()
    assert mc[0].split(",")[:3] == ["rank", "site_id", "score"] and "p_top10" in mc[0]
    oat = (out / "sensitivity_oat.csv").read_text(encoding="utf-8").splitlines()
    assert oat[0].startswith("criterion,site_id,base_weight,base_rank,weight_below")
    again = _run(*args)
    assert again.returncode == 1 and "outputs exist already" in again.stderr
