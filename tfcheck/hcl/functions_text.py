"""Terraform's string, regular-expression and encoding functions.

Regular expressions are RE2 (`google-re2`), as terraform's are Go's: linear time,
named groups, no backreferences; a pattern RE2 rejects is an evaluation error. Every
function that can build a large string estimates the result's size first and refuses
it before building (`bound_length`), so a hostile configuration costs an error, not
memory.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import re2  # type: ignore[import-untyped]

from tfcheck.hcl.functions_core import (
    FUNCTIONS,
    Function,
    FunctionContext,
    arity,
    bound_length,
    function,
    library_error,
)
from tfcheck.hcl.values import (
    MAX_ITEMS,
    BoundExceeded,
    EvalError,
    UnknownResult,
    as_int,
    as_list,
    merge_unknowns,
    need_known,
    normal_number,
    number_str,
    plain,
    to_bool,
    to_number,
    to_str,
    unknown_in,
    with_partial,
)
from tfcheck.model import Unknown

MAX_DECODE_BYTES = 1_000_000
MAX_WIDTH = 1_000
MAX_REGEX_INPUT = 1_000_000  # RE2 is linear: the bound is on memory, not time


# -- strings ------------------------------------------------------------------------


@function("format")
def _format(args: list[Any], ctx: FunctionContext) -> Any:
    if not args:
        raise EvalError("needs a format string")
    need_known(args)
    return go_format(to_str(args[0]), args[1:])


@function("formatlist")
def _formatlist(args: list[Any], ctx: FunctionContext) -> Any:
    if not args:
        raise EvalError("needs a format string")
    need_known(args)
    spec = to_str(args[0])
    lengths = {len(a) for a in args[1:] if isinstance(a, list)}
    if len(lengths) > 1:
        raise EvalError("list arguments differ in length")
    if not lengths:
        return [go_format(spec, args[1:])]
    count = lengths.pop()
    out: list[str] = []
    total = 0
    for i in range(count):
        text = go_format(spec, [a[i] if isinstance(a, list) else a for a in args[1:]])
        total += len(text)
        bound_length(total // 10, "formatlist result")  # ten strings of the maximum length
        out.append(text)
    return out


# RE2 (linear time): with Python's engine, `%000...0!` backtracks quadratically.
_VERB = re2.compile(r"%(\[\d+\])?([-+# 0]*)(\d+|\*)?(?:\.(\d+))?(\[\d+\])?([a-zA-Z%])")


def go_format(spec: str, values: list[Any]) -> str:
    """Go's fmt verbs as terraform's `format` supports them (bounded widths)."""
    out: list[str] = []
    position = 0
    next_arg = 0
    size = 0
    last_end = 0
    for found in _VERB.finditer(spec):
        out.append(spec[position : found.start()])
        position = found.end()
        explicit, flags, width, precision, explicit2, verb = found.groups()
        if verb == "%":
            out.append("%")
            continue
        index_text = explicit or explicit2
        if index_text:
            next_arg = int(index_text[1:-1]) - 1
        if not 0 <= next_arg < len(values):
            raise EvalError("not enough arguments for the format string")
        value = values[next_arg]
        next_arg += 1
        text = _format_one(verb, flags, precision, value)
        if width and width != "*":
            size = int(width)
            if size > MAX_WIDTH:
                raise BoundExceeded("format width too large")
            if "-" in flags:
                text = text.ljust(size)
            elif "0" in flags and verb in "dfeEgGxXob":
                sign = text[0] if text[:1] in "+-" else ""
                text = sign + text[len(sign) :].rjust(size - len(sign), "0")
            else:
                text = text.rjust(size)
        out.append(text)
        size += len(text) + found.start() - last_end
        last_end = found.end()
        bound_length(size)
    out.append(spec[position:])
    if next_arg < len(values) and not any(f.group(1) or f.group(5) for f in _VERB.finditer(spec)):
        raise EvalError("too many arguments for the format string")
    return "".join(out)


def _format_one(verb: str, flags: str, precision: str | None, value: Any) -> str:
    if precision is not None and int(precision) > MAX_WIDTH:
        raise BoundExceeded("format precision too large")
    if verb == "v":
        if "#" in flags:
            return _json_encode(value)
        return to_str(value) if not isinstance(value, list | dict) else _json_encode(value)
    if verb == "s":
        text = to_str(value)
        return text[: int(precision)] if precision is not None else text
    if verb == "q":
        return json.dumps(to_str(value), ensure_ascii=False)
    if verb == "t":
        return "true" if to_bool(value) else "false"
    number = to_number(value)
    sign = "+" if "+" in flags else (" " if " " in flags else "")
    if verb == "d":
        return format(int(number), f"{sign}d")
    if verb in "xXob":
        if isinstance(number, float):
            raise EvalError(f"%{verb} needs a whole number")
        prefix = {"x": "0x", "X": "0X", "o": "0", "b": ""}[verb] if "#" in flags else ""
        body = format(abs(number), verb)
        return ("-" if number < 0 else sign) + prefix + body
    if verb in "feEgG":
        digits = 6 if precision is None else int(precision)
        if verb in "gG" and precision is None:
            return sign + number_str(number) if sign and number >= 0 else number_str(number)
        return format(float(number), f"{sign}.{digits}{verb}")
    raise EvalError(f"unsupported format verb %{verb}")


@function("join")
def _join(args: list[Any], ctx: FunctionContext) -> Any:
    """Joined strings; unknown elements kept as their `${...}` text in `partial`.

    User data is often a `join` of lines around values known only after apply: the
    partial text still shows which arguments a bootstrap passes.
    """
    if len(args) < 2:
        raise EvalError("needs a separator and at least one list")
    separator = to_str(args[0])
    items: list[str] = []
    unknowns: list[Unknown] = []
    renderable = True
    size = 0
    for arg in args[1:]:
        if isinstance(arg, Unknown):
            raise UnknownResult(Unknown(arg.reason, arg.references))
        for item in as_list(arg):
            if isinstance(item, Unknown):
                unknowns.append(item)
                renderable = renderable and item.partial is not None
                text = item.partial or ""
            else:
                need_known(item)
                text = to_str(item)
            size += len(text) + len(separator)
            bound_length(size)
            items.append(text)
    if unknowns:
        return with_partial(merge_unknowns(unknowns), separator.join(items) if renderable else None)
    return separator.join(items)


@function("split")
def _split(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 2)
    separator, text = to_str(args[0]), to_str(args[1])
    if separator == "":
        return list(text)
    return text.split(separator)


@function("replace")
def _replace(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 3)
    text, search, replacement = (to_str(a) for a in args)
    if len(search) >= 2 and search.startswith("/") and search.endswith("/"):
        pattern = _compile(search[1:-1])
        _bound_regex_input(text)
        size = [len(text)]

        def expand(found: Any) -> str:
            piece = _go_expand(replacement, found)
            size[0] += len(piece) - (found.end() - found.start())
            bound_length(size[0])
            return piece

        return pattern.sub(expand, text)
    if search == "":
        bound_length(len(text) + (len(text) + 1) * len(replacement))
    else:
        bound_length(len(text) + text.count(search) * max(0, len(replacement) - len(search)))
    return text.replace(search, replacement)


_TEMPLATE_REF = re2.compile(r"\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


def _go_expand(template: str, found: Any) -> str:
    """Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown groups are ""."""
    if "$" not in template:
        return template
    out: list[str] = []
    position = 0
    for ref in _TEMPLATE_REF.finditer(template):
        out.append(template[position : ref.start()])
        position = ref.end()
        name = ref.group(1) or ref.group(2)
        if name is None:
            out.append("$")
            continue
        out.append(_group(found, name))
    out.append(template[position:])
    return "".join(out)


def _group(found: Any, name: str) -> str:
    try:
        value = found.group(int(name)) if name.isdigit() else found.group(name)
    except (IndexError, KeyError, ValueError, re2.error):
        return ""
    return value or ""


@function("lower")
def _lower(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    return to_str(args[0]).lower()


@function("upper")
def _upper(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    return to_str(args[0]).upper()


_WORD_START = re2.compile(r"\b(\w)")


@function("title")
def _title(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    return _WORD_START.sub(lambda m: m.group(1).upper(), to_str(args[0]))


@function("trimspace")
def _trimspace(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    return to_str(args[0]).strip()


@function("trim")
def _trim(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 2)
    return to_str(args[0]).strip(to_str(args[1]))


@function("trimprefix")
def _trimprefix(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 2)
    return to_str(args[0]).removeprefix(to_str(args[1]))


@function("trimsuffix")
def _trimsuffix(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 2)
    return to_str(args[0]).removesuffix(to_str(args[1]))


@function("chomp")
def _chomp(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    return to_str(args[0]).rstrip("\r\n")


@function("indent")
def _indent(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 2)
    size = as_int(args[0])
    if not 0 <= size <= MAX_WIDTH:
        raise BoundExceeded("indent width out of range")
    text = to_str(args[1])
    bound_length(len(text) + text.count("\n") * size)
    return text.replace("\n", "\n" + " " * size)


@function("strrev")
def _strrev(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    return to_str(args[0])[::-1]


@function("substr")
def _substr(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 3)
    text = to_str(args[0])
    offset, length = as_int(args[1]), as_int(args[2])
    if offset < 0:
        offset = max(0, len(text) + offset)
    if offset > len(text):
        raise EvalError("offset beyond the end of the string")
    return text[offset:] if length < 0 else text[offset : offset + length]


@function("startswith")
def _startswith(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 2)
    return to_str(args[0]).startswith(to_str(args[1]))


@function("endswith")
def _endswith(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 2)
    return to_str(args[0]).endswith(to_str(args[1]))


@function("strcontains")
def _strcontains(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 2)
    return to_str(args[1]) in to_str(args[0])


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a rejected pattern is an evaluation error, not log noise
_RE2_OPTIONS.max_mem = 8 << 20


def _compile(pattern: str) -> Any:
    """Terraform's regular expressions are Go's RE2: linear time, no backreferences."""
    if len(pattern) > 10_000:
        raise BoundExceeded("regular expression too long")
    try:
        return _compiled(pattern)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise EvalError(f"invalid regular expression: {detail}") from None


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, _RE2_OPTIONS)


def _bound_regex_input(text: str) -> None:
    if len(text) > MAX_REGEX_INPUT:
        raise BoundExceeded("string too long for a regular expression")


def _regex_result(found: Any) -> Any:
    pattern = found.re
    if pattern.groupindex:
        return {name: found.group(name) for name in pattern.groupindex}
    if pattern.groups:
        return [found.group(i) for i in range(1, pattern.groups + 1)]
    return found.group(0)


@function("regex")
def _regex(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 2)
    pattern = _compile(to_str(args[0]))
    text = to_str(args[1])
    _bound_regex_input(text)
    found = pattern.search(text)
    if not found:
        raise EvalError("pattern did not match")
    return _regex_result(found)


@function("regexall")
def _regexall(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 2)
    pattern = _compile(to_str(args[0]))
    text = to_str(args[1])
    _bound_regex_input(text)
    found = []
    for match in pattern.finditer(text):
        found.append(_regex_result(match))
        if len(found) > MAX_ITEMS:
            raise BoundExceeded(f"more than {MAX_ITEMS} matches")
    return found


# -- encodings ----------------------------------------------------------------------


def _json_encode(value: Any) -> str:
    _bound_document(value)
    text = json.dumps(_for_json(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    # Go's encoder (which terraform uses) escapes HTML characters
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _for_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _for_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_for_json(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


MAX_DOCUMENT_NODES = 250_000


def _bound_document(value: Any) -> None:
    """Estimate an encoded document's size before building it.

    A list of 100,000 references to one long string is small in memory and enormous
    once encoded: count every occurrence (escapes make a character up to 6 long).
    """
    size = 0
    nodes = 0
    stack = [value]
    while stack:
        item = stack.pop()
        nodes += 1
        if nodes > MAX_DOCUMENT_NODES:
            raise BoundExceeded(f"document with more than {MAX_DOCUMENT_NODES} values")
        if isinstance(item, dict):
            size += 2 + sum(len(k) + 4 for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            size += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, str):
            size += len(item) + 2
        else:
            size += 24
        bound_length(size, "encoded document")


def _placeholders(value: Any) -> Any:
    """Unknown leaves as `${...}` strings, the rest as it is.

    A reader parses the document, sees which leaves are not known, and decides on the
    rest (helm `values = [yamlencode({...})]`).
    """
    if isinstance(value, Unknown):
        if value.partial is not None:
            return value.partial
        return "${" + (value.references[0] if value.references else "unknown") + "}"
    if isinstance(value, dict):
        return {k: _placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v) for v in value]
    return value


def _encode(value: Any, encoder: Callable[[Any], str]) -> Any:
    """An encoded document; with unknown leaves, an `Unknown` whose `partial` is it."""
    _bound_document(value)  # before any copy: the value may share structure
    value = plain(value)
    unknowns = unknown_in(value)
    if not unknowns:
        return encoder(value)
    return with_partial(merge_unknowns(unknowns), encoder(_placeholders(value)))


def _yaml_encode(value: Any) -> str:
    import yaml  # PyYAML: only for the configurations that call yamlencode/yamldecode

    _bound_document(value)
    try:
        text: str = yaml.safe_dump(
            _for_json(value), default_flow_style=False, sort_keys=True, allow_unicode=True
        )
    except yaml.YAMLError as exc:  # imported here: not in `call_function`'s list
        raise EvalError(library_error(exc)) from None
    return text


@function("jsonencode")
def _jsonencode(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    return _encode(args[0], _json_encode)


def _from_decoded(value: Any, budget: list[int], depth: int = 0) -> Any:
    """Decoded JSON/YAML to values, bounded (YAML aliases can multiply a document)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > 100:
        raise BoundExceeded("decoded document too large or too deep")
    if isinstance(value, dict):
        return {str(k): _from_decoded(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_from_decoded(v, budget, depth + 1) for v in value]
    if isinstance(value, float):
        return normal_number(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


@function("jsondecode")
def _jsondecode(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    text = to_str(args[0])
    if len(text) > MAX_DECODE_BYTES:
        raise BoundExceeded("document too large")
    try:
        return _from_decoded(json.loads(text), [MAX_ITEMS])
    except (json.JSONDecodeError, RecursionError) as exc:
        raise EvalError(f"invalid JSON: {exc}") from None


@function("yamlencode")
def _yamlencode(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    return _encode(args[0], _yaml_encode)


@function("yamldecode")
def _yamldecode(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    text = to_str(args[0])
    if len(text) > MAX_DECODE_BYTES:
        raise BoundExceeded("document too large")
    import yaml

    try:
        return _from_decoded(yaml.safe_load(text), [MAX_ITEMS])
    except RecursionError:
        raise EvalError("YAML nested too deeply") from None
    except yaml.YAMLError as exc:
        raise EvalError(library_error(exc)) from None


@function("base64encode")
def _base64encode(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    return base64.b64encode(to_str(args[0]).encode()).decode()


@function("base64decode")
def _base64decode(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    data = base64.b64decode(to_str(args[0]), validate=True)
    return data.decode("utf-8")


@function("base64gzip")
def _base64gzip(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    return base64.b64encode(gzip.compress(to_str(args[0]).encode(), mtime=0)).decode()


@function("textencodebase64")
def _textencodebase64(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 2)
    return base64.b64encode(to_str(args[0]).encode(to_str(args[1]))).decode()


@function("urlencode")
def _urlencode(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    return urllib.parse.quote(to_str(args[0]), safe="")


def _hash(name: str) -> Function:
    def digest(args: list[Any], ctx: FunctionContext) -> Any:
        arity(args, 1)
        return hashlib.new(name, to_str(args[0]).encode()).hexdigest()

    return digest


for _name in ("md5", "sha1", "sha256", "sha512"):
    FUNCTIONS[_name] = _hash(_name)


@function("sensitive", "nonsensitive")
def _identity(args: list[Any], ctx: FunctionContext) -> Any:
    arity(args, 1)
    return args[0]
