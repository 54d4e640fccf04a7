"""The function registry and what every family of functions shares.

`tfcheck.hcl.functions` dispatches calls; the families (`functions` itself for
collections, numbers, networks and files, `functions_text` for strings, regular
expressions and encodings) register themselves here with `@function`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from tfcheck.hcl.ast import Expr
from tfcheck.hcl.values import MAX_STRING, BoundExceeded, EvalError, as_list, need_known, to_str
from tfcheck.model import Unknown


class FunctionContext(Protocol):
    """What file-reading functions need from the evaluator."""

    def read_file(self, path: str) -> str | Unknown: ...

    def read_file_bytes(self, path: str) -> bytes | Unknown: ...

    def confined_directory(self, path: str) -> Path | Unknown: ...

    def render_template(self, template: Expr, variables: dict[str, Any]) -> Any: ...


Function = Callable[[list[Any], FunctionContext], Any]
FUNCTIONS: dict[str, Function] = {}


def function(*names: str) -> Callable[[Function], Function]:
    def register(fn: Function) -> Function:
        for name in names:
            FUNCTIONS[name] = fn
        return fn

    return register


def library_error(error: Exception) -> str:
    """How an error a library raised reads in a function's message: its type and text."""
    return f"{type(error).__name__}: {error}"


def arity(args: list[Any], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        raise EvalError(f"takes {low}..{high} arguments, got {len(args)}")


def strings(value: Any) -> list[str]:
    items = as_list(value)
    need_known(items)
    return [to_str(i) for i in items]


def bound_length(size: int, what: str = "result") -> None:
    """Refuse a string result from its estimated size, before it is built."""
    if size > MAX_STRING:
        raise BoundExceeded(f"{what} would be longer than {MAX_STRING} characters")
