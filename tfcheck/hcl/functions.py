"""Terraform's built-in functions, over the values of `tfcheck.hcl.values`.

Every function is a plain Python function over known arguments: the dispatcher turns
an unknown argument into an unknown result (keeping its references), an unsupported
function into `Unknown("function f is not supported")`, and any Python error into an
`EvalError` that `try()` can skip. Nothing here runs code, a shell or terraform;
`file`/`templatefile` read only inside the directories the context allows.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import ipaddress
import json
import math
import re
import urllib.parse
from collections.abc import Callable
from typing import Any, Protocol

import yaml

from tfcheck.hcl.ast import Expr
from tfcheck.hcl.values import (
    MAX_ITEMS,
    MAX_STRING,
    EvalError,
    InstanceDict,
    UnknownResult,
    as_dict,
    as_int,
    as_list,
    check_size,
    equals,
    merge_unknowns,
    need_known,
    normal_number,
    number_str,
    partial_of,
    plain,
    sort_set,
    to_bool,
    to_number,
    to_str,
    type_name,
    unknown_in,
    with_partial,
)
from tfcheck.model import Unknown

MAX_RANGE = 10_000
MAX_DECODE_BYTES = 1_000_000
MAX_WIDTH = 1_000
MAX_REGEX_INPUT = 100_000


class FunctionContext(Protocol):
    """What file-reading functions need from the evaluator."""

    def read_file(self, path: str) -> str | Unknown: ...

    def render_template(self, template: Expr, variables: dict[str, Any]) -> Any: ...


Function = Callable[[list[Any], FunctionContext], Any]
FUNCTIONS: dict[str, Function] = {}
# functions that see unknown arguments themselves instead of returning unknown at once
_TAKES_UNKNOWN = {"coalesce", "length", "concat", "tolist", "compact", "merge", "element"}


def function(*names: str) -> Callable[[Function], Function]:
    def register(fn: Function) -> Function:
        for name in names:
            FUNCTIONS[name] = fn
        return fn

    return register


def call_function(name: str, args: list[Any], ctx: FunctionContext) -> Any:
    """Call one function; never raises anything but `EvalError`."""
    fn = FUNCTIONS.get(name)
    if fn is None:
        unknowns = [u for a in args for u in unknown_in(a)]
        return merge_unknowns(unknowns, f"function {name} is not supported")
    if name not in _TAKES_UNKNOWN:
        top = [a for a in args if isinstance(a, Unknown)]
        if top:
            return _unknown_result(name, fn, args, top, ctx)
    try:
        return check_size(fn(args, ctx))
    except UnknownResult as signal:
        return signal.unknown
    except EvalError as exc:
        raise EvalError(f"{name}(): {exc}") from None
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        OverflowError,
        ZeroDivisionError,
        ArithmeticError,
        UnicodeError,
        re.error,
        yaml.YAMLError,
    ) as exc:
        raise EvalError(f"{name}(): {type(exc).__name__}: {exc}") from None


# encodings that keep a partly rendered template readable (user data is base64 of one)
_KEEPS_PARTIAL = frozenset({"base64encode", "base64decode", "base64gzip", "trimspace", "chomp"})


def _unknown_result(
    name: str, fn: Function, args: list[Any], top: list[Unknown], ctx: FunctionContext
) -> Unknown:
    merged = merge_unknowns(top)
    if name in _KEEPS_PARTIAL and len(args) == 1:
        partial = partial_of(args[0])
        if partial is not None:
            try:
                return with_partial(merged, fn([partial], ctx))
            except (EvalError, ValueError, UnicodeError):
                return merged
    return merged


def _arity(args: list[Any], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        raise EvalError(f"takes {low}..{high} arguments, got {len(args)}")


def _strings(value: Any) -> list[str]:
    items = as_list(value)
    need_known(items)
    return [to_str(i) for i in items]


# -- collections --------------------------------------------------------------------


@function("length")
def _length(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    value = args[0]
    if isinstance(value, Unknown):
        return value
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | dict):
        return len(value)
    raise EvalError(f"cannot take the length of {type_name(value)}")


@function("concat")
def _concat(args: list[Any], ctx: FunctionContext) -> Any:
    out: list[Any] = []
    for arg in args:
        if isinstance(arg, Unknown):
            return arg
        out.extend(as_list(arg))
        check_size(out)
    return out


@function("merge")
def _merge(args: list[Any], ctx: FunctionContext) -> Any:
    out: dict[str, Any] = {}
    for arg in args:
        if arg is None:
            continue
        if isinstance(arg, Unknown):
            return arg
        out.update(plain(as_dict(arg)))
    return out


@function("lookup")
def _lookup(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2, 3)
    mapping = as_dict(args[0])
    need_known(args[1])
    key = to_str(args[1])
    if key in mapping:
        return mapping[key]
    if isinstance(mapping, InstanceDict):
        return mapping.attribute(key)
    if len(args) == 3:
        return args[2]
    raise EvalError(f"no key {key!r} in the map")


@function("element")
def _element(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    if isinstance(args[0], Unknown):
        return args[0]
    items = as_list(args[0])
    if isinstance(args[1], Unknown):
        return merge_unknowns([args[1], *unknown_in(items)])
    if not items:
        raise EvalError("cannot use element() on an empty list")
    index = as_int(args[1])
    if index < 0:
        raise EvalError("index must not be negative")
    return items[index % len(items)]


@function("keys")
def _keys(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return sorted(as_dict(args[0]).keys())


@function("values")
def _values(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    mapping = as_dict(args[0])
    return [mapping[k] for k in sorted(mapping)]


@function("contains")
def _contains(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    items = as_list(args[0])
    need_known(args[1])
    unknown = []
    for item in items:
        if isinstance(item, Unknown) or unknown_in(item):
            unknown.extend(unknown_in(item))
        elif equals(item, args[1]):
            return True
    if unknown:
        return merge_unknowns(unknown)
    return False


@function("distinct")
def _distinct(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    items = as_list(args[0])
    need_known(items)
    out: list[Any] = []
    for item in items:
        if not any(equals(item, seen) for seen in out):
            out.append(item)
    return out


@function("flatten")
def _flatten(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    out: list[Any] = []

    def walk(value: Any, depth: int) -> None:
        if depth > 50:
            raise EvalError("nested too deeply")
        for item in value:
            if isinstance(item, Unknown):
                raise UnknownResult(item)
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append(item)
            if len(out) > MAX_ITEMS:
                raise EvalError("result too large")

    walk(as_list(args[0]), 0)
    return out


@function("toset")
def _toset(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    items = as_list(args[0])
    need_known(items)
    if any(isinstance(i, str) for i in items) and not all(isinstance(i, str) for i in items):
        items = [to_str(i) for i in items]  # mixed primitives unify to strings
    return sort_set(items)


@function("tolist")
def _tolist(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    if isinstance(args[0], Unknown):
        return args[0]
    return as_list(args[0])


@function("tomap")
def _tomap(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return dict(as_dict(args[0]))


@function("tostring")
def _tostring(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return None if args[0] is None else to_str(args[0])


@function("tonumber")
def _tonumber(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return None if args[0] is None else to_number(args[0])


@function("tobool")
def _tobool(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return None if args[0] is None else to_bool(args[0])


@function("coalesce")
def _coalesce(args: list[Any], ctx: FunctionContext) -> Any:
    for arg in args:
        if isinstance(arg, Unknown):
            return arg
        if arg is not None and arg != "":
            return arg
    raise EvalError("no non-null, non-empty argument")


@function("coalescelist")
def _coalescelist(args: list[Any], ctx: FunctionContext) -> Any:
    for arg in args:
        if as_list(arg):
            return arg
    raise EvalError("no non-empty list argument")


@function("compact")
def _compact(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    if isinstance(args[0], Unknown):
        return args[0]
    items = as_list(args[0])
    out = []
    for item in items:
        if isinstance(item, Unknown):
            raise UnknownResult(item)
        if item is not None and item != "":
            out.append(to_str(item))
    return out


@function("range")
def _range(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1, 3)
    numbers = [to_number(a) for a in args]
    start: int | float
    stop: int | float
    step: int | float
    if len(numbers) == 1:
        start, stop, step = 0, numbers[0], 1
    elif len(numbers) == 2:
        start, stop = numbers
        step = 1 if stop >= start else -1
    else:
        start, stop, step = numbers
    if step == 0:
        raise EvalError("step must not be zero")
    count = max(0, math.ceil((stop - start) / step))
    if count > MAX_RANGE:
        raise EvalError(f"more than {MAX_RANGE} elements")
    return [normal_number(start + i * step) for i in range(count)]


@function("zipmap")
def _zipmap(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    keys = _strings(args[0])
    values = as_list(args[1])
    if len(keys) != len(values):
        raise EvalError("keys and values differ in length")
    return dict(zip(keys, values, strict=True))


@function("slice")
def _slice(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 3)
    items = as_list(args[0])
    start, end = as_int(args[1]), as_int(args[2])
    if start < 0 or end > len(items) or start > end:
        raise EvalError(f"indices {start}..{end} out of range for {len(items)} elements")
    return items[start:end]


@function("reverse")
def _reverse(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return list(reversed(as_list(args[0])))


@function("sort")
def _sort(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return sorted(_strings(args[0]))


@function("index")
def _index(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    items = as_list(args[0])
    need_known(items, args[1])
    for position, item in enumerate(items):
        if equals(item, args[1]):
            return position
    raise EvalError("value not found in the list")


@function("chunklist")
def _chunklist(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    items = as_list(args[0])
    size = as_int(args[1])
    if size < 0:
        raise EvalError("size must not be negative")
    if size == 0:
        return [items]
    return [items[i : i + size] for i in range(0, len(items), size)]


@function("one")
def _one(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    if args[0] is None:
        return None
    items = as_list(args[0])
    if len(items) > 1:
        raise EvalError("more than one element")
    return items[0] if items else None


@function("sum")
def _sum(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    items = as_list(args[0])
    need_known(items)
    if not items:
        raise EvalError("cannot sum an empty list")
    return normal_number(sum(to_number(i) for i in items))


@function("alltrue")
def _alltrue(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    items = as_list(args[0])
    need_known(items)
    return all(to_bool(i) for i in items)


@function("anytrue")
def _anytrue(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    items = as_list(args[0])
    need_known(items)
    return any(to_bool(i) for i in items)


@function("setunion")
def _setunion(args: list[Any], ctx: FunctionContext) -> Any:
    items: list[Any] = []
    for arg in args:
        items.extend(as_list(arg))
    need_known(items)
    return sort_set(items)


@function("setintersection")
def _setintersection(args: list[Any], ctx: FunctionContext) -> Any:
    if not args:
        raise EvalError("needs at least one set")
    need_known(args)
    result = sort_set(as_list(args[0]))
    for arg in args[1:]:
        other = as_list(arg)
        result = [i for i in result if any(equals(i, o) for o in other)]
    return result


@function("setsubtract")
def _setsubtract(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    need_known(args)
    other = as_list(args[1])
    return [i for i in sort_set(as_list(args[0])) if not any(equals(i, o) for o in other)]


@function("setproduct")
def _setproduct(args: list[Any], ctx: FunctionContext) -> Any:
    need_known(args)
    result: list[list[Any]] = [[]]
    for arg in args:
        result = [r + [i] for r in result for i in as_list(arg)]
        if len(result) > MAX_ITEMS:
            raise EvalError("result too large")
    return result


@function("transpose")
def _transpose(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    need_known(args)
    out: dict[str, list[str]] = {}
    for key, items in as_dict(args[0]).items():
        for item in _strings(items):
            out.setdefault(item, []).append(key)
    return {k: sorted(v) for k, v in out.items()}


@function("matchkeys")
def _matchkeys(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 3)
    need_known(args[1], args[2])
    values, keys, search = as_list(args[0]), as_list(args[1]), as_list(args[2])
    return [v for v, k in zip(values, keys, strict=False) if any(equals(k, s) for s in search)]


# -- numbers ------------------------------------------------------------------------


def _numbers(args: list[Any]) -> list[int | float]:
    need_known(args)
    if len(args) == 1 and isinstance(args[0], list):
        args = args[0]
    if not args:
        raise EvalError("needs at least one number")
    return [to_number(a) for a in args]


@function("min")
def _min(args: list[Any], ctx: FunctionContext) -> Any:
    return min(_numbers(args))


@function("max")
def _max(args: list[Any], ctx: FunctionContext) -> Any:
    return max(_numbers(args))


@function("abs")
def _abs(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return normal_number(abs(to_number(args[0])))


@function("ceil")
def _ceil(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return math.ceil(to_number(args[0]))


@function("floor")
def _floor(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return math.floor(to_number(args[0]))


@function("signum")
def _signum(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    number = to_number(args[0])
    return (number > 0) - (number < 0)


@function("pow")
def _pow(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    base, exponent = to_number(args[0]), to_number(args[1])
    if abs(exponent) > 1024:
        raise EvalError("exponent too large")
    return normal_number(float(base) ** float(exponent))


@function("log")
def _log(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    return normal_number(math.log(to_number(args[0]), to_number(args[1])))


@function("parseint")
def _parseint(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    base = as_int(args[1])
    if not 2 <= base <= 62:
        raise EvalError("base must be between 2 and 62")
    return int(to_str(args[0]), base)


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
    return [
        go_format(spec, [a[i] if isinstance(a, list) else a for a in args[1:]])
        for i in range(count)
    ]


_VERB = re.compile(r"%(\[\d+\])?([-+# 0]*)(\d+|\*)?(?:\.(\d+))?(\[\d+\])?([a-zA-Z%])")


def go_format(spec: str, values: list[Any]) -> str:
    """Go's fmt verbs as terraform's `format` supports them (bounded widths)."""
    out: list[str] = []
    position = 0
    next_arg = 0
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
                raise EvalError("format width too large")
            if "-" in flags:
                text = text.ljust(size)
            elif "0" in flags and verb in "dfeEgGxXob":
                sign = text[0] if text[:1] in "+-" else ""
                text = sign + text[len(sign) :].rjust(size - len(sign), "0")
            else:
                text = text.rjust(size)
        out.append(text)
        if sum(len(part) for part in out) > MAX_STRING:
            raise EvalError("result too long")
    out.append(spec[position:])
    if next_arg < len(values) and not any(f.group(1) or f.group(5) for f in _VERB.finditer(spec)):
        raise EvalError("too many arguments for the format string")
    return "".join(out)


def _format_one(verb: str, flags: str, precision: str | None, value: Any) -> str:
    if precision is not None and int(precision) > MAX_WIDTH:
        raise EvalError("format precision too large")
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
    if len(args) < 2:
        raise EvalError("needs a separator and at least one list")
    need_known(args)
    separator = to_str(args[0])
    items: list[str] = []
    for arg in args[1:]:
        items.extend(_strings(arg))
    return separator.join(items)


@function("split")
def _split(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    separator, text = to_str(args[0]), to_str(args[1])
    if separator == "":
        return list(text)
    return text.split(separator)


@function("replace")
def _replace(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 3)
    text, search, replacement = (to_str(a) for a in args)
    if len(search) >= 2 and search.startswith("/") and search.endswith("/"):
        pattern = _compile(search[1:-1])
        _bound_regex_input(text)
        return pattern.sub(_go_replacement(replacement), text)
    return text.replace(search, replacement)


def _go_replacement(replacement: str) -> str:
    """Go's `$1` / `${name}` replacement syntax to Python's group references."""
    escaped = replacement.replace("\\", "\\\\")
    escaped = re.sub(r"\$\{(\w+)\}", r"\\g<\1>", escaped)
    escaped = re.sub(r"\$(\d+)", r"\\g<\1>", escaped)
    return escaped.replace("$$", "$")


@function("lower")
def _lower(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return to_str(args[0]).lower()


@function("upper")
def _upper(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return to_str(args[0]).upper()


@function("title")
def _title(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return re.sub(r"\b(\w)", lambda m: m.group(1).upper(), to_str(args[0]))


@function("trimspace")
def _trimspace(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return to_str(args[0]).strip()


@function("trim")
def _trim(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    return to_str(args[0]).strip(to_str(args[1]))


@function("trimprefix")
def _trimprefix(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    return to_str(args[0]).removeprefix(to_str(args[1]))


@function("trimsuffix")
def _trimsuffix(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    return to_str(args[0]).removesuffix(to_str(args[1]))


@function("chomp")
def _chomp(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return re.sub(r"(\r\n|\n|\r)+$", "", to_str(args[0]))


@function("indent")
def _indent(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    size = as_int(args[0])
    if not 0 <= size <= MAX_WIDTH:
        raise EvalError("indent width out of range")
    return to_str(args[1]).replace("\n", "\n" + " " * size)


@function("strrev")
def _strrev(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return to_str(args[0])[::-1]


@function("substr")
def _substr(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 3)
    text = to_str(args[0])
    offset, length = as_int(args[1]), as_int(args[2])
    if offset < 0:
        offset = max(0, len(text) + offset)
    if offset > len(text):
        raise EvalError("offset beyond the end of the string")
    return text[offset:] if length < 0 else text[offset : offset + length]


@function("startswith")
def _startswith(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    return to_str(args[0]).startswith(to_str(args[1]))


@function("endswith")
def _endswith(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    return to_str(args[0]).endswith(to_str(args[1]))


@function("strcontains")
def _strcontains(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    return to_str(args[1]) in to_str(args[0])


# Nested quantifiers such as (a+)+ backtrack exponentially in Python's engine (terraform
# uses RE2, which cannot): refuse them rather than hang.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)\s*[*+{]")


def _compile(pattern: str) -> re.Pattern[str]:
    if len(pattern) > 1_000:
        raise EvalError("regular expression too long")
    if _NESTED_QUANTIFIER.search(pattern):
        raise EvalError("regular expression with nested repetition is not evaluated")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise EvalError(f"invalid regular expression: {exc}") from None


def _bound_regex_input(text: str) -> None:
    if len(text) > MAX_REGEX_INPUT:
        raise EvalError("string too long for a regular expression")


def _regex_result(found: re.Match[str]) -> Any:
    pattern = found.re
    if pattern.groupindex:
        return {name: found.group(name) for name in pattern.groupindex}
    if pattern.groups:
        return [found.group(i) for i in range(1, pattern.groups + 1)]
    return found.group(0)


@function("regex")
def _regex(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    pattern = _compile(to_str(args[0]))
    text = to_str(args[1])
    _bound_regex_input(text)
    found = pattern.search(text)
    if not found:
        raise EvalError("pattern did not match")
    return _regex_result(found)


@function("regexall")
def _regexall(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    pattern = _compile(to_str(args[0]))
    text = to_str(args[1])
    _bound_regex_input(text)
    return [_regex_result(found) for found in pattern.finditer(text)]


# -- encodings ----------------------------------------------------------------------


def _json_encode(value: Any) -> str:
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


@function("jsonencode")
def _jsonencode(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    need_known(args[0])
    return _json_encode(plain(args[0]))


def _from_decoded(value: Any, budget: list[int], depth: int = 0) -> Any:
    """Decoded JSON/YAML to values, bounded (YAML aliases can multiply a document)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > 100:
        raise EvalError("decoded document too large or too deep")
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
    _arity(args, 1)
    text = to_str(args[0])
    if len(text) > MAX_DECODE_BYTES:
        raise EvalError("document too large")
    try:
        return _from_decoded(json.loads(text), [MAX_ITEMS])
    except (json.JSONDecodeError, RecursionError) as exc:
        raise EvalError(f"invalid JSON: {exc}") from None


@function("yamlencode")
def _yamlencode(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    need_known(args[0])
    return yaml.safe_dump(
        _for_json(plain(args[0])), default_flow_style=False, sort_keys=True, allow_unicode=True
    )


@function("yamldecode")
def _yamldecode(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    text = to_str(args[0])
    if len(text) > MAX_DECODE_BYTES:
        raise EvalError("document too large")
    try:
        return _from_decoded(yaml.safe_load(text), [MAX_ITEMS])
    except RecursionError:
        raise EvalError("YAML nested too deeply") from None


@function("base64encode")
def _base64encode(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return base64.b64encode(to_str(args[0]).encode()).decode()


@function("base64decode")
def _base64decode(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    data = base64.b64decode(to_str(args[0]), validate=True)
    return data.decode("utf-8")


@function("base64gzip")
def _base64gzip(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return base64.b64encode(gzip.compress(to_str(args[0]).encode(), mtime=0)).decode()


@function("textencodebase64")
def _textencodebase64(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    return base64.b64encode(to_str(args[0]).encode(to_str(args[1]))).decode()


@function("urlencode")
def _urlencode(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return urllib.parse.quote(to_str(args[0]), safe="")


def _hash(name: str) -> Function:
    def digest(args: list[Any], ctx: FunctionContext) -> Any:
        _arity(args, 1)
        return hashlib.new(name, to_str(args[0]).encode()).hexdigest()

    return digest


for _name in ("md5", "sha1", "sha256", "sha512"):
    FUNCTIONS[_name] = _hash(_name)


@function("sensitive", "nonsensitive")
def _identity(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return args[0]


# -- network ------------------------------------------------------------------------


def _network(prefix: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(to_str(prefix), strict=False)
    except ValueError as exc:
        raise EvalError(f"invalid CIDR: {exc}") from None


@function("cidrsubnet")
def _cidrsubnet(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 3)
    network = _network(args[0])
    newbits, netnum = as_int(args[1]), as_int(args[2])
    new_prefix = network.prefixlen + newbits
    if newbits < 0 or new_prefix > network.max_prefixlen:
        raise EvalError(f"cannot extend prefix /{network.prefixlen} by {newbits} bits")
    if not 0 <= netnum < 2**newbits:
        raise EvalError(f"netnum {netnum} does not fit in {newbits} bits")
    size = 2 ** (network.max_prefixlen - new_prefix)
    start = int(network.network_address) + netnum * size
    return str(ipaddress.ip_network((start, new_prefix)))


@function("cidrsubnets")
def _cidrsubnets(args: list[Any], ctx: FunctionContext) -> Any:
    if not args:
        raise EvalError("needs a prefix")
    network = _network(args[0])
    current = int(network.network_address)
    end = int(network.broadcast_address)
    out = []
    for arg in args[1:]:
        newbits = as_int(arg)
        new_prefix = network.prefixlen + newbits
        if newbits < 1 or new_prefix > network.max_prefixlen:
            raise EvalError(f"cannot extend prefix /{network.prefixlen} by {newbits} bits")
        size = 2 ** (network.max_prefixlen - new_prefix)
        current = -(-current // size) * size  # align up to the subnet size
        if current + size - 1 > end:
            raise EvalError("not enough remaining address space")
        out.append(str(ipaddress.ip_network((current, new_prefix))))
        current += size
    return out


@function("cidrhost")
def _cidrhost(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    network = _network(args[0])
    hostnum = as_int(args[1])
    size = network.num_addresses
    if hostnum < 0:
        hostnum += size
    if not 0 <= hostnum < size:
        raise EvalError(f"host number {args[1]} is outside {network}")
    return str(network.network_address + hostnum)


@function("cidrnetmask")
def _cidrnetmask(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    network = _network(args[0])
    if network.version != 4:
        raise EvalError("only IPv4 prefixes have a netmask")
    return str(network.netmask)


# -- files --------------------------------------------------------------------------


@function("file")
def _file(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return ctx.read_file(to_str(args[0]))


@function("fileexists")
def _fileexists(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    content = ctx.read_file(to_str(args[0]))
    if isinstance(content, Unknown):
        return Unknown(content.reason)
    return True


@function("filebase64")
def _filebase64(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    content = ctx.read_file(to_str(args[0]))
    if isinstance(content, Unknown):
        return content
    return base64.b64encode(content.encode()).decode()


@function("templatefile")
def _templatefile(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    from tfcheck.hcl.parse import parse_template

    content = ctx.read_file(to_str(args[0]))
    if isinstance(content, Unknown):
        return content
    variables = as_dict(args[1])
    return ctx.render_template(parse_template(content), dict(variables))


@function("basename")
def _basename(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    return to_str(args[0]).rstrip("/").rsplit("/", 1)[-1]


@function("dirname")
def _dirname(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    text = to_str(args[0]).rstrip("/")
    return text.rsplit("/", 1)[0] if "/" in text else "."
