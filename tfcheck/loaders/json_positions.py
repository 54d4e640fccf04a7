"""Where a value sits in a JSON text: the line and column of a path, for error messages.

A decoded document has no positions (the fast decoders keep none), and a plan's shape is
checked after decoding. Only when a check fails is the text scanned again, to point the
error at `FILE:LINE:COL` like every other input error. The scan follows one path and
steps over everything else without building it, so it stays linear in the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

# a string, or a structural character: all that matters when stepping over a value
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SPACE = re.compile(r"[ \t\r\n]*")
_SCALAR_END = re.compile(r"[ \t\r\n,\]}]")


def locate(text: str, path: Sequence[str | int]) -> tuple[int, int]:
    """1-based line and column of the value at `path`, or of its deepest part that exists.

    A key given twice counts where its last occurrence is, as decoders keep the last.
    `text` must be valid JSON (it decoded); the answer for anything else is a best guess.
    """
    at = _skip_space(text, 0)
    for step in path:
        inner = _member(text, at, step)
        if inner is None:
            break
        at = inner
    line = text.count("\n", 0, at) + 1
    return line, at - text.rfind("\n", 0, at)


def _member(text: str, at: int, step: str | int) -> int | None:
    """Where the value of key or index `step` of the object/array at `at` starts."""
    opening = text[at:at + 1]
    if opening == "{" and isinstance(step, str):
        found = None
        at = _skip_space(text, at + 1)
        while at < len(text) and text[at] == '"':
            key = _STRING.match(text, at)
            if key is None:
                return found
            at = _skip_space(text, key.end())
            at = _skip_space(text, at + 1)  # the colon
            if json.loads(key.group()) == step:
                found = at
            at = _after_separator(text, _skip_value(text, at))
        return found
    if opening == "[" and isinstance(step, int):
        at = _skip_space(text, at + 1)
        index = 0
        while at < len(text) and text[at] != "]":
            if index == step:
                return at
            at = _after_separator(text, _skip_value(text, at))
            index += 1
    return None


def _skip_value(text: str, at: int) -> int:
    """The index just past the value starting at `at`."""
    first = text[at:at + 1]
    if first == '"':
        string = _STRING.match(text, at)
        return len(text) if string is None else string.end()
    if first not in ("{", "["):
        end = _SCALAR_END.search(text, at)
        return len(text) if end is None else end.start()
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(text, at):
        mark = token.group()
        if mark in ("{", "["):
            depth += 1
        elif mark in ("}", "]"):
            depth -= 1
            if depth == 0:
                return token.end()
    return len(text)


def _after_separator(text: str, at: int) -> int:
    """Past the spaces, one comma and the spaces after it."""
    at = _skip_space(text, at)
    if text[at:at + 1] == ",":
        at = _skip_space(text, at + 1)
    return at


def _skip_space(text: str, at: int) -> int:
    space = _SPACE.match(text, at)
    return at if space is None else space.end()
