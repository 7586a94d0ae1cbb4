"""A small inline SVG of a site's hourly supply match: a typical week and the monthly balance.

Built as a plain string (no plotting library, no scripts, no external references, no element ids),
so it works offline, can sit in a folium popup or its own ``.svg`` file, and several copies can
share one HTML page. Text from callers is escaped for XML and HTML, and backtick, ``$`` and
backslash are written as character references so the string is also safe inside the JavaScript
template literals folium wraps popups in.

Layout, in a 400-unit-wide view box scaled to ``width_px``:

1. The week: hourly stacked areas from the bottom, local generation serving the load directly
   (PV and wind apart when their series are given, pro rata to their output in each hour),
   battery discharge and grid import, which together reach the load (black line); above the load,
   the surplus of local generation, battery charging and curtailment/export, in lighter colours.
2. The months: a stacked bar per month of local direct use, battery discharge and grid import,
   in GWh, whose top is the month's load; the year's hourly-matched CFE share in the title.

Colours are from the Okabe-Ito colour-blind-safe palette (:data:`PALETTE`).
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridsite.energy.dispatch import DispatchResult, FloatArray
from gridsite.energy.summary import month_start_hours, monthly_balance, typical_week
from gridsite.errors import ConfigError

__all__ = ["PALETTE", "stack_week", "supply_svg"]

#: Fill colour of each layer (Okabe-Ito; charging and curtailed are 40 % and 60 % tints of the
#: battery green and the yellow) and the colour of the load line.
PALETTE = {
    "pv": "#E69F00",
    "wind": "#56B4E9",
    "local": "#0072B2",
    "discharge": "#009E73",
    "import": "#999999",
    "charge": "#99D8C7",
    "curtailed": "#F6EF8E",
    "load": "#000000",
}
_LABELS = {
    "pv": "PV",
    "wind": "Wind",
    "local": "Local gen.",
    "discharge": "Battery",
    "import": "Grid import",
    "charge": "Charging",
    "curtailed": "Curtailed",
    "load": "Load",
}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_WEEK_STEPS = 168
_VIEW_W = 400
_LEFT = 40  # x of the plots' left edge; the y tick labels sit in the margin
_HOUR_W = 2  # px per hour in the week panel, so that x coordinates are whole numbers
_PLOT_W = _WEEK_STEPS * _HOUR_W
_WEEK_H = 100
_MONTH_H = 70
_MONTH_SLOT = _PLOT_W / 12
_BAR_W = 18
_PANEL_HEAD = 16  # from a panel's top to its plot area (panel title)
_AXIS_FOOT = 14  # below a plot area (x labels)


def stack_week(
    dispatch: DispatchResult,
    *,
    week_start: int,
    pv_mw_series: npt.ArrayLike | None = None,
    wind_mw_series: npt.ArrayLike | None = None,
    n_steps: int = _WEEK_STEPS,
) -> dict[str, FloatArray]:
    """Return the layers stacked in the week panel, bottom first, in MW per step.

    Parameters
    ----------
    dispatch
        Dispatch to draw from.
    week_start
        First step of the week.
    pv_mw_series, wind_mw_series
        PV and wind output per step over the whole dispatch, MW (capacity factor times installed
        MW). When given, direct use is split between them pro rata to their output in each step;
        if only one is given, the other is the rest of ``dispatch.generation_mw``.
    n_steps
        Number of steps in the week.

    Returns
    -------
    dict of str to numpy.ndarray
        ``pv`` and ``wind`` (or ``local`` without the series), ``discharge``, ``import``,
        ``charge``, ``curtailed``, each ``n_steps`` long. The layers up to ``import`` sum to the
        load; all of them to the larger of the load and the local generation.

    Raises
    ------
    ConfigError
        If the week does not fit in the dispatch, or a series has the wrong length, negative or
        missing values, or does not add up with the other to the dispatch's generation.
    """
    n = dispatch.load_mw.size
    if not (week_start >= 0 and n_steps >= 1 and week_start + n_steps <= n):
        raise ConfigError(
            f"week_start={week_start} with {n_steps} steps does not fit in a dispatch of {n} "
            f"steps; give a start between 0 and {n - n_steps}"
        )
    week = slice(week_start, week_start + n_steps)
    local = _split_local(dispatch, pv_mw_series, wind_mw_series)
    layers = {key: values[week] for key, values in local.items()}
    layers["discharge"] = dispatch.discharge_mw[week]
    layers["import"] = dispatch.import_mw[week]
    layers["charge"] = dispatch.charge_mw[week]
    layers["curtailed"] = dispatch.curtailed_mw[week]
    return layers


def supply_svg(
    dispatch: DispatchResult,
    *,
    pv_mw_series: npt.ArrayLike | None = None,
    wind_mw_series: npt.ArrayLike | None = None,
    title: str = "",
    week_start: int | None = None,
    year: int = 2025,
    width_px: float = 400,
) -> str:
    """Return a compact inline SVG of a year of hourly supply: a typical week and the months.

    Parameters
    ----------
    dispatch
        Hourly dispatch over one calendar year, step 0 at 1 January 00:00 of ``year``.
    pv_mw_series, wind_mw_series
        PV and wind output per hour, MW, to show them apart; see :func:`stack_week`.
    title
        Heading drawn above the panels (plain text; escaped here).
    week_start
        First hour of the week to draw; default the typical week (:func:`typical_week`).
    year
        Calendar year of the series, for the month split and the dates of the week.
    width_px
        Rendered width, px; the height follows at a fixed aspect ratio.

    Returns
    -------
    str
        An ``<svg>`` element (no XML declaration), about 15 kB, with no scripts, external
        references or ids.

    Raises
    ------
    ConfigError
        If the dispatch is not a calendar year of hours (see
        :func:`~gridsite.energy.summary.monthly_balance`), the week does not fit, a series is
        invalid, or ``width_px`` is not positive.
    """
    if not (math.isfinite(width_px) and width_px > 0):
        raise ConfigError(f"width_px must be a positive number, got {width_px}")
    balance = monthly_balance(dispatch, year=year)
    is_typical = week_start is None
    start = typical_week(dispatch) if week_start is None else int(week_start)
    local = _split_local(dispatch, pv_mw_series, wind_mw_series)
    layers = stack_week(
        dispatch, week_start=start, pv_mw_series=pv_mw_series, wind_mw_series=wind_mw_series
    )
    bounds = month_start_hours(year)[:-1]
    local_gwh = {key: np.add.reduceat(values, bounds) / 1e3 for key, values in local.items()}
    if "pv" in local_gwh:
        # wind as the rest, so that the two add up to the table's direct use exactly
        local_gwh["wind"] = balance["local_used_gwh"].to_numpy() - local_gwh["pv"]

    body: list[str] = []
    top = 0.0
    if title:
        body.append(f'<text x="4" y="12" font-size="11" font-weight="bold">{_esc(title)}</text>')
        top += 16
    body.extend(_week_panel(layers, start, year, is_typical, top))
    top += _PANEL_HEAD + _WEEK_H + _AXIS_FOOT + 6
    body.extend(_month_panel(balance, local_gwh, dispatch.cfe_share, top))
    top += _PANEL_HEAD + _MONTH_H + _AXIS_FOOT + 4
    legend, legend_h = _legend([*local, "discharge", "import", "charge", "curtailed"], top)
    body.extend(legend)
    height = top + legend_h
    label = title or "Hourly supply match"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width_px)}" '
        f'height="{_n(height * width_px / _VIEW_W)}" viewBox="0 0 {_VIEW_W} {_n(height)}" '
        f'font-family="sans-serif" font-size="9" role="img" aria-label="{_esc(label)}">'
        f"<title>{_esc(label)}</title>"
    )
    return head + "".join(body) + "</svg>"


# --- panels -------------------------------------------------------------------------------------


def _week_panel(
    layers: dict[str, FloatArray], start: int, year: int, is_typical: bool, top: float
) -> list[str]:
    keys = list(layers)
    values = np.vstack([layers[key] for key in keys])
    cumulative = np.cumsum(values, axis=0)
    axis_max, ticks = _axis_ticks(float(cumulative[-1].max()))
    y0 = top + _PANEL_HEAD
    base = y0 + _WEEK_H
    scale = _WEEK_H / axis_max

    load = cumulative[keys.index("import")]
    served = load - layers["import"]
    load_sum = float(load.sum())
    share = f"CFE {_pct(float(served.sum()) / load_sum)}" if load_sum > 0 else "no load"
    first = dt.datetime(year, 1, 1) + dt.timedelta(hours=start)
    kind = "Typical week" if is_typical else "Week"
    heading = (
        f"{kind} from {_WEEKDAYS[first.weekday()]} {first.day} {_MONTHS[first.month - 1]}, "
        f"MW ({share})"
    )
    out = [f'<text x="{_LEFT}" y="{_n(top + 10)}" font-weight="bold">{_esc(heading)}</text>']
    out.extend(_y_axis(ticks, base, scale))

    xs = [_LEFT + _HOUR_W // 2 + _HOUR_W * i for i in range(values.shape[1])]
    # Painter's order: each layer is filled from zero up to its cumulative top, the highest
    # first, so the lower layers cover all but their own band; one edge per layer, not two.
    for k in range(len(keys) - 1, -1, -1):
        if not np.any(values[k] > 0):
            continue
        edge = " ".join(
            f"{x},{_n(base - v * scale)}" for x, v in zip(xs, cumulative[k], strict=True)
        )
        out.append(
            f'<polygon class="wk-{keys[k]}" fill="{PALETTE[keys[k]]}" '
            f'points="{xs[0]},{_n(base)} {edge} {xs[-1]},{_n(base)}"/>'
        )
    line = " ".join(f"{x},{_n(base - v * scale)}" for x, v in zip(xs, load, strict=True))
    out.append(
        f'<polyline class="wk-load" fill="none" stroke="{PALETTE["load"]}" '
        f'stroke-width="1.2" points="{line}"/>'
    )

    days = values.shape[1] // 24
    right = _LEFT + _HOUR_W * values.shape[1]
    grid = "".join(f"M{_LEFT + 24 * _HOUR_W * d} {_n(y0)}V{_n(base)}" for d in range(1, days))
    if grid:
        out.append(f'<path d="{grid}" stroke="#fff" stroke-width="0.6" stroke-dasharray="2 2"/>')
    out.append(f'<path d="M{_LEFT} {_n(y0)}V{_n(base)}H{right}" fill="none" stroke="#555"/>')
    for d in range(days):
        weekday = _WEEKDAYS[(first + dt.timedelta(days=d)).weekday()]
        x = _LEFT + 24 * _HOUR_W * d + 12 * _HOUR_W
        out.append(f'<text x="{x}" y="{_n(base + 10)}" text-anchor="middle">{weekday}</text>')
    return out


def _month_panel(
    balance: pd.DataFrame, local_gwh: dict[str, FloatArray], cfe_share: float, top: float
) -> list[str]:
    stack = {**local_gwh}
    stack["discharge"] = balance["discharge_gwh"].to_numpy()
    stack["import"] = balance["import_gwh"].to_numpy()
    load = balance["load_gwh"].to_numpy()
    axis_max, ticks = _axis_ticks(float(load.max()))
    y0 = top + _PANEL_HEAD
    base = y0 + _MONTH_H
    scale = _MONTH_H / axis_max
    share = _pct(cfe_share) if math.isfinite(cfe_share) else "n/a"
    heading = f"Monthly balance, GWh (year CFE {share})"
    out = [f'<text x="{_LEFT}" y="{_n(top + 10)}" font-weight="bold">{_esc(heading)}</text>']
    out.extend(_y_axis(ticks, base, scale))
    for m in range(12):
        x = _LEFT + m * _MONTH_SLOT + (_MONTH_SLOT - _BAR_W) / 2
        month_share = balance["cfe_share"].iloc[m]
        tip = (
            f"{_MONTHS[m]}: load {load[m]:.1f} GWh, local {_stack_total(local_gwh, m):.1f}, "
            f"battery {stack['discharge'][m]:.1f}, import {stack['import'][m]:.1f}, "
            f"CFE {_pct(month_share) if math.isfinite(month_share) else 'n/a'}"
        )
        rects = []
        level = 0.0
        for key, values in stack.items():
            height = float(values[m]) * scale
            if height > 0:
                rects.append(
                    f'<rect x="{_n(x)}" y="{_n(base - (level + height))}" width="{_BAR_W}" '
                    f'height="{_n(height)}" fill="{PALETTE[key]}"/>'
                )
                level += height
        out.append(f'<g class="month"><title>{_esc(tip)}</title>{"".join(rects)}</g>')
        out.append(
            f'<text x="{_n(x + _BAR_W / 2)}" y="{_n(base + 10)}" '
            f'text-anchor="middle">{_MONTHS[m][0]}</text>'
        )
    out.append(
        f'<path d="M{_LEFT} {_n(y0)}V{_n(base)}H{_LEFT + _PLOT_W}" fill="none" stroke="#555"/>'
    )
    return out


def _stack_total(values: dict[str, FloatArray], m: int) -> float:
    return float(sum(float(v[m]) for v in values.values()))


def _legend(keys: Sequence[str], top: float) -> tuple[list[str], float]:
    entries = [*keys, "load"]
    per_row = 4
    spacing = (_VIEW_W - _LEFT) / per_row
    out = []
    for i, key in enumerate(entries):
        x = _LEFT + (i % per_row) * spacing
        y = top + 9 + (i // per_row) * 12
        if key == "load":
            swatch = (
                f'<path d="M{_n(x)} {_n(y - 3)}h9" stroke="{PALETTE[key]}" stroke-width="1.2"/>'
            )
        else:
            swatch = (
                f'<rect x="{_n(x)}" y="{_n(y - 7)}" width="9" height="8" fill="{PALETTE[key]}"/>'
            )
        out.append(f'{swatch}<text x="{_n(x + 12)}" y="{_n(y)}">{_LABELS[key]}</text>')
    rows = -(-len(entries) // per_row)
    return out, 12 * rows + 4


def _y_axis(ticks: Sequence[float], base: float, scale: float) -> list[str]:
    right = _LEFT + _PLOT_W
    lines = "".join(f"M{_LEFT} {_n(base - t * scale)}H{right}" for t in ticks[1:])
    out = [f'<path d="{lines}" stroke="#ddd" stroke-width="0.5"/>'] if lines else []
    for t in ticks:
        out.append(
            f'<text x="{_LEFT - 3}" y="{_n(base - t * scale + 3)}" '
            f'text-anchor="end">{_tick(t)}</text>'
        )
    return out


# --- helpers ------------------------------------------------------------------------------------


def _split_local(
    dispatch: DispatchResult,
    pv_mw_series: npt.ArrayLike | None,
    wind_mw_series: npt.ArrayLike | None,
) -> dict[str, FloatArray]:
    """Return direct use per step, as ``{"local": ...}`` or split ``{"pv": ..., "wind": ...}``."""
    used = dispatch.used_mw
    if pv_mw_series is None and wind_mw_series is None:
        return {"local": used}
    generation = dispatch.generation_mw
    given: dict[str, FloatArray] = {}
    problems = []
    for name, series in (("pv_mw_series", pv_mw_series), ("wind_mw_series", wind_mw_series)):
        if series is None:
            continue
        a = np.asarray(series, dtype=np.float64).ravel()
        if a.size != generation.size:
            problems.append(f"{name} has {a.size} values, the dispatch {generation.size} steps")
        elif not np.all(np.isfinite(a)) or a.min() < 0:
            problems.append(f"{name} holds negative, NaN or infinite values")
        given[name] = a
    if problems:
        raise ConfigError("; ".join(problems))
    pv = given.get("pv_mw_series")
    wind = given.get("wind_mw_series")
    if pv is None:
        pv = np.maximum(generation - (0.0 if wind is None else wind), 0.0)
    if wind is None:
        wind = np.maximum(generation - pv, 0.0)
    total = pv + wind
    mismatch = float(np.max(np.abs(total - generation)))
    if mismatch > 1e-6 * max(1.0, float(generation.max())):
        raise ConfigError(
            f"pv_mw_series + wind_mw_series differ from the dispatch's generation_mw by up to "
            f"{mismatch:g} MW; give the PV and wind output (capacity factor times MW) of the "
            f"plant that was dispatched"
        )
    share = np.divide(pv, total, out=np.zeros_like(total), where=total > 0)
    used_pv = used * share
    return {"pv": used_pv, "wind": used - used_pv}


def _axis_ticks(max_value: float) -> tuple[float, list[float]]:
    """Return an axis top at or above ``max_value`` and 3-5 round ticks from 0 up to it."""
    if not (math.isfinite(max_value) and max_value > 0):
        max_value = 1.0
    raw = max_value / 3
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    count = math.ceil(max_value / step * (1 - 1e-9))
    return count * step, [i * step for i in range(count + 1)]


def _tick(value: float) -> str:
    return f"{value:,.0f}" if value == round(value) else f"{value:g}"


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _n(value: float) -> str:
    """Return ``value`` rounded to 0.1, without a trailing ``.0``, for compact coordinates."""
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def _esc(text: str) -> str:
    """Escape for XML/HTML text and attributes, and for JavaScript template literals."""
    escaped = html.escape(text, quote=True)
    return escaped.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")
