"""Which inputs a list of command-line paths means.

`tfcheck scan` takes directories, plan files, `-` for a plan on standard input, and --
from pre-commit -- individual changed `.tf`/`.tfvars` files. Changed files are mapped to
the root modules that contain them, so each root is scanned once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tfcheck.model import InputError

HCL_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json")
MAX_FILES_INDEXED = 20_000
_LOCAL_SOURCE = re.compile(r'\bsource\s*=\s*"(\.\.?/[^"]*)"')


@dataclass(frozen=True)
class Input:
    """One thing to scan: an HCL root module, a plan file, or a plan on stdin."""

    kind: str  # "hcl" | "plan" | "stdin"
    path: Path
    display: str


def resolve_inputs(paths: Sequence[str]) -> tuple[list[Input], list[InputError]]:
    """Map command-line paths to distinct inputs, in the order given."""
    inputs: list[Input] = []
    errors: list[InputError] = []
    seen: set[tuple[str, Path]] = set()
    finder = _RootFinder()
    for raw in paths:
        found = _classify(raw, finder)
        if isinstance(found, InputError):
            errors.append(found)
            continue
        for item in found if isinstance(found, list) else [found]:
            key = (item.kind, item.path.resolve() if item.kind != "stdin" else item.path)
            if key not in seen:
                seen.add(key)
                inputs.append(item)
    return inputs, errors


def _classify(raw: str, finder: _RootFinder) -> Input | list[Input] | InputError:
    if raw == "-":
        return Input("stdin", Path("-"), "<stdin>")
    path = Path(raw)
    if not path.exists():
        return InputError(raw, "no such file or directory")
    if path.is_dir():
        return Input("hcl", path, raw)
    if path.name.endswith(HCL_SUFFIXES):
        return [Input("hcl", root, _display(root)) for root in finder.roots_of(path.parent)]
    return Input("plan", path, raw)


def _display(path: Path) -> str:
    try:
        relative = os.path.relpath(path.resolve(), Path.cwd())
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


class _RootFinder:
    """Finds the root module(s) that call a module directory through local sources."""

    def __init__(self) -> None:
        self._callers: dict[Path, list[Path]] | None = None
        self._top: Path | None = None

    def roots_of(self, directory: Path) -> list[Path]:
        """The root modules that use `directory`, itself if nothing calls it; sorted."""
        roots: set[Path] = set()
        seen: set[Path] = set()
        pending = [directory.resolve()]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            callers = self._callers_of(current)
            if not callers:
                roots.add(current)
            pending.extend(callers)
        return sorted(roots) or [directory.resolve()]

    def _callers_of(self, directory: Path) -> list[Path]:
        if self._callers is None or self._top is None or not directory.is_relative_to(
            self._top
        ):
            self._top = _repository_top(directory)
            self._callers = _index_local_sources(self._top)
        return self._callers.get(directory, [])


def _repository_top(directory: Path) -> Path:
    """The enclosing git work tree, else the current directory if it contains `directory`."""
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    cwd = Path.cwd().resolve()
    return cwd if directory.is_relative_to(cwd) else directory


def _index_local_sources(top: Path) -> dict[Path, list[Path]]:
    """Module directory -> directories whose .tf files call it with a local source."""
    callers: dict[Path, list[Path]] = {}
    for tf_file in _tf_files(top):
        try:
            text = tf_file.read_text(encoding="utf-8-sig", errors="replace")
        except OSError:
            continue
        for source in _LOCAL_SOURCE.findall(text):
            target = (tf_file.parent / source).resolve()
            entry = callers.setdefault(target, [])
            if tf_file.parent not in entry:
                entry.append(tf_file.parent)
    for entry in callers.values():
        entry.sort()
    return callers


def _tf_files(top: Path) -> Iterable[Path]:
    count = 0
    for directory, subdirectories, files in os.walk(top):
        subdirectories[:] = sorted(
            d for d in subdirectories if not d.startswith(".") and d != "node_modules"
        )
        for name in sorted(files):
            if name.endswith(".tf"):
                count += 1
                if count > MAX_FILES_INDEXED:
                    return
                yield Path(directory).resolve() / name
