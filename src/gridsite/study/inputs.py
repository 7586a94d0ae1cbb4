"""Which layers a study reads, and a check that every one of them opens."""

from __future__ import annotations

from gridsite import layers
from gridsite.errors import LayerError
from gridsite.spec import StudySpec

__all__ = ["check_inputs", "used_layers"]


def used_layers(spec: StudySpec) -> dict[str, tuple[str, ...]]:
    """Every layer the study reads, with the fields it needs from each."""
    need: dict[str, set[str]] = {spec.area_layer: set()}

    def add(layer: str | None, *fields: str | None) -> None:
        if layer is not None:
            need.setdefault(layer, set()).update(f for f in fields if f)

    add(spec.province_layer, spec.province_field)
    add(spec.place_layer, spec.place_field)
    for c in spec.criteria:
        add(c.layer, c.field, c.select.field if c.select else None)
    for k in spec.constraints:
        add(k.layer, k.select.field if k.select else None)
    pg = spec.powergrid
    for name in (pg.buses, pg.lines, pg.transformers, pg.converters, pg.osm_ways):
        add(name)
    e = spec.electrical
    if e is not None:
        add(e.clusters, e.cluster_id_field)
        add(e.demand, e.hour_field)
        add(e.plants, e.plant_capacity_field, e.plant_fuel_field)
        for cap, prof in ((e.solar_capacity, e.solar_profile), (e.wind_capacity, e.wind_profile)):
            add(cap, e.capacity_id_field, e.capacity_mw_field)
            add(prof, e.hour_field)
        add(e.reactance_branches)
    if spec.interconnect is not None:
        add(spec.interconnect.costs)
        add(spec.interconnect.slope_layer)
    return {name: tuple(sorted(fields)) for name, fields in need.items()}


def check_inputs(spec: StudySpec) -> list[str]:
    """Open every input the study uses and return all problems found (empty when all is well)."""
    problems: list[str] = []
    for name, fields in used_layers(spec).items():
        layer = spec.layers[name]
        try:
            if layer.format == "raster":
                layers.check_raster(layer, spec.data_root)
            elif layer.format == "json":
                layers.layer_path(layer, spec.data_root)
            elif layer.format == "csv" and not (layer.x or layer.wkt):
                layers.read_table(layer, spec.data_root, require=fields)
            else:
                gdf = layers.read_vector(layer, spec.data_root, crs=spec.crs, require=fields)
                if gdf.empty:
                    problems.append(f"layer {name!r}: no features")
        except LayerError as exc:
            problems.append(str(exc))
    return problems
