"""Text on the HTML map: escaping of values from data, display formatting, popup tables.

Every string that comes from data (OSM names are user-edited, criterion names come from a study
file) goes through :func:`esc` before it reaches the page, or through :func:`js_string` where a
script sets it as plain text.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

__all__ = [
    "LINE_COLOURS",
    "MISSING",
    "OTHER_LINE_COLOUR",
    "esc",
    "format_value",
    "html_table",
    "is_missing",
    "js_string",
    "page_href",
    "voltage_class_kv",
    "voltage_colour",
]

LINE_COLOURS: Mapping[int, str] = {765: "#e41a1c", 345: "#ff7f00", 154: "#f781bf"}
"""Colour of each transmission voltage class (kV), on the web map and the site pages."""

OTHER_LINE_COLOUR = "#7f7f7f"
"""Colour of lines and substations of any other or unknown voltage."""

MISSING = "–"
"""What the map shows for a missing value."""


def esc(value: object) -> str:
    """Escape ``value`` for HTML, and for the JS template literals folium wraps popups in.

    ``html.escape`` removes ``<``, ``>``, ``&`` and quotes (so no ``</script>`` can close folium's
    script block); backtick, ``$`` and backslash would end or interpolate a template literal.

    Examples
    --------
    >>> esc('<b a="1">`${x}`</b>')
    '&lt;b a=&quot;1&quot;&gt;&#96;&#36;{x}&#96;&lt;/b&gt;'
    """
    text = html.escape(str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def js_string(value: object) -> str:
    r"""Return ``str(value)`` as a JavaScript string literal that is safe inside ``<script>``.

    JSON with ``<``, ``>``, ``&`` and the two JavaScript line separators written as ``\u``
    escapes: no ``</script>`` or ``<!--`` can appear in the page's script. Meant for text that a
    script sets with ``textContent`` (never ``innerHTML``).

    Examples
    --------
    >>> print(js_string("</script>'"))
    "\u003c/script\u003e'"
    """
    text = json.dumps(str(value), ensure_ascii=False)
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, code)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def page_href(folder: str, name: object) -> str:
    """Return the relative link ``folder/<name>.html``, ``name`` percent-encoded, HTML-escaped.

    Examples
    --------
    >>> page_href("sites", "korea-0926-1780")
    'sites/korea-0926-1780.html'
    >>> page_href("sites", 'a/b "c"')
    'sites/a%2Fb%20%22c%22.html'
    """
    return esc(f"{folder}/{quote(str(name), safe='')}.html")


def is_missing(value: object) -> bool:
    """Whether ``value`` is None, NaN, NaT or ``pd.NA`` (not inf)."""
    if value is None:
        return True
    try:
        scalar: Any = value
        missing = pd.isna(scalar)
    except (TypeError, ValueError):
        return False
    return isinstance(missing, bool | np.bool_) and bool(missing)


def format_value(value: object) -> str:
    """Return ``value`` as short display text (not yet escaped).

    Examples
    --------
    >>> [format_value(v) for v in (None, 3.0, 0.123456, 12345.678, np.int64(7), True)]
    ['–', '3', '0.1235', '12,345.7', '7', 'True']
    """
    if is_missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return str(number)
        if number.is_integer() and abs(number) < 1e15:
            return f"{number:.0f}"
        if abs(number) >= 1000:
            return f"{number:,.1f}"
        return f"{number:.4g}"
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def html_table(items: Sequence[tuple[str, object]]) -> str:
    """Return a two-column table of ``(key, value)`` rows, both escaped."""
    rows = "".join(
        f"<tr><th>{esc(key)}</th><td>{esc(format_value(value))}</td></tr>" for key, value in items
    )
    return f'<table class="gs-table">{rows}</table>'


def voltage_class_kv(voltage_kv: object) -> int | None:
    """Return the voltage class (154, 345 or 765 kV) of ``voltage_kv``, or None for any other.

    Examples
    --------
    >>> voltage_class_kv(345.0), voltage_class_kv(22.9), voltage_class_kv(None)
    (345, None, None)
    """
    if is_missing(voltage_kv):
        return None
    try:
        kv = float(voltage_kv)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    for cls in LINE_COLOURS:
        if abs(kv - cls) < 0.5:
            return cls
    return None


def voltage_colour(voltage_kv: object) -> str:
    """Return the colour of a voltage class (within 0.5 kV), else grey.

    Examples
    --------
    >>> voltage_colour(345.0), voltage_colour(22.9), voltage_colour(None)
    ('#ff7f00', '#7f7f7f', '#7f7f7f')
    """
    kv = voltage_class_kv(voltage_kv)
    return OTHER_LINE_COLOUR if kv is None else LINE_COLOURS[kv]
