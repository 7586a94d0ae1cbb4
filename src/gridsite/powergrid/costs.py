"""Unit costs of an interconnection (tie line, substation, transformer), after NREL reVX.

:class:`TransmissionCosts` holds one region's costs, converted from reVX's tables (2019 US$ per
mile, $ per MVA) to MUSD per km, MUSD and MUSD per MVA, keyed by voltage class in kV.
:meth:`TransmissionCosts.from_tables` builds it from the parsed JSON tables that ship with reVX
(``reVX/least_cost_xmission/config``, BSD-3-Clause; a copy is in the data pack under
``revx-xmission-costs``); :func:`gridsite.layers.read_revx_costs` reads them from a folder.

These are **US costs**: use them as labelled defaults until Korean unit costs are configured
(docs/domain.md section 4). Every lookup by voltage follows reVX's own rule for its transformer
table: take the smallest tabulated class at or above the asked voltage, or the top class when the
voltage is above them all. With the reVX tables a Korean 154 kV line is therefore priced as a
230 kV line, 345 kV as 500 kV, and 765 kV as 500 kV (an underestimate): a Korean table keyed by
154/345/765 kV is matched exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gridsite.errors import PowerGridError

__all__ = [
    "DEFAULT_REVX_REGION",
    "MEDIUM_CUTOFF_KM",
    "M_PER_MILE",
    "REVX_TABLES",
    "SHORT_CUTOFF_KM",
    "TransmissionCosts",
    "class_at_or_above",
    "length_multiplier",
    "line_cost_per_km_musd",
    "substation_cost_musd",
]

#: One international mile in metres (reVX uses 1609.344 m for its $/mile -> $/cell conversion).
M_PER_MILE = 1609.344
_USD_PER_MUSD = 1e6

#: The reVX region whose costs are the default. TEPPC (WECC's Transmission Expansion Planning
#: Policy Committee) is the source of the whole method: reVX's length multipliers come from the
#: TEPPC/E3 2019 transmission capital cost calculator, and TEPPC is reVX's region code 1. Its
#: base line costs exclude right-of-way, which the other regions include.
DEFAULT_REVX_REGION = "TEPPC"

#: reVX table names (JSON file stems) that :meth:`TransmissionCosts.from_tables` reads;
#: ``land_use_classes`` is optional (NLCD codes are the default).
REVX_TABLES = (
    "base_line_costs",
    "power_classes",
    "power_to_voltage",
    "iso_multipliers",
    "transformer_costs",
    "new_substation_costs",
    "upgrade_substation_costs",
)

#: reVX's NLCD land-cover codes of each land-use class (``cost_creator.NLCD_LAND_USE_CLASSES``).
_NLCD_LAND_USE_CODES: dict[str, tuple[int, ...]] = {
    "cropland": (80, 81),
    "forest": (41, 42, 43),
    "wetland": (90, 95),
    "suburban": (21, 22, 23),
    "urban": (24,),
}

VoltageTable = tuple[tuple[float, float], ...]


def class_at_or_above(table: VoltageTable, voltage_kv: float) -> tuple[float, float]:
    """Return the ``(kV, value)`` entry of the smallest class >= ``voltage_kv``, else the top one.

    This is reVX's rule for picking a transformer cost class (``XmissionConfig.xformer_cost``).

    Examples
    --------
    >>> table = ((69.0, 1.0), (138.0, 2.0), (230.0, 3.0), (500.0, 4.0))
    >>> class_at_or_above(table, 154), class_at_or_above(table, 138), class_at_or_above(table, 765)
    ((230.0, 3.0), (138.0, 2.0), (500.0, 4.0))
    """
    if not table:
        raise PowerGridError("the cost table is empty; it needs at least one voltage class")
    ordered = sorted(table)
    for kv, value in ordered:
        if kv >= voltage_kv:
            return (kv, value)
    return ordered[-1]


@dataclass(frozen=True)
class TransmissionCosts:
    """Unit costs of a tie line and its connection, for one cost region.

    Money is in millions of 2019 US$ (MUSD); lengths in km; voltage classes in kV (line-to-line).

    Parameters
    ----------
    region
        Cost region the numbers are for (a reVX ISO name, or e.g. ``"KEPCO"``).
    line_musd_per_km
        ``(kV, MUSD per km)``: base cost of one circuit of new overhead line, before multipliers.
    line_capacity_mw
        ``(capacity MW, kV)``: reVX's line capacity classes and their voltages.
    power_classes_mw
        ``(class name, line capacity MW)``: reVX's plant power classes (``power_classes``).
    landuse_multipliers
        ``(land-use class, multiplier)`` on the line cost, e.g. ``("urban", 1.59)``.
    landuse_codes
        ``(land-use class, land-cover codes)``: which raster codes belong to each class.
    hill_slope_pct, hill_multiplier, mountain_slope_pct, mountain_multiplier
        Slope classes: a cell with ``hill_slope_pct <= slope < mountain_slope_pct`` (percent grade)
        costs ``hill_multiplier`` times more, one with ``slope >= mountain_slope_pct`` costs
        ``mountain_multiplier`` times more.
    transformer_musd_per_mva
        ``(line kV, substation kV, MUSD per MVA)`` of transformation between the two voltages.
    new_substation_musd, upgrade_substation_musd
        ``(kV, MUSD)``: a new substation (tapping a line) and the upgrade of an existing
        substation to take the tie line, by the tie line's voltage.
    source
        Where the numbers come from, for reports and the run manifest.
    """

    region: str
    line_musd_per_km: VoltageTable
    line_capacity_mw: tuple[tuple[float, float], ...]
    power_classes_mw: tuple[tuple[str, float], ...]
    landuse_multipliers: tuple[tuple[str, float], ...]
    landuse_codes: tuple[tuple[str, tuple[int, ...]], ...]
    hill_slope_pct: float
    hill_multiplier: float
    mountain_slope_pct: float
    mountain_multiplier: float
    transformer_musd_per_mva: tuple[tuple[float, float, float], ...]
    new_substation_musd: VoltageTable
    upgrade_substation_musd: VoltageTable
    source: str = ""

    def landuse_multiplier(self, land_use: str) -> float:
        """Return the multiplier of a land-use class (1.0 for a class without one)."""
        return dict(self.landuse_multipliers).get(land_use, 1.0)

    def transformer_cost_musd_per_mva(self, line_kv: float, substation_kv: float) -> float:
        """Return the transformer cost (MUSD per MVA) between a line and a substation voltage.

        Both voltages are matched with :func:`class_at_or_above` (line voltage first, then the
        substation voltage among that line class's entries).
        """
        if not self.transformer_musd_per_mva:
            raise PowerGridError(f"cost region {self.region!r} has no transformer costs")
        line_class, _ = class_at_or_above(
            tuple((lv, 0.0) for lv, _, _ in self.transformer_musd_per_mva), line_kv
        )
        row = tuple((sv, c) for lv, sv, c in self.transformer_musd_per_mva if lv == line_class)
        return class_at_or_above(row, substation_kv)[1]

    @classmethod
    def from_tables(
        cls, tables: Mapping[str, Any], *, region: str = DEFAULT_REVX_REGION
    ) -> TransmissionCosts:
        """Build the costs of ``region`` from reVX's parsed JSON tables.

        Parameters
        ----------
        tables
            Parsed JSON keyed by table name (:data:`REVX_TABLES`, plus optional
            ``land_use_classes``): ``base_line_costs`` (2019 US$ per mile, by region and line
            capacity class MW), ``power_classes``, ``power_to_voltage`` (MW -> kV),
            ``iso_multipliers`` (list of ``{"iso", "land_use", "slope"}``), ``transformer_costs``
            ($ per MVA by line kV and substation kV), ``new_substation_costs`` and
            ``upgrade_substation_costs`` ($ by region and kV).
        region
            The reVX region (ISO) whose costs to take: ``TEPPC`` (default), ``SCE``, ``MISO`` or
            ``Southeast``.

        Raises
        ------
        PowerGridError
            Naming the table and key when a table is missing, lacks the region, or holds a value
            that is not a positive number.

        Notes
        -----
        Base line costs are converted from US$ per mile to MUSD per km (divided by 1.609344 and
        by 1e6). Where two capacity classes share a voltage (500 kV: 1,500 and 3,000 MW) the
        smaller class, one circuit, gives that voltage's cost.
        """
        missing = [name for name in REVX_TABLES if name not in tables]
        if missing:
            raise PowerGridError(
                f"reVX cost tables {', '.join(missing)} are missing; give all of "
                f"{', '.join(REVX_TABLES)}"
            )
        p2v = {
            _number(k, "power_to_voltage", k): _number(v, "power_to_voltage", k)
            for k, v in _mapping(tables["power_to_voltage"], "power_to_voltage").items()
        }
        classes = tuple(
            (str(name), _number(mw, "power_classes", name))
            for name, mw in _mapping(tables["power_classes"], "power_classes").items()
        )
        base = _mapping(
            _region(tables["base_line_costs"], "base_line_costs", region), "base_line_costs"
        )
        line: dict[float, tuple[float, float]] = {}  # kV -> (capacity MW, MUSD/km)
        for cap_key, usd_per_mile in base.items():
            cap_mw = _number(cap_key, "base_line_costs", f"{region}.{cap_key}")
            if cap_mw not in p2v:
                raise PowerGridError(
                    f"table 'base_line_costs', key '{region}.{cap_key}': capacity class "
                    f"{cap_key} MW has no voltage in table 'power_to_voltage'"
                )
            cost = _number(usd_per_mile, "base_line_costs", f"{region}.{cap_key}")
            kv = p2v[cap_mw]
            musd_per_km = cost / _USD_PER_MUSD / (M_PER_MILE / 1000.0)
            if kv not in line or cap_mw < line[kv][0]:
                line[kv] = (cap_mw, musd_per_km)
        mults = _iso_multipliers(tables["iso_multipliers"], region)
        land_use = _mapping(mults.get("land_use", {}), "iso_multipliers", f"{region}.land_use")
        slope = _mapping(mults.get("slope", {}), "iso_multipliers", f"{region}.slope")
        xformer: list[tuple[float, float, float]] = []
        for line_kv, row in _mapping(tables["transformer_costs"], "transformer_costs").items():
            for sub_kv, usd_per_mva in _mapping(row, "transformer_costs", line_kv).items():
                where = f"{line_kv}.{sub_kv}"
                xformer.append(
                    (
                        _number(line_kv, "transformer_costs", where),
                        _number(sub_kv, "transformer_costs", where),
                        _number(usd_per_mva, "transformer_costs", where) / _USD_PER_MUSD,
                    )
                )
        codes = _NLCD_LAND_USE_CODES
        if "land_use_classes" in tables:
            codes = {
                str(name): tuple(int(_number(c, "land_use_classes", name)) for c in values)
                for name, values in _mapping(tables["land_use_classes"], "land_use_classes").items()
            }
        return cls(
            region=region,
            line_musd_per_km=tuple(sorted((kv, v[1]) for kv, v in line.items())),
            line_capacity_mw=tuple(sorted(p2v.items())),
            power_classes_mw=classes,
            landuse_multipliers=tuple(
                (str(k), _number(v, "iso_multipliers", f"{region}.land_use.{k}"))
                for k, v in land_use.items()
            ),
            landuse_codes=tuple(codes.items()),
            hill_slope_pct=_slope_value(slope, "hill_slope", region, 2.0),
            hill_multiplier=_slope_value(slope, "hill_mult", region, 1.0),
            mountain_slope_pct=_slope_value(slope, "mtn_slope", region, 8.0),
            mountain_multiplier=_slope_value(slope, "mtn_mult", region, 1.0),
            transformer_musd_per_mva=tuple(sorted(xformer)),
            new_substation_musd=_kv_costs(
                tables["new_substation_costs"], "new_substation_costs", region
            ),
            upgrade_substation_musd=_kv_costs(
                tables["upgrade_substation_costs"], "upgrade_substation_costs", region
            ),
            source=(
                f"NREL reVX least_cost_xmission config tables, region {region}, 2019 US$ "
                "(US costs used as labelled defaults; BSD-3-Clause)"
            ),
        )


def _mapping(value: Any, table: str, key: str | None = None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        where = f"table {table!r}" + ("" if key is None else f", key {key!r}")
        raise PowerGridError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _number(value: Any, table: str, key: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise PowerGridError(
            f"table {table!r}, key {key!r}: {value!r} is not a non-negative number; fix the table"
        )
    return number


def _region(table: Any, name: str, region: str) -> Any:
    mapping = _mapping(table, name)
    if region not in mapping:
        raise PowerGridError(
            f"table {name!r} has no region {region!r}; it has {', '.join(map(str, mapping))}"
        )
    return mapping[region]


def _iso_multipliers(table: Any, region: str) -> Mapping[str, Any]:
    if not isinstance(table, list):
        raise PowerGridError(
            f"table 'iso_multipliers': expected a JSON list of {{'iso', 'land_use', 'slope'}} "
            f"objects, got {type(table).__name__}"
        )
    for entry in table:
        if isinstance(entry, Mapping) and entry.get("iso") == region:
            return entry
    found = [e.get("iso") for e in table if isinstance(e, Mapping)]
    raise PowerGridError(
        f"table 'iso_multipliers' has no entry with iso {region!r}; it has {found}"
    )


def _slope_value(slope: Mapping[str, Any], key: str, region: str, default: float) -> float:
    if key not in slope:
        return default
    return _number(slope[key], "iso_multipliers", f"{region}.slope.{key}")


def _kv_costs(table: Any, name: str, region: str) -> VoltageTable:
    by_kv = _mapping(_region(table, name, region), name, region)
    return tuple(
        sorted(
            (
                _number(kv, name, f"{region}.{kv}"),
                _number(usd, name, f"{region}.{kv}") / _USD_PER_MUSD,
            )
            for kv, usd in by_kv.items()
        )
    )


# --- cost rules ------------------------------------------------------------------------------

#: reVX's short and medium tie-line cut-offs: 3 and 10 miles, in km (reVX ``config/constants``).
SHORT_CUTOFF_KM = 3 * M_PER_MILE / 1000.0
MEDIUM_CUTOFF_KM = 10 * M_PER_MILE / 1000.0
#: reVX's cost multipliers of short (< 3 mi) and medium (3-10 mi) tie lines (step rule).
SHORT_MULTIPLIER = 1.5
MEDIUM_MULTIPLIER = 1.2


def line_cost_per_km_musd(costs: TransmissionCosts, voltage_kv: float) -> float:
    """Return the base cost of one circuit at ``voltage_kv``, MUSD per km, before multipliers.

    The voltage takes the smallest costed class at or above it (:func:`class_at_or_above`).

    Examples
    --------
    >>> c = TransmissionCosts(
    ...     "X", ((138.0, 0.7), (230.0, 1.0)), (), (), (), (), 2, 1, 8, 1, (), (), ()
    ... )
    >>> line_cost_per_km_musd(c, 154), line_cost_per_km_musd(c, 138)
    (1.0, 0.7)
    """
    if not costs.line_musd_per_km:
        raise PowerGridError(f"cost region {costs.region!r} has no line costs")
    return class_at_or_above(costs.line_musd_per_km, voltage_kv)[1]


def substation_cost_musd(
    costs: TransmissionCosts, line_kv: float, *, new_substation: bool = False
) -> float:
    """Return the cost (MUSD) of tying a line of ``line_kv`` into a substation.

    ``new_substation=False`` is the upgrade of an existing substation (reVX connects to a
    substation); ``True`` is a new substation (reVX taps a transmission line). reVX keys both by
    the tie line's voltage; the voltage takes the class at or above it.
    """
    table = costs.new_substation_musd if new_substation else costs.upgrade_substation_musd
    if not table:
        kind = "new" if new_substation else "upgrade"
        raise PowerGridError(f"cost region {costs.region!r} has no {kind} substation costs")
    return class_at_or_above(table, line_kv)[1]


def length_multiplier(length_km: float, *, kind: str = "linear") -> float:
    """Return reVX's cost multiplier of a tie line of ``length_km``: short lines cost more per km.

    ``kind="linear"`` (reVX's default, ``trans_cap_costs._compute_linear_lm``): a straight line
    through x1.5 at 1.5 miles (the middle of the short class, 2.414 km) and x1.0 at 10 miles
    (16.093 km), flat at 1.0 beyond 10 miles. Below 1.5 miles the line keeps rising, to 27/17 =
    1.588 at 0 km, as in reVX::

        m(d) = 1 + (1 - 1.5) / (16.093 - 2.414) x (d - 16.093)   for d <= 16.093 km, else 1

    ``kind="step"`` (reVX's original rule): x1.5 below 3 miles (4.828 km), x1.2 up to 10 miles,
    x1.0 beyond. The numbers come from WECC's TEPPC/E3 2019 transmission capital cost calculator,
    via reVX; docs/domain.md section 4 summarises them as "x1.5 for very short lines falling to
    x1.0 at ~16 km".

    Examples
    --------
    >>> [round(length_multiplier(d), 4) for d in (0.0, 8.0, 16.0, 30.0)]
    [1.5882, 1.2958, 1.0034, 1.0]
    >>> [length_multiplier(d, kind="step") for d in (0.0, 8.0, 16.0, 30.0)]
    [1.5, 1.2, 1.2, 1.0]
    """
    if not (length_km >= 0 and math.isfinite(length_km)):
        raise ValueError(f"length_km must be a finite length >= 0, got {length_km!r}")
    if kind == "linear":
        if length_km > MEDIUM_CUTOFF_KM:
            return 1.0
        slope = (1.0 - SHORT_MULTIPLIER) / (MEDIUM_CUTOFF_KM - SHORT_CUTOFF_KM / 2)
        return 1.0 + slope * (length_km - MEDIUM_CUTOFF_KM)
    if kind == "step":
        if length_km < SHORT_CUTOFF_KM:
            return SHORT_MULTIPLIER
        return MEDIUM_MULTIPLIER if length_km <= MEDIUM_CUTOFF_KM else 1.0
    raise ValueError(f"length multiplier kind must be 'linear' or 'step', got {kind!r}")
