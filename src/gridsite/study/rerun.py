"""Re-run a study from its run manifest, after checking that every input is unchanged.

A manifest (``maps/<study>/manifest.json``) holds the resolved study (``config``, see
:mod:`gridsite.study.specjson`), the SHA-256 of every input, the write options and the SHA-256
of every output. :func:`load_rerun` rebuilds the study from it and refuses, naming each file,
when an input is missing or differs; :func:`rerun` then runs it and compares the new outputs
with the recorded ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, cast

from gridsite.errors import ConfigError, DataRootError, LayerError
from gridsite.report.manifest import MANIFEST_SCHEMA, file_sha256, input_sha256, package_versions
from gridsite.report.mapassets import MapAssetMode, check_map_assets
from gridsite.spec import StudySpec
from gridsite.study.result import StudyResult
from gridsite.study.run import ProgressCallback, Study
from gridsite.study.specjson import spec_from_json

__all__ = ["OutputComparison", "Rerun", "RerunResult", "compare_outputs", "load_rerun", "rerun"]

log = logging.getLogger(__name__)

_SCHEMA_PREFIX = "gridsite-manifest/"
_READABLE_SCHEMAS = ("gridsite-manifest/1", MANIFEST_SCHEMA)


@dataclass(frozen=True)
class Rerun:
    """A study rebuilt from a manifest whose inputs were found unchanged.

    Attributes
    ----------
    manifest_path
        The manifest read.
    spec
        The study, equal to the one the manifest's run computed (with the data root replaced
        when another was given).
    map_assets
        How the run wrote the map's scripts (``"inline"`` or ``"cdn"``).
    outputs
        Recorded SHA-256 of each output, by path relative to the output folder.
    version_changes
        ``"package: <then> -> <now>"`` for each library whose version changed since the run
        (the outputs may then differ).
    """

    manifest_path: Path
    spec: StudySpec
    map_assets: MapAssetMode
    outputs: dict[str, str] = field(default_factory=dict)
    version_changes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OutputComparison:
    """How a re-run's outputs compare with those the manifest recorded (relative paths)."""

    identical: list[str]
    changed: list[str]
    missing: list[str]
    new: list[str]


@dataclass(frozen=True)
class RerunResult:
    """What :func:`rerun` did: the result, the files written, the comparison."""

    result: StudyResult
    written: list[Path]
    comparison: OutputComparison


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(
            f"{path}: file not found; give the manifest.json a run wrote, e.g. "
            "maps/<study>/manifest.json"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}); give a gridsite run manifest") from exc
    schema = manifest.get("schema") if isinstance(manifest, dict) else None
    if not isinstance(schema, str) or not schema.startswith(_SCHEMA_PREFIX):
        raise ConfigError(
            f"{path}: not a gridsite run manifest (no 'schema': '{_SCHEMA_PREFIX}N'); give the "
            "manifest.json that `gridsite run` wrote"
        )
    if schema not in _READABLE_SCHEMAS:
        raise ConfigError(
            f"{path}: manifest layout {schema!r} is newer than this gridsite reads "
            f"({', '.join(_READABLE_SCHEMAS)}); rerun it with the gridsite version that wrote it "
            f"(versions.gridsite in the manifest)"
        )
    for key, kind in (("config", dict), ("inputs", list), ("outputs", list)):
        if not isinstance(manifest.get(key), kind):
            raise ConfigError(f"{path}: manifest key {key!r} is missing or not a {kind.__name__}")
    return cast(dict[str, Any], manifest)


def _relocated(recorded: Path, old_root: Path, new_root: Path) -> Path:
    """Return where an input is under the data root the re-run uses."""
    try:
        return new_root / recorded.relative_to(old_root)
    except ValueError:  # outside the data root (e.g. an AHP matrix beside the study file)
        return recorded


def _input_problems(
    records: Sequence[Mapping[str, Any]], old_root: Path, new_root: Path
) -> list[str]:
    problems = []
    for i, rec in enumerate(records):
        try:
            name, recorded, sha = str(rec["name"]), Path(rec["path"]), str(rec["sha256"])
        except (KeyError, TypeError):
            problems.append(f"inputs[{i}]: not a {{name, path, sha256}} record")
            continue
        path = _relocated(recorded, old_root, new_root)
        found = input_sha256(path)
        if found is None:
            problems.append(f"{name}: {path} is missing")
        elif found[0] != sha:
            problems.append(
                f"{name}: {path} has changed (sha256 {found[0][:12]}..., {found[1]} bytes; the "
                f"run read {sha[:12]}..., {rec.get('bytes', '?')} bytes)"
            )
    return problems


def _version_changes(recorded: Any) -> list[str]:
    if not isinstance(recorded, dict):
        return []
    now = package_versions()
    return [
        f"{name}: {then} -> {now.get(name)}"
        for name, then in sorted(recorded.items())
        if name in now and now.get(name) != then
    ]


def _recorded_outputs(manifest: Mapping[str, Any], folder: Path) -> dict[str, str]:
    outputs = {}
    for rec in manifest["outputs"]:
        if not isinstance(rec, dict) or "path" not in rec or "sha256" not in rec:
            continue
        path = Path(rec["path"])
        if path.is_absolute():  # layout 1: absolute paths
            try:
                path = path.relative_to(folder)
            except ValueError:
                path = Path(path.name)
        outputs[path.as_posix()] = str(rec["sha256"])
    return outputs


def load_rerun(manifest_path: Path | str, *, data_root: Path | str | None = None) -> Rerun:
    """Rebuild the study of a run manifest, refusing if any input changed.

    Nothing is computed: every input is hashed and compared with the manifest first.

    Parameters
    ----------
    manifest_path
        A ``manifest.json`` written by :meth:`StudyResult.write`.
    data_root
        The data pack to read the inputs from; default the data root the run used (recorded
        in the manifest). Inputs under the recorded data root are looked for at the same
        relative path under this one.

    Returns
    -------
    Rerun
        The study, ready to :func:`rerun`.

    Raises
    ------
    ConfigError
        If the file is not a readable gridsite manifest or its ``config`` is not a study.
    DataRootError
        If ``data_root`` is not a folder.
    LayerError
        Naming every input that is missing or whose SHA-256 differs from the manifest's.
    """
    path = Path(manifest_path)
    manifest = _read_manifest(path)
    spec = spec_from_json(manifest["config"], source=str(path))
    old_root = spec.data_root
    if data_root is not None:
        root = Path(data_root).expanduser().resolve()
        if not root.is_dir():
            raise DataRootError(f"data root {root} (from --data) is not a folder")
        spec = replace(spec, data_root=root)
    problems = _input_problems(manifest["inputs"], old_root, spec.data_root)
    if problems:
        listing = "\n  - ".join(problems)
        raise LayerError(
            f"cannot rerun {path}: {len(problems)} input(s) differ from the ones the run read:"
            f"\n  - {listing}\n"
            "Restore those files (the manifest lists each one's sha256), point --data at the data "
            "pack the run used, or start a new run from the study file with `gridsite run`."
        )
    write = manifest.get("write")
    assets = write.get("map_assets", "inline") if isinstance(write, dict) else "inline"
    if assets not in ("inline", "cdn"):
        raise ConfigError(f"{path}: write.map_assets is {assets!r}; expected 'inline' or 'cdn'")
    log.info("rerun: %d inputs unchanged since the run", len(manifest["inputs"]))
    return Rerun(
        manifest_path=path,
        spec=spec,
        map_assets=cast(MapAssetMode, assets),
        outputs=_recorded_outputs(manifest, path.parent.resolve()),
        version_changes=_version_changes(manifest.get("versions")),
    )


def compare_outputs(
    recorded: Mapping[str, str], written: Sequence[Path], root: Path
) -> OutputComparison:
    """Compare the SHA-256 of the files written under ``root`` with ``recorded`` ones.

    ``manifest.json`` itself is left out (it holds a time stamp and timings).
    """
    now = {}
    for p in written:
        rel = PurePosixPath(p.relative_to(root).as_posix())
        if str(rel) != "manifest.json":
            now[str(rel)] = file_sha256(p)[0]
    return OutputComparison(
        identical=sorted(k for k in now if recorded.get(k) == now[k]),
        changed=sorted(k for k in now if k in recorded and recorded[k] != now[k]),
        missing=sorted(k for k in recorded if k not in now),
        new=sorted(k for k in now if k not in recorded),
    )


def rerun(
    manifest_path: Path | str,
    *,
    data_root: Path | str | None = None,
    out_dir: Path | str | None = None,
    overwrite: bool = False,
    map_assets: MapAssetMode | None = None,
    progress: ProgressCallback | None = None,
) -> RerunResult:
    """Re-run the study of a manifest and write its outputs; see :func:`load_rerun`.

    Parameters
    ----------
    manifest_path
        The run's ``manifest.json``.
    data_root
        The data pack; default the one the run used.
    out_dir
        Where to write; default the manifest's own folder (which holds the outputs, so
        ``overwrite`` is needed there).
    overwrite
        Replace existing outputs (as one set, see :meth:`StudyResult.write`).
    map_assets
        How to write the map's scripts (``"inline"``, ``"cdn"``); default as the run did.
    progress
        Called with a :class:`~gridsite.study.progress.Progress` event as each stage starts and
        as its counted steps are done.

    Returns
    -------
    RerunResult
        The result, the files written and how they compare with the recorded outputs.

    Raises
    ------
    ConfigError, DataRootError, LayerError
        As :func:`load_rerun`, before anything is computed.
    OutputExistsError
        If outputs exist in ``out_dir`` and ``overwrite`` is false (checked before the run).
    MapAssetsError
        If the map's scripts are to be inlined and are not installed (checked before the run).
    """
    plan = load_rerun(manifest_path, data_root=data_root)
    for change in plan.version_changes:
        log.warning("rerun: %s since the run; outputs may differ", change)
    out = Path(out_dir) if out_dir is not None else plan.manifest_path.parent
    assets = plan.map_assets if map_assets is None else map_assets
    study = Study(plan.spec)
    if not overwrite:
        study.check_outputs_free(out)
    if plan.spec.outputs.map_html:
        check_map_assets(assets)
    result = study.run(progress=progress)
    written = result.write(out, overwrite=overwrite, map_assets=assets)
    comparison = compare_outputs(plan.outputs, written, out)
    return RerunResult(result=result, written=written, comparison=comparison)
