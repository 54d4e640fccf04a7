"""HCL input: a root module directory (with its modules and variables) as a graph.

The heavy lifting is in `tfcheck.hcl`: `modules` finds and parses the files, `eval`
evaluates them the way terraform would at plan time. This module decides what the rest
of tfcheck sees: one `Resource` per instance, with the address terraform prints, its
evaluated values (`Unknown` where plan time would not know them), the lines it is
written on, its suppressions, its provider and region, and the references as edges.

Placeholders: where a `count` or `for_each` cannot be evaluated, the resource gets one
instance at its address *without* an instance key (`aws_subnet.private`), whose values
are unknown where they depend on `count.index` / `each`. The same holds for modules
(`module.vpc.aws_subnet.private`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from tfcheck.graph import ProviderConfig, ResourceGraph
from tfcheck.hcl.ast import Block, Name, ParsedFile
from tfcheck.hcl.eval import (
    Evaluator,
    InstanceInfo,
    ModuleInstance,
    Scope,
    traversal_text,
)
from tfcheck.hcl.json_syntax import json_value_expr
from tfcheck.hcl.modules import (
    ConfigLoader,
    ModuleDef,
    ResourceDef,
    config_files,
    display_path,
    prefetch,
)
from tfcheck.hcl.parse import (
    MAX_FILE_BYTES,
    HclSyntaxError,
    decode,
    parse_expression,
    parse_hcl,
)
from tfcheck.hcl.parsing import Parser, current_parser
from tfcheck.hcl.values import EvalError
from tfcheck.loaders import LoadFailure
from tfcheck.model import AttributeLines, InputError, Location, Resource, Suppression, Unknown
from tfcheck.safe_io import ReadRefused, read_bytes

RECURSION_LIMIT = 6_000
MAX_RESOURCES = 50_000


class HclLoad(msgspec.Struct):
    """A loaded HCL root: the graph, and the files that could not be read."""

    graph: ResourceGraph
    errors: list[InputError] = msgspec.field(default_factory=list)


def load_hcl(
    root: Path,
    *,
    var_files: Sequence[Path] = (),
    variables: Mapping[str, str] = {},  # noqa: B006 - read only
    use_env: bool = False,
    parser: Parser | None = None,
) -> HclLoad:
    """Load and evaluate the root module at `root`; raises `LoadFailure` if unusable.

    Files are parsed through `parser`, else the scan's (`hcl.parsing.begin_parsing`),
    else a new one without cache.
    """
    root = Path(root)
    if not root.is_dir():
        raise LoadFailure(InputError(str(root), "not a directory"))
    if not config_files(root):
        raise LoadFailure(InputError(str(root), "no .tf or .tf.json files in this directory"))
    parser = parser or current_parser()
    if parser is not None:
        return _load_hcl(root, var_files, variables, use_env, parser)
    parser = Parser()
    try:
        return _load_hcl(root, var_files, variables, use_env, parser, ahead=True)
    finally:
        parser.close()


def _load_hcl(
    root: Path,
    var_files: Sequence[Path],
    variables: Mapping[str, str],
    use_env: bool,
    parser: Parser,
    ahead: bool = False,
) -> HclLoad:
    graph = ResourceGraph(source=str(root), kind="hcl")
    with _deep_recursion():
        loader = ConfigLoader(root, parser=parser)
        if ahead and parser.workers > 1:
            prefetch([loader])
        module = loader.load()
        errors = loader.errors
        values = _root_values(root, module, var_files, variables, use_env, errors, loader.confine)
        evaluator = Evaluator(module, root, {loader.confine}, values, graph.notes)
        evaluator.allow_steps_for(loader.bytes_read)
        _Builder(graph, evaluator, loader).build()
    graph.sensitive_values.update(evaluator.sensitive_values)
    errors.extend(evaluator.errors)
    return HclLoad(graph, errors)


# -- building the graph -------------------------------------------------------------


class _Builder:
    def __init__(self, graph: ResourceGraph, evaluator: Evaluator, loader: ConfigLoader) -> None:
        self.graph = graph
        self.evaluator = evaluator
        self.files = _files_by_path(evaluator.root.definition)
        self.edges: list[tuple[str, str, str]] = []
        self.count = 0

    def build(self) -> None:
        self._module(self.evaluator.root, 0)
        for source, attribute, target in self.edges:
            self.graph.add_reference(source, attribute, target)
        for key, (block, module) in sorted(self.evaluator.provider_blocks.items()):
            alias = key.split(":")[-1].partition(".")[2] or None
            settings, references = self.evaluator.provider_settings(key)
            self.graph.providers[key] = ProviderConfig(
                key=key,
                name=block.labels[0],
                alias=alias,
                region=self.evaluator.provider_region(key),
                module=module.path,
                values=settings,
                references=references,
            )
        self.graph.link_known_ids()

    def _module(self, instance: ModuleInstance, depth: int) -> None:
        definition = instance.definition
        if definition is None or depth > 20:
            return
        for resource in definition.resources.values():
            for info in self._instances(instance, resource):
                if self.count >= MAX_RESOURCES:
                    self.evaluator.note(f"more than {MAX_RESOURCES} resources: the rest skipped")
                    return
                self._add(instance, info)
        for name in definition.calls:
            for child in self.evaluator.module_instances(instance, name):
                self._module(child, depth + 1)

    def _instances(self, module: ModuleInstance, resource: ResourceDef) -> list[InstanceInfo]:
        try:
            return self.evaluator.resource_instances(module, resource)
        except EvalError as exc:
            address = module.address(resource.address)
            unknown = Unknown(str(exc))
            scope = Scope(module, count_index=unknown, each_key=unknown, each_value=unknown)
            return [InstanceInfo(address, None, scope, resource, True)]

    def _add(self, module: ModuleInstance, info: InstanceInfo) -> None:
        resource = info.resource
        try:
            evaluated = self.evaluator.instance(info)
            values, configured = evaluated.values, evaluated.configured
            lines = AttributeLines(evaluated.attribute_lines, evaluated.attribute_files)
            edges = evaluated.edges
        except EvalError as exc:
            values, configured, lines, edges = {}, frozenset(), AttributeLines(), []
            self.evaluator.note(f"{info.address}: {exc}")
        local = _provider_local(resource)
        key = self.evaluator.provider_key(module, local)
        region = self.evaluator.provider_region(key) if local.split(".")[0] == "aws" else None
        self.graph.add_resource(
            Resource(
                address=info.address,
                type=resource.type,
                name=resource.name,
                mode=resource.mode,
                module=module.path,
                index=info.key,
                values=values,
                configured=configured,
                location=Location(resource.file, resource.block.line),
                attribute_lines=lines,
                provider=key,
                region=region,
                suppressions=_resource_suppressions(self.files, resource),
                every_instance=info.placeholder,
            )
        )
        self.count += 1
        self.edges.extend((info.address, path, target) for path, target in edges)


def _provider_local(resource: ResourceDef) -> str:
    attribute = resource.block.body.attributes.get("provider")
    if attribute is not None:
        text = traversal_text(attribute.expr)
        if text:
            return text
    return resource.type.split("_", 1)[0]


def _files_by_path(module: ModuleDef | None) -> dict[str, ParsedFile]:
    files: dict[str, ParsedFile] = {}
    if module is None:
        return files
    for _, definition in _walk_definitions(module, ""):
        for parsed in definition.files:
            files.setdefault(parsed.path, parsed)
    return files


def _walk_definitions(module: ModuleDef, prefix: str) -> Iterator[tuple[str, ModuleDef]]:
    yield prefix, module
    for name, child in module.children.items():
        yield from _walk_definitions(child, f"{prefix}module.{name}.")


def _resource_suppressions(
    files: Mapping[str, ParsedFile], resource: ResourceDef
) -> tuple[Suppression, ...]:
    """The comments of a resource's block and of each override block merged into it."""
    found: list[Suppression] = []
    for block, file in ((resource.block, resource.file), *resource.overrides):
        parsed = files.get(file)
        found.extend(_suppressions(parsed, block) if parsed else ())
    return tuple(found)


def _suppressions(parsed: ParsedFile, block: Block) -> tuple[Suppression, ...]:
    """`tfcheck:ignore` comments inside the block or in the comment lines just above it."""
    if not parsed.comments:
        return ()
    above = block.line - 1
    first = block.line
    while above in parsed.comment_lines:
        first = above
        above -= 1
    found = []
    for directive in parsed.comments:
        if first <= directive.line <= block.end_line:
            for rule in directive.rules:
                found.append(
                    Suppression(rule, directive.reason, Location(parsed.path, directive.line))
                )
    return tuple(found)


# -- root variables -----------------------------------------------------------------


def _root_values(
    root: Path,
    module: ModuleDef,
    var_files: Sequence[Path],
    variables: Mapping[str, str],
    use_env: bool,
    errors: list[InputError],
    confine: Path,
) -> dict[str, Any]:
    """Root variable values in terraform's precedence order (later sources win).

    The automatic files are read inside `confine` only; `--var-file` paths are the
    user's own choice, read wherever they are (still regular files, bounded).
    """
    declared = module.variables
    values: dict[str, Any] = {}
    reader = Evaluator(ModuleDef(root, "", "."), root, {root.resolve()}, {}, [])
    scope = Scope(reader.root)

    def from_text(name: str, text: str) -> Any:
        block = declared[name][0]
        type_attr = block.body.attributes.get("type")
        is_string = type_attr is None or (
            isinstance(type_attr.expr, Name) and type_attr.expr.name == "string"
        )
        if is_string:
            return text
        try:
            value, _ = reader.evaluate(parse_expression(text), scope)
        except HclSyntaxError:
            return text
        return value

    if use_env:
        for key, text in sorted(os.environ.items()):
            if key.startswith("TF_VAR_") and key[7:] in declared:
                values[key[7:]] = from_text(key[7:], text)
    automatic = [root / "terraform.tfvars", root / "terraform.tfvars.json"]
    with contextlib.suppress(OSError):
        automatic.extend(
            sorted(
                p
                for p in root.iterdir()
                if p.name.endswith((".auto.tfvars", ".auto.tfvars.json")) and p.is_file()
            )
        )
    for path in automatic:
        if path.is_file():
            values.update(_read_tfvars(root, path, reader, scope, declared, errors, confine))
    for path in var_files:
        values.update(_read_tfvars(root, Path(path), reader, scope, declared, errors, None))
    for name, text in variables.items():
        if name in declared:
            values[name] = from_text(name, text)
    return values


def _read_tfvars(
    root: Path,
    path: Path,
    reader: Evaluator,
    scope: Scope,
    declared: Mapping[str, Any],
    errors: list[InputError],
    confine: Path | None,
) -> dict[str, Any]:
    shown = display_path(root, path) if not path.is_absolute() or _inside(root, path) else str(path)
    try:
        text = decode(read_bytes(path, {confine} if confine else None, MAX_FILE_BYTES))
    except ReadRefused as exc:
        errors.append(InputError(shown, f"cannot read variables file: it {exc.reason}"))
        return {}
    values: dict[str, Any] = {}
    try:
        if path.name.endswith(".json"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise HclSyntaxError(exc.msg, exc.lineno, exc.colno) from None
            if not isinstance(data, dict):
                raise HclSyntaxError("a .tfvars.json file must hold a JSON object", 1, 1)
            expressions = {k: json_value_expr(v) for k, v in data.items()}
        else:
            parsed = parse_hcl(text, shown)
            expressions = {k: a.expr for k, a in parsed.body.attributes.items()}
    except HclSyntaxError as exc:
        errors.append(InputError(shown, exc.message, exc.line, exc.column))
        return {}
    except RecursionError:
        errors.append(InputError(shown, "variables file nested too deeply"))
        return {}
    for name, expr in expressions.items():
        if name in declared:
            values[name], _ = reader.evaluate(expr, scope)
    return values


def _inside(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


@contextlib.contextmanager
def _deep_recursion() -> Iterator[None]:
    """Room for deeply nested (but bounded) configurations; restored afterwards."""
    previous = sys.getrecursionlimit()
    if previous < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


__all__ = ["HclLoad", "load_hcl"]
