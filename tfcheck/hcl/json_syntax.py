"""`.tf.json` files (and `.tfvars.json` values) into the nodes of `tfcheck.hcl.ast`.

Terraform's JSON syntax: strings are templates (`"${var.x}"`), objects are blocks or
maps depending on where they are. Line numbers are found back in the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tfcheck.hcl.ast import (
    Attribute,
    Block,
    Body,
    Expr,
    Literal,
    ObjectExpr,
    ParsedFile,
    TupleExpr,
)
from tfcheck.hcl.parse import (
    HclSyntaxError,
    _build_template,
    _normal_number,
    _scan_template,
    parse_expression,
)
from tfcheck.hcl.positions import deepest_bracket


def parse_json(text: str, path: str) -> ParsedFile:
    """Parse a `.tf.json` file into the same nodes (strings become templates)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HclSyntaxError(exc.msg, exc.lineno, exc.colno) from None
    except RecursionError:
        raise HclSyntaxError("JSON nested too deeply", *deepest_bracket(text)) from None
    if not isinstance(data, dict):
        raise HclSyntaxError("a .tf.json file must hold a JSON object", 1, 1)
    finder = _JsonLines(text)
    try:
        body = _json_body(data, finder, top=True)
    except RecursionError:
        raise HclSyntaxError("JSON nested too deeply", *deepest_bracket(text)) from None
    return ParsedFile(path=path, body=body)


def json_value_expr(value: Any, line: int = 0) -> Expr:
    """A JSON value (from `.tfvars.json`) as a literal expression, without templates."""
    if isinstance(value, list):
        return TupleExpr(tuple(json_value_expr(v, line) for v in value), line)
    if isinstance(value, dict):
        return ObjectExpr(
            tuple((Literal(str(k), line), json_value_expr(v, line)) for k, v in value.items()),
            line,
        )
    return Literal(value, line)


# -- .tf.json -----------------------------------------------------------------------

# In JSON syntax an object value is a nested block unless the attribute is a map. These
# are the map-typed arguments that appear in the resources tfcheck reasons about.
_MAP_ATTRIBUTES = frozenset(
    {
        "tags",
        "tags_all",
        "default_tags_map",
        "labels",
        "annotations",
        "data",
        "binary_data",
        "variables",
        "environment",
        "parameters",
        "triggers",
        "node_selector",
        "values_map",
        "inputs",
        "providers",
        "default",
        "value",
        "configuration_values",
        "policy",
    }
)
_BLOCK_KEYWORDS = {
    "resource": 2,
    "data": 2,
    "module": 1,
    "variable": 1,
    "output": 1,
    "provider": 1,
    "terraform": 0,
    "locals": 0,
    "moved": 0,
    "import": 0,
    "check": 1,
}


class _JsonLines:
    """Approximate line numbers for `.tf.json` keys (json keeps no positions)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def find(self, *keys: str) -> int:
        pos = self.pos
        for key in keys:
            found = self.text.find(json.dumps(key), pos)
            if found < 0:
                return self.text.count("\n", 0, pos) + 1
            pos = found
        self.pos = pos
        return self.text.count("\n", 0, pos) + 1


def _json_body(data: Any, lines: _JsonLines, *, top: bool = False) -> Body:
    attributes: dict[str, Attribute] = {}
    blocks: list[Block] = []
    if not isinstance(data, dict):
        return Body()
    for key, value in data.items():
        if key == "//":
            continue
        if top:
            depth = _BLOCK_KEYWORDS.get(key)
            if depth is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                if key == "locals":
                    for name, expr in item.items() if isinstance(item, dict) else ():
                        here = lines.find(name)
                        attributes_for_locals = Attribute(name, _json_expr(expr, here), here)
                        blocks.append(
                            Block(
                                "locals",
                                (),
                                Body({name: attributes_for_locals}, ()),
                                here,
                                here,
                            )
                        )
                    continue
                blocks.extend(_json_labelled(key, item, depth, (), lines))
            continue
        here = lines.find(key)
        if key == "dynamic" and isinstance(value, dict):
            for label, content in value.items():
                for item in content if isinstance(content, list) else [content]:
                    blocks.append(Block("dynamic", (label,), _json_body(item, lines), here, here))
        elif (
            isinstance(value, dict) and key not in _MAP_ATTRIBUTES and key not in ("for_each",)
        ) or (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) for v in value)
            and key not in _MAP_ATTRIBUTES
            and key not in ("for_each", "depends_on")
        ):
            for item in value if isinstance(value, list) else [value]:
                blocks.append(Block(key, (), _json_body(item, lines), here, here))
        else:
            attributes[key] = Attribute(key, _json_attribute_expr(key, value, here), here)
    return Body(attributes, tuple(blocks))


def _json_labelled(
    kind: str, value: Any, depth: int, labels: tuple[str, ...], lines: _JsonLines
) -> Iterator[Block]:
    if len(labels) == depth:
        here = lines.find(*labels) if labels else lines.find(kind)
        for item in value if isinstance(value, list) else [value]:
            body = _json_body(item, lines)
            yield Block(kind, labels, body, here, here)
        return
    if not isinstance(value, dict):
        return
    for label, inner in value.items():
        yield from _json_labelled(kind, inner, depth, (*labels, label), lines)


def _json_attribute_expr(key: str, value: Any, line: int) -> Expr:
    if key in ("provider", "depends_on") and isinstance(value, str):
        try:
            return parse_expression(value)
        except HclSyntaxError:
            return Literal(value, line)
    return _json_expr(value, line)


def _json_expr(value: Any, line: int) -> Expr:
    if isinstance(value, str):
        if "${" in value or "%{" in value:
            return _build_template(list(_scan_template(value, line)), line)
        return Literal(value, line)
    if isinstance(value, list):
        return TupleExpr(tuple(_json_expr(v, line) for v in value), line)
    if isinstance(value, dict):
        return ObjectExpr(
            tuple((_json_expr(str(k), line), _json_expr(v, line)) for k, v in value.items()), line
        )
    if isinstance(value, float):
        return Literal(_normal_number(value), line)
    return Literal(value, line)
