"""The shape of a `terraform show -json` document, checked before it is read.

The plan loader reads a fixed set of levels (`planned_values.root_module.resources`,
`resource_changes[].change.actions`, `configuration.root_module.module_calls`, ...).
A document with the wrong type at one of them (`resource_changes` an object, a
resource without an `address`) is not a plan terraform wrote: it is rejected as an
input error naming the JSON path, instead of being scanned as if it were empty.
Values below those levels (attribute values, masks) are data and may be anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfcheck.loaders import LoadFailure
from tfcheck.model import InputError

MAX_MODULE_DEPTH = 64


# A JSON path: the keys and list indexes from the document down to a value.
JsonPath = tuple[str | int, ...]


class PlanShapeError(LoadFailure):
    """A plan whose type is wrong at `path`; the loader adds where that is in the text."""

    def __init__(self, error: InputError, path: JsonPath) -> None:
        super().__init__(error)
        self.path = path


class _Wrong(Exception):
    def __init__(self, path: JsonPath, expected: str, value: Any) -> None:
        super().__init__(f"{shown_path(path)}: expected {expected}, got {_kind(value)}")
        self.path = path


def check_plan_shape(document: Mapping[str, Any], source: str) -> None:
    """Raise `PlanShapeError` naming the first JSON path whose type is not a plan's."""
    try:
        _document(document)
    except _Wrong as wrong:
        raise PlanShapeError(InputError(source, f"not a valid plan: {wrong}"),
                             wrong.path) from None


def shown_path(path: JsonPath) -> str:
    """`resource_changes[3].change.actions`, as the messages have always named paths."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _document(doc: Mapping[str, Any]) -> None:
    _optional(doc, "format_version", str, "a string", ())
    _optional(doc, "terraform_version", str, "a string", ())
    for key in ("planned_values", "values"):
        values = _optional(doc, key, dict, "an object", ())
        if values is not None:
            _module(values.get("root_module"), (key, "root_module"), 0)
    prior = _optional(doc, "prior_state", dict, "an object", ())
    if prior is not None:
        values = _optional(prior, "values", dict, "an object", ("prior_state",))
        if values is not None:
            _module(values.get("root_module"), ("prior_state", "values", "root_module"), 0)
    changes = _optional(doc, "resource_changes", list, "a list", ())
    for index, change in enumerate(changes or ()):
        _change(change, ("resource_changes", index))
    variables = _optional(doc, "variables", dict, "an object", ())
    for name, variable in (variables or {}).items():
        _expect(variable, dict, "an object", ("variables", name))
    configuration = _optional(doc, "configuration", dict, "an object", ())
    if configuration is not None:
        providers = _optional(configuration, "provider_config", dict, "an object",
                              ("configuration",))
        for key, provider in (providers or {}).items():
            where = ("configuration", "provider_config", key)
            _expect(provider, dict, "an object", where)
            _optional(provider, "expressions", dict, "an object", where)
        root = configuration.get("root_module")
        if root is not None:
            _config_module(root, ("configuration", "root_module"), 0)


def _module(module: Any, where: JsonPath, depth: int) -> None:
    """A module of `planned_values`/`values`: resources and child modules."""
    if module is None:
        return
    if depth > MAX_MODULE_DEPTH:
        raise _Wrong(where, f"at most {MAX_MODULE_DEPTH} nested modules", "deeper")
    _expect(module, dict, "an object", where)
    resources = _optional(module, "resources", list, "a list", where)
    for index, resource in enumerate(resources or ()):
        if type(resource) is dict:  # the common case in one expression; else say what
            get = resource.get
            if (type(get("address")) is str and type(get("type")) in _TEXT
                    and type(get("name")) in _TEXT and type(get("mode")) in _TEXT
                    and type(get("provider_name")) in _TEXT and type(get("values")) in _OBJECT):
                continue
        at = (*where, "resources", index)
        _expect(resource, dict, "an object", at)
        _required(resource, "address", str, "a string", at)
        for key in ("type", "name", "mode", "provider_name"):
            _optional(resource, key, str, "a string", at)
        _optional(resource, "values", dict, "an object", at)
    children = _optional(module, "child_modules", list, "a list", where)
    for index, child in enumerate(children or ()):
        _module(child, (*where, "child_modules", index), depth + 1)


def _change(change: Any, where: JsonPath) -> None:
    if type(change) is dict:  # the common case in one expression; else say what
        get = change.get
        body = get("change")
        if (type(get("address")) is str and type(get("type")) in _TEXT
                and type(get("name")) in _TEXT and type(get("mode")) in _TEXT
                and type(get("module_address")) in _TEXT
                and (body is None or (type(body) is dict and type(body.get("after")) in _OBJECT
                                      and _strings_or_none(body.get("actions"))))):
            return
    _expect(change, dict, "an object", where)
    _required(change, "address", str, "a string", where)
    for key in ("type", "name", "mode", "module_address"):
        _optional(change, key, str, "a string", where)
    body = _optional(change, "change", dict, "an object", where)
    if body is None:
        return
    actions = _optional(body, "actions", list, "a list", (*where, "change"))
    for index, action in enumerate(actions or ()):
        _expect(action, str, "a string", (*where, "change", "actions", index))
    _optional(body, "after", dict, "an object", (*where, "change"))


def _config_module(module: Any, where: JsonPath, depth: int) -> None:
    if depth > MAX_MODULE_DEPTH:
        raise _Wrong(where, f"at most {MAX_MODULE_DEPTH} nested modules", "deeper")
    _expect(module, dict, "an object", where)
    resources = _optional(module, "resources", list, "a list", where)
    for index, resource in enumerate(resources or ()):
        if (type(resource) is dict and type(resource.get("address")) is str
                and type(resource.get("expressions")) in _OBJECT
                and type(resource.get("provider_config_key")) in _TEXT):
            continue
        at = (*where, "resources", index)
        _expect(resource, dict, "an object", at)
        _required(resource, "address", str, "a string", at)
        _optional(resource, "expressions", dict, "an object", at)
        _optional(resource, "provider_config_key", str, "a string", at)
    calls = _optional(module, "module_calls", dict, "an object", where)
    for name, call in (calls or {}).items():
        at = (*where, "module_calls", name)
        _expect(call, dict, "an object", at)
        child = call.get("module")
        if child is not None:
            _config_module(child, (*at, "module"), depth + 1)


# Exact types a decoder gives for a plan's levels; None stands for "absent" throughout.
_TEXT = frozenset({str, type(None)})
_OBJECT = frozenset({dict, type(None)})


def _strings_or_none(value: Any) -> bool:
    return value is None or (type(value) is list and all(type(v) is str for v in value))


def _expect(value: Any, kind: type, expected: str, where: JsonPath) -> None:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise _Wrong(where, expected, value)


def _optional(parent: Mapping[str, Any], key: str, kind: type, expected: str,
              where: JsonPath) -> Any:
    """`parent[key]` when present and not null, checked to be of `kind`."""
    value = parent.get(key)
    if value is None:
        return None
    _expect(value, kind, expected, (*where, key))
    return value


def _required(parent: Mapping[str, Any], key: str, kind: type, expected: str,
              where: JsonPath) -> Any:
    value = parent.get(key)
    _expect(value, kind, expected, (*where, key))
    return value


def _kind(value: Any) -> str:
    if isinstance(value, str) and value == "deeper":
        return "deeper nesting"
    if value is None:
        return "null (or nothing)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


__all__ = ["JsonPath", "PlanShapeError", "check_plan_shape", "shown_path"]
