"""One exception hierarchy for gridsite.

Every error a user can cause derives from :class:`GridsiteError` and from the matching builtin, so
callers can catch either. Messages name the file, layer or field at fault and say what to do.
"""

from __future__ import annotations

__all__ = [
    "CRSError",
    "ConfigError",
    "DataRootError",
    "GridsiteError",
    "LayerError",
    "MapAssetsError",
    "NoCandidateSitesError",
    "NoPathError",
    "OutputExistsError",
    "PowerGridError",
]


class GridsiteError(Exception):
    """Root of every error raised on purpose by gridsite."""


class ConfigError(GridsiteError, ValueError):
    """A study file or layer catalog is invalid (unknown key, wrong type, missing entry)."""


class DataRootError(GridsiteError, FileNotFoundError):
    """The data root does not exist or is not a folder."""


class LayerError(GridsiteError, ValueError):
    """A layer file is missing, unreadable, lacks a field, or does not overlap the study area."""


class CRSError(LayerError):
    """A layer has no CRS, or one that cannot be used."""


class PowerGridError(GridsiteError, ValueError):
    """The power-grid tables cannot be turned into a usable graph."""


class NoCandidateSitesError(GridsiteError, RuntimeError):
    """No area is large and suitable enough to hold a campus."""


class NoPathError(GridsiteError, RuntimeError):
    """No passable route joins two cells of a cost raster (barriers cut them apart)."""


class OutputExistsError(GridsiteError, FileExistsError):
    """An output would overwrite an existing file and overwriting was not asked for."""


class MapAssetsError(GridsiteError, FileNotFoundError):
    """The map's scripts and styles are not installed where a self-contained map.html needs them."""
