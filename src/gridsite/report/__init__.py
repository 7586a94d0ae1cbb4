"""The write edge: every file gridsite produces is written here, atomically.

- :func:`write_geojson` (RFC 7946, WGS 84 lon/lat) and :func:`write_csv` for sites and tables,
- :func:`write_geotiff` for rasters on the study's :class:`~gridsite.geo.RasterGrid`,
- :func:`write_map` for the interactive HTML map (the only user of folium in gridsite),
- :func:`write_site_pages` for the page per site explaining its rank (plain HTML and SVG),
- :func:`build_manifest` / :func:`write_manifest` for the run manifest,
- :func:`atomic_write` / :func:`atomic_write_text` underneath them all.

Writers refuse to replace an existing file (:class:`~gridsite.errors.OutputExistsError`) unless
called with ``overwrite=True``. :func:`write_map` is imported on first use, so that importing this
package (as :mod:`gridsite.study` does) does not load folium.
"""

from typing import TYPE_CHECKING, Any

from gridsite.report.atomic import atomic_write, atomic_write_text
from gridsite.report.manifest import build_manifest, file_sha256, package_versions, write_manifest
from gridsite.report.raster import write_geotiff
from gridsite.report.sitepage import write_site_pages
from gridsite.report.vector import write_csv, write_geojson

if TYPE_CHECKING:
    from gridsite.report.webmap import write_map

__all__ = [
    "atomic_write",
    "atomic_write_text",
    "build_manifest",
    "file_sha256",
    "package_versions",
    "write_csv",
    "write_geojson",
    "write_geotiff",
    "write_manifest",
    "write_map",
    "write_site_pages",
]


def __getattr__(name: str) -> Any:
    if name == "write_map":
        from gridsite.report.webmap import write_map

        return write_map
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
