"""`scan()`: inputs in, `Report` out. The CLI is a thin layer over this.

Each input is loaded into its own graph and every selected policy runs over it. A
loader or policy that raises becomes an `InternalError` in the report; the rest of
the run still happens. Suppressions, baselines and `--changed-only` are applied here,
once, for every output format.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
from msgspec.structs import replace

from tfcheck import __version__
from tfcheck.config import Config
from tfcheck.graph import ResourceGraph
from tfcheck.inputs import Input, resolve_inputs
from tfcheck.loaders import LoadFailure
from tfcheck.loaders.plan import load_plan_bytes, load_plan_file
from tfcheck.marks import SHOWN, collect, is_marked_scalar, shown
from tfcheck.model import (
    Finding,
    InputError,
    InternalError,
    Location,
    Report,
    Resource,
    RuleInfo,
    ScannedInput,
    Status,
    Suppression,
    sensitive_strings,
    split_address,
)
from tfcheck.policy import Policy, Result, ScanContext
from tfcheck.registry import BUILTIN_PACK_NAME, load_policies, select_policies
from tfcheck.resolve import settle_with_configuration

CHANGING_ACTIONS = frozenset({"create", "update", "delete"})
# A change to one of these is a change to what it references (a rule to its security
# group, a route to its table, an association to its endpoint, subnet or table).
ATTACHMENT_TYPES = frozenset({
    "aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule", "aws_route", "aws_route_table_association",
    "aws_main_route_table_association", "aws_vpc_endpoint_subnet_association",
    "aws_vpc_endpoint_route_table_association",
    "aws_vpc_endpoint_security_group_association", "aws_network_interface_sg_attachment",
    "aws_vpc_dhcp_options_association", "aws_eks_access_entry", "aws_eks_addon",
})
# Rules that are about a cluster being private: `clusters` in the config limits them.
_PRIVATE_CLUSTER_RULES = re.compile(r"^PC[1-5]\d\d$")
_MODULE_BLOCK = re.compile(r'^([ \t]*)module[ \t]+"([^"]+)"[ \t]*\{', re.MULTILINE)
_EVIDENCE_NOTE = re.compile(r"^(?P<address>.+?) \([^()]*\)$")


class ScanOptions(msgspec.Struct, frozen=True):
    """Everything about a scan that is not policy configuration."""

    var_files: Sequence[Path] = ()
    variables: Mapping[str, str] = msgspec.field(default_factory=dict)
    use_env: bool = False  # read TF_VAR_* from the environment
    source_dir: Path | None = None  # the .tf files behind a plan, for file and line
    baseline: frozenset[str] = frozenset()  # fingerprints of accepted failures
    changed_only: bool = False
    stdin: bytes | None = None
    # Files a commit deletes or renames away (pre-commit): their root modules are scanned.
    deleted: Sequence[str] = ()
    # Network pictures for the report: "failing" clusters, "all" clusters, or "none".
    # As on the command line, none unless asked for (`tfcheck scan -f markdown` asks
    # for the failing clusters' pictures: the pull-request comment draws them).
    pictures: str = "none"
    # Parsed .tf files kept in the user's cache directory (`tfcheck.hcl.cache`).
    cache: bool = True
    # Called before each input is loaded, as (number, total, name): a progress display.
    progress: Callable[[int, int, str], None] | None = None
    # Called with each input's graph once its findings are made. `tfcheck.cli` keeps the
    # last one referenced until its process exits, so that it is never freed object by
    # object (~0.03 s CPU for the graph of a 10,000-resource plan).
    scanned: Callable[[ResourceGraph], None] | None = None


def scan(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    config: Config | None = None,
    options: ScanOptions | None = None,
    policies: Sequence[Policy] | None = None,
) -> Report:
    """Scan HCL directories and plan files; see `tfcheck scan --help` for the inputs."""
    config = config or Config()
    options = options or ScanOptions()
    path_list = [os.fspath(paths)] if isinstance(paths, (str, os.PathLike)) else [
        os.fspath(p) for p in paths]
    report = Report(version=__version__)
    installed, pack_errors = load_policies()
    if policies is None:
        report.internal_errors.extend(pack_errors)
        policies = select_policies(installed, config.policies, config.skip_policies)
    report.rules = [_rule_info(p, config) for p in policies]
    known_rules = {p.id for p in (*installed, *policies)} | {p.slug for p in (*installed,
                                                                              *policies)}
    report.notes.extend(config.warnings(known_rules))

    inputs, errors = resolve_inputs(path_list, deleted=options.deleted)
    report.input_errors.extend(errors)
    option_errors = _option_errors(options)
    report.input_errors.extend(option_errors)
    if option_errors:
        return report  # findings without the variables would be wrong, not just incomplete
    report.notes.extend(_option_warnings(options, inputs))
    if options.stdin is None and any(i.kind == "stdin" for i in inputs):
        options = replace(options, stdin=sys.stdin.buffer.read())  # read once, used twice
    job = _Job(config=config, options=options, policies=tuple(policies),
               known_rules=frozenset(known_rules))
    parts = (_scan_in_worker_processes(job, inputs) if _roots_in_workers(inputs)
             else _scan_in_this_process(job, inputs))
    unchecked: set[str] = set()
    noted = set(report.notes)  # a note two inputs give (a module both call) is said once
    for part, skipped in parts:
        report.inputs.extend(part.inputs)
        report.findings.extend(part.findings)
        report.input_errors.extend(part.input_errors)
        report.internal_errors.extend(part.internal_errors)
        for note in part.notes:
            if note not in noted:
                noted.add(note)
                report.notes.append(note)
        report.pictures.update(part.pictures)
        unchecked |= skipped
    report.unchecked_clusters = sorted(unchecked)
    report.findings = _filter(report.findings, options, report)
    report.findings.sort(key=lambda f: f.sort_key)
    if report.baselined:
        report.notes.append(f"{report.baselined} known failure"
                            f"{'s' if report.baselined != 1 else ''} recorded in the baseline "
                            f"not shown")
    return report


class _Job(msgspec.Struct, frozen=True):
    """What scanning one input needs besides the input: the same for every input."""

    config: Config
    options: ScanOptions
    policies: tuple[Policy, ...]
    known_rules: frozenset[str]


# One input's part of the report, and the clusters the config leaves out there.
_Part = tuple[Report, set[str]]


def _scan_in_this_process(job: _Job, inputs: Sequence[Input]) -> Iterator[_Part]:
    """Each input in turn, every configuration parsed ahead together on every core.

    (The parser's modules are not even imported for plans without .tf files.)
    """
    options = job.options
    sources = [i.path if i.kind == "hcl" else _plan_source_dir(i, options) for i in inputs]
    roots = [s for s in sources if s is not None]
    ahead: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if roots:
        from tfcheck.hcl.parsing import parsing_for

        ahead = parsing_for(options.cache, roots)
    with ahead:
        for number, item in enumerate(inputs, 1):
            if options.progress is not None:
                options.progress(number, len(inputs), item.display)
            yield _scan_input(job, item)


def _roots_in_workers(inputs: Sequence[Input]) -> bool:
    """Several root modules and more than one core: each root in a worker process.

    Loading and evaluating a root is most of a monorepo scan once its files are parsed
    (all of it on a warm cache), and roots share nothing but the modules they call.
    Only where worker processes are forked safely (Linux, no other thread: they inherit
    the loaded policies, as the parse workers inherit the grammar), and not inside a
    command that already holds a parser (`tfcheck images`).
    """
    if len(inputs) < 2 or any(i.kind != "hcl" for i in inputs) or sys.platform != "linux":
        return False
    import threading

    from tfcheck.hcl.parsing import available_cores, current_parser

    return available_cores() > 1 and current_parser() is None and threading.active_count() == 1


_FORKED_JOB: tuple[_Job, Sequence[Input]] | None = None  # what forked workers scan


def _scan_in_worker_processes(job: _Job, inputs: Sequence[Input]) -> Iterator[_Part]:
    """Each root scanned in a forked worker; the parts come back in input order.

    A worker parses its root itself (through the shared cache, in its own parse
    workers when the root is large), so the parts equal `_scan_in_this_process`'s.
    """
    global _FORKED_JOB
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import networkx  # noqa: F401 - what every worker imports, imported once here

    import tfcheck.loaders.hcl  # noqa: F401
    from tfcheck.hcl.parsing import available_cores

    _FORKED_JOB = (job, inputs)
    try:
        workers = min(available_cores(), len(inputs))
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {pool.submit(_scan_forked, index): index for index in range(len(inputs))}
            parts: dict[int, _Part] = {}
            for done, future in enumerate(as_completed(futures), 1):
                index = futures[future]
                if job.options.progress is not None:
                    job.options.progress(done, len(inputs), inputs[index].display)
                parts[index] = future.result()
    finally:
        _FORKED_JOB = None
    for index in range(len(inputs)):
        yield parts[index]


def _scan_forked(index: int) -> _Part:
    """In a worker: the part of input `index` of the job the parent set before forking."""
    from tfcheck.hcl.parsing import parsing_for

    assert _FORKED_JOB is not None
    job, inputs = _FORKED_JOB
    job = _Job(job.config, replace(job.options, progress=None, scanned=None), job.policies,
               job.known_rules)
    with parsing_for(job.options.cache, [inputs[index].path]):
        return _scan_input(job, inputs[index])


def _scan_input(job: _Job, item: Input) -> _Part:
    """One input's findings, notes and errors, as a report of its own."""
    config, options = job.config, job.options
    report = Report(version=__version__)
    seen = collect()  # the texts of the marked values made from here on
    graph = _load(item, options, report)
    if graph is None:
        return report, set()
    report.inputs.append(ScannedInput(item.display, graph.kind))
    texts = _secret_texts(graph)
    secrets = _secret_pattern(texts)
    report.notes.extend(_scrub(note, secrets) for note in graph.notes)
    report.notes.extend(_suppression_warnings(graph, job.known_rules))
    source_root = _source_root(item, graph, options)
    context = ScanContext(graph=graph, config=config)
    redact = _Redactor(secrets, texts, seen)
    changed = (_changed_addresses(graph) | _deletions(item, options, graph)
               if options.changed_only and graph.kind == "plan" else None)
    skipped = {c.address for c in graph.managed("aws_eks_cluster")
               if not config.checks_cluster(c.address)}
    modules = _ModuleBlocks(source_root)
    for policy in job.policies:
        for result in _run(policy, context, report):
            if changed is not None and not _touched(result, changed):
                continue
            if skipped and _about_skipped_cluster(policy, result, skipped):
                continue
            finding = _finding(policy, result, config, item.display, source_root, report,
                               graph.kind)
            report.findings.append(redact(modules.relocate(finding, result.subject)))
    if options.pictures != "none":
        _add_pictures(report, context, item.display, options.pictures == "all", redact)
    if options.scanned is not None:
        options.scanned(graph)
    return report, skipped


def _add_pictures(report: Report, context: ScanContext, input_path: str, every: bool,
                  redact: _Redactor) -> None:
    """The network picture of each cluster of this input (with a failure, unless `every`)."""
    from tfcheck.picture import cluster_pictures

    findings = [f for f in report.findings if f.input_path == input_path]
    clusters = [c.address for c in context.graph.managed("aws_eks_cluster")] if every else None
    try:
        pictures = cluster_pictures(context, findings, clusters)
    except Exception as error:  # a picture is an extra: never lose the findings for it
        report.internal_errors.append(InternalError(
            f"network picture of {input_path}", repr(error), traceback.format_exc()))
        return
    for cluster, picture in pictures.items():
        report.pictures[(input_path, cluster)] = redact.picture(picture)


def _option_errors(options: ScanOptions) -> list[InputError]:
    """Options that name files or directories that are not there: input errors."""
    errors = []
    for var_file in options.var_files:
        if not Path(var_file).is_file():
            errors.append(InputError(str(var_file), "--var-file: no such file"))
    if options.source_dir is not None and not Path(options.source_dir).is_dir():
        errors.append(InputError(str(options.source_dir), "--source: no such directory"))
    return errors


def _option_warnings(options: ScanOptions, inputs: Sequence[Input]) -> list[str]:
    """Options that do not apply to the inputs given: said, not silently ignored."""
    hcl = [i.display for i in inputs if i.kind == "hcl"]
    plans = [i.display for i in inputs if i.kind != "hcl"]
    warnings = []
    if options.changed_only and hcl:
        warnings.append(f"--changed-only applies to plans only; {', '.join(hcl)} "
                        f"{'is' if len(hcl) == 1 else 'are'} HCL: every finding is reported")
    if (options.var_files or options.variables or options.use_env) and plans:
        warnings.append(f"--var-file, --var and --env-vars apply to HCL only; the plan "
                        f"{', '.join(plans)} already holds its variables' values")
    if options.source_dir is not None and not plans:
        warnings.append("--source applies to plans only; it is ignored for HCL directories")
    return warnings


def _suppression_warnings(graph: ResourceGraph, known_rules: frozenset[str]) -> list[str]:
    known = {rule.lower() for rule in known_rules}
    warnings = []
    for resource in graph.resources():
        for suppression in resource.suppressions:
            if suppression.rule.strip().lower() not in known:
                warnings.append(f"{suppression.location}: `tfcheck:ignore {suppression.rule}` "
                                f"names no policy (see `tfcheck policies`); it suppresses "
                                f"nothing")
    return sorted(set(warnings))


def _changed_addresses(graph: ResourceGraph) -> set[str]:
    """What a plan changes: resources it creates, updates, replaces or deletes.

    A changed attachment (rule, route, association) changes what it attaches to.
    """
    changed: set[str] = set()
    for resource in graph.resources():
        if CHANGING_ACTIONS & set(resource.actions):
            changed.add(resource.address)
            if resource.type in ATTACHMENT_TYPES:
                changed.update(r.address for r in graph.references(resource))
    return changed


def _deletions(item: Input, options: ScanOptions, graph: ResourceGraph) -> set[str]:
    """What a plan's deletions touch: the deleted addresses and what they held by ID.

    A deleted resource held other resources by `id` or `arn` (an endpoint its VPC, a
    rule its group). The graph holds what the plan leaves, so deletions are read from
    the plan itself.
    """
    try:
        data = options.stdin if item.kind == "stdin" else item.path.read_bytes()
        document = json.loads(data or b"{}")
    except (OSError, ValueError, RecursionError):
        return set()
    changes = document.get("resource_changes") if isinstance(document, dict) else None
    if not isinstance(changes, list):
        return set()
    owners: dict[str, list[str]] = {}
    for resource in graph.resources():
        for key in ("id", "arn"):
            value = resource.values.get(key)
            if isinstance(value, str) and value:
                owners.setdefault(value, []).append(resource.address)
    touched: set[str] = set()
    for change in changes:
        body = change.get("change") if isinstance(change, dict) else None
        if not isinstance(body, dict) or "delete" not in (body.get("actions") or []):
            continue
        touched.add(str(change.get("address", "")))
        for value in _strings(body.get("before")):
            touched.update(owners.get(value, ()))
    return touched


def _touched(result: Result, changed: set[str]) -> bool:
    """Whether the finding's resource, or anything in its evidence, is changed."""
    if result.subject.address in changed:
        return True
    for item in result.evidence:
        match = _EVIDENCE_NOTE.match(item)
        if (match["address"] if match else item) in changed:
            return True
    return any(value in changed for value in _strings(result.data))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item)


def _about_skipped_cluster(policy: Policy, result: Result, skipped: set[str]) -> bool:
    """A PC1xx-PC5xx result whose cluster the config's `clusters` leaves out."""
    if not _PRIVATE_CLUSTER_RULES.match(policy.id):
        return False
    for address in (result.subject.address, *result.evidence):
        if "aws_eks_cluster." in address:
            return address.split(" ", 1)[0] in skipped
    cluster = result.data.get("cluster") if isinstance(result.data, Mapping) else None
    return isinstance(cluster, str) and cluster in skipped


class _ModuleBlocks:
    """Where each top-level `module` block of a root is written, found when first asked.

    A finding on a resource inside a module is shown at the root's `module` block, the
    code the user edits; the resource's own block becomes a related location.
    """

    def __init__(self, source_root: str | None) -> None:
        self._root = source_root
        self._blocks: dict[str, Location] | None = None

    def relocate(self, finding: Finding, subject: Resource) -> Finding:
        if not subject.module or finding.location.file is None or self._root is None:
            return finding
        name = split_address(subject.module)[1].split("[", 1)[0]
        block = self._index().get(name)
        if block is None:
            return finding
        return replace(finding, location=block, related=(finding.location, *finding.related))

    def _index(self) -> dict[str, Location]:
        if self._blocks is None:
            self._blocks = {}
            root = Path(self._root or ".")
            for tf_file in sorted(root.glob("*.tf")):
                try:
                    text = tf_file.read_text(encoding="utf-8-sig", errors="replace")
                except OSError:
                    continue
                for match in _MODULE_BLOCK.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    self._blocks.setdefault(match[2], Location(tf_file.name, line,
                                                               len(match[1]) + 1))
        return self._blocks


def _load(item: Input, options: ScanOptions, report: Report) -> ResourceGraph | None:
    try:
        if item.kind == "hcl":
            return _load_hcl(item, options, report)
        if item.kind == "stdin":
            data = options.stdin if options.stdin is not None else sys.stdin.buffer.read()
            graph = load_plan_bytes(data, item.display)
        else:
            graph = load_plan_file(item.path, item.display)
        _attach_configuration(graph, _plan_source_dir(item, options))
        return graph
    except LoadFailure as failure:
        report.input_errors.append(_with_hint(failure.error, item, options))
    except RecursionError:
        report.input_errors.append(InputError(item.display, "input is nested too deeply"))
    except Exception as error:  # a loader bug: report it, keep scanning the other inputs
        report.internal_errors.append(
            InternalError(f"loading {item.display}", repr(error), traceback.format_exc()))
    return None


PLAN_TEXT_HINT = ("this looks like the text of `terraform show`; tfcheck reads the JSON: "
                  "`terraform show -json tfplan > plan.json`")


def _with_hint(error: InputError, item: Input, options: ScanOptions) -> InputError:
    """An invalid-JSON error on a plan that is the human text of `terraform show`."""
    if item.kind == "hcl" or not error.message.startswith("invalid JSON"):
        return error
    if item.kind == "stdin":
        head = (options.stdin or b"")[:4096]
    else:
        try:
            with item.path.open("rb") as handle:
                head = handle.read(4096)
        except OSError:
            return error
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text[:1] in ("{", "["):
        return error
    return replace(error, message=f"{error.message}: {PLAN_TEXT_HINT}")


def _load_hcl(item: Input, options: ScanOptions, report: Report) -> ResourceGraph:
    from tfcheck.loaders.hcl import load_hcl

    loaded = load_hcl(item.path, var_files=options.var_files, variables=options.variables,
                      use_env=options.use_env)
    report.input_errors.extend(
        replace(e, path=_join_display(item.display, e.path)) for e in loaded.errors)
    return loaded.graph


def _join_display(root: str, path: str) -> str:
    if Path(path).is_absolute() or path.startswith(root):
        return path
    return os.path.normpath(os.path.join(root, path))


def _plan_source_dir(item: Input, options: ScanOptions) -> Path | None:
    if options.source_dir is not None:
        return options.source_dir
    if item.kind == "plan" and any(item.path.parent.glob("*.tf")):
        return item.path.parent
    return None


def _attach_configuration(graph: ResourceGraph, source_dir: Path | None) -> None:
    """Give plan resources the file and line of their block in the configuration.

    The configuration is evaluated once here and kept on the graph; it settles the
    references the plan leaves open (which instances a per-block reference means, the
    locals a plan does not record): wiring, never values.
    """
    if source_dir is None or not source_dir.is_dir():
        return
    from tfcheck.loaders.hcl import load_hcl

    try:
        configuration = load_hcl(source_dir).graph
    except LoadFailure:
        return
    graph.configuration = configuration
    settle_with_configuration(graph, configuration)
    blocks = {r.config_address: r for r in configuration.resources()}
    for resource in graph.resources():
        found = blocks.get(resource.config_address)
        if found is not None:
            resource.location = found.location
            resource.attribute_lines = found.attribute_lines
            resource.suppressions = found.suppressions


def _source_root(item: Input, graph: ResourceGraph, options: ScanOptions) -> str | None:
    if graph.kind == "hcl":
        return str(item.path)
    directory = _plan_source_dir(item, options)
    return str(directory) if directory is not None else None


def _run(policy: Policy, context: ScanContext, report: Report) -> list[Result]:
    """All results of one policy; a policy that raises is reported, not fatal."""
    try:
        return list(policy.check(context))
    except Exception as error:
        where = f"policy {policy.id} on {context.graph.source}"
        if policy.pack != BUILTIN_PACK_NAME:  # not tfcheck's bug: say whose it is
            where = f"third-party policy pack {policy.pack!r}: {where}"
        report.internal_errors.append(
            InternalError(where, repr(error), traceback.format_exc()))
        return []


def _finding(policy: Policy, result: Result, config: Config, input_path: str,
             source_root: str | None, report: Report, kind: str) -> Finding:
    subject = result.subject
    message = result.message
    if result.status is Status.UNKNOWN and result.decided_by and kind == "hcl":
        message += f"; {result.decided_by}"  # what the HCL lacks, a plan holds
    identity = "" if result.identity is None else (
        f"{result.identity[0]}={_plain_value(result.identity[1])}")
    severity = config.severity_overrides.get(policy.id) or result.severity or policy.severity
    suppression = _suppression_for(policy, subject, report)
    location = subject.location_of(result.attribute) if result.attribute else subject.location
    return Finding(
        rule_id=policy.id,
        slug=policy.slug,
        severity=severity,
        status=result.status,
        address=subject.address,
        message=message,
        remediation=result.remediation,
        location=location,
        evidence=result.evidence,
        data=_plain(result.data),
        suppressed=suppression is not None,
        suppression_reason=suppression.reason if suppression else None,
        input_path=input_path,
        source_root=source_root if location.file is not None else None,
        identity=identity,
    )


def _suppression_for(policy: Policy, subject: Resource, report: Report) -> Suppression | None:
    for suppression in subject.suppressions:
        if not policy.matches(suppression.rule):
            continue
        if suppression.reason.strip():
            return suppression
        warning = (f"{suppression.location}: `tfcheck:ignore {suppression.rule}` has no reason; "
                   f"the suppression is not applied")
        if warning not in report.notes:
            report.notes.append(warning)
    return None


MIN_REDACTED_LENGTH = 4  # shorter values ("true", "443") would garble every message


def _secret_texts(graph: ResourceGraph) -> set[str]:
    """Every sensitive text of the graph (and derived from it) long enough to look for.

    A plan's loader records the texts of what it wraps; for a graph whose loader does
    not (HCL), every resource's values are walked.
    """
    found = graph.sensitive_values
    if not graph.sensitive_values_complete:
        found = found | {text for resource in graph.resources()
                         for text in sensitive_strings(resource.values)}
    return {t for t in found if len(t) >= MIN_REDACTED_LENGTH}


def _secret_pattern(texts: set[str]) -> re.Pattern[str] | None:
    """One pattern for `texts`, longest first."""
    return re.compile(_alternation(sorted(texts, key=len, reverse=True))) if texts else None


def _scrub(text: str, pattern: re.Pattern[str] | None) -> str:
    return text if pattern is None else pattern.sub(SHOWN, text)


# a short text counts only as a whole token: not inside a word, an id, a CIDR or an
# instance key (`aws_subnet.p[0]`: keys are never sensitive, terraform refuses those)
_TOKEN_START = r"(?<!\w)(?<!\w[.:/-])(?<!\w\[)(?<!\w\[\")"
_TOKEN_END = r"(?!\w)(?![.:/-]\w)"


class _Redactor:
    """Hides every sensitive value in a finding's text and data, and in the pictures.

    Policies may decide on sensitive values, which reach them marked: a marked value
    never formats as its text (`tfcheck.marks`). This is the check behind that, for
    text a policy copied by hand (`str.join`, an address parsed from a CIDR): the graph's
    sensitive texts of 4 characters or more, and the texts of the sensitive values
    policies were handed (`seen`, as they are handed out). A shorter one ("10", "a")
    counts only as a whole token, so "10.0.0.0/8" stays, and only once some policy
    received it, so a sensitive value no policy reads blanks nothing.
    """

    def __init__(self, pattern: re.Pattern[str] | None, known: set[str],
                 seen: set[str]) -> None:
        self._pattern = pattern  # the graph's sensitive texts (`known`)
        self._known = known
        self._seen = seen
        self._built = -1  # len(seen) when the patterns were built
        self._patterns: list[re.Pattern[str]] = []

    def patterns(self) -> list[re.Pattern[str]]:
        if not self._seen and self._pattern is None:
            return []
        if self._built != len(self._seen):
            built = [] if self._pattern is None else [self._pattern]
            texts = sorted(self._seen, key=len, reverse=True)
            long = [t for t in texts if len(t) >= MIN_REDACTED_LENGTH and t not in self._known]
            short = [t for t in texts if len(t) < MIN_REDACTED_LENGTH]
            if long:
                built.append(re.compile(_alternation(long)))
            if short:
                built.append(re.compile(
                    _TOKEN_START + "(?:" + "|".join(map(re.escape, short)) + ")" + _TOKEN_END))
            self._built, self._patterns = len(self._seen), built
        return self._patterns

    def text(self, value: Any, using: list[re.Pattern[str]] | None = None) -> Any:
        """`value` (a text, or a tree of them) with every sensitive text hidden."""
        using = self.patterns() if using is None else using
        if is_marked_scalar(value):
            return SHOWN
        if isinstance(value, str):
            for each in using:
                value = each.sub(SHOWN, value)
            return value
        if isinstance(value, dict):
            return {self.text(k, using): self.text(v, using) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.text(item, using) for item in value]
        return value

    def __call__(self, finding: Finding) -> Finding:
        using = self.patterns()
        if not using and not _has_marks(finding):
            return finding
        if _hides_nothing(finding, using):
            return finding
        return self.everywhere(finding, using)

    def everywhere(self, finding: Finding, using: list[re.Pattern[str]]) -> Finding:
        """`finding` with each of its texts passed through `text`: the full pass."""
        return replace(
            finding,
            message=self.text(finding.message, using),
            remediation=self.text(finding.remediation, using),
            evidence=tuple(self.text(list(finding.evidence), using)),
            data=self.text(dict(finding.data), using),
            identity=self.text(finding.identity, using),
        )

    def picture(self, picture: Any) -> Any:
        """A network picture with its labels, keys and zone names checked the same way."""
        using = self.patterns()
        if not using:
            return picture

        def node(item: Any) -> Any:
            return replace(item, key=self.text(item.key, using), label=self.text(item.label,
                                                                                using))

        return replace(
            picture,
            vpc=self.text(picture.vpc, using),
            azs={self.text(az, using): [node(n) for n in nodes]
                 for az, nodes in picture.azs.items()},
            inside=[node(n) for n in picture.inside],
            outside=[node(n) for n in picture.outside],
            edges=[tuple(self.text(list(e), using)) for e in picture.edges],
            failing={self.text(key, using) for key in picture.failing},
        )


def _hides_nothing(finding: Finding, patterns: list[re.Pattern[str]]) -> bool:
    """Whether redacting `finding` would change nothing: no marked value, no match.

    Nearly every finding is so. One search per pattern over all of the finding's texts
    joined, instead of one substitution per text and pattern, is what keeps redaction
    cheap at thousands of findings. The separator is neither a word character nor one
    that `_TOKEN_START`/`_TOKEN_END` look at, so every match inside one text is still a
    match in the joined text; a match across the separator only costs the full pass.
    """
    texts: list[str] = []
    if not _gather_texts((finding.message, finding.remediation, finding.identity,
                          finding.evidence, dict(finding.data)), texts):
        return False
    joined = "\x00".join(texts)
    return not any(pattern.search(joined) for pattern in patterns)


def _gather_texts(tree: Any, into: list[str]) -> bool:
    """Append every text of `tree` (texts in dicts, lists and tuples; keys too) to `into`.

    False as soon as a marked scalar turns up: `_Redactor.text` replaces it whole.
    """
    pending = [tree]
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind is str:  # exact types first: nearly every node, and never marked
            into.append(value)
        elif kind is dict:
            pending.extend(value)
            pending.extend(value.values())
        elif kind is list or kind is tuple:
            pending.extend(value)
        elif is_marked_scalar(value):
            return False
        elif isinstance(value, str):
            into.append(value)
        elif isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
    return True


def _has_marks(finding: Finding) -> bool:
    """A marked text handed over as a whole message (its characters would be printed)."""
    return any(map(is_marked_scalar, (finding.message, finding.remediation, *finding.evidence)))


# Branch until a handful of secrets share a prefix (ids share long ones: `subnet-0...`);
# the depth bound keeps the pattern's nesting within what `re` compiles.
_TRIE_LEAF = 8
_TRIE_DEPTH = 96


def _alternation(words: Sequence[str], depth: int = 0) -> str:
    """A regular expression for any of `words`, longest match first, as a prefix tree.

    A flat `a|b|c...` makes the regex engine try every secret at every position of
    every string: findings x secrets. Branching on the first characters keeps the
    work per position bounded by the alphabet, so redaction stays linear in findings.
    """
    if len(words) <= _TRIE_LEAF or depth == _TRIE_DEPTH:
        rests = sorted({w[depth:] for w in words}, key=len, reverse=True)
        return "|".join(re.escape(rest) for rest in rests)
    groups: dict[str, list[str]] = {}
    ended = False
    for word in words:
        if len(word) == depth:
            ended = True
        else:
            groups.setdefault(word[depth], []).append(word)
    branches = [re.escape(char) + f"(?:{_alternation(group, depth + 1)})"
                for char, group in sorted(groups.items())]
    return "|".join(branches) + ("|" if ended else "")


def _filter(findings: Iterable[Finding], options: ScanOptions, report: Report) -> list[Finding]:
    kept = []
    for finding in findings:
        if finding.status is Status.FAIL and finding.fingerprint in options.baseline:
            report.baselined += 1
            continue
        kept.append(finding)
    return kept


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    """Finding data as JSON-safe values (sets sorted, tuples as lists)."""
    return {shown(k): _plain_value(v) for k, v in sorted(data.items())}


# Exactly these types are JSON already; their marked twins are subclasses (`tfcheck.marks`).
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain_value(value: Any) -> Any:
    if type(value) in _JSON_SCALARS:  # most values: one set lookup
        return value
    if is_marked_scalar(value):
        return SHOWN
    if isinstance(value, Mapping):
        return _plain(value)
    if isinstance(value, (set, frozenset)):
        return sorted((_plain_value(v) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [_plain_value(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _rule_info(policy: Policy, config: Config) -> RuleInfo:
    severity = config.severity_overrides.get(policy.id, policy.severity)
    return RuleInfo(policy.id, policy.slug, severity, policy.title, policy.doc, policy.docs_url)


def read_baseline(path: Path) -> frozenset[str]:
    """Fingerprints recorded by `--write-baseline`."""
    document = json.loads(path.read_text(encoding="utf-8"))
    entries = document.get("findings", []) if isinstance(document, dict) else []
    return frozenset(str(e["fingerprint"]) for e in entries
                     if isinstance(e, dict) and "fingerprint" in e)


def baseline_document(report: Report) -> str:
    """Today's unsuppressed failures, for `--write-baseline`."""
    entries = [
        {"fingerprint": f.fingerprint, "rule_id": f.rule_id, "address": f.address,
         "message": f.message}
        for f in report.findings if f.status is Status.FAIL and not f.suppressed
    ]
    return json.dumps({"tool": "tfcheck", "version": 1, "findings": entries}, indent=2) + "\n"

