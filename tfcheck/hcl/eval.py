"""The expression evaluator: terraform's plan-time semantics over `tfcheck.hcl.ast`.

Everything is evaluated lazily and memoised: a module instance's variables, locals and
outputs, a resource's instances (count / for_each) and each instance's attributes are
computed the first time something refers to them. Re-entering something still being
computed is a cycle and evaluates to `Unknown`, never a crash.

Two channels record what an expression refers to, so the graph gets its edges even
where values are unknown:

- a *sink*: the instance addresses whose attributes the expression read, directly or
  through a variable, local or module output used whole;
- the references of the `Unknown` leaves of the value (`aws_subnet.private[1].id` is
  `Unknown(..., ("aws_subnet.private[1]",))`), which keep their precision through
  `each.value`, indexing and function calls.

Hostile input is bounded: a global step budget, a nesting limit, size limits on
strings and collections, and a cap on instances per resource.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tfcheck.hcl.ast import (
    Binary,
    Block,
    Body,
    Call,
    Conditional,
    Expr,
    ForExpr,
    GetAttr,
    Index,
    Invalid,
    Literal,
    Name,
    ObjectExpr,
    Splat,
    SplatItem,
    Template,
    TemplateFor,
    TemplateIf,
    TemplatePart,
    TupleExpr,
    Unary,
    body_lines,
    expression_text,
)
from tfcheck.hcl.functions import call_function
from tfcheck.hcl.modules import ModuleCallDef, ModuleDef, ResourceDef
from tfcheck.hcl.values import (
    MAX_STRING,
    EvalError,
    InstanceDict,
    as_int,
    check_size,
    equals,
    is_marked,
    is_number,
    merge_unknowns,
    normal_number,
    partial_of,
    plain,
    scalar_texts,
    sort_set,
    to_bool,
    to_number,
    to_str,
    type_name,
    unknown_in,
    unmark,
    with_partial,
)
from tfcheck.model import InputError, Sensitive, Unknown, instance_suffix
from tfcheck.safe_io import ReadRefused, read_bytes, resolve_inside

MAX_STEPS = 500_000
MAX_DEPTH = 300  # Python frames per level are few; RECURSION_LIMIT leaves room
MAX_SENSITIVE_TEXTS = 10_000
MAX_INSTANCES = 1_000
MAX_TEMPLATE_DEPTH = 4
MAX_FILE_READ = 1_000_000

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NOT_SET = object()
RESOURCE_META = frozenset({"count", "for_each", "provider", "depends_on"})
RESOURCE_META_BLOCKS = frozenset({"lifecycle", "provisioner", "connection"})
MODULE_META = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})


class _Budget(EvalError):
    """The step budget or nesting bound ran out: an input error, not just an unknown."""


SENSITIVE_FOR_EACH = (
    "sensitive values, or values derived from sensitive values, cannot be used as "
    "for_each arguments (they would be exposed as instance keys)"
)
_STEPS_EXHAUSTED = f"evaluation budget of {MAX_STEPS} steps exhausted (configuration too large)"
_HIDDEN = "cannot be evaluated (its operands are sensitive: the error is not shown)"


# -- instances and scopes -----------------------------------------------------------


@dataclass(eq=False)
class ModuleInstance:
    """One instance of a module: the root, `module.vpc`, `module.x["a"].module.y`."""

    path: str
    definition: ModuleDef | None
    parent: ModuleInstance | None = None
    call: ModuleCallDef | None = None
    parent_scope: Scope | None = None  # the caller's scope, with count.index / each
    missing: str = ""  # why `definition` is None
    providers: dict[str, str] = field(default_factory=dict)

    def child_path(self, name: str, key: int | str | None) -> str:
        own = f"module.{name}{instance_suffix(key)}"
        return f"{self.path}.{own}" if self.path else own

    def address(self, local: str) -> str:
        return f"{self.path}.{local}" if self.path else local


class Scope:
    """Where an expression is evaluated: its module instance, count/each, local names."""

    __slots__ = ("count_index", "each_key", "each_value", "module", "names")

    def __init__(
        self,
        module: ModuleInstance,
        count_index: Any = _NOT_SET,
        each_key: Any = _NOT_SET,
        each_value: Any = _NOT_SET,
        names: Mapping[str, Any] = _EMPTY,
    ) -> None:
        self.module = module
        self.count_index = count_index
        self.each_key = each_key
        self.each_value = each_value
        self.names = names

    def with_names(self, **names: Any) -> Scope:
        merged = dict(self.names)
        merged.update(names)
        return Scope(self.module, self.count_index, self.each_key, self.each_value, merged)


@dataclass(frozen=True)
class InstanceInfo:
    """One expanded resource instance (or the placeholder of an unknown expansion)."""

    address: str
    key: int | str | None
    scope: Scope
    resource: ResourceDef
    placeholder: bool = False


@dataclass
class EvaluatedInstance:
    values: dict[str, Any]
    configured: frozenset[str]
    attribute_lines: dict[str, int]
    edges: list[tuple[str, str]]  # (attribute path, target address)


class ModuleRef:
    """A module instance as a value: its outputs are evaluated when read."""

    __slots__ = ("evaluator", "instance")

    def __init__(self, evaluator: Evaluator, instance: ModuleInstance) -> None:
        self.evaluator = evaluator
        self.instance = instance

    def output(self, name: str, replay: bool) -> Any:
        return self.evaluator.output(self.instance, name, replay)

    def materialize(self) -> dict[str, Any]:
        definition = self.instance.definition
        names = sorted(definition.outputs) if definition else []
        return {name: self.output(name, True) for name in names}


# -- the evaluator ------------------------------------------------------------------


class Evaluator:
    """Evaluates one configuration (a tree of `ModuleDef`) with root variable values."""

    def __init__(
        self,
        root_module: ModuleDef,
        root_path: Path,
        allowed_dirs: set[Path],
        root_variables: Mapping[str, Any],
        notes: list[str],
    ) -> None:
        self.root_path = root_path
        self.allowed_dirs = allowed_dirs
        self.root_variables = dict(root_variables)
        self.notes = notes
        # Texts of sensitive values and of everything derived from them: redacted.
        self.sensitive_values: set[str] = set()
        # Input errors found while evaluating (budget exhausted, sensitive for_each).
        self.errors: list[InputError] = []
        self._marks = False  # whether any value was marked sensitive yet
        self._exhausted_at = False  # whether a budget error was reported
        self._file = ""  # the file of the expression being evaluated (for errors)
        self.root = ModuleInstance("", root_module)
        self.root.providers = _root_providers(root_module)
        # provider config key -> (its block, the module instance it is written in)
        self.provider_blocks: dict[str, tuple[Block, ModuleInstance]] = {
            key: (block, self.root)
            for block, _ in root_module.providers
            for key in [_provider_local_key(block)]
        }
        self._memo: dict[tuple[str, ...], Any] = {}
        self._active: set[tuple[str, ...]] = set()
        self._sink: set[str] | None = None
        self._splat: list[Any] = []
        self._steps = 0
        self._depth = 0
        self._template_depth = 0
        self._noted: set[str] = set()

    # -- public ---------------------------------------------------------------------

    def evaluate(self, expr: Expr, scope: Scope, *, finish: bool = True) -> tuple[Any, set[str]]:
        """Value of one top-level expression and the addresses it read (never raises).

        `finish=False` keeps instance objects as they are (a `for_each` over resources
        hands each instance on as `each.value`).
        """
        outer = self._sink
        self._sink = set()
        try:
            value = self.eval(expr, scope)
            if finish:
                value = self._finish(value)
        except _Budget as exc:
            value = Unknown(str(exc))
        except EvalError as exc:
            value = Unknown(str(exc))
        except RecursionError:
            self.input_error("expression nested too deeply", expr.line)
            value = Unknown("expression nested too deeply")
        except (
            TypeError,
            ValueError,
            KeyError,
            IndexError,
            AttributeError,
            ArithmeticError,
        ) as exc:
            # an evaluator gap must cost one value, not the whole scan
            value = Unknown(f"cannot evaluate this expression ({type(exc).__name__})")
        finally:
            refs = self._sink
            self._sink = outer
        return value, refs

    def module_instances(self, parent: ModuleInstance, name: str) -> list[ModuleInstance]:
        key = ("modules", parent.path, name)
        if key in self._memo:
            return list(self._memo[key])
        if key in self._active or parent.definition is None:
            return []
        call = parent.definition.calls.get(name)
        if call is None:
            return []
        self._active.add(key)
        file = self._file
        try:
            instances = self._expand_module(parent, call)
        finally:
            self._file = file
            self._active.discard(key)
        self._memo[key] = instances
        return list(instances)

    def resource_instances(
        self, module: ModuleInstance, resource: ResourceDef
    ) -> list[InstanceInfo]:
        key = ("resources", module.path, resource.address)
        if key in self._memo:
            return list(self._memo[key])
        if key in self._active:
            raise EvalError(f"{module.address(resource.address)} depends on itself")
        self._active.add(key)
        file = self._file
        try:
            infos = self._expand_resource(module, resource)
        finally:
            self._file = file
            self._active.discard(key)
        self._memo[key] = infos
        return list(infos)

    def instance(self, info: InstanceInfo) -> EvaluatedInstance:
        key = ("instance", info.address)
        if key in self._memo:
            result: EvaluatedInstance = self._memo[key]
            return result
        if key in self._active:
            raise EvalError(f"{info.address} depends on itself")
        self._active.add(key)
        outer = self._sink
        file = self._file
        try:
            self._sink = None
            evaluated = self._evaluate_instance(info)
        finally:
            self._sink = outer
            self._file = file
            self._active.discard(key)
        self._memo[key] = evaluated
        return evaluated

    def provider_key(self, module: ModuleInstance, local: str) -> str:
        """A module-local provider reference (`aws`, `aws.west`) as a global config key."""
        return module.providers.get(local) or module.providers.get(local.split(".")[0]) or local

    def input_error(
        self, message: str, line: int | None, column: int | None = None, file: str = ""
    ) -> None:
        """An input error at a position (reported once per message and place)."""
        error = InputError(file or self._file or ".", message, line or None, column)
        if error not in self.errors and len(self.errors) < 100:
            self.errors.append(error)

    def _exhausted(self, message: str, expr: Expr) -> _Budget:
        """The bound ran out here: one input error at the innermost expression."""
        if not self._exhausted_at:
            self._exhausted_at = True
            self.input_error(message, expr.line)
        return _Budget(message)

    def mark(self, value: Any) -> Any:
        """`value` marked sensitive; its texts join the ones every output hides."""
        if isinstance(value, Sensitive | Unknown):
            return value
        self._marks = True
        if len(self.sensitive_values) < MAX_SENSITIVE_TEXTS:
            self.sensitive_values.update(scalar_texts(value, 1_000))
        return Sensitive(value)

    def note(self, text: str) -> None:
        if text not in self._noted:
            self._noted.add(text)
            self.notes.append(text)

    # -- named values -----------------------------------------------------------------

    def _named(
        self, key: tuple[str, ...], compute: Callable[[], Any], replay: bool, what: str
    ) -> Any:
        """A memoised value with its own sink; replays that sink when used whole."""
        if key in self._memo:
            value, refs = self._memo[key]
        elif key in self._active:
            return Unknown(f"{what} refers to itself (cycle)")
        else:
            self._active.add(key)
            outer = self._sink
            self._sink = set()
            depth = self._depth
            file = self._file
            try:
                value = compute()
            except _Budget:
                raise
            except EvalError as exc:
                value = Unknown(str(exc))
            finally:
                refs = self._sink
                self._sink = outer
                self._depth = depth
                self._file = file
                self._active.discard(key)
            self._memo[key] = (value, refs)
        if replay and self._sink is not None:
            self._sink.update(refs)
        return value

    def _eval_in(self, file: str, expr: Expr, scope: Scope, sensitive: bool = False) -> Any:
        self._file = file
        value = self.eval(expr, scope)
        return self.mark(value) if sensitive else value

    def variable(self, module: ModuleInstance, name: str, replay: bool = True) -> Any:
        if module.definition is None or name not in module.definition.variables:
            raise EvalError(f"variable {name} is not declared")
        return self._named(
            ("var", module.path, name),
            lambda: self._variable(module, name),
            replay,
            f"var.{name}",
        )

    def _variable(self, module: ModuleInstance, name: str) -> Any:
        definition = module.definition
        declared = definition.variables.get(name) if definition else None
        if declared is None:
            raise EvalError(f"variable {name} is not declared")
        block = declared[0]
        if module.parent is None:
            self._file = declared[1]
        elif module.call is not None:
            self._file = module.call.file
        type_expr = block.body.attributes.get("type")
        if module.parent is None:
            if name in self.root_variables:
                value = self.root_variables[name]
            elif "default" in block.body.attributes:
                value = self.eval(block.body.attributes["default"].expr, Scope(module))
            else:
                return Unknown(f"var.{name} has no value: pass it with --var or --var-file")
        else:
            argument = module.call.block.body.attributes.get(name) if module.call else None
            if argument is not None and name not in MODULE_META:
                assert module.parent_scope is not None
                value = self.eval(argument.expr, module.parent_scope)
                nullable = block.body.attributes.get("nullable")
                if (
                    value is None
                    and nullable is not None
                    and isinstance(nullable.expr, Literal)
                    and nullable.expr.value is False
                    and "default" in block.body.attributes
                ):
                    value = self.eval(block.body.attributes["default"].expr, Scope(module))
            elif "default" in block.body.attributes:
                value = self.eval(block.body.attributes["default"].expr, Scope(module))
            else:
                return Unknown(f"module input {name} of {module.path} is not set")
        if type_expr is not None:
            value = convert(value, type_expr.expr, self, Scope(module))
        if _declared_sensitive(block):
            return self.mark(value)
        return value

    def local(self, module: ModuleInstance, name: str, replay: bool = True) -> Any:
        definition = module.definition
        found = definition.locals.get(name) if definition else None
        if found is None:
            raise EvalError(f"local.{name} is not defined")
        attribute, file = found
        return self._named(
            ("local", module.path, name),
            lambda: self._eval_in(file, attribute.expr, Scope(module)),
            replay,
            f"local.{name}",
        )

    def output(self, module: ModuleInstance, name: str, replay: bool = True) -> Any:
        definition = module.definition
        if definition is None:
            return Unknown(module.missing or f"{module.path} is not on disk")
        found = definition.outputs.get(name)
        if found is None:
            raise EvalError(f"{module.path} has no output {name}")
        block, file = found
        value_attr = block.body.attributes.get("value")
        if value_attr is None:
            return None
        expr = value_attr.expr
        sensitive = _declared_sensitive(block)
        return self._named(
            ("output", module.path, name),
            lambda: self._eval_in(file, expr, Scope(module), sensitive),
            replay,
            f"{module.path}.{name}",
        )

    # -- expansion --------------------------------------------------------------------

    def _expand_module(self, parent: ModuleInstance, call: ModuleCallDef) -> list[ModuleInstance]:
        assert parent.definition is not None
        definition = parent.definition.children.get(call.name)
        missing = parent.definition.missing.get(call.name, "")
        if definition is None and missing:
            self.note(missing)
        base = Scope(parent)
        instances = []
        for key, scope in self._expansion(
            call.block.body, base, parent.child_path(call.name, None), call.file
        ):
            if key is _PLACEHOLDER:
                path = parent.child_path(call.name, None)
            else:
                path = parent.child_path(call.name, key)
            child = ModuleInstance(path, definition, parent, call, scope, missing)
            child.providers = self._module_providers(parent, call, definition, path)
            for block, _ in definition.providers if definition else ():
                self.provider_blocks[f"{path}:{_provider_local_key(block)}"] = (block, child)
            instances.append(child)
        return instances

    def _module_providers(
        self,
        parent: ModuleInstance,
        call: ModuleCallDef,
        definition: ModuleDef | None,
        path: str,
    ) -> dict[str, str]:
        mapping: dict[str, str] = {}
        # implicit inheritance of the default (unaliased) configurations
        for local, target in parent.providers.items():
            if "." not in local:
                mapping[local] = target
        explicit = call.block.body.attributes.get("providers")
        if explicit is not None and isinstance(explicit.expr, ObjectExpr):
            for key_expr, value_expr in explicit.expr.items:
                written = traversal_text(key_expr)
                chosen = traversal_text(value_expr)
                if written and chosen:
                    mapping[written] = self.provider_key(parent, chosen)
        for block, _ in definition.providers if definition else ():
            local = _provider_local_key(block)
            mapping[local] = f"{path}:{local}"
        return mapping

    def _expand_resource(self, module: ModuleInstance, resource: ResourceDef) -> list[InstanceInfo]:
        base = Scope(module)
        infos = []
        local = resource.address
        expansion = self._expansion(resource.block.body, base, module.address(local), resource.file)
        for key, scope in expansion:
            if key is _PLACEHOLDER:
                infos.append(InstanceInfo(module.address(local), None, scope, resource, True))
            else:
                address = module.address(local) + instance_suffix(key)
                infos.append(InstanceInfo(address, key, scope, resource))
        return infos

    def _expansion(
        self, body: Body, base: Scope, what: str, file: str
    ) -> Iterator[tuple[Any, Scope]]:
        """(instance key, scope) pairs for a block's count / for_each."""
        count_attr = body.attributes.get("count")
        each_attr = body.attributes.get("for_each")
        self._file = file
        if count_attr is not None:
            value, refs = self.evaluate(count_attr.expr, base)
            value = unmark(value)  # terraform accepts a sensitive count
            if isinstance(value, Unknown):
                reason = f"count of {what} is not known: {value.reason}"
                unknown = Unknown(reason, tuple(dict.fromkeys((*value.references, *refs))))
                yield _PLACEHOLDER, Scope(base.module, count_index=unknown)
                return
            try:
                count = as_int(value, "count")
            except EvalError as exc:
                yield _PLACEHOLDER, Scope(base.module, count_index=Unknown(str(exc)))
                return
            if count > MAX_INSTANCES:
                self.note(f"{what}: count {count} is above {MAX_INSTANCES}; not expanded")
                yield (
                    _PLACEHOLDER,
                    Scope(base.module, count_index=Unknown(f"count of {what} is too large")),
                )
                return
            for index in range(max(0, count)):
                yield index, Scope(base.module, count_index=index)
            return
        if each_attr is not None:
            value, refs = self.evaluate(each_attr.expr, base, finish=False)
            if isinstance(value, Sensitive) or (
                isinstance(value, list) and any(isinstance(v, Sensitive) for v in value)
            ):
                # terraform rejects it: the keys would print the secret in every address
                self.input_error(
                    f"invalid for_each argument of {what}: {SENSITIVE_FOR_EACH}",
                    each_attr.line,
                    each_attr.column,
                    file,
                )
                unknown = Unknown(f"for_each of {what} is sensitive")
                yield _PLACEHOLDER, Scope(base.module, each_key=unknown, each_value=unknown)
                return
            pairs = _for_each_pairs(value)
            if isinstance(pairs, Unknown):
                reason = f"for_each of {what} is not known: {pairs.reason}"
                unknown = Unknown(reason, tuple(dict.fromkeys((*pairs.references, *refs))))
                yield _PLACEHOLDER, Scope(base.module, each_key=unknown, each_value=unknown)
                return
            if len(pairs) > MAX_INSTANCES:
                self.note(f"{what}: for_each over {len(pairs)} keys; not expanded")
                unknown = Unknown(f"for_each of {what} is too large")
                yield _PLACEHOLDER, Scope(base.module, each_key=unknown, each_value=unknown)
                return
            for key, item in pairs:
                yield key, Scope(base.module, each_key=key, each_value=item)
            return
        yield None, base

    # -- resource instances -----------------------------------------------------------

    def _evaluate_instance(self, info: InstanceInfo) -> EvaluatedInstance:
        self._file = info.resource.file
        values: dict[str, Any] = {}
        configured: set[str] = set()
        lines: dict[str, int] = {}
        edges: list[tuple[str, str]] = []
        self._body(
            info.resource.block.body, info.scope, "", values, configured, lines, edges, top=True
        )
        return EvaluatedInstance(values, frozenset(configured), lines, edges)

    def _body(
        self,
        body: Body,
        scope: Scope,
        prefix: str,
        values: dict[str, Any],
        configured: set[str],
        lines: dict[str, int],
        edges: list[tuple[str, str]],
        *,
        top: bool = False,
    ) -> None:
        for name, attribute in body.attributes.items():
            if top and name in RESOURCE_META:
                continue
            path = prefix + name
            lines.setdefault(path, attribute.line)
            value, refs = self.evaluate(attribute.expr, scope)
            targets = dict.fromkeys(refs)
            for unknown in unknown_in(value):
                targets.update(dict.fromkeys(unknown.references))
            edges.extend((path, target) for target in targets)
            if value is None or (isinstance(value, Sensitive) and value.value is None):
                continue  # null: the argument is unset
            values[name] = value
            configured.add(path)
        for block in body.blocks:
            if top and block.type in RESOURCE_META_BLOCKS:
                continue
            if block.type == "dynamic" and block.labels:
                self._dynamic(block, scope, prefix, values, configured, lines, edges)
                continue
            path = prefix + block.type
            lines.setdefault(path, block.line)
            nested: dict[str, Any] = {}
            self._body(block.body, scope, path + ".", nested, configured, lines, edges)
            existing = values.setdefault(block.type, [])
            if isinstance(existing, list):
                existing.append(nested)
            configured.add(path)

    def _dynamic(
        self,
        block: Block,
        scope: Scope,
        prefix: str,
        values: dict[str, Any],
        configured: set[str],
        lines: dict[str, int],
        edges: list[tuple[str, str]],
    ) -> None:
        name = block.labels[0]
        path = prefix + name
        lines.setdefault(path, block.line)
        iterator_attr = block.body.attributes.get("iterator")
        iterator = name
        if iterator_attr is not None and isinstance(iterator_attr.expr, Name):
            iterator = iterator_attr.expr.name
        content = next((b for b in block.body.blocks if b.type == "content"), None)
        each_attr = block.body.attributes.get("for_each")
        if content is None or each_attr is None:
            return
        collection, refs = self.evaluate(each_attr.expr, scope, finish=False)
        marked = isinstance(collection, Sensitive)
        pairs = _dynamic_pairs(unmark(collection) if marked else collection)
        if isinstance(pairs, Unknown):
            unknown = Unknown(
                f"dynamic block {name} iterates over an unknown collection: {pairs.reason}",
                tuple(dict.fromkeys((*pairs.references, *refs))),
            )
            values[name] = unknown
            configured.add(path)
            edges.extend((path, target) for target in unknown.references)
            configured.update(p for p, _ in body_lines(content.body, path + "."))
            return
        if not pairs:
            return
        existing = values.setdefault(name, [])
        configured.add(path)
        for key, item in pairs:
            if marked:
                key, item = self.mark(key), self.mark(item)
            inner_scope = scope.with_names(**{iterator: {"key": key, "value": item}})
            nested: dict[str, Any] = {}
            self._body(content.body, inner_scope, path + ".", nested, configured, lines, edges)
            if isinstance(existing, list):
                existing.append(nested)

    # -- expressions ------------------------------------------------------------------

    def eval(self, expr: Expr, scope: Scope, narrowed: bool = False) -> Any:
        self._steps += 1
        if self._steps > MAX_STEPS:
            raise self._exhausted(_STEPS_EXHAUSTED, expr)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise self._exhausted("expression nested too deeply", expr)
            return self._eval(expr, scope, narrowed)
        finally:
            self._depth -= 1

    def _eval(self, expr: Expr, scope: Scope, narrowed: bool) -> Any:
        kind = type(expr)
        if kind is Literal:
            return expr.value  # type: ignore[attr-defined]
        if kind is GetAttr:
            return self._get_attr(expr, scope, narrowed)  # type: ignore[arg-type]
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise EvalError(f"unsupported expression {kind.__name__}")
        return handler(self, expr, scope)

    def _tuple(self, expr: TupleExpr, scope: Scope) -> Any:
        return check_size([self._placeholder(self.eval(item, scope), item) for item in expr.items])

    def _template_expr(self, expr: Template, scope: Scope) -> Any:
        return self._template(expr.parts, scope, whole=True)

    def _splat_item(self, expr: SplatItem, scope: Scope) -> Any:
        if not self._splat:
            raise EvalError("splat item outside a splat")
        return self._splat[-1]

    def _invalid(self, expr: Invalid, scope: Scope) -> Any:
        raise EvalError(expr.reason)

    def _finish(self, value: Any) -> Any:
        """A value as it is stored: module objects read, instance objects plain."""
        if isinstance(value, ModuleRef):
            return self._finish(value.materialize())
        if isinstance(value, Sensitive):
            return Sensitive(self._finish(value.value))
        if isinstance(value, InstanceDict):
            if self._sink is not None:
                self._sink.add(value.address)
            return plain(value)
        if isinstance(value, dict):
            return {k: self._finish(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._finish(v) for v in value]
        return value

    def _name(self, expr: Name, scope: Scope) -> Any:
        if expr.name in scope.names:
            return scope.names[expr.name]
        if expr.name in ("var", "local", "module", "data", "count", "each", "path", "self"):
            raise EvalError(f"{expr.name} cannot be used on its own")
        raise EvalError(f"unknown name {expr.name}")

    def _get_attr(self, expr: GetAttr, scope: Scope, narrowed: bool) -> Any:
        obj = expr.obj
        if isinstance(obj, Name) and obj.name not in scope.names:
            special = self._root_attr(obj.name, expr.name, scope, narrowed)
            if special is not _NOT_SET:
                return special
        if (
            isinstance(obj, GetAttr)
            and isinstance(obj.obj, Name)
            and obj.obj.name == "data"
            and "data" not in scope.names
        ):
            return self._resource_collection(scope.module, f"data.{obj.name}.{expr.name}")
        value = self.eval(obj, scope, True)
        return self.attribute(value, expr.name, replay=not narrowed)

    def attribute(self, value: Any, name: str, replay: bool = True) -> Any:
        if isinstance(value, Sensitive):
            return self.mark(self._hidden(lambda: self.attribute(value.value, name, replay)))
        if isinstance(value, InstanceDict):
            if self._sink is not None:
                self._sink.add(value.address)
            return value.attribute(name)
        if isinstance(value, ModuleRef):
            return value.output(name, replay)
        if isinstance(value, dict):
            if name in value:
                return value[name]
            raise EvalError(f"object has no attribute {name!r}")
        if isinstance(value, Unknown):
            return value
        if value is None:
            raise EvalError(f"attribute {name!r} of a null value")
        raise EvalError(f"cannot read attribute {name!r} of a {type_name(value)}")

    def _root_attr(self, root: str, name: str, scope: Scope, narrowed: bool) -> Any:
        module = scope.module
        if root == "var":
            return self.variable(module, name, replay=not narrowed)
        if root == "local":
            return self.local(module, name, replay=not narrowed)
        if root == "module":
            return self._module_value(module, name)
        if root == "count":
            if name != "index" or scope.count_index is _NOT_SET:
                raise EvalError("count.index is only available where count is set")
            return scope.count_index
        if root == "each":
            if scope.each_key is _NOT_SET:
                raise EvalError("each is only available where for_each is set")
            if name == "key":
                return scope.each_key
            if name == "value":
                return scope.each_value
            raise EvalError(f"each has no attribute {name}")
        if root == "path":
            if name == "module":
                return module.definition.display_dir if module.definition else "."
            if name in ("root", "cwd"):
                return "."
            raise EvalError(f"path has no attribute {name}")
        if root == "terraform":
            if name == "workspace":
                return "default"
            raise EvalError(f"terraform has no attribute {name}")
        if root == "self":
            return Unknown("self is only known at apply time")
        if root == "data":
            return _NOT_SET
        if module.definition is not None and f"{root}.{name}" in module.definition.resources:
            return self._resource_collection(module, f"{root}.{name}")
        if "_" in root:
            raise EvalError(f"reference to undeclared resource {root}.{name}")
        return _NOT_SET

    def _module_value(self, module: ModuleInstance, name: str) -> Any:
        definition = module.definition
        if definition is None or name not in definition.calls:
            raise EvalError(f"module {name} is not declared")
        call = definition.calls[name]
        instances = self.module_instances(module, name)
        body = call.block.body
        if "count" in body.attributes or "for_each" in body.attributes:
            if len(instances) == 1 and instances[0].path == module.child_path(name, None):
                return Unknown(
                    f"the instances of module.{name} are not known",
                    (),
                )
            if "count" in body.attributes:
                return [ModuleRef(self, i) for i in instances]
            return {_last_key(i.path): ModuleRef(self, i) for i in instances}
        if not instances:
            return Unknown(f"module.{name} cannot be evaluated")
        return ModuleRef(self, instances[0])

    def _resource_collection(self, module: ModuleInstance, local: str) -> Any:
        definition = module.definition
        resource = definition.resources.get(local) if definition else None
        if resource is None:
            raise EvalError(f"reference to undeclared resource {local}")
        infos = self.resource_instances(module, resource)
        body = resource.block.body
        if len(infos) == 1 and infos[0].placeholder:
            info = infos[0]
            reason = f"the instances of {info.address} are not known"
            return Unknown(reason, (info.address,))
        objects = [(info, self._instance_object(info)) for info in infos]
        if "count" in body.attributes:
            return [obj for _, obj in objects]
        if "for_each" in body.attributes:
            return {str(info.key): obj for info, obj in objects}
        if not objects:
            raise EvalError(f"{module.address(local)} has no instances")
        return objects[0][1]

    def _instance_object(self, info: InstanceInfo) -> Any:
        if info.resource.mode == "data":
            values: dict[str, Any] = {}
            if info.resource.type == "aws_region":
                values = self._region_data(info)
            source = "AWS" if info.resource.type.startswith("aws_") else (
                f"the {info.resource.type.split('_', 1)[0]} provider"
            )
            return InstanceDict(
                info.address,
                values,
                "{address} is read from " + source + ": its {name} is known at plan time",
            )
        try:
            evaluated = self.instance(info)
        except EvalError as exc:
            return Unknown(str(exc), (info.address,))
        missing = "{address}.{name} is known only after apply"
        return InstanceDict(
            info.address,
            {k: _computed_blocks(info.address, v, missing) for k, v in evaluated.values.items()},
            missing,
        )

    def _region_data(self, info: InstanceInfo) -> dict[str, Any]:
        """`data.aws_region` without arguments names its provider's region."""
        body = info.resource.block.body
        for argument in ("name", "region"):
            if argument in body.attributes:
                value, _ = self.evaluate(body.attributes[argument].expr, info.scope)
                value = unmark(value)
                if isinstance(value, str):
                    return {"name": value, "region": value, "id": value}
                return {}
        local = "aws"
        provider_attr = body.attributes.get("provider")
        if provider_attr is not None:
            local = traversal_text(provider_attr.expr) or local
        region = self.provider_region(self.provider_key(info.scope.module, local))
        if isinstance(region, str):
            return {"name": region, "region": region, "id": region}
        return {}

    def provider_region(self, key: str) -> str | Unknown | None:
        """The evaluated `region` of a provider configuration; None where none is written."""
        found = self.provider_blocks.get(key)
        if found is None:
            return None
        block, module = found
        region_attr = block.body.attributes.get("region")
        if region_attr is None and block.labels[:1] != ("aws",):
            return None  # only AWS providers have a region
        if region_attr is None:
            return Unknown(
                f"provider {key} sets no region: it comes from AWS_REGION or the AWS profile"
            )
        region = self._named(
            ("provider", key),
            lambda: self.eval(region_attr.expr, Scope(module)),
            False,
            f"provider {key} region",
        )
        region = unmark(region)
        if isinstance(region, str | Unknown):
            return region
        return Unknown(f"provider {key} region is not a string")

    def provider_settings(self, key: str) -> tuple[dict[str, Any], tuple[str, ...]]:
        """A provider block's evaluated arguments and everything it refers to.

        Workloads belong to the cluster their kubernetes/helm provider points at
        (`host = aws_eks_cluster.main.endpoint`): the references say which.
        """
        found = self.provider_blocks.get(key)
        if found is None:
            return {}, ()
        block, module = found
        values: dict[str, Any] = {}
        edges: list[tuple[str, str]] = []
        self._body(block.body, Scope(module), "", values, set(), {}, edges)
        return values, tuple(dict.fromkeys(target for _, target in edges))

    def _index(self, expr: Index, scope: Scope) -> Any:
        collection = self.eval(expr.obj, scope, True)
        key = self.eval(expr.key, scope)
        if isinstance(collection, Sensitive) or isinstance(key, Sensitive):
            bare_collection, bare_key = _bare(collection), _bare(key)
            return self.mark(self._hidden(lambda: self.index(bare_collection, bare_key)))
        return self.index(collection, key)

    def _hidden(self, compute: Callable[[], Any]) -> Any:
        """`compute()` on sensitive operands: its error must not quote them."""
        try:
            return compute()
        except _Budget:
            raise
        except EvalError:
            raise EvalError(_HIDDEN) from None

    def index(self, collection: Any, key: Any) -> Any:
        if isinstance(collection, Unknown):
            return collection
        if isinstance(key, Unknown) or unknown_in(key):
            return self._unknown_pick(collection, key)
        if isinstance(collection, list):
            position = as_int(key, "a list index")
            if not 0 <= position < len(collection):
                raise EvalError(f"index {position} out of range for {len(collection)} elements")
            return collection[position]
        if isinstance(collection, InstanceDict | ModuleRef):
            return self.attribute(collection, to_str(key))
        if isinstance(collection, dict):
            text = to_str(key)
            if text not in collection:
                raise EvalError(f"no key {text!r}")
            return collection[text]
        if collection is None:
            raise EvalError("cannot index a null value")
        raise EvalError(f"cannot index a {type_name(collection)}")

    def _unknown_pick(self, collection: Any, key: Any) -> Unknown:
        """An unknown key into a collection: unknown, referring to every element."""
        unknowns = unknown_in(key)
        refs: list[str] = []
        items = collection.values() if isinstance(collection, dict) else collection
        if isinstance(items, list) or isinstance(collection, dict):
            for item in items:
                if isinstance(item, InstanceDict):
                    refs.append(item.address)
                else:
                    unknowns.extend(unknown_in(item))
        merged = merge_unknowns(unknowns)
        return Unknown(merged.reason, tuple(dict.fromkeys((*refs, *merged.references))))

    def _splat_expr(self, expr: Splat, scope: Scope) -> Any:
        value = self.eval(expr.obj, scope, True)
        if isinstance(value, Sensitive):
            return self.mark(self._hidden(lambda: self._splat_over(expr, value.value, scope)))
        return self._splat_over(expr, value, scope)

    def _splat_over(self, expr: Splat, value: Any, scope: Scope) -> Any:
        if isinstance(value, Unknown):
            return value
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            if isinstance(item, Unknown):
                out.append(item)
                continue
            self._splat.append(item)
            try:
                out.append(self.eval(expr.each, scope))
            finally:
                self._splat.pop()
        return out

    def _object(self, expr: ObjectExpr, scope: Scope) -> Any:
        out: dict[str, Any] = {}
        unknown_keys: list[Unknown] = []
        marked = False
        for key_expr, value_expr in expr.items:
            key = self.eval(key_expr, scope)
            value = self._placeholder(self.eval(value_expr, scope), value_expr)
            if isinstance(key, Sensitive):
                marked, key = True, unmark(key)  # a sensitive key marks the whole object
            if isinstance(key, Unknown):
                unknown_keys.append(key)
                continue
            out[to_str(key)] = value
        if unknown_keys:
            return merge_unknowns([*unknown_keys, *unknown_in(out)])
        return self.mark(check_size(out)) if marked else check_size(out)

    @staticmethod
    def _placeholder(value: Any, expr: Expr) -> Any:
        """An unknown leaf keeps the expression it came from as its `${...}` text.

        `yamlencode`/`jsonencode` render unknown leaves with it, so a reader of the
        document sees which leaf is unknown and decides on the rest.
        """
        if isinstance(value, Unknown) and value.partial is None:
            text = expression_text(expr)
            if text != "..." and "..." not in text:
                return with_partial(value, "${" + text + "}")
        return value

    def _call(self, expr: Call, scope: Scope) -> Any:
        if expr.name == "try":
            return self._try(expr, scope)
        if expr.name == "can":
            return self._can(expr, scope)
        args = [self._argument(self.eval(a, scope)) for a in expr.args]
        if expr.expand_final and args:
            last = args.pop()
            if isinstance(last, Unknown):
                return last
            if not isinstance(last, list):
                raise EvalError("only a list can be expanded with ...")
            args.extend(last)
        if expr.name in ("sensitive", "nonsensitive") and len(args) == 1:
            return self.mark(args[0]) if expr.name == "sensitive" else unmark(args[0])
        if self._marks and any(is_marked(a) for a in args):
            bare = [unmark(a) for a in args]
            result = self.mark(self._hidden(lambda: call_function(expr.name, bare, _Context(self))))
        else:
            result = call_function(expr.name, args, _Context(self))
        if isinstance(result, list | dict):
            self._steps += len(result)  # building collections is work too
        elif isinstance(result, str):
            self._steps += len(result) // 64
        return result

    def _argument(self, value: Any) -> Any:
        if isinstance(value, ModuleRef):
            return value.materialize()
        if isinstance(value, list) and any(isinstance(v, ModuleRef) for v in value):
            return [self._argument(v) for v in value]
        if isinstance(value, dict) and any(isinstance(v, ModuleRef) for v in value.values()):
            return {k: self._argument(v) for k, v in value.items()}
        return value

    def _try(self, expr: Call, scope: Scope) -> Any:
        errors = []
        for argument in expr.args:
            try:
                value = self.eval(argument, scope)
            except _Budget:
                raise
            except EvalError as exc:
                errors.append(str(exc))
                continue
            return value
        raise EvalError("no argument of try() could be evaluated: " + "; ".join(errors[:3]))

    def _can(self, expr: Call, scope: Scope) -> Any:
        if len(expr.args) != 1:
            raise EvalError("can() takes one argument")
        try:
            value = self.eval(expr.args[0], scope)
        except _Budget:
            raise
        except EvalError:
            return False
        if isinstance(value, Unknown):
            return value
        return True

    def _unary(self, expr: Unary, scope: Scope) -> Any:
        value = self.eval(expr.operand, scope)
        if isinstance(value, Sensitive):
            bare = unmark(value)
            return self.mark(self._hidden(lambda: self._negate(expr.op, bare)))
        return self._negate(expr.op, value)

    @staticmethod
    def _negate(op: str, value: Any) -> Any:
        if isinstance(value, Unknown):
            return value
        if op == "-":
            return normal_number(-to_number(value))
        return not to_bool(value)

    def _binary(self, expr: Binary, scope: Scope) -> Any:
        """An operator chain, left to right without recursion (`1 + 1 + ...` 100,000 times)."""
        chain: list[Binary] = []
        node: Expr = expr
        while isinstance(node, Binary):
            chain.append(node)
            node = node.left
        value = self.eval(node, scope)
        for link in reversed(chain):
            self._steps += 1
            if self._steps > MAX_STEPS:
                raise self._exhausted(_STEPS_EXHAUSTED, link)
            value = self._apply(link, value, scope)
        return value

    def _apply(self, link: Binary, left: Any, scope: Scope) -> Any:
        op = link.op
        marked = isinstance(left, Sensitive)
        left = _bare(left)
        if op == "&&" and left is False:
            return self.mark(False) if marked else False
        if op == "||" and left is True:
            return self.mark(True) if marked else True
        right = self.eval(link.right, scope)
        if isinstance(right, Sensitive) or (
            self._marks and op in ("==", "!=") and (is_marked(left) or is_marked(right))
        ):
            marked = True
        if marked:
            bare_left, bare_right = unmark(left), unmark(right)
            return self.mark(self._hidden(lambda: self._operate(op, bare_left, bare_right)))
        return self._operate(op, left, right)

    @staticmethod
    def _operate(op: str, left: Any, right: Any) -> Any:
        if op in ("&&", "||"):
            if isinstance(left, Unknown) or isinstance(right, Unknown):
                if op == "&&" and right is False:
                    return False
                if op == "||" and right is True:
                    return True
                return merge_unknowns([v for v in (left, right) if isinstance(v, Unknown)])
            return (
                to_bool(left) and to_bool(right) if op == "&&" else to_bool(left) or to_bool(right)
            )
        if op in ("==", "!="):
            unknowns = unknown_in(left) + unknown_in(right)
            if unknowns:
                return merge_unknowns(unknowns)
            same = equals(plain(left), plain(right))
            return same if op == "==" else not same
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return merge_unknowns([v for v in (left, right) if isinstance(v, Unknown)])
        a, b = to_number(left), to_number(right)
        if op == "+":
            return normal_number(a + b)
        if op == "-":
            return normal_number(a - b)
        if op == "*":
            return normal_number(a * b)
        if op == "/":
            if b == 0:
                raise EvalError("division by zero")
            return normal_number(a / b)
        if op == "%":
            if b == 0:
                raise EvalError("modulo by zero")
            if isinstance(a, int) and isinstance(b, int):
                result = abs(a) % abs(b)
                return -result if a < 0 else result
            return normal_number(math.fmod(a, b))
        if op == "<":
            return a < b
        if op == ">":
            return a > b
        if op == "<=":
            return a <= b
        if op == ">=":
            return a >= b
        raise EvalError(f"unknown operator {op}")

    def _conditional(self, expr: Conditional, scope: Scope) -> Any:
        cond = self.eval(expr.cond, scope)
        if isinstance(cond, Sensitive):
            bare = unmark(cond)
            return self.mark(self._hidden(lambda: self._choose(expr, bare, scope)))
        return self._choose(expr, cond, scope)

    def _choose(self, expr: Conditional, cond: Any, scope: Scope) -> Any:
        if isinstance(cond, Unknown):
            branches = []
            for branch in (expr.true, expr.false):
                try:
                    branches.append(self.eval(branch, scope))
                except _Budget:
                    raise
                except EvalError:
                    continue
            if (
                len(branches) == 2
                and not unknown_in(branches[0])
                and equals(plain(branches[0]), plain(branches[1]))
            ):
                return branches[0]
            unknowns = [cond]
            for branch_value in branches:
                unknowns.extend(unknown_in(branch_value))
                if isinstance(branch_value, InstanceDict):
                    unknowns.append(Unknown(cond.reason, (branch_value.address,)))
            return merge_unknowns(unknowns, cond.reason)
        return self.eval(expr.true if to_bool(cond) else expr.false, scope)

    def _for(self, expr: ForExpr, scope: Scope) -> Any:
        collection = self._argument(self.eval(expr.collection, scope))
        if isinstance(collection, Sensitive):
            bare = unmark(collection)
            return self.mark(self._hidden(lambda: self._for_over(expr, bare, scope)))
        return self._for_over(expr, collection, scope)

    def _for_over(self, expr: ForExpr, collection: Any, scope: Scope) -> Any:
        if isinstance(collection, Unknown):
            return collection
        pairs = _iterate(collection)
        marked = False  # a sensitive key or condition marks the whole result
        tuple_out: list[Any] = []
        object_out: dict[str, Any] = {}
        unknowns: list[Unknown] = []
        for key, item in pairs:
            names = {expr.value_var: item}
            if expr.key_var is not None:
                names[expr.key_var] = key
            inner = scope.with_names(**names)
            if expr.cond is not None:
                keep = self.eval(expr.cond, inner)
                if isinstance(keep, Sensitive):
                    marked, keep = True, unmark(keep)
                if isinstance(keep, Unknown):
                    unknowns.append(keep)
                    continue
                if not to_bool(keep):
                    continue
            value = self.eval(expr.value, inner)
            if expr.key is None:
                tuple_out.append(value)
                check_size(tuple_out)
                continue
            out_key = self.eval(expr.key, inner)
            if isinstance(out_key, Sensitive):
                marked, out_key = True, unmark(out_key)
            if isinstance(out_key, Unknown):
                unknowns.append(out_key)
                continue
            text = to_str(out_key)
            if expr.grouping:
                object_out.setdefault(text, []).append(value)
            elif text in object_out:
                raise EvalError(f"duplicate key {text!r} in a for expression")
            else:
                object_out[text] = value
            check_size(object_out)
        if unknowns:
            return merge_unknowns([*unknowns, *unknown_in(tuple_out), *unknown_in(object_out)])
        result = tuple_out if expr.key is None else object_out
        return self.mark(result) if marked else result

    # -- templates --------------------------------------------------------------------

    def _template(self, parts: tuple[TemplatePart, ...], scope: Scope, whole: bool) -> Any:
        if whole and len(parts) == 1 and isinstance(parts[0], Expr):
            return self.eval(parts[0], scope)  # "${x}" keeps x's type
        out: list[str] = []
        unknowns: list[Unknown] = []
        renderable = True  # whether unknown parts can be shown as ${...} placeholders
        size = 0
        marked = False  # a sensitive part marks the whole string
        for part in parts:
            if isinstance(part, str):
                text = part
            elif isinstance(part, TemplateIf):
                cond = self.eval(part.cond, scope)
                if isinstance(cond, Sensitive):
                    marked, cond = True, unmark(cond)
                if isinstance(cond, Unknown):
                    unknowns.append(cond)
                    renderable = False
                    continue
                chosen = part.then if to_bool(cond) else part.otherwise
                piece = self._template(chosen, scope, whole=False)
                if isinstance(piece, Sensitive):
                    marked, piece = True, piece.value
                text, renderable = self._template_piece(piece, unknowns, renderable)
            elif isinstance(part, TemplateFor):
                piece = self._template_for(part, scope)
                if isinstance(piece, Sensitive):
                    marked, piece = True, piece.value
                text, renderable = self._template_piece(piece, unknowns, renderable)
            else:
                value = self.eval(part, scope)
                if self._marks and is_marked(value):
                    marked, value = True, unmark(value)
                found = unknown_in(value)
                if found:
                    unknowns.extend(found)
                    partial = partial_of(value)
                    if partial is None and not isinstance(value, Unknown):
                        renderable = False
                    text = partial if partial is not None else "${" + expression_text(part) + "}"
                else:
                    if isinstance(value, InstanceDict | ModuleRef | list | dict):
                        raise EvalError(f"cannot use a {type_name(value)} in a string template")
                    text = to_str(value)
            size += len(text)
            if size > MAX_STRING:
                raise EvalError("string template result too long")
            out.append(text)
        if unknowns:
            return with_partial(merge_unknowns(unknowns), "".join(out) if renderable else None)
        return self.mark("".join(out)) if marked else "".join(out)

    @staticmethod
    def _template_piece(result: Any, unknowns: list[Unknown], renderable: bool) -> tuple[str, bool]:
        if isinstance(result, Unknown):
            unknowns.append(result)
            partial = partial_of(result)
            return (partial or ""), renderable and partial is not None
        return result, renderable

    def _template_for(self, part: TemplateFor, scope: Scope) -> Any:
        collection = self.eval(part.collection, scope)
        if isinstance(collection, Sensitive):
            bare = unmark(collection)
            return self.mark(self._hidden(lambda: self._template_for_over(part, bare, scope)))
        return self._template_for_over(part, collection, scope)

    def _template_for_over(self, part: TemplateFor, collection: Any, scope: Scope) -> Any:
        if isinstance(collection, Unknown):
            return collection
        out = []
        unknowns: list[Unknown] = []
        renderable = True
        marked = False
        for key, item in _iterate(collection):
            names = {part.value_var: item}
            if part.key_var is not None:
                names[part.key_var] = key
            result = self._template(part.body, scope.with_names(**names), whole=False)
            if isinstance(result, Sensitive):
                marked, result = True, result.value
            text, renderable = self._template_piece(result, unknowns, renderable)
            out.append(text)
        if unknowns:
            return with_partial(merge_unknowns(unknowns), "".join(out) if renderable else None)
        return self.mark("".join(out)) if marked else "".join(out)

    def render_template(self, template: Expr, variables: dict[str, Any]) -> Any:
        """`templatefile`: the template sees only its variables."""
        if self._template_depth >= MAX_TEMPLATE_DEPTH:
            raise EvalError("templatefile nested too deeply")
        self._template_depth += 1
        try:
            scope = Scope(_TEMPLATE_MODULE, names=variables)
            if isinstance(template, Template):
                return self._template(template.parts, scope, whole=False)
            value = self.eval(template, scope)
            if isinstance(value, Sensitive):
                return self.mark(to_str(unmark(value)))
            return to_str(value)
        finally:
            self._template_depth -= 1

    def read_file(self, path: str) -> str | Unknown:
        """`file()` inside the scanned root only: see `tfcheck.safe_io`."""
        data = self.read_file_bytes(path)
        if isinstance(data, Unknown):
            return data
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise EvalError(f"file {path} is not UTF-8 text") from None

    def confined_directory(self, path: str) -> Path | Unknown:
        """A directory `fileset()` may walk: inside the scanned root."""
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root_path / candidate
        try:
            resolved = resolve_inside(candidate, frozenset(self.allowed_dirs))
        except ReadRefused as refused:
            if refused.reason == "does not exist":
                return Unknown(f"directory {path} does not exist in the scanned directory")
            self.note(f"directory {path} {refused.reason}")
            raise EvalError(f"directory {path} {refused.reason}") from None
        if not resolved.is_dir():
            raise EvalError(f"{path} is not a directory")
        return resolved

    def read_file_bytes(self, path: str) -> bytes | Unknown:
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root_path / candidate
        try:
            return read_bytes(candidate, frozenset(self.allowed_dirs), MAX_FILE_READ)
        except ReadRefused as refused:
            if refused.reason == "does not exist":
                # it may be written during apply (archive_file, local_file)
                return Unknown(f"file {path} does not exist in the scanned directory")
            self.note(f"file {path} {refused.reason}")
            raise EvalError(f"file {path} {refused.reason}") from None


_HANDLERS: dict[type, Callable[[Evaluator, Any, Scope], Any]] = {
    Template: Evaluator._template_expr,
    Name: Evaluator._name,
    Index: Evaluator._index,
    Call: Evaluator._call,
    TupleExpr: Evaluator._tuple,
    ObjectExpr: Evaluator._object,
    Binary: Evaluator._binary,
    Unary: Evaluator._unary,
    Conditional: Evaluator._conditional,
    ForExpr: Evaluator._for,
    Splat: Evaluator._splat_expr,
    SplatItem: Evaluator._splat_item,
    Invalid: Evaluator._invalid,
}


class _Context:
    """The `FunctionContext` the function library calls back into."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator

    def read_file(self, path: str) -> str | Unknown:
        return self.evaluator.read_file(path)

    def read_file_bytes(self, path: str) -> bytes | Unknown:
        return self.evaluator.read_file_bytes(path)

    def confined_directory(self, path: str) -> Path | Unknown:
        return self.evaluator.confined_directory(path)

    def render_template(self, template: Expr, variables: dict[str, Any]) -> Any:
        return self.evaluator.render_template(template, variables)


_PLACEHOLDER: Any = object()
_TEMPLATE_MODULE = ModuleInstance("<template>", None)


def _root_providers(module: ModuleDef) -> dict[str, str]:
    mapping = {}
    for block, _ in module.providers:
        local = _provider_local_key(block)
        mapping[local] = local
    return mapping


def _provider_local_key(block: Block) -> str:
    name = block.labels[0]
    alias = block.body.attributes.get("alias")
    if alias is not None and isinstance(alias.expr, Literal) and isinstance(alias.expr.value, str):
        return f"{name}.{alias.expr.value}"
    return name


def traversal_text(expr: Expr) -> str | None:
    """`aws.west` written as a traversal (or a string) -> "aws.west"."""
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, GetAttr):
        inner = traversal_text(expr.obj)
        return f"{inner}.{expr.name}" if inner else None
    if isinstance(expr, Literal) and isinstance(expr.value, str):
        return expr.value
    return None


def _last_key(path: str) -> str:
    """The instance key of the last module step of a path (`module.x["a"]` -> "a")."""
    inside = path[path.rfind("[") + 1 : -1]
    if inside.startswith('"'):
        return inside[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return inside


def _computed_blocks(address: str, value: Any, missing: str) -> Any:
    """Nested blocks of an instance also have computed attributes (`vpc_config[0].x`)."""
    if isinstance(value, list):
        return [_computed_blocks(address, v, missing) for v in value]
    if isinstance(value, dict) and not isinstance(value, InstanceDict):
        return InstanceDict(
            address, {k: _computed_blocks(address, v, missing) for k, v in value.items()}, missing
        )
    return value


def _iterate(collection: Any) -> list[tuple[Any, Any]]:
    if isinstance(collection, list):
        return list(enumerate(collection))
    if isinstance(collection, dict):
        return [(key, collection[key]) for key in sorted(collection)]
    if collection is None:
        raise EvalError("cannot iterate over null")
    raise EvalError(f"cannot iterate over a {type_name(collection)}")


def _for_each_pairs(value: Any) -> list[tuple[str, Any]] | Unknown:
    """The instance keys of a for_each value: a map, or a set of strings."""
    if isinstance(value, Unknown):
        return value
    if isinstance(value, dict) and not isinstance(value, InstanceDict):
        return [(key, value[key]) for key in sorted(value)]
    if isinstance(value, list):
        unknowns = [u for item in value for u in unknown_in(item)]
        if unknowns:
            return merge_unknowns(unknowns)
        if not all(isinstance(item, str) for item in value):
            return Unknown("for_each needs a map or a set of strings")
        return [(item, item) for item in sort_set(value)]
    if value is None:
        return Unknown("for_each is null")
    return Unknown(f"for_each needs a map or a set of strings, got {type_name(value)}")


def _dynamic_pairs(value: Any) -> list[tuple[Any, Any]] | Unknown:
    if isinstance(value, Unknown):
        return value
    if value is None:
        return []
    if isinstance(value, list):
        return list(enumerate(value))
    if isinstance(value, dict):
        return [(key, value[key]) for key in sorted(value)]
    return Unknown(f"dynamic for_each needs a collection, got {type_name(value)}")


# -- type constraints ---------------------------------------------------------------


def convert(value: Any, type_expr: Expr, evaluator: Evaluator, scope: Scope, depth: int = 0) -> Any:
    """Apply a variable's type constraint: primitive conversions, optional() defaults."""
    if isinstance(value, Sensitive):
        return Sensitive(convert(value.value, type_expr, evaluator, scope, depth))
    if depth > 20 or isinstance(value, Unknown) or value is None:
        return value
    if isinstance(type_expr, Name):
        kind = type_expr.name
        try:
            if kind == "string" and (is_number(value) or isinstance(value, bool)):
                return to_str(value)
            if kind == "number" and isinstance(value, str):
                return to_number(value)
            if kind == "bool" and isinstance(value, str):
                return to_bool(value)
        except EvalError:
            return value
        return value
    if not isinstance(type_expr, Call) or not type_expr.args:
        return value
    kind, inner = type_expr.name, type_expr.args[0]
    if kind in ("list", "set") and isinstance(value, list):
        items = [convert(v, inner, evaluator, scope, depth + 1) for v in value]
        if kind == "set" and not unknown_in(items):
            return sort_set(items)
        return items
    if kind == "map" and isinstance(value, dict):
        return {k: convert(v, inner, evaluator, scope, depth + 1) for k, v in value.items()}
    if kind == "tuple" and isinstance(value, list) and isinstance(inner, TupleExpr):
        return [
            convert(v, t, evaluator, scope, depth + 1)
            for v, t in zip(value, inner.items, strict=False)
        ] + value[len(inner.items) :]
    if kind == "object" and isinstance(value, dict) and isinstance(inner, ObjectExpr):
        out = dict(value)
        for key_expr, attr_type in inner.items:
            if not isinstance(key_expr, Literal | Name):
                continue
            key = key_expr.value if isinstance(key_expr, Literal) else key_expr.name
            key = str(key)
            optional = isinstance(attr_type, Call) and attr_type.name == "optional"
            actual_type = (
                attr_type.args[0] if optional and isinstance(attr_type, Call) else attr_type
            )
            if key not in out or out[key] is None:
                if optional and isinstance(attr_type, Call):
                    default = (
                        evaluator.eval(attr_type.args[1], scope)
                        if len(attr_type.args) > 1
                        else None
                    )
                    out[key] = convert(default, actual_type, evaluator, scope, depth + 1)
                continue
            out[key] = convert(out[key], actual_type, evaluator, scope, depth + 1)
        return out
    return value


__all__ = [
    "EvaluatedInstance",
    "Evaluator",
    "InstanceInfo",
    "ModuleInstance",
    "ModuleRef",
    "Scope",
]


def _declared_sensitive(block: Block) -> bool:
    """A `variable` or `output` block with `sensitive = true`."""
    attribute = block.body.attributes.get("sensitive")
    return attribute is not None and isinstance(attribute.expr, Literal) and (
        attribute.expr.value is True
    )


def _bare(value: Any) -> Any:
    """A value without its top-level sensitive mark."""
    return value.value if isinstance(value, Sensitive) else value
