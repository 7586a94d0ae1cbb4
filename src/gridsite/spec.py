"""Frozen, validated descriptions of a study, passed explicitly through the library.

:mod:`gridsite.config` builds these from TOML files (with pydantic); everything else reads them.
They hold no behaviour beyond small conveniences, and nothing here touches the filesystem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "AggregationSpec",
    "CampusSpec",
    "ConstraintSpec",
    "CriterionSpec",
    "ElectricalSpec",
    "InterconnectSpec",
    "LayerSpec",
    "OutputSpec",
    "PowerGridSpec",
    "RankTerm",
    "RankingSpec",
    "SelectSpec",
    "SensitivitySpec",
    "SitesSpec",
    "StudySpec",
    "SupplySpec",
    "TransformSpec",
    "WeightsSpec",
]

TransformKind = Literal[
    "linear",
    "piecewise",
    "fuzzy_small",
    "fuzzy_large",
    "identity",
    "gaussian",
    "near",
    "power",
    "ms_small",
    "ms_large",
    "exponential",
    "logarithm",
    "logistic_growth",
    "logistic_decay",
    "symmetric_linear",
    "categorical",
]
NodataPolicy = Literal["exclude", "zero", "fill"]
MeasureKind = Literal["distance", "interpolate", "raster"]
ConstraintKind = Literal["outside", "inside", "near", "north_of", "raster_values"]
LayerFormat = Literal["vector", "raster", "csv", "json"]


@dataclass(frozen=True)
class TransformSpec:
    """How a criterion's raw value (in its own unit) becomes a score in [0, 1].

    The kinds and their formulas are in :mod:`gridsite.criteria.transforms` and
    docs/study-file.md. Every value parameter (``low``, ``high``, ``midpoint``, ``shift``,
    thresholds, ``fill_value``, ``points`` x) is in the criterion's own unit ``u``.

    Attributes
    ----------
    kind
        The value function.
    low, high
        ``linear``/``power``: 0 at ``low``, 1 at ``high``; ``symmetric_linear``: the ends of
        the ramp, peak half-way; ``logistic_*``: where the curve starts and ends. Unit ``u``.
    midpoint, spread
        Fuzzy memberships: f2 (unit ``u``) and f1 (``fuzzy_*``: unitless; ``gaussian``,
        ``near``: 1/u^2).
    points
        ``piecewise``: ``(x, score)`` pairs, x in ``u``.
    exponent
        ``power``: the exponent applied to the linear ramp (unitless, > 0).
    mean_multiplier, std_multiplier
        ``ms_small``/``ms_large``: a and b multiplying the input's mean and standard deviation
        (unitless; ArcGIS defaults 1 when unset).
    base_factor
        ``exponential``: growth rate in 1/u (ln of the base per unit of x).
    shift
        ``logarithm``: value (unit ``u``) subtracted from x before the logarithm.
    y_intercept_percent
        ``logistic_growth`` (0-50, default 1) / ``logistic_decay`` (50-100, default 99): the
        curve's value at ``low``, in percent.
    classes, default
        ``categorical``: raw category value -> score, and the score of unlisted values (unset:
        they score NaN, i.e. no data).
    lower_threshold, upper_threshold
        Input range (unit ``u``) the function is applied over; values outside score what the
        threshold scores, unless ``below_threshold_score`` / ``above_threshold_score`` is set.
    below_threshold_score, above_threshold_score
        Scores in [0, 1] (or NaN for no data) for values below / above the thresholds
        (ArcGIS ``valueBelowThreshold`` / ``valueAboveThreshold``).
    nodata
        What a NaN raw value becomes: ``exclude`` keeps NaN (the cell is no data), ``zero``
        scores it 0, ``fill`` replaces the raw value by ``fill_value`` before the transform.
    fill_value
        Raw value (unit ``u``) used by ``nodata = "fill"``.
    """

    kind: TransformKind
    low: float | None = None
    high: float | None = None
    midpoint: float | None = None
    spread: float | None = None
    points: tuple[tuple[float, float], ...] = ()
    exponent: float | None = None
    mean_multiplier: float | None = None
    std_multiplier: float | None = None
    base_factor: float | None = None
    shift: float | None = None
    y_intercept_percent: float | None = None
    classes: tuple[tuple[str | float, float], ...] = ()
    default: float | None = None
    lower_threshold: float | None = None
    upper_threshold: float | None = None
    below_threshold_score: float | None = None
    above_threshold_score: float | None = None
    nodata: NodataPolicy = "exclude"
    fill_value: float | None = None


@dataclass(frozen=True)
class SelectSpec:
    """Keep only features whose ``field`` lies in ``[min, max]`` and, if given, is in ``values``."""

    field: str
    min: float | None = None
    max: float | None = None
    values: tuple[str | float, ...] = ()


@dataclass(frozen=True)
class LayerSpec:
    """One dataset of a layer catalog.

    ``path`` is relative to the data root. ``crs`` is the CRS to assume when the file states none
    (CSV files never do); a file that states a CRS different from it is an error.
    """

    name: str
    path: Path
    format: LayerFormat
    crs: str | None = None
    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    fields: tuple[str, ...] = ()
    licence: str = ""
    attribution: str = ""
    description: str = ""


@dataclass(frozen=True)
class CriterionSpec:
    """One criterion: what is measured on which layer, how it is scored, and its weight."""

    name: str
    layer: str
    measure: MeasureKind
    transform: TransformSpec
    weight: float | None = None
    field: str | None = None
    select: SelectSpec | None = None
    unit: str = ""
    description: str = ""
    group: str | None = None


@dataclass(frozen=True)
class ConstraintSpec:
    """A hard exclusion: cells it hits score 0 and never hold a site."""

    name: str
    layer: str
    kind: ConstraintKind
    buffer_km: float = 0.0
    values: tuple[float, ...] = ()
    select: SelectSpec | None = None
    mode: Literal["exclude", "force", "partial"] = "exclude"
    factor: float = 0.5


@dataclass(frozen=True)
class CampusSpec:
    """The data-centre campus being sited."""

    campus_mw: float = 500.0
    campus_area_ha: float = 100.0


@dataclass(frozen=True)
class SitesSpec:
    """How candidate sites are cut from the suitability surface.

    ``method = "parcels"``: square blocks of the campus area, spaced centre to centre;
    ``"regions"``: grown regions between ``campus_area_ha`` and ``max_area_ha`` (default 4 x the
    campus), spaced edge to edge (:func:`gridsite.sites.locate_regions`).
    """

    count: int = 20
    min_spacing_km: float = 20.0
    pool_factor: int = 3
    method: Literal["parcels", "regions"] = "parcels"
    max_area_ha: float | None = None
    shape: Literal["circle", "square", "free"] = "circle"
    compactness: float = 0.5
    evaluate: Literal["mean", "sum"] = "mean"


@dataclass(frozen=True)
class WeightsSpec:
    """How criterion weights are set: directly, from ranks, or by AHP; optionally in groups.

    ``ahp_matrix`` is a CSV pairwise matrix (criterion names as header and index), a path
    relative to the study file. With ``group_weights``, each criterion's ``group`` gets that
    share, spread over its members by their own (local) weights.
    """

    method: Literal["direct", "rank_sum", "rank_reciprocal", "roc", "ahp"] = "direct"
    ranks: tuple[tuple[str, int], ...] = ()
    ahp_matrix: Path | None = None
    accept_inconsistent: bool = False
    group_weights: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class AggregationSpec:
    """How criterion scores combine into suitability (docs/mcda.md)."""

    method: Literal[
        "wlc",
        "owa",
        "topsis",
        "fuzzy_and",
        "fuzzy_or",
        "fuzzy_product",
        "fuzzy_sum",
        "fuzzy_gamma",
    ] = "wlc"
    risk_attitude: float | None = None
    order_weights: tuple[float, ...] = ()
    normalisation: Literal["vector", "minmax"] = "vector"
    gamma: float = 0.9


@dataclass(frozen=True)
class SensitivitySpec:
    """Monte Carlo over the weights for each site's rank spread (0 draws: off)."""

    draws: int = 1000
    method: Literal["dirichlet", "uniform"] = "dirichlet"
    concentration: float = 100.0
    spread: float = 0.2
    seed: int = 20261128
    top_k: int = 10


@dataclass(frozen=True)
class PowerGridSpec:
    """Which catalog layers hold the power grid, and the numbers used to rate it.

    ``rating_mva_per_circuit`` maps a nominal voltage class (kV) to one circuit's thermal rating;
    a line's voltage takes the nearest class. Defaults are the KEPCO figures in docs/domain.md.
    """

    buses: str
    lines: str
    transformers: str | None = None
    converters: str | None = None
    osm_ways: str | None = None
    graph_source: Literal["tables", "osm_ways"] = "tables"
    station_group_m: float = 500.0
    snap_tolerance_m: float = 1000.0
    rating_mva_per_circuit: tuple[tuple[float, float], ...] = (
        (154.0, 452.0),
        (345.0, 2173.0),
        (765.0, 7290.0),
    )
    rating_source: str = (
        "KEPCO per-circuit ratings (154 kV from a secondary source), docs/domain.md"
    )
    min_connection_kv: float = 154.0
    backbone_kv: float = 765.0
    feeds_kv: float = 345.0
    power_factor: float = 1.0


@dataclass(frozen=True)
class ElectricalSpec:
    """The electrical model put on the power-grid graph, and the hosting-capacity screen.

    Demand comes per cluster (``clusters``: points with ``cluster_id_field``) as a wide hourly
    table (``demand``: one row per hour, ``hour_field``, one column per cluster id, MW); solar and
    wind likewise as installed MW per cluster times hourly capacity factors. Plants are dispatched
    in ``merit_order``. Reactance per km comes from ``x_ohm_per_km`` or is calibrated from
    ``reactance_branches``. ``hours`` are hours of the year (1-based) or ``"max"`` / ``"min"``
    (the hours of highest and lowest total demand).
    """

    clusters: str
    demand: str
    plants: str
    cluster_id_field: str = "bus_i"
    hour_field: str = "hour_of_year"
    solar_capacity: str | None = None
    solar_profile: str | None = None
    wind_capacity: str | None = None
    wind_profile: str | None = None
    capacity_id_field: str = "bus_ID"
    capacity_mw_field: str = "Pmax [MW]"
    plant_capacity_field: str = "capacity_mw"
    plant_fuel_field: str = "primary_fuel"
    merit_order: tuple[str, ...] = ("Nuclear", "Coal", "Gas", "Oil", "Hydro")
    availability: tuple[tuple[str, float], ...] = (
        ("Nuclear", 0.9),
        ("Coal", 0.85),
        ("Gas", 0.9),
        ("Oil", 0.9),
        ("Hydro", 0.5),
    )
    reactance_branches: str | None = None
    x_ohm_per_km: tuple[tuple[float, float], ...] = ()
    transformer_x_pu: float = 0.01
    hours: tuple[int | str, ...] = ("max", "min")
    contingency: Literal["n-0", "n-1"] = "n-1"
    slack: Literal["single", "distributed"] = "distributed"


@dataclass(frozen=True)
class InterconnectSpec:
    """Routed interconnection (docs/domain.md section 4) and the speed-to-power estimate.

    ``costs`` names a layer holding the reVX cost tables; ``cost_region`` picks their region.
    Routes search ``window_km`` around each site and its ``k_substations`` nearest feasible
    substations; cells of the constraints named in ``barriers`` (and outside the study area) are
    impassable, cells of ``urban_constraint`` carry the urban cost multiplier, and a raster
    ``slope_layer`` (slope in percent) the hill and mountain multipliers. The ``*_months``
    keys are the lead-time assumptions of :mod:`gridsite.powergrid.timeline`.
    """

    costs: str
    cost_region: str = "TEPPC"
    k_substations: int = 3
    window_km: float = 30.0
    barriers: tuple[str, ...] = ()
    urban_constraint: str | None = None
    slope_layer: str | None = None
    base_months: float = 12.0
    months_per_km: tuple[tuple[float, float], ...] = ((154.0, 0.3), (345.0, 0.5), (765.0, 0.8))
    upgrade_months: float = 6.0
    transformer_months: float = 18.0
    reinforcement_months: float = 48.0


@dataclass(frozen=True)
class SupplySpec:
    """Co-located PV, wind and battery sized per site to an hourly CFE target (``[supply]``).

    Profiles: ``pv_profile`` and ``wind_profile`` name wide hourly tables (one column per bus id
    of ``profile_buses``, plus ``hour_field``); a site takes its nearest bus's column or the IDW
    mean of ``profile_k`` buses. Potential: eligible land within ``radius_km`` (cells of the study
    constraints named in ``land_exclusions`` and of the supply-only ``exclusions`` removed) times
    the power densities, shared ``share``-wise between overlapping sites; offshore wind on the
    cells of ``sea_constraint`` (minus ``sea_exclusions``) within ``offshore_max_shore_km`` of
    eligible land's coast. Load: ``campus_mw x utilisation``, shaped by ``load_profile`` if given.
    ``costs`` are :class:`gridsite.energy.SupplyCosts` fields overriding its defaults.
    """

    pv_profile: str
    wind_profile: str
    profile_buses: str
    profile_bus_id_field: str = "bus_i"
    hour_field: str = "hour_of_year"
    profile_method: Literal["nearest", "idw"] = "nearest"
    profile_k: int = 4
    radius_km: float = 30.0
    pv_mw_per_km2: float = 50.0
    wind_mw_per_km2: float = 4.0
    share: Literal["equal", "nearest"] = "equal"
    land_exclusions: tuple[str, ...] = ()
    exclusions: tuple[ConstraintSpec, ...] = ()
    sea_constraint: str | None = None
    sea_exclusions: tuple[str, ...] = ()
    offshore_max_shore_km: float = 20.0
    offshore_radius_km: float = 50.0
    offshore_mw_per_km2: float = 5.0
    utilisation: float = 1.0
    load_profile: str | None = None
    load_profile_field: str | None = None
    cfe_target: float = 0.8
    round_trip_efficiency: float = 0.85
    soc_min: float = 0.1
    soc_max: float = 0.9
    bess_duration_max_h: float | None = None
    year: int = 2025
    costs: tuple[tuple[str, float], ...] = ()
    cost_source: str = ""


@dataclass(frozen=True)
class RankTerm:
    """One site-level term of the final score: a site column, its transform and weight.

    With ``per_campus`` the column is divided by ``campus_mw`` before the transform (capacities
    as multiples of the campus). The term's score column is ``score_<name>``.
    """

    name: str
    field: str
    weight: float
    transform: TransformSpec
    per_campus: bool = False


@dataclass(frozen=True)
class RankingSpec:
    """How the final site score mixes the parcel's suitability with site-level terms.

    ``score = (w_s x suitability + sum_t w_t x T_t(field_t)) / (w_s + sum_t w_t)``, in [0, 1].
    """

    suitability_weight: float = 0.6
    terms: tuple[RankTerm, ...] = (
        RankTerm(
            name="interconnect",
            field="interconnect_km",
            weight=0.25,
            transform=TransformSpec(kind="linear", low=40.0, high=0.0),
        ),
        RankTerm(
            name="capacity",
            field="capacity_mw",
            weight=0.15,
            transform=TransformSpec(kind="linear", low=0.0, high=2.0),
            per_campus=True,
        ),
    )


@dataclass(frozen=True)
class OutputSpec:
    """What a run writes."""

    map_html: bool = True
    suitability_tif: bool = True
    grid_geojson: bool = True
    #: ``scores/<criterion>.tif``: each criterion's score raster.
    score_tifs: bool = True
    #: ``sites.gpkg``: sites, routes, power grid and hosting capacity in the study CRS.
    sites_gpkg: bool = True


@dataclass(frozen=True)
class StudySpec:
    """A whole study, resolved: paths absolute, layers looked up in the catalog."""

    name: str
    title: str
    source: Path
    data_root: Path
    crs: str
    resolution_m: float
    area_layer: str
    area_margin_km: float
    campus: CampusSpec
    layers: dict[str, LayerSpec]
    criteria: tuple[CriterionSpec, ...]
    constraints: tuple[ConstraintSpec, ...]
    sites: SitesSpec
    powergrid: PowerGridSpec
    ranking: RankingSpec
    outputs: OutputSpec = field(default_factory=OutputSpec)
    electrical: ElectricalSpec | None = None
    interconnect: InterconnectSpec | None = None
    supply: SupplySpec | None = None
    weights: WeightsSpec = field(default_factory=WeightsSpec)
    aggregation: AggregationSpec = field(default_factory=AggregationSpec)
    sensitivity: SensitivitySpec = field(default_factory=SensitivitySpec)
    province_layer: str | None = None
    province_field: str | None = None
    place_layer: str | None = None
    place_field: str | None = None
    #: Square chunks of this many cells for the raster stages (0: the whole grid in memory).
    chunk_px: int = 0
    #: ``dask.distributed`` scheduler address for the chunked raster stages ("" = local threads).
    scheduler: str = ""
