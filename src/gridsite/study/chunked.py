"""The raster stages in chunks on Dask: local threads by default, or a ``dask.distributed`` cluster.

With ``[study] chunk_px = N`` the study grid is cut into square chunks of N cells and
:func:`~gridsite.study.rasters.raster_stage` runs on each of them as a Dask task, in two passes:

1. **features**: every feature layer measured by distance (distance criteria, buffered
   constraints) is rasterised chunk by chunk and its feature cells collected by global (row, col);
   ``north_of`` lines give each column's southernmost line row. The client builds one KD-tree per
   layer from the cells (never a full-size array).
2. **rasters**: each chunk computes its criteria, scores, constraints and suitability, with
   distances by nearest-feature-cell queries against those trees, reading raster layers by window.
   Only suitability and, with ``[outputs] score_tifs``, each criterion's score (float32,
   placed into files on disk, :class:`~gridsite.study.spill.DiskRaster`), and the few masks
   later stages need (:func:`~gridsite.study.rasters.derived_masks`, packed as the bits of one
   byte a cell) come back; the raw value rasters never exist at full size.

The site table then evaluates the criteria on each candidate's bounding window only
(:class:`SiteWindows`). Transforms and aggregations that need statistics of the whole raster (the
MS* transforms, TOPSIS) are refused in chunked mode (:func:`check_chunkable`).

``distributed`` is imported only when a scheduler address is given; workers need gridsite
installed and the data root at the same path.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from dask.base import compute
from dask.delayed import delayed
from numpy.typing import NDArray

from gridsite.criteria.distance import feature_cell_tree, southernmost_rows
from gridsite.errors import ConfigError, LayerError
from gridsite.spec import StudySpec
from gridsite.study.progress import Step
from gridsite.study.rasters import (
    FeatureKey,
    GridWindow,
    RasterInputs,
    TreeFeatures,
    WindowResult,
    constraint_key,
    criterion_key,
    derived_mask_names,
    derived_masks,
    raster_stage,
)
from gridsite.study.spill import DiskRaster, PackedMasks

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "ChunkedRasters",
    "SiteWindows",
    "check_chunkable",
    "chunk_windows",
    "dask_client",
    "run_chunked",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Seconds to wait for a scheduler to answer.
_CONNECT_TIMEOUT_S = 20

#: Transforms whose parameters are statistics of the whole raster.
_WHOLE_RASTER_TRANSFORMS = ("ms_small", "ms_large")
#: Aggregations that normalise over every cell of the raster.
_WHOLE_RASTER_AGGREGATIONS = ("topsis",)


def check_chunkable(spec: StudySpec) -> None:
    """Raise :class:`ConfigError` if the study uses a rule that needs the whole raster at once.

    The MS* transforms take the mean and standard deviation of the whole criterion raster, and
    TOPSIS normalises each criterion over every cell; a chunk sees only its own cells.
    """
    problems = [
        f"criteria[{i}] ({c.name!r}): transform kind {c.transform.kind!r} uses the mean and "
        "standard deviation of the whole raster"
        for i, c in enumerate(spec.criteria)
        if c.transform.kind in _WHOLE_RASTER_TRANSFORMS
    ]
    if spec.aggregation.method in _WHOLE_RASTER_AGGREGATIONS:
        problems.append(
            f"aggregation.method {spec.aggregation.method!r} normalises over every cell"
        )
    if problems:
        raise ConfigError(
            f"study {spec.name!r} cannot run in chunks (study.chunk_px = {spec.chunk_px}): "
            + "; ".join(problems)
            + ". Set study.chunk_px = 0 (or --chunk-px 0) to run it in memory"
        )


def chunk_windows(shape: tuple[int, int], chunk_px: int) -> list[GridWindow]:
    """Cut a grid of ``shape`` into square chunks of ``chunk_px`` cells, row by row.

    Examples
    --------
    >>> [w.bounds for w in chunk_windows((3, 5), 2)]
    [(0, 0, 2, 2), (0, 2, 2, 2), (0, 4, 2, 1), (2, 0, 1, 2), (2, 2, 1, 2), (2, 4, 1, 1)]
    """
    if chunk_px < 1:
        raise ConfigError(f"chunk_px must be a positive number of cells, got {chunk_px}")
    rows, cols = shape
    return [
        GridWindow(r, c, min(chunk_px, rows - r), min(chunk_px, cols - c))
        for r in range(0, rows, chunk_px)
        for c in range(0, cols, chunk_px)
    ]


@contextmanager
def dask_client(address: str) -> Iterator[Client | None]:
    """Connect a ``dask.distributed`` client to ``address`` for the block; None when empty.

    Raises
    ------
    ConfigError
        When ``distributed`` is not installed or no scheduler answers at ``address``.
    """
    if not address:
        yield None
        return
    try:
        from distributed import Client
    except ImportError as exc:
        raise ConfigError(
            f"study.scheduler = {address!r} needs dask.distributed: pip install 'gridsite[dask]'"
        ) from exc
    try:
        client = Client(address, set_as_default=False, timeout=_CONNECT_TIMEOUT_S)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"cannot connect to the dask scheduler at {address!r}: {exc}. Start one with "
            "`dask scheduler` and workers with `dask worker ADDRESS`, or leave study.scheduler "
            "(--scheduler) empty for local threads"
        ) from exc
    with client:
        log.info("dask: %s", client)
        yield client


def _map(
    fn: Callable[..., _T],
    inputs: RasterInputs,
    windows: Sequence[GridWindow],
    place: Callable[[int, _T], None],
    client: Client | None,
    *args: Any,
    progress: Step | None = None,
) -> None:
    """Run ``fn(inputs, window, *args)`` on every window as a Dask task; ``place`` each result.

    Results are placed as they arrive, so at most a few chunks' results are held at once besides
    the caller's whole-grid arrays. The inputs go to the workers once. ``progress(done, total)``
    is told of each chunk placed.
    """
    shared = delayed(inputs, name=f"raster-inputs-{uuid.uuid4().hex}", pure=False)
    tasks = [delayed(fn, pure=True)(shared, w, *args) for w in windows]
    placed = 0

    def place_one(i: int, res: _T) -> None:
        nonlocal placed
        place(i, res)
        placed += 1
        if progress is not None:
            progress(placed, len(tasks))

    if client is not None:
        from distributed import as_completed

        futures = client.compute(tasks)  # type: ignore[no-untyped-call]
        index = {f.key: i for i, f in enumerate(futures)}
        done = as_completed(futures, loop=client.loop, with_results=True)  # type: ignore[no-untyped-call]
        for fut, res in done:
            place_one(index[fut.key], res)
            fut.release()
        return
    batch = 2 * (os.cpu_count() or 1)
    _compute_batches(tasks, batch, place_one)


def _compute_batches(tasks: list[Any], batch: int, place: Callable[[int, Any], None]) -> None:
    for b0 in range(0, len(tasks), batch):
        results = compute(*tasks[b0 : b0 + batch], scheduler="threads")  # type: ignore[no-untyped-call]
        for i, res in enumerate(results):
            place(b0 + i, res)


@dataclass
class _Cells:
    """One chunk's feature cells (global row, col) and southernmost line rows."""

    cells: dict[FeatureKey, tuple[NDArray[np.int32], NDArray[np.int32]]]
    south: dict[FeatureKey, NDArray[np.int64]]


def _collect(
    inputs: RasterInputs,
    win: GridWindow,
    tree_keys: tuple[FeatureKey, ...],
    south_keys: tuple[FeatureKey, ...],
) -> _Cells:
    cells = {}
    south = {}
    for key in sorted(set(tree_keys) | set(south_keys), key=repr):
        mask = inputs.rasterize(key, win)
        if key in tree_keys:
            r, c = np.nonzero(mask)
            cells[key] = ((r + win.row0).astype(np.int32), (c + win.col0).astype(np.int32))
        if key in south_keys:
            south[key] = southernmost_rows(mask, row0=win.row0)
    return _Cells(cells=cells, south=south)


def _feature_keys(inputs: RasterInputs) -> tuple[tuple[FeatureKey, ...], tuple[FeatureKey, ...]]:
    """Keys measured by distance (KD-trees) and keys of ``north_of`` lines."""
    spec = inputs.spec
    trees = [criterion_key(c) for c in spec.criteria if c.measure == "distance"]
    south = []
    for k in (*spec.constraints, *inputs.extra):
        if k.kind == "raster_values":
            continue
        if k.buffer_km > 0:
            trees.append(constraint_key(k))
        if k.kind == "north_of":
            south.append(constraint_key(k))
    return tuple(dict.fromkeys(trees)), tuple(dict.fromkeys(south))


def tree_features(
    inputs: RasterInputs,
    windows: Sequence[GridWindow],
    client: Client | None,
    *,
    progress: Step | None = None,
) -> TreeFeatures:
    """Pass 1: collect every distance layer's feature cells chunk by chunk; build the KD-trees.

    ``progress(done, total)`` is told of each chunk collected.
    """
    tree_keys, south_keys = _feature_keys(inputs)
    parts: list[_Cells | None] = [None] * len(windows)

    def place(i: int, res: _Cells) -> None:
        parts[i] = res

    _map(_collect, inputs, windows, place, client, tree_keys, south_keys, progress=progress)
    done = [p for p in parts if p is not None]
    trees = {}
    for key in tree_keys:
        rows = np.concatenate([p.cells[key][0] for p in done])
        cols = np.concatenate([p.cells[key][1] for p in done])
        trees[key] = feature_cell_tree(rows, cols)
        log.debug("features %s: %d cells", key[0], len(rows))
    south = {}
    n_cols = inputs.grid.shape[1]
    for key in south_keys:
        edge = np.full(n_cols, -1, dtype=np.int64)
        for w, p in zip(windows, parts, strict=True):
            assert p is not None
            s = edge[w.col0 : w.col0 + w.cols]
            np.maximum(s, p.south[key], out=s)
        south[key] = edge
    return TreeFeatures(trees=trees, southernmost=south)


@dataclass
class ChunkedRasters:
    """Whole-grid results of the chunked raster stage.

    Suitability and the criterion scores live in files (read by window); the masks later
    stages need (:func:`~gridsite.study.rasters.derived_masks`) are bits of one small integer
    raster.
    """

    suitability: DiskRaster
    masks: PackedMasks
    #: Cells of each constraint inside the study area.
    hit_cells: dict[str, int]
    inputs: RasterInputs
    seconds: dict[str, float] = field(default_factory=dict)
    #: Each criterion's score in [0, 1] (NaN outside the area), by name; empty unless
    #: ``[outputs] score_tifs`` asks for them.
    scores: dict[str, DiskRaster] = field(default_factory=dict)


@dataclass
class _ChunkResult:
    suitability: NDArray[np.float32]
    masks: dict[str, NDArray[np.bool_]]
    hits: dict[str, int]
    seconds: dict[str, float]
    scores: dict[str, NDArray[np.float32]]


def _rasters(inputs: RasterInputs, win: GridWindow, with_scores: bool) -> _ChunkResult:
    r = raster_stage(inputs, win, with_scores=with_scores)
    hits = {n: int((m & r.in_area).sum()) for n, m in r.masks.items()}
    masks = derived_masks(inputs.spec, r.in_area, r.excluded, r.masks, r.extra_masks)
    return _ChunkResult(
        suitability=r.suitability, masks=masks, hits=hits, seconds=r.seconds, scores=r.scores
    )


def run_chunked(
    inputs: RasterInputs,
    *,
    client: Client | None,
    stage: Callable[[str, int], AbstractContextManager[Step]],
) -> ChunkedRasters:
    """Run the raster stage in chunks of ``inputs.spec.chunk_px`` cells (two passes, see above).

    ``stage(name, total)`` times a named stage (``features``, ``rasters``) of ``total`` steps
    (a chunk each) and gives its ``progress(done, total)`` callable. Each criterion's score is
    kept in a file when ``[outputs] score_tifs`` is on. Raises :class:`LayerError` when a
    distance criterion's layer has no feature on the grid.
    """
    spec, grid = inputs.spec, inputs.grid
    check_chunkable(spec)
    windows = chunk_windows(grid.shape, spec.chunk_px)
    where = f"dask cluster {spec.scheduler}" if client is not None else "local threads"
    log.info(
        "chunked: %d chunks of <= %d x %d cells on %s",
        len(windows),
        spec.chunk_px,
        spec.chunk_px,
        where,
    )
    with stage("features", len(windows)) as step:
        feats = tree_features(inputs, windows, client, progress=step)
    inputs = replace(inputs, features=feats)
    for c in spec.criteria:
        if c.measure == "distance" and feats.count(inputs, criterion_key(c)) == 0:
            raise LayerError(
                f"criterion {c.name!r}: layer {c.layer!r} has no feature inside the study "
                "grid after its select filter; check the filter, the layer's CRS and extent"
            )
    suit = DiskRaster(grid.shape, np.float32, fill=np.nan)
    with_scores = spec.outputs.score_tifs
    scores = {
        c.name: DiskRaster(grid.shape, np.float32, fill=np.nan)
        for c in (spec.criteria if with_scores else ())
    }
    masks = PackedMasks(grid.shape, derived_mask_names(spec))
    hits = {k.name: 0 for k in spec.constraints}
    seconds: dict[str, float] = {}

    def place(i: int, r: _ChunkResult) -> None:
        w = windows[i]
        suit.write(w.row0, w.col0, r.suitability)
        for name, score in r.scores.items():
            scores[name].write(w.row0, w.col0, score)
        masks.write(w.row0, w.col0, r.masks)
        for name, n in r.hits.items():
            hits[name] += n
        for name, sec in r.seconds.items():
            seconds[name] = seconds.get(name, 0.0) + sec

    with stage("rasters", len(windows)) as step:
        _map(_rasters, inputs, windows, place, client, with_scores, progress=step)
    return ChunkedRasters(
        suitability=suit,
        masks=masks,
        hit_cells=hits,
        inputs=inputs,
        seconds=seconds,
        scores=scores,
    )


class SiteWindows:
    """Criterion scores and values of candidate sites, computed on each site's bounding window.

    :attr:`scores` and :attr:`values` map criterion names to objects indexed like whole-grid
    arrays (``arr[rows_slice, cols_slice]`` or ``arr[rows, cols]`` with index arrays), which is
    all the site table asks of them. The raster stage runs once per distinct window (the last
    one is cached, as the site table reads every criterion of one site in turn).
    """

    def __init__(self, inputs: RasterInputs) -> None:
        self.inputs = inputs
        self._key: tuple[int, int, int, int] | None = None
        self._result: WindowResult | None = None
        names = [c.name for c in inputs.spec.criteria]
        self.scores: Mapping[str, _SiteRaster] = {n: _SiteRaster(self, "scores", n) for n in names}
        self.values: Mapping[str, _SiteRaster] = {n: _SiteRaster(self, "values", n) for n in names}

    def lookup(self, kind: str, name: str, cells: Any) -> NDArray[np.float32]:
        """Return ``array[cells]`` of criterion ``name`` (``kind``: scores or values)."""
        rows, cols = cells
        if isinstance(rows, slice) and isinstance(cols, slice):
            r0, r1, c0, c1 = rows.start, rows.stop, cols.start, cols.stop
        else:
            rows, cols = np.asarray(rows), np.asarray(cols)
            r0, r1 = int(rows.min()), int(rows.max()) + 1
            c0, c1 = int(cols.min()), int(cols.max()) + 1
        win = GridWindow(r0, c0, r1 - r0, c1 - c0)
        if self._key != win.bounds:
            self._result = raster_stage(self.inputs, win, with_scores=True)
            self._key = win.bounds
        assert self._result is not None
        arr = getattr(self._result, kind)[name]
        if isinstance(rows, slice):
            out: NDArray[np.float32] = arr
            return out
        local: NDArray[np.float32] = arr[rows - r0, cols - c0]
        return local


@dataclass(frozen=True)
class _SiteRaster:
    owner: SiteWindows
    kind: str
    name: str

    def __getitem__(self, cells: Any) -> NDArray[np.float32]:
        return self.owner.lookup(self.kind, self.name, cells)
