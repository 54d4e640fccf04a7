"""`scan()`: inputs in, `Report` out. The CLI is a thin layer over this.

Each input is loaded into its own graph and every selected policy runs over it. A
loader or policy that raises becomes an `InternalError` in the report; the rest of
the run still happens. Suppressions, baselines and `--changed-only` are applied here,
once, for every output format.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tfcheck import __version__
from tfcheck.config import Config
from tfcheck.graph import ResourceGraph
from tfcheck.inputs import Input, resolve_inputs
from tfcheck.loaders import LoadFailure
from tfcheck.loaders.plan import load_plan, load_plan_file, read_plan_document
from tfcheck.model import (
    Finding,
    InputError,
    InternalError,
    Report,
    Resource,
    RuleInfo,
    ScannedInput,
    Status,
    Suppression,
    sensitive_strings,
)
from tfcheck.policy import Policy, Result, ScanContext
from tfcheck.registry import load_policies, select_policies

CHANGING_ACTIONS = frozenset({"create", "update"})


@dataclass(frozen=True)
class ScanOptions:
    """Everything about a scan that is not policy configuration."""

    var_files: Sequence[Path] = ()
    variables: Mapping[str, str] = field(default_factory=dict)
    use_env: bool = False  # read TF_VAR_* from the environment
    source_dir: Path | None = None  # the .tf files behind a plan, for file and line
    baseline: frozenset[str] = frozenset()  # fingerprints of accepted failures
    changed_only: bool = False
    stdin: bytes | None = None


def scan(
    paths: Sequence[str | os.PathLike[str]],
    *,
    config: Config | None = None,
    options: ScanOptions | None = None,
    policies: Sequence[Policy] | None = None,
) -> Report:
    """Scan HCL directories and plan files; see `tfcheck scan --help` for the inputs."""
    config = config or Config()
    options = options or ScanOptions()
    report = Report(version=__version__)
    if policies is None:
        installed, pack_errors = load_policies()
        report.internal_errors.extend(pack_errors)
        policies = select_policies(installed, config.policies, config.skip_policies)
    report.rules = [_rule_info(p, config) for p in policies]

    inputs, errors = resolve_inputs([os.fspath(p) for p in paths])
    report.input_errors.extend(errors)
    for item in inputs:
        graph = _load(item, options, report)
        if graph is None:
            continue
        report.inputs.append(ScannedInput(item.display, graph.kind))
        secrets = _secrets(graph)
        report.notes.extend(_scrub(note, secrets) for note in graph.notes)
        source_root = _source_root(item, graph, options)
        context = ScanContext(graph=graph, config=config)
        redact = _redactor(secrets)
        for policy in policies:
            for result in _run(policy, context, report):
                if options.changed_only and not _changes(graph, result.subject):
                    continue
                report.findings.append(redact(
                    _finding(policy, result, config, item.display, source_root, report)))
    report.findings = _filter(report.findings, options)
    report.findings.sort(key=lambda f: f.sort_key)
    return report


def _load(item: Input, options: ScanOptions, report: Report) -> ResourceGraph | None:
    try:
        if item.kind == "hcl":
            return _load_hcl(item, options, report)
        if item.kind == "stdin":
            data = options.stdin if options.stdin is not None else sys.stdin.buffer.read()
            graph = load_plan(read_plan_document(data, item.display), item.display)
        else:
            graph = load_plan_file(item.path, item.display)
        _attach_configuration(graph, _plan_source_dir(item, options))
        return graph
    except LoadFailure as failure:
        report.input_errors.append(failure.error)
    except RecursionError:
        report.input_errors.append(InputError(item.display, "input is nested too deeply"))
    except Exception as error:  # a loader bug: report it, keep scanning the other inputs
        report.internal_errors.append(
            InternalError(f"loading {item.display}", repr(error), traceback.format_exc()))
    return None


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

    The configuration is evaluated once here and kept on the graph, so that network
    facts can tell which instances a per-block reference of the plan means.
    """
    if source_dir is None or not source_dir.is_dir():
        return
    from tfcheck.loaders.hcl import load_hcl

    try:
        configuration = load_hcl(source_dir).graph
    except LoadFailure:
        return
    graph.configuration = configuration
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
        report.internal_errors.append(
            InternalError(f"policy {policy.id} on {context.graph.source}", repr(error),
                          traceback.format_exc()))
        return []


def _changes(graph: ResourceGraph, subject: Resource) -> bool:
    """Whether the plan creates or updates the subject (HCL has no plan: always)."""
    return graph.kind != "plan" or bool(CHANGING_ACTIONS & set(subject.actions))


def _finding(policy: Policy, result: Result, config: Config, input_path: str,
             source_root: str | None, report: Report) -> Finding:
    subject = result.subject
    severity = config.severity_overrides.get(policy.id) or result.severity or policy.severity
    suppression = _suppression_for(policy, subject, report)
    location = subject.location_of(result.attribute) if result.attribute else subject.location
    return Finding(
        rule_id=policy.id,
        slug=policy.slug,
        severity=severity,
        status=result.status,
        address=subject.address,
        message=result.message,
        remediation=result.remediation,
        location=location,
        evidence=result.evidence,
        data=_plain(result.data),
        suppressed=suppression is not None,
        suppression_reason=suppression.reason if suppression else None,
        input_path=input_path,
        source_root=source_root if location.file is not None else None,
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


def _secrets(graph: ResourceGraph) -> list[str]:
    """Every sensitive text of the graph (and derived from it), longest first."""
    found = {text for resource in graph.resources()
             for text in sensitive_strings(resource.values)} | graph.sensitive_values
    return sorted((t for t in found if len(t) >= MIN_REDACTED_LENGTH), key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "(sensitive value)")
    return text


def _redactor(secrets: list[str]) -> Callable[[Finding], Finding]:
    """Replaces every sensitive value of the graph in a finding's text and data.

    Policies may decide on sensitive values; this is the one place that makes sure
    none of them reaches an output, whatever a policy put in its message.
    """
    if not secrets:
        return lambda finding: finding

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return _scrub(value, secrets)
        if isinstance(value, dict):
            return {key: scrub(item) for key, item in value.items()}
        if isinstance(value, list):
            return [scrub(item) for item in value]
        return value

    def redact(finding: Finding) -> Finding:
        return replace(
            finding,
            message=scrub(finding.message),
            remediation=scrub(finding.remediation),
            evidence=tuple(scrub(list(finding.evidence))),
            data=scrub(dict(finding.data)),
        )

    return redact


def _filter(findings: Iterable[Finding], options: ScanOptions) -> list[Finding]:
    kept = []
    for finding in findings:
        if finding.status is Status.FAIL and finding.fingerprint in options.baseline:
            continue
        kept.append(finding)
    return kept


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    """Finding data as JSON-safe values (sets sorted, tuples as lists)."""
    return {str(k): _plain_value(v) for k, v in sorted(data.items())}


def _plain_value(value: Any) -> Any:
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

