"""Reading `.tf`, `.tf.json` and `.tfvars` files into `tfcheck.hcl.ast` nodes.

This is the only module that knows python-hcl2 (7.x) and lark. It uses python-hcl2's
lark grammar (`hcl2.parser.parser()`, built once per process and cached on disk by
python-hcl2) and converts the lark tree itself, so that every attribute and block keeps
its line and expressions are parsed only once. The grammar's quirks handled here:

- binary operators come back right-nested without precedence (`1 + 2 * 3 - 4` is
  `1 + (2 * (3 - 4))`), and a conditional swallows the operator chain before it
  (`a == b ? x : y` is `a == (b ? x : y)`): chains are flattened and rebuilt with
  HCL's precedence;
- `%{ if }` / `%{ for }` directives and heredoc interpolations are not parsed by the
  grammar: templates are scanned here and their expressions parsed separately;
- the `...` of `f(list...)` is dropped by the grammar: it is read back from the source;
- a UTF-8 BOM, CRLF line ends and heredoc end markers followed by spaces are rejected by
  the grammar: the text is normalised first (line numbers unchanged).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any, cast

import msgspec

from tfcheck.hcl.ast import (
    Attribute,
    Binary,
    Block,
    Body,
    Call,
    CommentDirective,
    Conditional,
    Expr,
    ForExpr,
    GetAttr,
    Index,
    Invalid,
    Literal,
    Name,
    ObjectExpr,
    ParsedFile,
    Splat,
    SplatItem,
    Template,
    TemplateFor,
    TemplateIf,
    TemplatePart,
    TupleExpr,
    Unary,
)
from tfcheck.hcl.positions import moved, operator_past

# The grammar parses about 100 KB a second: these bound the time one file can take.
MAX_FILE_BYTES = 2_000_000
MAX_OPERATORS = 100_000
MAX_NESTING = 200


class HclSyntaxError(Exception):
    """A file the grammar rejects; `line`/`column` are 1-based where known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@functools.cache
def _lark() -> Any:
    """The one lark parser instance: building the grammar is expensive (cached on disk)."""
    from hcl2.parser import parser

    return parser()


# -- text normalisation -------------------------------------------------------------

_HEREDOC_OPEN = re.compile(r"<<-?([A-Za-z][A-Za-z0-9._-]*)[ \t]*$")


def decode(data: bytes) -> str:
    """File bytes to text: UTF-8 with or without BOM, CRLF/CR line ends to LF."""
    text = data.decode("utf-8-sig", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def normalise(text: str) -> str:
    """Make text the grammar accepts without moving any line: heredoc markers trimmed."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "<<" not in text:
        return text
    lines = text.split("\n")
    marker: str | None = None
    for number, line in enumerate(lines):
        if marker is None:
            found = _HEREDOC_OPEN.search(line)
            if found:
                marker = found.group(1)
                lines[number] = line.rstrip(" \t")
        elif line.strip() == marker:
            lines[number] = line.rstrip(" \t")
            marker = None
    return "\n".join(lines)


# -- entry points -------------------------------------------------------------------


def parse_hcl(text: str, path: str) -> ParsedFile:
    """Parse one native-syntax file; raises `HclSyntaxError` with line and column."""
    if len(text) > MAX_FILE_BYTES:
        raise HclSyntaxError(f"file larger than {MAX_FILE_BYTES} bytes")
    past = operator_past(text, MAX_OPERATORS)  # operator bombs refused before the slow parse
    if past is not None:
        raise HclSyntaxError(f"more than {MAX_OPERATORS} operators in one file", *past)
    text = normalise(text)
    tree = _parse_tree(text + "\n")
    converter = _Converter(text + "\n")
    try:
        body = converter.body(tree.children[0])
    except RecursionError:
        raise HclSyntaxError("expression nested too deeply") from None
    directives: list[CommentDirective] = []
    if "tfcheck:ignore" in text:
        for token in tree.scan_values(_is_ignore_comment):
            directives.extend(parse_directive(str(token), int(token.line)))
    return ParsedFile(
        path=path,
        body=body,
        comments=tuple(sorted(directives, key=lambda d: d.line)),
        comment_lines=_comment_lines(text),
    )


def _is_ignore_comment(token: Any) -> bool:
    return getattr(token, "type", "") == "NL_OR_COMMENT" and "tfcheck:ignore" in token


def parse_expression(text: str) -> Expr:
    """Parse one expression (a `--var` value, a template interpolation)."""
    return _parse_expression_cached(text)


@functools.lru_cache(maxsize=4096)
def _parse_expression_cached(text: str) -> Expr:
    if len(text) > MAX_FILE_BYTES:
        raise HclSyntaxError("expression too long")
    source = "__tfcheck_expr = (\n" + text + "\n)\n"
    tree = _parse_tree(source)
    try:
        body = _Converter(source).body(tree.children[0])
    except RecursionError:
        raise HclSyntaxError("expression nested too deeply") from None
    return body.attributes["__tfcheck_expr"].expr


def parse_template(text: str, line: int = 1) -> Expr:
    """Parse template text as `templatefile` and heredocs see it (no backslash escapes)."""
    return _build_template(list(_scan_template(text, line)), line)


# -- lark ---------------------------------------------------------------------------


def _parse_tree(text: str) -> Any:
    from lark.exceptions import (
        LarkError,
        UnexpectedCharacters,
        UnexpectedEOF,
        UnexpectedInput,
        UnexpectedToken,
    )

    try:
        return _lark().parse(text)
    except UnexpectedCharacters as exc:
        pos: int = exc.pos_in_stream or 0
        char = text[pos] if 0 <= pos < len(text) else "?"
        raise HclSyntaxError(f"unexpected character {char!r}", exc.line, exc.column) from None
    except UnexpectedToken as exc:
        token = exc.token
        if token.type == "$END":
            line, column = _end_position(text)
            raise HclSyntaxError("unexpected end of file", line, column) from None
        shown = str(token).strip().splitlines()[0] if str(token).strip() else repr(str(token))
        if len(shown) > 40:
            shown = shown[:37] + "..."
        raise HclSyntaxError(f"unexpected {shown!r}", exc.line, exc.column) from None
    except UnexpectedEOF:
        line, column = _end_position(text)
        raise HclSyntaxError("unexpected end of file", line, column) from None
    except UnexpectedInput as exc:  # pragma: no cover - other lark input errors
        raise HclSyntaxError("syntax error", getattr(exc, "line", None), None) from None
    except (LarkError, RecursionError) as exc:
        raise HclSyntaxError(f"cannot parse: {type(exc).__name__}") from None


def _end_position(text: str) -> tuple[int, int]:
    stripped = text.rstrip("\n")
    line = stripped.count("\n") + 1
    column = len(stripped) - (stripped.rfind("\n") + 1) + 1
    return line, column


_IGNORE = re.compile(
    r"tfcheck:ignore(?:[ \t]+([A-Za-z][A-Za-z0-9_-]*(?:[ \t]*,[ \t]*[A-Za-z][A-Za-z0-9_-]*)*))?"
    r"[ \t]*(.*)$"
)
_COMMENT_ONLY = re.compile(r"^[ \t]*(#|//|/\*)")


def _comment_lines(text: str) -> frozenset[int]:
    return frozenset(
        number for number, line in enumerate(text.split("\n"), 1) if _COMMENT_ONLY.match(line)
    )


def parse_directive(comment: str, line: int) -> Iterator[CommentDirective]:
    """`# tfcheck:ignore PC101,PC102 reason` -> one directive per comment line."""
    for offset, text in enumerate(comment.split("\n")):
        found = _IGNORE.search(text)
        if not found:
            continue
        rules = tuple(r.strip() for r in (found.group(1) or "").split(",") if r.strip())
        reason = found.group(2).strip()
        if reason.endswith("*/"):
            reason = reason[:-2].rstrip()
        yield CommentDirective(rules, reason, line + offset)


# -- lark tree -> nodes -------------------------------------------------------------

_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}


def _is_tree(node: Any, name: str | None = None) -> bool:
    data = getattr(node, "data", None)
    return data is not None and (name is None or data == name)


def _children(node: Any) -> list[Any]:
    """Children without newline/comment subtrees."""
    return [c for c in node.children if not _is_tree(c, "new_line_or_comment")]


def _line(node: Any) -> int:
    meta = getattr(node, "meta", None)
    if meta is not None and not getattr(meta, "empty", True):
        return int(meta.line)
    return int(getattr(node, "line", 0) or 0)


def _column(node: Any) -> int | None:
    meta = getattr(node, "meta", None)
    if meta is not None and not getattr(meta, "empty", True):
        return int(meta.column)
    return None


class _Converter:
    """One pass over a lark tree, bounded in nesting depth."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.depth = 0
        self.blocks = 0

    # bodies

    def body(self, tree: Any) -> Body:
        attributes: dict[str, Attribute] = {}
        blocks: list[Block] = []
        for child in tree.children:
            if _is_tree(child, "attribute"):
                name = self._identifier(child.children[0])
                try:
                    expr = self.expr(child.children[2])
                except RecursionError:
                    raise HclSyntaxError(
                        f"expression of {name} nested too deeply (more than {MAX_NESTING} levels)",
                        _line(child),
                        _column(child),
                    ) from None
                attributes.setdefault(name, Attribute(name, expr, _line(child), _column(child)))
            elif _is_tree(child, "block"):
                blocks.append(self.block(child))
        return Body(attributes, tuple(blocks))

    def block(self, tree: Any) -> Block:
        parts = tree.children
        kind = self._identifier(parts[0])
        labels: list[str] = []
        body: Body = Body()
        for part in parts[1:]:
            if _is_tree(part, "identifier"):
                labels.append(self._identifier(part))
            elif _is_tree(part, "string"):
                labels.append(self._plain_string(part))
            elif _is_tree(part, "body"):
                self.blocks += 1
                if self.blocks > MAX_NESTING:
                    raise HclSyntaxError(
                        f"blocks nested more than {MAX_NESTING} deep", _line(tree), _column(tree)
                    )
                try:
                    body = self.body(part)
                finally:
                    self.blocks -= 1
        meta = tree.meta
        return Block(kind, tuple(labels), body, meta.line, meta.end_line, _column(tree))

    # expressions

    def expr(self, node: Any) -> Expr:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise RecursionError
        try:
            found = self._expr(node)
        finally:
            self.depth -= 1
        if not found.column:
            column = _column(node) if _is_tree(node) else getattr(node, "column", None)
            if column:  # set once, on the node just built (frozen only to everyone else)
                msgspec.structs.force_setattr(cast(msgspec.Struct, found), "column", int(column))
        return found

    def _expr(self, node: Any) -> Expr:
        data = getattr(node, "data", None)
        if data is None:  # a bare token
            return Literal(str(node), self._tline(node))
        handler: Callable[[Any], Expr] | None = getattr(self, f"_x_{data}", None)
        if handler is None:
            return Invalid(f"unsupported syntax {data}", _line(node))
        return handler(node)

    def _tline(self, token: Any) -> int:
        return int(getattr(token, "line", 0) or 0)

    def _x_expr_term(self, node: Any) -> Expr:
        kids = _children(node)
        first = kids[0]
        if not _is_tree(first) and str(first) == "(":
            return self.expr(kids[1])
        if _is_tree(first, "identifier"):
            name = self._identifier(first)
            line = _line(first)
            if name == "true":
                return Literal(True, line)
            if name == "false":
                return Literal(False, line)
            if name == "null":
                return Literal(None, line)
            return Name(name, line)
        return self.expr(first)

    def _x_identifier(self, node: Any) -> Expr:
        return Name(self._identifier(node), _line(node))

    def _x_int_lit(self, node: Any) -> Expr:
        return Literal(int("".join(str(t) for t in node.children)), _line(node))

    def _x_float_lit(self, node: Any) -> Expr:
        text = "".join(str(t) for t in node.children)
        value = float(text)
        return Literal(_normal_number(value), _line(node))

    def _x_string(self, node: Any) -> Expr:
        segments: list[tuple[str, Any]] = []
        for part in node.children:
            if not _is_tree(part, "string_part"):
                continue
            inner = part.children[0]
            if _is_tree(inner, "interpolation"):
                segments.append(("expr", self.expr(_children(inner)[0])))
            elif getattr(inner, "type", "") == "ESCAPED_INTERPOLATION":
                segments.append(("lit", "${" + str(inner)[3:]))
            else:
                segments.append(("text", _unescape(str(inner))))
        return _build_template(segments, _line(node))

    def _x_heredoc_template(self, node: Any) -> Expr:
        return self._heredoc(node, trim=False)

    def _x_heredoc_template_trim(self, node: Any) -> Expr:
        return self._heredoc(node, trim=True)

    def _heredoc(self, node: Any, *, trim: bool) -> Expr:
        token = str(node.children[0])
        line = _line(node)
        first_newline = token.find("\n")
        content = token[first_newline + 1 :] if first_newline >= 0 else ""
        # drop the end-marker line; the content keeps its final newline like terraform
        content = content.rstrip("\n")
        cut = content.rfind("\n")
        content = content[: cut + 1] if cut >= 0 else ""
        cut = 0
        if trim:
            content, cut = _trim_indent(content)
        return _build_template(list(_scan_template(content, line + 1, cut)), line)

    def _x_tuple(self, node: Any) -> Expr:
        items = tuple(self.expr(c) for c in _children(node))
        return TupleExpr(items, _line(node))

    def _x_object(self, node: Any) -> Expr:
        items: list[tuple[Expr, Expr]] = []
        for elem in _children(node):
            if not _is_tree(elem, "object_elem"):
                continue
            key_node, _, value_node = elem.children[:3]
            items.append((self._object_key(key_node), self.expr(value_node)))
        return ObjectExpr(tuple(items), _line(node))

    def _object_key(self, node: Any) -> Expr:
        inner = node.children[0]
        line = _line(node)
        if _is_tree(inner, "identifier"):
            return Literal(self._identifier(inner), line)
        if _is_tree(inner, "object_elem_key_dot_accessor"):
            return Literal(".".join(self._identifier(c) for c in _children(inner)), line)
        if _is_tree(inner, "object_elem_key_expression"):
            kids = [c for c in _children(inner) if _is_tree(c)]
            return self.expr(kids[0])
        key = self.expr(inner)
        if isinstance(key, Literal) and not isinstance(key.value, str | type(None)):
            return Literal(_to_key_string(key.value), line)
        return key

    def _x_function_call(self, node: Any) -> Expr:
        kids = _children(node)
        name = self._identifier(kids[0])
        args: tuple[Expr, ...] = ()
        expand = False
        if len(kids) > 1 and _is_tree(kids[1], "arguments"):
            arg_nodes = _children(kids[1])
            args = tuple(self.expr(a) for a in arg_nodes)
            if arg_nodes:
                last = arg_nodes[-1]
                end = getattr(last.meta, "end_pos", None) if _is_tree(last) else None
                stop = getattr(node.meta, "end_pos", None)
                if end is not None and stop is not None:
                    expand = "..." in self.source[end:stop]
        return Call(name, args, expand, _line(node))

    def _x_provider_function_call(self, node: Any) -> Expr:
        kids = [c for c in _children(node) if _is_tree(c, "identifier")]
        name = "::".join(self._identifier(k) for k in kids[:3])
        arguments = [c for c in _children(node) if _is_tree(c, "arguments")]
        args = tuple(self.expr(a) for a in _children(arguments[0])) if arguments else ()
        return Call(name, args, False, _line(node))

    def _x_index_expr_term(self, node: Any) -> Expr:
        kids = _children(node)
        return Index(self.expr(kids[0]), self._index_key(kids[1]), _line(node))

    def _index_key(self, index: Any) -> Expr:
        kids = _children(index)
        if kids and _is_tree(kids[0]):
            return self.expr(kids[0])
        return Literal(int("".join(str(k) for k in kids)), _line(index))

    def _x_get_attr_expr_term(self, node: Any) -> Expr:
        kids = _children(node)
        name = self._identifier(_children(kids[1])[0])
        return GetAttr(self.expr(kids[0]), name, _line(node))

    def _x_attr_splat_expr_term(self, node: Any) -> Expr:
        return self._splat(node)

    def _x_full_splat_expr_term(self, node: Any) -> Expr:
        return self._splat(node)

    def _splat(self, node: Any) -> Expr:
        kids = _children(node)
        line = _line(node)
        each: Expr = SplatItem(line)
        for op in _children(kids[1]):
            if _is_tree(op, "get_attr"):
                each = GetAttr(each, self._identifier(_children(op)[0]), line)
            elif _is_tree(op, "index"):
                each = Index(each, self._index_key(op), line)
        return Splat(self.expr(kids[0]), each, line)

    def _x_unary_op(self, node: Any) -> Expr:
        kids = _children(node)
        return Unary(str(kids[0]), self.expr(kids[1]), _line(node))

    def _x_binary_op(self, node: Any) -> Expr:
        operands: list[Expr] = []
        operators: list[str] = []
        current: Any = node
        line = _line(node)
        while True:
            kids = _children(current)
            operands.append(self.expr(kids[0]))
            term = _children(kids[1])
            operators.append(str(_children(term[0])[0]) if _is_tree(term[0]) else str(term[0]))
            right = term[1]
            if _is_tree(right, "binary_op"):
                current = right
                continue
            if _is_tree(right, "conditional"):
                # `a == b ? x : y` arrives as `a == (b ? x : y)`: the chain is the condition
                cond_kids = _children(right)
                operands.append(self.expr(cond_kids[0]))
                condition = _precedence(operands, operators, line)
                return Conditional(
                    condition, self.expr(cond_kids[1]), self.expr(cond_kids[2]), line
                )
            operands.append(self.expr(right))
            return _precedence(operands, operators, line)

    def _x_conditional(self, node: Any) -> Expr:
        kids = _children(node)
        return Conditional(
            self.expr(kids[0]),
            self.expr(kids[1]),
            self.expr(kids[2]),
            _line(node),
        )

    def _x_for_tuple_expr(self, node: Any) -> Expr:
        return self._for(node, is_object=False)

    def _x_for_object_expr(self, node: Any) -> Expr:
        return self._for(node, is_object=True)

    def _for(self, node: Any, *, is_object: bool) -> Expr:
        kids = [c for c in _children(node) if _is_tree(c)]
        intro = kids[0]
        names = [self._identifier(c) for c in _children(intro) if _is_tree(c, "identifier")]
        collection = [c for c in _children(intro) if _is_tree(c) and not _is_tree(c, "identifier")]
        key_var, value_var = (names[0], names[1]) if len(names) > 1 else (None, names[0])
        cond_nodes = [c for c in kids if _is_tree(c, "for_cond")]
        cond = None
        if cond_nodes:
            cond = self.expr([c for c in _children(cond_nodes[0]) if _is_tree(c)][0])
        body = [c for c in kids[1:] if not _is_tree(c, "for_cond")]
        line = _line(node)
        if is_object:
            grouping = any(not _is_tree(c) and str(c) == "..." for c in node.children)
            return ForExpr(
                key_var,
                value_var,
                self.expr(collection[0]),
                self.expr(body[0]),
                self.expr(body[1]),
                cond,
                grouping,
                line,
            )
        return ForExpr(
            key_var,
            value_var,
            self.expr(collection[0]),
            None,
            self.expr(body[0]),
            cond,
            False,
            line,
        )

    # tokens

    def _identifier(self, node: Any) -> str:
        if _is_tree(node):
            return str(node.children[0])
        return str(node)

    def _plain_string(self, node: Any) -> str:
        out = []
        for part in node.children:
            if _is_tree(part, "string_part"):
                inner = part.children[0]
                if _is_tree(inner):
                    out.append("${...}")
                else:
                    out.append(_unescape(str(inner)))
        return "".join(out)


def _precedence(operands: list[Expr], operators: list[str], line: int) -> Expr:
    """Rebuild a flat `a op b op c` chain with HCL precedence, left-associative."""
    output: list[Expr] = []
    stack: list[str] = []

    def reduce() -> None:
        op = stack.pop()
        right = output.pop()
        left = output.pop()
        output.append(Binary(op, left, right, line))

    output.append(operands[0])
    for op, operand in zip(operators, operands[1:], strict=True):
        while stack and _PRECEDENCE.get(stack[-1], 0) >= _PRECEDENCE.get(op, 0):
            reduce()
        stack.append(op)
        output.append(operand)
    while stack:
        reduce()
    return output[0]


def _normal_number(value: float) -> int | float:
    if value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def _to_key_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.S)


def _unescape(text: str) -> str:
    """Backslash escapes of a quoted HCL string."""
    if "\\" not in text:
        return text

    def one(found: re.Match[str]) -> str:
        code = found.group(1)
        if code[0] in "uU" and len(code) > 1:
            try:
                return chr(int(code[1:], 16))
            except (ValueError, OverflowError):
                return found.group(0)
        return _ESCAPES.get(code, found.group(0))

    return _ESCAPE.sub(one, text)


def _trim_indent(content: str) -> tuple[str, int]:
    """`<<-` heredocs: cut the smallest indentation of the non-blank lines (and say how much)."""
    lines = content.split("\n")
    widths = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
    if not widths:
        return content, 0
    cut = min(widths)
    return "\n".join(line[cut:] if line.strip() else line.lstrip(" \t") for line in lines), cut


# -- templates ----------------------------------------------------------------------

# A template is first split into segments: ("text", s) literal text that may still hold
# directives, ("lit", s) final literal text, ("expr", Expr) an interpolation, and
# ("dir", (keyword, payload, strip_left, strip_right)) a directive.


def _scan_template(text: str, line: int, indent: int = 0) -> Iterator[tuple[str, Any]]:
    """Split heredoc/templatefile text into segments, parsing each `${...}`.

    `indent`: columns a `<<-` heredoc cut from the start of every line.
    """
    pos = 0
    buf: list[str] = []
    length = len(text)
    while pos < length:
        found = _next_marker(text, pos)
        if found < 0:
            buf.append(text[pos:])
            break
        buf.append(text[pos:found])
        if text.startswith("$${", found) or text.startswith("%%{", found):
            buf.append(text[found + 1 : found + 3])
            pos = found + 3
            continue
        end = _matching_brace(text, found + 2)
        if end < 0:
            buf.append(text[found:])
            break
        if buf:
            yield ("lit", "".join(buf))
            buf = []
        inner = text[found + 2 : end]
        here = line + text.count("\n", 0, found)
        strip_left = inner.startswith("~")
        strip_right = inner.endswith("~")
        inner = inner[1 if strip_left else 0 : len(inner) - 1 if strip_right else len(inner)]
        if text[found] == "$":
            yield ("strip", (strip_left, strip_right))
            start = end - len(inner.lstrip()) - (1 if strip_right else 0)
            try:
                yield ("expr", moved(parse_expression(inner.strip()),
                                     line + text.count("\n", 0, start),
                                     start - text.rfind("\n", 0, start) + indent, indent))
            except HclSyntaxError as exc:
                yield ("expr", Invalid(f"cannot parse interpolation: {exc.message}", here))
        else:
            yield ("dir", (inner.strip(), here, strip_left, strip_right))
        pos = end + 1
    if buf:
        yield ("lit", "".join(buf))


def _next_marker(text: str, pos: int) -> int:
    dollar = text.find("${", pos)
    percent = text.find("%{", pos)
    candidates = [p for p in (dollar, percent) if p >= 0]
    if not candidates:
        return -1
    first = min(candidates)
    # an escape `$${` / `%%{` starts one character earlier
    if first > pos and text[first - 1] == text[first] and text[first - 1] in "$%":
        return first - 1
    return first


def _matching_brace(text: str, pos: int) -> int:
    depth = 0
    in_string = False
    index = pos
    length = len(text)
    while index < length:
        char = text[index]
        if in_string:
            if char == "\\":
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return index
            depth -= 1
        index += 1
    return -1


_FOR_DIRECTIVE = re.compile(
    r"^for\s+([A-Za-z_][A-Za-z0-9_-]*)(?:\s*,\s*([A-Za-z_][A-Za-z0-9_-]*))?\s+in\s+(.+)$", re.S
)


def _build_template(segments: list[tuple[str, Any]], line: int) -> Expr:
    """Segments -> a `Template` (or a plain `Literal` when nothing is interpolated)."""
    flat: list[tuple[str, Any]] = []
    for kind, value in segments:
        if kind == "text" and "%{" in value:
            flat.extend(_scan_directives(value, line))
        elif kind == "text":
            flat.append(("lit", value))
        else:
            flat.append((kind, value))
    _apply_strip_markers(flat)
    parts, rest = _nest(flat, 0, line)
    if rest < len(flat):
        return Invalid("unexpected template directive", line)
    merged = _merge_literals(parts)
    if not merged:
        return Literal("", line)
    if len(merged) == 1 and isinstance(merged[0], str):
        return Literal(merged[0], line)
    return Template(tuple(merged), line)


def _scan_directives(text: str, line: int) -> Iterator[tuple[str, Any]]:
    """Directives inside a quoted string's literal text (the grammar leaves them there)."""
    pos = 0
    while True:
        found = text.find("%{", pos)
        if found < 0:
            yield ("lit", text[pos:])
            return
        if found > 0 and text[found - 1] == "%":
            yield ("lit", text[pos : found - 1] + "%{")
            pos = found + 2
            continue
        end = _matching_brace(text, found + 2)
        if end < 0:
            yield ("lit", text[pos:])
            return
        yield ("lit", text[pos:found])
        inner = text[found + 2 : end]
        strip_left = inner.startswith("~")
        strip_right = inner.endswith("~")
        inner = inner[1 if strip_left else 0 : len(inner) - 1 if strip_right else len(inner)]
        yield ("dir", (inner.strip(), line, strip_left, strip_right))
        pos = end + 1


def _apply_strip_markers(flat: list[tuple[str, Any]]) -> None:
    """`${~ x ~}` / `%{~ if ~}` strip the whitespace of the neighbouring literal text."""
    pending_strip = False
    for index, (kind, value) in enumerate(flat):
        if kind in ("strip", "dir"):
            left, right = (value[0], value[1]) if kind == "strip" else (value[2], value[3])
            if left:
                for back in range(index - 1, -1, -1):
                    if flat[back][0] == "lit":
                        flat[back] = ("lit", flat[back][1].rstrip())
                        break
                    if flat[back][0] in ("expr", "dir"):
                        break
            pending_strip = right
        elif kind == "lit" and pending_strip:
            flat[index] = ("lit", value.lstrip())
            pending_strip = False
        elif kind == "expr":
            pending_strip = False
    # strip markers carry no content of their own
    flat[:] = [item for item in flat if item[0] != "strip"]


def _nest(flat: list[tuple[str, Any]], start: int, line: int) -> tuple[list[TemplatePart], int]:
    """Directive items into nested `TemplateIf`/`TemplateFor`; stops at else/end keywords."""
    parts: list[TemplatePart] = []
    index = start
    while index < len(flat):
        kind, value = flat[index]
        if kind == "lit" or kind == "expr":
            parts.append(value)
        elif kind == "dir":
            keyword = value[0].split(None, 1)[0] if value[0] else ""
            if keyword in ("else", "endif", "endfor"):
                return parts, index
            here = value[1]
            if keyword == "if":
                cond = _directive_expr(value[0][2:], here)
                then, index = _nest(flat, index + 1, line)
                otherwise: list[TemplatePart] = []
                if index < len(flat) and flat[index][1][0] == "else":
                    otherwise, index = _nest(flat, index + 1, line)
                if index >= len(flat) or flat[index][1][0] != "endif":
                    return [Invalid("%{if} without %{endif}", here)], len(flat)
                parts.append(TemplateIf(cond, tuple(then), tuple(otherwise)))
            elif keyword == "for":
                found = _FOR_DIRECTIVE.match(value[0])
                body, index = _nest(flat, index + 1, line)
                if not found or index >= len(flat) or flat[index][1][0] != "endfor":
                    return [Invalid("malformed %{for} directive", here)], len(flat)
                key_var, value_var = (
                    (found.group(1), found.group(2)) if found.group(2) else (None, found.group(1))
                )
                parts.append(
                    TemplateFor(
                        key_var, value_var, _directive_expr(found.group(3), here), tuple(body)
                    )
                )
            else:
                parts.append(Invalid(f"unknown template directive {value[0]!r}", here))
        index += 1
    return parts, index


def _directive_expr(text: str, line: int) -> Expr:
    try:
        return parse_expression(text.strip())
    except HclSyntaxError as exc:
        return Invalid(f"cannot parse template directive: {exc.message}", line)


def _merge_literals(parts: list[TemplatePart]) -> list[TemplatePart]:
    merged: list[TemplatePart] = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if merged and isinstance(merged[-1], str):
                merged[-1] = merged[-1] + part
                continue
        merged.append(part)
    return merged


