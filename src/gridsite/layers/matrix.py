"""Read a pairwise-comparison matrix (for AHP) from a CSV file.

The file has the criterion names as its header and, in the same order, as its first column; the
top-left cell is ignored. Cells are numbers or fractions such as ``1/3``::

    criterion,slope,substation_distance,water
    slope,1,1/3,2
    substation_distance,3,1,5
    water,1/2,1/5,1

Checking that the judgements are positive and reciprocal is left to
:func:`gridsite.mcda.ahp.check_pairwise_matrix`; this module only turns the file into numbers.
"""

from __future__ import annotations

import csv
import logging
from fractions import Fraction
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gridsite.errors import LayerError

__all__ = ["read_pairwise_matrix"]

log = logging.getLogger(__name__)

_MAX_LISTED = 8


def _parse_cell(text: str) -> float | None:
    """Return a cell's value (``3``, ``0.5``, ``1/3``), or None if it is not a number."""
    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return value


def read_pairwise_matrix(path: Path | str) -> tuple[list[str], NDArray[np.float64]]:
    """Read a square pairwise-comparison matrix with criterion names as header and first column.

    Parameters
    ----------
    path
        CSV file (UTF-8, with or without a byte-order mark). Row ``i``, column ``j`` says how much
        more important the row's criterion is than the column's (Saaty's 1-9 scale); cells may be
        fractions such as ``1/3``.

    Returns
    -------
    tuple[list[str], NDArray[np.float64]]
        The criterion names in order, and the ``n`` x ``n`` matrix.

    Raises
    ------
    LayerError
        Naming the file and listing every problem: file missing or unreadable, no rows, rows of
        the wrong length, a cell that is not a number, or header names that differ from the
        first column's.
    """
    path = Path(path)
    if not path.exists():
        raise LayerError(f"pairwise matrix {path}: file not found")
    if not path.is_file():
        raise LayerError(f"pairwise matrix {path}: not a regular file; give a CSV file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LayerError(f"pairwise matrix {path}: not a readable CSV file: {exc}") from exc
    if len(rows) < 2:
        raise LayerError(
            f"pairwise matrix {path}: needs a header row of criterion names and one row per "
            f"criterion, found {len(rows)} row(s)"
        )
    header = [cell.strip() for cell in rows[0][1:]]
    index = [row[0].strip() for row in rows[1:]]
    n = len(header)
    problems: list[str] = []
    if len(set(header)) != n or "" in header:
        problems.append(f"header names must be unique and non-empty, got {header}")
    if index != header:
        problems.append(
            f"the first column's names {index} must be the header's {header}, in the same order"
        )
    bad_length = [
        f"row {r} ({row[0].strip()!r}) has {len(row) - 1}"
        for r, row in enumerate(rows[1:], start=2)
        if len(row) - 1 != n
    ]
    if bad_length:
        problems.append(f"every row needs {n} values after its name: {', '.join(bad_length)}")
    matrix = np.full((len(index), n), np.nan)
    bad_cells: list[str] = []
    for i, row in enumerate(rows[1:]):
        for j, cell in enumerate(row[1 : n + 1]):
            value = _parse_cell(cell)
            if value is None:
                col = header[j] if j < n else str(j + 1)
                bad_cells.append(f"({index[i]}, {col}) = {cell!r}")
            else:
                matrix[i, j] = value
    if bad_cells:
        more = len(bad_cells) - _MAX_LISTED
        problems.append(
            "cells that are not numbers or fractions like 1/3: "
            + ", ".join(bad_cells[:_MAX_LISTED])
            + (f" and {more} more" if more > 0 else "")
        )
    if problems:
        raise LayerError(f"pairwise matrix {path}: " + "; ".join(problems))
    log.debug("pairwise matrix: %d criteria from %s", n, path)
    return header, matrix
