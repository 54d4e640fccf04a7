"""Remediation HCL, built as values and written the way `terraform fmt` writes it.

A policy describes its snippet (blocks, attributes, references, literals, comments) and
`render` writes it: two-space indents, `=` aligned within a run of one-line attributes,
trailing comments aligned within a run of commented lines, strings escaped as HCL reads
them. A comment is data beside a value, never text edited into or out of rendered HCL:
an attribute writes its value's comment, a list on one line has no room for its items'.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import msgspec

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
INDENT = "  "


class Literal(msgspec.Struct, frozen=True):
    """A constant: a string (escaped, templates included), number, bool or null."""

    value: str | int | float | bool | None

    @property
    def comment(self) -> str:
        return ""


class Reference(msgspec.Struct, frozen=True):
    """An expression as the user's code would write it, with what it stands for.

    `comment` says which resource a module output or a literal ID means; it is written
    after an attribute that holds the reference, dropped where there is no room.
    """

    expression: str
    comment: str = ""


class Template(msgspec.Struct, frozen=True):
    """A string with interpolations: `"com.amazonaws.${data.aws_region.current.name}.s3"`."""

    parts: tuple[str | Reference, ...]

    @property
    def comment(self) -> str:
        return ""


class ListOf(msgspec.Struct, frozen=True):
    """A list on one line; the comments of its items are not written."""

    items: tuple[Value, ...]

    @property
    def comment(self) -> str:
        return ""


class ObjectOf(msgspec.Struct, frozen=True):
    """An object, one attribute a line; keys that are not identifiers are quoted."""

    entries: tuple[tuple[str, Value], ...]

    @property
    def comment(self) -> str:
        return ""


class Call(msgspec.Struct, frozen=True):
    """A function call: `yamlencode({...})`, `base64encode(<<-EOT ... EOT)`."""

    function: str
    arguments: tuple[Value, ...]

    @property
    def comment(self) -> str:
        return ""


class Heredoc(msgspec.Struct, frozen=True):
    """An indented heredoc (`<<-EOT`), its lines two spaces in: text and interpolations."""

    parts: tuple[str | Reference, ...]
    marker: str = "EOT"

    @property
    def comment(self) -> str:
        return ""


Value = Literal | Reference | Template | ListOf | ObjectOf | Call | Heredoc


class Attribute(msgspec.Struct, frozen=True):
    """`name = value`; `comment` (or the value's own) is written after it."""

    name: str
    value: Value
    comment: str = ""


class Block(msgspec.Struct, frozen=True):
    """`type "label" ... { body }`."""

    type: str
    labels: tuple[str, ...] = ()
    body: tuple[Item, ...] = ()


class Comment(msgspec.Struct, frozen=True):
    """A comment on lines of its own, one `#` line per line of text."""

    text: str


class Blank(msgspec.Struct, frozen=True):
    """An empty line between two items."""


Item = Attribute | Block | Comment | Blank
BLANK = Blank()


def attributes(**values: Value | str | int | bool) -> tuple[Attribute, ...]:
    """Attributes in order; plain Python constants become literals."""
    return tuple(Attribute(name, value if isinstance(value, _VALUE_TYPES) else Literal(value))
                 for name, value in values.items())


def block(type_: str, *labels: str, body: Iterable[Item] = ()) -> Block:
    """`type "label" { body }`: a nested block (`set`, `vpc_config`) or a top-level one."""
    return Block(type_, labels, tuple(body))


def resource(type_: str, name: str, body: Iterable[Item]) -> Block:
    """`resource "type" "name" { body }`."""
    return Block("resource", (type_, name), tuple(body))


def separated(items: Iterable[Item]) -> list[Item]:
    """Items with an empty line between each two: top-level blocks, one after another."""
    out: list[Item] = []
    for item in items:
        out.extend((BLANK, item) if out else (item,))
    return out


def uncommented(value: Value) -> Value:
    """The value without the comment saying what it stands for."""
    return Reference(value.expression) if isinstance(value, Reference) else value


def render(*items: Item) -> str:
    """The snippet as `terraform fmt` would write it (no trailing newline)."""
    lines: list[_Line] = []
    for item in items:
        _item_lines(item, 0, lines)
    _align(lines)
    return "\n".join(line.text() for line in lines)


def expression(value: Value) -> str:
    """A value written on one line (the comment of a reference not included)."""
    opened = _value(value, 0)
    if isinstance(opened, str):
        return opened
    raise ValueError(f"{type(value).__name__} does not fit on one line")


# -- writing --------------------------------------------------------------------------


class _Line(msgspec.Struct):
    """One line, in the cells `terraform fmt` aligns: lead, `= value`, `# comment`."""

    lead: str
    assign: str | None = None
    comment: str | None = None

    def text(self) -> str:
        text = self.lead + (self.assign or "")
        if self.comment:
            text += self.comment
        return text


class _Opened(msgspec.Struct, frozen=True):
    """A value over several lines: `head` ends its first line, `tail` starts the last."""

    head: str
    body: tuple[_Line, ...]
    tail: str


_VALUE_TYPES = (Literal, Reference, Template, ListOf, ObjectOf, Call, Heredoc)


def _item_lines(item: Item, depth: int, out: list[_Line]) -> None:
    pad = INDENT * depth
    if isinstance(item, Blank):
        out.append(_Line(""))
    elif isinstance(item, Comment):
        out.extend(_Line(f"{pad}# {text}".rstrip()) for text in item.text.split("\n"))
    elif isinstance(item, Attribute):
        _assignment(pad + _key(item.name), item.value, item.comment or item.value.comment,
                    depth, out)
    else:
        labels = "".join(f" {_string(label)}" for label in item.labels)
        out.append(_Line(f"{pad}{item.type}{labels} {{"))
        for inner in item.body:
            _item_lines(inner, depth + 1, out)
        out.append(_Line(f"{pad}}}"))


def _assignment(lead: str, value: Value, comment: str, depth: int, out: list[_Line]) -> None:
    written = _value(value, depth)
    note = f"# {comment}" if comment else None
    if isinstance(written, str):
        out.append(_Line(lead, f"= {written}", note))
        return
    out.append(_Line(f"{lead} = {written.head}", None, note))
    out.extend(written.body)
    if written.tail:  # a heredoc's marker closes it on a line of its own
        out.append(_Line(INDENT * depth + written.tail))


def _value(value: Value, depth: int) -> str | _Opened:
    if isinstance(value, Literal):
        return _literal(value.value)
    if isinstance(value, Reference):
        return value.expression
    if isinstance(value, Template):
        return '"' + "".join(f"${{{part.expression}}}" if isinstance(part, Reference)
                             else _escape(part) for part in value.parts) + '"'
    if isinstance(value, ObjectOf):
        body: list[_Line] = []
        for key, entry in value.entries:
            _assignment(INDENT * (depth + 1) + _key(key), entry, entry.comment, depth + 1, body)
        return _Opened("{", tuple(body), "}")
    if isinstance(value, Heredoc):
        inside = INDENT * (depth + 1)
        written = "".join(f"${{{part.expression}}}" if isinstance(part, Reference)
                          else _escape_template(part) for part in value.parts)
        text = [_Line(f"{inside}{line}".rstrip()) for line in written.split("\n")]
        marker = _Line(INDENT * depth + value.marker)
        return _Opened(f"<<-{value.marker}", (*text, marker), "")
    items = value.items if isinstance(value, ListOf) else value.arguments
    opening, closing = ("[", "]") if isinstance(value, ListOf) else (f"{value.function}(", ")")
    return _sequence(opening, [_value(item, depth) for item in items], closing)


def _sequence(opening: str, written: Sequence[str | _Opened], closing: str) -> str | _Opened:
    """Items on one line; a last item over several lines opens the sequence with it."""
    inline = [w for w in written if isinstance(w, str)]
    if len(inline) == len(written):
        return opening + ", ".join(inline) + closing
    last = written[-1]
    if len(inline) != len(written) - 1 or isinstance(last, str):
        raise ValueError("only the last item of a list or call may span lines")
    before = "".join(f"{w}, " for w in inline)
    if not last.tail:  # a heredoc: its marker ends a line, the closing goes on the next
        return _Opened(opening + before + last.head, last.body, closing)
    return _Opened(opening + before + last.head, last.body, last.tail + closing)


def _literal(value: str | int | float | bool | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return _string(value)


def _string(text: str) -> str:
    return f'"{_escape(text)}"'


def _escape(text: str) -> str:
    text = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            .replace("\r", "\\r").replace("\t", "\\t"))
    return _escape_template(text)


def _escape_template(text: str) -> str:
    """Literal text in a template: only `${` and `%{` would mean something else."""
    return text.replace("${", "$${").replace("%{", "%%{")


def _key(name: str) -> str:
    return name if _IDENTIFIER.match(name) else _string(name)


def _align(lines: list[_Line]) -> None:
    """`terraform fmt`'s cells: `=` aligned in runs of assignments, then comments."""
    run: list[_Line] = []
    for line in [*lines, _Line("")]:
        if line.assign is not None:
            run.append(line)
            continue
        width = max((len(member.lead) for member in run), default=0)
        for member in run:
            member.lead = member.lead.ljust(width + 1)
        run = []
    for line in [*lines, _Line("")]:
        if line.comment is not None:
            run.append(line)
            continue
        width = max((len(member.lead + (member.assign or "")) for member in run), default=0)
        for member in run:
            member.comment = " " * (width - len(member.lead + (member.assign or "")) + 1) + (
                member.comment or "")
        run = []
