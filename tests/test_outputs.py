"""Outputs are never lost or half-written, and concurrent runs do not interfere.

The unit tests drive :func:`gridsite.report.atomic.staged_folder` on small folders; the process
tests start ``gridsite run`` on a reduced Korea study, kill it (SIGKILL, SIGINT) while it writes
over a previous run's outputs, and check those are left byte for byte; the concurrency tests run
two studies at once, in threads and in processes, and compare each with its solo run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio

from gridsite.errors import OutputExistsError
from gridsite.geo import RasterGrid
from gridsite.report.atomic import (
    atomic_write_text,
    clean_stale_staging,
    is_temporary_name,
    staged_folder,
)
from gridsite.report.raster import write_geotiff

from .conftest import DATA, KOREA_STUDY, REPO

GRIDSITE = [sys.executable, "-m", "gridsite.cli"]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative POSIX path -> bytes); symlinks as their target."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = f"-> {os.readlink(path)}".encode()
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


def siblings(folder: Path) -> list[str]:
    """Hidden staging or backup folders of ``folder`` in its parent."""
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(proc.stdout)


def write_set(folder: Path, files: dict[str, str], *, overwrite: bool = False) -> None:
    with staged_folder(folder, outputs=list(files), overwrite=overwrite, replaces=REPLACES) as st:
        for name, text in files.items():
            atomic_write_text(st / name, text)


REPLACES = ("a.csv", "b.geojson", "old_only.csv", "manifest.json")


# --- the folder transaction, on small folders --------------------------------------------------


def test_new_folder_gets_the_set_and_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "maps" / "study"
    write_set(out, {"a.csv": "x\n1\n", "b.geojson": "{}"})
    assert snapshot(out) == {"a.csv": b"x\n1\n", "b.geojson": b"{}"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["study"]


def test_existing_outputs_are_refused_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "study"
    write_set(out, {"a.csv": "old", "b.geojson": "old"})
    before = snapshot(out)
    with pytest.raises(OutputExistsError, match=r"outputs exist already: .*a\.csv.*--overwrite"):
        write_set(out, {"a.csv": "new", "b.geojson": "new"})
    assert snapshot(out) == before and siblings(out) == []


def test_overwrite_replaces_the_whole_set_and_keeps_other_entries(tmp_path: Path) -> None:
    out = tmp_path / "study"
    write_set(out, {"a.csv": "old", "b.geojson": "old", "old_only.csv": "stale"})
    (out / "grid").mkdir()
    (out / "grid" / "grid_qa.csv").write_text("qa")
    (out / "notes.txt").write_text("mine")
    (out / "link").symlink_to("notes.txt")
    (out / ".a.csv.tmp-0123456789abcdef.csv").write_text("debris of a killed direct write")
    inode = (out / "grid" / "grid_qa.csv").stat().st_ino
    write_set(out, {"a.csv": "new", "b.geojson": "new"}, overwrite=True)
    assert snapshot(out) == {
        "a.csv": b"new",
        "b.geojson": b"new",
        "grid/grid_qa.csv": b"qa",
        "link": b"-> notes.txt",
        "notes.txt": b"mine",
    }
    assert (out / "grid" / "grid_qa.csv").stat().st_ino == inode  # carried as a hard link
    assert siblings(out) == []


def test_without_overwrite_new_outputs_join_other_entries(tmp_path: Path) -> None:
    out = tmp_path / "study"
    (out / "sensitivity").mkdir(parents=True)
    (out / "sensitivity" / "sensitivity.csv").write_text("s")
    write_set(out, {"a.csv": "new"})
    assert snapshot(out) == {"a.csv": b"new", "sensitivity/sensitivity.csv": b"s"}


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failure_while_writing_leaves_the_old_set(tmp_path: Path, error: BaseException) -> None:
    out = tmp_path / "study"
    write_set(out, {"a.csv": "old", "b.geojson": "old"})
    before = snapshot(out)
    with (
        pytest.raises(type(error)),
        staged_folder(out, outputs=["a.csv", "b.geojson"], overwrite=True) as stage,
    ):
        atomic_write_text(stage / "a.csv", "new")
        raise error
    assert snapshot(out) == before and siblings(out) == []


def test_a_writer_that_adds_an_output_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "study"
    with (
        pytest.raises(OutputExistsError, match=r"a\.csv exists already"),
        staged_folder(out, outputs=["a.csv"]) as stage,
    ):
        atomic_write_text(stage / "a.csv", "mine")
        atomic_write_text(out / "a.csv", "another writer's")
    assert snapshot(out) == {"a.csv": b"another writer's"} and siblings(out) == []


def test_stale_staging_of_dead_runs_is_removed_live_ones_kept(tmp_path: Path) -> None:
    out = tmp_path / "study"
    write_set(out, {"a.csv": "old"})
    dead = tmp_path / f".study.partial-{dead_pid()}-0a1b2c3d"
    live = tmp_path / f".study.partial-{os.getppid()}-0a1b2c3d"  # pytest's parent runs
    other = tmp_path / f".other.partial-{dead_pid()}-0a1b2c3d"
    for folder in (dead, live, other):
        folder.mkdir()
        (folder / "a.csv").write_text("half")
    write_set(out, {"a.csv": "new"}, overwrite=True)
    assert not dead.exists() and live.exists() and other.exists()
    assert snapshot(out) == {"a.csv": b"new"}


def test_a_stop_between_the_two_renames_is_undone_by_the_next_write(tmp_path: Path) -> None:
    # Where RENAME_EXCHANGE is missing the swap is two renames; a kill between them leaves no
    # folder, the old set in a backup and the new set in the staging folder. Build that state.
    out = tmp_path / "study"
    write_set(out, {"a.csv": "old"})
    pid = dead_pid()
    backup = tmp_path / f".study.backup-{pid}-0a1b2c3d"
    staging = tmp_path / f".study.partial-{pid}-0a1b2c3d"
    out.rename(backup)
    staging.mkdir()
    (staging / "a.csv").write_text("new")
    assert sorted(p.name for p in clean_stale_staging(out)) == [staging.name]
    assert snapshot(out) == {"a.csv": b"old"} and siblings(out) == []


def test_two_rename_fallback_gives_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Filesystems without RENAME_EXCHANGE (NFS, other systems): pretend this one has none.
    import gridsite.report.atomic as atomic

    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    out = tmp_path / "study"
    write_set(out, {"a.csv": "old", "b.geojson": "old"})
    (out / "notes.txt").write_text("mine")
    write_set(out, {"a.csv": "new"}, overwrite=True)
    assert snapshot(out) == {"a.csv": b"new", "notes.txt": b"mine"} and siblings(out) == []


def test_a_symlinked_output_folder_keeps_its_link(tmp_path: Path) -> None:
    real = tmp_path / "disk" / "study"
    write_set(real, {"a.csv": "old"})
    link = tmp_path / "study"
    link.symlink_to(real)
    write_set(link, {"a.csv": "new"}, overwrite=True)
    assert link.is_symlink() and snapshot(real) == {"a.csv": b"new"}


def test_the_current_folder_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    for folder in (Path("."), tmp_path):
        with pytest.raises(OutputExistsError, match="current folder"):
            write_set(folder, {"a.csv": "x"})


def test_temporary_names_are_recognised() -> None:
    assert is_temporary_name(".map.html.tmp-0123456789abcdef.html")
    assert is_temporary_name(".korea.backup-12-00ff00ff")
    assert not is_temporary_name(".hidden_output") and not is_temporary_name("korea.partial")


def test_geotiff_writer_leaves_a_read_only_memory_map_alone(tmp_path: Path) -> None:
    # For very large grids the suitability reaches the writers as a read-only memory map.
    values = np.array([[0.5, np.nan, 0.0], [1.0, 0.25, np.nan]], dtype=np.float32)
    np.save(tmp_path / "suit.npy", values)
    mapped = np.load(tmp_path / "suit.npy", mmap_mode="r")
    grid = RasterGrid.from_bounds((0, 0, 3000, 2000), resolution_m=1000, crs="EPSG:5179")
    write_geotiff(mapped, grid, tmp_path / "suit.tif", nodata=-9999.0)
    assert np.array_equal(np.load(tmp_path / "suit.npy"), values, equal_nan=True)
    with rasterio.open(tmp_path / "suit.tif") as src:
        assert src.read(1).tolist() == [[0.5, -9999.0, 0.0], [1.0, 0.25, -9999.0]]


def test_threads_writing_the_same_folder_leave_one_complete_set(tmp_path: Path) -> None:
    out = tmp_path / "study"
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for _ in range(20):
                write_set(out, {"a.csv": f"{k}", "b.geojson": f"{k}"}, overwrite=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    files = snapshot(out)
    assert sorted(files) == ["a.csv", "b.geojson"] and files["a.csv"] == files["b.geojson"]
    assert siblings(out) == []


# --- real runs: a reduced Korea study ---------------------------------------------------------


def small_study(folder: Path, name: str = "small") -> Path:
    """The Korea study without the electrical, interconnect and supply stages (a few seconds)."""
    text = KOREA_STUDY.read_text(encoding="utf-8")
    text = text[: text.index("[electrical]")] + text[text.index("[outputs]") :]
    text = re.sub(r'(?m)^name = "korea"', f'name = "{name}"', text)
    text = re.sub(r"(?m)^catalog = .*$", f"catalog = {str(REPO / 'layers' / 'korea.toml')!r}", text)
    text = re.sub(r"(?m)^data_root = .*$", f"data_root = {str(DATA)!r}", text)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _ctrl_c_as_at_a_terminal() -> None:
    # A job started in the background by a shell (CI runners, `cmd &`) inherits SIGINT ignored,
    # and Python then installs no KeyboardInterrupt handler: Ctrl-C would do nothing. A user at
    # a terminal has the default disposition, which is what this test is about.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_run(study: Path, out: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*GRIDSITE, "run", str(study), "--out", str(out), "--map-assets", "cdn", "-q", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_at_a_terminal,
    )


def wait_for(proc: subprocess.Popen[str], ready: Callable[[], bool]) -> None:
    """Poll ``ready`` until true; fail if the process ends first."""
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before the point to stop it at: {proc.communicate()}")
        time.sleep(0.002)


def staged_files(out: Path) -> list[Path]:
    stages = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.partial-")]
    return [f for s in stages for f in s.rglob("*")]


@pytest.mark.integration
def test_killed_and_interrupted_runs_leave_the_previous_outputs(tmp_path: Path) -> None:
    study = small_study(tmp_path)
    out = tmp_path / "maps" / "small"
    first = subprocess.run(
        [*GRIDSITE, "run", str(study), "--out", str(out), "--resolution", "5000", "--top", "3"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    (out / "notes.txt").write_text("kept", encoding="utf-8")
    before = snapshot(out)
    assert "sites.geojson" in before and "manifest.json" in before

    # SIGKILL in the middle of writing the new set: as soon as a first file is in staging.
    proc = start_run(study, out, "--resolution", "5000", "--top", "2", "--overwrite")
    wait_for(proc, lambda: len(staged_files(out)) > 0)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(out) == before
    assert not any(is_temporary_name(p.name) for p in out.rglob("*"))
    assert len(siblings(out)) == 1  # the killed run's staging, beside the folder

    # Ctrl-C while writing. The previous outputs must survive whatever happens: the run may
    # stop with click's "Aborted!" (exit 1, its staging removed), or, when the signal lands
    # outside Python code that can raise (a finaliser, GDAL), die by the signal (staging left for
    # the next run to remove, as after the kill above) or finish first: then the complete new
    # set replaced the old one, which becomes the set to keep, and the test tries again.
    interrupted = False
    for _ in range(5):
        proc = start_run(study, out, "--resolution", "5000", "--top", "2", "--overwrite")
        wait_for(proc, lambda: len(staged_files(out)) > 0)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate()
        assert not any(is_temporary_name(p.name) for p in out.rglob("*"))
        if proc.returncode == 0:
            before = snapshot(out)
            assert "sites.geojson" in before and "notes.txt" in before
            continue
        interrupted = True
        assert snapshot(out) == before
        if proc.returncode == 1:
            assert "Aborted!" in stderr  # click turns Ctrl-C into this
            assert siblings(out) == []
        else:
            assert proc.returncode == -signal.SIGINT, stderr
        break
    assert interrupted, "five runs finished before Ctrl-C reached them"


# --- concurrency: two studies at once ----------------------------------------------------------

#: Two different small studies: name, resolution (m), sites kept.
STUDIES = (("small_a", "5000", "3"), ("small_b", "6000", "4"))

#: Outputs that differ between two writes of one result: the manifest holds a time stamp and
#: timings. (The map numbers folium's elements in tree order, so it is byte-identical.)
NOT_REPRODUCIBLE = ("manifest.json",)


def comparable(folder: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot(folder).items() if k not in NOT_REPRODUCIBLE}


def run_library(study: Path, resolution: str, top: str, out: Path) -> None:
    from gridsite import Study

    result = Study.from_toml(study, resolution_m=float(resolution)).with_top(int(top)).run()
    result.write(out, map_assets="cdn")


@pytest.fixture(scope="module")
def solo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, bytes]]]:
    """Each study run alone, one after the other: its study file and outputs."""
    root = tmp_path_factory.mktemp("solo")
    runs = {}
    for name, resolution, top in STUDIES:
        study = small_study(root, name)
        run_library(study, resolution, top, root / "maps" / name)
        runs[name] = (study, comparable(root / "maps" / name))
    return runs


@pytest.mark.integration
def test_two_library_runs_in_threads_equal_their_solo_runs(
    solo: dict[str, tuple[Path, dict[str, bytes]]], tmp_path: Path
) -> None:
    errors: list[BaseException] = []

    def work(name: str, resolution: str, top: str) -> None:
        try:
            run_library(solo[name][0], resolution, top, tmp_path / name)
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)

    threads = [threading.Thread(target=work, args=s) for s in STUDIES]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for name, _, _ in STUDIES:
        assert comparable(tmp_path / name) == solo[name][1], name


@pytest.mark.integration
def test_two_cli_runs_at_once_equal_their_solo_runs(
    solo: dict[str, tuple[Path, dict[str, bytes]]], tmp_path: Path
) -> None:
    procs = {
        name: start_run(solo[name][0], tmp_path / name, "--resolution", res, "--top", top)
        for name, res, top in STUDIES
    }
    for name, proc in procs.items():
        _, stderr = proc.communicate()
        assert proc.returncode == 0, stderr
        assert comparable(tmp_path / name) == solo[name][1], name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for n, _, _ in STUDIES)
