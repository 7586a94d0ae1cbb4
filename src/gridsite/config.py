"""Read study files and layer catalogs (TOML), validate them, and resolve them to a StudySpec.

This is the only module that uses pydantic. Every model forbids unknown keys, so a misspelt key
is an error naming its dotted location and the file. All problems are collected and reported
at once.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from gridsite.criteria.transforms import transform_problems
from gridsite.energy.costs import SupplyCosts
from gridsite.errors import ConfigError, DataRootError
from gridsite.spec import (
    AggregationSpec,
    CampusSpec,
    ConstraintSpec,
    CriterionSpec,
    ElectricalSpec,
    InterconnectSpec,
    LayerSpec,
    NodataPolicy,
    OutputSpec,
    PowerGridSpec,
    RankingSpec,
    RankTerm,
    SelectSpec,
    SensitivitySpec,
    SitesSpec,
    StudySpec,
    SupplySpec,
    TransformKind,
    TransformSpec,
    WeightsSpec,
)

__all__ = ["DATA_ENV_VAR", "load_catalog", "load_study", "resolve_data_root"]

DATA_ENV_VAR = "GRIDSITE_DATA"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TransformModel(_Model):
    """A criterion's value-to-score transform (see TransformSpec for units)."""

    kind: TransformKind
    low: float | None = None
    high: float | None = None
    midpoint: float | None = None
    spread: float | None = None
    points: list[tuple[float, float]] = Field(default_factory=list)
    exponent: float | None = None
    mean_multiplier: float | None = None
    std_multiplier: float | None = None
    base_factor: float | None = None
    shift: float | None = None
    y_intercept_percent: float | None = None
    classes: dict[str, float] = Field(default_factory=dict)
    default: float | None = None
    lower_threshold: float | None = None
    upper_threshold: float | None = None
    below_threshold_score: float | None = None
    above_threshold_score: float | None = None
    nodata: NodataPolicy = "exclude"
    fill_value: float | None = None


class SelectModel(_Model):
    """A filter on one field of a layer."""

    field: str
    min: float | None = None
    max: float | None = None
    values: list[str | float] = Field(default_factory=list)


class StudySection(_Model):
    """``[study]``: name, catalog, data root, CRS, resolution and area."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = ""
    catalog: str
    data_root: str | None = None
    crs: str = "EPSG:5179"
    resolution_m: float = Field(default=500.0, gt=0)
    area: str
    area_margin_km: float = Field(default=10.0, ge=0)
    province_layer: str | None = None
    province_field: str | None = None
    place_layer: str | None = None
    place_field: str | None = None
    chunk_px: int = Field(default=0, ge=0)
    scheduler: str = ""


class CampusSection(_Model):
    """``[campus]``: the campus being sited."""

    campus_mw: float = Field(default=500.0, gt=0)
    campus_area_ha: float = Field(default=100.0, gt=0)


class CriterionModel(_Model):
    """One ``[[criteria]]`` entry."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    layer: str
    measure: Literal["distance", "interpolate", "raster"]
    transform: TransformModel
    weight: float | None = Field(default=None, ge=0)
    field: str | None = None
    select: SelectModel | None = None
    unit: str = ""
    description: str = ""
    group: str | None = None


class ConstraintModel(_Model):
    """One ``[[constraints]]`` entry."""

    name: str
    layer: str
    kind: Literal["outside", "inside", "near", "north_of", "raster_values"]
    buffer_km: float = Field(default=0.0, ge=0)
    values: list[float] = Field(default_factory=list)
    select: SelectModel | None = None
    mode: Literal["exclude", "force", "partial"] = "exclude"
    factor: float = Field(default=0.5, ge=0, le=1)


class SitesSection(_Model):
    """``[sites]``: how many candidate sites, how far apart."""

    count: int = Field(default=20, ge=1)
    min_spacing_km: float = Field(default=20.0, ge=0)
    pool_factor: int = Field(default=3, ge=1)
    method: Literal["parcels", "regions"] = "parcels"
    max_area_ha: float | None = Field(default=None, gt=0)
    shape: Literal["circle", "square", "free"] = "circle"
    compactness: float = Field(default=0.5, ge=0, le=1)
    evaluate: Literal["mean", "sum"] = "mean"


class WeightsSection(_Model):
    """``[weights]``: direct, rank-based or AHP weights, optionally in groups."""

    method: Literal["direct", "rank_sum", "rank_reciprocal", "roc", "ahp"] = "direct"
    ranks: dict[str, int] = Field(default_factory=dict)
    ahp_matrix: str | None = None
    accept_inconsistent: bool = False
    group_weights: dict[str, float] = Field(default_factory=dict)


class AggregationSection(_Model):
    """``[aggregation]``: how criterion scores combine."""

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
    risk_attitude: float | None = Field(default=None, ge=0)
    order_weights: list[float] = Field(default_factory=list)
    normalisation: Literal["vector", "minmax"] = "vector"
    gamma: float = Field(default=0.9, ge=0, le=1)


class SensitivitySection(_Model):
    """``[sensitivity]``: Monte Carlo over the weights."""

    draws: int = Field(default=1000, ge=0)
    method: Literal["dirichlet", "uniform"] = "dirichlet"
    concentration: float = Field(default=100.0, gt=0)
    spread: float = Field(default=0.2, ge=0, lt=1)
    seed: int = 20261128
    top_k: int = Field(default=10, ge=1)


class PowerGridSection(_Model):
    """``[powergrid]``: the grid layers and rating table."""

    buses: str
    lines: str
    transformers: str | None = None
    converters: str | None = None
    osm_ways: str | None = None
    graph_source: Literal["tables", "osm_ways"] = "tables"
    station_group_m: float = Field(default=500.0, gt=0)
    snap_tolerance_m: float = Field(default=1000.0, gt=0)
    rating_mva_per_circuit: dict[str, float] = Field(
        default_factory=lambda: {"154": 452.0, "345": 2173.0, "765": 7290.0}
    )
    rating_source: str = PowerGridSpec.rating_source
    min_connection_kv: float = Field(default=154.0, gt=0)
    backbone_kv: float = Field(default=765.0, gt=0)
    feeds_kv: float = Field(default=345.0, gt=0)
    power_factor: float = Field(default=1.0, gt=0, le=1)


class ElectricalSection(_Model):
    """``[electrical]``: loads, generation and reactances for DC power flow."""

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
    merit_order: list[str] = Field(default_factory=lambda: list(ElectricalSpec.merit_order))
    availability: dict[str, float] = Field(
        default_factory=lambda: dict(ElectricalSpec.availability)
    )
    reactance_branches: str | None = None
    x_ohm_per_km: dict[str, float] = Field(default_factory=dict)
    transformer_x_pu: float = Field(default=0.01, gt=0)
    hours: list[int | Literal["max", "min"]] = Field(
        default_factory=lambda: list[int | Literal["max", "min"]](["max", "min"])
    )
    contingency: Literal["n-0", "n-1"] = "n-1"
    slack: Literal["single", "distributed"] = "distributed"


class RankTermModel(_Model):
    """One ``[[ranking.terms]]`` entry: a site column scored and weighted."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    field: str
    weight: float = Field(ge=0)
    transform: TransformModel
    per_campus: bool = False


class RankingSection(_Model):
    """``[ranking]``: how site scores mix suitability with site-level terms."""

    suitability_weight: float = Field(default=0.6, ge=0)
    terms: list[RankTermModel] | None = None


class InterconnectSection(_Model):
    """``[interconnect]``: routed tie lines, their costs, and the speed-to-power estimate."""

    costs: str
    cost_region: str = "TEPPC"
    k_substations: int = Field(default=3, ge=1)
    window_km: float = Field(default=30.0, gt=0)
    barriers: list[str] = Field(default_factory=list)
    urban_constraint: str | None = None
    slope_layer: str | None = None
    base_months: float = Field(default=12.0, ge=0)
    months_per_km: dict[str, float] = Field(
        default_factory=lambda: {"154": 0.3, "345": 0.5, "765": 0.8}
    )
    upgrade_months: float = Field(default=6.0, ge=0)
    transformer_months: float = Field(default=18.0, ge=0)
    reinforcement_months: float = Field(default=48.0, ge=0)


class SupplyExclusionModel(_Model):
    """One ``[[supply.exclusions]]`` entry: land excluded from PV and wind only."""

    name: str
    layer: str
    kind: Literal["outside", "inside", "near", "north_of", "raster_values"]
    buffer_km: float = Field(default=0.0, ge=0)
    values: list[float] = Field(default_factory=list)
    select: SelectModel | None = None


class SupplySection(_Model):
    """``[supply]``: co-located PV, wind and battery sized to an hourly CFE target."""

    pv_profile: str
    wind_profile: str
    profile_buses: str
    profile_bus_id_field: str = "bus_i"
    hour_field: str = "hour_of_year"
    profile_method: Literal["nearest", "idw"] = "nearest"
    profile_k: int = Field(default=4, ge=1)
    radius_km: float = Field(default=30.0, gt=0)
    pv_mw_per_km2: float = Field(default=50.0, ge=0)
    wind_mw_per_km2: float = Field(default=4.0, ge=0)
    share: Literal["equal", "nearest"] = "equal"
    land_exclusions: list[str] = Field(default_factory=list)
    exclusions: list[SupplyExclusionModel] = Field(default_factory=list)
    sea_constraint: str | None = None
    sea_exclusions: list[str] = Field(default_factory=list)
    offshore_max_shore_km: float = Field(default=20.0, ge=0)
    offshore_radius_km: float = Field(default=50.0, gt=0)
    offshore_mw_per_km2: float = Field(default=5.0, ge=0)
    utilisation: float = Field(default=1.0, gt=0, le=1)
    load_profile: str | None = None
    load_profile_field: str | None = None
    cfe_target: float = Field(default=0.8, ge=0, le=1)
    round_trip_efficiency: float = Field(default=0.85, gt=0, le=1)
    soc_min: float = Field(default=0.1, ge=0, le=1)
    soc_max: float = Field(default=0.9, ge=0, le=1)
    bess_duration_max_h: float | None = Field(default=None, gt=0)
    year: int = Field(default=2025, ge=1900, le=2200)
    costs: dict[str, float] = Field(default_factory=dict)
    cost_source: str = ""


class OutputsSection(_Model):
    """``[outputs]``: which files a run writes."""

    map_html: bool = True
    suitability_tif: bool = True
    grid_geojson: bool = True
    score_tifs: bool = True
    sites_gpkg: bool = True


class StudyFile(_Model):
    """A whole study file."""

    study: StudySection
    campus: CampusSection = CampusSection()
    criteria: list[CriterionModel] = Field(min_length=1)
    constraints: list[ConstraintModel] = Field(default_factory=list)
    sites: SitesSection = SitesSection()
    powergrid: PowerGridSection
    ranking: RankingSection = RankingSection()
    outputs: OutputsSection = OutputsSection()
    electrical: ElectricalSection | None = None
    interconnect: InterconnectSection | None = None
    supply: SupplySection | None = None
    weights: WeightsSection = WeightsSection()
    aggregation: AggregationSection = AggregationSection()
    sensitivity: SensitivitySection = SensitivitySection()


class LayerModel(_Model):
    """One ``[layers.NAME]`` entry of a catalog."""

    path: str
    format: Literal["vector", "raster", "csv", "json"]
    crs: str | None = None
    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    fields: list[str] = Field(default_factory=list)
    licence: str = ""
    attribution: str = ""
    description: str = ""


class CatalogFile(_Model):
    """A layer catalog."""

    layers: dict[str, LayerModel]


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validation_problems(err: ValidationError, path: Path) -> list[str]:
    problems = []
    for e in err.errors():
        where = _dotted(tuple(e["loc"]))
        if e["type"] == "extra_forbidden":
            msg = "unknown key; check its spelling against docs/study-file.md"
        elif e["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = f"{e['msg']}, got {_short(e.get('input'))}"
        problems.append(f"{path}: {where}: {msg}")
    return problems


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _crs_problem(value: str, where: str, *, projected: bool) -> str | None:
    """Return what is wrong with a CRS string (None if nothing): unknown, or not metres."""
    try:
        crs = CRS.from_user_input(value)
    except PyprojCRSError:
        return f"{where}: {value!r} is not a CRS pyproj understands; give an authority code"
    if not projected:
        return None
    units = {axis.unit_name for axis in crs.axis_info}
    if not crs.is_projected or not units <= {"metre", "meter"}:
        kind = "geographic (degrees)" if crs.is_geographic else f"in {', '.join(sorted(units))}"
        return (
            f"{where}: {value!r} is {kind}, but cell sizes and distances are in metres; use a "
            "projected CRS in metres, e.g. EPSG:5179 for Korea or the UTM zone of the region"
        )
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: file not found; give the path of a TOML file")
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _raise_if(problems: list[str], what: str) -> None:
    if problems:
        listing = "\n  - ".join(problems)
        raise ConfigError(f"{what}: {len(problems)} problem(s):\n  - {listing}")


def _transform_spec(model: TransformModel) -> TransformSpec:
    return TransformSpec(
        kind=model.kind,
        low=model.low,
        high=model.high,
        midpoint=model.midpoint,
        spread=model.spread,
        points=tuple((float(x), float(y)) for x, y in model.points),
        exponent=model.exponent,
        mean_multiplier=model.mean_multiplier,
        std_multiplier=model.std_multiplier,
        base_factor=model.base_factor,
        shift=model.shift,
        y_intercept_percent=model.y_intercept_percent,
        classes=tuple(model.classes.items()),
        default=model.default,
        lower_threshold=model.lower_threshold,
        upper_threshold=model.upper_threshold,
        below_threshold_score=model.below_threshold_score,
        above_threshold_score=model.above_threshold_score,
        nodata=model.nodata,
        fill_value=model.fill_value,
    )


def _select_spec(model: SelectModel | None) -> SelectSpec | None:
    if model is None:
        return None
    return SelectSpec(field=model.field, min=model.min, max=model.max, values=tuple(model.values))


def load_catalog(path: Path) -> dict[str, LayerSpec]:
    """Read a layer catalog TOML file.

    Parameters
    ----------
    path
        The catalog file. Layer paths in it are relative to the data root, not to this file.

    Returns
    -------
    dict
        Layer name -> :class:`~gridsite.spec.LayerSpec`.
    """
    raw = _read_toml(path)
    try:
        model = CatalogFile.model_validate(raw)
    except ValidationError as exc:
        _raise_if(_validation_problems(exc, path), f"layer catalog {path}")
        raise  # pragma: no cover - _raise_if always raises here
    crs_problems = [
        _crs_problem(entry.crs, f"{path}: layers.{name}.crs", projected=False)
        for name, entry in model.layers.items()
        if entry.crs is not None
    ]
    _raise_if([p for p in crs_problems if p], f"layer catalog {path}")
    return {
        name: LayerSpec(
            name=name,
            path=Path(entry.path),
            format=entry.format,
            crs=entry.crs,
            x=entry.x,
            y=entry.y,
            wkt=entry.wkt,
            fields=tuple(entry.fields),
            licence=entry.licence,
            attribution=entry.attribution,
            description=entry.description,
        )
        for name, entry in model.layers.items()
    }


def resolve_data_root(
    study_path: Path,
    file_data_root: str | None,
    *,
    data_root: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """Pick the data root: the argument, else ``GRIDSITE_DATA``, else the file's ``data_root``.

    A relative ``data_root`` from the study file is taken relative to the study file's folder.
    """
    env = os.environ if environ is None else environ
    if data_root is not None:
        root, origin = Path(data_root).expanduser(), "--data"
    elif env.get(DATA_ENV_VAR):
        root, origin = Path(env[DATA_ENV_VAR]).expanduser(), f"the {DATA_ENV_VAR} variable"
    elif file_data_root is not None:
        root, origin = study_path.parent / file_data_root, f"data_root in {study_path}"
    else:
        raise DataRootError(
            f"{study_path}: no data root given; pass --data DIR, set {DATA_ENV_VAR}, "
            "or set study.data_root in the study file"
        )
    root = root.resolve()
    if not root.is_dir():
        raise DataRootError(
            f"data root {root} (from {origin}) is not a folder; point it at the data pack"
        )
    return root


def _cross_check(study: StudyFile, catalog: Mapping[str, LayerSpec], path: Path) -> list[str]:
    problems: list[str] = []
    crs_problem = _crs_problem(study.study.crs, f"{path}: study.crs", projected=True)
    if crs_problem:
        problems.append(crs_problem)

    def need(layer: str | None, where: str, formats: tuple[str, ...] | None = None) -> None:
        if layer is None:
            return
        if layer not in catalog:
            problems.append(
                f"{path}: {where}: unknown layer {layer!r}; the catalog has "
                f"{', '.join(sorted(catalog))}"
            )
        elif formats is not None and catalog[layer].format not in formats:
            problems.append(
                f"{path}: {where}: layer {layer!r} is {catalog[layer].format}, "
                f"needs {' or '.join(formats)}"
            )

    need(study.study.area, "study.area", ("vector",))
    need(study.study.province_layer, "study.province_layer", ("vector",))
    need(study.study.place_layer, "study.place_layer")
    seen: set[str] = set()
    for i, c in enumerate(study.criteria):
        where = f"criteria[{i}]"
        if c.name in seen:
            problems.append(f"{path}: {where}.name: criterion {c.name!r} appears twice")
        seen.add(c.name)
        need(c.layer, f"{where}.layer", ("raster",) if c.measure == "raster" else None)
        if c.measure == "interpolate" and not c.field:
            problems.append(f"{path}: {where}.field: measure 'interpolate' needs a field")
        problems += [
            f"{path}: {p}"
            for p in transform_problems(_transform_spec(c.transform), f"{where}.transform")
        ]
    names = [c.name for c in study.criteria]
    w = study.weights
    if w.method == "direct":
        missing = [f"criteria[{i}]" for i, c in enumerate(study.criteria) if c.weight is None]
        if missing:
            problems.append(
                f"{path}: {', '.join(missing)}: weight is required with weights.method 'direct'"
            )
        elif sum(c.weight or 0.0 for c in study.criteria) <= 0 and not w.group_weights:
            problems.append(
                f"{path}: criteria: the weights add up to 0; give one a positive weight"
            )
    elif w.method == "ahp":
        if w.ahp_matrix is None:
            problems.append(f"{path}: weights.ahp_matrix: method 'ahp' needs a pairwise matrix CSV")
    else:
        unranked = [n for n in names if n not in w.ranks]
        if unranked:
            problems.append(
                f"{path}: weights.ranks: method {w.method!r} needs a rank for {', '.join(unranked)}"
            )
    for key in set(w.ranks) - set(names):
        problems.append(f"{path}: weights.ranks.{key}: not a criterion name")
    groups = {c.group for c in study.criteria if c.group}
    for g, gw in w.group_weights.items():
        if not (math.isfinite(gw) and gw >= 0):
            problems.append(
                f"{path}: weights.group_weights.{g}: must be a finite number >= 0, got {gw!r}"
            )
    group_total = sum(w.group_weights.values())
    if w.group_weights and group_total <= 0 and min(w.group_weights.values()) >= 0:
        problems.append(
            f"{path}: weights.group_weights: the group weights add up to {group_total:g}; "
            "give at least one group a positive weight"
        )
    if w.group_weights:
        for i, c in enumerate(study.criteria):
            if c.group is None:
                problems.append(
                    f"{path}: criteria[{i}].group: needed when weights.group_weights is set"
                )
        for g in groups - set(w.group_weights):
            problems.append(f"{path}: weights.group_weights: no weight for group {g!r}")
        for g in set(w.group_weights) - groups:
            problems.append(f"{path}: weights.group_weights.{g}: no criterion is in this group")
    agg = study.aggregation
    if agg.method == "owa" and (agg.risk_attitude is None) == (not agg.order_weights):
        problems.append(
            f"{path}: aggregation: method 'owa' needs exactly one of risk_attitude, order_weights"
        )
    if agg.order_weights and len(agg.order_weights) != len(names):
        problems.append(
            f"{path}: aggregation.order_weights: {len(agg.order_weights)} values for "
            f"{len(names)} criteria"
        )
    for i, k in enumerate(study.constraints):
        need(k.layer, f"constraints[{i}].layer", ("raster",) if k.kind == "raster_values" else None)
        if k.kind == "raster_values" and not k.values:
            problems.append(f"{path}: constraints[{i}].values: list the raster values to exclude")
    need(study.powergrid.buses, "powergrid.buses")
    need(study.powergrid.lines, "powergrid.lines")
    need(study.powergrid.transformers, "powergrid.transformers")
    need(study.powergrid.converters, "powergrid.converters")
    need(study.powergrid.osm_ways, "powergrid.osm_ways")
    if study.powergrid.graph_source == "osm_ways" and study.powergrid.osm_ways is None:
        problems.append(f"{path}: powergrid.graph_source: 'osm_ways' needs powergrid.osm_ways")
    for key, mva in study.powergrid.rating_mva_per_circuit.items():
        try:
            float(key)
        except ValueError:
            problems.append(
                f"{path}: powergrid.rating_mva_per_circuit.{key}: keys are voltages in kV"
            )
        if not (math.isfinite(mva) and mva > 0):
            problems.append(
                f"{path}: powergrid.rating_mva_per_circuit.{key}: a circuit's rating must be a "
                f"positive number of MVA, got {mva:g}; give the thermal rating of one circuit"
            )
    if not study.powergrid.rating_mva_per_circuit:
        problems.append(
            f"{path}: powergrid.rating_mva_per_circuit: is empty; give the MVA of one circuit "
            'per voltage class, e.g. { "154" = 452, "345" = 2173 }'
        )
    e = study.electrical
    if e is not None:
        for key in (
            "clusters",
            "demand",
            "plants",
            "solar_capacity",
            "solar_profile",
            "wind_capacity",
            "wind_profile",
            "reactance_branches",
        ):
            need(getattr(e, key), f"electrical.{key}")
        if e.reactance_branches is None and not e.x_ohm_per_km:
            problems.append(
                f"{path}: electrical: give x_ohm_per_km or reactance_branches to set reactances"
            )
        for a, b in (("solar_capacity", "solar_profile"), ("wind_capacity", "wind_profile")):
            if (getattr(e, a) is None) != (getattr(e, b) is None):
                problems.append(f"{path}: electrical.{a} and electrical.{b} go together")
        for h in e.hours:
            if isinstance(h, int) and not 1 <= h <= 8784:
                problems.append(f"{path}: electrical.hours: {h} is not an hour of the year")
        for key in e.x_ohm_per_km:
            try:
                float(key)
            except ValueError:
                problems.append(f"{path}: electrical.x_ohm_per_km.{key}: keys are voltages in kV")
    r = study.ranking
    terms = r.terms or []
    for i, t in enumerate(terms):
        where = f"ranking.terms[{i}].transform"
        problems += [
            f"{path}: {p}" for p in transform_problems(_transform_spec(t.transform), where)
        ]
    if len({t.name for t in terms}) != len(terms):
        problems.append(f"{path}: ranking.terms: term names must be unique")
    if r.terms is not None and r.suitability_weight + sum(t.weight for t in terms) <= 0:
        problems.append(f"{path}: ranking: the weights add up to 0")
    ic = study.interconnect
    if ic is not None:
        need(ic.costs, "interconnect.costs", ("json",))
        need(ic.slope_layer, "interconnect.slope_layer", ("raster",))
        constraint_names = {k.name for k in study.constraints}
        named = [("barriers", b) for b in ic.barriers] + [("urban_constraint", ic.urban_constraint)]
        for key, value in named:
            if value is not None and value not in constraint_names:
                problems.append(
                    f"{path}: interconnect.{key}: {value!r} is not a constraint name; the study "
                    f"has {', '.join(sorted(constraint_names)) or 'none'}"
                )
        for key in ic.months_per_km:
            try:
                float(key)
            except ValueError:
                problems.append(f"{path}: interconnect.months_per_km.{key}: keys are kV")
    problems += _supply_problems(study, catalog, path, need)
    return problems


def _supply_problems(
    study: StudyFile,
    catalog: Mapping[str, LayerSpec],
    path: Path,
    need: Callable[[str | None, str, tuple[str, ...] | None], None],
) -> list[str]:
    su = study.supply
    if su is None:
        return []
    problems: list[str] = []
    for key in ("pv_profile", "wind_profile", "profile_buses", "load_profile"):
        need(getattr(su, key), f"supply.{key}", None)
    if (su.load_profile is None) != (su.load_profile_field is None):
        problems.append(f"{path}: supply.load_profile and supply.load_profile_field go together")
    constraint_names = {k.name for k in study.constraints}
    named = [("land_exclusions", n) for n in su.land_exclusions]
    named += [("sea_exclusions", n) for n in su.sea_exclusions]
    named += [("sea_constraint", su.sea_constraint)] if su.sea_constraint else []
    for key, value in named:
        if value not in constraint_names:
            problems.append(
                f"{path}: supply.{key}: {value!r} is not a constraint name; the study has "
                f"{', '.join(sorted(constraint_names)) or 'none'}"
            )
    for i, k in enumerate(su.exclusions):
        need(
            k.layer,
            f"supply.exclusions[{i}].layer",
            ("raster",) if k.kind == "raster_values" else None,
        )
        if k.kind == "raster_values" and not k.values:
            problems.append(
                f"{path}: supply.exclusions[{i}].values: list the raster values to exclude"
            )
    if not su.soc_min < su.soc_max:
        problems.append(
            f"{path}: supply.soc_min ({su.soc_min}) must be below supply.soc_max ({su.soc_max})"
        )
    known = {f.name for f in fields(SupplyCosts)}
    for key in sorted(set(su.costs) - known):
        problems.append(
            f"{path}: supply.costs.{key}: unknown cost; the keys are {', '.join(sorted(known))}"
        )
    try:
        SupplyCosts(**{k: v for k, v in su.costs.items() if k in known})
    except ConfigError as exc:
        problems.append(f"{path}: supply.costs: {exc}")
    return problems


def load_study(
    path: Path | str,
    *,
    data_root: Path | str | None = None,
    resolution_m: float | None = None,
    chunk_px: int | None = None,
    scheduler: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> StudySpec:
    """Read, validate and resolve a study file.

    Parameters
    ----------
    path
        The study TOML file.
    data_root
        Overrides ``GRIDSITE_DATA`` and the file's ``data_root``.
    resolution_m
        Overrides the file's ``study.resolution_m`` (metres, in the study CRS).
    chunk_px
        Overrides the file's ``study.chunk_px`` (0: in memory; N: square chunks of N cells).
    scheduler
        Overrides the file's ``study.scheduler`` (a ``dask.distributed`` address; empty: the
        local threaded scheduler).
    environ
        Environment to read ``GRIDSITE_DATA`` from; ``os.environ`` when None.

    Raises
    ------
    ConfigError
        Listing every problem found, each naming the file and the dotted key.
    DataRootError
        When the data root is not a folder.
    """
    path = Path(path).resolve()
    raw = _read_toml(path)
    try:
        model = StudyFile.model_validate(raw)
    except ValidationError as exc:
        _raise_if(_validation_problems(exc, path), f"study file {path}")
        raise  # pragma: no cover
    catalog_path = (path.parent / model.study.catalog).resolve()
    catalog = load_catalog(catalog_path)
    _raise_if(_cross_check(model, catalog, path), f"study file {path}")
    if resolution_m is not None and not resolution_m > 0:
        raise ConfigError(f"--resolution must be a positive number of metres, got {resolution_m}")
    if chunk_px is not None and chunk_px < 0:
        raise ConfigError(f"--chunk-px must be 0 (in memory) or a number of cells, got {chunk_px}")
    root = resolve_data_root(path, model.study.data_root, data_root=data_root, environ=environ)

    s, pg = model.study, model.powergrid
    return StudySpec(
        name=s.name,
        title=s.title or s.name,
        source=path,
        data_root=root,
        crs=s.crs,
        resolution_m=float(resolution_m if resolution_m is not None else s.resolution_m),
        area_layer=s.area,
        area_margin_km=s.area_margin_km,
        chunk_px=int(chunk_px if chunk_px is not None else s.chunk_px),
        scheduler=str(scheduler if scheduler is not None else s.scheduler),
        campus=CampusSpec(
            campus_mw=model.campus.campus_mw, campus_area_ha=model.campus.campus_area_ha
        ),
        layers=catalog,
        criteria=tuple(
            CriterionSpec(
                name=c.name,
                layer=c.layer,
                measure=c.measure,
                transform=_transform_spec(c.transform),
                weight=c.weight,
                field=c.field,
                select=_select_spec(c.select),
                unit=c.unit,
                description=c.description,
                group=c.group,
            )
            for c in model.criteria
        ),
        constraints=tuple(
            ConstraintSpec(
                name=k.name,
                layer=k.layer,
                kind=k.kind,
                buffer_km=k.buffer_km,
                values=tuple(k.values),
                select=_select_spec(k.select),
                mode=k.mode,
                factor=k.factor,
            )
            for k in model.constraints
        ),
        sites=SitesSpec(**model.sites.model_dump()),
        powergrid=PowerGridSpec(
            buses=pg.buses,
            lines=pg.lines,
            transformers=pg.transformers,
            converters=pg.converters,
            osm_ways=pg.osm_ways,
            graph_source=pg.graph_source,
            station_group_m=pg.station_group_m,
            snap_tolerance_m=pg.snap_tolerance_m,
            rating_mva_per_circuit=tuple(
                sorted((float(k), float(v)) for k, v in pg.rating_mva_per_circuit.items())
            ),
            rating_source=pg.rating_source,
            min_connection_kv=pg.min_connection_kv,
            backbone_kv=pg.backbone_kv,
            feeds_kv=pg.feeds_kv,
            power_factor=pg.power_factor,
        ),
        ranking=_ranking_spec(model.ranking),
        outputs=OutputSpec(
            map_html=model.outputs.map_html,
            suitability_tif=model.outputs.suitability_tif,
            grid_geojson=model.outputs.grid_geojson,
            score_tifs=model.outputs.score_tifs,
            sites_gpkg=model.outputs.sites_gpkg,
        ),
        province_layer=s.province_layer,
        province_field=s.province_field,
        weights=WeightsSpec(
            method=model.weights.method,
            ranks=tuple(model.weights.ranks.items()),
            ahp_matrix=(
                (path.parent / model.weights.ahp_matrix).resolve()
                if model.weights.ahp_matrix
                else None
            ),
            accept_inconsistent=model.weights.accept_inconsistent,
            group_weights=tuple(model.weights.group_weights.items()),
        ),
        aggregation=AggregationSpec(
            method=model.aggregation.method,
            risk_attitude=model.aggregation.risk_attitude,
            order_weights=tuple(model.aggregation.order_weights),
            normalisation=model.aggregation.normalisation,
            gamma=model.aggregation.gamma,
        ),
        sensitivity=SensitivitySpec(**model.sensitivity.model_dump()),
        place_layer=s.place_layer,
        place_field=s.place_field,
        electrical=_electrical_spec(model.electrical),
        interconnect=_interconnect_spec(model.interconnect),
        supply=_supply_spec(model.supply),
    )


def _ranking_spec(r: RankingSection) -> RankingSpec:
    if r.terms is None:
        return RankingSpec(suitability_weight=r.suitability_weight)
    return RankingSpec(
        suitability_weight=r.suitability_weight,
        terms=tuple(
            RankTerm(
                name=t.name,
                field=t.field,
                weight=t.weight,
                transform=_transform_spec(t.transform),
                per_campus=t.per_campus,
            )
            for t in r.terms
        ),
    )


def _interconnect_spec(ic: InterconnectSection | None) -> InterconnectSpec | None:
    if ic is None:
        return None
    return InterconnectSpec(
        costs=ic.costs,
        cost_region=ic.cost_region,
        k_substations=ic.k_substations,
        window_km=ic.window_km,
        barriers=tuple(ic.barriers),
        urban_constraint=ic.urban_constraint,
        slope_layer=ic.slope_layer,
        base_months=ic.base_months,
        months_per_km=tuple(sorted((float(k), v) for k, v in ic.months_per_km.items())),
        upgrade_months=ic.upgrade_months,
        transformer_months=ic.transformer_months,
        reinforcement_months=ic.reinforcement_months,
    )


def _electrical_spec(e: ElectricalSection | None) -> ElectricalSpec | None:
    if e is None:
        return None
    return ElectricalSpec(
        clusters=e.clusters,
        demand=e.demand,
        plants=e.plants,
        cluster_id_field=e.cluster_id_field,
        hour_field=e.hour_field,
        solar_capacity=e.solar_capacity,
        solar_profile=e.solar_profile,
        wind_capacity=e.wind_capacity,
        wind_profile=e.wind_profile,
        capacity_id_field=e.capacity_id_field,
        capacity_mw_field=e.capacity_mw_field,
        plant_capacity_field=e.plant_capacity_field,
        plant_fuel_field=e.plant_fuel_field,
        merit_order=tuple(e.merit_order),
        availability=tuple(e.availability.items()),
        reactance_branches=e.reactance_branches,
        x_ohm_per_km=tuple(sorted((float(k), v) for k, v in e.x_ohm_per_km.items())),
        transformer_x_pu=e.transformer_x_pu,
        hours=tuple(e.hours),
        contingency=e.contingency,
        slack=e.slack,
    )


def _supply_spec(su: SupplySection | None) -> SupplySpec | None:
    if su is None:
        return None
    plain = su.model_dump(exclude={"exclusions", "costs", "land_exclusions", "sea_exclusions"})
    return SupplySpec(
        **plain,
        land_exclusions=tuple(su.land_exclusions),
        sea_exclusions=tuple(su.sea_exclusions),
        exclusions=tuple(
            ConstraintSpec(
                name=k.name,
                layer=k.layer,
                kind=k.kind,
                buffer_km=k.buffer_km,
                values=tuple(k.values),
                select=_select_spec(k.select),
            )
            for k in su.exclusions
        ),
        costs=tuple(sorted(su.costs.items())),
    )
