"""A small static map of one site as inline SVG, drawn in the study CRS (metres).

The map shows the site polygon, its tie line to the substation it connects to, the transmission
lines and buses around them coloured by voltage, a scale bar in km and a north arrow. It is a
plain string (no script, no external reference, no element id), so it works offline, prints, and
several can share a page. Every text from data is escaped for HTML and XML.

Coordinates: the study CRS is projected, in metres, x east and y north; the SVG's user units are
pixels, x right and y down. :class:`MapFrame` is the one affine map between them (north up along
the grid, equal scale on both axes). Grid north and true north differ by the meridian convergence
of the projection; the north arrow points to true north (:func:`true_north_deg`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from gridsite.report.maptext import voltage_class_kv, voltage_colour

__all__ = [
    "MapFrame",
    "frame_around",
    "nice_scale_km",
    "site_map_svg",
    "true_north_deg",
]

_LINE_WIDTH_PX: Mapping[int, float] = {765: 3.5, 345: 2.5, 154: 1.6}
_OTHER_LINE_WIDTH_PX = 1.2
SITE_COLOUR = "#0072B2"
ROUTE_COLOUR = "#000000"

_WIDTH_PX = 600
_HEIGHT_PX = 400
_PAD_FRACTION = 0.15  # of the larger side of the site+route box, on each side
_MIN_SPAN_M = 6000.0  # smallest window side: a site beside its substation still shows context
_MARGIN_PX = 12  # scale bar and north arrow from the frame's edges


@dataclass(frozen=True)
class MapFrame:
    """The affine map from study-CRS metres to SVG pixels: north up, equal scale on both axes.

    Attributes
    ----------
    xmin_m, ymax_m
        Study-CRS coordinates (m) of the frame's top-left corner, SVG point (0, 0).
    px_per_m
        Scale, SVG pixels per metre.
    width_px, height_px
        Size of the frame in SVG pixels.
    """

    xmin_m: float
    ymax_m: float
    px_per_m: float
    width_px: float
    height_px: float

    @property
    def bounds_m(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the frame in the study CRS, metres."""
        return (
            self.xmin_m,
            self.ymax_m - self.height_px / self.px_per_m,
            self.xmin_m + self.width_px / self.px_per_m,
            self.ymax_m,
        )

    def to_px(self, x_m: float, y_m: float) -> tuple[float, float]:
        """Return the SVG point ``(x, y)`` in pixels of the study-CRS point ``(x_m, y_m)``.

        Examples
        --------
        >>> MapFrame(xmin_m=1000.0, ymax_m=5000.0, px_per_m=0.1, width_px=600, height_px=400
        ...          ).to_px(1500.0, 4000.0)
        (50.0, 100.0)
        """
        return (x_m - self.xmin_m) * self.px_per_m, (self.ymax_m - y_m) * self.px_per_m


def frame_around(
    bounds_m: tuple[float, float, float, float],
    *,
    width_px: float = _WIDTH_PX,
    height_px: float = _HEIGHT_PX,
    pad_fraction: float = _PAD_FRACTION,
    min_span_m: float = _MIN_SPAN_M,
) -> MapFrame:
    """Return the frame that shows ``bounds_m`` centred, padded, at the largest scale that fits.

    Parameters
    ----------
    bounds_m
        ``(xmin, ymin, xmax, ymax)`` to show, study CRS, metres.
    width_px, height_px
        Size of the SVG.
    pad_fraction
        Margin added on each side, as a fraction of the larger side of ``bounds_m``.
    min_span_m
        The padded box is widened to at least this many metres on each axis.

    Examples
    --------
    A 4 km x 2 km box padded by 10 % of 4 km becomes 4.8 km x 2.8 km; a 600 x 400 px frame fits
    its width at 600 / 4800 = 0.125 px/m, centred on (2000, 1000):

    >>> f = frame_around((0, 0, 4000, 2000), pad_fraction=0.1, min_span_m=0)
    >>> f.px_per_m, f.xmin_m, f.ymax_m
    (0.125, -400.0, 2600.0)
    """
    xmin, ymin, xmax, ymax = (float(v) for v in bounds_m)
    pad = pad_fraction * max(xmax - xmin, ymax - ymin)
    span_x = max(xmax - xmin + 2 * pad, min_span_m)
    span_y = max(ymax - ymin + 2 * pad, min_span_m)
    if not (span_x > 0 and span_y > 0):
        raise ValueError(f"cannot frame the empty box {bounds_m}; give min_span_m > 0")
    scale = min(width_px / span_x, height_px / span_y)
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    return MapFrame(
        xmin_m=cx - width_px / scale / 2,
        ymax_m=cy + height_px / scale / 2,
        px_per_m=scale,
        width_px=width_px,
        height_px=height_px,
    )


def nice_scale_km(max_km: float) -> float:
    """Return the longest 1, 2 or 5 x 10^k km that does not exceed ``max_km``.

    Examples
    --------
    >>> nice_scale_km(7.3), nice_scale_km(2.0), nice_scale_km(0.45)
    (5.0, 2.0, 0.2)
    """
    if not (max_km > 0 and math.isfinite(max_km)):
        raise ValueError(f"max_km must be positive and finite, got {max_km}")
    power = 10.0 ** math.floor(math.log10(max_km))
    best = power
    for step in (1.0, 2.0, 5.0):
        # round away float noise (e.g. 0.1 * 5) so the label is the number it means
        if round(step * power, 12) <= max_km * (1 + 1e-12):
            best = round(step * power, 12)
    return best


def true_north_deg(crs: Any, x_m: float, y_m: float) -> float:
    """Return the direction of true north at a point, in degrees clockwise from grid north.

    This is the angle a north arrow drawn at ``(x_m, y_m)`` on a north-up map of ``crs`` turns:
    minus the meridian convergence (e.g. west of a transverse Mercator's central meridian, true
    north lies east of grid north).

    Parameters
    ----------
    crs
        A projected CRS (anything :class:`pyproj.CRS` takes).
    x_m, y_m
        The point, in ``crs``, metres.
    """
    crs = CRS.from_user_input(crs)
    to_geo = Transformer.from_crs(crs, 4326, always_xy=True)
    to_map = Transformer.from_crs(4326, crs, always_xy=True)
    lon, lat = to_geo.transform(x_m, y_m)
    step_deg = 0.01  # ~1 km of latitude: short enough for a straight meridian
    x2, y2 = to_map.transform(lon, lat + step_deg)
    return math.degrees(math.atan2(x2 - x_m, y2 - y_m))


def site_map_svg(
    site: BaseGeometry,
    *,
    crs: Any,
    lines: gpd.GeoDataFrame,
    buses: gpd.GeoDataFrame,
    route: BaseGeometry | None = None,
    substation: Point | None = None,
    substation_label: str = "",
    title: str = "",
    frame: MapFrame | None = None,
) -> str:
    """Return an inline SVG map of one site and its connection to the power grid.

    Parameters
    ----------
    site
        The site's polygon, in ``crs`` (metres).
    crs
        The study CRS, projected, metres; ``lines`` and ``buses`` must be in it.
    lines
        Transmission lines (LineStrings, ``voltage_kv`` column), in ``crs``; those crossing the
        frame are clipped to it and coloured by voltage class.
    buses
        Buses (Points, ``voltage_kv`` column), in ``crs``; those inside the frame are drawn.
    route
        The site's tie line (LineString) in ``crs``; None draws no tie line.
    substation
        The point the site connects to, in ``crs``; drawn as a ring with ``substation_label``.
    substation_label
        Text beside the substation (escaped here).
    title
        Accessible title of the SVG (escaped here).
    frame
        The frame to draw in; by default :func:`frame_around` the site, route and substation.

    Returns
    -------
    str
        An ``<svg>`` element: ``path.line`` (one per clipped line part), ``circle.bus``,
        ``path.site``, ``path.route``, ``circle.substation``, ``g.scale-bar`` (``line`` whose
        length is the labelled km) and ``g.north-arrow`` (rotated to true north).
    """
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        raise ValueError(f"the site map needs a projected CRS in metres, got {crs.to_string()}")
    shown = [g for g in (site, route, substation) if g is not None and not g.is_empty]
    if frame is None:
        frame = frame_around(tuple(shapely.total_bounds(shown)))
    xmin, ymin, xmax, ymax = frame.bounds_m
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="site-map" viewBox="0 0 '
        f'{_n(frame.width_px)} {_n(frame.height_px)}" width="{_n(frame.width_px)}" '
        f'height="{_n(frame.height_px)}" role="img">',
        f"<title>{_esc(title)}</title>" if title else "",
        f'<rect class="background" x="0" y="0" width="{_n(frame.width_px)}" '
        f'height="{_n(frame.height_px)}" fill="#f4f6f8" stroke="#999"/>',
    ]
    parts += _lines_svg(lines, frame, (xmin, ymin, xmax, ymax))
    parts += _buses_svg(buses, frame, (xmin, ymin, xmax, ymax))
    parts.append(
        f'<path class="site" d="{_path(site, frame, closed=True)}" fill="{SITE_COLOUR}" '
        f'fill-opacity="0.35" stroke="{SITE_COLOUR}" stroke-width="2" fill-rule="evenodd"/>'
    )
    if route is not None and not route.is_empty:
        parts.append(
            f'<path class="route" d="{_path(route, frame, closed=False)}" fill="none" '
            f'stroke="{ROUTE_COLOUR}" stroke-width="2.5" stroke-dasharray="7 4" '
            'stroke-linecap="round" stroke-linejoin="round"/>'
        )
    if substation is not None and not substation.is_empty:
        sx, sy = frame.to_px(substation.x, substation.y)
        parts.append(
            f'<circle class="substation" cx="{_n(sx)}" cy="{_n(sy)}" r="7" fill="none" '
            'stroke="#000" stroke-width="2.5"/>'
        )
        if substation_label:
            anchor = "end" if sx > frame.width_px * 0.6 else "start"
            dx = -10 if anchor == "end" else 10
            parts.append(
                f'<text class="substation-label" x="{_n(sx + dx)}" y="{_n(sy - 8)}" '
                f'text-anchor="{anchor}" font-size="12" stroke="#fff" stroke-width="3" '
                f'paint-order="stroke">{_esc(substation_label)}</text>'
            )
    parts.append(_scale_bar(frame))
    centre = ((xmin + xmax) / 2, (ymin + ymax) / 2)
    parts.append(_north_arrow(frame, true_north_deg(crs, *centre)))
    parts.append("</svg>")
    return "".join(parts)


# --- internals ------------------------------------------------------------------------------


def _lines_svg(
    lines: gpd.GeoDataFrame, frame: MapFrame, box: tuple[float, float, float, float]
) -> list[str]:
    """Lines crossing ``box``, clipped to it, lowest voltage first (higher ones drawn on top)."""
    if lines.empty:
        return []
    geoms = np.asarray(lines.geometry.values, dtype=object)
    clipped = shapely.clip_by_rect(geoms, *box)
    volts = lines["voltage_kv"].to_numpy() if "voltage_kv" in lines else [None] * len(lines)
    keep = [
        (float(v) if voltage_class_kv(v) else -1.0, i, g)
        for i, (g, v) in enumerate(zip(clipped, volts, strict=True))
        if g is not None and not g.is_empty
    ]
    out = []
    for _, i, geom in sorted(keep, key=lambda t: (t[0], t[1])):
        kv = voltage_class_kv(volts[i])
        width = _OTHER_LINE_WIDTH_PX if kv is None else _LINE_WIDTH_PX[kv]
        for part in shapely.get_parts(geom):
            if part.geom_type != "LineString":
                continue
            out.append(
                f'<path class="line" data-kv="{_esc(_kv_text(volts[i]))}" '
                f'd="{_path(part, frame, closed=False)}" fill="none" '
                f'stroke="{voltage_colour(volts[i])}" stroke-width="{_n(width)}" '
                'stroke-linecap="round"/>'
            )
    return out


def _buses_svg(
    buses: gpd.GeoDataFrame, frame: MapFrame, box: tuple[float, float, float, float]
) -> list[str]:
    if buses.empty:
        return []
    xmin, ymin, xmax, ymax = box
    volts = buses["voltage_kv"].to_numpy() if "voltage_kv" in buses else [None] * len(buses)
    out = []
    for geom, kv in zip(buses.geometry, volts, strict=True):
        if geom is None or geom.is_empty or geom.geom_type != "Point":
            continue
        if not (xmin <= geom.x <= xmax and ymin <= geom.y <= ymax):
            continue
        x, y = frame.to_px(geom.x, geom.y)
        out.append(
            f'<circle class="bus" data-kv="{_esc(_kv_text(kv))}" cx="{_n(x)}" cy="{_n(y)}" '
            f'r="3.5" fill="{voltage_colour(kv)}" stroke="#222" stroke-width="0.8"/>'
        )
    return out


def _scale_bar(frame: MapFrame) -> str:
    """Return a scale bar of a round number of km, at most a quarter of the frame wide."""
    width_m = frame.width_px / frame.px_per_m
    km = nice_scale_km(width_m / 4 / 1000)
    length = km * 1000 * frame.px_per_m
    x0, y0 = _MARGIN_PX, frame.height_px - _MARGIN_PX
    label = f"{km:g} km"
    return (
        '<g class="scale-bar">'
        f'<rect x="{_n(x0 - 4)}" y="{_n(y0 - 20)}" width="{_n(length + 8)}" height="26" '
        'fill="#fff" fill-opacity="0.8"/>'
        f'<line x1="{_n(x0)}" y1="{_n(y0)}" x2="{_n(x0 + length)}" y2="{_n(y0)}" '
        'stroke="#000" stroke-width="3"/>'
        f'<line x1="{_n(x0)}" y1="{_n(y0 - 5)}" x2="{_n(x0)}" y2="{_n(y0)}" stroke="#000"/>'
        f'<line x1="{_n(x0 + length)}" y1="{_n(y0 - 5)}" x2="{_n(x0 + length)}" '
        f'y2="{_n(y0)}" stroke="#000"/>'
        f'<text x="{_n(x0 + length / 2)}" y="{_n(y0 - 7)}" text-anchor="middle" '
        f'font-size="12">{label}</text>'
        "</g>"
    )


def _north_arrow(frame: MapFrame, angle_deg: float) -> str:
    """Return an arrow turned ``angle_deg`` clockwise from the frame's up, top right."""
    cx, cy = frame.width_px - _MARGIN_PX - 14, _MARGIN_PX + 24
    return (
        '<g class="north-arrow">'
        f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="20" fill="#fff" fill-opacity="0.8"/>'
        f'<g transform="rotate({angle_deg:.2f} {_n(cx)} {_n(cy)})">'
        f'<path d="M{_n(cx)} {_n(cy - 16)} L{_n(cx + 6)} {_n(cy + 6)} L{_n(cx)} {_n(cy + 2)} '
        f'L{_n(cx - 6)} {_n(cy + 6)} Z" fill="#000"/>'
        "</g>"
        f'<text x="{_n(cx)}" y="{_n(cy + 17)}" text-anchor="middle" font-size="10" '
        'font-weight="bold">N</text>'
        "</g>"
    )


def _path(geom: BaseGeometry, frame: MapFrame, *, closed: bool) -> str:
    """SVG path data of a (multi) line or polygon: one subpath per line or ring."""
    rings: list[Sequence[tuple[float, float]]] = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            rings.append(list(part.exterior.coords))
            rings += [list(r.coords) for r in part.interiors]
        else:
            rings.append(list(part.coords))
    out = []
    for ring in rings:
        pts = [frame.to_px(x, y) for x, y, *_ in ring]
        if closed and len(pts) > 1 and pts[0] == pts[-1]:
            pts = pts[:-1]
        head, *rest = pts
        out.append(f"M{_n(head[0])} {_n(head[1])}" + "".join(f" L{_n(x)} {_n(y)}" for x, y in rest))
        if closed:
            out[-1] += " Z"
    return " ".join(out)


def _kv_text(voltage_kv: object) -> str:
    try:
        kv = float(voltage_kv)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(kv) else f"{kv:g}"


def _n(value: float) -> str:
    """Format a coordinate with one decimal, no trailing zeros, no negative zero."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)
