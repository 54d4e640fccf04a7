"""Terraform values as the evaluator represents them, and the rules they share.

Operators and functions share type conversions, equality, unknown propagation and
size bounds.
Values are plain Python: `None` (null), `bool`, `int`/`float` (number), `str`, `list`
(tuple, list and set; sets are kept sorted), `dict` (object and map), and
`tfcheck.model.Unknown`. A resource instance is an `InstanceDict`: reading an attribute
the configuration does not set gives an `Unknown` that names the instance, so the graph
keeps the reference even though the value is computed only at apply time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from tfcheck.model import Sensitive, Unknown

MAX_STRING = 1_000_000
MAX_ITEMS = 100_000
MAX_REFERENCES = 200
MAX_NUMBER = 2**256


class EvalError(Exception):
    """An expression terraform would reject (wrong type, missing key): `try()` skips it."""


class BoundExceeded(EvalError):
    """A size or work bound that hostile input reached: an input error at `where`."""

    # (file, line, column; 0: not known) of the innermost expression
    where: tuple[str, int, int] | None = None


MAX_WALK = 250_000  # values visited or copied by one walk; real ones hold hundreds


class Walk:
    """A node budget for walks over values, which may share structure.

    `[local.l, local.l]` doubled 40 times is small in memory and has 2**40 leaves:
    anything that visits or copies every node must stop at a bound.
    """

    __slots__ = ("left",)

    def __init__(self, limit: int = MAX_WALK) -> None:
        self.left = limit

    def tick(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise BoundExceeded(f"value with more than {MAX_WALK} elements")


class UnknownResult(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a function when an argument it needs whole is unknown."""

    def __init__(self, unknown: Unknown) -> None:
        super().__init__(unknown.reason)
        self.unknown = unknown


class InstanceDict(dict[str, Any]):
    """The object of one resource or data source instance, as other expressions see it.

    Holds the attributes the configuration sets (with their evaluated values).
    Attributes it does not hold are computed by the provider: `missing` says why.
    """

    __slots__ = ("address", "missing")

    def __init__(self, address: str, values: dict[str, Any], missing: str) -> None:
        super().__init__(values)
        self.address = address
        self.missing = missing

    def attribute(self, name: str) -> Any:
        if name in self:
            return self[name]
        return Unknown(self.missing.format(address=self.address, name=name), (self.address,))


def with_partial(unknown: Unknown, text: str | None) -> Unknown:
    """An unknown string that is known except for placeholders (`${aws_x.y.endpoint}`).

    User data rendered around values known only after apply still shows which
    arguments a bootstrap passes; `tfcheck.userdata` reads `partial` for that.
    """
    return Unknown(unknown.reason, unknown.references, partial=text)


def partial_of(value: Any) -> str | None:
    """The partly rendered text of an unknown string, where the evaluator kept one."""
    return value.partial if isinstance(value, Unknown) else None


# The types of values with nothing inside (null included): what walks stop at.
SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def unknown_in(value: Any, budget: int = 10_000) -> list[Unknown]:
    """Every `Unknown` inside a value (bounded walk), instance objects counted as whole."""
    if type(value) in SCALAR_TYPES:  # most values: nothing to walk
        return []
    found: list[Unknown] = []
    stack = [value]
    while stack and budget > 0:
        budget -= 1
        item = stack.pop()
        if isinstance(item, Unknown):
            found.append(item)
        elif isinstance(item, Sensitive):
            stack.append(item.value)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def merge_unknowns(unknowns: Iterable[Unknown], reason: str | None = None) -> Unknown:
    """One `Unknown` for several: the first reason, every reference (bounded)."""
    refs: dict[str, None] = {}
    first: str | None = None
    for unknown in unknowns:
        if first is None:
            first = unknown.reason
        for ref in unknown.references:
            if len(refs) >= MAX_REFERENCES:
                break
            refs.setdefault(ref, None)
    return Unknown(reason or first or "value is not known", tuple(refs))


def need_known(*values: Any) -> None:
    """Raise `UnknownResult` when any value holds an unknown part."""
    unknowns = [u for value in values for u in unknown_in(value)]
    if unknowns:
        raise UnknownResult(merge_unknowns(unknowns))


def is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool)


_NUMBER_TYPES = (int, float)  # (`int | float` would build a union object on every call)


def normal_number(value: int | float) -> int | float:
    """Integral floats become ints (terraform prints `5`, not `5.0`); bounded magnitude."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise EvalError("number is not finite")
        if value.is_integer() and abs(value) < 2**63:
            return int(value)
        return value
    if abs(value) > MAX_NUMBER:
        raise EvalError("number too large")
    return value


def to_number(value: Any) -> int | float:
    if is_number(value):
        return normal_number(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.lower().startswith(("0x", "-0x", "+0x")):
                raise ValueError
            number = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            raise EvalError(f"cannot convert {_short(value)} to a number") from None
        return normal_number(number)
    raise EvalError(f"a number is required, got {type_name(value)}")


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    raise EvalError(f"a bool is required, got {type_name(value)}")


def to_str(value: Any) -> str:
    """String conversion of a primitive, as templates and `tostring` do it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return number_str(value)
    if value is None:
        raise EvalError("a null value cannot be used as a string")
    raise EvalError(f"a string is required, got {type_name(value)}")


def number_str(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    return text


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def equals(left: Any, right: Any, walk: Walk | None = None) -> bool:
    """Terraform `==`: no conversion between types, numbers compared by value."""
    walk = walk or Walk()
    walk.tick()
    if is_number(left) and is_number(right):
        return bool(left == right)
    if type(left) is not type(right) and not (isinstance(left, dict) and isinstance(right, dict)):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(
            equals(a, b, walk) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(equals(left[k], right[k], walk) for k in left)
    return bool(left == right)


def check_size(value: Any) -> Any:
    """Refuse values a hostile configuration could blow up (strings, collections)."""
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise BoundExceeded(f"string longer than {MAX_STRING} characters")
    if isinstance(value, list | dict) and len(value) > MAX_ITEMS:
        raise BoundExceeded(f"collection larger than {MAX_ITEMS} elements")
    return value


def set_key(value: Any, depth: int = 0, walk: Walk | None = None) -> Any:
    """A hashable key with `equals` semantics (None where there is none: unknowns)."""
    walk = walk or Walk()
    walk.tick()
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if is_number(value):
        return ("number", value)  # 1 and 1.0 hash and compare equal, as in terraform
    if isinstance(value, str):
        return ("string", value)
    if depth > 100:
        return None
    if isinstance(value, list):
        keys = tuple(set_key(item, depth + 1, walk) for item in value)
        return None if None in keys else ("list", keys)
    if isinstance(value, dict):
        pairs = tuple(sorted((k, set_key(v, depth + 1, walk)) for k, v in value.items()))
        return None if any(key is None for _, key in pairs) else ("map", pairs)
    return None


def unique(items: list[Any]) -> list[Any]:
    """Items without repeats (`equals`), first occurrences in order: linear time."""
    found: list[Any] = []
    seen: set[Any] = set()
    others: list[Any] = []  # values without a key (unknowns): compared one by one
    for item in items:
        key = set_key(item)
        if key is None:
            if len(others) > 1_000:
                raise EvalError("too many unknown elements to compare")
            if any(equals(item, other) for other in others):
                continue
            others.append(item)
        elif key in seen:
            continue
        else:
            seen.add(key)
        found.append(item)
    return found


def sort_set(items: list[Any]) -> list[Any]:
    """Deduplicated and ordered as terraform orders a set (strings, numbers)."""
    deduplicated = unique(items)
    if all(isinstance(i, str) for i in deduplicated):
        return sorted(deduplicated)
    if all(is_number(i) for i in deduplicated):
        return sorted(deduplicated)
    return deduplicated


def keys_of(items: list[Any]) -> set[Any] | None:
    """The set keys of items, or None when one has no key (compare one by one)."""
    keys = set()
    for item in items:
        key = set_key(item)
        if key is None:
            return None
        keys.add(key)
    return keys


def member(item: Any, items: list[Any], keys: set[Any] | None) -> bool:
    if keys is not None:
        key = set_key(item)
        if key is not None:
            return key in keys
    return any(equals(item, other) for other in items)


def as_list(value: Any, what: str = "a list") -> list[Any]:
    if isinstance(value, list):
        return value
    raise EvalError(f"{what} is required, got {type_name(value)}")


def as_dict(value: Any, what: str = "a map") -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise EvalError(f"{what} is required, got {type_name(value)}")


def as_int(value: Any, what: str = "a whole number") -> int:
    number = to_number(value)
    if isinstance(number, float):
        raise EvalError(f"{what} is required, got {number}")
    return number


def plain(value: Any, walk: Walk | None = None) -> Any:
    """A value with instance objects turned into ordinary dicts (for output)."""
    walk = walk or Walk()
    walk.tick()
    if isinstance(value, Sensitive):
        return Sensitive(plain(value.value, walk))
    if isinstance(value, dict):
        return {k: plain(v, walk) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v, walk) for v in value]
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- sensitive marks ----------------------------------------------------------------
#
# Terraform marks a value sensitive, and everything computed from it. The evaluator
# wraps such values in `tfcheck.model.Sensitive` (the plan loader's wrapper too); an
# operation on a marked operand works on the bare value and marks its result.


def is_marked(value: Any, budget: int = 10_000) -> bool:
    """Whether a value may hold a `Sensitive` part: past the walk's bound it may."""
    stack = [value]
    while stack:
        budget -= 1
        if budget < 0:
            return True  # not seen whole: treat as marked, never as safe to show
        item = stack.pop()
        if isinstance(item, Sensitive):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def unmark(value: Any, walk: Walk | None = None) -> Any:
    """The value with every `Sensitive` wrapper removed (containers rebuilt)."""
    if walk is None:
        if not isinstance(value, dict | list | Sensitive):
            return value
        walk = Walk()
    walk.tick()
    if isinstance(value, Sensitive):
        return unmark(value.value, walk)
    if isinstance(value, InstanceDict):
        return InstanceDict(
            value.address, {k: unmark(v, walk) for k, v in value.items()}, value.missing
        )
    if isinstance(value, dict):
        return {k: unmark(v, walk) for k, v in value.items()}
    if isinstance(value, list):
        return [unmark(v, walk) for v in value]
    return value


def scalar_texts(value: Any, budget: int = 10_000) -> list[str]:
    """Every string or number in a value tree, as text (what redaction must hide)."""
    found: list[str] = []
    stack = [value]
    while stack and budget > 0:
        budget -= 1
        item = stack.pop()
        if isinstance(item, Sensitive):
            stack.append(item.value)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            found.append(item if isinstance(item, str) else number_str(item))
    return found
