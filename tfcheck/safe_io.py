"""Confined, bounded reads: the one way tfcheck opens a file named by its input.

tfcheck runs on pull requests anyone can open, and what it prints goes back to the
pull request. So a path that the input chooses (a module `source`, a `file()` or
`templatefile()` argument, a `.tf` file that is a symlink) is read only when:

- it resolves (symlinks followed) to a place inside the scanned root: the repository
  top (the nearest directory holding `.git`), or the scanned directory itself outside a
  repository;
- it is a regular file: never a FIFO (which would block), a device (`/dev/zero` never
  ends) or a socket. Files are opened with `O_NONBLOCK` and checked with `fstat`;
- its size, checked with `fstat` before reading, is within the caller's bound, and the
  read itself stops at that bound (a file growing meanwhile cannot exceed it).

Anything else raises `ReadRefused`, whose message says why without quoting the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

DEFAULT_LIMIT = 4_000_000
_CHUNK = 1 << 16


class ReadRefused(Exception):
    """A path tfcheck will not read: outside the root, not a regular file, too large."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line  # where a text file crosses the size limit, when known
        self.column = column


def _too_large(fd: int, limit: int) -> ReadRefused:
    """The size refusal, at the line and column of the first character past `limit`.

    Reads `limit` bytes from the start (bounded: the limit of a text file is small).
    """
    reason = f"is larger than {limit} bytes"
    if limit > DEFAULT_LIMIT:
        return ReadRefused(reason)
    chunks: list[bytes] = []
    total = 0
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        while total < limit:
            chunk = os.read(fd, min(_CHUNK, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError:
        return ReadRefused(reason)
    head = b"".join(chunks)
    if not head:
        return ReadRefused(reason)
    start = head.rfind(b"\n") + 1
    column = len(head[start:].decode("utf-8", errors="replace")) + 1
    return ReadRefused(reason, head.count(b"\n") + 1, column)


def scan_root(directory: Path) -> Path:
    """The directory reads are confined to: the repository top, else `directory` itself.

    Only the ancestors of `directory` are looked at (one `lstat` each): no walk.
    """
    start = Path(directory).resolve()
    for candidate in (start, *start.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return start


def resolve_inside(path: Path, roots: set[Path] | frozenset[Path]) -> Path:
    """`path` with every symlink resolved, if that lies inside one of `roots`."""
    try:
        resolved = Path(path).resolve(strict=True)
    except FileNotFoundError:
        raise ReadRefused("does not exist") from None
    except (OSError, RuntimeError):
        raise ReadRefused("cannot be resolved (symlink loop or unreadable)") from None
    if not lies_inside(resolved, roots):
        raise ReadRefused("is outside the scanned root: not read")
    return resolved


def is_inside(path: Path, roots: set[Path] | frozenset[Path]) -> bool:
    """Whether `path` resolves inside one of `roots` (missing paths: by their parent)."""
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError):
        return False
    return lies_inside(resolved, roots)


def lies_inside(resolved: Path, roots: set[Path] | frozenset[Path]) -> bool:
    """Whether an already resolved path is one of `roots` or below one (no file access)."""
    return any(resolved == root or resolved.is_relative_to(root) for root in roots)


def read_bytes(
    path: Path, roots: set[Path] | frozenset[Path] | None = None, limit: int = DEFAULT_LIMIT
) -> bytes:
    """The content of a regular file inside `roots` (any place if None), at most `limit`."""
    if roots is None:
        return _read_regular(Path(path), limit, follow=True)
    return _read_regular(resolve_inside(path, roots), limit, follow=False)


def read_resolved(target: Path, limit: int = DEFAULT_LIMIT) -> bytes:
    """`read_bytes` of a path `resolve_inside` already returned (confined; not resolved again).

    For a caller that needs the resolved path itself (as a key) and the content: one
    resolution instead of two. A symlink put in its place since is not followed.
    """
    return _read_regular(target, limit, follow=False)


def _read_regular(target: Path, limit: int, follow: bool) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= 0 if follow else getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags)
    except FileNotFoundError:
        raise ReadRefused("does not exist") from None
    except IsADirectoryError:
        raise ReadRefused("is a directory") from None
    except OSError as exc:
        raise ReadRefused(f"cannot be opened: {exc.strerror or type(exc).__name__}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ReadRefused("is not a regular file (FIFO, device, socket or directory)")
        if info.st_size > limit:
            raise _too_large(fd, limit)
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            except BlockingIOError:  # pragma: no cover - regular files do not block
                raise ReadRefused("would block") from None
            except OSError as exc:
                raise ReadRefused(f"cannot be read: {exc.strerror or exc}") from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise _too_large(fd, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_stream(path: Path, limit: int) -> bytes:
    """A file the user named, pipes included (`<(terraform show -json)`), at most `limit`.

    A regular file's size is checked before reading, and any read stops one byte past
    the limit. Not confined: for paths given on the command line.
    """
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise ReadRefused("is a directory")
            if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                raise ReadRefused(f"is larger than {limit} bytes")
            data = _read_at_most(handle, limit + 1, info.st_size
                                 if stat.S_ISREG(info.st_mode) else None)
    except FileNotFoundError:
        raise ReadRefused("does not exist") from None
    except IsADirectoryError:
        raise ReadRefused("is a directory") from None
    except OSError as exc:
        raise ReadRefused(f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    if len(data) > limit:
        raise ReadRefused(f"is larger than {limit} bytes")
    return data


def _read_at_most(handle: BinaryIO, most: int, size: int | None) -> bytes:
    """Up to `most` bytes, never asking for more than there can be.

    `read(n)` sets aside n bytes before reading: `read(limit + 1)` reserved 500 MB for
    every plan, whatever its size. A regular file is read at its size (and one byte
    more, to see it grow); a pipe, or a file that grew, in chunks.
    """
    asked = min(most, size + 1 if size is not None else _CHUNK)
    first = handle.read(asked)
    if len(first) < asked or len(first) >= most:  # all there was, or past the limit
        return first
    chunks = [first]
    read = len(first)
    while read < most:
        chunk = handle.read(min(_CHUNK, most - read))
        if not chunk:
            break
        chunks.append(chunk)
        read += len(chunk)
    return b"".join(chunks)


def regular_file_size(path: Path) -> int | None:
    """The size of a regular file (symlinks followed); None for anything else."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


__all__ = [
    "DEFAULT_LIMIT",
    "ReadRefused",
    "is_inside",
    "lies_inside",
    "read_bytes",
    "read_resolved",
    "read_stream",
    "regular_file_size",
    "resolve_inside",
    "scan_root",
]
