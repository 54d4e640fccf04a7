"""Sensitive scalars as policies see them: their own value to decide on, never to print.

`tfcheck.model.reveal` hands policies the value behind a `Sensitive` wrapper with every
string and number in it replaced by a marked twin defined here. A marked value compares,
hashes, sorts and parses as the plain one (so every decision is the same), but every
way a message is normally built from it, f-strings, `format`, `repr`, `str` of a
number, concatenation, slicing and the usual string methods, gives `(sensitive value)`
or another marked value. Only `str.join` (and `%` with several values) copy the
characters of a `str` subclass without asking it; `shown` is the helper for those call
sites. For what slips through, every sensitive value revealed while the engine scans an
input records its text (`collect`; not the pieces policy code cuts from it, which would
blank every "0"), and the engine looks for exactly those texts in the findings
(`tfcheck.engine`): values no policy received are never searched for.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, SupportsIndex

SHOWN = "(sensitive value)"

# The texts of the marked values created while a scan reads one input, when the engine
# asks for them (`collect`): what its text check must look for, and nothing else.
_SEEN: ContextVar[set[str] | None] = ContextVar("tfcheck_marked_texts", default=None)


def collect() -> set[str]:
    """Start recording the text of every marked value made from now on (this context)."""
    seen: set[str] = set()
    _SEEN.set(seen)
    return seen


def _record(text: str) -> None:
    seen = _SEEN.get()
    if seen is not None and text:
        seen.add(text)


class _ShownAsMarked:
    """What every marked value shares: formatted or repr'd, it is `(sensitive value)`."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return SHOWN

    def __repr__(self) -> str:
        return SHOWN


class MarkedText(_ShownAsMarked, str):
    """A sensitive string: equal to its text, shown as `(sensitive value)`."""

    __slots__ = ()

    def __str__(self) -> str:
        return self  # str() keeps the mark (a str subclass is a valid result)

    def __add__(self, other: str) -> MarkedText:
        return MarkedText(str.__add__(self, other))

    def __radd__(self, other: str) -> MarkedText:
        return MarkedText(str.__add__(other, self))

    def __mul__(self, count: SupportsIndex) -> MarkedText:
        return MarkedText(str.__mul__(self, count))

    __rmul__ = __mul__

    def __mod__(self, values: Any) -> MarkedText:
        return MarkedText(str.__mod__(self, values))

    def __rmod__(self, template: str) -> MarkedText:  # `"%s" % marked`
        return MarkedText(str.__mod__(template, self))

    def __getitem__(self, key: SupportsIndex | slice) -> MarkedText:
        return MarkedText(str.__getitem__(self, key))


class _MarkedNetwork(_ShownAsMarked):
    """A network parsed from a sensitive CIDR: decides as the plain one, shown as marked.

    `ipaddress` copies a marked string's characters; the network keeps the mark instead:
    formatted it is `(sensitive value)`, `str()` gives a marked string (for
    `", ".join(...)`, use `shown`).
    """

    __slots__ = ()

    def __str__(self) -> str:
        return MarkedText(super().__str__())


class MarkedIPv4Network(_MarkedNetwork, ipaddress.IPv4Network):
    """An IPv4 network from a sensitive CIDR (`_MarkedNetwork`)."""


class MarkedIPv6Network(_MarkedNetwork, ipaddress.IPv6Network):
    """An IPv6 network from a sensitive CIDR (`_MarkedNetwork`)."""


def _marking(name: str) -> Callable[..., Any]:
    method = getattr(str, name)

    def marked(self: MarkedText, *args: Any, **kwargs: Any) -> Any:
        return _mark_result(method(self, *args, **kwargs))

    marked.__name__ = name
    return marked


def _mark_result(result: Any) -> Any:
    if isinstance(result, str):
        return MarkedText(result)
    if isinstance(result, list):
        return [_mark_result(item) for item in result]
    if isinstance(result, tuple):
        return tuple(_mark_result(item) for item in result)
    return result


for _name in ("capitalize", "casefold", "center", "expandtabs", "format", "format_map",
              "ljust", "lower", "lstrip", "partition", "removeprefix", "removesuffix",
              "replace", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines",
              "strip", "swapcase", "title", "translate", "upper", "zfill"):
    setattr(MarkedText, _name, _marking(_name))


class MarkedInt(_ShownAsMarked, int):
    """A sensitive whole number: equal to its value, shown as `(sensitive value)`."""

    __slots__ = ()

    def __str__(self) -> str:
        return MarkedText(int.__repr__(self))


class MarkedFloat(_ShownAsMarked, float):
    """A sensitive fractional number: equal to its value, shown as `(sensitive value)`."""

    __slots__ = ()

    def __str__(self) -> str:
        return MarkedText(float.__repr__(self))


def _arithmetic(base: type, name: str) -> Callable[..., Any]:
    method = getattr(base, name)

    def marked(self: Any, *args: Any) -> Any:
        return mark_scalar(method(self, *args))

    marked.__name__ = name
    return marked


for _base, _cls in ((int, MarkedInt), (float, MarkedFloat)):
    for _name in ("__abs__", "__add__", "__floordiv__", "__mod__", "__mul__", "__neg__",
                  "__pos__", "__pow__", "__radd__", "__rfloordiv__", "__rmod__", "__rmul__",
                  "__rpow__", "__rsub__", "__rtruediv__", "__sub__", "__truediv__"):
        setattr(_cls, _name, _arithmetic(_base, _name))


def mark_scalar(value: Any) -> Any:
    """A string or number as its marked twin; anything else (bool, None) as it is."""
    if isinstance(value, bool | MarkedText | MarkedInt | MarkedFloat):
        return value
    if isinstance(value, str):
        _record(value)
        return MarkedText(value)
    if isinstance(value, int):
        _record(int.__repr__(value))
        return MarkedInt(value)
    if isinstance(value, float):
        _record(float.__repr__(value))
        if value.is_integer():
            _record(str(int(value)))  # how terraform writes a whole number
        return MarkedFloat(value)
    return value


def is_marked_scalar(value: object) -> bool:
    return isinstance(value, MarkedText | MarkedInt | MarkedFloat)


def shown(value: Any) -> str:
    """Text for a message: `(sensitive value)` for a marked value, `str()` otherwise.

    For `", ".join(shown(v) for v in values)`: `join` copies a marked string's
    characters without asking it how to show itself.
    """
    return f"{value}"  # a marked value formats as `(sensitive value)`


def plain_text(value: Any) -> Any:
    """`value` ready for JSON: marked scalars (at any depth) as `(sensitive value)`."""
    if is_marked_scalar(value):
        return SHOWN
    if isinstance(value, dict):
        return {plain_text(key): plain_text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_text(item) for item in value]
    return value
