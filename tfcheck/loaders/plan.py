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
import contextlib
import gc
import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec
from msgspec.structs import replace

from tfcheck.defaults import MISSING
from tfcheck.graph import ProviderConfig, ResourceGraph
from tfcheck.loaders import LoadFailure
from tfcheck.loaders.plan_shape import PlanShapeError, check_plan_shape
from tfcheck.marks import mark_scalar
from tfcheck.model import (
    InputError,
    Resource,
    Sensitive,
    Unknown,
    sensitive_strings,
    strip_instance_keys,
)
from tfcheck.resolve import (
    ModuleConfig,
    PlanResolver,
    expression_references,
    is_expression,
    link_known_ids,
    module_call_name,
    module_instance_prefixes,
    module_of,
    module_parent,
    read_expressions,
)
from tfcheck.safe_io import ReadRefused, read_stream

SUPPORTED_MAJOR_VERSIONS = ("0", "1")
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
    with paused_gc():
        document = _parse_json(data, path)
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


def _parse_json(data: bytes, path: str) -> Any:
    """Parse with msgspec where it can (UTF-8, what terraform writes), else with json.

    msgspec decodes a big plan 3-4x faster than json with less memory than orjson
    (bench/decoders.py). Anything it refuses (UTF-16, invalid UTF-8, `NaN`, integers
    beyond 64 bits, invalid JSON) goes through `json`, which also gives the line and
    column of a syntax error.
    """
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not (
            len(data) >= 2 and (data[0] == 0) != (data[1] == 0)):
        try:
            return _MSGSPEC_DECODE(data[3:] if data.startswith(codecs.BOM_UTF8) else data)
        except (msgspec.DecodeError, RecursionError):
            pass  # json decides, with the messages it has always given
    text = _decode(data, path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise LoadFailure(InputError(path, f"invalid JSON: {error.msg}", error.lineno,
                                     error.colno)) from None
    except RecursionError:
        from tfcheck.hcl.positions import deepest_bracket  # the HCL modules: only here

        raise LoadFailure(InputError(path, "invalid JSON: nested too deeply",
                                     *deepest_bracket(text))) from None


_MSGSPEC_DECODE = msgspec.json.Decoder().decode


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a plan is decoded and built.

    Decoding and building allocate millions of objects and free none of them: every
    collection the allocations trigger is wasted (the decode alone took 2-3x longer
    with it). Reference counting still frees what is dropped.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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


# 6x the 50,000-resource bench plan (84 MB), which needs ~700 MB of memory to scan.
MAX_PLAN_BYTES = 500_000_000


def load_plan_file(path: Path, display: str | None = None) -> ResourceGraph:
    name = display or str(path)
    try:
        data = read_stream(path, MAX_PLAN_BYTES)
    except ReadRefused as refused:
        raise LoadFailure(InputError(name, f"cannot read: the plan {refused.reason}")) from None
    if data.startswith(ZIP_MAGIC):
        data = convert_binary_plan(path)
    return load_plan_bytes(data, name)


def load_plan_bytes(data: bytes, source: str) -> ResourceGraph:
    """The graph of a plan file's bytes: decoded, its shape checked, built.

    A level of the wrong type is reported at its line and column. The decoders keep no
    positions, so only then is the text scanned again to find them.
    """
    document = read_plan_document(data, source)
    try:
        return load_plan(document, source)
    except PlanShapeError as wrong:
        from tfcheck.loaders.json_positions import locate

        line, column = locate(_decode(data, source), wrong.path)
        raise LoadFailure(replace(wrong.error, line=line, column=column)) from None


class _Block(msgspec.Struct, frozen=True):
    """One resource block of the plan's configuration, read once for all its instances."""

    references: list[tuple[str, tuple[str, ...]]]  # (attribute path, references)
    # what an unknown leaf depends on: one tuple per path, shared by every instance's leaf
    unknown_references: dict[str, tuple[str, ...]]
    configured: frozenset[str]
    provider: str


def load_plan(document: Mapping[str, Any], source: str) -> ResourceGraph:
    """Build the graph of a parsed plan (or state) document (no cyclic GC meanwhile).

    How the collector treats the graph afterwards is the process's choice, not this
    function's (the command line's is in `tfcheck.cli.run`).
    """
    check_plan_shape(document, source)
    with paused_gc():
        return _PlanBuilder(document, source).build()


class _PlanBuilder:
    def __init__(self, document: Mapping[str, Any], source: str) -> None:
        self.document = document
        self.graph = ResourceGraph(source=source, kind="plan", document=document)
        self.modules: dict[str, ModuleConfig] = {}
        self.blocks: dict[str, _Block | None] = {}  # configuration address -> its block
        # (module instance, resource address without keys) -> its instance addresses
        self.instances: dict[tuple[str, str], list[str]] = {}
        # (parent module instance, module call name) -> the call's module instances
        self.module_children: dict[tuple[str, str], set[str]] = {}
        self.variables = _root_variables(document)
        self.regions: dict[str, Any] = {}  # provider key -> region
        self.seen_modules: set[str] = set()

    def build(self) -> ResourceGraph:
        configuration = _as_dict(self.document.get("configuration"))
        self._index_configuration(_as_dict(configuration.get("root_module")), "")
        self._read_providers(_as_dict(configuration.get("provider_config")))
        changes = _changes_by_address(self.document)
        for raw, change, actions in self._raw_resources(changes):
            self._add_resource(raw, change, actions)
        references = {address: block.references for address, block in self.blocks.items()
                      if block is not None and block.references}
        PlanResolver(self.graph, self.modules, self.instances,
                     self.module_children).resolve(references)
        link_known_ids(self.graph)
        self.graph.sensitive_values_complete = True  # every wrapped value's texts: masks
        return self.graph

    # configuration ---------------------------------------------------------------

    def _index_configuration(self, module: Mapping[str, Any], path: str) -> None:
        config = ModuleConfig(path, module)
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
                ref for _, refs in expression_references(expressions) for ref in refs))
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
    ) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any] | None, tuple[str, ...]]]:
        """Every resource instance with its change and actions.

        Planned values first, then prior state, then changes; what the plan only deletes
        is left out.
        """
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
                    actions = _actions(change) if change is not None else ()
                    if actions == ("delete",):
                        continue
                    seen.add(address)
                    yield raw, change, actions
        for address, change in changes.items():
            if address in seen:
                continue
            actions = _actions(change)
            if actions == ("delete",):
                continue
            seen.add(address)
            after = _as_dict(change.get("change")).get("after")
            yield {**change, "values": after if isinstance(after, dict) else {}}, change, actions

    def _add_resource(self, raw: Mapping[str, Any], change: Mapping[str, Any] | None,
                      actions: tuple[str, ...]) -> None:
        address = str(raw["address"])
        mode = str(raw.get("mode", "data" if address.startswith("data.") or ".data." in address
                           else "managed"))
        module = module_of(address)
        block = self._block(_config_address(address))
        values = dict(_as_dict(raw.get("values")))
        sensitive_texts = self.graph.sensitive_values
        changed = _as_dict(change.get("change")) if change else {}
        if changed:
            _apply_unknown(values, changed.get("after_unknown"), address,
                           block.unknown_references if block else {})
            _apply_sensitive(values, changed.get("after_sensitive"), sensitive_texts)
        _apply_sensitive(values, raw.get("sensitive_values"), sensitive_texts)
        resource = Resource(
            address=address,
            type=str(raw.get("type", "")),
            name=str(raw.get("name", "")),
            mode=mode,
            module=module,
            index=_index(raw.get("index")),
            values=values,
            configured=block.configured if block else None,
            provider=block.provider if block else "",
            actions=actions,
        )
        region = self.regions.get(resource.provider, MISSING)
        if region is MISSING:
            region = self.regions[resource.provider] = self._region_for(resource)
        resource.region = region
        self.graph.add_resource(resource)
        local = address[len(module) + 1:] if module else address
        self.instances.setdefault((module, _config_address(local)), []).append(address)
        if module and module not in self.seen_modules:
            self.seen_modules.add(module)
            for prefix in module_instance_prefixes(module):
                call = (module_parent(prefix), module_call_name(prefix))
                self.module_children.setdefault(call, set()).add(prefix)

    def _block(self, config_address: str) -> _Block | None:
        """What the configuration says about a resource block, worked out once per block."""
        if config_address in self.blocks:
            return self.blocks[config_address]
        module_path, local = _split_module(config_address)
        module = self.modules.get(module_path)
        config = module.resources.get(local) if module else None
        block = None
        if config is not None:
            configured: list[str] = []
            references: list[tuple[str, tuple[str, ...]]] = []
            read_expressions(_as_dict(config.get("expressions")), "", configured, references)
            block = _Block(
                references=references,
                unknown_references={
                    path: tuple(r for r in refs if not r.startswith(("count.", "each.")))
                    for path, refs in references},
                configured=frozenset(configured),
                provider=str(config.get("provider_config_key", "")),
            )
        self.blocks[config_address] = block
        return block

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


# -- value masks ---------------------------------------------------------------------


def _apply_unknown(values: dict[str, Any], mask: Any, address: str,
                   references: Mapping[str, tuple[str, ...]], path: str = "") -> None:
    """Replace every `true` leaf of `after_unknown` with an explicit `Unknown`."""
    if type(mask) is not dict:
        return
    for key, flag in mask.items():
        if flag is False:
            continue
        child_path = f"{path}.{key}" if path else key
        if flag is True:
            values[key] = Unknown(f"{address}.{child_path} is known only after apply",
                                       references.get(child_path, ()))
        elif type(flag) is dict:
            current = values.get(key)
            if not flag and type(current) is dict:
                continue  # nothing unknown below (`"tags_all": {}`)
            # copies, never the document's own dicts and lists: the caller's stays as given
            current = dict(current) if type(current) is dict else {}
            values[key] = current
            _apply_unknown(current, flag, address, references, child_path)
        elif type(flag) is list:
            current_list = values.get(key)
            if type(current_list) is list and len(current_list) >= len(flag) and all(
                    item is False or (item == {} and type(current_list[i]) is dict)
                    for i, item in enumerate(flag)):
                continue  # nothing unknown below
            current_list = list(current_list) if type(current_list) is list else []
            values[key] = current_list
            shared = references.get(child_path, ())  # one tuple: N elements, not N*N
            for position, item_flag in enumerate(flag):
                while len(current_list) <= position:
                    current_list.append(None)
                if item_flag is True:
                    current_list[position] = Unknown(
                        f"{address}.{child_path}[{position}] is known only after apply",
                        shared)
                elif type(item_flag) is dict:
                    item = current_list[position]
                    item = dict(item) if type(item) is dict else {}
                    current_list[position] = item
                    _apply_unknown(item, item_flag, address, references, child_path)


def _apply_sensitive(values: dict[str, Any], mask: Any, texts: set[str]) -> None:
    """Wrap every value that `after_sensitive` marks, so no renderer can print it.

    The texts of what it wraps go to `texts` (the graph's `sensitive_values`), the set
    redaction looks for: the mask says where they are, no walk over all values needed.
    """
    if not isinstance(mask, dict) or not any(mask.values()):  # most: `{"tags": {}}`
        return
    for key, flag in mask.items():
        if not flag or key not in values:  # false, or nothing sensitive below ({}, [])
            continue
        if flag is True:
            if not isinstance(values[key], (Sensitive, Unknown)):
                values[key] = _sensitive(values[key], texts)
        elif isinstance(flag, dict) and isinstance(values[key], dict):
            values[key] = dict(values[key])  # a copy: the document stays as given
            _apply_sensitive(values[key], flag, texts)
        elif isinstance(flag, list) and any(flag) and isinstance(values[key], list):
            items = values[key] = list(values[key])  # (`[false, false, ...]`: nothing)
            for position, item_flag in enumerate(flag[: len(items)]):
                if item_flag is True and not isinstance(items[position], (Sensitive, Unknown)):
                    items[position] = _sensitive(items[position], texts)
                elif isinstance(item_flag, dict | list) and isinstance(items[position],
                                                                       dict | list):
                    box = {"item": items[position]}  # a list in a list: same walk, one level
                    _apply_sensitive(box, {"item": item_flag}, texts)
                    items[position] = box["item"]


def _sensitive(value: Any, texts: set[str]) -> Sensitive:
    """`value` wrapped, its texts recorded as a walk of the wrapper would find them."""
    texts.update(sensitive_strings(value, inside=True))
    return Sensitive(value)


# -- configuration expressions -------------------------------------------------------


def _constant_values(expressions: Mapping[str, Any]) -> dict[str, Any]:
    """The constant arguments of a configuration block, nested blocks included."""
    values: dict[str, Any] = {}
    for name, expression in expressions.items():
        if is_expression(expression):
            if "constant_value" in expression:
                values[name] = expression["constant_value"]
        elif isinstance(expression, dict):
            values[name] = [_constant_values(expression)]
        elif isinstance(expression, list):
            values[name] = [_constant_values(b) for b in expression if isinstance(b, dict)]
    return values


# -- addresses -----------------------------------------------------------------------


def _split_module(address: str) -> tuple[str, str]:
    """`module.vpc.aws_subnet.a` -> (`module.vpc`, `aws_subnet.a`)."""
    module = module_of(address)
    return module, address[len(module) + 1:] if module else address


_config_address = strip_instance_keys


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
    return tuple(map(str, actions)) if isinstance(actions, list) else ()


def _root_variables(document: Mapping[str, Any]) -> dict[str, Any]:
    """Root variable values; those declared `sensitive` (shown plain in the plan) marked."""
    declared = _as_dict(_as_dict(_as_dict(document.get("configuration")).get("root_module"))
                        .get("variables"))
    return {name: mark_scalar(_as_dict(v).get("value"))
            if _as_dict(declared.get(name)).get("sensitive") is True else _as_dict(v).get("value")
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
