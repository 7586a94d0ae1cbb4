"""gridsite: find and rank sites for AI data centres with their own renewable supply.

The common case is two calls::

    import gridsite
    result = gridsite.Study.from_toml("studies/korea.toml").run()
    result.write("maps/korea")

Importing gridsite loads neither folium nor click; they load when a map is written or the CLI runs.
"""

from typing import TYPE_CHECKING, Any

from gridsite.errors import (
    ConfigError,
    CRSError,
    DataRootError,
    GridsiteError,
    LayerError,
    NoCandidateSitesError,
    OutputExistsError,
    PowerGridError,
)
from gridsite.geo import Raster, RasterGrid

if TYPE_CHECKING:
    from gridsite.study import Study, StudyResult

__all__ = [
    "CRSError",
    "ConfigError",
    "DataRootError",
    "GridsiteError",
    "LayerError",
    "NoCandidateSitesError",
    "OutputExistsError",
    "PowerGridError",
    "Raster",
    "RasterGrid",
    "Study",
    "StudyResult",
]


def __getattr__(name: str) -> Any:
    # Study pulls in geopandas, rasterio and networkx: load it on first use, not on import.
    if name in ("Study", "StudyResult"):
        from gridsite import study

        return getattr(study, name)
    raise AttributeError(f"module 'gridsite' has no attribute {name!r}")
