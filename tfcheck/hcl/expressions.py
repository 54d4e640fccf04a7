"""Expression semantics, over `tfcheck.hcl.ast`: what `tfcheck.hcl.eval` builds on.

Operators (operator chains left to right, without recursion), function calls,
templates, `for` expressions, splats, indexing, and sensitive marks: a value marked
sensitive (`tfcheck.model.Sensitive`) marks everything computed from it, the way
terraform marks it, and its texts join the ones every output hides. Hostile input is
bounded here: the step budget and the nesting limit end in an input error at the
innermost expression, never in a hang or a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec

from tfcheck.hcl.ast import (
    Binary,
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
    expression_text,
)
from tfcheck.hcl.functions import call_function
from tfcheck.hcl.modules import ModuleCallDef, ModuleDef, ResourceDef
from tfcheck.hcl.values import (
    MAX_STRING,
    SCALAR_TYPES,
    BoundExceeded,
    EvalError,
    InstanceDict,
    Walk,
    as_int,
    check_size,
    equals,
    is_marked,
    merge_unknowns,
    normal_number,
    partial_of,
    plain,
    scalar_texts,
    to_bool,
    to_number,
    to_str,
    type_name,
    unknown_in,
    unmark,
    with_partial,
)
from tfcheck.model import InputError, Sensitive, Unknown, instance_suffix

# The step budget of one load: a floor every configuration gets, plus steps for each byte
# of configuration text read. Legitimate work grows with the text (a 2.4 MB tree of 247
# clusters takes 360,000 steps; the largest real configurations under 10,000), while a
# bomb's work grows exponentially in a few lines, so the floor still stops it.
MAX_STEPS = 300_000
STEPS_PER_BYTE = 1
MAX_DEPTH = 300  # Python frames per level are few; RECURSION_LIMIT leaves room
MAX_SENSITIVE_TEXTS = 10_000
MAX_TEMPLATE_DEPTH = 4
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NOT_SET = object()
class _Budget(BoundExceeded):
    """The step budget or nesting bound ran out: an input error, not just an unknown."""


_HIDDEN = "cannot be evaluated (its operands are sensitive: the error is not shown)"


# -- instances and scopes -----------------------------------------------------------


class ModuleInstance(msgspec.Struct, eq=False):
    """One instance of a module: the root, `module.vpc`, `module.x["a"].module.y`."""

    path: str
    definition: ModuleDef | None
    parent: ModuleInstance | None = None
    call: ModuleCallDef | None = None
    parent_scope: Scope | None = None  # the caller's scope, with count.index / each
    missing: str = ""  # why `definition` is None
    providers: dict[str, str] = msgspec.field(default_factory=dict)

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


class InstanceInfo(msgspec.Struct, frozen=True):
    """One expanded resource instance (or the placeholder of an unknown expansion)."""

    address: str
    key: int | str | None
    scope: Scope
    resource: ResourceDef
    placeholder: bool = False


class EvaluatedInstance(msgspec.Struct):
    values: dict[str, Any]
    configured: frozenset[str]
    attribute_lines: dict[str, int]
    edges: list[tuple[str, str]]  # (attribute path, target address)
    # the paths whose line is in an override file, not in the resource's own file
    attribute_files: dict[str, str] = msgspec.field(default_factory=dict)


class ModuleRef:
    """A module instance as a value: its outputs are evaluated when read."""

    __slots__ = ("evaluator", "instance")

    def __init__(self, evaluator: Expressions, instance: ModuleInstance) -> None:
        self.evaluator = evaluator
        self.instance = instance

    def output(self, name: str, replay: bool) -> Any:
        return self.evaluator.output(self.instance, name, replay)

    def materialize(self) -> dict[str, Any]:
        definition = self.instance.definition
        names = sorted(definition.outputs) if definition else []
        return {name: self.output(name, True) for name in names}


class Expressions:
    """Expression semantics: operators, calls, templates, `for`, splats, sensitive marks.

    `tfcheck.hcl.eval.Evaluator` adds what expressions refer to (variables, locals,
    module outputs, resources, files); the hooks it implements are below.
    """

    def __init__(self, notes: list[str]) -> None:
        self.notes = notes
        # Texts of sensitive values and of everything derived from them: redacted.
        self.sensitive_values: set[str] = set()
        # Input errors found while evaluating (budget exhausted, sensitive for_each).
        self.errors: list[InputError] = []
        self._marks = False  # whether any value was marked sensitive yet
        self._file = ""  # the file of the expression being evaluated (for errors)
        self._sink: set[str] | None = None
        self._splat: list[Any] = []
        self._steps = 0
        self.max_steps = MAX_STEPS
        self._depth = 0
        self._template_depth = 0
        self._noted: set[str] = set()

    # -- hooks --------------------------------------------------------------------------

    def _root_attr(self, root: str, name: str, scope: Scope, narrowed: bool) -> Any:
        raise NotImplementedError

    def _resource_collection(self, module: ModuleInstance, local: str) -> Any:
        raise NotImplementedError

    def output(self, module: ModuleInstance, name: str, replay: bool = True) -> Any:
        raise NotImplementedError

    def read_file(self, path: str) -> str | Unknown:
        raise NotImplementedError

    def read_file_bytes(self, path: str) -> bytes | Unknown:
        raise NotImplementedError

    def confined_directory(self, path: str) -> Path | Unknown:
        raise NotImplementedError

    # -- errors, notes, marks -----------------------------------------------------------

    def input_error(
        self, message: str, line: int | None, column: int | None = None, file: str = ""
    ) -> None:
        """An input error at a position (reported once per message and place)."""
        error = InputError(file or self._file or ".", message, line or None, column)
        if error not in self.errors and len(self.errors) < 100:
            self.errors.append(error)

    def allow_steps_for(self, configuration_bytes: int) -> None:
        """Size the step budget to the configuration text that was read."""
        self.max_steps = MAX_STEPS + STEPS_PER_BYTE * configuration_bytes

    def _steps_exhausted(self) -> str:
        return f"evaluation budget of {self.max_steps} steps exhausted (configuration too large)"

    def _exhausted(self, message: str, expr: Expr) -> _Budget:
        """The bound ran out here: the input error names the innermost expression."""
        budget = _Budget(message)
        budget.where = (self._file, expr.line, expr.column)
        return budget

    def bound_error(self, exc: BoundExceeded, expr: Expr) -> None:
        """Report a bound reached as an input error, once per place.

        An exhausted step budget is reported once: every expression after it runs out too.
        """
        file, line, column = exc.where or (self._file, expr.line, expr.column)
        if self._steps > self.max_steps and any("steps exhausted" in e.message
                                                 for e in self.errors):
            return
        self.input_error(str(exc), line, column or None, file)

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

    def eval(self, expr: Expr, scope: Scope, narrowed: bool = False) -> Any:
        self._steps += 1
        if self._steps > self.max_steps:
            raise self._exhausted(self._steps_exhausted(), expr)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise self._exhausted("expression nested too deeply", expr)
            return self._eval(expr, scope, narrowed)
        except BoundExceeded as exc:
            if exc.where is None:  # the innermost expression that reached the bound
                exc.where = (self._file, expr.line, expr.column)
            elif not exc.where[2] and exc.where[1] == expr.line and exc.where[0] == self._file:
                exc.where = (self._file, expr.line, expr.column)  # the nearest with a column
            raise
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

    def _finish(self, value: Any, walk: Walk | None = None) -> Any:
        """A value as it is stored: module objects read, instance objects plain.

        Bounded: values may share structure, and the stored value is a tree.
        """
        if walk is None:
            if type(value) in SCALAR_TYPES:  # most values: stored as they are
                return value
            walk = Walk()
        walk.tick()
        if isinstance(value, ModuleRef):
            return self._finish(value.materialize(), walk)
        if isinstance(value, Sensitive):
            return Sensitive(self._finish(value.value, walk))
        if isinstance(value, InstanceDict):
            if self._sink is not None:
                self._sink.add(value.address)
            return plain(value, walk)
        if isinstance(value, dict):
            return {k: self._finish(v, walk) for k, v in value.items()}
        if isinstance(value, list):
            return [self._finish(v, walk) for v in value]
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
        except BoundExceeded:
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
        except BoundExceeded:
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
            if self._steps > self.max_steps:
                raise self._exhausted(self._steps_exhausted(), link)
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
                except BoundExceeded:
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
                raise BoundExceeded(f"string template result longer than {MAX_STRING}")
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
            raise BoundExceeded("templatefile nested too deeply")
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

_HANDLERS: dict[type, Callable[[Expressions, Any, Scope], Any]] = {
    Template: Expressions._template_expr,
    Name: Expressions._name,
    Index: Expressions._index,
    Call: Expressions._call,
    TupleExpr: Expressions._tuple,
    ObjectExpr: Expressions._object,
    Binary: Expressions._binary,
    Unary: Expressions._unary,
    Conditional: Expressions._conditional,
    ForExpr: Expressions._for,
    Splat: Expressions._splat_expr,
    SplatItem: Expressions._splat_item,
    Invalid: Expressions._invalid,
}


class _Context:
    """The `FunctionContext` the function library calls back into."""

    def __init__(self, evaluator: Expressions) -> None:
        self.evaluator = evaluator

    def read_file(self, path: str) -> str | Unknown:
        return self.evaluator.read_file(path)

    def read_file_bytes(self, path: str) -> bytes | Unknown:
        return self.evaluator.read_file_bytes(path)

    def confined_directory(self, path: str) -> Path | Unknown:
        return self.evaluator.confined_directory(path)

    def render_template(self, template: Expr, variables: dict[str, Any]) -> Any:
        return self.evaluator.render_template(template, variables)


_TEMPLATE_MODULE = ModuleInstance("<template>", None)


def _iterate(collection: Any) -> list[tuple[Any, Any]]:
    if isinstance(collection, list):
        return list(enumerate(collection))
    if isinstance(collection, dict):
        return [(key, collection[key]) for key in sorted(collection)]
    if collection is None:
        raise EvalError("cannot iterate over null")
    raise EvalError(f"cannot iterate over a {type_name(collection)}")


def _bare(value: Any) -> Any:
    """A value without its top-level sensitive mark."""
    return value.value if isinstance(value, Sensitive) else value
