"""How long until a campus can draw power: a transparent, configurable estimate.

Investors treat more than ~18 months to power as a deal-breaker (docs/domain.md section 1), so the
ranking needs a first figure. There is no public Korean source for lead times in the data pack, so
the defaults below are gridsite's planning assumptions, stated here and in the run manifest, to be
replaced by the user's own (``[interconnect.timeline]`` in the study file):

- ``base_months`` (12): the grid operator's impact assessment and connection agreement;
- ``months_per_km`` by voltage class (154 kV 0.3, 345 kV 0.5, 765 kV 0.8): permitting and
  building an overhead line, longer for higher voltages (bigger towers, wider rights of way);
- ``upgrade_months`` (6): extending an existing substation (new bay);
- ``transformer_months`` (18): a new transformer where the line's voltage differs from the
  substation's (large power transformers have long lead times);
- ``reinforcement_months`` (48): when the grid cannot host the campus N-1 secure, the network
  itself must be reinforced first.

Work on the line and in the substation runs in parallel; the estimate is
``base + max(line, substation work) + reinforcement``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["TimelineAssumptions", "speed_to_power_months"]


@dataclass(frozen=True)
class TimelineAssumptions:
    """Lead-time assumptions (months); see the module docstring for where each comes from."""

    base_months: float = 12.0
    months_per_km: Sequence[tuple[float, float]] = ((154.0, 0.3), (345.0, 0.5), (765.0, 0.8))
    upgrade_months: float = 6.0
    transformer_months: float = 18.0
    reinforcement_months: float = 48.0


def speed_to_power_months(
    route_km: float,
    voltage_kv: float,
    *,
    transformer: bool,
    reinforcement: bool,
    assumptions: TimelineAssumptions | None = None,
) -> float:
    """Months from today until the campus can be energised.

    Parameters
    ----------
    route_km
        Length of the new line (km); 0 for a site next to its substation.
    voltage_kv
        Voltage of the new line; takes the nearest class in ``months_per_km``.
    transformer
        Whether a new transformer is needed at the substation.
    reinforcement
        Whether the grid must be reinforced first (hosting capacity below the campus demand).
    assumptions
        Lead times; :class:`TimelineAssumptions` defaults when None.

    Examples
    --------
    >>> speed_to_power_months(10, 345, transformer=False, reinforcement=False)
    18.0
    >>> speed_to_power_months(10, 345, transformer=True, reinforcement=True)
    78.0
    """
    a = assumptions or TimelineAssumptions()
    _, per_km = min(a.months_per_km, key=lambda c: (abs(c[0] - voltage_kv), c[0]))
    line = max(route_km, 0.0) * per_km
    station = a.transformer_months if transformer else a.upgrade_months
    extra = a.reinforcement_months if reinforcement else 0.0
    return float(a.base_months + max(line, station) + extra)
