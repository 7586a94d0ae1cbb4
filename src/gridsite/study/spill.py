"""Whole-grid rasters kept on disk between stages, so a national grid's criteria do not stay in RAM.

A run at 100 m over Korea has 44 M cells: each criterion's score and raw value is 177 MB as
float32, eight criteria 2.8 GB. The raster stage hands them to a :class:`SpilledRasters` as soon
as they are no longer needed in memory; later stages (the site table, the report, the library
user's ``result.scores``) read them back memory-mapped and read-only, touching only the pages they
index. The files live in a private temporary folder (under ``TMPDIR``), removed when the mapping
is garbage-collected or the process ends.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["SpilledRasters"]


class SpilledRasters(Mapping[str, NDArray[np.float32]]):
    """A name -> raster mapping whose rasters are ``.npy`` files, read back memory-mapped.

    Examples
    --------
    >>> store = SpilledRasters()
    >>> store.put("a", np.arange(4, dtype=np.float32).reshape(2, 2))
    >>> store["a"][1].tolist(), list(store)
    ([2.0, 3.0], ['a'])
    """

    def __init__(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="gridsite-rasters-"))
        # Removed with the mapping (or at exit); open memory maps keep their data until closed.
        weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
        self._paths: dict[str, Path] = {}

    def put(self, name: str, array: NDArray[np.float32]) -> None:
        """Write ``array`` under ``name`` (replacing an earlier one); the caller may drop it."""
        path = self._folder / f"{len(self._paths)}.npy"
        np.save(path, np.ascontiguousarray(array))
        self._paths[name] = path

    def __getitem__(self, name: str) -> NDArray[np.float32]:
        array: NDArray[np.float32] = np.load(self._paths[name], mmap_mode="r")
        return array

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __repr__(self) -> str:
        return f"SpilledRasters({list(self._paths)!r} in {self._folder})"
