"""Where a finding points in the repository, for the formats that CI systems read.

SARIF, JUnit, GitHub annotations and the pull-request comment are all read by tools
that know files only by their path from the repository root (GitHub resolves SARIF
`%SRCROOT%` and annotation `file=` against the checkout). A finding's file is relative
to the root module it was found in (`Finding.source_root`), so each of those formats
needs the same translation; it lives here once.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from tfcheck.model import Finding, Location

# How a plan read from standard input is named: `-` on the command line, `<stdin>` in reports.
STDIN_NAMES = frozenset({"-", "<stdin>"})

# C0 controls but tab, LF and CR; DEL; surrogates and the two non-characters that XML
# 1.0 forbids. Terraform strings may hold any of them; no reader of these formats wants them.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def repo_path(path: str, repo_root: str | None) -> str:
    """`path` (absolute, or relative to the working directory) from the repo root, `/`-separated.

    A path outside the root keeps its `..` steps: the interface spec asks for the same
    root-relative path in every format (SARIF, annotations, JSON, Markdown), and code
    scanning rejects an upload with an absolute URI.
    """
    return _repo_path(path, repo_root, os.getcwd())


# Thousands of findings name a handful of files and inputs: each is worked out once.
@functools.lru_cache(maxsize=4096)
def _repo_path(path: str, repo_root: str | None, cwd: str) -> str:
    """`repo_path` in the working directory `cwd` (the cache key: it makes `path` absolute)."""
    root = os.path.abspath(repo_root or cwd)
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, root)
    except ValueError:  # another drive on Windows: no relative path exists
        relative = absolute
    return PurePath(relative).as_posix()


def input_file_path(path: str, repo_root: str | None) -> str | None:
    """A scanned input's path from the repo root; None for standard input, which has none."""
    if not path or path in STDIN_NAMES:
        return None
    return repo_path(path, repo_root)


def source_path(finding: Finding, repo_root: str | None) -> str | None:
    """The repo-relative path of the file the finding's resource is written in, if known."""
    if finding.location.file is None:
        return None
    return repo_path(os.path.join(finding.source_root or "", finding.location.file), repo_root)


def related_paths(finding: Finding, repo_root: str | None) -> list[tuple[Location, str]]:
    """The finding's related locations with their repo-relative paths (known files only)."""
    return [(location, repo_path(os.path.join(finding.source_root or "", location.file),
                                 repo_root))
            for location in finding.related if location.file is not None]


def anchor_path(finding: Finding, repo_root: str | None) -> str | None:
    """The file a finding is shown on: its source file, else the input it was read from.

    A plan scanned without its configuration at hand gives findings no source file;
    the plan file itself is then the most precise place to point at (code scanning
    rejects a result without a file). Standard input has no path: None.
    """
    path = source_path(finding, repo_root)
    if path is not None:
        return path
    return input_file_path(finding.input_path or "", repo_root)


def line_of(finding: Finding) -> int | None:
    """The finding's line, only where it belongs to the file `anchor_path` names."""
    return finding.location.line if finding.location.file is not None else None


def where(finding: Finding, repo_root: str | None) -> str | None:
    """`path:line` (or just the path) of `anchor_path`, for text that names the place."""
    path = anchor_path(finding, repo_root)
    if path is None:
        return None
    line = line_of(finding)
    return f"{path}:{line}" if line else path


def without_control_chars(text: str) -> str:
    """`text` without characters that break XML or drive a terminal (ESC, BEL, NUL, ...)."""
    return _CONTROL_CHARS.sub("", text)


NO_CLUSTER = "(not tied to one cluster)"


def cluster_of(finding: Finding) -> str:
    """The cluster a finding is about: its subject, or the first cluster in its evidence.

    The terminal output and the pull-request comment group findings by it.
    """
    for address in (finding.address, *finding.evidence):
        if "aws_eks_cluster." in address:
            return address.split(" ", 1)[0]
    cluster = finding.data.get("cluster")
    return str(cluster) if cluster else NO_CLUSTER


def indented_json(document: Any, default: Callable[[Any], Any] | None = None) -> str:
    """`json.dumps(document, indent=2, ensure_ascii=False, default=default)`, byte for byte.

    With `indent`, `json` runs its pure-Python encoder (3 ms for the 10,000-resource
    plan's report, 25 ms with --show-passed); compact, it runs its C encoder, and
    msgspec re-indents that text the same way without touching a string or number in it.
    What msgspec refuses goes the pure-Python way: NaN and Infinity (json's extension
    of JSON) and lone surrogates (not UTF-8).
    """
    import msgspec

    compact = json.dumps(document, ensure_ascii=False, default=default)
    try:
        return msgspec.json.format(compact.encode(), indent=2).decode()
    except (UnicodeEncodeError, msgspec.DecodeError):
        return json.dumps(document, indent=2, ensure_ascii=False, default=default)
