"""Runs are reproducible: ``gridsite rerun`` rebuilds a study from its manifest, checks the inputs,
and writes byte-identical outputs; a changed or missing input is refused before any work."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import rasterio

from gridsite.config import load_study
from gridsite.errors import ConfigError
from gridsite.report.atomic import is_temporary_name
from gridsite.study.result import RUN_OUTPUTS, output_names
from gridsite.study.specjson import spec_from_json, spec_to_json

from .conftest import DATA, KOREA_STUDY

GRIDSITE = [sys.executable, "-m", "gridsite.cli"]


def gridsite(*args: str, hash_seed: str = "0") -> subprocess.CompletedProcess[str]:
    # Different hash seeds in different runs: set and dict-of-str orders must not leak out.
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run([*GRIDSITE, *args], capture_output=True, text=True, env=env, check=False)


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def mirror_data(dest: Path) -> Path:
    """A data root whose files are symbolic links to the data pack's (cheap to alter one)."""
    for path in DATA.rglob("*"):
        target = dest / path.relative_to(DATA)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    return dest


# --- the study <-> manifest config round trip ---------------------------------------------------


def test_the_manifest_config_rebuilds_the_same_study() -> None:
    spec = load_study(KOREA_STUDY, resolution_m=2500, chunk_px=512)
    c = spec.criteria[0]
    odd = replace(c.transform, below_threshold_score=math.nan, upper_threshold=math.inf)
    spec = replace(spec, criteria=(replace(c, transform=odd), *spec.criteria[1:]))
    text = json.dumps(spec_to_json(spec), allow_nan=False)  # what the manifest holds
    back = spec_from_json(json.loads(text), source="manifest.json")
    assert repr(back) == repr(spec)  # repr: NaN != NaN for ==
    assert back.criteria[0].transform.below_threshold_score is not None
    assert math.isnan(back.criteria[0].transform.below_threshold_score)
    assert back.sites == spec.sites and back.layers == spec.layers
    assert isinstance(back.source, Path) and isinstance(
        back.powergrid.rating_mva_per_circuit, tuple
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["sites"].update(count="20"), r"config\.sites\.count: '20' is not a valid int"),
        (lambda c: c["campus"].update(campus_kw=1), r"config\.campus: unknown key\(s\) campus_kw"),
        (lambda c: c.pop("crs"), r"config\.crs: required key is missing"),
        (lambda c: c["criteria"][1].update(measure="guess"), r"config\.criteria\[1\]\.measure"),
    ],
)
def test_a_bad_manifest_config_names_the_key(edit: object, message: str) -> None:
    config = json.loads(json.dumps(spec_to_json(load_study(KOREA_STUDY))))
    edit(config)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=rf"^m\.json: {message}"):
        spec_from_json(config, source="m.json")


def test_every_output_name_is_one_a_rewrite_replaces() -> None:
    assert set(output_names(load_study(KOREA_STUDY))) <= set(RUN_OUTPUTS)


# --- a real run and its reruns ------------------------------------------------------------------


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full Korea study at 4 km, top 5: every stage, every kind of output."""
    out = tmp_path_factory.mktemp("first") / "korea"
    args = ["--resolution", "4000", "--top", "5", "--map-assets", "cdn", "-q"]
    proc = gridsite("run", str(KOREA_STUDY), "--out", str(out), *args, hash_seed="1")
    assert proc.returncode == 0, proc.stderr
    return out


def assert_same_raster(a: Path, b: Path) -> None:
    with rasterio.open(a) as ra, rasterio.open(b) as rb:
        assert ra.crs == rb.crs and ra.transform == rb.transform and ra.nodata == rb.nodata
        assert ra.shape == rb.shape and ra.dtypes == rb.dtypes
        assert np.array_equal(ra.read(1), rb.read(1), equal_nan=True)


@pytest.mark.integration
def test_rerun_from_another_data_root_gives_byte_identical_outputs(
    first: Path, tmp_path: Path
) -> None:
    data = mirror_data(tmp_path / "data")
    out = tmp_path / "second"
    proc = gridsite("rerun", str(first / "manifest.json"), "--data", str(data), "--out", str(out),
                    hash_seed="2")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    old, new = files(first), files(out)
    assert sorted(old) == sorted(new)
    kinds = {Path(n).suffix for n in old}
    assert {".geojson", ".csv", ".tif", ".svg"} <= kinds
    for name in old:
        if name.endswith((".geojson", ".csv", ".svg", ".html")):
            assert new[name] == old[name], name
    assert_same_raster(first / "suitability.tif", out / "suitability.tif")
    assert new["suitability.tif"] == old["suitability.tif"]  # GDAL writes it deterministically
    # The manifests agree on everything but the time stamp and timings.
    m_old, m_new = (json.loads(f["manifest.json"]) for f in (old, new))
    assert m_new["config"] == {**m_old["config"], "data_root": str(data.resolve())}
    assert [(i["name"], i["sha256"]) for i in m_new["inputs"]] == [
        (i["name"], i["sha256"]) for i in m_old["inputs"]
    ]
    recorded = {o["path"]: o["sha256"] for o in m_old["outputs"]}
    assert {o["path"]: o["sha256"] for o in m_new["outputs"]} == recorded
    assert m_new["stats"] == m_old["stats"]
    assert f"{len(old) - 1} identical to the manifest's" in proc.stdout  # all but the manifest


@pytest.mark.integration
def test_rerun_into_its_own_folder_needs_overwrite(first: Path) -> None:
    before = files(first)
    proc = gridsite("rerun", str(first / "manifest.json"))
    assert proc.returncode == 1
    assert "outputs exist already" in proc.stderr and "--overwrite" in proc.stderr
    assert files(first) == before


@pytest.mark.integration
def test_rerun_refuses_changed_and_missing_inputs_before_any_work(
    first: Path, tmp_path: Path
) -> None:
    data = mirror_data(tmp_path / "data")
    inputs = {i["name"]: i for i in json.loads((first / "manifest.json").read_bytes())["inputs"]}
    changed = data / Path(inputs["cities"]["path"]).relative_to(DATA.resolve())
    text = changed.read_text(encoding="utf-8")
    changed.unlink()
    changed.write_text(text.replace("Seoul", "Seul", 1), encoding="utf-8")
    missing = data / Path(inputs["osm_lines"]["path"]).relative_to(DATA.resolve())
    missing.unlink()
    out = tmp_path / "out"
    proc = gridsite("rerun", str(first / "manifest.json"), "--data", str(data), "--out", str(out))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "2 input(s) differ" in proc.stderr
    assert f"cities: {changed} has changed" in proc.stderr
    assert f"osm_lines: {missing} is missing" in proc.stderr
    assert "--data" in proc.stderr and "gridsite run" in proc.stderr  # what to do
    assert "study grid" not in proc.stderr  # refused before the first stage (logged at INFO)
    assert not out.exists()
    assert not any(is_temporary_name(p.name) for p in tmp_path.iterdir())


def test_rerun_of_something_else_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.json"
    bad.write_text('{"schema": "other/1"}', encoding="utf-8")
    proc = gridsite("rerun", str(bad))
    assert proc.returncode == 1 and "not a gridsite run manifest" in proc.stderr
    proc = gridsite("rerun", str(tmp_path / "missing.json"))
    assert proc.returncode == 1 and "file not found" in proc.stderr
    bad.write_text("{not json", encoding="utf-8")
    proc = gridsite("rerun", str(bad))
    assert proc.returncode == 1 and "not valid JSON" in proc.stderr
