"""Type constraints of variables: primitive conversions and `optional()` defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tfcheck.hcl.ast import Call, Expr, Literal, Name, ObjectExpr, TupleExpr
from tfcheck.hcl.values import (
    EvalError,
    is_number,
    sort_set,
    to_bool,
    to_number,
    to_str,
    unknown_in,
)
from tfcheck.model import Sensitive, Unknown

if TYPE_CHECKING:
    from tfcheck.hcl.expressions import Expressions, Scope

def convert(
    value: Any, type_expr: Expr, evaluator: Expressions, scope: Scope, depth: int = 0
) -> Any:
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
