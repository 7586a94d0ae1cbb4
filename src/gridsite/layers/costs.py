"""Read NREL reVX's transmission cost tables (JSON) into :class:`TransmissionCosts`.

The folder holds reVX's ``least_cost_xmission/config`` tables, one JSON file per table
(``base_line_costs.json``, ...; see :data:`~gridsite.powergrid.costs.REVX_TABLES`), as in the data
pack's ``revx-xmission-costs``. Base line costs there are 2019 US$ per **mile**; the result holds
MUSD per **km** (divided by 1.609344 and 1e6). These are US costs, labelled as such in
``TransmissionCosts.source``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from gridsite.errors import LayerError, PowerGridError
from gridsite.powergrid.costs import DEFAULT_REVX_REGION, REVX_TABLES, TransmissionCosts

__all__ = ["read_revx_costs"]

log = logging.getLogger(__name__)

_OPTIONAL_TABLES = ("land_use_classes",)


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LayerError(f"reVX cost table {path} cannot be read: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LayerError(
            f"reVX cost table {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); restore the file from reVX's least_cost_xmission/config"
        ) from exc


def read_revx_costs(folder: Path, *, region: str = DEFAULT_REVX_REGION) -> TransmissionCosts:
    """Read reVX's cost tables from ``folder`` and return the costs of ``region``.

    Parameters
    ----------
    folder
        Folder holding ``base_line_costs.json``, ``power_classes.json``, ``power_to_voltage.json``,
        ``iso_multipliers.json``, ``transformer_costs.json``, ``new_substation_costs.json``,
        ``upgrade_substation_costs.json`` and optionally ``land_use_classes.json``.
    region
        reVX region (ISO): ``TEPPC`` (default), ``SCE``, ``MISO`` or ``Southeast``.

    Raises
    ------
    LayerError
        Naming the file (and the key inside it) that is missing, not JSON, or holds a bad value.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LayerError(f"reVX cost folder {folder} does not exist or is not a folder")
    tables: dict[str, Any] = {}
    for name in REVX_TABLES:
        path = folder / f"{name}.json"
        if not path.is_file():
            raise LayerError(
                f"reVX cost table {path} not found; the folder needs "
                f"{', '.join(t + '.json' for t in REVX_TABLES)}"
            )
        tables[name] = _read_json(path)
    for name in _OPTIONAL_TABLES:
        path = folder / f"{name}.json"
        if path.is_file():
            tables[name] = _read_json(path)
    try:
        costs = TransmissionCosts.from_tables(tables, region=region)
    except PowerGridError as exc:
        # from_tables names the table and key; add the file it came from.
        table = next((t for t in tables if f"'{t}'" in str(exc)), None)
        where = f"{folder / (table + '.json')}" if table else f"{folder}"
        raise LayerError(f"reVX cost tables in {where}: {exc}") from exc
    log.info(
        "reVX costs (%s, 2019 US$): %d line voltage classes, %d transformer pairs, from %s",
        region,
        len(costs.line_musd_per_km),
        len(costs.transformer_musd_per_mva),
        folder,
    )
    return costs
