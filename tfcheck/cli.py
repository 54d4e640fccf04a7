"""The `tfcheck` command: parse arguments, call the engine, render, choose the exit code.

The only module that knows typer and prints. Exit codes (../shared/spec/interface.md):
0 clean, 1 failures at or above --fail-on, 2 unreadable input or bad command line,
3 internal error (the rest of the run still happened). Every error goes to stderr as one
line, `tfcheck: error: ...`, whatever the output format. Heavy modules (the engine,
loaders, renderers) are imported where used, so that `--version` and `--help` are quick.

No `from __future__ import annotations` here: typer reads the commands' annotations on
every run, and as strings each one is compiled and evaluated again (~5 ms a run); as
objects they are built once, by the module's cached bytecode. The names imported only
for type checking are quoted.
"""

import difflib
import gc
import json
import os
import re
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer import _click as click  # typer bundles its own click (>= 0.29)
from typer._coercion import RuntimeParam
from typer.core import TyperGroup

from tfcheck import __version__

if TYPE_CHECKING:
    from tfcheck.config import Config
    from tfcheck.model import Report
    from tfcheck.policy import Policy

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
FORMAT_NAMES = ("pretty", "json", "sarif", "junit", "markdown", "github")
# `-o report.sarif` without any `-f`: the format its name says.
FORMAT_BY_SUFFIX = {".json": "json", ".sarif": "sarif", ".xml": "junit", ".md": "markdown",
                    ".txt": "pretty"}
PIPED_WIDTH = 100  # the pretty output's width when not writing to a terminal
_PYTHON_TYPE = re.compile(r" <(?:list\[[^>\n]*\]|str|int|float|bool|path|Path)>")
PROGRESS_AFTER = 1.0  # seconds before a progress line appears on a terminal


class _OneLineErrors(TyperGroup):
    """Command-line mistakes as one line with a suggestion, not a usage block."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.NoSuchOption as error:
            hint = _suggestion(error.option_name, error.possibilities, error.ctx)
            _fail(f"no such option {error.option_name}{hint} (see `tfcheck "
                  f"{_command_name(error.ctx)} --help`)")
        except click.exceptions.NoArgsIsHelpError as error:
            typer.echo(error.format_message())  # `tfcheck` alone: the help, not an error
            sys.exit(EXIT_OK)
        except click.exceptions.UsageError as error:
            command = _command_name(error.ctx)
            message = error.format_message().replace("Value error, ", "")
            _fail(f"{message} (see `tfcheck {command} --help`)".replace(
                "tfcheck  --help", "tfcheck --help"))
        except typer.Abort:
            typer.echo("tfcheck: interrupted", err=True)
            sys.exit(130)
        except click.exceptions.ClickException as error:
            _fail(error.format_message())
        sys.exit(result if isinstance(result, int) else EXIT_OK)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for param in self.get_params(ctx):  # with the help option typer adds
            _plain_coercion(param)
        return super().parse_args(ctx, args)


def _suggestion(name: str, possibilities: Sequence[str] | None,
                ctx: click.Context | None) -> str:
    choices = list(possibilities or [])
    if not choices and ctx is not None:
        choices = [opt for param in ctx.command.params for opt in param.opts
                   if opt.startswith("--")]
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return f" (did you mean {close[0]}?)" if close else ""


def _command_name(ctx: click.Context | None) -> str:
    return ctx.command.name or "" if ctx is not None and ctx.parent is not None else ""


app = typer.Typer(
    name="tfcheck",
    cls=_OneLineErrors,
    help="Pre-apply checks for Amazon EKS private clusters in Terraform HCL and plans.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
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


NoColor = Annotated[bool, typer.Option("--no-color", help="Plain text, no colours "
                                                          "(also: NO_COLOR=1).")]
NoCache = Annotated[bool, typer.Option(
    "--no-cache", help="Parse every .tf file afresh: neither read nor write the parse cache "
                       "(TFCHECK_CACHE_DIR, default ~/.cache/tfcheck).")]


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


class _Command(typer.core.TyperCommand):
    """Help text for people: no Python types (`<list[str]>`) beside the arguments."""

    def get_help(self, ctx: click.Context) -> str:
        return _PYTHON_TYPE.sub(lambda m: " " * len(m[0]), super().get_help(ctx))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for param in self.get_params(ctx):  # with the help option typer adds
            _plain_coercion(param)
        return super().parse_args(ctx, args)


@dataclass(frozen=True)
class _Plain(RuntimeParam):
    """A `str`, `Path` or flag parameter (or a list of them), converted without pydantic.

    typer turns click's strings into the annotated types through a pydantic
    TypeAdapter per parameter; importing pydantic for it costs ~0.1 s of every run,
    for conversions that are one call each.
    """

    convert: Callable[[Any], Any] = str
    many: bool = False

    def _coerce_value(self, value: Any, param: Any, ctx: click.Context) -> Any:
        if self.many:
            items = value if isinstance(value, (list, tuple)) else [value]
            return [self.convert(item) for item in items]
        return self.convert(value)


def _flag(value: Any) -> bool:
    """A flag's value is a bool by the time it is coerced (None never reaches this)."""
    if not isinstance(value, bool):
        raise click.exceptions.BadParameter(f"{value!r} is not a flag value")
    return value


_PLAIN: dict[Any, tuple[Callable[[Any], Any], bool]] = {
    str: (str, False), Path: (Path, False), bool: (_flag, False),
    list[str]: (str, True), list[Path]: (Path, True)}


def _plain_coercion(param: click.Parameter) -> None:
    """Give a typer parameter of a plain type the `_Plain` conversion (others keep typer's)."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(param, "_runtime_param", True) is not None:
        return
    plain = _PLAIN.get(descriptor.annotation)
    if plain is not None:
        param._runtime_param = _Plain(  # type: ignore[attr-defined]
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation,
            convert=plain[0], many=plain[1])


class _ScanCommand(_Command):
    """Keeps the raw arguments: `--output` pairs with the `--format` just before it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["tfcheck.raw_args"] = list(args)
        return super().parse_args(ctx, args)


@app.command("scan", cls=_ScanCommand)
def scan_command(
    ctx: typer.Context,
    paths: Annotated[list[str] | None, typer.Argument(
        metavar="PATH", show_default=False,
        help="HCL directories (a directory without .tf files of its own: every root module "
             "below it), .tf/.tfvars files (mapped to their root module), plan JSON or "
             "binary plan files, or - for a plan on standard input.")] = None,
    formats: Annotated[list[str] | None, typer.Option(
        "--format", "-f", metavar="FORMAT",
        help=f"Output format, repeatable: {', '.join(FORMAT_NAMES)} (default pretty).")] = None,
    outputs: Annotated[list[Path] | None, typer.Option(
        "--output", "-o", metavar="FILE",
        help="Write the --format given just before it to FILE (`-f pretty -f sarif -o "
             "r.sarif`); formats without one go to standard output.")] = None,
    fail_on: Annotated[str | None, typer.Option(
        metavar="SEVERITY",
        help="Lowest severity that fails the run: low, medium, high, critical.")] = None,
    fail_on_unknown: Annotated[bool | None, typer.Option(
        "--fail-on-unknown/--no-fail-on-unknown",
        help="Also fail on findings that cannot be decided.")] = None,
    soft_fail: Annotated[bool, typer.Option(
        "--soft-fail", "--exit-zero",
        help="Exit 0 even when findings fail (input and internal errors still exit 2 "
             "and 3).")] = False,
    policy: Annotated[list[str] | None, typer.Option(
        "--policy", metavar="IDS", help="Run only these policies (IDs or slugs, "
                                        "comma-separated).")] = None,
    skip_policy: Annotated[list[str] | None, typer.Option(
        "--skip-policy", metavar="IDS", help="Do not run these policies (IDs or slugs).")
    ] = None,
    show_passed: Annotated[bool | None, typer.Option(
        "--show-passed/--hide-passed", help="List passing checks too.")] = None,
    var_file: Annotated[list[Path] | None, typer.Option(
        "--var-file", metavar="FILE", help="HCL mode: a .tfvars file, repeatable.")] = None,
    var: Annotated[list[str] | None, typer.Option(
        "--var", metavar="NAME=VALUE", help="HCL mode: a variable, repeatable.")] = None,
    env_vars: Annotated[bool, typer.Option(
        "--env-vars", help="HCL mode: read TF_VAR_* from the environment.")] = False,
    source: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Plan mode: the .tf files behind the plan, for file and line.")
    ] = None,
    config_file: Annotated[Path | None, typer.Option(
        "--config", metavar="FILE",
        help="Config file (default: nearest .tfcheck.toml or pyproject.toml).")] = None,
    baseline: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Report only failures not recorded in this baseline file.")
    ] = None,
    write_baseline: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Record today's failures in FILE (exits 0 once written).")
    ] = None,
    changed_only: Annotated[bool, typer.Option(
        "--changed-only", help="Plan mode: only findings the plan's changes touch (the "
                               "resource or anything in its evidence).")] = False,
    pre_commit: Annotated[bool, typer.Option(
        "--pre-commit", help="The paths are a commit's files: also scan the root modules of "
                             "files it deletes or renames (asks git).")] = False,
    no_cache: NoCache = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print nothing but failures and errors.")] = False,
    no_color: NoColor = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Scan Terraform configurations and plans for EKS private-cluster problems."""
    from tfcheck.engine import ScanOptions, baseline_document, scan
    from tfcheck.inputs import repository_root
    from tfcheck.model import Status
    from tfcheck.registry import load_policies, select_policies, split_selectors
    from tfcheck.report import RenderOptions, renderer

    paths = paths or []
    try:
        if not paths and not pre_commit:
            raise UserError("give at least one PATH to scan (see `tfcheck scan --help`)")
        targets = output_targets(ctx.meta.get("tfcheck.raw_args", []), formats or [],
                                 outputs or [])
        config = _config(paths, config_file).merged(
            policies=split_selectors(policy) if policy else None,
            skip_policies=split_selectors(skip_policy) if skip_policy else None,
            fail_on=_severity(fail_on) if fail_on else None,
            fail_on_unknown=fail_on_unknown,
            show_passed=show_passed,
        )
        progress = _Progress(enabled=not quiet)
        options = ScanOptions(
            var_files=tuple(var_file or ()),
            variables=_variables(var or ()),
            use_env=env_vars,
            source_dir=source,
            baseline=_baseline(baseline),
            changed_only=changed_only,
            deleted=_deleted_files() if pre_commit else (),
            pictures="failing" if any(name == "markdown" for name, _ in targets) else "none",
            progress=progress,
            cache=not no_cache,
            scanned=_keep_to_exit,
        )
        policies, pack_errors = load_policies()
        selected = select_policies(policies, config.policies, config.skip_policies)
    except UserError as error:
        _fail(str(error))
    except Exception as error:
        from tfcheck.config import ConfigError

        if isinstance(error, ConfigError):
            _fail(str(error))
        raise
    if pre_commit and not paths and not options.deleted:
        raise typer.Exit(EXIT_OK)  # the commit touches no Terraform
    report = scan(paths, config=config, options=options, policies=selected)
    _keep_to_exit(report)
    progress.done()
    report.internal_errors[:0] = pack_errors
    _report_problems(report, quiet=quiet, debug=debug)  # first: a terminal shows them on top
    repo_root = str(repository_root(paths))
    quiet_clean = quiet and not any(f.status is not Status.PASS and not f.suppressed
                                    for f in report.findings)
    for name, destination in targets:
        if destination is None and name == "pretty" and quiet_clean:
            continue
        # colour only for what goes to a terminal, never into files
        color = destination is None and _use_color(no_color)
        width = terminal_width() if destination is None else PIPED_WIDTH
        render_options = RenderOptions(show_passed=config.show_passed, color=color,
                                       width=width, repo_root=repo_root)
        _write(renderer(name)(report, render_options), destination)
    if write_baseline is not None:
        _write(baseline_document(report), write_baseline)
    code = exit_code(report, config, soft_fail=soft_fail)
    if write_baseline is not None and code == EXIT_FAILED:
        code = EXIT_OK  # today's failures are now recorded: that is what was asked
    raise typer.Exit(code)


# The last scanned graph and the report, referenced until the process ends: `run` ends
# it with os._exit, so they are never freed one object at a time (for a 10,000-resource
# plan ~0.03 s CPU for the graph as `engine.scan` returns, a few ms for the report as
# this command's frame unwinds). One of each: a scan of many inputs still frees each
# graph once the next one is scanned, so peak memory is what it was.
_KEPT_TO_EXIT: dict[type, object] = {}


def _keep_to_exit(value: object) -> None:
    _KEPT_TO_EXIT[type(value)] = value


def _report_problems(report: "Report", *, quiet: bool, debug: bool) -> None:
    """Errors (and, unless quiet, warnings) on stderr, whatever the format: CI logs show it."""
    for error in report.input_errors:
        typer.echo(f"tfcheck: error: {error}", err=True)
    if not quiet:
        for note in report.notes:
            typer.echo(f"tfcheck: warning: {note}", err=True)
    third_party = [e for e in report.internal_errors if e.where.startswith("third-party")]
    ours = [e for e in report.internal_errors if not e.where.startswith("third-party")]
    for internal in report.internal_errors:
        typer.echo(f"tfcheck: error: {internal.where}: {internal.message}", err=True)
        if debug and internal.detail:
            typer.echo(internal.detail, err=True)
    if third_party:
        typer.echo("tfcheck: a third-party policy pack failed (the other policies still "
                   "ran); report it to that pack's maintainers", err=True)
    if ours:
        typer.echo("tfcheck: internal error (the other policies still ran); please report "
                   "it with the output of --debug", err=True)


def exit_code(report: "Report", config: "Config", *, soft_fail: bool = False) -> int:
    """The contract's exit code for a finished scan."""
    from tfcheck.model import Status

    if report.internal_errors:
        return EXIT_INTERNAL
    if report.input_errors:
        return EXIT_USAGE
    if soft_fail:
        return EXIT_OK
    if any(report.failures(config.fail_on)):
        return EXIT_FAILED
    if config.fail_on_unknown and any(
        f.status is Status.UNKNOWN and not f.suppressed for f in report.findings
    ):
        return EXIT_FAILED
    return EXIT_OK


def output_targets(raw_args: Sequence[str], formats: Sequence[str],
                   outputs: Sequence[Path]) -> list[tuple[str, Path | None]]:
    """(format, file or None for stdout) pairs: each `-o` belongs to the `-f` before it.

    `raw_args` are the command line as typed; `formats`/`outputs` what the parser kept
    (used when the raw order is not at hand, as when called as a library).
    """
    order = _format_output_order(raw_args) if raw_args else (
        [("f", f) for f in formats] + [("o", str(o)) for o in outputs])
    pairs: list[list[Any]] = []
    loose: list[str] = []  # outputs before any format
    for kind, value in order:
        if kind == "f":
            if value not in FORMAT_NAMES:
                raise UserError(f"--format {value!r}: choose from {', '.join(FORMAT_NAMES)}")
            pairs.append([value, None])
        elif not pairs:
            loose.append(value)
        elif pairs[-1][1] is not None:
            raise UserError(f"--output {value}: the --format {pairs[-1][0]} before it already "
                            f"writes to {pairs[-1][1]}; give each --output its own --format")
        else:
            pairs[-1][1] = Path(value)
    if loose:
        if not pairs and len(loose) == 1:
            guessed = FORMAT_BY_SUFFIX.get(Path(loose[0]).suffix.lower(), "pretty")
            pairs.append([guessed, Path(loose[0])])
        elif len(pairs) == 1 and len(loose) == 1 and pairs[0][1] is None:
            pairs[0][1] = Path(loose[0])
        else:
            raise UserError(f"--output {loose[0]} comes before any --format: write "
                            f"`--format FORMAT --output FILE`")
    if not pairs:
        pairs.append(["pretty", None])
    return [(name, destination) for name, destination in pairs]


def _format_output_order(args: Sequence[str]) -> list[tuple[str, str]]:
    """The `-f`/`-o` values in the order typed (`-f x`, `-fx`, `--format=x`, ...)."""
    found: list[tuple[str, str]] = []
    spellings = {"-f": "f", "--format": "f", "-o": "o", "--output": "o"}
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":
            break
        name, _, attached = token.partition("=")
        if token in spellings and index + 1 < len(args):
            found.append((spellings[token], args[index + 1]))
            index += 2
            continue
        if name in ("--format", "--output") and attached:
            found.append((spellings[name], attached))
        elif token[:2] in ("-f", "-o") and len(token) > 2 and not token.startswith("--"):
            found.append((spellings[token[:2]], token[2:]))
        index += 1
    return found


def _deleted_files() -> tuple[str, ...]:
    """Terraform files the staged commit deletes or renames away, from `git diff --cached`.

    pre-commit passes only files that remain; a deleted `endpoints.tf` must still get its
    root module scanned. Without git (or outside a repository) there are none.
    """
    import subprocess

    try:
        result = subprocess.run(
            ["git", "diff", "--cached", "--name-status", "-z", "--no-renames",
             "--diff-filter=D", "--relative"],
            capture_output=True, check=False, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ()
    if result.returncode != 0:
        return ()
    fields = result.stdout.decode("utf-8", errors="replace").split("\0")
    from tfcheck.inputs import HCL_SUFFIXES

    return tuple(path for status, path in zip(fields[::2], fields[1::2], strict=False)
                 if status == "D" and path.endswith(HCL_SUFFIXES))


class _Progress:
    """`scanning envs/prod (2/7)` on stderr, for terminals, once a scan takes a while."""

    def __init__(self, *, enabled: bool) -> None:
        self._enabled = enabled and sys.stderr.isatty()
        self._start = time.monotonic()
        self._shown = False

    def __call__(self, index: int, total: int, name: str) -> None:
        if not self._enabled or time.monotonic() - self._start < PROGRESS_AFTER:
            return
        width = max(20, shutil.get_terminal_size().columns - 1)
        line = f"tfcheck: scanning {name} ({index}/{total})"[:width]
        sys.stderr.write("\r" + line.ljust(width))
        sys.stderr.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            width = max(20, shutil.get_terminal_size().columns - 1)
            sys.stderr.write("\r" + " " * width + "\r")
            sys.stderr.flush()


@app.command("policies", cls=_Command)
def policies_command(
    format: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.pretty,
    no_color: NoColor = False,
) -> None:
    """List the installed policies, with the pack each comes from."""
    from tfcheck.registry import load_policies

    policies, errors = load_policies()
    if format is ListFormat.json:
        rows = [{"id": p.id, "slug": p.slug, "severity": p.severity.value, "title": p.title,
                 "docs_url": p.docs_url, "pack": p.pack} for p in policies]
        typer.echo(json.dumps(rows, indent=2))
    elif format is ListFormat.markdown:
        typer.echo(policy_table_markdown(policies), nl=False)
    else:
        from tfcheck.report.text import policy_table

        typer.echo(policy_table(policies, width=terminal_width(),
                                color=_use_color(no_color)), nl=False)
    for error in errors:
        typer.echo(f"tfcheck: error: {error.where}: {error.message}", err=True)
    if errors:
        raise typer.Exit(EXIT_INTERNAL)


def policy_table_markdown(policies: "list[Policy]") -> str:
    """The README's policy table, generated so that it cannot drift from the registry."""
    lines = ["| ID | Slug | Severity | Title |", "|---|---|---|---|"]
    lines += [f"| {p.id} | `{p.slug}` | {p.severity.value} | {p.title} |" for p in policies]
    return "\n".join(lines) + "\n"


@app.command("explain", cls=_Command)
def explain_command(
    rule: Annotated[str, typer.Argument(metavar="RULE", help="A policy ID or slug.")],
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="The documentation as Markdown source.")] = False,
    no_color: NoColor = False,
) -> None:
    """Show a policy's documentation: why, the source text, bad and good HCL."""
    from tfcheck.registry import load_policies

    policies, _ = load_policies()
    found = next((p for p in policies if p.matches(rule)), None)
    if found is None:
        close = difflib.get_close_matches(rule.upper(), [p.id for p in policies], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        _fail(f"unknown policy {rule!r}{hint} (see `tfcheck policies`)")
    from tfcheck.report.text import explain_markdown, explain_text

    if markdown:
        typer.echo(explain_markdown(found), nl=False)
        return
    typer.echo(explain_text(found, width=terminal_width(), color=_use_color(no_color)),
               nl=False)


@app.command("graph", cls=_Command)
def graph_command(
    path: Annotated[str, typer.Argument(metavar="PATH",
                                        help="An HCL directory or a plan file.")],
    format: Annotated[GraphFormat, typer.Option("--format", "-f")] = GraphFormat.dot,
    cluster: Annotated[str | None, typer.Option(
        metavar="ADDRESS",
        help="The picture of this cluster's network: VPC, subnets by Availability Zone, "
             "route tables, gateways, endpoints; failing parts highlighted.")] = None,
    no_cache: NoCache = False,
    no_color: NoColor = False,
) -> None:
    """Print the resource graph tfcheck builds, or the picture of one cluster's network."""
    from tfcheck.graph_export import GraphInputError, cluster_picture, export_graph, load_graph
    from tfcheck.hcl.parsing import parsing_for

    with parsing_for(not no_cache, []):
        try:
            if cluster is not None:
                typer.echo(cluster_picture(path, cluster, format.value), nl=False)
            else:
                typer.echo(export_graph(load_graph(path), format.value), nl=False)
        except GraphInputError as error:
            _fail(str(error))


@app.command("images", cls=_Command)
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
    no_cache: NoCache = False,
    no_color: NoColor = False,
) -> None:
    """The image mirror plan: every image deployed, whether the private cluster can pull it."""
    from tfcheck.config import ConfigError
    from tfcheck.hcl.parsing import parsing_for
    from tfcheck.images import FORMATS as IMAGE_FORMATS
    from tfcheck.images import ImagesInputError, mirror_plan, render

    if format not in IMAGE_FORMATS:
        _fail(f"--format {format!r}: choose from {', '.join(IMAGE_FORMATS)}")
    with parsing_for(not no_cache, []):
        try:
            config = _config([path], config_file)
            plan = mirror_plan([path], config=config, account=account,
                               var_files=tuple(var_file or ()), variables=_variables(var or []))
            typer.echo(render(plan, format), nl=False)
        except (ImagesInputError, UserError, ConfigError) as error:
            _fail(str(error))


def _config(paths: list[str], config_file: Path | None) -> "Config":
    from tfcheck.config import Config, find_config_file, load_config

    if config_file is not None:
        if not config_file.is_file():
            raise UserError(f"{config_file}: no such config file")
        return load_config(config_file)
    start = Path(paths[0]) if paths and paths[0] != "-" else Path.cwd()
    found = find_config_file(start if start.exists() else Path.cwd())
    return load_config(found) if found else Config()


def _severity(value: str) -> Any:
    from tfcheck.model import Severity

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
    from tfcheck.engine import read_baseline

    if path is None:
        return frozenset()
    try:
        return read_baseline(path)
    except (OSError, ValueError, KeyError) as error:
        raise UserError(f"{path}: cannot read baseline: {error}") from None


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


def terminal_width() -> int:
    """The terminal's width; `PIPED_WIDTH` (or $COLUMNS) when stdout is not a terminal."""
    if sys.stdout.isatty():
        return shutil.get_terminal_size((PIPED_WIDTH, 24)).columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) >= 40 else PIPED_WIDTH


def _use_color(no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _fail(message: str) -> NoReturn:
    typer.echo(f"tfcheck: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


# Young objects a cyclic collection waits for (CPython's default: 700).
GC_YOUNG_THRESHOLD = 1_000_000


def run() -> NoReturn:
    """The process entry (console script, `python -m tfcheck.cli`): `main`, tuned for one run.

    A run is one short process. What a scan builds (the decoded plan, the graph, the
    facts) holds no reference cycles and lives to the end, so every pass of the cyclic
    collector over it is wasted (0.26 s of a 10,000-resource plan's 1.5 s with the
    default thresholds): it runs once per million new objects instead, which still
    bounds any cyclic garbage. And at the end the process exits as soon as its output
    is flushed, without freeing every object one by one (0.1-0.15 s on that plan).
    """
    gc.set_threshold(GC_YOUNG_THRESHOLD, 100, 100)
    try:
        main()
        code: object = EXIT_OK
    except SystemExit as done:
        code = done.code
    if code is None:
        status = EXIT_OK
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): printed, exit 1, as the interpreter would
        sys.stderr.write(f"{code}\n")
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # a reader that went away, or a closed stream
        status = status or 1
    os._exit(status)


def main() -> None:
    """The command line in this process: never a traceback unless --debug.

    `run` is the process entry (the console script's): this, tuned for one process.
    """
    if sys.argv[1:] == ["--version"]:  # answered before typer is imported anywhere else
        print(f"tfcheck {__version__}")
        return
    debug = "--debug" in sys.argv
    try:
        app(prog_name="tfcheck")
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
    run()
