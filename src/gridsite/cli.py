"""The ``gridsite`` command: thin wrappers over :class:`gridsite.Study` and the layer readers."""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

import click

from gridsite.errors import GridsiteError

if TYPE_CHECKING:
    from gridsite.study.progress import Progress

log = logging.getLogger("gridsite")


class _Bars:
    """Progress bars on a terminal, one line per stage that counts its steps.

    Called with each :class:`~gridsite.study.progress.Progress` event of a run. A stage's bar
    is redrawn in place (carriage return) and ends with a newline when its steps are done; a
    stage without a total draws nothing. Log records written meanwhile (:meth:`handler`) clear
    the bar's line first and redraw it after, so the two do not run into each other.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._line = ""  # the bar being drawn, "" when none

    def __call__(self, event: Progress) -> None:
        if event.total is None or event.total == 0:
            self.close()
            return
        cols = shutil.get_terminal_size((80, 24)).columns
        width = max(10, min(40, cols - len(event.stage) - 24))
        filled = width * event.done // event.total
        self._line = (
            f"{event.stage:<16} [{'#' * filled}{'-' * (width - filled)}] "
            f"{event.done}/{event.total} {100 * event.done // event.total:3d}%"
        )
        self.stream.write("\r\033[K" + self._line)
        if event.done >= event.total:
            self.stream.write("\n")
            self._line = ""
        self.stream.flush()

    def close(self) -> None:
        """End a bar left unfinished (a stage that stopped early) with a newline."""
        if self._line:
            self.stream.write("\n")
            self.stream.flush()
            self._line = ""

    def handler(self) -> logging.Handler:
        """Return a log handler on the same stream that keeps clear of the current bar."""
        bars = self

        class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
            def emit(self, record: logging.LogRecord) -> None:
                if bars._line:
                    self.stream.write("\r\033[K")
                super().emit(record)
                if bars._line:
                    self.stream.write(bars._line)
                    self.stream.flush()

        return _Handler(self.stream)


def _configure_logging(verbose: int, quiet: bool) -> _Bars | None:
    """Log to stderr at the level -v/-q ask for; return progress bars when stderr is a terminal.

    No bars under ``-q`` or when stderr is a file or a pipe (then the log lines are all).
    """
    level = logging.WARNING if quiet else (logging.DEBUG if verbose >= 2 else logging.INFO)
    bars = _Bars(sys.stderr) if not quiet and sys.stderr.isatty() else None
    logging.basicConfig(
        level=level,
        format="%(levelname)s %(name)s: %(message)s",
        handlers=[bars.handler()] if bars is not None else None,
        force=True,
    )
    # pyogrio logs every layer it writes at INFO; gridsite's own line says what was written.
    logging.getLogger("pyogrio").setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
    return bars


def _fail(exc: GridsiteError, verbose: int, bars: _Bars | None = None) -> None:
    if bars is not None:
        bars.close()
    if verbose >= 2:
        raise exc
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


_data_option = click.option(
    "--data",
    "data_root",
    type=click.Path(path_type=Path),
    default=None,
    help="Data root [default: $GRIDSITE_DATA, else the study file's data_root].",
)


_resolution_option = click.option(
    "--resolution",
    "resolution_m",
    type=float,
    default=None,
    help="Cell size in metres, overriding the study file.",
)


def _output_options(f: Callable[..., None]) -> Callable[..., None]:
    """Add --overwrite, -v and -q, shared by the commands that write outputs."""
    f = click.option(
        "-q", "--quiet", is_flag=True, help="Only warnings and errors, no progress bars."
    )(f)
    f = click.option(
        "-v", "--verbose", count=True, help="More output (-vv: debug and tracebacks)."
    )(f)
    return click.option(
        "--overwrite",
        is_flag=True,
        help="Replace the outputs of an earlier run, as one set (other files are kept).",
    )(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "terminal_width": 80})
@click.version_option(package_name="gridsite")
def main() -> None:
    """Find and rank sites for AI data centres from grid, land, water and climate layers."""


@main.command()
@click.argument("study", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder [default: maps/<study name>/].",
)
@_data_option
@_resolution_option
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=None,
    help="Number of sites to keep, overriding the study file.",
)
@click.option(
    "--chunk-px",
    type=click.IntRange(min=0),
    default=None,
    help="Run the raster stages on Dask in square chunks of N cells (0: in memory), "
    "overriding study.chunk_px. See docs/scaling.md.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="dask.distributed scheduler for the chunks, e.g. tcp://10.0.0.5:8786 "
    "[default: study.scheduler, else local threads]. Needs --chunk-px.",
)
@click.option(
    "--map-assets",
    type=click.Choice(["inline", "cdn"]),
    default="inline",
    show_default=True,
    help="inline: map.html carries Leaflet and jQuery and works offline (needs `make assets`); "
    "cdn: it links them from their CDNs.",
)
@_output_options
def run(
    study: Path,
    out_dir: Path | None,
    data_root: Path | None,
    resolution_m: float | None,
    top: int | None,
    chunk_px: int | None,
    scheduler: str | None,
    map_assets: Literal["inline", "cdn"],
    overwrite: bool,
    verbose: int,
    quiet: bool,
) -> None:
    """Run STUDY (a study TOML file) and write its outputs."""
    from gridsite.study import Study

    bars = _configure_logging(verbose, quiet)
    try:
        s = Study.from_toml(
            study, data_root, resolution_m=resolution_m, chunk_px=chunk_px, scheduler=scheduler
        )
        if top is not None:
            s = s.with_top(top)
        out = out_dir if out_dir is not None else Path("maps") / s.spec.name
        if not overwrite:
            s.check_outputs_free(out)  # before the run, not after minutes of work
        if s.spec.outputs.map_html:
            from gridsite.report.mapassets import check_map_assets

            check_map_assets(map_assets)  # likewise: a missing install fails now
        result = s.run(progress=bars, write_ahead=True)
        written = result.write(out, overwrite=overwrite, map_assets=map_assets)
    except GridsiteError as exc:
        _fail(exc, verbose, bars)
        return
    if not quiet:
        wanted = [
            "rank",
            "site_id",
            "score",
            "province",
            "substation_name",
            "substation_kv",
            "route_km",
            "interconnect_km",
            "hosting_capacity_mw",
            "supplied",
            "speed_to_power_months",
            "capacity_mw",
            "cfe_share",
            "lcoe_usd_mwh",
        ]
        cols = [c for c in wanted if c in result.sites.columns]
        if "route_km" in cols:
            cols.remove("interconnect_km")
        if "hosting_capacity_mw" in cols:
            cols.remove("capacity_mw")
        table = result.sites[cols].head(10).copy()
        click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        click.echo(f"\n{len(result.sites)} sites; outputs in {out}/:")
        for line in _listing(written, out):
            click.echo(f"  {line}")


def _listing(written: list[Path], out: Path) -> list[str]:
    """List the files written into ``out``, a folder as one line with its count of files."""
    folders: dict[str, int] = {}
    lines: list[str] = []
    for p in written:
        parts = p.relative_to(out).parts
        if len(parts) == 1:
            lines.append(parts[0])
        elif parts[0] not in folders:
            folders[parts[0]] = 1
            lines.append(parts[0] + "/")
        else:
            folders[parts[0]] += 1
    return [f"{x} ({folders[x[:-1]]} files)" if x.endswith("/") else x for x in lines]


@main.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder [default: the manifest's folder, which needs --overwrite].",
)
@click.option(
    "--data",
    "data_root",
    type=click.Path(path_type=Path),
    default=None,
    help="Data root [default: the one the run used, as recorded in the manifest].",
)
@click.option(
    "--map-assets",
    type=click.Choice(["inline", "cdn"]),
    default=None,
    help="How map.html carries its scripts [default: as the run did].",
)
@_output_options
def rerun(
    manifest: Path,
    out_dir: Path | None,
    data_root: Path | None,
    map_assets: Literal["inline", "cdn"] | None,
    overwrite: bool,
    verbose: int,
    quiet: bool,
) -> None:
    """Re-run the study recorded in MANIFEST (a run's manifest.json).

    First checks every input against the sha256 in the manifest and refuses, naming each file
    that is missing or changed, before computing anything. The study is rebuilt exactly from
    the manifest (the study file is not read), so the new GeoJSON, CSV, GeoTIFF, SVG and map
    files are byte-identical to the recorded ones; the command lists any that are not.
    """
    from gridsite.study.rerun import rerun as rerun_manifest

    bars = _configure_logging(verbose, quiet)
    try:
        done = rerun_manifest(
            manifest,
            data_root=data_root,
            out_dir=out_dir,
            overwrite=overwrite,
            map_assets=map_assets,
            progress=bars,
        )
    except GridsiteError as exc:
        _fail(exc, verbose, bars)
        return
    cmp = done.comparison
    if not quiet:
        out = out_dir if out_dir is not None else manifest.parent
        click.echo(
            f"{len(done.result.sites)} sites; outputs in {out}/; {len(cmp.identical)} identical "
            "to the manifest's"
        )
    for what, names in (("differ", cmp.changed), ("not written", cmp.missing), ("new", cmp.new)):
        if names and not quiet:
            click.echo(f"  {what}: {', '.join(names)}")


@main.command()
@click.argument("study", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder [default: maps/<study name>/grid/].",
)
@_data_option
@_output_options
def grid(
    study: Path,
    out_dir: Path | None,
    data_root: Path | None,
    overwrite: bool,
    verbose: int,
    quiet: bool,
) -> None:
    """Build STUDY's power-grid model; write grid.geojson, grid_qa.csv and hosting capacity."""
    from gridsite.study import Study, grid_output_names, write_grid_outputs

    bars = _configure_logging(verbose, quiet)
    try:
        s = Study.from_toml(study, data_root)
        out = out_dir if out_dir is not None else Path("maps") / s.spec.name / "grid"
        if not overwrite:
            from gridsite.study import check_outputs_free

            check_outputs_free(out / n for n in grid_output_names(s.spec))
        model = s.grid(progress=bars)
        written = write_grid_outputs(
            s.spec, model.graph, model.qa, model.hosting, out, overwrite=overwrite
        )
    except GridsiteError as exc:
        _fail(exc, verbose, bars)
        return
    if not quiet:
        counts = model.qa["issue"].value_counts().to_dict() if not model.qa.empty else {}
        click.echo(f"grid QA: {counts or 'no issues'}")
        if model.hosting is not None:
            h = model.hosting["hosting_capacity_mw"]
            campus = s.spec.campus.campus_mw
            click.echo(
                f"hosting capacity (N-1): {int((h >= campus).sum())} of {h.notna().sum()} "
                f"substations can take {campus:.0f} MW; median {h.median():.0f} MW"
            )
        click.echo(f"outputs in {out}/:")
        for p in written:
            click.echo(f"  {p.name}")


@main.command()
@click.argument("study", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder [default: maps/<study name>/sensitivity/].",
)
@_data_option
@_resolution_option
@click.option(
    "--draws",
    type=click.IntRange(min=1),
    default=None,
    help="Monte Carlo weight draws, overriding [sensitivity].",
)
@click.option("--seed", type=int, default=None, help="Random seed, overriding [sensitivity].")
@_output_options
def sensitivity(
    study: Path,
    out_dir: Path | None,
    data_root: Path | None,
    resolution_m: float | None,
    draws: int | None,
    seed: int | None,
    overwrite: bool,
    verbose: int,
    quiet: bool,
) -> None:
    """Run STUDY and report how robust its ranking is to the weights.

    Writes sensitivity.csv (per site: rank_p05/p50/p95 and p_top<k> over Monte Carlo weight
    draws) and sensitivity_oat.csv (per criterion and site: the weights at which the rank
    changes, one weight at a time).
    """
    from dataclasses import replace

    from gridsite.study import (
        SENSITIVITY_OUTPUTS,
        Study,
        check_outputs_free,
        rank_spread,
        write_sensitivity,
    )

    bars = _configure_logging(verbose, quiet)
    try:
        s = Study.from_toml(study, data_root, resolution_m=resolution_m)
        sens = s.spec.sensitivity
        sens = replace(
            sens,
            draws=draws if draws is not None else (sens.draws or 1000),
            seed=seed if seed is not None else sens.seed,
        )
        s = Study(replace(s.spec, sensitivity=sens))
        out = out_dir if out_dir is not None else Path("maps") / s.spec.name / "sensitivity"
        if not overwrite:
            check_outputs_free(out / n for n in SENSITIVITY_OUTPUTS)
        result = s.run(progress=bars)
        written = write_sensitivity(result, out, overwrite=overwrite)
        mc = rank_spread(result)
    except GridsiteError as exc:
        _fail(exc, verbose, bars)
        return
    if not quiet:
        click.echo(mc.head(10).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        click.echo(f"\n{sens.draws} weight draws (seed {sens.seed}); outputs in {out}/:")
        for p in written:
            click.echo(f"  {p.name}")


@main.command()
@click.argument("study", type=click.Path(path_type=Path))
@_data_option
def validate(study: Path, data_root: Path | None) -> None:
    """Check STUDY and every input file it names; list all problems (exit 1 if any)."""
    from gridsite.config import load_study
    from gridsite.study import check_inputs

    _configure_logging(0, True)
    try:
        spec = load_study(study, data_root=data_root)
    except GridsiteError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    problems = check_inputs(spec)
    if problems:
        click.echo(f"{study}: {len(problems)} problem(s):", err=True)
        for p in problems:
            click.echo(f"  - {p}", err=True)
        sys.exit(1)
    click.echo(
        f"{study}: OK ({len(spec.criteria)} criteria, {len(spec.constraints)} constraints, "
        f"data root {spec.data_root})"
    )


@main.command()
@click.argument("matrix_file", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--accept-inconsistent",
    is_flag=True,
    help="Report the weights even if CR > 0.10 (a warning names the worst judgements).",
)
def ahp(matrix_file: Path, as_json: bool, accept_inconsistent: bool) -> None:
    """Weigh criteria by AHP from FILE, a pairwise-comparison matrix CSV.

    FILE has the criterion names as header and first column; cells are numbers or fractions
    (1/3). Prints the weights, lambda_max, CI and CR; exits 1 if CR > 0.10, naming the most
    inconsistent judgements. --json prints {"weights": {name: w}, "lambda_max", "ci", "cr"}.
    """
    import json

    from gridsite.layers import read_pairwise_matrix
    from gridsite.mcda import ahp_weights, inconsistent_judgements

    try:
        names, matrix = read_pairwise_matrix(matrix_file)
        result = ahp_weights(
            matrix, names, accept_inconsistent=accept_inconsistent, label=str(matrix_file)
        )
    except GridsiteError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if result.cr > 0.10:
        worst = inconsistent_judgements(matrix, names, list(result.weights.values()))
        listing = "; ".join(
            f"({j.row}, {j.col}) {j.given:.3g} vs {j.consistent:.3g}" for j in worst
        )
        click.echo(
            f"warning: CR = {result.cr:.3f} > 0.10; most inconsistent judgements "
            f"(given vs consistent with the weights): {listing}",
            err=True,
        )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    width = max(len("criterion"), *(len(n) for n in names))
    click.echo(f"{'criterion':<{width}}  weight")
    for name, w in result.weights.items():
        click.echo(f"{name:<{width}}  {w:.4f}")
    click.echo(
        f"\nlambda_max {result.lambda_max:.4f}  CI {result.ci:.4f}  CR {result.cr:.4f} "
        f"(RI({len(names)}) = {result.ri}, Saaty 1980; acceptable CR <= 0.10)"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
