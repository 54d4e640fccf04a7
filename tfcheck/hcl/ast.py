"""The HCL syntax tree tfcheck evaluates: small immutable nodes with line numbers.

python-hcl2's own dict output turns expressions back into `"${...}"` strings, which would
mean parsing every expression twice. `tfcheck.hcl.parse` converts its lark tree into these
nodes instead, once per file, and nothing outside the parser ever sees lark or hcl2.

The nodes are msgspec Structs, as tfcheck's other records. A node's `column` is not part
of what it means: every expression's equality and hash leave it out (`ComparedWithout`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from tfcheck.model import ComparedWithout


class Expr(ComparedWithout):
    """Base of every expression node; `line`, `column` (0: not known) 1-based in its file.

    Two expressions are equal when everything but their column is: the same expression
    written further right is the same expression.
    """

    __slots__ = ()
    line: int
    column: int
    uncompared = frozenset({"column"})


class Literal(Expr, msgspec.Struct, frozen=True, eq=False):
    """A number, string without interpolation, bool or null."""

    value: Any
    line: int = 0
    column: int = 0


class Name(Expr, msgspec.Struct, frozen=True, eq=False):
    """The first identifier of a traversal (`var`, `aws_subnet`, a `for` variable)."""

    name: str
    line: int = 0
    column: int = 0


class GetAttr(Expr, msgspec.Struct, frozen=True, eq=False):
    obj: Expr
    name: str
    line: int = 0
    column: int = 0


class Index(Expr, msgspec.Struct, frozen=True, eq=False):
    obj: Expr
    key: Expr
    line: int = 0
    column: int = 0


class SplatItem(Expr, msgspec.Struct, frozen=True, eq=False):
    """Stands for the current element inside a splat's per-element traversal."""

    line: int = 0
    column: int = 0


class Splat(Expr, msgspec.Struct, frozen=True, eq=False):
    """`obj[*].a.b` / `obj.*.a`: `each` is evaluated once per element with `SplatItem` bound."""

    obj: Expr
    each: Expr
    line: int = 0
    column: int = 0


class Call(Expr, msgspec.Struct, frozen=True, eq=False):
    name: str
    args: tuple[Expr, ...]
    expand_final: bool = False  # `f(a, list...)`
    line: int = 0
    column: int = 0


class TupleExpr(Expr, msgspec.Struct, frozen=True, eq=False):
    items: tuple[Expr, ...]
    line: int = 0
    column: int = 0


class ObjectExpr(Expr, msgspec.Struct, frozen=True, eq=False):
    items: tuple[tuple[Expr, Expr], ...]
    line: int = 0
    column: int = 0


class Unary(Expr, msgspec.Struct, frozen=True, eq=False):
    op: str  # "-" or "!"
    operand: Expr
    line: int = 0
    column: int = 0


class Binary(Expr, msgspec.Struct, frozen=True, eq=False):
    op: str
    left: Expr
    right: Expr
    line: int = 0
    column: int = 0


class Conditional(Expr, msgspec.Struct, frozen=True, eq=False):
    cond: Expr
    true: Expr
    false: Expr
    line: int = 0
    column: int = 0


class ForExpr(Expr, msgspec.Struct, frozen=True, eq=False):
    """`[for k, v in coll : value if cond]` or `{for k, v in coll : key => value... if cond}`."""

    key_var: str | None
    value_var: str
    collection: Expr
    key: Expr | None  # None for a tuple `for`
    value: Expr
    cond: Expr | None
    grouping: bool = False
    line: int = 0
    column: int = 0


class TemplateIf(msgspec.Struct, frozen=True):
    cond: Expr
    then: tuple[TemplatePart, ...]
    otherwise: tuple[TemplatePart, ...]


class TemplateFor(msgspec.Struct, frozen=True):
    key_var: str | None
    value_var: str
    collection: Expr
    body: tuple[TemplatePart, ...]


TemplatePart = str | Expr | TemplateIf | TemplateFor


class Template(Expr, msgspec.Struct, frozen=True, eq=False):
    """A string with interpolations or directives (quoted string or heredoc)."""

    parts: tuple[TemplatePart, ...]
    line: int = 0
    column: int = 0


class Invalid(Expr, msgspec.Struct, frozen=True, eq=False):
    """An expression the parser could not read (e.g. a malformed directive): evaluates unknown."""

    reason: str
    line: int = 0
    column: int = 0


class Attribute(msgspec.Struct, frozen=True):
    """One `name = expr` argument.

    `file` is set only where an override file replaced the attribute: its lines are in
    that file, not in the file of the block around it (`tfcheck.hcl.overrides`).
    """

    name: str
    expr: Expr
    line: int
    column: int | None = None
    file: str | None = None


class Block(msgspec.Struct, frozen=True):
    """`file`: as for `Attribute`, for a nested block an override file put in place."""

    type: str
    labels: tuple[str, ...]
    body: Body
    line: int
    end_line: int
    column: int | None = None
    file: str | None = None


class Body(msgspec.Struct, frozen=True):
    attributes: dict[str, Attribute] = msgspec.field(default_factory=dict)
    blocks: tuple[Block, ...] = ()


class CommentDirective(msgspec.Struct, frozen=True):
    """A `tfcheck:ignore` comment: the rules it names, its reason and its line."""

    rules: tuple[str, ...]
    reason: str
    line: int


class ParsedFile(msgspec.Struct, frozen=True):
    """One configuration file: `path` is relative to the scanned root (display form)."""

    path: str
    body: Body
    comments: tuple[CommentDirective, ...] = ()
    comment_lines: frozenset[int] = frozenset()  # lines holding only a comment


def expression_text(expr: Expr, depth: int = 0) -> str:
    """An expression written back as HCL, for placeholders in partly rendered templates.

    Covers the reference forms (`aws_eks_cluster.main.endpoint`, `var.x[0]`,
    `local.m["k"]`, `a[*].b`) and calls; anything else is `...`.
    """
    if depth > 20:
        return "..."
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, GetAttr):
        return f"{expression_text(expr.obj, depth + 1)}.{expr.name}"
    if isinstance(expr, Index):
        return f"{expression_text(expr.obj, depth + 1)}[{expression_text(expr.key, depth + 1)}]"
    if isinstance(expr, SplatItem):
        return ""
    if isinstance(expr, Splat):
        return f"{expression_text(expr.obj, depth + 1)}[*]{expression_text(expr.each, depth + 1)}"
    if isinstance(expr, Literal):
        if isinstance(expr.value, str):
            return '"' + expr.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(expr.value, bool):
            return "true" if expr.value else "false"
        return "null" if expr.value is None else str(expr.value)
    if isinstance(expr, Call):
        args = ", ".join(expression_text(a, depth + 1) for a in expr.args)
        return f"{expr.name}({args})"
    return "..."


def body_lines(body: Body, prefix: str = "") -> Iterator[tuple[str, int]]:
    """(dotted attribute path, line) for everything a body writes, without evaluating.

    Nested blocks give their own path and their attributes' (`vpc_config`,
    `vpc_config.subnet_ids`); a `dynamic "x"` block stands for the blocks it generates.
    """
    for name, attribute in body.attributes.items():
        yield prefix + name, attribute.line
    for block in body.blocks:
        if block.type == "dynamic" and block.labels:
            path = prefix + block.labels[0]
            yield path, block.line
            for inner in block.body.blocks:
                if inner.type == "content":
                    yield from body_lines(inner.body, path + ".")
            continue
        yield prefix + block.type, block.line
        yield from body_lines(block.body, prefix + block.type + ".")
