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
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["DiskRaster", "MaskView", "PackedMasks", "SpilledRasters"]


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


class DiskRaster:
    """A whole-grid raster in a ``.npy`` file, written and read by window with plain file I/O.

    Nothing is memory-mapped while the study runs, so the process holds only the windows it is
    working on (a memory map would count every page touched as resident). :meth:`array` maps
    the finished file read-only for callers that want a numpy array.

    Examples
    --------
    >>> r = DiskRaster((3, 4), np.float32, fill=np.nan)
    >>> r.write(1, 2, np.ones((2, 2), np.float32))
    >>> r[1:3, 1:4].tolist()
    [[nan, 1.0, 1.0], [nan, 1.0, 1.0]]
    """

    def __init__(self, shape: tuple[int, int], dtype: type[np.generic], *, fill: float = 0) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="gridsite-raster-"))
        weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
        self.path = self._folder / "raster.npy"
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        created = np.lib.format.open_memmap(self.path, mode="w+", dtype=self.dtype, shape=shape)
        self._offset = int(created.offset)
        del created
        row = np.full(self.shape[1], fill, dtype=self.dtype).tobytes()
        with open(self.path, "r+b") as f:
            f.seek(self._offset)
            for _ in range(self.shape[0]):
                f.write(row)

    def write(self, row0: int, col0: int, block: NDArray[Any]) -> None:
        """Write ``block`` with its top-left cell at ``(row0, col0)``."""
        block = np.ascontiguousarray(block, dtype=self.dtype)
        cols = self.shape[1]
        item = self.dtype.itemsize
        with open(self.path, "r+b") as f:
            for i in range(block.shape[0]):
                f.seek(self._offset + ((row0 + i) * cols + col0) * item)
                f.write(block[i].tobytes())

    def __getitem__(self, key: slice | tuple[slice, slice]) -> NDArray[Any]:
        """Read a window: ``raster[r0:r1]`` or ``raster[r0:r1, c0:c1]`` (steps of 1)."""
        rs, cs = key if isinstance(key, tuple) else (key, slice(None))
        rows, cols = self.shape
        r0, r1, _ = rs.indices(rows)
        c0, c1, _ = cs.indices(cols)
        r1, c1 = max(r0, r1), max(c0, c1)
        item = self.dtype.itemsize
        out = np.empty((r1 - r0, c1 - c0), dtype=self.dtype)
        with open(self.path, "rb") as f:
            if c1 - c0 > cols // 2:  # whole rows in one read, then the columns
                f.seek(self._offset + r0 * cols * item)
                whole = np.fromfile(f, dtype=self.dtype, count=(r1 - r0) * cols)
                out[:] = whole.reshape(r1 - r0, cols)[:, c0:c1]
            else:
                for i in range(r1 - r0):
                    f.seek(self._offset + ((r0 + i) * cols + c0) * item)
                    out[i] = np.fromfile(f, dtype=self.dtype, count=c1 - c0)
        return out

    def strips(self, rows_per_strip: int) -> Iterator[tuple[int, NDArray[Any]]]:
        """Yield ``(row0, rows)`` over the whole raster, ``rows_per_strip`` rows at a time."""
        for r0 in range(0, self.shape[0], rows_per_strip):
            yield r0, self[r0 : r0 + rows_per_strip]

    def array(self) -> NDArray[Any]:
        """Return the whole raster memory-mapped read-only (pages load as they are touched)."""
        mapped = np.load(self.path, mmap_mode="r")
        # The file goes with this object: the map keeps it alive, so that writers may map the
        # file again (report.raster reads it strip by strip through mappings of their own).
        mapped._owner = self
        result: NDArray[Any] = mapped
        return result


class PackedMasks:
    """Whole-grid boolean masks kept as the bits of one unsigned integer raster.

    Eight masks cost one byte a cell together instead of eight. ``masks[name]`` is a
    :class:`MaskView`, read by window (:class:`~gridsite.geo.WindowedRaster`).

    Examples
    --------
    >>> m = PackedMasks((2, 3), ["a", "b"])
    >>> m.write(0, 1, {"a": np.array([[True, False]]), "b": np.array([[True, True]])})
    >>> m["a"][0:2, 0:3].astype(int).tolist(), m.count("b")
    ([[0, 1, 0], [0, 0, 0]], 2)
    """

    def __init__(self, shape: tuple[int, int], names: Sequence[str]) -> None:
        self.names = list(dict.fromkeys(names))
        bits = len(self.names)
        dtype = (
            np.uint8
            if bits <= 8
            else np.uint16
            if bits <= 16
            else np.uint32
            if bits <= 32
            else None
        )
        if dtype is None:
            raise ValueError(f"at most 32 masks can be packed, got {bits}")
        self.bits = np.zeros(shape, dtype=dtype)
        self.shape = (int(shape[0]), int(shape[1]))

    def write(self, row0: int, col0: int, masks: Mapping[str, NDArray[np.bool_]]) -> None:
        """Set the masks of a window with its top-left cell at ``(row0, col0)``."""
        first = next(iter(masks.values()))
        window = self.bits[row0 : row0 + first.shape[0], col0 : col0 + first.shape[1]]
        packed = np.zeros(window.shape, dtype=self.bits.dtype)
        for name, mask in masks.items():
            bit = self.bits.dtype.type(1 << self.names.index(name))
            packed |= np.where(mask, bit, self.bits.dtype.type(0))
        window[...] = packed

    def __getitem__(self, name: str) -> MaskView:
        return MaskView(self, self.bits.dtype.type(1 << self.names.index(name)))

    def count(self, name: str) -> int:
        """Count the True cells of ``name`` over the whole grid, strip by strip."""
        view = self[name]
        step = max(1, (1 << 24) // max(1, self.shape[1]))
        return sum(int(view[r : r + step, :].sum()) for r in range(0, self.shape[0], step))


class MaskView:
    """One mask of a :class:`PackedMasks`, read by window: ``view[rows, cols]`` is a bool array."""

    def __init__(self, packed: PackedMasks, bit: np.integer[Any]) -> None:
        self._packed = packed
        self._bit = bit
        self.shape = packed.shape

    def __getitem__(self, key: Any) -> NDArray[np.bool_]:
        window: NDArray[np.bool_] = (self._packed.bits[key] & self._bit) != 0
        return window

    def __array__(self, dtype: Any = None, copy: Any = None) -> NDArray[Any]:
        whole = self[:, :]
        return whole if dtype is None else whole.astype(dtype)
