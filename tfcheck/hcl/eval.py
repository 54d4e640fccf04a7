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
strings and collections, and a cap on instances per resource. Expression semantics
(operators, calls, templates, sensitive marks) are in `tfcheck.hcl.expressions`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tfcheck.hcl.ast import Block, Body, Expr, GetAttr, Literal, Name, ObjectExpr, body_lines
from tfcheck.hcl.expressions import (
    _NOT_SET,
    EvaluatedInstance,
    Expressions,
    InstanceInfo,
    ModuleInstance,
    ModuleRef,
    Scope,
)
from tfcheck.hcl.modules import ModuleCallDef, ModuleDef, ResourceDef
from tfcheck.hcl.typeconv import convert
from tfcheck.hcl.values import (
    BoundExceeded,
    EvalError,
    InstanceDict,
    Walk,
    as_int,
    merge_unknowns,
    sort_set,
    type_name,
    unknown_in,
    unmark,
)
from tfcheck.marks import mark_scalar
from tfcheck.model import Sensitive, Unknown, instance_suffix
from tfcheck.safe_io import ReadRefused, read_bytes, resolve_inside

MAX_INSTANCES = 1_000
MAX_FILE_READ = 1_000_000

RESOURCE_META = frozenset({"count", "for_each", "provider", "depends_on"})
RESOURCE_META_BLOCKS = frozenset({"lifecycle", "provisioner", "connection"})
MODULE_META = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})


SENSITIVE_FOR_EACH = (
    "sensitive values, or values derived from sensitive values, cannot be used as "
    "for_each arguments (they would be exposed as instance keys)"
)
# -- the evaluator ------------------------------------------------------------------


class Evaluator(Expressions):
    """Evaluates one configuration (a tree of `ModuleDef`) with root variable values."""

    def __init__(
        self,
        root_module: ModuleDef,
        root_path: Path,
        allowed_dirs: set[Path],
        root_variables: Mapping[str, Any],
        notes: list[str],
    ) -> None:
        super().__init__(notes)
        self.root_path = root_path
        self.allowed_dirs = allowed_dirs
        self.root_variables = dict(root_variables)
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
        except BoundExceeded as exc:
            self.bound_error(exc, expr)
            value = Unknown(str(exc))
        except EvalError as exc:
            value = Unknown(str(exc))
        except RecursionError:
            self.input_error("expression nested too deeply", expr.line, expr.column or None)
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
            except BoundExceeded:
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
                value = self._default(block, module)
            else:
                return Unknown(f"var.{name} has no value: pass it with --var or --var-file")
        else:
            argument = module.call.block.body.attributes.get(name) if module.call else None
            if argument is not None and name not in MODULE_META:
                assert module.parent_scope is not None
                self._file = argument.file or self._file
                value = self.eval(argument.expr, module.parent_scope)
                nullable = block.body.attributes.get("nullable")
                if (
                    value is None
                    and nullable is not None
                    and isinstance(nullable.expr, Literal)
                    and nullable.expr.value is False
                    and "default" in block.body.attributes
                ):
                    value = self._default(block, module)
            elif "default" in block.body.attributes:
                value = self._default(block, module)
            else:
                return Unknown(f"module input {name} of {module.path} is not set")
        if type_expr is not None:
            value = convert(value, type_expr.expr, self, Scope(module))
        if _declared_sensitive(block):
            return self.mark(value)
        return value

    def _default(self, block: Block, module: ModuleInstance) -> Any:
        default = block.body.attributes["default"]
        self._file = default.file or self._file  # an override file's default: its file
        return self.eval(default.expr, Scope(module))

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
        expr, file = value_attr.expr, value_attr.file or file
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
        written = count_attr if count_attr is not None else each_attr
        self._file = (written.file if written is not None else None) or file
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
                    self._file,
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
        files: dict[str, str] = {}
        self._body(
            info.resource.block.body, info.scope, "", values, configured, lines, edges,
            top=True, files=files,
        )
        return EvaluatedInstance(values, frozenset(configured), lines, edges, files)

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
        files: dict[str, str] | None = None,
        written: str | None = None,
    ) -> None:
        """Evaluate a body into `values`; `lines` (`files`: override files) say where."""
        for name, attribute in body.attributes.items():
            if top and name in RESOURCE_META:
                continue
            path = prefix + name
            here = attribute.file or written
            _note_line(lines, files, path, attribute.line, here)
            if here is None:  # (most attributes: no override file wrote them)
                value, refs = self.evaluate(attribute.expr, scope)
            else:
                value, refs = self._evaluate_at(here, attribute.expr, scope)
            targets = dict.fromkeys(refs)
            for unknown in unknown_in(value):
                targets.update(dict.fromkeys(unknown.references))
            if targets:
                edges.extend((path, target) for target in targets)
            if value is None or (isinstance(value, Sensitive) and value.value is None):
                continue  # null: the argument is unset
            values[name] = value
            configured.add(path)
        for block in body.blocks:
            if top and block.type in RESOURCE_META_BLOCKS:
                continue
            here = block.file or written
            if block.type == "dynamic" and block.labels:
                self._dynamic(block, scope, prefix, values, configured, lines, edges, files, here)
                continue
            path = prefix + block.type
            _note_line(lines, files, path, block.line, here)
            nested: dict[str, Any] = {}
            self._body(
                block.body, scope, path + ".", nested, configured, lines, edges,
                files=files, written=here,
            )
            existing = values.setdefault(block.type, [])
            if isinstance(existing, list):
                existing.append(nested)
            configured.add(path)

    def _evaluate_at(
        self, file: str | None, expr: Expr, scope: Scope, finish: bool = True
    ) -> tuple[Any, set[str]]:
        """`evaluate`, its errors placed in `file` where an override file wrote `expr`."""
        outer = self._file
        self._file = file or outer
        try:
            return self.evaluate(expr, scope, finish=finish)
        finally:
            self._file = outer

    def _dynamic(
        self,
        block: Block,
        scope: Scope,
        prefix: str,
        values: dict[str, Any],
        configured: set[str],
        lines: dict[str, int],
        edges: list[tuple[str, str]],
        files: dict[str, str] | None,
        written: str | None,
    ) -> None:
        name = block.labels[0]
        path = prefix + name
        _note_line(lines, files, path, block.line, written)
        iterator_attr = block.body.attributes.get("iterator")
        iterator = name
        if iterator_attr is not None and isinstance(iterator_attr.expr, Name):
            iterator = iterator_attr.expr.name
        content = next((b for b in block.body.blocks if b.type == "content"), None)
        each_attr = block.body.attributes.get("for_each")
        if content is None or each_attr is None:
            return
        collection, refs = self._evaluate_at(written, each_attr.expr, scope, finish=False)
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
            self._body(
                content.body, inner_scope, path + ".", nested, configured, lines, edges,
                files=files, written=written,
            )
            if isinstance(existing, list):
                existing.append(nested)

    # -- expressions ------------------------------------------------------------------

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
        key = ("object", info.address)
        if key in self._memo:
            return self._memo[key]
        try:
            evaluated = self.instance(info)
        except BoundExceeded:
            raise
        except EvalError as exc:
            return Unknown(str(exc), (info.address,))
        missing = "{address}.{name} is known only after apply"
        walk = Walk()
        found = InstanceDict(
            info.address,
            {
                k: _computed_blocks(info.address, v, missing, walk)
                for k, v in evaluated.values.items()
            },
            missing,
        )
        self._memo[key] = found
        return found

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
        if isinstance(region, Sensitive):  # decides as the region, prints as sensitive
            region = mark_scalar(unmark(region))
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

    # -- templates --------------------------------------------------------------------

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


_PLACEHOLDER: Any = object()
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


def _computed_blocks(address: str, value: Any, missing: str, walk: Walk) -> Any:
    """Nested blocks of an instance also have computed attributes (`vpc_config[0].x`)."""
    walk.tick()
    if isinstance(value, list):
        return [_computed_blocks(address, v, missing, walk) for v in value]
    if isinstance(value, dict) and not isinstance(value, InstanceDict):
        return InstanceDict(
            address,
            {k: _computed_blocks(address, v, missing, walk) for k, v in value.items()},
            missing,
        )
    return value


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


__all__ = [
    "EvaluatedInstance",
    "Evaluator",
    "InstanceInfo",
    "ModuleInstance",
    "ModuleRef",
    "Scope",
]


def _note_line(
    lines: dict[str, int], files: dict[str, str] | None, path: str, line: int, file: str | None
) -> None:
    """The first place a path is written; its file too where an override file wrote it."""
    if path not in lines:
        lines[path] = line
        if file is not None and files is not None:
            files[path] = file


def _declared_sensitive(block: Block) -> bool:
    """A `variable` or `output` block with `sensitive = true`."""
    attribute = block.body.attributes.get("sensitive")
    return attribute is not None and isinstance(attribute.expr, Literal) and (
        attribute.expr.value is True
    )
