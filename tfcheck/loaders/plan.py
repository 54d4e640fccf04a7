"""`terraform show -json` plans (format 0.1 to 1.x) and states into a `ResourceGraph`.

A plan has three views of every resource: `planned_values` (what is known now),
`resource_changes` (actions, and `after_unknown`/`after_sensitive` masks) and
`configuration` (what the user wrote, with each expression's references). The first
two give values, the last tells which attributes were set at all and how resources
refer to each other -- which is what ties an endpoint to its VPC while both IDs are
still unknown. See ../shared/design.md.
"""

from __future__ import annotations

import codecs
import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfcheck.graph import ProviderConfig, ResourceGraph
from tfcheck.loaders import LoadFailure
from tfcheck.loaders.plan_shape import check_plan_shape
from tfcheck.model import (
    InputError,
    Resource,
    Sensitive,
    Unknown,
    instance_suffix,
    split_address,
    strip_instance_keys,
)

SUPPORTED_MAJOR_VERSIONS = ("0", "1")
MAX_RESOLVE_DEPTH = 32
ZIP_MAGIC = b"PK\x03\x04"


# -- reading bytes --------------------------------------------------------------------


def read_plan_document(data: bytes, path: str) -> dict[str, Any]:
    """Decode and parse a JSON plan or state; any problem becomes a `LoadFailure`."""
    if data.startswith(ZIP_MAGIC):
        raise LoadFailure(InputError(
            path,
            "this is a binary plan file; convert it with `terraform show -json "
            f"{Path(path).name} > plan.json` in its working directory, or scan it with "
            "terraform on PATH",
        ))
    text = _decode(data, path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise LoadFailure(InputError(path, f"invalid JSON: {error.msg}", error.lineno,
                                     error.colno)) from None
    except RecursionError:
        raise LoadFailure(InputError(path, "invalid JSON: nested too deeply")) from None
    if not isinstance(document, dict):
        raise LoadFailure(InputError(path, "not a terraform plan: the JSON is not an object"))
    version = document.get("format_version")
    if version is not None and str(version).split(".")[0] not in SUPPORTED_MAJOR_VERSIONS:
        raise LoadFailure(InputError(
            path, f"unsupported plan format_version {version!r}: tfcheck reads 0.x and 1.x"))
    if not any(k in document for k in ("planned_values", "resource_changes", "values",
                                       "configuration", "prior_state")):
        raise LoadFailure(InputError(
            path, "not a terraform plan: no planned_values, resource_changes or values "
                  "(expected the output of `terraform show -json`)"))
    return document


def _decode(data: bytes, path: str) -> str:
    """UTF-8 (with or without BOM) or UTF-16, as public plans come in both."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif len(data) >= 2 and data[0] != 0 and data[1] == 0:
        encoding = "utf-16-le"
    elif len(data) >= 2 and data[0] == 0 and data[1] != 0:
        encoding = "utf-16-be"
    else:
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise LoadFailure(InputError(path, f"cannot decode as {encoding}: {error.reason} "
                                           f"at byte {error.start}")) from None


def convert_binary_plan(path: Path) -> bytes:
    """`terraform show -json` of a binary plan; only when terraform is on PATH."""
    terraform = shutil.which("terraform")
    if terraform is None:
        raise LoadFailure(InputError(
            str(path), "binary plan file and no terraform on PATH: run `terraform show "
                       f"-json {path.name} > plan.json` and scan plan.json"))
    try:
        completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [terraform, "show", "-no-color", "-json", path.name],
            cwd=path.parent, capture_output=True, timeout=300, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise LoadFailure(InputError(str(path), f"terraform show failed: {error}")) from None
    if completed.returncode != 0:
        first = completed.stderr.decode(errors="replace").strip().splitlines()
        reason = next((line for line in first if line.strip("│╷╵ ").strip()), "unknown error")
        raise LoadFailure(InputError(
            str(path), f"terraform show -json failed: {reason.strip('│╷╵ ')}"))
    return completed.stdout


# -- building the graph ---------------------------------------------------------------


def load_plan_file(path: Path, display: str | None = None) -> ResourceGraph:
    name = display or str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LoadFailure(InputError(name, f"cannot read: {error.strerror}")) from None
    if data.startswith(ZIP_MAGIC):
        data = convert_binary_plan(path)
    return load_plan(read_plan_document(data, name), name)


def load_plan(document: Mapping[str, Any], source: str) -> ResourceGraph:
    """Build the graph of a parsed plan (or state) document."""
    check_plan_shape(document, source)
    return _PlanBuilder(document, source).build()


@dataclass(frozen=True)
class _Ref:
    """One parsed reference of a configuration expression."""

    kind: str  # "resource", "module_output", "var", "other"
    target: str  # "aws_subnet.private" / "data.aws_x.y" / module call name / var name
    key: int | str | None = None
    has_key: bool = False
    output: str = ""


@dataclass
class _ModuleConfig:
    path: str  # configuration path: "" / "module.vpc" / "module.vpc.module.sub"
    body: Mapping[str, Any]
    resources: dict[str, Mapping[str, Any]] = field(default_factory=dict)


class _PlanBuilder:
    def __init__(self, document: Mapping[str, Any], source: str) -> None:
        self.document = document
        self.graph = ResourceGraph(source=source, kind="plan")
        self.modules: dict[str, _ModuleConfig] = {}
        # (module instance, resource address without keys) -> its instance addresses
        self.instances: dict[tuple[str, str], list[str]] = {}
        # (parent module instance, module call name) -> the call's module instances
        self.module_children: dict[tuple[str, str], set[str]] = {}
        self.variables = _root_variables(document)

    def build(self) -> ResourceGraph:
        configuration = _as_dict(self.document.get("configuration"))
        self._index_configuration(_as_dict(configuration.get("root_module")), "")
        self._read_providers(_as_dict(configuration.get("provider_config")))
        changes = _changes_by_address(self.document)
        for raw in self._raw_resources(changes):
            self._add_resource(raw, changes.get(str(raw.get("address", ""))))
        self._add_references()
        self.graph.link_known_ids()
        return self.graph

    # configuration ---------------------------------------------------------------

    def _index_configuration(self, module: Mapping[str, Any], path: str) -> None:
        config = _ModuleConfig(path, module)
        self.modules[path] = config
        for resource in _as_list(module.get("resources")):
            if isinstance(resource, dict) and "address" in resource:
                config.resources[str(resource["address"])] = resource
        for name, call in _as_dict(module.get("module_calls")).items():
            if isinstance(call, dict):
                child_path = f"{path}.module.{name}" if path else f"module.{name}"
                self._index_configuration(_as_dict(call.get("module")), child_path)

    def _read_providers(self, provider_config: Mapping[str, Any]) -> None:
        for key, raw in provider_config.items():
            if not isinstance(raw, dict):
                continue
            expressions = _as_dict(raw.get("expressions"))
            region = self._constant_or_variable(expressions.get("region"))
            references = tuple(dict.fromkeys(
                ref for _, refs in _expression_references(expressions) for ref in refs))
            self.graph.providers[key] = ProviderConfig(
                key=key,
                name=str(raw.get("name", key.split(":")[-1].split(".")[0])),
                alias=raw.get("alias") if isinstance(raw.get("alias"), str) else None,
                region=region,
                module=str(raw.get("module_address", "")),
                values=_constant_values(expressions),
                references=references,
            )

    def _constant_or_variable(self, expression: Any) -> str | Unknown | None:
        if not isinstance(expression, dict):
            return None
        if "constant_value" in expression:
            value = expression["constant_value"]
            return value if isinstance(value, str) else None
        for ref in _as_list(expression.get("references")):
            if isinstance(ref, str) and ref.startswith("var."):
                value = self.variables.get(ref[4:])
                if isinstance(value, str):
                    return value
        refs = tuple(str(r) for r in _as_list(expression.get("references")))
        return Unknown(f"the provider region comes from {', '.join(refs) or 'an expression'}",
                       refs)

    # resources ---------------------------------------------------------------------

    def _raw_resources(
        self, changes: Mapping[str, Mapping[str, Any]]
    ) -> Iterator[Mapping[str, Any]]:
        """Every resource instance: planned values first, then prior state, then changes."""
        seen: set[str] = set()
        roots = [
            _as_dict(self.document.get("planned_values")).get("root_module"),
            _as_dict(_as_dict(self.document.get("prior_state")).get("values")).get("root_module"),
            _as_dict(self.document.get("values")).get("root_module"),
        ]
        for root in roots:
            for raw in _walk_module(_as_dict(root)):
                address = str(raw.get("address", ""))
                if address and address not in seen:
                    change = changes.get(address)
                    if change is not None and _actions(change) == ("delete",):
                        continue
                    seen.add(address)
                    yield raw
        for address, change in changes.items():
            if address in seen or _actions(change) == ("delete",):
                continue
            seen.add(address)
            after = _as_dict(change.get("change")).get("after")
            yield {**change, "values": after if isinstance(after, dict) else {}}

    def _add_resource(self, raw: Mapping[str, Any], change: Mapping[str, Any] | None) -> None:
        address = str(raw["address"])
        mode = str(raw.get("mode", "data" if address.startswith("data.") or ".data." in address
                           else "managed"))
        module = _module_of(address)
        config_address = _config_address(address)
        config = self._resource_config(config_address)
        values = _as_dict(raw.get("values"))
        values = dict(values)
        changed = _as_dict(change.get("change")) if change else {}
        expressions = _as_dict(config.get("expressions")) if config else {}
        if changed:
            references = {path: [r for r in refs if not r.startswith(("count.", "each."))]
                          for path, refs in _expression_references(expressions)}
            _apply_unknown(values, changed.get("after_unknown"), address, references)
            _apply_sensitive(values, changed.get("after_sensitive"))
        _apply_sensitive(values, raw.get("sensitive_values"))
        resource = Resource(
            address=address,
            type=str(raw.get("type", "")),
            name=str(raw.get("name", "")),
            mode=mode,
            module=module,
            index=_index(raw.get("index")),
            values=values,
            configured=frozenset(_configured_paths(expressions)) if config else None,
            provider=str(config.get("provider_config_key", "")) if config else "",
            actions=_actions(change) if change else (),
        )
        resource.region = self._region_for(resource)
        self.graph.add_resource(resource)
        local = address[len(module) + 1:] if module else address
        self.instances.setdefault((module, _config_address(local)), []).append(address)
        for prefix in _module_instance_prefixes(module):
            call = (_module_parent(prefix), _module_call_name(prefix))
            self.module_children.setdefault(call, set()).add(prefix)

    def _resource_config(self, config_address: str) -> Mapping[str, Any] | None:
        module_path, local = _split_module(config_address)
        module = self.modules.get(module_path)
        return module.resources.get(local) if module else None

    def _region_for(self, resource: Resource) -> str | Unknown | None:
        providers = self.graph.providers
        key = resource.provider
        candidates = [key]
        if ":" in key:
            module_path, local_key = key.rsplit(":", 1)
            candidates.append(local_key)
            if not module_path.startswith("module."):  # terraform 0.12 writes "db:aws"
                candidates.insert(0, f"module.{module_path}:{local_key}")
        candidates.append("aws")
        for candidate in candidates:
            provider = providers.get(candidate)
            if provider is not None and provider.region is not None:
                return provider.region
        return None

    # references --------------------------------------------------------------------

    def _add_references(self) -> None:
        for resource in self.graph.resources():
            config = self._resource_config(resource.config_address)
            if not config:
                continue
            for attribute, refs in _expression_references(_as_dict(config.get("expressions"))):
                for target in self._resolve(refs, resource.module, resource.index, 0):
                    self.graph.add_reference(resource.address, attribute, target)

    def _resolve(self, refs: list[str], module_instance: str, key: int | str | None,
                 depth: int) -> set[str]:
        """Instance addresses that an expression's references point at."""
        if depth > MAX_RESOLVE_DEPTH:
            return set()
        parsed = [_parse_reference(r) for r in refs]
        uses_count = "count.index" in refs
        uses_each = any(r.startswith("each.") for r in refs)
        keyed = {p.target for p in parsed if p.kind == "resource" and p.has_key}
        found: set[str] = set()
        for ref in parsed:
            if ref.kind == "resource":
                if ref.target in keyed and not ref.has_key:
                    continue  # the most specific reference wins
                found |= self._resource_instances(ref, module_instance, key,
                                                  uses_count, uses_each)
            elif ref.kind == "module_output":
                outputs = self._module_output(ref, module_instance, depth)
                if key is not None and (uses_count or uses_each):
                    # `module.vpc.subnet_ids[count.index]`: most often the same index
                    same_key = {a for a in outputs if a.endswith(instance_suffix(key))}
                    outputs = same_key or outputs
                found |= outputs
            elif ref.kind == "var" and module_instance:
                found |= self._module_argument(ref.target, module_instance, depth)
        return found

    def _resource_instances(self, ref: _Ref, module_instance: str, key: int | str | None,
                            uses_count: bool, uses_each: bool) -> set[str]:
        prefix = f"{module_instance}." if module_instance else ""
        instances = self.instances.get((module_instance, ref.target), [])
        if ref.has_key:
            wanted = prefix + ref.target + instance_suffix(ref.key)
            return {wanted} if wanted in self.graph else set()
        if key is not None and (uses_count or uses_each) and len(instances) > 1:
            wanted = prefix + ref.target + instance_suffix(key)
            if wanted in self.graph:
                return {wanted}
        return set(instances)

    def _module_output(self, ref: _Ref, module_instance: str, depth: int) -> set[str]:
        parent_config = _config_address(module_instance)
        child_config = (f"{parent_config}.module.{ref.target}" if parent_config
                        else f"module.{ref.target}")
        child = self.modules.get(child_config)
        if child is None:
            return set()
        output = _as_dict(_as_dict(child.body.get("outputs")).get(ref.output))
        refs = [str(r) for r in _as_list(_as_dict(output.get("expression")).get("references"))]
        found: set[str] = set()
        for instance in sorted(self.module_children.get((module_instance, ref.target), ())):
            found |= self._resolve(refs, instance, _module_key(instance), depth + 1)
        return found

    def _module_argument(self, variable: str, module_instance: str, depth: int) -> set[str]:
        parent = _module_parent(module_instance)
        call_name = _module_call_name(module_instance)
        parent_module = self.modules.get(_config_address(parent))
        if parent_module is None:
            return set()
        call = _as_dict(_as_dict(parent_module.body.get("module_calls")).get(call_name))
        expression = _as_dict(_as_dict(call.get("expressions")).get(variable))
        refs: list[str] = []
        for _, found in _expression_references({variable: expression}):
            refs.extend(found)
        return self._resolve(refs, parent, _module_key(module_instance), depth + 1)


# -- value masks ---------------------------------------------------------------------


def _apply_unknown(values: dict[str, Any], mask: Any, address: str,
                   references: Mapping[str, list[str]], path: str = "") -> None:
    """Replace every `true` leaf of `after_unknown` with an explicit `Unknown`."""
    if not isinstance(mask, dict):
        return
    for key, flag in mask.items():
        child_path = f"{path}.{key}" if path else key
        if flag is True:
            refs = references.get(child_path, [])
            values[key] = Unknown(f"{address}.{child_path} is known only after apply",
                                  tuple(refs))
        elif isinstance(flag, dict):
            current = values.get(key)
            if not isinstance(current, dict):
                current = {}
                values[key] = current
            _apply_unknown(current, flag, address, references, child_path)
        elif isinstance(flag, list):
            current_list = values.get(key)
            if not isinstance(current_list, list):
                current_list = []
                values[key] = current_list
            shared = tuple(references.get(child_path, ()))  # one tuple: N elements, not N*N
            for position, item_flag in enumerate(flag):
                while len(current_list) <= position:
                    current_list.append(None)
                if item_flag is True:
                    current_list[position] = Unknown(
                        f"{address}.{child_path}[{position}] is known only after apply",
                        shared)
                elif isinstance(item_flag, dict):
                    item = current_list[position]
                    if not isinstance(item, dict):
                        item = {}
                        current_list[position] = item
                    _apply_unknown(item, item_flag, address, references, child_path)


def _apply_sensitive(values: dict[str, Any], mask: Any) -> None:
    """Wrap every value that `after_sensitive` marks, so no renderer can print it."""
    if not isinstance(mask, dict):
        return
    for key, flag in mask.items():
        if key not in values:
            continue
        if flag is True:
            if not isinstance(values[key], (Sensitive, Unknown)):
                values[key] = Sensitive(values[key])
        elif isinstance(flag, dict) and isinstance(values[key], dict):
            _apply_sensitive(values[key], flag)
        elif isinstance(flag, list) and isinstance(values[key], list):
            items = values[key]
            for position, item_flag in enumerate(flag[: len(items)]):
                if item_flag is True and not isinstance(items[position], (Sensitive, Unknown)):
                    items[position] = Sensitive(items[position])
                elif isinstance(item_flag, dict) and isinstance(items[position], dict):
                    _apply_sensitive(items[position], item_flag)


# -- configuration expressions -------------------------------------------------------


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and (
        not value or set(value) <= {"constant_value", "references"}
    )


def _expression_references(expressions: Mapping[str, Any],
                           path: str = "") -> Iterator[tuple[str, list[str]]]:
    """(dotted attribute path, references) for every expression, nested blocks included."""
    for name, expression in expressions.items():
        child = f"{path}.{name}" if path else name
        if _is_expression(expression):
            refs = [str(r) for r in _as_list(expression.get("references"))]
            if refs:
                yield child, refs
        elif isinstance(expression, dict):
            yield from _expression_references(expression, child)
        elif isinstance(expression, list):
            for block in expression:
                if isinstance(block, dict):
                    yield from _expression_references(block, child)


def _constant_values(expressions: Mapping[str, Any]) -> dict[str, Any]:
    """The constant arguments of a configuration block, nested blocks included."""
    values: dict[str, Any] = {}
    for name, expression in expressions.items():
        if _is_expression(expression):
            if "constant_value" in expression:
                values[name] = expression["constant_value"]
        elif isinstance(expression, dict):
            values[name] = [_constant_values(expression)]
        elif isinstance(expression, list):
            values[name] = [_constant_values(b) for b in expression if isinstance(b, dict)]
    return values


def _configured_paths(expressions: Mapping[str, Any], path: str = "") -> Iterator[str]:
    for name, expression in expressions.items():
        child = f"{path}.{name}" if path else name
        yield child
        if _is_expression(expression):
            continue
        if isinstance(expression, dict):
            yield from _configured_paths(expression, child)
        elif isinstance(expression, list):
            for block in expression:
                if isinstance(block, dict):
                    yield from _configured_paths(block, child)


_REFERENCE_PART = re.compile(r'([^.\[]+)((?:\[(?:"(?:[^"\\]|\\.)*"|[^\]]*)\])*)')
_KEY = re.compile(r'\[("(?:[^"\\]|\\.)*"|[^\]]*)\]')


def _parse_reference(text: str) -> _Ref:
    """`aws_subnet.private[0].id` -> resource aws_subnet.private with key 0."""
    parts = [(m.group(1), m.group(2)) for m in _REFERENCE_PART.finditer(text)]
    if not parts:
        return _Ref("other", text)
    head = parts[0][0]
    if head == "var" and len(parts) > 1:
        return _Ref("var", parts[1][0])
    if head == "module" and len(parts) > 2:
        return _Ref("module_output", parts[1][0], output=parts[2][0])
    if head in ("count", "each", "self", "path", "terraform", "local", "module", "var"):
        return _Ref("other", text)
    if head == "data":
        if len(parts) < 3:
            return _Ref("other", text)
        target, keys = f"data.{parts[1][0]}.{parts[2][0]}", parts[2][1]
    else:
        if len(parts) < 2:
            return _Ref("other", text)
        target, keys = f"{head}.{parts[1][0]}", parts[1][1]
    key_match = _KEY.match(keys) if keys else None
    if key_match is None:
        return _Ref("resource", target)
    return _Ref("resource", target, _parse_key(key_match.group(1)), has_key=True)


def _parse_key(raw: str) -> int | str:
    if raw.startswith('"'):
        try:
            decoded = json.loads(raw)
        except json.JSONDecodeError:
            return raw.strip('"')
        return str(decoded)
    try:
        return int(raw)
    except ValueError:
        return raw


# -- addresses -----------------------------------------------------------------------


def _module_of(address: str) -> str:
    """`module.a[0].module.b.aws_x.y` -> `module.a[0].module.b`."""
    parts = split_address(address)
    module: list[str] = []
    position = 0
    while position + 1 < len(parts) and parts[position] == "module":
        module.extend(parts[position:position + 2])
        position += 2
    return ".".join(module)


def _split_module(address: str) -> tuple[str, str]:
    """`module.vpc.aws_subnet.a` -> (`module.vpc`, `aws_subnet.a`)."""
    module = _module_of(address)
    return module, address[len(module) + 1:] if module else address


_config_address = strip_instance_keys


def _module_instance_prefixes(module: str) -> Iterator[str]:
    parts = split_address(module) if module else []
    for end in range(2, len(parts) + 1, 2):
        yield ".".join(parts[:end])


def _module_parent(module_instance: str) -> str:
    parts = split_address(module_instance)
    return ".".join(parts[:-2])


def _module_call_name(module_instance: str) -> str:
    last = split_address(module_instance)[-1]
    return last.split("[", 1)[0]


def _module_key(module_instance: str) -> int | str | None:
    last = split_address(module_instance)[-1]
    match = _KEY.search(last)
    return _parse_key(match.group(1)) if match else None


# -- small helpers -------------------------------------------------------------------


def _walk_module(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for raw in _as_list(module.get("resources")):
        if isinstance(raw, dict) and isinstance(raw.get("address"), str):
            yield raw
    for child in _as_list(module.get("child_modules")):
        if isinstance(child, dict):
            yield from _walk_module(child)


def _changes_by_address(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    changes: dict[str, Mapping[str, Any]] = {}
    for change in _as_list(document.get("resource_changes")):
        if isinstance(change, dict) and isinstance(change.get("address"), str):
            changes[change["address"]] = change
    return changes


def _actions(change: Mapping[str, Any]) -> tuple[str, ...]:
    actions = _as_dict(change.get("change")).get("actions")
    return tuple(str(a) for a in actions) if isinstance(actions, list) else ()


def _root_variables(document: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _as_dict(v).get("value")
            for name, v in _as_dict(document.get("variables")).items()}


def _index(raw: Any) -> int | str | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, str)):
        return raw
    return None


def _as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
