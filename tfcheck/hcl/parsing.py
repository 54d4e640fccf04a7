"""Parsing many `.tf` files: through the parse cache, and in worker processes when many.

`Parser` is what the module loader asks for a file's `ParsedFile`. It answers from what
`prepare` already parsed (in worker processes, for a large batch of files the cache does
not hold), from the content-addressed cache (`tfcheck.hcl.cache`), or by parsing there
and then. Whatever answers, the result is the same `ParsedFile` (or the same
`HclSyntaxError`, with its line and column) that `parse_hcl` gives in process, so the
loader reports errors in its own order and findings do not depend on the route.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from tfcheck.hcl.ast import ParsedFile
from tfcheck.hcl.cache import ParseCache, decode_entry, entry_of, key_of
from tfcheck.hcl.parse import HclSyntaxError, decode, parse_hcl

# A pool pays for itself past this many files or bytes not in the cache (workers are
# forked with the grammar already built, so starting them costs ~20 ms each).
POOL_MIN_FILES = 64
POOL_MIN_BYTES = 1_000_000
_BATCH_FILES = 16

Outcome = ParsedFile | HclSyntaxError


def available_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1  # pragma: no cover - not Linux


class Parser:
    """Parses native-syntax files for one scan; `close` ends its worker processes."""

    def __init__(self, cache: ParseCache | None = None, workers: int | None = None) -> None:
        self.cache = cache
        self.workers = available_cores() if workers is None else max(1, workers)
        # Outcomes by content: a file copied into several modules or roots is parsed once.
        self._outcomes: dict[bytes, Outcome] = {}
        self._read: dict[Path, bytes] = {}  # every file `prepare` was given, by resolved path
        self._pool: Any = None
        self.pooled = 0  # files parsed in worker processes (for tests and bench)

    def parse(self, data: bytes, shown: str) -> ParsedFile:
        """The parse of `data` shown as `shown`; raises `HclSyntaxError`."""
        outcome = self._outcome(data, shown)
        if isinstance(outcome, HclSyntaxError):
            raise HclSyntaxError(outcome.message, outcome.line, outcome.column)
        return outcome if outcome.path == shown else msgspec.structs.replace(outcome, path=shown)

    def peek(self, data: bytes, shown: str) -> ParsedFile | None:
        """Like `parse`, None for a file that does not parse."""
        outcome = self._outcome(data, shown)
        return outcome if isinstance(outcome, ParsedFile) else None

    def read_ahead(self, resolved: Path) -> bytes | None:
        """The bytes `prepare` was given for this file: a load need not read it again."""
        return self._read.get(resolved)

    def prepare(self, files: Sequence[tuple[Path, bytes, str]]) -> None:
        """Parse ahead, in worker processes when the files the cache lacks are many.

        Once the workers run (a large first level), every later level with more than one
        file to parse goes to them too.
        """
        todo: dict[bytes, str] = {}  # content -> the path shown for it (copies: once)
        for resolved, data, shown in files:
            self._read[resolved] = data
            if data in self._outcomes or data in todo:
                continue
            hit = self.cache.get(data, shown) if self.cache is not None else None
            if hit is not None:
                self._outcomes[data] = hit
            else:
                todo[data] = shown
        size = sum(len(data) for data in todo)
        if self.workers < 2 or len(todo) < 2:
            return
        if self._pool is None and len(todo) <= POOL_MIN_FILES and size <= POOL_MIN_BYTES:
            return
        pending = list(todo.items())
        for (data, _), outcome in zip(pending, self._in_workers(pending), strict=True):
            if outcome is not None:
                self._outcomes[data] = outcome

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self.cache is not None:
            self.cache.prune()

    def _outcome(self, data: bytes, shown: str) -> Outcome:
        outcome = self._outcomes.get(data)
        if outcome is not None:
            return outcome
        outcome = self.cache.get(data, shown) if self.cache is not None else None
        if outcome is None:
            outcome = _parse_one(data, shown)
            if self.cache is not None and isinstance(outcome, ParsedFile):
                self.cache.put(data, outcome)
        self._outcomes[data] = outcome
        return outcome

    def _in_workers(self, todo: list[tuple[bytes, str]]) -> list[Outcome | None]:
        """Outcomes in `todo`'s order; None where a worker failed (parsed in process later)."""
        try:
            return self._submit(todo)
        except Exception:  # noqa: BLE001 - no pool (a broken one, no fork): parse in process
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            self.workers = 1
            return [None] * len(todo)

    def _submit(self, todo: list[tuple[bytes, str]]) -> list[Outcome | None]:
        from concurrent.futures import ProcessPoolExecutor

        from tfcheck.hcl.parse import _lark

        if self._pool is None:
            import multiprocessing

            _lark()  # built once here, inherited by forked workers
            method = "fork" if sys.platform == "linux" else None
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context(method)
            )
        cache_dir = None
        if self.cache is not None and self.cache.enabled:
            cache_dir = str(self.cache.root)
        # Large files first, so one big file does not finish last; batches keep IPC low,
        # and a small level still makes at least two batches per worker.
        order = sorted(range(len(todo)), key=lambda i: -len(todo[i][0]))
        size = max(1, min(_BATCH_FILES, len(todo) // (2 * self.workers)))
        batches = [order[i : i + size] for i in range(0, len(order), size)]
        limit = sys.getrecursionlimit()
        futures = [
            self._pool.submit(_parse_batch, [todo[i] for i in batch], cache_dir, limit)
            for batch in batches
        ]
        results: list[Outcome | None] = [None] * len(todo)
        for batch, future in zip(batches, futures, strict=True):
            try:
                outcomes = future.result()
            except Exception:  # noqa: BLE001 - a broken worker: parse in process instead
                continue
            for index, outcome in zip(batch, outcomes, strict=True):
                data, shown = todo[index]
                if isinstance(outcome, bytes):  # the cache entry: checked as a cache read is
                    if cache_dir is not None and self.cache is not None:
                        self.cache.writes += 1  # (the worker stored it)
                    outcome = decode_entry(outcome, key_of(data), shown)
                results[index] = outcome
                self.pooled += outcome is not None
        return results


_PARSER: contextvars.ContextVar[Parser | None] = contextvars.ContextVar("parser", default=None)
_RECURSION_LIMIT = 6_000  # as tfcheck.loaders.hcl's loads


def current_parser() -> Parser | None:
    """The parser `begin_parsing` set for this scan, if any."""
    return _PARSER.get()


def begin_parsing(use_cache: bool, roots: Sequence[Path]) -> contextvars.Token[Parser | None]:
    """One `Parser` for the loads of a scan (cache unless `use_cache` is false).

    With more than one core, every `.tf` file under `roots` (a monorepo's root modules
    and the modules they call) is parsed ahead, together, in worker processes when many.
    Inside another `begin_parsing` (a command whose work includes a scan), the outer
    parser and its cache choice are kept. Light to import: plan-only scans call it too.
    """
    parser = _PARSER.get() or Parser(ParseCache() if use_cache else None)
    if parser.workers > 1 and roots:
        from tfcheck.hcl.modules import ConfigLoader, prefetch

        previous = sys.getrecursionlimit()
        sys.setrecursionlimit(max(previous, _RECURSION_LIMIT))
        # ahead of time only: the loads parse whatever this did not, and report errors
        with contextlib.suppress(Exception):
            prefetch([ConfigLoader(Path(r), parser=parser) for r in roots if Path(r).is_dir()])
        sys.setrecursionlimit(previous)
    return _PARSER.set(parser)


def end_parsing(token: contextvars.Token[Parser | None]) -> None:
    """Close the scan's parser (its workers, the cache's bound) and forget it."""
    parser = _PARSER.get()
    _PARSER.reset(token)
    if parser is not None and parser is not token.old_value:
        parser.close()


@contextlib.contextmanager
def parsing_for(use_cache: bool, roots: Sequence[Path]) -> Iterator[None]:
    """`begin_parsing` for the block inside, `end_parsing` after it, whatever happens."""
    token = begin_parsing(use_cache, roots)
    try:
        yield
    finally:
        end_parsing(token)


def _parse_one(data: bytes, shown: str) -> Outcome:
    try:
        return parse_hcl(decode(data), shown)
    except HclSyntaxError as exc:
        return exc


def _parse_batch(
    batch: list[tuple[bytes, str]], cache_dir: str | None, limit: int
) -> list[bytes | Outcome | None]:
    """In a worker: each file's cache entry (stored, if caching), else its outcome.

    The entry is what the parent reads back (smaller and quicker than a pickled tree);
    a parse error, or a tree the entry format cannot hold, comes back as it is. None
    where the worker broke: the parent parses that file itself.
    """
    if sys.getrecursionlimit() < limit:
        sys.setrecursionlimit(limit)
    cache = ParseCache(Path(cache_dir), subdir=False) if cache_dir is not None else None
    outcomes: list[bytes | Outcome | None] = []
    for data, shown in batch:
        try:
            outcome = _parse_one(data, shown)
        except Exception:  # noqa: BLE001 - the parent parses it again and sees the error
            outcomes.append(None)
            continue
        if isinstance(outcome, HclSyntaxError):
            outcomes.append(outcome)
            continue
        key = key_of(data)
        entry = entry_of(key, outcome)
        if entry is not None and cache is not None:
            cache.write(key, entry)
        outcomes.append(outcome if entry is None else entry)
    return outcomes


__all__ = [
    "POOL_MIN_BYTES",
    "POOL_MIN_FILES",
    "Parser",
    "available_cores",
    "begin_parsing",
    "current_parser",
    "end_parsing",
    "parsing_for",
]
