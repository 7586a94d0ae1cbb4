"""The HTML map's boxes and controls: title, legend, attributions, scale bar, site list, basemap.

The title, legend and attributions are plain HTML in fixed boxes, so they show even when the map
library could not load (``assets="cdn"`` offline). The legend has one section per layer (or group
of layers); a small script shows a section while its layer is on the map and hides it when the
layer is switched off in the layer control. The scale bar and the site list are Leaflet controls.
Text from data is escaped (:func:`~gridsite.report.maptext.esc`) or set as plain text by script
(:func:`~gridsite.report.maptext.js_string`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import folium
from branca.element import Element, MacroElement
from folium.template import Template

from gridsite.report.maptext import esc

__all__ = [
    "CSS",
    "OFFLINE_NOTICE",
    "LegendSection",
    "LegendSync",
    "OnlineBasemap",
    "ScaleBar",
    "SiteList",
    "attribution_html",
    "legend_html",
    "line_swatch_html",
    "ramp_html",
    "swatch_html",
    "title_html",
]

CSS = """
<style>
.folium-map.leaflet-container { background: #eef1f4; }
.leaflet-control-layers { font: 12px/1.3 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.leaflet-control-layers label { margin: 1px 0; }
.gs-box { position: fixed; z-index: 1000; background: rgba(255, 255, 255, 0.92);
  border: 1px solid #999; border-radius: 4px; padding: 6px 8px;
  font: 12px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; }
.gs-title { top: 10px; left: 50%; transform: translateX(-50%); font-size: 15px;
  font-weight: 600; }
.gs-legend { bottom: 44px; left: 10px; min-width: 180px; max-width: 300px;
  max-height: 40vh; overflow-y: auto; }
.gs-legend-head { font-weight: 600; margin: 4px 0 2px; }
.gs-ramp { height: 10px; border: 1px solid #666; }
.gs-ramp-labels { display: flex; justify-content: space-between; }
.gs-swatch { display: inline-block; width: 22px; margin-right: 6px; vertical-align: middle; }
.gs-fill { height: 10px; border: 1px solid #666; box-sizing: border-box; }
.gs-sizes { display: flex; align-items: flex-end; gap: 10px; margin: 2px 0; }
.gs-size { display: flex; flex-direction: column; align-items: center; }
.gs-circle { display: inline-block; border-radius: 50%; border: 1px solid #222;
  background: #bbb; box-sizing: border-box; }
.gs-note { color: #555; font-size: 11px; }
.gs-attribution { bottom: 22px; right: 10px; max-width: 40%; font-size: 11px; }
.gs-rank { background: #111; color: #fff; border: 2px solid #fff; border-radius: 50%;
  width: 24px; height: 24px; line-height: 20px; text-align: center; font: 600 12px/20px
  system-ui, sans-serif; box-shadow: 0 0 3px rgba(0, 0, 0, 0.6); }
.gs-offline { top: 50px; left: 50%; transform: translateX(-50%); max-width: 480px;
  border-color: #c00; }
.gs-table { border-collapse: collapse; font-size: 12px; }
.gs-table td { overflow-wrap: anywhere; }
.leaflet-popup-scrolled { overflow-x: hidden; }
.gs-table td, .gs-table th { padding: 1px 6px; text-align: left; vertical-align: top; }
.gs-table th { color: #555; font-weight: 500; }
.gs-plot svg { display: block; max-width: 100%; height: auto; margin-bottom: 4px; }
.gs-link { margin: 0 0 4px; font-size: 12px; font-weight: 600; }
.gs-sitelist { background: rgba(255, 255, 255, 0.95); padding: 6px; width: 250px;
  font: 12px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; }
.gs-sitelist-head { font-weight: 600; margin-bottom: 4px; }
.gs-sitelist-filter { width: 100%; box-sizing: border-box; font: inherit; padding: 2px 4px; }
.gs-sitelist-items { list-style: none; margin: 4px 0 0; padding: 0; max-height: 22vh;
  overflow-y: auto; }
.gs-sitelist-item { display: block; width: 100%; text-align: left; font: inherit;
  background: none; border: 0; border-bottom: 1px solid #eee; padding: 3px 2px;
  cursor: pointer; color: #123; }
.gs-sitelist-item:hover, .gs-sitelist-item:focus { background: #e6f7fa; }
</style>
"""

# With assets="cdn" Leaflet comes from a CDN. Offline the map cannot draw, but the title, legend and
# attributions are plain HTML; say why the map is blank instead of showing an empty page.
OFFLINE_NOTICE = """
<script>
window.addEventListener("load", function () {
  if (typeof L !== "undefined") { return; }
  var box = document.createElement("div");
  box.className = "gs-box gs-offline";
  box.textContent = "The map library (Leaflet) could not be loaded from its CDN, so the layers "
    + "cannot be drawn. Open this file with an internet connection, write the map with "
    + "--map-assets inline, or use the GeoJSON and GeoTIFF outputs in a GIS.";
  document.body.appendChild(box);
});
</script>
"""


def title_html(title: str) -> str:
    """Return the title box; ``title`` is plain text."""
    return f'<div class="gs-box gs-title">{esc(title)}</div>'


def attribution_html(attributions: Sequence[str]) -> str:
    """Return the box of data attributions; each is plain text."""
    lines = "".join(f"<div>{esc(a)}</div>" for a in attributions)
    return f'<div class="gs-box gs-attribution"><b>Data</b>{lines}</div>'


# --- legend -----------------------------------------------------------------------------------


@dataclass
class LegendSection:
    """One part of the legend and the map layers it explains.

    Attributes
    ----------
    html
        The section's HTML, escaped already (use the helpers of this module).
    layers
        The folium layers it explains: the section shows while any of them is on the map.
    shown
        Whether those layers are on when the page opens.
    """

    html: str
    layers: list[Element] = field(default_factory=list)
    shown: bool = True


def ramp_html(
    heading: str, ramp: Sequence[tuple[float, str]], labels: Sequence[str], note: str = ""
) -> str:
    """Return a legend heading over a colour ramp (anchors ``(0..1, colour)``), end labels.

    ``heading``, ``labels`` and ``note`` are plain text.
    """
    stops = ", ".join(f"{colour} {100 * pos:.1f}%" for pos, colour in ramp)
    spans = "".join(f"<span>{esc(label)}</span>" for label in labels)
    parts = [
        f'<div class="gs-legend-head">{esc(heading)}</div>',
        f'<div class="gs-ramp" style="background: linear-gradient(to right, {stops});"></div>',
        f'<div class="gs-ramp-labels">{spans}</div>',
    ]
    if note:
        parts.append(f'<div class="gs-note">{esc(note)}</div>')
    return "".join(parts)


def swatch_html(colour: str, label: str, *, opacity: float = 1.0) -> str:
    """Return a filled box of ``colour`` (``#rrggbb``) with a plain-text label."""
    return (
        f'<div><span class="gs-swatch gs-fill" style="background: {colour}; '
        f'opacity: {opacity:g};"></span>{esc(label)}</div>'
    )


def line_swatch_html(colour: str, weight_px: float, label: str, *, dash: str = "") -> str:
    """Return a line of ``colour``, ``weight_px`` wide (solid or ``dash``-ed), and a label."""
    style = "dashed" if dash else "solid"
    return (
        f'<div><span class="gs-swatch" style="border-top: {weight_px:g}px {style} {colour};">'
        f"</span>{esc(label)}</div>"
    )


def legend_html(sections: Sequence[LegendSection]) -> str:
    """Return the legend box; section ``i`` has the id ``gs-legend-<i>``, hidden if not shown."""
    parts = ['<div class="gs-box gs-legend">']
    for i, section in enumerate(sections):
        hidden = "" if section.shown else ' style="display: none;"'
        parts.append(f'<div class="gs-legend-part" id="gs-legend-{i}"{hidden}>{section.html}</div>')
    parts.append("</div>")
    return "".join(parts)


class LegendSync(MacroElement):
    """Show each legend section while one of its layers is on the map (add to the map last)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var parts = [
            {%- for id, layers in this.parts %}
                [{{ id|tojson }}, [{% for l in layers %}{{ l.get_name() }}, {% endfor %}]],
            {%- endfor %}
            ];
            function sync() {
                parts.forEach(function (part) {
                    var box = document.getElementById(part[0]);
                    if (!box) { return; }
                    var on = part[1].some(function (l) { return map.hasLayer(l); });
                    box.style.display = on ? "" : "none";
                });
            }
            map.on("overlayadd overlayremove", sync);
            sync();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, sections: Sequence[LegendSection]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "LegendSync"
        self.parts = [(f"gs-legend-{i}", s.layers) for i, s in enumerate(sections) if s.layers]


# --- Leaflet controls -------------------------------------------------------------------------


class ScaleBar(MacroElement):
    """Leaflet's scale bar, metric only, at the bottom left."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, maxWidth: 150, position: "bottomleft"})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "ScaleBar"


class SiteList(MacroElement):
    """A control listing the sites by rank, with a filter box; a click zooms to the site.

    Clicking an entry centres the map on the site's marker (zoom at least ``zoom``) and opens the
    marker's popup (also when the marker layer is switched off). The entries are plain text, set
    with ``textContent``.

    Parameters
    ----------
    entries
        ``(text, marker)`` per site, best first: the entry's text as a JavaScript string literal
        (:func:`~gridsite.report.maptext.js_string`) and the site's folium marker.
    zoom
        Least zoom level to show a site at.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var sites = [
            {%- for text, marker in this.entries %}
                [{{ text }}, {{ marker.get_name() }}],
            {%- endfor %}
            ];
            function show(marker) {
                var at = marker.getLatLng();
                map.closePopup();
                map.setView(at, Math.max(map.getZoom(), {{ this.zoom }}), {animate: false});
                if (map.hasLayer(marker)) { marker.openPopup(); }
                else { map.openPopup(marker.getPopup(), at); }
            }
            var SiteList = L.Control.extend({
                options: {position: "topleft"},
                onAdd: function () {
                    var box = L.DomUtil.create("div", "gs-sitelist leaflet-bar");
                    L.DomEvent.disableClickPropagation(box);
                    L.DomEvent.disableScrollPropagation(box);
                    L.DomUtil.create("div", "gs-sitelist-head", box).textContent =
                        "Sites by rank";
                    var input = L.DomUtil.create("input", "gs-sitelist-filter", box);
                    input.type = "search";
                    input.placeholder = "Filter: rank, id, place";
                    input.setAttribute("aria-label", "Filter the sites");
                    var count = L.DomUtil.create("div", "gs-note gs-sitelist-count", box);
                    var list = L.DomUtil.create("ol", "gs-sitelist-items", box);
                    var items = sites.map(function (site) {
                        var item = L.DomUtil.create("li", "", list);
                        var button = L.DomUtil.create("button", "gs-sitelist-item", item);
                        button.type = "button";
                        button.textContent = site[0];
                        L.DomEvent.on(button, "click", function () { show(site[1]); });
                        return [item, site[0].toLowerCase()];
                    });
                    function filter() {
                        var words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
                        var n = 0;
                        items.forEach(function (entry) {
                            var hit = words.every(function (w) { return entry[1].includes(w); });
                            entry[0].style.display = hit ? "" : "none";
                            if (hit) { n += 1; }
                        });
                        count.textContent = n + " of " + items.length + " sites";
                    }
                    L.DomEvent.on(input, "input", filter);
                    filter();
                    return box;
                }
            });
            new SiteList().addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, entries: Sequence[tuple[str, Element]], *, zoom: int = 12) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "SiteList"
        self.entries = list(entries)
        self.zoom = int(zoom)


class OnlineBasemap(MacroElement):
    """Add a tile layer to its map only while the browser is online (no failed tile requests)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, tiles = {{ this.tiles.get_name() }};
            var shown = false;
            function show() {
                if (!shown) { shown = true; map.addLayer(tiles); }
            }
            if (navigator.onLine) { show(); } else { window.addEventListener("online", show); }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, tiles: folium.TileLayer) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "OnlineBasemap"
        self.tiles = tiles
