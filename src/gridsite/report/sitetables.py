"""The tables of the site pages: how each sites-table column is shown, and the data lineage.

Every function here returns HTML in which each value from data is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from gridsite.report.manifest import package_versions
from gridsite.spec import StudySpec

__all__ = [
    "FIELDS",
    "MISSING",
    "SECTIONS",
    "esc",
    "field_unit",
    "fmt",
    "is_missing",
    "lineage_html",
    "rows_table",
    "text",
    "with_unit",
]

#: Shown for a missing value.
MISSING = "–"

# How a column is shown: label, unit, and number format ("%" a share shown in percent, "yes" a
# flag, "" text). Grouped by the page section that shows them, in their order there.
_Field = tuple[str, str, str]
SECTIONS: Mapping[str, Mapping[str, _Field]] = {
    "connection": {
        "substation_name": ("Substation", "", ""),
        "substation_kv": ("Substation voltage", "kV", ".0f"),
        "substation_id": ("Substation bus id", "", ""),
        "interconnect_km": ("Straight-line distance to the substation", "km", ".1f"),
        "required_kv": ("Connection voltage needed", "kV", ".0f"),
    },
    "interconnection": {
        "route_km": ("Routed tie line", "km", ".1f"),
        "parallel_circuits": ("Parallel circuits", "", ".0f"),
        "line_cost_musd": ("Tie line", "MUSD", ",.1f"),
        "substation_cost_musd": ("Substation (new bay or station)", "MUSD", ",.1f"),
        "transformer_cost_musd": ("Transformer", "MUSD", ",.1f"),
        "interconnect_cost_musd": ("Interconnection, total", "MUSD", ",.1f"),
    },
    "grid": {
        "hosting_capacity_mw": ("Hosting capacity, N-1 secure", "MW", ",.0f"),
        "hosting_capacity_n0_mw": ("Hosting capacity, N-0 (intact grid)", "MW", ",.0f"),
        "headroom_mw": ("Headroom left after better-ranked sites", "MW", ",.0f"),
        "supplied": ("Campus supplied N-1 secure", "", "yes"),
        "maxflow_capacity_mw": ("Max-flow bound", "MW", ",.0f"),
        "capacity_mw": ("Capacity by reV's rule", "MW", ",.0f"),
        "independent_feeds": ("Independent feeds to the backbone", "", ".0f"),
        "backbone_path_km": ("Path to the backbone", "km", ",.1f"),
        "speed_to_power_months": ("Speed to power", "months", ".0f"),
    },
    "supply": {
        "cfe_target": ("Hourly CFE target", "", "%"),
        "cfe_share": ("Hourly CFE share reached", "", "%"),
        "cfe_share_no_storage": ("... without the battery", "", "%"),
        "cfe_feasible": ("Target reached", "", "yes"),
        "pv_mw": ("PV", "MW", ",.0f"),
        "wind_mw": ("Wind", "MW", ",.0f"),
        "bess_mw": ("Battery power", "MW", ",.0f"),
        "bess_mwh": ("Battery energy", "MWh", ",.0f"),
        "grid_import_gwh": ("Grid import", "GWh/yr", ",.0f"),
        "curtailed_gwh": ("Curtailed or exported", "GWh/yr", ",.0f"),
        "lcoe_usd_mwh": ("Cost of local energy used", "USD/MWh", ",.1f"),
        "supply_cost_musd_yr": ("Annualised supply cost", "MUSD/yr", ",.1f"),
        "solar_potential_mw": ("Solar potential", "MW", ",.0f"),
        "wind_potential_mw": ("Onshore wind potential", "MW", ",.0f"),
        "offshore_wind_potential_mw": ("Offshore wind potential", "MW", ",.0f"),
        "supply_land_km2": ("Eligible land (fair share)", "km²", ",.0f"),
        "pv_cf_mean": ("Mean PV capacity factor", "", ".3f"),
        "wind_cf_mean": ("Mean wind capacity factor", "", ".3f"),
    },
}
#: Every column of :data:`SECTIONS`: label, unit, format.
FIELDS: Mapping[str, _Field] = {k: v for group in SECTIONS.values() for k, v in group.items()}
# Units named by a column's suffix (house style: units in names), longest suffix first.
_SUFFIX_UNITS = (
    ("_usd_mwh", "USD/MWh"),
    ("_musd_yr", "MUSD/yr"),
    ("_musd", "MUSD"),
    ("_mwh", "MWh"),
    ("_mw", "MW"),
    ("_km2", "km²"),
    ("_km", "km"),
    ("_months", "months"),
    ("_ha", "ha"),
)


def field_unit(column: str) -> str:
    """Return the display unit of a sites-table column, from the catalogue or its name.

    Examples
    --------
    >>> field_unit("interconnect_cost_musd"), field_unit("headroom_mw"), field_unit("score")
    ('MUSD', 'MW', '')
    """
    if column in FIELDS:
        return FIELDS[column][1]
    return next((u for suffix, u in _SUFFIX_UNITS if column.endswith(suffix)), "")


def rows_table(site: pd.Series, section: str, *, total: str | None = None) -> str:
    """Return a table of the ``section`` columns ``site`` has ("" if none); ``total`` in bold."""
    rows = []
    for key, (label, unit, form) in SECTIONS[section].items():
        if key not in site:
            continue
        value = fmt(site[key], form) if form else esc(text(site[key]))
        cls = ' class="total"' if key == total else ""
        rows.append(
            f'<tr{cls} data-column="{esc(key)}"><th>{esc(label)}</th>'
            f'<td class="num">{value}</td><td>{"" if is_missing(site[key]) else esc(unit)}</td>'
            "</tr>"
        )
    return "<table><tbody>" + "".join(rows) + "</tbody></table>" if rows else ""


def fmt(value: Any, form: str) -> str:
    """Return a number (``form`` a format spec, ``"%"`` or ``"yes"``) as escaped display text.

    Examples
    --------
    >>> fmt(1234.56, ",.1f"), fmt(0.8001, "%"), fmt(False, "yes"), fmt(float("nan"), ".1f")
    ('1,234.6', '80 %', 'no', '–')
    """
    if is_missing(value):
        return MISSING
    if form == "yes":
        return "yes" if bool(value) else "no"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return esc(value)
    if not math.isfinite(number):
        return esc(number)
    if form == "%":
        return f"{100 * number:.0f} %"
    out = format(number, form)
    # no "-0.0" for a tiny negative number
    return out[1:] if out.startswith("-") and not out.strip("-0.,") else out


def with_unit(value: Any, unit: str, form: str) -> str:
    """Return :func:`fmt` of ``value`` followed by ``unit`` (escaped), unless missing."""
    out = fmt(value, form)
    return out if out == MISSING or not unit else f"{out} {esc(unit)}"


def lineage_html(
    spec: StudySpec,
    inputs: Sequence[Mapping[str, Any]],
    attributions: Sequence[Mapping[str, str]],
    *,
    crs_name: str,
    manifest_href: str = "../manifest.json",
) -> str:
    """Return the data-lineage section, the same on every page of a run.

    Parameters
    ----------
    spec
        The study: name, title, resolution, campus, methods.
    inputs
        ``{name, path, sha256, bytes}`` of every file read
        (:func:`gridsite.report.manifest.input_records`, the manifest's own records), shown with
        the path relative to the data root.
    attributions
        ``{layer, licence, attribution}`` of the data used.
    crs_name
        The study CRS as text.
    manifest_href
        Link to the run's manifest.
    """
    facts = (
        ("Study", f"{spec.name} ({spec.source.name})"),
        ("Title", spec.title),
        ("CRS", crs_name),
        ("Resolution", f"{spec.resolution_m:,.0f} m"),
        ("Campus", f"{spec.campus.campus_mw:,.0f} MW on {spec.campus.campus_area_ha:,.0f} ha"),
        ("Aggregation", spec.aggregation.method),
        ("Weights", spec.weights.method),
    )
    rows = []
    for record in inputs:
        name, path = record["name"], Path(record["path"])
        sha, size = record.get("sha256", MISSING), record.get("bytes")
        rows.append(
            f"<tr><th>{esc(name)}</th><td><code>{esc(_relative(path, spec))}</code></td>"
            f'<td><code>{esc(sha)}</code></td><td class="num">{fmt(size, ",.0f")}</td></tr>'
        )
    licences = "".join(
        f"<tr><th>{esc(a.get('layer', ''))}</th><td>{esc(a.get('licence', ''))}</td>"
        f"<td>{esc(a.get('attribution', ''))}</td></tr>"
        for a in attributions
    )
    versions = ", ".join(
        f"{esc(k)} {esc(MISSING if v is None else v)}" for k, v in package_versions().items()
    )
    parts = [
        '<section id="lineage"><h2>Data lineage</h2><table><tbody>',
        *(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts),
        "</tbody></table>",
    ]
    if rows:
        parts += [
            "<h3>Inputs read</h3><table><thead><tr><th>Layer</th><th>Path under the data root"
            '</th><th>sha256</th><th class="num">Bytes</th></tr></thead><tbody>',
            *rows,
            "</tbody></table>",
        ]
    if licences:
        parts.append(
            "<h3>Licences and attributions</h3><table><thead><tr><th>Layer</th><th>Licence"
            f"</th><th>Attribution</th></tr></thead><tbody>{licences}</tbody></table>"
        )
    parts.append(
        f'<h3>Software</h3><p class="software">{versions}</p>'
        '<p class="note">The full record (resolved configuration, timings, the sha256 of every '
        f'output) is the run\'s <a href="{esc(manifest_href)}">manifest.json</a>.</p></section>'
    )
    return "".join(parts)


def _relative(path: Path, spec: StudySpec) -> str:
    try:
        return path.relative_to(spec.data_root).as_posix()
    except ValueError:
        return path.as_posix()


def is_missing(value: Any) -> bool:
    """Return whether ``value`` is None or a missing scalar (NaN, NA, NaT)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def text(value: Any) -> str:
    """Return ``value`` as text (not yet escaped), :data:`MISSING` if missing."""
    return MISSING if is_missing(value) else str(value)


def esc(value: object) -> str:
    """Escape ``value`` for HTML text and attribute values."""
    return html.escape(str(value), quote=True)
