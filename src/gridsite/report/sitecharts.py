"""Small inline SVG charts for a site's page: where its score comes from, how robust its rank is.

Plain strings, like :mod:`gridsite.report.supplyplot`: no script, no external reference, no
element id; text from data is escaped for HTML and XML.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Contribution", "contribution_svg", "rank_range_svg"]

_CRITERION_COLOUR = "#0072B2"
_TERM_COLOUR = "#E69F00"
_SCORE_COLOUR = "#333333"

_VIEW_W = 640
_LABEL_W = 190  # left of the plot: the component's name
_VALUE_W = 60  # right of the plot: the contribution's number
_PLOT_W = _VIEW_W - _LABEL_W - _VALUE_W
_ROW_H = 20
_BAR_H = 14
_AXIS_H = 22


@dataclass(frozen=True)
class Contribution:
    """One component's weighted part of a site's score.

    Attributes
    ----------
    name
        Criterion or ranking-term name.
    kind
        ``"criterion"`` (part of the suitability) or ``"term"`` (a site-level ranking term).
    value
        Its part of the score: weight x score, unitless, >= 0.
    """

    name: str
    kind: str
    value: float


def contribution_svg(parts: Sequence[Contribution], *, score: float) -> str:
    """Return a waterfall chart of ``parts`` adding up to ``score``.

    Each part is a bar starting where the previous one ended, on a common axis from 0 to the
    score rounded up to a tenth; the last row is the score itself, from 0. So the bars' lengths
    show each part's size and their ends show the running total.

    Parameters
    ----------
    parts
        The components, in the order to draw them.
    score
        The site's score, unitless, in [0, 1]; the parts should add up to it.

    Returns
    -------
    str
        An ``<svg>`` with one ``rect.bar`` per part (``data-name``, ``data-value``), and a
        ``rect.score-bar``. At ``px`` pixels per unit of score, a part's bar starts at
        ``x0 + px x (sum of the parts before it)`` and is ``px x value`` wide.
    """
    axis_max = max(math.ceil(round(score * 10, 9)) / 10, 0.1)
    px = _PLOT_W / axis_max
    x0 = _LABEL_W
    height = (len(parts) + 1) * _ROW_H + _AXIS_H + 6
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="contributions" viewBox="0 0 {_VIEW_W} '
        f'{height}" width="{_VIEW_W}" height="{height}" role="img">'
        "<title>Each criterion's and ranking term's part of the score</title>"
    ]
    for t in range(round(axis_max * 10) + 1):
        x = x0 + px * t / 10
        out.append(
            f'<line x1="{_n(x)}" y1="0" x2="{_n(x)}" y2="{_n(height - _AXIS_H)}" '
            'stroke="#ddd"/>'
            f'<text x="{_n(x)}" y="{_n(height - 8)}" text-anchor="middle" font-size="11" '
            f'fill="#555">{t / 10:.1f}</text>'
        )
    total = 0.0
    for i, part in enumerate(parts):
        y = i * _ROW_H + (_ROW_H - _BAR_H) / 2
        colour = _CRITERION_COLOUR if part.kind == "criterion" else _TERM_COLOUR
        out.append(
            f'<text x="{x0 - 6}" y="{_n(y + _BAR_H - 3)}" text-anchor="end" font-size="12">'
            f"{_esc(part.name)}</text>"
            f'<rect class="bar" data-name="{_esc(part.name)}" data-value="{part.value:.6f}" '
            f'x="{_n(x0 + px * total)}" y="{_n(y)}" width="{_n(px * part.value)}" '
            f'height="{_BAR_H}" fill="{colour}"/>'
        )
        total += part.value
        out.append(
            f'<text x="{_n(x0 + px * total + 4)}" y="{_n(y + _BAR_H - 3)}" font-size="11" '
            f'fill="#333">{part.value:.3f}</text>'
        )
    y = len(parts) * _ROW_H + (_ROW_H - _BAR_H) / 2
    out.append(
        f'<text x="{x0 - 6}" y="{_n(y + _BAR_H - 3)}" text-anchor="end" font-size="12" '
        'font-weight="bold">score</text>'
        f'<rect class="score-bar" data-value="{score:.6f}" x="{x0}" y="{_n(y)}" '
        f'width="{_n(px * score)}" height="{_BAR_H}" fill="{_SCORE_COLOUR}"/>'
        f'<text x="{_n(x0 + px * score + 4)}" y="{_n(y + _BAR_H - 3)}" font-size="11" '
        f'font-weight="bold">{score:.3f}</text>'
        "</svg>"
    )
    return "".join(out)


def rank_range_svg(*, rank: int, p05: float, p50: float, p95: float, n_ranks: int) -> str:
    """Return a one-line chart of a site's rank spread over the Monte Carlo weight draws.

    Rank ``r`` is the slot from ``r - 0.5`` to ``r + 0.5`` on an axis of ``n_ranks`` slots (at
    least the ranks shown), rank 1 at the left: a bar covers the slots from the 5th to the 95th
    percentile rank, a dot marks the median and a black tick the site's rank with the study's
    weights.

    Returns
    -------
    str
        An ``<svg>`` with ``rect.rank-range``, ``circle.rank-median`` and ``line.rank-base``;
        the centre of slot ``r`` is at ``x = 20 + (r - 0.5) / n x 600``.
    """
    n = max(int(n_ranks), math.ceil(p95), int(rank), 1)
    width = _VIEW_W - 40

    def x(r: float) -> float:
        return 20 + (r - 0.5) / n * width

    ticks = sorted({1, n, *range(5, n, 5)})
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="rank-range-chart" viewBox="0 0 '
        f'{_VIEW_W} 56" width="{_VIEW_W}" height="56" role="img">'
        "<title>Rank over the weight draws: 5th to 95th percentile, median, and the rank</title>"
        f'<line x1="{_n(x(0.5))}" y1="24" x2="{_n(x(n + 0.5))}" y2="24" stroke="#999"/>'
    ]
    for t in ticks:
        out.append(
            f'<line x1="{_n(x(t))}" y1="20" x2="{_n(x(t))}" y2="28" stroke="#999"/>'
            f'<text x="{_n(x(t))}" y="46" text-anchor="middle" font-size="11" fill="#555">'
            f"{t}</text>"
        )
    out.append(
        f'<rect class="rank-range" x="{_n(x(p05 - 0.5))}" y="17" '
        f'width="{_n(x(p95 + 0.5) - x(p05 - 0.5))}" height="14" rx="3" '
        f'fill="{_CRITERION_COLOUR}" fill-opacity="0.35" stroke="{_CRITERION_COLOUR}"/>'
        f'<circle class="rank-median" cx="{_n(x(p50))}" cy="24" r="5" '
        f'fill="{_CRITERION_COLOUR}"/>'
        f'<line class="rank-base" x1="{_n(x(rank))}" y1="10" x2="{_n(x(rank))}" y2="38" '
        'stroke="#000" stroke-width="2.5"/>'
        f'<text x="{_n(x(rank))}" y="8" text-anchor="middle" font-size="10">rank {rank}</text>'
        "</svg>"
    )
    return "".join(out)


def _n(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)
