"""Positions lark cannot give, so every input error can name its line and column.

An operator past the file's bound, and expressions parsed out of template text
(heredocs, `templatefile`) moved to where they are written.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from tfcheck.hcl.ast import Expr

_SKIPPED = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|//[^\n]*')
_OPERATOR = re.compile(r"&&|\|\||[=!<>]=|[-+*/%<>]")


def operator_past(text: str, limit: int) -> tuple[int, int] | None:
    """Line and column of the first operator past `limit`, strings and comments left out.

    A cheap upper bound first, so an ordinary file costs one count.
    """
    if sum(text.count(c) for c in "+-*/%<>=&|") <= limit:
        return None
    code = _SKIPPED.sub(lambda m: " " * len(m.group(0)), text)  # blanked: offsets kept
    for count, found in enumerate(_OPERATOR.finditer(code), 1):
        if count > limit:
            start = found.start()
            return code.count("\n", 0, start) + 1, start - code.rfind("\n", 0, start)
    return None


def moved(node: Any, line: int, column: int, indent: int = 0) -> Any:
    """An expression `parse_expression` read from a snippet, placed in its file.

    The snippet's first line (line 2 of the parser's wrapper) starts at `line`:`column`;
    its other lines start at `indent` + 1 (a `<<-` heredoc's cut indentation).
    """
    if isinstance(node, tuple):
        return tuple(moved(item, line, column, indent) for item in node)
    if not isinstance(node, msgspec.Struct):
        return node
    changes = {name: moved(getattr(node, name), line, column, indent)
               for name in node.__struct_fields__ if name not in ("line", "column")}
    if isinstance(node, Expr):
        first = node.line == 2
        changes["line"] = node.line - 2 + line if node.line else 0
        changes["column"] = (node.column + (column - 1 if first else indent)
                             if node.column else 0)
    return type(node)(**changes)


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def deepest_bracket(text: str) -> tuple[int, int]:
    """Line and column of the first `[`/`{` at the deepest nesting of a JSON text.

    For "nested too deeply", which the JSON parser reports without a position; only
    called once parsing failed, one pass over the text.
    """
    depth = deepest = offset = 0
    for found in _JSON_TOKEN.finditer(text):
        char = text[found.start()]
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest, offset = depth, found.start()
        elif char in "]}":
            depth -= 1
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)
