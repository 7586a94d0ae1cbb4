"""Turn a rasterised constraint layer into the cells it excludes."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gridsite.criteria.distance import north_of, within_distance
from gridsite.errors import ConfigError

__all__ = ["exclusion_mask"]


def exclusion_mask(
    kind: str,
    features: NDArray[np.bool_],
    *,
    buffer_m: float = 0.0,
    resolution_m: float,
) -> NDArray[np.bool_]:
    """Cells excluded by one constraint.

    Parameters
    ----------
    kind
        ``outside``: cells not covered by ``features`` (e.g. outside a country outline);
        ``inside``: cells covered, grown by ``buffer_m``; ``near``: cells within ``buffer_m`` of a
        feature (lines, points); ``north_of``: the feature cells, every cell north of them in the
        same column, and cells within ``buffer_m`` (a demarcation line and the land beyond it).
    features
        Boolean raster of the constraint layer's features on the study grid.
    buffer_m
        Buffer distance in metres, centre to centre.
    resolution_m
        Cell size of the grid in metres.

    Examples
    --------
    >>> line = np.array([[0, 0], [1, 0], [0, 0]], dtype=bool)
    >>> exclusion_mask("north_of", line, resolution_m=100).astype(int).tolist()
    [[1, 0], [1, 0], [0, 0]]
    """
    grown = (
        within_distance(features, distance_m=buffer_m, resolution_m=resolution_m)
        if buffer_m > 0
        else features
    )
    if kind == "outside":
        return ~grown
    if kind in ("inside", "near"):
        return grown
    if kind == "north_of":
        return north_of(features) | grown
    raise ConfigError(f"constraint kind {kind!r} is not one of outside, inside, near, north_of")
