"""One HTML page per ranked site explaining its rank, and an index of all of them.

``sites/index.html`` lists the ranked sites, each linking its ``sites/<site_id>.html``. A site's
page holds, as far as the study ran the stage behind each:

1. the site on a small map with its tie line, the substation and the power grid around it
   (:func:`gridsite.report.svgmap.site_map_svg`, inline SVG in the study CRS);
2. a waterfall chart of each criterion's and ranking term's part of the score, with their values,
   units, scores and weights (:func:`gridsite.report.sitecharts.contribution_svg`);
3. the interconnection cost breakdown;
4. what the power grid can deliver there (hosting capacity N-1 and N-0, headroom, redundancy)
   and the speed to power;
5. the co-located supply and its hourly match plot (:mod:`gridsite.report.supplyplot`);
6. the rank's spread over the Monte Carlo weight draws
   (:func:`gridsite.report.sitecharts.rank_range_svg`);
7. the data lineage: inputs with their sha256, licences and attributions, software versions.

A section whose columns the sites table lacks is left out. The pages are hand-written HTML with
inline CSS and SVG: no script, no external request, printable. Every value from data is
HTML-escaped. The same inputs give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from gridsite.report.atomic import atomic_write_text
from gridsite.report.maptext import LINE_COLOURS, OTHER_LINE_COLOUR
from gridsite.report.sitecharts import Contribution, contribution_svg, rank_range_svg
from gridsite.report.sitetables import (
    FIELDS,
    esc,
    field_unit,
    fmt,
    is_missing,
    lineage_html,
    rows_table,
    text,
    with_unit,
)
from gridsite.report.svgmap import ROUTE_COLOUR, SITE_COLOUR, site_map_svg
from gridsite.spec import StudySpec

__all__ = ["SITE_PAGES", "site_page_name", "write_site_pages"]

#: Folder of the site pages in a run's output folder.
SITE_PAGES = "sites"

_SAFE_NAME = re.compile(r"^[\w.-]+$")
# Columns of the index, with their (short) headings.
_INDEX_COLUMNS = {
    "substation_kv": "kV",
    "interconnect_km": "Straight km",
    "route_km": "Route km",
    "interconnect_cost_musd": "Cost MUSD",
    "hosting_capacity_mw": "N-1 hosting MW",
    "supplied": "Supplied",
    "speed_to_power_months": "Months to power",
    "cfe_share": "Hourly CFE",
    "lcoe_usd_mwh": "Supply USD/MWh",
}
_UNIT_TEXT = {"degC": "°C", "1": "", "-": ""}  # criteria's units as written in study files

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans",
  "Noto Sans CJK KR", sans-serif; color: #222; max-width: 980px; margin: 0 auto;
  padding: 12px 20px 40px; }
nav { font-size: 13px; margin-bottom: 8px; }
nav a { margin-right: 14px; }
h1 { font-size: 22px; margin: 6px 0 2px; }
h2 { font-size: 17px; margin: 26px 0 8px; border-bottom: 1px solid #ccc; padding-bottom: 3px; }
.sub { color: #555; margin: 0; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { padding: 2px 10px 2px 0; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
thead th { border-bottom: 1px solid #999; font-weight: 600; }
tbody th { font-weight: normal; color: #444; }
tr.total th, tr.total td { border-top: 1px solid #999; font-weight: 600; }
.index tbody tr:nth-child(even) { background: #f4f6f8; }
figure { margin: 8px 0; }
figcaption { font-size: 12px; color: #444; margin-top: 4px; }
svg { max-width: 100%; height: auto; }
.supply-plot svg { width: 640px; }
a.site-link { white-space: nowrap; }
.swatch { display: inline-block; width: 18px; height: 10px; margin: 0 4px 0 10px;
  vertical-align: middle; border: 1px solid #666; }
.note { color: #555; font-size: 12px; }
code { font-size: 12px; overflow-wrap: anywhere; }
@media print {
  nav { display: none; }
  body { max-width: none; padding: 0; }
  section, figure, table { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def site_page_name(site_id: object) -> str:
    """Return the file name of a site's page, ``<site_id>.html``.

    Raises
    ------
    ValueError
        If the id holds anything but letters, digits, ``_``, ``.`` and ``-`` (a path separator
        would write outside the folder), or starts with a dot.

    Examples
    --------
    >>> site_page_name("korea-0926-1782")
    'korea-0926-1782.html'
    """
    name = str(site_id)
    if not _SAFE_NAME.match(name) or name.startswith("."):
        raise ValueError(
            f"site id {name!r} cannot name a page file; site ids hold letters, digits, '_', "
            "'.' and '-' (they come from the study name: rename the study)"
        )
    return f"{name}.html"


@dataclass(frozen=True)
class _Run:
    """What every page of one run shares."""

    spec: StudySpec
    sites: gpd.GeoDataFrame
    buses: gpd.GeoDataFrame
    lines: gpd.GeoDataFrame
    routes: Mapping[str, BaseGeometry]
    supply_plots: Mapping[str, str]
    score_weights: Mapping[str, float]
    lineage: str
    map_href: str | None
    n_ranks: int


def write_site_pages(
    folder: Path,
    sites: gpd.GeoDataFrame,
    *,
    spec: StudySpec,
    buses: gpd.GeoDataFrame,
    lines: gpd.GeoDataFrame,
    routes: gpd.GeoDataFrame | None = None,
    supply_plots: Mapping[str, str] | None = None,
    score_weights: Mapping[str, float] | None = None,
    inputs: Sequence[Mapping[str, Any]] = (),
    attributions: Sequence[Mapping[str, str]] = (),
    map_href: str | None = "../map.html",
) -> list[Path]:
    """Write ``index.html`` and one ``<site_id>.html`` per site into ``folder``.

    Parameters
    ----------
    folder
        The pages' folder (created if missing), normally ``<output folder>/sites``.
    sites
        Ranked sites, best first, polygons in the study CRS (projected, metres): the sites table
        of :class:`gridsite.study.StudyResult`. Sections whose columns are absent are left out.
    spec
        The study: names, CRS, resolution, criteria and ranking terms (their units and order).
    buses, lines
        The power grid's buses and branches (any CRS; reprojected to the sites' CRS), as from
        :func:`gridsite.powergrid.graph.graph_to_gdfs`.
    routes
        Routed tie lines with a ``site_id`` column (any CRS); None draws a straight line from
        each site to its substation.
    supply_plots
        Inline SVG of each site's hourly supply match by site id (from
        :func:`gridsite.report.supplyplot.supply_svg`), shown as given.
    score_weights
        Weight of each ``score_<name>`` column in the site score, shown beside the parts.
    inputs
        ``{name, path, sha256, bytes}`` of every file the run read
        (:func:`gridsite.report.manifest.input_records`), for the lineage.
    attributions
        ``{layer, licence, attribution}`` of the data used.
    map_href
        Link from the pages to the study's web map; None for no link. The pages also link the
        run's ``../manifest.json``.

    Returns
    -------
    list of Path
        ``index.html``, then the site pages in rank order.
    """
    if sites.crs is None or not sites.crs.is_projected:
        raise ValueError("the sites need a projected CRS in metres to draw their maps")
    names = [site_page_name(s) for s in sites["site_id"]]
    crs = sites.crs
    spread = sites["rank_p95"].dropna() if "rank_p95" in sites.columns else []
    n_ranks = max([len(sites), *(int(r) for r in spread)])
    if "kind" in lines.columns:  # transformers join buses of one station: nothing to see
        lines = lines[lines["kind"] != "transformer"]
    tie_lines = {}
    if routes is not None:
        routes = routes.to_crs(crs)
        tie_lines = dict(zip(routes["site_id"].astype(str), routes.geometry, strict=True))
    run = _Run(
        spec=spec,
        sites=sites,
        buses=buses.to_crs(crs),
        lines=lines.to_crs(crs),
        routes=tie_lines,
        supply_plots=dict(supply_plots or {}),
        score_weights=dict(score_weights or {}),
        lineage=lineage_html(spec, inputs, attributions, crs_name=str(crs.to_string())),
        map_href=map_href,
        n_ranks=n_ranks,
    )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [atomic_write_text(folder / "index.html", _index_html(run, names))]
    for i, name in enumerate(names):
        written.append(atomic_write_text(folder / name, _site_html(run, i, names)))
    return written


# --- pages ------------------------------------------------------------------------------------


def _document(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(b for b in body if b)
        + "\n</body>\n</html>\n"
    )


def _index_html(run: _Run, names: Sequence[str]) -> str:
    spec, sites = run.spec, run.sites
    nav = ['<a class="map-link" href="' + esc(run.map_href) + '">Map</a>'] if run.map_href else []
    nav.append('<a href="../manifest.json">Manifest (inputs, config, outputs)</a>')
    columns = [c for c in _INDEX_COLUMNS if c in sites.columns]
    if "route_km" in columns:
        columns.remove("interconnect_km")
    spread = "rank_p05" in sites.columns and "rank_p95" in sites.columns
    head = ["Rank", "Site", "Score", "Province", "Place"]
    head += [_INDEX_COLUMNS[c] for c in columns]
    head += ["Rank, 90 % of draws"] if spread else []
    rows = []
    for i, (_, site) in enumerate(sites.iterrows()):
        cells = [
            f'<td class="num">{esc(site["rank"])}</td>',
            f'<td><a class="site-link" href="{esc(quote(names[i]))}">'
            f"{esc(site['site_id'])}</a></td>",
            f'<td class="num">{fmt(site["score"], ".3f")}</td>',
            f"<td>{esc(text(site.get('province')))}</td>",
            f"<td>{esc(text(site.get('place')))}</td>",
        ]
        cells += [f'<td class="num">{fmt(site[c], FIELDS[c][2])}</td>' for c in columns]
        if spread:
            cells.append(
                f'<td class="num">{fmt(site["rank_p05"], ".0f")}–'
                f"{fmt(site['rank_p95'], '.0f')}</td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return _document(
        f"Sites · {spec.title}",
        [
            "<nav>" + "".join(nav) + "</nav>",
            f"<h1>{esc(spec.title)}</h1>",
            f'<p class="sub">Study <code>{esc(spec.name)}</code>: {len(sites)} ranked sites, '
            f"{fmt(spec.resolution_m, ',.0f')} m cells in {esc(run.sites.crs.to_string())}. "
            "Each site's page explains its rank.</p>",
            '<table class="index"><thead><tr>'
            + "".join(f"<th>{esc(h)}</th>" for h in head)
            + "</tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>",
        ],
    )


def _site_html(run: _Run, i: int, names: Sequence[str]) -> str:
    site = run.sites.iloc[i]
    sid = str(site["site_id"])
    nav = ['<a class="index-link" href="index.html">All sites</a>']
    if run.map_href:
        nav.append(f'<a class="map-link" href="{esc(run.map_href)}">Map</a>')
    if i > 0:
        nav.append(f'<a rel="prev" href="{esc(quote(names[i - 1]))}">← #{i}</a>')
    if i + 1 < len(names):
        nav.append(f'<a rel="next" href="{esc(quote(names[i + 1]))}">#{i + 2} →</a>')
    where = ", ".join(
        text(site.get(c)) for c in ("place", "province") if not is_missing(site.get(c))
    )
    lonlat = (
        f" · {fmt(site['lat'], '.4f')}°N {fmt(site['lon'], '.4f')}°E"
        if "lat" in site and "lon" in site
        else ""
    )
    area = f" · {fmt(site['area_ha'], ',.0f')} ha" if "area_ha" in site else ""
    suit = f" (suitability {fmt(site['suitability'], '.3f')})" if "suitability" in site else ""
    body = [
        "<nav>" + "".join(nav) + "</nav>",
        f"<h1>#{esc(site['rank'])} {esc(sid)}</h1>",
        f'<p class="sub">{esc(where)}{lonlat}{area}</p>',
        f'<p class="sub">Score <strong>{fmt(site["score"], ".3f")}</strong>{suit} of '
        f"{len(run.sites)} ranked sites in “{esc(run.spec.title)}”.</p>",
        _map_section(run, site),
        _score_section(run, site),
        _table_section("interconnection", "Interconnection cost", site),
        _table_section("grid", "Grid capacity and speed to power", site),
        _supply_section(run, site),
        _robustness_section(run, site),
        run.lineage,
    ]
    return _document(f"#{site['rank']} {sid} · {run.spec.title}", body)


# --- sections ---------------------------------------------------------------------------------


def _map_section(run: _Run, site: pd.Series) -> str:
    sid = str(site["site_id"])
    geom = site.geometry
    bus_id = None if is_missing(site.get("substation_id")) else str(site["substation_id"])
    substation = None
    if bus_id is not None and "bus_id" in run.buses.columns:
        match = run.buses[run.buses["bus_id"].astype(str) == bus_id]
        substation = match.geometry.iloc[0] if len(match) else None
    route = run.routes.get(sid)
    routed = route is not None
    if route is None and substation is not None:
        route = LineString([geom.centroid, substation])
    label = " ".join(
        t
        for t in (
            text(site.get("substation_name"))
            if not is_missing(site.get("substation_name"))
            else "",
            f"{fmt(site['substation_kv'], '.0f')} kV" if "substation_kv" in site else "",
        )
        if t
    )
    svg = site_map_svg(
        geom,
        crs=run.sites.crs,
        lines=run.lines,
        buses=run.buses,
        route=route,
        substation=substation,
        substation_label=label,
        title=f"Map of site {sid}",
    )
    kvs = "".join(
        f'<span class="swatch" style="background:{c}"></span>{kv} kV'
        for kv, c in LINE_COLOURS.items()
    )
    tie = "routed tie line" if routed else "straight line to the substation (no routing)"
    legend = (
        f'<span class="swatch" style="background:{SITE_COLOUR}"></span>site'
        f'<span class="swatch" style="background:{ROUTE_COLOUR};height:2px"></span>{tie}'
        '<span class="swatch" style="border-radius:50%;background:#fff;border:2px solid #000">'
        "</span>substation it connects to"
        f"{kvs}"
        f'<span class="swatch" style="background:{OTHER_LINE_COLOUR}"></span>other voltages'
    )
    crs = run.sites.crs
    caption = (
        f"{legend}<br>Drawn in the study CRS, {esc(crs.name)} ({esc(crs.to_string())}), "
        "metres, north up along the grid; the arrow points to true north. Lines and buses: "
        "the study's power-grid graph."
    )
    return (
        '<section id="site-map"><h2>Site and connection</h2>'
        f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"
        + rows_table(site, "connection")
        + "</section>"
    )


def _score_section(run: _Run, site: pd.Series) -> str:
    spec = run.spec
    named: list[tuple[str, str]] = [(c.name, "criterion") for c in spec.criteria]
    named += [(t.name, "term") for t in spec.ranking.terms]
    named = [(n, k) for n, k in named if f"contribution_{n}" in site]
    if not named:
        return ""
    parts = [Contribution(n, k, _float(site[f"contribution_{n}"])) for n, k in named]
    svg = contribution_svg(parts, score=_float(site["score"]))
    crit = {c.name: c for c in spec.criteria}
    terms = {t.name: t for t in spec.ranking.terms}
    rows = []
    for name, kind in named:
        if kind == "criterion":
            c = crit[name]
            unit = _UNIT_TEXT.get(c.unit, c.unit)
            value = with_unit(site.get(f"value_{name}"), unit, ",.3g")
            what = "criterion"
            title = c.description
        else:
            t = terms[name]
            value = with_unit(site.get(t.field), field_unit(t.field), ",.4g")
            if t.per_campus and not is_missing(site.get(t.field)):
                per = _float(site[t.field]) / spec.campus.campus_mw
                value += f" = {per:.2f} × campus"
            what = f"term on <code>{esc(t.field)}</code>"
            title = ""
        weight = run.score_weights.get(f"score_{name}")
        rows.append(
            f'<tr title="{esc(title)}"><th>{esc(name)}</th><td>{what}</td>'
            f'<td class="num">{value}</td>'
            f'<td class="num">{fmt(site.get(f"score_{name}"), ".3f")}</td>'
            f'<td class="num">{fmt(weight, ".3f")}</td>'
            f'<td class="num">{fmt(site[f"contribution_{name}"], ".3f")}</td></tr>'
        )
    rows.append(
        '<tr class="total"><th>score</th><td></td><td></td><td></td><td></td>'
        f'<td class="num">{fmt(site["score"], ".3f")}</td></tr>'
    )
    return (
        '<section id="score"><h2>Why this rank: the parts of the score</h2>'
        '<p class="note">Each part is its weight times its score in [0, 1]; the parts add up to '
        "the score. Blue: criteria (the parcel's mean score), orange: site-level ranking "
        "terms.</p>"
        f"<figure>{svg}</figure>"
        "<table><thead><tr><th>Part</th><th>Kind</th><th class='num'>Value</th>"
        "<th class='num'>Score</th><th class='num'>Weight</th>"
        "<th class='num'>Contribution</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></section>"
    )


def _table_section(section: str, heading: str, site: pd.Series) -> str:
    table = rows_table(site, section, total="interconnect_cost_musd")
    if not table:
        return ""
    return f'<section id="{section}"><h2>{esc(heading)}</h2>' + table + "</section>"


def _supply_section(run: _Run, site: pd.Series) -> str:
    plot = run.supply_plots.get(str(site["site_id"]), "")
    table = rows_table(site, "supply")
    if not table and not plot:
        return ""
    figure = (
        f'<figure class="supply-plot">{plot}<figcaption>A typical week hour by hour and the '
        "monthly balance of the "
        "site's own supply against the campus load.</figcaption></figure>"
        if plot
        else ""
    )
    return '<section id="supply"><h2>Co-located supply</h2>' + table + figure + "</section>"


def _robustness_section(run: _Run, site: pd.Series) -> str:
    keys = ("rank_p05", "rank_p50", "rank_p95")
    top = sorted(c for c in site.index if re.fullmatch(r"p_top\d+", str(c)))
    if not all(k in site for k in keys) or any(is_missing(site[k]) for k in keys):
        return ""
    p05, p50, p95 = (_float(site[k]) for k in keys)
    sens = run.spec.sensitivity
    svg = rank_range_svg(rank=int(site["rank"]), p05=p05, p50=p50, p95=p95, n_ranks=run.n_ranks)
    spread_text = (
        f"it ranked #{p05:.0f} in at least 90 % of them"
        if p05 == p95
        else f"it ranked between #{p05:.0f} and #{p95:.0f} in 90 % of them"
    )
    tops = "".join(
        f" It ranked in the top {esc(c.removeprefix('p_top'))} in {fmt(site[c], '%')} of them."
        for c in top
    )
    return (
        '<section id="robustness"><h2>How robust the rank is</h2>'
        f"<p>With the study's weights the site ranks #{esc(site['rank'])}. Over "
        f"{sens.draws:,} seeded random draws of the weights ({esc(sens.method)}, seed "
        f"{sens.seed}), {spread_text} (median #{p50:.0f}).{tops}</p>"
        f"<figure>{svg}<figcaption>Bar: 5th to 95th percentile rank; dot: median; black tick: "
        "the rank with the study's weights. Ranks count every candidate scored, also those "
        "below the listed sites.</figcaption></figure></section>"
    )


def _float(value: Any) -> float:
    return 0.0 if is_missing(value) else float(value)
