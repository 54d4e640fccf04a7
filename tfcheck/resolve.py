"""Which resource does a reference mean? Answered once, here, for plans and HCL alike.

A plan records references per configuration block (../shared/design.md): for
`aws_security_group.bulk[floor(count.index / 3)].id` terraform writes only
`aws_security_group.bulk` and `count.index`. This module turns such references into
edges of the `ResourceGraph`, each with its `Provenance`:

- **plan reference**: the plan names the instance (`aws_subnet.private[0]`), or the
  whole block without an index (`aws_subnet.private[*].id`: every instance);
- **guess**: `aws_subnet.private` + `count.index` read as `[count.index]`. Taken only
  while the plan allows it: if some instance of the referring block has no target with
  its own key, `[count.index]` is impossible (terraform would have failed), and the
  reference becomes one *block-level* edge ("one of these instances"), never an edge
  to every instance;
- **HCL evaluation**: the `.tf` files beside a plan, evaluated, name the instances
  (`settle_with_configuration`): they settle guesses, block-level edges, a subset
  picked from a whole block (`slice(...)`), the locals that a plan's configuration
  does not record (`vpc_id = local.vpc_id` in terraform-aws-modules/vpc) and
  `each.value.sg` of a `for_each` over a map of locals, for which a plan records no
  reference at all. Only ever wiring between instances the plan has, never a value;
- **known ID**: a literal ID that equals a resource's known `id`/`arn`
  (`link_known_ids`).

Whatever a fact derives from a guess or from "one of" must say so; the graph keeps the
provenance so that it can.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import msgspec

from tfcheck.graph import ResourceGraph
from tfcheck.model import (
    Provenance,
    Resource,
    Sensitive,
    Unknown,
    instance_suffix,
    split_address,
    strip_instance_keys,
)

MAX_RESOLVE_DEPTH = 32
# Reference roots that never name a resource (`local.x` is followed through HCL only).
_NOT_RESOURCES = frozenset(
    {"var", "local", "each", "count", "self", "path", "terraform", "module"})


# -- parsing references ----------------------------------------------------------------


class Ref(msgspec.Struct, frozen=True):
    """One parsed reference of a configuration expression."""

    kind: str  # "resource", "module_output", "var", "local", "other"
    target: str  # "aws_subnet.private" / "data.aws_x.y" / module call name / var name
    key: int | str | None = None
    has_key: bool = False
    output: str = ""


_REFERENCE_PART = re.compile(r'([^.\[]+)((?:\[(?:"(?:[^"\\]|\\.)*"|[^\]]*)\])*)')
KEY = re.compile(r'\[("(?:[^"\\]|\\.)*"|[^\]]*)\]')


@functools.lru_cache(maxsize=65_536)
def parse_reference(text: str) -> Ref:
    """`aws_subnet.private[0].id` -> resource aws_subnet.private with key 0."""
    parts = [(m.group(1), m.group(2)) for m in _REFERENCE_PART.finditer(text)]
    if not parts:
        return Ref("other", text)
    head = parts[0][0]
    if head == "var" and len(parts) > 1:
        return Ref("var", parts[1][0])
    if head == "local" and len(parts) > 1:
        return Ref("local", parts[1][0])
    if head == "module" and len(parts) > 2:
        return Ref("module_output", parts[1][0], output=parts[2][0])
    if head in _NOT_RESOURCES:
        return Ref("other", text)
    if head == "data":
        if len(parts) < 3:
            return Ref("other", text)
        target, keys = f"data.{parts[1][0]}.{parts[2][0]}", parts[2][1]
    else:
        if len(parts) < 2:
            return Ref("other", text)
        target, keys = f"{head}.{parts[1][0]}", parts[1][1]
    key_match = KEY.match(keys) if keys else None
    if key_match is None:
        return Ref("resource", target)
    return Ref("resource", target, parse_key(key_match.group(1)), has_key=True)


def parse_key(raw: str) -> int | str:
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


# -- plan references -------------------------------------------------------------------


class ModuleConfig(msgspec.Struct):
    """One module of a plan's `configuration`: its body and resources by local address."""

    path: str  # configuration path: "" / "module.vpc" / "module.vpc.module.sub"
    body: Mapping[str, Any]
    resources: dict[str, Mapping[str, Any]] = msgspec.field(default_factory=dict)


class _Targets:
    """What one expression's references resolve to."""

    __slots__ = ("all_of", "blocks", "exact", "one_of", "open", "whole")

    def __init__(self, blocks: set[str] | None = None, open: bool = False) -> None:  # noqa: A002
        self.exact: dict[str, Provenance] = {}
        self.one_of: dict[str, tuple[str, ...]] = {}  # block -> instances
        self.blocks: set[str] = set() if blocks is None else blocks  # config addresses named
        self.open = open  # a local, or an output through one: only the HCL can say
        self.all_of = False  # a whole block, read as every instance (may be a slice)
        # the whole blocks (block -> every instance) whose instances `exact` holds
        self.whole: dict[str, tuple[str, ...]] = {}

    def add(self, address: str, provenance: Provenance) -> None:
        if provenance.is_fact or address not in self.exact:
            self.exact[address] = provenance

    def merge(self, other: _Targets) -> None:
        for address, provenance in other.exact.items():
            self.add(address, provenance)
        self.one_of.update(other.one_of)
        self.blocks |= other.blocks
        self.open = self.open or other.open
        self.all_of = self.all_of or other.all_of
        self.whole.update(other.whole)


class _Expression(NamedTuple):
    """One expression's references, parsed once for every instance that evaluates it."""

    # what may name a resource (no `count.*`, `each.*`, `path.*`); a whole block only
    # where no reference names one of its instances
    refs: tuple[Ref, ...]
    uses_key: bool  # names `count.index` or `each.*`
    each_value: bool  # names `each.value` (see `_each_value`)
    # names a resource or module output and `count.index`/`each.*`: the instance's key
    # may pick one of its instances
    keyed: bool

    @staticmethod
    def of(refs: Sequence[str]) -> _Expression:
        parsed = [parse_reference(r) for r in refs]
        keyed = {p.target for p in parsed if p.kind == "resource" and p.has_key}
        named = tuple(p for p in parsed if p.kind != "other" and not (
            p.kind == "resource" and p.target in keyed and not p.has_key))
        uses_key = any(r == "count.index" or r.startswith("each.") for r in refs)
        each_value = any(r == "each.value" or r.startswith("each.value.") for r in refs)
        return _Expression(named, uses_key, each_value, uses_key and any(
            p.kind in ("resource", "module_output") for p in named))


class _Record(NamedTuple):
    """The edges one expression's targets give each instance that refers to them."""

    exact: tuple[tuple[str, Provenance], ...]
    every: tuple[tuple[str, tuple[str, ...]], ...]  # whole blocks: one edge each
    one_of: tuple[tuple[str, tuple[str, ...]], ...]
    open: frozenset[str] | None  # the blocks an open reference may pick from

    @staticmethod
    def of(targets: _Targets) -> _Record:
        # a whole block every instance of which the plan names is one edge, not one per
        # instance: N instances naming a block of M are N edges, not N*M
        exact = targets.exact
        every = tuple((block, instances) for block, instances in targets.whole.items()
                      if all(exact.get(i) is Provenance.PLAN for i in instances)
                      ) if targets.whole else ()
        open_blocks: frozenset[str] | None = None
        if targets.open:
            open_blocks = frozenset()
        elif targets.one_of or (targets.all_of and len(exact) > 1) or any(
                not p.is_fact for p in exact.values()):
            open_blocks = frozenset(targets.blocks)
        if every:
            covered = {i for _, instances in every for i in instances}
            direct = tuple((a, p) for a, p in exact.items() if a not in covered)
        else:
            direct = tuple(exact.items())
        return _Record(direct, every, tuple(targets.one_of.items()), open_blocks)


class PlanResolver:
    """Resolves every configuration reference of a plan's resources into graph edges."""

    def __init__(
        self,
        graph: ResourceGraph,
        modules: Mapping[str, ModuleConfig],
        instances: Mapping[tuple[str, str], list[str]],
        module_children: Mapping[tuple[str, str], set[str]],
    ) -> None:
        self.graph = graph
        self.modules = modules
        # (module instance, resource address without keys) -> its instance addresses
        self.instances = instances
        # (parent module instance, module call name) -> the call's module instances
        self.module_children = module_children
        self._identity: dict[tuple[str, str, str], bool] = {}
        # what a module output / argument resolves to does not depend on who asks
        self._outputs: dict[tuple[Ref, str, int | str | None, bool], _Targets] = {}
        self._arguments: dict[tuple[str, str], _Targets] = {}
        self._for_each: dict[str, list[Ref]] = {}
        self._expressions: dict[tuple[str, ...], _Expression] = {}  # parsed once per text

    def resolve(self, attribute_references: Mapping[str, Sequence[tuple[str, tuple[str, ...]]]]
                ) -> None:
        """Add the edges of every resource; `attribute_references` is per config address.

        An expression that names no instance key (`count.index`, `each.*`) means the same
        wherever it is written in one module instance: it is resolved once there, and
        every instance of every block that writes it gets the same edges.
        """
        graph = self.graph
        # (module instance, references, for_each instance) -> the same edges for all
        shared: dict[tuple[str, tuple[str, ...], bool], _Record] = {}
        for resource in graph.resources():
            references = attribute_references.get(resource.config_address)
            if not references:
                continue
            module, index = resource.module, resource.index
            source = ("resource", module, _local_address(resource))
            for attribute, refs in references:
                expression = self._expression(refs)
                if not expression.refs and not (expression.each_value
                                                and isinstance(index, str)):
                    continue  # names no resource, module or local: no edge, nothing open
                if index is not None and (expression.keyed or expression.each_value and (
                        isinstance(index, str) and self._iterated(resource))):
                    record = _Record.of(self._targets(resource, expression, index, source))
                else:
                    shared_key = (module, refs, isinstance(index, str))
                    found = shared.get(shared_key)
                    if found is None:
                        found = shared[shared_key] = _Record.of(
                            self._targets(resource, expression, None, source))
                    record = found
                self._record(resource.address, attribute, record)

    def _expression(self, refs: tuple[str, ...]) -> _Expression:
        expression = self._expressions.get(refs)
        if expression is None:
            expression = self._expressions[refs] = _Expression.of(refs)
        return expression

    def _targets(self, resource: Resource, expression: _Expression, key: int | str | None,
                 source: tuple[str, str, str]) -> _Targets:
        """What one expression of `resource` names (`key`: None where it does not matter)."""
        targets = self._resolve(expression, resource.module, key, 0, source)
        if not targets.exact and not targets.one_of:
            targets.merge(self._each_value(resource, expression))
        return targets

    def _record(self, source: str, attribute: str, record: _Record) -> None:
        graph = self.graph
        for address, provenance in record.exact:
            graph.add_reference(source, attribute, address, provenance)
        for block, instances in record.every:
            graph.add_every_reference(source, attribute, block, instances)
        for block, instances in record.one_of:
            graph.add_block_reference(source, attribute, block, instances)
        if record.open is not None:
            graph.open_references[(source, attribute)] = record.open

    def _resolve(self, expression: _Expression, module_instance: str,
                 key: int | str | None, depth: int, source: tuple[str, str, str]) -> _Targets:
        """What an expression's references point at, from one instance's point of view."""
        found = _Targets()
        if depth > MAX_RESOLVE_DEPTH:
            return found
        indexed = key is not None and expression.uses_key
        for ref in expression.refs:
            if ref.kind == "resource":
                self._resource_instances(ref, module_instance, key, indexed, source, found)
            elif ref.kind == "module_output":
                found.merge(self._module_output(ref, module_instance, key, indexed, depth))
            elif ref.kind == "var" and module_instance:
                found.merge(self._module_argument(ref.target, module_instance, depth))
            elif ref.kind == "local":
                found.open = True
        return found

    def _resource_instances(self, ref: Ref, module_instance: str, key: int | str | None,
                            indexed: bool, source: tuple[str, str, str],
                            found: _Targets) -> None:
        prefix = f"{module_instance}." if module_instance else ""
        block = prefix + ref.target
        found.blocks.add(strip_instance_keys(block))
        if ref.has_key:
            wanted = block + instance_suffix(ref.key)
            if wanted in self.graph:
                found.add(wanted, Provenance.PLAN)
            return
        instances = self.instances.get((module_instance, ref.target), [])
        if indexed and len(instances) > 1:
            if self._identity_possible(source, module_instance, ref.target):
                found.add(block + instance_suffix(key), Provenance.GUESS)
            else:
                found.one_of[block] = tuple(instances)
            return
        if len(instances) > 1:
            found.all_of = True
            found.whole[block] = tuple(instances)
        for address in instances:
            found.add(address, Provenance.PLAN)

    def _identity_possible(self, source: tuple[str, str, str], module_instance: str,
                           target: str) -> bool:
        """Whether every instance of the referring block has a target with its own key.

        If one has none, the expression cannot be `[count.index]` / `[each.key]`
        (terraform would have failed to plan), so no instance may be guessed.
        """
        cache_key = (f"{source[0]}:{source[1]}:{source[2]}", module_instance, target)
        answer = self._identity.get(cache_key)
        if answer is None:
            prefix = f"{module_instance}.{target}" if module_instance else target
            answer = all(prefix + instance_suffix(k) in self.graph
                         for k in self._source_keys(source))
            self._identity[cache_key] = answer
        return answer

    def _source_keys(self, source: tuple[str, str, str]) -> Iterator[int | str | None]:
        kind, module_instance, name = source
        if kind == "resource":
            for address in self.instances.get((module_instance, name), ()):
                resource = self.graph.get(address)
                yield resource.index if resource is not None else None
        else:  # the instances of a module call
            for instance in self.module_children.get((module_instance, name), ()):
                yield module_key(instance)

    def _module_output(self, ref: Ref, module_instance: str, key: int | str | None,
                       indexed: bool, depth: int) -> _Targets:
        cache_key = (ref, module_instance, key if indexed else None, indexed)
        found = self._outputs.get(cache_key)
        if found is None:
            found = self._outputs[cache_key] = self._resolve_output(
                ref, module_instance, key, indexed, depth)
        return found

    def _resolve_output(self, ref: Ref, module_instance: str, key: int | str | None,
                        indexed: bool, depth: int) -> _Targets:
        parent_config = strip_instance_keys(module_instance)
        child_config = (f"{parent_config}.module.{ref.target}" if parent_config
                        else f"module.{ref.target}")
        found = _Targets()
        child = self.modules.get(child_config)
        if child is None:
            return found
        output = _as_dict(_as_dict(child.body.get("outputs")).get(ref.output))
        refs = tuple(map(str, _as_list(_as_dict(output.get("expression")).get("references"))))
        calls = sorted(self.module_children.get((module_instance, ref.target), ()))
        expression = self._expression(refs)
        for instance in calls:
            found.merge(self._resolve(expression, instance, module_key(instance), depth + 1,
                                      ("module", module_instance, ref.target)))
        if indexed and len(found.exact) > 1:
            # `module.vpc.subnet_ids[count.index]`: most often the same index
            same_key = [a for a in found.exact if a.endswith(instance_suffix(key))]
            if same_key:
                narrowed = _Targets(blocks=found.blocks, open=found.open)
                for address in same_key:
                    narrowed.add(address, Provenance.GUESS)
                return narrowed
            found.one_of[f"{module_instance + '.' if module_instance else ''}"
                         f"module.{ref.target}.{ref.output}"] = tuple(found.exact)
            found.exact = {}
            found.whole = {}
        return found

    def _module_argument(self, variable: str, module_instance: str, depth: int) -> _Targets:
        found = self._arguments.get((variable, module_instance))
        if found is None:
            found = self._arguments[(variable, module_instance)] = self._resolve_argument(
                variable, module_instance, depth)
        return found

    def _resolve_argument(self, variable: str, module_instance: str, depth: int) -> _Targets:
        parent = module_parent(module_instance)
        call_name = module_call_name(module_instance)
        parent_module = self.modules.get(strip_instance_keys(parent))
        if parent_module is None:
            return _Targets()
        call = _as_dict(_as_dict(parent_module.body.get("module_calls")).get(call_name))
        expression = _as_dict(_as_dict(call.get("expressions")).get(variable))
        refs = tuple(ref for _, found in expression_references({variable: expression})
                     for ref in found)
        return self._resolve(self._expression(refs), parent, module_key(module_instance),
                             depth + 1, ("module", parent, call_name))

    def _each_value(self, resource: Resource, expression: _Expression) -> _Targets:
        """`for_each = aws_subnet.private` + `subnet_id = each.value.id`.

        A plan records no reference for `each.value` (hashicorp/terraform#28346); the
        instance with the same key of the block `for_each` iterates over is the guess.
        Over anything else (`for_each = local.node_egress`, a map whose values hold
        `aws_security_group.endpoints.id`) the plan names nothing: the reference is
        open, for the configuration beside the plan to settle.
        """
        found = _Targets()
        if not isinstance(resource.index, str) or not expression.each_value:
            return found
        for ref in self._iterated(resource):
            prefix = f"{resource.module}." if resource.module else ""
            wanted = prefix + ref.target + instance_suffix(resource.index)
            if wanted in self.graph:
                found.add(wanted, Provenance.GUESS)
                found.blocks.add(strip_instance_keys(prefix + ref.target))
        if not found.exact:
            found.open = True
        return found

    def _iterated(self, resource: Resource) -> list[Ref]:
        """The whole resource blocks a resource's `for_each` expression names."""
        found = self._for_each.get(resource.config_address)
        if found is None:
            module = self.modules.get(strip_instance_keys(resource.module))
            config = module.resources.get(_local_address(resource)) if module else None
            for_each = _as_dict(config.get("for_each_expression")) if config else {}
            found = [ref for ref in map(parse_reference, map(str, _as_list(
                for_each.get("references")))) if ref.kind == "resource" and not ref.has_key]
            self._for_each[resource.config_address] = found
        return found


# -- the configuration beside a plan ---------------------------------------------------


def settle_with_configuration(graph: ResourceGraph, configuration: ResourceGraph) -> None:
    """Settle the plan's open references with the evaluated `.tf` files beside it.

    For each attribute whose plan references leave the instances open, the HCL twin of
    the resource names them through its unknown values' own references (which keep
    `[floor(count.index / 3)]`, `slice(...)` and locals exact). The answer is taken only
    if every instance it names is in the plan and, where the plan named blocks, is an
    instance of one of them: HCL evaluated without the plan's variables may differ.
    """
    settled: list[tuple[str, str]] = []
    for (source, attribute), blocks in graph.open_references.items():
        resource = graph.get(source)
        if resource is None:
            continue
        twin = configuration.get(source) or configuration.get(resource.config_address)
        if twin is None:
            continue
        named = _named_by_hcl(twin, attribute, configuration)
        if not named or any(a not in graph for a in named):
            continue
        if blocks and any(strip_instance_keys(a) not in blocks for a in named):
            continue
        graph.drop_references(source, attribute)
        for address in named:
            graph.add_reference(source, attribute, address, Provenance.HCL)
        settled.append((source, attribute))
    for item in settled:
        del graph.open_references[item]


def _named_by_hcl(twin: Resource, attribute: str, configuration: ResourceGraph
                  ) -> list[str]:
    """The instances an evaluated attribute's unknown leaves name; [] if not all do."""
    named: dict[str, None] = {}
    unknowns = [leaf for leaf in _leaves_at(twin.values, attribute.split("."))
                if isinstance(leaf, Unknown)]
    if not unknowns:
        return []
    for unknown in unknowns:
        found = [address for address in (_instance_named(configuration, text)
                                         for text in unknown.references
                                         if text.split(".", 1)[0] not in _NOT_RESOURCES
                                         or text.startswith("module."))
                 if address is not None]
        if not found:
            return []
        named.update(dict.fromkeys(found))
    return list(named)


def _instance_named(graph: ResourceGraph, text: str) -> str | None:
    """`module.vpc.aws_vpc.this[0].id` -> the longest prefix that is a resource."""
    parts = split_address(text)
    for end in range(len(parts), 1, -1):
        address = ".".join(parts[:end])
        if address in graph:
            return address
    return None


def _leaves_at(value: Any, path: list[str]) -> Iterator[Any]:
    """The leaves of a value tree under a dotted path, through lists of blocks."""
    if isinstance(value, Sensitive):
        value = value.value
    if isinstance(value, list):
        for item in value:
            yield from _leaves_at(item, path)
        return
    if not path:
        yield value
        return
    if isinstance(value, dict):
        if path[0] in value:
            yield from _leaves_at(value[path[0]], path[1:])
    elif isinstance(value, Unknown):
        yield value


# -- known IDs -------------------------------------------------------------------------


def link_known_ids(graph: ResourceGraph) -> None:
    """Edges for literal IDs that name a resource whose `id`/`arn` is known.

    This is how a configuration that writes `vpc_id = "vpc-0abc"` reaches a VPC that a
    plan's prior state (or an import) knows by that ID.
    """
    resources = graph.resources()
    by_id: dict[str, str] = {}
    for resource in resources:
        for key in ("id", "arn"):
            value = resource.values.get(key)
            if isinstance(value, str) and value:
                by_id.setdefault(value, resource.address)
    if not by_id:
        return
    for resource in resources:
        if _names_a_known_id(resource.values, by_id):  # few do: paths only for those
            for path, target in _known_id_leaves(resource.values, by_id):
                graph.add_reference(resource.address, path, target, Provenance.KNOWN_ID)


_NOT_ID_PATHS = frozenset({"id", "arn", "tags", "tags_all"})


def _names_a_known_id(values: Mapping[str, Any], by_id: Mapping[str, str]) -> bool:
    """Whether `_known_id_leaves` finds anything: the same strings, no paths spelled."""
    containers: list[Any] = []
    for key, value in values.items():
        kind = type(value)
        if kind is str:
            if value in by_id and key not in _NOT_ID_PATHS:
                return True
        elif (kind is dict or kind is list) and key not in _NOT_ID_PATHS:
            containers.append(value)
    while containers:
        container = containers.pop()
        for item in container.values() if type(container) is dict else container:
            kind = type(item)
            if kind is str:
                if item in by_id:
                    return True
            elif kind is dict or kind is list:
                containers.append(item)
    return False


def _known_id_leaves(values: Mapping[str, Any], by_id: Mapping[str, str]
                     ) -> list[tuple[str, str]]:
    """(dotted path, owner) for every plain string of a resource's values that is a known ID.

    Never sensitive or unknown leaves, and not the resource's own `id`/`arn` or tags.
    A path is spelled out only for a string that matches (few do): the walk is over
    every string of every resource.
    """
    found: list[tuple[str, str]] = []
    # (parent path, key, value); a list's items keep their list's path
    stack: list[tuple[str, str, Any]] = []
    for key, value in values.items():  # mostly scalars: looked at here, not stacked
        kind = type(value)
        if kind is str:
            target = by_id.get(value)
            if target is not None and key not in _NOT_ID_PATHS:
                found.append((key, target))
        elif (kind is dict or kind is list) and key not in _NOT_ID_PATHS:
            stack.append(("", key, value))
    while stack:
        parent, key, value = stack.pop()
        kind = type(value)
        if kind is str:
            target = by_id.get(value)
            if target is not None:
                found.append((f"{parent}.{key}" if parent else key, target))
        elif kind is dict:
            path = f"{parent}.{key}" if parent else key
            stack.extend((path, child, item) for child, item in value.items())
        elif kind is list:
            stack.extend((parent, key, item) for item in value)
    return found


# -- configuration expressions ---------------------------------------------------------


_EXPRESSION_KEYS = frozenset({"constant_value", "references"})


def is_expression(value: Any) -> bool:
    return isinstance(value, dict) and value.keys() <= _EXPRESSION_KEYS  # no set per call


def expression_references(expressions: Mapping[str, Any]
                          ) -> list[tuple[str, tuple[str, ...]]]:
    """(dotted attribute path, references) for every expression, nested blocks included."""
    references: list[tuple[str, tuple[str, ...]]] = []
    read_expressions(expressions, "", [], references)
    return references


def read_expressions(expressions: Mapping[str, Any], path: str, configured: list[str],
                     references: list[tuple[str, tuple[str, ...]]]) -> None:
    """One walk of a configuration block: what it sets and what its expressions name.

    `configured` gets every attribute path it sets (nested blocks included, indices
    dropped), `references` the (path, references) of every expression that has some.
    """
    for name, expression in expressions.items():
        child = f"{path}.{name}" if path else name
        configured.append(child)
        if is_expression(expression):
            refs = expression.get("references")
            if isinstance(refs, list) and refs:
                references.append((child, tuple(map(str, refs))))
        elif isinstance(expression, dict):
            read_expressions(expression, child, configured, references)
        elif isinstance(expression, list):
            for block in expression:
                if isinstance(block, dict):
                    read_expressions(block, child, configured, references)


# -- addresses -------------------------------------------------------------------------


@functools.lru_cache(maxsize=65_536)
def module_of(address: str) -> str:
    """`module.a[0].module.b.aws_x.y` -> `module.a[0].module.b`."""
    if not address.startswith("module."):
        return ""
    parts = split_address(address)
    module: list[str] = []
    position = 0
    while position + 1 < len(parts) and parts[position] == "module":
        module.extend(parts[position:position + 2])
        position += 2
    return ".".join(module)


def module_instance_prefixes(module: str) -> Iterator[str]:
    parts = split_address(module) if module else []
    for end in range(2, len(parts) + 1, 2):
        yield ".".join(parts[:end])


@functools.lru_cache(maxsize=65_536)
def module_parent(module_instance: str) -> str:
    parts = split_address(module_instance)
    return ".".join(parts[:-2])


@functools.lru_cache(maxsize=65_536)
def module_call_name(module_instance: str) -> str:
    last = split_address(module_instance)[-1]
    return last.split("[", 1)[0]


@functools.lru_cache(maxsize=65_536)
def module_key(module_instance: str) -> int | str | None:
    last = split_address(module_instance)[-1]
    match = KEY.search(last)
    return parse_key(match.group(1)) if match else None


def _local_address(resource: Resource) -> str:
    """The configuration address inside its module: `aws_subnet.private`."""
    local = resource.address[len(resource.module) + 1:] if resource.module else resource.address
    return strip_instance_keys(local)


def _as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


__all__ = [
    "KEY",
    "ModuleConfig",
    "PlanResolver",
    "Ref",
    "expression_references",
    "is_expression",
    "link_known_ids",
    "module_call_name",
    "module_instance_prefixes",
    "module_key",
    "module_of",
    "module_parent",
    "parse_key",
    "parse_reference",
    "read_expressions",
    "settle_with_configuration",
]

