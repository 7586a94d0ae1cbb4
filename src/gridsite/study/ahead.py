"""GeoTIFF outputs written in the background while a run's later stages compute.

A run's rasters (suitability and each criterion's score) are final once the raster stage ends,
but the stages after it (sites, supply, power grid, hosting capacity, routing) run mostly in one
Python thread and leave the other cores idle. ``Study.run(write_ahead=True)`` (what ``gridsite
run`` does) hands the GeoTIFFs to :class:`RastersAhead` at that point: GDAL compresses them and
builds their overviews on other threads, without Python's lock, into a private temporary folder.
:meth:`StudyResult.write <gridsite.study.result.StudyResult.write>` then waits for each file and
puts it in place (a hard link, or a copy across file systems) instead of writing it again.
Chunked runs, which are about bounded memory, do not write ahead.

The folder is removed when the :class:`RastersAhead` is garbage-collected or the process ends.
A write that failed raises its error from :meth:`RastersAhead.place`, in ``write``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gridsite.geo import Raster
from gridsite.report.qml import write_suitability_qml
from gridsite.report.raster import write_geotiff, write_score_geotiff
from gridsite.spec import CriterionSpec, StudySpec

__all__ = ["SCORES", "RastersAhead", "raster_threads", "raster_writers"]

#: Folder of the criterion score rasters (one ``<criterion>.tif`` each).
SCORES = "scores"


def _close(pool: ThreadPoolExecutor, folder: Path) -> None:
    pool.shutdown(wait=True, cancel_futures=True)
    shutil.rmtree(folder, ignore_errors=True)


class RastersAhead:
    """Files written by background threads into a private folder, each placed on demand.

    Examples
    --------
    >>> ahead = RastersAhead(workers=1)
    >>> ahead.submit("notes/a.txt", lambda path: path.write_text("hi") and path)
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out:
    ...     ahead.place("notes/a.txt", Path(out) / "notes" / "a.txt").read_text()
    'hi'
    """

    def __init__(self, workers: int) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="gridsite-outputs-"))
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="gridsite-ahead")
        self._jobs: dict[str, Future[Path]] = {}
        weakref.finalize(self, _close, self._pool, self._folder)

    def submit(self, name: str, write: Callable[[Path], Path]) -> None:
        """Start ``write(path)`` for the output ``name`` (a path relative to the output folder)."""
        path = self._folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._jobs[name] = self._pool.submit(write, path)

    def __contains__(self, name: object) -> bool:
        return name in self._jobs

    def place(self, name: str, dest: Path) -> Path:
        """Wait for ``name`` to be written and put it at ``dest`` (which must not exist)."""
        written = self._jobs[name].result()
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(written, dest)
        except OSError:  # another file system, or no hard links there
            shutil.copyfile(written, dest)
        return dest


def raster_threads(spec: StudySpec) -> int:
    """Threads writing GeoTIFFs at once: two in memory, one in a chunked run (bounded memory)."""
    return 1 if spec.chunk_px else 2


def raster_writers(
    spec: StudySpec,
    suitability: Raster,
    scores: Mapping[str, NDArray[np.float32]],
    weights: Mapping[str, float],
) -> dict[str, Callable[[Path], Path]]:
    """How to write each GeoTIFF output (and the QML style): by path in the output folder.

    In output order; only the outputs ``spec`` asks for (:func:`output_names`).
    """
    writers: dict[str, Callable[[Path], Path]] = {}
    if spec.outputs.suitability_tif:
        writers["suitability.tif"] = partial(
            write_geotiff,
            suitability.array,
            suitability.grid,
            description="suitability score, 0-1, 0 = excluded",
        )
        writers["suitability.qml"] = write_suitability_qml
    if spec.outputs.score_tifs:
        for c in spec.criteria:
            if c.name in scores:

                def write(path: Path, c: CriterionSpec = c) -> Path:
                    return write_score_geotiff(
                        c, scores[c.name], suitability.grid, path.parent, weight=weights.get(c.name)
                    )

                writers[f"{SCORES}/{c.name}.tif"] = write
    return writers
