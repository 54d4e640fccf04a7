"""Terraform's built-in functions, over the values of `tfcheck.hcl.values`.

Every function is a plain Python function over known arguments: the dispatcher turns
an unknown argument into an unknown result (keeping its references), an unsupported
function into `Unknown("function f is not supported")`, and any Python error into an
`EvalError` that `try()` can skip. Nothing here runs code, a shell or terraform;
`file`/`templatefile` read only inside the directories the context allows.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import math
import os
import re
from pathlib import Path
from typing import Any

import re2  # type: ignore[import-untyped]

from tfcheck.hcl import functions_text  # noqa: F401 - registers the string functions
from tfcheck.hcl.functions_core import (
    FUNCTIONS,
    Function,
    FunctionContext,
    function,
    library_error,
)
from tfcheck.hcl.functions_core import arity as _arity
from tfcheck.hcl.functions_core import strings as _strings
from tfcheck.hcl.values import (
    MAX_ITEMS,
    BoundExceeded,
    EvalError,
    InstanceDict,
    UnknownResult,
    as_dict,
    as_int,
    as_list,
    check_size,
    equals,
    keys_of,
    member,
    merge_unknowns,
    need_known,
    normal_number,
    partial_of,
    plain,
    sort_set,
    to_bool,
    to_number,
    to_str,
    type_name,
    unique,
    unknown_in,
    with_partial,
)
from tfcheck.model import Unknown

MAX_RANGE = 10_000
MAX_FILESET = 10_000


# functions that see unknown arguments themselves instead of returning unknown at once
_TAKES_UNKNOWN = {"coalesce", "length", "concat", "tolist", "compact", "merge", "element"}


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
    except BoundExceeded as exc:
        raise BoundExceeded(f"{name}(): {exc}") from None
    except UnknownResult as signal:
        # the result is not the unknown argument itself: its partial text is not the result's
        return Unknown(signal.unknown.reason, signal.unknown.references)
    except EvalError as exc:
        raise EvalError(f"{name}(): {exc}") from None
    except RecursionError:
        raise EvalError(f"{name}(): value nested too deeply") from None
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        OverflowError,
        ZeroDivisionError,
        ArithmeticError,
        UnicodeError,
        LookupError,
        re.error,
    ) as exc:
        raise EvalError(f"{name}(): {library_error(exc)}") from None


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
    return unique(items)


@function("flatten")
def _flatten(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 1)
    out: list[Any] = []
    unknowns: list[Unknown] = []

    def walk(value: Any, depth: int) -> None:
        if depth > 50:
            raise EvalError("nested too deeply")
        for item in value:
            if isinstance(item, Unknown):
                unknowns.append(item)  # every unknown's references, not the first's
            elif isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append(item)
            if len(out) + len(unknowns) > MAX_ITEMS:
                raise BoundExceeded(f"result larger than {MAX_ITEMS} elements")

    walk(as_list(args[0]), 0)
    if unknowns:
        raise UnknownResult(merge_unknowns(unknowns))
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
    unknowns = [item for item in items if isinstance(item, Unknown)]
    if unknowns:  # every unknown's references: which instances the list may hold
        raise UnknownResult(merge_unknowns(unknowns))
    out = []
    for item in items:
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
        raise BoundExceeded(f"more than {MAX_RANGE} elements")
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
        keys = keys_of(other)
        result = [i for i in result if member(i, other, keys)]
    return result


@function("setsubtract")
def _setsubtract(args: list[Any], ctx: FunctionContext) -> Any:
    _arity(args, 2)
    need_known(args)
    other = as_list(args[1])
    keys = keys_of(other)
    return [i for i in sort_set(as_list(args[0])) if not member(i, other, keys)]


@function("setproduct")
def _setproduct(args: list[Any], ctx: FunctionContext) -> Any:
    need_known(args)
    result: list[list[Any]] = [[]]
    for arg in args:
        result = [r + [i] for r in result for i in as_list(arg)]
        if len(result) > MAX_ITEMS:
            raise BoundExceeded(f"result larger than {MAX_ITEMS} elements")
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
    wanted = keys_of(search)
    return [v for v, k in zip(values, keys, strict=False) if member(k, search, wanted)]


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
    text = to_str(args[0])
    if len(text) > 1_000:
        raise EvalError("number too long")
    return normal_number(int(text, base))


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
    content = ctx.read_file_bytes(to_str(args[0]))
    if isinstance(content, Unknown):
        return content
    return base64.b64encode(content).decode()


def _file_hash(name: str, encode: bool) -> Function:
    def digest(args: list[Any], ctx: FunctionContext) -> Any:
        _arity(args, 1)
        content = ctx.read_file_bytes(to_str(args[0]))
        if isinstance(content, Unknown):
            return content
        hashed = hashlib.new(name, content)
        return base64.b64encode(hashed.digest()).decode() if encode else hashed.hexdigest()

    return digest


for _algorithm in ("md5", "sha1", "sha256", "sha512"):
    FUNCTIONS[f"file{_algorithm}"] = _file_hash(_algorithm, False)
for _algorithm in ("sha256", "sha512"):
    FUNCTIONS[f"filebase64{_algorithm}"] = _file_hash(_algorithm, True)


@function("fileset")
def _fileset(args: list[Any], ctx: FunctionContext) -> Any:
    """Files under a directory matching a glob, walked inside the scanned root only."""
    _arity(args, 2)
    base, pattern = to_str(args[0]), to_str(args[1])
    directory = ctx.confined_directory(base)
    if isinstance(directory, Unknown):
        return directory
    matcher = _glob(pattern)
    found: list[str] = []
    seen = 0
    for top, dirs, files in os.walk(directory, followlinks=False):
        dirs.sort()
        seen += len(dirs)
        for name in sorted(files):
            seen += 1
            if seen > MAX_FILESET:
                raise BoundExceeded(f"more than {MAX_FILESET} files under {base}")
            path = Path(top, name)
            if not path.is_file() or path.is_symlink():
                continue
            relative = path.relative_to(directory).as_posix()
            if matcher.fullmatch(relative):
                found.append(relative)
    return sorted(found)


def _glob(pattern: str) -> Any:
    """Terraform's fileset globs (`*`, `**`, `?`, `[...]`, `{a,b}`) as a regex."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{":
            close = pattern.find("}", i)
            if close < 0:
                raise EvalError("unclosed { in the pattern")
            choices = pattern[i + 1 : close].split(",")
            out.append("(?:" + "|".join(re.escape(c) for c in choices) + ")")
            i = close + 1
            continue
        elif char == "[":
            close = pattern.find("]", i)
            if close < 0:
                raise EvalError("unclosed [ in the pattern")
            inner = pattern[i + 1 : close].replace("\\", "\\\\")
            out.append("[" + ("^" + inner[1:] if inner.startswith("!") else inner) + "]")
            i = close + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    try:
        return re2.compile("".join(out))  # linear time: `**a**a**a...` must not backtrack
    except re2.error:
        raise EvalError("invalid pattern") from None


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
