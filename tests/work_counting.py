"""Deterministic measures of work for tests: calls, allocations, regex engine (issue 10).

Speed is measured by bench/, never by timed assertions in tests: an elapsed-time bound
flakes on a loaded machine and misses a defect on a fast one. The hostile-input tests
guard against hangs and super-linear work with these measures instead, which give the
same number for the same input on any machine:

- `counted_lines`: Python lines run (every module), loops without calls included.
  Linear work shows as lines(2N) <= ~2 x lines(N), a quadratic loop as 4x;
- `counted_calls`: Python function calls, cheaper to count. With `limit`, a defect
  that would hang (a bomb expanded, a budget not kept) raises `TooMuchWork` at the
  limit instead, so it fails at once;
- `allocation_peak`: the peak of memory allocated (tracemalloc): a result refused
  before it is built never exists, whatever C code would have built it;
- `python_regex_refused`: Python's `re` is a backtracking engine (exponential on
  `(a|aa)*c`); any of its patterns matching while inside is refused before it runs.

Work done in C (a `str.join`, a list's `in`) is seen by none of the counts: where a
defect would be such work, `allocation_peak` or the regex guard is the check.

Not a test module (test modules do not import each other): a helper, like
tests/network_builders.py.
"""

from __future__ import annotations

import re
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import pytest


class TooMuchWork(BaseException):
    """More calls than the test allows. A BaseException: no `except Exception` in the
    code under test can mistake it for an input error and carry on."""


class BacktrackingRegex(BaseException):
    """A pattern of Python's backtracking `re` was about to match (BaseException: as above)."""


@dataclass
class Work:
    calls: int = 0  # Python function calls (generator resumptions included)
    lines: int = 0  # Python lines run (only `counted_lines` counts them)


@dataclass
class Peak:
    bytes: int = 0  # the most memory allocated at once while inside, above the start


@dataclass
class RegexUse:
    patterns: list[str] = field(default_factory=list)  # Python `re` patterns refused


@contextmanager
def counted_calls(limit: int | None = None) -> Iterator[Work]:
    """Count the Python function calls made in this thread while inside.

    A trace function that asks for no line events: one cheap call per Python call.
    Past `limit` calls, `TooMuchWork` is raised from the call that crossed it.
    """
    work = Work()
    previous = sys.gettrace()
    most = sys.maxsize if limit is None else limit
    calls = 0

    def trace(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls  # a closure's cell: cheaper than an attribute, for every call
        calls += 1
        if calls > most:
            sys.settrace(None)
            raise TooMuchWork(f"more than {most} Python calls")

    sys.settrace(trace)
    try:
        yield work
    finally:
        sys.settrace(previous)
        work.calls = calls


@contextmanager
def counted_lines() -> Iterator[Work]:
    """Count the Python lines run in this thread while inside (calls: `Work.calls`).

    Sees what calls do not: a loop whose body calls nothing. Slower than `counted_calls`
    (one trace call per line): for small inputs.
    """
    work = Work()
    previous = sys.gettrace()

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call":
            work.calls += 1
        else:
            work.lines += 1
        return trace

    sys.settrace(trace)
    try:
        yield work
    finally:
        sys.settrace(previous)


def counted_calls_of(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str, limit: int | None = None
) -> Work:
    """Count the calls of one function, `owner.name`, wrapped for the test.

    Far cheaper than tracing every call, for the function that is the unit of some work
    (an evaluator's step): past `limit` calls it raises `TooMuchWork`, as `counted_calls`.
    """
    work = Work()
    real = getattr(owner, name)
    most = sys.maxsize if limit is None else limit

    def counted(*args: Any, **kwargs: Any) -> Any:
        work.calls += 1
        if work.calls > most:
            raise TooMuchWork(f"more than {most} calls of {name}")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return work


def lines_of(action: Any) -> int:
    """The Python lines `action()` runs (see `counted_lines`)."""
    with counted_lines() as work:
        action()
    return work.lines


@contextmanager
def allocation_peak() -> Iterator[Peak]:
    """The peak of traced memory while inside, above what was allocated on entry."""
    peak = Peak()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    try:
        yield peak
    finally:
        _, highest = tracemalloc.get_traced_memory()
        peak.bytes = max(0, highest - start)
        if not was_tracing:
            tracemalloc.stop()


@contextmanager
def python_regex_refused(*modules: ModuleType) -> Iterator[RegexUse]:
    """Refuse (and record) any Python `re` pattern matching for code of `modules`.

    Directly or through `re.search` and friends, which end in a pattern's method too. A
    profile function sees a C method called before it runs: a backtracking match never
    starts, so the defect fails instead of hanging. Patterns used by other code (pytest's
    import hook, a linear tokenizer pattern) are not this check's concern.
    """
    use = RegexUse()
    files = {module.__file__ for module in modules}
    previous = sys.getprofile()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event != "c_call" or not isinstance(getattr(arg, "__self__", None), re.Pattern):
            return
        caller: FrameType | None = frame
        while caller is not None and caller.f_code.co_filename.startswith(_RE_PACKAGE):
            caller = caller.f_back
        if caller is not None and caller.f_code.co_filename in files:
            use.patterns.append(arg.__self__.pattern)
            sys.setprofile(None)
            raise BacktrackingRegex(f"Python re pattern {arg.__self__.pattern!r} used")

    sys.setprofile(profile)
    try:
        yield use
    finally:
        sys.setprofile(previous)


_RE_PACKAGE = str(Path(re.__file__).parent)
