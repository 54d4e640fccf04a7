"""The `tfcheck` command: parse arguments, call the engine, render, choose the exit code.

The only module that knows typer and prints. Exit codes (../shared/spec/interface.md):
0 clean, 1 failures at or above --fail-on, 2 unreadable input or bad command line,
3 internal error (the rest of the run still happened).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from tfcheck import __version__
from tfcheck.config import Config, ConfigError, find_config_file, load_config
from tfcheck.engine import ScanOptions, baseline_document, read_baseline, scan
from tfcheck.model import Report, Severity, Status
from tfcheck.policy import Policy
from tfcheck.registry import load_policies, select_policies, split_selectors
from tfcheck.report import FORMATS, RenderOptions, renderer

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

app = typer.Typer(
    name="tfcheck",
    help="Pre-apply checks for Amazon EKS private clusters in Terraform HCL and plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class UserError(Exception):
    """A mistake on the command line or in a config file: one line, exit 2."""


class ListFormat(StrEnum):
    pretty = "pretty"
    json = "json"
    markdown = "markdown"


class GraphFormat(StrEnum):
    dot = "dot"
    mermaid = "mermaid"
    json = "json"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tfcheck {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Pre-apply checks for Amazon EKS private clusters in Terraform HCL and plans."""


@app.command("scan")
def scan_command(
    paths: Annotated[list[str], typer.Argument(
        help="HCL directories, .tf/.tfvars files (mapped to their root module), plan JSON "
             "or binary plan files, or - for a plan on standard input.")],
    formats: Annotated[list[str] | None, typer.Option(
        "--format", "-f", help=f"Output format, repeatable: {', '.join(FORMATS)}.")] = None,
    outputs: Annotated[list[Path] | None, typer.Option(
        "--output", "-o", help="File for the format at the same position; "
                               "formats without one go to standard output.")] = None,
    fail_on: Annotated[str | None, typer.Option(
        help="Lowest severity that fails the run: low, medium, high, critical.")] = None,
    fail_on_unknown: Annotated[bool | None, typer.Option(
        "--fail-on-unknown/--no-fail-on-unknown",
        help="Also fail on findings that cannot be decided.")] = None,
    policy: Annotated[list[str] | None, typer.Option(
        "--policy", help="Run only these policies (IDs or slugs, comma-separated).")] = None,
    skip_policy: Annotated[list[str] | None, typer.Option(
        "--skip-policy", help="Do not run these policies (IDs or slugs).")] = None,
    show_passed: Annotated[bool | None, typer.Option(
        "--show-passed/--hide-passed", help="List passing checks too.")] = None,
    var_file: Annotated[list[Path] | None, typer.Option(
        "--var-file", help="HCL mode: a .tfvars file, repeatable.")] = None,
    var: Annotated[list[str] | None, typer.Option(
        "--var", help="HCL mode: a variable as name=value, repeatable.")] = None,
    env_vars: Annotated[bool, typer.Option(
        "--env-vars", help="HCL mode: read TF_VAR_* from the environment.")] = False,
    source: Annotated[Path | None, typer.Option(
        help="Plan mode: the .tf files behind the plan, for file and line.")] = None,
    config_file: Annotated[Path | None, typer.Option(
        "--config", help="Config file (default: nearest .tfcheck.toml or pyproject.toml).")
    ] = None,
    baseline: Annotated[Path | None, typer.Option(
        help="Report only failures not recorded in this baseline file.")] = None,
    write_baseline: Annotated[Path | None, typer.Option(
        help="Record today's failures in this file.")] = None,
    changed_only: Annotated[bool, typer.Option(
        "--changed-only", help="Plan mode: only findings on resources the plan creates or "
                               "updates.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain text output.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Scan Terraform configurations and plans for EKS private-cluster problems."""
    try:
        config = _config(paths, config_file).merged(
            policies=split_selectors(policy) if policy else None,
            skip_policies=split_selectors(skip_policy) if skip_policy else None,
            fail_on=_severity(fail_on) if fail_on else None,
            fail_on_unknown=fail_on_unknown,
            show_passed=show_passed,
        )
        options = ScanOptions(
            var_files=tuple(var_file or ()),
            variables=_variables(var or ()),
            use_env=env_vars,
            source_dir=source,
            baseline=_baseline(baseline),
            changed_only=changed_only,
        )
        policies, pack_errors = load_policies()
        selected = select_policies(policies, config.policies, config.skip_policies)
        targets = _targets(formats or ["pretty"], outputs or [])
    except (UserError, ConfigError) as error:
        _fail(str(error))
    report = scan(paths, config=config, options=options, policies=selected)
    report.internal_errors[:0] = pack_errors
    for name, destination in targets:
        # colour only for what goes to a terminal, never into files
        color = destination is None and _use_color(no_color)
        options_for = RenderOptions(show_passed=config.show_passed, color=color,
                                    repo_root=os.getcwd())
        _write(renderer(name)(report, options_for), destination)
    if write_baseline is not None:
        _write(baseline_document(report), write_baseline)
    for internal in report.internal_errors:
        if debug and internal.detail:
            typer.echo(internal.detail, err=True)
    if report.internal_errors:
        typer.echo("tfcheck: internal error (the other policies still ran); please report "
                   "it with the output of --debug", err=True)
    raise typer.Exit(exit_code(report, config))


def exit_code(report: Report, config: Config) -> int:
    """The contract's exit code for a finished scan."""
    if report.internal_errors:
        return EXIT_INTERNAL
    if report.input_errors:
        return EXIT_USAGE
    if any(report.failures(config.fail_on)):
        return EXIT_FAILED
    if config.fail_on_unknown and any(
        f.status is Status.UNKNOWN and not f.suppressed for f in report.findings
    ):
        return EXIT_FAILED
    return EXIT_OK


@app.command("policies")
def policies_command(
    format: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.pretty,
) -> None:
    """List the installed policies."""
    policies, _ = load_policies()
    if format is ListFormat.json:
        rows = [{"id": p.id, "slug": p.slug, "severity": p.severity.value, "title": p.title,
                 "docs_url": p.docs_url} for p in policies]
        typer.echo(json.dumps(rows, indent=2))
        return
    if format is ListFormat.markdown:
        typer.echo(policy_table_markdown(policies), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("ID", "Slug", "Severity", "Title", header_style="bold")
    for p in policies:
        table.add_row(p.id, p.slug, p.severity.value, p.title)
    Console(no_color=_use_color(False) is False, width=140).print(table)


def policy_table_markdown(policies: list[Policy]) -> str:
    """The README's policy table, generated so that it cannot drift from the registry."""
    lines = ["| ID | Slug | Severity | Title |", "|---|---|---|---|"]
    lines += [f"| {p.id} | `{p.slug}` | {p.severity.value} | {p.title} |" for p in policies]
    return "\n".join(lines) + "\n"


@app.command("explain")
def explain_command(rule: Annotated[str, typer.Argument(help="A policy ID or slug.")]) -> None:
    """Show a policy's documentation: why, the source text, bad and good HCL."""
    policies, _ = load_policies()
    found = next((p for p in policies if p.matches(rule)), None)
    if found is None:
        _fail(f"unknown policy {rule!r} (see `tfcheck policies`)")
    header = f"{found.id} {found.slug} ({found.severity.value}): {found.title}"
    typer.echo(f"{header}\n{'=' * len(header)}\n\n{found.doc}\n")
    if found.docs_url:
        typer.echo(f"See: {found.docs_url}")


@app.command("graph")
def graph_command(
    path: Annotated[str, typer.Argument(help="An HCL directory or a plan file.")],
    format: Annotated[GraphFormat, typer.Option("--format", "-f")] = GraphFormat.dot,
    cluster: Annotated[str | None, typer.Option(
        help="Only what this cluster's networking reaches.")] = None,
) -> None:
    """Print the resource graph tfcheck builds from an input."""
    from tfcheck.graph_export import GraphInputError, export_graph, load_graph

    try:
        graph = load_graph(path)
        typer.echo(export_graph(graph, format.value, cluster), nl=False)
    except GraphInputError as error:
        _fail(str(error))


@app.command("images")
def images_command(
    path: Annotated[str, typer.Argument(help="An HCL directory or a plan file.")],
    format: Annotated[str, typer.Option(
        "--format", "-f", help="table, json, hcl (pull-through cache rules) or script "
                               "(copy commands).")] = "table",
    account: Annotated[str | None, typer.Option(
        help="AWS account ID of the ECR registry the mirrors go to.")] = None,
    config_file: Annotated[Path | None, typer.Option(
        "--config", help="Config file (allowed_registries).")] = None,
    var_file: Annotated[list[Path] | None, typer.Option(
        "--var-file", help="HCL mode: a .tfvars file, repeatable.")] = None,
    var: Annotated[list[str] | None, typer.Option(
        "--var", help="HCL mode: a variable as name=value, repeatable.")] = None,
) -> None:
    """The image mirror plan: every image deployed, whether the private cluster can pull it."""
    from tfcheck.images import FORMATS as IMAGE_FORMATS
    from tfcheck.images import ImagesInputError, mirror_plan, render

    if format not in IMAGE_FORMATS:
        _fail(f"--format {format!r}: choose from {', '.join(IMAGE_FORMATS)}")
    try:
        config = _config([path], config_file)
        plan = mirror_plan([path], config=config, account=account,
                           var_files=tuple(var_file or ()), variables=_variables(var or []))
        typer.echo(render(plan, format), nl=False)
    except (ImagesInputError, UserError, ConfigError) as error:
        _fail(str(error))


def _config(paths: list[str], config_file: Path | None) -> Config:
    if config_file is not None:
        if not config_file.is_file():
            raise UserError(f"{config_file}: no such config file")
        return load_config(config_file)
    start = Path(paths[0]) if paths and paths[0] != "-" else Path.cwd()
    found = find_config_file(start if start.exists() else Path.cwd())
    return load_config(found) if found else Config()


def _severity(value: str) -> Severity:
    try:
        return Severity(value.lower())
    except ValueError:
        raise UserError(f"--fail-on: {value!r} is not one of "
                        f"{', '.join(s.value for s in Severity)}") from None


def _variables(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--var {pair!r}: expected name=value")
        variables[name.strip()] = value
    return variables


def _baseline(path: Path | None) -> frozenset[str]:
    if path is None:
        return frozenset()
    try:
        return read_baseline(path)
    except (OSError, ValueError, KeyError) as error:
        raise UserError(f"{path}: cannot read baseline: {error}") from None


def _targets(formats: list[str], outputs: list[Path]) -> list[tuple[str, Path | None]]:
    for name in formats:
        if name not in FORMATS:
            raise UserError(f"--format {name!r}: choose from {', '.join(FORMATS)}")
    if len(outputs) > len(formats):
        raise UserError("more --output files than --format options")
    return [(name, outputs[i] if i < len(outputs) else None) for i, name in enumerate(formats)]


def _write(text: str, destination: Path | None) -> None:
    if destination is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
    except OSError as error:
        _fail(f"{destination}: cannot write: {error.strerror}")


def _use_color(no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _fail(message: str) -> NoReturn:
    typer.echo(f"tfcheck: error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def main() -> None:
    """Console-script entry point: never a traceback unless --debug."""
    debug = "--debug" in sys.argv
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("tfcheck: interrupted", err=True)
        sys.exit(130)
    except Exception as error:
        if debug:
            traceback.print_exc()
        typer.echo(f"tfcheck: internal error: {error!r}; please report it with the output "
                   f"of --debug", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
