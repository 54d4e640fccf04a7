"""Readers over plan-shaped values: single blocks, text, maps, leaves, Helm truth.

Values come from a plan or the HCL evaluator: nested blocks are lists of one dict,
`Sensitive` wraps values that decide but are never printed, and `Unknown` can sit
anywhere. Every reader here tolerates both and never raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tfcheck.model import Unknown, reveal

from .safe_yaml import MAX_YAML_NODES


def plain(value: Any) -> Any:
    """A value with its `Sensitive` wrapper removed (decisions only, never for output)."""
    return reveal(value)


def block(value: Any) -> Any:
    """A single nested block: plans and the HCL loader give a list of one dict."""
    value = plain(value)
    if isinstance(value, list):
        return plain(value[0]) if value else None
    return value


def dig(value: Any, path: str) -> Any:
    """`a.b.c` into plan-shaped values, entering single blocks; None where absent.

    Never raises: `Unknown` on the way is returned, `Sensitive` is unwrapped.
    """
    for part in path.split("."):
        value = block(value)
        if isinstance(value, Unknown):
            return value
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return plain(value)


def blocks(value: Any) -> list[Any]:
    """A repeated block or list as a list; an `Unknown` stays a one-element list."""
    value = plain(value)
    if value is None:
        return []
    if isinstance(value, list):
        return [plain(v) for v in value]
    return [value]


def as_text(value: Any) -> str | Unknown | None:
    """A string value, `Unknown`, or None for anything else (numbers become text)."""
    value = plain(value)
    if isinstance(value, Unknown) or value is None:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def or_default(value: Any, fallback: Any) -> Any:
    """`value or fallback` for values that may be `Unknown` (which has no truth value)."""
    return fallback if value is None or value == "" else value


def as_mapping(value: Any) -> dict[str, Any]:
    """A map attribute (`annotations`, `labels`, `data`); empty where absent or unknown."""
    value = block(value) if isinstance(plain(value), list) else plain(value)
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return {}


def first_unknown(values: Iterable[Any]) -> Unknown | None:
    """The first `Unknown` among values, for messages that must say what was missing."""
    for value in values:
        if isinstance(value, Unknown):
            return value
    return None


def walk_values(value: Any, path: str = "", budget: list[int] | None = None
                ) -> Iterator[tuple[str, Any]]:
    """(dotted path, value) for every node of a values tree, parents before children.

    Bounded by `MAX_YAML_NODES` visits so that a shared sub-tree cannot blow it up.
    """
    if budget is None:
        budget = [MAX_YAML_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        return
    yield path, value
    value = plain(value)
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk_values(item, f"{path}.{key}" if path else str(key), budget)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_values(item, f"{path}[{index}]", budget)


def truthy(value: Any) -> bool | None:
    """Helm/flag truth: True, False, or None when not a recognisable boolean."""
    value = plain(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().strip('"').lower()
        if lowered in ("true", "1", "t", "yes"):
            return True
        if lowered in ("false", "0", "f", "no"):
            return False
    return None


def leaves(value: Any) -> Iterator[tuple[str, Any]]:
    if value is None:
        return
    for path, item in walk_values(value):
        if not isinstance(plain(item), (dict, list)):
            yield path, plain(item)
