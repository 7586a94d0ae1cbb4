"""Progress: the events a library callback receives, and the bars the CLI draws on a terminal.

The library tests run the Korea study (4000 m cells) in memory with every stage and the reduced
study in chunks, and check the events against counts worked out from the study: criteria + 1
raster steps, one step per chunk, per candidate site, and three screens per screened bus and
hour. The CLI tests start ``gridsite run`` as a real process with its stderr on a
pseudo-terminal (bars), on a pipe (none) and on a terminal with ``-q`` (none).
"""

from __future__ import annotations

import math
import os
import pty
import re
import select
import subprocess
import sys
import time
from dataclasses import replace
from itertools import groupby
from pathlib import Path

import pytest

import gridsite
from gridsite.spec import RankingSpec
from gridsite.study.progress import Progress, StageProgress, sub_steps
from gridsite.study.result import StudyResult

from .conftest import KOREA_STUDY, REPO
from .test_outputs import small_study

GRIDSITE = [sys.executable, "-m", "gridsite.cli"]

#: A drawn bar: carriage return, clear line, stage, the bar, done/total, percent.
BAR = re.compile(r"\r\x1b\[K(?P<stage>[a-z ]+?) +\[(?P<bar>[#-]+)\] (?P<done>\d+)/(?P<total>\d+)")


# ---- StageProgress, on its own -----------------------------------------------------------------


def test_stage_progress_sends_start_steps_and_end_in_order() -> None:
    events: list[Progress] = []
    steps = StageProgress(events.append, "connection", total=4)
    for done in (1, 2, 2, 1, 3):  # a repeated and a backward step are not news
        steps(done, 4)
    steps.finish()
    assert [(e.done, e.total) for e in events] == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert {e.stage for e in events} == {"connection"}
    assert events[-1].fraction == 1.0


def test_stage_progress_thins_long_loops_and_clamps() -> None:
    events: list[Progress] = []
    steps = StageProgress(events.append, "hosting capacity", total=None)
    for done in range(0, 10_001):
        steps(done, 10_000)
    steps(20_000, 10_000)  # beyond the total: clamped, already sent
    steps.finish()
    dones = [e.done for e in events]
    assert events[0] == Progress("hosting capacity", 0, None)
    # 1/200 of 10,000 is 50 steps: 0, 50, ..., 10,000 after the start.
    assert dones[1:] == list(range(0, 10_001, 50))
    assert all(e.total == 10_000 for e in events[1:])


def test_stage_without_total_sends_its_start_only() -> None:
    events: list[Progress] = []
    StageProgress(events.append, "sites", total=None).finish()
    assert events == [Progress("sites", 0, None)]
    assert events[0].fraction is None


def test_sub_steps_shift_a_part_into_the_stage() -> None:
    events: list[Progress] = []
    steps = StageProgress(events.append, "hosting capacity", total=None)
    for k in range(3):  # three calls of 10 steps each make a stage of 30
        part = sub_steps(steps, offset=10 * k, total=30)
        for done in range(11):
            part(done, 10)
    assert [e.done for e in events[1:]] == list(range(31))


# ---- a real study ------------------------------------------------------------------------------


def _stages(events: list[Progress]) -> list[tuple[str, list[Progress]]]:
    """Runs of consecutive events of one stage, as (name, events)."""
    return [(name, list(run)) for name, run in groupby(events, key=lambda e: e.stage)]


def _check_order(events: list[Progress]) -> dict[str, int | None]:
    """Assert each stage starts at 0, never goes back, stays within and reaches its total."""
    totals: dict[str, int | None] = {}
    for name, run in _stages(events):
        assert run[0].done == 0, (name, run[0])
        dones = [e.done for e in run]
        assert dones == sorted(dones), name
        counted = [e for e in run if e.total is not None]
        for e in counted:
            assert 0 <= e.done <= e.total, e  # type: ignore[operator]
        if counted:
            assert run[-1].done == run[-1].total, (name, run[-1])
            assert len({e.total for e in counted}) == 1, name
        assert len(run) <= 203, (name, len(run))  # the start, the end and at most 200 between
        totals[name] = counted[-1].total if counted else None
    return totals


@pytest.fixture(scope="module")
def korea_events(data_root: Path) -> tuple[StudyResult, list[Progress]]:
    events: list[Progress] = []
    study = gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=4000).with_top(5)
    return study.run(progress=events.append), events


@pytest.mark.integration
def test_a_run_reports_every_stage_in_order(
    korea_events: tuple[StudyResult, list[Progress]],
) -> None:
    result, events = korea_events
    spec = result.spec
    assert spec.electrical is not None
    names = [name for name, _ in groupby(e.stage for e in events)]
    assert names == [
        "study area",
        "rasters",
        "sites",
        "supply",
        "power grid",
        "hosting capacity",
        "power grid",
        "connection",
        "ranking",
    ]
    assert set(names) <= set(result.timings_s)
    totals = _check_order(events)
    # One step per criterion and one for the constraints and overlay.
    assert totals["rasters"] == len(spec.criteria) + 1 == 9
    # Supply sizing and routing count the candidates: `count` sites times the pool factor.
    candidates = spec.sites.count * spec.sites.pool_factor
    assert totals["supply"] == totals["connection"] == candidates == 15
    # N-1, N-0 and max-flow of every screened bus at each of the study's hours.
    assert spec.electrical.hours == ("max", "min")
    assert totals["hosting capacity"] == 3 * 2 * len(result.hosting) == 3 * 2 * 642
    assert totals["sites"] is None and totals["ranking"] is None


@pytest.mark.integration
def test_a_chunked_run_reports_each_chunk(data_root: Path) -> None:
    events: list[Progress] = []
    study = gridsite.Study.from_toml(KOREA_STUDY, data_root, resolution_m=4000).with_top(5)
    spec = replace(
        study.spec,
        supply=None,
        electrical=None,
        interconnect=None,
        ranking=RankingSpec(),
        chunk_px=50,
    )
    result = gridsite.Study(spec).run(progress=events.append)
    rows, cols = result.suitability.grid.shape
    assert (rows, cols) == (164, 171)
    chunks = math.ceil(164 / 50) * math.ceil(171 / 50)
    totals = _check_order(events)
    assert totals["features"] == totals["rasters"] == chunks == 16
    assert totals["connection"] is None  # no routing without [interconnect]
    features = [e.done for e in events if e.stage == "features"]
    assert features == list(range(17))  # every chunk, one by one


# ---- the CLI on a terminal ---------------------------------------------------------------------


def _run_on_pty(args: list[str], *, timeout_s: float = 600) -> tuple[int, str, str]:
    """Run ``gridsite ARGS`` with stderr on a pseudo-terminal; return code, stderr, stdout."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.Popen(
        [*GRIDSITE, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        cwd=REPO,
        env=env,
    )
    os.close(slave)
    seen = bytearray()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 1 << 16)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                seen += data
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
            pytest.fail(f"gridsite {args} did not finish in {timeout_s} s")
        # The table on stdout is small: the pipe holds it until the child is done.
        stdout = proc.communicate(timeout=60)[0].decode()
    finally:
        os.close(master)
    return proc.returncode, seen.decode(), stdout


@pytest.fixture(scope="module")
def study_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_study(tmp_path_factory.mktemp("study"), "bars")


def _args(study: Path, out: Path, *extra: str) -> list[str]:
    return [
        "run", str(study), "--out", str(out), "--resolution", "4000", "--top", "3",
        "--map-assets", "cdn", *extra,
    ]  # fmt: skip


@pytest.mark.integration
def test_cli_draws_bars_on_a_terminal(study_file: Path, tmp_path: Path) -> None:
    code, stderr, stdout = _run_on_pty(_args(study_file, tmp_path / "out"))
    assert code == 0, stderr
    bars = [m.groupdict() for m in BAR.finditer(stderr)]
    raster = [b for b in bars if b["stage"] == "rasters"]
    n_steps = len(gridsite.Study.from_toml(study_file).spec.criteria) + 1
    assert [int(b["done"]) for b in raster] == list(range(n_steps + 1))
    assert {int(b["total"]) for b in raster} == {n_steps}
    # Full at the end, then a newline; the log lines are still there, each on a line of its own.
    assert raster[-1]["bar"] == "#" * len(raster[-1]["bar"]) and raster[0]["bar"].count("#") == 0
    assert re.search(rf"\] {n_steps}/{n_steps} 100%\r?\n", stderr)
    assert "INFO gridsite.study.run: ranking:" in stderr
    assert "site_id" in stdout  # the table goes to stdout, untouched


@pytest.mark.integration
def test_cli_draws_no_bars_off_a_terminal_or_when_quiet(study_file: Path, tmp_path: Path) -> None:
    piped = subprocess.run(
        [*GRIDSITE, *_args(study_file, tmp_path / "piped")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert "INFO gridsite.study.run: ranking:" in piped.stderr  # the log lines only
    assert "\r" not in piped.stderr and "\x1b" not in piped.stderr and "[#" not in piped.stderr

    code, stderr, stdout = _run_on_pty(_args(study_file, tmp_path / "quiet", "-q"))
    assert code == 0, stderr
    assert "\x1b" not in stderr and "[#" not in stderr and "INFO" not in stderr
    assert stdout == ""
