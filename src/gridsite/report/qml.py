"""A QGIS layer style (``.qml``) for the suitability raster, drawn as the web map draws it.

QGIS applies ``<name>.qml`` beside ``<name>.tif`` when the raster is added, so opening
``suitability.tif`` in QGIS shows the same colours as ``map.html``: a singleband pseudocolor
renderer of band 1 with an interpolated ramp over 0-1 through the map's stops
(:data:`~gridsite.report.overlay.SUITABILITY_RAMP`), no-data cells and excluded cells (score 0)
transparent, as on the map.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path

from gridsite.report.atomic import atomic_write_text
from gridsite.report.overlay import SUITABILITY_RAMP

__all__ = ["suitability_qml", "write_suitability_qml"]

logger = logging.getLogger(__name__)

#: QGIS version the style declares (any QGIS 3 reads it).
_QGIS_VERSION = "3.28.0"


def _rgba(colour: str) -> str:
    """``"#440154"`` -> ``"68,1,84,255"`` (QGIS colour-ramp notation)."""
    return f"{int(colour[1:3], 16)},{int(colour[3:5], 16)},{int(colour[5:7], 16)},255"


def _option(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "Option", {"type": "QString", "name": name, "value": value})


def suitability_qml(*, band: int = 1, zero_transparent: bool = True) -> str:
    """Return the QGIS style of a suitability raster as QML text.

    Parameters
    ----------
    band
        The band to draw (1 in ``suitability.tif``).
    zero_transparent
        Draw cells of value 0 (excluded) transparent, as the web map does.

    Returns
    -------
    str
        The ``.qml`` document (UTF-8 XML with QGIS's doctype): a ``singlebandpseudocolor``
        renderer of ``band`` with ``classificationMin`` 0 and ``classificationMax`` 1 and one
        ``item`` per stop of :data:`~gridsite.report.overlay.SUITABILITY_RAMP`.

    Examples
    --------
    >>> root = ET.fromstring(suitability_qml())
    >>> root.find("pipe/rasterrenderer").get("band")
    '1'
    >>> [i.get("color") for i in root.iter("item")][:2]
    ['#440154', '#482878']
    """
    root = ET.Element(
        "qgis",
        {"version": _QGIS_VERSION, "styleCategories": "AllStyleCategories"},
    )
    pipe = ET.SubElement(root, "pipe")
    renderer = ET.SubElement(
        pipe,
        "rasterrenderer",
        {
            "type": "singlebandpseudocolor",
            "band": str(band),
            "opacity": "1",
            "alphaBand": "-1",
            "nodataColor": "",
            "classificationMin": "0",
            "classificationMax": "1",
        },
    )
    transparency = ET.SubElement(renderer, "rasterTransparency")
    if zero_transparent:
        pixels = ET.SubElement(transparency, "singleValuePixelList")
        ET.SubElement(
            pixels, "pixelListEntry", {"min": "0", "max": "0", "percentTransparent": "100"}
        )
    origin = ET.SubElement(renderer, "minMaxOrigin")
    for tag, text in (("limits", "None"), ("extent", "WholeRaster"), ("statAccuracy", "Exact")):
        ET.SubElement(origin, tag).text = text
    shader = ET.SubElement(ET.SubElement(renderer, "rastershader"), "colorrampshader")
    shader.attrib.update(
        {
            "colorRampType": "INTERPOLATED",
            "classificationMode": "1",
            "clip": "0",
            "minimumValue": "0",
            "maximumValue": "1",
            "labelPrecision": "3",
        }
    )
    ramp = ET.SubElement(shader, "colorramp", {"type": "gradient", "name": "[source]"})
    options = ET.SubElement(ramp, "Option", {"type": "Map"})
    first, last = SUITABILITY_RAMP[0], SUITABILITY_RAMP[-1]
    _option(options, "color1", _rgba(first[1]))
    _option(options, "color2", _rgba(last[1]))
    _option(options, "discrete", "0")
    _option(options, "rampType", "gradient")
    inner = SUITABILITY_RAMP[1:-1]
    _option(options, "stops", ":".join(f"{pos:g};{_rgba(colour)}" for pos, colour in inner))
    for pos, colour in SUITABILITY_RAMP:
        ET.SubElement(
            shader,
            "item",
            {"alpha": "255", "value": f"{pos:g}", "label": f"{pos:g}", "color": colour},
        )
    ET.SubElement(pipe, "brightnesscontrast", {"brightness": "0", "contrast": "0", "gamma": "1"})
    ET.SubElement(pipe, "rasterresampler", {"maxOversampling": "2"})
    ET.SubElement(root, "blendMode").text = "0"
    ET.indent(root)
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        + ET.tostring(root, encoding="unicode")
        + "\n"
    )


def write_suitability_qml(path: Path, *, band: int = 1, overwrite: bool = False) -> Path:
    """Write :func:`suitability_qml` atomically to ``path`` (``suitability.qml`` by the raster).

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    atomic_write_text(Path(path), suitability_qml(band=band), overwrite=overwrite)
    logger.info("wrote %s: QGIS style of band %d", path, band)
    return Path(path)
