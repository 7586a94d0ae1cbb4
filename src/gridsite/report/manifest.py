"""The run manifest: what went in (with checksums), with which settings and software, what came out.

A manifest is a JSON object; its keys (``schema`` names the layout):

- ``study_name``, ``created_utc`` (ISO 8601, UTC)
- ``config``: the resolved study configuration
- ``inputs``: ``[{name, path, sha256, bytes}]``; a folder input is hashed as a tree (below)
- ``outputs``: ``[{path, sha256, bytes}]`` of the files written; ``path`` is relative to the
  output folder (POSIX separators) when the writer gives that folder
- ``timings_s``: seconds per stage
- ``versions``: Python, gridsite and the main libraries, GDAL and PROJ
- ``attributions``: licences and attributions of the data used, as given
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import importlib.metadata
import json
import logging
import math
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from gridsite.errors import LayerError
from gridsite.report.atomic import atomic_write_text

__all__ = [
    "MANIFEST_SCHEMA",
    "build_manifest",
    "file_sha256",
    "input_records",
    "input_sha256",
    "package_versions",
    "write_manifest",
]

logger = logging.getLogger(__name__)

MANIFEST_SCHEMA = "gridsite-manifest/2"
"""Name and version of the manifest layout; bump the number when keys change meaning.

2: output paths relative to the output folder; a study's ``config`` keeps NaN and infinities
as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (:mod:`gridsite.study.specjson`).
"""

_CHUNK_BYTES = 1 << 20
_PACKAGES = (
    "gridsite",
    "numpy",
    "scipy",
    "pandas",
    "geopandas",
    "shapely",
    "pyproj",
    "rasterio",
    "pyogrio",
    "networkx",
    "folium",
)


def file_sha256(path: Path) -> tuple[str, int]:
    """Return the SHA-256 hex digest and the size in bytes of a file, read in 1 MiB chunks.

    Parameters
    ----------
    path
        A regular file.

    Returns
    -------
    tuple[str, int]
        ``(sha256_hex, bytes)``.
    """
    digest = hashlib.sha256()
    size = 0
    with Path(path).open("rb") as f:
        while chunk := f.read(_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _tree_sha256(folder: Path) -> tuple[str, int]:
    # A folder (a shapefile set, a tile tree) is hashed as the sorted lines
    # "<sha256>  <relative posix path>\n" of its files, the format of `sha256sum`.
    digest = hashlib.sha256()
    total = 0
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for file in files:
        file_hex, size = file_sha256(file)
        digest.update(f"{file_hex}  {file.relative_to(folder).as_posix()}\n".encode())
        total += size
    return digest.hexdigest(), total


def input_sha256(path: Path) -> tuple[str, int] | None:
    """Return the SHA-256 hex digest and size in bytes of an input file or folder, as recorded.

    A file is hashed as :func:`file_sha256`; a folder as the SHA-256 of its ``sha256sum``-style
    listing (sorted relative paths), its size the sum of its files'.

    Parameters
    ----------
    path
        A file or folder.

    Returns
    -------
    tuple[str, int] or None
        ``(sha256_hex, bytes)``, or None when ``path`` does not exist.
    """
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    if path.is_dir():
        return _tree_sha256(path)
    return None


def input_records(inputs: Sequence[tuple[str, Path]]) -> list[dict[str, Any]]:
    """Return ``{name, path, sha256, bytes}`` of every input, hashed as :func:`input_sha256`.

    Computed once per run and shared by the manifest and the site pages' lineage.

    Raises
    ------
    LayerError
        If an input does not exist.
    """
    return [_input_record(name, path) for name, path in inputs]


def _input_record(name: str, path: Path) -> dict[str, Any]:
    path = Path(path)
    hashed = input_sha256(path)
    if hashed is None:
        raise LayerError(
            f"manifest input {name!r}: {path} does not exist; check the data root and the "
            "layer catalog"
        )
    sha, size = hashed
    return {"name": name, "path": str(path), "sha256": sha, "bytes": size}


def _output_record(path: Path, root: Path | None) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest output {path} does not exist; write it first")
    sha, size = file_sha256(path)
    name = str(path) if root is None else path.relative_to(root).as_posix()
    return {"path": name, "sha256": sha, "bytes": size}


def package_versions() -> dict[str, str | None]:
    """Return the versions of Python, gridsite, its main libraries, GDAL and PROJ.

    Returns
    -------
    dict[str, str | None]
        Name to version string; None for a package that is not installed.
    """
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    try:
        import rasterio

        versions["gdal"] = str(rasterio.__gdal_version__)
    except ImportError:  # pragma: no cover - rasterio is a dependency
        versions["gdal"] = None
    try:
        import pyproj

        versions["proj"] = str(pyproj.proj_version_str)
    except ImportError:  # pragma: no cover - pyproj is a dependency
        versions["proj"] = None
    return versions


def _jsonable(value: Any, where: str) -> Any:
    """Return ``value`` as plain JSON types, or raise naming the dotted location ``where``."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        # JSON has no NaN or infinity.
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return _jsonable(value.item(), where)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, enum.Enum):
        return _jsonable(value.value, where)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, where)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [_jsonable(v, f"{where}[]") for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, Sequence | np.ndarray):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(
        f"manifest value at {where} has type {type(value).__name__}, which cannot be written as "
        "JSON; convert it to numbers, strings, lists or mappings"
    )


def build_manifest(
    *,
    study_name: str,
    config: Mapping[str, Any],
    inputs: Sequence[tuple[str, Path]],
    timings_s: Mapping[str, float],
    attributions: Sequence[Mapping[str, str]],
    outputs: Sequence[Path],
    output_root: Path | None = None,
    inputs_hashed: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Describe a run: inputs with SHA-256 checksums, configuration, versions, timings, outputs.

    Parameters
    ----------
    study_name
        Name of the study.
    config
        The resolved configuration; paths, enums, dataclasses, numpy scalars, dates and sets are
        converted to JSON types, NaN and infinity to null.
    inputs
        ``(name, path)`` of every file or folder read; each file is hashed in 1 MiB chunks, a
        folder as the SHA-256 of its ``sha256sum``-style listing (sorted relative paths).
    timings_s
        Wall-clock seconds per stage.
    attributions
        One mapping per data source, e.g. ``{"source": ..., "licence": ..., "attribution": ...}``.
    outputs
        Files written by the run (they must exist); hashed like the inputs.
    output_root
        The folder the outputs were written to; their paths are recorded relative to it, so
        that the manifest stays true when the folder is moved. None: as given.
    inputs_hashed
        The records of ``inputs`` from :func:`input_records`, when the caller has them already
        (they are not hashed again); None: hashed here.

    Returns
    -------
    dict[str, Any]
        The manifest, made of JSON types only (see the module docstring for its keys).

    Raises
    ------
    LayerError
        If an input does not exist.
    FileNotFoundError
        If an output does not exist.
    TypeError
        If a value in ``config`` cannot be represented in JSON.
    """
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "study_name": study_name,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": _jsonable(config, "config"),
        "inputs": [dict(r) for r in inputs_hashed]
        if inputs_hashed is not None
        else input_records(inputs),
        "outputs": [_output_record(path, output_root) for path in outputs],
        "timings_s": {str(k): _jsonable(float(v), f"timings_s.{k}") for k, v in timings_s.items()},
        "versions": package_versions(),
        "attributions": [{str(k): str(v) for k, v in a.items()} for a in attributions],
    }
    logger.info(
        "manifest: %d inputs (%d bytes), %d outputs",
        len(manifest["inputs"]),
        sum(r["bytes"] for r in manifest["inputs"]),
        len(manifest["outputs"]),
    )
    return manifest


def write_manifest(manifest: Mapping[str, Any], path: Path, *, overwrite: bool = False) -> Path:
    """Write ``manifest`` as UTF-8 JSON with sorted keys and two-space indent, atomically.

    Parameters
    ----------
    manifest
        A manifest from :func:`build_manifest`, possibly with keys added by the caller; values
        are converted to JSON types as in :func:`build_manifest` (NaN and infinity to null).
    path
        The output file, conventionally ``manifest.json``.
    overwrite
        Whether an existing file at ``path`` may be replaced.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TypeError
        If a value cannot be represented in JSON.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    text = json.dumps(
        _jsonable(manifest, "manifest"),
        sort_keys=True,
        indent=2,
        ensure_ascii=False,
        allow_nan=False,
    )
    return atomic_write_text(Path(path), text + "\n", overwrite=overwrite)
